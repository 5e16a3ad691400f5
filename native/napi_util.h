// native/napi_util.h - what every N-API binding of the addon shares: throwing
// errors, making values, exporting functions.
//
// Built with C++ exceptions disabled (NAPI_DISABLE_CPP_EXCEPTIONS): errors are
// thrown as pending JavaScript exceptions and the callback returns nullptr
// (undefined).
//
// An env that is shutting down: worker.terminate() can land anywhere in the
// addon, in Init as well as in any call. From then on the env refuses to run
// JavaScript: Node-API calls that need it (setting a property, napi_throw)
// fail, and some that succeed leave the termination as a pending exception.
// node-addon-api turns such a failure into a fatal error that aborts the
// whole process (NAPI_FATAL_IF_FAILED in Error::New,
// Error::ThrowAsJavaScriptException, Object::Set, Function::New), so the
// addon uses napi.h only for NODE_API_MODULE and the C Node-API everywhere
// else: every status is checked, a failure is returned (nullptr: undefined,
// or the pending exception), an error is thrown only when no exception is
// pending, and a throw the env refuses is dropped, as nobody is left to catch
// it. Nothing here may abort.
#ifndef RSEQ_NATIVE_NAPI_UTIL_H
#define RSEQ_NATIVE_NAPI_UTIL_H

#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

#include <string>

namespace rseq_native {

// ---------------------------------------------------------------------------
// Errors. Each Throw* returns nullptr (undefined) with the error pending, or
// with nothing pending when the env can no longer run JavaScript.
// ---------------------------------------------------------------------------

bool ExceptionPending(napi_env env);

// Throws `error` unless an exception is already pending: that one stands
// (napi_throw refuses a second throw). napi_throw also fails in an env that
// is shutting down; the error is dropped.
napi_value ThrowValue(napi_env env, napi_value error);

enum class ErrorKind { Error, TypeError, RangeError };

// A new error with `message` and, when `code` is not null, a .code property.
// nullptr when it cannot be made.
napi_value NewError(napi_env env, ErrorKind kind, const char* code, const std::string& message);

napi_value ThrowError(napi_env env, ErrorKind kind, const char* code, const std::string& message);

// A Node-API call failed where it cannot in a live env (out of memory, or the
// env is shutting down): throw that if anyone can still catch it.
napi_value ThrowApiFailure(napi_env env, const char* what);

// Error with .code = the errno name and .errno = the number:
// "<what> failed: <name> (<strerror>)".
napi_value ThrowErrno(napi_env env, const char* what, int err);

// Error with .code = ERR_RSEQ_NOT_REGISTERED.
napi_value ThrowNotRegistered(napi_env env);

// ---------------------------------------------------------------------------
// Values. Each returns nullptr when the value cannot be made.
// ---------------------------------------------------------------------------

napi_value Str(napi_env env, const char* s);
napi_value Num(napi_env env, double d);
napi_value Null(napi_env env);
napi_value Undefined(napi_env env);

// A plain object filled property by property. The first failure sticks: the
// rest is skipped and Done() returns nullptr.
class ObjectBuilder {
 public:
  explicit ObjectBuilder(napi_env env);
  ObjectBuilder& Set(const char* key, napi_value value);
  ObjectBuilder& Str(const char* key, const char* s);
  ObjectBuilder& Num(const char* key, double d);
  ObjectBuilder& Null(const char* key);
  napi_value Done() const { return ok_ ? object_ : nullptr; }

 private:
  napi_env env_;
  napi_value object_ = nullptr;
  bool ok_ = false;
};

// Sets array[index] = value; false when value is null or the set fails.
bool SetElement(napi_env env, napi_value array, uint32_t index, napi_value value);

// ---------------------------------------------------------------------------
// Exports.
// ---------------------------------------------------------------------------

struct ExportedFunction {
  const char* name;
  napi_callback cb;
};

// exports[name] = value. On a failure throws (if anyone can catch it) and
// returns false.
bool Export(napi_env env, napi_value exports, const char* name, napi_value value);

// Each function of `fns` as exports[name]; false (with the error thrown) at
// the first that fails.
bool ExportFunctions(napi_env env, napi_value exports, const ExportedFunction* fns, size_t count);

}  // namespace rseq_native

#endif  // RSEQ_NATIVE_NAPI_UTIL_H
