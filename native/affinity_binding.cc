// native/affinity_binding.cc - see affinity_binding.h.
#include "affinity_binding.h"

#include <sched.h>
#include <stddef.h>
#include <stdint.h>

#include <cerrno>
#include <cmath>
#include <string>
#include <vector>

#include "napi_util.h"
#include "percpu.h"

namespace rseq_native {

namespace {

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

}  // namespace

napi_value SetAffinityBinding(napi_env env, napi_callback_info info) {
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

napi_value GetAffinityBinding(napi_env env, napi_callback_info) {
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

napi_value SchedGetcpuBinding(napi_env env, napi_callback_info) {
  int cpu = sched_getcpu();
  if (cpu < 0) return ThrowErrno(env, "sched_getcpu", errno);
  return Num(env, cpu);
}

napi_value PossibleCpusBinding(napi_env env, napi_callback_info) {
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

}  // namespace rseq_native
