// native/errno_table.h - the rseq syscall's errno table, measured.
//
// Runs the ERRNO_CASES sequence of src/contract/abi.ts on a fresh pthread with raw
// rseq(2) calls and records what the kernel answered. A and B are two zeroed
// 64-byte areas aligned to 64, SIG is the architecture's signature, UNREG is
// RSEQ_FLAG_UNREGISTER, BAD is 1 << 8 (a flag no kernel defines) and KADDR is a
// 64-byte aligned kernel address. What each kernel release answers is the
// simulator's model (fallback/kernel/profiles.ts); the native tests take their
// expectations from the profile of the running kernel (src/errno-check.ts).
#ifndef RSEQ_NATIVE_ERRNO_TABLE_H
#define RSEQ_NATIVE_ERRNO_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "abi_table.h"

namespace rseq_native {

constexpr size_t kErrnoCaseCount = 18;
static_assert(kErrnoCaseCount == RSEQ_TABLE_ERRNO_CASE_COUNT, "the cases run here are ERRNO_CASES of src/contract/abi.ts");

// The case names in the order run_errno_table() runs them, spelled as in
// ERRNO_CASES (native/test/test_errno_table.cc compares them with the table).
extern const char* const kErrnoCaseNames[kErrnoCaseCount];

struct ErrnoCaseResult {
  const char* name;
  int ret;  // 0 or -1
  int err;  // errno, 0 on success
};

struct ErrnoTableResult {
  int err;         // 0, or why the table could not be run (pthread_create, alloc)
  const char* op;  // "" or "alloc" / "pthread_create"
  bool libc_owned_at_start;  // the scratch thread was registered by libc
  uint32_t signature;        // RSEQ_ABI_SIG
  ErrnoCaseResult cases[kErrnoCaseCount];
  // Whether an area was still registered when the cases ended (and had to be
  // unregistered by the runner), and whether that cleanup succeeded.
  bool cleanup_needed;
  bool cleanup_ok;
};

// Runs the table on a new thread and joins it. Never aborts: failures to start
// are reported in `err`.
ErrnoTableResult run_errno_table();

}  // namespace rseq_native

#endif  // RSEQ_NATIVE_ERRNO_TABLE_H
