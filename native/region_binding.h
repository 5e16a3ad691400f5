// native/region_binding.h - bindRegion(): the N-API face of native/region.h.
#ifndef RSEQ_NATIVE_REGION_BINDING_H
#define RSEQ_NATIVE_REGION_BINDING_H

#include <node_api.h>

namespace rseq_native {

// bindRegion(words, kind): a per-CPU structure's memory checked and bound to
// the calling thread (region_binding.cc has the whole contract).
napi_value BindRegionBinding(napi_env env, napi_callback_info info);
// ffiWarnOnce(): true for the first call in the process, so that
// src/native/ffi.ts warns once per process, not once per worker, when
// RSEQ_FFI=1 cannot work.
napi_value FfiWarnOnceBinding(napi_env env, napi_callback_info info);

}  // namespace rseq_native

#endif  // RSEQ_NATIVE_REGION_BINDING_H
