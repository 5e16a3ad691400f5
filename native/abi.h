/*
 * native/abi.h - the Linux rseq ABI as this package uses it.
 *
 * Everything the kernel and user space agree on lives here: the layout of the
 * per-thread `struct rseq` and of the critical-section descriptor
 * `struct rseq_cs`, the syscall numbers, flags, signatures, the auxiliary
 * vector entries that publish the feature size and alignment, and the
 * membarrier commands that cooperate with rseq.
 *
 * Names carry an RSEQ_ABI_ / rseq_abi_ prefix so this header can coexist with
 * <linux/rseq.h> or glibc's <sys/rseq.h> in the same translation unit; the
 * kernel's own spelling is given in each comment. Sources of truth:
 * include/uapi/linux/rseq.h and kernel/rseq.c in the kernel tree,
 * Documentation/userspace-api/rseq.rst, and glibc's sysdeps/.../bits/rseq.h
 * (for the signatures). The file is plain C so a C test can include it too.
 *
 * The TypeScript side takes the same values from its table,
 * src/contract/abi.ts; native/abi_table.h is generated from that table
 * (scripts/gen-abi.cjs), and the checks at the end of this file hold every
 * definition here to it at compile time.
 */
#ifndef RSEQ_NATIVE_ABI_H
#define RSEQ_NATIVE_ABI_H

#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>

#include "abi_table.h"

#if !defined(__linux__)
#error "rseq is a Linux system call; the native core builds on Linux only"
#endif

/* ------------------------------------------------------------------------ */
/* Architecture: syscall numbers and the abort-handler signature.            */
/* ------------------------------------------------------------------------ */

#if defined(__x86_64__)
#define RSEQ_ABI_ARCH_NAME "x86_64"
/* __NR_rseq and __NR_membarrier in arch/x86/entry/syscalls/syscall_64.tbl. */
#define RSEQ_ABI_NR_RSEQ 334
#define RSEQ_ABI_NR_MEMBARRIER 324
/*
 * RSEQ_SIG on x86_64 (glibc and librseq agree). The kernel requires the 32-bit
 * word right before every abort handler to equal the registered signature.
 * Code emits it as the last 4 bytes of `0f b9 3d <sig>`, an `ud1` instruction
 * with a disp32 operand, so that falling into it traps instead of running on.
 */
#define RSEQ_ABI_SIG 0x53053053u
#elif defined(__aarch64__)
#define RSEQ_ABI_ARCH_NAME "aarch64"
/* asm-generic unistd.h numbers (aarch64 uses the generic table). */
#define RSEQ_ABI_NR_RSEQ 293
#define RSEQ_ABI_NR_MEMBARRIER 283
/*
 * RSEQ_SIG on aarch64: the instruction word of `brk #0x45e0`, emitted in the
 * instruction stream just before the abort label and jumped over. As a data
 * value seen by a big-endian reader it is 0x00bc28d4.
 */
#define RSEQ_ABI_SIG 0xd428bc00u
#else
#error "the rseq native core supports Linux x86_64 and aarch64 only"
#endif

/*
 * The critical sections themselves (inline assembly that stores a struct
 * rseq_abi_cs address, checks cpu_id and commits with one store, with the
 * signature before each abort label) are in native/arch/x86_64.h and
 * native/arch/aarch64.h; this header only describes the data they share with
 * the kernel.
 */

/* ------------------------------------------------------------------------ */
/* Flags of the rseq() system call.                                          */
/*   long rseq(struct rseq *area, u32 len, int flags, u32 sig);              */
/* ------------------------------------------------------------------------ */

/* RSEQ_FLAG_UNREGISTER: unregister the calling thread's area (same len/sig). */
#define RSEQ_ABI_FLAG_UNREGISTER (1 << 0)
/* RSEQ_FLAG_SLICE_EXT_DEFAULT_ON (Linux 7.0): time-slice extension on by default. */
#define RSEQ_ABI_FLAG_SLICE_EXT_DEFAULT_ON (1 << 1)

/*
 * Values of struct rseq::cpu_id that are not CPU numbers.
 *
 * RSEQ_CPU_ID_UNINITIALIZED (-1): the kernel's value for "not registered". User
 *   space initialises cpu_id to it before registering, and the kernel writes it
 *   back on unregistration.
 * RSEQ_CPU_ID_REGISTRATION_FAILED (-2): a libc convention (glibc): libc tried to
 *   register the thread's area and the kernel refused, or registration was
 *   turned off (GLIBC_TUNABLES=glibc.pthread.rseq=0).
 * A registered thread always reads a real CPU number: the kernel stores it
 * before the thread returns to user space after registration.
 */
#define RSEQ_ABI_CPU_ID_UNINITIALIZED ((uint32_t)-1)        /* 0xffffffff */
#define RSEQ_ABI_CPU_ID_REGISTRATION_FAILED ((uint32_t)-2)  /* 0xfffffffe */

/*
 * struct rseq_cs::flags and the deprecated struct rseq::flags bits
 * (RSEQ_CS_FLAG_NO_RESTART_ON_PREEMPT/SIGNAL/MIGRATE). Since Linux 6.0 setting
 * any of them kills the thread with SIGSEGV at the next abort check: they are
 * listed only so nobody sets them.
 */
#define RSEQ_ABI_CS_FLAG_NO_RESTART_ON_PREEMPT (1u << 0)
#define RSEQ_ABI_CS_FLAG_NO_RESTART_ON_SIGNAL (1u << 1)
#define RSEQ_ABI_CS_FLAG_NO_RESTART_ON_MIGRATE (1u << 2)
/* struct rseq::flags bits 4 and 5 (Linux 7.0, read-only): slice extension state. */
#define RSEQ_ABI_CS_FLAG_SLICE_EXT_AVAILABLE (1u << 4)
#define RSEQ_ABI_CS_FLAG_SLICE_EXT_ENABLED (1u << 5)

/* ------------------------------------------------------------------------ */
/* struct rseq_cs: the critical-section descriptor.                          */
/* ------------------------------------------------------------------------ */

/*
 * A thread enters a critical section by storing the address of one of these
 * into struct rseq::rseq_cs. The section is [start_ip, start_ip +
 * post_commit_offset); its last instruction is the commit. When the thread is
 * preempted, migrated or gets a signal while its IP is inside the section, the
 * kernel clears rseq_cs and resumes the thread at abort_ip, which must lie
 * outside the section and be preceded by the 32-bit signature.
 */
struct rseq_abi_cs {
	uint32_t version;            /* must be 0 */
	uint32_t flags;              /* must be 0 (see the NO_RESTART note above) */
	uint64_t start_ip;
	uint64_t post_commit_offset; /* length of the section in bytes */
	uint64_t abort_ip;
} __attribute__((aligned(4 * sizeof(uint64_t))));

/* ------------------------------------------------------------------------ */
/* struct rseq: the per-thread area shared with the kernel.                  */
/* ------------------------------------------------------------------------ */

/* slice_ctrl (Linux 7.0): time-slice extension request/grant bytes. */
union rseq_abi_slice_ctrl {
	uint32_t all;
	struct {
		uint8_t request;  /* written by user space */
		uint8_t granted;  /* written by the kernel */
		uint16_t reserved;
	} s;
};

struct rseq_abi {
	/*
	 * cpu_id_start (4.18): the current CPU number, always a valid CPU (0 while
	 * unregistered). A critical section loads it before storing rseq_cs and
	 * compares it with cpu_id inside the section.
	 */
	uint32_t cpu_id_start;
	/*
	 * cpu_id (4.18): the current CPU number, or RSEQ_ABI_CPU_ID_UNINITIALIZED
	 * (-1) / RSEQ_ABI_CPU_ID_REGISTRATION_FAILED (-2, libc convention).
	 */
	uint32_t cpu_id;
	/*
	 * rseq_cs (4.18): address of the active struct rseq_abi_cs, or 0. Always a
	 * 64-bit field, also on 32-bit architectures. Written by user space to enter
	 * a section, cleared by the kernel.
	 */
	uint64_t rseq_cs;
	/*
	 * flags (4.18): deprecated NO_RESTART bits 0-2 (must stay 0); 7.0 adds the
	 * read-only slice-extension bits 4 and 5.
	 */
	uint32_t flags;
	/* node_id (6.3): NUMA node of cpu_id. Live when feature size >= 24. */
	uint32_t node_id;
	/*
	 * mm_cid (6.3): concurrency id, in [0, min(allowed CPUs, threads of the
	 * process)); dense per-process index for per-"CPU" data. Live when feature
	 * size >= 28.
	 */
	uint32_t mm_cid;
	/* slice_ctrl (7.0): live when feature size >= 32. */
	union rseq_abi_slice_ctrl slice_ctrl;
	/*
	 * Linux 7.0 adds a reserved byte at offset 32 so the feature size (33) can
	 * never equal the original allocation size (32) again: a length of 32 means
	 * "legacy registration". Areas longer than 32 bytes are allocated by the
	 * registrant with the length and alignment the auxv entries give; they are
	 * not described by this struct.
	 */
} __attribute__((aligned(4 * sizeof(uint64_t))));

/* ORIG_RSEQ_SIZE: the original allocation size (and the legacy-mode length). */
#define RSEQ_ABI_ORIG_SIZE 32u
/* The original feature size (4.18 - 6.2): cpu_id_start .. flags. */
#define RSEQ_ABI_ORIG_FEATURE_SIZE 20u
/* The original, and minimum, alignment of an area. */
#define RSEQ_ABI_MIN_ALIGN 32u

/*
 * Feature size needed for each field to be kept up to date by the kernel: the
 * end offset of the field. The feature size is AT_RSEQ_FEATURE_SIZE, or 20
 * when the kernel does not publish it (before 6.3). It is never __rseq_size.
 */
/* cpu_id_start and cpu_id came together in the original ABI: both need 8. */
#define RSEQ_ABI_FEATURE_CPU_ID_START 8u
#define RSEQ_ABI_FEATURE_CPU_ID 8u
#define RSEQ_ABI_FEATURE_NODE_ID 24u
#define RSEQ_ABI_FEATURE_MM_CID 28u
#define RSEQ_ABI_FEATURE_SLICE_CTRL 32u

/* ------------------------------------------------------------------------ */
/* Auxiliary vector entries (since Linux 6.3; getauxval returns 0 before).   */
/* ------------------------------------------------------------------------ */

#ifndef AT_RSEQ_FEATURE_SIZE
#define AT_RSEQ_FEATURE_SIZE 27 /* size of the fields the kernel supports */
#endif
#ifndef AT_RSEQ_ALIGN
#define AT_RSEQ_ALIGN 28 /* required alignment of an area longer than 32 */
#endif

/* ------------------------------------------------------------------------ */
/* membarrier(2) commands (enum membarrier_cmd in <linux/membarrier.h>).     */
/*   int membarrier(int cmd, unsigned int flags, int cpu_id);                */
/* ------------------------------------------------------------------------ */

#define RSEQ_ABI_MEMBARRIER_CMD_QUERY 0
#define RSEQ_ABI_MEMBARRIER_CMD_GLOBAL (1 << 0)
#define RSEQ_ABI_MEMBARRIER_CMD_GLOBAL_EXPEDITED (1 << 1)
#define RSEQ_ABI_MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED (1 << 2)
#define RSEQ_ABI_MEMBARRIER_CMD_PRIVATE_EXPEDITED (1 << 3)
#define RSEQ_ABI_MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED (1 << 4)
#define RSEQ_ABI_MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE (1 << 5)
#define RSEQ_ABI_MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE (1 << 6)
/* Aborts the rseq critical sections of the process's threads (5.10). */
#define RSEQ_ABI_MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ (1 << 7)
#define RSEQ_ABI_MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ (1 << 8)
#define RSEQ_ABI_MEMBARRIER_CMD_GET_REGISTRATIONS (1 << 9)
/* membarrier flag: target only the CPU given in the third argument. */
#define RSEQ_ABI_MEMBARRIER_CMD_FLAG_CPU (1 << 0)

/* ------------------------------------------------------------------------ */
/* Time-slice extension (Linux 7.0): prctl and rseq_slice_yield().          */
/* ------------------------------------------------------------------------ */

/*
 * prctl(PR_RSEQ_SLICE_EXTENSION, PR_RSEQ_SLICE_EXTENSION_SET,
 *       PR_RSEQ_SLICE_EXT_ENABLE (or 0 to disable), 0, 0) per thread;
 * PR_RSEQ_SLICE_EXTENSION_GET returns the enable bit. Errors: EINVAL where the
 * kernel does not know the option (before 7.0) or an argument is wrong,
 * ENOTSUPP (524, kernel-internal, leaks to user space) when disabled with the
 * rseq_slice_ext= boot option, ENXIO when the thread has no rseq area.
 */
#define RSEQ_ABI_PR_RSEQ_SLICE_EXTENSION 79
#define RSEQ_ABI_PR_RSEQ_SLICE_EXTENSION_GET 1
#define RSEQ_ABI_PR_RSEQ_SLICE_EXTENSION_SET 2
#define RSEQ_ABI_PR_RSEQ_SLICE_EXT_ENABLE 1
#define RSEQ_ABI_ENOTSUPP 524
/*
 * rseq_slice_yield(): ends a granted extension (returns 1 when one was still
 * granted, else 0). Number 471 in the unified syscall table (x86_64 and the
 * asm-generic table aarch64 uses); ENOSYS before 7.0.
 */
#define RSEQ_ABI_NR_RSEQ_SLICE_YIELD 471
/* slice_ctrl.request is written by user space; slice_ctrl.granted by the kernel. */
#define RSEQ_ABI_SLICE_CTRL_OFFSET 28u

/* ------------------------------------------------------------------------ */
/* Layout checks.                                                            */
/* ------------------------------------------------------------------------ */

#ifdef __cplusplus
#define RSEQ_ABI_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define RSEQ_ABI_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* The layouts, field by field, against the table (abi_table.h). */
#define RSEQ_ABI_CHECK_FIELD(field, offset, size)                                       \
	RSEQ_ABI_STATIC_ASSERT(offsetof(struct rseq_abi, field) == (offset) &&           \
				       sizeof(((struct rseq_abi *)0)->field) == (size), \
			       "struct rseq." #field " differs from src/contract/abi.ts");
RSEQ_TABLE_RSEQ_FIELDS(RSEQ_ABI_CHECK_FIELD)
#undef RSEQ_ABI_CHECK_FIELD
#define RSEQ_ABI_CHECK_CS_FIELD(field, offset, size)                                       \
	RSEQ_ABI_STATIC_ASSERT(offsetof(struct rseq_abi_cs, field) == (offset) &&           \
				       sizeof(((struct rseq_abi_cs *)0)->field) == (size), \
			       "struct rseq_cs." #field " differs from src/contract/abi.ts");
RSEQ_TABLE_RSEQ_CS_FIELDS(RSEQ_ABI_CHECK_CS_FIELD)
#undef RSEQ_ABI_CHECK_CS_FIELD

RSEQ_ABI_STATIC_ASSERT(sizeof(struct rseq_abi_cs) == RSEQ_TABLE_RSEQ_CS_SIZE, "struct rseq_cs size");
RSEQ_ABI_STATIC_ASSERT(__alignof__(struct rseq_abi_cs) == RSEQ_TABLE_RSEQ_CS_ALIGN, "struct rseq_cs alignment");
RSEQ_ABI_STATIC_ASSERT(sizeof(struct rseq_abi) == RSEQ_ABI_ORIG_SIZE, "struct rseq is the original 32 bytes");
RSEQ_ABI_STATIC_ASSERT(__alignof__(struct rseq_abi) == RSEQ_ABI_MIN_ALIGN, "struct rseq alignment");

/* Every definition above against the table. */
RSEQ_ABI_STATIC_ASSERT(RSEQ_ABI_ORIG_SIZE == RSEQ_TABLE_RSEQ_SIZE, "ORIG_RSEQ_SIZE");
RSEQ_ABI_STATIC_ASSERT(RSEQ_ABI_MIN_ALIGN == RSEQ_TABLE_RSEQ_ALIGN, "struct rseq alignment");
RSEQ_ABI_STATIC_ASSERT(RSEQ_ABI_ORIG_FEATURE_SIZE == RSEQ_TABLE_RSEQ_ORIG_FEATURE_SIZE, "original feature size");
RSEQ_ABI_STATIC_ASSERT(RSEQ_ABI_FEATURE_CPU_ID_START == RSEQ_TABLE_RSEQ_CPU_ID_OFFSET + RSEQ_TABLE_RSEQ_CPU_ID_SIZE &&
			       RSEQ_ABI_FEATURE_CPU_ID == RSEQ_TABLE_RSEQ_CPU_ID_OFFSET + RSEQ_TABLE_RSEQ_CPU_ID_SIZE,
		       "cpu_id_start and cpu_id feature size");
RSEQ_ABI_STATIC_ASSERT(RSEQ_ABI_FEATURE_NODE_ID == RSEQ_TABLE_RSEQ_NODE_ID_OFFSET + RSEQ_TABLE_RSEQ_NODE_ID_SIZE,
		       "node_id feature size");
RSEQ_ABI_STATIC_ASSERT(RSEQ_ABI_FEATURE_MM_CID == RSEQ_TABLE_RSEQ_MM_CID_OFFSET + RSEQ_TABLE_RSEQ_MM_CID_SIZE,
		       "mm_cid feature size");
RSEQ_ABI_STATIC_ASSERT(RSEQ_ABI_FEATURE_SLICE_CTRL == RSEQ_TABLE_RSEQ_SLICE_CTRL_OFFSET + RSEQ_TABLE_RSEQ_SLICE_CTRL_SIZE,
		       "slice_ctrl feature size");
RSEQ_ABI_STATIC_ASSERT(RSEQ_ABI_SLICE_CTRL_OFFSET == RSEQ_TABLE_RSEQ_SLICE_CTRL_OFFSET, "slice_ctrl offset");
RSEQ_ABI_STATIC_ASSERT(RSEQ_ABI_FLAG_UNREGISTER == RSEQ_TABLE_FLAG_UNREGISTER &&
			       RSEQ_ABI_FLAG_SLICE_EXT_DEFAULT_ON == RSEQ_TABLE_FLAG_SLICE_EXT_DEFAULT_ON,
		       "rseq() flags");
RSEQ_ABI_STATIC_ASSERT(RSEQ_ABI_CS_FLAG_NO_RESTART_ON_PREEMPT == RSEQ_TABLE_CS_FLAG_NO_RESTART_ON_PREEMPT &&
			       RSEQ_ABI_CS_FLAG_NO_RESTART_ON_SIGNAL == RSEQ_TABLE_CS_FLAG_NO_RESTART_ON_SIGNAL &&
			       RSEQ_ABI_CS_FLAG_NO_RESTART_ON_MIGRATE == RSEQ_TABLE_CS_FLAG_NO_RESTART_ON_MIGRATE &&
			       RSEQ_ABI_CS_FLAG_SLICE_EXT_AVAILABLE == RSEQ_TABLE_CS_FLAG_SLICE_EXT_AVAILABLE &&
			       RSEQ_ABI_CS_FLAG_SLICE_EXT_ENABLED == RSEQ_TABLE_CS_FLAG_SLICE_EXT_ENABLED,
		       "rseq_cs and rseq flags");
RSEQ_ABI_STATIC_ASSERT(RSEQ_ABI_CPU_ID_UNINITIALIZED == RSEQ_TABLE_CPU_ID_UNINITIALIZED &&
			       RSEQ_ABI_CPU_ID_REGISTRATION_FAILED == RSEQ_TABLE_CPU_ID_REGISTRATION_FAILED,
		       "cpu_id values");
#if defined(__x86_64__)
RSEQ_ABI_STATIC_ASSERT(RSEQ_ABI_SIG == RSEQ_TABLE_SIG_X86_64, "x86_64 signature");
RSEQ_ABI_STATIC_ASSERT(RSEQ_ABI_NR_RSEQ == RSEQ_TABLE_NR_RSEQ_X86_64 &&
			       RSEQ_ABI_NR_MEMBARRIER == RSEQ_TABLE_NR_MEMBARRIER_X86_64,
		       "x86_64 system call numbers");
#elif defined(__aarch64__)
RSEQ_ABI_STATIC_ASSERT(RSEQ_ABI_SIG == RSEQ_TABLE_SIG_AARCH64, "aarch64 signature");
RSEQ_ABI_STATIC_ASSERT(RSEQ_ABI_NR_RSEQ == RSEQ_TABLE_NR_RSEQ_AARCH64 &&
			       RSEQ_ABI_NR_MEMBARRIER == RSEQ_TABLE_NR_MEMBARRIER_AARCH64,
		       "aarch64 system call numbers");
#endif
RSEQ_ABI_STATIC_ASSERT(RSEQ_ABI_NR_RSEQ_SLICE_YIELD == RSEQ_TABLE_NR_RSEQ_SLICE_YIELD, "rseq_slice_yield number");
RSEQ_ABI_STATIC_ASSERT(AT_RSEQ_FEATURE_SIZE == RSEQ_TABLE_AT_RSEQ_FEATURE_SIZE && AT_RSEQ_ALIGN == RSEQ_TABLE_AT_RSEQ_ALIGN,
		       "auxv entry numbers");
RSEQ_ABI_STATIC_ASSERT(RSEQ_ABI_MEMBARRIER_CMD_QUERY == RSEQ_TABLE_MEMBARRIER_CMD_QUERY &&
			       RSEQ_ABI_MEMBARRIER_CMD_GLOBAL == RSEQ_TABLE_MEMBARRIER_CMD_GLOBAL &&
			       RSEQ_ABI_MEMBARRIER_CMD_GLOBAL_EXPEDITED == RSEQ_TABLE_MEMBARRIER_CMD_GLOBAL_EXPEDITED &&
			       RSEQ_ABI_MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED == RSEQ_TABLE_MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED &&
			       RSEQ_ABI_MEMBARRIER_CMD_PRIVATE_EXPEDITED == RSEQ_TABLE_MEMBARRIER_CMD_PRIVATE_EXPEDITED &&
			       RSEQ_ABI_MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED == RSEQ_TABLE_MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED &&
			       RSEQ_ABI_MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE == RSEQ_TABLE_MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE &&
			       RSEQ_ABI_MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE ==
				       RSEQ_TABLE_MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE &&
			       RSEQ_ABI_MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ == RSEQ_TABLE_MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ &&
			       RSEQ_ABI_MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ == RSEQ_TABLE_MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ &&
			       RSEQ_ABI_MEMBARRIER_CMD_GET_REGISTRATIONS == RSEQ_TABLE_MEMBARRIER_CMD_GET_REGISTRATIONS &&
			       RSEQ_ABI_MEMBARRIER_CMD_FLAG_CPU == RSEQ_TABLE_MEMBARRIER_CMD_FLAG_CPU,
		       "membarrier commands");
RSEQ_ABI_STATIC_ASSERT(RSEQ_ABI_PR_RSEQ_SLICE_EXTENSION == RSEQ_TABLE_PR_RSEQ_SLICE_EXTENSION &&
			       RSEQ_ABI_PR_RSEQ_SLICE_EXTENSION_GET == RSEQ_TABLE_PR_RSEQ_SLICE_EXTENSION_GET &&
			       RSEQ_ABI_PR_RSEQ_SLICE_EXTENSION_SET == RSEQ_TABLE_PR_RSEQ_SLICE_EXTENSION_SET &&
			       RSEQ_ABI_PR_RSEQ_SLICE_EXT_ENABLE == RSEQ_TABLE_PR_RSEQ_SLICE_EXT_ENABLE &&
			       RSEQ_ABI_ENOTSUPP == RSEQ_TABLE_ENOTSUPP,
		       "time-slice extension prctl");

/* And against the system's headers, where they have them. */
#ifdef __NR_rseq
RSEQ_ABI_STATIC_ASSERT(__NR_rseq == RSEQ_ABI_NR_RSEQ, "rseq syscall number");
#endif
#ifdef __NR_membarrier
RSEQ_ABI_STATIC_ASSERT(__NR_membarrier == RSEQ_ABI_NR_MEMBARRIER, "membarrier syscall number");
#endif

#endif /* RSEQ_NATIVE_ABI_H */
