// native/op_args.h - reading and checking the arguments of the per-CPU
// operations (native/sections_binding.cc) before anything runs.
//
// Every reader takes argument `i` of the call, checks its type and range, and
// returns false with a TypeError (code ERR_INVALID_ARG_TYPE: a wrong type, a
// detached buffer) or a RangeError (code ERR_OUT_OF_RANGE: a number out of
// range) thrown, naming the operation, the argument and the range. The
// messages are ARG_MESSAGE of src/contract/abi.ts (native/abi_table.h), the
// ones the simulator gives for the same argument (src/contract/op-args.ts;
// test/native/op-args.test.ts compares them).
// On the success path no string is built and no JavaScript value is made.
#ifndef RSEQ_NATIVE_OP_ARGS_H
#define RSEQ_NATIVE_OP_ARGS_H

#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

#include <initializer_list>
#include <string>

#include "percpu.h"

namespace rseq_native {

constexpr size_t kMaxOpArgs = 12;

// One call: the operation's name in messages (its name for Backend.section, as
// `add`) and its arguments; missing ones read as undefined.
struct OpArgs {
  napi_env env;
  const char* op;
  napi_value argv[kMaxOpArgs];
};

// Fills `a`; false with an error thrown when the runtime cannot.
bool GetOpArgs(napi_env env, napi_callback_info info, const char* op, OpArgs* a);

// A number as JavaScript's String(value) writes it.
std::string FormatNumber(double d);

// `tmpl` with every {name} replaced by its field's value.
struct MessageField {
  const char* name;
  std::string value;
};
std::string FormatMessage(const char* tmpl, std::initializer_list<MessageField> fields);

// d is an integer in [lo, hi] (|lo|, |hi| < 2^63): range first (false for
// NaN), then a round trip through int64, which is cheaper than floor() on
// CPUs without SSE4.1's roundsd.
inline bool ToInteger(double d, int64_t lo, int64_t hi, int64_t* out) {
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi))) return false;
  int64_t v = static_cast<int64_t>(d);
  if (static_cast<double>(v) != d) return false;
  *out = v;
  return true;
}

// The RangeError of an integer argument outside [lo, hi] (no value valid
// when hi < lo); `why` says what bounds the range. Returns false.
bool IntRangeError(const OpArgs& a, const char* name, int64_t lo, int64_t hi, const std::string& why, double d);

// A number.
bool GetNumberArg(const OpArgs& a, size_t i, const char* name, double* out);
// An integer Number in [lo, hi]; `why` (ARG_BOUND) says what bounds it.
bool GetIntArg(const OpArgs& a, size_t i, const char* name, int64_t lo, int64_t hi, const char* why, int64_t* out);
// A safe integer (|v| <= 2^53 - 1), as a 64-bit word.
bool GetSafeIntArg(const OpArgs& a, size_t i, const char* name, int64_t* out);
bool GetBoolArg(const OpArgs& a, size_t i, const char* name, bool* out);
// 0 (cpu_id) or 1 (mm_cid): ID_MODE.
bool GetModeArg(const OpArgs& a, size_t i, IdMode* out);
// A u32.
bool GetIdArg(const OpArgs& a, size_t i, uint32_t* out);

// A typed array of type `want`, not detached: its data and element count.
bool GetTypedArrayArg(const OpArgs& a, size_t i, const char* name, napi_typedarray_type want, void** data,
                      size_t* length);

struct Words {
  int64_t* data;
  size_t length;
};
// `words`: a BigInt64Array.
bool GetWordsArg(const OpArgs& a, size_t i, Words* w);
// An element index into words.
bool GetIndexArg(const OpArgs& a, size_t i, const char* name, const Words& w, size_t* out);

}  // namespace rseq_native

#endif  // RSEQ_NATIVE_OP_ARGS_H
