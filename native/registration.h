// native/registration.h - the calling thread's rseq registration.
//
// A thread's struct rseq is either libc's (glibc 2.35+ registers every thread
// itself) or one this core allocates and registers. Users take references with
// acquire() and drop them with release(); the first reference finds or makes
// the registration, the last one undoes what the core did (unregister, then
// free). Per-thread state lives behind a pthread key whose destructor cleans up
// after a thread that exits still holding references, so the kernel never
// writes into freed memory. No thread_local / initial-exec TLS is used: the
// core ends up in a dlopen'd Node addon.
//
// Nothing here aborts or throws: every failure comes back as an errno.
#ifndef RSEQ_NATIVE_REGISTRATION_H
#define RSEQ_NATIVE_REGISTRATION_H

#include <stddef.h>
#include <stdint.h>

#include "abi.h"

namespace rseq_native {

enum class Owner { None, Libc, Addon };
const char* owner_name(Owner owner);  // "none", "libc", "addon"

struct Registration {
  Owner owner;
  uint32_t length;     // registered length; 0 when not registered or unknown
  uint32_t signature;  // registered signature; 0 when unknown
  uint32_t refs;       // references the calling thread holds after the call
  int err;             // 0, or the errno of the failed operation
  const char* op;      // "" on success; "register", "unregister", "alloc"
};

// Takes a reference on the calling thread's registration. The first reference
// uses libc's area when libc registered the thread, and otherwise registers an
// area of the core's own. On failure returns owner None, refs 0 (unchanged),
// err/op set, and leaves nothing allocated or registered.
Registration acquire();

// Drops one reference of the calling thread; returns the references left (0,
// and no effect, when it held none). The last release of a core-owned
// registration unregisters it with the same length and signature and then
// frees the memory.
uint32_t release();

// The calling thread's registration without changing references. A thread with
// no references reports libc's registration when libc registered it, and
// otherwise owner None with the error of the last failed acquire (if any).
Registration registration();

// References the calling thread holds.
uint32_t thread_refs();

// The calling thread's area while it holds a reference, else nullptr.
volatile struct rseq_abi* thread_area();

// The calling thread's record of its registration, or nullptr when it has
// none yet. It stays the same for the thread's whole life and is freed when the
// thread exits. record_holds(thread_record(), area) is thread_area() == area
// without the pthread key lookup: region_ffi.cc keeps the record of the
// thread that bound a region and checks it on every call, on that thread only.
struct ThreadRecord;
const ThreadRecord* thread_record();
bool record_holds(const ThreadRecord* record, const volatile struct rseq_abi* area);

// The registered length the calling thread's area can be viewed with: the
// registered length, or 32 (the original size) when libc's is unknown. 0 when
// the thread holds no reference.
uint32_t thread_area_view_length();

// Relaxed 32-bit load of the field at `offset` (0, 4, 20, 24, 28) of the
// calling thread's area. Returns false when the thread holds no reference.
bool read_thread_field(size_t offset, uint32_t* value);

// libc's area for the calling thread when libc registered it: __rseq_size > 0
// and the area's cpu_id is a CPU number (not -1 uninitialised/unregistered, not
// -2 registration failed). nullptr otherwise, and always on a libc without
// __rseq_offset / __rseq_size (musl).
volatile struct rseq_abi* libc_area();

// How the core lays out an area of its own for a kernel with this feature size
// (AT_RSEQ_FEATURE_SIZE, 0 when absent) and alignment (AT_RSEQ_ALIGN, 0 when
// absent): addonAreaLayout of src/contract/abi.ts, whose answers for a set of
// kernels native/abi_table.h holds (RSEQ_TABLE_AREA_LAYOUT_CASES) and the
// native tests check this function against.
struct AreaLayout {
  uint32_t length;  // 32 when feature size <= 32, else the feature size (33 on 7.0: v2 mode)
  size_t align;     // max(AT_RSEQ_ALIGN, 32)
  size_t alloc_size;  // length rounded up to align
};
constexpr AreaLayout area_layout(unsigned long feature_size, unsigned long at_align) {
  const size_t align = at_align > RSEQ_ABI_MIN_ALIGN ? at_align : RSEQ_ABI_MIN_ALIGN;
  // Legacy length: 4.18-6.19, and on 7.0 the kernel's "legacy" mode. Past 32
  // (Linux 7.0: feature size 33, AT_RSEQ_ALIGN 64): exactly the feature size,
  // as glibc 2.41+ registers, which selects the optimised "v2" mode, in which
  // user space must never write cpu_id_start, cpu_id, node_id or mm_cid.
  const uint32_t length =
      feature_size <= RSEQ_ABI_ORIG_SIZE ? RSEQ_ABI_ORIG_SIZE : static_cast<uint32_t>(feature_size);
  return AreaLayout{length, align, (length + align - 1) / align * align};
}

// The length and signature a registered area was registered with, found by
// asking the kernel: rseq(area, L, 0, RSEQ_ABI_SIG) answers EBUSY only for the
// registered (area, length, signature), EPERM for the registered area and
// length with another signature, and EINVAL for any other length. Tries L = 32,
// then 20..1024. These calls change nothing while `area` is registered; the
// caller must know it is (a valid cpu_id). {0, 0} when no length answered.
struct LengthProbe {
  uint32_t length;     // 0 when unknown
  uint32_t signature;  // RSEQ_ABI_SIG on EBUSY, 0 (unknown) on EPERM
};
LengthProbe probe_registered_length(const volatile struct rseq_abi* area);

// Process-wide bookkeeping for leak checks.
struct DebugCounts {
  long registrations;  // core-owned areas registered with the kernel
  long areas;          // core-owned areas allocated and not freed
  long threads;        // threads holding references (libc or core owner)
};
DebugCounts debug_counts();

}  // namespace rseq_native

#endif  // RSEQ_NATIVE_REGISTRATION_H
