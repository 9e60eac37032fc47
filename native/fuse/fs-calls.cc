// File calls Node does not have, on descriptors of backing files and directories (the
// caller opens them as it opens every backing name: beneath the volume, no symlink
// followed). Errors are thrown with the errno's name as `code`, as Node's fs does.
// - f*xattr: the tiers carry the namespace, so a lost catalog must not cost a file's
//   xattrs; they are kept on the backing file or directory too.
// - fallocate: databases, torrent clients and VM images preallocate and punch holes.
// - lseek with SEEK_DATA/SEEK_HOLE: the holes of a sparse file, for cp --sparse and tar -S.
// - openat2 with RESOLVE_NO_SYMLINKS: a backing file opened beneath its volume in one call.
// - renameat2 with RENAME_EXCHANGE: two backing names swapped in one step, so that no
//   crash leaves one of them under a third name.
// - dup3: a handle's descriptor pointed at a file's new copy in one step (a move).
// - scanDirStart/Finish: a directory's entries with an lstat of each, on threads while
//   JavaScript goes on: the mount's reconciliation stats every backing file, a million of
//   them at 1M files.
#include <dirent.h>
#include <linux/openat2.h>
#include <napi.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "fs-calls.h"

namespace tierfs {
namespace {

const char* errnoName(int e) {
  switch (e) {
    case ENOENT: return "ENOENT";
    case ENODATA: return "ENODATA";
    case ENOTSUP: return "ENOTSUP";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ERANGE: return "ERANGE";
    case E2BIG: return "E2BIG";
    case ENOSPC: return "ENOSPC";
    case EDQUOT: return "EDQUOT";
    case ENOTDIR: return "ENOTDIR";
    case ELOOP: return "ELOOP";
    case EIO: return "EIO";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case EROFS: return "EROFS";
    case EFBIG: return "EFBIG";
    case ENODEV: return "ENODEV";
    case ESPIPE: return "ESPIPE";
    case ENXIO: return "ENXIO";
    case EXDEV: return "EXDEV";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EEXIST: return "EEXIST";
    case EBUSY: return "EBUSY";
    case ETXTBSY: return "ETXTBSY";
    case EINTR: return "EINTR";
    case EAGAIN: return "EAGAIN";
    case EISDIR: return "EISDIR";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    default: return "EIO";
  }
}

Napi::Value fail(Napi::Env env, const char* call, int e) {
  Napi::Error err = Napi::Error::New(env, std::string(errnoName(e)) + ": " + std::strerror(e) + ", " + call);
  err.Set("code", Napi::String::New(env, errnoName(e)));
  err.Set("errno", Napi::Number::New(env, -e));
  err.Set("syscall", Napi::String::New(env, call));
  err.ThrowAsJavaScriptException();
  return env.Undefined();
}

// xattrList(fd) → names
Napi::Value List(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  for (;;) {
    ssize_t n = flistxattr(fd, nullptr, 0);
    if (n < 0) return fail(env, "flistxattr", errno);
    std::vector<char> buf(n > 0 ? n : 1);
    ssize_t got = flistxattr(fd, buf.data(), buf.size());
    if (got < 0 && errno == ERANGE) continue;  // grew in between
    if (got < 0) return fail(env, "flistxattr", errno);
    Napi::Array names = Napi::Array::New(env);
    uint32_t k = 0;
    for (ssize_t at = 0; at < got;) {
      size_t len = strnlen(buf.data() + at, got - at);
      names.Set(k++, Napi::String::New(env, buf.data() + at, len));
      at += len + 1;
    }
    return names;
  }
}

// xattrGet(fd, name) → Buffer, or undefined when there is no such attribute
Napi::Value Get(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  std::string name = info[1].As<Napi::String>();
  for (;;) {
    ssize_t n = fgetxattr(fd, name.c_str(), nullptr, 0);
    if (n < 0 && errno == ENODATA) return env.Undefined();
    if (n < 0) return fail(env, "fgetxattr", errno);
    std::vector<char> buf(n > 0 ? n : 1);
    ssize_t got = fgetxattr(fd, name.c_str(), buf.data(), buf.size());
    if (got < 0 && errno == ERANGE) continue;
    if (got < 0 && errno == ENODATA) return env.Undefined();
    if (got < 0) return fail(env, "fgetxattr", errno);
    return Napi::Buffer<char>::Copy(env, buf.data(), got);
  }
}

// xattrSet(fd, name, value)
Napi::Value Set(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  std::string name = info[1].As<Napi::String>();
  Napi::Buffer<char> value = info[2].As<Napi::Buffer<char>>();
  if (fsetxattr(fd, name.c_str(), value.Data(), value.Length(), 0) != 0) return fail(env, "fsetxattr", errno);
  return env.Undefined();
}

// xattrRemove(fd, name); a missing attribute is no error
Napi::Value Remove(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  std::string name = info[1].As<Napi::String>();
  if (fremovexattr(fd, name.c_str()) != 0 && errno != ENODATA) return fail(env, "fremovexattr", errno);
  return env.Undefined();
}

// fallocate(fd, mode, offset, length): the mode bits are the kernel's (FALLOC_FL_*), as
// the FUSE request carries them.
Napi::Value Fallocate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  int mode = info[1].As<Napi::Number>().Int32Value();
  off_t offset = static_cast<off_t>(info[2].As<Napi::Number>().Int64Value());
  off_t length = static_cast<off_t>(info[3].As<Napi::Number>().Int64Value());
  if (::fallocate(fd, mode, offset, length) != 0) return fail(env, "fallocate", errno);
  return env.Undefined();
}

// replaceDescriptor(from, to): dup3(from, to), which Node lacks: the file behind `to`
// becomes `from`'s in one step, for every thread that reads through `to` (a handle's
// descriptor, which the binding's threads read too), with no moment where `to` is closed.
Napi::Value ReplaceDescriptor(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int from = info[0].As<Napi::Number>().Int32Value();
  int to = info[1].As<Napi::Number>().Int32Value();
  if (::dup3(from, to, O_CLOEXEC) < 0) return fail(env, "dup3", errno);
  return env.Undefined();
}

// exchangeNames(a, b): renameat2(RENAME_EXCHANGE), which Node lacks. Both must exist.
Napi::Value ExchangeNames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string a = info[0].As<Napi::String>().Utf8Value();
  std::string b = info[1].As<Napi::String>().Utf8Value();
  if (::syscall(SYS_renameat2, AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) != 0) return fail(env, "renameat2", errno);
  return env.Undefined();
}

// seek(fd, offset, whence) → the new offset: SEEK_DATA and SEEK_HOLE, which Node lacks.
Napi::Value Seek(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  off_t offset = static_cast<off_t>(info[1].As<Napi::Number>().Int64Value());
  int whence = info[2].As<Napi::Number>().Int32Value();
  off_t at = ::lseek(fd, offset, whence);
  if (at < 0) return fail(env, "lseek", errno);
  return Napi::Number::New(env, static_cast<double>(at));
}

// The volume roots openBeneath resolves from, each kept open for a while: opening and
// closing the root around every openat2 was two of the five system calls of an unlink
// through the mount (each 10-20 us on a virtual machine). A root is opened again when its
// descriptor is older than kRootReuseMs, so a volume replaced or unmounted under the daemon
// is seen as soon as any path resolution would have seen it a second before. Threads
// (JavaScript workers) share the cache under its lock, held across the openat2 so that no
// descriptor is closed while in use.
constexpr int64_t kRootReuseMs = 1000;

struct OpenRoot {
  int fd = -1;
  int64_t openedMs = 0;
};

std::mutex rootsMu;
std::unordered_map<std::string, OpenRoot> roots;

int64_t monotonicMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// openBeneath(root, rel, flags, mode) → a descriptor, or -errno: rel opened below the
// directory root with no symlink followed on the way (nor at the end, nor a /proc magic
// link), and no way out of root — what the component-by-component walk of
// tiers/local/beneath.ts does, in one system call (Linux 5.6+; -ENOSYS before).
Napi::Value OpenBeneath(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string root = info[0].As<Napi::String>();
  std::string rel = info[1].As<Napi::String>();
  int flags = info[2].As<Napi::Number>().Int32Value();
  int mode = info[3].As<Napi::Number>().Int32Value();
  std::lock_guard<std::mutex> lock(rootsMu);
  OpenRoot& r = roots[root];
  int64_t now = monotonicMs();
  if (r.fd < 0 || now - r.openedMs > kRootReuseMs) {
    if (r.fd >= 0) ::close(r.fd);
    r.fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    r.openedMs = now;
    if (r.fd < 0) {
      int e = errno;
      roots.erase(root);
      return Napi::Number::New(env, -e);
    }
  }
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = static_cast<uint64_t>(flags) | O_CLOEXEC;
  how.mode = (flags & O_CREAT) ? static_cast<uint64_t>(mode) : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  long fd = ::syscall(SYS_openat2, r.fd, rel.c_str(), &how, sizeof how);
  return Napi::Number::New(env, fd < 0 ? -errno : static_cast<double>(fd));
}

// Per entry of a scan's `stats` (doubles): what reconciliation compares and imports.
enum ScanField { kMode, kUid, kGid, kSize, kBlocks, kNlink, kMtimeMs, kErrno, kScanFields };
// Per entry of a scan's `exact` (64-bit integers): times in nanoseconds and the inode number.
enum ScanExact { kAtimeNs, kMtimeNs, kCtimeNs, kIno, kScanExact };

// Entries from this many on are stat-ed on more than one thread.
constexpr size_t kParallelFrom = 512;

// A directory's entries (no "." or ".."), each name followed by a NUL, and an lstat of
// each (fstatat with AT_SYMLINK_NOFOLLOW). An entry gone between the listing and its stat
// has mode 0 and its errno. `call` and `err` name a failure to list at all.
struct DirScan {
  std::string names;
  std::vector<size_t> starts;
  std::vector<double> stats;
  std::vector<int64_t> exact;
  const char* call = nullptr;
  int err = 0;
};

// Scan the directory open at fd, and close fd.
void scanInto(int fd, DirScan& out) {
  DIR* dir = ::fdopendir(fd);
  if (!dir) {
    out.call = "fdopendir";
    out.err = errno;
    ::close(fd);
    return;
  }
  ::rewinddir(dir);
  errno = 0;
  while (struct dirent* d = ::readdir(dir)) {
    if (d->d_name[0] == '.' && (d->d_name[1] == 0 || (d->d_name[1] == '.' && d->d_name[2] == 0))) continue;
    out.starts.push_back(out.names.size());
    out.names.append(d->d_name);
    out.names.push_back('\0');
  }
  if (errno != 0) {
    out.call = "readdir";
    out.err = errno;
    ::closedir(dir);
    return;
  }
  const size_t n = out.starts.size();
  out.stats.assign(n * kScanFields, 0.0);
  out.exact.assign(n * kScanExact, 0);
  auto statRange = [&out, fd](size_t from, size_t to) {
    struct stat st;
    for (size_t i = from; i < to; i++) {
      double* s = out.stats.data() + i * kScanFields;
      int64_t* x = out.exact.data() + i * kScanExact;
      if (::fstatat(fd, out.names.c_str() + out.starts[i], &st, AT_SYMLINK_NOFOLLOW) != 0) {
        s[kErrno] = errno;
        continue;
      }
      s[kMode] = st.st_mode;
      s[kUid] = st.st_uid;
      s[kGid] = st.st_gid;
      s[kSize] = static_cast<double>(st.st_size);
      s[kBlocks] = static_cast<double>(st.st_blocks);
      s[kNlink] = static_cast<double>(st.st_nlink);
      s[kMtimeMs] = st.st_mtim.tv_sec * 1e3 + st.st_mtim.tv_nsec / 1e6;
      x[kAtimeNs] = st.st_atim.tv_sec * 1000000000LL + st.st_atim.tv_nsec;
      x[kMtimeNs] = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
      x[kCtimeNs] = st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec;
      x[kIno] = static_cast<int64_t>(st.st_ino);
    }
  };
  // fstatat is the kernel's work, not ours: the threads share nothing but the directory.
  size_t threads = n < kParallelFrom ? 1 : std::min<size_t>(4, std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; t++) pool.emplace_back(statRange, n * t / threads, n * (t + 1) / threads);
  statRange(0, n / threads);
  for (auto& th : pool) th.join();
  ::closedir(dir);
}

// { names, stats, exact } for JavaScript (src/tiers/local/scan-dir.ts reads it).
Napi::Value toJs(Napi::Env env, const DirScan& scan) {
  if (scan.err != 0) return fail(env, scan.call, scan.err);
  const size_t n = scan.starts.size();
  Napi::ArrayBuffer statBuf = Napi::ArrayBuffer::New(env, std::max<size_t>(1, n) * kScanFields * sizeof(double));
  Napi::ArrayBuffer exactBuf = Napi::ArrayBuffer::New(env, std::max<size_t>(1, n) * kScanExact * sizeof(int64_t));
  std::copy(scan.stats.begin(), scan.stats.end(), static_cast<double*>(statBuf.Data()));
  std::copy(scan.exact.begin(), scan.exact.end(), static_cast<int64_t*>(exactBuf.Data()));
  Napi::Object out = Napi::Object::New(env);
  out.Set("names", Napi::Buffer<char>::Copy(env, scan.names.data(), scan.names.size()));
  out.Set("stats", Napi::Float64Array::New(env, n * kScanFields, statBuf, 0));
  out.Set("exact", Napi::TypedArrayOf<int64_t>::New(env, n * kScanExact, exactBuf, 0, napi_bigint64_array));
  return out;
}

// A scan running on a thread while JavaScript goes on (the next directories of a walk,
// read while the current one is compared with the catalog).
struct PendingScan {
  int fd;
  DirScan scan;
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  bool taken = false;

  void wait() {
    std::unique_lock<std::mutex> lock(m);
    cv.wait(lock, [this] { return done; });
  }
};

// Scans run on a few threads kept for the process's life, and the walk's thread wakes one
// only when none is at work: a thread made per scan cost about half a millisecond, and
// so did a wake from the walk's thread on this two-core VM (an interrupt to the other
// core) — together a second of a 1M-file mount. A thread that takes a scan while more
// wait wakes (or makes) another, so a slow disk still gets scans side by side. Never
// freed: its threads wait for work until the process exits.
class ScanThreads {
 public:
  static ScanThreads& get() {
    static ScanThreads* pool = new ScanThreads();
    return *pool;
  }

  void submit(PendingScan* p) {
    bool wake = false;
    {
      std::lock_guard<std::mutex> lock(m_);
      queue_.push_back(p);
      if (busy_ == 0) wake = addWorkerLocked();
    }
    if (wake) cv_.notify_one();
  }

 private:
  static constexpr int kMaxThreads = 8;

  // One more thread at work: an idle one woken (true: the caller notifies) or a new one.
  bool addWorkerLocked() {
    if (idle_ > 0) return true;
    if (started_ == kMaxThreads) return false;
    started_++;
    busy_++;
    std::thread([this] { run(); }).detach();
    return false;
  }

  void run() {
    std::unique_lock<std::mutex> lock(m_);
    for (;;) {
      while (queue_.empty()) {
        busy_--;
        idle_++;
        cv_.wait(lock);
        idle_--;
        busy_++;
      }
      PendingScan* p = queue_.front();
      queue_.pop_front();
      bool wake = !queue_.empty() && addWorkerLocked();
      lock.unlock();
      if (wake) cv_.notify_one();
      scanInto(p->fd, p->scan);
      {
        std::lock_guard<std::mutex> done(p->m);
        p->done = true;
      }
      p->cv.notify_all();
      lock.lock();
    }
  }

  std::mutex m_;
  std::condition_variable cv_;
  std::deque<PendingScan*> queue_;
  int started_ = 0;
  int busy_ = 0;
  int idle_ = 0;
};

// scanDirStart(fd) → a handle: the scan of the directory open at fd, begun on a thread.
// The scan takes fd and closes it (a dup and a close on the walk's thread were a tenth of
// a millisecond per directory).
Napi::Value ScanDirStart(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* pending = new PendingScan();
  pending->fd = info[0].As<Napi::Number>().Int32Value();
  ScanThreads::get().submit(pending);
  // A handle dropped without scanDirFinish still waits for its scan before it is freed.
  return Napi::External<PendingScan>::New(env, pending, [](Napi::Env, PendingScan* p) {
    p->wait();
    delete p;
  });
}

// scanDirFinish(handle) → { names, stats, exact }, once the scan's thread is done.
Napi::Value ScanDirFinish(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PendingScan* p = info[0].As<Napi::External<PendingScan>>().Data();
  if (p->taken) {
    Napi::Error::New(env, "scanDirFinish: this scan was taken already").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  p->wait();
  p->taken = true;
  Napi::Value out = toJs(env, p->scan);
  p->scan = DirScan();  // its memory goes now, not when the handle is collected
  return out;
}

}  // namespace

void defineFsCalls(Napi::Env env, Napi::Object exports) {
  exports.Set("openBeneath", Napi::Function::New(env, OpenBeneath));
  exports.Set("scanDirStart", Napi::Function::New(env, ScanDirStart));
  exports.Set("scanDirFinish", Napi::Function::New(env, ScanDirFinish));
  exports.Set("seek", Napi::Function::New(env, Seek));
  exports.Set("exchangeNames", Napi::Function::New(env, ExchangeNames));
  exports.Set("replaceDescriptor", Napi::Function::New(env, ReplaceDescriptor));
  exports.Set("fallocate", Napi::Function::New(env, Fallocate));
  exports.Set("xattrList", Napi::Function::New(env, List));
  exports.Set("xattrGet", Napi::Function::New(env, Get));
  exports.Set("xattrSet", Napi::Function::New(env, Set));
  exports.Set("xattrRemove", Napi::Function::New(env, Remove));
}

}  // namespace tierfs
