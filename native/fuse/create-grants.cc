#include "create-grants.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <unistd.h>

#include <climits>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <iterator>

namespace tierfs {

namespace {

bool changeGrant(Op op) { return op == Op::Setattr || op == Op::Setxattr || op == Op::Removexattr; }

}  // namespace

CreateGrants::Dir::~Dir() {
  if (dirfd >= 0) ::close(dirfd);
}

CreateGrants::~CreateGrants() = default;

void CreateGrants::dropLocked(std::unordered_map<uint64_t, std::shared_ptr<Dir>>::iterator it) {
  names_ -= it->second->names.size();
  dirs_.erase(it);
}

void CreateGrants::addLocked(uint64_t dir, std::shared_ptr<Dir> d) {
  if (d->names.size() > kMaxNames) return;
  // Room for this one: older grants go (any: a directory still being filled is handed
  // over again at its next create JavaScript answers, one still probed at its next miss).
  while (!dirs_.empty() && (dirs_.size() >= kMaxDirs || names_ + d->names.size() > kMaxNames)) dropLocked(dirs_.begin());
  names_ += d->names.size();
  dirs_.emplace(dir, std::move(d));
}

void CreateGrants::grant(uint64_t dir, int dirfd, uint32_t placement, const struct stat& attr, std::vector<std::string> names,
                         int64_t budget) {
  auto d = std::make_shared<Dir>(dirfd);  // closes dirfd whatever happens next
  d->placement = placement;
  d->attr = attr;
  d->names.reserve(names.size());
  for (auto& n : names) d->names.insert(std::move(n));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = dirs_.find(dir);
  if (it != dirs_.end()) dropLocked(it);
  budget_ = budget;
  addLocked(dir, std::move(d));
}

void CreateGrants::grantLookups(uint64_t dir, std::vector<std::string> names) {
  auto d = std::make_shared<Dir>(-1);
  d->names.reserve(names.size());
  for (auto& n : names) d->names.insert(std::move(n));
  std::lock_guard<std::mutex> lock(mu_);
  if (dirs_.count(dir)) return;
  addLocked(dir, std::move(d));
}

void CreateGrants::clearLocked() {
  dirs_.clear();
  names_ = 0;
}

void CreateGrants::revokeAll() {
  std::lock_guard<std::mutex> lock(mu_);
  clearLocked();
}

void CreateGrants::supply(uint64_t inoFrom, uint32_t inos, uint64_t fhFrom, uint32_t fhs) {
  std::lock_guard<std::mutex> lock(mu_);
  if (inos > 0) nextIno_ = inoFrom, inoEnd_ = inoFrom + inos;
  if (fhs > 0) nextFh_ = fhFrom, fhEnd_ = fhFrom + fhs;
}

uint32_t CreateGrants::stockLeft() {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<uint32_t>(std::min(inoEnd_ - nextIno_, fhEnd_ - nextFh_));
}

void CreateGrants::configure(bool dontMask) {
  std::lock_guard<std::mutex> lock(mu_);
  dontMask_ = dontMask;
}

void CreateGrants::changesOf(const Request& r, std::vector<uint64_t>& dirs) {
  switch (r.op) {
    case Op::Create:
    case Op::Mknod:
    case Op::Mkdir:
    case Op::Symlink:
    case Op::Unlink:
    case Op::Rmdir:
      dirs.push_back(r.ino);
      break;
    case Op::Link:
      dirs.push_back(r.ino2);
      break;
    case Op::Rename:
      dirs.push_back(r.ino);
      if (r.ino2 != r.ino) dirs.push_back(r.ino2);
      break;
    default:
      break;
  }
}

void CreateGrants::arrived(const Request& r) {
  if (changeGrant(r.op)) return forget(r.ino);
  std::vector<uint64_t> dirs;
  changesOf(r, dirs);
  if (dirs.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  for (uint64_t d : dirs) changing_[d]++;
}

void CreateGrants::finished(const Request& r, bool done, const struct stat* after) {
  std::vector<uint64_t> dirs;
  changesOf(r, dirs);
  if (dirs.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  for (uint64_t d : dirs) {
    auto c = changing_.find(d);
    if (c != changing_.end() && --c->second == 0) changing_.erase(c);
  }
  if (!done) {
    // A change that failed should have changed nothing; should it have changed something
    // all the same, its directories are not handed over on a guess.
    for (uint64_t d : dirs) {
      auto it = dirs_.find(d);
      if (it != dirs_.end()) dropLocked(it);
    }
    return;
  }
  auto names = [this](uint64_t dir) -> Dir* {
    auto it = dirs_.find(dir);
    return it == dirs_.end() ? nullptr : it->second.get();
  };
  auto add = [this](Dir* d, const std::string& name) {
    if (d && d->names.insert(name).second) names_++;
  };
  auto remove = [this](Dir* d, const std::string& name) {
    if (d && d->names.erase(name) > 0) names_--;
  };
  switch (r.op) {
    case Op::Create:
    case Op::Mknod:
    case Op::Mkdir:
    case Op::Symlink:
      add(names(r.ino), r.name);
      break;
    case Op::Link:
      add(names(r.ino2), r.name2);
      break;
    case Op::Unlink:
    case Op::Rmdir:
      remove(names(r.ino), r.name);
      break;
    case Op::Rename:
      // An exchange keeps both names; a whiteout leaves one where the source was.
      if (!(r.flags & (RENAME_EXCHANGE | RENAME_WHITEOUT))) remove(names(r.ino), r.name);
      add(names(r.ino2), r.name2);
      break;
    default:
      break;
  }
  for (uint64_t dir : dirs) {
    Dir* d = names(dir);
    if (!d) continue;
    // The reply says the directory's attributes after the change (all but rename and rmdir).
    if (after && dirs.size() == 1 && r.op != Op::Rmdir) {
      d->attr = *after;
      d->attrKnown = true;
    } else {
      d->attrKnown = false;
    }
  }
}

void CreateGrants::forget(uint64_t ino) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = dirs_.find(ino);
  if (it != dirs_.end()) dropLocked(it);
}

void CreateGrants::released(off_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  if (dirs_.empty()) return;
  budget_ -= size;
  if (budget_ >= 0) return;
  // Spent: the create grants end (grants for lookups do not depend on it), and nothing
  // is spent again until the next create grant sets a new budget.
  budget_ = INT64_MAX;
  for (auto it = dirs_.begin(); it != dirs_.end();) {
    auto next = std::next(it);
    if (it->second->dirfd >= 0) dropLocked(it);
    it = next;
  }
}

bool CreateGrants::absent(uint64_t dir, const char* name) {
  if (strlen(name) > NAME_MAX) return false;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = dirs_.find(dir);
  if (it == dirs_.end() || changing_.count(dir) || it->second->names.count(name)) return false;
  lookups_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

bool CreateGrants::create(uint64_t dir, const char* name, mode_t mode, int flags, const struct fuse_ctx& caller, MadeFile& file,
                          struct stat& dirAttr, bool& dirAttrKnown) {
  // setuid, setgid and sticky bits, and what clears them, stay JavaScript's.
  if (strlen(name) > NAME_MAX || (mode & (S_ISUID | S_ISGID | S_ISVTX))) return false;
  std::shared_ptr<Dir> d;
  mode_t perm = mode & 07777;
  uid_t uid = caller.uid;
  gid_t gid = caller.gid;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = dirs_.find(dir);
    if (it == dirs_.end() || it->second->dirfd < 0 || changing_.count(dir) || it->second->names.count(name)) return false;
    if (nextIno_ >= inoEnd_ || nextFh_ >= fhEnd_) return false;
    d = it->second;
    if (dontMask_) perm &= ~caller.umask;
    // BSD group semantics under a setgid directory, as JavaScript and ext4 have them.
    if (d->attr.st_mode & S_ISGID) gid = d->attr.st_gid;
    file.ino = nextIno_++;
    file.jsFh = nextFh_++;
    file.placement = d->placement;
  }
  const int drop = O_CREAT | O_EXCL | O_NOCTTY | O_APPEND | O_DIRECT;
  // O_EXCL: a backing file left by a crash before its catalog rows goes to JavaScript,
  // which replaces it; O_NOFOLLOW: so does a symlink put there behind our back.
  int fd = ::openat(d->dirfd, name, (flags & ~drop) | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, perm & 0777);
  if (fd < 0) return false;
  // The backing file's mode and owner are the file's exactly (openat applied the
  // daemon's umask; chown clears setuid/setgid, so chmod comes after it).
  struct stat st;
  bool ok = ::fstat(fd, &st) == 0;
  const bool chown = ok && (st.st_uid != uid || st.st_gid != gid);
  if (chown) ok = ::fchown(fd, uid, gid) == 0;
  if (ok && (chown || (st.st_mode & 07777) != perm)) ok = ::fchmod(fd, perm) == 0;
  if (!ok) {
    ::close(fd);
    ::unlinkat(d->dirfd, name, 0);
    return false;
  }
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  file.parent = dir;
  file.name = name;
  file.fd = fd;
  file.flags = flags;
  memset(&file.attr, 0, sizeof file.attr);
  file.attr.st_ino = file.ino;
  file.attr.st_mode = S_IFREG | perm;
  file.attr.st_nlink = 1;
  file.attr.st_uid = uid;
  file.attr.st_gid = gid;
  file.attr.st_blksize = 4096;
  file.attr.st_atim = file.attr.st_mtim = file.attr.st_ctim = now;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = dirs_.find(dir);
  dirAttrKnown = false;
  if (it != dirs_.end() && it->second == d) {
    if (d->names.insert(name).second) names_++;
    d->attr.st_mtim = d->attr.st_ctim = now;
    dirAttr = d->attr;
    dirAttrKnown = d->attrKnown;
    if (names_ > kMaxNames) dropLocked(it);
  }
  creates_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

}  // namespace tierfs
