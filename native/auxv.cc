// native/auxv.cc - see auxv.h.
#include "auxv.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "abi.h"

namespace rseq_native {
namespace {

struct AuxvName {
  unsigned long type;
  const char* name;
};

// The AT_* numbers of <elf.h> and include/uapi/linux/auxvec.h, written out so
// that old or non-glibc headers lacking some of them do not matter.
const AuxvName kAuxvNames[] = {
    {0, "AT_NULL"},
    {1, "AT_IGNORE"},
    {2, "AT_EXECFD"},
    {3, "AT_PHDR"},
    {4, "AT_PHENT"},
    {5, "AT_PHNUM"},
    {6, "AT_PAGESZ"},
    {7, "AT_BASE"},
    {8, "AT_FLAGS"},
    {9, "AT_ENTRY"},
    {10, "AT_NOTELF"},
    {11, "AT_UID"},
    {12, "AT_EUID"},
    {13, "AT_GID"},
    {14, "AT_EGID"},
    {15, "AT_PLATFORM"},
    {16, "AT_HWCAP"},
    {17, "AT_CLKTCK"},
    {18, "AT_FPUCW"},
    {19, "AT_DCACHEBSIZE"},
    {20, "AT_ICACHEBSIZE"},
    {21, "AT_UCACHEBSIZE"},
    {22, "AT_IGNOREPPC"},
    {23, "AT_SECURE"},
    {24, "AT_BASE_PLATFORM"},
    {25, "AT_RANDOM"},
    {26, "AT_HWCAP2"},
    {AT_RSEQ_FEATURE_SIZE, "AT_RSEQ_FEATURE_SIZE"},  // 27
    {AT_RSEQ_ALIGN, "AT_RSEQ_ALIGN"},                // 28
    {29, "AT_HWCAP3"},
    {30, "AT_HWCAP4"},
    {31, "AT_EXECFN"},
    {32, "AT_SYSINFO"},
    {33, "AT_SYSINFO_EHDR"},
    {34, "AT_L1I_CACHESHAPE"},
    {35, "AT_L1D_CACHESHAPE"},
    {36, "AT_L2_CACHESHAPE"},
    {37, "AT_L3_CACHESHAPE"},
    {40, "AT_L1I_CACHESIZE"},
    {41, "AT_L1I_CACHEGEOMETRY"},
    {42, "AT_L1D_CACHESIZE"},
    {43, "AT_L1D_CACHEGEOMETRY"},
    {44, "AT_L2_CACHESIZE"},
    {45, "AT_L2_CACHEGEOMETRY"},
    {46, "AT_L3_CACHESIZE"},
    {47, "AT_L3_CACHEGEOMETRY"},
    {51, "AT_MINSIGSTKSZ"},
};

// Types the getauxval fallback asks for. AT_PLATFORM and the other pointer
// values are left out: they mean nothing without the process's memory.
const unsigned long kFallbackTypes[] = {
    AT_RSEQ_FEATURE_SIZE, AT_RSEQ_ALIGN, 6 /* AT_PAGESZ */,
    16 /* AT_HWCAP */,    26 /* AT_HWCAP2 */, 17 /* AT_CLKTCK */,
};

// Reads a whole (small, unseekable-size) file. Returns 0 or an errno.
int read_file(const char* path, std::vector<unsigned char>* out) {
  int fd;
  do {
    fd = open(path, O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return errno;
  out->clear();
  unsigned char chunk[512];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      return err;
    }
    if (n == 0) break;
    out->insert(out->end(), chunk, chunk + n);
  }
  close(fd);
  return 0;
}

}  // namespace

const char* auxv_type_name(unsigned long type) {
  for (const AuxvName& n : kAuxvNames) {
    if (n.type == type) return n.name;
  }
  return nullptr;
}

bool auxv_parse(const void* data, size_t len, std::vector<AuxvEntry>* out) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  const size_t pair = 2 * sizeof(unsigned long);
  for (size_t off = 0; off + pair <= len; off += pair) {
    unsigned long kv[2];
    memcpy(kv, p + off, pair);  // the buffer need not be aligned
    if (kv[0] == 0 /* AT_NULL */) return true;
    out->push_back(AuxvEntry{kv[0], kv[1]});
  }
  return false;
}

std::vector<AuxvEntry> auxv_from_getauxval() {
  std::vector<AuxvEntry> entries;
  for (unsigned long type : kFallbackTypes) {
    errno = 0;
    unsigned long value = getauxval(type);
    if (value == 0 && errno == ENOENT) continue;
    entries.push_back(AuxvEntry{type, value});
  }
  return entries;
}

AuxvResult auxv_read(const char* path) {
  AuxvResult result{{}, false, 0};
  std::vector<unsigned char> raw;
  int err = read_file(path, &raw);
  if (err == 0) {
    if (auxv_parse(raw.data(), raw.size(), &result.entries)) {
      result.from_proc = true;
      return result;
    }
    err = EIO;  // truncated or malformed
  }
  result.proc_errno = err;
  result.entries = auxv_from_getauxval();
  return result;
}

unsigned long auxv_get(unsigned long type) { return getauxval(type); }

}  // namespace rseq_native
