// native/region.h - a per-CPU structure's shared memory, validated once and
// bound to the calling thread, and its operations.
//
// The layout is the one src/percpu/layout.ts writes (64-bit words):
//
//   word 0  magic (which structure)     word 4  words per slot (stride)
//   word 1  layout version              word 5..7  the structure's parameters
//   word 2  mode (0 cpu_id, 1 mm_cid)
//   word 3  slots
//   then `slots` slots of `stride` words, then the structure's tail.
//
// region_validate() reads the header once and checks every word against the
// memory's length; the operations never read the header again (another thread
// may overwrite it) and range-check every count and index they read from the
// slots before they use it. Each operation reads the calling thread's id from
// its rseq area, picks its slot, and retries its critical section until it
// commits, so that one operation is one crossing from JavaScript. It returns
// to the caller, never waits, when another thread holds the slot (a claim
// word, >= kRegionLocked): waiting and recovery are the caller's.
//
// Nothing here throws or aborts; results are REGION_* statuses.
#ifndef RSEQ_NATIVE_REGION_H
#define RSEQ_NATIVE_REGION_H

#include <stddef.h>
#include <stdint.h>

#include "percpu.h"

namespace rseq_native {

// The statuses: the same numbers as REGION_* in src/backend.ts.
enum RegionStatus : int {
  REGION_OK = 0,
  REGION_EMPTY = 1,      // pop/take: nothing there; push: the stack is full
  REGION_LOCKED = 2,     // another thread holds this slot (a claim word)
  REGION_CORRUPT = 3,    // a count, head or link read from the slot is out of range
  REGION_OVERFLOW = 4,   // the counter's word would pass +-kRegionWordGuard
  REGION_NOT_TAKEN = 5,  // give(i): i is not taken (given twice, or never taken)
  REGION_BAD_ID = 6,     // the thread's id is past the region's slots
  REGION_RETRY = 7,      // kMaxAttempts sections aborted in a row: call again
  REGION_BAD_ARG = 8,    // an argument (amount, index) is out of range
  REGION_BAD_HANDLE = 9, // region_ffi.h: the handle names no live region of this thread and kind
};

enum class RegionKind : int { Counter = 1, Buffer = 2, Pool = 3 };

// Header words and marks (src/percpu/layout.ts has the same numbers).
constexpr size_t kRegionHeaderWords = 8;
constexpr size_t kRegionLineWords = 8;
constexpr int64_t kRegionVersion = 3;
constexpr int64_t kRegionMagicBase = 0x7273657100LL;  // + kind
constexpr int64_t kRegionLocked = int64_t{1} << 52;   // a claim word is >= this
constexpr int64_t kRegionEmpty = int64_t{1} << 51;    // an empty pool list's head
constexpr int64_t kRegionTaken = int64_t{1} << 50;    // next[i] of a taken pool index
constexpr int64_t kRegionMaxSlots = 1 << 16;
constexpr int64_t kRegionMaxRecord = 1 << 16;
constexpr int64_t kRegionMaxCapacity = 1 << 20;
constexpr int64_t kRegionMaxPoolSize = (int64_t{1} << 31) - 1;
constexpr int64_t kRegionMaxLanes = 256;  // src/percpu/layout.ts MAX_LANES
// A counter's section word stays within +-2^44 (src/percpu/counter.ts: the
// fast paths' words sum to less than 2^62); past it, REGION_OVERFLOW.
constexpr int64_t kRegionWordGuard = int64_t{1} << 44;

struct RegionLayout {
  RegionKind kind;
  IdMode mode;
  uint32_t slots;
  uint64_t stride;       // words per slot
  uint32_t record_size;  // buffer
  uint32_t capacity;     // buffer
  uint64_t size;         // pool: indices; counter: lanes
  uint64_t tail;         // first word after the slots (pool: next[0])
};

// Checks the header of `words` (nwords 64-bit words) for a structure of
// `kind`. Returns null and fills *out, or a sentence saying which word is wrong.
const char* region_validate(const int64_t* words, size_t nwords, RegionKind kind, RegionLayout* out);

struct Region {
  int64_t* words;
  RegionLayout layout;
  uint8_t* record;  // record_size bytes: push copies from here, pop into here
  OpContext ctx;
};

// Counter, path 'rseq': slot word 0 += n in a store-if-equal section, while
// the word stays within +-kRegionWordGuard.
int region_counter_add(Region& r, int64_t n);
// Buffer: `record` (record_size bytes) onto this CPU's stack; this CPU's top
// record into `record`.
int region_buffer_push(Region& r, const uint8_t* record);
int region_buffer_pop(Region& r, uint8_t* record);
// Buffer, batches: up to `count` records packed at `records` onto this CPU's
// stack, as many as fit, in one section; up to `max` records off its top into
// `records` (in stack order, bottom first), in one section. The number moved
// (>= 0), or minus a status.
int64_t region_buffer_push_many(Region& r, const uint8_t* records, uint64_t count);
int64_t region_buffer_pop_many(Region& r, uint8_t* records, uint64_t max);
// Pool: an index (>= 0) or minus a status; give(i) of a taken index.
int64_t region_pool_take(Region& r);
int region_pool_give(Region& r, int64_t i);

}  // namespace rseq_native

#endif  // RSEQ_NATIVE_REGION_H
