/*
 * smoke.c - the kernel matrix's smoke task (node scripts/kernel-matrix.cjs
 * --smoke): a small rseq check that the guest's /init (init.c) runs.
 *
 * Built static (gcc -static / aarch64-linux-gnu-gcc -static) so the initramfs
 * needs no libraries. It:
 *   1. checks that /init mounted /proc and /sys,
 *   2. reads AT_RSEQ_FEATURE_SIZE (27) and AT_RSEQ_ALIGN (28) from the auxv
 *      (both 0 before Linux 6.3),
 *   3. finds the thread's rseq area: glibc >= 2.35 registers it at start-up
 *      (__rseq_size != 0, area at thread pointer + __rseq_offset); otherwise
 *      registers its own 32-byte, 32-aligned area with the syscall,
 *   4. pins itself to every allowed CPU in turn and checks that the kernel
 *      wrote cpu_id_start == cpu_id == sched_getcpu(),
 *   5. prints one "RSEQ-MATRIX-RESULT {json}" line and exits 0 when all of
 *      it held (/init then prints DONE and powers the machine off).
 *
 * Booting with GLIBC_TUNABLES=glibc.pthread.rseq=0 on the kernel command line
 * (the kernel passes it to init's environment, and init to this task)
 * exercises the "self" path. It also runs by hand, on the host.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/rseq.h> /* glibc >= 2.35: __rseq_offset, __rseq_size */
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#if defined(__x86_64__)
#define SMOKE_RSEQ_NR 334
#define SMOKE_RSEQ_SIG 0x53053053u
#elif defined(__aarch64__)
#define SMOKE_RSEQ_NR 293
#define SMOKE_RSEQ_SIG 0xd428bc00u
#else
#error "smoke.c supports x86_64 and aarch64 only"
#endif

#ifndef AT_RSEQ_FEATURE_SIZE
#define AT_RSEQ_FEATURE_SIZE 27
#endif
#ifndef AT_RSEQ_ALIGN
#define AT_RSEQ_ALIGN 28
#endif

/* The original ABI layout (32 bytes); later fields are not needed here. */
struct smoke_rseq {
  uint32_t cpu_id_start;
  uint32_t cpu_id;
  uint64_t rseq_cs;
  uint32_t flags;
  uint32_t node_id;
  uint32_t mm_cid;
  uint32_t pad;
} __attribute__((aligned(32)));

static struct smoke_rseq own_area;

static void *thread_pointer(void) {
  void *tp;
#if defined(__x86_64__)
  /* On x86_64 the TCB's first word points to itself. */
  __asm__ volatile("mov %%fs:0, %0" : "=r"(tp));
#else
  __asm__ volatile("mrs %0, tpidr_el0" : "=r"(tp));
#endif
  return tp;
}

/* /init mounted /proc and /sys: a file of each is readable. */
static int mounted(const char *file) {
  if (access(file, R_OK) == 0) return 1;
  fprintf(stderr, "smoke: %s: %s (is /proc or /sys mounted?)\n", file, strerror(errno));
  return 0;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  int mounts = mounted("/proc/self/auxv") & mounted("/sys/devices/system/cpu/online");

  struct utsname un;
  uname(&un);
  unsigned long feature_size = getauxval(AT_RSEQ_FEATURE_SIZE);
  unsigned long align = getauxval(AT_RSEQ_ALIGN);

  /* rseq(NULL, 0, 0, 0): EINVAL where the syscall exists, ENOSYS where not. */
  long probe = syscall(SMOKE_RSEQ_NR, NULL, 0, 0, 0);
  int probe_errno = probe == -1 ? errno : 0;

  volatile struct smoke_rseq *area;
  const char *owner;
  int reg_errno = 0;
  if (__rseq_size > 0) {
    area = (volatile struct smoke_rseq *)((char *)thread_pointer() + __rseq_offset);
    owner = "libc";
  } else {
    area = &own_area;
    owner = "self";
    if (syscall(SMOKE_RSEQ_NR, &own_area, (unsigned)sizeof own_area, 0, SMOKE_RSEQ_SIG) != 0) {
      reg_errno = errno;
      printf("RSEQ-MATRIX-RESULT {\"release\":\"%s\",\"featureSize\":%lu,\"align\":%lu,"
             "\"owner\":\"none\",\"regErrno\":%d,\"cpuIdOk\":false}\n",
             un.release, feature_size, align, reg_errno);
      return 1;
    }
  }

  /* Visit every CPU we are allowed on; the kernel must update the area on
   * return to user space after each migration. */
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  sched_getaffinity(0, sizeof allowed, &allowed);
  int cpus = 0, ok = 1, bad_cpu = -1;
  for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
    if (!CPU_ISSET(cpu, &allowed)) continue;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (sched_setaffinity(0, sizeof one, &one) != 0) { ok = 0; bad_cpu = cpu; break; }
    cpus++;
    int now = sched_getcpu();
    uint32_t id = area->cpu_id, start = area->cpu_id_start;
    if (now != cpu || id != (uint32_t)cpu || start != (uint32_t)cpu) {
      fprintf(stderr, "smoke: cpu %d: sched_getcpu %d cpu_id %u cpu_id_start %u\n",
              cpu, now, id, start);
      ok = 0;
      bad_cpu = cpu;
    }
  }
  sched_setaffinity(0, sizeof allowed, &allowed);

  printf("RSEQ-MATRIX-RESULT {\"release\":\"%s\",\"featureSize\":%lu,\"align\":%lu,"
         "\"probeErrno\":%d,\"libcRseqSize\":%u,\"owner\":\"%s\",\"cpus\":%d,"
         "\"cpuIdOk\":%s%s}\n",
         un.release, feature_size, align, probe_errno, (unsigned)__rseq_size, owner, cpus,
         ok ? "true" : "false", mounts ? "" : ",\"mounts\":false");
  if (!ok) fprintf(stderr, "smoke: cpu_id check failed on cpu %d\n", bad_cpu);
  return ok && cpus > 0 && mounts && probe_errno == EINVAL ? 0 : 1;
}
