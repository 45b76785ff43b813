/*
 * gpufleet-task-init: the first process of every executer's process group.
 *
 * usage: gpufleet-task-init <grace-ms> <program> [args...]
 *
 * The tracker starts it as the leader of a new session and process group. It runs <program> as
 * its child and ties the whole group's life to the tracker's: if the tracker dies for any reason
 * (even SIGKILL), the kernel sends this process SIGTERM (PR_SET_PDEATHSIG), and it kills the
 * group: SIGTERM, then SIGKILL after <grace-ms>. A SIGTERM/SIGINT/SIGHUP from the tracker is
 * handled the same way. When <program> ends, this process ends the same way (same exit code, or
 * the same signal). If <program> cannot be started it prints
 * "gpufleet-task-init: cannot run <program>: <reason>" on stderr and exits 127.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_signal = 0;

static void on_signal(int sig) { stop_signal = sig; }

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void exit_like(int status) {
  if (WIFEXITED(status)) exit(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    signal(sig, SIG_DFL);
    prctl(PR_SET_DUMPABLE, 0);
    kill(getpid(), sig);
  }
  exit(128);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: gpufleet-task-init <grace-ms> <program> [args...]\n");
    return 2;
  }
  long grace_ms = atol(argv[1]);
  pid_t tracker = getppid();
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != tracker) return 128 + SIGTERM; /* the tracker died before we got here */

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);

  pid_t child = fork();
  if (child < 0) {
    fprintf(stderr, "gpufleet-task-init: cannot run %s: fork: %s\n", argv[2], strerror(errno));
    return 127;
  }
  if (child == 0) {
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    execvp(argv[2], argv + 2);
    fprintf(stderr, "gpufleet-task-init: cannot run %s: %s\n", argv[2], strerror(errno));
    _exit(127);
  }

  pid_t group = getpgrp();
  long kill_at = 0;
  int status = 0;
  for (;;) {
    pid_t done = waitpid(child, &status, kill_at ? WNOHANG : 0);
    if (done == child) break;
    if (done < 0 && errno != EINTR) return 128;
    if (stop_signal && !kill_at) {
      kill(-group, SIGTERM); /* reaches us too: the handler only notes it */
      kill_at = now_ms() + grace_ms;
    }
    if (kill_at) {
      if (now_ms() >= kill_at) kill(-group, SIGKILL); /* the end of us as well */
      struct timespec tick = {0, 10 * 1000000L};
      nanosleep(&tick, NULL);
    }
  }
  exit_like(status);
  return 128;
}
