#include "session.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <fstream>
#include <mutex>
#include <sstream>
#include <vector>

extern char** environ;

namespace tierfs {

// ---- libfuse's log lines -------------------------------------------------------

static std::mutex gLogMu;
static std::string gLastLogLine;
static Dispatcher* gLogSink = nullptr;  // the latest running session, if any

static void onFuseLog(enum fuse_log_level level, const char* fmt, va_list ap) {
  char line[512];
  vsnprintf(line, sizeof line, fmt, ap);
  size_t n = strlen(line);
  while (n > 0 && line[n - 1] == '\n') line[--n] = '\0';
  std::lock_guard<std::mutex> lock(gLogMu);
  if (level <= FUSE_LOG_ERR) gLastLogLine = line;
  if (gLogSink && level <= FUSE_LOG_NOTICE) {
    Request* r = new Request();
    r->op = Op::Log;
    r->mask = static_cast<int32_t>(level);
    r->name = line;
    gLogSink->deliver(r);
  }
}

std::string lastFuseLogLine() {
  std::lock_guard<std::mutex> lock(gLogMu);
  return gLastLogLine;
}

// ---- interrupts ------------------------------------------------------------------

// An interrupt is answered EINTR only while the request has not taken effect:
// while it waits for JavaScript, and for as long as JavaScript serves it when
// the operation only reads (lookup, read, open without O_TRUNC…). Once
// JavaScript has started an operation that changes the filesystem (mkdir,
// rename, write… see Request::changesFilesystem) it is left to finish and
// answer, because JavaScript cannot be stopped halfway and an EINTR for a
// change that then happens lies to the caller. The kernel keeps waiting for
// that answer (a fatal signal included) as it does for a local filesystem's
// syscall in progress.
// libfuse may call the interrupt callback synchronously from inside
// fuse_req_interrupt_func() (when INTERRUPT overtook the request). Replying there
// would free the request while libfuse still holds its lock, so the callback only
// leaves a note and submit() replies after registration returns.
static thread_local bool tlRegistering = false;
static thread_local bool tlInterruptedWhileRegistering = false;

static void onInterrupt(fuse_req_t req, void* data) {
  if (tlRegistering) {
    tlInterruptedWhileRegistering = true;
    return;
  }
  auto* s = static_cast<Session*>(fuse_req_userdata(req));
  if (s->inflight().interrupt(reinterpret_cast<uint64_t>(data))) fuse_reply_err(req, EINTR);
}

// ---- mountinfo -----------------------------------------------------------------

// Undoes the octal escapes (\040 for space…) of a /proc/self/mountinfo path.
static std::string unescapeMountPath(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = 0;
      bool ok = true;
      for (size_t k = 1; k <= 3; k++) {
        char c = s[i + k];
        if (c < '0' || c > '7') ok = false;
        v = v * 8 + (c - '0');
      }
      if (ok) {
        out.push_back(static_cast<char>(v));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// The kernel's device number (major << 20 | minor, which names the fusectl
// directory) of the newest mount at `mountpoint`, read from mountinfo because a
// stat() of our own mount would wait for our own loop.
static uint64_t mountDevice(const std::string& mountpoint) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  uint64_t dev = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, majmin, root, mp;
    if (!(fields >> id >> parent >> majmin >> root >> mp)) continue;
    if (unescapeMountPath(mp) != mountpoint) continue;
    unsigned major = 0, minor = 0;
    if (sscanf(majmin.c_str(), "%u:%u", &major, &minor) == 2) {
      dev = (static_cast<uint64_t>(major) << 20) | minor;
    }
  }
  return dev;
}

// ---- session -------------------------------------------------------------------

Session::Session(SessionOptions opts, Dispatcher* dispatcher)
    : opts_(std::move(opts)), dispatcher_(dispatcher) {}

Session::~Session() {
  join();
  for (Request* r : inflight_.drain()) delete r;
}

// libfuse's option parser splits on commas and honours backslash escapes.
static std::string escapeOpt(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == ',' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

bool Session::start(std::string& error) {
  std::string o = "fsname=" + escapeOpt(opts_.fsname) + ",subtype=" + escapeOpt(opts_.subtype);
  if (opts_.maxRead) o += ",max_read=" + std::to_string(opts_.maxRead);
  if (opts_.allowOther) o += ",allow_other";
  if (opts_.defaultPermissions) o += ",default_permissions";
  std::vector<const char*> argv = {"tierfs", "-o", o.c_str()};
  if (opts_.debug) argv.push_back("-d");
  struct fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), const_cast<char**>(argv.data()));

  fuse_set_log_func(onFuseLog);
  {
    std::lock_guard<std::mutex> lock(gLogMu);
    gLastLogLine.clear();
  }
  se_ = fuse_session_new(&args, lowlevelOps(), sizeof(struct fuse_lowlevel_ops), this);
  if (!se_) {
    error = "fuse_session_new failed: " + lastFuseLogLine();
    return false;
  }
  if (fuse_session_mount(se_, opts_.mountpoint.c_str()) != 0) {
    std::string why = lastFuseLogLine();
    error = "cannot mount " + opts_.mountpoint + (why.empty() ? "" : ": " + why);
    fuse_session_destroy(se_);
    se_ = nullptr;
    return false;
  }
  mounted_ = true;
  dev_ = mountDevice(opts_.mountpoint);
  {
    std::lock_guard<std::mutex> lock(gLogMu);
    gLogSink = dispatcher_;
  }
  loopRunning_ = true;
  loop_ = std::thread(&Session::runLoop, this);
  return true;
}

// The request our own loop is dispatching on this thread (see runOwnLoop).
static thread_local uint64_t tlUnique = 0;

void Session::runLoop() {
  // Requests received by splice may arrive with their header in a pipe, where the
  // loop cannot read the unique that a passthrough reply must name.
  if (opts_.passthrough && !opts_.spliceRequests) {
    // INIT first, here, so that its reply can ask for passthrough.
    std::string error;
    bool agreed = false;
    negotiating_ = true;
    bool answered = negotiateInit(se_, opts_.fastPath, agreed, error);
    negotiating_ = false;
    passthrough_ = answered && agreed;
    if (passthrough_) backing_.setDevice(fuse_session_fd(se_));
    Request* note = initNote_;
    initNote_ = nullptr;
    if (!answered) {
      // The kernel has no answer to INIT and would wait for one for ever: no loop, and
      // no "initialised" for JavaScript, whose start() then fails with this session.
      fprintf(stderr, "tierfs: %s\n", error.c_str());
      delete note;
      fuse_session_exit(se_);
    } else if (note) {
      note->passthrough = passthrough_;
      notify(note);
    }
  }
  if (fuse_session_exited(se_)) {
    // INIT could not be answered (above)
  } else if (passthrough_) {
    runOwnLoop();
  } else {
    struct fuse_loop_config* cfg = fuse_loop_cfg_create();
    fuse_loop_cfg_set_clone_fd(cfg, 1);
    fuse_loop_cfg_set_max_threads(cfg, static_cast<unsigned>(opts_.maxThreads));
    fuse_loop_cfg_set_idle_threads(cfg, static_cast<unsigned>(opts_.maxThreads));
    fuse_session_loop_mt(se_, cfg);
    fuse_loop_cfg_destroy(cfg);
  }
  {
    std::lock_guard<std::mutex> lock(gLogMu);
    if (gLogSink == dispatcher_) gLogSink = nullptr;
  }
  loopRunning_ = false;
  Request* r = new Request();
  r->op = Op::Exited;
  dispatcher_->deliver(r);
}

// libfuse's multithreaded loop reads requests on descriptors of its own
// (clone_fd) and keeps each request's header to itself; replies that carry a
// backing id must name the request and go to the descriptor it came from. So
// with passthrough, a fixed set of threads reads the session's one descriptor.
void Session::runOwnLoop() {
  std::vector<std::thread> workers;
  for (int i = 0; i < std::max(1, opts_.maxThreads); i++) workers.emplace_back(&Session::serveRequests, this);
  for (auto& t : workers) t.join();
}

void Session::serveRequests() {
  struct fuse_buf buf;
  memset(&buf, 0, sizeof buf);
  while (!fuse_session_exited(se_)) {
    int res = fuse_session_receive_buf(se_, &buf);
    if (res == -EINTR) continue;
    if (res <= 0) break;  // 0: the kernel let go (unmount or abort)
    tlUnique = (buf.flags & FUSE_BUF_IS_FD) || buf.size < sizeof(uint64_t) * 2
                   ? 0
                   : *reinterpret_cast<const uint64_t*>(static_cast<const char*>(buf.mem) + 8);
    fuse_session_process_buf(se_, &buf);
    tlUnique = 0;
  }
  fuse_session_exit(se_);  // the other threads stop at their next request, or ENODEV
  free(buf.mem);
}

void Session::noteServingThread() {
  // One look at a thread-local per request; the lock only at a thread's first.
  static thread_local const Session* noted = nullptr;
  if (noted == this) return;
  noted = this;
  std::lock_guard<std::mutex> lock(threadsMu_);
  servingThreads_.push_back(static_cast<int>(syscall(SYS_gettid)));
}

std::vector<int> Session::servingThreads() {
  std::lock_guard<std::mutex> lock(threadsMu_);
  return servingThreads_;
}

void Session::detach() {
  if (!mounted_) return;
  if (geteuid() == 0) {
    umount2(opts_.mountpoint.c_str(), MNT_DETACH);
    return;
  }
  const char* argv[] = {"fusermount3", "-u", "-z", "-q", "--", opts_.mountpoint.c_str(), nullptr};
  pid_t pid;
  if (posix_spawnp(&pid, "fusermount3", nullptr, nullptr, const_cast<char**>(argv), environ) == 0) {
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

static bool writeFile(const std::string& path, const char* text) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write(fd, text, strlen(text)) > 0;
  close(fd);
  return ok;
}

bool Session::abortConnection() {
  if (!dev_) return false;
  const std::string dir = "/sys/fs/fuse/connections";
  const std::string abortFile = dir + "/" + std::to_string(dev_) + "/abort";
  if (writeFile(abortFile, "1")) return true;
  // fusectl is not always mounted; only root can mount it.
  if (mount("fusectl", dir.c_str(), "fusectl", 0, nullptr) != 0 && errno != EBUSY) return false;
  return writeFile(abortFile, "1");
}

void Session::join() {
  if (loop_.joinable()) loop_.join();
  if (se_) {
    // Closes the device; unmounts only if something is still mounted there.
    if (mounted_) fuse_session_unmount(se_);
    fuse_session_destroy(se_);
    se_ = nullptr;
  }
  mounted_ = false;
}

namespace {
constexpr uint8_t kNoCapability = 1;
constexpr uint8_t kNoneStored = 2;

// The names JavaScript answers from the catalog's stored xattrs alone (vfs getxattr).
bool isStoredXattrName(const char* name, bool acls) {
  if (strncmp(name, "user.", 5) == 0) return strncmp(name, "user.tierfs.", 12) != 0;
  if (strncmp(name, "security.", 9) == 0 || strncmp(name, "trusted.", 8) == 0) return true;
  return acls && (strcmp(name, "system.posix_acl_access") == 0 || strcmp(name, "system.posix_acl_default") == 0);
}
}  // namespace

bool Session::answersAbsentXattr(uint64_t ino, const char* name) {
  uint8_t absent;
  {
    std::lock_guard<std::mutex> lock(xattrMu_);
    auto it = xattrsAbsent_.find(ino);
    if (it == xattrsAbsent_.end()) return false;
    absent = it->second;
  }
  const bool answered = ((absent & kNoneStored) && isStoredXattrName(name, aclsGranted_)) ||
                        ((absent & kNoCapability) && strcmp(name, kCapabilityXattr) == 0);
  if (answered) xattrsAnswered_.fetch_add(1, std::memory_order_relaxed);
  return answered;
}

void Session::learnNoCapability(uint64_t ino) {
  std::lock_guard<std::mutex> lock(xattrMu_);
  xattrsAbsent_[ino] |= kNoCapability;
}

void Session::learnStoredXattrs(uint64_t ino, int storedXattrs) {
  if (storedXattrs < 0) return;
  std::lock_guard<std::mutex> lock(xattrMu_);
  if (storedXattrs == 0) {
    xattrsAbsent_[ino] = kNoCapability | kNoneStored;
    return;
  }
  auto it = xattrsAbsent_.find(ino);
  if (it == xattrsAbsent_.end()) return;
  it->second &= ~kNoneStored;
  if (it->second == 0) xattrsAbsent_.erase(it);
}

void Session::forgetXattrs(uint64_t ino) {
  std::lock_guard<std::mutex> lock(xattrMu_);
  xattrsAbsent_.erase(ino);
}

uint64_t Session::forgotten(uint64_t ino, uint64_t nlookup) {
  forgetXattrs(ino);
  dirAttrs_.forget(ino);
  createGrants_.forget(ino);
  return fileAttrs_.takeRefs(ino, nlookup);
}

static bool hasPrivilegeBits(uint32_t mode) {
  return S_ISREG(mode) && ((mode & S_ISUID) || (mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP));
}

void Session::noteMode(uint64_t ino, uint32_t mode) {
  const bool privileged = hasPrivilegeBits(mode);
  if (!privileged && privilegedCount_.load(std::memory_order_acquire) == 0) return;
  std::lock_guard<std::mutex> lock(privMu_);
  if (privileged) privileged_.insert(ino);
  else privileged_.erase(ino);
  privilegedCount_.store(privileged_.size(), std::memory_order_release);
}

bool Session::mayHavePrivileges(uint64_t ino) {
  if (privilegedCount_.load(std::memory_order_acquire) == 0) return false;
  std::lock_guard<std::mutex> lock(privMu_);
  return privileged_.count(ino) != 0;
}

void Session::privilegesKilled(uint64_t ino) {
  {
    std::lock_guard<std::mutex> lock(privMu_);
    privileged_.erase(ino);
    privilegedCount_.store(privileged_.size(), std::memory_order_release);
  }
  // A negative offset invalidates the attributes only, not cached pages: no
  // page lock is taken, so this cannot wait for the write still in flight.
  // -ENOENT (the kernel has no such inode cached) is fine.
  if (se_) fuse_lowlevel_notify_inval_inode(se_, ino, -1, 0);
}

Request* Session::newRequest(fuse_req_t req, Op op, uint64_t ino) {
  Request* r = new Request();
  r->id = nextId_.fetch_add(1, std::memory_order_relaxed);
  r->op = op;
  r->req = req;
  r->ino = ino;
  r->unique = tlUnique;
  const struct fuse_ctx* ctx = fuse_req_ctx(req);
  r->uid = ctx->uid;
  r->gid = ctx->gid;
  r->pid = static_cast<uint32_t>(ctx->pid);
  r->umask = ctx->umask;
  return r;
}

void Session::submit(Request* r) {
  inflight_.add(r);
  tlInterruptedWhileRegistering = false;
  tlRegistering = true;
  fuse_req_interrupt_func(r->req, onInterrupt, reinterpret_cast<void*>(r->id));
  tlRegistering = false;
  if (tlInterruptedWhileRegistering) {
    // Interrupted before JavaScript saw it: answer now and never deliver.
    if (inflight_.interrupt(r->id)) fuse_reply_err(r->req, EINTR);
    delete inflight_.take(r->id);
    return;
  }
  dirAttrs_.arrived(*r);
  fileAttrs_.arrived(*r);
  createGrants_.arrived(*r);
  dispatcher_->deliver(r);
}

Request* Session::finish(uint64_t id, const struct stat* parentAttr, bool done, const Renamed* renamed) {
  Request* r = inflight_.take(id);
  // Before the reply: the getattr it leads the kernel to send can only follow it.
  if (r) {
    dirAttrs_.finished(*r, parentAttr, renamed ? renamed->newParentAttr : nullptr);
    fileAttrs_.finished(*r, renamed ? renamed->moved : nullptr);
    createGrants_.finished(*r, done, parentAttr);
  }
  return r;
}

void Session::notify(Request* r) {
  r->req = nullptr;
  r->id = 0;  // what JavaScript knows a notification by
  dispatcher_->deliver(r);
}

void Session::onInit(struct fuse_conn_info* conn) {
  auto want = [conn](unsigned cap, bool on) {
    if (on && (conn->capable & cap)) conn->want |= cap;
    if (!on) conn->want &= ~cap;
  };
  conn->max_write = opts_.maxWrite;  // libfuse lowers it to what its buffer holds
  conn->max_read = opts_.maxRead;
  want(FUSE_CAP_SPLICE_WRITE, opts_.splice);
  // The kernel no longer moves pages out of a pipe; asking only costs a check.
  want(FUSE_CAP_SPLICE_MOVE, false);
  want(FUSE_CAP_SPLICE_READ, opts_.spliceRequests);
  want(FUSE_CAP_AUTO_INVAL_DATA, opts_.pageCache == PageCache::Auto);
  want(FUSE_CAP_WRITEBACK_CACHE, opts_.writebackCache);
  want(FUSE_CAP_ASYNC_READ, true);
  want(FUSE_CAP_PARALLEL_DIROPS, true);
  want(FUSE_CAP_READDIRPLUS, opts_.readdirplus != ReaddirPlus::Off);
  want(FUSE_CAP_READDIRPLUS_AUTO, opts_.readdirplus == ReaddirPlus::Auto);
  want(FUSE_CAP_ASYNC_DIO, true);
  want(FUSE_CAP_CACHE_SYMLINKS, true);
  // POSIX ACLs: the kernel enforces them; we store them, keep the mode in step and apply
  // a directory's default ACL to new entries, so the umask is ours to apply (DONT_MASK).
  want(FUSE_CAP_POSIX_ACL, opts_.posixAcl);
  want(FUSE_CAP_DONT_MASK, opts_.posixAcl);
  aclsGranted_ = (conn->want & FUSE_CAP_POSIX_ACL) != 0;
  createGrants_.configure((conn->want & FUSE_CAP_DONT_MASK) != 0);
  // The kernel clears setuid bits on write and chown itself; natively served
  // writes could not do it.
  want(FUSE_CAP_HANDLE_KILLPRIV, false);
  // Locks stay local to this kernel; nothing below tierfs shares them.
  want(FUSE_CAP_POSIX_LOCKS | FUSE_CAP_FLOCK_LOCKS, false);
  // More concurrent read-ahead and async direct I/O than the kernel's 12.
  conn->max_background = 64;
  conn->congestion_threshold = 48;
  conn->time_gran = 1;
  Request* r = new Request();
  r->op = Op::Init;
  r->size = conn->max_write;
  r->offset = conn->max_readahead;
  r->flags = static_cast<int32_t>(conn->want);
  if (negotiating_) initNote_ = r;  // runLoop adds whether passthrough was agreed
  else notify(r);
}

}  // namespace tierfs
