// FUSE passthrough (Linux 6.9+): reads, writes and mmap of a local file go
// from the kernel straight to its backing file; the daemon still sees open,
// release, setattr and everything else.
//
// libfuse 3.14 knows nothing of it, so this module speaks that part of the
// kernel protocol itself: it patches libfuse's INIT reply to ask for it, and
// writes the open and create replies that carry a backing id (see Session).
#pragma once

#include <fuse_lowlevel.h>
#include <sys/types.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace tierfs {

// Answers the kernel's INIT (the first request of a new mount) through libfuse,
// asking for passthrough when `want` and the kernel offers it. Returns whether
// the kernel was asked; on a read or write failure returns false with `error` set.
bool negotiateInit(struct fuse_session* se, bool want, bool& passthrough, std::string& error);

// Replies written here rather than by libfuse, which cannot say FOPEN_PASSTHROUGH
// or carry a backing id. `unique` is the request's, from its header. Returns 0
// or -errno (ENOENT: the opener is gone, as with fuse_reply_*).
int replyOpenPassthrough(int fuseFd, uint64_t unique, uint64_t fh, bool nonseekable, int backingId);
int replyCreatePassthrough(int fuseFd, uint64_t unique, const struct fuse_entry_param& e, uint64_t fh,
                           bool nonseekable, int backingId);

// How each regular file's opens are answered. The kernel keeps one backing file
// per inode while any passthrough open of it lasts, and refuses (EIO to the
// opener) to mix passthrough opens with page-cached ones or to change the
// backing file meanwhile — so this registry decides per inode:
//  - no open yet, local file: passthrough, with a backing id registered now;
//  - page-cached opens exist (a cold file, or one that came back while open):
//    page-cached like them;
//  - passthrough opens exist: the same backing id. The daemon does not move a
//    local file while it is open (Vfs.openHold), so the file is the same; if it
//    were not, the open is refused ETXTBSY rather than given other bytes.
class BackingFiles {
 public:
  struct Choice {
    int backingId = 0;  // > 0: open in passthrough with this id
    int error = 0;      // refuse the open with this errno
  };

  void setDevice(int fuseFd) { fuseFd_ = fuseFd; }

  // An open of regular file `ino` that JavaScript answered with local
  // descriptor `fd` (-1: JavaScript serves its bytes). A `privileged` file (its
  // writes must clear setuid/setgid or a capability) is never put in
  // passthrough, and is not written through an existing one. Counts the open
  // unless it is refused; undo with release() if the reply does not reach the kernel.
  Choice acquire(uint64_t ino, int fd, bool writing, bool privileged);
  void release(uint64_t ino, bool passthrough);

  uint64_t passthroughOpens() const;
  uint64_t refused() const;

 private:
  struct Inode {
    int backingId = 0;
    dev_t dev = 0;
    ino_t fileIno = 0;
    uint32_t passthroughOpens = 0;
    uint32_t cachedOpens = 0;
  };
  int registerBacking(int fd, Inode& in);

  int fuseFd_ = -1;
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, Inode> inodes_;
  uint64_t passthroughOpensTotal_ = 0;
  uint64_t refusedTotal_ = 0;
  bool warned_ = false;
  bool unavailable_ = false;  // the kernel refused a backing file for lack of privilege
};

}  // namespace tierfs
