/*
 * native/arch/common.h - what the per-architecture critical sections share.
 *
 * native/arch/x86_64.h and native/arch/aarch64.h each define the same set of
 * single-attempt per-CPU operations as `static inline` function templates:
 *
 *   rseq_arch::op_add                    *v += count
 *   rseq_arch::op_store_if_equal         if (*v == expect) *v = newv
 *   rseq_arch::op_double_compare_store   if (*v == expect && *v2 == expect2) *v = newv
 *   rseq_arch::op_speculative_store_commit<kId, kRelease>
 *                                        if (*v == expect) { *v2 = newv2; *v = newv }
 *   rseq_arch::op_copy_commit<kId, kRelease>
 *                                        if (*v == expect) { copy len bytes; *v = newv }
 *   rseq_arch::op_list_pop               r = *head; checks; *head = next[r]
 *
 * Each takes the calling thread's registered struct rseq (`area`), the id the
 * caller based its choice of slots on (`id`), and returns one of the RSEQ_OP_*
 * statuses below. The template parameter kIdOffset selects the field the id is
 * compared with: RSEQ_ARCH_ID_CPU_ID (cpu_id, offset 4) or RSEQ_ARCH_ID_MM_CID
 * (mm_cid, offset 24); it is an assembler immediate, so there is one copy of a
 * section per mode.
 *
 * Why `static inline`: every section emits its descriptor into the `__rseq_cs`
 * data section from inside the asm statement. A function with vague linkage
 * (plain `inline`, COMDAT) could have its text discarded by the linker while
 * the descriptor pointing into it stays behind; internal linkage gives every
 * translation unit its own complete copy. It also keeps a test build with
 * delay injection (RSEQ_INJECT, see below) from being merged with the
 * library's injection-free copy of the same template.
 *
 * Delay injection (tests only): when RSEQ_INJECT is defined before the arch
 * header is included, numbered points inside every section spin for
 * rseq_inject_loops[n] iterations (a global the test defines and tunes):
 *   1  section start: after the rseq_cs store, before the id check
 *   2  after the id check, before the loads and compares
 *   3  after the compares (and the speculative store), before the commit
 *   4  inside the copy loop, once per byte
 * The loop keeps the thread inside the section for longer, so preemption,
 * migration and signals land there and the abort path runs.
 */
#ifndef RSEQ_NATIVE_ARCH_COMMON_H
#define RSEQ_NATIVE_ARCH_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "../abi.h"

/* Statuses: OP_* of src/contract/abi.ts (native/abi_table.h). */
#define RSEQ_OP_COMMITTED RSEQ_TABLE_OP_COMMITTED           /* the commit store happened */
#define RSEQ_OP_COMPARE_FAILED RSEQ_TABLE_OP_COMPARE_FAILED /* a comparison failed (list pop: the list was empty) */
#define RSEQ_OP_ABORTED RSEQ_TABLE_OP_ABORTED               /* the kernel moved the thread to the abort handler */
#define RSEQ_OP_MOVED RSEQ_TABLE_OP_MOVED                   /* the thread's id was not `id` when the section started */
#define RSEQ_OP_BAD_INDEX RSEQ_TABLE_OP_BAD_INDEX           /* list pop: the head held an index >= count */

/* Offsets of the id fields in struct rseq (the template parameter kIdOffset). */
#define RSEQ_ARCH_ID_CPU_ID RSEQ_TABLE_RSEQ_CPU_ID_OFFSET
#define RSEQ_ARCH_ID_MM_CID RSEQ_TABLE_RSEQ_MM_CID_OFFSET
/* Offset of rseq_cs, where a section stores its descriptor's address. */
#define RSEQ_ARCH_RSEQ_CS RSEQ_TABLE_RSEQ_RSEQ_CS_OFFSET

#define RSEQ_ARCH_STR_(x) #x
#define RSEQ_ARCH_STR(x) RSEQ_ARCH_STR_(x)

#ifdef RSEQ_INJECT
/* Iterations of the delay loop at each injection point (index 1..4). */
extern "C" volatile uint32_t rseq_inject_loops[8];
#endif

#if defined(__cplusplus)
static_assert(offsetof(struct rseq_abi, cpu_id) == RSEQ_ARCH_ID_CPU_ID, "cpu_id offset");
static_assert(offsetof(struct rseq_abi, mm_cid) == RSEQ_ARCH_ID_MM_CID, "mm_cid offset");
static_assert(offsetof(struct rseq_abi, rseq_cs) == RSEQ_ARCH_RSEQ_CS, "rseq_cs offset");
#endif

#endif /* RSEQ_NATIVE_ARCH_COMMON_H */
