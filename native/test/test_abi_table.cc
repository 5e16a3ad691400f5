// The C++ side against the table (src/contract/abi.ts, generated into
// native/abi_table.h): every number the addon shares with TypeScript is
// checked here at compile time, so a definition that stops taking its value
// from the table, or a table the C++ code no longer agrees with, fails the
// build of this file. test/native/abi-table.test.ts compiles it too, and
// checks that the header is what the table generates.
//
// native/abi.h checks the kernel ABI (struct layouts, flags, signatures,
// system call numbers) against the table itself, in every build.
#include <stddef.h>
#include <string.h>

#include "abi.h"
#include "abi_table.h"
#include "arch/common.h"
#include "check.h"
#include "errno_table.h"
#include "percpu.h"
#include "probe.h"
#include "region.h"
#include "registration.h"

using namespace rseq_native;

// The per-CPU sections: statuses, and the offsets their assembly uses.
static_assert(RSEQ_OP_COMMITTED == RSEQ_TABLE_OP_COMMITTED, "OP_COMMITTED");
static_assert(RSEQ_OP_COMPARE_FAILED == RSEQ_TABLE_OP_COMPARE_FAILED, "OP_COMPARE_FAILED");
static_assert(RSEQ_OP_ABORTED == RSEQ_TABLE_OP_ABORTED, "OP_ABORTED");
static_assert(RSEQ_OP_MOVED == RSEQ_TABLE_OP_MOVED, "OP_MOVED");
static_assert(RSEQ_OP_BAD_INDEX == RSEQ_TABLE_OP_BAD_INDEX, "OP_BAD_INDEX");
static_assert(RSEQ_ARCH_ID_CPU_ID == offsetof(struct rseq_abi, cpu_id) &&
                  RSEQ_ARCH_ID_CPU_ID == RSEQ_TABLE_RSEQ_CPU_ID_OFFSET,
              "the sections' cpu_id offset");
static_assert(RSEQ_ARCH_ID_MM_CID == offsetof(struct rseq_abi, mm_cid) &&
                  RSEQ_ARCH_ID_MM_CID == RSEQ_TABLE_RSEQ_MM_CID_OFFSET,
              "the sections' mm_cid offset");
static_assert(RSEQ_ARCH_RSEQ_CS == offsetof(struct rseq_abi, rseq_cs) &&
                  RSEQ_ARCH_RSEQ_CS == RSEQ_TABLE_RSEQ_RSEQ_CS_OFFSET,
              "the sections' rseq_cs offset");
static_assert(static_cast<int>(IdMode::CpuId) == RSEQ_TABLE_ID_MODE_CPU, "ID_MODE.cpu");
static_assert(static_cast<int>(IdMode::MmCid) == RSEQ_TABLE_ID_MODE_MMCID, "ID_MODE.mmcid");

// The bound regions: statuses, kinds, header.
static_assert(REGION_OK == RSEQ_TABLE_REGION_OK, "REGION_OK");
static_assert(REGION_EMPTY == RSEQ_TABLE_REGION_EMPTY, "REGION_EMPTY");
static_assert(REGION_LOCKED == RSEQ_TABLE_REGION_LOCKED, "REGION_LOCKED");
static_assert(REGION_CORRUPT == RSEQ_TABLE_REGION_CORRUPT, "REGION_CORRUPT");
static_assert(REGION_OVERFLOW == RSEQ_TABLE_REGION_OVERFLOW, "REGION_OVERFLOW");
static_assert(REGION_NOT_TAKEN == RSEQ_TABLE_REGION_NOT_TAKEN, "REGION_NOT_TAKEN");
static_assert(REGION_BAD_ID == RSEQ_TABLE_REGION_BAD_ID, "REGION_BAD_ID");
static_assert(REGION_RETRY == RSEQ_TABLE_REGION_RETRY, "REGION_RETRY");
static_assert(REGION_BAD_ARG == RSEQ_TABLE_REGION_BAD_ARG, "REGION_BAD_ARG");
static_assert(REGION_BAD_HANDLE == RSEQ_TABLE_REGION_BAD_HANDLE, "REGION_BAD_HANDLE");
static_assert(static_cast<int>(RegionKind::Counter) == RSEQ_TABLE_REGION_KIND_COUNTER, "REGION_KIND.counter");
static_assert(static_cast<int>(RegionKind::Buffer) == RSEQ_TABLE_REGION_KIND_BUFFER, "REGION_KIND.buffer");
static_assert(static_cast<int>(RegionKind::Pool) == RSEQ_TABLE_REGION_KIND_POOL, "REGION_KIND.pool");
static_assert(kRegionHeaderWords == RSEQ_TABLE_LAYOUT_HEADER_WORDS, "REGION_LAYOUT.headerWords");
static_assert(kRegionLineWords == RSEQ_TABLE_LAYOUT_LINE_WORDS, "REGION_LAYOUT.lineWords");
static_assert(kRegionVersion == RSEQ_TABLE_LAYOUT_VERSION, "REGION_LAYOUT.version");
static_assert(kRegionMagicBase == RSEQ_TABLE_LAYOUT_MAGIC_BASE, "REGION_LAYOUT.magicBase");
static_assert(kRegionLocked == RSEQ_TABLE_LAYOUT_LOCKED, "REGION_LAYOUT.locked");
static_assert(kRegionEmpty == RSEQ_TABLE_LAYOUT_EMPTY, "REGION_LAYOUT.empty");
static_assert(kRegionTaken == RSEQ_TABLE_LAYOUT_TAKEN, "REGION_LAYOUT.taken");
static_assert(kRegionMaxSlots == RSEQ_TABLE_LAYOUT_MAX_SLOTS, "REGION_LAYOUT.maxSlots");
static_assert(kRegionMaxRecord == RSEQ_TABLE_LAYOUT_MAX_RECORD, "REGION_LAYOUT.maxRecord");
static_assert(kRegionMaxCapacity == RSEQ_TABLE_LAYOUT_MAX_CAPACITY, "REGION_LAYOUT.maxCapacity");
static_assert(kRegionMaxPoolSize == RSEQ_TABLE_LAYOUT_MAX_POOL_SIZE, "REGION_LAYOUT.maxPoolSize");
static_assert(kRegionMaxLanes == RSEQ_TABLE_LAYOUT_MAX_LANES, "REGION_LAYOUT.maxLanes");
static_assert(kRegionWordGuard == RSEQ_TABLE_LAYOUT_WORD_GUARD, "REGION_LAYOUT.wordGuard");

// The addon's own area: area_layout() gives addonAreaLayout's answers.
#define RSEQ_CHECK_AREA_LAYOUT(fs, at_align, want_length, want_align, want_alloc)        \
  static_assert(area_layout(fs, at_align).length == (want_length) &&                    \
                    area_layout(fs, at_align).align == (want_align) &&                  \
                    area_layout(fs, at_align).alloc_size == (want_alloc),               \
                "area_layout(" #fs ", " #at_align ") differs from addonAreaLayout");
RSEQ_TABLE_AREA_LAYOUT_CASES(RSEQ_CHECK_AREA_LAYOUT)
#undef RSEQ_CHECK_AREA_LAYOUT

// The errno table runs the table's number of cases (errno_table.h).
static_assert(kErrnoCaseCount == RSEQ_TABLE_ERRNO_CASE_COUNT, "ERRNO_CASES");

int main() {
  RSEQ_SECTION("the errno table's case names are the table's, in its order");
  {
    static const char* const table[] = {
#define RSEQ_CASE_NAME(name) name,
        RSEQ_TABLE_ERRNO_CASES(RSEQ_CASE_NAME)
#undef RSEQ_CASE_NAME
    };
    CHECK_EQ(sizeof table / sizeof table[0], kErrnoCaseCount);
    for (size_t i = 0; i < kErrnoCaseCount; ++i) CHECK_STREQ(kErrnoCaseNames[i], table[i]);
  }

  RSEQ_SECTION("field liveness needs the end of each field");
  {
    FieldLiveness below_node = field_liveness(RSEQ_TABLE_RSEQ_NODE_ID_OFFSET + RSEQ_TABLE_RSEQ_NODE_ID_SIZE - 1);
    FieldLiveness node = field_liveness(RSEQ_TABLE_RSEQ_NODE_ID_OFFSET + RSEQ_TABLE_RSEQ_NODE_ID_SIZE);
    CHECK(!below_node.node_id && node.node_id);
    FieldLiveness below_mm = field_liveness(RSEQ_TABLE_RSEQ_MM_CID_OFFSET + RSEQ_TABLE_RSEQ_MM_CID_SIZE - 1);
    FieldLiveness mm = field_liveness(RSEQ_TABLE_RSEQ_MM_CID_OFFSET + RSEQ_TABLE_RSEQ_MM_CID_SIZE);
    CHECK(!below_mm.mm_cid && mm.mm_cid);
    FieldLiveness below_slice = field_liveness(RSEQ_TABLE_RSEQ_SLICE_CTRL_OFFSET + RSEQ_TABLE_RSEQ_SLICE_CTRL_SIZE - 1);
    FieldLiveness slice = field_liveness(RSEQ_TABLE_RSEQ_SLICE_CTRL_OFFSET + RSEQ_TABLE_RSEQ_SLICE_CTRL_SIZE);
    CHECK(!below_slice.slice_ctrl && slice.slice_ctrl);
    CHECK_EQ(field_liveness(0).feature_size, RSEQ_TABLE_RSEQ_ORIG_FEATURE_SIZE);
  }

  RSEQ_SECTION("the addon's area layout at run time");
  {
#define RSEQ_CHECK_AREA_LAYOUT(fs, at_align, want_length, want_align, want_alloc) \
  CHECK_EQ(area_layout(fs, at_align).length, want_length);                      \
  CHECK_EQ(area_layout(fs, at_align).align, want_align);                        \
  CHECK_EQ(area_layout(fs, at_align).alloc_size, want_alloc);
    RSEQ_TABLE_AREA_LAYOUT_CASES(RSEQ_CHECK_AREA_LAYOUT)
#undef RSEQ_CHECK_AREA_LAYOUT
  }
  return rseq_test::finish("test_abi_table");
}
