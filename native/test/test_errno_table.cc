// The errno table: the 18 ERRNO_CASES on a fresh thread, with the answers the
// kernel gives for the thread's owner (libc, or nobody under
// GLIBC_TUNABLES=glibc.pthread.rseq=0).
//
// The expected answers are not written here: they depend on the kernel
// release (4.18-6.2 refuse a 64-byte registration, 4.18 ignored extra flags
// on unregister, ...). scripts/native-tests.cjs takes them from the
// simulator's profile of the running kernel (src/errno-check.ts) and passes
// them in the environment, one errno name (or 0) per case in ERRNO_CASES
// order, comma-separated:
//   RSEQ_TEST_ERRNO_LIBC     a scratch thread that libc registered
//   RSEQ_TEST_ERRNO_NONE     a scratch thread nobody registered
//   RSEQ_TEST_ERRNO_PROFILE  which profile they come from (printed)
// Without them the test fails: run it through `npm run test:native`.
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <string>
#include <vector>

#include "abi.h"
#include "check.h"
#include "errno_names.h"
#include "errno_table.h"
#include "registration.h"

using namespace rseq_native;

// The case names in order: ERRNO_CASES of src/contract/abi.ts.
#define RSEQ_TEST_CASE_NAME(name) name,
static const char* const kNames[] = {RSEQ_TABLE_ERRNO_CASES(RSEQ_TEST_CASE_NAME)};
#undef RSEQ_TEST_CASE_NAME

// The expectation for a scratch thread registered by libc (`libc`) or by
// nobody; false (with a message) when the environment does not give one.
static bool expected_table(bool libc, std::vector<int>* out) {
  const char* var = libc ? "RSEQ_TEST_ERRNO_LIBC" : "RSEQ_TEST_ERRNO_NONE";
  const char* v = getenv(var);
  if (v == nullptr || *v == '\0') {
    fprintf(stderr, "%s is not set: the expected errno table comes from the simulator's profile of this kernel; run the native tests through `npm run test:native`\n", var);
    return false;
  }
  out->clear();
  std::string s(v);
  size_t start = 0;
  for (;;) {
    size_t comma = s.find(',', start);
    std::string name = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    int e = name == "0" ? 0 : errno_from_name(name.c_str());
    if (e < 0) {
      fprintf(stderr, "%s: unknown errno name \"%s\"\n", var, name.c_str());
      return false;
    }
    out->push_back(e);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (out->size() != kErrnoCaseCount) {
    fprintf(stderr, "%s has %zu entries, not %zu\n", var, out->size(), kErrnoCaseCount);
    return false;
  }
  return true;
}

static void check_table(bool expect_libc) {
  std::vector<int> expected;
  if (!CHECK(expected_table(expect_libc, &expected))) return;
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
    int want = expected[i];
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
  const char* profile = getenv("RSEQ_TEST_ERRNO_PROFILE");
  fprintf(stderr, "expected answers: %s\n", profile != nullptr ? profile : "(RSEQ_TEST_ERRNO_PROFILE not set)");

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
  return rseq_test::finish("test_errno_table");
}
