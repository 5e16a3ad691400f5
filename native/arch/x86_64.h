/*
 * native/arch/x86_64.h - per-CPU critical sections for x86_64 (GCC asm goto).
 *
 * Read native/arch/common.h first: the operations, statuses and injection
 * points are described there. This header is the project's own code; the
 * layout of the rseq ABI it follows is in native/abi.h.
 *
 * Shape of every section (numeric local labels, one asm statement each):
 *
 *   .pushsection __rseq_cs, "aw"       descriptor, 32-byte aligned:
 *   3: .long 0, 0                        version 0, flags 0
 *      .quad 1f, (2f - 1f), 4f           start_ip, post_commit_offset, abort_ip
 *   .popsection
 *   .pushsection __rseq_cs_ptr_array   its address, for debuggers and tests
 *      .quad 3b
 *   .popsection
 *      leaq 3b(%rip), %rax               enter: area->rseq_cs = &descriptor
 *      movq %rax, 8(area)
 *   1:                                   start_ip: first instruction inside
 *      cmpl id, ID_OFFSET(area)          the thread's cpu_id / mm_cid is still `id`?
 *      jnz  moved
 *      ... loads and compares, jnz cmpfail ...
 *      <commit: one store instruction>   the last instruction of the section
 *   2:                                   post_commit_ip
 *   .pushsection __rseq_failure, "ax"  abort handler, out of line
 *      .byte 0x0f, 0xb9, 0x3d            ud1 with a disp32 operand whose 4 bytes
 *      .long 0x53053053                  are the signature: the kernel checks
 *   4: jmp abort                         the u32 before abort_ip; abort_ip = 4
 *   .popsection
 *
 * The id check is the first instruction of the section: a thread preempted or
 * migrated after storing rseq_cs but before the check is aborted (its IP is in
 * the section), and one that was already elsewhere when it entered fails the
 * compare and leaves through `moved` before touching anything. Leaving a
 * section early (moved, cmpfail) needs no clean-up: the kernel ignores a
 * rseq_cs whose range does not contain the interrupted IP and clears it lazily.
 *
 * x86_64 is TSO: every store is already a release store, so the release
 * variants emit the same instructions as the plain ones (the "memory" clobber
 * keeps the compiler from moving accesses across the section either way).
 *
 * Scratch registers are named clobbers (%rax for the descriptor address and
 * the injection counter, %rcx/%rdx/%rsi/%rdi in copy and list pop) rather than
 * asm-goto outputs, which only GCC 11+ accepts.
 */
#ifndef RSEQ_NATIVE_ARCH_X86_64_H
#define RSEQ_NATIVE_ARCH_X86_64_H

#include "common.h"

#if !defined(__x86_64__)
#error "native/arch/x86_64.h is for x86_64"
#endif

#define RSEQ_X86_SIG_TEXT "0x53053053"
static_assert(RSEQ_ABI_SIG == 0x53053053u, "RSEQ_X86_SIG_TEXT must match RSEQ_ABI_SIG");

#ifdef RSEQ_INJECT
/* Spin rseq_inject_loops[n] times; uses %eax (free once rseq_cs is stored). */
#define RSEQ_X86_INJECT(n)                                             \
  "movl rseq_inject_loops+4*" #n "(%%rip), %%eax\n\t"                  \
  "testl %%eax, %%eax\n\t"                                             \
  "jz 77f\n"                                                           \
  "76:\n\t"                                                            \
  "decl %%eax\n\t"                                                     \
  "jnz 76b\n"                                                          \
  "77:\n\t"
#else
#define RSEQ_X86_INJECT(n) ""
#endif

/* The descriptor (label 3) and its pointer-array entry. */
#define RSEQ_X86_DESCRIPTOR                                            \
  ".pushsection __rseq_cs, \"aw\"\n\t"                                 \
  ".balign 32\n"                                                       \
  "3:\n\t"                                                             \
  ".long 0x0, 0x0\n\t"                                                 \
  ".quad 1f, (2f - 1f), 4f\n\t"                                        \
  ".popsection\n\t"                                                    \
  ".pushsection __rseq_cs_ptr_array, \"aw\"\n\t"                       \
  ".quad 3b\n\t"                                                       \
  ".popsection\n\t"

/* area->rseq_cs = &descriptor; start_ip (1); id check; injection point 2. */
#define RSEQ_X86_ENTER                                                 \
  "leaq 3b(%%rip), %%rax\n\t"                                          \
  "movq %%rax, " RSEQ_ARCH_STR(RSEQ_ARCH_RSEQ_CS) "(%[area])\n"        \
  "1:\n\t"                                                             \
  RSEQ_X86_INJECT(1)                                                   \
  "cmpl %[id], %c[idoff](%[area])\n\t"                                 \
  "jnz %l[moved]\n\t"                                                  \
  RSEQ_X86_INJECT(2)

/* post_commit_ip (2) and the out-of-line abort handler (4). */
#define RSEQ_X86_EXIT                                                  \
  "2:\n\t"                                                             \
  ".pushsection __rseq_failure, \"ax\"\n\t"                            \
  ".byte 0x0f, 0xb9, 0x3d\n\t"                                         \
  ".long " RSEQ_X86_SIG_TEXT "\n"                                      \
  "4:\n\t"                                                             \
  "jmp %l[abort]\n\t"                                                  \
  ".popsection\n"

/* Operands every section has. */
#define RSEQ_X86_AREA_OPERANDS [area] "r"(area), [id] "r"(id), [idoff] "i"(kIdOffset)

namespace rseq_arch {

/*
 * add: *v += count
 *
 *   rseq_cs = &cs
 * start:
 *   if (area->id != id) goto moved
 *   *v += count                      commit: one read-modify-write instruction
 * post_commit:
 */
template <unsigned kIdOffset>
static inline int op_add(volatile struct rseq_abi* area, uint32_t id, int64_t* v, int64_t count) {
  __asm__ goto(
      RSEQ_X86_DESCRIPTOR
      RSEQ_X86_ENTER
      RSEQ_X86_INJECT(3)
      "addq %[count], (%[v])\n"
      RSEQ_X86_EXIT
      : /* no outputs */
      : RSEQ_X86_AREA_OPERANDS, [v] "r"(v), [count] "r"(count)
      : "memory", "cc", "rax"
      : moved, abort);
  return RSEQ_OP_COMMITTED;
moved:
  return RSEQ_OP_MOVED;
abort:
  return RSEQ_OP_ABORTED;
}

/*
 * store if equal: if (*v == expect) *v = newv
 *
 *   rseq_cs = &cs
 * start:
 *   if (area->id != id) goto moved
 *   if (*v != expect) goto cmpfail
 *   *v = newv                        commit
 * post_commit:
 */
template <unsigned kIdOffset>
static inline int op_store_if_equal(volatile struct rseq_abi* area, uint32_t id, int64_t* v,
                                    int64_t expect, int64_t newv) {
  __asm__ goto(
      RSEQ_X86_DESCRIPTOR
      RSEQ_X86_ENTER
      "cmpq %[expect], (%[v])\n\t"
      "jnz %l[cmpfail]\n\t"
      RSEQ_X86_INJECT(3)
      "movq %[newv], (%[v])\n"
      RSEQ_X86_EXIT
      : /* no outputs */
      : RSEQ_X86_AREA_OPERANDS, [v] "r"(v), [expect] "r"(expect), [newv] "r"(newv)
      : "memory", "cc", "rax"
      : moved, cmpfail, abort);
  return RSEQ_OP_COMMITTED;
moved:
  return RSEQ_OP_MOVED;
cmpfail:
  return RSEQ_OP_COMPARE_FAILED;
abort:
  return RSEQ_OP_ABORTED;
}

/*
 * double compare then store: if (*v == expect && *v2 == expect2) *v = newv
 *
 *   rseq_cs = &cs
 * start:
 *   if (area->id != id) goto moved
 *   if (*v != expect) goto cmpfail
 *   if (*v2 != expect2) goto cmpfail
 *   *v = newv                        commit
 * post_commit:
 */
template <unsigned kIdOffset>
static inline int op_double_compare_store(volatile struct rseq_abi* area, uint32_t id, int64_t* v,
                                          int64_t expect, const int64_t* v2, int64_t expect2,
                                          int64_t newv) {
  __asm__ goto(
      RSEQ_X86_DESCRIPTOR
      RSEQ_X86_ENTER
      "cmpq %[expect], (%[v])\n\t"
      "jnz %l[cmpfail]\n\t"
      "cmpq %[expect2], (%[v2])\n\t"
      "jnz %l[cmpfail]\n\t"
      RSEQ_X86_INJECT(3)
      "movq %[newv], (%[v])\n"
      RSEQ_X86_EXIT
      : /* no outputs */
      : RSEQ_X86_AREA_OPERANDS, [v] "r"(v), [expect] "r"(expect), [v2] "r"(v2),
        [expect2] "r"(expect2), [newv] "r"(newv)
      : "memory", "cc", "rax"
      : moved, cmpfail, abort);
  return RSEQ_OP_COMMITTED;
moved:
  return RSEQ_OP_MOVED;
cmpfail:
  return RSEQ_OP_COMPARE_FAILED;
abort:
  return RSEQ_OP_ABORTED;
}

/*
 * speculative store then commit: if (*v == expect) { *v2 = newv2; *v = newv }
 *
 *   rseq_cs = &cs
 * start:
 *   if (area->id != id) goto moved
 *   if (*v != expect) goto cmpfail
 *   *v2 = newv2                      speculative: stays even if the section aborts
 *   *v = newv                        commit (kRelease: the same mov; TSO orders it)
 * post_commit:
 */
template <unsigned kIdOffset, bool kRelease>
static inline int op_speculative_store_commit(volatile struct rseq_abi* area, uint32_t id,
                                              int64_t* v, int64_t expect, int64_t* v2,
                                              int64_t newv2, int64_t newv) {
  __asm__ goto(
      RSEQ_X86_DESCRIPTOR
      RSEQ_X86_ENTER
      "cmpq %[expect], (%[v])\n\t"
      "jnz %l[cmpfail]\n\t"
      "movq %[newv2], (%[v2])\n\t"
      RSEQ_X86_INJECT(3)
      "movq %[newv], (%[v])\n"
      RSEQ_X86_EXIT
      : /* no outputs */
      : RSEQ_X86_AREA_OPERANDS, [v] "r"(v), [expect] "r"(expect), [v2] "r"(v2),
        [newv2] "r"(newv2), [newv] "r"(newv)
      : "memory", "cc", "rax"
      : moved, cmpfail, abort);
  return RSEQ_OP_COMMITTED;
moved:
  return RSEQ_OP_MOVED;
cmpfail:
  return RSEQ_OP_COMPARE_FAILED;
abort:
  return RSEQ_OP_ABORTED;
}

/*
 * copy then commit: if (*v == expect) { memcpy(dst, src, len); *v = newv }
 *
 *   rseq_cs = &cs
 * start:
 *   if (area->id != id) goto moved
 *   if (*v != expect) goto cmpfail
 *   n = len, s = src, d = dst
 *   for (; n >= 8; n -= 8)           speculative copy, forwards: 8 bytes
 *     *(u64 *)d = *(u64 *)s; d += 8; s += 8    at a time (unaligned is fine)
 *   for (; n != 0; n--)              then the last len % 8 bytes one by one
 *     *d++ = *s++
 *   *v = newv                        commit (kRelease: the same mov; TSO orders it)
 * post_commit:
 *
 * dst, src and len may be given in memory ("rm"): they are copied into
 * %rdi, %rsi and %rcx, which leaves enough registers at -O0.
 */
template <unsigned kIdOffset, bool kRelease>
static inline int op_copy_commit(volatile struct rseq_abi* area, uint32_t id, int64_t* v,
                                 int64_t expect, void* dst, const void* src, size_t len,
                                 int64_t newv) {
  __asm__ goto(
      RSEQ_X86_DESCRIPTOR
      RSEQ_X86_ENTER
      "cmpq %[expect], (%[v])\n\t"
      "jnz %l[cmpfail]\n\t"
      "movq %[len], %%rcx\n\t"
      "movq %[src], %%rsi\n\t"
      "movq %[dst], %%rdi\n\t"
      "cmpq $8, %%rcx\n\t"
      "jb 7f\n"
      "8:\n\t"
      "movq (%%rsi), %%rdx\n\t"
      "movq %%rdx, (%%rdi)\n\t"
      "addq $8, %%rsi\n\t"
      "addq $8, %%rdi\n\t"
      RSEQ_X86_INJECT(4)
      "subq $8, %%rcx\n\t"
      "cmpq $8, %%rcx\n\t"
      "jae 8b\n"
      "7:\n\t"
      "testq %%rcx, %%rcx\n\t"
      "jz 5f\n"
      "6:\n\t"
      "movb (%%rsi), %%dl\n\t"
      "movb %%dl, (%%rdi)\n\t"
      "incq %%rsi\n\t"
      "incq %%rdi\n\t"
      RSEQ_X86_INJECT(4)
      "decq %%rcx\n\t"
      "jnz 6b\n"
      "5:\n\t"
      RSEQ_X86_INJECT(3)
      "movq %[newv], (%[v])\n"
      RSEQ_X86_EXIT
      : /* no outputs */
      : RSEQ_X86_AREA_OPERANDS, [v] "r"(v), [expect] "r"(expect), [newv] "r"(newv),
        [dst] "rm"(dst), [src] "rm"(src), [len] "rm"(len)
      : "memory", "cc", "rax", "rcx", "rdx", "rsi", "rdi"
      : moved, cmpfail, abort);
  return RSEQ_OP_COMMITTED;
moved:
  return RSEQ_OP_MOVED;
cmpfail:
  return RSEQ_OP_COMPARE_FAILED;
abort:
  return RSEQ_OP_ABORTED;
}

/*
 * list pop over indices: next[] is an array of words, the list links indices.
 *
 *   rseq_cs = &cs
 * start:
 *   if (area->id != id) goto moved
 *   r = *head
 *   if (r == empty) goto cmpfail
 *   if ((uint64_t)r >= count) goto badindex     the bound check is in the section
 *   n = next[r]
 *   *out = r                         the caller's private slot
 *   *head = n                        commit
 * post_commit:
 *
 * *out is written only on the way to the commit; read it only on COMMITTED.
 */
template <unsigned kIdOffset>
static inline int op_list_pop(volatile struct rseq_abi* area, uint32_t id, int64_t* head,
                              const int64_t* next, uint64_t count, int64_t empty, int64_t* out) {
  __asm__ goto(
      RSEQ_X86_DESCRIPTOR
      RSEQ_X86_ENTER
      "movq (%[head]), %%rcx\n\t"
      "cmpq %[empty], %%rcx\n\t"
      "je %l[cmpfail]\n\t"
      "cmpq %[count], %%rcx\n\t"
      "jae %l[badindex]\n\t"
      "movq (%[next], %%rcx, 8), %%rdx\n\t"
      "movq %%rcx, (%[out])\n\t"
      RSEQ_X86_INJECT(3)
      "movq %%rdx, (%[head])\n"
      RSEQ_X86_EXIT
      : /* no outputs */
      : RSEQ_X86_AREA_OPERANDS, [head] "r"(head), [next] "r"(next), [count] "r"(count),
        [empty] "r"(empty), [out] "r"(out)
      : "memory", "cc", "rax", "rcx", "rdx"
      : moved, cmpfail, badindex, abort);
  return RSEQ_OP_COMMITTED;
moved:
  return RSEQ_OP_MOVED;
cmpfail:
  return RSEQ_OP_COMPARE_FAILED;
badindex:
  return RSEQ_OP_BAD_INDEX;
abort:
  return RSEQ_OP_ABORTED;
}

}  // namespace rseq_arch

#endif /* RSEQ_NATIVE_ARCH_X86_64_H */
