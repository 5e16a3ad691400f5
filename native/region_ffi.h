// native/region_ffi.h - bound regions reached through node:ffi (RSEQ_FFI=1,
// src/native/ffi.ts): a process-wide table of handles, and C functions that take a
// handle as their one argument.
//
// Node 26's node:ffi calls a C function whose arguments are all f64 (or that
// has none) as a V8 fast API call, without its JavaScript wrapper: about 6 ns
// against 19 ns for the N-API call of a bound region's operation
// (bench/analysis/ffi-crossing.cjs). A region cannot travel as a pointer (an
// integer or pointer argument goes through the wrapper), so bindRegion
// (region_binding.cc) registers its region in a table and hands out a handle:
// a double that names a slot of the table and the slot's generation,
//
//   handle = generation * kFfiSlots + index      (generation >= 1, exact in a double)
//
// and the functions below look the region up on every call. A handle is good
// only on the thread that bound the region (its rseq area is that thread's)
// and only while its slot is registered: the slot's word holds the generation
// and a state, its owner the pthread_t of the binding thread, and a call
// checks the handle's range, the generation, the state, the owner against
// pthread_self() and that the thread still holds a registration with the
// region's area, before it reads anything of the region. A bad handle is
// REGION_BAD_HANDLE (take: minus it), with no memory of the region touched.
//
// No lock: a slot is claimed with a compare-exchange of its word (free ->
// claiming), filled, and published (claiming -> live, store-release); it is
// freed by its owner (live -> free) before the region is. Nothing can be left
// held by a thread that is terminated: the binding thread fills its slot
// inside one native call, and a thread that exits with slots still live (its
// regions never finalized) has them freed by a pthread key destructor, so
// that a later thread that gets the same pthread_t cannot use them.
//
// The table is fixed (kFfiSlots); a region bound while it is full gets no
// handle (-1) and its operations stay on N-API.
//
// Nothing here throws or aborts.
#ifndef RSEQ_NATIVE_REGION_FFI_H
#define RSEQ_NATIVE_REGION_FFI_H

#include <stdint.h>

#include "region.h"

#define RSEQ_FFI_EXPORT extern "C" __attribute__((visibility("default")))

namespace rseq_native {

constexpr uint32_t kFfiSlots = 4096;

// Registers `region` (bound to the calling thread, holding a registration
// reference while registered) with its argument words `args` (args[0]: add's
// amount, give's index). Returns the handle (>= kFfiSlots, below 2^53), or -1
// when every slot is taken.
int64_t ffi_register(Region* region, const double* args);

// Frees the handle's slot (a handle of -1 is ignored). Called by the thread
// that registered it, before the region is freed; afterwards every call with
// the handle returns REGION_BAD_HANDLE.
void ffi_unregister(int64_t handle);

// Slots registered now, process-wide (tests).
uint32_t ffi_live_slots();

// args[0] as an integer in [lo, hi] (what add and give take), or false.
inline bool ffi_arg_integer(double d, int64_t lo, int64_t hi, int64_t* out) {
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi))) return false;
  int64_t v = static_cast<int64_t>(d);
  if (static_cast<double>(v) != d) return false;
  *out = v;
  return true;
}

}  // namespace rseq_native

// The operations of a bound region (native/region.h), one handle argument
// each. add, push, pop and give return REGION_OK (0) when they committed, else
// a status (the N-API functions return undefined for REGION_OK); take returns
// an index (>= 0) or minus a status. A handle that does not name a live region
// of this thread, or names one of another kind, is REGION_BAD_HANDLE.
//
//   rseq_ffi_add(h)   counter: this CPU's section word += args[0]
//   rseq_ffi_push(h)  buffer: the region's record onto this CPU's stack (REGION_EMPTY: full)
//   rseq_ffi_pop(h)   buffer: this CPU's top record into the region's record (REGION_EMPTY: empty)
//   rseq_ffi_take(h)  pool: an index from this CPU's list (-REGION_EMPTY: empty)
//   rseq_ffi_give(h)  pool: index args[0], which this thread took, onto this CPU's list
RSEQ_FFI_EXPORT int32_t rseq_ffi_add(double handle);
RSEQ_FFI_EXPORT int32_t rseq_ffi_push(double handle);
RSEQ_FFI_EXPORT int32_t rseq_ffi_pop(double handle);
RSEQ_FFI_EXPORT int32_t rseq_ffi_take(double handle);
RSEQ_FFI_EXPORT int32_t rseq_ffi_give(double handle);
// 1 when the handle names a live region of the calling thread, else 0 (tests).
RSEQ_FFI_EXPORT int32_t rseq_ffi_valid(double handle);

#endif  // RSEQ_NATIVE_REGION_FFI_H
