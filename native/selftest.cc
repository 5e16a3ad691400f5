// native/selftest.cc - see selftest.h.
#include "selftest.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <new>
#include <vector>

#include "percpu.h"
#include "registration.h"

namespace rseq_native {
namespace {

// Aborts a phase wants before it stops early.
constexpr uint64_t kTargetAborts = 32;
// The CPUs the ids phase visits at most.
constexpr int kMaxIdCpus = 256;

pthread_mutex_t g_selftest_lock = PTHREAD_MUTEX_INITIALIZER;
std::atomic<int> g_last_verdict{0};

double now_ms() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

void sleep_us(long us) {
  struct timespec ts;
  ts.tv_sec = us / 1000000;
  ts.tv_nsec = (us % 1000000) * 1000;
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

void set_reason(SelftestCheck* c, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void set_reason(SelftestCheck* c, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->reason, sizeof c->reason, fmt, ap);
  va_end(ap);
}

void init_check(SelftestCheck* c) {
  memset(c, 0, sizeof *c);
  c->status = SelftestStatus::Skipped;
  c->cpus[0] = -1;
  c->cpus[1] = -1;
}

bool pin_self(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof set, &set) == 0;
}

bool pin_tid(pid_t tid, int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(tid, sizeof set, &set) == 0;
}

// The calling thread's allowed CPUs, ascending.
std::vector<int> allowed_cpus() {
  std::vector<int> out;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return out;
  for (int c = 0; c < CPU_SETSIZE; c++) {
    if (CPU_ISSET(c, &set)) out.push_back(c);
  }
  return out;
}

enum class Phase { SameCpu, Migration, Signal };

// Shared by a phase's threads. Slots are 64-bit words 8 words apart (one
// cache line each), indexed by CPU in the migration phase; slot 0 otherwise.
struct Shared {
  Phase phase;
  int64_t* slots;
  size_t nslots;
  std::atomic<int> go{0};
  std::atomic<int> stop{0};
};

// One thread of a phase: everything in it is written by that thread only,
// except `signals` (its own signal handler) and `ready`/`tid`/`self` (read by
// the controller after `ready`).
struct Worker {
  Shared* shared;
  int pin;  // -1: not pinned
  pthread_t self;
  std::atomic<pid_t> tid{0};
  std::atomic<int> ready{0};  // 1 running, -1 failed before starting
  char failure[120];
  uint64_t attempts = 0, commits = 0, aborts = 0, moved = 0;
  uint64_t cpu_changes = 0, attributed = 0;
  std::atomic<uint64_t> signals{0};
  std::atomic<uint64_t> handler_adds{0};
  long nivcsw = 0;
  // The same-CPU phase's section copies this much before its commit (below).
  unsigned char wide_src[1024] = {0};
  unsigned char wide_dst[1024] = {0};
};

constexpr size_t kSlotStride = 8;

// How long a phase waits for its threads to start, apart from its budget: on
// a machine whose CPUs are all busy a new pinned thread may wait its turn.
constexpr double kStartGraceMs = 5000;

// The worker whose SIGALRM handler adds to the slot (signal phase only).
std::atomic<Worker*> g_signal_worker{nullptr};
// The SIGALRM disposition before the signal phase was SIG_IGN.
std::atomic<int> g_prev_ignored{0};

void on_alarm(int sig) {
  int saved = errno;
  Worker* w = g_signal_worker.load(std::memory_order_acquire);
  if (w != nullptr && w->ready.load(std::memory_order_acquire) == 1 && pthread_equal(pthread_self(), w->self)) {
    // An interrupting writer on the same CPU: a plain load and store of the
    // slot the section updates. A section that is not aborted by this
    // signal commits over it, and the sum comes out short.
    int64_t* slot = &w->shared->slots[0];
    int64_t v = __atomic_load_n(slot, __ATOMIC_RELAXED);
    __atomic_store_n(slot, v + 1, __ATOMIC_RELAXED);
    w->handler_adds.fetch_add(1, std::memory_order_relaxed);
    w->signals.fetch_add(1, std::memory_order_relaxed);
  } else if (!g_prev_ignored.load(std::memory_order_relaxed)) {
    // Not one of ours (a SIGALRM sent to the process): what SIG_DFL would do.
    signal(sig, SIG_DFL);
    raise(sig);
  }
  errno = saved;
}

void* worker_main(void* arg) {
  Worker* w = static_cast<Worker*>(arg);
  Shared* sh = w->shared;
  w->self = pthread_self();
  w->tid.store(static_cast<pid_t>(syscall(SYS_gettid)), std::memory_order_relaxed);
  if (w->pin >= 0 && !pin_self(w->pin)) {
    snprintf(w->failure, sizeof w->failure, "sched_setaffinity to CPU %d failed (%s)", w->pin, strerror(errno));
    w->ready.store(-1, std::memory_order_release);
    return nullptr;
  }
  Registration reg = acquire();
  if (reg.err != 0 || reg.owner == Owner::None) {
    snprintf(w->failure, sizeof w->failure, "no rseq registration on the selftest thread (%s: %s)",
             reg.op != nullptr ? reg.op : "register", strerror(reg.err));
    w->ready.store(-1, std::memory_order_release);
    return nullptr;
  }
  OpContext ctx;
  if (op_prepare(IdMode::CpuId, &ctx) != PrepareError::None) {
    snprintf(w->failure, sizeof w->failure, "the selftest thread cannot run sections");
    release();
    w->ready.store(-1, std::memory_order_release);
    return nullptr;
  }
  w->ready.store(1, std::memory_order_release);
  while (sh->go.load(std::memory_order_acquire) == 0) {
    if (sh->stop.load(std::memory_order_relaxed)) break;
    sched_yield();
  }
  uint32_t last_cpu = op_current_id(ctx);
  while (!sh->stop.load(std::memory_order_relaxed)) {
    uint32_t id = op_current_id(ctx);
    if (id != last_cpu) {
      w->cpu_changes++;
      last_cpu = id;
    }
    int64_t* slot = &sh->slots[0];
    if (sh->phase == Phase::Migration) {
      if (id >= sh->nslots) continue;  // not a CPU number (never, once registered)
      slot = &sh->slots[id * kSlotStride];
    }
    uint64_t signals_before = w->signals.load(std::memory_order_relaxed);
    int s;
    if (sh->phase == Phase::SameCpu) {
      // A wide section: compare the slot with what was read, copy 1 KiB, then
      // commit read + 1. The other thread on this CPU runs only when this one
      // is preempted, so a preemption must land inside a section to be seen;
      // the copy makes the section most of each iteration (an add alone is a
      // few instructions: under load or AddressSanitizer no preemption may
      // land in one for a whole phase). A kernel that does not abort the
      // preempted section commits a stale read + 1: the sum comes up short.
      int64_t seen = __atomic_load_n(slot, __ATOMIC_RELAXED);
      s = op_copy_commit(ctx, id, slot, seen, w->wide_dst, w->wide_src, sizeof w->wide_src, seen + 1, false);
      if (s == RSEQ_OP_COMPARE_FAILED) continue;  // the other thread committed first: read again
    } else {
      s = op_add(ctx, id, slot, 1);
    }
    w->attempts++;
    if (s == RSEQ_OP_COMMITTED) {
      w->commits++;
    } else if (s == RSEQ_OP_ABORTED) {
      // Read by the controller while the phase runs (to stop early): atomic.
      __atomic_fetch_add(&w->aborts, 1, __ATOMIC_RELAXED);
      bool migrated = sh->phase == Phase::Migration && op_current_id(ctx) != id;
      bool signalled = sh->phase == Phase::Signal && w->signals.load(std::memory_order_relaxed) != signals_before;
      if (migrated || signalled) __atomic_fetch_add(&w->attributed, 1, __ATOMIC_RELAXED);
    } else if (s == RSEQ_OP_MOVED) {
      w->moved++;
    }
  }
  struct rusage ru;
  if (getrusage(RUSAGE_THREAD, &ru) == 0) w->nivcsw = ru.ru_nivcsw;
  release();
  return nullptr;
}

// Starts n workers; false (and everything joined) when one cannot start.
bool start_workers(Worker* ws, int n, pthread_t* th, double deadline, SelftestCheck* c) {
  int started = 0;
  for (; started < n; started++) {
    int e = pthread_create(&th[started], nullptr, worker_main, &ws[started]);
    if (e != 0) {
      set_reason(c, "pthread_create failed (%s)", strerror(e));
      break;
    }
  }
  bool ok = started == n;
  for (int i = 0; ok && i < n; i++) {
    while (ws[i].ready.load(std::memory_order_acquire) == 0 && now_ms() < deadline) sleep_us(100);
    int r = ws[i].ready.load(std::memory_order_acquire);
    if (r != 1) {
      ok = false;
      set_reason(c, "%s", r == 0 ? "a selftest thread did not start in time" : ws[i].failure);
    }
  }
  if (!ok) {
    ws[0].shared->stop.store(1, std::memory_order_relaxed);
    for (int i = 0; i < started; i++) pthread_join(th[i], nullptr);
  }
  return ok;
}

void sum_workers(const Worker* ws, int n, SelftestCheck* c) {
  for (int i = 0; i < n; i++) {
    c->attempts += ws[i].attempts;
    c->commits += ws[i].commits;
    c->aborts += ws[i].aborts;
    c->moved += ws[i].moved;
    c->attributed += ws[i].attributed;
  }
}

uint64_t total_aborts_so_far(const Worker* ws, int n) {
  // Read racily by the controller only to decide when to stop; the counts
  // reported are read after the join.
  uint64_t a = 0;
  for (int i = 0; i < n; i++) a += __atomic_load_n(&ws[i].aborts, __ATOMIC_RELAXED);
  return a;
}

uint64_t attributed_so_far(const Worker* ws, int n) {
  uint64_t a = 0;
  for (int i = 0; i < n; i++) a += __atomic_load_n(&ws[i].attributed, __ATOMIC_RELAXED);
  return a;
}

void same_cpu_phase(int cpu, double budget, SelftestCheck* c) {
  double t0 = now_ms();
  double deadline = t0 + budget + kStartGraceMs;  // until the threads run; then budget from there
  c->cpus[0] = cpu;
  int64_t slot[kSlotStride] = {0};
  Shared sh;
  sh.phase = Phase::SameCpu;
  sh.slots = slot;
  sh.nslots = 1;
  Worker ws[2];
  pthread_t th[2];
  for (auto& w : ws) {
    w.shared = &sh;
    w.pin = cpu;
  }
  if (!start_workers(ws, 2, th, deadline, c)) {
    c->ms = now_ms() - t0;
    return;
  }
  deadline = now_ms() + budget;
  sh.go.store(1, std::memory_order_release);
  while (now_ms() < deadline && total_aborts_so_far(ws, 2) < kTargetAborts) sleep_us(2000);
  sh.stop.store(1, std::memory_order_relaxed);
  for (auto& t : th) pthread_join(t, nullptr);
  sum_workers(ws, 2, c);
  c->events = static_cast<uint64_t>(ws[0].nivcsw + ws[1].nivcsw);
  c->expected = c->commits;
  c->sum = static_cast<uint64_t>(slot[0]);
  c->ms = now_ms() - t0;
  if (c->sum != c->expected) {
    c->status = SelftestStatus::Broken;
    set_reason(c, "two threads on CPU %d: the slot holds %llu after %llu committed adds: a section was not aborted when the other thread ran on its CPU",
               cpu, static_cast<unsigned long long>(c->sum), static_cast<unsigned long long>(c->expected));
  } else if (c->aborts == 0) {
    c->status = SelftestStatus::Inconclusive;
    set_reason(c, "no preemption landed inside a section in %.0f ms (%llu involuntary switches)", c->ms,
               static_cast<unsigned long long>(c->events));
  } else {
    c->status = SelftestStatus::Ok;
  }
}

void migration_phase(int a, int b, double budget, SelftestCheck* c) {
  double t0 = now_ms();
  double deadline = t0 + budget + kStartGraceMs;  // until the threads run; then budget from there
  c->cpus[0] = a;
  c->cpus[1] = b;
  size_t nslots = static_cast<size_t>((a > b ? a : b) + 1);
  int64_t* slots = new (std::nothrow) int64_t[nslots * kSlotStride]();
  if (slots == nullptr) {
    set_reason(c, "out of memory");
    return;
  }
  Shared sh;
  sh.phase = Phase::Migration;
  sh.slots = slots;
  sh.nslots = nslots;
  Worker ws[2];
  pthread_t th[2];
  ws[0].shared = ws[1].shared = &sh;
  ws[0].pin = a;
  ws[1].pin = b;
  if (!start_workers(ws, 2, th, deadline, c)) {
    delete[] slots;
    c->ms = now_ms() - t0;
    return;
  }
  pid_t t0id = ws[0].tid.load(std::memory_order_relaxed);
  pid_t t1id = ws[1].tid.load(std::memory_order_relaxed);
  deadline = now_ms() + budget;
  sh.go.store(1, std::memory_order_release);
  bool flip = false;
  int setaffinity_errno = 0;
  while (now_ms() < deadline && attributed_so_far(ws, 2) < kTargetAborts / 2) {
    flip = !flip;
    // Swap the two threads' CPUs: each lands where the other was running.
    if (!pin_tid(t0id, flip ? b : a) || !pin_tid(t1id, flip ? a : b)) {
      setaffinity_errno = errno;
      break;
    }
    sleep_us(1000);
  }
  sh.stop.store(1, std::memory_order_relaxed);
  for (auto& t : th) pthread_join(t, nullptr);
  sum_workers(ws, 2, c);
  c->events = ws[0].cpu_changes + ws[1].cpu_changes;
  c->expected = c->commits;
  uint64_t sum = 0;
  for (size_t i = 0; i < nslots; i++) sum += static_cast<uint64_t>(slots[i * kSlotStride]);
  c->sum = sum;
  delete[] slots;
  c->ms = now_ms() - t0;
  if (c->sum != c->expected) {
    c->status = SelftestStatus::Broken;
    set_reason(c, "threads migrated between CPUs %d and %d: the slots hold %llu after %llu committed adds", a, b,
               static_cast<unsigned long long>(c->sum), static_cast<unsigned long long>(c->expected));
  } else if (setaffinity_errno != 0 && c->events == 0) {
    c->status = SelftestStatus::Skipped;
    set_reason(c, "sched_setaffinity on the selftest threads failed (%s)", strerror(setaffinity_errno));
  } else if (c->attributed == 0) {
    c->status = SelftestStatus::Inconclusive;
    set_reason(c, "no migration landed inside a section in %.0f ms (%llu CPU changes seen)", c->ms,
               static_cast<unsigned long long>(c->events));
  } else {
    c->status = SelftestStatus::Ok;
  }
}

void signal_phase(int cpu, double budget, SelftestCheck* c) {
  double t0 = now_ms();
  double deadline = t0 + budget + kStartGraceMs;  // until the threads run; then budget from there
  c->cpus[0] = cpu;
  struct sigaction old;
  if (sigaction(SIGALRM, nullptr, &old) != 0) {
    set_reason(c, "sigaction(SIGALRM) failed (%s)", strerror(errno));
    return;
  }
  bool was_default = !(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL;
  bool was_ignored = !(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_IGN;
  if (!was_default && !was_ignored) {
    set_reason(c, "SIGALRM already has a handler in this process; the signal check leaves it alone");
    return;
  }
  int64_t slot[kSlotStride] = {0};
  Shared sh;
  sh.phase = Phase::Signal;
  sh.slots = slot;
  sh.nslots = 1;
  Worker w;
  w.shared = &sh;
  w.pin = cpu;
  pthread_t th;
  g_prev_ignored.store(was_ignored ? 1 : 0, std::memory_order_relaxed);
  g_signal_worker.store(&w, std::memory_order_release);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGALRM, &sa, nullptr) != 0) {
    g_signal_worker.store(nullptr, std::memory_order_release);
    set_reason(c, "sigaction(SIGALRM) failed (%s)", strerror(errno));
    return;
  }
  if (!start_workers(&w, 1, &th, deadline, c)) {
    g_signal_worker.store(nullptr, std::memory_order_release);
    sigaction(SIGALRM, &old, nullptr);
    c->ms = now_ms() - t0;
    return;
  }
  deadline = now_ms() + budget;
  sh.go.store(1, std::memory_order_release);
  uint64_t sent = 0;
  int kill_errno = 0;
  while (now_ms() < deadline && __atomic_load_n(&w.attributed, __ATOMIC_RELAXED) < kTargetAborts) {
    int e = pthread_kill(th, SIGALRM);
    if (e != 0) {
      kill_errno = e;
      break;
    }
    sent++;
    sleep_us(50);
  }
  sh.stop.store(1, std::memory_order_relaxed);
  pthread_join(th, nullptr);
  // Signals still pending for the thread were discarded with it: the handler
  // no longer runs for it. Restore the disposition.
  g_signal_worker.store(nullptr, std::memory_order_release);
  sigaction(SIGALRM, &old, nullptr);
  sum_workers(&w, 1, c);
  c->events = w.signals.load(std::memory_order_relaxed);
  c->expected = c->commits + w.handler_adds.load(std::memory_order_relaxed);
  c->sum = static_cast<uint64_t>(slot[0]);
  c->ms = now_ms() - t0;
  if (c->sum != c->expected) {
    c->status = SelftestStatus::Broken;
    set_reason(c, "the slot holds %llu after %llu committed adds and %llu adds by the signal handler: a section was not aborted by a signal",
               static_cast<unsigned long long>(c->sum), static_cast<unsigned long long>(c->commits),
               static_cast<unsigned long long>(c->events));
  } else if (sent == 0) {
    c->status = SelftestStatus::Skipped;
    set_reason(c, "pthread_kill failed (%s)", strerror(kill_errno));
  } else if (c->attributed == 0) {
    c->status = SelftestStatus::Inconclusive;
    set_reason(c, "no signal landed inside a section in %.0f ms (%llu signals handled)", c->ms,
               static_cast<unsigned long long>(c->events));
  } else {
    c->status = SelftestStatus::Ok;
  }
}

struct IdsJob {
  const std::vector<int>* cpus;
  double deadline;
  SelftestCheck* c;
};

void* ids_main(void* arg) {
  IdsJob* job = static_cast<IdsJob*>(arg);
  SelftestCheck* c = job->c;
  Registration reg = acquire();
  if (reg.err != 0 || reg.owner == Owner::None) {
    set_reason(c, "no rseq registration on the selftest thread (%s)", strerror(reg.err));
    return nullptr;
  }
  volatile rseq_abi* area = thread_area();
  int pinned = 0;
  for (int cpu : *job->cpus) {
    if (now_ms() >= job->deadline) break;
    if (!pin_self(cpu)) continue;
    pinned++;
    uint32_t id = __atomic_load_n(&area->cpu_id, __ATOMIC_RELAXED);
    uint32_t start = __atomic_load_n(&area->cpu_id_start, __ATOMIC_RELAXED);
    int got = sched_getcpu();
    c->events++;
    if (id != static_cast<uint32_t>(cpu) || start != id || got != cpu) {
      if (c->attributed == 0) {
        set_reason(c, "pinned to CPU %d: cpu_id %u, cpu_id_start %u, sched_getcpu %d", cpu, id, start, got);
      }
      c->attributed++;
    }
  }
  release();
  if (pinned == 0 && c->reason[0] == '\0') set_reason(c, "sched_setaffinity to each allowed CPU failed");
  return nullptr;
}

void ids_phase(const std::vector<int>& allowed, double budget, SelftestCheck* c) {
  double t0 = now_ms();
  std::vector<int> cpus(allowed.begin(), allowed.begin() + static_cast<std::ptrdiff_t>(allowed.size() > static_cast<size_t>(kMaxIdCpus) ? static_cast<size_t>(kMaxIdCpus) : allowed.size()));
  if (!cpus.empty()) c->cpus[0] = cpus.front();
  if (cpus.size() > 1) c->cpus[1] = cpus.back();
  IdsJob job{&cpus, t0 + budget, c};
  pthread_t th;
  int e = pthread_create(&th, nullptr, ids_main, &job);
  if (e != 0) {
    set_reason(c, "pthread_create failed (%s)", strerror(e));
    return;
  }
  pthread_join(th, nullptr);
  c->expected = c->events;
  c->sum = c->events - c->attributed;
  c->ms = now_ms() - t0;
  if (c->attributed > 0) {
    c->status = SelftestStatus::Broken;
  } else if (c->events == 0) {
    c->status = SelftestStatus::Skipped;
  } else {
    c->status = SelftestStatus::Ok;
  }
}

}  // namespace

const char* selftest_status_name(SelftestStatus s) {
  switch (s) {
    case SelftestStatus::Ok:
      return "ok";
    case SelftestStatus::Broken:
      return "broken";
    case SelftestStatus::Skipped:
      return "skipped";
    case SelftestStatus::Inconclusive:
      return "inconclusive";
  }
  return "skipped";
}

int last_selftest_verdict() { return g_last_verdict.load(std::memory_order_relaxed); }

int run_selftest(uint32_t budget_ms, SelftestResult* out) {
  if (out == nullptr) return EINVAL;
  if (budget_ms < kSelftestMinBudgetMs) budget_ms = kSelftestMinBudgetMs;
  if (budget_ms > kSelftestMaxBudgetMs) budget_ms = kSelftestMaxBudgetMs;
  pthread_mutex_lock(&g_selftest_lock);
  double t0 = now_ms();
  init_check(&out->same_cpu);
  init_check(&out->migration);
  init_check(&out->signal);
  init_check(&out->ids);
  double b = static_cast<double>(budget_ms);
  std::vector<int> allowed = allowed_cpus();
  if (allowed.empty()) {
    const char* why = "sched_getaffinity failed: no CPU to run on";
    set_reason(&out->same_cpu, "%s", why);
    set_reason(&out->migration, "%s", why);
    set_reason(&out->signal, "%s", why);
    set_reason(&out->ids, "%s", why);
  } else {
    same_cpu_phase(allowed[0], b * 0.4, &out->same_cpu);
    if (allowed.size() >= 2) {
      migration_phase(allowed[0], allowed[1], b * 0.25, &out->migration);
    } else {
      set_reason(&out->migration, "the calling thread may run on one CPU only (%d): no migration to check", allowed[0]);
    }
    signal_phase(allowed[0], b * 0.25, &out->signal);
    ids_phase(allowed, b * 0.1, &out->ids);
  }
  const SelftestCheck* all[] = {&out->same_cpu, &out->migration, &out->signal, &out->ids};
  int verdict = 1;
  for (const SelftestCheck* c : all) {
    if (c->status == SelftestStatus::Broken) verdict = 2;
  }
  // Only a run whose same-CPU phase saw aborts (or found the defect) counts as a verdict.
  if (verdict == 2 || out->same_cpu.status == SelftestStatus::Ok) g_last_verdict.store(verdict, std::memory_order_relaxed);
  out->ms = now_ms() - t0;
  pthread_mutex_unlock(&g_selftest_lock);
  return 0;
}

}  // namespace rseq_native
