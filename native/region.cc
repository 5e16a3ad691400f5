// native/region.cc - see region.h.
#include "region.h"

namespace rseq_native {
namespace {

// Sections attempted in one call before the caller is asked to call again.
constexpr int kMaxAttempts = 1 << 16;

inline int64_t load(const int64_t* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }

inline uint64_t lines(uint64_t words) {
  return (words + kRegionLineWords - 1) / kRegionLineWords * kRegionLineWords;
}

// The thread's id, or -1 when it is past the slots.
inline int64_t slot_id(const Region& r) {
  uint32_t id = op_current_id(r.ctx);
  return id < r.layout.slots ? static_cast<int64_t>(id) : -1;
}

inline int64_t* slot(const Region& r, int64_t id) {
  return r.words + kRegionHeaderWords + static_cast<uint64_t>(id) * r.layout.stride;
}

}  // namespace

const char* region_validate(const int64_t* words, size_t nwords, RegionKind kind, RegionLayout* out) {
  if (nwords < kRegionHeaderWords) return "the buffer is too small to hold a header";
  int64_t h[kRegionHeaderWords];
  for (size_t i = 0; i < kRegionHeaderWords; ++i) h[i] = load(words + i);
  if (h[0] != kRegionMagicBase + static_cast<int>(kind)) return "word 0 (magic) is not this structure's";
  if (h[1] != kRegionVersion) return "word 1 (layout version) is not this package's";
  if (h[2] != static_cast<int>(IdMode::CpuId) && h[2] != static_cast<int>(IdMode::MmCid)) {
    return "word 2 (mode) is neither 0 (cpu_id) nor 1 (mm_cid)";
  }
  if (h[3] < 1 || h[3] > kRegionMaxSlots) return "word 3 (slots) is out of range";
  RegionLayout l{};
  l.kind = kind;
  l.mode = static_cast<IdMode>(h[2]);
  l.slots = static_cast<uint32_t>(h[3]);
  uint64_t want_stride = kRegionLineWords;
  uint64_t tail_words = 0;
  switch (kind) {
    case RegionKind::Counter:
      if (h[5] < 0 || h[5] > kRegionMaxLanes) return "word 5 (lanes) is out of range";
      l.size = static_cast<uint64_t>(h[5]);
      tail_words = kRegionLineWords + l.size * kRegionLineWords;  // base line, lanes
      break;
    case RegionKind::Buffer:
      if (h[5] < 1 || h[5] > kRegionMaxRecord) return "word 5 (record size) is out of range";
      if (h[6] < 1 || h[6] > kRegionMaxCapacity) return "word 6 (capacity) is out of range";
      l.record_size = static_cast<uint32_t>(h[5]);
      l.capacity = static_cast<uint32_t>(h[6]);
      want_stride = lines(1 + (static_cast<uint64_t>(l.record_size) * l.capacity + 7) / 8);
      break;
    case RegionKind::Pool:
      if (h[5] < 1 || h[5] > kRegionMaxPoolSize) return "word 5 (size) is out of range";
      l.size = static_cast<uint64_t>(h[5]);
      tail_words = l.size;
      break;
  }
  if (h[4] < 0 || static_cast<uint64_t>(h[4]) != want_stride) return "word 4 (stride) does not fit the structure";
  l.stride = want_stride;
  l.tail = kRegionHeaderWords + static_cast<uint64_t>(l.slots) * l.stride;
  // slots <= 2^16 and stride <= 2^31 words: no overflow below.
  if (l.tail + tail_words > nwords) return "the buffer is shorter than its header says";
  *out = l;
  return nullptr;
}

int region_counter_add(Region& r, int64_t n) {
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    int64_t id = slot_id(r);
    if (id < 0) return REGION_BAD_ID;
    int64_t* w = slot(r, id);
    int64_t v = load(w);
    int64_t sum = 0;
    if (__builtin_add_overflow(v, n, &sum) || sum > kRegionWordGuard || sum < -kRegionWordGuard) {
      return REGION_OVERFLOW;
    }
    if (op_store_if_equal(r.ctx, static_cast<uint32_t>(id), w, v, sum) == RSEQ_OP_COMMITTED) return REGION_OK;
  }
  return REGION_RETRY;
}

namespace {

// Moves up to `count` records between `records` and this CPU's stack in one
// copy-then-commit section: onto its top (push) or off it (pop). The number
// moved, or minus a status.
int64_t stack_move(Region& r, uint8_t* records, uint64_t count, bool push) {
  const uint64_t rs = r.layout.record_size;
  const int64_t cap = r.layout.capacity;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    int64_t id = slot_id(r);
    if (id < 0) return -REGION_BAD_ID;
    int64_t* word = slot(r, id);
    int64_t e = load(word);
    if (e >= kRegionLocked) return -REGION_LOCKED;
    if (e < 0 || e > cap) return -REGION_CORRUPT;
    uint64_t have = static_cast<uint64_t>(push ? cap - e : e);
    uint64_t k = count < have ? count : have;
    if (k == 0) return 0;
    const int64_t n = static_cast<int64_t>(k);
    uint8_t* stack = reinterpret_cast<uint8_t*>(word + 1) + static_cast<uint64_t>(push ? e : e - n) * rs;
    int s = push ? op_copy_commit(r.ctx, static_cast<uint32_t>(id), word, e, stack, records, k * rs, e + n, true)
                 : op_copy_commit(r.ctx, static_cast<uint32_t>(id), word, e, records, stack, k * rs, e - n, false);
    if (s == RSEQ_OP_COMMITTED) return n;
  }
  return -REGION_RETRY;
}

// One record: OK, or EMPTY when nothing moved (push: full; pop: empty).
int one_record(int64_t moved) { return moved == 1 ? REGION_OK : moved == 0 ? REGION_EMPTY : static_cast<int>(-moved); }

}  // namespace

int region_buffer_push(Region& r, const uint8_t* record) {
  return one_record(stack_move(r, const_cast<uint8_t*>(record), 1, true));  // push only reads it
}

int region_buffer_pop(Region& r, uint8_t* record) { return one_record(stack_move(r, record, 1, false)); }

int64_t region_buffer_push_many(Region& r, const uint8_t* records, uint64_t count) {
  return stack_move(r, const_cast<uint8_t*>(records), count, true);
}

int64_t region_buffer_pop_many(Region& r, uint8_t* records, uint64_t max) {
  return stack_move(r, records, max, false);
}

int64_t region_pool_take(Region& r) {
  int64_t* next = r.words + r.layout.tail;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    int64_t id = slot_id(r);
    if (id < 0) return -REGION_BAD_ID;
    int64_t* head = slot(r, id);
    // The section checks the head against EMPTY and [0, size) before it reads next[head].
    int64_t got = op_list_pop(r.ctx, static_cast<uint32_t>(id), head, next, r.layout.size, kRegionEmpty);
    if (got >= 0) {
      // A release store (a plain store on x86): got is off every list, so only a
      // give of got, which must happen after this take, ever compares next[got].
      __atomic_store_n(next + got, kRegionTaken, __ATOMIC_RELEASE);
      return got;
    }
    if (got == -RSEQ_OP_COMPARE_FAILED) return -REGION_EMPTY;
    if (got == -RSEQ_OP_BAD_INDEX) {
      int64_t h = load(head);
      if (h >= kRegionLocked) return -REGION_LOCKED;
      if (h != kRegionEmpty && (h < 0 || static_cast<uint64_t>(h) >= r.layout.size)) return -REGION_CORRUPT;
    }
    // aborted, moved, or the head changed under the check: again
  }
  return -REGION_RETRY;
}

int region_pool_give(Region& r, int64_t i) {
  if (i < 0 || static_cast<uint64_t>(i) >= r.layout.size) return REGION_BAD_ARG;
  int64_t* next = r.words + r.layout.tail;
  int64_t* link = next + i;
  // Ownership: only the thread that moves next[i] from TAKEN may give i.
  int64_t taken = kRegionTaken;
  if (!__atomic_compare_exchange_n(link, &taken, kRegionTaken + 1, false, __ATOMIC_SEQ_CST,
                                   __ATOMIC_SEQ_CST)) {
    return REGION_NOT_TAKEN;
  }
  int status = REGION_RETRY;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    int64_t id = slot_id(r);
    if (id < 0) {
      status = REGION_BAD_ID;
      break;
    }
    int64_t* head = slot(r, id);
    int64_t h = load(head);
    if (h >= kRegionLocked) {
      status = REGION_LOCKED;
      break;
    }
    if (h != kRegionEmpty && (h < 0 || static_cast<uint64_t>(h) >= r.layout.size)) {
      status = REGION_CORRUPT;
      break;
    }
    // next[i] = h (speculative), then head = i (the commit).
    if (op_speculative_store_commit(r.ctx, static_cast<uint32_t>(id), head, h, link, h, i, true) ==
        RSEQ_OP_COMMITTED) {
      return REGION_OK;
    }
  }
  // Not given: i is still the caller's (the speculative store may have run).
  __atomic_store_n(link, kRegionTaken, __ATOMIC_SEQ_CST);
  return status;
}

}  // namespace rseq_native
