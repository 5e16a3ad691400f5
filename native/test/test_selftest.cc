// native/test/test_selftest.cc - the selftest (native/selftest.h) on this
// machine's kernel: it must find the sections protected (same-CPU preemption
// aborts them, the sum is exact), the ids tracking the CPU, and report every
// check it could not run with a reason. Also run with glibc's registration off
// (the selftest threads then register the core's own areas).
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "registration.h"
#include "selftest.h"

using namespace rseq_native;

namespace {

void print(const char* name, const SelftestCheck& c) {
  printf("%-10s %-12s attempts %llu commits %llu aborts %llu sum %llu/%llu events %llu attributed %llu %.0f ms %s\n", name,
         selftest_status_name(c.status), static_cast<unsigned long long>(c.attempts),
         static_cast<unsigned long long>(c.commits), static_cast<unsigned long long>(c.aborts),
         static_cast<unsigned long long>(c.sum), static_cast<unsigned long long>(c.expected),
         static_cast<unsigned long long>(c.events), static_cast<unsigned long long>(c.attributed), c.ms, c.reason);
}

int allowed() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
  return CPU_COUNT(&set);
}

}  // namespace

int main() {
  CHECK_EQ(run_selftest(1000, nullptr), EINVAL);
  CHECK_EQ(last_selftest_verdict(), 0);

  SelftestResult r;
  CHECK_EQ(run_selftest(kSelftestDefaultBudgetMs, &r), 0);
  print("same-cpu", r.same_cpu);
  print("migration", r.migration);
  print("signal", r.signal);
  print("ids", r.ids);
  printf("total %.0f ms\n", r.ms);

  CHECK_EQ(static_cast<int>(r.same_cpu.status), static_cast<int>(SelftestStatus::Ok));
  CHECK_EQ(static_cast<long long>(r.same_cpu.sum), static_cast<long long>(r.same_cpu.expected));
  CHECK_EQ(static_cast<long long>(r.same_cpu.expected), static_cast<long long>(r.same_cpu.commits));
  CHECK(r.same_cpu.aborts > 0);
  CHECK(r.same_cpu.cpus[0] >= 0 && r.same_cpu.cpus[1] == -1);
  CHECK(r.signal.status == SelftestStatus::Ok || r.signal.status == SelftestStatus::Skipped);
  CHECK_EQ(static_cast<long long>(r.signal.sum), static_cast<long long>(r.signal.expected));
  CHECK(r.migration.status != SelftestStatus::Broken);
  CHECK_EQ(static_cast<long long>(r.migration.sum), static_cast<long long>(r.migration.expected));
  if (allowed() < 2) CHECK(r.migration.status == SelftestStatus::Skipped && r.migration.reason[0] != '\0');
  CHECK_EQ(static_cast<int>(r.ids.status), static_cast<int>(SelftestStatus::Ok));
  CHECK_EQ(static_cast<long long>(r.ids.attributed), 0);
  CHECK(r.ids.events >= 1);
  CHECK(r.ms < 30000.0);  // a hang detector; the budget is 2000 ms
  CHECK_EQ(last_selftest_verdict(), 1);
  // The calling thread's registration and affinity are untouched.
  CHECK_EQ(static_cast<long long>(thread_refs()), 0);
  CHECK_EQ(allowed() > 0, true);
  CHECK_EQ(debug_counts().threads, 0);

  // The smallest budget still reports every check, never a wrong sum as ok.
  SelftestResult s;
  CHECK_EQ(run_selftest(1, &s), 0);  // clamped to kSelftestMinBudgetMs
  const SelftestCheck* all[] = {&s.same_cpu, &s.migration, &s.signal};
  for (const SelftestCheck* c : all) {
    if (c->status == SelftestStatus::Ok) CHECK_EQ(static_cast<long long>(c->sum), static_cast<long long>(c->expected));
    CHECK(c->status == SelftestStatus::Ok || c->reason[0] != '\0');
  }
  return rseq_test::finish("test_selftest");
}
