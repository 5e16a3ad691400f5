// native/op_args.cc - see op_args.h.
#include "op_args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmath>

#include "abi_table.h"
#include "napi_util.h"

namespace rseq_native {

namespace {

constexpr int64_t kMaxSafeInteger = 9007199254740991;  // 2^53 - 1

// "a Float64Array" for a typed array of `type`.
const char* TypedArrayName(napi_typedarray_type type) {
  switch (type) {
    case napi_int8_array:
      return "an Int8Array";
    case napi_uint8_array:
      return "a Uint8Array";
    case napi_uint8_clamped_array:
      return "a Uint8ClampedArray";
    case napi_int16_array:
      return "an Int16Array";
    case napi_uint16_array:
      return "a Uint16Array";
    case napi_int32_array:
      return "an Int32Array";
    case napi_uint32_array:
      return "a Uint32Array";
    case napi_float32_array:
      return "a Float32Array";
    case napi_float64_array:
      return "a Float64Array";
    case napi_bigint64_array:
      return "a BigInt64Array";
    case napi_biguint64_array:
      return "a BigUint64Array";
    default:
      return "a typed array";
  }
}

// What was passed, for {type}: typeof (with 'null' for null); for a typed
// array check, the kind of a typed array or DataView.
std::string Describe(napi_env env, napi_value v, bool typed) {
  if (typed) {
    bool is = false;
    napi_typedarray_type type;
    if (napi_is_typedarray(env, v, &is) == napi_ok && is &&
        napi_get_typedarray_info(env, v, &type, nullptr, nullptr, nullptr, nullptr) == napi_ok) {
      return TypedArrayName(type);
    }
    if (napi_is_dataview(env, v, &is) == napi_ok && is) return "a DataView";
  }
  napi_valuetype t = napi_undefined;
  if (napi_typeof(env, v, &t) != napi_ok) return "unknown";
  switch (t) {
    case napi_undefined:
      return "undefined";
    case napi_null:
      return "null";
    case napi_boolean:
      return "boolean";
    case napi_number:
      return "number";
    case napi_string:
      return "string";
    case napi_symbol:
      return "symbol";
    case napi_function:
      return "function";
    case napi_bigint:
      return "bigint";
    default:
      return "object";
  }
}

bool TypeError(const OpArgs& a, const std::string& message) {
  ThrowError(a.env, ErrorKind::TypeError, RSEQ_TABLE_ERR_INVALID_ARG_TYPE, message);
  return false;
}

bool RangeError(const OpArgs& a, const std::string& message) {
  ThrowError(a.env, ErrorKind::RangeError, RSEQ_TABLE_ERR_OUT_OF_RANGE, message);
  return false;
}

}  // namespace

bool GetOpArgs(napi_env env, napi_callback_info info, const char* op, OpArgs* a) {
  a->env = env;
  a->op = op;
  size_t argc = kMaxOpArgs;
  if (napi_get_cb_info(env, info, &argc, a->argv, nullptr, nullptr) != napi_ok) {
    ThrowApiFailure(env, "napi_get_cb_info");
    return false;
  }
  return true;
}

std::string FormatNumber(double d) {
  if (std::isnan(d)) return "NaN";
  if (d == 0) return "0";  // -0 too
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  // The shortest decimal that reads back as d, then ECMAScript's
  // Number::toString layout of its digits and exponent.
  const double x = std::fabs(d);
  char buf[40];
  for (int precision = 1; precision <= 17; ++precision) {
    snprintf(buf, sizeof buf, "%.*e", precision - 1, x);
    if (strtod(buf, nullptr) == x) break;
  }
  const char* e = strchr(buf, 'e');
  std::string digits;
  for (const char* c = buf; c < e; ++c) {
    if (*c != '.') digits += *c;
  }
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  const int k = static_cast<int>(digits.size());
  const int n = atoi(e + 1) + 1;  // x = 0.digits * 10^n
  std::string out = d < 0 ? "-" : "";
  if (k <= n && n <= 21) return out + digits + std::string(static_cast<size_t>(n - k), '0');
  if (0 < n && n <= 21) return out + digits.substr(0, static_cast<size_t>(n)) + "." + digits.substr(static_cast<size_t>(n));
  if (-6 < n && n <= 0) return out + "0." + std::string(static_cast<size_t>(-n), '0') + digits;
  out += digits.substr(0, 1);
  if (k > 1) out += "." + digits.substr(1);
  const int exp = n - 1;
  return out + "e" + (exp >= 0 ? "+" : "-") + std::to_string(exp >= 0 ? exp : -exp);
}

std::string FormatMessage(const char* tmpl, std::initializer_list<MessageField> fields) {
  std::string out;
  for (const char* p = tmpl; *p != '\0';) {
    if (*p == '{') {
      const char* end = strchr(p, '}');
      if (end != nullptr) {
        const std::string name(p + 1, static_cast<size_t>(end - p - 1));
        const MessageField* field = nullptr;
        for (const MessageField& f : fields) {
          if (name == f.name) field = &f;
        }
        if (field != nullptr) {
          out += field->value;
          p = end + 1;
          continue;
        }
      }
    }
    out += *p++;
  }
  return out;
}

bool IntRangeError(const OpArgs& a, const char* name, int64_t lo, int64_t hi, const std::string& why, double d) {
  if (hi < lo) {
    return RangeError(a, FormatMessage(RSEQ_TABLE_MSG_NO_INTEGER,
                                       {{"op", a.op}, {"arg", name}, {"why", why}, {"value", FormatNumber(d)}}));
  }
  return RangeError(a, FormatMessage(RSEQ_TABLE_MSG_INTEGER, {{"op", a.op},
                                                              {"arg", name},
                                                              {"lo", std::to_string(lo)},
                                                              {"hi", std::to_string(hi)},
                                                              {"why", why},
                                                              {"value", FormatNumber(d)}}));
}

bool GetNumberArg(const OpArgs& a, size_t i, const char* name, double* out) {
  if (napi_get_value_double(a.env, a.argv[i], out) == napi_ok) return true;
  return TypeError(a, FormatMessage(RSEQ_TABLE_MSG_NOT_NUMBER,
                                    {{"op", a.op}, {"arg", name}, {"type", Describe(a.env, a.argv[i], false)}}));
}

bool GetIntArg(const OpArgs& a, size_t i, const char* name, int64_t lo, int64_t hi, const char* why, int64_t* out) {
  double d;
  if (!GetNumberArg(a, i, name, &d)) return false;
  if (!ToInteger(d, lo, hi, out)) return IntRangeError(a, name, lo, hi, why, d);
  return true;
}

bool GetSafeIntArg(const OpArgs& a, size_t i, const char* name, int64_t* out) {
  double d;
  if (!GetNumberArg(a, i, name, &d)) return false;
  if (ToInteger(d, -kMaxSafeInteger, kMaxSafeInteger, out)) return true;
  return RangeError(a, FormatMessage(RSEQ_TABLE_MSG_SAFE_INTEGER, {{"op", a.op}, {"arg", name}, {"value", FormatNumber(d)}}));
}

bool GetBoolArg(const OpArgs& a, size_t i, const char* name, bool* out) {
  if (napi_get_value_bool(a.env, a.argv[i], out) == napi_ok) return true;
  return TypeError(a, FormatMessage(RSEQ_TABLE_MSG_NOT_BOOLEAN,
                                    {{"op", a.op}, {"arg", name}, {"type", Describe(a.env, a.argv[i], false)}}));
}

bool GetModeArg(const OpArgs& a, size_t i, IdMode* out) {
  double d;
  if (!GetNumberArg(a, i, "mode", &d)) return false;
  if (d == static_cast<int>(IdMode::CpuId)) {
    *out = IdMode::CpuId;
  } else if (d == static_cast<int>(IdMode::MmCid)) {
    *out = IdMode::MmCid;
  } else {
    return RangeError(a, FormatMessage(RSEQ_TABLE_MSG_MODE_NUMBER, {{"op", a.op}, {"value", FormatNumber(d)}}));
  }
  return true;
}

bool GetIdArg(const OpArgs& a, size_t i, uint32_t* out) {
  int64_t v = 0;
  if (!GetIntArg(a, i, "id", 0, UINT32_MAX, RSEQ_TABLE_BOUND_ID, &v)) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

bool GetTypedArrayArg(const OpArgs& a, size_t i, const char* name, napi_typedarray_type want, void** data,
                      size_t* length) {
  napi_typedarray_type type;
  size_t len = 0;
  void* d = nullptr;
  napi_value arraybuffer = nullptr;
  size_t byte_offset = 0;
  // napi_get_typedarray_info itself refuses anything that is not a typed array.
  if (napi_get_typedarray_info(a.env, a.argv[i], &type, &len, &d, &arraybuffer, &byte_offset) != napi_ok ||
      type != want || (len > 0 && d == nullptr)) {
    return TypeError(a, FormatMessage(RSEQ_TABLE_MSG_NOT_TYPED_ARRAY, {{"op", a.op},
                                                                       {"arg", name},
                                                                       {"want", TypedArrayName(want)},
                                                                       {"type", Describe(a.env, a.argv[i], true)}}));
  }
  if (len == 0) {
    bool detached = false;
    if (arraybuffer != nullptr && napi_is_detached_arraybuffer(a.env, arraybuffer, &detached) == napi_ok && detached) {
      return TypeError(a, FormatMessage(RSEQ_TABLE_MSG_DETACHED, {{"op", a.op}, {"arg", name}, {"want", TypedArrayName(want)}}));
    }
  }
  *data = d;
  *length = len;
  return true;
}

bool GetWordsArg(const OpArgs& a, size_t i, Words* w) {
  void* d = nullptr;
  if (!GetTypedArrayArg(a, i, "words", napi_bigint64_array, &d, &w->length)) return false;
  w->data = static_cast<int64_t*>(d);
  return true;
}

bool GetIndexArg(const OpArgs& a, size_t i, const char* name, const Words& w, size_t* out) {
  int64_t v = 0;
  const char* why = w.length == 0 ? RSEQ_TABLE_BOUND_EMPTY_WORDS : RSEQ_TABLE_BOUND_INDEX;
  if (!GetIntArg(a, i, name, 0, static_cast<int64_t>(w.length) - 1, why, &v)) return false;
  *out = static_cast<size_t>(v);
  return true;
}

}  // namespace rseq_native
