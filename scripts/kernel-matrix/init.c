/*
 * init.c - the /init of every kernel-matrix guest. scripts/kernel-matrix.cjs
 * builds it statically for each architecture (gcc, aarch64-linux-gnu-gcc)
 * and puts it into every initramfs it boots: the smoke check's, the stress
 * binary's (npm run test:kernels), the whole package's
 * (scripts/kernel-package.cjs) and the KVM probe's.
 *
 * As PID 1 it
 *   1. makes sure stdio is the console (the kernel opens /dev/console for
 *      init when the initramfs has that node; otherwise devtmpfs is mounted
 *      and the console opened here),
 *   2. prints "RSEQ-MATRIX-START" (the end of the kernel's boot),
 *   3. mounts proc on /proc, sysfs on /sys, devtmpfs on /dev and tmpfs on
 *      /tmp,
 *   4. runs the guest's task: the command in /task, one argument per line,
 *      the program first (a static payload, or node and a script), as a
 *      child with PATH, HOME, TMPDIR and LD_LIBRARY_PATH set; the kernel's
 *      unknown KEY=value words (kernel-matrix.cjs --append) reach it too and
 *      take precedence (HOME aside: the kernel always passes HOME=/). With
 *      no /task it runs nothing (the KVM probe's guest),
 *   5. reaps every process until the task has ended, prints
 *      "RSEQ-MATRIX-DONE <status>" (the task's exit status, 128 + the signal
 *      that ended it, 125 when it could not be started, 127 when its program
 *      could not be executed), lets the console drain, syncs and powers the
 *      machine off.
 * The task prints its own "RSEQ-MATRIX-RESULT {json}" lines (the protocol:
 * scripts/kernel-matrix/README.md).
 *
 * Anywhere but PID 1 it refuses to run: it would mount over the host's
 * directories and power the host off.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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

#define TASK_FILE "/task"
#define MAX_ARGS 64
#define MAX_TASK_BYTES 65536

/* The task's environment before the kernel's words. */
static const char *const DEFAULT_ENV[] = {
    "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
    "HOME=/root",
    "TMPDIR=/tmp",
    /* node's libraries: x86_64 at their host paths, aarch64 Debian's. */
    "LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib/aarch64-linux-gnu:/usr/lib/aarch64-linux-gnu",
};
#define DEFAULTS (sizeof DEFAULT_ENV / sizeof DEFAULT_ENV[0])

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* stdio on the console, whether or not the kernel opened it for us. */
static void ensure_console(void) {
  if (fcntl(STDOUT_FILENO, F_GETFD) != -1) return;
  mkdir("/dev", 0755);
  mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
  int fd = open("/dev/console", O_RDWR);
  if (fd < 0) return;
  dup2(fd, 0);
  dup2(fd, 1);
  dup2(fd, 2);
  if (fd > 2) close(fd);
}

static void try_mount(const char *src, const char *dst, const char *type, const char *data) {
  mkdir(dst, 0755);
  if (mount(src, dst, type, 0, data) != 0 && errno != EBUSY) {
    printf("init: mount %s on %s: %s\n", type, dst, strerror(errno));
  }
}

static void power_off(int status) {
  printf("RSEQ-MATRIX-DONE %d\n", status);
  fflush(stdout);
  /* The console is a UART: written bytes may still sit in its buffer, and the
   * kernel's own "reboot: Power down" would land inside the last lines. */
  tcdrain(STDOUT_FILENO);
  tcdrain(STDERR_FILENO);
  sync();
  reboot(RB_POWER_OFF);
  /* PID 1 exiting panics the kernel, which ends qemu as well (panic=-1). */
  printf("init: power off: %s\n", strerror(errno));
  _exit(status);
}

/* The length of the name in "NAME=value" (the whole string when no '='). */
static size_t name_length(const char *entry) {
  const char *eq = strchr(entry, '=');
  return eq ? (size_t)(eq - entry) : strlen(entry);
}

static int has_name(char *const *env, const char *entry) {
  size_t n = name_length(entry);
  for (; *env; env++) {
    if (name_length(*env) == n && strncmp(*env, entry, n) == 0) return 1;
  }
  return 0;
}

/* The kernel's words (HOME aside), then the defaults they do not set. */
static char **task_environment(char **kernel_env) {
  size_t n = 0;
  while (kernel_env[n]) n++;
  char **env = calloc(n + DEFAULTS + 1, sizeof(char *));
  if (!env) return NULL;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (strncmp(kernel_env[i], "HOME=", 5) != 0) env[k++] = kernel_env[i];
  }
  for (size_t i = 0; i < DEFAULTS; i++) {
    if (!has_name(env, DEFAULT_ENV[i])) env[k++] = (char *)DEFAULT_ENV[i];
  }
  env[k] = NULL;
  return env;
}

/*
 * The task's argv from TASK_FILE into `argv` (NULL-terminated); returns the
 * argument count, 0 when there is no task file, -1 when it cannot be used.
 */
static int read_task(char *buf, size_t size, char **argv) {
  int fd = open(TASK_FILE, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return 0;
    printf("init: %s: %s\n", TASK_FILE, strerror(errno));
    return -1;
  }
  size_t len = 0;
  for (;;) {
    ssize_t r = read(fd, buf + len, size - 1 - len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      printf("init: read %s: %s\n", TASK_FILE, strerror(errno));
      close(fd);
      return -1;
    }
    if (r == 0) break;
    len += (size_t)r;
    if (len == size - 1) {
      printf("init: %s is longer than %zu bytes\n", TASK_FILE, size - 1);
      close(fd);
      return -1;
    }
  }
  close(fd);
  buf[len] = '\0';
  int argc = 0;
  for (char *line = buf; *line;) {
    char *end = strchr(line, '\n');
    if (end) *end = '\0';
    if (*line) {
      if (argc == MAX_ARGS) {
        printf("init: %s has more than %d arguments\n", TASK_FILE, MAX_ARGS);
        return -1;
      }
      argv[argc++] = line;
    }
    if (!end) break;
    line = end + 1;
  }
  argv[argc] = NULL;
  if (argc == 0) printf("init: %s names no program\n", TASK_FILE);
  return argc == 0 ? -1 : argc;
}

int main(int argc, char **argv, char **envp) {
  (void)argc;
  (void)argv;
  if (getpid() != 1) {
    fprintf(stderr, "init: not PID 1: this is the /init of a kernel-matrix guest (scripts/kernel-matrix/init.c)\n");
    return 2;
  }
  ensure_console();
  setvbuf(stdout, NULL, _IONBF, 0);
  printf("RSEQ-MATRIX-START\n");
  double t0 = now();

  try_mount("proc", "/proc", "proc", NULL);
  try_mount("sysfs", "/sys", "sysfs", NULL);
  try_mount("devtmpfs", "/dev", "devtmpfs", NULL);
  try_mount("tmpfs", "/tmp", "tmpfs", "mode=1777");

  static char task[MAX_TASK_BYTES];
  char *args[MAX_ARGS + 1];
  int n = read_task(task, sizeof task, args);
  if (n == 0) {
    printf("init: no %s: nothing to run\n", TASK_FILE);
    power_off(0);
  }
  if (n < 0) power_off(125);
  char **env = task_environment(envp);
  if (!env) power_off(125);

  pid_t child = fork();
  if (child < 0) {
    printf("init: fork: %s\n", strerror(errno));
    power_off(125);
  }
  if (child == 0) {
    execve(args[0], args, env);
    printf("init: exec %s: %s\n", args[0], strerror(errno));
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
  printf("init: %s exited with %d after %.1f s\n", args[0], status, now() - t0);
  power_off(status);
  return 0;
}
