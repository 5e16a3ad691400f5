/* seccomp-exec ERRNO[:membarrier] PROGRAM [ARGS...]: runs PROGRAM under a
 * seccomp filter that makes the rseq system call (or, with ":membarrier",
 * the membarrier system call) fail with ERRNO (ENOSYS or EPERM), as
 * containers and sandboxes do. Every other system call is allowed. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define ARCH_NR AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH_NR AUDIT_ARCH_AARCH64
#else
#error "seccomp-exec supports x86_64 and aarch64"
#endif

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: seccomp-exec ENOSYS|EPERM[:membarrier] PROGRAM [ARGS...]\n");
    return 2;
  }
  unsigned err;
  unsigned nr = __NR_rseq;
  const char *colon = strchr(argv[1], ':');
  if (colon != NULL) {
    if (strcmp(colon + 1, "membarrier") != 0) {
      fprintf(stderr, "seccomp-exec: only rseq or membarrier can be denied, not %s\n", colon + 1);
      return 2;
    }
    nr = __NR_membarrier;
  }
  size_t len = colon != NULL ? (size_t)(colon - argv[1]) : strlen(argv[1]);
  if (len == 6 && strncmp(argv[1], "ENOSYS", len) == 0) err = ENOSYS;
  else if (len == 5 && strncmp(argv[1], "EPERM", len) == 0) err = EPERM;
  else {
    fprintf(stderr, "seccomp-exec: unknown errno %s\n", argv[1]);
    return 2;
  }
  struct sock_filter filter[] = {
      /* Other architectures' system calls pass (the filter is for this ABI). */
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH_NR, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      /* The chosen call fails with the chosen errno; everything else is allowed. */
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {.len = sizeof filter / sizeof filter[0], .filter = filter};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
    perror("seccomp-exec: installing the filter");
    return 1;
  }
  execvp(argv[2], argv + 2);
  perror("seccomp-exec: exec");
  return 127;
}
