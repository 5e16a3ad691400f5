// native/errno_table.cc - see errno_table.h.
#include "errno_table.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "registration.h"
#include "syscalls.h"

namespace rseq_native {

const char* const kErrnoCaseNames[kErrnoCaseCount] = {
    "probe-null",
    "register-bad-flags",
    "register-len-31",
    "register-misaligned",
    "register-bad-address",
    "unregister-not-registered",
    "register",
    "register-again-same",
    "register-again-other-signature",
    "register-again-other-area",
    "register-again-other-length",
    "unregister-extra-flags",
    "unregister-other-area",
    "unregister-other-length",
    "unregister-wrong-signature",
    "unregister",
    "register-len-64",
    "unregister-len-64",
};

namespace {

constexpr int kBadFlag = 1 << 8;
constexpr int kUnreg = RSEQ_ABI_FLAG_UNREGISTER;
constexpr uint32_t kSig = RSEQ_ABI_SIG;

struct Call {
  int area;  // 0: NULL, 1: A, 2: B, 3: A + 16, 4: KADDR
  uint32_t len;
  int flags;
  uint32_t sig;
};

// The ERRNO_CASES sequence, one call per case, in order.
const Call kCalls[kErrnoCaseCount] = {
    {0, 0, 0, 0},                     // probe-null
    {1, 32, kBadFlag, kSig},          // register-bad-flags
    {1, 31, 0, kSig},                 // register-len-31
    {3, 32, 0, kSig},                 // register-misaligned
    {4, 32, 0, kSig},                 // register-bad-address
    {1, 32, kUnreg, kSig},            // unregister-not-registered
    {1, 32, 0, kSig},                 // register
    {1, 32, 0, kSig},                 // register-again-same
    {1, 32, 0, kSig ^ 1u},            // register-again-other-signature
    {2, 32, 0, kSig},                 // register-again-other-area
    {1, 64, 0, kSig},                 // register-again-other-length
    {1, 32, kUnreg | kBadFlag, kSig}, // unregister-extra-flags
    {2, 32, kUnreg, kSig},            // unregister-other-area
    {1, 64, kUnreg, kSig},            // unregister-other-length
    {1, 32, kUnreg, kSig ^ 1u},       // unregister-wrong-signature
    {1, 32, kUnreg, kSig},            // unregister
    {2, 64, 0, kSig},                 // register-len-64
    {2, 64, kUnreg, kSig},            // unregister-len-64
};

#if defined(__x86_64__) || defined(__aarch64__)
// Top of the address space, 64-byte aligned: kernel memory on both.
void* const kKernelAddress = reinterpret_cast<void*>(static_cast<uintptr_t>(0xffffffffffffffc0ull));
#else
#error "no kernel address for this architecture"
#endif

struct Scratch {
  unsigned char* a;
  unsigned char* b;
  ErrnoTableResult* out;
};

void* run_cases(void* arg) {
  Scratch* s = static_cast<Scratch*>(arg);
  ErrnoTableResult* out = s->out;
  out->libc_owned_at_start = libc_area() != nullptr;

  // What this thread has registered through the cases, to undo at the end.
  const void* reg_area = nullptr;
  uint32_t reg_len = 0;
  uint32_t reg_sig = 0;

  for (size_t i = 0; i < kErrnoCaseCount; ++i) {
    const Call& c = kCalls[i];
    void* area = nullptr;
    switch (c.area) {
      case 1: area = s->a; break;
      case 2: area = s->b; break;
      case 3: area = s->a + 16; break;
      case 4: area = kKernelAddress; break;
      default: break;
    }
    errno = 0;
    int ret = sys_rseq(area, c.len, c.flags, c.sig);
    int err = ret == 0 ? 0 : errno;
    out->cases[i] = ErrnoCaseResult{kErrnoCaseNames[i], ret == 0 ? 0 : -1, err};
    if (ret == 0) {
      if (c.flags & kUnreg) {
        reg_area = nullptr;
      } else {
        reg_area = area;
        reg_len = c.len;
        reg_sig = c.sig;
      }
    }
  }

  if (reg_area != nullptr) {
    out->cleanup_needed = true;
    out->cleanup_ok = sys_rseq(reg_area, reg_len, kUnreg, reg_sig) == 0;
  }
  return nullptr;
}

}  // namespace

ErrnoTableResult run_errno_table() {
  ErrnoTableResult result;
  memset(&result, 0, sizeof result);
  result.op = "";
  result.signature = kSig;
  for (size_t i = 0; i < kErrnoCaseCount; ++i) {
    result.cases[i] = ErrnoCaseResult{kErrnoCaseNames[i], 0, 0};
  }

  unsigned char* a = static_cast<unsigned char*>(aligned_alloc(64, 64));
  unsigned char* b = static_cast<unsigned char*>(aligned_alloc(64, 64));
  if (a == nullptr || b == nullptr) {
    result.err = ENOMEM;
    result.op = "alloc";
    free(a);
    free(b);
    return result;
  }
  memset(a, 0, 64);
  memset(b, 0, 64);

  Scratch scratch{a, b, &result};
  pthread_t thread;
  int rc = pthread_create(&thread, nullptr, run_cases, &scratch);
  if (rc != 0) {
    result.err = rc;
    result.op = "pthread_create";
  } else {
    pthread_join(thread, nullptr);
  }
  // The thread is gone: whatever it left registered is no longer used by the
  // kernel, so the memory can go.
  free(a);
  free(b);
  return result;
}

}  // namespace rseq_native
