// native/dev_hooks.h - the test hooks of the development addon.
//
// binding.gyp's rseq_dev target (built by `npm run build:dev`, `npm test` and
// `npm run bench`, never by a user's install) defines RSEQ_DEV_HOOKS: its
// addon adds benchLoop (bench/native/bench.cc) and the hooks below. The
// shipped addon has none of them; scripts/native-tests.cjs checks that.
#ifndef RSEQ_NATIVE_DEV_HOOKS_H
#define RSEQ_NATIVE_DEV_HOOKS_H

#if defined(RSEQ_DEV_HOOKS)
#include <stdlib.h>
#include <string.h>
#endif

namespace rseq_native {

// RSEQ_NO_EXTERNAL_BUFFER=1: areaBuffer() answers as a runtime that refuses
// external buffers does (test/native/children.test.ts). The reason, or
// nullptr when the hook is off (always, in the shipped addon).
inline const char* dev_hook_no_external_buffer() {
#if defined(RSEQ_DEV_HOOKS)
  const char* hook = getenv("RSEQ_NO_EXTERNAL_BUFFER");
  if (hook != nullptr && strcmp(hook, "1") == 0) {
    return "external buffers are turned off by RSEQ_NO_EXTERNAL_BUFFER=1";
  }
#endif
  return nullptr;
}

}  // namespace rseq_native

#endif  // RSEQ_NATIVE_DEV_HOOKS_H
