// Attributes and names of regular files that JavaScript handed over, so that a getattr
// of one, and a lookup of its name, are answered here, without JavaScript.
//
// A file's attributes are the catalog's (a writer's backing file aside), and only
// JavaScript changes them: a setattr, link, unlink, a release that syncs the size, a
// move that changes the blocks. It hands a file's attributes over with a reply that
// carries them (lookup, getattr) or after a release, only while nobody has the file open
// for writing, and it drops them, synchronously and before it replies, whenever its
// catalog row changes or a writer opens the file (Catalog.onAttrsChanged). Both run on
// JavaScript's one thread, so what is kept is never older than the catalog by more than
// the request being answered: a getattr answered from it while a change is in flight
// comes before that change's reply, as it could have anyway. The binding itself changes
// no file's attributes except through handles open for writing (whose files are never
// kept) and its own creates (new inodes).
//
// Names: a lookup JavaScript answered with a file kept tells which inode the name is.
// Names change only through the kernel's requests while mounted (docs/ARCHITECTURE.md),
// and of those only an unlink, rmdir or rename takes a name away or points it elsewhere:
// each drops the names it touches when it arrives and again when it is answered, and a
// lookup's answer is kept only if no such request arrived or was answered since the
// lookup arrived (a revalidating lookup runs without the directory's lock, beside them).
// A rename that hands over its file's attributes keeps the new name, when no other such
// request is being answered: the file is then looked up by it here (an atomic save's
// readers, a file renamed then removed).
// A lookup answered here gives the kernel a reference JavaScript does not count: the
// forgets that follow give those back here first (takeRefs). What is kept outlives the
// kernel's forget of the inode (only a change drops it): a file looked up again after
// the kernel evicted it is answered here too.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "request.h"

namespace tierfs {

class FileAttrs {
 public:
  void keep(uint64_t ino, const struct stat& st);
  void drop(uint64_t ino);
  // A getattr of ino: true (and st) when kept.
  bool take(uint64_t ino, struct stat& st);

  // Request r arrived (before JavaScript sees it) / was answered; `moved`: the attributes
  // of the file a rename moved, when JavaScript hands them over with its reply.
  void arrived(Request& r);
  void finished(const Request& r, const struct stat* moved = nullptr);
  // JavaScript answered lookup with a file whose attributes it hands over.
  void keepEntry(const Request& lookup, const struct stat& st);
  // A create made name in parent ino (its attributes come with its writer's release).
  void keepName(uint64_t parent, const std::string& name, uint64_t ino);
  // A lookup of name in parent: true (and st) when the name and its file are kept; the
  // kernel's reference is counted here.
  bool lookup(uint64_t parent, const char* name, struct stat& st);
  // The kernel forgot n references of ino: returns how many of them JavaScript gave.
  uint64_t takeRefs(uint64_t ino, uint64_t n);

  uint64_t attrsAnswered() const { return attrsAnswered_.load(std::memory_order_relaxed); }
  uint64_t lookupsAnswered() const { return lookupsAnswered_.load(std::memory_order_relaxed); }

 private:
  static std::string keyOf(uint64_t parent, const std::string& name);
  static bool changesNames(Op op) { return op == Op::Unlink || op == Op::Rmdir || op == Op::Rename; }
  void dropNamesLocked(const Request& r);
  void keepLocked(uint64_t ino, const struct stat& st);
  void keepNameLocked(std::string key, uint64_t ino);
  template <typename Map>
  static void makeRoom(Map& m);

  // Kept at most, of each; past it an arbitrary eighth goes (the kernel's own cache holds
  // the files it uses now; what is kept here is only a shortcut).
  static constexpr size_t kMaxKept = 65536;
  std::mutex mu_;
  std::unordered_map<uint64_t, struct stat> attrs_;
  std::unordered_map<std::string, uint64_t> names_;  // keyOf(parent, name) -> ino
  std::unordered_map<uint64_t, uint64_t> refs_;      // references given by lookup()
  uint64_t namesEpoch_ = 0;                          // unlinks, rmdirs, renames arrived and answered
  uint32_t renaming_ = 0;                            // such requests being answered
  std::atomic<uint64_t> attrsAnswered_{0};
  std::atomic<uint64_t> lookupsAnswered_{0};
};

}  // namespace tierfs
