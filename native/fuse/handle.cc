#include "handle.h"

#include <sys/stat.h>
#include <time.h>

#include <algorithm>

namespace tierfs {

int64_t nowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void FileHandle::countRead(int64_t offset, uint64_t bytes) {
  int64_t none = -1;
  firstReadOffset.compare_exchange_strong(none, offset, std::memory_order_relaxed);
  readBytes.fetch_add(bytes, std::memory_order_relaxed);
  lastAtMs.store(nowMs(), std::memory_order_relaxed);
  // Incremented last: takeCounts() treats reads/writes as "something happened".
  reads.fetch_add(1, std::memory_order_release);
}

void FileHandle::countWrite(int64_t offset, uint64_t bytes) {
  writeBytes.fetch_add(bytes, std::memory_order_relaxed);
  int64_t end = offset + static_cast<int64_t>(bytes);
  int64_t known = knownSize.load(std::memory_order_relaxed);
  while (known >= 0 && end > known &&
         !knownSize.compare_exchange_weak(known, end, std::memory_order_relaxed)) {
  }
  lastAtMs.store(nowMs(), std::memory_order_relaxed);
  writes.fetch_add(1, std::memory_order_release);
}

uint64_t FileHandle::readableBytes(int64_t offset, uint64_t size) {
  int64_t end = offset + static_cast<int64_t>(size);
  int64_t known = knownSize.load(std::memory_order_relaxed);
  if (known < end) {
    struct stat st;
    if (fstat(fd, &st) == 0) {
      known = st.st_size;
      knownSize.store(known, std::memory_order_relaxed);
    }
  }
  if (known <= offset) return 0;
  return std::min<uint64_t>(size, static_cast<uint64_t>(known - offset));
}

bool FileHandle::takeCounts(AccessCounts& out) {
  uint64_t r = reads.exchange(0, std::memory_order_acquire);
  uint64_t w = writes.exchange(0, std::memory_order_acquire);
  if (r == 0 && w == 0) return false;
  out.ino = ino;
  out.fh = jsFh;
  out.reads = r;
  out.writes = w;
  out.readBytes = readBytes.exchange(0, std::memory_order_relaxed);
  out.writeBytes = writeBytes.exchange(0, std::memory_order_relaxed);
  out.firstReadOffset = firstReadOffset.exchange(-1, std::memory_order_relaxed);
  out.lastAtMs = lastAtMs.load(std::memory_order_relaxed);
  return true;
}

void HandleRegistry::add(FileHandle* h) {
  std::unique_lock<std::shared_mutex> lock(mu_);
  handles_.insert(h);
  byJsFh_[h->jsFh] = h;
}

void HandleRegistry::remove(FileHandle* h) {
  std::unique_lock<std::shared_mutex> lock(mu_);
  handles_.erase(h);
  auto it = byJsFh_.find(h->jsFh);
  if (it != byJsFh_.end() && it->second == h) byJsFh_.erase(it);
}

FileHandle* HandleRegistry::find(uint64_t fh) {
  auto* h = reinterpret_cast<FileHandle*>(fh);
  std::shared_lock<std::shared_mutex> lock(mu_);
  // The kernel sends release only after every other request on the handle was
  // answered, so a handle found here stays alive while its request is served.
  return handles_.count(h) ? h : nullptr;
}

std::vector<AccessCounts> HandleRegistry::takeAll() {
  std::vector<AccessCounts> out;
  // Counts are atomics: a shared lock is enough to keep the handles alive.
  std::shared_lock<std::shared_mutex> lock(mu_);
  for (FileHandle* h : handles_) {
    // JavaScript counts what it serves itself; these are what the binding served.
    AccessCounts c;
    if (h->takeCounts(c)) out.push_back(c);
  }
  return out;
}

}  // namespace tierfs
