// native/auxv.h - the process's ELF auxiliary vector.
//
// The kernel hands every process a list of (type, value) pairs; rseq publishes
// AT_RSEQ_FEATURE_SIZE and AT_RSEQ_ALIGN there (Linux 6.3+). The whole vector
// is read from /proc/self/auxv; where /proc cannot be read, a short list is
// rebuilt from getauxval(3).
#ifndef RSEQ_NATIVE_AUXV_H
#define RSEQ_NATIVE_AUXV_H

#include <stddef.h>

#include <vector>

namespace rseq_native {

struct AuxvEntry {
  unsigned long type;
  unsigned long value;
};

struct AuxvResult {
  std::vector<AuxvEntry> entries;  // in kernel order, without the AT_NULL terminator
  bool from_proc;                  // true: parsed from the file; false: getauxval fallback
  int proc_errno;                  // why the file could not be used (0 when from_proc)
};

// "AT_PAGESZ" etc. for the standard AT_* types; nullptr for a type we do not name.
const char* auxv_type_name(unsigned long type);

// Parses the raw bytes of an auxv file: native-endian unsigned long pairs up to
// and excluding the first AT_NULL. Returns false (and leaves what it parsed in
// *out) when the data ends before an AT_NULL pair or has a partial pair.
bool auxv_parse(const void* data, size_t len, std::vector<AuxvEntry>* out);

// The entries getauxval(3) knows among AT_RSEQ_FEATURE_SIZE, AT_RSEQ_ALIGN,
// AT_PAGESZ, AT_HWCAP, AT_HWCAP2 and AT_CLKTCK (an absent type is left out).
std::vector<AuxvEntry> auxv_from_getauxval();

// Reads `path` (normally /proc/self/auxv); falls back to auxv_from_getauxval()
// when it cannot be opened, read or parsed.
AuxvResult auxv_read(const char* path = "/proc/self/auxv");

// getauxval(type), 0 when absent.
unsigned long auxv_get(unsigned long type);

}  // namespace rseq_native

#endif  // RSEQ_NATIVE_AUXV_H
