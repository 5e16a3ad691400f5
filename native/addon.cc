// native/addon.cc - the N-API layer over the core (build/Release/rseq.node).
//
// Only conversion between JavaScript and the core lives here; the exported
// shape is src/native-binding.ts. Built with C++ exceptions disabled
// (NAPI_DISABLE_CPP_EXCEPTIONS): errors are thrown as pending JavaScript
// exceptions and the function returns undefined.
//
// Environment lifecycle: every napi_env (the main thread, each worker thread)
// counts the references it took on its thread's registration in its instance
// data. An env cleanup hook, which Node runs on the env's own thread at
// teardown, gives all of them back, so a worker that ends never leaves its
// registration or its area behind.
#include <napi.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <cerrno>
#include <climits>
#include <cmath>
#include <string>
#include <vector>

#include "abi.h"
#include "auxv.h"
#include "bench.h"  // benchLoop (bench/run.cjs)
#include "errno_names.h"
#include "errno_table.h"
#include "percpu.h"
#include "probe.h"
#include "region_binding.h"
#include "registration.h"

namespace {

using namespace rseq_native;

// Per-env state (napi instance data).
struct EnvData {
  // References taken by acquire() in this env and not yet given back.
  uint32_t refs = 0;
  // One more reference held for the env's lifetime once areaBuffer() handed out
  // a view of the area: the view cannot be revoked, so the memory must stay
  // until the env is torn down, whatever release() calls follow.
  bool pinned = false;
};

void NoopInstanceFinalizer(Napi::Env, EnvData*) {}

// Runs on the env's thread when the env is torn down.
void CleanupEnv(void* arg) {
  EnvData* data = static_cast<EnvData*>(arg);
  uint32_t n = data->refs + (data->pinned ? 1u : 0u);
  for (uint32_t i = 0; i < n; ++i) release();
  data->refs = 0;
  data->pinned = false;
  delete data;
}

EnvData* GetEnvData(Napi::Env env) { return env.GetInstanceData<EnvData>(); }

Napi::Value Throw(Napi::Error error) {
  Napi::Env env = error.Env();
  error.ThrowAsJavaScriptException();
  return env.Undefined();
}

// Error with .code = the errno name and .errno = the number.
Napi::Value ThrowErrno(Napi::Env env, const char* what, int err) {
  const char* name = errno_name(err);
  std::string message = std::string(what) + " failed: " + name + " (" + strerror(err) + ")";
  Napi::Error error = Napi::Error::New(env, message);
  error.Value().Set("code", Napi::String::New(env, name));
  error.Value().Set("errno", Napi::Number::New(env, err));
  return Throw(error);
}

Napi::Value ThrowNotRegistered(Napi::Env env) {
  Napi::Error error = Napi::Error::New(
      env, "the calling thread holds no rseq registration; call acquire() first");
  error.Value().Set("code", Napi::String::New(env, "ERR_RSEQ_NOT_REGISTERED"));
  return Throw(error);
}

Napi::Object RegistrationObject(Napi::Env env, const Registration& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("owner", Napi::String::New(env, owner_name(r.owner)));
  o.Set("length", Napi::Number::New(env, r.length));
  o.Set("signature", Napi::Number::New(env, r.signature));
  o.Set("refs", Napi::Number::New(env, r.refs));
  o.Set("errno", Napi::Number::New(env, r.err));
  o.Set("errnoName", Napi::String::New(env, errno_name(r.err)));
  o.Set("op", Napi::String::New(env, r.op));
  return o;
}

Napi::Value Acquire(const Napi::CallbackInfo& info) {
  Registration r = acquire();
  if (r.owner != Owner::None) GetEnvData(info.Env())->refs++;
  return RegistrationObject(info.Env(), r);
}

Napi::Value Release(const Napi::CallbackInfo& info) {
  EnvData* data = GetEnvData(info.Env());
  if (data->refs == 0) return Napi::Number::New(info.Env(), thread_refs());
  data->refs--;
  return Napi::Number::New(info.Env(), release());
}

Napi::Value GetRegistration(const Napi::CallbackInfo& info) {
  return RegistrationObject(info.Env(), registration());
}

Napi::Value Kernel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KernelInfo k = kernel_info();
  Napi::Object o = Napi::Object::New(env);
  o.Set("release", Napi::String::New(env, k.release));
  o.Set("featureSize", Napi::Number::New(env, static_cast<double>(k.feature_size)));
  o.Set("align", Napi::Number::New(env, static_cast<double>(k.align)));
  o.Set("probeErrno", Napi::Number::New(env, k.probe_errno));
  o.Set("probeErrnoName", Napi::String::New(env, errno_name(k.probe_errno)));
  o.Set("membarrierMask", Napi::Number::New(env, static_cast<double>(k.membarrier_mask)));
  return o;
}

Napi::Value Libc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  LibcInfo l = libc_info();
  Napi::Object o = Napi::Object::New(env);
  o.Set("family", Napi::String::New(env, libc_family_name(l.family)));
  o.Set("version", l.has_version ? Napi::Value(Napi::String::New(env, l.version)) : env.Null());
  o.Set("rseqOffset", l.symbols.has_offset
                          ? Napi::Value(Napi::Number::New(env, static_cast<double>(l.symbols.offset)))
                          : env.Null());
  o.Set("rseqSize", l.symbols.has_size ? Napi::Value(Napi::Number::New(env, l.symbols.size))
                                       : env.Null());
  o.Set("rseqFlags", l.symbols.has_flags ? Napi::Value(Napi::Number::New(env, l.symbols.flags))
                                         : env.Null());
  return o;
}

Napi::Value Auxv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AuxvResult a = auxv_read();
  Napi::Array out = Napi::Array::New(env, a.entries.size());
  for (size_t i = 0; i < a.entries.size(); ++i) {
    const AuxvEntry& e = a.entries[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("type", Napi::Number::New(env, static_cast<double>(e.type)));
    const char* name = auxv_type_name(e.type);
    o.Set("name", name ? Napi::Value(Napi::String::New(env, name)) : env.Null());
    o.Set("value", Napi::BigInt::New(env, static_cast<uint64_t>(e.value)));
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

Napi::Value ReadField(const Napi::CallbackInfo& info, size_t offset) {
  uint32_t value = 0;
  if (!read_thread_field(offset, &value)) return ThrowNotRegistered(info.Env());
  return Napi::Number::New(info.Env(), value);
}

Napi::Value CpuIdStart(const Napi::CallbackInfo& info) {
  return ReadField(info, offsetof(rseq_abi, cpu_id_start));
}
Napi::Value CpuId(const Napi::CallbackInfo& info) { return ReadField(info, offsetof(rseq_abi, cpu_id)); }
Napi::Value NodeId(const Napi::CallbackInfo& info) {
  return ReadField(info, offsetof(rseq_abi, node_id));
}
Napi::Value MmCid(const Napi::CallbackInfo& info) { return ReadField(info, offsetof(rseq_abi, mm_cid)); }

void NoopBufferFinalizer(napi_env, void*, void*) {}

Napi::Value AreaBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  volatile rseq_abi* area = thread_area();
  if (area == nullptr) return ThrowNotRegistered(env);
  const char* hook = getenv("RSEQ_NO_EXTERNAL_BUFFER");
  if (hook != nullptr && strcmp(hook, "1") == 0) {
    return Napi::String::New(env, "external buffers are turned off by RSEQ_NO_EXTERNAL_BUFFER=1");
  }
  uint32_t length = thread_area_view_length();

  // Keep the area alive for as long as the env (and so the view) lives.
  EnvData* data = GetEnvData(env);
  bool pinned_now = false;
  if (!data->pinned) {
    Registration r = acquire();
    if (r.owner == Owner::None) return ThrowErrno(env, r.op, r.err);
    data->pinned = true;
    pinned_now = true;
  }

  napi_value buffer = nullptr;
  napi_status status = napi_create_external_arraybuffer(
      env, const_cast<rseq_abi*>(area), length, NoopBufferFinalizer, nullptr, &buffer);
  if (status != napi_ok) {
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
      napi_value ignored;
      napi_get_and_clear_last_exception(env, &ignored);
    }
    if (pinned_now) {
      data->pinned = false;
      release();
    }
    std::string reason = "this runtime does not allow external ArrayBuffers (napi status " +
                         std::to_string(static_cast<int>(status)) + ")";
    return Napi::String::New(env, reason);
  }
  return Napi::Value(env, buffer);
}

Napi::Value ErrnoTable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ErrnoTableResult t = run_errno_table();
  if (t.err != 0) return ThrowErrno(env, t.op, t.err);
  Napi::Object o = Napi::Object::New(env);
  o.Set("ownerAtStart", Napi::String::New(env, t.libc_owned_at_start ? "libc" : "none"));
  o.Set("signature", Napi::Number::New(env, t.signature));
  Napi::Array cases = Napi::Array::New(env, kErrnoCaseCount);
  for (size_t i = 0; i < kErrnoCaseCount; ++i) {
    Napi::Object c = Napi::Object::New(env);
    c.Set("case", Napi::String::New(env, t.cases[i].name));
    c.Set("ret", Napi::Number::New(env, t.cases[i].ret));
    c.Set("errno", Napi::Number::New(env, t.cases[i].err));
    c.Set("errnoName", Napi::String::New(env, errno_name(t.cases[i].err)));
    cases.Set(static_cast<uint32_t>(i), c);
  }
  o.Set("cases", cases);
  return o;
}

Napi::Value SetAffinity(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) {
    return Throw(Napi::TypeError::New(env, "setAffinity expects an array of CPU numbers"));
  }
  Napi::Array cpus = info[0].As<Napi::Array>();
  cpu_set_t set;
  CPU_ZERO(&set);
  for (uint32_t i = 0; i < cpus.Length(); ++i) {
    Napi::Value v = cpus.Get(i);
    if (!v.IsNumber()) {
      return Throw(Napi::TypeError::New(env, "setAffinity: CPU numbers must be numbers"));
    }
    double d = v.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d) || std::floor(d) != d) {
      return Throw(Napi::TypeError::New(env, "setAffinity: CPU numbers must be integers"));
    }
    if (d < 0 || d >= CPU_SETSIZE) {
      return Throw(Napi::RangeError::New(
          env, "setAffinity: CPU numbers must be in [0, " + std::to_string(CPU_SETSIZE) + ")"));
    }
    CPU_SET(static_cast<int>(d), &set);
  }
  if (sched_setaffinity(0, sizeof set, &set) != 0) return ThrowErrno(env, "sched_setaffinity", errno);
  return env.Undefined();
}

Napi::Value GetAffinity(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // The kernel refuses a mask smaller than its CPU count: grow until it fits.
  for (int ncpus = CPU_SETSIZE; ncpus <= (1 << 20); ncpus *= 2) {
    cpu_set_t* set = CPU_ALLOC(ncpus);
    if (set == nullptr) return ThrowErrno(env, "CPU_ALLOC", ENOMEM);
    size_t size = CPU_ALLOC_SIZE(ncpus);
    CPU_ZERO_S(size, set);
    if (sched_getaffinity(0, size, set) != 0) {
      int err = errno;
      CPU_FREE(set);
      if (err == EINVAL) continue;
      return ThrowErrno(env, "sched_getaffinity", err);
    }
    Napi::Array out = Napi::Array::New(env);
    uint32_t n = 0;
    for (int cpu = 0; cpu < ncpus; ++cpu) {
      if (CPU_ISSET_S(cpu, size, set)) out.Set(n++, Napi::Number::New(env, cpu));
    }
    CPU_FREE(set);
    return out;
  }
  return ThrowErrno(env, "sched_getaffinity", EINVAL);
}

Napi::Value SchedGetcpu(const Napi::CallbackInfo& info) {
  int cpu = sched_getcpu();
  if (cpu < 0) return ThrowErrno(info.Env(), "sched_getcpu", errno);
  return Napi::Number::New(info.Env(), cpu);
}

Napi::Value DebugCountsFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DebugCounts c = debug_counts();
  Napi::Object o = Napi::Object::New(env);
  o.Set("registrations", Napi::Number::New(env, static_cast<double>(c.registrations)));
  o.Set("areas", Napi::Number::New(env, static_cast<double>(c.areas)));
  o.Set("threads", Napi::Number::New(env, static_cast<double>(c.threads)));
  return o;
}

// ---------------------------------------------------------------------------
// Per-CPU critical sections (native/percpu.h). These are hot: they use the C
// N-API directly (a fixed argv array, napi_get_value_double,
// napi_get_typedarray_info) and make no Napi::Value on the success path. Every
// argument is checked before op_prepare() and before the section, so a failed
// check writes nothing. Errors: TypeError (code ERR_INVALID_ARG_TYPE) for a
// wrong type or a detached buffer, RangeError (code ERR_OUT_OF_RANGE) for a
// number out of range, naming the function, the argument and the range.
// ---------------------------------------------------------------------------

constexpr size_t kMaxOpArgs = 12;
constexpr int64_t kMaxSafeInteger = 9007199254740991;  // 2^53 - 1

struct OpArgs {
  napi_env env;
  const char* fn;
  napi_value argv[kMaxOpArgs];
};

// Missing arguments read as undefined (napi_get_cb_info fills the rest).
bool GetOpArgs(napi_env env, napi_callback_info info, const char* fn, OpArgs* a) {
  a->env = env;
  a->fn = fn;
  size_t argc = kMaxOpArgs;
  if (napi_get_cb_info(env, info, &argc, a->argv, nullptr, nullptr) != napi_ok) {
    napi_throw_error(env, nullptr, "rseq: napi_get_cb_info failed");
    return false;
  }
  return true;
}

std::string FormatNumber(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  if (std::floor(d) == d && std::fabs(d) < 1e21) {
    snprintf(buf, sizeof buf, "%.0f", d);
  } else {
    snprintf(buf, sizeof buf, "%.17g", d);
  }
  return buf;
}

bool ArgTypeError(const OpArgs& a, const char* name, const char* what) {
  std::string msg = std::string(a.fn) + ": " + name + " must be " + what;
  napi_throw_type_error(a.env, "ERR_INVALID_ARG_TYPE", msg.c_str());
  return false;
}

bool ArgRangeError(const OpArgs& a, const std::string& msg) {
  std::string full = std::string(a.fn) + ": " + msg;
  napi_throw_range_error(a.env, "ERR_OUT_OF_RANGE", full.c_str());
  return false;
}

bool GetNumberArg(const OpArgs& a, size_t i, const char* name, double* out) {
  if (napi_get_value_double(a.env, a.argv[i], out) != napi_ok) return ArgTypeError(a, name, "a number");
  return true;
}

// d is an integer in [lo, hi] (|lo|, |hi| < 2^63): range first (false for
// NaN), then a round trip through int64, which is cheaper than floor() on
// CPUs without SSE4.1's roundsd.
inline bool ToInteger(double d, int64_t lo, int64_t hi, int64_t* out) {
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi))) return false;
  int64_t v = static_cast<int64_t>(d);
  if (static_cast<double>(v) != d) return false;
  *out = v;
  return true;
}

bool IntRangeError(const OpArgs& a, const char* name, int64_t lo, int64_t hi, const std::string& why,
                   double d) {
  std::string range = hi < lo ? std::string(" but no value is valid")
                              : " in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  return ArgRangeError(a, std::string(name) + " must be an integer" + range +
                              (why.empty() ? "" : " (" + why + ")") + ", got " + FormatNumber(d));
}

// An integer Number in [lo, hi]; `why` explains hi (may be null). No string is
// built unless the check fails.
bool GetIntArg(const OpArgs& a, size_t i, const char* name, int64_t lo, int64_t hi, const char* why,
               int64_t* out) {
  double d;
  if (!GetNumberArg(a, i, name, &d)) return false;
  int64_t v;
  if (!ToInteger(d, lo, hi, &v)) return IntRangeError(a, name, lo, hi, why ? why : "", d);
  *out = v;
  return true;
}

// A safe integer value (|v| <= 2^53 - 1), stored as a 64-bit word.
bool GetSafeIntArg(const OpArgs& a, size_t i, const char* name, int64_t* out) {
  double d;
  if (!GetNumberArg(a, i, name, &d)) return false;
  int64_t v;
  if (!ToInteger(d, -kMaxSafeInteger, kMaxSafeInteger, &v)) {
    return ArgRangeError(a, std::string(name) +
                                " must be a safe integer (-(2^53 - 1) to 2^53 - 1), got " +
                                FormatNumber(d));
  }
  *out = v;
  return true;
}

bool GetBoolArg(const OpArgs& a, size_t i, const char* name, bool* out) {
  if (napi_get_value_bool(a.env, a.argv[i], out) != napi_ok) return ArgTypeError(a, name, "a boolean");
  return true;
}

bool GetModeArg(const OpArgs& a, size_t i, IdMode* out) {
  double d;
  if (!GetNumberArg(a, i, "mode", &d)) return false;
  if (d == 0) {
    *out = IdMode::CpuId;
  } else if (d == 1) {
    *out = IdMode::MmCid;
  } else {
    return ArgRangeError(a, "mode must be 0 (cpu_id) or 1 (mm_cid), got " + FormatNumber(d));
  }
  return true;
}

bool GetIdArg(const OpArgs& a, size_t i, uint32_t* out) {
  int64_t v;
  if (!GetIntArg(a, i, "id", 0, UINT32_MAX, nullptr, &v)) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

// A typed array of the given type, not detached. napi_get_typedarray_info
// itself refuses anything that is not a typed array (napi_invalid_arg).
bool GetTypedArrayArg(const OpArgs& a, size_t i, const char* name, napi_typedarray_type want,
                      const char* want_name, void** data, size_t* length) {
  napi_typedarray_type type;
  size_t len = 0;
  void* d = nullptr;
  napi_value arraybuffer = nullptr;
  size_t byte_offset = 0;
  if (napi_get_typedarray_info(a.env, a.argv[i], &type, &len, &d, &arraybuffer, &byte_offset) !=
          napi_ok ||
      type != want) {
    return ArgTypeError(a, name, want_name);
  }
  if (len == 0) {
    bool detached = false;
    if (arraybuffer != nullptr &&
        napi_is_detached_arraybuffer(a.env, arraybuffer, &detached) == napi_ok && detached) {
      std::string what = std::string(want_name) + " whose buffer is not detached (it was transferred)";
      return ArgTypeError(a, name, what.c_str());
    }
  }
  if (len > 0 && d == nullptr) return ArgTypeError(a, name, want_name);
  *data = d;
  *length = len;
  return true;
}

struct Words {
  int64_t* data;
  size_t length;
};

bool GetWordsArg(const OpArgs& a, size_t i, Words* w) {
  void* d = nullptr;
  if (!GetTypedArrayArg(a, i, "words", napi_bigint64_array, "a BigInt64Array", &d, &w->length)) {
    return false;
  }
  w->data = static_cast<int64_t*>(d);
  return true;
}

// An element index into words.
bool GetIndexArg(const OpArgs& a, size_t i, const char* name, const Words& w, size_t* out) {
  int64_t v;
  if (w.length == 0) {
    double d = 0;
    if (!GetNumberArg(a, i, name, &d)) return false;
    return ArgRangeError(a, std::string(name) + " is out of range: words is empty, got " +
                                FormatNumber(d));
  }
  if (!GetIntArg(a, i, name, 0, static_cast<int64_t>(w.length) - 1, "an index into words", &v)) {
    return false;
  }
  *out = static_cast<size_t>(v);
  return true;
}

Napi::Value ThrowFieldUnavailable(Napi::Env env) {
  Napi::Error error = Napi::Error::New(
      env, "mm_cid is not available: the kernel's rseq feature size is " +
               std::to_string(effective_feature_size()) +
               " and mm_cid needs 28 (Linux 6.3+); use mode 0 (cpu_id)");
  error.Value().Set("code", Napi::String::New(env, "ERR_RSEQ_FIELD_UNAVAILABLE"));
  return Throw(error);
}

// op_prepare, throwing its failure. Returns false with an exception pending.
bool PrepareOrThrow(napi_env env, IdMode mode, OpContext* ctx) {
  switch (op_prepare(mode, ctx)) {
    case PrepareError::None:
      return true;
    case PrepareError::NotRegistered:
      ThrowNotRegistered(Napi::Env(env));
      return false;
    case PrepareError::FieldUnavailable:
      ThrowFieldUnavailable(Napi::Env(env));
      return false;
    case PrepareError::NoMemory:
      ThrowErrno(Napi::Env(env), "alloc", ENOMEM);
      return false;
  }
  return false;
}

napi_value Int32Result(napi_env env, int32_t v) {
  napi_value out = nullptr;
  napi_create_int32(env, v, &out);
  return out;
}

// opAdd(mode, id, words, index, count)
napi_value OpAdd(napi_env env, napi_callback_info info) {
  OpArgs a;
  if (!GetOpArgs(env, info, "opAdd", &a)) return nullptr;
  IdMode mode = IdMode::CpuId;
  uint32_t id = 0;
  Words w{nullptr, 0};
  size_t index = 0;
  int64_t n = 0;
  if (!GetModeArg(a, 0, &mode) || !GetIdArg(a, 1, &id) || !GetWordsArg(a, 2, &w) ||
      !GetIndexArg(a, 3, "index", w, &index) || !GetSafeIntArg(a, 4, "count", &n)) {
    return nullptr;
  }
  OpContext ctx;
  if (!PrepareOrThrow(env, mode, &ctx)) return nullptr;
  return Int32Result(env, op_add(ctx, id, w.data + index, n));
}

// opStoreIfEqual(mode, id, words, index, expect, newv)
napi_value OpStoreIfEqual(napi_env env, napi_callback_info info) {
  OpArgs a;
  if (!GetOpArgs(env, info, "opStoreIfEqual", &a)) return nullptr;
  IdMode mode = IdMode::CpuId;
  uint32_t id = 0;
  Words w{nullptr, 0};
  size_t index = 0;
  int64_t expect = 0, newv = 0;
  if (!GetModeArg(a, 0, &mode) || !GetIdArg(a, 1, &id) || !GetWordsArg(a, 2, &w) ||
      !GetIndexArg(a, 3, "index", w, &index) || !GetSafeIntArg(a, 4, "expect", &expect) ||
      !GetSafeIntArg(a, 5, "newv", &newv)) {
    return nullptr;
  }
  OpContext ctx;
  if (!PrepareOrThrow(env, mode, &ctx)) return nullptr;
  return Int32Result(env, op_store_if_equal(ctx, id, w.data + index, expect, newv));
}

// opDoubleCompareStore(mode, id, words, index, expect, index2, expect2, newv)
napi_value OpDoubleCompareStore(napi_env env, napi_callback_info info) {
  OpArgs a;
  if (!GetOpArgs(env, info, "opDoubleCompareStore", &a)) return nullptr;
  IdMode mode = IdMode::CpuId;
  uint32_t id = 0;
  Words w{nullptr, 0};
  size_t index = 0, index2 = 0;
  int64_t expect = 0, expect2 = 0, newv = 0;
  if (!GetModeArg(a, 0, &mode) || !GetIdArg(a, 1, &id) || !GetWordsArg(a, 2, &w) ||
      !GetIndexArg(a, 3, "index", w, &index) || !GetSafeIntArg(a, 4, "expect", &expect) ||
      !GetIndexArg(a, 5, "index2", w, &index2) || !GetSafeIntArg(a, 6, "expect2", &expect2) ||
      !GetSafeIntArg(a, 7, "newv", &newv)) {
    return nullptr;
  }
  OpContext ctx;
  if (!PrepareOrThrow(env, mode, &ctx)) return nullptr;
  return Int32Result(env, op_double_compare_store(ctx, id, w.data + index, expect, w.data + index2,
                                                  expect2, newv));
}

// opSpeculativeStoreCommit(mode, id, words, index, expect, index2, newv2, newv, release)
napi_value OpSpeculativeStoreCommit(napi_env env, napi_callback_info info) {
  OpArgs a;
  if (!GetOpArgs(env, info, "opSpeculativeStoreCommit", &a)) return nullptr;
  IdMode mode = IdMode::CpuId;
  uint32_t id = 0;
  Words w{nullptr, 0};
  size_t index = 0, index2 = 0;
  int64_t expect = 0, newv2 = 0, newv = 0;
  bool release = false;
  if (!GetModeArg(a, 0, &mode) || !GetIdArg(a, 1, &id) || !GetWordsArg(a, 2, &w) ||
      !GetIndexArg(a, 3, "index", w, &index) || !GetSafeIntArg(a, 4, "expect", &expect) ||
      !GetIndexArg(a, 5, "index2", w, &index2) || !GetSafeIntArg(a, 6, "newv2", &newv2) ||
      !GetSafeIntArg(a, 7, "newv", &newv) || !GetBoolArg(a, 8, "release", &release)) {
    return nullptr;
  }
  OpContext ctx;
  if (!PrepareOrThrow(env, mode, &ctx)) return nullptr;
  return Int32Result(env, op_speculative_store_commit(ctx, id, w.data + index, expect,
                                                      w.data + index2, newv2, newv, release));
}

// opCopyCommit(mode, id, words, index, expect, dst, dstOffset, src, srcOffset, length, newv, release)
napi_value OpCopyCommit(napi_env env, napi_callback_info info) {
  OpArgs a;
  if (!GetOpArgs(env, info, "opCopyCommit", &a)) return nullptr;
  IdMode mode = IdMode::CpuId;
  uint32_t id = 0;
  Words w{nullptr, 0};
  size_t index = 0;
  int64_t expect = 0, newv = 0, dst_offset = 0, src_offset = 0, length = 0;
  void* dst = nullptr;
  void* src = nullptr;
  size_t dst_len = 0, src_len = 0;
  bool release = false;
  if (!GetModeArg(a, 0, &mode) || !GetIdArg(a, 1, &id) || !GetWordsArg(a, 2, &w) ||
      !GetIndexArg(a, 3, "index", w, &index) || !GetSafeIntArg(a, 4, "expect", &expect) ||
      !GetTypedArrayArg(a, 5, "dst", napi_uint8_array, "a Uint8Array", &dst, &dst_len) ||
      !GetIntArg(a, 6, "dstOffset", 0, static_cast<int64_t>(dst_len), "dst.length",
                 &dst_offset) ||
      !GetTypedArrayArg(a, 7, "src", napi_uint8_array, "a Uint8Array", &src, &src_len) ||
      !GetIntArg(a, 8, "srcOffset", 0, static_cast<int64_t>(src_len), "src.length",
                 &src_offset)) {
    return nullptr;
  }
  int64_t dst_room = static_cast<int64_t>(dst_len) - dst_offset;
  int64_t src_room = static_cast<int64_t>(src_len) - src_offset;
  int64_t room = dst_room < src_room ? dst_room : src_room;
  double dlen;
  if (!GetNumberArg(a, 9, "length", &dlen)) return nullptr;
  if (!ToInteger(dlen, 0, room, &length)) {
    IntRangeError(a, "length", 0, room,
                  "dst.length - dstOffset = " + std::to_string(dst_room) +
                      ", src.length - srcOffset = " + std::to_string(src_room),
                  dlen);
    return nullptr;
  }
  if (!GetSafeIntArg(a, 10, "newv", &newv) || !GetBoolArg(a, 11, "release", &release)) {
    return nullptr;
  }
  OpContext ctx;
  if (!PrepareOrThrow(env, mode, &ctx)) return nullptr;
  return Int32Result(env, op_copy_commit(ctx, id, w.data + index, expect,
                                         static_cast<uint8_t*>(dst) + dst_offset,
                                         static_cast<const uint8_t*>(src) + src_offset,
                                         static_cast<size_t>(length), newv, release));
}

// opListPop(mode, id, words, head, next, count, empty)
napi_value OpListPop(napi_env env, napi_callback_info info) {
  OpArgs a;
  if (!GetOpArgs(env, info, "opListPop", &a)) return nullptr;
  IdMode mode = IdMode::CpuId;
  uint32_t id = 0;
  Words w{nullptr, 0};
  size_t head = 0;
  int64_t next = 0, count = 0, empty = 0;
  if (!GetModeArg(a, 0, &mode) || !GetIdArg(a, 1, &id) || !GetWordsArg(a, 2, &w) ||
      !GetIndexArg(a, 3, "head", w, &head) ||
      !GetIntArg(a, 4, "next", 0, static_cast<int64_t>(w.length), "words.length", &next) ||
      !GetIntArg(a, 5, "count", 0, static_cast<int64_t>(w.length) - next,
                 "words.length - next: next[0..count) must lie in words", &count) ||
      !GetSafeIntArg(a, 6, "empty", &empty)) {
    return nullptr;
  }
  OpContext ctx;
  if (!PrepareOrThrow(env, mode, &ctx)) return nullptr;
  int64_t r = op_list_pop(ctx, id, w.data + head, w.data + next, static_cast<uint64_t>(count), empty);
  napi_value out = nullptr;
  napi_create_int64(env, r, &out);
  return out;
}

// currentId(mode)
napi_value CurrentId(napi_env env, napi_callback_info info) {
  OpArgs a;
  if (!GetOpArgs(env, info, "currentId", &a)) return nullptr;
  IdMode mode = IdMode::CpuId;
  if (!GetModeArg(a, 0, &mode)) return nullptr;
  OpContext ctx;
  if (!PrepareOrThrow(env, mode, &ctx)) return nullptr;
  napi_value out = nullptr;
  napi_create_uint32(env, op_current_id(ctx), &out);
  return out;
}

// fence(cpu): cpu -1 for all CPUs.
napi_value Fence(napi_env env, napi_callback_info info) {
  OpArgs a;
  if (!GetOpArgs(env, info, "fence", &a)) return nullptr;
  int64_t cpu = 0;
  if (!GetIntArg(a, 0, "cpu", -1, INT_MAX, "-1 for every CPU", &cpu)) return nullptr;
  int err = fence(static_cast<int>(cpu));
  if (err != 0) {
    ThrowErrno(Napi::Env(env), "membarrier", err);
    return nullptr;
  }
  return nullptr;  // undefined
}

Napi::Value OpCountsFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OpCounts c = thread_op_counts();
  Napi::Object o = Napi::Object::New(env);
  o.Set("aborts", Napi::Number::New(env, static_cast<double>(c.aborts)));
  o.Set("moved", Napi::Number::New(env, static_cast<double>(c.moved)));
  o.Set("attempts", Napi::Number::New(env, static_cast<double>(c.attempts)));
  return o;
}

Napi::Value PossibleCpus(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<int> cpus;
  int err = possible_cpus(&cpus);
  if (err != 0) return ThrowErrno(env, "reading /sys/devices/system/cpu/possible", err);
  Napi::Array out = Napi::Array::New(env, cpus.size());
  for (size_t i = 0; i < cpus.size(); ++i) {
    out.Set(static_cast<uint32_t>(i), Napi::Number::New(env, cpus[i]));
  }
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // A second load of the addon into the same env (require cache cleared)
  // shares the env's data and its one cleanup hook.
  if (GetEnvData(env) == nullptr) {
    EnvData* data = new EnvData();
    env.SetInstanceData<EnvData, NoopInstanceFinalizer>(data);
    napi_status status = napi_add_env_cleanup_hook(env, CleanupEnv, data);
    if (status != napi_ok) {
      Napi::Error::New(env, "rseq: napi_add_env_cleanup_hook failed").ThrowAsJavaScriptException();
      return exports;
    }
  }

  exports.Set("arch", Napi::String::New(env, RSEQ_ABI_ARCH_NAME));
  exports.Set("signature", Napi::Number::New(env, RSEQ_ABI_SIG));
  struct Fn {
    const char* name;
    Napi::Value (*fn)(const Napi::CallbackInfo&);
  };
  const Fn fns[] = {
      {"acquire", Acquire},
      {"release", Release},
      {"registration", GetRegistration},
      {"kernel", Kernel},
      {"libc", Libc},
      {"auxv", Auxv},
      {"cpuIdStart", CpuIdStart},
      {"cpuId", CpuId},
      {"nodeId", NodeId},
      {"mmCid", MmCid},
      {"areaBuffer", AreaBuffer},
      {"errnoTable", ErrnoTable},
      {"setAffinity", SetAffinity},
      {"getAffinity", GetAffinity},
      {"schedGetcpu", SchedGetcpu},
      {"debugCounts", DebugCountsFn},
      {"opCounts", OpCountsFn},
      {"possibleCpus", PossibleCpus},
  };
  for (const Fn& f : fns) exports.Set(f.name, Napi::Function::New(env, f.fn, f.name));

  // The hot per-CPU operations as plain napi_callbacks (no CallbackInfo, whose
  // argument vector is heap-allocated beyond six arguments).
  struct RawFn {
    const char* name;
    napi_callback cb;
  };
  const RawFn raw[] = {
      {"opAdd", OpAdd},
      {"opStoreIfEqual", OpStoreIfEqual},
      {"opDoubleCompareStore", OpDoubleCompareStore},
      {"opSpeculativeStoreCommit", OpSpeculativeStoreCommit},
      {"opCopyCommit", OpCopyCommit},
      {"opListPop", OpListPop},
      {"currentId", CurrentId},
      {"fence", Fence},
  };
  for (const RawFn& f : raw) {
    napi_value fn = nullptr;
    if (napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, nullptr, &fn) != napi_ok) {
      Napi::Error::New(env, std::string("rseq: cannot create ") + f.name).ThrowAsJavaScriptException();
      return exports;
    }
    exports.Set(f.name, Napi::Value(env, fn));
  }
  if (!region_register(env, exports)) return exports;  // bindRegion (native/region_binding.cc)
  if (!bench_register(env, exports)) return exports;  // benchLoop (native/bench.cc)
  return exports;
}

}  // namespace

NODE_API_MODULE(rseq, Init)
