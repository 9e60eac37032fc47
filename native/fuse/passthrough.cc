#include "passthrough.h"

#include <fcntl.h>
#include <linux/fuse.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <vector>

namespace tierfs {

// Protocol 7.40 (Linux 6.9), newer than the headers Debian 12 ships (7.38).
constexpr uint32_t kPassthroughFlag2 = 1u << (37 - 32);  // FUSE_PASSTHROUGH, in flags2
constexpr uint32_t kOpenPassthrough = 1u << 7;           // FOPEN_PASSTHROUGH
// The stacking depth the kernel then gives the mount: backing files may be on a
// filesystem that is itself stacked once (overlayfs); nothing stacks on tierfs.
constexpr uint32_t kMaxStackDepth = 2;
struct BackingMap {
  int32_t fd;
  uint32_t flags;
  uint64_t padding;
};
#define TIERFS_DEV_IOC_BACKING_OPEN _IOW(229, 1, BackingMap)
#define TIERFS_DEV_IOC_BACKING_CLOSE _IOW(229, 2, uint32_t)
// fuse_init_out as of 7.40: max_stack_depth is the first of 7.38's unused words.
static_assert(offsetof(struct fuse_init_out, unused) == 36, "fuse_init_out layout");

static ssize_t readRetrying(int fd, void* buf, size_t len) {
  ssize_t n;
  do n = read(fd, buf, len);
  while (n < 0 && errno == EINTR);
  return n;
}

bool negotiateInit(struct fuse_session* se, bool want, bool& passthrough, std::string& error) {
  passthrough = false;
  const int fd = fuse_session_fd(se);
  std::vector<char> buf(FUSE_MIN_READ_BUFFER);
  ssize_t n = readRetrying(fd, buf.data(), buf.size());
  if (n < static_cast<ssize_t>(sizeof(fuse_in_header))) {
    error = std::string("reading the kernel's INIT: ") + (n < 0 ? strerror(errno) : "short read");
    return false;
  }
  auto* in = reinterpret_cast<const fuse_in_header*>(buf.data());
  auto* init = reinterpret_cast<const fuse_init_in*>(buf.data() + sizeof(fuse_in_header));
  const bool initComplete = in->opcode == FUSE_INIT && n >= static_cast<ssize_t>(sizeof *in + sizeof *init);
  const bool offered = initComplete && (init->flags & FUSE_INIT_EXT) && (init->flags2 & kPassthroughFlag2);
  struct fuse_buf fb;
  memset(&fb, 0, sizeof fb);
  fb.size = static_cast<size_t>(n);
  fb.mem = buf.data();
  if (!want || !offered) {
    fuse_session_process_buf(se, &fb);
    return true;
  }
  // libfuse writes its reply to the session's descriptor: point that number at a
  // socket for the length of one request, amend the reply, then send it on.
  int sock[2];
  const int device = dup(fd);
  if (device < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sock) != 0) {
    error = std::string("passthrough negotiation: ") + strerror(errno);
    if (device >= 0) close(device);
    return false;
  }
  dup3(sock[0], fd, O_CLOEXEC);
  fuse_session_process_buf(se, &fb);
  std::vector<char> reply(sizeof(fuse_out_header) + sizeof(fuse_init_out) + 64);
  ssize_t m = recv(sock[1], reply.data(), reply.size(), MSG_DONTWAIT);
  dup3(device, fd, O_CLOEXEC);
  close(device);
  close(sock[0]);
  close(sock[1]);
  if (m < static_cast<ssize_t>(sizeof(fuse_out_header))) {
    error = "libfuse did not answer the kernel's INIT";
    return false;
  }
  auto* oh = reinterpret_cast<fuse_out_header*>(reply.data());
  auto* out = reinterpret_cast<fuse_init_out*>(reply.data() + sizeof *oh);
  if (oh->error == 0 && m >= static_cast<ssize_t>(sizeof *oh + sizeof *out) && !(out->flags & FUSE_WRITEBACK_CACHE)) {
    out->flags |= FUSE_INIT_EXT;
    out->flags2 |= kPassthroughFlag2;
    out->unused[0] = kMaxStackDepth;
    passthrough = true;
  }
  if (write(fd, reply.data(), static_cast<size_t>(m)) != m) {
    error = std::string("answering the kernel's INIT: ") + strerror(errno);
    passthrough = false;
    return false;
  }
  return true;
}

static int sendReply(int fuseFd, uint64_t unique, struct iovec* args, int count) {
  struct fuse_out_header h;
  struct iovec iov[3];
  h.error = 0;
  h.unique = unique;
  h.len = sizeof h;
  iov[0] = {&h, sizeof h};
  for (int i = 0; i < count; i++) {
    iov[i + 1] = args[i];
    h.len += static_cast<uint32_t>(args[i].iov_len);
  }
  ssize_t n = writev(fuseFd, iov, count + 1);
  return n < 0 ? -errno : 0;
}

static void fillOpen(struct fuse_open_out& o, uint64_t fh, bool nonseekable, int backingId) {
  memset(&o, 0, sizeof o);
  o.fh = fh;
  o.open_flags = kOpenPassthrough | (nonseekable ? FOPEN_NONSEEKABLE : 0);
  static_assert(sizeof o.padding == sizeof(int32_t), "backing_id is 7.38's padding");
  o.padding = static_cast<uint32_t>(backingId);
}

int replyOpenPassthrough(int fuseFd, uint64_t unique, uint64_t fh, bool nonseekable, int backingId) {
  struct fuse_open_out o;
  fillOpen(o, fh, nonseekable, backingId);
  struct iovec args[1] = {{&o, sizeof o}};
  return sendReply(fuseFd, unique, args, 1);
}

// As libfuse's calc_timeout_sec/nsec: whole seconds, then the fraction in ns.
static uint64_t timeoutSec(double t) {
  if (t <= 0) return 0;
  if (t >= static_cast<double>(ULONG_MAX)) return ULONG_MAX;
  return static_cast<uint64_t>(t);
}
static uint32_t timeoutNsec(double t) {
  double f = t - static_cast<double>(timeoutSec(t));
  if (f <= 0) return 0;
  if (f >= 0.999999999) return 999999999;
  return static_cast<uint32_t>(f * 1.0e9);
}

int replyCreatePassthrough(int fuseFd, uint64_t unique, const struct fuse_entry_param& e, uint64_t fh,
                           bool nonseekable, int backingId) {
  struct fuse_entry_out eo;
  memset(&eo, 0, sizeof eo);
  eo.nodeid = e.ino;
  eo.generation = e.generation;
  eo.entry_valid = timeoutSec(e.entry_timeout);
  eo.entry_valid_nsec = timeoutNsec(e.entry_timeout);
  eo.attr_valid = timeoutSec(e.attr_timeout);
  eo.attr_valid_nsec = timeoutNsec(e.attr_timeout);
  const struct stat& st = e.attr;
  eo.attr.ino = st.st_ino;
  eo.attr.mode = st.st_mode;
  eo.attr.nlink = static_cast<uint32_t>(st.st_nlink);
  eo.attr.uid = st.st_uid;
  eo.attr.gid = st.st_gid;
  eo.attr.rdev = static_cast<uint32_t>(st.st_rdev);
  eo.attr.size = static_cast<uint64_t>(st.st_size);
  eo.attr.blksize = static_cast<uint32_t>(st.st_blksize);
  eo.attr.blocks = static_cast<uint64_t>(st.st_blocks);
  eo.attr.atime = static_cast<uint64_t>(st.st_atim.tv_sec);
  eo.attr.mtime = static_cast<uint64_t>(st.st_mtim.tv_sec);
  eo.attr.ctime = static_cast<uint64_t>(st.st_ctim.tv_sec);
  eo.attr.atimensec = static_cast<uint32_t>(st.st_atim.tv_nsec);
  eo.attr.mtimensec = static_cast<uint32_t>(st.st_mtim.tv_nsec);
  eo.attr.ctimensec = static_cast<uint32_t>(st.st_ctim.tv_nsec);
  struct fuse_open_out o;
  fillOpen(o, fh, nonseekable, backingId);
  struct iovec args[2] = {{&eo, sizeof eo}, {&o, sizeof o}};
  return sendReply(fuseFd, unique, args, 2);
}

// ---- the registry -----------------------------------------------------------------

int BackingFiles::registerBacking(int fd, Inode& in) {
  struct stat st;
  if (fstat(fd, &st) != 0) return -errno;
  // Every later open of the inode shares this backing file, writers included:
  // register one open for both (JavaScript's may be read-only).
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  int own = open(path, O_RDWR | O_CLOEXEC);
  if (own < 0) return -errno;
  BackingMap map{own, 0, 0};
  int id = ioctl(fuseFd_, TIERFS_DEV_IOC_BACKING_OPEN, &map);
  int err = id < 0 ? errno : 0;
  close(own);  // the kernel holds its own reference to the file
  if (id <= 0) return -(err ? err : EIO);
  in.backingId = id;
  in.dev = st.st_dev;
  in.fileIno = st.st_ino;
  return id;
}

BackingFiles::Choice BackingFiles::acquire(uint64_t ino, int fd, bool writing, bool privileged) {
  std::lock_guard<std::mutex> lock(mu_);
  Inode& in = inodes_[ino];
  Choice c;
  if (in.backingId > 0) {
    struct stat st;
    const bool same = fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == in.dev && st.st_ino == in.fileIno;
    if (same && !(writing && privileged)) {
      in.passthroughOpens++;
      passthroughOpensTotal_++;
      c.backingId = in.backingId;
    } else {
      refusedTotal_++;
      c.error = ETXTBSY;
    }
    return c;
  }
  if (in.cachedOpens > 0 || fd < 0 || privileged || unavailable_) {
    in.cachedOpens++;
    return c;
  }
  int id = registerBacking(fd, in);
  if (id < 0) {
    // ELOOP (stacked too deep), EPERM (needs CAP_SYS_ADMIN)…: this file is served
    // as without passthrough; said once.
    // Without CAP_SYS_ADMIN no file ever will be: stop asking.
    if (id == -EPERM) unavailable_ = true;
    if (!warned_) {
      fprintf(stderr, "tierfs: passthrough unavailable for a backing file (%s); serving %s natively\n",
              strerror(-id), unavailable_ ? "every file" : "it");
      warned_ = true;
    }
    in.cachedOpens++;
    return c;
  }
  in.passthroughOpens = 1;
  passthroughOpensTotal_++;
  c.backingId = id;
  return c;
}

void BackingFiles::release(uint64_t ino, bool passthrough) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = inodes_.find(ino);
  if (it == inodes_.end()) return;
  Inode& in = it->second;
  if (passthrough) {
    if (in.passthroughOpens > 0 && --in.passthroughOpens == 0) {
      // The kernel let go of its use of the id when it closed the file, before
      // sending this release; a new open after now registers afresh.
      uint32_t id = static_cast<uint32_t>(in.backingId);
      ioctl(fuseFd_, TIERFS_DEV_IOC_BACKING_CLOSE, &id);
      in.backingId = 0;
    }
  } else if (in.cachedOpens > 0) {
    in.cachedOpens--;
  }
  if (in.passthroughOpens == 0 && in.cachedOpens == 0) inodes_.erase(it);
}

uint64_t BackingFiles::passthroughOpens() const {
  std::lock_guard<std::mutex> lock(mu_);
  return passthroughOpensTotal_;
}

uint64_t BackingFiles::refused() const {
  std::lock_guard<std::mutex> lock(mu_);
  return refusedTotal_;
}

}  // namespace tierfs
