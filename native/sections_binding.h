// native/sections_binding.h - the per-CPU critical sections for JavaScript
// (native/percpu.h): opAdd, opStoreIfEqual, opDoubleCompareStore,
// opSpeculativeStoreCommit, opCopyCommit, opListPop, currentId, fence and
// opCounts, as src/native/binding.ts declares them.
#ifndef RSEQ_NATIVE_SECTIONS_BINDING_H
#define RSEQ_NATIVE_SECTIONS_BINDING_H

#include <node_api.h>

namespace rseq_native {

// One attempt of a section; its status (src/contract/abi.ts OP_*), for
// opListPop the popped index or minus a status. Every argument is checked
// before the section starts: a TypeError or RangeError otherwise, and
// nothing is written.
napi_value OpAddBinding(napi_env env, napi_callback_info info);
napi_value OpStoreIfEqualBinding(napi_env env, napi_callback_info info);
napi_value OpDoubleCompareStoreBinding(napi_env env, napi_callback_info info);
napi_value OpSpeculativeStoreCommitBinding(napi_env env, napi_callback_info info);
napi_value OpCopyCommitBinding(napi_env env, napi_callback_info info);
napi_value OpListPopBinding(napi_env env, napi_callback_info info);
// cpu_id (mode 0) or mm_cid (mode 1) of the calling thread.
napi_value CurrentIdBinding(napi_env env, napi_callback_info info);
// membarrier PRIVATE_EXPEDITED_RSEQ on one CPU, or every CPU (-1).
napi_value FenceBinding(napi_env env, napi_callback_info info);
// The calling thread's section counts.
napi_value OpCountsBinding(napi_env env, napi_callback_info info);

}  // namespace rseq_native

#endif  // RSEQ_NATIVE_SECTIONS_BINDING_H
