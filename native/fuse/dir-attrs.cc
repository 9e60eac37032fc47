#include "dir-attrs.h"

namespace tierfs {

DirAttrs::Kind DirAttrs::kindOf(const Request& r, uint64_t& ino) {
  switch (r.op) {
    case Op::Create:
    case Op::Mkdir:
    case Op::Mknod:
    case Op::Symlink:
    case Op::Unlink:
    case Op::Setattr:
    case Op::Setxattr:
    case Op::Removexattr:
      ino = r.ino;
      return Kind::Dir;
    case Op::Link:
      ino = r.ino2;  // the new name's directory
      return Kind::Dir;
    case Op::Rename:
    case Op::Rmdir:
      return Kind::All;
    default:
      return Kind::None;
  }
}

void DirAttrs::dropAllLocked() {
  for (auto it = kept_.begin(); it != kept_.end();) {
    it->second.has = false;
    it = it->second.changing == 0 ? kept_.erase(it) : std::next(it);
  }
}

void DirAttrs::arrived(const Request& r) {
  uint64_t ino = 0;
  Kind kind = kindOf(r, ino);
  if (kind == Kind::None) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (kind == Kind::All) {
    renaming_++;
    dropAllLocked();
    return;
  }
  Kept& k = kept_[ino];
  k.changing++;
  k.has = false;
}

void DirAttrs::finished(const Request& r, const struct stat* after, const struct stat* after2) {
  uint64_t ino = 0;
  Kind kind = kindOf(r, ino);
  if (kind == Kind::None) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (kind == Kind::All) {
    if (renaming_ > 0) renaming_--;
    dropAllLocked();
    if (r.op == Op::Rename && after) {
      offerLocked(r.ino, *after);
      if (after2 && r.ino2 != r.ino) offerLocked(r.ino2, *after2);
    }
    return;
  }
  auto it = kept_.find(ino);
  if (it == kept_.end()) return;
  if (it->second.changing > 0) it->second.changing--;
  if (kept_.size() > kMaxKept) {
    // The sweep may take this very entry (no change under way, nothing kept): look again.
    sweepLocked();
    it = kept_.find(ino);
    if (it == kept_.end()) return;
  }
  Kept& k = it->second;
  k.has = after && k.changing == 0 && renaming_ == 0 && kept_.size() <= kMaxKept;
  if (k.has) {
    k.st = *after;
    k.at = Clock::now();
  } else if (k.changing == 0) {
    kept_.erase(it);
  }
}

// Entries no longer answered from (out of date, or emptied) and not being changed.
void DirAttrs::sweepLocked() {
  const auto now = Clock::now();
  for (auto it = kept_.begin(); it != kept_.end();) {
    const Kept& k = it->second;
    it = k.changing == 0 && (!k.has || now - k.at >= kLifetime) ? kept_.erase(it) : std::next(it);
  }
}

void DirAttrs::offer(uint64_t ino, const struct stat& after) {
  std::lock_guard<std::mutex> lock(mu_);
  offerLocked(ino, after);
}

void DirAttrs::offerLocked(uint64_t ino, const struct stat& after) {
  if (kept_.size() >= kMaxKept) sweepLocked();
  if (renaming_ > 0 || (kept_.size() >= kMaxKept && !kept_.count(ino))) return;
  Kept& k = kept_[ino];
  if (k.changing > 0) return;
  k.has = true;
  k.st = after;
  k.at = Clock::now();
}

bool DirAttrs::take(uint64_t ino, struct stat& st) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = kept_.find(ino);
  if (it == kept_.end()) return false;
  Kept& k = it->second;
  const bool fresh = k.has && k.changing == 0 && renaming_ == 0 && Clock::now() - k.at < kLifetime;
  if (fresh) {
    st = k.st;
    answered_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  k.has = false;
  if (k.changing == 0) kept_.erase(it);
  return false;
}

void DirAttrs::forget(uint64_t ino) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = kept_.find(ino);
  if (it == kept_.end()) return;
  it->second.has = false;
  if (it->second.changing == 0) kept_.erase(it);
}

}  // namespace tierfs
