// native/probe_binding.cc - see probe_binding.h.
#include "probe_binding.h"

#include <stddef.h>
#include <stdint.h>

#include "auxv.h"
#include "errno_names.h"
#include "errno_table.h"
#include "napi_util.h"
#include "probe.h"

namespace rseq_native {

napi_value KernelBinding(napi_env env, napi_callback_info) {
  KernelInfo k = kernel_info();
  return ObjectBuilder(env)
      .Str("release", k.release.c_str())
      .Num("featureSize", static_cast<double>(k.feature_size))
      .Num("align", static_cast<double>(k.align))
      .Num("probeErrno", k.probe_errno)
      .Str("probeErrnoName", errno_name(k.probe_errno))
      .Num("membarrierMask", static_cast<double>(k.membarrier_mask))
      .Done();
}

napi_value LibcBinding(napi_env env, napi_callback_info) {
  LibcInfo l = libc_info();
  ObjectBuilder o(env);
  o.Str("family", libc_family_name(l.family));
  if (l.has_version) {
    o.Str("version", l.version.c_str());
  } else {
    o.Null("version");
  }
  if (l.symbols.has_offset) {
    o.Num("rseqOffset", static_cast<double>(l.symbols.offset));
  } else {
    o.Null("rseqOffset");
  }
  if (l.symbols.has_size) {
    o.Num("rseqSize", l.symbols.size);
  } else {
    o.Null("rseqSize");
  }
  if (l.symbols.has_flags) {
    o.Num("rseqFlags", l.symbols.flags);
  } else {
    o.Null("rseqFlags");
  }
  return o.Done();
}

napi_value AuxvBinding(napi_env env, napi_callback_info) {
  AuxvResult a = auxv_read();
  napi_value out = nullptr;
  if (napi_create_array_with_length(env, a.entries.size(), &out) != napi_ok) return nullptr;
  for (size_t i = 0; i < a.entries.size(); ++i) {
    const AuxvEntry& e = a.entries[i];
    const char* name = auxv_type_name(e.type);
    napi_value value = nullptr;
    if (napi_create_bigint_uint64(env, static_cast<uint64_t>(e.value), &value) != napi_ok) return nullptr;
    ObjectBuilder o(env);
    o.Num("type", static_cast<double>(e.type));
    if (name != nullptr) {
      o.Str("name", name);
    } else {
      o.Null("name");
    }
    o.Set("value", value);
    if (!SetElement(env, out, static_cast<uint32_t>(i), o.Done())) return nullptr;
  }
  return out;
}

napi_value ErrnoTableBinding(napi_env env, napi_callback_info) {
  ErrnoTableResult t = run_errno_table();
  if (t.err != 0) return ThrowErrno(env, t.op, t.err);
  napi_value cases = nullptr;
  if (napi_create_array_with_length(env, kErrnoCaseCount, &cases) != napi_ok) return nullptr;
  for (size_t i = 0; i < kErrnoCaseCount; ++i) {
    napi_value c = ObjectBuilder(env)
                       .Str("case", t.cases[i].name)
                       .Num("ret", t.cases[i].ret)
                       .Num("errno", t.cases[i].err)
                       .Str("errnoName", errno_name(t.cases[i].err))
                       .Done();
    if (!SetElement(env, cases, static_cast<uint32_t>(i), c)) return nullptr;
  }
  return ObjectBuilder(env)
      .Str("ownerAtStart", t.libc_owned_at_start ? "libc" : "none")
      .Num("signature", t.signature)
      .Set("cases", cases)
      .Done();
}

}  // namespace rseq_native
