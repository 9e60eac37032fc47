// A mounted FUSE session: libfuse3 low-level API, its loop on threads of its
// own, requests handed to a Dispatcher that must never block.
#pragma once

#include <fuse_lowlevel.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "create-grants.h"
#include "dir-attrs.h"
#include "file-attrs.h"
#include "handle.h"
#include "passthrough.h"
#include "request.h"

namespace tierfs {

enum class PageCache { Keep, Auto, None };
enum class ReaddirPlus { Always, Auto, Off };

struct SessionOptions {
  std::string mountpoint;
  std::string fsname = "tierfs";
  std::string subtype = "tierfs";
  uint32_t maxRead = 0;  // 0: no limit beyond max_pages
  uint32_t maxWrite = 1 << 20;
  bool splice = true;           // replies: fast-path reads splice file → pipe → /dev/fuse
  bool spliceRequests = false;  // requests: write payloads arrive in a pipe (measured slower here)
  double attrTimeout = 1.0;
  double entryTimeout = 1.0;
  double negativeTimeout = 0;  // how long the kernel may keep a missing name (0: not at all)
  PageCache pageCache = PageCache::Auto;
  bool writebackCache = false;
  bool defaultPermissions = true;
  bool posixAcl = false;  // the kernel enforces POSIX ACLs that we store (FUSE_POSIX_ACL)
  bool allowOther = false;
  bool fastPath = true;
  // Local files' reads and writes go kernel → backing file (Linux 6.9+), when
  // the kernel offers it; needs the fast path (JavaScript's descriptors).
  bool passthrough = false;
  // Whether listings carry every entry's attributes (READDIRPLUS): always, as the
  // kernel decides per directory (auto), or never. They save a lookup per entry
  // to whatever stats what it lists, and cost a walk that reads names only.
  ReaddirPlus readdirplus = ReaddirPlus::Always;
  int maxThreads = 8;
  bool debug = false;
};

// Receives every request that JavaScript must see. deliver() runs on FUSE
// threads, must return at once and takes ownership of the request.
class Dispatcher {
 public:
  virtual ~Dispatcher() = default;
  virtual void deliver(Request* r) = 0;
};

class Session {
 public:
  Session(SessionOptions opts, Dispatcher* dispatcher);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Creates the session, mounts it and starts the loop thread. On failure
  // returns false and sets `error` (libfuse's own message when it gave one).
  bool start(std::string& error);
  // Detaches the mount (lazy unmount); the loop ends when the kernel lets go,
  // which is at once unless files on the mount are still open.
  void detach();
  // Severs the kernel connection (fusectl abort): the loop ends now, and any
  // process still using the mount gets ENOTCONN.
  bool abortConnection();
  bool loopRunning() const { return loopRunning_.load(); }
  // Waits for the loop to end and frees libfuse's session. Requests still in
  // the in-flight table must then be drained by the owner: answering them
  // would touch the freed session.
  void join();

  const SessionOptions& options() const { return opts_; }

  // Extended attributes answered here (ENODATA), without JavaScript, for inodes
  // the kernel holds: security.capability, which the kernel asks for before
  // every write(2), once JavaScript said the inode has none; and every stored
  // name (all but the computed user.tierfs.* and system.* other than ACLs) once
  // an entry reply said the inode has none stored — `ls -l` asks for two of
  // them of every file it lists. What is known goes at a setxattr or
  // removexattr of the inode, when it arrives and again when it is answered (a
  // reply computed before the change may be sent after it), and at forget.
  bool answersAbsentXattr(uint64_t ino, const char* name);
  void learnNoCapability(uint64_t ino);
  // An entry reply's word on the inode's stored xattrs: -1 none given, 0 none stored, 1 some.
  void learnStoredXattrs(uint64_t ino, int storedXattrs);
  void forgetXattrs(uint64_t ino);
  // The kernel forgot nlookup references of ino: what the binding knew of it goes;
  // returns how many of those references JavaScript gave (file-attrs.h).
  uint64_t forgotten(uint64_t ino, uint64_t nlookup);
  uint64_t xattrsAnswered() const { return xattrsAnswered_.load(std::memory_order_relaxed); }
  // Listing pages answered from names read ahead (dir-ahead.h).
  void noteListingPageAnswered() { listingPagesAnswered_.fetch_add(1, std::memory_order_relaxed); }
  uint64_t listingPagesAnswered() const { return listingPagesAnswered_.load(std::memory_order_relaxed); }

  // The threads that serve requests (libfuse's or ours), by kernel thread id, each
  // noted at its first request: the mover reads how long they wait for a CPU
  // (/proc/self/task/TID/schedstat), the part of the mount's latency its work adds to.
  void noteServingThread();
  std::vector<int> servingThreads();

  // setuid/setgid. The kernel leaves clearing them on a write to the
  // filesystem (direct I/O sends a kill flag that libfuse 3.14 drops), so the
  // binding remembers which inodes it last described to the kernel with
  // S_ISUID, or S_ISGID with S_IXGRP: only their writes by unprivileged
  // callers need JavaScript, every other write stays on the fast path.
  void noteMode(uint64_t ino, uint32_t mode);
  bool mayHavePrivileges(uint64_t ino);
  // JavaScript cleared the bits: forget the inode and make the kernel fetch
  // its attributes again (it still caches the old mode, which exec trusts).
  void privilegesKilled(uint64_t ino);
  uint64_t device() const { return dev_; }
  // Whether the kernel agreed to passthrough at INIT.
  bool passthrough() const { return passthrough_; }
  BackingFiles& backingFiles() { return backing_; }
  int deviceFd() const { return se_ ? fuse_session_fd(se_) : -1; }
  InflightTable& inflight() { return inflight_; }
  HandleRegistry& handles() { return handles_; }
  CellCounts& cellCounts() { return cellCounts_; }
  // A directory's attributes after a change, for the getattr that follows (dir-attrs.h).
  DirAttrs& dirAttrs() { return dirAttrs_; }
  // Regular files' attributes JavaScript handed over, for the getattrs of them (file-attrs.h).
  FileAttrs& fileAttrs() { return fileAttrs_; }
  // Directories whose missing names and creates the binding answers (create-grants.h).
  CreateGrants& createGrants() { return createGrants_; }

  // Called by the op callbacks (ops.cc) on FUSE threads.
  Request* newRequest(fuse_req_t req, Op op, uint64_t ino);
  void submit(Request* r);
  // Takes request id out of the in-flight table as it is answered (or dropped after an
  // interrupt); parentAttr: what its reply says of the directory it changed (dir-attrs.h);
  // done: the reply says the request was carried out (create-grants.h). A rename's reply
  // may say more (Renamed).
  Request* finish(uint64_t id, const struct stat* parentAttr = nullptr, bool done = false, const Renamed* renamed = nullptr);
  void notify(Request* r);  // no reply expected (init, forget, created, release)
  void onInit(struct fuse_conn_info* conn);

 private:
  void runLoop();
  // With passthrough: our own threads on the one session descriptor, so that
  // each request's header (its unique) is seen before libfuse dispatches it.
  void runOwnLoop();
  void serveRequests();

  SessionOptions opts_;
  Dispatcher* dispatcher_;
  struct fuse_session* se_ = nullptr;
  std::thread loop_;
  std::atomic<bool> loopRunning_{false};
  std::atomic<uint64_t> nextId_{1};
  uint64_t dev_ = 0;  // st_dev of the mount, names its fusectl directory
  bool mounted_ = false;
  bool passthrough_ = false;
  bool negotiating_ = false;         // INIT is being answered (runLoop)
  Request* initNote_ = nullptr;      // held until passthrough's outcome is known
  BackingFiles backing_;
  InflightTable inflight_;
  HandleRegistry handles_;
  CellCounts cellCounts_;
  std::atomic<bool> aclsGranted_{false};  // the kernel enforces POSIX ACLs: their xattrs are stored names (set at INIT)
  DirAttrs dirAttrs_;
  FileAttrs fileAttrs_;
  CreateGrants createGrants_;
  std::mutex xattrMu_;
  std::unordered_map<uint64_t, uint8_t> xattrsAbsent_;  // kNoCapability | kNoneStored
  std::atomic<uint64_t> listingPagesAnswered_{0};
  std::atomic<uint64_t> xattrsAnswered_{0};              // getxattr answered by answersAbsentXattr
  std::mutex threadsMu_;
  std::vector<int> servingThreads_;
  std::mutex privMu_;
  std::unordered_set<uint64_t> privileged_;
  std::atomic<size_t> privilegedCount_{0};  // lets the common case skip the lock
};

constexpr const char* kCapabilityXattr = "security.capability";

// Whether a write, truncate or fallocate by this caller must clear setuid and
// setgid, as the kernel does for local filesystems: callers other than root
// (uid 0 stands in for CAP_FSETID, which FUSE does not report) and never for
// the kernel's own writeback of cached pages.
inline bool callerKillsPrivileges(fuse_req_t req, bool writepage = false) {
  return !writepage && fuse_req_ctx(req)->uid != 0;
}

// The low-level operation table (ops.cc).
const struct fuse_lowlevel_ops* lowlevelOps();

// The last error line libfuse logged on this process (for mount failures).
std::string lastFuseLogLine();

}  // namespace tierfs
