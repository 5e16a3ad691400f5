// The handle table of native/region_ffi.h and its rseq_ffi_* functions, as
// node:ffi calls them: each operation on a region of each kind; handles that
// must be refused (another generation, another slot, out of range, not an
// integer, NaN, another kind, another thread, a thread that dropped its
// registration) with a status and no write; a full table; a thread that exits
// with its slots live. Runs with glibc's registration and with
// GLIBC_TUNABLES=glibc.pthread.rseq=0, and under AddressSanitizer (where a
// refused handle that touched a freed area would be a report).
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>

#include <vector>

#include "check.h"
#include "percpu.h"
#include "region.h"
#include "region_ffi.h"
#include "registration.h"

using namespace rseq_native;

namespace {

uint32_t g_slots_per_region = 0;  // possible CPU ids

// A structure's words with a header that region_validate accepts.
std::vector<int64_t> make_words(RegionKind kind) {
  const uint64_t slots = g_slots_per_region;
  uint64_t stride = kRegionLineWords;
  uint64_t tail = 0;
  int64_t p5 = 0, p6 = 0;
  switch (kind) {
    case RegionKind::Counter:
      tail = kRegionLineWords;  // the base line, no lanes
      break;
    case RegionKind::Buffer:
      p5 = 16;  // record size
      p6 = 4;   // capacity: 1 + 16 * 4 / 8 = 9 words -> 16
      stride = 2 * kRegionLineWords;
      break;
    case RegionKind::Pool:
      p5 = 8;  // indices
      tail = 8;
      break;
  }
  std::vector<int64_t> w(kRegionHeaderWords + slots * stride + tail, 0);
  w[0] = kRegionMagicBase + static_cast<int>(kind);
  w[1] = kRegionVersion;
  w[2] = 0;  // cpu_id
  w[3] = static_cast<int64_t>(slots);
  w[4] = static_cast<int64_t>(stride);
  w[5] = p5;
  w[6] = p6;
  if (kind == RegionKind::Pool) {
    for (uint64_t s = 0; s < slots; ++s) w[kRegionHeaderWords + s * stride] = kRegionEmpty;
    for (uint64_t i = 0; i < 8; ++i) w[kRegionHeaderWords + slots * stride + i] = kRegionTaken;  // all held
  }
  return w;
}

// A region bound to the calling thread (which holds a registration), with
// its args and record, as region_binding.cc makes one.
struct TestRegion {
  std::vector<int64_t> words;
  Region region{};
  double args[4] = {0, 0, 0, 0};
  uint8_t record[16] = {};
  int64_t handle = -1;

  explicit TestRegion(RegionKind kind) : words(make_words(kind)) {
    const char* bad = region_validate(words.data(), words.size(), kind, &region.layout);
    CHECK(bad == nullptr);
    if (bad != nullptr) fprintf(stderr, "   %s\n", bad);
    region.words = words.data();
    region.record = record;
    CHECK(op_prepare(IdMode::CpuId, &region.ctx) == PrepareError::None);
  }
  int64_t slot_word(uint32_t cpu) const {
    return words[kRegionHeaderWords + static_cast<uint64_t>(cpu) * region.layout.stride];
  }
  int64_t sum_slots() const {
    int64_t s = 0;
    for (uint32_t c = 0; c < region.layout.slots; ++c) s += slot_word(c);
    return s;
  }
};

double h(int64_t handle) { return static_cast<double>(handle); }

void test_operations() {
  RSEQ_SECTION("operations through handles");
  TestRegion counter(RegionKind::Counter);
  counter.handle = ffi_register(&counter.region, counter.args);
  CHECK(counter.handle >= static_cast<int64_t>(kFfiSlots));
  CHECK(counter.handle < (int64_t{1} << 53));
  CHECK_EQ(rseq_ffi_valid(h(counter.handle)), 1);
  counter.args[0] = 5;
  for (int i = 0; i < 1000; ++i) CHECK_EQ(rseq_ffi_add(h(counter.handle)), REGION_OK);
  counter.args[0] = -3;
  CHECK_EQ(rseq_ffi_add(h(counter.handle)), REGION_OK);
  CHECK_EQ(counter.sum_slots(), 5 * 1000 - 3);
  counter.args[0] = 0.5;
  CHECK_EQ(rseq_ffi_add(h(counter.handle)), REGION_BAD_ARG);
  counter.args[0] = NAN;
  CHECK_EQ(rseq_ffi_add(h(counter.handle)), REGION_BAD_ARG);
  counter.args[0] = static_cast<double>(int64_t{1} << 45);  // past the word's guard
  CHECK_EQ(rseq_ffi_add(h(counter.handle)), REGION_OVERFLOW);
  CHECK_EQ(counter.sum_slots(), 5 * 1000 - 3);

  TestRegion buffer(RegionKind::Buffer);
  buffer.handle = ffi_register(&buffer.region, buffer.args);
  CHECK(buffer.handle >= static_cast<int64_t>(kFfiSlots));
  CHECK(buffer.handle != counter.handle);
  CHECK_EQ(rseq_ffi_pop(h(buffer.handle)), REGION_EMPTY);
  for (int i = 0; i < 4; ++i) {
    memset(buffer.record, 'a' + i, sizeof buffer.record);
    CHECK_EQ(rseq_ffi_push(h(buffer.handle)), REGION_OK);
  }
  CHECK_EQ(rseq_ffi_push(h(buffer.handle)), REGION_EMPTY);  // full
  for (int i = 3; i >= 0; --i) {
    memset(buffer.record, 0, sizeof buffer.record);
    CHECK_EQ(rseq_ffi_pop(h(buffer.handle)), REGION_OK);
    CHECK_EQ(buffer.record[0], 'a' + i);
    CHECK_EQ(buffer.record[15], 'a' + i);
  }
  CHECK_EQ(rseq_ffi_pop(h(buffer.handle)), REGION_EMPTY);

  TestRegion pool(RegionKind::Pool);
  pool.handle = ffi_register(&pool.region, pool.args);
  CHECK_EQ(rseq_ffi_take(h(pool.handle)), -REGION_EMPTY);
  pool.args[0] = 3;
  CHECK_EQ(rseq_ffi_give(h(pool.handle)), REGION_OK);
  CHECK_EQ(rseq_ffi_give(h(pool.handle)), REGION_NOT_TAKEN);  // given already
  pool.args[0] = 8;
  CHECK_EQ(rseq_ffi_give(h(pool.handle)), REGION_BAD_ARG);
  CHECK_EQ(rseq_ffi_take(h(pool.handle)), 3);
  CHECK_EQ(rseq_ffi_take(h(pool.handle)), -REGION_EMPTY);

  RSEQ_SECTION("another kind's operation");
  CHECK_EQ(rseq_ffi_push(h(counter.handle)), REGION_BAD_HANDLE);
  CHECK_EQ(rseq_ffi_pop(h(pool.handle)), REGION_BAD_HANDLE);
  CHECK_EQ(rseq_ffi_take(h(buffer.handle)), -REGION_BAD_HANDLE);
  CHECK_EQ(rseq_ffi_give(h(counter.handle)), REGION_BAD_HANDLE);
  CHECK_EQ(rseq_ffi_add(h(pool.handle)), REGION_BAD_HANDLE);

  RSEQ_SECTION("forged handles");
  const int64_t before = counter.sum_slots();
  counter.args[0] = 1;
  const double forged[] = {
      h(counter.handle + kFfiSlots),   // the next generation of its slot
      h(counter.handle - kFfiSlots),   // the one before
      h(counter.handle % kFfiSlots),   // generation 0
      h(counter.handle + 7),           // another slot (free)
      h(counter.handle) + 0.5,         // not an integer
      -h(counter.handle),
      -1,
      0,
      9007199254740992.0,  // 2^53
      1e300,
      INFINITY,
      -INFINITY,
      NAN,
  };
  for (double f : forged) {
    CHECK_EQ(rseq_ffi_valid(f), 0);
    CHECK_EQ(rseq_ffi_add(f), REGION_BAD_HANDLE);
    CHECK_EQ(rseq_ffi_push(f), REGION_BAD_HANDLE);
    CHECK_EQ(rseq_ffi_pop(f), REGION_BAD_HANDLE);
    CHECK_EQ(rseq_ffi_take(f), -REGION_BAD_HANDLE);
    CHECK_EQ(rseq_ffi_give(f), REGION_BAD_HANDLE);
  }
  CHECK_EQ(counter.sum_slots(), before);

  RSEQ_SECTION("unregistered");
  const uint32_t live = ffi_live_slots();
  ffi_unregister(counter.handle);
  CHECK_EQ(ffi_live_slots(), live - 1);
  CHECK_EQ(rseq_ffi_valid(h(counter.handle)), 0);
  CHECK_EQ(rseq_ffi_add(h(counter.handle)), REGION_BAD_HANDLE);
  ffi_unregister(counter.handle);  // twice: nothing
  CHECK_EQ(ffi_live_slots(), live - 1);
  CHECK_EQ(counter.sum_slots(), before);
  ffi_unregister(buffer.handle);
  ffi_unregister(pool.handle);
  ffi_unregister(-1);
}

// Another thread: a handle it did not register is refused there.
struct Foreign {
  int64_t handle;
  int add, valid;
};

void* foreign_thread(void* arg) {
  Foreign* f = static_cast<Foreign*>(arg);
  Registration r = acquire();
  CHECK(r.owner != Owner::None);
  f->valid = rseq_ffi_valid(h(f->handle));
  f->add = rseq_ffi_add(h(f->handle));
  release();
  return nullptr;
}

void test_other_thread() {
  RSEQ_SECTION("another thread's handle");
  TestRegion counter(RegionKind::Counter);
  counter.handle = ffi_register(&counter.region, counter.args);
  counter.args[0] = 1;
  Foreign f{counter.handle, -1, -1};
  pthread_t t;
  CHECK_EQ(pthread_create(&t, nullptr, foreign_thread, &f), 0);
  pthread_join(t, nullptr);
  CHECK_EQ(f.valid, 0);
  CHECK_EQ(f.add, REGION_BAD_HANDLE);
  CHECK_EQ(counter.sum_slots(), 0);
  CHECK_EQ(rseq_ffi_add(h(counter.handle)), REGION_OK);  // still good here
  CHECK_EQ(counter.sum_slots(), 1);
  ffi_unregister(counter.handle);
}

// A thread that registers a region, drops its registration (the region's
// area may be freed: it must not be touched), and exits with the slot live.
struct Leaver {
  int64_t handle;
  int after_release;
};

void* leaving_thread(void* arg) {
  Leaver* l = static_cast<Leaver*>(arg);
  CHECK(acquire().owner != Owner::None);
  {
    TestRegion counter(RegionKind::Counter);
    counter.args[0] = 1;
    l->handle = ffi_register(&counter.region, counter.args);
    CHECK_EQ(rseq_ffi_add(h(l->handle)), REGION_OK);
    CHECK_EQ(release(), 0);  // the thread no longer holds a registration
    l->after_release = rseq_ffi_add(h(l->handle));
    CHECK_EQ(counter.sum_slots(), 1);
    CHECK(acquire().owner != Owner::None);
    // A new registration of the same thread: a libc area is the same one again
    // (good), an area of the core's own is a new one (refused).
    if (thread_area() == counter.region.ctx.area) {
      CHECK_EQ(rseq_ffi_add(h(l->handle)), REGION_OK);
    } else {
      CHECK_EQ(rseq_ffi_add(h(l->handle)), REGION_BAD_HANDLE);
    }
    release();
  }
  return nullptr;  // exits with the slot registered: the exit hook frees it
}

void test_thread_exit() {
  RSEQ_SECTION("a thread that drops its registration, then exits with a live slot");
  const uint32_t live = ffi_live_slots();
  Leaver l{-1, -1};
  pthread_t t;
  CHECK_EQ(pthread_create(&t, nullptr, leaving_thread, &l), 0);
  pthread_join(t, nullptr);
  CHECK_EQ(l.after_release, REGION_BAD_HANDLE);
  CHECK_EQ(ffi_live_slots(), live);
  CHECK_EQ(rseq_ffi_valid(h(l.handle)), 0);
}

void test_full_table() {
  RSEQ_SECTION("a full table");
  TestRegion counter(RegionKind::Counter);
  const uint32_t live = ffi_live_slots();
  std::vector<int64_t> handles;
  for (uint32_t i = 0; i < kFfiSlots + 10; ++i) {
    int64_t got = ffi_register(&counter.region, counter.args);
    if (got < 0) break;
    handles.push_back(got);
  }
  CHECK_EQ(handles.size(), kFfiSlots - live);
  CHECK_EQ(ffi_register(&counter.region, counter.args), -1);
  CHECK_EQ(ffi_live_slots(), kFfiSlots);
  for (int64_t x : handles) ffi_unregister(x);
  CHECK_EQ(ffi_live_slots(), live);
  // Every slot was used again: each has a new generation, so the old handles stay refused.
  int64_t again = ffi_register(&counter.region, counter.args);
  CHECK(again >= 0);
  for (int64_t x : handles) CHECK(x != again);
  ffi_unregister(again);
}

}  // namespace

int main() {
  std::vector<int> cpus;
  CHECK_EQ(possible_cpus(&cpus), 0);
  if (cpus.empty()) return rseq_test::finish("test_region_ffi");
  g_slots_per_region = static_cast<uint32_t>(cpus.back() + 1);

  Registration r = acquire();
  if (r.owner == Owner::None) {
    fprintf(stderr, "   no rseq registration (errno %d, %s): nothing to test\n", r.err, r.op);
    CHECK(r.err != 0);
    return rseq_test::finish("test_region_ffi");
  }
  const char* want = rseq_test::expected_owner_env();
  if (want != nullptr) CHECK_STREQ(owner_name(r.owner), want);
  fprintf(stderr, "   owner %s\n", owner_name(r.owner));
  // Pinned: a region's operations stay on one CPU's slot, so pop finds what push stored.
  cpu_set_t saved;
  CHECK(rseq_test::pin_to_current_cpu(&saved));

  test_operations();
  test_other_thread();
  test_thread_exit();
  test_full_table();

  CHECK(rseq_test::unpin(saved));
  CHECK_EQ(release(), 0);
  return rseq_test::finish("test_region_ffi");
}
