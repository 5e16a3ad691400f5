// Pure functions and machine facts: field liveness, area layout, ABI layout,
// errno names, the kernel probe.
#include <errno.h>
#include <stddef.h>

#include "abi.h"
#include "check.h"
#include "errno_names.h"
#include "probe.h"
#include "registration.h"

using namespace rseq_native;

static void test_field_liveness() {
  RSEQ_SECTION("field liveness from the feature size");
  // 0 (no AT_RSEQ_FEATURE_SIZE, before 6.3) means the original 20.
  FieldLiveness f0 = field_liveness(0);
  CHECK_EQ(f0.feature_size, 20);
  CHECK(f0.cpu_id_start && f0.cpu_id && !f0.node_id && !f0.mm_cid && !f0.slice_ctrl);

  FieldLiveness f20 = field_liveness(20);
  CHECK_EQ(f20.feature_size, 20);
  CHECK(f20.cpu_id_start);
  CHECK(f20.cpu_id);
  CHECK(!f20.node_id);
  CHECK(!f20.mm_cid);
  CHECK(!f20.slice_ctrl);

  FieldLiveness f28 = field_liveness(28);  // 6.3 - 6.19
  CHECK(f28.cpu_id_start && f28.cpu_id);
  CHECK(f28.node_id);
  CHECK(f28.mm_cid);
  CHECK(!f28.slice_ctrl);

  FieldLiveness f32 = field_liveness(32);
  CHECK(f32.node_id && f32.mm_cid);
  CHECK(f32.slice_ctrl);

  FieldLiveness f33 = field_liveness(33);  // 7.0+
  CHECK(f33.cpu_id_start && f33.cpu_id && f33.node_id && f33.mm_cid && f33.slice_ctrl);

  // Boundaries.
  CHECK(!field_liveness(23).node_id);
  CHECK(field_liveness(24).node_id);
  CHECK(!field_liveness(27).mm_cid);
  CHECK(field_liveness(28).mm_cid);
  CHECK(!field_liveness(31).slice_ctrl);
}

static void test_area_layout() {
  RSEQ_SECTION("area layout");
  AreaLayout l = area_layout(0, 0);  // before 6.3
  CHECK_EQ(l.length, 32);
  CHECK_EQ(l.align, 32);
  CHECK_EQ(l.alloc_size, 32);
  l = area_layout(28, 32);  // 6.3 - 6.19
  CHECK_EQ(l.length, 32);
  CHECK_EQ(l.align, 32);
  l = area_layout(32, 32);
  CHECK_EQ(l.length, 32);
  // 7.0: the feature size itself (33, > 32: the optimised v2 mode), 64-byte
  // aligned, in a 64-byte allocation; the kernel wants len >= feature size and
  // AT_RSEQ_ALIGN alignment for any len other than 32, as glibc 2.41 registers.
  l = area_layout(33, 64);
  CHECK_EQ(l.length, 33);
  CHECK_EQ(l.align, 64);
  CHECK_EQ(l.alloc_size, 64);
  CHECK(l.length > RSEQ_ABI_ORIG_SIZE);
  l = area_layout(100, 32);
  CHECK_EQ(l.length, 100);
  CHECK_EQ(l.alloc_size, 128);
  l = area_layout(28, 16);  // an alignment below 32 is raised to 32
  CHECK_EQ(l.align, 32);
}

static void test_abi_layout() {
  RSEQ_SECTION("ABI layout");
  CHECK_EQ(sizeof(rseq_abi), 32);
  CHECK_EQ(alignof(rseq_abi), 32);
  CHECK_EQ(offsetof(rseq_abi, cpu_id_start), 0);
  CHECK_EQ(offsetof(rseq_abi, cpu_id), 4);
  CHECK_EQ(offsetof(rseq_abi, rseq_cs), 8);
  CHECK_EQ(offsetof(rseq_abi, flags), 16);
  CHECK_EQ(offsetof(rseq_abi, node_id), 20);
  CHECK_EQ(offsetof(rseq_abi, mm_cid), 24);
  CHECK_EQ(offsetof(rseq_abi, slice_ctrl), 28);
  CHECK_EQ(sizeof(rseq_abi_cs), 32);
  CHECK_EQ(alignof(rseq_abi_cs), 32);
  CHECK_EQ(RSEQ_ABI_CPU_ID_UNINITIALIZED, 0xffffffffu);
  CHECK_EQ(RSEQ_ABI_CPU_ID_REGISTRATION_FAILED, 0xfffffffeu);
#if defined(__x86_64__)
  CHECK_EQ(RSEQ_ABI_SIG, 0x53053053u);
  CHECK_EQ(RSEQ_ABI_NR_RSEQ, 334);
#elif defined(__aarch64__)
  CHECK_EQ(RSEQ_ABI_SIG, 0xd428bc00u);
  CHECK_EQ(RSEQ_ABI_NR_RSEQ, 293);
#endif
}

static void test_errno_names() {
  RSEQ_SECTION("errno names");
  CHECK_STREQ(errno_name(0), "");
  CHECK_STREQ(errno_name(EPERM), "EPERM");
  CHECK_STREQ(errno_name(EINVAL), "EINVAL");
  CHECK_STREQ(errno_name(EBUSY), "EBUSY");
  CHECK_STREQ(errno_name(EFAULT), "EFAULT");
  CHECK_STREQ(errno_name(ENOSYS), "ENOSYS");
  CHECK_STREQ(errno_name(ENOMEM), "ENOMEM");
  CHECK_STREQ(errno_name(EAGAIN), "EAGAIN");
  CHECK_STREQ(errno_name(EOPNOTSUPP), "EOPNOTSUPP");
  CHECK_STREQ(errno_name(ENOTSUP), "EOPNOTSUPP");  // same number on Linux
  CHECK_STREQ(errno_name(EHWPOISON), "EHWPOISON");
  CHECK_STREQ(errno_name(9999), "EUNKNOWN");
  CHECK_EQ(errno_from_name("ENOTSUP"), ENOTSUP);
  CHECK_EQ(errno_from_name("EINVAL"), 22);
  CHECK_EQ(errno_from_name("ENOPE"), -1);
  // Linux numbers, the same on x86_64 and aarch64 (asm-generic).
  CHECK_EQ(EPERM, 1);
  CHECK_EQ(EFAULT, 14);
  CHECK_EQ(EBUSY, 16);
  CHECK_EQ(ENOSYS, 38);
  // Every number 1..133 has a name.
  int unnamed = 0;
  for (int e = 1; e <= 133; ++e) {
    if (e == 41 || e == 58) continue;  // unused numbers on Linux
    if (errno_from_name(errno_name(e)) != e) {
      fprintf(stderr, "no name for errno %d\n", e);
      ++unnamed;
    }
  }
  CHECK_EQ(unnamed, 0);
}

static void test_kernel_probe() {
  RSEQ_SECTION("kernel probe");
  KernelInfo k = kernel_info();
  CHECK(!k.release.empty());
  // The machines this package supports have rseq (and these tests need it).
  CHECK_STREQ(errno_name(k.probe_errno), "EINVAL");
  CHECK_EQ(rseq_probe_errno(), EINVAL);
  if (k.membarrier_mask >= 0) {
    CHECK((k.membarrier_mask & RSEQ_ABI_MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0);
  }
  if (k.feature_size != 0) {
    CHECK(k.feature_size >= 20);
    CHECK(k.align >= 32);
  }
  CHECK_EQ(effective_feature_size(), k.feature_size == 0 ? 20 : k.feature_size);

  LibcInfo l = libc_info();
  if (l.family == LibcFamily::Glibc) {
    CHECK(l.has_version);
    CHECK(l.version.rfind("2.", 0) == 0);
  } else {
    CHECK(!l.has_version);
  }
  CHECK(strcmp(libc_family_name(l.family), "glibc") == 0 ||
        strcmp(libc_family_name(l.family), "musl") == 0 ||
        strcmp(libc_family_name(l.family), "unknown") == 0);
}

int main() {
  test_field_liveness();
  test_area_layout();
  test_abi_layout();
  test_errno_names();
  test_kernel_probe();
  return rseq_test::finish("test_abi_probe");
}
