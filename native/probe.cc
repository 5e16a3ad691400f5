// native/probe.cc - see probe.h.
#include "probe.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "abi.h"
#include "auxv.h"
#include "syscalls.h"

// glibc's exports, as weak references: in a statically linked program dlsym
// finds nothing, but these resolve to glibc's own definitions when it has them
// (glibc 2.35+), and stay null where it has none (musl, older glibc).
// A prebuilt addon (native/glibc_compat.h) has none: a reference, weak or
// not, would carry GLIBC_2.35 and keep it from loading on older glibc; as a
// dlopen'd library it finds them through dlsym.
#ifdef RSEQ_NO_LIBC_WEAK_REFS
#define RSEQ_LIBC_WEAK(name) nullptr
#else
extern "C" {
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));
extern const unsigned int __rseq_flags __attribute__((weak));
}
#define RSEQ_LIBC_WEAK(name) (&name)
#endif

namespace rseq_native {
namespace {

pthread_once_t g_symbols_once = PTHREAD_ONCE_INIT;
LibcRseqSymbols g_symbols;

// The symbol's address: dlsym first (the libc the process really runs, for the
// dlopen'd addon), else the weak reference (a static program's own glibc).
const void* libc_symbol(const char* name, const void* weak) {
  const void* p = dlsym(RTLD_DEFAULT, name);
  return p != nullptr ? p : weak;
}

void lookup_symbols() {
  LibcRseqSymbols s{};
  if (const void* p = libc_symbol("__rseq_offset", RSEQ_LIBC_WEAK(__rseq_offset))) {
    s.has_offset = true;
    s.offset = *static_cast<const ptrdiff_t*>(p);
  }
  if (const void* p = libc_symbol("__rseq_size", RSEQ_LIBC_WEAK(__rseq_size))) {
    s.has_size = true;
    s.size = *static_cast<const unsigned int*>(p);
  }
  if (const void* p = libc_symbol("__rseq_flags", RSEQ_LIBC_WEAK(__rseq_flags))) {
    s.has_flags = true;
    s.flags = *static_cast<const unsigned int*>(p);
  }
  g_symbols = s;
}

// True when /proc/self/maps names a mapped file whose path contains "musl"
// (the dynamic loader and libc of a musl system: /lib/ld-musl-x86_64.so.1).
bool maps_mention_musl() {
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  std::string text;
  char chunk[4096];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(chunk, static_cast<size_t>(n));
  }
  close(fd);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    // The path is the last column and starts with '/'.
    size_t slash = text.find('/', pos);
    if (slash < end && text.substr(slash, end - slash).find("musl") != std::string::npos) {
      return true;
    }
    pos = end + 1;
  }
  return false;
}

}  // namespace

const LibcRseqSymbols& libc_rseq_symbols() {
  pthread_once(&g_symbols_once, lookup_symbols);
  return g_symbols;
}

const char* libc_family_name(LibcFamily family) {
  switch (family) {
    case LibcFamily::Glibc:
      return "glibc";
    case LibcFamily::Musl:
      return "musl";
    case LibcFamily::Unknown:
      break;
  }
  return "unknown";
}

LibcInfo libc_info() {
  LibcInfo info{LibcFamily::Unknown, false, std::string(), libc_rseq_symbols()};
  using VersionFn = const char* (*)();
  void* sym = dlsym(RTLD_DEFAULT, "gnu_get_libc_version");
  if (sym != nullptr) {
    info.family = LibcFamily::Glibc;
    VersionFn fn;
    static_assert(sizeof fn == sizeof sym, "function and data pointers differ in size");
    memcpy(&fn, &sym, sizeof fn);
    const char* v = fn();
    if (v != nullptr) {
      info.has_version = true;
      info.version = v;
    }
  } else if (maps_mention_musl()) {
    info.family = LibcFamily::Musl;
  }
  return info;
}

int rseq_probe_errno() {
  errno = 0;
  int ret = sys_rseq(nullptr, 0, 0, 0);
  return ret == 0 ? 0 : errno;
}

long membarrier_query() {
  long ret = sys_membarrier(RSEQ_ABI_MEMBARRIER_CMD_QUERY, 0, 0);
  return ret < 0 ? -static_cast<long>(errno) : ret;
}

KernelInfo kernel_info() {
  KernelInfo k{std::string(), 0, 0, 0, 0};
  struct utsname u;
  if (uname(&u) == 0) k.release = u.release;
  k.feature_size = auxv_get(AT_RSEQ_FEATURE_SIZE);
  k.align = auxv_get(AT_RSEQ_ALIGN);
  k.probe_errno = rseq_probe_errno();
  k.membarrier_mask = membarrier_query();
  return k;
}

FieldLiveness field_liveness(unsigned long feature_size) {
  unsigned long size = feature_size == 0 ? RSEQ_ABI_ORIG_FEATURE_SIZE : feature_size;
  FieldLiveness f{};
  f.feature_size = size;
  f.cpu_id_start = size >= RSEQ_ABI_FEATURE_CPU_ID_START;
  f.cpu_id = size >= RSEQ_ABI_FEATURE_CPU_ID;
  f.node_id = size >= RSEQ_ABI_FEATURE_NODE_ID;
  f.mm_cid = size >= RSEQ_ABI_FEATURE_MM_CID;
  f.slice_ctrl = size >= RSEQ_ABI_FEATURE_SLICE_CTRL;
  return f;
}

unsigned long effective_feature_size() {
  unsigned long size = auxv_get(AT_RSEQ_FEATURE_SIZE);
  return size == 0 ? RSEQ_ABI_ORIG_FEATURE_SIZE : size;
}

}  // namespace rseq_native
