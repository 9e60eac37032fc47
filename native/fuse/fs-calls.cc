// File calls Node does not have, on descriptors of backing files and directories (the
// caller opens them as it opens every backing name: beneath the volume, no symlink
// followed). Errors are thrown with the errno's name as `code`, as Node's fs does.
// - f*xattr: the tiers carry the namespace, so a lost catalog must not cost a file's
//   xattrs; they are kept on the backing file or directory too.
// - fallocate: databases, torrent clients and VM images preallocate and punch holes.
// - lseek with SEEK_DATA/SEEK_HOLE: the holes of a sparse file, for cp --sparse and tar -S.
// - openat2 with RESOLVE_NO_SYMLINKS: a backing file opened beneath its volume in one call.
#include <linux/openat2.h>
#include <napi.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "fs-calls.h"

namespace tierfs {
namespace {

const char* errnoName(int e) {
  switch (e) {
    case ENOENT: return "ENOENT";
    case ENODATA: return "ENODATA";
    case ENOTSUP: return "ENOTSUP";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ERANGE: return "ERANGE";
    case E2BIG: return "E2BIG";
    case ENOSPC: return "ENOSPC";
    case EDQUOT: return "EDQUOT";
    case ENOTDIR: return "ENOTDIR";
    case ELOOP: return "ELOOP";
    case EIO: return "EIO";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case EROFS: return "EROFS";
    case EFBIG: return "EFBIG";
    case ENODEV: return "ENODEV";
    case ESPIPE: return "ESPIPE";
    case ENXIO: return "ENXIO";
    default: return "EIO";
  }
}

Napi::Value fail(Napi::Env env, const char* call, int e) {
  Napi::Error err = Napi::Error::New(env, std::string(errnoName(e)) + ": " + std::strerror(e) + ", " + call);
  err.Set("code", Napi::String::New(env, errnoName(e)));
  err.Set("errno", Napi::Number::New(env, -e));
  err.Set("syscall", Napi::String::New(env, call));
  err.ThrowAsJavaScriptException();
  return env.Undefined();
}

// xattrList(fd) → names
Napi::Value List(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  for (;;) {
    ssize_t n = flistxattr(fd, nullptr, 0);
    if (n < 0) return fail(env, "flistxattr", errno);
    std::vector<char> buf(n > 0 ? n : 1);
    ssize_t got = flistxattr(fd, buf.data(), buf.size());
    if (got < 0 && errno == ERANGE) continue;  // grew in between
    if (got < 0) return fail(env, "flistxattr", errno);
    Napi::Array names = Napi::Array::New(env);
    uint32_t k = 0;
    for (ssize_t at = 0; at < got;) {
      size_t len = strnlen(buf.data() + at, got - at);
      names.Set(k++, Napi::String::New(env, buf.data() + at, len));
      at += len + 1;
    }
    return names;
  }
}

// xattrGet(fd, name) → Buffer, or undefined when there is no such attribute
Napi::Value Get(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  std::string name = info[1].As<Napi::String>();
  for (;;) {
    ssize_t n = fgetxattr(fd, name.c_str(), nullptr, 0);
    if (n < 0 && errno == ENODATA) return env.Undefined();
    if (n < 0) return fail(env, "fgetxattr", errno);
    std::vector<char> buf(n > 0 ? n : 1);
    ssize_t got = fgetxattr(fd, name.c_str(), buf.data(), buf.size());
    if (got < 0 && errno == ERANGE) continue;
    if (got < 0 && errno == ENODATA) return env.Undefined();
    if (got < 0) return fail(env, "fgetxattr", errno);
    return Napi::Buffer<char>::Copy(env, buf.data(), got);
  }
}

// xattrSet(fd, name, value)
Napi::Value Set(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  std::string name = info[1].As<Napi::String>();
  Napi::Buffer<char> value = info[2].As<Napi::Buffer<char>>();
  if (fsetxattr(fd, name.c_str(), value.Data(), value.Length(), 0) != 0) return fail(env, "fsetxattr", errno);
  return env.Undefined();
}

// xattrRemove(fd, name); a missing attribute is no error
Napi::Value Remove(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  std::string name = info[1].As<Napi::String>();
  if (fremovexattr(fd, name.c_str()) != 0 && errno != ENODATA) return fail(env, "fremovexattr", errno);
  return env.Undefined();
}

// fallocate(fd, mode, offset, length): the mode bits are the kernel's (FALLOC_FL_*), as
// the FUSE request carries them.
Napi::Value Fallocate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  int mode = info[1].As<Napi::Number>().Int32Value();
  off_t offset = static_cast<off_t>(info[2].As<Napi::Number>().Int64Value());
  off_t length = static_cast<off_t>(info[3].As<Napi::Number>().Int64Value());
  if (::fallocate(fd, mode, offset, length) != 0) return fail(env, "fallocate", errno);
  return env.Undefined();
}

// seek(fd, offset, whence) → the new offset: SEEK_DATA and SEEK_HOLE, which Node lacks.
Napi::Value Seek(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  off_t offset = static_cast<off_t>(info[1].As<Napi::Number>().Int64Value());
  int whence = info[2].As<Napi::Number>().Int32Value();
  off_t at = ::lseek(fd, offset, whence);
  if (at < 0) return fail(env, "lseek", errno);
  return Napi::Number::New(env, static_cast<double>(at));
}

// openBeneath(root, rel, flags, mode) → a descriptor, or -errno: rel opened below the
// directory root with no symlink followed on the way (nor at the end, nor a /proc magic
// link), and no way out of root — what the component-by-component walk of
// tiers/local/beneath.ts does, in one system call (Linux 5.6+; -ENOSYS before).
Napi::Value OpenBeneath(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string root = info[0].As<Napi::String>();
  std::string rel = info[1].As<Napi::String>();
  int flags = info[2].As<Napi::Number>().Int32Value();
  int mode = info[3].As<Napi::Number>().Int32Value();
  int dir = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return Napi::Number::New(env, -errno);
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = static_cast<uint64_t>(flags) | O_CLOEXEC;
  how.mode = (flags & O_CREAT) ? static_cast<uint64_t>(mode) : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  long fd = ::syscall(SYS_openat2, dir, rel.c_str(), &how, sizeof how);
  int e = errno;
  ::close(dir);
  return Napi::Number::New(env, fd < 0 ? -e : static_cast<double>(fd));
}

}  // namespace

void defineFsCalls(Napi::Env env, Napi::Object exports) {
  exports.Set("openBeneath", Napi::Function::New(env, OpenBeneath));
  exports.Set("seek", Napi::Function::New(env, Seek));
  exports.Set("fallocate", Napi::Function::New(env, Fallocate));
  exports.Set("xattrList", Napi::Function::New(env, List));
  exports.Set("xattrGet", Napi::Function::New(env, Get));
  exports.Set("xattrSet", Napi::Function::New(env, Set));
  exports.Set("xattrRemove", Napi::Function::New(env, Remove));
}

}  // namespace tierfs
