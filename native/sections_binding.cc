// native/sections_binding.cc - see sections_binding.h.
//
// The six operations go through one path, Op<kDef>: read the arguments by the
// operation's table (ArgSpec: what each argument is, in order), prepare the
// calling thread (op_prepare), run the section once, return its status (for
// opListPop the popped index, or minus a status). Every argument is checked
// before op_prepare() and before the section, so a failed check writes
// nothing. They are hot: the C Node-API directly (a fixed argv array,
// napi_get_value_double, napi_get_typedarray_info), and no JavaScript value
// is made on the success path but the result.
#include "sections_binding.h"

#include <climits>
#include <cerrno>
#include <string>

#include "abi.h"
#include "abi_table.h"
#include "napi_util.h"
#include "op_args.h"
#include "percpu.h"
#include "probe.h"

namespace rseq_native {

namespace {

// What one argument of an operation is.
enum class Arg : uint8_t {
  Mode,        // 0 (cpu_id) or 1 (mm_cid)
  Id,          // the id the caller chose its slots by: a u32
  Words,       // BigInt64Array
  Index,       // an element index into words
  Value,       // a safe integer
  Release,     // boolean: the commit is a store-release
  Bytes,       // Uint8Array
  BytesOffset, // a byte offset into the Bytes argument before it: [0, its length]
  CopyLength,  // bytes to copy: what both Bytes arguments have room for past their offsets
  Next,        // listPop's next[]: a word offset, [0, words.length]
  Count,       // listPop's count: next[0..count) lies in words
};

struct ArgSpec {
  Arg kind;
  const char* name;
  const char* why;  // ARG_BOUND, for BytesOffset
};

// The arguments as read. Indices, values and byte arrays are numbered in the
// order they come in the operation's table.
struct Parsed {
  IdMode mode = IdMode::CpuId;
  uint32_t id = 0;
  Words words{nullptr, 0};
  size_t index[2] = {0, 0};
  int64_t value[3] = {0, 0, 0};
  bool release = false;
  struct {
    uint8_t* data;
    size_t length;
    int64_t offset;
  } bytes[2] = {{nullptr, 0, 0}, {nullptr, 0, 0}};
  int64_t length = 0;
  int64_t next = 0;
  int64_t count = 0;
};

// Reads every argument of `spec` in order; false with an error thrown at the
// first that is wrong.
bool ParseArgs(const OpArgs& a, const ArgSpec* spec, size_t n, Parsed* p) {
  size_t indices = 0, values = 0, bytes = 0;
  for (size_t i = 0; i < n; ++i) {
    const ArgSpec& s = spec[i];
    switch (s.kind) {
      case Arg::Mode:
        if (!GetModeArg(a, i, &p->mode)) return false;
        break;
      case Arg::Id:
        if (!GetIdArg(a, i, &p->id)) return false;
        break;
      case Arg::Words:
        if (!GetWordsArg(a, i, &p->words)) return false;
        break;
      case Arg::Index:
        if (!GetIndexArg(a, i, s.name, p->words, &p->index[indices++])) return false;
        break;
      case Arg::Value:
        if (!GetSafeIntArg(a, i, s.name, &p->value[values++])) return false;
        break;
      case Arg::Release:
        if (!GetBoolArg(a, i, s.name, &p->release)) return false;
        break;
      case Arg::Bytes: {
        void* data = nullptr;
        if (!GetTypedArrayArg(a, i, s.name, napi_uint8_array, &data, &p->bytes[bytes].length)) return false;
        p->bytes[bytes++].data = static_cast<uint8_t*>(data);
        break;
      }
      case Arg::BytesOffset: {
        auto& b = p->bytes[bytes - 1];
        if (!GetIntArg(a, i, s.name, 0, static_cast<int64_t>(b.length), s.why, &b.offset)) return false;
        break;
      }
      case Arg::CopyLength: {
        const int64_t dst_room = static_cast<int64_t>(p->bytes[0].length) - p->bytes[0].offset;
        const int64_t src_room = static_cast<int64_t>(p->bytes[1].length) - p->bytes[1].offset;
        const int64_t room = dst_room < src_room ? dst_room : src_room;
        double d;
        if (!GetNumberArg(a, i, s.name, &d)) return false;
        if (!ToInteger(d, 0, room, &p->length)) {
          return IntRangeError(a, s.name, 0, room,
                               FormatMessage(RSEQ_TABLE_BOUND_COPY_LENGTH, {{"dstRoom", std::to_string(dst_room)},
                                                                            {"srcRoom", std::to_string(src_room)}}),
                               d);
        }
        break;
      }
      case Arg::Next:
        if (!GetIntArg(a, i, s.name, 0, static_cast<int64_t>(p->words.length), RSEQ_TABLE_BOUND_NEXT, &p->next)) {
          return false;
        }
        break;
      case Arg::Count:
        if (!GetIntArg(a, i, s.name, 0, static_cast<int64_t>(p->words.length) - p->next, RSEQ_TABLE_BOUND_COUNT,
                       &p->count)) {
          return false;
        }
        break;
    }
  }
  return true;
}

napi_value ThrowFieldUnavailable(napi_env env) {
  return ThrowError(env, ErrorKind::Error, RSEQ_TABLE_ERR_RSEQ_FIELD_UNAVAILABLE,
                    "mm_cid is not available: the kernel's rseq feature size is " +
                        std::to_string(effective_feature_size()) + " and mm_cid needs " +
                        std::to_string(RSEQ_ABI_FEATURE_MM_CID) + " (Linux 6.3+); use mode 0 (cpu_id)");
}

// op_prepare, throwing its failure. Returns false with an exception pending.
bool PrepareOrThrow(napi_env env, IdMode mode, OpContext* ctx) {
  switch (op_prepare(mode, ctx)) {
    case PrepareError::None:
      return true;
    case PrepareError::NotRegistered:
      ThrowNotRegistered(env);
      return false;
    case PrepareError::FieldUnavailable:
      ThrowFieldUnavailable(env);
      return false;
    case PrepareError::NoMemory:
      ThrowErrno(env, "alloc", ENOMEM);
      return false;
  }
  return false;
}

// One operation: its name in messages, its arguments, and what runs once they
// are read. The numbering of Parsed's index[], value[] and bytes[] is the
// order of `args`.
struct OpDef {
  const char* op;
  const ArgSpec* args;
  size_t argc;
  int64_t (*run)(const OpContext& ctx, const Parsed& p);
};

template <const OpDef& kDef>
napi_value Op(napi_env env, napi_callback_info info) {
  static_assert(kDef.argc <= kMaxOpArgs, "more arguments than OpArgs holds");
  OpArgs a;
  if (!GetOpArgs(env, info, kDef.op, &a)) return nullptr;
  Parsed p;
  if (!ParseArgs(a, kDef.args, kDef.argc, &p)) return nullptr;
  OpContext ctx;
  if (!PrepareOrThrow(env, p.mode, &ctx)) return nullptr;
  napi_value out = nullptr;
  napi_create_int64(env, kDef.run(ctx, p), &out);
  return out;
}

#define RSEQ_OP(name, ...)                                 \
  constexpr ArgSpec k##name##Args[] = {__VA_ARGS__};       \
  constexpr size_t k##name##Argc = sizeof k##name##Args / sizeof k##name##Args[0]

constexpr ArgSpec kMode{Arg::Mode, "mode", nullptr};
constexpr ArgSpec kId{Arg::Id, "id", nullptr};
constexpr ArgSpec kWords{Arg::Words, "words", nullptr};

// opAdd(mode, id, words, index, count): words[index] += count
RSEQ_OP(Add, kMode, kId, kWords, {Arg::Index, "index", nullptr}, {Arg::Value, "count", nullptr});
int64_t RunAdd(const OpContext& ctx, const Parsed& p) {
  return op_add(ctx, p.id, p.words.data + p.index[0], p.value[0]);
}
constexpr OpDef kAdd{"add", kAddArgs, kAddArgc, RunAdd};

// opStoreIfEqual(mode, id, words, index, expect, newv)
RSEQ_OP(StoreIfEqual, kMode, kId, kWords, {Arg::Index, "index", nullptr}, {Arg::Value, "expect", nullptr},
        {Arg::Value, "newv", nullptr});
int64_t RunStoreIfEqual(const OpContext& ctx, const Parsed& p) {
  return op_store_if_equal(ctx, p.id, p.words.data + p.index[0], p.value[0], p.value[1]);
}
constexpr OpDef kStoreIfEqual{"storeIfEqual", kStoreIfEqualArgs, kStoreIfEqualArgc, RunStoreIfEqual};

// opDoubleCompareStore(mode, id, words, index, expect, index2, expect2, newv)
RSEQ_OP(DoubleCompareStore, kMode, kId, kWords, {Arg::Index, "index", nullptr}, {Arg::Value, "expect", nullptr},
        {Arg::Index, "index2", nullptr}, {Arg::Value, "expect2", nullptr}, {Arg::Value, "newv", nullptr});
int64_t RunDoubleCompareStore(const OpContext& ctx, const Parsed& p) {
  return op_double_compare_store(ctx, p.id, p.words.data + p.index[0], p.value[0], p.words.data + p.index[1],
                                 p.value[1], p.value[2]);
}
constexpr OpDef kDoubleCompareStore{"doubleCompareStore", kDoubleCompareStoreArgs, kDoubleCompareStoreArgc,
                                    RunDoubleCompareStore};

// opSpeculativeStoreCommit(mode, id, words, index, expect, index2, newv2, newv, release)
RSEQ_OP(SpeculativeStoreCommit, kMode, kId, kWords, {Arg::Index, "index", nullptr}, {Arg::Value, "expect", nullptr},
        {Arg::Index, "index2", nullptr}, {Arg::Value, "newv2", nullptr}, {Arg::Value, "newv", nullptr},
        {Arg::Release, "release", nullptr});
int64_t RunSpeculativeStoreCommit(const OpContext& ctx, const Parsed& p) {
  return op_speculative_store_commit(ctx, p.id, p.words.data + p.index[0], p.value[0], p.words.data + p.index[1],
                                     p.value[1], p.value[2], p.release);
}
constexpr OpDef kSpeculativeStoreCommit{"speculativeStoreCommit", kSpeculativeStoreCommitArgs,
                                        kSpeculativeStoreCommitArgc, RunSpeculativeStoreCommit};

// opCopyCommit(mode, id, words, index, expect, dst, dstOffset, src, srcOffset, length, newv, release)
RSEQ_OP(CopyCommit, kMode, kId, kWords, {Arg::Index, "index", nullptr}, {Arg::Value, "expect", nullptr},
        {Arg::Bytes, "dst", nullptr}, {Arg::BytesOffset, "dstOffset", RSEQ_TABLE_BOUND_DST_OFFSET},
        {Arg::Bytes, "src", nullptr}, {Arg::BytesOffset, "srcOffset", RSEQ_TABLE_BOUND_SRC_OFFSET},
        {Arg::CopyLength, "length", nullptr}, {Arg::Value, "newv", nullptr}, {Arg::Release, "release", nullptr});
int64_t RunCopyCommit(const OpContext& ctx, const Parsed& p) {
  return op_copy_commit(ctx, p.id, p.words.data + p.index[0], p.value[0], p.bytes[0].data + p.bytes[0].offset,
                        p.bytes[1].data + p.bytes[1].offset, static_cast<size_t>(p.length), p.value[1], p.release);
}
constexpr OpDef kCopyCommit{"copyCommit", kCopyCommitArgs, kCopyCommitArgc, RunCopyCommit};

// opListPop(mode, id, words, head, next, count, empty): the popped index, or minus a status
RSEQ_OP(ListPop, kMode, kId, kWords, {Arg::Index, "head", nullptr}, {Arg::Next, "next", nullptr},
        {Arg::Count, "count", nullptr}, {Arg::Value, "empty", nullptr});
int64_t RunListPop(const OpContext& ctx, const Parsed& p) {
  return op_list_pop(ctx, p.id, p.words.data + p.index[0], p.words.data + p.next, static_cast<uint64_t>(p.count),
                     p.value[0]);
}
constexpr OpDef kListPop{"listPop", kListPopArgs, kListPopArgc, RunListPop};

// currentId(mode): cpu_id or mm_cid of the calling thread.
RSEQ_OP(CurrentId, kMode);
int64_t RunCurrentId(const OpContext& ctx, const Parsed&) { return op_current_id(ctx); }
constexpr OpDef kCurrentId{"currentId", kCurrentIdArgs, kCurrentIdArgc, RunCurrentId};

#undef RSEQ_OP

}  // namespace

napi_value OpAddBinding(napi_env env, napi_callback_info info) { return Op<kAdd>(env, info); }
napi_value OpStoreIfEqualBinding(napi_env env, napi_callback_info info) { return Op<kStoreIfEqual>(env, info); }
napi_value OpDoubleCompareStoreBinding(napi_env env, napi_callback_info info) {
  return Op<kDoubleCompareStore>(env, info);
}
napi_value OpSpeculativeStoreCommitBinding(napi_env env, napi_callback_info info) {
  return Op<kSpeculativeStoreCommit>(env, info);
}
napi_value OpCopyCommitBinding(napi_env env, napi_callback_info info) { return Op<kCopyCommit>(env, info); }
napi_value OpListPopBinding(napi_env env, napi_callback_info info) { return Op<kListPop>(env, info); }
napi_value CurrentIdBinding(napi_env env, napi_callback_info info) { return Op<kCurrentId>(env, info); }

// fence(cpu): cpu -1 for all CPUs.
napi_value FenceBinding(napi_env env, napi_callback_info info) {
  OpArgs a;
  if (!GetOpArgs(env, info, "fence", &a)) return nullptr;
  int64_t cpu = 0;
  if (!GetIntArg(a, 0, "cpu", -1, INT_MAX, RSEQ_TABLE_BOUND_CPU, &cpu)) return nullptr;
  int err = fence(static_cast<int>(cpu));
  if (err != 0) ThrowErrno(env, "membarrier", err);
  return nullptr;  // undefined
}

napi_value OpCountsBinding(napi_env env, napi_callback_info) {
  OpCounts c = thread_op_counts();
  return ObjectBuilder(env)
      .Num("aborts", static_cast<double>(c.aborts))
      .Num("moved", static_cast<double>(c.moved))
      .Num("attempts", static_cast<double>(c.attempts))
      .Done();
}

}  // namespace rseq_native
