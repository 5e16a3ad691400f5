// native/region_ffi.cc - see region_ffi.h.
#include "region_ffi.h"

#include <pthread.h>
#include <string.h>

#include <atomic>

#include "registration.h"

namespace rseq_native {
namespace {

constexpr int64_t kMaxSafeInteger = 9007199254740991;  // 2^53 - 1

// A slot's word: generation << 2 | state.
constexpr uint64_t kFree = 0;
constexpr uint64_t kClaiming = 1;  // being filled by the thread that claimed it
constexpr uint64_t kLive = 2;
constexpr uint64_t kStateMask = 3;
// handle = generation * kFfiSlots + index < 2^53.
constexpr uint64_t kMaxGeneration = (uint64_t{1} << 53) / kFfiSlots - 1;
constexpr double kHandleEnd = 9007199254740992.0;  // 2^53
static_assert((kFfiSlots & (kFfiSlots - 1)) == 0, "kFfiSlots is a power of two");
static_assert(sizeof(pthread_t) <= sizeof(uintptr_t), "a pthread_t fits a uintptr_t");

// Every field is atomic: other threads read a slot's word (and may read its
// owner) while its owner fills or frees it. Only the owner ever reads region,
// args and record, and only after it found its own pthread_t in a live slot
// whose word it loaded with acquire. `record` is the owner's registration
// record (registration.h), which lives as long as the owner thread. One slot
// per cache line: binding on one thread does not disturb calls on another.
struct alignas(64) Slot {
  std::atomic<uint64_t> word;
  std::atomic<Region*> region;
  std::atomic<const double*> args;
  std::atomic<uintptr_t> owner;
  std::atomic<const ThreadRecord*> record;
};

Slot g_slots[kFfiSlots];
std::atomic<uint32_t> g_next{0};
std::atomic<uint32_t> g_live{0};

inline uintptr_t self() {
  pthread_t t = pthread_self();
  uintptr_t v = 0;
  memcpy(&v, &t, sizeof t);
  return v;
}

// Thread exit: a thread that still has live slots (regions that were never
// finalized) frees them, so that no later thread with the same pthread_t
// finds them.
pthread_once_t g_key_once = PTHREAD_ONCE_INIT;
pthread_key_t g_key;
bool g_key_ok = false;
char g_key_mark;

void free_thread_slots(void*) {
  const uintptr_t me = self();
  for (Slot& s : g_slots) {
    uint64_t w = s.word.load(std::memory_order_acquire);
    if ((w & kStateMask) != kLive || s.owner.load(std::memory_order_relaxed) != me) continue;
    if (s.word.compare_exchange_strong(w, w & ~kStateMask, std::memory_order_acq_rel)) {
      g_live.fetch_sub(1, std::memory_order_relaxed);
    }
  }
}

void make_key() { g_key_ok = pthread_key_create(&g_key, free_thread_slots) == 0; }

// The region a handle names, when it is live, this thread's, and the thread
// still holds a registration with the region's area; else null.
inline Region* lookup(double handle, const double** args) {
  if (!(handle >= kFfiSlots && handle < kHandleEnd)) return nullptr;  // NaN too
  const int64_t i = static_cast<int64_t>(handle);  // in range: exact for an integer
  if (static_cast<double>(i) != handle) return nullptr;
  const uint64_t h = static_cast<uint64_t>(i);
  const Slot& s = g_slots[h % kFfiSlots];
  if (s.word.load(std::memory_order_acquire) != ((h / kFfiSlots) << 2 | kLive)) return nullptr;
  if (s.owner.load(std::memory_order_relaxed) != self()) return nullptr;
  Region* r = s.region.load(std::memory_order_relaxed);
  // The thread still holds the registration the region was bound with (the
  // record is this thread's: the owner check came first).
  if (r == nullptr || !record_holds(s.record.load(std::memory_order_relaxed), r->ctx.area)) return nullptr;
  *args = s.args.load(std::memory_order_relaxed);
  return r;
}

inline Region* lookup_kind(double handle, RegionKind kind, const double** args) {
  Region* r = lookup(handle, args);
  return r != nullptr && r->layout.kind == kind ? r : nullptr;
}

}  // namespace

int64_t ffi_register(Region* region, const double* args) {
  if (region == nullptr || args == nullptr) return -1;
  pthread_once(&g_key_once, make_key);
  // Without the exit hook a slot could outlive its thread: no handle then.
  if (!g_key_ok) return -1;
  if (pthread_getspecific(g_key) == nullptr && pthread_setspecific(g_key, &g_key_mark) != 0) return -1;
  const uintptr_t me = self();
  const ThreadRecord* record = thread_record();
  if (record == nullptr) return -1;  // no registration: no region either
  const uint32_t start = g_next.fetch_add(1, std::memory_order_relaxed);
  for (uint32_t k = 0; k < kFfiSlots; ++k) {
    const uint32_t i = (start + k) % kFfiSlots;
    Slot& s = g_slots[i];
    uint64_t w = s.word.load(std::memory_order_relaxed);
    if ((w & kStateMask) != kFree) continue;
    uint64_t gen = (w >> 2) + 1;
    if (gen > kMaxGeneration) gen = 1;
    if (!s.word.compare_exchange_strong(w, gen << 2 | kClaiming, std::memory_order_acquire,
                                        std::memory_order_relaxed)) {
      continue;
    }
    s.region.store(region, std::memory_order_relaxed);
    s.args.store(args, std::memory_order_relaxed);
    s.owner.store(me, std::memory_order_relaxed);
    s.record.store(record, std::memory_order_relaxed);
    s.word.store(gen << 2 | kLive, std::memory_order_release);
    g_live.fetch_add(1, std::memory_order_relaxed);
    return static_cast<int64_t>(gen * kFfiSlots + i);
  }
  return -1;
}

void ffi_unregister(int64_t handle) {
  if (handle < static_cast<int64_t>(kFfiSlots)) return;
  const uint64_t h = static_cast<uint64_t>(handle);
  Slot& s = g_slots[h % kFfiSlots];
  uint64_t live = (h / kFfiSlots) << 2 | kLive;
  // Fails only when the slot was freed already (its thread's exit hook).
  if (s.word.compare_exchange_strong(live, live & ~kStateMask, std::memory_order_release,
                                     std::memory_order_relaxed)) {
    g_live.fetch_sub(1, std::memory_order_relaxed);
  }
}

uint32_t ffi_live_slots() { return g_live.load(std::memory_order_relaxed); }

}  // namespace rseq_native

using namespace rseq_native;

int32_t rseq_ffi_add(double handle) {
  const double* args = nullptr;
  Region* r = lookup_kind(handle, RegionKind::Counter, &args);
  if (r == nullptr) return REGION_BAD_HANDLE;
  int64_t n = 0;
  if (!ffi_arg_integer(args[0], -kMaxSafeInteger, kMaxSafeInteger, &n)) return REGION_BAD_ARG;
  return region_counter_add(*r, n);
}

int32_t rseq_ffi_push(double handle) {
  const double* args = nullptr;
  Region* r = lookup_kind(handle, RegionKind::Buffer, &args);
  return r == nullptr ? REGION_BAD_HANDLE : region_buffer_push(*r, r->record);
}

int32_t rseq_ffi_pop(double handle) {
  const double* args = nullptr;
  Region* r = lookup_kind(handle, RegionKind::Buffer, &args);
  return r == nullptr ? REGION_BAD_HANDLE : region_buffer_pop(*r, r->record);
}

int32_t rseq_ffi_take(double handle) {
  const double* args = nullptr;
  Region* r = lookup_kind(handle, RegionKind::Pool, &args);
  // An index is below the pool's size (<= 2^31 - 1): it fits.
  return r == nullptr ? -REGION_BAD_HANDLE : static_cast<int32_t>(region_pool_take(*r));
}

int32_t rseq_ffi_give(double handle) {
  const double* args = nullptr;
  Region* r = lookup_kind(handle, RegionKind::Pool, &args);
  if (r == nullptr) return REGION_BAD_HANDLE;
  int64_t i = 0;
  if (!ffi_arg_integer(args[0], 0, kMaxSafeInteger, &i)) return REGION_BAD_ARG;
  return region_pool_give(*r, i);
}

int32_t rseq_ffi_valid(double handle) {
  const double* args = nullptr;
  return lookup(handle, &args) != nullptr ? 1 : 0;
}
