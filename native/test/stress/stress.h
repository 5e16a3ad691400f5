// What the files of the stress binary (native/test/stress/, see main.cc)
// share: its options and sizes, the failure record, the calling thread's
// area, the worker threads with the retry loop and the signal thread
// (threads.cc), the four tests (counter.cc, list.cc, buffer.cc,
// membarrier.cc), and the passes that run them in each id mode (passes.cc).
//
// Every file is compiled alike for a build: rseq_stress plain,
// rseq_stress_inject with -DRSEQ_INJECT (delay loops inside the sections).
#ifndef RSEQ_TEST_STRESS_STRESS_H
#define RSEQ_TEST_STRESS_STRESS_H

#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <vector>

#include "abi.h"
#include "percpu.h"
#include "registration.h"

namespace rseq_stress {

using namespace rseq_native;

#ifdef RSEQ_INJECT
constexpr bool kInjectBuild = true;
#else
constexpr bool kInjectBuild = false;
#endif

constexpr size_t kStride = 16;  // words per slot: 128 bytes, no false sharing
constexpr size_t kRecord = 32;  // bytes per record in the buffer test
constexpr int64_t kEmpty = -1;

// ---------------------------------------------------------------------------
// Options and run parameters (main.cc sets them).
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

extern Options g_opt;
extern int g_slots;    // ids are < g_slots
extern int g_threads;
extern const char* g_owner;  // the registration's owner, once a worker has one

double now_seconds();
void* xalloc(size_t bytes);  // zeroed, 128-byte aligned; exits on failure

inline int64_t load(const int64_t* p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
inline void store(int64_t* p, int64_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }

// ---------------------------------------------------------------------------
// Failures: the first one of a test run is kept; every worker stops at once.
// ---------------------------------------------------------------------------

extern std::atomic<bool> g_failed;
void fail(const std::string& what);
void clear_failure();
std::string failure();

// ---------------------------------------------------------------------------
// The calling thread's area: the core's registration (glibc's, static or
// dynamic, or the core's own).
// ---------------------------------------------------------------------------

struct AreaRef {
  volatile rseq_abi* area = nullptr;
  bool acquired = false;
};

bool enter_area(AreaRef* ref, std::string* why);
void leave_area(AreaRef* ref);

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

// SIGUSR1 with an empty handler (SA_RESTART): the signal thread's signal
// interrupts sections, and nothing else.
void install_sigusr1();
void* signal_main(void* p);

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
// The tests (one file each). A test returns its run's figures and sets
// *verdict to "FAIL: ..." or "skipped: ..." unless it passed; explicit
// instantiations for both id modes (RSEQ_ARCH_ID_CPU_ID, RSEQ_ARCH_ID_MM_CID)
// are in each file.
// ---------------------------------------------------------------------------

struct BankStats {
  uint64_t flips = 0;
  uint64_t violations = 0;
};

template <unsigned kOff>
RunResult test_counter(std::string* verdict);
template <unsigned kOff>
RunResult test_list(std::string* verdict);
template <unsigned kOff>
RunResult test_buffer(std::string* verdict);
template <unsigned kOff>
RunResult test_membarrier(std::string* verdict, BankStats* bs);

// ---------------------------------------------------------------------------
// Passes (passes.cc): every chosen test in every chosen id mode.
// ---------------------------------------------------------------------------

struct TestOutcome {
  std::string name;
  std::string mode;
  std::string verdict;  // "ok", "FAIL: ...", "skipped: ..."
  RunResult r;
};

struct PassResult {
  std::vector<TestOutcome> tests;
  bool mmcid = false;
  double seconds = 0;
};

// Runs a pass with g_opt's sizes and injection (--reps, else the default for
// the build and mode); prints one line per test.
PassResult run_pass();
bool pass_ok(const PassResult& p);
// One RSEQ-MATRIX-RESULT line for a pass (guest mode).
void print_matrix_result(const char* pass, const PassResult& p);

}  // namespace rseq_stress

#endif  // RSEQ_TEST_STRESS_STRESS_H
