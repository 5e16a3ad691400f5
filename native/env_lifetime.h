// native/env_lifetime.h - how long the calling thread's registration lives for
// an N-API environment.
//
// Every napi_env (the main thread, each worker thread) counts the references
// it took on its thread's registration (registration.h acquire()) in its
// instance data. An env cleanup hook, which Node runs on the env's own thread
// at teardown, gives all of them back, so a worker that ends never leaves its
// registration or its area behind. Once areaBuffer() has handed out a view of
// the area, the env holds one more reference until its teardown: the view
// cannot be revoked, so the memory must stay.
#ifndef RSEQ_NATIVE_ENV_LIFETIME_H
#define RSEQ_NATIVE_ENV_LIFETIME_H

#include <node_api.h>
#include <stdint.h>

namespace rseq_native {

// Per-env state (napi instance data).
struct EnvData {
  // References taken by acquire() in this env and not yet given back.
  uint32_t refs = 0;
  // One more reference held for the env's lifetime once areaBuffer() handed
  // out a view of the area.
  bool pinned = false;
};

// Gives the env its data and the cleanup hook that releases its references.
// A second load of the addon into the same env (require cache cleared) shares
// the env's data and its one hook. False with an error thrown when the env
// refuses.
bool env_lifetime_init(napi_env env);

// The env's data; nullptr when it has none (napi_get_instance_data needs no
// JavaScript, so this works in an env that is shutting down).
EnvData* env_data(napi_env env);

}  // namespace rseq_native

#endif  // RSEQ_NATIVE_ENV_LIFETIME_H
