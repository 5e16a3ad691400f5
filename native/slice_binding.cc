// native/slice_binding.cc - see slice_binding.h.
//
// sliceGet(): the prctl's GET answer (1 enabled, 0 not).
// sliceSet(enable: boolean): undefined.
// sliceYield(): rseq_slice_yield()'s answer (1: a grant was still active).
// sliceRequest(): undefined; sliceEnd(): 1 when it yielded a grant, else 0.
// sliceCtrl(): the thread's slice_ctrl word.
// A failed call throws an Error with .code = the errno's name (ENOTSUPP for
// 524) and .errno = its number, as fence() does; src/native.ts turns it into
// the package's RseqError.
#include "slice_binding.h"

#include <string>

#include "abi_table.h"
#include "slice.h"

namespace {

using rseq_native::SliceCall;

bool Pending(napi_env env) {
  bool pending = false;
  return napi_is_exception_pending(env, &pending) != napi_ok || pending;
}

napi_value Fail(napi_env env, const char* what) {
  if (!Pending(env)) napi_throw_error(env, nullptr, (std::string("rseq: ") + what + " failed").c_str());
  return nullptr;
}

napi_value ThrowSliceErrno(napi_env env, const char* what, int err) {
  if (Pending(env)) return nullptr;
  const char* name = rseq_native::slice_errno_name(err);
  std::string message = std::string(what) + " failed: " + name;
  napi_value code = nullptr, msg = nullptr, error = nullptr, num = nullptr;
  if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code) != napi_ok ||
      napi_create_string_utf8(env, message.c_str(), NAPI_AUTO_LENGTH, &msg) != napi_ok ||
      napi_create_error(env, code, msg, &error) != napi_ok || napi_create_int32(env, err, &num) != napi_ok ||
      napi_set_named_property(env, error, "errno", num) != napi_ok) {
    return Fail(env, what);
  }
  napi_throw(env, error);
  return nullptr;
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

napi_value SliceGet(napi_env env, napi_callback_info) { return Result(env, rseq_native::slice_get(), "prctl"); }

napi_value SliceSet(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg = nullptr;
  bool enable = false;
  if (napi_get_cb_info(env, info, &argc, &arg, nullptr, nullptr) != napi_ok) return Fail(env, "sliceSet");
  if (argc < 1 || napi_get_value_bool(env, arg, &enable) != napi_ok) {
    if (!Pending(env)) napi_throw_type_error(env, RSEQ_TABLE_ERR_INVALID_ARG_TYPE, "sliceSet: enable must be a boolean");
    return nullptr;
  }
  SliceCall r = rseq_native::slice_set(enable);
  if (r.err != 0) return ThrowSliceErrno(env, "prctl", r.err);
  return nullptr;  // undefined
}

napi_value SliceYield(napi_env env, napi_callback_info) {
  return Result(env, rseq_native::slice_yield(), "rseq_slice_yield");
}

napi_value SliceRequest(napi_env env, napi_callback_info) {
  int err = rseq_native::slice_request();
  if (err != 0) return ThrowSliceErrno(env, "slice request", err);
  return nullptr;
}

napi_value SliceEnd(napi_env env, napi_callback_info) {
  int yielded = 0;
  int err = rseq_native::slice_end(&yielded);
  if (err != 0) return ThrowSliceErrno(env, "rseq_slice_yield", err);
  return Number(env, yielded, "sliceEnd");
}

napi_value SliceCtrl(napi_env env, napi_callback_info) {
  uint32_t word = 0;
  int err = rseq_native::slice_ctrl(&word);
  if (err != 0) return ThrowSliceErrno(env, "slice_ctrl", err);
  return Number(env, word, "sliceCtrl");
}

bool ExportFn(napi_env env, napi_value exports, const char* name, napi_callback cb) {
  napi_value fn = nullptr;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, nullptr, &fn) != napi_ok ||
      napi_set_named_property(env, exports, name, fn) != napi_ok) {
    Fail(env, name);
    return false;
  }
  return true;
}

}  // namespace

bool slice_register(napi_env env, napi_value exports) {
  return ExportFn(env, exports, "sliceGet", SliceGet) && ExportFn(env, exports, "sliceSet", SliceSet) &&
         ExportFn(env, exports, "sliceYield", SliceYield) && ExportFn(env, exports, "sliceRequest", SliceRequest) &&
         ExportFn(env, exports, "sliceEnd", SliceEnd) && ExportFn(env, exports, "sliceCtrl", SliceCtrl);
}
