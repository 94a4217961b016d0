/*
 * media: the USB entry points of docs/integration.md.
 *   media DEVNODE   what the udev rule's unit runs: mount the filesystem privately (mount.c),
 *                   find and install the bundle (install_from_dir: find.c, install.c), write
 *                   the signed report back to the stick (report.c, after pm_make_writable),
 *                   unmount, sync. One attempt per call; the unit is started once per add event.
 *   scan            the same over removable media that are already mounted (sysfs.c +
 *                   /proc/self/mountinfo); the report is written as the medium is mounted.
 *   watch           a daemon for systems without the udev rule: libusb hotplug arrivals
 *                   (usb.c) or polling /sys/block once a second; edge-triggered: it acts once
 *                   per block device that appears (size 0 -> non-zero), after its partitions
 *                   settle, and never again while it stays.
 * Not here: verification and installation (install.c), bundle discovery (find.c).
 */
#include <errno.h>
#include <fnmatch.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "media.h"

#define ALSO_MAX 8	    /* --also patterns */
#define SETTLE_FIRST_S 1.5  /* a new disk is looked at no sooner than this after it appeared */
#define SETTLE_STABLE_S 1.0 /* ... and after its partition list stayed the same this long */
#define POLL_S 1.0	    /* /sys/block polling period without hotplug (docs/integration.md) */
/* With hotplug, /sys/block is still read once a second: a card put into a reader that stays
 * plugged in (or an --also slot) makes a disk non-empty without any USB event. */
#define HOTPLUG_SAFETY_S 1.0
#define LOCK_WAIT_S 120.0 /* an attempt waits this long for another one's state lock */
#define LOCK_POLL_S 2.0
#define ARMED_S 30.0 /* after a USB arrival: look for its disk this long, 4 times/s */

struct opts {
	const char
	    *also[ALSO_MAX]; /* kernel names (globs) to treat as media besides USB/removable */
	size_t nalso;
	bool once;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void emit(json_t *o)
{
	if (!o)
		return;
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s) {
		puts(s);
		fflush(stdout);
		free(s);
	}
}

/* A failure before any bundle is looked at: the result line, the exit status. */
static int fail(struct ctx *c, int code, const upt_err *e, const char *message)
{
	/* a medium that is gone or holds nothing is "nothing to do", not an error */
	return outcome_report(c, code == UPT_E_NOT_FOUND ? UPT_E_NO_BUNDLE : code, e, message);
}

static int usage_error(struct ctx *c, const char *what)
{
	upt_err e;
	upt_err_set(&e, UPT_E_USAGE, "%s", what);
	fprintf(stderr, "uptane-install: %s\n", what);
	if (c->json)
		ev_result(&c->ev, "failed", "config", NULL, "Wrong arguments.", e.msg);
	return 2;
}

static int parse_opts(struct ctx *c, int argc, char **argv, bool allow_once, struct opts *o,
		      int *rest)
{
	memset(o, 0, sizeof(*o));
	int i = 0;
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--also") && i + 1 < argc) {
			if (o->nalso >= ALSO_MAX)
				return usage_error(c, "too many --also patterns");
			o->also[o->nalso++] = argv[++i];
		} else if (allow_once && !strcmp(argv[i], "--once")) {
			o->once = true;
		} else if (argv[i][0] == '-') {
			char msg[256];
			snprintf(msg, sizeof(msg), "unknown option %.200s", argv[i]);
			return usage_error(c, msg);
		} else {
			break;
		}
	}
	*rest = i;
	return 0;
}

static bool also_match(const struct opts *o, const struct blockdev *b)
{
	for (size_t i = 0; i < o->nalso; i++)
		if (!fnmatch(o->also[i], b->name, 0) || !fnmatch(o->also[i], b->disk, 0))
			return true;
	return false;
}

/* The medium as the report and the technician see it. */
static void say_medium(struct ctx *c, const char *devnode, const char *point, const char *fstype,
		       const struct privmount *pm, const struct medium *m)
{
	if (c->json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "event", "medium", "device", devnode,
				      "mount", point, "filesystem", fstype);
		if (o && pm) {
			json_object_set_new(o, "private", json_true());
			json_object_set_new(o, "nosymfollow", json_boolean(pm->nosymfollow));
		}
		if (o) {
			json_object_set_new(o, "vendor", m ? json_string(m->vendor) : json_null());
			json_object_set_new(o, "product",
					    m ? json_string(m->product) : json_null());
			json_object_set_new(o, "serial", m ? json_string(m->serial) : json_null());
		}
		emit(o);
	} else if (m) {
		ev_say(&c->ev, "Reading %s (%s, USB %s:%s%s%s)", devnode, fstype, m->vendor,
		       m->product, m->serial[0] ? " serial " : "", m->serial);
	} else {
		ev_say(&c->ev, "Reading %s (%s)", devnode, fstype);
	}
	if (pm && !pm->nosymfollow)
		ev_warning(
		    &c->ev, "no-nosymfollow",
		    "This kernel does not support the nosymfollow mount option (Linux 5.10+); "
		    "links on the stick are still never followed by the installer.");
}

/* The medium's identity: libusb when it can read it (watch), else the USB ancestor in sysfs. */
static const struct medium *identity(const struct blockdev *b, struct usbwatch *w,
				     struct medium *buf)
{
	if (w && b->usb && b->busnum && b->devnum && usb_identity(w, b->busnum, b->devnum, buf) &&
	    (buf->serial[0] || !b->has_id))
		return buf;
	if (b->has_id) {
		*buf = b->id;
		return buf;
	}
	return NULL;
}

static void sleep_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	nanosleep(&ts, NULL); /* a signal cuts it short: that is how we stop */
}

/* Combines attempt outcomes: a failure or rejection wins, then an install, then nothing to do. */
static int combine(int acc, int status)
{
	if (acc < 0)
		return status;
	if (acc != 0 && acc != 3)
		return acc;
	if (status != 0 && status != 3)
		return status;
	return acc == 0 || status == 0 ? 0 : 3;
}

/* One attempt on a mounted medium; the state directory is locked for its duration. */
static int attempt(struct ctx *c, const char *dir, const struct medium *m, struct privmount *pm)
{
	upt_err e;
	upt_err_clear(&e);
	/* Another attempt holds the lock (a second partition of the same stick, `install` by
	 * hand): wait for it rather than give up, since giving up means a restart or a
	 * technician re-inserting the stick. */
	double deadline = now_s() + LOCK_WAIT_S;
	bool said = false;
	int rc;
	while ((rc = state_open(c, &e)) == UPT_E_BUSY && now_s() < deadline && !stop_requested) {
		state_close(c);
		if (!said)
			ev_warning(&c->ev, "busy",
				   "Another installation is running; waiting for it (up to %d s).",
				   (int)LOCK_WAIT_S);
		said = true;
		sleep_s(LOCK_POLL_S);
		upt_err_clear(&e);
	}
	if (rc) {
		int status = fail(c, rc, &e, NULL);
		state_close(c);
		return status;
	}
	c->medium_writable = pm ? pm_make_writable : NULL;
	c->medium_arg = pm;
	int status = install_from_dir(c, dir, m);
	c->medium_writable = NULL;
	c->medium_arg = NULL;
	state_close(c);
	return status;
}

static void unmount_say(struct privmount *pm)
{
	upt_err e;
	upt_err_clear(&e);
	if (pm_unmount(pm, &e) != UPT_OK) {
		/* After the result line: stderr only, JSON stays one result last. */
		fprintf(stderr, "uptane-install: %s\n", e.msg);
	}
}

/* ---- media DEVNODE ---- */

int cmd_media(struct ctx *c, int argc, char **argv)
{
	if (argc != 1 || argv[0][0] != '/')
		return usage_error(c, "media needs one absolute device node (e.g. /dev/sdb1)");
	const char *devnode = argv[0];
	upt_err e;
	upt_err_clear(&e);
	struct stat st;
	if (stat(devnode, &st) != 0) {
		int err = errno;
		if (err == ENOENT || err == ENXIO || err == ENODEV) {
			/* The device is gone, so the add event that started us is moot: nothing to
			 * do. (The unit's restart after a stick was pulled ends here as a success
			 * instead of using up its start limit; inserting it again starts anew.) */
			(void)upt_err_set(&e, UPT_E_NO_BUNDLE, "%s: %s", devnode, strerror(err));
			return fail(c, UPT_E_NO_BUNDLE, &e,
				    "The stick is no longer there (it was removed); nothing to do. "
				    "Insert it again to try again.");
		}
		(void)upt_err_set(&e, UPT_E_IO, "%s: %s", devnode, strerror(err));
		return fail(c, UPT_E_IO, &e, NULL);
	}
	if (!S_ISBLK(st.st_mode))
		return usage_error(c, "media: not a block device");

	struct blockdev b;
	memset(&b, 0, sizeof(b));
	struct medium idbuf;
	const struct medium *m = NULL;
	if (sysfs_block(SYSFS_ROOT, major(st.st_rdev), minor(st.st_rdev), &b, &e) == UPT_OK)
		m = identity(&b, NULL, &idbuf);
	upt_err_clear(&e);

	int rc = pm_private_namespace(&e);
	if (rc)
		return fail(c, rc, &e, NULL);
	struct privmount pm;
	memset(&pm, 0, sizeof(pm));
	rc = pm_mount(devnode, &pm, &e);
	if (rc == UPT_E_NOT_FOUND)
		return fail(
		    c, rc, &e,
		    "The stick has no FAT32, exFAT or ext4 filesystem this device can read, so "
		    "there is no update on it; nothing to do.");
	if (rc == UPT_E_USAGE)
		return usage_error(c, e.msg);
	if (rc)
		return fail(c, rc, &e, NULL);

	say_medium(c, devnode, pm.dir, pm.fstype, &pm, m);
	int status = attempt(c, pm.dir, m, &pm);
	unmount_say(&pm);
	ev_say(&c->ev, "The stick can be removed now.");
	return status;
}

/* ---- scan ---- */

int cmd_scan(struct ctx *c, int argc, char **argv)
{
	struct opts o;
	int rest, r = parse_opts(c, argc, argv, false, &o, &rest);
	if (r)
		return r;
	if (rest != argc)
		return usage_error(c, "scan takes no arguments besides --also NAME");
	upt_err e;
	upt_err_clear(&e);
	struct mountent *mounts = calloc(MOUNTS_MAX, sizeof(*mounts));
	char(*paths)[UPT_PATH_MAX] = calloc(UPT_BUNDLES_PER_MEDIUM_MAX, sizeof(*paths));
	size_t n = 0;
	int rc = mounts && paths ? mountinfo_read(MOUNTINFO, mounts, MOUNTS_MAX, &n, &e)
				 : upt_err_set(&e, UPT_E_NOMEM, "out of memory");
	if (rc) {
		free(mounts);
		free(paths);
		return fail(c, rc, &e, NULL);
	}
	int status = -1;
	size_t checked = 0;
	for (size_t i = 0; i < n; i++) {
		struct mountent *me = &mounts[i];
		bool dup = false;
		for (size_t j = 0; j < i && !dup; j++)
			dup = mounts[j].maj == me->maj && mounts[j].min == me->min &&
			      !strcmp(mounts[j].root, "/");
		if (dup || strcmp(me->root, "/") != 0)
			continue;
		struct blockdev b;
		upt_err be;
		if (sysfs_block(SYSFS_ROOT, me->maj, me->min, &b, &be) != UPT_OK)
			continue;
		if (!b.usb && !b.removable && !also_match(&o, &b))
			continue;
		checked++;
		size_t nb = 0;
		upt_err fe;
		if (find_bundles(me->point, paths, UPT_BUNDLES_PER_MEDIUM_MAX, &nb, &fe) !=
			UPT_OK ||
		    nb == 0)
			continue;
		struct medium idbuf;
		const struct medium *m = identity(&b, NULL, &idbuf);
		char devnode[BLK_NAME_MAX + 8];
		snprintf(devnode, sizeof(devnode), "/dev/%s", b.name);
		say_medium(c, devnode, me->point, me->fstype, NULL, m);
		status = combine(status, attempt(c, me->point, m, NULL));
	}
	free(mounts);
	free(paths);
	if (status < 0) {
		char msg[256];
		snprintf(
		    msg, sizeof(msg),
		    "No update (*.uptane) was found on the mounted removable media (%zu checked); "
		    "nothing to do.",
		    checked);
		ev_result(&c->ev, "no-bundle", NULL, NULL, msg, NULL);
		status = 3;
	}
	return status;
}

/* ---- watch ---- */

struct seen {
	char name[BLK_NAME_MAX];
	bool handled;	 /* acted on, pre-existing, or not a medium: nothing more to do */
	bool alive;	 /* present in the latest listing */
	double first;	 /* when it appeared */
	double stable;	 /* since when its partition list is unchanged */
	char parts[512]; /* its partition names, for "settled" */
};

struct watch {
	struct ctx *c;
	const struct opts *o;
	struct usbwatch *usb;
	struct seen *seen;
	size_t nseen;
	char (*names)[BLK_NAME_MAX];
	char (*parts)[BLK_NAME_MAX];
	char (*paths)[UPT_PATH_MAX];
	int last_status;
	bool acted;
};

static void parts_signature(struct watch *w, const char *disk, char *out, size_t n)
{
	size_t np = 0;
	upt_err e;
	out[0] = '\0';
	if (sysfs_partitions(SYSFS_ROOT, disk, w->parts, BLK_PARTS_MAX, &np, &e) != UPT_OK)
		return;
	for (size_t i = 0; i < np; i++) {
		size_t l = strlen(out);
		snprintf(out + l, n - l, "%s%s", l ? "," : "", w->parts[i]);
	}
}

static void devnode_of(const char *name, char *out, size_t n)
{
	/* Kernel names use '!' for '/' ("cciss!c0d0" is /dev/cciss/c0d0). */
	snprintf(out, n, "/dev/%s", name);
	for (char *s = out; *s; s++)
		if (*s == '!')
			*s = '/';
}

/* Acts once on a settled new disk: mounts its filesystems (the partitions, or the whole disk),
 * attempts those that hold bundles (or the first, which then reports "no-bundle"). */
static int act(struct watch *w, const char *disk)
{
	struct ctx *c = w->c;
	size_t np = 0;
	upt_err e;
	upt_err_clear(&e);
	if (sysfs_partitions(SYSFS_ROOT, disk, w->parts, BLK_PARTS_MAX, &np, &e) != UPT_OK)
		np = 0;
	if (np == 0) {
		snprintf(w->parts[0], BLK_NAME_MAX, "%s", disk);
		np = 1;
	}
	struct privmount *pms = calloc(np, sizeof(*pms));
	bool *has = calloc(np, sizeof(*has));
	if (!pms || !has) {
		free(pms);
		free(has);
		(void)upt_err_set(&e, UPT_E_NOMEM, "out of memory");
		return fail(c, UPT_E_NOMEM, &e, NULL);
	}
	size_t mounted = 0, with_bundles = 0;
	char why[512] = "";
	for (size_t i = 0; i < np; i++) {
		char devnode[BLK_NAME_MAX + 8];
		devnode_of(w->parts[i], devnode, sizeof(devnode));
		upt_err me;
		upt_err_clear(&me);
		if (pm_mount(devnode, &pms[i], &me) != UPT_OK) {
			if (!why[0])
				snprintf(why, sizeof(why), "%s", me.msg);
			continue;
		}
		mounted++;
		size_t nb = 0;
		upt_err fe;
		has[i] = find_bundles(pms[i].dir, w->paths, UPT_BUNDLES_PER_MEDIUM_MAX, &nb, &fe) ==
			     UPT_OK &&
			 nb > 0;
		with_bundles += has[i];
	}
	int status = -1;
	for (size_t i = 0; i < np; i++) {
		if (!pms[i].mounted || (with_bundles > 0 && !has[i]))
			continue;
		/* The clock is read per attempt: a daemon's start time is no time to verify with.
		 */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		c->clock = ts.tv_sec;
		struct blockdev b;
		memset(&b, 0, sizeof(b));
		struct medium idbuf;
		const struct medium *m = NULL;
		upt_err be;
		if (sysfs_block_by_name(SYSFS_ROOT, w->parts[i], &b, &be) == UPT_OK)
			m = identity(&b, w->usb, &idbuf);
		say_medium(c, pms[i].devnode, pms[i].dir, pms[i].fstype, &pms[i], m);
		status = combine(status, attempt(c, pms[i].dir, m, &pms[i]));
		if (with_bundles == 0)
			break; /* one "no-bundle" attempt per stick, not one per partition */
	}
	for (size_t i = 0; i < np; i++)
		unmount_say(&pms[i]);
	if (mounted == 0) {
		(void)upt_err_set(&e, UPT_E_NOT_FOUND, "%s", why);
		status =
		    fail(c, UPT_E_NOT_FOUND, &e,
			 "The stick has no FAT32, exFAT or ext4 filesystem this device can read, "
			 "so there is no update on it; nothing to do.");
	} else {
		ev_say(&c->ev, "The stick can be removed now.");
	}
	free(pms);
	free(has);
	return status;
}

static struct seen *find_seen(struct watch *w, const char *name)
{
	for (size_t i = 0; i < w->nseen; i++)
		if (!strcmp(w->seen[i].name, name))
			return &w->seen[i];
	return NULL;
}

/* One look at /sys/block. initial: everything present is pre-existing (never acted on).
 * Returns true while a new disk waits to settle (poll faster). */
static bool rescan(struct watch *w, bool initial)
{
	size_t n = 0;
	upt_err e;
	if (sysfs_disks(SYSFS_ROOT, w->names, BLK_DISKS_MAX, &n, &e) != UPT_OK)
		n = 0;
	double t = now_s();
	for (size_t i = 0; i < w->nseen; i++)
		w->seen[i].alive = false;
	bool waiting = false;
	for (size_t i = 0; i < n && !stop_requested; i++) {
		const char *name = w->names[i];
		/* A disk with no medium (an empty card reader, a detached loop device) has size 0:
		 * it is absent until a medium makes it non-zero. */
		if (sysfs_disk_size(SYSFS_ROOT, name) == 0)
			continue;
		struct seen *s = find_seen(w, name);
		if (!s) {
			if (w->nseen >= BLK_DISKS_MAX)
				continue;
			s = &w->seen[w->nseen++];
			memset(s, 0, sizeof(*s));
			snprintf(s->name, sizeof(s->name), "%s", name);
			s->first = s->stable = t;
			struct blockdev b;
			upt_err be;
			bool medium = sysfs_block_by_name(SYSFS_ROOT, name, &b, &be) == UPT_OK &&
				      (b.usb || b.removable || also_match(w->o, &b));
			s->handled = initial || !medium;
			if (!s->handled)
				parts_signature(w, name, s->parts, sizeof(s->parts));
		}
		s->alive = true;
		if (s->handled)
			continue;
		char sig[sizeof(s->parts)];
		parts_signature(w, name, sig, sizeof(sig));
		if (strcmp(sig, s->parts) != 0) {
			snprintf(s->parts, sizeof(s->parts), "%s", sig);
			s->stable = t;
		}
		if (t - s->first < SETTLE_FIRST_S || t - s->stable < SETTLE_STABLE_S) {
			waiting = true;
			continue;
		}
		s->handled = true; /* once per appearance, whatever the outcome */
		w->last_status = act(w, name);
		w->acted = true;
		if (w->o->once)
			return false;
	}
	/* Gone (removed, or size back to 0): forget it, so the next insertion is new. */
	size_t k = 0;
	for (size_t i = 0; i < w->nseen; i++)
		if (w->seen[i].alive)
			w->seen[k++] = w->seen[i];
	w->nseen = k;
	return waiting;
}

int cmd_watch(struct ctx *c, int argc, char **argv)
{
	struct opts o;
	int rest, r = parse_opts(c, argc, argv, true, &o, &rest);
	if (r)
		return r;
	if (rest != argc)
		return usage_error(c, "watch takes no arguments besides --once and --also NAME");
	upt_err e;
	upt_err_clear(&e);
	int rc = pm_private_namespace(&e);
	if (rc)
		return fail(c, rc, &e, NULL);
	struct watch w;
	memset(&w, 0, sizeof(w));
	w.c = c;
	w.o = &o;
	w.last_status = 3;
	w.seen = calloc(BLK_DISKS_MAX, sizeof(*w.seen));
	w.names = calloc(BLK_DISKS_MAX, sizeof(*w.names));
	w.parts = calloc(BLK_PARTS_MAX, sizeof(*w.parts));
	w.paths = calloc(UPT_BUNDLES_PER_MEDIUM_MAX, sizeof(*w.paths));
	if (!w.seen || !w.names || !w.parts || !w.paths) {
		(void)upt_err_set(&e, UPT_E_NOMEM, "out of memory");
		rc = UPT_E_NOMEM;
		goto out;
	}
	bool hotplug = false;
	upt_err ue;
	upt_err_clear(&ue);
	if (usb_watch_open(&w.usb, &hotplug, &ue) != UPT_OK)
		w.usb = NULL;
	rescan(&w, true);
	if (hotplug)
		ev_say(&c->ev, "Waiting for USB sticks (libusb hotplug).");
	else
		ev_say(&c->ev, "Waiting for USB sticks (polling /sys/block every second%s%s).",
		       w.usb ? "" : "; libusb: ", w.usb ? "" : ue.msg);
	if (c->json)
		emit(json_pack("{s:s, s:s}", "event", "watching", "method",
			       hotplug ? "libusb-hotplug" : "sysfs-poll"));

	double armed_until = 0, last_scan = now_s();
	bool waiting = false;
	while (!stop_requested && !(o.once && w.acted)) {
		if (hotplug) {
			unsigned arrived = 0, left = 0;
			usb_watch_wait(w.usb, waiting || now_s() < armed_until ? 250 : 1000,
				       &arrived, &left);
			double t = now_s();
			if (arrived)
				armed_until = t + ARMED_S;
			if (!(arrived || left || waiting || t < armed_until ||
			      t - last_scan >= HOTPLUG_SAFETY_S))
				continue;
		} else {
			sleep_s(waiting ? 0.25 : POLL_S);
		}
		if (stop_requested)
			break;
		last_scan = now_s();
		waiting = rescan(&w, false);
	}
	rc = UPT_OK;
out:
	usb_watch_close(w.usb);
	free(w.seen);
	free(w.names);
	free(w.parts);
	free(w.paths);
	if (rc)
		return fail(c, rc, &e, NULL);
	return o.once ? (w.acted ? w.last_status : 0) : 0;
}
