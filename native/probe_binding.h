// native/probe_binding.h - what the kernel and the libc offer, for JavaScript
// (native/probe.h, native/auxv.h, native/errno_table.h): kernel(), libc(),
// auxv(), errnoTable(). The shapes are src/native/binding.ts's.
#ifndef RSEQ_NATIVE_PROBE_BINDING_H
#define RSEQ_NATIVE_PROBE_BINDING_H

#include <node_api.h>

namespace rseq_native {

napi_value KernelBinding(napi_env env, napi_callback_info info);
napi_value LibcBinding(napi_env env, napi_callback_info info);
napi_value AuxvBinding(napi_env env, napi_callback_info info);
napi_value ErrnoTableBinding(napi_env env, napi_callback_info info);

}  // namespace rseq_native

#endif  // RSEQ_NATIVE_PROBE_BINDING_H
