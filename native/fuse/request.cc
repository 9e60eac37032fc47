#include "request.h"

#include <fcntl.h>

#include <cstdlib>

namespace tierfs {

static const char* const kOpNames[] = {
    "",         "init",    "forget",     "lookup",      "getattr",  "setattr",
    "readlink", "mknod",   "mkdir",      "unlink",      "rmdir",    "symlink",
    "rename",   "link",    "open",       "read",        "write",    "flush",
    "release",  "fsync",   "opendir",    "readdir",     "releasedir", "fsyncdir",
    "statfs",   "setxattr", "getxattr",  "listxattr",   "removexattr", "access",
    "create",   "fallocate", "copyFileRange", "lseek", "log", "exited",
    "created",
};
static_assert(sizeof(kOpNames) / sizeof(kOpNames[0]) == static_cast<size_t>(Op::Count_),
              "kOpNames must name every Op");

const char* opName(Op op) { return kOpNames[static_cast<size_t>(op)]; }

Request::~Request() { free(data); }

bool Request::changesFilesystem() const {
  switch (op) {
    case Op::Setattr:
    case Op::Mknod:
    case Op::Mkdir:
    case Op::Unlink:
    case Op::Rmdir:
    case Op::Symlink:
    case Op::Rename:
    case Op::Link:
    case Op::Write:
    case Op::Setxattr:
    case Op::Removexattr:
    case Op::Create:
    case Op::Fallocate:
    case Op::CopyFileRange:
      return true;
    case Op::Open:
      // O_TRUNC empties the file (and may clear setuid/setgid) as it opens.
      return (flags & O_TRUNC) != 0;
    default:
      // Reads, lookups, opens, listings: interrupted, they leave nothing behind
      // (an open answered after an EINTR is released again by JavaScript).
      return false;
  }
}

void InflightTable::add(Request* r) {
  std::lock_guard<std::mutex> lock(mu_);
  map_.emplace(r->id, r);
}

Request* InflightTable::take(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(id);
  if (it == map_.end()) return nullptr;
  Request* r = it->second;
  map_.erase(it);
  return r;
}

bool InflightTable::interrupt(uint64_t id) {
  // The claim happens under the lock: once take() has removed the request its
  // owner may free it, so nothing may touch it outside the table after that.
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(id);
  return it != map_.end() && it->second->claimIfPending();
}

std::vector<Request*> InflightTable::drain() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Request*> out;
  out.reserve(map_.size());
  for (auto& kv : map_) out.push_back(kv.second);
  map_.clear();
  return out;
}

size_t InflightTable::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return map_.size();
}

}  // namespace tierfs
