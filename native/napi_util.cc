// native/napi_util.cc - see napi_util.h.
#include "napi_util.h"

#include <string.h>

#include "abi_table.h"
#include "errno_names.h"

namespace rseq_native {

bool ExceptionPending(napi_env env) {
  bool pending = false;
  return napi_is_exception_pending(env, &pending) == napi_ok && pending;
}

napi_value ThrowValue(napi_env env, napi_value error) {
  if (error != nullptr && !ExceptionPending(env)) napi_throw(env, error);
  return nullptr;
}

napi_value NewError(napi_env env, ErrorKind kind, const char* code, const std::string& message) {
  napi_value msg = nullptr;
  napi_value code_value = nullptr;
  napi_value error = nullptr;
  if (napi_create_string_utf8(env, message.data(), message.size(), &msg) != napi_ok) return nullptr;
  if (code != nullptr && napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_value) != napi_ok) {
    return nullptr;
  }
  napi_status status = napi_generic_failure;
  switch (kind) {
    case ErrorKind::Error:
      status = napi_create_error(env, code_value, msg, &error);
      break;
    case ErrorKind::TypeError:
      status = napi_create_type_error(env, code_value, msg, &error);
      break;
    case ErrorKind::RangeError:
      status = napi_create_range_error(env, code_value, msg, &error);
      break;
  }
  return status == napi_ok ? error : nullptr;
}

napi_value ThrowError(napi_env env, ErrorKind kind, const char* code, const std::string& message) {
  if (ExceptionPending(env)) return nullptr;
  return ThrowValue(env, NewError(env, kind, code, message));
}

napi_value ThrowApiFailure(napi_env env, const char* what) {
  return ThrowError(env, ErrorKind::Error, nullptr, std::string("rseq: ") + what + " failed");
}

napi_value ThrowErrno(napi_env env, const char* what, int err) {
  if (ExceptionPending(env)) return nullptr;
  const char* name = errno_name(err);
  std::string message = std::string(what) + " failed: " + name + " (" + strerror(err) + ")";
  napi_value error = NewError(env, ErrorKind::Error, name, message);
  napi_value errno_value = nullptr;
  if (error == nullptr || napi_create_int32(env, err, &errno_value) != napi_ok ||
      napi_set_named_property(env, error, "errno", errno_value) != napi_ok) {
    return nullptr;
  }
  return ThrowValue(env, error);
}

napi_value ThrowNotRegistered(napi_env env) {
  return ThrowError(env, ErrorKind::Error, RSEQ_TABLE_ERR_RSEQ_NOT_REGISTERED,
                    "the calling thread holds no rseq registration; call acquire() first");
}

napi_value Str(napi_env env, const char* s) {
  napi_value v = nullptr;
  return napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v) == napi_ok ? v : nullptr;
}

napi_value Num(napi_env env, double d) {
  napi_value v = nullptr;
  return napi_create_double(env, d, &v) == napi_ok ? v : nullptr;
}

napi_value Null(napi_env env) {
  napi_value v = nullptr;
  return napi_get_null(env, &v) == napi_ok ? v : nullptr;
}

napi_value Undefined(napi_env env) {
  napi_value v = nullptr;
  return napi_get_undefined(env, &v) == napi_ok ? v : nullptr;
}

ObjectBuilder::ObjectBuilder(napi_env env) : env_(env) { ok_ = napi_create_object(env, &object_) == napi_ok; }

ObjectBuilder& ObjectBuilder::Set(const char* key, napi_value value) {
  ok_ = ok_ && value != nullptr && napi_set_named_property(env_, object_, key, value) == napi_ok;
  return *this;
}

ObjectBuilder& ObjectBuilder::Str(const char* key, const char* s) {
  return ok_ ? Set(key, rseq_native::Str(env_, s)) : *this;
}

ObjectBuilder& ObjectBuilder::Num(const char* key, double d) {
  return ok_ ? Set(key, rseq_native::Num(env_, d)) : *this;
}

ObjectBuilder& ObjectBuilder::Null(const char* key) { return ok_ ? Set(key, rseq_native::Null(env_)) : *this; }

bool SetElement(napi_env env, napi_value array, uint32_t index, napi_value value) {
  return value != nullptr && napi_set_element(env, array, index, value) == napi_ok;
}

bool Export(napi_env env, napi_value exports, const char* name, napi_value value) {
  if (value != nullptr && napi_set_named_property(env, exports, name, value) == napi_ok) return true;
  ThrowApiFailure(env, (std::string("exporting ") + name).c_str());
  return false;
}

bool ExportFunctions(napi_env env, napi_value exports, const ExportedFunction* fns, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    napi_value fn = nullptr;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].cb, nullptr, &fn) != napi_ok) {
      ThrowApiFailure(env, (std::string("creating ") + fns[i].name).c_str());
      return false;
    }
    if (!Export(env, exports, fns[i].name, fn)) return false;
  }
  return true;
}

}  // namespace rseq_native
