// The binding's side of an open file or directory: what fuse_file_info.fh points at.
//
// JavaScript numbers its handles as it likes; the kernel gets a pointer to one
// of these, so that a read of a fast-path handle needs no lookup and no lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cell-files.h"
#include "dir-ahead.h"
#include "request.h"

namespace tierfs {

struct FileHandle {
  FileHandle(uint64_t jsFh, uint64_t ino, int fd) : jsFh(jsFh), ino(ino), fd(fd) {}

  const uint64_t jsFh;
  const uint64_t ino;
  // The backing file, borrowed from JavaScript; -1 when JavaScript serves I/O.
  const int fd;
  // How the kernel was told to open it (set before the reply, read at release):
  // in passthrough, or page-cached/direct; `counted` when BackingFiles counted it.
  bool passthrough = false;
  bool counted = false;

  std::atomic<uint64_t> reads{0}, readBytes{0}, writes{0}, writeBytes{0};
  std::atomic<int64_t> firstReadOffset{-1};
  std::atomic<int64_t> lastAtMs{0};
  // A cold file's cells that the recall cache holds as files (fd is -1): reads that
  // lie in them are served from those files rather than by JavaScript.
  CellFiles cells;
  // A directory's names read ahead of the kernel's requests.
  DirAhead ahead;
  // Size of the backing file as last seen (-1: unknown). Lets a read count the
  // bytes it returns without a stat per read; refreshed when a read reaches it.
  std::atomic<int64_t> knownSize{-1};

  void countRead(int64_t offset, uint64_t bytes);
  void countWrite(int64_t offset, uint64_t bytes);
  // Bytes a read of `size` at `offset` returns, from knownSize or an fstat.
  uint64_t readableBytes(int64_t offset, uint64_t size);
  // Moves the counts into `out`; false when nothing happened since the last take.
  bool takeCounts(AccessCounts& out);

  uint64_t asFh() { return reinterpret_cast<uint64_t>(this); }
};

// Every handle the kernel was given: what turns the kernel's fh back into a
// handle, and where the fast path's counts are collected in batches.
class HandleRegistry {
 public:
  void add(FileHandle* h);
  void remove(FileHandle* h);
  // The handle the kernel's fh names, or null when it names none of ours: fh 0
  // is what the kernel sends when open was answered ENOSYS (it then opens
  // without asking), and nothing else may be dereferenced either.
  FileHandle* find(uint64_t fh);
  std::vector<AccessCounts> takeAll();
  // Runs fn on the handle JavaScript numbered jsFh, if the kernel still holds it; the
  // handle stays alive while fn runs. False when there is none.
  template <typename Fn>
  bool withJsHandle(uint64_t jsFh, Fn fn) {
    std::shared_lock<std::shared_mutex> lock(mu_);
    auto it = byJsFh_.find(jsFh);
    if (it == byJsFh_.end()) return false;
    fn(it->second);
    return true;
  }

 private:
  // Shared by every read and write of the fast path; taken exclusively only by
  // open and release.
  std::shared_mutex mu_;
  std::unordered_set<FileHandle*> handles_;
  std::unordered_map<uint64_t, FileHandle*> byJsFh_;
};

int64_t nowMs();

}  // namespace tierfs
