// native/percpu.h - per-CPU critical sections on the calling thread's area,
// membarrier fences and the possible-CPU list.
//
// The sections themselves are in native/arch/<arch>.h (inline assembly, one
// attempt each); this layer finds the calling thread's registered area, picks
// the section for the id mode, keeps the per-thread counts and returns the
// status. It is what the addon calls; the arch headers can also be used
// directly (the stress test does, with delay injection compiled in).
//
// Semantics follow src/contract/backend.ts (PerCpuOps.section, the arguments by name in
// src/contract/sections.ts, in the order the functions here take them): every operation
// is a single attempt; the caller read its id (cpu_id or mm_cid), chose its slots from it
// and passes it in; MOVED means the id no longer matched when the section
// started, ABORTED that the kernel interrupted it, COMPARE_FAILED that a
// comparison failed. Nothing is committed unless the result is COMMITTED
// (speculative stores may have happened: see each operation).
//
// Nothing here throws or aborts; failures are statuses or errno values.
#ifndef RSEQ_NATIVE_PERCPU_H
#define RSEQ_NATIVE_PERCPU_H

#include <stddef.h>
#include <stdint.h>

#include <vector>

#include "abi.h"
#include "arch/common.h"

#if defined(__x86_64__)
#include "arch/x86_64.h"
#elif defined(__aarch64__)
#include "arch/aarch64.h"
#endif

namespace rseq_native {

// The id an operation reads: ID_MODE of src/contract/abi.ts.
enum class IdMode : int { CpuId = RSEQ_TABLE_ID_MODE_CPU, MmCid = RSEQ_TABLE_ID_MODE_MMCID };

// Why an operation cannot run at all (op_prepare's result).
enum class PrepareError : int {
  None = 0,
  NotRegistered,     // the calling thread holds no registration (acquire() first)
  FieldUnavailable,  // mode MmCid on a kernel whose feature size is < 28
  NoMemory,          // the per-thread counts could not be allocated
};

// The calling thread's section counts.
struct OpCounts {
  uint64_t attempts;  // sections attempted
  uint64_t aborts;    // sections the kernel aborted
  uint64_t moved;     // sections that found the id changed before they started
};

// What an operation needs, resolved once per call by op_prepare().
struct OpContext {
  volatile struct rseq_abi* area;
  IdMode mode;
  OpCounts* counts;
};

// Finds the calling thread's area and counts for `mode`. The thread must hold
// a reference (registration.h acquire()) for as long as it uses the context.
PrepareError op_prepare(IdMode mode, OpContext* ctx);

// True when the kernel keeps the mode's field up to date (mm_cid needs feature
// size >= 28; cpu_id always). The feature size is read once per process.
bool mode_available(IdMode mode);

// The calling thread's id in `mode`, read from its area (relaxed load).
// Inline: every region operation reads it first, once per attempt.
inline uint32_t op_current_id(const OpContext& ctx) {
  const volatile uint32_t* p = ctx.mode == IdMode::CpuId ? &ctx.area->cpu_id : &ctx.area->mm_cid;
  return __atomic_load_n(p, __ATOMIC_RELAXED);
}

// The operations (RSEQ_OP_* statuses of arch/common.h).
int op_add(const OpContext& ctx, uint32_t id, int64_t* v, int64_t count);
int op_store_if_equal(const OpContext& ctx, uint32_t id, int64_t* v, int64_t expect, int64_t newv);
int op_double_compare_store(const OpContext& ctx, uint32_t id, int64_t* v, int64_t expect,
                            const int64_t* v2, int64_t expect2, int64_t newv);
int op_speculative_store_commit(const OpContext& ctx, uint32_t id, int64_t* v, int64_t expect,
                                int64_t* v2, int64_t newv2, int64_t newv, bool release);
int op_copy_commit(const OpContext& ctx, uint32_t id, int64_t* v, int64_t expect, void* dst,
                   const void* src, size_t len, int64_t newv, bool release);
// The popped index (>= 0), or minus a status: -RSEQ_OP_COMPARE_FAILED when the
// head held `empty`, -RSEQ_OP_BAD_INDEX when it held an index >= count (as an
// unsigned 64-bit value), -RSEQ_OP_MOVED, -RSEQ_OP_ABORTED.
int64_t op_list_pop(const OpContext& ctx, uint32_t id, int64_t* head, const int64_t* next,
                    uint64_t count, int64_t empty);

// The calling thread's counts (zeros before its first operation). Counts are
// per thread only: nothing shared is written on any path of an operation.
OpCounts thread_op_counts();

// membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ): every thread of the
// process that is inside a critical section (on `cpu` when cpu >= 0, with
// MEMBARRIER_CMD_FLAG_CPU; on all CPUs when cpu < 0) has aborted it when this
// returns. Registers the process with
// MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ first, once (again in a forked
// child). Returns 0 or the errno.
int fence(int cpu);

// Parses a kernel CPU list ("0-3,5,8-9\n"). Returns false on malformed text
// (empty, a descending range, garbage); ids come out ascending and unique.
bool parse_cpu_list(const char* text, std::vector<int>* out);

// /sys/devices/system/cpu/possible. Returns 0 or the errno (EINVAL when the
// file cannot be parsed).
int possible_cpus(std::vector<int>* out);

}  // namespace rseq_native

#endif  // RSEQ_NATIVE_PERCPU_H
