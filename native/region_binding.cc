// native/region_binding.cc - bindRegion(words, kind): a per-CPU structure's
// memory validated once and bound to the calling thread.
//
//   bindRegion(words: BigInt64Array over the structure's SharedArrayBuffer,
//              kind: 1 counter | 2 buffer | 3 pool)
//     -> { args: Float64Array(4), record: Uint8Array(recordSize), handle,
//          add(), push(record?), pop(into?), pushMany(records), popMany(into),
//          take(), give() }
//
// Every operation is a function whose callback data is the bound region: the
// call converts nothing but push's and pop's optional record (a Uint8Array of
// the record size, read in place; without it the region's own record). Amounts and indices travel through
// `args` (args[0]), records through `record`, both memory the region holds;
// results come back as undefined when the operation committed, else a small
// integer (a REGION_* status); take() returns its index or minus a status. The header is checked here again
// (src/contract/layout.ts checked it first, with the messages users see) and
// copied: the operations never read it from shared memory again.
//
// `handle` names the region in the process-wide table of native/region_ffi.h
// (-1 when the table is full): through node:ffi, rseq_ffi_add(handle) and its
// siblings run add(), push(), pop(), take() and give() on the region's own
// args and record, on this thread only (src/native/ffi.ts, RSEQ_FFI=1).
//
// Lifetime: the region keeps the words' typed array and its own args and
// record buffers alive through references, and one reference on the thread's
// rseq registration, until the last of its functions is collected (or the env
// is torn down); the functions belong to the env that bound it, so they only
// ever run on its thread. The last finalizer frees the handle's slot before
// the region.
#include "region_binding.h"

#include <atomic>
#include <new>
#include <string>

#include "abi_table.h"
#include "napi_util.h"
#include "region.h"
#include "region_ffi.h"
#include "registration.h"

namespace rseq_native {

namespace {

constexpr int64_t kMaxSafeInteger = 9007199254740991;  // 2^53 - 1
constexpr int kFunctionCount = 7;

struct Bound {
  Region region;
  double* args;
  napi_ref words_ref;
  napi_ref args_ref;
  napi_ref record_ref;
  int live_functions;
  int64_t ffi_handle;  // region_ffi.h; -1: none
};

void DeleteRef(napi_env env, napi_ref* ref) {
  if (*ref != nullptr) napi_delete_reference(env, *ref);
  *ref = nullptr;
}

void FunctionFinalizer(napi_env env, void* data, void*) {
  Bound* b = static_cast<Bound*>(data);
  if (--b->live_functions > 0) return;
  ffi_unregister(b->ffi_handle);
  DeleteRef(env, &b->words_ref);
  DeleteRef(env, &b->args_ref);
  DeleteRef(env, &b->record_ref);
  release();  // the registration reference bindRegion took
  delete b;
}

inline Bound* GetBound(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  void* data = nullptr;
  if (napi_get_cb_info(env, info, &argc, nullptr, nullptr, &data) != napi_ok) return nullptr;
  return static_cast<Bound*>(data);
}

inline napi_value Int(napi_env env, int64_t v) {
  napi_value out = nullptr;
  napi_create_int64(env, v, &out);
  return out;
}

// undefined for REGION_OK (no number made on the common path), else the status.
inline napi_value Status(napi_env env, int s) { return s == REGION_OK ? nullptr : Int(env, s); }

// args[0] as an integer in [lo, hi], or false.
inline bool ArgInteger(const Bound& b, int64_t lo, int64_t hi, int64_t* out) {
  return ffi_arg_integer(b.args[0], lo, hi, out);
}

napi_value Add(napi_env env, napi_callback_info info) {
  Bound* b = GetBound(env, info);
  if (b == nullptr) return nullptr;
  int64_t n = 0;
  if (!ArgInteger(*b, -kMaxSafeInteger, kMaxSafeInteger, &n)) return Int(env, REGION_BAD_ARG);
  return Status(env, region_counter_add(b->region, n));
}

// The record argument: a Uint8Array of exactly record_size bytes, or the
// region's own record when there is none (or it is undefined). Null otherwise.
inline uint8_t* RecordArg(napi_env env, napi_callback_info info, Bound** bound) {
  size_t argc = 1;
  napi_value arg = nullptr;
  void* data = nullptr;
  if (napi_get_cb_info(env, info, &argc, &arg, nullptr, &data) != napi_ok || data == nullptr) return nullptr;
  Bound* b = static_cast<Bound*>(data);
  *bound = b;
  if (argc == 0) return b->region.record;
  napi_typedarray_type type;
  size_t length = 0;
  void* bytes = nullptr;
  if (napi_get_typedarray_info(env, arg, &type, &length, &bytes, nullptr, nullptr) != napi_ok) {
    napi_valuetype t = napi_object;
    return napi_typeof(env, arg, &t) == napi_ok && t == napi_undefined ? b->region.record : nullptr;
  }
  if (type != napi_uint8_array || length != b->region.layout.record_size || bytes == nullptr) return nullptr;
  return static_cast<uint8_t*>(bytes);
}

napi_value Push(napi_env env, napi_callback_info info) {
  Bound* b = nullptr;
  uint8_t* record = RecordArg(env, info, &b);
  if (b == nullptr) return nullptr;
  return record == nullptr ? Int(env, REGION_BAD_ARG) : Status(env, region_buffer_push(b->region, record));
}

napi_value Pop(napi_env env, napi_callback_info info) {
  Bound* b = nullptr;
  uint8_t* record = RecordArg(env, info, &b);
  if (b == nullptr) return nullptr;
  return record == nullptr ? Int(env, REGION_BAD_ARG) : Status(env, region_buffer_pop(b->region, record));
}

// The records argument of a batch: a Uint8Array of whole records. Its length
// in records, or -1 (and *bound null when the call itself failed).
inline int64_t RecordsArg(napi_env env, napi_callback_info info, Bound** bound, uint8_t** bytes) {
  size_t argc = 1;
  napi_value arg = nullptr;
  void* data = nullptr;
  if (napi_get_cb_info(env, info, &argc, &arg, nullptr, &data) != napi_ok || data == nullptr) return -1;
  Bound* b = static_cast<Bound*>(data);
  *bound = b;
  napi_typedarray_type type;
  size_t length = 0;
  void* p = nullptr;
  const size_t rs = b->region.layout.record_size;
  if (argc < 1 || rs == 0 ||
      napi_get_typedarray_info(env, arg, &type, &length, &p, nullptr, nullptr) != napi_ok ||
      type != napi_uint8_array || length % rs != 0 || (length > 0 && p == nullptr)) {
    return -1;
  }
  *bytes = static_cast<uint8_t*>(p);
  return static_cast<int64_t>(length / rs);
}

// pushMany(records) / popMany(into): a batch moved in one section.
template <int64_t (*kMove)(Region&, uint8_t*, uint64_t)>
napi_value Many(napi_env env, napi_callback_info info) {
  Bound* b = nullptr;
  uint8_t* bytes = nullptr;
  int64_t n = RecordsArg(env, info, &b, &bytes);
  if (b == nullptr) return nullptr;
  if (n < 0) return Int(env, -REGION_BAD_ARG);
  return Int(env, kMove(b->region, bytes, static_cast<uint64_t>(n)));
}

int64_t PushManyMove(Region& r, uint8_t* records, uint64_t n) { return region_buffer_push_many(r, records, n); }
int64_t PopManyMove(Region& r, uint8_t* records, uint64_t n) { return region_buffer_pop_many(r, records, n); }

// undefined with the index in args[0] when it took one (no number made), else the status.
napi_value Take(napi_env env, napi_callback_info info) {
  Bound* b = GetBound(env, info);
  if (b == nullptr) return nullptr;
  int64_t got = region_pool_take(b->region);
  if (got < 0) return Int(env, -got);
  b->args[0] = static_cast<double>(got);  // below 2^31 (kRegionMaxPoolSize): exact in a double
  return nullptr;
}

napi_value Give(napi_env env, napi_callback_info info) {
  Bound* b = GetBound(env, info);
  if (b == nullptr) return nullptr;
  int64_t i = 0;
  if (!ArgInteger(*b, 0, kMaxSafeInteger, &i)) return Int(env, REGION_BAD_ARG);
  return Status(env, region_pool_give(b->region, i));
}

bool Fail(napi_env env, const char* code, const std::string& message, bool type_error) {
  ThrowError(env, type_error ? ErrorKind::TypeError : ErrorKind::RangeError, code, message);
  return false;
}

// Creates an ArrayBuffer of `bytes` and a view on it; keeps a reference.
bool MakeBuffer(napi_env env, size_t bytes, napi_typedarray_type type, size_t length, void** data,
                napi_value* view, napi_ref* ref) {
  napi_value ab = nullptr;
  if (napi_create_arraybuffer(env, bytes, data, &ab) != napi_ok) return false;
  if (napi_create_typedarray(env, type, length, ab, 0, view) != napi_ok) return false;
  return napi_create_reference(env, ab, 1, ref) == napi_ok;
}

}  // namespace

napi_value BindRegionBinding(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = {nullptr, nullptr};
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (argc < 2 ||
      napi_get_typedarray_info(env, argv[0], &type, &length, &data, nullptr, nullptr) != napi_ok ||
      type != napi_bigint64_array || data == nullptr) {
    Fail(env, RSEQ_TABLE_ERR_INVALID_ARG_TYPE, "bindRegion: words must be a BigInt64Array", true);
    return nullptr;
  }
  int32_t kind_number = 0;
  if (napi_get_value_int32(env, argv[1], &kind_number) != napi_ok || kind_number < 1 || kind_number > 3) {
    Fail(env, RSEQ_TABLE_ERR_OUT_OF_RANGE, "bindRegion: kind must be 1 (counter), 2 (buffer) or 3 (pool)", false);
    return nullptr;
  }
  RegionLayout layout{};
  const char* bad = region_validate(static_cast<int64_t*>(data), length,
                                    static_cast<RegionKind>(kind_number), &layout);
  if (bad != nullptr) {
    Fail(env, RSEQ_TABLE_ERR_RSEQ_BAD_HEADER, std::string("bindRegion: ") + bad, false);
    return nullptr;
  }
  OpContext ctx{};
  switch (op_prepare(layout.mode, &ctx)) {
    case PrepareError::None:
      break;
    case PrepareError::NotRegistered:
      Fail(env, RSEQ_TABLE_ERR_RSEQ_NOT_REGISTERED, "bindRegion: the calling thread holds no rseq registration", false);
      return nullptr;
    case PrepareError::FieldUnavailable:
      Fail(env, RSEQ_TABLE_ERR_RSEQ_FIELD_UNAVAILABLE, "bindRegion: mm_cid is not available on this kernel (feature size < 28)", false);
      return nullptr;
    case PrepareError::NoMemory:
      Fail(env, RSEQ_TABLE_ERR_RSEQ_NO_MEMORY, "bindRegion: out of memory", false);
      return nullptr;
  }
  // The region's own reference on the registration: the area must outlive it.
  Registration reg = acquire();
  if (reg.owner == Owner::None) {
    Fail(env, RSEQ_TABLE_ERR_RSEQ_NOT_REGISTERED, "bindRegion: the calling thread's rseq registration could not be held", false);
    return nullptr;
  }
  Bound* b = new (std::nothrow) Bound{};
  if (b == nullptr) {
    release();
    Fail(env, RSEQ_TABLE_ERR_RSEQ_NO_MEMORY, "bindRegion: out of memory", false);
    return nullptr;
  }
  b->region.words = static_cast<int64_t*>(data);
  b->region.layout = layout;
  b->region.ctx = ctx;
  b->ffi_handle = -1;
  napi_value out = nullptr, args_view = nullptr, record_view = nullptr, handle = nullptr;
  void* args_data = nullptr;
  void* record_data = nullptr;
  size_t record_bytes = layout.kind == RegionKind::Buffer ? layout.record_size : 0;
  bool ok = napi_create_reference(env, argv[0], 1, &b->words_ref) == napi_ok &&
            MakeBuffer(env, 4 * sizeof(double), napi_float64_array, 4, &args_data, &args_view, &b->args_ref) &&
            MakeBuffer(env, record_bytes, napi_uint8_array, record_bytes, &record_data, &record_view,
                       &b->record_ref) &&
            napi_create_object(env, &out) == napi_ok &&
            napi_set_named_property(env, out, "args", args_view) == napi_ok &&
            napi_set_named_property(env, out, "record", record_view) == napi_ok;
  b->args = static_cast<double*>(args_data);
  b->region.record = static_cast<uint8_t*>(record_data);
  if (ok) b->ffi_handle = ffi_register(&b->region, b->args);
  ok = ok && napi_create_double(env, static_cast<double>(b->ffi_handle), &handle) == napi_ok &&
       napi_set_named_property(env, out, "handle", handle) == napi_ok;
  struct Fn {
    const char* name;
    napi_callback cb;
  };
  const Fn fns[kFunctionCount] = {{"add", Add},         {"push", Push}, {"pop", Pop},  {"pushMany", Many<PushManyMove>},
                                  {"popMany", Many<PopManyMove>}, {"take", Take}, {"give", Give}};
  for (const Fn& f : fns) {
    napi_value fn = nullptr;
    if (!ok || napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, b, &fn) != napi_ok ||
        napi_add_finalizer(env, fn, b, FunctionFinalizer, nullptr, nullptr) != napi_ok) {
      ok = false;
      break;
    }
    b->live_functions++;
    if (napi_set_named_property(env, out, f.name, fn) != napi_ok) ok = false;
  }
  if (!ok) {
    if (b->live_functions == 0) {
      ffi_unregister(b->ffi_handle);
      DeleteRef(env, &b->words_ref);
      DeleteRef(env, &b->args_ref);
      DeleteRef(env, &b->record_ref);
      release();
      delete b;
    }
    Fail(env, RSEQ_TABLE_ERR_RSEQ_BIND, "bindRegion: the runtime refused to create the region's objects", false);
    return nullptr;
  }
  return out;
}

namespace {

// true the first time any thread of the process calls ffiWarnOnce().
std::atomic<bool> g_ffi_warned{false};

}  // namespace

napi_value FfiWarnOnceBinding(napi_env env, napi_callback_info) {
  napi_value out = nullptr;
  napi_get_boolean(env, !g_ffi_warned.exchange(true), &out);
  return out;
}

}  // namespace rseq_native
