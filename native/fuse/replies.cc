#include "replies.h"

#include "dir-ahead.h"

#include <fcntl.h>

#include <cerrno>
#include <cstring>

namespace tierfs {

std::unique_ptr<Request> Replier::claim(uint64_t id, const struct stat* parentAttr, bool done, const Renamed* renamed) {
  std::unique_ptr<Request> r(s_.finish(id, parentAttr, done, renamed));
  if (r && !r->claim()) r.reset();  // the interrupt handler already answered
  return r;
}

bool Replier::err(uint64_t id, int errnum, const struct stat* parentAttr) {
  auto r = claim(id, errnum == 0 ? parentAttr : nullptr, errnum == 0);
  if (!r) return false;
  if (errnum == ENODATA && r->op == Op::Getxattr && r->name == kCapabilityXattr) s_.learnNoCapability(r->ino);
  if (r->op == Op::Setxattr || r->op == Op::Removexattr) s_.forgetXattrs(r->ino);
  return fuse_reply_err(r->req, errnum) == 0;
}

bool Replier::renamed(uint64_t id, const struct stat& parentAttr, const Renamed& renamed) {
  auto r = claim(id, &parentAttr, true, &renamed);
  if (!r) return false;
  return fuse_reply_err(r->req, 0) == 0;
}

// Every mode the kernel is told passes through here first (see Session::noteMode).
bool Replier::entry(uint64_t id, const struct fuse_entry_param& e, int storedXattrs, const struct stat* parentAttr, bool keep) {
  auto r = claim(id, parentAttr, true);
  if (!r) return false;
  if (keep) s_.fileAttrs().keepEntry(*r, e.attr);
  s_.noteMode(e.ino, e.attr.st_mode);
  // Before the reply: a forget of the inode can only follow it.
  s_.learnStoredXattrs(e.ino, storedXattrs);
  return fuse_reply_entry(r->req, &e) == 0;
}

bool Replier::attr(uint64_t id, const struct stat& st, double timeout, bool keep) {
  auto r = claim(id);
  if (!r) return false;
  if (keep) s_.fileAttrs().keep(r->ino, st);
  s_.noteMode(r->ino, st.st_mode);
  return fuse_reply_attr(r->req, &st, timeout) == 0;
}

bool Replier::readlink(uint64_t id, const std::string& target) {
  auto r = claim(id);
  return r && fuse_reply_readlink(r->req, target.c_str()) == 0;
}

FileHandle* Replier::makeHandle(Request& r, uint64_t ino, const OpenReply& o, struct fuse_file_info& fi) {
  const SessionOptions& opts = s_.options();
  bool isDir = r.op == Op::Opendir;
  int fd = (!isDir && opts.fastPath && o.fd >= 0) ? o.fd : -1;
  auto* h = new FileHandle(o.fh, ino, fd);
  for (const auto& c : o.cells) h->cells.add(o.fileSize, c);
  s_.handles().add(h);
  memset(&fi, 0, sizeof fi);
  fi.flags = r.flags;
  fi.fh = h->asFh();
  if (!isDir) {
    fi.direct_io = o.directIo >= 0 ? o.directIo : opts.pageCache == PageCache::None;
    fi.keep_cache = o.keepCache >= 0 ? o.keepCache : opts.pageCache == PageCache::Keep;
    fi.nonseekable = o.nonseekable;
  } else {
    // The kernel keeps a directory's listing and answers the next opendir from it. Every
    // change of the namespace comes through the kernel (the daemon changes none on its
    // own while mounted), and each one makes the kernel drop that directory's listing.
    fi.cache_readdir = 1;
    fi.keep_cache = 1;
  }
  return h;
}

// A handle the kernel never got: gone, and uncounted where BackingFiles counted it.
void Replier::dropHandle(FileHandle* h) {
  if (h->counted) s_.backingFiles().release(h->ino, h->passthrough);
  s_.handles().remove(h);
  delete h;
}

// Opens of regular files when the kernel agreed to passthrough: the handle is
// counted by BackingFiles, and a passthrough reply is written here (libfuse's
// cannot carry it). Returns -1 when answered that way (0 when the kernel took
// it), or 1 when the caller must answer through libfuse as usual.
int Replier::answerPassthrough(Request& r, FileHandle* h, const OpenReply& o, const struct fuse_entry_param* e) {
  if (!s_.passthrough() || r.unique == 0) return 1;
  const bool writing = (r.flags & O_ACCMODE) != O_RDONLY || (r.flags & O_TRUNC);
  BackingFiles::Choice c = s_.backingFiles().acquire(h->ino, h->fd, writing, o.privileged);
  if (c.error) {
    fuse_reply_err(r.req, c.error);
    return -1;
  }
  h->counted = true;
  if (c.backingId == 0) return 1;
  h->passthrough = true;
  const int fd = s_.deviceFd();
  int res = e ? replyCreatePassthrough(fd, r.unique, *e, h->asFh(), o.nonseekable, c.backingId)
              : replyOpenPassthrough(fd, r.unique, h->asFh(), o.nonseekable, c.backingId);
  fuse_reply_none(r.req);  // frees libfuse's request; the reply is written
  return res == 0 ? 0 : -1;
}

bool Replier::open(uint64_t id, const OpenReply& o) {
  auto r = claim(id);
  if (!r) return false;
  struct fuse_file_info fi;
  FileHandle* h = makeHandle(*r, r->ino, o, fi);
  int how = r->op == Op::Open ? answerPassthrough(*r, h, o, nullptr) : 1;
  // -ENOENT: the opener was interrupted and the kernel will never release.
  if (how == 0 || (how == 1 && fuse_reply_open(r->req, &fi) == 0)) return true;
  dropHandle(h);
  return false;
}

bool Replier::create(uint64_t id, const struct fuse_entry_param& e, const OpenReply& o, int storedXattrs,
                     const struct stat* parentAttr) {
  auto r = claim(id, parentAttr, true);
  if (!r) return false;
  return createdFile(*r, e, o, storedXattrs);
}

bool Replier::createdFile(Request& r, const struct fuse_entry_param& e, const OpenReply& o, int storedXattrs) {
  struct fuse_file_info fi;
  // r.ino is the parent here; the handle belongs to the new inode.
  s_.noteMode(e.ino, e.attr.st_mode);
  // A new file has no security.capability (only setxattr gives one, and that clears
  // this): the kernel's check before its first write is answered here, not in JavaScript.
  if (o.created) s_.learnNoCapability(e.ino);
  s_.learnStoredXattrs(e.ino, storedXattrs);
  // The kernel holds the directory's lock through a create: nothing renamed or removed
  // the name before this reply (file-attrs.h).
  s_.fileAttrs().keepName(r.ino, r.name, e.ino);
  FileHandle* h = makeHandle(r, e.ino, o, fi);
  int how = answerPassthrough(r, h, o, &e);
  if (how == 0 || (how == 1 && fuse_reply_create(r.req, &e, &fi) == 0)) return true;
  dropHandle(h);
  return false;
}

bool Replier::write(uint64_t id, size_t count) {
  auto r = claim(id);
  return r && fuse_reply_write(r->req, count) == 0;
}

bool Replier::lseek(uint64_t id, off_t offset) {
  auto r = claim(id);
  return r && fuse_reply_lseek(r->req, offset) == 0;
}

bool Replier::data(uint64_t id, const char* bytes, size_t len) {
  auto r = claim(id);
  if (!r) return false;
  if (len > r->size) len = r->size;
  return fuse_reply_buf(r->req, bytes, len) == 0;
}

bool Replier::statfs(uint64_t id, const struct statvfs& st) {
  auto r = claim(id);
  return r && fuse_reply_statfs(r->req, &st) == 0;
}

bool Replier::xattr(uint64_t id, const char* bytes, size_t len) {
  auto r = claim(id);
  if (!r) return false;
  if (r->size == 0) return fuse_reply_xattr(r->req, len) == 0;
  if (len > r->size) return fuse_reply_err(r->req, ERANGE) == 0;
  return fuse_reply_buf(r->req, bytes, len) == 0;
}

int Replier::dir(uint64_t id, const std::vector<DirEntryIn>& entries) {
  auto r = claim(id);
  if (!r) return -1;
  const bool plus = r->mask != 0;
  std::vector<char> buf(r->size);
  size_t used = 0;
  size_t packed = 0;
  for (; packed < entries.size(); packed++) {
    const DirEntryIn& d = entries[packed];
    size_t room = buf.size() - used;
    size_t need;
    if (plus && d.hasEntry) {
      s_.noteMode(d.entry.ino, d.entry.attr.st_mode);
      need = fuse_add_direntry_plus(r->req, buf.data() + used, room, d.name.c_str(), &d.entry, d.nextOffset);
    } else {
      need = packName(r->req, buf.data() + used, room, d.name, d.ino, d.mode, d.nextOffset, plus);
    }
    if (need > room) break;
    used += need;
  }
  if (plus) {
    for (size_t i = 0; i < packed; i++) {
      if (entries[i].hasEntry) s_.learnStoredXattrs(entries[i].entry.ino, entries[i].storedXattrs);
    }
  }
  return fuse_reply_buf(r->req, buf.data(), used) == 0 ? static_cast<int>(packed) : -1;
}

int Replier::names(uint64_t id, std::vector<DirName>& names, bool end) {
  auto r = claim(id);
  if (!r) return -1;
  const bool plus = r->mask != 0;
  std::vector<char> buf(r->size);
  size_t used = 0;
  const size_t packed = packNames(r->req, buf, names, 0, plus, used);
  // Names that did not fit, kept for the pages that follow (dir-ahead.h); before the reply,
  // which the next request of the listing can only follow.
  if ((packed < names.size() || end) && r->hasFh) {
    const int64_t from = packed > 0 ? names[packed - 1].nextOffset : static_cast<int64_t>(r->offset);
    names.erase(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(packed));
    s_.handles().withJsHandle(r->fh, [&](FileHandle* h) { h->ahead.keep(names, from, plus, end); });
  }
  return fuse_reply_buf(r->req, buf.data(), used) == 0 ? static_cast<int>(packed) : -1;
}

}  // namespace tierfs
