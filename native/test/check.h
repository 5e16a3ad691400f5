// native/test/check.h - a tiny assertion helper for the native tests.
//
// CHECK(cond) and CHECK_EQ(a, b) record a failure (with file, line and the
// values) and carry on; finish() prints a summary and gives main()'s exit code.
// A test binary that made no check at all fails: every test must assert.
#ifndef RSEQ_NATIVE_TEST_CHECK_H
#define RSEQ_NATIVE_TEST_CHECK_H

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atomic>

namespace rseq_test {

inline std::atomic<long> g_checks{0};
inline std::atomic<long> g_failures{0};

inline bool check(bool ok, const char* expr, const char* file, int line) {
  g_checks.fetch_add(1);
  if (!ok) {
    g_failures.fetch_add(1);
    fprintf(stderr, "%s:%d: CHECK failed: %s\n", file, line, expr);
  }
  return ok;
}

inline bool check_eq(long long a, long long b, const char* ea, const char* eb, const char* file,
                     int line) {
  g_checks.fetch_add(1);
  if (a != b) {
    g_failures.fetch_add(1);
    fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%lld vs %lld)\n", file, line, ea, eb, a, b);
    return false;
  }
  return true;
}

inline bool check_streq(const char* a, const char* b, const char* ea, const char* eb,
                        const char* file, int line) {
  g_checks.fetch_add(1);
  bool ok = a != nullptr && b != nullptr && strcmp(a, b) == 0;
  if (!ok) {
    g_failures.fetch_add(1);
    fprintf(stderr, "%s:%d: CHECK_STREQ failed: %s == %s (\"%s\" vs \"%s\")\n", file, line, ea, eb,
            a ? a : "(null)", b ? b : "(null)");
  }
  return ok;
}

// Runs one named section of a test binary.
#define RSEQ_SECTION(name) fprintf(stderr, "-- %s\n", name)

inline int finish(const char* binary) {
  long checks = g_checks.load();
  long failures = g_failures.load();
  if (checks == 0) {
    fprintf(stderr, "%s: no checks ran\n", binary);
    return 1;
  }
  printf("%s: %ld checks, %ld failed\n", binary, checks, failures);
  return failures == 0 ? 0 : 1;
}

// The owner the test environment promises (RSEQ_TEST_EXPECT_OWNER=addon|libc),
// or nullptr when the test should work it out itself.
inline const char* expected_owner_env() {
  const char* v = getenv("RSEQ_TEST_EXPECT_OWNER");
  return (v != nullptr && *v != '\0') ? v : nullptr;
}

// Pins the calling thread to the CPU it runs on (so that a structure's
// operations stay on one slot), keeping its affinity in *saved for
// unpin(). False when the kernel refused.
inline bool pin_to_current_cpu(cpu_set_t* saved) {
  if (sched_getaffinity(0, sizeof *saved, saved) != 0) return false;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(sched_getcpu(), &one);
  return sched_setaffinity(0, sizeof one, &one) == 0;
}

inline bool unpin(const cpu_set_t& saved) { return sched_setaffinity(0, sizeof saved, &saved) == 0; }

}  // namespace rseq_test

#define CHECK(cond) ::rseq_test::check(static_cast<bool>(cond), #cond, __FILE__, __LINE__)
#define CHECK_EQ(a, b)                                                                          \
  ::rseq_test::check_eq(static_cast<long long>(a), static_cast<long long>(b), #a, #b, __FILE__, \
                        __LINE__)
#define CHECK_STREQ(a, b) ::rseq_test::check_streq((a), (b), #a, #b, __FILE__, __LINE__)

#endif  // RSEQ_NATIVE_TEST_CHECK_H
