// The counter test of the stress binary (see main.cc): add. Every thread
// increments its slot's counter with the add section; the sum of all slots
// must be threads x reps.
#include <stdlib.h>

#include "stress.h"

namespace rseq_stress {

template <unsigned kOff>
RunResult test_counter(std::string* verdict) {
  int64_t* ctr = static_cast<int64_t*>(xalloc(static_cast<size_t>(g_slots) * kStride * 8));
  long reps = g_opt.reps;
  auto body = [&](Worker* w) {
    for (long i = 0; i < reps && !g_failed.load(std::memory_order_relaxed); ++i) {
      int s = retry<kOff>(w, [&](uint32_t id) {
        return rseq_arch::op_add<kOff>(w->area, id, &ctr[id * kStride], 1);
      });
      if (s != RSEQ_OP_COMMITTED) {
        if (s != -1) fail("counter: add returned status " + std::to_string(s));
        return;
      }
    }
  };
  RunResult r = run_threads(body, NoManager());
  int64_t sum = 0;
  for (int i = 0; i < g_slots; ++i) sum += ctr[static_cast<size_t>(i) * kStride];
  int64_t want = static_cast<int64_t>(g_threads) * reps;
  if (sum != want) {
    *verdict = "FAIL: sum " + std::to_string(sum) + " != " + std::to_string(want);
  }
  free(ctr);
  return r;
}

template RunResult test_counter<RSEQ_ARCH_ID_CPU_ID>(std::string*);
template RunResult test_counter<RSEQ_ARCH_ID_MM_CID>(std::string*);

}  // namespace rseq_stress
