// bench/native/bench.h - timed C loops for bench/run.cjs (benchmarks only;
// in the development addon, never in the shipped one).
//
// Each loop runs `iterations` increments of a 64-bit word on the calling
// thread and returns the elapsed time measured inside C with
// clock_gettime(CLOCK_MONOTONIC), so no JavaScript or N-API cost is included:
//
//   rseq-add            the add critical section through percpu.h, exactly as
//                       the addon's opAdd calls it (op_current_id, op_add with
//                       its per-thread counts), retried until it commits
//   rseq-add-inline     the same section from arch/<arch>.h inlined into the
//                       loop, without percpu.h's call and counts: the floor
//   area-atomic         cpu_id loaded from the rseq area, then an atomic add
//                       (lock xadd) on that CPU's slot: PerCpuCounter's
//                       'atomics' path in C
//   getcpu-atomic       sched_getcpu() (libc), then an atomic add on that
//                       CPU's slot
//   vdso-getcpu-atomic  getcpu() (libc's wrapper of the vDSO call), then an
//                       atomic add on that CPU's slot
//   shared-atomic       an atomic add on one word every thread shares
//
// Memory: `words` holds one 64-byte line (kBenchStride words) per possible CPU
// id, then one more line for shared-atomic: kBenchStride * (slots + 1) words.
// Slot s is words[s * kBenchStride]; the shared word is words[slots * kBenchStride].
#ifndef RSEQ_NATIVE_BENCH_H
#define RSEQ_NATIVE_BENCH_H

#include <stddef.h>
#include <stdint.h>

namespace rseq_native {

enum class BenchKind : int {
  RseqAdd,
  RseqAddInline,
  AreaAtomic,
  GetcpuAtomic,
  VdsoGetcpuAtomic,
  SharedAtomic,
};

// Words per slot: one 64-byte cache line.
constexpr size_t kBenchStride = 8;

// The kind named `name`; false for an unknown name.
bool bench_kind_from_name(const char* name, BenchKind* out);

struct BenchResult {
  double ns;         // elapsed nanoseconds (CLOCK_MONOTONIC), loop only
  uint64_t retries;  // rseq kinds: attempts that did not commit (aborted or moved)
  int err;           // 0, or why nothing ran: EINVAL (an id past `slots`), ENOSYS
                     // (no registration), ENODEV (cpu_id/sched_getcpu failed)
  const char* what;  // "" or what failed
};

// Runs the loop on the calling thread, which must hold a registration
// (registration.h acquire()) for the rseq and area kinds. `slots` is the
// number of per-CPU lines in `words` (every id the kernel can hand out is
// below it); `words` holds kBenchStride * (slots + 1) words.
BenchResult bench_loop(BenchKind kind, uint64_t iterations, int64_t* words, size_t slots);

}  // namespace rseq_native

#if defined(NAPI_VERSION)
#include <node_api.h>

namespace rseq_native {
// Adds benchLoop(kind, iterations, words?), benchCall() and benchCallData()
// to the addon's exports (see src/native/binding.ts). Returns false with a
// JavaScript exception pending.
bool bench_register(napi_env env, napi_value exports);
}  // namespace rseq_native
#endif

#endif  // RSEQ_NATIVE_BENCH_H
