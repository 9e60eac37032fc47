#include "dir-ahead.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>

namespace tierfs {

std::atomic<size_t> DirAhead::kept_{0};

size_t packName(fuse_req_t req, char* buf, size_t room, const std::string& name, uint64_t ino, uint32_t mode,
                int64_t nextOffset, bool plus) {
  if (plus) {
    struct fuse_entry_param e;
    memset(&e, 0, sizeof e);
    e.attr.st_ino = ino;
    e.attr.st_mode = mode;
    return fuse_add_direntry_plus(req, buf, room, name.c_str(), &e, nextOffset);
  }
  struct stat st;
  memset(&st, 0, sizeof st);
  st.st_ino = ino;
  st.st_mode = mode;
  return fuse_add_direntry(req, buf, room, name.c_str(), &st, nextOffset);
}

size_t packNames(fuse_req_t req, std::vector<char>& buf, const std::vector<DirName>& names, size_t from, bool plus,
                 size_t& used) {
  size_t at = from;
  for (; at < names.size(); at++) {
    const DirName& d = names[at];
    size_t need = packName(req, buf.data() + used, buf.size() - used, d.name, d.ino, d.mode, d.nextOffset, plus);
    if (need > buf.size() - used) break;
    used += need;
  }
  return at;
}

namespace {

// The decimal number at p (up to the comma that must follow it); advances p past the comma.
bool number(const char*& p, const char* end, uint64_t& out) {
  out = 0;
  const char* start = p;
  for (; p < end && *p >= '0' && *p <= '9'; p++) out = out * 10 + static_cast<uint64_t>(*p - '0');
  if (p == start || p >= end || *p != ',') return false;
  p++;
  return true;
}

}  // namespace

bool parseJoinedNames(const std::string& joined, std::vector<DirName>& out) {
  const char* p = joined.data();
  const char* end = p + joined.size();
  if (p == end) return true;
  out.reserve(static_cast<size_t>(std::count(joined.begin(), joined.end(), '/')) + 1);
  while (true) {
    uint64_t cookie, ino, mode;
    if (!number(p, end, cookie) || !number(p, end, ino) || !number(p, end, mode)) return false;
    const char* name = p;
    while (p < end && *p != '/') p++;
    if (p == name) return false;
    out.push_back(DirName{std::string(name, p), ino, static_cast<uint32_t>(mode), static_cast<int64_t>(cookie)});
    if (p == end) return true;
    p++;
  }
}

DirAhead::~DirAhead() { clearLocked(); }

void DirAhead::clearLocked() {
  kept_.fetch_sub(names_.size(), std::memory_order_relaxed);
  names_.clear();
  names_.shrink_to_fit();
  next_ = 0;
  has_ = false;
}

void DirAhead::keep(std::vector<DirName>& names, int64_t offset, bool plus, bool complete) {
  std::lock_guard<std::mutex> lock(mu_);
  clearLocked();
  if (names.empty() && !complete) return;
  if (kept_.fetch_add(names.size(), std::memory_order_relaxed) + names.size() > kBudget) {
    kept_.fetch_sub(names.size(), std::memory_order_relaxed);
    return;
  }
  names_.swap(names);
  has_ = true;
  offset_ = offset;
  plus_ = plus;
  complete_ = complete;
}

bool DirAhead::serve(fuse_req_t req, size_t size, int64_t offset, bool plus) {
  std::vector<char> buf(size);
  size_t used = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!has_) return false;
    if (offset != offset_ || plus != plus_) {
      clearLocked();
      return false;
    }
    const size_t at = packNames(req, buf, names_, next_, plus, used);
    // Nothing fits a buffer this small (never seen), or nothing is left and more may follow:
    // JavaScript answers. An empty page means the end to the kernel.
    if (at == next_ && (at < names_.size() || !complete_)) {
      clearLocked();
      return false;
    }
    if (at == next_) {
      clearLocked();
    } else {
      offset_ = names_[at - 1].nextOffset;
      next_ = at;
      // All given and more may follow: the next page is JavaScript's.
      if (next_ == names_.size() && !complete_) clearLocked();
    }
  }
  // Replied with the lock released and nothing of this object touched after: once the
  // kernel has the page, the reader may close the directory, and its release (on another
  // thread) frees this handle.
  fuse_reply_buf(req, buf.data(), used);
  return true;
}

}  // namespace tierfs
