// native/region_binding.h - bindRegion(): the N-API face of native/region.h.
#ifndef RSEQ_NATIVE_REGION_BINDING_H
#define RSEQ_NATIVE_REGION_BINDING_H

#include <node_api.h>

// Adds bindRegion and ffiWarnOnce to exports. Returns false with a JavaScript exception pending.
bool region_register(napi_env env, napi_value exports);

#endif  // RSEQ_NATIVE_REGION_BINDING_H
