/*
 * gpufleet-task-init: the tracker's long-lived spawner. One per tracker; it starts every executer
 * process and ties their process groups' lives to the tracker's.
 *
 * usage: gpufleet-task-init --serve <grace-ms>
 *
 * The tracker starts it with pipes on stdin and stdout. Why a separate process: Node's spawn forks
 * the whole tracker (its cost grows with the tracker's memory) and waits for the child's exec on
 * the event loop; this small process vforks and the tracker only writes a request.
 *
 * Requests (tracker -> stdin): a 4-byte little-endian length, then that many bytes of
 * NUL-terminated strings:
 *   "spawn" id cwd stdout-path stderr-path argc arg0 .. arg(argc-1) env0 .. envN   (env: "K=V")
 * The child gets its own process group (its pid is the group id) in this process's session, which
 * has no controlling terminal (the tracker starts this process in a new session), stdin from
 * /dev/null, stdout and stderr into the two files (created or truncated), the given cwd and only
 * the given environment; arg0 is looked up on that environment's PATH (by this process, before it
 * forks; where it was found is remembered for 10 s, see resolve_program). Nothing passes a shell.
 * This process runs with a short scheduler time slice, its children with the default one (see
 * use_short_slice).
 *
 * Replies (stdout -> tracker), one line each:
 *   "s <id> <pid> <start-time> <at>"  started (start time: field 22 of /proc/<pid>/stat, or "-")
 *   "f <id> <errno> <reason>"         could not start (no child is left behind; errno 0: not a system error)
 *   "x <id> <code> <signal> <at>"     the child ended: its exit code (-1 if killed) and signal (0 if
 *                                     none); whatever was left of its process group has been sent SIGKILL
 * <at>: CLOCK_MONOTONIC in microseconds when the exec went through, or when the end was reaped (the
 * tracker's process.hrtime reads the same clock), so the tracker knows when things happened here,
 * not when it read about them.
 *
 * When the tracker dies, however it dies (the kernel's PR_SET_PDEATHSIG sends this process SIGTERM,
 * and its stdin reaches end of file), every live group gets SIGTERM, then SIGKILL after
 * <grace-ms>, and this process exits. SIGINT and SIGHUP are ignored: a terminal's Ctrl-C is the
 * tracker's to handle (it lets tasks finish within its shutdown grace).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct child {
  pid_t pid;
  char id[32];
};

static struct child *children = NULL;
static size_t child_count = 0, child_cap = 0;

/*
 * A short time slice for this process (sched_setattr's sched_runtime for a fair policy, Linux
 * 6.12 and later; older kernels ignore it, and no privilege is needed). With the scheduler's
 * default slice (1.4 ms on the bench VM), a spawner woken while both vCPUs ran something (the
 * program it had just exec'd, the tracker storing the last task's outputs) waited for that slice
 * to end: its exec of the next task was stamped, and replied, 0.9 ms after the child called
 * execve instead of 0.3. Executers get the default back before their exec.
 */
struct sched_attrs {
  uint32_t size, policy;
  uint64_t flags;
  int32_t nice;
  uint32_t priority;
  uint64_t runtime, deadline, period;
};
#define SHORT_SLICE_NS 100000
static int short_slice = 0; /* whether this process got one (its children then give it back) */

/*
 * Sets the calling process's slice (0: the system's default), keeping its policy and nice value
 * as they are now (an operator may renice the spawner after it started). Only system calls, for
 * the child of vfork(). Fair policies only (SCHED_OTHER, SCHED_BATCH, SCHED_IDLE).
 */
static int set_slice(uint64_t runtime_ns) {
  struct sched_attrs attrs = {0};
  if (syscall(SYS_sched_getattr, 0, &attrs, sizeof attrs, 0) != 0) return -1;
  if (attrs.policy != SCHED_OTHER && attrs.policy != SCHED_BATCH && attrs.policy != SCHED_IDLE) return -1;
  attrs.size = sizeof attrs;
  attrs.flags = 0;
  attrs.runtime = runtime_ns;
  return (int)syscall(SYS_sched_setattr, 0, &attrs, 0);
}

static void use_short_slice(void) { short_slice = set_slice(SHORT_SLICE_NS) == 0; }

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static long long now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* Writes a whole reply line; a tracker that is gone (EPIPE) is noticed on stdin instead. */
static void reply(const char *line) {
  size_t len = strlen(line), done = 0;
  while (done < len) {
    ssize_t n = write(STDOUT_FILENO, line + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += (size_t)n;
  }
}

static void add_child(pid_t pid, const char *id) {
  if (child_count == child_cap) {
    child_cap = child_cap ? child_cap * 2 : 16;
    children = realloc(children, child_cap * sizeof *children);
    if (!children) _exit(70);
  }
  children[child_count].pid = pid;
  snprintf(children[child_count].id, sizeof children[child_count].id, "%s", id);
  child_count++;
}

/* Removes the child `pid`; copies its id into `id` (empty when unknown). */
static void remove_child(pid_t pid, char *id, size_t size) {
  id[0] = '\0';
  for (size_t i = 0; i < child_count; i++) {
    if (children[i].pid != pid) continue;
    snprintf(id, size, "%s", children[i].id);
    children[i] = children[--child_count];
    return;
  }
}

static void signal_all(int sig) {
  for (size_t i = 0; i < child_count; i++) kill(-children[i].pid, sig);
}

/* Reaps every ended child, kills what is left of its group and reports it (when `report`). */
static void reap(int report) {
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    long long at = now_us();
    char id[32];
    remove_child(pid, id, sizeof id);
    kill(-pid, SIGKILL); /* no process outlives its task */
    if (!report || id[0] == '\0') continue;
    char line[128];
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    snprintf(line, sizeof line, "x %s %d %d %lld\n", id, code, sig, at);
    reply(line);
  }
}

/* The tracker is gone: SIGTERM to every group, SIGKILL after the grace, then exit. */
static void shut_down(int sigfd, long grace_ms) {
  signal_all(SIGTERM);
  long kill_at = now_ms() + grace_ms;
  while (child_count > 0) {
    long left = kill_at - now_ms();
    if (left <= 0) {
      signal_all(SIGKILL);
      kill_at = now_ms() + 60000;
      left = 100;
    }
    struct pollfd pfd = {sigfd, POLLIN, 0};
    if (poll(&pfd, 1, (int)(left < 100 ? left : 100)) > 0) {
      struct signalfd_siginfo info;
      while (read(sigfd, &info, sizeof info) == sizeof info) {
      }
    }
    reap(0);
  }
  exit(0);
}

/* The start time (field 22) from the text of a /proc/<pid>/stat, or "-". */
static void start_time_from(const char *stat, char *out, size_t size) {
  snprintf(out, size, "-");
  const char *p = strrchr(stat, ')'); /* the command name may hold spaces and parentheses */
  if (!p || p[1] == '\0') return;
  p += 2; /* field 3 starts here; the start time is field 22 */
  for (int field = 3; field < 22 && p; field++) {
    p = strchr(p, ' ');
    if (p) p++;
  }
  if (!p) return;
  size_t len = strcspn(p, " ");
  if (len == 0 || len >= size) return;
  memcpy(out, p, len);
  out[len] = '\0';
}

/*
 * What the child of vfork() writes before it gives up: it shares this process's memory until it
 * execs or exits, so the parent reads the errno and the stage once vfork() returns.
 */
struct child_failure {
  int err;
  int stage; /* -1: none */
  /*
   * The child's own /proc/self/stat, read before it execs (the start time does not change at an
   * exec). Read by the parent right after vfork() returned, with the exec still under way, the
   * same file took 1.6 ms p50 on the bench VM; read here, 0.03 ms.
   */
  char stat[1024];
};

static void child_fail(volatile struct child_failure *failure, int stage) {
  failure->err = errno;
  failure->stage = stage;
  _exit(127);
}

static const char *STAGES[] = {"process group", "/dev/null", "stdout file", "stderr file", "cwd", "exec"};

/* The value of `name` in a "K=V" list, or NULL. */
static const char *env_value(char **envp, const char *name) {
  size_t len = strlen(name);
  for (char **e = envp; *e; e++)
    if (strncmp(*e, name, len) == 0 && (*e)[len] == '=') return *e + len + 1;
  return NULL;
}

/*
 * Looks `file` up on `path` as execvp would (the first executable candidate wins; EACCES when one
 * exists but cannot be run, else ENOENT). Returns 0 or an errno.
 */
static int search_path(const char *file, const char *path, char *out, size_t size) {
  int found = ENOENT;
  for (const char *dir = path;; dir++) {
    const char *end = strchrnul(dir, ':');
    int n = snprintf(out, size, "%.*s%s%s", (int)(end - dir), dir, end == dir ? "" : "/", file);
    if (n > 0 && (size_t)n < size) {
      if (access(out, X_OK) == 0) return 0;
      if (errno == EACCES) found = EACCES;
    }
    if (*end == '\0') break;
    dir = end;
  }
  return found;
}

/*
 * Where a program was found, by PATH and name, for LOOKUP_TTL_MS, as a shell remembers commands:
 * a lookup on a long PATH is one access() per directory, each a path walk on the way to the
 * spawn (npm's PATH has 13 entries before /usr/bin). A remembered path is checked with one
 * access() before use; when it fails, the program is looked up again.
 */
#define LOOKUPS 16
#define LOOKUP_TTL_MS 10000
static struct lookup {
  char *path_env, *file, *found;
  long at;
} lookups[LOOKUPS];
static size_t lookup_next = 0;

/*
 * Finds `file` on the task's PATH (a name with a slash is used as it is). Done here, before
 * vfork(), because the child may only make system calls. Returns 0 or an errno.
 */
static int resolve_program(const char *file, char **envp, char *out, size_t size) {
  if (strchr(file, '/')) {
    if (strlen(file) >= size) return ENAMETOOLONG;
    strcpy(out, file);
    return 0;
  }
  if (*file == '\0') return ENOENT;
  const char *path = env_value(envp, "PATH");
  if (!path) path = "/bin:/usr/bin";
  long now = now_ms();
  for (size_t i = 0; i < LOOKUPS; i++) {
    struct lookup *l = &lookups[i];
    if (!l->found || now - l->at > LOOKUP_TTL_MS || strcmp(l->file, file) != 0 || strcmp(l->path_env, path) != 0)
      continue;
    if (strlen(l->found) < size && access(l->found, X_OK) == 0) {
      strcpy(out, l->found);
      return 0;
    }
    free(l->found);
    l->found = NULL;
    break;
  }
  int found = search_path(file, path, out, size);
  if (found == 0) {
    struct lookup *l = &lookups[lookup_next++ % LOOKUPS];
    free(l->path_env), free(l->file), free(l->found);
    l->path_env = strdup(path), l->file = strdup(file), l->found = strdup(out), l->at = now;
    if (!l->path_env || !l->file || !l->found) _exit(70);
  }
  return found;
}

static void spawn(char **fields, size_t count) {
  /* fields: "spawn" id cwd stdout stderr argc args... env... */
  if (count < 7) return reply("f ? 0 malformed request\n");
  const char *id = fields[1];
  long argc = strtol(fields[5], NULL, 10);
  if (argc < 1 || (size_t)(6 + argc) > count || strlen(id) >= 32) {
    char line[96];
    snprintf(line, sizeof line, "f %.31s 0 malformed request\n", id);
    return reply(line);
  }
  char **argv = calloc((size_t)argc + 1, sizeof *argv);
  char **envp = calloc(count - 6 - (size_t)argc + 1, sizeof *envp);
  if (!argv || !envp) _exit(70);
  for (long i = 0; i < argc; i++) argv[i] = fields[6 + i];
  for (size_t i = 6 + (size_t)argc, j = 0; i < count; i++, j++) envp[j] = fields[i];

  char line[512];
  char program[4096];
  int lookup = resolve_program(argv[0], envp, program, sizeof program);
  if (lookup != 0) {
    snprintf(line, sizeof line, "f %s %d %.200s: %s\n", id, lookup, argv[0], strerror(lookup));
    free(argv), free(envp);
    return reply(line);
  }
  /*
   * vfork: the parent waits while the child runs on its memory until exec, so no copy of the
   * page tables is made (a fork and exec cost three times as much on small VMs) and the exec's
   * outcome is known when vfork() returns. The child only makes system calls.
   */
  volatile struct child_failure failure = {0, -1, {0}};
  pid_t pid = vfork();
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int stat_fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (stat_fd >= 0) {
      ssize_t n = read(stat_fd, (char *)failure.stat, sizeof failure.stat - 1);
      failure.stat[n > 0 ? n : 0] = '\0';
      close(stat_fd);
    }
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    /*
     * Its own process group (its pid is the group id), in the spawner's session, which has no
     * controlling terminal, so no terminal signal reaches it. Not setsid(): on the 2-vCPU VM of
     * docs/benchmarks.md, with a session of its own the exec or the spawner's wake-up moved to
     * the other vCPU in about half the spawns (sched_getcpu), and waking an idle vCPU there
     * costs about 1.5 ms: a spawn took 2.1 ms p50 instead of 0.6.
     */
    if (setpgid(0, 0) < 0) child_fail(&failure, 0);
    int in = open("/dev/null", O_RDONLY);
    if (in < 0 || dup2(in, 0) < 0) child_fail(&failure, 1);
    int out = open(fields[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || dup2(out, 1) < 0) child_fail(&failure, 2);
    int err = open(fields[4], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (err < 0 || dup2(err, 2) < 0) child_fail(&failure, 3);
    if (in > 2) close(in);
    if (out > 2) close(out);
    if (err > 2) close(err);
    if (chdir(fields[2]) < 0) child_fail(&failure, 4);
    if (short_slice) set_slice(0);
    execve(program, argv, envp);
    child_fail(&failure, 5);
  }
  long long at = now_us(); /* the child has exec'd (or failed) */
  if (pid < 0) {
    snprintf(line, sizeof line, "f %s %d fork: %s\n", id, errno, strerror(errno));
  } else if (failure.stage >= 0) {
    int stage = failure.stage <= 5 ? failure.stage : 5;
    waitpid(pid, NULL, 0);
    if (stage == 5)
      snprintf(line, sizeof line, "f %s %d %.200s: %s\n", id, failure.err, argv[0], strerror(failure.err));
    else
      snprintf(line, sizeof line, "f %s %d cannot prepare the process (%s): %s\n", id, failure.err,
               STAGES[stage], strerror(failure.err));
  } else {
    char start[32];
    start_time_from((const char *)failure.stat, start, sizeof start);
    add_child(pid, id);
    snprintf(line, sizeof line, "s %s %d %s %lld\n", id, (int)pid, start, at);
  }
  for (char *c = line + 2; *c; c++)
    if (*c == '\n' && c[1] != '\0') *c = ' ';
  free(argv), free(envp);
  reply(line);
}

/* Splits one request payload into its NUL-terminated strings and runs it. */
static void handle(char *payload, uint32_t len) {
  size_t count = 0, cap = 64;
  char **fields = malloc(cap * sizeof *fields);
  if (!fields) _exit(70);
  for (uint32_t at = 0; at < len;) {
    char *end = memchr(payload + at, '\0', len - at);
    if (!end) break;
    if (count == cap) {
      cap *= 2;
      fields = realloc(fields, cap * sizeof *fields);
      if (!fields) _exit(70);
    }
    fields[count++] = payload + at;
    at = (uint32_t)(end - payload) + 1;
  }
  if (count > 0 && strcmp(fields[0], "spawn") == 0) spawn(fields, count);
  free(fields);
}

int main(int argc, char **argv) {
  if (argc != 3 || strcmp(argv[1], "--serve") != 0) {
    fprintf(stderr, "usage: gpufleet-task-init --serve <grace-ms>\n");
    return 2;
  }
  long grace_ms = atol(argv[2]);
  pid_t tracker = getppid();
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != tracker) return 0; /* the tracker died before we got here */
  signal(SIGPIPE, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  signal(SIGHUP, SIG_IGN);

  use_short_slice();
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGTERM);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sigfd < 0) {
    perror("gpufleet-task-init: signalfd");
    return 70;
  }

  size_t cap = 1 << 16, used = 0;
  char *buf = malloc(cap);
  if (!buf) return 70;
  for (;;) {
    struct pollfd pfds[2] = {{STDIN_FILENO, POLLIN, 0}, {sigfd, POLLIN, 0}};
    if (poll(pfds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      shut_down(sigfd, grace_ms);
    }
    if (pfds[1].revents & POLLIN) {
      struct signalfd_siginfo info;
      int stop = 0;
      while (read(sigfd, &info, sizeof info) == sizeof info)
        if (info.ssi_signo == SIGTERM) stop = 1;
      if (stop) shut_down(sigfd, grace_ms);
      reap(1);
    }
    if (pfds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (cap - used < 4096) {
        cap *= 2;
        buf = realloc(buf, cap);
        if (!buf) return 70;
      }
      ssize_t n = read(STDIN_FILENO, buf + used, cap - used);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) shut_down(sigfd, grace_ms); /* end of file: the tracker is gone */
      used += (size_t)n;
      size_t at = 0;
      while (used - at >= 4) {
        uint32_t len = (uint32_t)(unsigned char)buf[at] | (uint32_t)(unsigned char)buf[at + 1] << 8 |
                       (uint32_t)(unsigned char)buf[at + 2] << 16 | (uint32_t)(unsigned char)buf[at + 3] << 24;
        if (used - at - 4 < len) break;
        handle(buf + at + 4, len);
        at += 4 + len;
      }
      memmove(buf, buf + at, used - at);
      used -= at;
    }
  }
}
