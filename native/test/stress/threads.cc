// The stress binary's threads (see stress.h): the globals, the failure
// record, entering and leaving the calling thread's area, and the signal
// thread that interrupts the workers in the inject build.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stress.h"

#ifdef RSEQ_INJECT
extern "C" {
// Delay-loop iterations at each injection point (native/arch/common.h).
volatile uint32_t rseq_inject_loops[8] = {0, 0, 0, 0, 0, 0, 0, 0};
}
#endif

namespace rseq_stress {

Options g_opt;
int g_slots = 0;
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

std::atomic<bool> g_failed{false};

namespace {
pthread_mutex_t g_error_lock = PTHREAD_MUTEX_INITIALIZER;
std::string g_error;

void on_sigusr1(int) {}
}  // namespace

void fail(const std::string& what) {
  pthread_mutex_lock(&g_error_lock);
  if (g_error.empty()) g_error = what;
  pthread_mutex_unlock(&g_error_lock);
  g_failed.store(true);
}

void clear_failure() {
  g_failed.store(false);
  pthread_mutex_lock(&g_error_lock);
  g_error.clear();
  pthread_mutex_unlock(&g_error_lock);
}

std::string failure() {
  pthread_mutex_lock(&g_error_lock);
  std::string what = g_error;
  pthread_mutex_unlock(&g_error_lock);
  return what;
}

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

void install_sigusr1() {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigusr1;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, nullptr);
}

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

}  // namespace rseq_stress
