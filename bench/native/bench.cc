// bench/native/bench.cc - see bench.h. Benchmarks only: nothing in the
// package's API depends on this file, and the shipped addon does not contain
// it; it is compiled into the development addon (build/Release/rseq_dev.node,
// binding.gyp's rseq_dev target), where bench/run.cjs calls benchLoop().
#include "bench.h"

#if !defined(NAPI_VERSION)
#error "bench/native/bench.cc is part of the development addon: build it with the N-API defines (binding.gyp's rseq_dev target, or CMake's rseq_addon with RSEQ_DEV_HOOKS=ON)"
#endif

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <atomic>
#include <string>
#include <vector>

#include "percpu.h"
#include "registration.h"

namespace rseq_native {
namespace {

inline uint64_t now_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

// The atomic add of every non-rseq kind: sequentially consistent, as
// JavaScript's Atomics.add (lock xadd on x86_64; ldaddal on aarch64 LSE).
inline void atomic_add(int64_t* w) { __atomic_fetch_add(w, 1, __ATOMIC_SEQ_CST); }

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 29))
#define RSEQ_BENCH_HAVE_GETCPU 1
#endif

struct Kind {
  const char* name;
  BenchKind kind;
};
constexpr Kind kKinds[] = {
    {"rseq-add", BenchKind::RseqAdd},
    {"rseq-add-inline", BenchKind::RseqAddInline},
    {"area-atomic", BenchKind::AreaAtomic},
    {"getcpu-atomic", BenchKind::GetcpuAtomic},
    {"vdso-getcpu-atomic", BenchKind::VdsoGetcpuAtomic},
    {"shared-atomic", BenchKind::SharedAtomic},
};

BenchResult failed(int err, const char* what) { return BenchResult{0, 0, err, what}; }

}  // namespace

bool bench_kind_from_name(const char* name, BenchKind* out) {
  for (const Kind& k : kKinds) {
    if (strcmp(k.name, name) == 0) {
      *out = k.kind;
      return true;
    }
  }
  return false;
}

namespace {

// Each loop is its own function, so that its counter, bound and pointers stay
// in registers (inside bench_loop, with the result pointer also live across
// the calls, the compiler spilled the loop counter to the stack and the
// rseq-add loop paid a store-to-load round trip per iteration). Each returns
// the retries (sections that did not commit), or kBadId when an id was past
// the slots.
constexpr uint64_t kBadId = ~uint64_t{0};

__attribute__((noinline)) uint64_t loop_rseq_add(const OpContext& ctx, uint64_t n, int64_t* words,
                                                 size_t slots) {
  // The addon's path: percpu.h's op_current_id and op_add (calls, the section,
  // the counts).
  uint64_t committed = 0;
  uint64_t attempts = 0;
  while (committed < n) {
    uint32_t id = op_current_id(ctx);
    if (id >= slots) return kBadId;
    ++attempts;
    if (op_add(ctx, id, words + id * kBenchStride, 1) == RSEQ_OP_COMMITTED) ++committed;
  }
  return attempts - committed;
}

__attribute__((noinline)) uint64_t loop_rseq_add_inline(volatile struct rseq_abi* area, uint64_t n,
                                                        int64_t* words, size_t slots) {
  // The section alone, inlined here (its own copy of the descriptor).
  uint64_t committed = 0;
  uint64_t attempts = 0;
  while (committed < n) {
    uint32_t id = __atomic_load_n(&area->cpu_id, __ATOMIC_RELAXED);
    if (id >= slots) return kBadId;
    ++attempts;
    if (rseq_arch::op_add<RSEQ_ARCH_ID_CPU_ID>(area, id, words + id * kBenchStride, 1) ==
        RSEQ_OP_COMMITTED) {
      ++committed;
    }
  }
  return attempts - committed;
}

__attribute__((noinline)) uint64_t loop_area_atomic(volatile struct rseq_abi* area, uint64_t n,
                                                    int64_t* words, size_t slots) {
  for (uint64_t i = 0; i < n; ++i) {
    uint32_t id = __atomic_load_n(&area->cpu_id, __ATOMIC_RELAXED);
    if (id >= slots) return kBadId;
    atomic_add(words + id * kBenchStride);
  }
  return 0;
}

__attribute__((noinline)) uint64_t loop_getcpu_atomic(uint64_t n, int64_t* words, size_t slots) {
  for (uint64_t i = 0; i < n; ++i) {
    int cpu = sched_getcpu();
    if (cpu < 0 || static_cast<size_t>(cpu) >= slots) return kBadId;
    atomic_add(words + static_cast<size_t>(cpu) * kBenchStride);
  }
  return 0;
}

#ifdef RSEQ_BENCH_HAVE_GETCPU
__attribute__((noinline)) uint64_t loop_vdso_getcpu_atomic(uint64_t n, int64_t* words, size_t slots) {
  for (uint64_t i = 0; i < n; ++i) {
    unsigned cpu = 0;
    if (getcpu(&cpu, nullptr) != 0 || cpu >= slots) return kBadId;
    atomic_add(words + static_cast<size_t>(cpu) * kBenchStride);
  }
  return 0;
}
#endif

__attribute__((noinline)) uint64_t loop_shared_atomic(uint64_t n, int64_t* shared) {
  for (uint64_t i = 0; i < n; ++i) atomic_add(shared);
  return 0;
}

}  // namespace

BenchResult bench_loop(BenchKind kind, uint64_t iterations, int64_t* words, size_t slots) {
  OpContext ctx{nullptr, IdMode::CpuId, nullptr};
  if (kind == BenchKind::RseqAdd || kind == BenchKind::RseqAddInline || kind == BenchKind::AreaAtomic) {
    if (op_prepare(IdMode::CpuId, &ctx) != PrepareError::None) {
      return failed(ENOSYS, "the calling thread holds no rseq registration");
    }
  }
#ifndef RSEQ_BENCH_HAVE_GETCPU
  if (kind == BenchKind::VdsoGetcpuAtomic) return failed(ENOSYS, "getcpu() needs glibc 2.29+");
#endif
  uint64_t r = 0;
  uint64_t t0 = now_ns();
  switch (kind) {
    case BenchKind::RseqAdd:
      r = loop_rseq_add(ctx, iterations, words, slots);
      break;
    case BenchKind::RseqAddInline:
      r = loop_rseq_add_inline(ctx.area, iterations, words, slots);
      break;
    case BenchKind::AreaAtomic:
      r = loop_area_atomic(ctx.area, iterations, words, slots);
      break;
    case BenchKind::GetcpuAtomic:
      r = loop_getcpu_atomic(iterations, words, slots);
      break;
    case BenchKind::VdsoGetcpuAtomic:
#ifdef RSEQ_BENCH_HAVE_GETCPU
      r = loop_vdso_getcpu_atomic(iterations, words, slots);
#endif
      break;
    case BenchKind::SharedAtomic:
      r = loop_shared_atomic(iterations, words + slots * kBenchStride);
      break;
  }
  uint64_t t1 = now_ns();
  if (r == kBadId) return failed(EINVAL, "an id (cpu_id, sched_getcpu() or getcpu()) was past the slots, or getcpu failed");
  return BenchResult{static_cast<double>(t1 - t0), r, 0, ""};
}

// ---------------------------------------------------------------------------
// benchLoop(kind, iterations, words?) for JavaScript.
// ---------------------------------------------------------------------------
namespace {

// One past the highest possible CPU id, read once; 0 when unknown.
std::atomic<size_t> g_slots{0};

size_t possible_slots() {
  size_t s = g_slots.load(std::memory_order_relaxed);
  if (s != 0) return s;
  std::vector<int> cpus;
  if (possible_cpus(&cpus) != 0 || cpus.empty()) return 0;
  s = static_cast<size_t>(cpus.back()) + 1;
  g_slots.store(s, std::memory_order_relaxed);
  return s;
}

// The words used when the caller passes none: process-wide (every worker
// thread shares them), 64-byte aligned, never freed.
pthread_once_t g_default_once = PTHREAD_ONCE_INIT;
int64_t* g_default_words = nullptr;

void make_default_words() {
  size_t n = (possible_slots() + 1) * kBenchStride;
  void* p = nullptr;
  if (posix_memalign(&p, 64, n * sizeof(int64_t)) != 0) return;
  memset(p, 0, n * sizeof(int64_t));
  g_default_words = static_cast<int64_t*>(p);
}

napi_value ThrowType(napi_env env, const std::string& msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", ("benchLoop: " + msg).c_str());
  return nullptr;
}

napi_value ThrowRange(napi_env env, const std::string& msg) {
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", ("benchLoop: " + msg).c_str());
  return nullptr;
}

napi_value ThrowFailure(napi_env env, int err, const char* what) {
  std::string msg = std::string("benchLoop: ") + what + " (" + strerror(err) + ")";
  napi_throw_error(env, nullptr, msg.c_str());
  return nullptr;
}

std::string KindList() {
  std::string s;
  for (const Kind& k : kKinds) s += (s.empty() ? "'" : ", '") + std::string(k.name) + "'";
  return s;
}

napi_value BenchLoop(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3] = {nullptr, nullptr, nullptr};
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) {
    napi_throw_error(env, nullptr, "benchLoop: napi_get_cb_info failed");
    return nullptr;
  }
  char name[32];
  size_t len = 0;
  BenchKind kind = BenchKind::RseqAdd;
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok) {
    return ThrowType(env, "kind must be a string, one of " + KindList());
  }
  if (len >= sizeof name - 1 || !bench_kind_from_name(name, &kind)) {
    return ThrowRange(env, "kind must be one of " + KindList() + ", got '" + name + "'");
  }
  double d = 0;
  if (napi_get_value_double(env, argv[1], &d) != napi_ok) return ThrowType(env, "iterations must be a number");
  constexpr double kMaxIterations = 1099511627776.0;  // 2^40
  if (!(d >= 1 && d <= kMaxIterations) || static_cast<double>(static_cast<uint64_t>(d)) != d) {
    return ThrowRange(env, "iterations must be an integer in [1, 2^40]");
  }
  uint64_t iterations = static_cast<uint64_t>(d);
  size_t slots = possible_slots();
  if (slots == 0) return ThrowFailure(env, EINVAL, "cannot read /sys/devices/system/cpu/possible");
  size_t need = (slots + 1) * kBenchStride;

  int64_t* words = nullptr;
  napi_valuetype t = napi_undefined;
  if (argc >= 3 && napi_typeof(env, argv[2], &t) == napi_ok && t != napi_undefined) {
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    napi_value ab = nullptr;
    size_t offset = 0;
    if (napi_get_typedarray_info(env, argv[2], &type, &length, &data, &ab, &offset) != napi_ok ||
        type != napi_bigint64_array) {
      return ThrowType(env, "words must be a BigInt64Array");
    }
    if (length < need) {
      return ThrowRange(env, "words must hold at least " + std::to_string(need) + " elements (8 per possible CPU, plus 8), got " +
                                 std::to_string(length));
    }
    words = static_cast<int64_t*>(data);
  } else {
    pthread_once(&g_default_once, make_default_words);
    if (g_default_words == nullptr) return ThrowFailure(env, ENOMEM, "cannot allocate the default words");
    words = g_default_words;
  }

  Registration r = acquire();
  if (r.owner == Owner::None) return ThrowFailure(env, r.err, "no rseq registration on this thread");
  BenchResult res = bench_loop(kind, iterations, words, slots);
  release();
  if (res.err != 0) return ThrowFailure(env, res.err, res.what);
  napi_value out = nullptr;
  napi_create_double(env, res.ns, &out);
  return out;
}

// benchCall(): the floor of a crossing, an N-API call that does nothing and
// returns undefined.
napi_value BenchCall(napi_env, napi_callback_info) { return nullptr; }

// benchCallData(): the same, reading the function's data pointer as every
// bound-region operation does (napi_get_cb_info with no arguments).
napi_value BenchCallData(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  void* data = nullptr;
  napi_get_cb_info(env, info, &argc, nullptr, nullptr, &data);
  return nullptr;
}

// benchCallInt(): benchCallData returning a number (napi_create_int64), as a
// region operation would if it returned its result instead of writing it to
// the region's args.
napi_value BenchCallInt(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  void* data = nullptr;
  napi_get_cb_info(env, info, &argc, nullptr, nullptr, &data);
  napi_value out = nullptr;
  napi_create_int64(env, 7, &out);
  return out;
}

int bench_data_anchor = 0;

}  // namespace

bool bench_register(napi_env env, napi_value exports) {
  struct Fn {
    const char* name;
    napi_callback cb;
    void* data;
  };
  const Fn fns[] = {{"benchLoop", BenchLoop, nullptr},
                    {"benchCall", BenchCall, nullptr},
                    {"benchCallData", BenchCallData, &bench_data_anchor},
                    {"benchCallInt", BenchCallInt, &bench_data_anchor}};
  for (const Fn& f : fns) {
    napi_value fn = nullptr;
    if (napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, f.data, &fn) != napi_ok ||
        napi_set_named_property(env, exports, f.name, fn) != napi_ok) {
      napi_throw_error(env, nullptr, "rseq: cannot create the bench functions");
      return false;
    }
  }
  return true;
}

}  // namespace rseq_native
