// N-API face of the erasure codec: converts Uint8Array arguments (or, for the
// batch call, arrays of them) into pointer arrays for ec_codec.h and nothing
// more. Buffers are used in
// place. Errors carry a `code` (EC_*) that src/ec/errors.ts turns into a typed
// error.
#include <napi.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "crc32.h"
#include "ec_codec.h"
#include "ec_cpu.h"

namespace {

void ThrowCode(napi_env env, const char *code, const char *message) {
  napi_value js_code, js_message, error;
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &js_code);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &js_message);
  napi_create_error(env, js_code, js_message, &error);
  napi_throw(env, error);
}

Napi::Error CodeError(Napi::Env env, const char *code, const std::string &message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  return error;
}

const char *StatusMessage(int status) {
  switch (status) {
    case EC_ERR_TOO_FEW_SHARDS: return "fewer readable shards than data shards (k)";
    case EC_ERR_BAD_INDEX: return "shard index out of range, repeated, or a shard to rebuild has no buffer";
    case EC_ERR_NO_MEMORY: return "out of memory";
    case EC_ERR_RANGE: return "k must be >= 1, m >= 0, k + m <= 255";
    default: return "erasure coding failed";
  }
}

// Reads count values that must each be a Uint8Array (or null/undefined where
// allow_null) into ptrs, all of one byte length (*len; SIZE_MAX on entry means
// "not known yet"). On failure throws and returns false.
bool ReadShardValues(napi_env env, const napi_value *values, uint32_t count, bool allow_null, const char *what,
                     uint8_t **ptrs, size_t *len) {
  for (uint32_t i = 0; i < count; i++) {
    napi_typedarray_type type;
    size_t item_len = 0;
    void *data = nullptr;
    if (napi_get_typedarray_info(env, values[i], &type, &item_len, &data, nullptr, nullptr) != napi_ok ||
        type != napi_uint8_array) {
      napi_valuetype vt;
      napi_typeof(env, values[i], &vt);
      if (allow_null && (vt == napi_null || vt == napi_undefined)) {
        ptrs[i] = nullptr;
        continue;
      }
      std::string message = std::string(what) + "[" + std::to_string(i) + "] is not a Uint8Array";
      ThrowCode(env, "EC_SHARD_TYPE", message.c_str());
      return false;
    }
    if (*len == SIZE_MAX) {
      *len = item_len;
    } else if (item_len != *len) {
      std::string message = std::string(what) + "[" + std::to_string(i) + "] has " + std::to_string(item_len) +
                            " bytes, the other shards " + std::to_string(*len);
      ThrowCode(env, "EC_SHARD_SIZE", message.c_str());
      return false;
    }
    // A zero-length Uint8Array may report a null data pointer; no kernel reads it.
    ptrs[i] = data ? static_cast<uint8_t *>(data) : reinterpret_cast<uint8_t *>(&ptrs[i]);
  }
  return true;
}

bool CheckCount(napi_env env, const char *what, size_t expected, size_t actual) {
  if (expected == actual) return true;
  std::string message =
      std::string(what) + ": expected " + std::to_string(expected) + " shards, got " + std::to_string(actual);
  ThrowCode(env, "EC_SHARD_COUNT", message.c_str());
  return false;
}

// ReadShardValues over the elements of a JavaScript array of exactly count entries.
bool ReadShards(napi_env env, napi_value array, uint32_t count, bool allow_null, const char *what, uint8_t **ptrs,
                size_t *len) {
  uint32_t length = 0;
  if (napi_get_array_length(env, array, &length) != napi_ok) {
    ThrowCode(env, "EC_SHARD_COUNT", (std::string(what) + " must be an array of Uint8Array").c_str());
    return false;
  }
  if (!CheckCount(env, what, count, length)) return false;
  napi_value values[EC_MAX_SHARDS];
  for (uint32_t i = 0; i < count; i++) napi_get_element(env, array, i, &values[i]);
  return ReadShardValues(env, values, count, allow_null, what, ptrs, len);
}

// Reads a JavaScript array of integer shard indices (at most 256) into out,
// appending; *count grows by the array's length. On failure throws and returns false.
bool ReadIndices(napi_env env, napi_value array, const char *what, int *out, size_t capacity, size_t *count) {
  uint32_t length = 0;
  if (napi_get_array_length(env, array, &length) != napi_ok || length > 256 || *count + length > capacity) {
    ThrowCode(env, "EC_BAD_INDEX", (std::string(what) + " must be an array of at most 256 shard indices").c_str());
    return false;
  }
  for (uint32_t i = 0; i < length; i++) {
    napi_value item;
    double value;
    napi_get_element(env, array, i, &item);
    // the range only keeps the cast defined; ec_reconstruct checks the real bounds
    if (napi_get_value_double(env, item, &value) != napi_ok || !(value >= -1 && value <= 1024) ||
        value != std::floor(value)) {
      ThrowCode(env, "EC_BAD_INDEX", (std::string(what) + " must hold integer shard indices").c_str());
      return false;
    }
    out[(*count)++] = static_cast<int>(value);
  }
  return true;
}

// One stripe of a batch, with its pointers in the worker's flat arrays.
struct Job {
  size_t len;
  uint32_t shards;  // first of k+m entries in BatchWorker::shards_
  uint32_t lost, nlost, targets, ntargets;  // ranges in BatchWorker::indices_
};

enum BatchOp { kEncode = 0, kReconstruct = 1, kVerify = 2 };

class BatchWorker : public Napi::AsyncWorker {
 public:
  BatchWorker(Napi::Env env, Napi::Object codec, ec_codec *native, int k, BatchOp op, Napi::Array stripes)
      : Napi::AsyncWorker(env, "tierfs:ec-batch"),
        deferred_(Napi::Promise::Deferred::New(env)),
        codec_ref_(Napi::Persistent(codec)),
        stripes_ref_(Napi::Persistent(static_cast<Napi::Object>(stripes))),
        native_(native),
        k_(k),
        op_(op) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  // Converts stripes[i] on the main thread; false (exception pending) on bad input.
  bool Add(Napi::Env env, Napi::Value stripe, int k, int m) {
    Job job{SIZE_MAX, static_cast<uint32_t>(shards_.size()), 0, 0, 0, 0};
    shards_.resize(shards_.size() + k + m);
    uint8_t **ptrs = shards_.data() + job.shards;
    if (!stripe.IsObject()) {
      ThrowCode(env, "EC_SHARD_COUNT", "each stripe must be an object");
      return false;
    }
    Napi::Object s = stripe.As<Napi::Object>();
    if (op_ == kEncode) {
      if (!ReadShards(env, s.Get("data"), k, false, "data", ptrs, &job.len) ||
          !ReadShards(env, s.Get("parity"), m, false, "parity", ptrs + k, &job.len))
        return false;
    } else if (op_ == kVerify) {
      if (!ReadShards(env, stripe, k + m, false, "shards", ptrs, &job.len)) return false;
    } else {
      if (!ReadShards(env, s.Get("shards"), k + m, true, "shards", ptrs, &job.len)) return false;
      int lost[256], targets[256];
      size_t nlost = 0, ntargets = 0;
      if (!ReadIndices(env, s.Get("lost"), "lost", lost, 256, &nlost) ||
          !ReadIndices(env, s.Get("targets"), "targets", targets, 256, &ntargets))
        return false;
      job.lost = indices_.size();
      job.nlost = nlost;
      indices_.insert(indices_.end(), lost, lost + nlost);
      job.targets = indices_.size();
      job.ntargets = ntargets;
      indices_.insert(indices_.end(), targets, targets + ntargets);
    }
    if (job.len == SIZE_MAX) job.len = 0;  // every shard null: nothing to code
    jobs_.push_back(job);
    return true;
  }

  void Execute() override {
    results_.resize(jobs_.size());
    for (size_t j = 0; j < jobs_.size() && status_ == EC_OK; j++) {
      const Job &job = jobs_[j];
      uint8_t **ptrs = shards_.data() + job.shards;
      if (op_ == kEncode) {
        ec_encode(native_, job.len, ptrs, ptrs + k_);
      } else if (op_ == kVerify) {
        int r = ec_verify(native_, job.len, ptrs);
        if (r < 0) status_ = r;
        else results_[j] = static_cast<uint8_t>(r);
      } else {
        status_ = ec_reconstruct(native_, job.len, ptrs, indices_.data() + job.lost, job.nlost,
                                 indices_.data() + job.targets, job.ntargets);
        if (status_ != EC_OK) failed_ = j;
      }
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (status_ != EC_OK) {
      std::string message = std::string(StatusMessage(status_)) + " (stripe " + std::to_string(failed_) + ")";
      deferred_.Reject(CodeError(env, ec_status_code(status_), message).Value());
    } else if (op_ == kVerify) {
      Napi::Array out = Napi::Array::New(env, results_.size());
      for (size_t j = 0; j < results_.size(); j++) out.Set(static_cast<uint32_t>(j), results_[j] != 0);
      deferred_.Resolve(out);
    } else {
      deferred_.Resolve(env.Undefined());
    }
  }

  void OnError(const Napi::Error &error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference codec_ref_;   // keeps the codec alive while the pool works
  Napi::ObjectReference stripes_ref_; // and the buffers the stripes hold
  ec_codec *native_;
  int k_;
  BatchOp op_;
  std::vector<Job> jobs_;
  std::vector<uint8_t *> shards_;
  std::vector<int> indices_;
  std::vector<uint8_t> results_;
  int status_ = EC_OK;
  size_t failed_ = 0;
};

class Codec : public Napi::ObjectWrap<Codec> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeCodec",
                       {InstanceMethod<&Codec::Encode>("encode"), InstanceMethod<&Codec::Reconstruct>("reconstruct"),
                        InstanceMethod<&Codec::Verify>("verify"), InstanceMethod<&Codec::Batch>("batch"),
                        InstanceAccessor<&Codec::Kernel>("kernel")});
  }

  // new NativeCodec(k, m, kernelName | undefined)
  explicit Codec(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Codec>(info) {
    Napi::Env env = info.Env();
    k_ = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
    m_ = info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : -1;
    const ec_kernel *kernel = nullptr;
    if (info[2].IsString()) {
      std::string name = info[2].As<Napi::String>().Utf8Value();
      kernel = ec_kernel_by_name(name.c_str());
      if (!kernel) {
        CodeError(env, "EC_KERNEL_UNKNOWN", "unknown kernel: " + name).ThrowAsJavaScriptException();
        return;
      }
      if (!ec_kernel_available(kernel)) {
        CodeError(env, "EC_KERNEL_UNAVAILABLE", "kernel " + name + " cannot run on this CPU")
            .ThrowAsJavaScriptException();
        return;
      }
    }
    int status = ec_codec_create(k_, m_, kernel, &codec_);
    if (status != EC_OK) CodeError(env, ec_status_code(status), StatusMessage(status)).ThrowAsJavaScriptException();
  }

  ~Codec() override { ec_codec_destroy(codec_); }

 private:
  // The synchronous calls take the shards as trailing arguments: one
  // napi_get_cb_info fetches them all, where reading them out of arrays costs
  // a napi_get_element each (about half the cost of a call with 14 shards).
  // Copies the arguments from `first` to the last, after checking there are `count`.
  static bool ShardArgs(const Napi::CallbackInfo &info, size_t first, size_t count, const char *what,
                        napi_value *values) {
    if (!CheckCount(info.Env(), what, count, info.Length() >= first ? info.Length() - first : 0)) return false;
    for (size_t i = 0; i < count; i++) values[i] = info[first + i];
    return true;
  }

  // encode(dataCount, ...data, ...parity)
  Napi::Value Encode(const Napi::CallbackInfo &info) {
    napi_env env = info.Env();
    napi_value values[EC_MAX_SHARDS];
    uint8_t *ptrs[EC_MAX_SHARDS];
    size_t len = SIZE_MAX;
    uint32_t data_count = info[0].IsNumber() ? info[0].As<Napi::Number>().Uint32Value() : 0;
    if (!CheckCount(env, "data", k_, data_count) || !ShardArgs(info, 1 + k_, m_, "parity", values + k_))
      return Napi::Value();
    for (int i = 0; i < k_; i++) values[i] = info[1 + i];
    if (!ReadShardValues(env, values, k_, false, "data", ptrs, &len) ||
        !ReadShardValues(env, values + k_, m_, false, "parity", ptrs + k_, &len))
      return Napi::Value();
    ec_encode(codec_, len == SIZE_MAX ? 0 : len, ptrs, ptrs + k_);
    return Napi::Value();
  }

  // reconstruct(lost: number[], targets: number[], ...shards) with shards k+m of (Uint8Array | null)
  Napi::Value Reconstruct(const Napi::CallbackInfo &info) {
    napi_env env = info.Env();
    napi_value values[EC_MAX_SHARDS];
    uint8_t *ptrs[EC_MAX_SHARDS];
    size_t len = SIZE_MAX;
    int lost[256], targets[256];
    size_t nlost = 0, ntargets = 0;
    if (!ShardArgs(info, 2, k_ + m_, "shards", values) ||
        !ReadShardValues(env, values, k_ + m_, true, "shards", ptrs, &len) ||
        !ReadIndices(env, info[0], "lost", lost, 256, &nlost) ||
        !ReadIndices(env, info[1], "targets", targets, 256, &ntargets))
      return Napi::Value();
    int status = ec_reconstruct(codec_, len == SIZE_MAX ? 0 : len, ptrs, lost, (int)nlost, targets, (int)ntargets);
    if (status != EC_OK) ThrowCode(env, ec_status_code(status), StatusMessage(status));
    return Napi::Value();
  }

  // verify(...shards) -> boolean, with shards k+m Uint8Array
  Napi::Value Verify(const Napi::CallbackInfo &info) {
    napi_env env = info.Env();
    napi_value values[EC_MAX_SHARDS];
    uint8_t *ptrs[EC_MAX_SHARDS];
    size_t len = SIZE_MAX;
    if (!ShardArgs(info, 0, k_ + m_, "shards", values) ||
        !ReadShardValues(env, values, k_ + m_, false, "shards", ptrs, &len))
      return Napi::Value();
    int result = ec_verify(codec_, len == SIZE_MAX ? 0 : len, ptrs);
    if (result < 0) {
      ThrowCode(env, ec_status_code(result), StatusMessage(result));
      return Napi::Value();
    }
    return Napi::Boolean::New(env, result == 1);
  }

  // batch(op, stripes) -> Promise. Stripes by op: 0 encode {data, parity},
  // 1 reconstruct {shards, lost, targets}, 2 verify: the shards array itself.
  Napi::Value Batch(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    int op = info[0].As<Napi::Number>().Int32Value();
    if (!info[1].IsArray() || op < kEncode || op > kVerify) {
      CodeError(env, "EC_SHARD_COUNT", "batch takes an op and an array of stripes").ThrowAsJavaScriptException();
      return Napi::Value();
    }
    Napi::Array stripes = info[1].As<Napi::Array>();
    auto *worker =
        new BatchWorker(env, info.This().As<Napi::Object>(), codec_, k_, static_cast<BatchOp>(op), stripes);
    for (uint32_t i = 0; i < stripes.Length(); i++) {
      if (!worker->Add(env, stripes.Get(i), k_, m_)) {
        delete worker;
        return Napi::Value();
      }
    }
    Napi::Promise promise = worker->Promise();
    worker->Queue();
    return promise;
  }

  Napi::Value Kernel(const Napi::CallbackInfo &info) {
    return Napi::String::New(info.Env(), ec_codec_kernel(codec_)->name);
  }

  ec_codec *codec_ = nullptr;
  int k_ = 0, m_ = 0;
};

// kernels() -> { name: string, available: boolean }[], fastest first
Napi::Value Kernels(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env, EC_KERNEL_COUNT);
  for (int i = 0; i < EC_KERNEL_COUNT; i++) {
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("name", ec_kernels[i]->name);
    entry.Set("available", ec_kernel_available(ec_kernels[i]) != 0);
    out.Set(static_cast<uint32_t>(i), entry);
  }
  return out;
}

// alignOffset(arrayBuffer | Uint8Array) -> bytes from its start to the next 64-byte boundary
// (a Uint8Array from offset 0 stands for a SharedArrayBuffer, which N-API cannot take)
Napi::Value AlignOffset(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const void *data;
  if (info[0].IsArrayBuffer()) {
    data = info[0].As<Napi::ArrayBuffer>().Data();
  } else if (info[0].IsTypedArray() && info[0].As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array) {
    data = info[0].As<Napi::Uint8Array>().Data();
  } else {
    CodeError(env, "EC_SHARD_TYPE", "alignOffset takes an ArrayBuffer or a Uint8Array").ThrowAsJavaScriptException();
    return Napi::Value();
  }
  auto address = reinterpret_cast<uintptr_t>(data);
  return Napi::Number::New(env, static_cast<double>((64 - (address & 63)) & 63));
}

// crc32(Uint8Array, crc = 0) -> the CRC-32 zlib's crc32 would give, chained from crc
Napi::Value Crc32(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    Napi::TypeError::New(env, "crc32 takes a Uint8Array").ThrowAsJavaScriptException();
    return Napi::Value();
  }
  auto data = info[0].As<Napi::Uint8Array>();
  uint32_t crc = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : 0;
  return Napi::Number::New(env, tierfs_crc32(crc, data.Data(), data.ByteLength()));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("crc32", Napi::Function::New<Crc32>(env, "crc32"));
  exports.Set("crc32Kernel", Napi::String::New(env, tierfs_crc32_kernel()));
  exports.Set("alignOffset", Napi::Function::New<AlignOffset>(env, "alignOffset"));
  exports.Set("NativeCodec", Codec::Define(env));
  exports.Set("kernels", Napi::Function::New<Kernels>(env, "kernels"));
  return exports;
}

}  // namespace

NODE_API_MODULE(tierfs_ec, Init)
