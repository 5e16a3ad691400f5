/* bench/analysis/ffi-crossing.c - the C side of ffi-crossing.cjs, which
 * compiles it at run time (cc -O2 -shared -fPIC) into a temporary directory
 * and calls it through node:ffi. Nothing here is part of the package.
 *
 *   ffi_zero()               int f(void): the floor of an ffi crossing
 *   ffi_ptr(p)               int f(int64_t *): one pointer argument, one store
 *   ffi_u64(x)               int f(uint64_t): the same with the address as a u64
 *   ffi_cpu_id()             the cpu_id field of this thread's rseq area (glibc's
 *                            registration), what the addon's cpuId() reads
 *   ffi_section_add(region)  a per-CPU add in a real rseq critical section
 *                            (x86_64), taking everything from the region's memory
 *                            as the addon's bound region ops do
 *   ffi_section_add_f64(a)   the same, the region's address passed as a double
 *   ffi_section_add_args()   the same, no argument: the address is in a
 *                            thread-local block that JavaScript writes
 *
 * The region of the section functions is 64-bit words: word 0 the amount,
 * word 1 the slots, then slot s's word at 8 + 8 * s (one 64-byte line per
 * slot). They return 0, 6 (the CPU is past the slots, REGION_BAD_ID) or 7
 * (aborted 16 times in a row, REGION_RETRY), -1 when the thread has no rseq
 * area, -2 on an architecture without the section.
 *
 * Never dlclose this library once a section has run: the thread's rseq area
 * keeps pointing at the last section's descriptor (rseq_cs, in this
 * library's data), and the kernel reads it at the next preemption or signal;
 * unmapped, the thread gets a SIGSEGV.
 */
#include <stddef.h>
#include <stdint.h>

/* glibc >= 2.35 registers rseq for every thread and exports where the area is
 * (thread pointer + __rseq_offset); weak, so that this builds on older libcs. */
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));

struct rseq_area {
  uint32_t cpu_id_start;
  uint32_t cpu_id;
  uint64_t rseq_cs;
  uint32_t flags;
};

static volatile int sink;

int ffi_zero(void) { return 0; }

int ffi_ptr(int64_t *p) {
  *p += 1;
  return 0;
}

int ffi_u64(uint64_t x) {
  *(int64_t *)(uintptr_t)x += 1;
  return 0;
}

static struct rseq_area *area(void) {
  if (&__rseq_offset == NULL || &__rseq_size == NULL || __rseq_size == 0) return NULL;
  char *tp;
#if defined(__x86_64__)
  __asm__("movq %%fs:0, %0" : "=r"(tp));
#else
  tp = (char *)__builtin_thread_pointer();
#endif
  return (struct rseq_area *)(tp + __rseq_offset);
}

int ffi_cpu_id(void) {
  struct rseq_area *rs = area();
  return rs == NULL ? -1 : (int)*(volatile uint32_t *)&rs->cpu_id;
}

static int section_add(int64_t *region) {
  struct rseq_area *rs = area();
  if (rs == NULL) return -1;
#if defined(__x86_64__)
  int64_t n = region[0];
  uint64_t slots = (uint64_t)region[1];
  for (int attempt = 0; attempt < 16; attempt++) {
    uint32_t cpu = *(volatile uint32_t *)&rs->cpu_id_start;
    if (cpu >= slots) return 6;
    int64_t *word = region + 8 + 8 * (size_t)cpu;
    /* The section: publish the descriptor, check that the thread is still on
     * `cpu`, commit with one add. The abort handler sits in its own section
     * after the signature (RSEQ_SIG, glibc's on x86_64) that the kernel checks. */
    __asm__ goto(
        ".pushsection __rseq_cs, \"aw\"\n\t"
        ".balign 32\n\t"
        "3:\n\t"
        ".long 0x0, 0x0\n\t"
        ".quad 1f, (2f - 1f), 4f\n\t"
        ".popsection\n\t"
        "leaq 3b(%%rip), %%rax\n\t"
        "movq %%rax, %[cs]\n\t"
        "1:\n\t"
        "cmpl %[cpu], %[cpu_id]\n\t"
        "jnz %l[aborted]\n\t"
        "addq %[n], (%[word])\n\t"
        "2:\n\t"
        ".pushsection __rseq_failure, \"ax\"\n\t"
        ".byte 0x0f, 0xb9, 0x3d\n\t"
        ".long 0x53053053\n\t"
        "4:\n\t"
        "jmp %l[aborted]\n\t"
        ".popsection\n\t"
        :
        : [cs] "m"(rs->rseq_cs), [cpu_id] "m"(rs->cpu_id), [cpu] "r"(cpu), [word] "r"(word), [n] "r"(n)
        : "memory", "cc", "rax"
        : aborted);
    return 0;
  aborted:
    sink = attempt;
  }
  return 7;
#else
  (void)region;
  return -2; /* no section on this architecture: the script skips the rows */
#endif
}

int ffi_section_add(int64_t *region) { return section_add(region); }

/* The address as a double: node:ffi passes f64 arguments without its
 * JavaScript wrapper (integer and pointer arguments go through one that
 * validates them). User-space addresses are below 2^53, so exact. */
int ffi_section_add_f64(double region) { return section_add((int64_t *)(uintptr_t)region); }

/* No argument: the region's address is in this thread's argument block, which
 * JavaScript writes through a view of it (ffi.toArrayBuffer of
 * ffi_args_address()), as the addon's bound region ops read theirs from
 * region.args. (initial-exec: no __tls_get_addr call; glibc keeps static TLS
 * for libraries loaded later, and 64 bytes fit.) */
static __thread int64_t args[8] __attribute__((tls_model("initial-exec")));
uint64_t ffi_args_address(void) { return (uint64_t)(uintptr_t)args; }
int ffi_section_add_args(void) { return section_add((int64_t *)(uintptr_t)args[0]); }
