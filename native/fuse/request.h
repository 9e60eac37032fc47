// One FUSE request on its way from a FUSE thread to JavaScript and back.
//
// A FUSE thread packages the request (copying everything libfuse will reuse once
// the op callback returns) and hands it to the dispatcher without waiting. The
// answer comes later from another thread; the in-flight table and the atomic
// state make sure exactly one of {JavaScript, the interrupt handler} replies.
#pragma once

#include <fuse_lowlevel.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace tierfs {

// Numbering is shared with JavaScript through the binding's `opcodes` table.
enum class Op : uint8_t {
  Init = 1,
  Forget,  // notification: no reply
  Lookup,
  Getattr,
  Setattr,
  Readlink,
  Mknod,
  Mkdir,
  Unlink,
  Rmdir,
  Symlink,
  Rename,
  Link,
  Open,
  Read,
  Write,
  Flush,
  Release,
  Fsync,
  Opendir,
  Readdir,
  Releasedir,
  Fsyncdir,
  Statfs,
  Setxattr,
  Getxattr,
  Listxattr,
  Removexattr,
  Access,
  Create,
  Fallocate,
  CopyFileRange,
  Lseek,
  Log,     // notification: a libfuse log line
  Exited,  // notification: the session loop ended
  Created,  // notification: a create the binding answered itself (create-grants.h)
  Count_
};

const char* opName(Op op);

// What the reply of a rename that moved no directory says beyond success: the new parent's
// attributes afterwards (the old one's go as any reply's parentAttr), and the moved file's,
// when JavaScript hands them over (file-attrs.h). Null: not said.
struct Renamed {
  const struct stat* newParentAttr = nullptr;
  const struct stat* moved = nullptr;
};

// What the binding served natively for one handle since the last batch.
struct AccessCounts {
  uint64_t ino = 0;
  uint64_t fh = 0;
  uint64_t reads = 0;
  uint64_t readBytes = 0;
  uint64_t writes = 0;
  uint64_t writeBytes = 0;
  int64_t firstReadOffset = -1;  // -1: no read in this batch
  int64_t lastAtMs = 0;
};

struct Request {
  // Pending: nobody answered yet; an interrupt may still answer EINTR.
  // Started: JavaScript began an operation that changes the filesystem; from
  //   now on only JavaScript answers, because an EINTR could not undo it.
  // Answered: someone replied (or claimed the right to).
  enum State : int { Pending = 0, Answered = 1, Started = 2 };

  uint64_t id = 0;
  Op op = Op::Init;
  fuse_req_t req = nullptr;  // null for notifications
  uint64_t unique = 0;       // the kernel's request id, when our own loop read it
  std::atomic<int> state{Pending};

  // the caller, from fuse_req_ctx
  uint32_t uid = 0, gid = 0, pid = 0, umask = 0;

  // operands; which ones are set depends on op (see binding.cc toJs)
  uint64_t ino = 0;   // target inode, or parent for name ops, or ino_in
  uint64_t ino2 = 0;  // new parent (rename, link) or ino_out
  uint64_t fh = 0;    // JavaScript's handle number
  uint64_t fh2 = 0;
  bool hasFh = false;
  std::string name, name2;  // name / new name / symlink target / xattr name / log line
  int64_t offset = 0, offset2 = 0;
  uint64_t size = 0;  // read size, readdir buffer size, xattr buffer size, length
  int32_t flags = 0;
  uint32_t mode = 0, rdev = 0;
  int32_t mask = 0;  // access mask, fallocate mode, datasync
  int toSet = 0;     // setattr FUSE_SET_ATTR_* bits
  // The caller is not privileged and the file may have setuid/setgid: the
  // kernel's rule for a write or truncate is to clear them (see killsPrivileges).
  bool killPrivileges = false;
  bool passthrough = false;  // Init: the kernel agreed to passthrough
  uint64_t namesEpoch = 0;   // Lookup: FileAttrs' epoch of names when it arrived (file-attrs.h)
  struct stat attr {};

  // payload (write data, xattr value): malloc'd, handed to JavaScript without a copy
  char* data = nullptr;
  size_t dataLen = 0;

  std::vector<fuse_forget_data> forgets;

  // release of a writer's handle: attr is its backing file's fstat, taken at release
  // (offset2: CLOCK_MONOTONIC, in ns, just before)
  bool synced = false;

  // release of a fast-path handle: its last counts, delivered before release runs
  bool hasCounts = false;
  AccessCounts counts;

  // Touched only on the JavaScript thread: whether JavaScript was given the
  // request, and whether the session was torn down while it was still queued.
  bool delivered = false;
  bool orphaned = false;

  Request() = default;
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;
  ~Request();

  // Claims the right to reply. True for exactly one caller.
  bool claim() {
    int s = state.load();
    while (s != Answered) {
      if (state.compare_exchange_weak(s, Answered)) return true;
    }
    return false;
  }
  // What an interrupt may claim: a request nobody started to carry out.
  bool claimIfPending() {
    int expected = Pending;
    return state.compare_exchange_strong(expected, Answered);
  }
  // Called on the JavaScript thread just before JavaScript sees the request.
  // False when an interrupt answered it while it was queued.
  bool start() {
    if (!changesFilesystem()) return state.load() == Pending;
    int expected = Pending;
    return state.compare_exchange_strong(expected, Started);
  }
  // Operations that may have taken effect by the time an interrupt arrives.
  bool changesFilesystem() const;
  // Moves the payload out (the caller frees it with free()).
  char* releaseData() {
    char* d = data;
    data = nullptr;
    return d;
  }
};

// Requests handed to JavaScript and not yet answered by it, by id. The interrupt
// callback may run on any FUSE thread at any time before libfuse forgets the
// request, possibly after JavaScript replied, so it only ever sees an id and
// looks it up here; it never holds a pointer that JavaScript may free.
class InflightTable {
 public:
  void add(Request* r);
  // Removes and returns the request (null when unknown). The caller owns it.
  Request* take(uint64_t id);
  // Marks the request answered if it still is pending (not answered, not
  // started by JavaScript); true means the caller must now reply EINTR itself.
  bool interrupt(uint64_t id);
  // Everything still pending, removed; used when the session is torn down.
  std::vector<Request*> drain();
  size_t size();

 private:
  std::mutex mu_;
  std::unordered_map<uint64_t, Request*> map_;
};

}  // namespace tierfs
