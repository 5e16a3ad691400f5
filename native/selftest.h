// native/selftest.h - an empirical check that this kernel keeps the guarantees
// the per-CPU critical sections rely on.
//
// Linux 6.19 on arm64 stopped aborting a critical section when its thread is
// preempted and resumed on the same CPU (it still aborts on migration): a
// section can then commit over another thread's write. No release number can
// be trusted to say whether a kernel has that defect (distributions backport),
// so the selftest looks: it runs the add section of percpu.h on its own
// pthreads and checks the sums.
//
// Phases (each bounded by its share of the time budget, each stopping early
// once it has the evidence it wants):
//   same-cpu   two threads pinned to one CPU, each adding 1 to ONE shared slot
//              with the add section, retried until it commits. The slot must
//              equal the commits of both (a section that was not aborted
//              after the other thread ran in between loses an update), and
//              aborts must have been seen (preemptions landed inside
//              sections), else the phase is inconclusive.
//   migration  two threads on two CPUs, each adding to the slot of the CPU it
//              reads from its area, while the calling thread swaps their
//              affinities every millisecond (sched_setaffinity on their tids).
//              Sum exact; aborts whose thread's cpu_id had changed seen.
//   signal     one thread adding to one slot; the calling thread sends it
//              SIGALRM (pthread_kill) in a loop and the handler adds 1 to the
//              same slot with a plain load and store, as an interrupting
//              writer on the same CPU. Slot = commits + handler adds; aborts
//              during which a signal arrived seen. Skipped when SIGALRM
//              already has a handler in this process (it is restored after).
//   ids        a thread pinned in turn to each allowed CPU: cpu_id and
//              cpu_id_start equal sched_getcpu() and the CPU.
//
// The threads are the core's own: each takes a reference on its registration
// (registration.h acquire) and drops it before exiting. Counts live in each
// thread's own record; nothing process-wide is written per section. One
// selftest runs at a time in the process (a mutex). Nothing here aborts or
// throws; a check that cannot run says why (status Skipped and a reason).
#ifndef RSEQ_NATIVE_SELFTEST_H
#define RSEQ_NATIVE_SELFTEST_H

#include <stddef.h>
#include <stdint.h>

namespace rseq_native {

enum class SelftestStatus : int {
  Ok = 0,
  Broken = 1,        // a sum came out wrong, or an id did not track the CPU
  Skipped = 2,       // could not run (reason says why: one CPU, no registration, ...)
  Inconclusive = 3,  // ran, nothing wrong, but the evidence wanted was not seen in time
};
const char* selftest_status_name(SelftestStatus s);  // "ok", "broken", "skipped", "inconclusive"

// One phase's evidence. Counts are summed over the phase's threads.
struct SelftestCheck {
  SelftestStatus status;
  char reason[200];   // empty when ok
  uint64_t attempts;  // section attempts
  uint64_t commits;   // committed sections
  uint64_t aborts;    // sections the kernel aborted
  uint64_t moved;     // attempts whose id no longer matched (the thread moved before the section)
  uint64_t expected;  // what the slots must hold (commits, plus the handler's adds)
  uint64_t sum;       // what they hold
  // same-cpu: involuntary context switches of the threads (getrusage);
  // migration: cpu changes the threads saw; signal: signals handled; ids: CPUs checked.
  uint64_t events;
  // same-cpu: 0; migration: aborts after which cpu_id had changed; signal:
  // aborts during which a signal arrived; ids: mismatches.
  uint64_t attributed;
  int cpus[2];        // the CPUs used (-1: none)
  double ms;          // time taken
};

struct SelftestResult {
  SelftestCheck same_cpu;
  SelftestCheck migration;
  SelftestCheck signal;
  SelftestCheck ids;
  double ms;
};

// Budget bounds, in milliseconds.
constexpr uint32_t kSelftestMinBudgetMs = 50;
constexpr uint32_t kSelftestMaxBudgetMs = 10000;
constexpr uint32_t kSelftestDefaultBudgetMs = 2000;

// Runs every phase within about budget_ms (clamped to the bounds above) and
// fills *out. Returns 0, or EINVAL when out is null.
int run_selftest(uint32_t budget_ms, SelftestResult* out);

// The verdict of the last selftest that completed in this process: 0 none
// yet, 1 every phase that ran was ok, 2 a phase was broken. Every thread sees
// it (one atomic word), so structures bound later in any thread can avoid
// critical sections the kernel does not protect.
int last_selftest_verdict();

}  // namespace rseq_native

#endif  // RSEQ_NATIVE_SELFTEST_H
