// The stress binary's passes (see main.cc): every chosen test in each id
// mode (cpu_id, and mm_cid where the kernel has it), one line per test,
// the verdicts, and the RSEQ-MATRIX-RESULT line of a pass in guest mode.
#include <stdio.h>
#include <sys/utsname.h>

#include "auxv.h"
#include "probe.h"
#include "stress.h"

namespace rseq_stress {

namespace {

bool has(const std::vector<std::string>& v, const char* s) {
  for (const std::string& x : v)
    if (x == s) return true;
  return false;
}

template <unsigned kOff>
void run_mode(const char* mode, std::vector<TestOutcome>* out) {
  struct Entry {
    const char* name;
    RunResult (*fn)(std::string*);
  };
  auto membarrier_fn = [](std::string* v) {
    BankStats bs;
    RunResult r = test_membarrier<kOff>(v, &bs);
    if (r.seconds > 0) printf("   membarrier: %llu bank flips\n", static_cast<unsigned long long>(bs.flips));
    return r;
  };
  const Entry entries[] = {
      {"counter", test_counter<kOff>},
      {"list", test_list<kOff>},
      {"buffer", test_buffer<kOff>},
      {"membarrier", membarrier_fn},
  };
  for (const Entry& e : entries) {
    if (!has(g_opt.tests, e.name)) continue;
    clear_failure();
    TestOutcome t;
    t.name = e.name;
    t.mode = mode;
    std::string verdict;
    t.r = e.fn(&verdict);
    if (g_failed.load()) verdict = "FAIL: " + failure();
    bool skipped = verdict.rfind("skipped", 0) == 0;
    if (verdict.empty() && g_opt.inject && t.r.st.aborts == 0) {
      verdict = "FAIL: injection produced no aborts (the abort path never ran)";
    }
    t.verdict = verdict.empty() ? "ok" : verdict;
    const char* tag = t.verdict == "ok" ? "ok" : skipped ? "skip" : "FAIL";
    printf("[%s] %-10s %-4s %d threads x %ld reps, %.2f s, attempts %llu, aborts %llu, moved %llu, "
           "empty %llu, yields %llu, signals %llu\n",
           mode, e.name, tag, g_threads, g_opt.reps, t.r.seconds,
           static_cast<unsigned long long>(t.r.st.attempts), static_cast<unsigned long long>(t.r.st.aborts),
           static_cast<unsigned long long>(t.r.st.moved), static_cast<unsigned long long>(t.r.st.empty),
           static_cast<unsigned long long>(t.r.st.yields), static_cast<unsigned long long>(t.r.signals));
    if (t.verdict != "ok") printf("[%s] %s: %s\n", mode, e.name, t.verdict.c_str());
    fflush(stdout);
    out->push_back(t);
  }
}

void set_inject_loops(uint32_t loops, uint32_t copy_loops) {
#ifdef RSEQ_INJECT
  rseq_inject_loops[1] = loops;
  rseq_inject_loops[2] = loops;
  rseq_inject_loops[3] = loops;
  rseq_inject_loops[4] = copy_loops;
#else
  (void)loops;
  (void)copy_loops;
#endif
}

long default_reps(bool inject, bool guest) {
  if (inject) return guest ? 5000 : 20000;
  return guest ? 100000 : 300000;
}

}  // namespace

PassResult run_pass() {
  PassResult p;
  g_opt.reps = g_opt.reps_given > 0 ? g_opt.reps_given : default_reps(g_opt.inject, g_opt.guest);
  double t0 = now_seconds();
  set_inject_loops(g_opt.inject ? g_opt.loops : 0, g_opt.inject ? g_opt.copy_loops : 0);
  if (has(g_opt.modes, "cpu")) run_mode<RSEQ_ARCH_ID_CPU_ID>("cpu_id", &p.tests);
  if (has(g_opt.modes, "mmcid")) {
    if (mode_available(IdMode::MmCid)) {
      p.mmcid = true;
      run_mode<RSEQ_ARCH_ID_MM_CID>("mm_cid", &p.tests);
    } else {
      printf("[mm_cid] skipped: feature size %lu < 28\n", effective_feature_size());
    }
  }
  p.seconds = now_seconds() - t0;
  return p;
}

bool pass_ok(const PassResult& p) {
  for (const TestOutcome& t : p.tests)
    if (t.verdict != "ok" && t.verdict.rfind("skipped", 0) != 0) return false;
  return true;
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    o += c;
  }
  return o;
}

// One RSEQ-MATRIX-RESULT line for a pass: per test "ok" when every mode that
// ran passed, else the first failure; aborts/moved summed over all tests.
void print_matrix_result(const char* pass, const PassResult& p) {
  struct utsname u;
  std::string release = uname(&u) == 0 ? u.release : "?";
  uint64_t aborts = 0, moved = 0;
  std::string line = "{\"pass\":\"" + std::string(pass) + "\",\"release\":\"" + json_escape(release) +
                     "\",\"featureSize\":" + std::to_string(auxv_get(AT_RSEQ_FEATURE_SIZE)) +
                     ",\"owner\":\"" + g_owner + "\",\"threads\":" + std::to_string(g_threads) +
                     ",\"reps\":" + std::to_string(g_opt.reps);
  for (const char* name : {"counter", "list", "buffer", "membarrier"}) {
    std::string v;
    for (const TestOutcome& t : p.tests) {
      if (t.name != name) continue;
      if (t.verdict != "ok" && (v.empty() || v == "ok")) v = t.mode + ": " + t.verdict;
      if (v.empty()) v = "ok";
    }
    if (!v.empty()) line += ",\"" + std::string(name) + "\":\"" + json_escape(v) + "\"";
  }
  for (const TestOutcome& t : p.tests) {
    aborts += t.r.st.aborts;
    moved += t.r.st.moved;
  }
  char secs[32];
  snprintf(secs, sizeof secs, "%.1f", p.seconds);
  line += ",\"mmcid\":\"" + std::string(p.mmcid ? "ran" : "skipped") + "\",\"aborts\":" + std::to_string(aborts) +
          ",\"moved\":" + std::to_string(moved) + ",\"seconds\":" + secs + "}";
  printf("RSEQ-MATRIX-RESULT %s\n", line.c_str());
  fflush(stdout);
}

}  // namespace rseq_stress
