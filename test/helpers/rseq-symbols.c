/* Prints glibc's rseq exports and the thread's area as JSON, independently of
 * the package: the reference the probe is checked against. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <sys/rseq.h>

int main(void) {
  const struct rseq *area = (const struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
  int registered = __rseq_size > 0 && (int)area->cpu_id >= 0;
  printf("{\"rseqOffset\":%td,\"rseqSize\":%u,\"rseqFlags\":%u,\"registered\":%s,\"cpuId\":%d,\"schedGetcpu\":%d}\n",
         __rseq_offset, __rseq_size, __rseq_flags, registered ? "true" : "false", (int)area->cpu_id, sched_getcpu());
  return 0;
}
