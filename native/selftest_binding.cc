// native/selftest_binding.cc - see selftest_binding.h.
//
// selftest(budgetMs): runs native/selftest.h on the core's own threads (the
// calling thread only waits and steers them) and returns
//   { ms, checks: { sameCpu, migration, signal, ids } }
// with each check { status, reason, attempts, commits, aborts, moved,
// expected, sum, events, attributed, cpus, ms }. budgetMs must be an integer
// in [kSelftestMinBudgetMs, kSelftestMaxBudgetMs]: a TypeError or RangeError
// otherwise, and nothing runs.
// selftestVerdict(): 0 no verdict yet, 1 ok, 2 broken (process-wide).
#include "selftest_binding.h"

#include <cmath>
#include <string>

#include "abi_table.h"
#include "napi_util.h"
#include "selftest.h"

namespace rseq_native {

namespace {

bool SetNum(napi_env env, napi_value obj, const char* name, double v) {
  napi_value n = nullptr;
  return napi_create_double(env, v, &n) == napi_ok && napi_set_named_property(env, obj, name, n) == napi_ok;
}

bool SetStr(napi_env env, napi_value obj, const char* name, const char* s) {
  napi_value v = nullptr;
  return napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v) == napi_ok &&
         napi_set_named_property(env, obj, name, v) == napi_ok;
}

napi_value Fail(napi_env env) { return ThrowApiFailure(env, "selftest: building the result"); }

napi_value CheckObject(napi_env env, const SelftestCheck& c) {
  napi_value o = nullptr;
  if (napi_create_object(env, &o) != napi_ok) return nullptr;
  napi_value cpus = nullptr;
  if (napi_create_array(env, &cpus) != napi_ok) return nullptr;
  uint32_t n = 0;
  for (int cpu : c.cpus) {
    if (cpu < 0) continue;
    napi_value v = nullptr;
    if (napi_create_int32(env, cpu, &v) != napi_ok || napi_set_element(env, cpus, n++, v) != napi_ok) return nullptr;
  }
  bool ok = SetStr(env, o, "status", selftest_status_name(c.status)) &&
            SetStr(env, o, "reason", c.reason) && SetNum(env, o, "attempts", static_cast<double>(c.attempts)) &&
            SetNum(env, o, "commits", static_cast<double>(c.commits)) &&
            SetNum(env, o, "aborts", static_cast<double>(c.aborts)) &&
            SetNum(env, o, "moved", static_cast<double>(c.moved)) &&
            SetNum(env, o, "expected", static_cast<double>(c.expected)) &&
            SetNum(env, o, "sum", static_cast<double>(c.sum)) &&
            SetNum(env, o, "events", static_cast<double>(c.events)) &&
            SetNum(env, o, "attributed", static_cast<double>(c.attributed)) && SetNum(env, o, "ms", c.ms) &&
            napi_set_named_property(env, o, "cpus", cpus) == napi_ok;
  return ok ? o : nullptr;
}

}  // namespace

napi_value SelftestBinding(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg = nullptr;
  if (napi_get_cb_info(env, info, &argc, &arg, nullptr, nullptr) != napi_ok) return Fail(env);
  napi_valuetype type = napi_undefined;
  double d = 0;
  if (argc < 1 || napi_typeof(env, arg, &type) != napi_ok || type != napi_number ||
      napi_get_value_double(env, arg, &d) != napi_ok) {
    return ThrowError(env, ErrorKind::TypeError, RSEQ_TABLE_ERR_INVALID_ARG_TYPE, "selftest: budgetMs must be a number");
  }
  if (!std::isfinite(d) || std::floor(d) != d || d < kSelftestMinBudgetMs ||
      d > kSelftestMaxBudgetMs) {
    std::string msg = "selftest: budgetMs must be an integer in [" + std::to_string(kSelftestMinBudgetMs) +
                      ", " + std::to_string(kSelftestMaxBudgetMs) + "]";
    return ThrowError(env, ErrorKind::RangeError, RSEQ_TABLE_ERR_OUT_OF_RANGE, msg);
  }
  SelftestResult r;
  if (run_selftest(static_cast<uint32_t>(d), &r) != 0) return Fail(env);
  napi_value out = nullptr;
  napi_value checks = nullptr;
  if (napi_create_object(env, &out) != napi_ok || napi_create_object(env, &checks) != napi_ok) return Fail(env);
  struct Named {
    const char* name;
    const SelftestCheck* check;
  };
  const Named all[] = {{"sameCpu", &r.same_cpu}, {"migration", &r.migration}, {"signal", &r.signal}, {"ids", &r.ids}};
  for (const Named& c : all) {
    napi_value o = CheckObject(env, *c.check);
    if (o == nullptr || napi_set_named_property(env, checks, c.name, o) != napi_ok) return Fail(env);
  }
  if (!SetNum(env, out, "ms", r.ms) || napi_set_named_property(env, out, "checks", checks) != napi_ok) return Fail(env);
  return out;
}

napi_value SelftestVerdictBinding(napi_env env, napi_callback_info) {
  napi_value v = nullptr;
  if (napi_create_int32(env, last_selftest_verdict(), &v) != napi_ok) return Fail(env);
  return v;
}

}  // namespace rseq_native
