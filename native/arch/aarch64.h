/*
 * native/arch/aarch64.h - per-CPU critical sections for aarch64 (GCC asm goto).
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
 *      adrp x9, 3b                       enter: area->rseq_cs = &descriptor
 *      add  x9, x9, :lo12:3b
 *      str  x9, [area, #8]
 *   1:                                   start_ip
 *      ldr  w9, [area, #ID_OFFSET]       the thread's cpu_id / mm_cid is still `id`?
 *      cmp  w9, id
 *      b.ne moved
 *      ... loads and compares, b.ne cmpfail ...
 *      <commit: str, or stlr for the release variants>   last instruction
 *   2:                                   post_commit_ip
 *      b    9f                           jump over the signature and the handler
 *      .inst 0xd428bc00                  the signature (brk #0x45e0) as an instruction
 *   4: b    abort                        abort_ip = 4: the kernel checks the u32 before it
 *   9:
 *
 * The id check comes first in the section (see x86_64.h for why). The release
 * variants differ only in the commit: `stlr` instead of `str`, so the
 * speculative stores (the word at index2, the copied bytes) are visible to any
 * CPU that observes the commit with an acquire load. The plain variants give no
 * ordering beyond what the kernel's abort/migration barriers give to the CPU's
 * own data. The "memory" clobber keeps the compiler from moving accesses
 * across a section.
 *
 * Scratch registers are named clobbers (x9-x14, x15 for injection) rather than
 * asm-goto outputs, which only GCC 11+ accepts.
 */
#ifndef RSEQ_NATIVE_ARCH_AARCH64_H
#define RSEQ_NATIVE_ARCH_AARCH64_H

#include "common.h"

#if !defined(__aarch64__)
#error "native/arch/aarch64.h is for aarch64"
#endif

#define RSEQ_A64_SIG_TEXT "0xd428bc00"
static_assert(RSEQ_ABI_SIG == 0xd428bc00u, "RSEQ_A64_SIG_TEXT must match RSEQ_ABI_SIG");

#ifdef RSEQ_INJECT
/* Spin rseq_inject_loops[n] times in w15. */
#define RSEQ_A64_INJECT(n)                                             \
  "adrp x15, rseq_inject_loops\n\t"                                    \
  "ldr w15, [x15, #:lo12:rseq_inject_loops+4*" #n "]\n\t"              \
  "cbz w15, 77f\n"                                                     \
  "76:\n\t"                                                            \
  "subs w15, w15, #1\n\t"                                              \
  "b.ne 76b\n"                                                         \
  "77:\n\t"
#else
#define RSEQ_A64_INJECT(n) ""
#endif

/* The descriptor (label 3) and its pointer-array entry. */
#define RSEQ_A64_DESCRIPTOR                                            \
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
#define RSEQ_A64_ENTER                                                 \
  "adrp x9, 3b\n\t"                                                    \
  "add x9, x9, :lo12:3b\n\t"                                           \
  "str x9, [%[area], #" RSEQ_ARCH_STR(RSEQ_ARCH_RSEQ_CS) "]\n"         \
  "1:\n\t"                                                             \
  RSEQ_A64_INJECT(1)                                                   \
  "ldr w9, [%[area], #%c[idoff]]\n\t"                                  \
  "cmp w9, %w[id]\n\t"                                                 \
  "b.ne %l[moved]\n\t"                                                 \
  RSEQ_A64_INJECT(2)

/* post_commit_ip (2); the signature and the abort handler (4), jumped over. */
#define RSEQ_A64_EXIT                                                  \
  "2:\n\t"                                                             \
  "b 9f\n\t"                                                           \
  ".inst " RSEQ_A64_SIG_TEXT "\n"                                      \
  "4:\n\t"                                                             \
  "b %l[abort]\n"                                                      \
  "9:\n"

#define RSEQ_A64_AREA_OPERANDS [area] "r"(area), [id] "r"(id), [idoff] "i"(kIdOffset)
#define RSEQ_A64_CLOBBERS "memory", "cc", "x9", "x10", "x11", "x12", "x13", "x14", "x15"

namespace rseq_arch {

/*
 * add: *v += count
 *
 *   rseq_cs = &cs
 * start:
 *   if (area->id != id) goto moved
 *   t = *v + count
 *   *v = t                           commit
 * post_commit:
 */
template <unsigned kIdOffset>
static inline int op_add(volatile struct rseq_abi* area, uint32_t id, int64_t* v, int64_t count) {
  __asm__ goto(
      RSEQ_A64_DESCRIPTOR
      RSEQ_A64_ENTER
      "ldr x10, [%[v]]\n\t"
      "add x10, x10, %[count]\n\t"
      RSEQ_A64_INJECT(3)
      "str x10, [%[v]]\n"
      RSEQ_A64_EXIT
      : /* no outputs */
      : RSEQ_A64_AREA_OPERANDS, [v] "r"(v), [count] "r"(count)
      : RSEQ_A64_CLOBBERS
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
      RSEQ_A64_DESCRIPTOR
      RSEQ_A64_ENTER
      "ldr x10, [%[v]]\n\t"
      "cmp x10, %[expect]\n\t"
      "b.ne %l[cmpfail]\n\t"
      RSEQ_A64_INJECT(3)
      "str %[newv], [%[v]]\n"
      RSEQ_A64_EXIT
      : /* no outputs */
      : RSEQ_A64_AREA_OPERANDS, [v] "r"(v), [expect] "r"(expect), [newv] "r"(newv)
      : RSEQ_A64_CLOBBERS
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
      RSEQ_A64_DESCRIPTOR
      RSEQ_A64_ENTER
      "ldr x10, [%[v]]\n\t"
      "cmp x10, %[expect]\n\t"
      "b.ne %l[cmpfail]\n\t"
      "ldr x11, [%[v2]]\n\t"
      "cmp x11, %[expect2]\n\t"
      "b.ne %l[cmpfail]\n\t"
      RSEQ_A64_INJECT(3)
      "str %[newv], [%[v]]\n"
      RSEQ_A64_EXIT
      : /* no outputs */
      : RSEQ_A64_AREA_OPERANDS, [v] "r"(v), [expect] "r"(expect), [v2] "r"(v2),
        [expect2] "r"(expect2), [newv] "r"(newv)
      : RSEQ_A64_CLOBBERS
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
 *   *v = newv                        commit: str, or stlr when kRelease
 * post_commit:
 */
template <unsigned kIdOffset, bool kRelease>
static inline int op_speculative_store_commit(volatile struct rseq_abi* area, uint32_t id,
                                              int64_t* v, int64_t expect, int64_t* v2,
                                              int64_t newv2, int64_t newv) {
  if (kRelease) {
    __asm__ goto(
        RSEQ_A64_DESCRIPTOR
        RSEQ_A64_ENTER
        "ldr x10, [%[v]]\n\t"
        "cmp x10, %[expect]\n\t"
        "b.ne %l[cmpfail]\n\t"
        "str %[newv2], [%[v2]]\n\t"
        RSEQ_A64_INJECT(3)
        "stlr %[newv], [%[v]]\n"
        RSEQ_A64_EXIT
        : /* no outputs */
        : RSEQ_A64_AREA_OPERANDS, [v] "r"(v), [expect] "r"(expect), [v2] "r"(v2),
          [newv2] "r"(newv2), [newv] "r"(newv)
        : RSEQ_A64_CLOBBERS
        : moved, cmpfail, abort);
  } else {
    __asm__ goto(
        RSEQ_A64_DESCRIPTOR
        RSEQ_A64_ENTER
        "ldr x10, [%[v]]\n\t"
        "cmp x10, %[expect]\n\t"
        "b.ne %l[cmpfail]\n\t"
        "str %[newv2], [%[v2]]\n\t"
        RSEQ_A64_INJECT(3)
        "str %[newv], [%[v]]\n"
        RSEQ_A64_EXIT
        : /* no outputs */
        : RSEQ_A64_AREA_OPERANDS, [v] "r"(v), [expect] "r"(expect), [v2] "r"(v2),
          [newv2] "r"(newv2), [newv] "r"(newv)
        : RSEQ_A64_CLOBBERS
        : moved, cmpfail, abort);
  }
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
 *   *v = newv                        commit: str, or stlr when kRelease
 * post_commit:
 */
#define RSEQ_A64_COPY_BODY(commit)                                     \
  RSEQ_A64_DESCRIPTOR                                                  \
  RSEQ_A64_ENTER                                                       \
  "ldr x10, [%[v]]\n\t"                                                \
  "cmp x10, %[expect]\n\t"                                             \
  "b.ne %l[cmpfail]\n\t"                                               \
  "cbz %[len], 5f\n\t"                                                 \
  "mov x11, %[src]\n\t"                                                \
  "mov x12, %[dst]\n\t"                                                \
  "mov x13, %[len]\n\t"                                                \
  "cmp x13, #8\n\t"                                                    \
  "b.lo 7f\n"                                                          \
  "8:\n\t"                                                             \
  "ldr x14, [x11], #8\n\t"                                             \
  "str x14, [x12], #8\n\t"                                             \
  RSEQ_A64_INJECT(4)                                                   \
  "sub x13, x13, #8\n\t"                                               \
  "cmp x13, #8\n\t"                                                    \
  "b.hs 8b\n"                                                          \
  "7:\n\t"                                                             \
  "cbz x13, 5f\n"                                                      \
  "6:\n\t"                                                             \
  "ldrb w14, [x11], #1\n\t"                                            \
  "strb w14, [x12], #1\n\t"                                            \
  RSEQ_A64_INJECT(4)                                                   \
  "subs x13, x13, #1\n\t"                                              \
  "b.ne 6b\n"                                                          \
  "5:\n\t"                                                             \
  RSEQ_A64_INJECT(3)                                                   \
  commit " %[newv], [%[v]]\n"                                          \
  RSEQ_A64_EXIT

template <unsigned kIdOffset, bool kRelease>
static inline int op_copy_commit(volatile struct rseq_abi* area, uint32_t id, int64_t* v,
                                 int64_t expect, void* dst, const void* src, size_t len,
                                 int64_t newv) {
  if (kRelease) {
    __asm__ goto(
        RSEQ_A64_COPY_BODY("stlr")
        : /* no outputs */
        : RSEQ_A64_AREA_OPERANDS, [v] "r"(v), [expect] "r"(expect), [newv] "r"(newv),
          [dst] "r"(dst), [src] "r"(src), [len] "r"(len)
        : RSEQ_A64_CLOBBERS
        : moved, cmpfail, abort);
  } else {
    __asm__ goto(
        RSEQ_A64_COPY_BODY("str")
        : /* no outputs */
        : RSEQ_A64_AREA_OPERANDS, [v] "r"(v), [expect] "r"(expect), [newv] "r"(newv),
          [dst] "r"(dst), [src] "r"(src), [len] "r"(len)
        : RSEQ_A64_CLOBBERS
        : moved, cmpfail, abort);
  }
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
      RSEQ_A64_DESCRIPTOR
      RSEQ_A64_ENTER
      "ldr x10, [%[head]]\n\t"
      "cmp x10, %[empty]\n\t"
      "b.eq %l[cmpfail]\n\t"
      "cmp x10, %[count]\n\t"
      "b.hs %l[badindex]\n\t"
      "ldr x11, [%[next], x10, lsl #3]\n\t"
      "str x10, [%[out]]\n\t"
      RSEQ_A64_INJECT(3)
      "str x11, [%[head]]\n"
      RSEQ_A64_EXIT
      : /* no outputs */
      : RSEQ_A64_AREA_OPERANDS, [head] "r"(head), [next] "r"(next), [count] "r"(count),
        [empty] "r"(empty), [out] "r"(out)
      : RSEQ_A64_CLOBBERS
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

#endif /* RSEQ_NATIVE_ARCH_AARCH64_H */
