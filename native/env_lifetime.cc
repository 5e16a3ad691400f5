// native/env_lifetime.cc - see env_lifetime.h.
#include "env_lifetime.h"

#include "napi_util.h"
#include "registration.h"

namespace rseq_native {

namespace {

// Runs on the env's thread when the env is torn down.
void CleanupEnv(void* arg) {
  EnvData* data = static_cast<EnvData*>(arg);
  uint32_t n = data->refs + (data->pinned ? 1u : 0u);
  for (uint32_t i = 0; i < n; ++i) release();
  data->refs = 0;
  data->pinned = false;
  delete data;
}

// The cleanup hook frees the data, not the instance-data finalizer: the hook
// runs on the env's thread while the env can still be used.
void NoopInstanceFinalizer(napi_env, void*, void*) {}

}  // namespace

EnvData* env_data(napi_env env) {
  void* data = nullptr;
  if (napi_get_instance_data(env, &data) != napi_ok) return nullptr;
  return static_cast<EnvData*>(data);
}

bool env_lifetime_init(napi_env env) {
  if (env_data(env) != nullptr) return true;
  EnvData* data = new EnvData();
  if (napi_set_instance_data(env, data, NoopInstanceFinalizer, nullptr) != napi_ok) {
    delete data;
    ThrowApiFailure(env, "napi_set_instance_data");
    return false;
  }
  if (napi_add_env_cleanup_hook(env, CleanupEnv, data) != napi_ok) {
    napi_set_instance_data(env, nullptr, NoopInstanceFinalizer, nullptr);
    delete data;
    ThrowApiFailure(env, "napi_add_env_cleanup_hook");
    return false;
  }
  return true;
}

}  // namespace rseq_native
