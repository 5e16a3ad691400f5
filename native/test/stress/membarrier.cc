// The membarrier test of the stress binary (see main.cc): writers increment
// per-slot counters of the active bank with double compare (counter, bank
// word); a manager flips the bank, fences (membarrier
// PRIVATE_EXPEDITED_RSEQ) and checks that the inactive bank never changes
// afterwards; totals must be exact. --membarrier-no-fence skips the fence:
// the check must then fail.
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stress.h"

namespace rseq_stress {

template <unsigned kOff>
RunResult test_membarrier(std::string* verdict, BankStats* bs) {
  int fe = fence(-1);
  if (fe != 0) {
    *verdict = std::string("skipped: membarrier RSEQ fence gives ") + strerror(fe);
    return RunResult();
  }
  int64_t* bank = static_cast<int64_t*>(xalloc(kStride * 8));
  int64_t* ctr[2];
  for (int b = 0; b < 2; ++b) ctr[b] = static_cast<int64_t*>(xalloc(static_cast<size_t>(g_slots) * kStride * 8));
  long reps = g_opt.reps;
  auto body = [&](Worker* w) {
    for (long i = 0; i < reps && !g_failed.load(std::memory_order_relaxed); ++i) {
      int s = retry<kOff>(w, [&](uint32_t id) {
        for (;;) {
          int64_t b = load(bank);
          int64_t* v = &ctr[b][id * kStride];
          int64_t c = load(v);
          int r = rseq_arch::op_double_compare_store<kOff>(w->area, id, v, c, bank, b, c + 1);
          if (r != RSEQ_OP_COMPARE_FAILED) return r;
          w->st.attempts++;
        }
      });
      if (s != RSEQ_OP_COMMITTED) {
        if (s != -1) fail("membarrier: double compare returned status " + std::to_string(s));
        return;
      }
    }
  };
  int64_t total = 0;
  std::vector<int64_t> snap(static_cast<size_t>(g_slots));
  auto manager = [&](std::vector<Worker>& workers) {
    auto all_done = [&]() {
      for (Worker& w : workers)
        if (!w.done.load(std::memory_order_acquire)) return false;
      return true;
    };
    while (!all_done() && !g_failed.load()) {
      int64_t b = load(bank);
      __atomic_store_n(bank, 1 - b, __ATOMIC_SEQ_CST);
      int e = g_opt.no_fence ? 0 : fence(-1);
      if (e != 0) {
        fail(std::string("membarrier: fence failed: ") + strerror(e));
        return;
      }
      // From here on no section may commit to bank b.
      for (int s = 0; s < g_slots; ++s) snap[s] = load(&ctr[b][static_cast<size_t>(s) * kStride]);
      struct timespec pause = {0, 200 * 1000};
      nanosleep(&pause, nullptr);
      for (int s = 0; s < g_slots; ++s) {
        int64_t* v = &ctr[b][static_cast<size_t>(s) * kStride];
        if (load(v) != snap[s]) bs->violations++;
        total += snap[s];
        store(v, 0);
      }
      bs->flips++;
    }
  };
  RunResult r = run_threads(body, manager);
  for (int b = 0; b < 2; ++b)
    for (int s = 0; s < g_slots; ++s) total += ctr[b][static_cast<size_t>(s) * kStride];
  int64_t want = static_cast<int64_t>(g_threads) * reps;
  if (bs->violations != 0) {
    *verdict = "FAIL: the inactive bank changed " + std::to_string(bs->violations) + " times";
  } else if (!g_failed.load() && total != want) {
    *verdict = "FAIL: total " + std::to_string(total) + " != " + std::to_string(want);
  }
  free(ctr[0]);
  free(ctr[1]);
  free(bank);
  return r;
}

template RunResult test_membarrier<RSEQ_ARCH_ID_CPU_ID>(std::string*, BankStats*);
template RunResult test_membarrier<RSEQ_ARCH_ID_MM_CID>(std::string*, BankStats*);

}  // namespace rseq_stress
