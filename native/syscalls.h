// native/syscalls.h - raw rseq(2) and membarrier(2) calls.
//
// glibc has no wrappers for either; syscall(2) returns -1 and sets errno on
// failure. Kept as inline functions so every part of the core and the tests
// issue exactly the same call.
#ifndef RSEQ_NATIVE_SYSCALLS_H
#define RSEQ_NATIVE_SYSCALLS_H

#include <stdint.h>
#include <unistd.h>

#include "abi.h"

namespace rseq_native {

// rseq(area, len, flags, sig): 0 or -1 with errno.
inline int sys_rseq(const volatile void* area, uint32_t len, int flags, uint32_t sig) {
  return static_cast<int>(syscall(RSEQ_ABI_NR_RSEQ, area, len, flags, sig));
}

// membarrier(cmd, flags, cpu_id): >= 0 or -1 with errno.
inline long sys_membarrier(int cmd, unsigned int flags, int cpu_id) {
  return syscall(RSEQ_ABI_NR_MEMBARRIER, cmd, flags, cpu_id);
}

}  // namespace rseq_native

#endif  // RSEQ_NATIVE_SYSCALLS_H
