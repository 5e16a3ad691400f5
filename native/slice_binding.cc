// native/slice_binding.cc - see slice_binding.h.
//
// sliceGet(): the prctl's GET answer (1 enabled, 0 not).
// sliceSet(enable: boolean): undefined.
// sliceYield(): rseq_slice_yield()'s answer (1: a grant was still active).
// sliceRequest(): undefined; sliceEnd(): 1 when it yielded a grant, else 0.
// sliceCtrl(): the thread's slice_ctrl word.
// A failed call throws an Error with .code = the errno's name (ENOTSUPP for
// 524) and .errno = its number, as fence() does; src/native/backend.ts turns it into
// the package's RseqError.
#include "slice_binding.h"

#include <string>

#include "abi_table.h"
#include "napi_util.h"
#include "slice.h"

namespace rseq_native {

namespace {

napi_value Fail(napi_env env, const char* what) { return ThrowApiFailure(env, what); }

// As ThrowErrno, with ENOTSUPP (524) named, and no strerror (glibc has no
// text for 524).
napi_value ThrowSliceErrno(napi_env env, const char* what, int err) {
  if (ExceptionPending(env)) return nullptr;
  const char* name = slice_errno_name(err);
  napi_value error = NewError(env, ErrorKind::Error, name, std::string(what) + " failed: " + name);
  napi_value num = nullptr;
  if (error == nullptr || napi_create_int32(env, err, &num) != napi_ok ||
      napi_set_named_property(env, error, "errno", num) != napi_ok) {
    return Fail(env, what);
  }
  return ThrowValue(env, error);
}

napi_value Number(napi_env env, double v, const char* what) {
  napi_value out = nullptr;
  if (napi_create_double(env, v, &out) != napi_ok) return Fail(env, what);
  return out;
}

napi_value Result(napi_env env, SliceCall r, const char* what) {
  if (r.err != 0) return ThrowSliceErrno(env, what, r.err);
  return Number(env, static_cast<double>(r.value), what);
}

}  // namespace

napi_value SliceGetBinding(napi_env env, napi_callback_info) { return Result(env, slice_get(), "prctl"); }

napi_value SliceSetBinding(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg = nullptr;
  bool enable = false;
  if (napi_get_cb_info(env, info, &argc, &arg, nullptr, nullptr) != napi_ok) return Fail(env, "sliceSet");
  if (argc < 1 || napi_get_value_bool(env, arg, &enable) != napi_ok) {
    return ThrowError(env, ErrorKind::TypeError, RSEQ_TABLE_ERR_INVALID_ARG_TYPE, "sliceSet: enable must be a boolean");
  }
  SliceCall r = slice_set(enable);
  if (r.err != 0) return ThrowSliceErrno(env, "prctl", r.err);
  return nullptr;  // undefined
}

napi_value SliceYieldBinding(napi_env env, napi_callback_info) {
  return Result(env, slice_yield(), "rseq_slice_yield");
}

napi_value SliceRequestBinding(napi_env env, napi_callback_info) {
  int err = slice_request();
  if (err != 0) return ThrowSliceErrno(env, "slice request", err);
  return nullptr;
}

napi_value SliceEndBinding(napi_env env, napi_callback_info) {
  int yielded = 0;
  int err = slice_end(&yielded);
  if (err != 0) return ThrowSliceErrno(env, "rseq_slice_yield", err);
  return Number(env, yielded, "sliceEnd");
}

napi_value SliceCtrlBinding(napi_env env, napi_callback_info) {
  uint32_t word = 0;
  int err = slice_ctrl(&word);
  if (err != 0) return ThrowSliceErrno(env, "slice_ctrl", err);
  return Number(env, word, "sliceCtrl");
}

}  // namespace rseq_native
