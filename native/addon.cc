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
#include <cmath>
#include <string>
#include <vector>

#include "abi.h"
#include "auxv.h"
#include "errno_names.h"
#include "errno_table.h"
#include "probe.h"
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
  };
  for (const Fn& f : fns) exports.Set(f.name, Napi::Function::New(env, f.fn, f.name));
  return exports;
}

}  // namespace

NODE_API_MODULE(rseq, Init)
