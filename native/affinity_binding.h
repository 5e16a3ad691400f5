// native/affinity_binding.h - CPUs of the calling thread and of the machine,
// for JavaScript: setAffinity(cpus), getAffinity(), schedGetcpu(),
// possibleCpus(). The shapes are src/native/binding.ts's.
#ifndef RSEQ_NATIVE_AFFINITY_BINDING_H
#define RSEQ_NATIVE_AFFINITY_BINDING_H

#include <node_api.h>

namespace rseq_native {

// sched_setaffinity(0, ...) of the calling thread; a failure throws an Error
// with .code = the errno name and .errno = the number.
napi_value SetAffinityBinding(napi_env env, napi_callback_info info);
napi_value GetAffinityBinding(napi_env env, napi_callback_info info);
napi_value SchedGetcpuBinding(napi_env env, napi_callback_info info);
// /sys/devices/system/cpu/possible (native/percpu.h possible_cpus()).
napi_value PossibleCpusBinding(napi_env env, napi_callback_info info);

}  // namespace rseq_native

#endif  // RSEQ_NATIVE_AFFINITY_BINDING_H
