// The auxv reader against getauxval(3).
#include <errno.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <vector>

#include "abi.h"
#include "auxv.h"
#include "check.h"

using namespace rseq_native;

static bool find(const std::vector<AuxvEntry>& entries, unsigned long type, unsigned long* value) {
  for (const AuxvEntry& e : entries) {
    if (e.type == type) {
      *value = e.value;
      return true;
    }
  }
  return false;
}

// /proc/self/auxv holds what getauxval reads: compare the entries rseq cares about.
static void test_proc_vs_getauxval() {
  RSEQ_SECTION("/proc/self/auxv vs getauxval");
  AuxvResult r = auxv_read();
  CHECK(r.from_proc);
  CHECK_EQ(r.proc_errno, 0);
  CHECK(r.entries.size() > 5);
  const unsigned long types[] = {AT_RSEQ_FEATURE_SIZE, AT_RSEQ_ALIGN, AT_PAGESZ};
  for (unsigned long type : types) {
    errno = 0;
    unsigned long expected = getauxval(type);
    bool absent = expected == 0 && errno == ENOENT;
    unsigned long value = 0;
    bool found = find(r.entries, type, &value);
    CHECK_EQ(found, !absent);
    if (found) CHECK_EQ(value, expected);
  }
  unsigned long page = 0;
  CHECK(find(r.entries, AT_PAGESZ, &page));
  CHECK_EQ(page, static_cast<unsigned long>(sysconf(_SC_PAGESIZE)));
  // No AT_NULL in the list: it only terminates the vector.
  unsigned long ignored;
  CHECK(!find(r.entries, 0, &ignored));
}

static void test_parse() {
  RSEQ_SECTION("parse");
  const unsigned long raw[] = {6, 4096, 27, 28, 28, 32, 99, 7, 0, 0, 6, 1};
  std::vector<AuxvEntry> out;
  CHECK(auxv_parse(raw, sizeof raw, &out));
  CHECK_EQ(out.size(), 4);  // stops at AT_NULL
  CHECK_EQ(out[0].type, 6);
  CHECK_EQ(out[0].value, 4096);
  CHECK_EQ(out[1].type, AT_RSEQ_FEATURE_SIZE);
  CHECK_EQ(out[1].value, 28);
  CHECK_EQ(out[2].type, AT_RSEQ_ALIGN);
  CHECK_EQ(out[3].type, 99);

  // Truncated: no AT_NULL, or half a pair.
  out.clear();
  CHECK(!auxv_parse(raw, 4 * sizeof(unsigned long), &out));
  CHECK_EQ(out.size(), 2);
  out.clear();
  CHECK(!auxv_parse(raw, 3 * sizeof(unsigned long), &out));
  CHECK_EQ(out.size(), 1);
  out.clear();
  CHECK(!auxv_parse(raw, 0, &out));
  CHECK(out.empty());

  // Unaligned input.
  unsigned char buf[sizeof raw + 1];
  memcpy(buf + 1, raw, sizeof raw);
  out.clear();
  CHECK(auxv_parse(buf + 1, sizeof raw, &out));
  CHECK_EQ(out.size(), 4);
}

static void test_fallback() {
  RSEQ_SECTION("getauxval fallback");
  AuxvResult r = auxv_read("/nonexistent/auxv");
  CHECK(!r.from_proc);
  CHECK_EQ(r.proc_errno, ENOENT);
  unsigned long page = 0;
  CHECK(find(r.entries, AT_PAGESZ, &page));
  CHECK_EQ(page, getauxval(AT_PAGESZ));
  unsigned long fs = 0;
  bool has_fs = find(r.entries, AT_RSEQ_FEATURE_SIZE, &fs);
  CHECK_EQ(has_fs, getauxval(AT_RSEQ_FEATURE_SIZE) != 0);
  if (has_fs) CHECK_EQ(fs, getauxval(AT_RSEQ_FEATURE_SIZE));
  unsigned long ignored;
  CHECK(!find(r.entries, 15 /* AT_PLATFORM */, &ignored));
}

static void test_names() {
  RSEQ_SECTION("names");
  CHECK_STREQ(auxv_type_name(0), "AT_NULL");
  CHECK_STREQ(auxv_type_name(6), "AT_PAGESZ");
  CHECK_STREQ(auxv_type_name(23), "AT_SECURE");
  CHECK_STREQ(auxv_type_name(24), "AT_BASE_PLATFORM");
  CHECK_STREQ(auxv_type_name(25), "AT_RANDOM");
  CHECK_STREQ(auxv_type_name(26), "AT_HWCAP2");
  CHECK_STREQ(auxv_type_name(27), "AT_RSEQ_FEATURE_SIZE");
  CHECK_STREQ(auxv_type_name(28), "AT_RSEQ_ALIGN");
  CHECK_STREQ(auxv_type_name(29), "AT_HWCAP3");
  CHECK_STREQ(auxv_type_name(30), "AT_HWCAP4");
  CHECK_STREQ(auxv_type_name(31), "AT_EXECFN");
  CHECK_STREQ(auxv_type_name(33), "AT_SYSINFO_EHDR");
  CHECK_STREQ(auxv_type_name(51), "AT_MINSIGSTKSZ");
  CHECK(auxv_type_name(50) == nullptr);
  CHECK(auxv_type_name(1000) == nullptr);
  // Every entry of this process's vector that glibc's elf.h names is named.
  for (const AuxvEntry& e : auxv_read().entries) {
    if (e.type <= 51 && e.type != 38 && e.type != 39 && (e.type < 48 || e.type == 51)) {
      CHECK(auxv_type_name(e.type) != nullptr);
    }
  }
}

int main() {
  test_proc_vs_getauxval();
  test_parse();
  test_fallback();
  test_names();
  return rseq_test::finish("test_auxv");
}
