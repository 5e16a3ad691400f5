// native/registration_binding.h - the calling thread's registration and its
// area, for JavaScript (native/registration.h): acquire(), release(),
// registration(), cpuIdStart(), cpuId(), nodeId(), mmCid(), areaBuffer(),
// debugCounts(). The shapes are src/native/binding.ts's.
#ifndef RSEQ_NATIVE_REGISTRATION_BINDING_H
#define RSEQ_NATIVE_REGISTRATION_BINDING_H

#include <node_api.h>

namespace rseq_native {

napi_value AcquireBinding(napi_env env, napi_callback_info info);
napi_value ReleaseBinding(napi_env env, napi_callback_info info);
napi_value RegistrationBinding(napi_env env, napi_callback_info info);
// The u32 fields of the calling thread's area; ERR_RSEQ_NOT_REGISTERED
// without a registration.
napi_value CpuIdStartBinding(napi_env env, napi_callback_info info);
napi_value CpuIdBinding(napi_env env, napi_callback_info info);
napi_value NodeIdBinding(napi_env env, napi_callback_info info);
napi_value MmCidBinding(napi_env env, napi_callback_info info);
// An external ArrayBuffer over the calling thread's area, or a string saying
// why the runtime refused one.
napi_value AreaBufferBinding(napi_env env, napi_callback_info info);
napi_value DebugCountsBinding(napi_env env, napi_callback_info info);

}  // namespace rseq_native

#endif  // RSEQ_NATIVE_REGISTRATION_BINDING_H
