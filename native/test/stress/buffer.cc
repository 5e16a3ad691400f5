// The buffer test of the stress binary (see main.cc): fixed-size records per
// slot, push = copy the record in, then commit count + 1; pop = copy the
// last record out, then commit count - 1; every record must survive intact,
// exactly once.
#include <stdlib.h>
#include <string.h>

#include "stress.h"

namespace rseq_stress {

namespace {

void make_record(uint64_t id, unsigned char* out) {
  uint64_t w[4] = {id, id * 0x9e3779b97f4a7c15ull, ~id, 0};
  w[3] = w[0] ^ (w[1] << 1) ^ (w[2] >> 3) ^ 0x5bd1e995u;
  memcpy(out, w, kRecord);
}

bool record_ok(const unsigned char* rec, uint64_t* id) {
  uint64_t w[4];
  memcpy(w, rec, kRecord);
  unsigned char want[kRecord];
  make_record(w[0], want);
  *id = w[0];
  return memcmp(rec, want, kRecord) == 0;
}

}  // namespace

template <unsigned kOff>
RunResult test_buffer(std::string* verdict) {
  const size_t records = static_cast<size_t>(2 * g_threads + g_slots);
  const size_t cap = records;  // any slot can hold every record
  int64_t* counts = static_cast<int64_t*>(xalloc(static_cast<size_t>(g_slots) * kStride * 8));
  unsigned char* data =
      static_cast<unsigned char*>(xalloc(static_cast<size_t>(g_slots) * cap * kRecord));
  std::atomic<uint8_t>* held = new std::atomic<uint8_t>[records];
  for (size_t i = 0; i < records; ++i) {
    held[i].store(0);
    size_t s = i % static_cast<size_t>(g_slots);
    int64_t c = counts[s * kStride]++;
    make_record(i, data + (s * cap + static_cast<size_t>(c)) * kRecord);
  }
  long reps = g_opt.reps;
  auto body = [&](Worker* w) {
    unsigned char rec[kRecord];
    for (long i = 0; i < reps && !g_failed.load(std::memory_order_relaxed); ++i) {
      // Pop: copy the last record out, then count - 1.
      bool got = false;
      int s = retry<kOff>(w, [&](uint32_t id) {
        int64_t* cnt = &counts[id * kStride];
        for (;;) {
          int64_t c = load(cnt);
          if (c <= 0) return RSEQ_OP_COMPARE_FAILED;
          if (static_cast<size_t>(c) > cap) return -2;
          const unsigned char* src = data + (id * cap + static_cast<size_t>(c - 1)) * kRecord;
          int r = rseq_arch::op_copy_commit<kOff, false>(w->area, id, cnt, c, rec, src, kRecord, c - 1);
          if (r != RSEQ_OP_COMPARE_FAILED) return r;
          w->st.attempts++;
        }
      });
      if (s == RSEQ_OP_COMMITTED) {
        got = true;
      } else if (s == RSEQ_OP_COMPARE_FAILED) {
        w->st.empty++;
      } else {
        if (s != -1) fail("buffer: pop returned status " + std::to_string(s));
        return;
      }
      if (!got) continue;
      uint64_t id = 0;
      if (!record_ok(rec, &id) || id >= records) {
        fail("buffer: popped a damaged record (id " + std::to_string(id) + ")");
        return;
      }
      if (held[id].exchange(1) != 0) {
        fail("buffer: record " + std::to_string(id) + " popped twice");
        return;
      }
      held[id].store(0);
      // Push: copy the record in after the last one, then count + 1.
      bool release = (i & 1) != 0;
      s = retry<kOff>(w, [&](uint32_t sid) {
        int64_t* cnt = &counts[sid * kStride];
        for (;;) {
          int64_t c = load(cnt);
          if (c < 0 || static_cast<size_t>(c) >= cap) return -2;
          unsigned char* dst = data + (sid * cap + static_cast<size_t>(c)) * kRecord;
          int r = release
                      ? rseq_arch::op_copy_commit<kOff, true>(w->area, sid, cnt, c, dst, rec, kRecord, c + 1)
                      : rseq_arch::op_copy_commit<kOff, false>(w->area, sid, cnt, c, dst, rec, kRecord, c + 1);
          if (r != RSEQ_OP_COMPARE_FAILED) return r;
          w->st.attempts++;
        }
      });
      if (s != RSEQ_OP_COMMITTED) {
        if (s != -1) fail("buffer: push returned status " + std::to_string(s));
        return;
      }
    }
  };
  RunResult r = run_threads(body, NoManager());
  if (!g_failed.load()) {
    std::vector<uint8_t> seen(records, 0);
    size_t total = 0;
    for (int s = 0; s < g_slots && verdict->empty(); ++s) {
      int64_t c = counts[static_cast<size_t>(s) * kStride];
      if (c < 0 || static_cast<size_t>(c) > cap) {
        *verdict = "FAIL: slot " + std::to_string(s) + " count " + std::to_string(c);
        break;
      }
      for (int64_t k = 0; k < c; ++k) {
        uint64_t id = 0;
        const unsigned char* rec = data + (static_cast<size_t>(s) * cap + static_cast<size_t>(k)) * kRecord;
        if (!record_ok(rec, &id) || id >= records) {
          *verdict = "FAIL: damaged record in slot " + std::to_string(s);
          break;
        }
        if (seen[id]++) {
          *verdict = "FAIL: record " + std::to_string(id) + " twice";
          break;
        }
        ++total;
      }
    }
    if (verdict->empty() && total != records) {
      *verdict = "FAIL: " + std::to_string(total) + " of " + std::to_string(records) + " records left";
    }
  }
  delete[] held;
  free(data);
  free(counts);
  return r;
}

template RunResult test_buffer<RSEQ_ARCH_ID_CPU_ID>(std::string*);
template RunResult test_buffer<RSEQ_ARCH_ID_MM_CID>(std::string*);

}  // namespace rseq_stress
