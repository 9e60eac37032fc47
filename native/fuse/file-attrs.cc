#include "file-attrs.h"

namespace tierfs {

void FileAttrs::keep(uint64_t ino, const struct stat& st) {
  std::lock_guard<std::mutex> lock(mu_);
  if (kept_.size() >= kMaxKept && !kept_.count(ino)) {
    size_t n = kMaxKept / 8;
    for (auto it = kept_.begin(); it != kept_.end() && n > 0; n--) it = kept_.erase(it);
  }
  kept_[ino] = st;
}

void FileAttrs::drop(uint64_t ino) {
  std::lock_guard<std::mutex> lock(mu_);
  kept_.erase(ino);
}

bool FileAttrs::take(uint64_t ino, struct stat& st) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = kept_.find(ino);
  if (it == kept_.end()) return false;
  st = it->second;
  answered_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

size_t FileAttrs::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return kept_.size();
}

}  // namespace tierfs
