// Attributes of a directory handed over with the reply that changed it, so that the
// getattr the kernel sends next is answered here, without JavaScript.
//
// Each change of a directory (a create, mkdir, mknod, symlink, link or unlink in it)
// makes the kernel drop the attributes it holds of that directory, and the next path walk
// through it asks for them again before it checks the caller's permission: one more round
// trip into JavaScript for every file created or removed. The reply of such a change says
// what the directory's attributes are afterwards; they are kept here for that getattr —
// and for the others that come within a second, before the next change: several callers
// walking through the directory at once (eight writers creating in it) each send one
// before the first answer is cached by the kernel. Nothing else changes a directory's
// attributes (tierfs keeps no atime of directories), so each such answer is JavaScript's.
//
// Kept attributes are never older than a change: a request that may change a directory
// (one of those, a setattr, setxattr or removexattr of it) drops what is
// kept of it when it arrives, and an offer is taken only when no other such request of
// that directory is still being answered (its reply could have been computed before the
// other change). A rename or rmdir (whose moved or removed inode the request does not
// name) drops everything, and nothing is offered while one is being answered; a rename
// whose reply says it moved no directory offers its directories' attributes as it ends.
// Nothing in the daemon changes a directory on its own while mounted.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "request.h"

namespace tierfs {

class DirAttrs {
 public:
  // Request r arrived (before JavaScript sees it).
  void arrived(const Request& r);
  // Request r was answered (or interrupted before JavaScript started it); `after`: the
  // attributes of the directory it changed, when its reply carries them. A rename's reply
  // carries them only when it moved no directory (then only its directories changed):
  // `after` of the old one, `after2` of the new one when it is another.
  void finished(const Request& r, const struct stat* after, const struct stat* after2 = nullptr);
  // A create the binding answered itself (create-grants.h) left directory ino with `after`.
  void offer(uint64_t ino, const struct stat& after);
  // A getattr of ino: true (and st) when kept, fresh, and nothing changed it since.
  bool take(uint64_t ino, struct stat& st);
  // The kernel forgot ino.
  void forget(uint64_t ino);
  uint64_t answered() const { return answered_.load(std::memory_order_relaxed); }

 private:
  using Clock = std::chrono::steady_clock;
  struct Kept {
    uint32_t changing = 0;  // requests that may change the inode, being answered
    bool has = false;
    struct stat st {};
    Clock::time_point at;
  };
  enum class Kind { None, Dir, All };
  static Kind kindOf(const Request& r, uint64_t& ino);
  void dropAllLocked();
  void sweepLocked();
  void offerLocked(uint64_t ino, const struct stat& after);

  // Attributes kept at most: past this many, entries out of date go, and while that is
  // not enough nothing more is kept.
  static constexpr size_t kMaxKept = 4096;
  static constexpr std::chrono::seconds kLifetime{1};
  std::mutex mu_;
  std::unordered_map<uint64_t, Kept> kept_;
  uint32_t renaming_ = 0;  // renames and rmdirs being answered
  std::atomic<uint64_t> answered_{0};
};

}  // namespace tierfs
