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
//
// An env that is shutting down: worker.terminate() can land anywhere in this
// file, in Init as well as in any call. From then on the env refuses to run
// JavaScript: Node-API calls that need it (setting a property, napi_throw)
// fail, and some that succeed leave the termination as a pending exception.
// node-addon-api turns such a failure into a fatal error that aborts the whole
// process (NAPI_FATAL_IF_FAILED in Error::New, Error::ThrowAsJavaScriptException,
// Object::Set, Function::New), so this file uses napi.h only for NODE_API_MODULE
// and the C Node-API everywhere else: every status is checked, a failure is
// returned (nullptr: undefined, or the pending exception), an error is thrown
// only when no exception is pending, and a throw the env refuses is dropped,
// as nobody is left to catch it. Nothing here may abort.
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
#include "errno_names.h"
#include "errno_table.h"
#include "percpu.h"
#include "probe.h"
#include "region_binding.h"
#include "registration.h"
#include "selftest_binding.h"
#include "slice_binding.h"

// The development addon (binding.gyp's rseq_dev target, built with
// RSEQ_DEV_BUILD=1 by `npm test` and `npm run bench`; never by a user's
// install) adds benchLoop (bench/native/bench.cc) and the test hook
// RSEQ_NO_EXTERNAL_BUFFER. The shipped addon has neither.
#if defined(RSEQ_DEV_HOOKS)
#include "bench.h"  // benchLoop (bench/run.cjs)
#endif

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

// Runs on the env's thread when the env is torn down.
void CleanupEnv(void* arg) {
  EnvData* data = static_cast<EnvData*>(arg);
  uint32_t n = data->refs + (data->pinned ? 1u : 0u);
  for (uint32_t i = 0; i < n; ++i) release();
  data->refs = 0;
  data->pinned = false;
  delete data;
}

// nullptr when the env has none (napi_get_instance_data needs no JavaScript).
EnvData* GetEnvData(napi_env env) {
  void* data = nullptr;
  if (napi_get_instance_data(env, &data) != napi_ok) return nullptr;
  return static_cast<EnvData*>(data);
}

// ---------------------------------------------------------------------------
// Errors. Each Throw* returns nullptr (undefined) with the error pending, or
// with nothing pending when the env can no longer run JavaScript.
// ---------------------------------------------------------------------------

bool ExceptionPending(napi_env env) {
  bool pending = false;
  return napi_is_exception_pending(env, &pending) == napi_ok && pending;
}

// Throws `error` unless an exception is already pending: that one stands
// (napi_throw refuses a second throw, which node-addon-api made a fatal error).
// napi_throw also fails in an env that is shutting down; the error is dropped.
napi_value ThrowValue(napi_env env, napi_value error) {
  if (error != nullptr && !ExceptionPending(env)) napi_throw(env, error);
  return nullptr;
}

enum class ErrorKind { Error, TypeError, RangeError };

// A new error with `message` and, when `code` is not null, a .code property.
// nullptr when it cannot be made.
napi_value NewError(napi_env env, ErrorKind kind, const char* code, const std::string& message) {
  napi_value msg = nullptr;
  napi_value code_value = nullptr;
  napi_value error = nullptr;
  if (napi_create_string_utf8(env, message.data(), message.size(), &msg) != napi_ok) return nullptr;
  if (code != nullptr && napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_value) != napi_ok) {
    return nullptr;
  }
  napi_status status = napi_generic_failure;
  switch (kind) {
    case ErrorKind::Error:
      status = napi_create_error(env, code_value, msg, &error);
      break;
    case ErrorKind::TypeError:
      status = napi_create_type_error(env, code_value, msg, &error);
      break;
    case ErrorKind::RangeError:
      status = napi_create_range_error(env, code_value, msg, &error);
      break;
  }
  return status == napi_ok ? error : nullptr;
}

napi_value ThrowError(napi_env env, ErrorKind kind, const char* code, const std::string& message) {
  if (ExceptionPending(env)) return nullptr;
  return ThrowValue(env, NewError(env, kind, code, message));
}

// A Node-API call failed where it cannot in a live env (out of memory, or the
// env is shutting down): throw that if anyone can still catch it.
napi_value ThrowApiFailure(napi_env env, const char* what) {
  return ThrowError(env, ErrorKind::Error, nullptr, std::string("rseq: ") + what + " failed");
}

// Error with .code = the errno name and .errno = the number.
napi_value ThrowErrno(napi_env env, const char* what, int err) {
  if (ExceptionPending(env)) return nullptr;
  const char* name = errno_name(err);
  std::string message = std::string(what) + " failed: " + name + " (" + strerror(err) + ")";
  napi_value error = NewError(env, ErrorKind::Error, name, message);
  napi_value errno_value = nullptr;
  if (error == nullptr || napi_create_int32(env, err, &errno_value) != napi_ok ||
      napi_set_named_property(env, error, "errno", errno_value) != napi_ok) {
    return nullptr;
  }
  return ThrowValue(env, error);
}

napi_value ThrowNotRegistered(napi_env env) {
  return ThrowError(env, ErrorKind::Error, RSEQ_TABLE_ERR_RSEQ_NOT_REGISTERED,
                    "the calling thread holds no rseq registration; call acquire() first");
}

// ---------------------------------------------------------------------------
// Values. Each returns nullptr when the value cannot be made.
// ---------------------------------------------------------------------------

napi_value Str(napi_env env, const char* s) {
  napi_value v = nullptr;
  return napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v) == napi_ok ? v : nullptr;
}

napi_value Num(napi_env env, double d) {
  napi_value v = nullptr;
  return napi_create_double(env, d, &v) == napi_ok ? v : nullptr;
}

napi_value Null(napi_env env) {
  napi_value v = nullptr;
  return napi_get_null(env, &v) == napi_ok ? v : nullptr;
}

napi_value Undefined(napi_env env) {
  napi_value v = nullptr;
  return napi_get_undefined(env, &v) == napi_ok ? v : nullptr;
}

// A plain object filled property by property. The first failure sticks: the
// rest is skipped and Done() returns nullptr.
class ObjectBuilder {
 public:
  explicit ObjectBuilder(napi_env env) : env_(env) { ok_ = napi_create_object(env, &object_) == napi_ok; }

  ObjectBuilder& Set(const char* key, napi_value value) {
    ok_ = ok_ && value != nullptr && napi_set_named_property(env_, object_, key, value) == napi_ok;
    return *this;
  }
  ObjectBuilder& Str(const char* key, const char* s) { return ok_ ? Set(key, ::Str(env_, s)) : *this; }
  ObjectBuilder& Num(const char* key, double d) { return ok_ ? Set(key, ::Num(env_, d)) : *this; }
  ObjectBuilder& Null(const char* key) { return ok_ ? Set(key, ::Null(env_)) : *this; }

  napi_value Done() const { return ok_ ? object_ : nullptr; }

 private:
  napi_env env_;
  napi_value object_ = nullptr;
  bool ok_ = false;
};

// Sets out[index] = value; false when value is null or the set fails.
bool SetElement(napi_env env, napi_value array, uint32_t index, napi_value value) {
  return value != nullptr && napi_set_element(env, array, index, value) == napi_ok;
}

// ---------------------------------------------------------------------------
// Registration, probes and affinity (not hot).
// ---------------------------------------------------------------------------

napi_value RegistrationObject(napi_env env, const Registration& r) {
  return ObjectBuilder(env)
      .Str("owner", owner_name(r.owner))
      .Num("length", r.length)
      .Num("signature", r.signature)
      .Num("refs", r.refs)
      .Num("errno", r.err)
      .Str("errnoName", errno_name(r.err))
      .Str("op", r.op)
      .Done();
}

napi_value Acquire(napi_env env, napi_callback_info) {
  EnvData* data = GetEnvData(env);
  if (data == nullptr) return ThrowApiFailure(env, "napi_get_instance_data");
  Registration r = acquire();
  // Counted before the result is made: if the env is going away, its cleanup
  // hook gives the reference back.
  if (r.owner != Owner::None) data->refs++;
  return RegistrationObject(env, r);
}

napi_value Release(napi_env env, napi_callback_info) {
  EnvData* data = GetEnvData(env);
  if (data == nullptr) return ThrowApiFailure(env, "napi_get_instance_data");
  if (data->refs == 0) return Num(env, thread_refs());
  data->refs--;
  return Num(env, release());
}

napi_value GetRegistration(napi_env env, napi_callback_info) {
  return RegistrationObject(env, registration());
}

napi_value Kernel(napi_env env, napi_callback_info) {
  KernelInfo k = kernel_info();
  return ObjectBuilder(env)
      .Str("release", k.release.c_str())
      .Num("featureSize", static_cast<double>(k.feature_size))
      .Num("align", static_cast<double>(k.align))
      .Num("probeErrno", k.probe_errno)
      .Str("probeErrnoName", errno_name(k.probe_errno))
      .Num("membarrierMask", static_cast<double>(k.membarrier_mask))
      .Done();
}

napi_value Libc(napi_env env, napi_callback_info) {
  LibcInfo l = libc_info();
  ObjectBuilder o(env);
  o.Str("family", libc_family_name(l.family));
  if (l.has_version) {
    o.Str("version", l.version.c_str());
  } else {
    o.Null("version");
  }
  if (l.symbols.has_offset) {
    o.Num("rseqOffset", static_cast<double>(l.symbols.offset));
  } else {
    o.Null("rseqOffset");
  }
  if (l.symbols.has_size) {
    o.Num("rseqSize", l.symbols.size);
  } else {
    o.Null("rseqSize");
  }
  if (l.symbols.has_flags) {
    o.Num("rseqFlags", l.symbols.flags);
  } else {
    o.Null("rseqFlags");
  }
  return o.Done();
}

napi_value Auxv(napi_env env, napi_callback_info) {
  AuxvResult a = auxv_read();
  napi_value out = nullptr;
  if (napi_create_array_with_length(env, a.entries.size(), &out) != napi_ok) return nullptr;
  for (size_t i = 0; i < a.entries.size(); ++i) {
    const AuxvEntry& e = a.entries[i];
    const char* name = auxv_type_name(e.type);
    napi_value value = nullptr;
    if (napi_create_bigint_uint64(env, static_cast<uint64_t>(e.value), &value) != napi_ok) return nullptr;
    ObjectBuilder o(env);
    o.Num("type", static_cast<double>(e.type));
    if (name != nullptr) {
      o.Str("name", name);
    } else {
      o.Null("name");
    }
    o.Set("value", value);
    if (!SetElement(env, out, static_cast<uint32_t>(i), o.Done())) return nullptr;
  }
  return out;
}

napi_value ReadField(napi_env env, size_t offset) {
  uint32_t value = 0;
  if (!read_thread_field(offset, &value)) return ThrowNotRegistered(env);
  return Num(env, value);
}

napi_value CpuIdStart(napi_env env, napi_callback_info) {
  return ReadField(env, offsetof(rseq_abi, cpu_id_start));
}
napi_value CpuId(napi_env env, napi_callback_info) { return ReadField(env, offsetof(rseq_abi, cpu_id)); }
napi_value NodeId(napi_env env, napi_callback_info) { return ReadField(env, offsetof(rseq_abi, node_id)); }
napi_value MmCid(napi_env env, napi_callback_info) { return ReadField(env, offsetof(rseq_abi, mm_cid)); }

void NoopBufferFinalizer(napi_env, void*, void*) {}

napi_value AreaBuffer(napi_env env, napi_callback_info) {
  volatile rseq_abi* area = thread_area();
  if (area == nullptr) return ThrowNotRegistered(env);
#if defined(RSEQ_DEV_HOOKS)
  // Test hook: a runtime that refuses external buffers (test/native/children.test.ts).
  const char* hook = getenv("RSEQ_NO_EXTERNAL_BUFFER");
  if (hook != nullptr && strcmp(hook, "1") == 0) {
    return Str(env, "external buffers are turned off by RSEQ_NO_EXTERNAL_BUFFER=1");
  }
#endif
  uint32_t length = thread_area_view_length();

  // Keep the area alive for as long as the env (and so the view) lives.
  EnvData* data = GetEnvData(env);
  if (data == nullptr) return ThrowApiFailure(env, "napi_get_instance_data");
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
    bool pending = ExceptionPending(env);
    if (pinned_now) {
      data->pinned = false;
      release();
    }
    // napi_pending_exception with nothing pending: the env is shutting down.
    if (status == napi_pending_exception && !pending) return nullptr;
    if (pending) {
      napi_value ignored;
      napi_get_and_clear_last_exception(env, &ignored);
    }
    std::string reason = "this runtime does not allow external ArrayBuffers (napi status " +
                         std::to_string(static_cast<int>(status)) + ")";
    return Str(env, reason.c_str());
  }
  return buffer;
}

napi_value ErrnoTable(napi_env env, napi_callback_info) {
  ErrnoTableResult t = run_errno_table();
  if (t.err != 0) return ThrowErrno(env, t.op, t.err);
  napi_value cases = nullptr;
  if (napi_create_array_with_length(env, kErrnoCaseCount, &cases) != napi_ok) return nullptr;
  for (size_t i = 0; i < kErrnoCaseCount; ++i) {
    napi_value c = ObjectBuilder(env)
                       .Str("case", t.cases[i].name)
                       .Num("ret", t.cases[i].ret)
                       .Num("errno", t.cases[i].err)
                       .Str("errnoName", errno_name(t.cases[i].err))
                       .Done();
    if (!SetElement(env, cases, static_cast<uint32_t>(i), c)) return nullptr;
  }
  return ObjectBuilder(env)
      .Str("ownerAtStart", t.libc_owned_at_start ? "libc" : "none")
      .Num("signature", t.signature)
      .Set("cases", cases)
      .Done();
}

napi_value SetAffinity(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg = nullptr;
  if (napi_get_cb_info(env, info, &argc, &arg, nullptr, nullptr) != napi_ok) {
    return ThrowApiFailure(env, "napi_get_cb_info");
  }
  bool is_array = false;
  if (argc < 1 || napi_is_array(env, arg, &is_array) != napi_ok || !is_array) {
    return ThrowError(env, ErrorKind::TypeError, nullptr, "setAffinity expects an array of CPU numbers");
  }
  uint32_t n = 0;
  if (napi_get_array_length(env, arg, &n) != napi_ok) return nullptr;
  cpu_set_t set;
  CPU_ZERO(&set);
  for (uint32_t i = 0; i < n; ++i) {
    // An element getter may throw (its exception stands) or the env may end.
    napi_value v = nullptr;
    if (napi_get_element(env, arg, i, &v) != napi_ok) return nullptr;
    napi_valuetype type = napi_undefined;
    double d = 0;
    if (napi_typeof(env, v, &type) != napi_ok || type != napi_number ||
        napi_get_value_double(env, v, &d) != napi_ok) {
      return ThrowError(env, ErrorKind::TypeError, nullptr, "setAffinity: CPU numbers must be numbers");
    }
    if (!std::isfinite(d) || std::floor(d) != d) {
      return ThrowError(env, ErrorKind::TypeError, nullptr, "setAffinity: CPU numbers must be integers");
    }
    if (d < 0 || d >= CPU_SETSIZE) {
      return ThrowError(env, ErrorKind::RangeError, nullptr,
                        "setAffinity: CPU numbers must be in [0, " + std::to_string(CPU_SETSIZE) + ")");
    }
    CPU_SET(static_cast<int>(d), &set);
  }
  if (sched_setaffinity(0, sizeof set, &set) != 0) return ThrowErrno(env, "sched_setaffinity", errno);
  return Undefined(env);
}

// The CPUs set in `set` as an array of numbers; nullptr on a failure.
napi_value CpuArray(napi_env env, const cpu_set_t* set, size_t size, int ncpus) {
  napi_value out = nullptr;
  if (napi_create_array(env, &out) != napi_ok) return nullptr;
  uint32_t n = 0;
  for (int cpu = 0; cpu < ncpus; ++cpu) {
    if (CPU_ISSET_S(cpu, size, set) && !SetElement(env, out, n++, Num(env, cpu))) return nullptr;
  }
  return out;
}

napi_value GetAffinity(napi_env env, napi_callback_info) {
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
    napi_value out = CpuArray(env, set, size, ncpus);
    CPU_FREE(set);
    return out;
  }
  return ThrowErrno(env, "sched_getaffinity", EINVAL);
}

napi_value SchedGetcpu(napi_env env, napi_callback_info) {
  int cpu = sched_getcpu();
  if (cpu < 0) return ThrowErrno(env, "sched_getcpu", errno);
  return Num(env, cpu);
}

napi_value DebugCountsFn(napi_env env, napi_callback_info) {
  DebugCounts c = debug_counts();
  return ObjectBuilder(env)
      .Num("registrations", static_cast<double>(c.registrations))
      .Num("areas", static_cast<double>(c.areas))
      .Num("threads", static_cast<double>(c.threads))
      .Done();
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
  napi_throw_type_error(a.env, RSEQ_TABLE_ERR_INVALID_ARG_TYPE, msg.c_str());
  return false;
}

bool ArgRangeError(const OpArgs& a, const std::string& msg) {
  std::string full = std::string(a.fn) + ": " + msg;
  napi_throw_range_error(a.env, RSEQ_TABLE_ERR_OUT_OF_RANGE, full.c_str());
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

napi_value ThrowFieldUnavailable(napi_env env) {
  return ThrowError(env, ErrorKind::Error, RSEQ_TABLE_ERR_RSEQ_FIELD_UNAVAILABLE,
                    "mm_cid is not available: the kernel's rseq feature size is " +
                        std::to_string(effective_feature_size()) +
                        " and mm_cid needs 28 (Linux 6.3+); use mode 0 (cpu_id)");
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

napi_value OpCountsFn(napi_env env, napi_callback_info) {
  OpCounts c = thread_op_counts();
  return ObjectBuilder(env)
      .Num("aborts", static_cast<double>(c.aborts))
      .Num("moved", static_cast<double>(c.moved))
      .Num("attempts", static_cast<double>(c.attempts))
      .Done();
}

napi_value PossibleCpus(napi_env env, napi_callback_info) {
  std::vector<int> cpus;
  int err = possible_cpus(&cpus);
  if (err != 0) return ThrowErrno(env, "reading /sys/devices/system/cpu/possible", err);
  napi_value out = nullptr;
  if (napi_create_array_with_length(env, cpus.size(), &out) != napi_ok) return nullptr;
  for (size_t i = 0; i < cpus.size(); ++i) {
    if (!SetElement(env, out, static_cast<uint32_t>(i), Num(env, cpus[i]))) return nullptr;
  }
  return out;
}

void NoopInstanceFinalizer(napi_env, void*, void*) {}

// exports[name] = value. On a failure throws (if anyone can catch it) and
// returns false; Init then returns what it has.
bool Export(napi_env env, napi_value exports, const char* name, napi_value value) {
  if (value != nullptr && napi_set_named_property(env, exports, name, value) == napi_ok) return true;
  ThrowApiFailure(env, (std::string("exporting ") + name).c_str());
  return false;
}

bool ExportFunction(napi_env env, napi_value exports, const char* name, napi_callback cb) {
  napi_value fn = nullptr;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, nullptr, &fn) != napi_ok) {
    ThrowApiFailure(env, (std::string("creating ") + name).c_str());
    return false;
  }
  return Export(env, exports, name, fn);
}

// Napi::Env and Napi::Object convert to napi_env and napi_value: everything
// below is the C Node-API (see the top of the file).
Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // A second load of the addon into the same env (require cache cleared)
  // shares the env's data and its one cleanup hook.
  if (GetEnvData(env) == nullptr) {
    EnvData* data = new EnvData();
    if (napi_set_instance_data(env, data, NoopInstanceFinalizer, nullptr) != napi_ok) {
      delete data;
      ThrowApiFailure(env, "napi_set_instance_data");
      return exports;
    }
    if (napi_add_env_cleanup_hook(env, CleanupEnv, data) != napi_ok) {
      napi_set_instance_data(env, nullptr, NoopInstanceFinalizer, nullptr);
      delete data;
      ThrowApiFailure(env, "napi_add_env_cleanup_hook");
      return exports;
    }
  }

  if (!Export(env, exports, "arch", Str(env, RSEQ_ABI_ARCH_NAME)) ||
      !Export(env, exports, "signature", Num(env, RSEQ_ABI_SIG))) {
    return exports;
  }
  struct Fn {
    const char* name;
    napi_callback cb;
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
  for (const Fn& f : fns) {
    if (!ExportFunction(env, exports, f.name, f.cb)) return exports;
  }

  // The hot per-CPU operations (no CallbackInfo, whose argument vector is
  // heap-allocated beyond six arguments).
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
    if (!ExportFunction(env, exports, f.name, f.cb)) return exports;
  }
  if (!region_register(env, exports)) return exports;  // bindRegion (native/region_binding.cc)
  if (!selftest_register(env, exports)) return exports;  // selftest (native/selftest_binding.cc)
  if (!slice_register(env, exports)) return exports;  // sliceGet, sliceSet, ... (native/slice_binding.cc)
#if defined(RSEQ_DEV_HOOKS)
  if (!bench_register(env, exports)) return exports;  // benchLoop (bench/native/bench.cc)
#endif
  return exports;
}

}  // namespace

NODE_API_MODULE(rseq, Init)
