/*
 * spawn: runs a configured program (activate, confirm, exec handler) as fixed arguments: no
 * shell, no PATH search, so nothing from a bundle can become part of a command line. Its
 * stdout goes to our stderr so that --json output stays one JSON object per line.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "installer.h"

extern char **environ;

int spawn_run(const upt_argv *argv, upt_err *e)
{
	if (argv->argc == 0)
		return upt_err_set(e, UPT_E_INTERNAL, "empty command");
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return upt_err_set(e, UPT_E_INSTALL, "cannot start %s: %s", argv->argv[0],
				   strerror(errno));
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (devnull >= 0)
			dup2(devnull, STDIN_FILENO);
		dup2(STDERR_FILENO, STDOUT_FILENO);
		signal(SIGPIPE, SIG_DFL);
		execve(argv->argv[0], argv->argv, environ);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return upt_err_set(e, UPT_E_INSTALL, "waiting for %s: %s", argv->argv[0],
					   strerror(errno));
	}
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
