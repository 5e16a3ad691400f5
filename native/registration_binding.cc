// native/registration_binding.cc - see registration_binding.h.
#include "registration_binding.h"

#include <stddef.h>

#include <string>

#include "abi.h"
#include "dev_hooks.h"
#include "env_lifetime.h"
#include "errno_names.h"
#include "napi_util.h"
#include "registration.h"

namespace rseq_native {

namespace {

napi_value RegistrationObject(napi_env env, const Registration& r) {
  return ObjectBuilder(env)
      .Str("owner", owner_name(r.owner))
      .Num("length", r.length)
      .Num("signature", r.signature)
      .Num("refs", r.refs)
      .Num("errno", r.err)
      .Str("errnoName", errno_name(r.err))
      .Str("op", r.op)
      .Done();
}

napi_value ReadField(napi_env env, size_t offset) {
  uint32_t value = 0;
  if (!read_thread_field(offset, &value)) return ThrowNotRegistered(env);
  return Num(env, value);
}

void NoopBufferFinalizer(napi_env, void*, void*) {}

}  // namespace

napi_value AcquireBinding(napi_env env, napi_callback_info) {
  EnvData* data = env_data(env);
  if (data == nullptr) return ThrowApiFailure(env, "napi_get_instance_data");
  Registration r = acquire();
  // Counted before the result is made: if the env is going away, its cleanup
  // hook gives the reference back.
  if (r.owner != Owner::None) data->refs++;
  return RegistrationObject(env, r);
}

napi_value ReleaseBinding(napi_env env, napi_callback_info) {
  EnvData* data = env_data(env);
  if (data == nullptr) return ThrowApiFailure(env, "napi_get_instance_data");
  if (data->refs == 0) return Num(env, thread_refs());
  data->refs--;
  return Num(env, release());
}

napi_value RegistrationBinding(napi_env env, napi_callback_info) {
  return RegistrationObject(env, registration());
}

napi_value CpuIdStartBinding(napi_env env, napi_callback_info) {
  return ReadField(env, offsetof(rseq_abi, cpu_id_start));
}

napi_value CpuIdBinding(napi_env env, napi_callback_info) { return ReadField(env, offsetof(rseq_abi, cpu_id)); }

napi_value NodeIdBinding(napi_env env, napi_callback_info) { return ReadField(env, offsetof(rseq_abi, node_id)); }

napi_value MmCidBinding(napi_env env, napi_callback_info) { return ReadField(env, offsetof(rseq_abi, mm_cid)); }

napi_value AreaBufferBinding(napi_env env, napi_callback_info) {
  volatile rseq_abi* area = thread_area();
  if (area == nullptr) return ThrowNotRegistered(env);
  if (const char* refused = dev_hook_no_external_buffer()) return Str(env, refused);
  uint32_t length = thread_area_view_length();

  // Keep the area alive for as long as the env (and so the view) lives.
  EnvData* data = env_data(env);
  if (data == nullptr) return ThrowApiFailure(env, "napi_get_instance_data");
  bool pinned_now = false;
  if (!data->pinned) {
    Registration r = acquire();
    if (r.owner == Owner::None) return ThrowErrno(env, r.op, r.err);
    data->pinned = true;
    pinned_now = true;
  }

  napi_value buffer = nullptr;
  napi_status status = napi_create_external_arraybuffer(env, const_cast<rseq_abi*>(area), length,
                                                        NoopBufferFinalizer, nullptr, &buffer);
  if (status != napi_ok) {
    bool pending = ExceptionPending(env);
    if (pinned_now) {
      data->pinned = false;
      release();
    }
    // napi_pending_exception with nothing pending: the env is shutting down.
    if (status == napi_pending_exception && !pending) return nullptr;
    if (pending) {
      napi_value ignored;
      napi_get_and_clear_last_exception(env, &ignored);
    }
    std::string reason = "this runtime does not allow external ArrayBuffers (napi status " +
                         std::to_string(static_cast<int>(status)) + ")";
    return Str(env, reason.c_str());
  }
  return buffer;
}

napi_value DebugCountsBinding(napi_env env, napi_callback_info) {
  DebugCounts c = debug_counts();
  return ObjectBuilder(env)
      .Num("registrations", static_cast<double>(c.registrations))
      .Num("areas", static_cast<double>(c.areas))
      .Num("threads", static_cast<double>(c.threads))
      .Done();
}

}  // namespace rseq_native
