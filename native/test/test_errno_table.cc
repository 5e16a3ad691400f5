// The errno table: the 18 ERRNO_CASES on a fresh thread, with the answers the
// kernel gives for the thread's owner (libc, or nobody under
// GLIBC_TUNABLES=glibc.pthread.rseq=0).
#include <errno.h>
#include <string.h>

#include "abi.h"
#include "check.h"
#include "errno_names.h"
#include "errno_table.h"
#include "registration.h"

using namespace rseq_native;

static const char* const kNames[] = {
    "probe-null",
    "register-bad-flags",
    "register-len-31",
    "register-misaligned",
    "register-bad-address",
    "unregister-not-registered",
    "register",
    "register-again-same",
    "register-again-other-signature",
    "register-again-other-area",
    "register-again-other-length",
    "unregister-extra-flags",
    "unregister-other-area",
    "unregister-other-length",
    "unregister-wrong-signature",
    "unregister",
    "register-len-64",
    "unregister-len-64",
};

static void check_table(bool expect_libc) {
  DebugCounts before = debug_counts();
  ErrnoTableResult t = run_errno_table();
  CHECK_EQ(t.err, 0);
  CHECK_STREQ(t.op, "");
  CHECK_EQ(t.signature, RSEQ_ABI_SIG);
  CHECK_EQ(t.libc_owned_at_start, expect_libc);
  CHECK_EQ(sizeof kNames / sizeof kNames[0], kErrnoCaseCount);
  for (size_t i = 0; i < kErrnoCaseCount; ++i) {
    const ErrnoCaseResult& c = t.cases[i];
    CHECK_STREQ(c.name, kNames[i]);
    CHECK_STREQ(kErrnoCaseNames[i], kNames[i]);
    int want = expected_errno(i, t.libc_owned_at_start);
    if (!CHECK_EQ(c.err, want)) {
      fprintf(stderr, "   case %s: got %s, expected %s\n", c.name, errno_name(c.err), errno_name(want));
    }
    CHECK_EQ(c.ret, want == 0 ? 0 : -1);
    fprintf(stderr, "   %-32s ret=%d errno=%s\n", c.name, c.ret, errno_name(c.err));
  }
  // The sequence ends with everything unregistered, so the runner had nothing to undo.
  CHECK(!t.cleanup_needed);
  // The table does not touch the core's registrations.
  DebugCounts after = debug_counts();
  CHECK_EQ(after.registrations, before.registrations);
  CHECK_EQ(after.areas, before.areas);
  CHECK_EQ(after.threads, before.threads);
}

int main() {
  // A fresh thread is registered by glibc exactly when the main thread is.
  bool libc = libc_area() != nullptr;
  const char* env = rseq_test::expected_owner_env();
  if (env != nullptr) CHECK_EQ(libc, strcmp(env, "libc") == 0);
  fprintf(stderr, "expected owner at start: %s\n", libc ? "libc" : "none");

  RSEQ_SECTION("errno table");
  check_table(libc);
  RSEQ_SECTION("errno table again (repeatable)");
  check_table(libc);

  // With a reference held by the calling thread the scratch thread is still fresh.
  RSEQ_SECTION("errno table while the calling thread holds a registration");
  Registration r = acquire();
  CHECK(r.owner != Owner::None);
  check_table(libc);
  CHECK_EQ(release(), 0);

  // The expectations themselves follow kernel/rseq.c.
  CHECK_EQ(expected_errno(4, false), EFAULT);
  CHECK_EQ(expected_errno(7, false), EBUSY);
  CHECK_EQ(expected_errno(8, false), EPERM);
  CHECK_EQ(expected_errno(14, false), EPERM);
  CHECK_EQ(expected_errno(4, true), EINVAL);
  CHECK_EQ(expected_errno(kErrnoCaseCount, false), -1);
  return rseq_test::finish("test_errno_table");
}
