#include "file-attrs.h"

#include <algorithm>

namespace tierfs {

std::string FileAttrs::keyOf(uint64_t parent, const std::string& name) {
  std::string key(reinterpret_cast<const char*>(&parent), sizeof parent);
  key += name;
  return key;
}

template <typename Map>
void FileAttrs::makeRoom(Map& m) {
  if (m.size() < kMaxKept) return;
  size_t n = kMaxKept / 8;
  for (auto it = m.begin(); it != m.end() && n > 0; n--) it = m.erase(it);
}

void FileAttrs::keepLocked(uint64_t ino, const struct stat& st) {
  if (!attrs_.count(ino)) makeRoom(attrs_);
  attrs_[ino] = st;
}

void FileAttrs::keepNameLocked(std::string key, uint64_t ino) {
  if (!names_.count(key)) makeRoom(names_);
  names_[std::move(key)] = ino;
}

void FileAttrs::keep(uint64_t ino, const struct stat& st) {
  std::lock_guard<std::mutex> lock(mu_);
  keepLocked(ino, st);
}

void FileAttrs::drop(uint64_t ino) {
  std::lock_guard<std::mutex> lock(mu_);
  attrs_.erase(ino);
}

bool FileAttrs::take(uint64_t ino, struct stat& st) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = attrs_.find(ino);
  if (it == attrs_.end()) return false;
  st = it->second;
  attrsAnswered_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void FileAttrs::dropNamesLocked(const Request& r) {
  names_.erase(keyOf(r.ino, r.name));
  if (r.op == Op::Rename) names_.erase(keyOf(r.ino2, r.name2));
}

void FileAttrs::arrived(Request& r) {
  if (r.op != Op::Lookup && !changesNames(r.op)) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (r.op == Op::Lookup) {
    r.namesEpoch = namesEpoch_;
    return;
  }
  namesEpoch_++;
  renaming_++;
  dropNamesLocked(r);
}

void FileAttrs::finished(const Request& r, const struct stat* moved) {
  if (!changesNames(r.op)) return;
  std::lock_guard<std::mutex> lock(mu_);
  namesEpoch_++;
  if (renaming_ > 0) renaming_--;
  dropNamesLocked(r);
  if (r.op == Op::Rename && moved && renaming_ == 0) {
    keepLocked(moved->st_ino, *moved);
    keepNameLocked(keyOf(r.ino2, r.name2), moved->st_ino);
  }
}

void FileAttrs::keepEntry(const Request& lookup, const struct stat& st) {
  std::lock_guard<std::mutex> lock(mu_);
  keepLocked(st.st_ino, st);
  if (lookup.op == Op::Lookup && renaming_ == 0 && lookup.namesEpoch == namesEpoch_) keepNameLocked(keyOf(lookup.ino, lookup.name), st.st_ino);
}

void FileAttrs::keepName(uint64_t parent, const std::string& name, uint64_t ino) {
  std::string key = keyOf(parent, name);
  std::lock_guard<std::mutex> lock(mu_);
  keepNameLocked(std::move(key), ino);
}

bool FileAttrs::lookup(uint64_t parent, const char* name, struct stat& st) {
  std::lock_guard<std::mutex> lock(mu_);
  if (names_.empty()) return false;
  auto n = names_.find(keyOf(parent, name));
  if (n == names_.end()) return false;
  auto a = attrs_.find(n->second);
  if (a == attrs_.end()) return false;
  st = a->second;
  refs_[n->second]++;
  lookupsAnswered_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

uint64_t FileAttrs::takeRefs(uint64_t ino, uint64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = refs_.find(ino);
  if (it == refs_.end()) return n;
  const uint64_t mine = std::min(n, it->second);
  it->second -= mine;
  if (it->second == 0) refs_.erase(it);
  return n - mine;
}

}  // namespace tierfs
