// native/addon.cc - the addon's module init and its export table
// (build/Release/rseq.node). The exported shape is src/native/binding.ts.
//
// The bindings (the conversion between JavaScript and the core) live beside
// the parts of the core they face:
//   registration_binding.cc  acquire, release, the area and its fields
//   probe_binding.cc         kernel, libc, auxv, the errno table
//   affinity_binding.cc      CPU affinity, sched_getcpu, the possible CPUs
//   sections_binding.cc      the per-CPU operations (arguments: op_args.cc)
//   region_binding.cc        bindRegion (region_ffi.cc: the node:ffi handles)
//   slice_binding.cc         the time-slice extension
//   selftest_binding.cc      the selftest
// env_lifetime.cc gives each env's references back at its teardown;
// napi_util.cc has what they share (errors, values, exports), and says why
// the C Node-API is used rather than napi.h's classes: nothing may abort.
#include <napi.h>

#include "abi.h"
#include "affinity_binding.h"
#include "env_lifetime.h"
#include "napi_util.h"
#include "probe_binding.h"
#include "region_binding.h"
#include "registration_binding.h"
#include "sections_binding.h"
#include "selftest_binding.h"
#include "slice_binding.h"

// The development addon (binding.gyp's rseq_dev target) also has benchLoop;
// native/dev_hooks.h has its test hooks.
#if defined(RSEQ_DEV_HOOKS)
#include "bench.h"  // benchLoop (bench/run.cjs)
#endif

namespace {

using namespace rseq_native;

// Every function the addon exports, by name.
constexpr ExportedFunction kExports[] = {
    // registration_binding.h
    {"acquire", AcquireBinding},
    {"release", ReleaseBinding},
    {"registration", RegistrationBinding},
    {"cpuIdStart", CpuIdStartBinding},
    {"cpuId", CpuIdBinding},
    {"nodeId", NodeIdBinding},
    {"mmCid", MmCidBinding},
    {"areaBuffer", AreaBufferBinding},
    {"debugCounts", DebugCountsBinding},
    // probe_binding.h
    {"kernel", KernelBinding},
    {"libc", LibcBinding},
    {"auxv", AuxvBinding},
    {"errnoTable", ErrnoTableBinding},
    // affinity_binding.h
    {"setAffinity", SetAffinityBinding},
    {"getAffinity", GetAffinityBinding},
    {"schedGetcpu", SchedGetcpuBinding},
    {"possibleCpus", PossibleCpusBinding},
    // sections_binding.h
    {"opAdd", OpAddBinding},
    {"opStoreIfEqual", OpStoreIfEqualBinding},
    {"opDoubleCompareStore", OpDoubleCompareStoreBinding},
    {"opSpeculativeStoreCommit", OpSpeculativeStoreCommitBinding},
    {"opCopyCommit", OpCopyCommitBinding},
    {"opListPop", OpListPopBinding},
    {"currentId", CurrentIdBinding},
    {"fence", FenceBinding},
    {"opCounts", OpCountsBinding},
    // region_binding.h
    {"bindRegion", BindRegionBinding},
    {"ffiWarnOnce", FfiWarnOnceBinding},
    // slice_binding.h
    {"sliceGet", SliceGetBinding},
    {"sliceSet", SliceSetBinding},
    {"sliceYield", SliceYieldBinding},
    {"sliceRequest", SliceRequestBinding},
    {"sliceEnd", SliceEndBinding},
    {"sliceCtrl", SliceCtrlBinding},
    // selftest_binding.h
    {"selftest", SelftestBinding},
    {"selftestVerdict", SelftestVerdictBinding},
};

// Napi::Env and Napi::Object convert to napi_env and napi_value: everything
// below is the C Node-API (napi_util.h says why). On a failure Init returns
// what it has, with the error thrown if anyone can catch it.
Napi::Object Init(Napi::Env env, Napi::Object exports) {
  if (!env_lifetime_init(env)) return exports;
  if (!Export(env, exports, "arch", Str(env, RSEQ_ABI_ARCH_NAME)) ||
      !Export(env, exports, "signature", Num(env, RSEQ_ABI_SIG)) ||
      !ExportFunctions(env, exports, kExports, sizeof kExports / sizeof kExports[0])) {
    return exports;
  }
#if defined(RSEQ_DEV_HOOKS)
  bench_register(env, exports);  // benchLoop (bench/native/bench.cc)
#endif
  return exports;
}

}  // namespace

NODE_API_MODULE(rseq, Init)
