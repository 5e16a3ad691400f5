// native/registration.cc - see registration.h.
#include "registration.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <atomic>
#include <new>

#include "auxv.h"
#include "probe.h"
#include "syscalls.h"

namespace rseq_native {
namespace {

// ---------------------------------------------------------------------------
// Process-wide counters.
// ---------------------------------------------------------------------------

std::atomic<long> g_registrations{0};
std::atomic<long> g_areas{0};
std::atomic<long> g_threads{0};

// ---------------------------------------------------------------------------
// Per-thread state, behind a pthread key.
// ---------------------------------------------------------------------------

struct ThreadState {
  Owner owner = Owner::None;
  volatile rseq_abi* area = nullptr;  // libc's (thread pointer + offset) or ours (heap)
  uint32_t length = 0;                // registered length (0: unknown)
  uint32_t signature = 0;             // registered signature (0: unknown)
  uint32_t refs = 0;
  // An area of ours still registered although refs is 0: its unregistration
  // failed, so it can be neither freed nor replaced. The next acquire reuses it.
  bool stuck = false;
  // libc's registration, probed once per thread (the answers never change).
  bool libc_probed = false;
  LengthProbe libc_probe{0, 0};
  // The last failure of acquire/release, for registration().
  int last_err = 0;
  const char* last_op = "";
};

pthread_once_t g_key_once = PTHREAD_ONCE_INIT;
pthread_key_t g_key;
int g_key_err = 0;

// Unregisters and frees an area of ours. Returns 0 or the errno of the
// unregistration, in which case the memory is kept: the kernel may still write
// into it until the thread exits.
int drop_own_area(ThreadState* st) {
  if (sys_rseq(st->area, st->length, RSEQ_ABI_FLAG_UNREGISTER, st->signature) != 0) {
    return errno;
  }
  g_registrations.fetch_sub(1, std::memory_order_relaxed);
  free(const_cast<rseq_abi*>(st->area));
  g_areas.fetch_sub(1, std::memory_order_relaxed);
  st->area = nullptr;
  st->owner = Owner::None;
  st->length = 0;
  st->signature = 0;
  st->stuck = false;
  return 0;
}

// Key destructor: the thread is exiting with its state still set.
void thread_exit(void* value) {
  ThreadState* st = static_cast<ThreadState*>(value);
  if (st->refs > 0) {
    st->refs = 0;
    g_threads.fetch_sub(1, std::memory_order_relaxed);
  }
  if (st->owner == Owner::Addon && st->area != nullptr) {
    if (drop_own_area(st) != 0) {
      // Still registered: the kernel stops using the area only when the thread
      // is gone, which is after this destructor. Leaking it is the safe choice.
      st->area = nullptr;
    }
  }
  delete st;
}

void make_key() { g_key_err = pthread_key_create(&g_key, thread_exit); }

// The calling thread's state; created when `create` is set. nullptr (with *err
// set when non-null) when it does not exist or cannot be made.
ThreadState* thread_state(bool create, int* err) {
  pthread_once(&g_key_once, make_key);
  if (g_key_err != 0) {
    if (err) *err = g_key_err;
    return nullptr;
  }
  ThreadState* st = static_cast<ThreadState*>(pthread_getspecific(g_key));
  if (st != nullptr || !create) return st;
  st = new (std::nothrow) ThreadState();
  if (st == nullptr) {
    if (err) *err = ENOMEM;
    return nullptr;
  }
  int rc = pthread_setspecific(g_key, st);
  if (rc != 0) {
    delete st;
    if (err) *err = rc;
    return nullptr;
  }
  return st;
}

// The thread pointer glibc's __rseq_offset is relative to (%fs base on x86_64,
// TPIDR_EL0 on aarch64).
#if defined(__has_builtin)
#if __has_builtin(__builtin_thread_pointer)
#define RSEQ_HAVE_BUILTIN_THREAD_POINTER 1
#endif
#endif

void* thread_pointer() {
#if defined(RSEQ_HAVE_BUILTIN_THREAD_POINTER)
  return __builtin_thread_pointer();
#elif defined(__x86_64__)
  void* tp;
  __asm__("mov %%fs:0, %0" : "=r"(tp));
  return tp;
#elif defined(__aarch64__)
  void* tp;
  __asm__("mrs %0, tpidr_el0" : "=r"(tp));
  return tp;
#else
#error "no thread pointer for this architecture"
#endif
}

uint32_t load_u32(const volatile void* base, size_t offset) {
  const volatile uint32_t* p = reinterpret_cast<const volatile uint32_t*>(
      reinterpret_cast<const volatile unsigned char*>(base) + offset);
  return __atomic_load_n(p, __ATOMIC_RELAXED);
}

Registration describe(const ThreadState* st) {
  Registration r{Owner::None, 0, 0, 0, 0, ""};
  if (st == nullptr) return r;
  r.refs = st->refs;
  if (st->refs > 0) {
    r.owner = st->owner;
    r.length = st->length;
    r.signature = st->signature;
  } else {
    r.err = st->last_err;
    r.op = st->last_op;
  }
  return r;
}

Registration failure(ThreadState* st, int err, const char* op) {
  if (st != nullptr) {
    st->last_err = err;
    st->last_op = op;
  }
  Registration r{Owner::None, 0, 0, st ? st->refs : 0, err, op};
  return r;
}

void probe_libc(ThreadState* st, volatile rseq_abi* area) {
  if (!st->libc_probed) {
    st->libc_probe = probe_registered_length(area);
    st->libc_probed = true;
  }
}

}  // namespace

const char* owner_name(Owner owner) {
  switch (owner) {
    case Owner::Libc:
      return "libc";
    case Owner::Addon:
      return "addon";
    case Owner::None:
      break;
  }
  return "none";
}

volatile rseq_abi* libc_area() {
  const LibcRseqSymbols& sym = libc_rseq_symbols();
  if (!sym.has_offset || !sym.has_size || sym.size == 0) return nullptr;
  volatile rseq_abi* area = reinterpret_cast<volatile rseq_abi*>(
      static_cast<unsigned char*>(thread_pointer()) + sym.offset);
  uint32_t cpu = load_u32(area, offsetof(rseq_abi, cpu_id));
  if (cpu == RSEQ_ABI_CPU_ID_REGISTRATION_FAILED || cpu == RSEQ_ABI_CPU_ID_UNINITIALIZED) {
    return nullptr;
  }
  return area;
}

LengthProbe probe_registered_length(const volatile rseq_abi* area) {
  LengthProbe none{0, 0};
  // Control call: a length below every valid one must get EINVAL whether or
  // not the area is registered. Any other answer means the syscall is filtered
  // or emulated, and the probe would be meaningless.
  if (sys_rseq(area, RSEQ_ABI_ORIG_FEATURE_SIZE - 1, 0, RSEQ_ABI_SIG) == 0 || errno != EINVAL) {
    return none;
  }
  auto ask = [&](uint32_t len, LengthProbe* out) -> bool {
    if (sys_rseq(area, len, 0, RSEQ_ABI_SIG) == 0) {
      // Not registered after all: the call registered it. Undo and give up.
      sys_rseq(area, len, RSEQ_ABI_FLAG_UNREGISTER, RSEQ_ABI_SIG);
      *out = none;
      return true;
    }
    if (errno == EBUSY) {
      *out = LengthProbe{len, RSEQ_ABI_SIG};
      return true;
    }
    if (errno == EPERM) {
      *out = LengthProbe{len, 0};
      return true;
    }
    if (errno != EINVAL) {
      *out = none;
      return true;
    }
    return false;
  };
  LengthProbe found = none;
  if (ask(RSEQ_ABI_ORIG_SIZE, &found)) return found;
  for (uint32_t len = RSEQ_ABI_ORIG_FEATURE_SIZE; len <= 1024; ++len) {
    if (len == RSEQ_ABI_ORIG_SIZE) continue;
    if (ask(len, &found)) return found;
  }
  return none;
}

Registration acquire() {
  int err = 0;
  ThreadState* st = thread_state(true, &err);
  if (st == nullptr) return failure(nullptr, err, "alloc");

  if (st->refs > 0) {
    ++st->refs;
    return describe(st);
  }

  // First reference on this thread.
  if (st->stuck) {
    // Our area is still registered from a failed unregistration: reuse it.
    st->refs = 1;
    st->stuck = false;
    g_threads.fetch_add(1, std::memory_order_relaxed);
    st->last_err = 0;
    st->last_op = "";
    return describe(st);
  }

  if (volatile rseq_abi* area = libc_area()) {
    probe_libc(st, area);
    st->owner = Owner::Libc;
    st->area = area;
    st->length = st->libc_probe.length;
    st->signature = st->libc_probe.signature;
    st->refs = 1;
    st->last_err = 0;
    st->last_op = "";
    g_threads.fetch_add(1, std::memory_order_relaxed);
    return describe(st);
  }

  AreaLayout layout = area_layout(auxv_get(AT_RSEQ_FEATURE_SIZE), auxv_get(AT_RSEQ_ALIGN));
  void* mem = nullptr;
  int rc = posix_memalign(&mem, layout.align, layout.alloc_size);
  if (rc != 0) return failure(st, rc, "alloc");
  memset(mem, 0, layout.alloc_size);
  volatile rseq_abi* area = static_cast<volatile rseq_abi*>(mem);
  area->cpu_id = RSEQ_ABI_CPU_ID_UNINITIALIZED;
  g_areas.fetch_add(1, std::memory_order_relaxed);

  if (sys_rseq(area, layout.length, 0, RSEQ_ABI_SIG) != 0) {
    int e = errno;
    free(mem);
    g_areas.fetch_sub(1, std::memory_order_relaxed);
    return failure(st, e, "register");
  }
  g_registrations.fetch_add(1, std::memory_order_relaxed);
  g_threads.fetch_add(1, std::memory_order_relaxed);
  st->owner = Owner::Addon;
  st->area = area;
  st->length = layout.length;
  st->signature = RSEQ_ABI_SIG;
  st->refs = 1;
  st->last_err = 0;
  st->last_op = "";
  return describe(st);
}

uint32_t release() {
  ThreadState* st = thread_state(false, nullptr);
  if (st == nullptr || st->refs == 0) return 0;
  if (--st->refs > 0) return st->refs;

  g_threads.fetch_sub(1, std::memory_order_relaxed);
  if (st->owner == Owner::Addon) {
    int e = drop_own_area(st);
    if (e != 0) {
      st->stuck = true;
      st->last_err = e;
      st->last_op = "unregister";
    }
  } else {
    st->owner = Owner::None;
    st->area = nullptr;
    st->length = 0;
    st->signature = 0;
  }
  return 0;
}

Registration registration() {
  ThreadState* st = thread_state(false, nullptr);
  if (st != nullptr && st->refs > 0) return describe(st);
  if (volatile rseq_abi* area = libc_area()) {
    Registration r{Owner::Libc, 0, 0, 0, 0, ""};
    ThreadState* s = thread_state(true, nullptr);
    if (s != nullptr) {
      probe_libc(s, area);
      r.length = s->libc_probe.length;
      r.signature = s->libc_probe.signature;
    }
    return r;
  }
  if (st != nullptr && st->stuck) {
    Registration r{Owner::Addon, st->length, st->signature, 0, st->last_err, st->last_op};
    return r;
  }
  return describe(st);
}

uint32_t thread_refs() {
  ThreadState* st = thread_state(false, nullptr);
  return st ? st->refs : 0;
}

volatile rseq_abi* thread_area() {
  ThreadState* st = thread_state(false, nullptr);
  return (st && st->refs > 0) ? st->area : nullptr;
}

const ThreadRecord* thread_record() {
  return reinterpret_cast<const ThreadRecord*>(thread_state(false, nullptr));
}

bool record_holds(const ThreadRecord* record, const volatile rseq_abi* area) {
  const ThreadState* st = reinterpret_cast<const ThreadState*>(record);
  return st != nullptr && area != nullptr && st->refs > 0 && st->area == area;
}

uint32_t thread_area_view_length() {
  ThreadState* st = thread_state(false, nullptr);
  if (st == nullptr || st->refs == 0) return 0;
  return st->length != 0 ? st->length : RSEQ_ABI_ORIG_SIZE;
}

bool read_thread_field(size_t offset, uint32_t* value) {
  volatile rseq_abi* area = thread_area();
  if (area == nullptr || offset > sizeof(rseq_abi) - sizeof(uint32_t) || offset % 4 != 0) {
    return false;
  }
  *value = load_u32(area, offset);
  return true;
}

DebugCounts debug_counts() {
  DebugCounts c;
  c.registrations = g_registrations.load(std::memory_order_relaxed);
  c.areas = g_areas.load(std::memory_order_relaxed);
  c.threads = g_threads.load(std::memory_order_relaxed);
  return c;
}

}  // namespace rseq_native
