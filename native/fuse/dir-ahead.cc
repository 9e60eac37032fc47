#include "dir-ahead.h"

#include <sys/stat.h>

#include <cstring>

namespace tierfs {

std::atomic<size_t> DirAhead::kept_{0};
std::atomic<uint64_t> DirAhead::answered_{0};

size_t packName(fuse_req_t req, char* buf, size_t room, const DirName& d, bool plus) {
  if (plus) {
    struct fuse_entry_param e;
    memset(&e, 0, sizeof e);
    e.attr.st_ino = d.ino;
    e.attr.st_mode = d.mode;
    return fuse_add_direntry_plus(req, buf, room, d.name.c_str(), &e, d.nextOffset);
  }
  struct stat st;
  memset(&st, 0, sizeof st);
  st.st_ino = d.ino;
  st.st_mode = d.mode;
  return fuse_add_direntry(req, buf, room, d.name.c_str(), &st, d.nextOffset);
}

DirAhead::~DirAhead() { clearLocked(); }

void DirAhead::clearLocked() {
  kept_.fetch_sub(names_.size(), std::memory_order_relaxed);
  names_.clear();
  names_.shrink_to_fit();
  next_ = 0;
  has_ = false;
}

void DirAhead::keep(std::vector<DirName>& names, int64_t offset, bool plus, bool complete) {
  std::lock_guard<std::mutex> lock(mu_);
  clearLocked();
  if (names.empty() && !complete) return;
  if (kept_.fetch_add(names.size(), std::memory_order_relaxed) + names.size() > kBudget) {
    kept_.fetch_sub(names.size(), std::memory_order_relaxed);
    return;
  }
  names_.swap(names);
  has_ = true;
  offset_ = offset;
  plus_ = plus;
  complete_ = complete;
}

bool DirAhead::serve(fuse_req_t req, size_t size, int64_t offset, bool plus) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!has_) return false;
  if (offset != offset_ || plus != plus_) {
    clearLocked();
    return false;
  }
  std::vector<char> buf(size);
  size_t used = 0;
  size_t at = next_;
  for (; at < names_.size(); at++) {
    size_t need = packName(req, buf.data() + used, size - used, names_[at], plus);
    if (need > size - used) break;
    used += need;
  }
  // Nothing fits a buffer this small (never seen), or nothing is left and more may follow:
  // JavaScript answers. An empty page means the end to the kernel.
  if (at == next_ && (at < names_.size() || !complete_)) {
    clearLocked();
    return false;
  }
  if (at == next_) {
    clearLocked();
  } else {
    offset_ = names_[at - 1].nextOffset;
    next_ = at;
    // All given and more may follow: the next page is JavaScript's.
    if (next_ == names_.size() && !complete_) clearLocked();
  }
  answered_.fetch_add(1, std::memory_order_relaxed);
  fuse_reply_buf(req, buf.data(), used);
  return true;
}

}  // namespace tierfs
