// The time-slice extension calls (native/slice.h) against the running kernel.
// Before Linux 7.0 the kernel knows neither the prctl option (EINVAL) nor
// syscall 471 (ENOSYS): the test asserts exactly those answers there, and on
// 7.0+ the answers the ABI allows. The request/end pair works on the calling
// thread's area whoever registered it; without a registration it is ENXIO.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/utsname.h>

#include "abi.h"
#include "check.h"
#include "registration.h"
#include "slice.h"

using namespace rseq_native;

namespace {

// The running kernel's major.minor as major * 1000 + minor; 0 when unknown.
int kernel_version() {
  struct utsname u;
  if (uname(&u) != 0) return 0;
  int major = 0, minor = 0;
  if (sscanf(u.release, "%d.%d", &major, &minor) != 2) return 0;
  return major * 1000 + minor;
}

void test_names() {
  RSEQ_SECTION("errno names");
  CHECK_STREQ(slice_errno_name(RSEQ_ABI_ENOTSUPP), "ENOTSUPP");
  CHECK_STREQ(slice_errno_name(EINVAL), "EINVAL");
  CHECK_STREQ(slice_errno_name(ENOSYS), "ENOSYS");
  CHECK_EQ(RSEQ_ABI_PR_RSEQ_SLICE_EXTENSION, 79);
  CHECK_EQ(RSEQ_ABI_NR_RSEQ_SLICE_YIELD, 471);
}

void test_kernel_answers(int version) {
  RSEQ_SECTION("prctl(PR_RSEQ_SLICE_EXTENSION) and rseq_slice_yield()");
  SliceCall get = slice_get();
  SliceCall on = slice_set(true);
  SliceCall off = slice_set(false);
  SliceCall yield = slice_yield();
  fprintf(stderr, "   kernel %d.%d: GET %s (%ld), SET %s, SET 0 %s, yield %s (%ld)\n", version / 1000,
          version % 1000, get.err ? slice_errno_name(get.err) : "ok", get.value, on.err ? slice_errno_name(on.err) : "ok",
          off.err ? slice_errno_name(off.err) : "ok", yield.err ? slice_errno_name(yield.err) : "ok", yield.value);
  if (version != 0 && version < 7000) {
    // No time-slice extension: exactly these errnos, nothing else.
    CHECK_STREQ(slice_errno_name(get.err), "EINVAL");
    CHECK_STREQ(slice_errno_name(on.err), "EINVAL");
    CHECK_STREQ(slice_errno_name(off.err), "EINVAL");
    CHECK_STREQ(slice_errno_name(yield.err), "ENOSYS");
  } else {
    // 7.0+: the syscall exists and answers 0 without a grant; the prctl
    // succeeds or names why not (disabled at boot, no rseq area).
    CHECK_EQ(yield.err, 0);
    CHECK_EQ(yield.value, 0);
    CHECK(get.err == 0 || get.err == RSEQ_ABI_ENOTSUPP || get.err == ENXIO);
    if (on.err == 0) {
      CHECK_EQ(slice_get().value, RSEQ_ABI_PR_RSEQ_SLICE_EXT_ENABLE);
      CHECK_EQ(off.err, 0);
      CHECK_EQ(slice_get().value, 0);
    }
  }
}

void test_request_end() {
  RSEQ_SECTION("request and end on the thread's area");
  uint32_t word = 0;
  int yielded = -1;
  CHECK_EQ(slice_request(), ENXIO);  // no reference held yet
  CHECK_EQ(slice_end(&yielded), ENXIO);
  CHECK_EQ(slice_ctrl(&word), ENXIO);
  Registration r = acquire();
  CHECK_EQ(r.err, 0);
  if (r.err != 0) return;
  CHECK_EQ(slice_ctrl(&word), 0);
  CHECK_EQ(word, 0u);
  CHECK_EQ(slice_request(), 0);
  CHECK_EQ(slice_ctrl(&word), 0);
  CHECK_EQ(word & 0xff, 1u);  // request, as user space wrote it
  CHECK_EQ(slice_end(&yielded), 0);
  CHECK_EQ(yielded, 0);  // nothing was granted: the extension is not enabled
  CHECK_EQ(slice_ctrl(&word), 0);
  CHECK_EQ(word, 0u);
  CHECK_EQ(release(), 0u);
}

}  // namespace

int main() {
  int version = kernel_version();
  test_names();
  test_kernel_answers(version);
  test_request_end();
  return rseq_test::finish("test_slice");
}
