/*
 * /init of the kernel-package initramfs: a static launcher for node.
 *
 * Built statically for the guest's architecture (gcc on x86_64,
 * aarch64-linux-gnu-gcc on aarch64). Mounts /proc, /sys, /dev (devtmpfs) and
 * /tmp, sets PATH, HOME and LD_LIBRARY_PATH (x86_64: node's libraries at
 * their host paths; aarch64: Debian's arm64 libraries in
 * /lib/aarch64-linux-gnu), runs `node <entry>` as a child, reaps
 * every process (it is PID 1), then prints `RSEQ-MATRIX-DONE <status>` for
 * scripts/kernel-matrix.cjs and powers the machine off.
 *
 * The kernel hands unknown `KEY=value` words of its command line to init's
 * environment (kernel-matrix.cjs --append); they are passed on to node.
 * RSEQ_GUEST_NODE and RSEQ_GUEST_ENTRY override the node binary and the
 * entry script.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef GUEST_NODE
#define GUEST_NODE "/usr/bin/node"
#endif
#ifndef GUEST_ENTRY
#define GUEST_ENTRY "/pkg/scripts/kernel-package/guest.cjs"
#endif

static void try_mount(const char *src, const char *dst, const char *type, const char *data) {
  mkdir(dst, 0755);
  if (mount(src, dst, type, 0, data) != 0 && errno != EBUSY) {
    printf("init: mount %s on %s: %s\n", type, dst, strerror(errno));
  }
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void power_off(int status) {
  printf("RSEQ-MATRIX-DONE %d\n", status);
  fflush(stdout);
  /* Let the console drain so the kernel's shutdown messages cannot split the marker. */
  tcdrain(STDOUT_FILENO);
  sync();
  reboot(RB_POWER_OFF);
  /* Not PID 1 (run by hand): just exit. */
  exit(status);
}

int main(int argc, char **argv, char **envp) {
  (void)argc;
  (void)argv;
  setvbuf(stdout, NULL, _IONBF, 0);
  printf("RSEQ-MATRIX-START\n");
  double t0 = now();

  try_mount("proc", "/proc", "proc", NULL);
  try_mount("sysfs", "/sys", "sysfs", NULL);
  try_mount("devtmpfs", "/dev", "devtmpfs", NULL);
  try_mount("tmpfs", "/tmp", "tmpfs", "mode=1777");

  const char *node = getenv("RSEQ_GUEST_NODE") ? getenv("RSEQ_GUEST_NODE") : GUEST_NODE;
  const char *entry = getenv("RSEQ_GUEST_ENTRY") ? getenv("RSEQ_GUEST_ENTRY") : GUEST_ENTRY;

  /* Our settings first, then whatever the kernel passed (which may override them). */
  size_t n = 0;
  while (envp[n]) n++;
  char **env = calloc(n + 8, sizeof(char *));
  if (!env) power_off(125);
  size_t k = 0;
  env[k++] = "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
  env[k++] = "HOME=/root";
  env[k++] = "TMPDIR=/tmp";
  env[k++] = "LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib/aarch64-linux-gnu:/usr/lib/aarch64-linux-gnu";
  for (size_t i = 0; i < n; i++) {
    const char *e = envp[i];
    if (strncmp(e, "PATH=", 5) == 0 || strncmp(e, "HOME=", 5) == 0) continue;
    env[k++] = (char *)e;
  }
  env[k] = NULL;

  pid_t child = fork();
  if (child < 0) {
    printf("init: fork: %s\n", strerror(errno));
    power_off(125);
  }
  if (child == 0) {
    char *args[] = {(char *)node, (char *)entry, NULL};
    execve(node, args, env);
    printf("init: exec %s: %s\n", node, strerror(errno));
    _exit(127);
  }
  int status = 125;
  for (;;) {
    int ws;
    pid_t p = wait(&ws);
    if (p < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p == child) {
      status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
      break;
    }
  }
  printf("init: node exited with %d after %.1f s\n", status, now() - t0);
  power_off(status);
  return 0;
}
