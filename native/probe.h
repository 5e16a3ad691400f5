// native/probe.h - what this machine offers: the kernel's rseq support, the
// libc and its rseq registration symbols, and which struct rseq fields are live.
#ifndef RSEQ_NATIVE_PROBE_H
#define RSEQ_NATIVE_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include <string>

namespace rseq_native {

// glibc (2.35+) exports these three symbols describing its own registration.
// They are looked up with dlsym(RTLD_DEFAULT, ...) at run time, so the addon
// loads on a libc without them (musl). Looked up once per process.
struct LibcRseqSymbols {
  bool has_offset;
  ptrdiff_t offset;  // __rseq_offset: area address = thread pointer + offset
  bool has_size;
  unsigned int size;  // __rseq_size: 0 when glibc did not register
  bool has_flags;
  unsigned int flags;  // __rseq_flags
};
const LibcRseqSymbols& libc_rseq_symbols();

enum class LibcFamily { Glibc, Musl, Unknown };
const char* libc_family_name(LibcFamily family);  // "glibc", "musl", "unknown"

struct LibcInfo {
  LibcFamily family;
  bool has_version;
  std::string version;  // gnu_get_libc_version() for glibc
  LibcRseqSymbols symbols;
};
// glibc when gnu_get_libc_version is found; musl when /proc/self/maps maps a
// file with "musl" in its path; unknown otherwise.
LibcInfo libc_info();

struct KernelInfo {
  std::string release;         // uname(2) release
  unsigned long feature_size;  // getauxval(AT_RSEQ_FEATURE_SIZE), 0 when absent
  unsigned long align;         // getauxval(AT_RSEQ_ALIGN), 0 when absent
  int probe_errno;             // errno of rseq(NULL, 0, 0, 0); EINVAL = present
  long membarrier_mask;        // MEMBARRIER_CMD_QUERY mask, or -errno
};
KernelInfo kernel_info();

// errno of rseq(NULL, 0, 0, 0): EINVAL where the syscall exists, ENOSYS where
// it does not, EPERM (or ENOSYS) under a seccomp filter. 0 if it succeeded,
// which no kernel does. Changes nothing in the kernel.
int rseq_probe_errno();

// membarrier(MEMBARRIER_CMD_QUERY, 0, 0): the mask of supported commands, or
// -errno.
long membarrier_query();

// Which struct rseq fields the kernel keeps up to date, from the feature size
// (AT_RSEQ_FEATURE_SIZE; pass 0 when absent, which means the original 20).
struct FieldLiveness {
  unsigned long feature_size;  // the effective size (20 for an input of 0)
  bool cpu_id_start;           // >= 8 (always, with any real size)
  bool cpu_id;                 // >= 8
  bool node_id;                // >= 24
  bool mm_cid;                 // >= 28
  bool slice_ctrl;             // >= 32
};
FieldLiveness field_liveness(unsigned long feature_size);

// The effective feature size of this kernel: getauxval(AT_RSEQ_FEATURE_SIZE),
// or 20 when absent.
unsigned long effective_feature_size();

}  // namespace rseq_native

#endif  // RSEQ_NATIVE_PROBE_H
