// The registration core: reference counts, debug counts, owners, the fields
// the kernel writes, threads. Runs both with glibc's registration (owner libc)
// and with GLIBC_TUNABLES=glibc.pthread.rseq=0 (owner addon; ctest sets
// RSEQ_TEST_EXPECT_OWNER=addon for that run so the path cannot be skipped).
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <vector>

#include "abi.h"
#include "auxv.h"
#include "check.h"
#include "probe.h"
#include "registration.h"
#include "syscalls.h"

using namespace rseq_native;

namespace {

Owner g_expected = Owner::None;

const char* expected_name() { return owner_name(g_expected); }

bool same_counts(const DebugCounts& a, const DebugCounts& b) {
  return a.registrations == b.registrations && a.areas == b.areas && a.threads == b.threads;
}

void print_counts(const char* what, const DebugCounts& c) {
  fprintf(stderr, "   %s: registrations=%ld areas=%ld threads=%ld\n", what, c.registrations, c.areas,
          c.threads);
}

std::vector<int> allowed_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  return cpus;
}

bool pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof set, &set) == 0;
}

// Is the calling thread registered with the kernel at all? A registration
// attempt with a scratch area answers that without lasting effect: it fails
// (EINVAL/EBUSY) when something is registered, and succeeds and is undone
// when nothing is.
bool thread_is_registered() {
  void* mem = nullptr;
  if (posix_memalign(&mem, 32, 32) != 0) return true;
  memset(mem, 0, 32);
  bool registered;
  if (sys_rseq(mem, 32, 0, RSEQ_ABI_SIG) == 0) {
    sys_rseq(mem, 32, RSEQ_ABI_FLAG_UNREGISTER, RSEQ_ABI_SIG);
    registered = false;
  } else {
    registered = true;
  }
  free(mem);
  return registered;
}

void test_refcounts() {
  RSEQ_SECTION("acquire/release reference counts");
  DebugCounts start = debug_counts();
  print_counts("start", start);
  CHECK_EQ(thread_refs(), 0);
  CHECK(thread_area() == nullptr);
  uint32_t v = 0;
  CHECK(!read_thread_field(offsetof(rseq_abi, cpu_id), &v));

  Registration r1 = acquire();
  CHECK_STREQ(owner_name(r1.owner), expected_name());
  CHECK_EQ(r1.refs, 1);
  CHECK_EQ(r1.err, 0);
  CHECK_STREQ(r1.op, "");
  CHECK_EQ(r1.length, 32);  // glibc registers 32 bytes; the core registers 32 on kernels < 7.0
  if (r1.owner == Owner::Addon) {
    // The core's own length is the rule of area_layout() applied to this
    // kernel's auxv (the feature size when above 32, as 7.0's v2 mode wants).
    CHECK_EQ(r1.length, area_layout(auxv_get(AT_RSEQ_FEATURE_SIZE), auxv_get(AT_RSEQ_ALIGN)).length);
  }
  CHECK_EQ(r1.signature, RSEQ_ABI_SIG);
  CHECK(thread_area() != nullptr);
  CHECK_EQ(thread_area_view_length(), 32);

  DebugCounts one = debug_counts();
  print_counts("after acquire", one);
  CHECK_EQ(one.threads, start.threads + 1);
  if (g_expected == Owner::Addon) {
    CHECK_EQ(one.registrations, start.registrations + 1);
    CHECK_EQ(one.areas, start.areas + 1);
    // Our area, 32-byte aligned, on the heap.
    CHECK_EQ(reinterpret_cast<uintptr_t>(thread_area()) % 32, 0);
  } else {
    CHECK_EQ(one.registrations, start.registrations);
    CHECK_EQ(one.areas, start.areas);
    CHECK(thread_area() == libc_area());
  }

  Registration r2 = acquire();
  CHECK_EQ(r2.refs, 2);
  CHECK(r2.owner == r1.owner);
  Registration r3 = acquire();
  CHECK_EQ(r3.refs, 3);
  CHECK(same_counts(debug_counts(), one));  // more references, nothing new
  Registration now = registration();
  CHECK_EQ(now.refs, 3);
  CHECK(now.owner == r1.owner);

  CHECK_EQ(release(), 2);
  CHECK_EQ(release(), 1);
  CHECK(same_counts(debug_counts(), one));
  CHECK(thread_is_registered());
  CHECK_EQ(release(), 0);  // the last one
  DebugCounts end = debug_counts();
  print_counts("after last release", end);
  CHECK(same_counts(end, start));
  CHECK(thread_area() == nullptr);
  CHECK_EQ(release(), 0);  // no references: no effect
  CHECK(same_counts(debug_counts(), start));

  if (g_expected == Owner::Addon) {
    // The last release unregistered the core's area.
    CHECK(!thread_is_registered());
    Registration idle = registration();
    CHECK_STREQ(owner_name(idle.owner), "none");
    CHECK_EQ(idle.refs, 0);
  } else {
    // libc's registration is libc's: still there, still reported.
    CHECK(thread_is_registered());
    Registration idle = registration();
    CHECK_STREQ(owner_name(idle.owner), "libc");
    CHECK_EQ(idle.refs, 0);
    CHECK_EQ(idle.length, 32);
  }

  // Again, to see a second cycle behave like the first.
  Registration again = acquire();
  CHECK_STREQ(owner_name(again.owner), expected_name());
  CHECK_EQ(again.refs, 1);
  CHECK_EQ(release(), 0);
  CHECK(same_counts(debug_counts(), start));
}

void test_failed_registration() {
  if (g_expected != Owner::Addon) return;
  RSEQ_SECTION("a failed registration leaves nothing behind");
  DebugCounts start = debug_counts();
  // Someone else registers the thread first.
  void* other = nullptr;
  CHECK_EQ(posix_memalign(&other, 32, 32), 0);
  memset(other, 0, 32);
  CHECK_EQ(sys_rseq(other, 32, 0, RSEQ_ABI_SIG), 0);
  Registration r = acquire();
  CHECK_STREQ(owner_name(r.owner), "none");
  CHECK_EQ(r.refs, 0);
  CHECK_EQ(r.err, EINVAL);
  CHECK_STREQ(r.op, "register");
  CHECK(same_counts(debug_counts(), start));
  CHECK_EQ(thread_refs(), 0);
  CHECK(thread_area() == nullptr);
  Registration idle = registration();
  CHECK_EQ(idle.err, EINVAL);
  CHECK_STREQ(idle.op, "register");
  CHECK_EQ(sys_rseq(other, 32, RSEQ_ABI_FLAG_UNREGISTER, RSEQ_ABI_SIG), 0);
  free(other);
  // And now it works.
  Registration ok = acquire();
  CHECK_STREQ(owner_name(ok.owner), "addon");
  CHECK_EQ(ok.err, 0);
  CHECK_EQ(release(), 0);
  CHECK(same_counts(debug_counts(), start));
}

void test_cpu_id_follows_pinning() {
  RSEQ_SECTION("cpu_id equals sched_getcpu() on every allowed CPU");
  std::vector<int> cpus = allowed_cpus();
  CHECK(!cpus.empty());
  Registration r = acquire();
  CHECK_STREQ(owner_name(r.owner), expected_name());
  FieldLiveness live = field_liveness(auxv_get(AT_RSEQ_FEATURE_SIZE));
  for (int cpu : cpus) {
    CHECK(pin(cpu));
    // A syscall returns through the kernel's rseq update: the fields are
    // current for this CPU afterwards.
    int now = sched_getcpu();
    CHECK_EQ(now, cpu);
    uint32_t cpu_id = 0, cpu_id_start = 0, mm_cid = 0;
    CHECK(read_thread_field(offsetof(rseq_abi, cpu_id), &cpu_id));
    CHECK(read_thread_field(offsetof(rseq_abi, cpu_id_start), &cpu_id_start));
    CHECK_EQ(cpu_id, cpu);
    CHECK_EQ(cpu_id_start, cpu);
    if (live.mm_cid) {
      CHECK(read_thread_field(offsetof(rseq_abi, mm_cid), &mm_cid));
      CHECK(mm_cid < cpus.size());
    }
  }
  // Restore.
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cpus) CPU_SET(c, &set);
  CHECK_EQ(sched_setaffinity(0, sizeof set, &set), 0);
  CHECK_EQ(release(), 0);
}

struct WorkerResult {
  int cpu;
  Owner owner;
  uint32_t refs_after_acquire;
  uint32_t cpu_id;
  int sched_cpu;
  uint32_t refs_after_release;
  bool exit_holding;  // leave without releasing: the key destructor cleans up
};

void* worker(void* arg) {
  WorkerResult* w = static_cast<WorkerResult*>(arg);
  pin(w->cpu);
  Registration a = acquire();
  Registration b = acquire();
  w->owner = a.owner;
  w->refs_after_acquire = b.refs;
  w->sched_cpu = sched_getcpu();
  read_thread_field(offsetof(rseq_abi, cpu_id), &w->cpu_id);
  if (w->exit_holding) return nullptr;
  release();
  w->refs_after_release = release();
  return nullptr;
}

void run_threads(bool exit_holding) {
  std::vector<int> cpus = allowed_cpus();
  const int n = 16;
  DebugCounts start = debug_counts();
  std::vector<WorkerResult> results(n);
  std::vector<pthread_t> threads(n);
  for (int i = 0; i < n; ++i) {
    results[i] = WorkerResult{cpus[i % cpus.size()], Owner::None, 0, 0, -1, 99, exit_holding};
    CHECK_EQ(pthread_create(&threads[i], nullptr, worker, &results[i]), 0);
  }
  for (int i = 0; i < n; ++i) pthread_join(threads[i], nullptr);
  for (const WorkerResult& w : results) {
    CHECK_STREQ(owner_name(w.owner), expected_name());
    CHECK_EQ(w.refs_after_acquire, 2);
    CHECK_EQ(w.sched_cpu, w.cpu);
    CHECK_EQ(w.cpu_id, w.cpu);
    if (!exit_holding) CHECK_EQ(w.refs_after_release, 0);
  }
  DebugCounts end = debug_counts();
  print_counts(exit_holding ? "after threads exited holding references" : "after threads", end);
  CHECK(same_counts(end, start));
}

void test_threads() {
  RSEQ_SECTION("16 threads acquire, read, release");
  run_threads(false);
  RSEQ_SECTION("16 threads exit still holding references (key destructor)");
  run_threads(true);
}

void* concurrent_churn(void*) {
  for (int i = 0; i < 200; ++i) {
    Registration r = acquire();
    if (r.owner == Owner::None) return reinterpret_cast<void*>(1);
    uint32_t v = 0;
    if (!read_thread_field(offsetof(rseq_abi, cpu_id), &v) || v == RSEQ_ABI_CPU_ID_UNINITIALIZED) {
      return reinterpret_cast<void*>(2);
    }
    if (release() != 0) return reinterpret_cast<void*>(3);
  }
  return nullptr;
}

void test_concurrent_churn() {
  RSEQ_SECTION("8 threads register and unregister 200 times concurrently");
  DebugCounts start = debug_counts();
  pthread_t t[8];
  for (pthread_t& th : t) CHECK_EQ(pthread_create(&th, nullptr, concurrent_churn, nullptr), 0);
  for (pthread_t& th : t) {
    void* ret = nullptr;
    pthread_join(th, &ret);
    CHECK(ret == nullptr);
  }
  CHECK(same_counts(debug_counts(), start));
}

void test_libc_length_probe() {
  volatile rseq_abi* area = libc_area();
  if (area == nullptr) {
    CHECK(g_expected != Owner::Libc);
    return;
  }
  RSEQ_SECTION("libc's registered length, probed");
  LengthProbe p = probe_registered_length(area);
  CHECK_EQ(p.length, 32);
  CHECK_EQ(p.signature, RSEQ_ABI_SIG);
  // The probe changed nothing: libc's registration still answers EBUSY.
  CHECK_EQ(sys_rseq(area, 32, 0, RSEQ_ABI_SIG), -1);
  CHECK_EQ(errno, EBUSY);
}

}  // namespace

int main() {
  const char* env = rseq_test::expected_owner_env();
  Owner detected = libc_area() != nullptr ? Owner::Libc : Owner::Addon;
  if (env != nullptr) {
    CHECK_STREQ(owner_name(detected), env);
    g_expected = strcmp(env, "libc") == 0 ? Owner::Libc : Owner::Addon;
  } else {
    g_expected = detected;
  }
  fprintf(stderr, "expected owner: %s\n", expected_name());

  test_refcounts();
  test_failed_registration();
  test_cpu_id_follows_pinning();
  test_threads();
  test_concurrent_churn();
  test_libc_length_probe();
  CHECK_EQ(thread_refs(), 0);
  DebugCounts end = debug_counts();
  CHECK_EQ(end.registrations, 0);
  CHECK_EQ(end.areas, 0);
  CHECK_EQ(end.threads, 0);
  return rseq_test::finish("test_registration");
}
