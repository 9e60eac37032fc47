// Attributes of regular files that JavaScript handed over, so that a getattr of one is
// answered here, without JavaScript.
//
// A file's attributes are the catalog's (a writer's backing file aside), and only
// JavaScript changes them: a setattr, link, unlink, a release that syncs the size, a
// move that changes the blocks. It hands a file's attributes over with a reply that
// carries them (lookup, getattr) or after a release, only while nobody has the file open
// for writing, and it drops them, synchronously and before it replies, whenever its
// catalog row changes or a writer opens the file (src/vfs: Catalog.onAttrsChanged). Both
// run on JavaScript's one thread, so what is kept is never older than the catalog by
// more than the request being answered: a getattr answered from it while a change is in
// flight comes before that change's reply, as it could have anyway.
//
// The binding itself changes no file's attributes except through handles open for
// writing (whose files are never kept) and its own creates (new inodes).
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace tierfs {

class FileAttrs {
 public:
  void keep(uint64_t ino, const struct stat& st);
  void drop(uint64_t ino);
  // A getattr of ino: true (and st) when kept.
  bool take(uint64_t ino, struct stat& st);
  uint64_t answered() const { return answered_.load(std::memory_order_relaxed); }
  size_t size();

 private:
  // Kept at most; past it an arbitrary eighth goes (the kernel's own cache holds the
  // files it uses now; a kept entry is only a shortcut).
  static constexpr size_t kMaxKept = 65536;
  std::mutex mu_;
  std::unordered_map<uint64_t, struct stat> kept_;
  std::atomic<uint64_t> answered_{0};
};

}  // namespace tierfs
