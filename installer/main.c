/*
 * uptane-install: the device-side CLI (uptane-install(8)). Global options come before the
 * command. This file owns the one table from outcome to exit status; everything else returns
 * codes.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "installer.h"
#include "media.h"
#include "upt/version.h"

#define DEFAULT_CONFIG "/etc/uptane-offline/device.json"

static const struct {
	int status;
	const char *meaning;
} exit_table[] = {
    {0, "installed (or, with --dry-run, verified)"},
    {1, "internal error"},
    {2, "usage or configuration error"},
    {3, "nothing to do (no bundle, or nothing new for this device)"},
    {4, "bundle rejected (malformed or failed a security check)"},
    {5, "install failed, previous software still active"},
    {6, "install failed, device needs attention"},
    {7, "media or I/O problem, or busy: try again"},
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: uptane-install [--config FILE] [--json] [--dry-run] install BUNDLE|DIR\n"
	    "       uptane-install [--config FILE] [--json] status\n"
	    "       uptane-install [--config FILE] [--json] confirm [--failed]\n"
	    "       uptane-install [--config FILE] [--json] scan [--also NAME]\n"
	    "       uptane-install [--config FILE] [--json] media DEVNODE\n"
	    "       uptane-install [--config FILE] watch [--once] [--also NAME]\n"
	    "\n"
	    "  install BUNDLE   verify the bundle in full (Uptane), install it, keep a signed "
	    "report\n"
	    "  install DIR      DIR is a mounted stick: find the bundle there, write the report "
	    "there\n"
	    "  status           what each ECU runs, pending A/B updates, trusted roots, time "
	    "floor\n"
	    "  confirm          after booting into a new A/B slot: make the pending image "
	    "installed\n"
	    "                   (and write a report of it)\n"
	    "  confirm --failed the new slot did not boot: drop the pending record (and report "
	    "it)\n"
	    "  media DEVNODE    mount the stick's filesystem privately (read-only, nosuid, nodev,\n"
	    "                   noexec, nosymfollow), install from it, write the report back to "
	    "it\n"
	    "  scan             the same over removable media that are already mounted\n"
	    "  watch            wait for USB sticks (libusb hotplug, else polling /sys/block) and "
	    "act\n"
	    "                   once on each new one; --once: exit after the first\n"
	    "  --also NAME      (scan, watch) also treat block devices matching the kernel name "
	    "glob\n"
	    "                   NAME as media (an SD card slot: --also 'mmcblk1*')\n"
	    "\n"
	    "  --config FILE    device configuration (default " DEFAULT_CONFIG ")\n"
	    "  --json           one JSON object per line on stdout\n"
	    "  --dry-run        verify everything, install nothing, change nothing\n"
	    "  --version        version, build type, linkage, library versions\n"
	    "\nexit status:\n");
	for (size_t i = 0; i < sizeof(exit_table) / sizeof(exit_table[0]); i++)
		fprintf(f, "  %d  %s\n", exit_table[i].status, exit_table[i].meaning);
}

/* A failure before any bundle is looked at: the result line and the exit status. */
/* A failure before any bundle is looked at: the configuration or the state directory. */
static int early_failure(struct ctx *c, int code, const upt_err *e)
{
	return outcome_report(c, code, e,
			      code == UPT_E_IO ? "The device's state directory could not be "
						 "accessed; try again, or the device needs service."
					       : NULL);
}

volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

void stop_on_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	/* SA_RESTART: a stop request must not turn a read, write or waitpid into EINTR; the
	 * waits that should end early (nanosleep, poll) end anyway, and the work checks the
	 * flag where stopping is safe. */
	sa.sa_handler = on_stop_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

int main(int argc, char **argv)
{
	struct ctx c;
	memset(&c, 0, sizeof(c));
	c.statefd = c.lockfd = -1;
	c.config_path = DEFAULT_CONFIG;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--version")) {
			char v[512];
			char usb[128];
			usb_version(usb, sizeof(usb));
			upt_version_text("uptane-install",
					 UPT_INSTALLER_STATIC ? "static" : "shared", NULL, usb, v,
					 sizeof(v));
			fputs(v, stdout);
			return 0;
		} else if (!strcmp(a, "--json")) {
			c.json = true;
		} else if (!strcmp(a, "--dry-run")) {
			c.dry_run = true;
		} else if (!strcmp(a, "--config") && i + 1 < argc) {
			c.config_path = argv[++i];
		} else if (!strncmp(a, "--config=", 9) && a[9]) {
			c.config_path = a + 9;
		} else {
			fprintf(stderr, "uptane-install: unknown option %s\n\n", a);
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[i++];
	int nargs = argc - i;
	char **args = argv + i;
	bool failed = false;
	/* `install --help` and the like: the usage, not a bundle named "--help". */
	for (int k = 0; k < nargs; k++)
		if (!strcmp(args[k], "--help") || !strcmp(args[k], "-h")) {
			usage(stdout);
			return 0;
		}
	if (!strcmp(cmd, "install") && nargs == 1) {
	} else if (!strcmp(cmd, "status") && nargs == 0) {
	} else if (!strcmp(cmd, "confirm") && nargs <= 1) {
		if (nargs == 1 && strcmp(args[0], "--failed") != 0) {
			usage(stderr);
			return 2;
		}
		failed = nargs == 1;
	} else if (!strcmp(cmd, "media") || !strcmp(cmd, "scan") || !strcmp(cmd, "watch")) {
	} else {
		fprintf(stderr, "uptane-install: %s: unknown command or wrong arguments\n\n", cmd);
		usage(stderr);
		return 2;
	}
	if (c.dry_run && strcmp(cmd, "install") != 0) {
		fprintf(stderr, "uptane-install: --dry-run applies to install only\n");
		return 2;
	}

	/* Writing the report to a stick that vanished must not kill us with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	stop_on_signals();
	ev_init(&c.ev, c.json);
	c.ev.dry_run = c.dry_run;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts); /* the clock, read once (docs/threat-model.md) */
	c.clock = ts.tv_sec;

	upt_err e;
	upt_err_clear(&e);
	int rc = config_load(c.config_path, &c.cfg, &e);
	if (rc)
		return early_failure(&c, rc, &e);
	int status;
	if (!strcmp(cmd, "media") || !strcmp(cmd, "scan") || !strcmp(cmd, "watch")) {
		status = !strcmp(cmd, "media")	? cmd_media(&c, nargs, args)
			 : !strcmp(cmd, "scan") ? cmd_scan(&c, nargs, args)
						: cmd_watch(&c, nargs, args);
		upt_devconfig_free(c.cfg);
		return status;
	}
	rc = state_open(&c, &e);
	if (rc) {
		status = early_failure(&c, rc, &e);
		state_close(&c);
		upt_devconfig_free(c.cfg);
		return status;
	}
	if (!strcmp(cmd, "install")) {
		struct stat st;
		if (stat(args[0], &st) == 0 && S_ISDIR(st.st_mode))
			status = install_from_dir(&c, args[0], NULL);
		else
			status = install_bundle(&c, args[0], NULL, NULL);
	} else if (!strcmp(cmd, "status")) {
		status = cmd_status(&c);
	} else {
		status = cmd_confirm(&c, failed);
	}
	state_close(&c);
	upt_devconfig_free(c.cfg);
	return status;
}
