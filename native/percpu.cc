// native/percpu.cc - see percpu.h.
#include "percpu.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <new>

#include "probe.h"
#include "registration.h"
#include "syscalls.h"

namespace rseq_native {
namespace {

// ---------------------------------------------------------------------------
// Per-thread counts behind a pthread key (no thread_local: the core is loaded
// with dlopen as part of the addon).
// ---------------------------------------------------------------------------

pthread_once_t g_counts_once = PTHREAD_ONCE_INIT;
pthread_key_t g_counts_key;
int g_counts_key_err = 0;

void free_counts(void* p) { delete static_cast<OpCounts*>(p); }
void make_counts_key() { g_counts_key_err = pthread_key_create(&g_counts_key, free_counts); }

OpCounts* thread_counts(bool create) {
  pthread_once(&g_counts_once, make_counts_key);
  if (g_counts_key_err != 0) return nullptr;
  OpCounts* c = static_cast<OpCounts*>(pthread_getspecific(g_counts_key));
  if (c != nullptr || !create) return c;
  c = new (std::nothrow) OpCounts{0, 0, 0};
  if (c == nullptr) return nullptr;
  if (pthread_setspecific(g_counts_key, c) != 0) {
    delete c;
    return nullptr;
  }
  return c;
}

// The feature size never changes during a process's life: read it once.
std::atomic<unsigned long> g_feature_size{0};

unsigned long feature_size() {
  unsigned long f = g_feature_size.load(std::memory_order_relaxed);
  if (f == 0) {
    f = effective_feature_size();
    g_feature_size.store(f, std::memory_order_relaxed);
  }
  return f;
}

// Counts one finished attempt.
inline int count(const OpContext& ctx, int status) {
  OpCounts* c = ctx.counts;
  c->attempts++;
  if (status == RSEQ_OP_ABORTED) {
    c->aborts++;
  } else if (status == RSEQ_OP_MOVED) {
    c->moved++;
  }
  return status;
}

bool is_cpu_mode(const OpContext& ctx) { return ctx.mode == IdMode::CpuId; }

constexpr unsigned kCpu = RSEQ_ARCH_ID_CPU_ID;
constexpr unsigned kCid = RSEQ_ARCH_ID_MM_CID;

// membarrier registration, per process (pid: a forked child's mm starts
// unregistered).
std::atomic<pid_t> g_membarrier_registered_pid{0};

}  // namespace

bool mode_available(IdMode mode) {
  if (mode == IdMode::CpuId) return true;
  return feature_size() >= RSEQ_ABI_FEATURE_MM_CID;
}

PrepareError op_prepare(IdMode mode, OpContext* ctx) {
  volatile rseq_abi* area = thread_area();
  if (area == nullptr) return PrepareError::NotRegistered;
  if (!mode_available(mode)) return PrepareError::FieldUnavailable;
  OpCounts* counts = thread_counts(true);
  if (counts == nullptr) return PrepareError::NoMemory;
  ctx->area = area;
  ctx->mode = mode;
  ctx->counts = counts;
  return PrepareError::None;
}

int op_add(const OpContext& ctx, uint32_t id, int64_t* v, int64_t n) {
  int s = is_cpu_mode(ctx) ? rseq_arch::op_add<kCpu>(ctx.area, id, v, n)
                           : rseq_arch::op_add<kCid>(ctx.area, id, v, n);
  return count(ctx, s);
}

int op_store_if_equal(const OpContext& ctx, uint32_t id, int64_t* v, int64_t expect, int64_t newv) {
  int s = is_cpu_mode(ctx) ? rseq_arch::op_store_if_equal<kCpu>(ctx.area, id, v, expect, newv)
                           : rseq_arch::op_store_if_equal<kCid>(ctx.area, id, v, expect, newv);
  return count(ctx, s);
}

int op_double_compare_store(const OpContext& ctx, uint32_t id, int64_t* v, int64_t expect,
                            const int64_t* v2, int64_t expect2, int64_t newv) {
  int s = is_cpu_mode(ctx)
              ? rseq_arch::op_double_compare_store<kCpu>(ctx.area, id, v, expect, v2, expect2, newv)
              : rseq_arch::op_double_compare_store<kCid>(ctx.area, id, v, expect, v2, expect2, newv);
  return count(ctx, s);
}

int op_speculative_store_commit(const OpContext& ctx, uint32_t id, int64_t* v, int64_t expect,
                                int64_t* v2, int64_t newv2, int64_t newv, bool release) {
  int s;
  if (is_cpu_mode(ctx)) {
    s = release ? rseq_arch::op_speculative_store_commit<kCpu, true>(ctx.area, id, v, expect, v2,
                                                                     newv2, newv)
                : rseq_arch::op_speculative_store_commit<kCpu, false>(ctx.area, id, v, expect, v2,
                                                                      newv2, newv);
  } else {
    s = release ? rseq_arch::op_speculative_store_commit<kCid, true>(ctx.area, id, v, expect, v2,
                                                                     newv2, newv)
                : rseq_arch::op_speculative_store_commit<kCid, false>(ctx.area, id, v, expect, v2,
                                                                      newv2, newv);
  }
  return count(ctx, s);
}

int op_copy_commit(const OpContext& ctx, uint32_t id, int64_t* v, int64_t expect, void* dst,
                   const void* src, size_t len, int64_t newv, bool release) {
  int s;
  if (is_cpu_mode(ctx)) {
    s = release ? rseq_arch::op_copy_commit<kCpu, true>(ctx.area, id, v, expect, dst, src, len, newv)
                : rseq_arch::op_copy_commit<kCpu, false>(ctx.area, id, v, expect, dst, src, len, newv);
  } else {
    s = release ? rseq_arch::op_copy_commit<kCid, true>(ctx.area, id, v, expect, dst, src, len, newv)
                : rseq_arch::op_copy_commit<kCid, false>(ctx.area, id, v, expect, dst, src, len, newv);
  }
  return count(ctx, s);
}

int64_t op_list_pop(const OpContext& ctx, uint32_t id, int64_t* head, const int64_t* next,
                    uint64_t n, int64_t empty) {
  int64_t out = -1;
  int s = is_cpu_mode(ctx) ? rseq_arch::op_list_pop<kCpu>(ctx.area, id, head, next, n, empty, &out)
                           : rseq_arch::op_list_pop<kCid>(ctx.area, id, head, next, n, empty, &out);
  count(ctx, s);
  return s == RSEQ_OP_COMMITTED ? out : -static_cast<int64_t>(s);
}

OpCounts thread_op_counts() {
  OpCounts* c = thread_counts(false);
  return c ? *c : OpCounts{0, 0, 0};
}

int fence(int cpu) {
  pid_t pid = getpid();
  if (g_membarrier_registered_pid.load(std::memory_order_acquire) != pid) {
    // Registering twice is harmless, so racing threads need no lock.
    if (sys_membarrier(RSEQ_ABI_MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0, 0) != 0) {
      return errno;
    }
    g_membarrier_registered_pid.store(pid, std::memory_order_release);
  }
  long r = cpu >= 0 ? sys_membarrier(RSEQ_ABI_MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ,
                                     RSEQ_ABI_MEMBARRIER_CMD_FLAG_CPU, cpu)
                    : sys_membarrier(RSEQ_ABI_MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0, 0);
  return r == 0 ? 0 : errno;
}

bool parse_cpu_list(const char* text, std::vector<int>* out) {
  std::vector<int> ids;
  const char* p = text;
  auto number = [&](long* value) -> bool {
    if (*p < '0' || *p > '9') return false;
    long v = 0;
    while (*p >= '0' && *p <= '9') {
      v = v * 10 + (*p - '0');
      if (v > (1L << 22)) return false;  // far beyond any kernel's NR_CPUS
      ++p;
    }
    *value = v;
    return true;
  };
  for (;;) {
    long lo = 0;
    if (!number(&lo)) return false;
    long hi = lo;
    if (*p == '-') {
      ++p;
      if (!number(&hi) || hi < lo) return false;
    }
    for (long c = lo; c <= hi; ++c) ids.push_back(static_cast<int>(c));
    if (*p == ',') {
      ++p;
      continue;
    }
    break;
  }
  while (*p == '\n' || *p == ' ') ++p;
  if (*p != '\0') return false;
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  *out = ids;
  return true;
}

int possible_cpus(std::vector<int>* out) {
  int fd = open("/sys/devices/system/cpu/possible", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  char buf[4096];
  size_t len = 0;
  for (;;) {
    ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      return e;
    }
    if (n == 0) break;
    len += static_cast<size_t>(n);
    if (len == sizeof buf - 1) break;
  }
  close(fd);
  buf[len] = '\0';
  return parse_cpu_list(buf, out) ? 0 : EINVAL;
}

}  // namespace rseq_native
