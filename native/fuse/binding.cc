// The N-API face of the FUSE session: converts requests to JavaScript objects
// and JavaScript answers to libfuse replies, nothing more. The session logic
// lives in session.cc, ops.cc, fastpath.cc and replies.cc.
#include <napi.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "replies.h"
#include "session.h"
#include "fs-calls.h"

namespace tierfs {
namespace {

class SessionWrap;
void callJs(Napi::Env env, Napi::Function dispatch, SessionWrap* self, Request* r);
using Tsfn = Napi::TypedThreadSafeFunction<SessionWrap, Request, callJs>;

// ---- JavaScript values → C structs -------------------------------------------

double numberOr(const Napi::Object& o, const char* key, double dflt) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : dflt;
}

bool boolOr(const Napi::Object& o, const char* key, bool dflt) {
  Napi::Value v = o.Get(key);
  return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : dflt;
}

std::string stringOr(const Napi::Object& o, const char* key, const std::string& dflt) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : dflt;
}

int64_t nanos(const Napi::Value& v) {
  if (v.IsBigInt()) {
    bool lossless;
    return v.As<Napi::BigInt>().Int64Value(&lossless);
  }
  return v.IsNumber() ? v.As<Napi::Number>().Int64Value() : 0;
}

// A JavaScript number that is an id, an inode, a handle number or a size.
uint64_t u64(const Napi::Value& v) { return static_cast<uint64_t>(v.As<Napi::Number>().Int64Value()); }

std::vector<std::string> stringsOf(const Napi::Array& list) {
  std::vector<std::string> out;
  out.reserve(list.Length());
  for (uint32_t i = 0; i < list.Length(); i++) out.push_back(list.Get(i).As<Napi::String>().Utf8Value());
  return out;
}

struct timespec toTimespec(int64_t ns) {
  struct timespec ts;
  ts.tv_sec = ns / 1000000000;
  ts.tv_nsec = ns % 1000000000;
  if (ts.tv_nsec < 0) {
    ts.tv_sec -= 1;
    ts.tv_nsec += 1000000000;
  }
  return ts;
}

void toStat(const Napi::Object& a, struct stat& st) {
  memset(&st, 0, sizeof st);
  st.st_ino = static_cast<ino_t>(numberOr(a, "ino", 0));
  st.st_mode = static_cast<mode_t>(numberOr(a, "mode", 0));
  st.st_nlink = static_cast<nlink_t>(numberOr(a, "nlink", 1));
  st.st_uid = static_cast<uid_t>(numberOr(a, "uid", 0));
  st.st_gid = static_cast<gid_t>(numberOr(a, "gid", 0));
  st.st_rdev = static_cast<dev_t>(numberOr(a, "rdev", 0));
  st.st_size = static_cast<off_t>(numberOr(a, "size", 0));
  st.st_blocks = static_cast<blkcnt_t>(numberOr(a, "blocks", 0));
  st.st_blksize = static_cast<blksize_t>(numberOr(a, "blksize", 4096));
  st.st_atim = toTimespec(nanos(a.Get("atimeNs")));
  st.st_mtim = toTimespec(nanos(a.Get("mtimeNs")));
  st.st_ctim = toTimespec(nanos(a.Get("ctimeNs")));
}

int tristate(const Napi::Object& o, const char* key);

bool isTrue(const Napi::Value& v) { return v.IsBoolean() && v.As<Napi::Boolean>().Value(); }

// Numbers per entry of replyDirPlus (DirPlus.fields in src/fuse/types.ts), and where
// among them the entry is said to be given with attributes (DirPlus.hasEntry).
constexpr size_t kDirPlusFields = 17;
constexpr size_t kDirPlusHasEntry = 16;

// Returns what the entry says of the inode's stored xattrs (-1 nothing, 0 none, 1 some).
int toEntry(const Napi::Object& e, struct fuse_entry_param& p, const SessionOptions& opts) {
  memset(&p, 0, sizeof p);
  toStat(e.Get("attr").As<Napi::Object>(), p.attr);
  p.ino = p.attr.st_ino;
  p.generation = static_cast<uint64_t>(numberOr(e, "generation", 0));
  p.attr_timeout = numberOr(e, "attrTimeout", opts.attrTimeout);
  p.entry_timeout = numberOr(e, "entryTimeout", opts.entryTimeout);
  return tristate(e, "storedXattrs");
}

// A directory's attributes after a change (Entry.parentAttr) into st: &st, or null when v is none.
const struct stat* parentAttrOf(const Napi::Value& v, struct stat& st) {
  if (!v.IsObject()) return nullptr;
  toStat(v.As<Napi::Object>(), st);
  return &st;
}

int tristate(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsBoolean() ? (v.As<Napi::Boolean>().Value() ? 1 : 0) : -1;
}

// A CellFileSet's cells (src/tiers/object/types.ts); false when one is malformed. A
// cell without a CRC for every block could never be served: left out.
bool toCells(uint32_t blockSize, const Napi::Array& list, std::vector<std::shared_ptr<CellFile>>& out) {
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value v = list.Get(i);
    if (!v.IsObject()) continue;
    Napi::Object c = v.As<Napi::Object>();
    Napi::Value crcs = c.Get("crcs");
    if (!crcs.IsTypedArray() || crcs.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) return false;
    auto words = crcs.As<Napi::Uint32Array>();
    const uint64_t length = static_cast<uint64_t>(numberOr(c, "length", 0));
    if (blockSize == 0 || length == 0 || words.ElementLength() != (length + blockSize - 1) / blockSize) continue;
    struct timespec checkedAt = {static_cast<time_t>(numberOr(c, "checkedCtimeSec", -1)),
                                 static_cast<long>(numberOr(c, "checkedCtimeNsec", -1))};
    // A file of blocks: only the blocks named were good at that ctime (the others: unchecked).
    std::vector<bool> checkedBlocks(words.ElementLength(), true);
    Napi::Value named = c.Get("checkedBlocks");
    const bool ofBlocks = named.IsTypedArray() && named.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array;
    if (ofBlocks) {
      auto flags = named.As<Napi::Uint8Array>();
      for (size_t b = 0; b < checkedBlocks.size(); b++) checkedBlocks[b] = b < flags.ElementLength() && flags[b] != 0;
    }
    const double ino = numberOr(c, "checkedIno", -1);
    out.push_back(std::make_shared<CellFile>(static_cast<uint64_t>(numberOr(c, "offset", 0)), length,
                                             stringOr(c, "path", ""), blockSize,
                                             std::vector<uint32_t>(words.Data(), words.Data() + words.ElementLength()),
                                             ino < 0 ? static_cast<ino_t>(-1) : static_cast<ino_t>(ino), checkedAt,
                                             std::move(checkedBlocks), ofBlocks));
  }
  return true;
}

OpenReply toOpen(const Napi::Object& o) {
  OpenReply r;
  r.fh = static_cast<uint64_t>(numberOr(o, "fh", 0));
  r.fd = static_cast<int>(numberOr(o, "fd", -1));
  r.directIo = tristate(o, "directIo");
  r.keepCache = tristate(o, "keepCache");
  r.nonseekable = boolOr(o, "nonseekable", false);
  r.created = boolOr(o, "created", false);
  r.privileged = boolOr(o, "privileged", false);
  Napi::Value cells = o.Get("cells");
  if (cells.IsObject()) {
    Napi::Object set = cells.As<Napi::Object>();
    r.fileSize = static_cast<uint64_t>(numberOr(set, "fileSize", 0));
    Napi::Value list = set.Get("cells");
    // A malformed set only loses the chance: the handle's reads go to JavaScript.
    if (list.IsArray() && !toCells(static_cast<uint32_t>(numberOr(set, "blockSize", 0)), list.As<Napi::Array>(), r.cells)) {
      r.cells.clear();
    }
  }
  return r;
}

SessionOptions toOptions(const Napi::Object& o) {
  SessionOptions s;
  s.mountpoint = stringOr(o, "mountpoint", "");
  s.fsname = stringOr(o, "fsname", s.fsname);
  s.subtype = stringOr(o, "subtype", s.subtype);
  s.maxRead = static_cast<uint32_t>(numberOr(o, "maxRead", s.maxRead));
  s.maxWrite = static_cast<uint32_t>(numberOr(o, "maxWrite", s.maxWrite));
  s.splice = boolOr(o, "splice", s.splice);
  s.spliceRequests = boolOr(o, "spliceRequests", s.spliceRequests);
  s.attrTimeout = numberOr(o, "attrTimeout", s.attrTimeout);
  s.entryTimeout = numberOr(o, "entryTimeout", s.entryTimeout);
  s.negativeTimeout = numberOr(o, "negativeTimeout", s.negativeTimeout);
  std::string pc = stringOr(o, "pageCache", "auto");
  s.pageCache = pc == "keep" ? PageCache::Keep : pc == "none" ? PageCache::None : PageCache::Auto;
  s.writebackCache = boolOr(o, "writebackCache", s.writebackCache);
  s.defaultPermissions = boolOr(o, "defaultPermissions", s.defaultPermissions);
  s.posixAcl = boolOr(o, "posixAcl", s.posixAcl);
  s.allowOther = boolOr(o, "allowOther", s.allowOther);
  s.fastPath = boolOr(o, "fastPath", s.fastPath);
  s.passthrough = boolOr(o, "passthrough", s.passthrough);
  std::string rdp = stringOr(o, "readdirplus", "always");
  s.readdirplus = rdp == "always" ? ReaddirPlus::Always : rdp == "off" ? ReaddirPlus::Off : ReaddirPlus::Auto;
  s.maxThreads = static_cast<int>(numberOr(o, "maxThreads", s.maxThreads));
  s.debug = boolOr(o, "debug", s.debug);
  return s;
}

// ---- requests → JavaScript objects -------------------------------------------

Napi::Value countsToJs(Napi::Env env, const AccessCounts& c) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("ino", static_cast<double>(c.ino));
  o.Set("fh", static_cast<double>(c.fh));
  o.Set("reads", static_cast<double>(c.reads));
  o.Set("readBytes", static_cast<double>(c.readBytes));
  o.Set("writes", static_cast<double>(c.writes));
  o.Set("writeBytes", static_cast<double>(c.writeBytes));
  if (c.firstReadOffset >= 0) o.Set("firstReadOffset", static_cast<double>(c.firstReadOffset));
  o.Set("lastAtMs", static_cast<double>(c.lastAtMs));
  return o;
}

Napi::Value timeToJs(Napi::Env env, const struct timespec& ts, bool now) {
  if (now) return Napi::String::New(env, "now");
  return Napi::BigInt::New(env, static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec);
}

Napi::Object setAttrToJs(Napi::Env env, const Request& r) {
  Napi::Object s = Napi::Object::New(env);
  const int v = r.toSet;
  if (v & FUSE_SET_ATTR_MODE) s.Set("mode", static_cast<double>(r.attr.st_mode));
  if (v & FUSE_SET_ATTR_UID) s.Set("uid", static_cast<double>(r.attr.st_uid));
  if (v & FUSE_SET_ATTR_GID) s.Set("gid", static_cast<double>(r.attr.st_gid));
  if (v & FUSE_SET_ATTR_SIZE) s.Set("size", static_cast<double>(r.attr.st_size));
  if (v & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW)) {
    s.Set("atimeNs", timeToJs(env, r.attr.st_atim, v & FUSE_SET_ATTR_ATIME_NOW));
  }
  if (v & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)) {
    s.Set("mtimeNs", timeToJs(env, r.attr.st_mtim, v & FUSE_SET_ATTR_MTIME_NOW));
  }
  if (v & FUSE_SET_ATTR_CTIME) s.Set("ctimeNs", timeToJs(env, r.attr.st_ctim, false));
  if (r.hasFh) s.Set("fh", static_cast<double>(r.fh));
  return s;
}

Napi::Object requestToJs(Napi::Env env, Request& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("id", static_cast<double>(r.id));
  o.Set("op", static_cast<double>(static_cast<int>(r.op)));
  if (r.req) {
    o.Set("uid", static_cast<double>(r.uid));
    o.Set("gid", static_cast<double>(r.gid));
    o.Set("pid", static_cast<double>(r.pid));
    o.Set("umask", static_cast<double>(r.umask));
  }
  o.Set("ino", static_cast<double>(r.ino));
  if (r.hasFh) o.Set("fh", static_cast<double>(r.fh));
  if (!r.name.empty()) o.Set("name", r.name);
  if (r.killPrivileges) o.Set("killPrivileges", true);
  switch (r.op) {
    case Op::Init:
      o.Set("maxWrite", static_cast<double>(r.size));
      o.Set("maxReadahead", static_cast<double>(r.offset));
      o.Set("capabilities", static_cast<double>(static_cast<uint32_t>(r.flags)));
      o.Set("passthrough", r.passthrough);
      break;
    case Op::Forget: {
      Napi::Array list = Napi::Array::New(env, r.forgets.size() * 2);
      for (size_t i = 0; i < r.forgets.size(); i++) {
        list.Set(2 * i, static_cast<double>(r.forgets[i].ino));
        list.Set(2 * i + 1, static_cast<double>(r.forgets[i].nlookup));
      }
      o.Set("forgets", list);
      break;
    }
    case Op::Log:
      o.Set("level", r.mask);
      break;
    case Op::Setattr:
      o.Set("set", setAttrToJs(env, r));
      break;
    case Op::Mknod:
      o.Set("rdev", static_cast<double>(r.rdev));
      [[fallthrough]];
    case Op::Mkdir:
      o.Set("mode", static_cast<double>(r.mode));
      break;
    case Op::Create:
      o.Set("mode", static_cast<double>(r.mode));
      o.Set("flags", r.flags);
      break;
    case Op::Symlink:
      o.Set("target", r.name2);
      break;
    case Op::Rename:
      o.Set("newParent", static_cast<double>(r.ino2));
      o.Set("newName", r.name2);
      o.Set("flags", r.flags);
      break;
    case Op::Link:
      o.Set("newParent", static_cast<double>(r.ino2));
      o.Set("newName", r.name2);
      break;
    case Op::Open:
    case Op::Opendir:
    case Op::Release:
      o.Set("flags", r.flags);
      if (r.hasCounts) o.Set("counts", countsToJs(env, r.counts));
      if (r.synced) {
        o.Set("size", static_cast<double>(r.attr.st_size));
        o.Set("blocks", static_cast<double>(r.attr.st_blocks));
        o.Set("mtimeNs", timeToJs(env, r.attr.st_mtim, false));
        o.Set("ctimeNs", timeToJs(env, r.attr.st_ctim, false));
        o.Set("syncedAtNs", static_cast<double>(r.offset2));
      }
      break;
    case Op::Read:
      o.Set("size", static_cast<double>(r.size));
      o.Set("offset", static_cast<double>(r.offset));
      break;
    case Op::Write:
    case Op::Setxattr: {
      size_t len = r.dataLen;
      char* bytes = r.releaseData();
      o.Set("data", Napi::Buffer<char>::New(env, bytes, len, [](Napi::Env, char* p) { free(p); }));
      o.Set("offset", static_cast<double>(r.offset));
      o.Set("flags", r.flags);
      break;
    }
    case Op::Fsync:
    case Op::Fsyncdir:
      o.Set("datasync", r.mask != 0);
      break;
    case Op::Readdir:
      o.Set("size", static_cast<double>(r.size));
      o.Set("offset", static_cast<double>(r.offset));
      o.Set("plus", r.mask != 0);
      break;
    case Op::Access:
      o.Set("mask", r.mask);
      break;
    case Op::Fallocate:
      o.Set("mode", r.mask);
      o.Set("offset", static_cast<double>(r.offset));
      o.Set("length", static_cast<double>(r.size));
      break;
    case Op::Lseek:
      o.Set("offset", static_cast<double>(r.offset));
      o.Set("whence", r.mask);
      break;
    case Op::Created:
      o.Set("newIno", static_cast<double>(r.ino2));
      o.Set("flags", r.flags);
      o.Set("mode", static_cast<double>(r.mode));
      o.Set("uid", static_cast<double>(r.uid));
      o.Set("gid", static_cast<double>(r.gid));
      o.Set("timeNs", Napi::BigInt::New(env, r.offset));
      o.Set("fd", static_cast<double>(r.size));
      o.Set("placement", static_cast<double>(r.rdev));
      if (r.mask) o.Set("refused", true);
      break;
    case Op::CopyFileRange:
      o.Set("offset", static_cast<double>(r.offset));
      o.Set("inoOut", static_cast<double>(r.ino2));
      o.Set("fhOut", static_cast<double>(r.fh2));
      o.Set("offsetOut", static_cast<double>(r.offset2));
      o.Set("length", static_cast<double>(r.size));
      o.Set("flags", r.flags);
      break;
    default:
      break;
  }
  return o;
}

// ---- the session object ------------------------------------------------------

class SessionWrap : public Napi::ObjectWrap<SessionWrap>, public Dispatcher {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "Session",
                       {
                           InstanceMethod("start", &SessionWrap::start),
                           InstanceMethod("detach", &SessionWrap::detach),
                           InstanceMethod("abort", &SessionWrap::abort),
                           InstanceMethod("isRunning", &SessionWrap::isRunning),
                           InstanceMethod("join", &SessionWrap::join),
                           InstanceMethod("takeAccessCounts", &SessionWrap::takeAccessCounts),
                           InstanceMethod("inflight", &SessionWrap::inflight),
                           InstanceMethod("privilegesKilled", &SessionWrap::privilegesKilled),
                           InstanceMethod("passthroughCounts", &SessionWrap::passthroughCounts),
                           InstanceMethod("xattrsAnswered", &SessionWrap::xattrsAnswered),
                           InstanceMethod("dirAttrsAnswered", &SessionWrap::dirAttrsAnswered),
                           InstanceMethod("keepAttrs", &SessionWrap::keepAttrs),
                           InstanceMethod("dropAttrs", &SessionWrap::dropAttrs),
                           InstanceMethod("fileAttrsAnswered", &SessionWrap::fileAttrsAnswered),
                           InstanceMethod("listingPagesAnswered", &SessionWrap::listingPagesAnswered),
                           InstanceMethod("grantCreates", &SessionWrap::grantCreates),
                           InstanceMethod("grantLookups", &SessionWrap::grantLookups),
                           InstanceMethod("revokeCreates", &SessionWrap::revokeCreates),
                           InstanceMethod("supplyCreates", &SessionWrap::supplyCreates),
                           InstanceMethod("createCounts", &SessionWrap::createCounts),
                           InstanceMethod("servingThreads", &SessionWrap::servingThreads),
                           InstanceMethod("serveCells", &SessionWrap::serveCells),
                           InstanceMethod("dropCells", &SessionWrap::dropCells),
                           InstanceMethod("cellCounts", &SessionWrap::cellCounts),
                           InstanceMethod("takeCellsRead", &SessionWrap::takeCellsRead),
                           InstanceMethod("replyErr", &SessionWrap::replyErr),
                           InstanceMethod("replyRenamed", &SessionWrap::replyRenamed),
                           InstanceMethod("replyEntry", &SessionWrap::replyEntry),
                           InstanceMethod("replyAttr", &SessionWrap::replyAttr),
                           InstanceMethod("replyReadlink", &SessionWrap::replyReadlink),
                           InstanceMethod("replyOpen", &SessionWrap::replyOpen),
                           InstanceMethod("replyCreate", &SessionWrap::replyCreate),
                           InstanceMethod("replyWrite", &SessionWrap::replyWrite),
                           InstanceMethod("replyLseek", &SessionWrap::replyLseek),
                           InstanceMethod("replyData", &SessionWrap::replyData),
                           InstanceMethod("replyStatfs", &SessionWrap::replyStatfs),
                           InstanceMethod("replyXattr", &SessionWrap::replyXattr),
                           InstanceMethod("replyDir", &SessionWrap::replyDir),
                           InstanceMethod("replyNames", &SessionWrap::replyNames),
                           InstanceMethod("replyDirPlus", &SessionWrap::replyDirPlus),
                       });
  }

  // new Session(options, dispatch(request))
  explicit SessionWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SessionWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction()) {
      Napi::TypeError::New(env, "Session(options, dispatch)").ThrowAsJavaScriptException();
      return;
    }
    session_ = std::make_unique<Session>(toOptions(info[0].As<Napi::Object>()), this);
    replier_ = std::make_unique<Replier>(*session_);
    dispatch_ = Napi::Persistent(info[1].As<Napi::Function>());
  }

  ~SessionWrap() override = default;  // ~Session joins and frees what is left

  // Called on FUSE threads: queue for the JavaScript thread and return.
  void deliver(Request* r) override { tsfn_.NonBlockingCall(r); }

  void onJsThread(Napi::Env env, Request* r) {
    const bool pending = r->req != nullptr;
    if (pending && orphaned(r)) return;
    if (pending && !r->start()) {
      // Interrupted while queued: answered EINTR already, JavaScript need not start.
      delete session_->finish(r->id);
      return;
    }
    Napi::Object req = requestToJs(env, *r);
    if (!pending) delete r;  // notifications are not answered; requests stay in the table
    else r->delivered = true;
    dispatch_.Call({req});
  }

  // A request that was still queued when join() tore the session down.
  bool orphaned(Request* r) {
    if (!r->orphaned) return false;
    delete r;
    return true;
  }

  // Teardown without a JavaScript environment: nothing can answer any more.
  void dropQueued(Request* r) {
    if (r->req && !r->orphaned && session_) delete session_->inflight().take(r->id);
    else delete r;
  }

 private:
  Napi::Value start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    tsfn_ = Tsfn::New(env, dispatch_.Value(), "tierfs-fuse", 0, 1, this,
                      [](Napi::Env, void*, SessionWrap* self) { self->Unref(); });
    Ref();  // the queue may still call into this object until its finalizer runs
    std::string error;
    if (!session_->start(error)) {
      tsfn_.Release();
      Napi::Error e = Napi::Error::New(env, error);
      e.Set("code", Napi::String::New(env, "EMOUNT"));
      e.ThrowAsJavaScriptException();
      return env.Undefined();
    }
    tsfnLive_ = true;
    return Napi::Number::New(env, static_cast<double>(session_->device()));
  }

  Napi::Value detach(const Napi::CallbackInfo& info) {
    session_->detach();
    return info.Env().Undefined();
  }

  Napi::Value abort(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), session_->abortConnection());
  }

  Napi::Value isRunning(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), session_->loopRunning());
  }

  // join(): the loop must have ended (or be about to); frees the session.
  Napi::Value join(const Napi::CallbackInfo& info) {
    session_->join();
    // Answers to these must find nothing now. Those still queued for JavaScript
    // are freed when the queue hands them over.
    for (Request* r : session_->inflight().drain()) {
      if (r->delivered) delete r;
      else r->orphaned = true;
    }
    if (tsfnLive_) {
      tsfnLive_ = false;
      tsfn_.Release();
    }
    return info.Env().Undefined();
  }

  Napi::Value takeAccessCounts(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::vector<AccessCounts> all = session_->handles().takeAll();
    Napi::Array out = Napi::Array::New(env, all.size());
    for (size_t i = 0; i < all.size(); i++) out.Set(i, countsToJs(env, all[i]));
    return out;
  }

  Napi::Value inflight(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(session_->inflight().size()));
  }

  Napi::Value privilegesKilled(const Napi::CallbackInfo& info) {
    if (!check(info, info[0].IsNumber(), "privilegesKilled(ino)")) return info.Env().Undefined();
    if (tsfnLive_) session_->privilegesKilled(u64(info[0]));
    return info.Env().Undefined();
  }

  Napi::Value passthroughCounts(const Napi::CallbackInfo& info) {
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("opens", static_cast<double>(session_->backingFiles().passthroughOpens()));
    o.Set("refused", static_cast<double>(session_->backingFiles().refused()));
    return o;
  }

  Napi::Value listingPagesAnswered(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(session_->listingPagesAnswered()));
  }

  // grantCreates(dir, dirfd, placement, attr, names, budget): the binding takes dirfd (closed when the grant ends)
  Napi::Value grantCreates(const Napi::CallbackInfo& info) {
    if (!check(info, info[0].IsNumber() && info[1].IsNumber() && info[2].IsNumber() && info[3].IsObject() && info[4].IsArray() && info[5].IsNumber(),
               "grantCreates(dir, dirfd, placement, attr, names, budget)")) {
      return info.Env().Undefined();
    }
    struct stat attr;
    toStat(info[3].As<Napi::Object>(), attr);
    session_->createGrants().grant(u64(info[0]), info[1].As<Napi::Number>().Int32Value(),
                                   info[2].As<Napi::Number>().Uint32Value(), attr, stringsOf(info[4].As<Napi::Array>()),
                                   info[5].As<Napi::Number>().Int64Value());
    return info.Env().Undefined();
  }

  // grantLookups(dir, names): every name of dir, for lookups of others only
  Napi::Value grantLookups(const Napi::CallbackInfo& info) {
    if (!check(info, info[0].IsNumber() && info[1].IsArray(), "grantLookups(dir, names)")) return info.Env().Undefined();
    session_->createGrants().grantLookups(u64(info[0]), stringsOf(info[1].As<Napi::Array>()));
    return info.Env().Undefined();
  }

  Napi::Value revokeCreates(const Napi::CallbackInfo& info) {
    session_->createGrants().revokeAll();
    return info.Env().Undefined();
  }

  // supplyCreates(inoFrom, inos, fhFrom, fhs): numbers set aside; returns how many are left (0 args: only that)
  Napi::Value supplyCreates(const Napi::CallbackInfo& info) {
    CreateGrants& g = session_->createGrants();
    if (info.Length() >= 4 && info[0].IsNumber() && info[1].IsNumber() && info[2].IsNumber() && info[3].IsNumber()) {
      g.supply(u64(info[0]), info[1].As<Napi::Number>().Uint32Value(),
               u64(info[2]), info[3].As<Napi::Number>().Uint32Value());
    }
    return Napi::Number::New(info.Env(), g.stockLeft());
  }

  Napi::Value createCounts(const Napi::CallbackInfo& info) {
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("lookups", static_cast<double>(session_->createGrants().lookupsAnswered()));
    o.Set("creates", static_cast<double>(session_->createGrants().createsAnswered()));
    return o;
  }

  Napi::Value xattrsAnswered(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(session_->xattrsAnswered()));
  }

  // keepAttrs(ino, attr): a regular file's attributes, until dropAttrs(ino) (file-attrs.h)
  Napi::Value keepAttrs(const Napi::CallbackInfo& info) {
    if (!check(info, info[0].IsNumber() && info[1].IsObject(), "keepAttrs(ino, attr)")) return info.Env().Undefined();
    struct stat st;
    toStat(info[1].As<Napi::Object>(), st);
    session_->fileAttrs().keep(u64(info[0]), st);
    return info.Env().Undefined();
  }

  Napi::Value dropAttrs(const Napi::CallbackInfo& info) {
    if (!check(info, info[0].IsNumber(), "dropAttrs(ino)")) return info.Env().Undefined();
    session_->fileAttrs().drop(u64(info[0]));
    return info.Env().Undefined();
  }

  Napi::Value fileAttrsAnswered(const Napi::CallbackInfo& info) {
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("getattrs", static_cast<double>(session_->fileAttrs().attrsAnswered()));
    o.Set("lookups", static_cast<double>(session_->fileAttrs().lookupsAnswered()));
    return o;
  }

  Napi::Value dirAttrsAnswered(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(session_->dirAttrs().answered()));
  }

  Napi::Value servingThreads(const Napi::CallbackInfo& info) {
    std::vector<int> tids = session_->servingThreads();
    Napi::Array a = Napi::Array::New(info.Env(), tids.size());
    for (size_t i = 0; i < tids.size(); i++) a.Set(static_cast<uint32_t>(i), tids[i]);
    return a;
  }

  // serveCells(fh, fileSize, blockSize, [{offset, length, path, crcs: Uint32Array}]):
  // cells of a cold file's copy that reads of handle fh may be served from (cell-files.h).
  // False when the kernel holds no such handle any more.
  Napi::Value serveCells(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!check(info, info[0].IsNumber() && info[1].IsNumber() && info[2].IsNumber() && info[3].IsArray(),
               "serveCells(fh, fileSize, blockSize, cells)")) {
      return env.Undefined();
    }
    const uint64_t fileSize = u64(info[1]);
    std::vector<std::shared_ptr<CellFile>> cells;
    if (!toCells(info[2].As<Napi::Number>().Uint32Value(), info[3].As<Napi::Array>(), cells)) {
      Napi::TypeError::New(env, "serveCells: each cell's crcs must be a Uint32Array").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    bool held = session_->handles().withJsHandle(u64(info[0]),
                                                 [&](FileHandle* h) {
                                                   for (auto& c : cells) h->cells.add(fileSize, c);
                                                 });
    return Napi::Boolean::New(env, held);
  }

  // dropCells(fh): reads of handle fh go to JavaScript again (its file left the copy).
  Napi::Value dropCells(const Napi::CallbackInfo& info) {
    if (!check(info, info[0].IsNumber(), "dropCells(fh)")) return info.Env().Undefined();
    session_->handles().withJsHandle(u64(info[0]),
                                     [](FileHandle* h) { h->cells.clear(); });
    return info.Env().Undefined();
  }

  Napi::Value cellCounts(const Napi::CallbackInfo& info) {
    const CellCounts& c = session_->cellCounts();
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("reads", static_cast<double>(c.reads.load(std::memory_order_relaxed)));
    o.Set("bytes", static_cast<double>(c.bytes.load(std::memory_order_relaxed)));
    o.Set("blocksChecked", static_cast<double>(c.blocksChecked.load(std::memory_order_relaxed)));
    o.Set("rejected", static_cast<double>(c.rejected.load(std::memory_order_relaxed)));
    return o;
  }

  Napi::Value takeCellsRead(const Napi::CallbackInfo& info) {
    std::vector<std::string> paths = session_->cellCounts().takeRead();
    Napi::Array out = Napi::Array::New(info.Env(), paths.size());
    for (size_t i = 0; i < paths.size(); i++) out.Set(i, Napi::String::New(info.Env(), paths[i]));
    return out;
  }

  // A malformed answer throws a TypeError before the request is claimed, so the
  // session can still answer it with an error.
  static bool check(const Napi::CallbackInfo& info, bool ok, const char* what) {
    if (!ok) Napi::TypeError::New(info.Env(), what).ThrowAsJavaScriptException();
    return ok;
  }
  static bool isEntry(const Napi::Value& v) {
    return v.IsObject() && v.As<Napi::Object>().Get("attr").IsObject();
  }
  static bool isBytes(const Napi::Value& v) {
    return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array;
  }

  static uint64_t idOf(const Napi::CallbackInfo& info) {
    return u64(info[0]);
  }

  Napi::Value done(const Napi::CallbackInfo& info, bool delivered) {
    return Napi::Boolean::New(info.Env(), delivered);
  }

  // replyErr(id, errno[, parentAttr]): parentAttr as an entry's (an unlink's directory after it).
  Napi::Value replyErr(const Napi::CallbackInfo& info) {
    if (!check(info, info[0].IsNumber() && info[1].IsNumber(), "replyErr(id, errno)")) return info.Env().Undefined();
    struct stat parent;
    return done(info, replier_->err(idOf(info), info[1].As<Napi::Number>().Int32Value(), parentAttrOf(info[2], parent)));
  }

  // replyRenamed(id, parentAttr, newParentAttr?, movedAttr?): a rename that moved no directory.
  Napi::Value replyRenamed(const Napi::CallbackInfo& info) {
    if (!check(info, info[0].IsNumber() && info[1].IsObject(), "replyRenamed(id, parentAttr)")) return info.Env().Undefined();
    struct stat parent, newParent, moved;
    toStat(info[1].As<Napi::Object>(), parent);
    Renamed renamed{parentAttrOf(info[2], newParent), parentAttrOf(info[3], moved)};
    return done(info, replier_->renamed(idOf(info), parent, renamed));
  }

  Napi::Value replyEntry(const Napi::CallbackInfo& info) {
    if (!check(info, info[0].IsNumber() && isEntry(info[1]), "replyEntry(id, {attr})")) return info.Env().Undefined();
    struct fuse_entry_param e;
    Napi::Object entry = info[1].As<Napi::Object>();
    int storedXattrs = toEntry(entry, e, session_->options());
    struct stat parent;
    return done(info, replier_->entry(idOf(info), e, storedXattrs, parentAttrOf(entry.Get("parentAttr"), parent), e.ino != 0 && isTrue(info[2])));
  }

  Napi::Value replyAttr(const Napi::CallbackInfo& info) {
    if (!check(info, info[0].IsNumber() && info[1].IsObject(), "replyAttr(id, attr)")) return info.Env().Undefined();
    struct stat st;
    toStat(info[1].As<Napi::Object>(), st);
    double timeout = info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : session_->options().attrTimeout;
    return done(info, replier_->attr(idOf(info), st, timeout, isTrue(info[3])));
  }

  Napi::Value replyReadlink(const Napi::CallbackInfo& info) {
    if (!check(info, info[0].IsNumber() && info[1].IsString(), "replyReadlink(id, target)")) return info.Env().Undefined();
    return done(info, replier_->readlink(idOf(info), info[1].As<Napi::String>().Utf8Value()));
  }

  Napi::Value replyOpen(const Napi::CallbackInfo& info) {
    if (!check(info, info[0].IsNumber() && info[1].IsObject(), "replyOpen(id, {fh})")) return info.Env().Undefined();
    return done(info, replier_->open(idOf(info), toOpen(info[1].As<Napi::Object>())));
  }

  // replyCreate(id, entry, open)
  Napi::Value replyCreate(const Napi::CallbackInfo& info) {
    if (!check(info, info[0].IsNumber() && isEntry(info[1]) && info[2].IsObject(), "replyCreate(id, entry, open)")) return info.Env().Undefined();
    struct fuse_entry_param e;
    Napi::Object entry = info[1].As<Napi::Object>();
    int storedXattrs = toEntry(entry, e, session_->options());
    struct stat parent;
    return done(info, replier_->create(idOf(info), e, toOpen(info[2].As<Napi::Object>()), storedXattrs, parentAttrOf(entry.Get("parentAttr"), parent)));
  }

  Napi::Value replyWrite(const Napi::CallbackInfo& info) {
    if (!check(info, info[0].IsNumber() && info[1].IsNumber(), "replyWrite(id, count)")) return info.Env().Undefined();
    return done(info, replier_->write(idOf(info), static_cast<size_t>(info[1].As<Napi::Number>().Int64Value())));
  }

  Napi::Value replyLseek(const Napi::CallbackInfo& info) {
    if (!check(info, info[0].IsNumber() && info[1].IsNumber(), "replyLseek(id, offset)")) return info.Env().Undefined();
    return done(info, replier_->lseek(idOf(info), static_cast<off_t>(info[1].As<Napi::Number>().Int64Value())));
  }

  Napi::Value replyData(const Napi::CallbackInfo& info) {
    if (!check(info, info[0].IsNumber() && isBytes(info[1]), "replyData(id, Uint8Array)")) return info.Env().Undefined();
    auto buf = info[1].As<Napi::Uint8Array>();
    return done(info, replier_->data(idOf(info), reinterpret_cast<const char*>(buf.Data()), buf.ByteLength()));
  }

  Napi::Value replyStatfs(const Napi::CallbackInfo& info) {
    if (!check(info, info[0].IsNumber() && info[1].IsObject(), "replyStatfs(id, statfs)")) return info.Env().Undefined();
    Napi::Object o = info[1].As<Napi::Object>();
    struct statvfs st;
    memset(&st, 0, sizeof st);
    st.f_bsize = static_cast<unsigned long>(numberOr(o, "bsize", 4096));
    st.f_frsize = static_cast<unsigned long>(numberOr(o, "frsize", static_cast<double>(st.f_bsize)));
    st.f_blocks = static_cast<fsblkcnt_t>(numberOr(o, "blocks", 0));
    st.f_bfree = static_cast<fsblkcnt_t>(numberOr(o, "bfree", 0));
    st.f_bavail = static_cast<fsblkcnt_t>(numberOr(o, "bavail", 0));
    st.f_files = static_cast<fsfilcnt_t>(numberOr(o, "files", 0));
    st.f_ffree = static_cast<fsfilcnt_t>(numberOr(o, "ffree", 0));
    st.f_favail = static_cast<fsfilcnt_t>(numberOr(o, "favail", static_cast<double>(st.f_ffree)));
    st.f_namemax = static_cast<unsigned long>(numberOr(o, "namemax", 255));
    return done(info, replier_->statfs(idOf(info), st));
  }

  Napi::Value replyXattr(const Napi::CallbackInfo& info) {
    if (!check(info, info[0].IsNumber() && isBytes(info[1]), "replyXattr(id, Uint8Array)")) return info.Env().Undefined();
    auto buf = info[1].As<Napi::Uint8Array>();
    return done(info, replier_->xattr(idOf(info), reinterpret_cast<const char*>(buf.Data()), buf.ByteLength()));
  }

  // replyDir(id, entries) → number packed, or -1: names and types (a readdirplus page
  // answered so gives the kernel no attributes and no references; replyDirPlus does).
  Napi::Value replyDir(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!check(info, info[0].IsNumber() && info[1].IsArray(), "replyDir(id, entries[])")) return env.Undefined();
    Napi::Array list = info[1].As<Napi::Array>();
    std::vector<DirName> entries(list.Length());
    for (uint32_t i = 0; i < list.Length(); i++) {
      Napi::Value item = list.Get(i);
      if (!check(info, item.IsObject() && item.As<Napi::Object>().Get("name").IsString(), "dir entry needs a name")) {
        return env.Undefined();
      }
      Napi::Object d = item.As<Napi::Object>();
      DirName& e = entries[i];
      e.name = d.Get("name").As<Napi::String>().Utf8Value();
      e.ino = static_cast<uint64_t>(numberOr(d, "ino", 0));
      e.mode = static_cast<uint32_t>(numberOr(d, "mode", 0));
      e.nextOffset = static_cast<int64_t>(numberOr(d, "offset", 0));
    }
    return Napi::Number::New(info.Env(), replier_->names(idOf(info), entries, false));
  }

  // replyNames(id, joined, end) → number packed, or -1: a page of names alone from the
  // catalog's JoinedNames (`cookie,ino,type,name` per entry, '/' between: a name holds no
  // '/', and it comes last, so a comma in it is its own). More than fits is kept for the
  // next pages (dir-ahead.h); end: the names reach the end of the directory.
  Napi::Value replyNames(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!check(info, info[0].IsNumber() && info[1].IsString(), "replyNames(id, joined, end)")) return env.Undefined();
    const std::string joined = info[1].As<Napi::String>().Utf8Value();
    std::vector<DirName> names;
    if (!parseJoinedNames(joined, names)) {
      check(info, false, "replyNames: not cookie,ino,type,name entries");
      return env.Undefined();
    }
    return Napi::Number::New(env, replier_->names(idOf(info), names, info[2].ToBoolean().Value()));
  }

  // replyDirPlus(id, names, numbers) → number packed, or -1. numbers: per entry
  // kDirPlusFields doubles in the order of DirPlus (src/fuse/types.ts).
  Napi::Value replyDirPlus(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const bool shaped = info[0].IsNumber() && info[1].IsArray() && info[2].IsTypedArray() &&
                        info[2].As<Napi::TypedArray>().TypedArrayType() == napi_float64_array;
    if (!check(info, shaped, "replyDirPlus(id, names[], Float64Array)")) return env.Undefined();
    Napi::Array names = info[1].As<Napi::Array>();
    Napi::Float64Array numbers = info[2].As<Napi::Float64Array>();
    if (!check(info, numbers.ElementLength() == names.Length() * kDirPlusFields, "replyDirPlus: numbers do not match names")) return env.Undefined();
    const SessionOptions& opts = session_->options();
    std::vector<DirEntryIn> entries(names.Length());
    for (uint32_t i = 0; i < names.Length(); i++) {
      const double* n = numbers.Data() + static_cast<size_t>(i) * kDirPlusFields;
      DirEntryIn& e = entries[i];
      Napi::Value name = names.Get(i);
      if (!check(info, name.IsString(), "replyDirPlus: a name is not a string")) return env.Undefined();
      e.name = name.As<Napi::String>().Utf8Value();
      e.nextOffset = static_cast<int64_t>(n[0]);
      e.ino = static_cast<uint64_t>(n[1]);
      e.mode = static_cast<uint32_t>(n[2]);
      e.hasEntry = n[kDirPlusHasEntry] != 0;
      if (!e.hasEntry) continue;
      struct fuse_entry_param& p = e.entry;
      memset(&p, 0, sizeof p);
      struct stat& st = p.attr;
      st.st_ino = e.ino;
      st.st_mode = e.mode;
      st.st_nlink = static_cast<nlink_t>(n[3]);
      st.st_uid = static_cast<uid_t>(n[4]);
      st.st_gid = static_cast<gid_t>(n[5]);
      st.st_rdev = static_cast<dev_t>(n[6]);
      st.st_size = static_cast<off_t>(n[7]);
      st.st_blocks = static_cast<blkcnt_t>(n[8]);
      st.st_blksize = 4096;
      st.st_atim = toTimespec(static_cast<int64_t>(n[9]) * 1000000000LL + static_cast<int64_t>(n[10]));
      st.st_mtim = toTimespec(static_cast<int64_t>(n[11]) * 1000000000LL + static_cast<int64_t>(n[12]));
      st.st_ctim = toTimespec(static_cast<int64_t>(n[13]) * 1000000000LL + static_cast<int64_t>(n[14]));
      p.ino = e.ino;
      p.attr_timeout = opts.attrTimeout;
      p.entry_timeout = opts.entryTimeout;
      e.storedXattrs = static_cast<int>(n[15]);
    }
    return Napi::Number::New(env, replier_->dir(idOf(info), entries));
  }

  std::unique_ptr<Session> session_;
  std::unique_ptr<Replier> replier_;
  Napi::FunctionReference dispatch_;
  Tsfn tsfn_;
  bool tsfnLive_ = false;
};

void callJs(Napi::Env env, Napi::Function, SessionWrap* self, Request* r) {
  if (!r) return;
  if (env == nullptr) {
    self->dropQueued(r);
    return;
  }
  self->onJsThread(env, r);
}

}  // namespace
}  // namespace tierfs

static Napi::Object initModule(Napi::Env env, Napi::Object exports) {
  using namespace tierfs;
  exports.Set("Session", SessionWrap::define(env));
  Napi::Object codes = Napi::Object::New(env);
  for (int op = 1; op < static_cast<int>(Op::Count_); op++) codes.Set(opName(static_cast<Op>(op)), op);
  exports.Set("opcodes", codes);
  defineFsCalls(env, exports);
  return exports;
}

NODE_API_MODULE(tierfs_fuse, initModule)
