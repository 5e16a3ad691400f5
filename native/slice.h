// native/slice.h - the time-slice extension of Linux 7.0, for the calling thread.
//
// A thread enables it once with prctl(PR_RSEQ_SLICE_EXTENSION, SET, ENABLE);
// then, around a short region, it sets slice_ctrl.request in its rseq area.
// On an interrupt that would reschedule it, the kernel may instead clear
// request and set slice_ctrl.granted, giving the thread a few microseconds
// more; leaving the region the thread clears request and, if granted is set,
// calls rseq_slice_yield() (syscall 471) at once. Any other syscall during a
// grant revokes it.
//
// Nothing here aborts: every failure is an errno. On kernels before 7.0 the
// prctl answers EINVAL and the syscall ENOSYS.
#ifndef RSEQ_NATIVE_SLICE_H
#define RSEQ_NATIVE_SLICE_H

#include <stdint.h>

#include "abi.h"

namespace rseq_native {

// The outcome of one call: `value` (>= 0) when err is 0.
struct SliceCall {
  long value;
  int err;
};

// prctl(PR_RSEQ_SLICE_EXTENSION, PR_RSEQ_SLICE_EXTENSION_GET, 0, 0, 0):
// PR_RSEQ_SLICE_EXT_ENABLE when enabled for the calling thread, else 0.
SliceCall slice_get();

// prctl(PR_RSEQ_SLICE_EXTENSION, PR_RSEQ_SLICE_EXTENSION_SET, enable ? ENABLE : 0, 0, 0).
SliceCall slice_set(bool enable);

// rseq_slice_yield(): 1 when a grant was still active, else 0.
SliceCall slice_yield();

// slice_ctrl.request = 1 in the calling thread's area. ENXIO when the thread
// holds no registration.
int slice_request();

// Leaves the region: slice_ctrl.request = 0, then rseq_slice_yield() when the
// kernel granted an extension. *yielded is what the yield answered (0 when
// nothing was granted). 0, ENXIO (no registration), or the yield's errno.
int slice_end(int* yielded);

// The calling thread's slice_ctrl word (request in the low byte, granted in
// the next). 0 or ENXIO.
int slice_ctrl(uint32_t* word);

// The errno's name, knowing the kernel-internal ENOTSUPP (524) that the
// prctl leaks to user space.
const char* slice_errno_name(int err);

}  // namespace rseq_native

#endif  // RSEQ_NATIVE_SLICE_H
