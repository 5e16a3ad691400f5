// The list test of the stress binary (see main.cc): an index free list per
// slot, popped with list pop and pushed back with speculative store then
// commit (next[i] = head; head = i, half of them with a store-release
// commit); no index may be lost or held by two threads at once.
#include <stdlib.h>

#include "stress.h"

namespace rseq_stress {

template <unsigned kOff>
RunResult test_list(std::string* verdict) {
  const size_t items = static_cast<size_t>(2 * g_threads + g_slots);
  int64_t* heads = static_cast<int64_t*>(xalloc(static_cast<size_t>(g_slots) * kStride * 8));
  int64_t* next = static_cast<int64_t*>(xalloc(items * 8));
  std::atomic<uint8_t>* held = new std::atomic<uint8_t>[items];
  for (int s = 0; s < g_slots; ++s) heads[static_cast<size_t>(s) * kStride] = kEmpty;
  for (size_t i = 0; i < items; ++i) {
    held[i].store(0);
    int64_t* h = &heads[(i % static_cast<size_t>(g_slots)) * kStride];
    next[i] = *h;
    *h = static_cast<int64_t>(i);
  }
  long reps = g_opt.reps;
  auto body = [&](Worker* w) {
    for (long i = 0; i < reps && !g_failed.load(std::memory_order_relaxed); ++i) {
      int64_t got = -1;
      int s = retry<kOff>(w, [&](uint32_t id) {
        return rseq_arch::op_list_pop<kOff>(w->area, id, &heads[id * kStride], next, items, kEmpty,
                                             &got);
      });
      if (s == RSEQ_OP_COMPARE_FAILED) {
        w->st.empty++;
        continue;
      }
      if (s != RSEQ_OP_COMMITTED) {
        if (s != -1) fail("list: pop returned status " + std::to_string(s));
        return;
      }
      if (got < 0 || static_cast<size_t>(got) >= items) {
        fail("list: popped index " + std::to_string(got) + " out of range");
        return;
      }
      if (held[got].exchange(1) != 0) {
        fail("list: index " + std::to_string(got) + " popped while another thread held it");
        return;
      }
      held[got].store(0);
      bool release = (i & 1) != 0;
      s = retry<kOff>(w, [&](uint32_t id) {
        int64_t* head = &heads[id * kStride];
        int64_t h = load(head);
        for (;;) {
          int r = release ? rseq_arch::op_speculative_store_commit<kOff, true>(w->area, id, head, h,
                                                                               &next[got], h, got)
                          : rseq_arch::op_speculative_store_commit<kOff, false>(w->area, id, head, h,
                                                                                &next[got], h, got);
          if (r != RSEQ_OP_COMPARE_FAILED) return r;
          h = load(head);  // the head moved under us: another attempt
          w->st.attempts++;
        }
      });
      if (s != RSEQ_OP_COMMITTED) {
        if (s != -1) fail("list: push returned status " + std::to_string(s));
        return;
      }
    }
  };
  RunResult r = run_threads(body, NoManager());
  if (!g_failed.load()) {
    std::vector<uint8_t> seen(items, 0);
    size_t count = 0;
    for (int s = 0; s < g_slots && verdict->empty(); ++s) {
      int64_t i = heads[static_cast<size_t>(s) * kStride];
      size_t steps = 0;
      while (i != kEmpty) {
        if (i < 0 || static_cast<size_t>(i) >= items || ++steps > items) {
          *verdict = "FAIL: slot " + std::to_string(s) + " holds a bad link " + std::to_string(i);
          break;
        }
        if (seen[i]++) {
          *verdict = "FAIL: index " + std::to_string(i) + " is in the lists twice";
          break;
        }
        ++count;
        i = next[i];
      }
    }
    if (verdict->empty() && count != items) {
      *verdict = "FAIL: " + std::to_string(count) + " of " + std::to_string(items) + " indices left";
    }
  }
  delete[] held;
  free(next);
  free(heads);
  return r;
}

template RunResult test_list<RSEQ_ARCH_ID_CPU_ID>(std::string*);
template RunResult test_list<RSEQ_ARCH_ID_MM_CID>(std::string*);

}  // namespace rseq_stress
