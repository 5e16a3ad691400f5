// native/region.h - a per-CPU structure's shared memory, validated once and
// bound to the calling thread, and its operations.
//
// The layout is the one src/contract/layout.ts writes (64-bit words):
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

#include "abi_table.h"
#include "percpu.h"

namespace rseq_native {

// The statuses: REGION_* of src/contract/abi.ts (native/abi_table.h).
enum RegionStatus : int {
  REGION_OK = RSEQ_TABLE_REGION_OK,
  REGION_EMPTY = RSEQ_TABLE_REGION_EMPTY,          // pop/take: nothing there; push: the stack is full
  REGION_LOCKED = RSEQ_TABLE_REGION_LOCKED,        // another thread holds this slot (a claim word)
  REGION_CORRUPT = RSEQ_TABLE_REGION_CORRUPT,      // a count, head or link read from the slot is out of range
  REGION_OVERFLOW = RSEQ_TABLE_REGION_OVERFLOW,    // the counter's word would pass +-kRegionWordGuard
  REGION_NOT_TAKEN = RSEQ_TABLE_REGION_NOT_TAKEN,  // give(i): i is not taken (given twice, or never taken)
  REGION_BAD_ID = RSEQ_TABLE_REGION_BAD_ID,        // the thread's id is past the region's slots
  REGION_RETRY = RSEQ_TABLE_REGION_RETRY,          // kMaxAttempts sections aborted in a row: call again
  REGION_BAD_ARG = RSEQ_TABLE_REGION_BAD_ARG,      // an argument (amount, index) is out of range
  REGION_BAD_HANDLE = RSEQ_TABLE_REGION_BAD_HANDLE,  // region_ffi.h: the handle names no live region of this thread and kind
};

enum class RegionKind : int {
  Counter = RSEQ_TABLE_REGION_KIND_COUNTER,
  Buffer = RSEQ_TABLE_REGION_KIND_BUFFER,
  Pool = RSEQ_TABLE_REGION_KIND_POOL,
};

// Header words and marks: REGION_LAYOUT of src/contract/abi.ts.
constexpr size_t kRegionHeaderWords = RSEQ_TABLE_LAYOUT_HEADER_WORDS;
constexpr size_t kRegionLineWords = RSEQ_TABLE_LAYOUT_LINE_WORDS;
constexpr int64_t kRegionVersion = RSEQ_TABLE_LAYOUT_VERSION;
constexpr int64_t kRegionMagicBase = RSEQ_TABLE_LAYOUT_MAGIC_BASE;  // + kind
constexpr int64_t kRegionLocked = RSEQ_TABLE_LAYOUT_LOCKED;         // a claim word is >= this
constexpr int64_t kRegionEmpty = RSEQ_TABLE_LAYOUT_EMPTY;           // an empty pool list's head
constexpr int64_t kRegionTaken = RSEQ_TABLE_LAYOUT_TAKEN;           // next[i] of a taken pool index
constexpr int64_t kRegionMaxSlots = RSEQ_TABLE_LAYOUT_MAX_SLOTS;
constexpr int64_t kRegionMaxRecord = RSEQ_TABLE_LAYOUT_MAX_RECORD;
constexpr int64_t kRegionMaxCapacity = RSEQ_TABLE_LAYOUT_MAX_CAPACITY;
constexpr int64_t kRegionMaxPoolSize = RSEQ_TABLE_LAYOUT_MAX_POOL_SIZE;
constexpr int64_t kRegionMaxLanes = RSEQ_TABLE_LAYOUT_MAX_LANES;
// A counter's section word stays within +-2^44 (src/percpu/counter.ts: the
// fast paths' words sum to less than 2^62); past it, REGION_OVERFLOW.
constexpr int64_t kRegionWordGuard = RSEQ_TABLE_LAYOUT_WORD_GUARD;

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
