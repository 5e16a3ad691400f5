// native/slice_binding.h - the N-API face of native/slice.h.
#ifndef RSEQ_NATIVE_SLICE_BINDING_H
#define RSEQ_NATIVE_SLICE_BINDING_H

#include <node_api.h>

// Adds sliceGet, sliceSet, sliceYield, sliceRequest, sliceEnd and sliceCtrl to
// exports. Returns false with a JavaScript exception pending.
bool slice_register(napi_env env, napi_value exports);

#endif  // RSEQ_NATIVE_SLICE_BINDING_H
