// rseq_stress - multi-threaded stress of the per-CPU critical sections, in the
// manner of the kernel selftests' param_test: many more threads than CPUs,
// thousands of repetitions each, exact invariants checked at the end.
//
// Tests (each in both id modes: cpu_id, and mm_cid where the feature size is
// >= 28):
//   counter     add: every thread increments its slot's counter; the sum of
//               all slots must be threads x reps.
//   list        an index free list per slot: pop with list pop, push back with
//               speculative store then commit (next[i] = head; head = i); no
//               index may be lost or held by two threads at once.
//   buffer      fixed-size records per slot: push = copy the record in, then
//               commit count + 1; pop = copy the last record out, then commit
//               count - 1; every record must survive intact, exactly once.
//   membarrier  writers increment per-slot counters of the active bank with
//               double compare (counter, bank word); a manager flips the bank,
//               fences (membarrier PRIVATE_EXPEDITED_RSEQ), and checks that the
//               inactive bank never changes afterwards; totals must be exact.
//
// Built twice: rseq_stress (plain) and rseq_stress_inject (-DRSEQ_INJECT): the
// latter spins at numbered points inside every section (native/arch/common.h),
// yields between attempts, and has a thread sending SIGUSR1 to the workers; it
// FAILS unless the kernel aborted sections in every test, which proves the
// abort path runs.
//
// As the task of a kernel-matrix guest (--guest: scripts/kernel-matrix.cjs
// --payload ARCH=FILE --task '/payload --guest', run by the guest's /init,
// scripts/kernel-matrix/init.c) it runs everything (the inject build: a plain
// pass, then an injected one) and prints "RSEQ-MATRIX-RESULT {json}" per
// pass; /init reports its exit status.
//
// Sizes: threads max(12, 6 x online CPUs); reps per thread 300000 plain and
// 20000 injected (guest mode, often on an emulated CPU: 100000 and 5000), or
// --reps N for every pass. In guest mode the kernel command line can set
// RSEQ_STRESS_REPS=N and RSEQ_STRESS_THREADS=N (the kernel hands key=value
// words to /init's environment, and /init to its task).
//
// Usage: rseq_stress [--reps N] [--threads N] [--tests counter,list,...]
//                    [--modes cpu,mmcid] [--guest] [--membarrier-no-fence]
//        inject build also: [--loops N] [--copy-loops N] [--no-signals]
//                           [--no-yield] [--yield-every N] [--signal-us N] [--plain]
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <vector>

#include "abi.h"
#include "auxv.h"
#include "percpu.h"
#include "probe.h"
#include "registration.h"

#ifdef RSEQ_INJECT
extern "C" {
// Delay-loop iterations at each injection point (native/arch/common.h).
volatile uint32_t rseq_inject_loops[8] = {0, 0, 0, 0, 0, 0, 0, 0};
}
constexpr bool kInjectBuild = true;
#else
constexpr bool kInjectBuild = false;
#endif

using namespace rseq_native;

namespace {

constexpr size_t kStride = 16;  // words per slot: 128 bytes, no false sharing
constexpr size_t kRecord = 32;  // bytes per record in the buffer test
constexpr int64_t kEmpty = -1;

// ---------------------------------------------------------------------------
// Options and run parameters.
// ---------------------------------------------------------------------------

struct Options {
  // Repetitions per thread of the current pass: --reps (or RSEQ_STRESS_REPS
  // in guest mode) for every pass, else a default per pass: plain sections
  // take nanoseconds, injected ones spin inside; guest mode (often an
  // emulated CPU) uses smaller defaults.
  long reps = 0;
  long reps_given = 0;
  int threads = 0;  // 0: max(12, 6 x CPUs)
  std::vector<std::string> tests{"counter", "list", "buffer", "membarrier"};
  std::vector<std::string> modes{"cpu", "mmcid"};
  bool guest = false;
  // Injection (inject build only).
  bool inject = kInjectBuild;
  uint32_t loops = 300;      // points 1, 2, 3
  uint32_t copy_loops = 20;  // point 4, per byte
  bool signals = true;
  bool yield = true;
  int yield_every = 5;
  int signal_us = 100;
  // Negative control: the membarrier manager skips the fence, so the test must
  // see the inactive bank change (run by hand: it proves the check can fail).
  bool no_fence = false;
};

Options g_opt;
int g_slots = 0;    // ids are < g_slots
int g_threads = 0;
const char* g_owner = "none";

double now_seconds() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void* xalloc(size_t bytes) {
  void* p = nullptr;
  if (posix_memalign(&p, 128, bytes) != 0) {
    fprintf(stderr, "rseq_stress: out of memory (%zu bytes)\n", bytes);
    exit(2);
  }
  memset(p, 0, bytes);
  return p;
}

inline int64_t load(const int64_t* p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
inline void store(int64_t* p, int64_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }

// ---------------------------------------------------------------------------
// The calling thread's area: the core's registration (glibc's, static or
// dynamic, or the core's own).
// ---------------------------------------------------------------------------

struct AreaRef {
  volatile rseq_abi* area = nullptr;
  bool acquired = false;
};

bool enter_area(AreaRef* ref, std::string* why) {
  Registration r = acquire();
  if (r.owner != Owner::None) {
    ref->area = thread_area();
    ref->acquired = true;
    g_owner = owner_name(r.owner);
    return ref->area != nullptr;
  }
  *why = std::string("no rseq registration: ") + r.op + " failed with errno " + std::to_string(r.err) +
         " (" + strerror(r.err) + ")";
  return false;
}

void leave_area(AreaRef* ref) {
  if (ref->acquired) release();
  ref->area = nullptr;
}

template <unsigned kOff>
inline uint32_t read_id(volatile rseq_abi* area) {
  return __atomic_load_n(reinterpret_cast<volatile uint32_t*>(
                             reinterpret_cast<volatile unsigned char*>(area) + kOff),
                         __ATOMIC_RELAXED);
}

// ---------------------------------------------------------------------------
// Workers, the retry loop, the signal thread.
// ---------------------------------------------------------------------------

struct Stats {
  uint64_t attempts = 0;
  uint64_t aborts = 0;
  uint64_t moved = 0;
  uint64_t empty = 0;   // list/buffer pops that found nothing
  uint64_t yields = 0;

  void add(const Stats& o) {
    attempts += o.attempts;
    aborts += o.aborts;
    moved += o.moved;
    empty += o.empty;
    yields += o.yields;
  }
};

std::atomic<bool> g_failed{false};
pthread_mutex_t g_error_lock = PTHREAD_MUTEX_INITIALIZER;
std::string g_error;

void fail(const std::string& what) {
  pthread_mutex_lock(&g_error_lock);
  if (g_error.empty()) g_error = what;
  pthread_mutex_unlock(&g_error_lock);
  g_failed.store(true);
}

struct Worker {
  pthread_t thread;
  int index = 0;
  Stats st;
  std::atomic<bool> done{false};
  volatile rseq_abi* area = nullptr;
  unsigned yield_tick = 0;
};

// Runs attempt(id) until it neither aborts nor finds the thread moved; returns
// that status, or -1 when the id is outside the slots (a failure).
template <unsigned kOff, class F>
inline int retry(Worker* w, F attempt) {
  for (;;) {
    if (g_opt.inject && g_opt.yield && ++w->yield_tick % static_cast<unsigned>(g_opt.yield_every) == 0) {
      sched_yield();
      w->st.yields++;
    }
    uint32_t id = read_id<kOff>(w->area);
    if (id >= static_cast<uint32_t>(g_slots)) {
      fail("id " + std::to_string(id) + " is not below the slot count " + std::to_string(g_slots));
      return -1;
    }
    int s = attempt(id);
    w->st.attempts++;
    if (s == RSEQ_OP_ABORTED) {
      w->st.aborts++;
    } else if (s == RSEQ_OP_MOVED) {
      w->st.moved++;
    } else {
      return s;
    }
  }
}

struct SignalThread {
  pthread_t thread;
  std::vector<Worker>* workers = nullptr;
  std::atomic<bool> stop{false};
  uint64_t sent = 0;
  bool running = false;
};

void on_sigusr1(int) {}

void* signal_main(void* p) {
  SignalThread* s = static_cast<SignalThread*>(p);
  while (!s->stop.load(std::memory_order_relaxed)) {
    for (Worker& w : *s->workers) {
      if (w.done.load(std::memory_order_acquire)) continue;
      // Not yet joined, so the id is valid even if the thread just ended.
      if (pthread_kill(w.thread, SIGUSR1) == 0) s->sent++;
    }
    usleep(static_cast<useconds_t>(g_opt.signal_us));
  }
  return nullptr;
}

// One test run: `body(worker)` runs on every worker thread with its area set.
// An optional `manager` runs on the calling thread while the workers work.
struct RunResult {
  Stats st;
  double seconds = 0;
  uint64_t signals = 0;
};

template <class Body>
struct WorkerArgs {
  Worker* w;
  Body* body;
  pthread_barrier_t* start;
};

template <class Body>
void* worker_main(void* p) {
  WorkerArgs<Body>* a = static_cast<WorkerArgs<Body>*>(p);
  AreaRef ref;
  std::string why;
  bool ok = enter_area(&ref, &why);
  if (!ok) fail(why);
  pthread_barrier_wait(a->start);
  if (ok && !g_failed.load()) {
    a->w->area = ref.area;
    (*a->body)(a->w);
  }
  leave_area(&ref);
  a->w->done.store(true, std::memory_order_release);
  return nullptr;
}

template <class Body, class Manager>
RunResult run_threads(Body body, Manager manager) {
  std::vector<Worker> workers(static_cast<size_t>(g_threads));
  std::vector<WorkerArgs<Body>> args(workers.size());
  pthread_barrier_t start;
  pthread_barrier_init(&start, nullptr, static_cast<unsigned>(workers.size() + 1));
  double t0 = now_seconds();
  size_t created = 0;
  for (size_t i = 0; i < workers.size(); ++i) {
    workers[i].index = static_cast<int>(i);
    args[i] = WorkerArgs<Body>{&workers[i], &body, &start};
    int e = pthread_create(&workers[i].thread, nullptr, worker_main<Body>, &args[i]);
    if (e != 0) {
      fprintf(stderr, "rseq_stress: pthread_create: %s\n", strerror(e));
      exit(2);
    }
    ++created;
  }
  pthread_barrier_wait(&start);

  SignalThread sig;
  sig.workers = &workers;
  if (g_opt.inject && g_opt.signals) {
    if (pthread_create(&sig.thread, nullptr, signal_main, &sig) == 0) sig.running = true;
  }

  manager(workers);

  // Wait for every worker before stopping the signal thread: it may only
  // signal threads that are not yet joined.
  for (Worker& w : workers) {
    while (!w.done.load(std::memory_order_acquire)) usleep(1000);
  }
  if (sig.running) {
    sig.stop.store(true);
    pthread_join(sig.thread, nullptr);
  }
  RunResult r;
  for (Worker& w : workers) {
    pthread_join(w.thread, nullptr);
    r.st.add(w.st);
  }
  pthread_barrier_destroy(&start);
  r.seconds = now_seconds() - t0;
  r.signals = sig.sent;
  return r;
}

struct NoManager {
  void operator()(std::vector<Worker>&) const {}
};

// ---------------------------------------------------------------------------
// counter: add
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// list: pop with list pop, push with speculative store then commit
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// buffer: records pushed and popped with copy then commit
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// membarrier: double-compare writers, a manager that flips banks and fences
// ---------------------------------------------------------------------------

struct BankStats {
  uint64_t flips = 0;
  uint64_t violations = 0;
};

template <unsigned kOff>
RunResult test_membarrier(std::string* verdict, BankStats* bs) {
  int fe = fence(-1);
  if (fe != 0) {
    *verdict = std::string("skipped: membarrier RSEQ fence gives ") + strerror(fe);
    return RunResult();
  }
  int64_t* bank = static_cast<int64_t*>(xalloc(kStride * 8));
  int64_t* ctr[2];
  for (int b = 0; b < 2; ++b) ctr[b] = static_cast<int64_t*>(xalloc(static_cast<size_t>(g_slots) * kStride * 8));
  long reps = g_opt.reps;
  auto body = [&](Worker* w) {
    for (long i = 0; i < reps && !g_failed.load(std::memory_order_relaxed); ++i) {
      int s = retry<kOff>(w, [&](uint32_t id) {
        for (;;) {
          int64_t b = load(bank);
          int64_t* v = &ctr[b][id * kStride];
          int64_t c = load(v);
          int r = rseq_arch::op_double_compare_store<kOff>(w->area, id, v, c, bank, b, c + 1);
          if (r != RSEQ_OP_COMPARE_FAILED) return r;
          w->st.attempts++;
        }
      });
      if (s != RSEQ_OP_COMMITTED) {
        if (s != -1) fail("membarrier: double compare returned status " + std::to_string(s));
        return;
      }
    }
  };
  int64_t total = 0;
  std::vector<int64_t> snap(static_cast<size_t>(g_slots));
  auto manager = [&](std::vector<Worker>& workers) {
    auto all_done = [&]() {
      for (Worker& w : workers)
        if (!w.done.load(std::memory_order_acquire)) return false;
      return true;
    };
    while (!all_done() && !g_failed.load()) {
      int64_t b = load(bank);
      __atomic_store_n(bank, 1 - b, __ATOMIC_SEQ_CST);
      int e = g_opt.no_fence ? 0 : fence(-1);
      if (e != 0) {
        fail(std::string("membarrier: fence failed: ") + strerror(e));
        return;
      }
      // From here on no section may commit to bank b.
      for (int s = 0; s < g_slots; ++s) snap[s] = load(&ctr[b][static_cast<size_t>(s) * kStride]);
      struct timespec pause = {0, 200 * 1000};
      nanosleep(&pause, nullptr);
      for (int s = 0; s < g_slots; ++s) {
        int64_t* v = &ctr[b][static_cast<size_t>(s) * kStride];
        if (load(v) != snap[s]) bs->violations++;
        total += snap[s];
        store(v, 0);
      }
      bs->flips++;
    }
  };
  RunResult r = run_threads(body, manager);
  for (int b = 0; b < 2; ++b)
    for (int s = 0; s < g_slots; ++s) total += ctr[b][static_cast<size_t>(s) * kStride];
  int64_t want = static_cast<int64_t>(g_threads) * reps;
  if (bs->violations != 0) {
    *verdict = "FAIL: the inactive bank changed " + std::to_string(bs->violations) + " times";
  } else if (!g_failed.load() && total != want) {
    *verdict = "FAIL: total " + std::to_string(total) + " != " + std::to_string(want);
  }
  free(ctr[0]);
  free(ctr[1]);
  free(bank);
  return r;
}

// ---------------------------------------------------------------------------
// Driver
// ---------------------------------------------------------------------------

struct TestOutcome {
  std::string name;
  std::string mode;
  std::string verdict;  // "ok", "FAIL: ...", "skipped: ..."
  RunResult r;
};

bool has(const std::vector<std::string>& v, const char* s) {
  for (const std::string& x : v)
    if (x == s) return true;
  return false;
}

template <unsigned kOff>
void run_mode(const char* mode, std::vector<TestOutcome>* out) {
  struct Entry {
    const char* name;
    RunResult (*fn)(std::string*);
  };
  auto membarrier_fn = [](std::string* v) {
    BankStats bs;
    RunResult r = test_membarrier<kOff>(v, &bs);
    if (r.seconds > 0) printf("   membarrier: %llu bank flips\n", static_cast<unsigned long long>(bs.flips));
    return r;
  };
  const Entry entries[] = {
      {"counter", test_counter<kOff>},
      {"list", test_list<kOff>},
      {"buffer", test_buffer<kOff>},
      {"membarrier", membarrier_fn},
  };
  for (const Entry& e : entries) {
    if (!has(g_opt.tests, e.name)) continue;
    g_failed.store(false);
    g_error.clear();
    TestOutcome t;
    t.name = e.name;
    t.mode = mode;
    std::string verdict;
    t.r = e.fn(&verdict);
    if (g_failed.load()) verdict = "FAIL: " + g_error;
    bool skipped = verdict.rfind("skipped", 0) == 0;
    if (verdict.empty() && g_opt.inject && t.r.st.aborts == 0) {
      verdict = "FAIL: injection produced no aborts (the abort path never ran)";
    }
    t.verdict = verdict.empty() ? "ok" : verdict;
    const char* tag = t.verdict == "ok" ? "ok" : skipped ? "skip" : "FAIL";
    printf("[%s] %-10s %-4s %d threads x %ld reps, %.2f s, attempts %llu, aborts %llu, moved %llu, "
           "empty %llu, yields %llu, signals %llu\n",
           mode, e.name, tag, g_threads, g_opt.reps, t.r.seconds,
           static_cast<unsigned long long>(t.r.st.attempts), static_cast<unsigned long long>(t.r.st.aborts),
           static_cast<unsigned long long>(t.r.st.moved), static_cast<unsigned long long>(t.r.st.empty),
           static_cast<unsigned long long>(t.r.st.yields), static_cast<unsigned long long>(t.r.signals));
    if (t.verdict != "ok") printf("[%s] %s: %s\n", mode, e.name, t.verdict.c_str());
    fflush(stdout);
    out->push_back(t);
  }
}

void set_inject_loops(uint32_t loops, uint32_t copy_loops) {
#ifdef RSEQ_INJECT
  rseq_inject_loops[1] = loops;
  rseq_inject_loops[2] = loops;
  rseq_inject_loops[3] = loops;
  rseq_inject_loops[4] = copy_loops;
#else
  (void)loops;
  (void)copy_loops;
#endif
}

struct PassResult {
  std::vector<TestOutcome> tests;
  bool mmcid = false;
  double seconds = 0;
};

long default_reps(bool inject, bool guest) {
  if (inject) return guest ? 5000 : 20000;
  return guest ? 100000 : 300000;
}

PassResult run_pass() {
  PassResult p;
  g_opt.reps = g_opt.reps_given > 0 ? g_opt.reps_given : default_reps(g_opt.inject, g_opt.guest);
  double t0 = now_seconds();
  set_inject_loops(g_opt.inject ? g_opt.loops : 0, g_opt.inject ? g_opt.copy_loops : 0);
  if (has(g_opt.modes, "cpu")) run_mode<RSEQ_ARCH_ID_CPU_ID>("cpu_id", &p.tests);
  if (has(g_opt.modes, "mmcid")) {
    if (mode_available(IdMode::MmCid)) {
      p.mmcid = true;
      run_mode<RSEQ_ARCH_ID_MM_CID>("mm_cid", &p.tests);
    } else {
      printf("[mm_cid] skipped: feature size %lu < 28\n", effective_feature_size());
    }
  }
  p.seconds = now_seconds() - t0;
  return p;
}

bool pass_ok(const PassResult& p) {
  for (const TestOutcome& t : p.tests)
    if (t.verdict != "ok" && t.verdict.rfind("skipped", 0) != 0) return false;
  return true;
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    o += c;
  }
  return o;
}

// One RSEQ-MATRIX-RESULT line for a pass: per test "ok" when every mode that
// ran passed, else the first failure; aborts/moved summed over all tests.
void print_matrix_result(const char* pass, const PassResult& p) {
  struct utsname u;
  std::string release = uname(&u) == 0 ? u.release : "?";
  uint64_t aborts = 0, moved = 0;
  std::string line = "{\"pass\":\"" + std::string(pass) + "\",\"release\":\"" + json_escape(release) +
                     "\",\"featureSize\":" + std::to_string(auxv_get(AT_RSEQ_FEATURE_SIZE)) +
                     ",\"owner\":\"" + g_owner + "\",\"threads\":" + std::to_string(g_threads) +
                     ",\"reps\":" + std::to_string(g_opt.reps);
  for (const char* name : {"counter", "list", "buffer", "membarrier"}) {
    std::string v;
    for (const TestOutcome& t : p.tests) {
      if (t.name != name) continue;
      if (t.verdict != "ok" && (v.empty() || v == "ok")) v = t.mode + ": " + t.verdict;
      if (v.empty()) v = "ok";
    }
    if (!v.empty()) line += ",\"" + std::string(name) + "\":\"" + json_escape(v) + "\"";
  }
  for (const TestOutcome& t : p.tests) {
    aborts += t.r.st.aborts;
    moved += t.r.st.moved;
  }
  char secs[32];
  snprintf(secs, sizeof secs, "%.1f", p.seconds);
  line += ",\"mmcid\":\"" + std::string(p.mmcid ? "ran" : "skipped") + "\",\"aborts\":" + std::to_string(aborts) +
          ",\"moved\":" + std::to_string(moved) + ",\"seconds\":" + secs + "}";
  printf("RSEQ-MATRIX-RESULT %s\n", line.c_str());
  fflush(stdout);
}

// --- sizes ------------------------------------------------------------------

void size_run() {
  std::vector<int> possible;
  int max_id = -1;
  if (possible_cpus(&possible) == 0 && !possible.empty()) {
    max_id = possible.back();
  } else {
    max_id = get_nprocs_conf() - 1;
  }
  if (max_id < 0) max_id = 0;
  g_slots = max_id + 1;
  int online = get_nprocs();
  if (online < 1) online = 1;
  g_threads = g_opt.threads > 0 ? g_opt.threads : (6 * online < 12 ? 12 : 6 * online);
}

void usage() {
  fprintf(stderr,
          "usage: rseq_stress [--reps N] [--threads N] [--tests counter,list,buffer,membarrier]\n"
          "                   [--modes cpu,mmcid] [--guest] [--membarrier-no-fence]\n"
          "       inject build: [--loops N] [--copy-loops N] [--no-signals] [--no-yield]\n"
          "                     [--yield-every N] [--signal-us N] [--plain]\n");
}

std::vector<std::string> split(const char* s) {
  std::vector<std::string> out;
  std::string cur;
  for (const char* p = s;; ++p) {
    if (*p == ',' || *p == '\0') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
      if (*p == '\0') break;
    } else {
      cur += *p;
    }
  }
  return out;
}

bool parse_long(const char* s, long min, long* out) {
  char* end = nullptr;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < min) return false;
  *out = v;
  return true;
}

bool parse_args(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](long min, long* out) {
      if (i + 1 >= argc || !parse_long(argv[i + 1], min, out)) {
        fprintf(stderr, "rseq_stress: %s needs an integer >= %ld\n", a.c_str(), min);
        return false;
      }
      ++i;
      return true;
    };
    long v = 0;
    if (a == "--reps") {
      if (!value(1, &v)) return false;
      g_opt.reps_given = v;
    } else if (a == "--threads") {
      if (!value(1, &v)) return false;
      g_opt.threads = static_cast<int>(v);
    } else if (a == "--tests" && i + 1 < argc) {
      g_opt.tests = split(argv[++i]);
    } else if (a == "--modes" && i + 1 < argc) {
      g_opt.modes = split(argv[++i]);
    } else if (a == "--membarrier-no-fence") {
      g_opt.no_fence = true;
    } else if (a == "--guest") {
      g_opt.guest = true;
    } else if (kInjectBuild && a == "--loops") {
      if (!value(0, &v)) return false;
      g_opt.loops = static_cast<uint32_t>(v);
    } else if (kInjectBuild && a == "--copy-loops") {
      if (!value(0, &v)) return false;
      g_opt.copy_loops = static_cast<uint32_t>(v);
    } else if (kInjectBuild && a == "--no-signals") {
      g_opt.signals = false;
    } else if (kInjectBuild && a == "--no-yield") {
      g_opt.yield = false;
    } else if (kInjectBuild && a == "--yield-every") {
      if (!value(1, &v)) return false;
      g_opt.yield_every = static_cast<int>(v);
    } else if (kInjectBuild && a == "--signal-us") {
      if (!value(1, &v)) return false;
      g_opt.signal_us = static_cast<int>(v);
    } else if (kInjectBuild && a == "--plain") {
      g_opt.inject = false;
    } else if (a == "--help" || a == "-h") {
      usage();
      exit(0);
    } else {
      fprintf(stderr, "rseq_stress: unknown argument %s\n", a.c_str());
      usage();
      return false;
    }
  }
  return true;
}

// In guest mode the kernel's key=value words reach the environment (through
// /init): RSEQ_STRESS_REPS / RSEQ_STRESS_THREADS override the sizes.
void env_overrides() {
  long v = 0;
  if (const char* s = getenv("RSEQ_STRESS_REPS"))
    if (parse_long(s, 1, &v)) g_opt.reps_given = v;
  if (const char* s = getenv("RSEQ_STRESS_THREADS"))
    if (parse_long(s, 1, &v)) g_opt.threads = static_cast<int>(v);
}

}  // namespace

int main(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  if (!parse_args(argc, argv)) return 2;
  if (g_opt.guest) env_overrides();

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigusr1;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, nullptr);

  size_run();
  printf("rseq_stress%s: %s, kernel feature size %lu, %d slots, %d threads\n",
         kInjectBuild ? " (inject build)" : "", RSEQ_ABI_ARCH_NAME, effective_feature_size(), g_slots,
         g_threads);

  if (g_opt.guest) {
    int code = 0;
    if (kInjectBuild) {
      bool inject = g_opt.inject;
      g_opt.inject = false;
      PassResult plain = run_pass();
      print_matrix_result("plain", plain);
      if (!pass_ok(plain)) code = 1;
      if (inject) {
        g_opt.inject = true;
        PassResult inj = run_pass();
        print_matrix_result("inject", inj);
        if (!pass_ok(inj)) code = 1;
      }
    } else {
      PassResult plain = run_pass();
      print_matrix_result("plain", plain);
      if (!pass_ok(plain)) code = 1;
    }
    return code;
  }

  PassResult p = run_pass();
  int passed = 0, failed = 0;
  uint64_t aborts = 0;
  for (const TestOutcome& t : p.tests) {
    aborts += t.r.st.aborts;
    if (t.verdict == "ok" || t.verdict.rfind("skipped", 0) == 0) {
      ++passed;
    } else {
      ++failed;
    }
  }
  printf("rseq_stress: owner %s, %s, %.1f s, aborts %llu\n", g_owner,
         g_opt.inject ? "injection on" : "no injection", p.seconds, static_cast<unsigned long long>(aborts));
  // ctest's run with glibc's registration off promises the core's own area.
  const char* want_owner = getenv("RSEQ_TEST_EXPECT_OWNER");
  if (want_owner != nullptr && *want_owner != '\0' && strcmp(want_owner, g_owner) != 0) {
    printf("rseq_stress: owner %s, but RSEQ_TEST_EXPECT_OWNER=%s\n", g_owner, want_owner);
    ++failed;
  }
  printf("rseq_stress: %d passed, %d failed\n", passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}
