#include "request.h"

#include <cstdlib>

namespace tierfs {

static const char* const kOpNames[] = {
    "",         "init",    "forget",     "lookup",      "getattr",  "setattr",
    "readlink", "mknod",   "mkdir",      "unlink",      "rmdir",    "symlink",
    "rename",   "link",    "open",       "read",        "write",    "flush",
    "release",  "fsync",   "opendir",    "readdir",     "releasedir", "fsyncdir",
    "statfs",   "setxattr", "getxattr",  "listxattr",   "removexattr", "access",
    "create",   "fallocate", "copyFileRange", "log", "exited",
};
static_assert(sizeof(kOpNames) / sizeof(kOpNames[0]) == static_cast<size_t>(Op::Count_),
              "kOpNames must name every Op");

const char* opName(Op op) { return kOpNames[static_cast<size_t>(op)]; }

Request::~Request() { free(data); }

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
  return it != map_.end() && it->second->claim();
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
