// Creates of files answered by the binding, in directories JavaScript handed over.
//
// A new file costs JavaScript a lookup (the name is not there yet), the create (the
// backing file, the catalog rows) and the release; the caller waits for the first two,
// and with one JavaScript thread each create also waits for the work of the ones before.
// Once JavaScript has created a file in a directory it may grant that directory: a
// descriptor of its backing directory on the volume new files go to, every name the
// directory holds, and its attributes. The binding then answers itself
//   - a lookup of a name the directory does not hold: ENOENT (or a negative entry), and
//   - a create of such a name: the backing file made beneath the directory's descriptor
//     (O_EXCL, no symlink followed), owned and moded as JavaScript makes it, with an
//     inode and a handle number from stock JavaScript set aside,
// and tells JavaScript what it made before the kernel hears of it, so that the catalog
// rows, the handle and the access record exist before any later request is handled.
// A crash before those rows are committed loses nothing: the backing file is there, and
// the next mount's reconcile imports it, as for a create JavaScript answered (both are
// answered before their catalog change commits; catalog/group-commit.ts).
//
// The names kept must be exactly the directory's. Every change of them comes through
// the kernel, which makes the changes of one directory one at a time (the directory's
// lock), and nothing in the daemon changes a directory on its own while mounted. A
// change JavaScript answers is applied to the names when its success is answered (one
// that failed ends the grant), and while one is being answered nothing is answered here
// in that directory. A change of the
// directory's own attributes (setattr, setxattr, removexattr: its mode, group or default
// ACL decide a new file's) ends its grant, as does the kernel's forget of it; JavaScript
// ends every grant when new files should go elsewhere. Anything unusual (a name that is
// there or too long, setuid/setgid/sticky bits asked for, a stray backing file, any error
// of the backing filesystem, no stock left) goes to JavaScript as before.
//
// A directory's names alone (no descriptor) may be granted for lookups only: after a
// lookup JavaScript answered "no such name" in it (a search path, a build probing for
// its outputs, an import system: names that are each asked once, which the kernel's
// negative entries cannot answer). The names are kept exact as those of a create grant;
// only creates still go to JavaScript, and the tier's budget does not end such a grant.
#pragma once

#include <fuse_lowlevel.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "request.h"

namespace tierfs {

// What a create answered here made, for JavaScript (Op::Created).
struct MadeFile {
  uint64_t parent = 0;
  std::string name;
  uint64_t ino = 0;
  uint64_t jsFh = 0;
  uint32_t placement = 0;  // JavaScript's number for the tier and volume of the grant
  int fd = -1;             // the backing file, open as the caller asked; JavaScript owns it
  int flags = 0;
  struct stat attr {};     // the new file's attributes, as the kernel is told
};

class CreateGrants {
 public:
  ~CreateGrants();

  // JavaScript's side.
  // dirfd: the backing directory (taken: closed when the grant ends); names: all the
  // directory's; attr: its attributes now; budget: bytes the tier may still take before
  // new files should go elsewhere (see released()).
  void grant(uint64_t dir, int dirfd, uint32_t placement, const struct stat& attr, std::vector<std::string> names, int64_t budget);
  // names: all the directory's, for lookups only; a grant it has already stays.
  void grantLookups(uint64_t dir, std::vector<std::string> names);
  void revokeAll();
  // Inode and handle numbers JavaScript set aside for creates answered here.
  void supply(uint64_t inoFrom, uint32_t inos, uint64_t fhFrom, uint32_t fhs);
  // Numbers left: JavaScript tops the stock up when it runs low.
  uint32_t stockLeft();
  // The kernel leaves the caller's umask to us (FUSE_DONT_MASK, set at INIT).
  void configure(bool dontMask);

  // FUSE threads.
  void arrived(const Request& r);
  // done: the change was carried out (a success reply); after: the directory's
  // attributes after it, when the reply carried them.
  void finished(const Request& r, bool done, const struct stat* after);
  void forget(uint64_t ino);
  // A handle open for writing was released: its file's size comes off the budget, and
  // every create grant ends when it is spent. JavaScript learns of the tier's new usage only
  // when it handles the release, which may come after the next creates here; this keeps
  // a filling tier from taking more than its budget in between.
  void released(off_t size);
  // A lookup: true when the directory is granted and does not hold the name.
  bool absent(uint64_t dir, const char* name);
  // A create: true when made here (file and dirAttr filled; dirAttrKnown says whether
  // dirAttr is the directory's attributes after it); false: JavaScript must handle it.
  bool create(uint64_t dir, const char* name, mode_t mode, int flags, const struct fuse_ctx& caller, MadeFile& file,
              struct stat& dirAttr, bool& dirAttrKnown);

  uint64_t lookupsAnswered() const { return lookups_.load(std::memory_order_relaxed); }
  uint64_t createsAnswered() const { return creates_.load(std::memory_order_relaxed); }

  // Directories granted at most, and names they hold together: past either, a new grant
  // ends older ones.
  static constexpr size_t kMaxDirs = 1024;
  static constexpr size_t kMaxNames = 262144;

 private:
  struct Dir {
    explicit Dir(int fd) : dirfd(fd) {}
    ~Dir();
    const int dirfd;  // -1: granted for lookups only
    uint32_t placement = 0;
    struct stat attr {};
    // attr's mode, owner and group are always the directory's (a change of them ends the
    // grant); its times, size and link count only while attrKnown (after a rename or an
    // rmdir in it, whose replies do not say them, they are not offered to DirAttrs).
    bool attrKnown = true;
    std::unordered_set<std::string> names;
  };
  // The directories a request changes the names of: (dir, name) removed and added.
  static void changesOf(const Request& r, std::vector<uint64_t>& dirs);
  void dropLocked(std::unordered_map<uint64_t, std::shared_ptr<Dir>>::iterator it);
  // Keeps d as dir's grant, ending older ones past kMaxDirs or kMaxNames.
  void addLocked(uint64_t dir, std::shared_ptr<Dir> d);
  void clearLocked();

  std::mutex mu_;
  std::unordered_map<uint64_t, std::shared_ptr<Dir>> dirs_;
  // Changes of names JavaScript is answering, by directory, granted or not (a grant may
  // be made while one is under way: the create JavaScript grants the directory in).
  std::unordered_map<uint64_t, uint32_t> changing_;
  size_t names_ = 0;
  uint64_t nextIno_ = 0, inoEnd_ = 0, nextFh_ = 0, fhEnd_ = 0;
  int64_t budget_ = 0;
  bool dontMask_ = false;
  std::atomic<uint64_t> lookups_{0}, creates_{0};
};

}  // namespace tierfs
