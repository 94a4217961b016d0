/*
 * spawn: runs a configured program (activate, confirm, exec handler) as fixed arguments: no
 * shell, no PATH search, so nothing from a bundle can become part of a command line. Its
 * stdout goes to our stderr so that --json output stays one JSON object per line.
 *
 * Every run is bounded in time: a device in a locked cabinet must not hang for a year, holding
 * the state lock, because a bootloader tool or a flasher hung. The program runs in its own
 * process group; when it overruns, the group gets SIGTERM, then SIGKILL after a grace period,
 * and the run fails like a program that failed. The program also dies with the installer
 * (PR_SET_PDEATHSIG): nothing it started runs on unsupervised, without the lock, after the
 * installer was killed, just as a power cut would have stopped both.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "installer.h"

extern char **environ;

/* Sleeps ms milliseconds, signals or not (a SIGTERM handler of `watch` must not shorten a
 * program's time). */
static void nap(unsigned ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Waits up to ms milliseconds for pid to exit, without reaping it: while it is unreaped its
 * pid, and so its process group id, cannot be reused, which keeps kill(-pid) aimed at the
 * program's group. Time is counted in the naps actually slept, not read from a clock (the
 * tests freeze the clocks with libfaketime; a clock set back must not stretch the timeout).
 * Returns 1 when it exited, 0 when it still runs, -1 (errno) on error. */
static int wait_exit(pid_t pid, uint64_t ms)
{
	uint64_t waited = 0;
	unsigned step = 1;
	for (;;) {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (si.si_pid == pid)
			return 1;
		if (waited >= ms)
			return 0;
		/* 1, 2, 4 .. 128 ms: a quick program costs a millisecond, a slow one a wake-up
		 * every 128 ms. */
		unsigned d = step;
		if (d > ms - waited)
			d = (unsigned)(ms - waited);
		nap(d);
		waited += d;
		if (step < 128)
			step *= 2;
	}
}

int spawn_run(const upt_argv *argv, unsigned timeout_s, upt_err *e)
{
	if (argv->argc == 0)
		return upt_err_set(e, UPT_E_INTERNAL, "empty command");
	if (timeout_s == 0)
		return upt_err_set(e, UPT_E_INTERNAL, "%s: no timeout", argv->argv[0]);
	fflush(stdout);
	fflush(stderr);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		return upt_err_set(e, UPT_E_INSTALL, "cannot start %s: %s", argv->argv[0],
				   strerror(errno));
	if (pid == 0) {
		/* Async-signal-safe calls only until execve. */
		setpgid(0, 0);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
			_exit(127); /* the installer is already gone */
		int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (devnull >= 0)
			dup2(devnull, STDIN_FILENO);
		dup2(STDERR_FILENO, STDOUT_FILENO);
		signal(SIGPIPE, SIG_DFL);
		execve(argv->argv[0], argv->argv, environ);
		_exit(127);
	}
	/* Also here, so that kill(-pid) finds the group even before the child has run (EACCES:
	 * it has already called execve, so it did this itself). */
	(void)setpgid(pid, pid);
	bool overran = false, killed = false;
	int ex = wait_exit(pid, (uint64_t)timeout_s * 1000);
	if (ex == 0) {
		overran = true;
		kill(-pid, SIGTERM);
		killed = wait_exit(pid, (uint64_t)SPAWN_GRACE_S * 1000) == 0;
	}
	/* Whatever is left in the group (all of it when the program ignored SIGTERM, what it
	 * started when it did not) goes now, while the unreaped leader still reserves the
	 * group id. */
	if (overran)
		kill(-pid, SIGKILL);
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return upt_err_set(e, UPT_E_INSTALL, "waiting for %s: %s", argv->argv[0],
					   strerror(errno));
	}
	if (overran && killed)
		return upt_err_set(e, UPT_E_INSTALL,
				   "%s did not finish within %u s (install.timeout_seconds); it "
				   "ignored SIGTERM and was killed (SIGKILL) %d s later",
				   argv->argv[0], timeout_s, SPAWN_GRACE_S);
	if (overran)
		return upt_err_set(
		    e, UPT_E_INSTALL,
		    "%s did not finish within %u s (install.timeout_seconds) and was "
		    "stopped (SIGTERM)",
		    argv->argv[0], timeout_s);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return UPT_OK;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return upt_err_set(e, UPT_E_INSTALL, "%s could not be run (exit status 127)",
				   argv->argv[0]);
	if (WIFEXITED(status))
		return upt_err_set(e, UPT_E_INSTALL, "%s failed with exit status %d", argv->argv[0],
				   WEXITSTATUS(status));
	return upt_err_set(e, UPT_E_INSTALL, "%s was killed by signal %d", argv->argv[0],
			   WIFSIGNALED(status) ? WTERMSIG(status) : -1);
}

int spawn_check(const char *path, bool must_exist, int code, upt_err *e)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		if (errno == ENOENT && !must_exist)
			return UPT_OK;
		return upt_err_set(e, code, "program %s: %s", path, strerror(errno));
	}
	if (!S_ISREG(st.st_mode))
		return upt_err_set(e, code, "program %s is not a regular file", path);
	/* Anyone could change what runs as root. */
	if (st.st_mode & S_IWOTH)
		return upt_err_set(e, code,
				   "program %s is writable by every user; make it writable only by "
				   "its owner (chmod o-w)",
				   path);
	if (!(st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)))
		return upt_err_set(e, code, "program %s is not executable", path);
	return UPT_OK;
}
