// Names of a directory read ahead of the kernel's requests, kept on its handle.
//
// A page of names without attributes (a plain readdir, or a readdirplus page that the
// daemon answers names-only) holds a few hundred entries of the kernel's buffer, and a
// walk by name (`find`) asks for five or more pages per directory of a thousand files:
// each one a trip into JavaScript and a catalog query, which cost a walk more than the
// names themselves. So JavaScript reads a page's names with many more after them; what
// does not fit is kept here, and the pages that continue from where the last one ended
// are answered from it without JavaScript.
//
// Only names are kept, never attributes (those are read when a page is asked for). What
// is kept was the directory's content when JavaScript read it: an entry made or removed
// after that is or is not listed by this handle, as POSIX allows for entries changed
// since opendir or rewinddir; one that exists throughout is listed once. A request at
// any other offset (seekdir, rewinddir) or of the other kind drops what is kept and goes
// to JavaScript, which reads the catalog again.
#pragma once

#include <fuse_lowlevel.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace tierfs {

struct DirName {
  std::string name;
  uint64_t ino = 0;
  uint32_t mode = 0;
  int64_t nextOffset = 0;  // the cookie a request continuing after this entry gives
};

// Packs one entry without attributes into buf (room bytes free); the bytes it needs, which
// is more than room when it does not fit (nothing is written then). A readdirplus entry
// without a node id: the kernel takes the name and type and keeps no reference.
size_t packName(fuse_req_t req, char* buf, size_t room, const std::string& name, uint64_t ino, uint32_t mode,
                int64_t nextOffset, bool plus);

// Packs names[from..] into buf as far as they fit; returns the index of the first not
// packed, and adds the bytes packed to `used`.
size_t packNames(fuse_req_t req, std::vector<char>& buf, const std::vector<DirName>& names, size_t from, bool plus,
                 size_t& used);

// Reads the catalog's joined names (`cookie,ino,type,name` per entry, '/' between) into
// `out`; false when the text is not that.
bool parseJoinedNames(const std::string& joined, std::vector<DirName>& out);

class DirAhead {
 public:
  ~DirAhead();
  // Keeps `names` (taken from the caller) to answer the requests of the same kind (plus or
  // not) that continue at `offset`, then after each page given. `complete`: they reach the
  // end of the directory, and the empty page that says so is answered here too. Nothing is
  // kept past the process-wide budget.
  void keep(std::vector<DirName>& names, int64_t offset, bool plus, bool complete);
  // Answers the request when it continues what is kept; false (and nothing kept) otherwise.
  bool serve(fuse_req_t req, size_t size, int64_t offset, bool plus);

 private:
  void clearLocked();

  // Names kept at most by all handles together (a few MiB): a process holding many
  // directories open mid-listing gets its pages from JavaScript as before.
  static constexpr size_t kBudget = 1 << 18;
  static std::atomic<size_t> kept_;

  std::mutex mu_;
  bool has_ = false;
  std::vector<DirName> names_;
  size_t next_ = 0;  // the first name not given yet
  int64_t offset_ = 0;
  bool plus_ = false;
  bool complete_ = false;
};

}  // namespace tierfs
