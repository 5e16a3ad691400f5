// native/slice_binding.h - the N-API face of native/slice.h: the time-slice
// extension of the calling thread (Linux 7.0).
#ifndef RSEQ_NATIVE_SLICE_BINDING_H
#define RSEQ_NATIVE_SLICE_BINDING_H

#include <node_api.h>

namespace rseq_native {

// sliceGet(), sliceSet(enable), sliceYield(), sliceRequest(), sliceEnd(),
// sliceCtrl(): slice_binding.cc says what each answers.
napi_value SliceGetBinding(napi_env env, napi_callback_info info);
napi_value SliceSetBinding(napi_env env, napi_callback_info info);
napi_value SliceYieldBinding(napi_env env, napi_callback_info info);
napi_value SliceRequestBinding(napi_env env, napi_callback_info info);
napi_value SliceEndBinding(napi_env env, napi_callback_info info);
napi_value SliceCtrlBinding(napi_env env, napi_callback_info info);

}  // namespace rseq_native

#endif  // RSEQ_NATIVE_SLICE_BINDING_H
