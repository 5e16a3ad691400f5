// native/selftest_binding.h - selftest() and selftestVerdict(): the N-API face of native/selftest.h.
#ifndef RSEQ_NATIVE_SELFTEST_BINDING_H
#define RSEQ_NATIVE_SELFTEST_BINDING_H

#include <node_api.h>

namespace rseq_native {

// selftest(budgetMs): the checks of native/selftest.h on the core's own threads.
napi_value SelftestBinding(napi_env env, napi_callback_info info);
// selftestVerdict(): 0 no verdict yet, 1 ok, 2 broken (process-wide).
napi_value SelftestVerdictBinding(napi_env env, napi_callback_info info);

}  // namespace rseq_native

#endif  // RSEQ_NATIVE_SELFTEST_BINDING_H
