// The per-CPU operations of native/percpu.h, one thread at a time: every
// operation's committed, compare-failed and moved outcomes and the exact memory
// afterwards, list pop (normal, empty, bad index), both id modes (mm_cid only
// where the feature size is >= 28), the counts, the descriptors the sections
// emit (__rseq_cs_ptr_array), membarrier fences and the CPU-list parser.
// Runs with glibc's registration and with GLIBC_TUNABLES=glibc.pthread.rseq=0
// (the core's own area).
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>

#include <vector>

#include "abi.h"
#include "check.h"
#include "percpu.h"
#include "probe.h"
#include "registration.h"

using namespace rseq_native;

// The linker provides these for the orphan section every section's descriptor
// address goes to (see native/arch/*.h).
extern "C" {
extern const uint64_t __start___rseq_cs_ptr_array[] __attribute__((weak));
extern const uint64_t __stop___rseq_cs_ptr_array[] __attribute__((weak));
}

namespace {

const char* mode_name(IdMode m) { return m == IdMode::CpuId ? "cpu_id" : "mm_cid"; }

// Retries an attempt while the kernel aborts it or the thread moved (rare with
// the thread pinned). `f(id)` returns a status.
template <class F>
int attempt(const OpContext& ctx, F f) {
  int s = RSEQ_OP_ABORTED;
  for (int i = 0; i < 100000; ++i) {
    s = f(op_current_id(ctx));
    if (s != RSEQ_OP_ABORTED && s != RSEQ_OP_MOVED) return s;
  }
  return s;
}

// The same for list pop (an index, or minus a status).
template <class F>
int64_t attempt_pop(const OpContext& ctx, F f) {
  int64_t r = -RSEQ_OP_ABORTED;
  for (int i = 0; i < 100000; ++i) {
    r = f(op_current_id(ctx));
    if (r != -RSEQ_OP_ABORTED && r != -RSEQ_OP_MOVED) return r;
  }
  return r;
}

uint32_t wrong_id(const OpContext& ctx) { return op_current_id(ctx) + 1; }

// A moved attempt may instead be aborted if the kernel interrupts it at its
// very first instruction; retry those only.
template <class F>
int attempt_moved(const OpContext& ctx, F f) {
  int s = RSEQ_OP_ABORTED;
  for (int i = 0; i < 1000 && s == RSEQ_OP_ABORTED; ++i) s = f(wrong_id(ctx));
  return s;
}

void test_cpu_list() {
  RSEQ_SECTION("CPU list parsing");
  std::vector<int> v;
  CHECK(parse_cpu_list("0\n", &v));
  CHECK_EQ(v.size(), 1);
  CHECK(parse_cpu_list("0-3", &v));
  CHECK_EQ(v.size(), 4);
  CHECK_EQ(v[3], 3);
  CHECK(parse_cpu_list("0-1,4,6-7\n", &v));
  CHECK_EQ(v.size(), 5);
  CHECK_EQ(v[2], 4);
  CHECK_EQ(v[4], 7);
  CHECK(parse_cpu_list("5,1-2", &v));
  CHECK_EQ(v[0], 1);
  CHECK_EQ(v[2], 5);
  v.assign(1, 42);
  CHECK(!parse_cpu_list("", &v));
  CHECK(!parse_cpu_list("3-1", &v));
  CHECK(!parse_cpu_list("1,", &v));
  CHECK(!parse_cpu_list("a", &v));
  CHECK(!parse_cpu_list("1-", &v));
  CHECK_EQ(v.size(), 1);  // untouched on failure
  CHECK_EQ(v[0], 42);

  std::vector<int> possible;
  CHECK_EQ(possible_cpus(&possible), 0);
  CHECK(!possible.empty());
  int cpu = sched_getcpu();
  bool found = false;
  for (int c : possible) found = found || c == cpu;
  CHECK(found);
}

void test_not_registered() {
  RSEQ_SECTION("no registration: op_prepare refuses");
  CHECK_EQ(thread_refs(), 0);
  OpContext ctx;
  CHECK(op_prepare(IdMode::CpuId, &ctx) == PrepareError::NotRegistered);
  CHECK(op_prepare(IdMode::MmCid, &ctx) == PrepareError::NotRegistered);
}

void test_descriptors() {
  RSEQ_SECTION("descriptors in __rseq_cs");
  const uint64_t* begin = __start___rseq_cs_ptr_array;
  const uint64_t* end = __stop___rseq_cs_ptr_array;
  CHECK(begin != nullptr && end != nullptr);
  if (begin == nullptr || end == nullptr) return;
  size_t n = static_cast<size_t>(end - begin);
  // percpu.cc instantiates 2 modes x (add, store-if-equal, double compare,
  // list pop, 2 x speculative store, 2 x copy) = 16 sections; on x86_64 the
  // release variants are the same code and -fipa-icf may fold them: >= 12.
  CHECK(n >= 12);
  fprintf(stderr, "   %zu descriptors\n", n);
  for (size_t i = 0; i < n; ++i) {
    const rseq_abi_cs* cs = reinterpret_cast<const rseq_abi_cs*>(begin[i]);
    CHECK_EQ(reinterpret_cast<uintptr_t>(cs) % 32, 0);
    CHECK_EQ(cs->version, 0);
    CHECK_EQ(cs->flags, 0);
    CHECK(cs->post_commit_offset > 0 && cs->post_commit_offset < 4096);
    bool abort_outside = cs->abort_ip < cs->start_ip ||
                         cs->abort_ip >= cs->start_ip + cs->post_commit_offset;
    CHECK(abort_outside);
    uint32_t sig;
    memcpy(&sig, reinterpret_cast<const void*>(cs->abort_ip - 4), sizeof sig);
    CHECK_EQ(sig, RSEQ_ABI_SIG);
#if defined(__x86_64__)
    const unsigned char* ud1 = reinterpret_cast<const unsigned char*>(cs->abort_ip - 7);
    CHECK(ud1[0] == 0x0f && ud1[1] == 0xb9 && ud1[2] == 0x3d);
#endif
  }
}

void test_mode(IdMode mode) {
  fprintf(stderr, "-- operations, mode %s\n", mode_name(mode));
  OpContext ctx;
  PrepareError pe = op_prepare(mode, &ctx);
  CHECK(pe == PrepareError::None);
  if (pe != PrepareError::None) return;
  OpCounts before = thread_op_counts();

  // The id the section checks is the field the kernel writes.
  if (mode == IdMode::CpuId) {
    CHECK_EQ(op_current_id(ctx), sched_getcpu());
  } else {
    uint32_t cid = op_current_id(ctx);
    CHECK(cid < 4096);
  }

  {
    RSEQ_SECTION("add");
    int64_t w[3] = {11, 0, 13};
    CHECK_EQ(attempt(ctx, [&](uint32_t id) { return op_add(ctx, id, &w[1], 5); }), RSEQ_OP_COMMITTED);
    CHECK_EQ(attempt(ctx, [&](uint32_t id) { return op_add(ctx, id, &w[1], -7); }), RSEQ_OP_COMMITTED);
    CHECK_EQ(w[0], 11);
    CHECK_EQ(w[1], -2);
    CHECK_EQ(w[2], 13);
    CHECK_EQ(attempt_moved(ctx, [&](uint32_t id) { return op_add(ctx, id, &w[1], 100); }), RSEQ_OP_MOVED);
    CHECK_EQ(w[1], -2);
  }
  {
    RSEQ_SECTION("store if equal");
    int64_t w[2] = {7, 8};
    CHECK_EQ(attempt(ctx, [&](uint32_t id) { return op_store_if_equal(ctx, id, &w[0], 6, 9); }),
             RSEQ_OP_COMPARE_FAILED);
    CHECK_EQ(w[0], 7);
    CHECK_EQ(attempt_moved(ctx, [&](uint32_t id) { return op_store_if_equal(ctx, id, &w[0], 7, 9); }),
             RSEQ_OP_MOVED);
    CHECK_EQ(w[0], 7);
    CHECK_EQ(attempt(ctx, [&](uint32_t id) { return op_store_if_equal(ctx, id, &w[0], 7, INT64_MIN); }),
             RSEQ_OP_COMMITTED);
    CHECK(w[0] == INT64_MIN);
    CHECK_EQ(w[1], 8);
  }
  {
    RSEQ_SECTION("double compare then store");
    int64_t w[2] = {1, 2};
    CHECK_EQ(attempt(ctx, [&](uint32_t id) { return op_double_compare_store(ctx, id, &w[0], 0, &w[1], 2, 9); }),
             RSEQ_OP_COMPARE_FAILED);
    CHECK_EQ(attempt(ctx, [&](uint32_t id) { return op_double_compare_store(ctx, id, &w[0], 1, &w[1], 3, 9); }),
             RSEQ_OP_COMPARE_FAILED);
    CHECK_EQ(w[0], 1);
    CHECK_EQ(attempt_moved(ctx, [&](uint32_t id) { return op_double_compare_store(ctx, id, &w[0], 1, &w[1], 2, 9); }),
             RSEQ_OP_MOVED);
    CHECK_EQ(w[0], 1);
    CHECK_EQ(attempt(ctx, [&](uint32_t id) { return op_double_compare_store(ctx, id, &w[0], 1, &w[1], 2, 9); }),
             RSEQ_OP_COMMITTED);
    CHECK_EQ(w[0], 9);
    CHECK_EQ(w[1], 2);
  }
  for (bool release : {false, true}) {
    fprintf(stderr, "-- speculative store then commit (release %d)\n", release);
    int64_t w[3] = {4, 0, 77};
    CHECK_EQ(attempt(ctx, [&](uint32_t id) {
               return op_speculative_store_commit(ctx, id, &w[0], 5, &w[1], 11, 12, release);
             }),
             RSEQ_OP_COMPARE_FAILED);
    CHECK_EQ(w[0], 4);
    CHECK_EQ(w[1], 0);  // the speculative store comes after the compare
    CHECK_EQ(attempt_moved(ctx, [&](uint32_t id) {
               return op_speculative_store_commit(ctx, id, &w[0], 4, &w[1], 11, 12, release);
             }),
             RSEQ_OP_MOVED);
    CHECK_EQ(w[0], 4);
    CHECK_EQ(w[1], 0);
    CHECK_EQ(attempt(ctx, [&](uint32_t id) {
               return op_speculative_store_commit(ctx, id, &w[0], 4, &w[1], -11, 12, release);
             }),
             RSEQ_OP_COMMITTED);
    CHECK_EQ(w[0], 12);
    CHECK_EQ(w[1], -11);
    CHECK_EQ(w[2], 77);
  }
  for (bool release : {false, true}) {
    fprintf(stderr, "-- copy then commit (release %d)\n", release);
    int64_t w[1] = {0};
    unsigned char src[16], dst[16];
    for (int i = 0; i < 16; ++i) src[i] = static_cast<unsigned char>(0xa0 + i);
    memset(dst, 0, sizeof dst);
    CHECK_EQ(attempt(ctx, [&](uint32_t id) { return op_copy_commit(ctx, id, &w[0], 1, dst + 2, src, 9, 5, release); }),
             RSEQ_OP_COMPARE_FAILED);
    CHECK_EQ(attempt_moved(ctx, [&](uint32_t id) { return op_copy_commit(ctx, id, &w[0], 0, dst + 2, src, 9, 5, release); }),
             RSEQ_OP_MOVED);
    bool untouched = true;
    for (unsigned char b : dst) untouched = untouched && b == 0;
    CHECK(untouched);
    CHECK_EQ(w[0], 0);
    CHECK_EQ(attempt(ctx, [&](uint32_t id) { return op_copy_commit(ctx, id, &w[0], 0, dst + 2, src + 1, 9, 5, release); }),
             RSEQ_OP_COMMITTED);
    CHECK_EQ(w[0], 5);
    CHECK_EQ(dst[0], 0);
    CHECK_EQ(dst[1], 0);
    bool copied = true;
    for (int i = 0; i < 9; ++i) copied = copied && dst[2 + i] == src[1 + i];
    CHECK(copied);
    CHECK_EQ(dst[11], 0);
    // A zero-length copy commits too.
    CHECK_EQ(attempt(ctx, [&](uint32_t id) { return op_copy_commit(ctx, id, &w[0], 5, dst, src, 0, 6, release); }),
             RSEQ_OP_COMMITTED);
    CHECK_EQ(w[0], 6);
    CHECK_EQ(dst[0], 0);
    // Every length through three words and a tail, at unaligned addresses:
    // the section copies 8 bytes at a time, then the rest one by one, and
    // writes nothing outside [dst, dst + len).
    unsigned char big_src[32], big_dst[40];
    for (int i = 0; i < 32; ++i) big_src[i] = static_cast<unsigned char>(0x40 + i);
    bool exact = true;
    for (size_t len = 0; len <= 27; ++len) {
      memset(big_dst, 0xee, sizeof big_dst);
      w[0] = static_cast<int64_t>(len);
      int s = attempt(ctx, [&](uint32_t id) {
        return op_copy_commit(ctx, id, &w[0], static_cast<int64_t>(len), big_dst + 3, big_src + 1, len, 100, release);
      });
      exact = exact && s == RSEQ_OP_COMMITTED && w[0] == 100;
      for (size_t i = 0; i < sizeof big_dst; ++i) {
        unsigned char want = i >= 3 && i < 3 + len ? big_src[1 + i - 3] : 0xee;
        exact = exact && big_dst[i] == want;
      }
    }
    CHECK(exact);
  }
  {
    RSEQ_SECTION("list pop");
    // words: head, next[0..4); list 2 -> 0 -> 3 -> 1 -> empty (-1)
    int64_t w[5] = {2, 3, -1, 0, 1};
    int64_t* head = &w[0];
    const int64_t* next = &w[1];
    auto pop = [&](uint32_t id) { return op_list_pop(ctx, id, head, next, 4, -1); };
    int64_t order[4] = {2, 0, 3, 1};
    for (int64_t expect : order) CHECK_EQ(attempt_pop(ctx, pop), expect);
    CHECK_EQ(*head, -1);
    CHECK_EQ(attempt_pop(ctx, pop), -RSEQ_OP_COMPARE_FAILED);  // empty
    CHECK_EQ(*head, -1);
    *head = 4;  // == count: out of the list
    CHECK_EQ(attempt_pop(ctx, pop), -RSEQ_OP_BAD_INDEX);
    *head = -7;  // negative, not `empty`: huge as unsigned
    CHECK_EQ(attempt_pop(ctx, pop), -RSEQ_OP_BAD_INDEX);
    CHECK_EQ(*head, -7);
    *head = 1;
    int64_t r = -RSEQ_OP_ABORTED;
    for (int i = 0; i < 1000 && r == -RSEQ_OP_ABORTED; ++i) r = pop(wrong_id(ctx));
    CHECK_EQ(r, -RSEQ_OP_MOVED);
    CHECK_EQ(*head, 1);
    // An empty marker that is a valid index: the marker wins.
    *head = 3;
    CHECK_EQ(attempt_pop(ctx, [&](uint32_t id) { return op_list_pop(ctx, id, head, next, 4, 3); }),
             -RSEQ_OP_COMPARE_FAILED);
    CHECK_EQ(w[1], 3);  // next[] is never written
    CHECK_EQ(w[2], -1);
    CHECK_EQ(w[3], 0);
    CHECK_EQ(w[4], 1);
  }

  OpCounts after = thread_op_counts();
  fprintf(stderr, "   counts: attempts %llu aborts %llu moved %llu\n",
          static_cast<unsigned long long>(after.attempts - before.attempts),
          static_cast<unsigned long long>(after.aborts - before.aborts),
          static_cast<unsigned long long>(after.moved - before.moved));
  CHECK(after.attempts >= before.attempts + 33);  // the attempts above
  CHECK(after.moved >= before.moved + 8);  // one per moved check above
}

void test_modes() {
  Registration r = acquire();
  CHECK(r.owner != Owner::None);
  if (r.owner == Owner::None) {
    fprintf(stderr, "   acquire failed: %s errno %d\n", r.op, r.err);
    return;
  }
  const char* want = rseq_test::expected_owner_env();
  if (want != nullptr) CHECK_STREQ(owner_name(r.owner), want);
  fprintf(stderr, "   owner %s, feature size %lu\n", owner_name(r.owner), effective_feature_size());

  // Pin to the current CPU so that retries are rare.
  cpu_set_t saved;
  CHECK(rseq_test::pin_to_current_cpu(&saved));

  test_mode(IdMode::CpuId);
  if (effective_feature_size() >= RSEQ_ABI_FEATURE_MM_CID) {
    CHECK(mode_available(IdMode::MmCid));
    test_mode(IdMode::MmCid);
  } else {
    RSEQ_SECTION("mm_cid unavailable");
    CHECK(!mode_available(IdMode::MmCid));
    OpContext ctx;
    CHECK(op_prepare(IdMode::MmCid, &ctx) == PrepareError::FieldUnavailable);
  }

  {
    RSEQ_SECTION("fence");
    long mask = membarrier_query();
    bool rseq_fence = mask >= 0 && (mask & RSEQ_ABI_MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ) != 0;
    int e = fence(-1);
    if (rseq_fence) {
      CHECK_EQ(e, 0);
      CHECK_EQ(fence(-1), 0);  // registered once, then cached
      CHECK_EQ(fence(sched_getcpu()), 0);
    } else {
      fprintf(stderr, "   membarrier RSEQ commands unavailable (mask %ld): fence gives errno %d\n", mask, e);
      CHECK(e != 0);
    }
  }

  CHECK(rseq_test::unpin(saved));
  CHECK_EQ(release(), 0);
}

// A thread that never acquired: refused; and its counts are its own.
void* fresh_thread(void*) {
  OpContext ctx;
  CHECK(op_prepare(IdMode::CpuId, &ctx) == PrepareError::NotRegistered);
  OpCounts c = thread_op_counts();
  CHECK_EQ(c.attempts, 0);
  return nullptr;
}

void test_fresh_thread() {
  RSEQ_SECTION("a thread without registration");
  pthread_t t;
  CHECK_EQ(pthread_create(&t, nullptr, fresh_thread, nullptr), 0);
  pthread_join(t, nullptr);
}

}  // namespace

int main() {
  test_cpu_list();
  test_not_registered();
  test_descriptors();
  test_modes();
  test_fresh_thread();
  return rseq_test::finish("test_percpu_ops");
}
