// The low-level operation callbacks. Each runs on a FUSE thread and either
// serves the request natively (fast-path I/O, forget) or packages it for
// JavaScript and returns at once.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <cstring>

#include "fastpath.h"
#include "names.h"
#include "replies.h"
#include "session.h"

namespace tierfs {
namespace {

Session* sessionOf(fuse_req_t req) {
  Session* s = static_cast<Session*>(fuse_req_userdata(req));
  s->noteServingThread();
  return s;
}

// The handle fi->fh names, or null: no fi, or an fh that is none of ours.
FileHandle* handleOf(fuse_req_t req, struct fuse_file_info* fi) {
  return fi ? sessionOf(req)->handles().find(fi->fh) : nullptr;
}

// For requests that need an open handle: answers EBADF when fi->fh names none.
FileHandle* handleOrEbadf(fuse_req_t req, struct fuse_file_info* fi) {
  FileHandle* h = handleOf(req, fi);
  if (!h) fuse_reply_err(req, EBADF);
  return h;
}

void setFh(Request* r, FileHandle* h) {
  if (h) {
    r->fh = h->jsFh;
    r->hasFh = true;
  }
}

// Names that are not valid UTF-8 are answered EILSEQ here, before they could
// reach JavaScript as strings and collide (see names.h). True when refused.
bool refuseName(fuse_req_t req, const char* name) {
  if (isValidUtf8(name)) return false;
  fuse_reply_err(req, EILSEQ);
  return true;
}

// A write-like request by an unprivileged caller on a file that may be setuid
// or setgid: JavaScript must clear the bits before it carries the request out.
bool killsPrivileges(fuse_req_t req, fuse_ino_t ino, bool writepage = false) {
  return callerKillsPrivileges(req, writepage) && sessionOf(req)->mayHavePrivileges(ino);
}

// Shorthand for the common shape: a request on one inode, maybe one name.
void submitSimple(fuse_req_t req, Op op, fuse_ino_t ino, const char* name = nullptr, FileHandle* h = nullptr) {
  Session* s = sessionOf(req);
  Request* r = s->newRequest(req, op, ino);
  if (name) r->name = name;
  setFh(r, h);
  s->submit(r);
}

void opInit(void* userdata, struct fuse_conn_info* conn) { static_cast<Session*>(userdata)->onInit(conn); }

void opLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  if (refuseName(req, name)) return;
  Session* s = sessionOf(req);
  if (s->createGrants().absent(parent, name)) {
    // As JavaScript answers it: a negative entry the kernel may keep, or ENOENT.
    const double negativeTimeout = s->options().negativeTimeout;
    if (negativeTimeout <= 0) {
      fuse_reply_err(req, ENOENT);
      return;
    }
    struct fuse_entry_param e;
    memset(&e, 0, sizeof e);
    e.entry_timeout = negativeTimeout;
    fuse_reply_entry(req, &e);
    return;
  }
  struct fuse_entry_param e;
  memset(&e, 0, sizeof e);
  if (s->fileAttrs().lookup(parent, name, e.attr)) {
    // As JavaScript answers it (src/fuse/adapter.ts entry): generation 0, the mount's timeouts.
    e.ino = e.attr.st_ino;
    e.attr_timeout = s->options().attrTimeout;
    e.entry_timeout = s->options().entryTimeout;
    s->noteMode(e.ino, e.attr.st_mode);
    fuse_reply_entry(req, &e);
    return;
  }
  submitSimple(req, Op::Lookup, parent, name);
}

void notifyForgets(Session* s, std::vector<fuse_forget_data> forgets) {
  Request* r = new Request();
  r->op = Op::Forget;
  r->forgets = std::move(forgets);
  s->notify(r);
}

void opForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  Session* s = sessionOf(req);
  fuse_reply_none(req);
  nlookup = s->forgotten(ino, nlookup);
  if (nlookup > 0) notifyForgets(s, {fuse_forget_data{ino, nlookup}});
}

void opForgetMulti(fuse_req_t req, size_t count, struct fuse_forget_data* forgets) {
  Session* s = sessionOf(req);
  std::vector<fuse_forget_data> javascripts;  // the references JavaScript gave
  javascripts.reserve(count);
  for (size_t i = 0; i < count; i++) {
    const uint64_t n = s->forgotten(forgets[i].ino, forgets[i].nlookup);
    if (n > 0) javascripts.push_back(fuse_forget_data{forgets[i].ino, n});
  }
  fuse_reply_none(req);
  if (!javascripts.empty()) notifyForgets(s, std::move(javascripts));
}

// getattr and setattr may come with or without a handle; one that is none of
// ours is treated as none.
void opGetattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  Session* s = sessionOf(req);
  struct stat st;
  if (s->dirAttrs().take(ino, st) || s->fileAttrs().take(ino, st)) {
    s->noteMode(ino, st.st_mode);
    fuse_reply_attr(req, &st, s->options().attrTimeout);
    return;
  }
  submitSimple(req, Op::Getattr, ino, nullptr, handleOf(req, fi));
}

void opSetattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int toSet, struct fuse_file_info* fi) {
  Session* s = sessionOf(req);
  Request* r = s->newRequest(req, Op::Setattr, ino);
  r->attr = *attr;
  r->toSet = toSet;
  // A truncate: the kernel usually sends the cleared mode along itself (it does
  // when the filesystem does not handle killpriv); when it left the mode out,
  // JavaScript adds it.
  r->killPrivileges = (toSet & FUSE_SET_ATTR_SIZE) && !(toSet & FUSE_SET_ATTR_MODE) && killsPrivileges(req, ino);
  setFh(r, handleOf(req, fi));
  s->submit(r);
}

void opReadlink(fuse_req_t req, fuse_ino_t ino) { submitSimple(req, Op::Readlink, ino); }

void opMknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  if (refuseName(req, name)) return;
  Session* s = sessionOf(req);
  Request* r = s->newRequest(req, Op::Mknod, parent);
  r->name = name;
  r->mode = mode;
  r->rdev = static_cast<uint32_t>(rdev);
  s->submit(r);
}

void opMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  if (refuseName(req, name)) return;
  Session* s = sessionOf(req);
  Request* r = s->newRequest(req, Op::Mkdir, parent);
  r->name = name;
  r->mode = mode;
  s->submit(r);
}

void opUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  if (refuseName(req, name)) return;
  submitSimple(req, Op::Unlink, parent, name);
}

void opRmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  if (refuseName(req, name)) return;
  submitSimple(req, Op::Rmdir, parent, name);
}

void opSymlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
  // The target travels and is stored as a string too, so it is held to the same rule.
  if (refuseName(req, name) || refuseName(req, target)) return;
  Session* s = sessionOf(req);
  Request* r = s->newRequest(req, Op::Symlink, parent);
  r->name = name;
  r->name2 = target;
  s->submit(r);
}

void opRename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newParent, const char* newName,
              unsigned int flags) {
  if (refuseName(req, name) || refuseName(req, newName)) return;
  Session* s = sessionOf(req);
  Request* r = s->newRequest(req, Op::Rename, parent);
  r->name = name;
  r->ino2 = newParent;
  r->name2 = newName;
  r->flags = static_cast<int32_t>(flags);
  s->submit(r);
}

void opLink(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newParent, const char* newName) {
  if (refuseName(req, newName)) return;
  Session* s = sessionOf(req);
  Request* r = s->newRequest(req, Op::Link, ino);
  r->ino2 = newParent;
  r->name2 = newName;
  s->submit(r);
}

void opOpen(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  Session* s = sessionOf(req);
  Request* r = s->newRequest(req, Op::Open, ino);
  r->flags = fi->flags;
  // Opening with O_TRUNC truncates in the open itself (atomic_o_trunc), and the
  // kernel (6.18) does not follow it with a setattr that clears the bits as it
  // does for truncate(2), so the rule for truncates is applied here.
  r->killPrivileges = (fi->flags & O_TRUNC) && killsPrivileges(req, ino);
  s->submit(r);
}

void opRead(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info* fi) {
  Session* s = sessionOf(req);
  FileHandle* h = handleOrEbadf(req, fi);
  if (!h) return;
  if (h->fd >= 0) {
    serveRead(req, h, size, off, s->options().splice);
    return;
  }
  if (h->cells.serve(req, static_cast<uint64_t>(off), size, s->options().splice, s->cellCounts(),
                     [h, off](uint64_t bytes) { h->countRead(off, bytes); })) {
    return;
  }
  Request* r = s->newRequest(req, Op::Read, ino);
  setFh(r, h);
  r->size = size;
  r->offset = off;
  s->submit(r);
}

void opWriteBuf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec* bufv, off_t off, struct fuse_file_info* fi) {
  Session* s = sessionOf(req);
  FileHandle* h = handleOrEbadf(req, fi);
  if (!h) return;
  // Writes that must clear setuid/setgid go through JavaScript, which owns the
  // mode (catalog and backing file); all others stay on the fast path.
  const bool kill = killsPrivileges(req, ino, fi->writepage);
  if (h->fd >= 0 && !kill) {
    serveWrite(req, h, bufv, off);
    return;
  }
  char* data = nullptr;
  ssize_t n = copyPayload(bufv, &data);
  if (n < 0) {
    fuse_reply_err(req, static_cast<int>(-n));
    return;
  }
  Request* r = s->newRequest(req, Op::Write, ino);
  setFh(r, h);
  r->killPrivileges = kill;
  r->data = data;
  r->dataLen = static_cast<size_t>(n);
  r->offset = off;
  r->flags = fi->flags;
  s->submit(r);
}

void opFlush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  if (FileHandle* h = handleOrEbadf(req, fi)) submitSimple(req, Op::Flush, ino, nullptr, h);
}

void opRelease(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  Session* s = sessionOf(req);
  FileHandle* h = handleOrEbadf(req, fi);
  if (!h) return;
  // The kernel sends release only after every other request on the handle was
  // answered: nothing uses the handle (or the fd) any more, and its counts are final.
  s->handles().remove(h);
  Request* r = s->newRequest(req, Op::Release, ino);
  r->fh = h->jsFh;
  r->hasFh = true;
  r->flags = fi->flags;
  r->hasCounts = h->takeCounts(r->counts);
  // A writer's backing file as its last write left it, for JavaScript to record (its size
  // and times), stat-ed here rather than on JavaScript's thread, with when (JavaScript
  // stats it again if it changed the file's size or times since: Vfs.syncData).
  struct timespec now;
  if ((fi->flags & O_ACCMODE) != O_RDONLY && h->fd >= 0 && clock_gettime(CLOCK_MONOTONIC, &now) == 0 && ::fstat(h->fd, &r->attr) == 0) {
    r->synced = true;
    r->offset2 = static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
    // Tests: a FUSE thread slow to hand the release over, so that a change right after the
    // close reaches JavaScript first (test/mount/release-sync.test.ts).
    static const long delayMs = getenv("TIERFS_TEST_RELEASE_DELAY_MS") ? atol(getenv("TIERFS_TEST_RELEASE_DELAY_MS")) : 0;
    if (delayMs > 0) usleep(static_cast<useconds_t>(delayMs) * 1000);
    s->createGrants().released(r->attr.st_size);
  }
  if (h->counted) s->backingFiles().release(h->ino, h->passthrough);
  delete h;
  // Answered here, and handed to JavaScript as a notification: nobody waits for a release
  // (the kernel sends it after close(2) returned), and what JavaScript does with it (the
  // catalog's size, the handle's descriptor) no reply could report. Handed over first:
  // a forget the reply lets the kernel send then comes after it.
  s->notify(r);
  fuse_reply_err(req, 0);
}

void opFsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info* fi) {
  Session* s = sessionOf(req);
  FileHandle* h = handleOrEbadf(req, fi);
  if (!h) return;
  Request* r = s->newRequest(req, Op::Fsync, ino);
  setFh(r, h);
  r->mask = datasync;
  s->submit(r);
}

void opOpendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  Session* s = sessionOf(req);
  Request* r = s->newRequest(req, Op::Opendir, ino);
  r->flags = fi->flags;
  s->submit(r);
}

void submitReaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info* fi, bool plus) {
  Session* s = sessionOf(req);
  FileHandle* h = handleOrEbadf(req, fi);
  if (!h) return;
  if (h->ahead.serve(req, size, off, plus)) {
    s->noteListingPageAnswered();
    return;
  }
  Request* r = s->newRequest(req, Op::Readdir, ino);
  setFh(r, h);
  r->size = size;
  r->offset = off;
  r->mask = plus ? 1 : 0;
  s->submit(r);
}

void opReaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info* fi) {
  submitReaddir(req, ino, size, off, fi, false);
}

void opReaddirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info* fi) {
  submitReaddir(req, ino, size, off, fi, true);
}

// Answered here, JavaScript told after: a directory's handle holds nothing that must be
// let go of before the kernel goes on (a number, and the names read ahead, freed here),
// and a walk opens and closes one per directory.
void opReleasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  Session* s = sessionOf(req);
  FileHandle* h = handleOrEbadf(req, fi);
  if (!h) return;
  s->handles().remove(h);
  Request* r = new Request();
  r->op = Op::Releasedir;
  r->ino = ino;
  r->fh = h->jsFh;
  r->hasFh = true;
  delete h;
  fuse_reply_err(req, 0);
  s->notify(r);
}

void opFsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info* fi) {
  Session* s = sessionOf(req);
  FileHandle* h = handleOrEbadf(req, fi);
  if (!h) return;
  Request* r = s->newRequest(req, Op::Fsyncdir, ino);
  setFh(r, h);
  r->mask = datasync;
  s->submit(r);
}

void opStatfs(fuse_req_t req, fuse_ino_t ino) { submitSimple(req, Op::Statfs, ino); }

void opSetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size, int flags) {
  if (refuseName(req, name)) return;
  Session* s = sessionOf(req);
  char* copy = static_cast<char*>(malloc(size ? size : 1));
  if (!copy) {
    fuse_reply_err(req, ENOMEM);
    return;
  }
  memcpy(copy, value, size);
  s->forgetXattrs(ino);
  Request* r = s->newRequest(req, Op::Setxattr, ino);
  r->name = name;
  r->data = copy;
  r->dataLen = size;
  r->flags = flags;
  s->submit(r);
}

void opGetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  if (refuseName(req, name)) return;
  Session* s = sessionOf(req);
  if (s->answersAbsentXattr(ino, name)) {
    fuse_reply_err(req, ENODATA);
    return;
  }
  Request* r = s->newRequest(req, Op::Getxattr, ino);
  r->name = name;
  r->size = size;
  s->submit(r);
}

void opListxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  Session* s = sessionOf(req);
  Request* r = s->newRequest(req, Op::Listxattr, ino);
  r->size = size;
  s->submit(r);
}

void opRemovexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  if (refuseName(req, name)) return;
  sessionOf(req)->forgetXattrs(ino);
  submitSimple(req, Op::Removexattr, ino, name);
}

void opAccess(fuse_req_t req, fuse_ino_t ino, int mask) {
  Session* s = sessionOf(req);
  Request* r = s->newRequest(req, Op::Access, ino);
  r->mask = mask;
  s->submit(r);
}

// A create in a directory JavaScript granted (create-grants.h): the file made here,
// JavaScript told (before the kernel, so that whatever the kernel sends next finds the
// file in the catalog), then the reply. If the kernel did not take the reply (the caller
// was interrupted), JavaScript is told again: it then lets go of the handle.
bool createHere(Session* s, fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, struct fuse_file_info* fi) {
  MadeFile f;
  struct stat dirAttr;
  bool dirAttrKnown = false;
  if (!s->options().fastPath ||
      !s->createGrants().create(parent, name, mode, fi->flags, *fuse_req_ctx(req), f, dirAttr, dirAttrKnown)) {
    return false;
  }
  auto tell = [&](bool refused) {
    Request* n = new Request();
    n->op = Op::Created;
    n->ino = f.parent;
    n->name = f.name;
    n->ino2 = f.ino;
    n->fh = f.jsFh;
    n->hasFh = true;
    n->flags = f.flags;
    n->mode = f.attr.st_mode;
    n->uid = f.attr.st_uid;
    n->gid = f.attr.st_gid;
    n->offset = static_cast<int64_t>(f.attr.st_mtim.tv_sec) * 1000000000 + f.attr.st_mtim.tv_nsec;
    n->size = static_cast<uint64_t>(f.fd);
    n->rdev = f.placement;
    n->mask = refused ? 1 : 0;
    s->notify(n);
  };
  tell(false);
  // Without the directory's attributes after the create (a rename left them unknown to the
  // grants), what is kept of them is out of date: forgotten, so a getattr asks JavaScript.
  if (dirAttrKnown) s->dirAttrs().offer(parent, dirAttr);
  else s->dirAttrs().forget(parent);
  std::unique_ptr<Request> r(s->newRequest(req, Op::Create, parent));
  r->name = name;
  r->flags = fi->flags;
  struct fuse_entry_param e;
  memset(&e, 0, sizeof e);
  e.ino = f.ino;
  e.attr = f.attr;
  e.attr_timeout = s->options().attrTimeout;
  e.entry_timeout = s->options().entryTimeout;
  OpenReply o;
  o.fh = f.jsFh;
  o.fd = f.fd;
  o.created = true;
  if (!Replier(*s).createdFile(*r, e, o, 0)) tell(true);
  return true;
}

void opCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, struct fuse_file_info* fi) {
  if (refuseName(req, name)) return;
  Session* s = sessionOf(req);
  if (createHere(s, req, parent, name, mode, fi)) return;
  Request* r = s->newRequest(req, Op::Create, parent);
  r->name = name;
  r->mode = mode;
  r->flags = fi->flags;
  s->submit(r);
}

void opFallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length, struct fuse_file_info* fi) {
  Session* s = sessionOf(req);
  FileHandle* h = handleOrEbadf(req, fi);
  if (!h) return;
  Request* r = s->newRequest(req, Op::Fallocate, ino);
  setFh(r, h);
  // The kernel (6.18) clears the bits itself before a fallocate, by a setattr
  // whose reply untracks the inode; this covers kernels that do not.
  r->killPrivileges = killsPrivileges(req, ino);
  r->mask = mode;
  r->offset = offset;
  r->size = static_cast<uint64_t>(length);
  s->submit(r);
}

// SEEK_DATA and SEEK_HOLE (cp --sparse, tar -S, backup tools skip holes with them):
// the backing file answers where the binding serves I/O itself; JavaScript otherwise
// (a file read from an object tier is all data). Never ENOSYS: the kernel would stop
// asking for the whole mount.
void opLseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, struct fuse_file_info* fi) {
  FileHandle* h = handleOf(req, fi);
  if (!h) {
    fuse_reply_err(req, EBADF);
    return;
  }
  if (h->fd >= 0) {
    off_t at = ::lseek(h->fd, off, whence);
    if (at < 0) fuse_reply_err(req, errno);
    else fuse_reply_lseek(req, at);
    return;
  }
  Session* s = sessionOf(req);
  Request* r = s->newRequest(req, Op::Lseek, ino);
  r->fh = h->jsFh;
  r->hasFh = true;
  r->offset = off;
  r->mask = whence;
  s->submit(r);
}

void opCopyFileRange(fuse_req_t req, fuse_ino_t inoIn, off_t offIn, struct fuse_file_info* fiIn, fuse_ino_t inoOut,
                     off_t offOut, struct fuse_file_info* fiOut, size_t len, int flags) {
  Session* s = sessionOf(req);
  FileHandle* in = handleOf(req, fiIn);
  FileHandle* out = handleOf(req, fiOut);
  if (!in || !out) {
    fuse_reply_err(req, EBADF);
    return;
  }
  const bool kill = killsPrivileges(req, inoOut);
  if (in->fd >= 0 && out->fd >= 0 && flags == 0 && !kill) {
    serveCopyFileRange(req, in, offIn, out, offOut, len);
    return;
  }
  Request* r = s->newRequest(req, Op::CopyFileRange, inoIn);
  r->fh = in->jsFh;
  r->hasFh = true;
  r->offset = offIn;
  r->ino2 = inoOut;
  r->fh2 = out->jsFh;
  r->offset2 = offOut;
  r->size = len;
  r->flags = flags;
  r->killPrivileges = kill;
  s->submit(r);
}

struct fuse_lowlevel_ops makeOps() {
  struct fuse_lowlevel_ops ops;
  memset(&ops, 0, sizeof ops);
  ops.init = opInit;
  ops.lookup = opLookup;
  ops.forget = opForget;
  ops.forget_multi = opForgetMulti;
  ops.getattr = opGetattr;
  ops.setattr = opSetattr;
  ops.readlink = opReadlink;
  ops.mknod = opMknod;
  ops.mkdir = opMkdir;
  ops.unlink = opUnlink;
  ops.rmdir = opRmdir;
  ops.symlink = opSymlink;
  ops.rename = opRename;
  ops.link = opLink;
  ops.open = opOpen;
  ops.read = opRead;
  ops.write_buf = opWriteBuf;
  ops.flush = opFlush;
  ops.release = opRelease;
  ops.fsync = opFsync;
  ops.opendir = opOpendir;
  ops.readdir = opReaddir;
  ops.readdirplus = opReaddirplus;
  ops.releasedir = opReleasedir;
  ops.fsyncdir = opFsyncdir;
  ops.statfs = opStatfs;
  ops.setxattr = opSetxattr;
  ops.getxattr = opGetxattr;
  ops.listxattr = opListxattr;
  ops.removexattr = opRemovexattr;
  ops.access = opAccess;
  ops.create = opCreate;
  ops.fallocate = opFallocate;
  ops.copy_file_range = opCopyFileRange;
  ops.lseek = opLseek;
  return ops;
}

}  // namespace

const struct fuse_lowlevel_ops* lowlevelOps() {
  static const struct fuse_lowlevel_ops ops = makeOps();
  return &ops;
}

}  // namespace tierfs
