// native/slice.cc - see slice.h.
#include "slice.h"

#include <errno.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "errno_names.h"
#include "registration.h"

namespace rseq_native {
namespace {

SliceCall prctl_slice(unsigned long op, unsigned long arg) {
  errno = 0;
  int r = prctl(RSEQ_ABI_PR_RSEQ_SLICE_EXTENSION, op, arg, 0UL, 0UL);
  if (r < 0) return SliceCall{0, errno != 0 ? errno : EINVAL};
  return SliceCall{r, 0};
}

volatile uint8_t* request_byte(volatile rseq_abi* area) {
  return reinterpret_cast<volatile uint8_t*>(area) + RSEQ_ABI_SLICE_CTRL_OFFSET;
}

}  // namespace

SliceCall slice_get() { return prctl_slice(RSEQ_ABI_PR_RSEQ_SLICE_EXTENSION_GET, 0); }

SliceCall slice_set(bool enable) {
  return prctl_slice(RSEQ_ABI_PR_RSEQ_SLICE_EXTENSION_SET, enable ? RSEQ_ABI_PR_RSEQ_SLICE_EXT_ENABLE : 0);
}

SliceCall slice_yield() {
  errno = 0;
  long r = syscall(RSEQ_ABI_NR_RSEQ_SLICE_YIELD);
  if (r < 0) return SliceCall{0, errno != 0 ? errno : ENOSYS};
  return SliceCall{r, 0};
}

int slice_request() {
  volatile rseq_abi* area = thread_area();
  if (area == nullptr) return ENXIO;
  // A single byte store the kernel reads on an interrupt: nothing may be
  // moved across it by the compiler.
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  *request_byte(area) = 1;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  return 0;
}

int slice_end(int* yielded) {
  *yielded = 0;
  volatile rseq_abi* area = thread_area();
  if (area == nullptr) return ENXIO;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  *request_byte(area) = 0;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  uint8_t granted = request_byte(area)[1];
  if (granted == 0) return 0;
  SliceCall y = slice_yield();
  if (y.err != 0) return y.err;
  *yielded = static_cast<int>(y.value);
  return 0;
}

int slice_ctrl(uint32_t* word) {
  volatile rseq_abi* area = thread_area();
  if (area == nullptr) return ENXIO;
  *word = __atomic_load_n(&area->slice_ctrl.all, __ATOMIC_RELAXED);
  return 0;
}

const char* slice_errno_name(int err) { return err == RSEQ_ABI_ENOTSUPP ? "ENOTSUPP" : errno_name(err); }

}  // namespace rseq_native
