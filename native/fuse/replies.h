// Answers to requests that JavaScript handled. Each call first claims the
// request: a request that was interrupted (and already answered EINTR) or that
// belongs to a session being torn down is silently dropped. Every function
// returns true only when the kernel accepted the reply, which is what decides
// whether a lookup count was taken or an opened handle must be released again.
#pragma once

#include <sys/statvfs.h>

#include <memory>
#include <string>
#include <vector>

#include "dir-ahead.h"
#include "session.h"

namespace tierfs {

struct OpenReply {
  uint64_t fh = 0;
  int fd = -1;          // backing file for the fast path, borrowed
  int directIo = -1;    // -1: the mount's page-cache policy decides
  int keepCache = -1;
  bool nonseekable = false;
  bool created = false;  // create made a new inode (not an open of one that appeared meanwhile)
  bool privileged = false;  // writes must clear setuid/setgid/capability: never in passthrough
  // A cold file's cached cells, which the handle serves reads from from its first read.
  uint64_t fileSize = 0;
  std::vector<std::shared_ptr<CellFile>> cells;
};

struct DirEntryIn {
  std::string name;
  uint64_t ino = 0;
  uint32_t mode = 0;
  int64_t nextOffset = 0;
  bool hasEntry = false;  // readdirplus: attributes and a lookup reference
  struct fuse_entry_param entry {};
  int storedXattrs = -1;  // see Replier::entry
};

class Replier {
 public:
  explicit Replier(Session& s) : s_(s) {}

  // errnum 0 is success for ops without data; parentAttr as entry()'s (an unlink's directory)
  bool err(uint64_t id, int errnum, const struct stat* parentAttr = nullptr);
  // A rename that moved no directory: its directories' attributes afterwards, and what
  // `renamed` says (Session::finish).
  bool renamed(uint64_t id, const struct stat& parentAttr, const Renamed& renamed);
  // storedXattrs: what JavaScript said of the inode's stored xattrs (-1 nothing,
  // 0 none, 1 some), which lets the binding answer getxattr of them (Session).
  // parentAttr: the directory's attributes after a change that made the entry, for
  // the getattr that follows (dir-attrs.h); null when not given.
  // keep: JavaScript hands the file's attributes (and, for a lookup, its name) over (file-attrs.h)
  bool entry(uint64_t id, const struct fuse_entry_param& e, int storedXattrs, const struct stat* parentAttr = nullptr, bool keep = false);
  // keep: as entry()'s, for getattr
  bool attr(uint64_t id, const struct stat& st, double timeout, bool keep = false);
  bool readlink(uint64_t id, const std::string& target);
  bool open(uint64_t id, const OpenReply& o);  // open and opendir
  bool create(uint64_t id, const struct fuse_entry_param& e, const OpenReply& o, int storedXattrs,
              const struct stat* parentAttr = nullptr);
  // The reply to a create the binding carried out itself (create-grants.h), or to r once
  // claimed: the handle made, answered in passthrough where the kernel offers it.
  bool createdFile(Request& r, const struct fuse_entry_param& e, const OpenReply& o, int storedXattrs);
  bool write(uint64_t id, size_t count);
  bool lseek(uint64_t id, off_t offset);
  bool data(uint64_t id, const char* bytes, size_t len);  // read: at most the size asked
  bool statfs(uint64_t id, const struct statvfs& st);
  // getxattr/listxattr: a size-0 probe gets the length, a short buffer ERANGE.
  bool xattr(uint64_t id, const char* bytes, size_t len);
  // Packs entries until the kernel's buffer is full. Returns how many were
  // packed (a prefix of `entries`), or -1 when the reply was not delivered.
  // A listing's page: the entries that fit, packed; the number packed, or -1.
  int dir(uint64_t id, const std::vector<DirEntryIn>& entries);
  // A page of names alone: those that fit, packed; the rest (taken from `names`) kept on
  // the handle for the next pages (dir-ahead.h). `end`: the names reach the end of the
  // directory.
  int names(uint64_t id, std::vector<DirName>& names, bool end);

 private:
  // Request id, to be answered (Session::finish); null when an interrupt answered it.
  std::unique_ptr<Request> claim(uint64_t id, const struct stat* parentAttr = nullptr, bool done = false, const Renamed* renamed = nullptr);
  FileHandle* makeHandle(Request& r, uint64_t ino, const OpenReply& o, struct fuse_file_info& fi);
  void dropHandle(FileHandle* h);
  int answerPassthrough(Request& r, FileHandle* h, const OpenReply& o, const struct fuse_entry_param* e);

  Session& s_;
};

}  // namespace tierfs
