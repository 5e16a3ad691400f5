// native/selftest_binding.h - selftest() and selftestVerdict(): the N-API face of native/selftest.h.
#ifndef RSEQ_NATIVE_SELFTEST_BINDING_H
#define RSEQ_NATIVE_SELFTEST_BINDING_H

#include <node_api.h>

// Adds selftest and selftestVerdict to exports. Returns false with a JavaScript exception pending.
bool selftest_register(napi_env env, napi_value exports);

#endif  // RSEQ_NATIVE_SELFTEST_BINDING_H
