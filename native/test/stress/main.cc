// rseq_stress - multi-threaded stress of the per-CPU critical sections, in the
// manner of the kernel selftests' param_test: many more threads than CPUs,
// thousands of repetitions each, exact invariants checked at the end.
//
// Tests (each in both id modes: cpu_id, and mm_cid where the feature size is
// >= 28):
//   counter     add: every thread increments its slot's counter; the sum of
//               all slots must be threads x reps.
//   list        an index free list per slot: pop with list pop, push back with
//               speculative store then commit (next[i] = head; head = i); no
//               index may be lost or held by two threads at once.
//   buffer      fixed-size records per slot: push = copy the record in, then
//               commit count + 1; pop = copy the last record out, then commit
//               count - 1; every record must survive intact, exactly once.
//   membarrier  writers increment per-slot counters of the active bank with
//               double compare (counter, bank word); a manager flips the bank,
//               fences (membarrier PRIVATE_EXPEDITED_RSEQ), and checks that the
//               inactive bank never changes afterwards; totals must be exact.
//
// Built twice: rseq_stress (plain) and rseq_stress_inject (-DRSEQ_INJECT): the
// latter spins at numbered points inside every section (native/arch/common.h),
// yields between attempts, and has a thread sending SIGUSR1 to the workers; it
// FAILS unless the kernel aborted sections in every test, which proves the
// abort path runs.
//
// As the task of a kernel-matrix guest (--guest: scripts/kernel-matrix.cjs
// --payload ARCH=FILE --task '/payload --guest', run by the guest's /init,
// scripts/kernel-matrix/init.c) it runs everything (the inject build: a plain
// pass, then an injected one) and prints "RSEQ-MATRIX-RESULT {json}" per
// pass; /init reports its exit status.
//
// Sizes: threads max(12, 6 x online CPUs); reps per thread 300000 plain and
// 20000 injected (guest mode, often on an emulated CPU: 100000 and 5000), or
// --reps N for every pass. In guest mode the kernel command line can set
// RSEQ_STRESS_REPS=N and RSEQ_STRESS_THREADS=N (the kernel hands key=value
// words to /init's environment, and /init to its task).
//
// Usage: rseq_stress [--reps N] [--threads N] [--tests counter,list,...]
//                    [--modes cpu,mmcid] [--guest] [--membarrier-no-fence]
//        inject build also: [--loops N] [--copy-loops N] [--no-signals]
//                           [--no-yield] [--yield-every N] [--signal-us N] [--plain]
//
// Files (native/test/stress/): main.cc the command line, the sizes and the
// exit status; passes.cc the tests in each id mode and the report;
// counter.cc, list.cc, buffer.cc, membarrier.cc the four tests; threads.cc
// the worker threads' areas, failures and the signal thread; stress.h what
// they share (the retry loop and run_threads).
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "probe.h"
#include "stress.h"

using namespace rseq_stress;

namespace {

// --- sizes ------------------------------------------------------------------

void size_run() {
  std::vector<int> possible;
  int max_id = -1;
  if (possible_cpus(&possible) == 0 && !possible.empty()) {
    max_id = possible.back();
  } else {
    max_id = get_nprocs_conf() - 1;
  }
  if (max_id < 0) max_id = 0;
  g_slots = max_id + 1;
  int online = get_nprocs();
  if (online < 1) online = 1;
  g_threads = g_opt.threads > 0 ? g_opt.threads : (6 * online < 12 ? 12 : 6 * online);
}

// --- the command line --------------------------------------------------------

void usage() {
  fprintf(stderr,
          "usage: rseq_stress [--reps N] [--threads N] [--tests counter,list,buffer,membarrier]\n"
          "                   [--modes cpu,mmcid] [--guest] [--membarrier-no-fence]\n"
          "       inject build: [--loops N] [--copy-loops N] [--no-signals] [--no-yield]\n"
          "                     [--yield-every N] [--signal-us N] [--plain]\n");
}

std::vector<std::string> split(const char* s) {
  std::vector<std::string> out;
  std::string cur;
  for (const char* p = s;; ++p) {
    if (*p == ',' || *p == '\0') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
      if (*p == '\0') break;
    } else {
      cur += *p;
    }
  }
  return out;
}

bool parse_long(const char* s, long min, long* out) {
  char* end = nullptr;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < min) return false;
  *out = v;
  return true;
}

bool parse_args(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](long min, long* out) {
      if (i + 1 >= argc || !parse_long(argv[i + 1], min, out)) {
        fprintf(stderr, "rseq_stress: %s needs an integer >= %ld\n", a.c_str(), min);
        return false;
      }
      ++i;
      return true;
    };
    long v = 0;
    if (a == "--reps") {
      if (!value(1, &v)) return false;
      g_opt.reps_given = v;
    } else if (a == "--threads") {
      if (!value(1, &v)) return false;
      g_opt.threads = static_cast<int>(v);
    } else if (a == "--tests" && i + 1 < argc) {
      g_opt.tests = split(argv[++i]);
    } else if (a == "--modes" && i + 1 < argc) {
      g_opt.modes = split(argv[++i]);
    } else if (a == "--membarrier-no-fence") {
      g_opt.no_fence = true;
    } else if (a == "--guest") {
      g_opt.guest = true;
    } else if (kInjectBuild && a == "--loops") {
      if (!value(0, &v)) return false;
      g_opt.loops = static_cast<uint32_t>(v);
    } else if (kInjectBuild && a == "--copy-loops") {
      if (!value(0, &v)) return false;
      g_opt.copy_loops = static_cast<uint32_t>(v);
    } else if (kInjectBuild && a == "--no-signals") {
      g_opt.signals = false;
    } else if (kInjectBuild && a == "--no-yield") {
      g_opt.yield = false;
    } else if (kInjectBuild && a == "--yield-every") {
      if (!value(1, &v)) return false;
      g_opt.yield_every = static_cast<int>(v);
    } else if (kInjectBuild && a == "--signal-us") {
      if (!value(1, &v)) return false;
      g_opt.signal_us = static_cast<int>(v);
    } else if (kInjectBuild && a == "--plain") {
      g_opt.inject = false;
    } else if (a == "--help" || a == "-h") {
      usage();
      exit(0);
    } else {
      fprintf(stderr, "rseq_stress: unknown argument %s\n", a.c_str());
      usage();
      return false;
    }
  }
  return true;
}

// In guest mode the kernel's key=value words reach the environment (through
// /init): RSEQ_STRESS_REPS / RSEQ_STRESS_THREADS override the sizes.
void env_overrides() {
  long v = 0;
  if (const char* s = getenv("RSEQ_STRESS_REPS"))
    if (parse_long(s, 1, &v)) g_opt.reps_given = v;
  if (const char* s = getenv("RSEQ_STRESS_THREADS"))
    if (parse_long(s, 1, &v)) g_opt.threads = static_cast<int>(v);
}

}  // namespace

int main(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  if (!parse_args(argc, argv)) return 2;
  if (g_opt.guest) env_overrides();

  install_sigusr1();

  size_run();
  printf("rseq_stress%s: %s, kernel feature size %lu, %d slots, %d threads\n",
         kInjectBuild ? " (inject build)" : "", RSEQ_ABI_ARCH_NAME, effective_feature_size(), g_slots,
         g_threads);

  if (g_opt.guest) {
    int code = 0;
    if (kInjectBuild) {
      bool inject = g_opt.inject;
      g_opt.inject = false;
      PassResult plain = run_pass();
      print_matrix_result("plain", plain);
      if (!pass_ok(plain)) code = 1;
      if (inject) {
        g_opt.inject = true;
        PassResult inj = run_pass();
        print_matrix_result("inject", inj);
        if (!pass_ok(inj)) code = 1;
      }
    } else {
      PassResult plain = run_pass();
      print_matrix_result("plain", plain);
      if (!pass_ok(plain)) code = 1;
    }
    return code;
  }

  PassResult p = run_pass();
  int passed = 0, failed = 0;
  uint64_t aborts = 0;
  for (const TestOutcome& t : p.tests) {
    aborts += t.r.st.aborts;
    if (t.verdict == "ok" || t.verdict.rfind("skipped", 0) == 0) {
      ++passed;
    } else {
      ++failed;
    }
  }
  printf("rseq_stress: owner %s, %s, %.1f s, aborts %llu\n", g_owner,
         g_opt.inject ? "injection on" : "no injection", p.seconds, static_cast<unsigned long long>(aborts));
  // ctest's run with glibc's registration off promises the core's own area.
  const char* want_owner = getenv("RSEQ_TEST_EXPECT_OWNER");
  if (want_owner != nullptr && *want_owner != '\0' && strcmp(want_owner, g_owner) != 0) {
    printf("rseq_stress: owner %s, but RSEQ_TEST_EXPECT_OWNER=%s\n", g_owner, want_owner);
    ++failed;
  }
  printf("rseq_stress: %d passed, %d failed\n", passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}
