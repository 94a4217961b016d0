/*
 * uptane-install internals: what the installer's files share. One file per job:
 *   main.c      CLI, exit-code table, --help
 *   config.c    device.json from disk (paths relative to the file), checked on the device
 *   events.c    --json lines, human messages, progress bar
 *   state_dir.c state directory: lock, trusted/ (initialised from provisioned roots), installed
 *               records, reports counter, publishing a new trusted/ atomically
 *   journal.c   commit journal: activate ECU by ECU, recovery (roll forward) on every start
 *   handler_*.c install handlers (file, ab, exec), one table
 *   spawn.c     running configured programs: argv, no shell, no PATH search
 *   install.c   the install flow: load, verify, plan, stream, commit
 *   outcome.c   one table: each result code's status, reason and message for people
 *   image_keys.c the decrypt_key and the unwrapped image keys of an encrypted bundle
 *   find.c      bundle discovery on a mounted medium, choice among several bundles
 *   report_write.c the signed device manifest after every attempt, on the device and the medium
 *   status.c    status and confirm
 *   media.c     media, scan, watch: private mounts of a stick, one attempt each
 */
#ifndef UPT_INSTALLER_H
#define UPT_INSTALLER_H

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "upt/devconfig.h"
#include "upt/devstate.h"
#include "upt/err.h"
#include "upt/hash.h"
#include "upt/limits.h"
#include "upt/trust.h"

#ifndef UPT_BUILD_TIME
#define UPT_BUILD_TIME 0
#endif

#define UPT_PATH_MAX 4096
#define INSTALLED_FILE "installed.json"
#define REPORTS_KEEP 200 /* reports kept in state_dir/reports/ (the counter never repeats) */

/* ---- events.c: everything the user sees ---- */

struct events {
	bool json;
	bool dry_run; /* --dry-run: images are checked, not written (the human lines say so) */
	bool tty;     /* stdout is a terminal: draw a progress bar */
	bool bar_drawn;
	double start; /* progress: start of the current image */
	double last;  /* last progress line/bar */
	const char *ecu;
};

void ev_init(struct events *ev, bool json);
/* Human-only line (to stdout); untrusted text is escaped. */
void ev_say(struct events *ev, const char *fmt, ...) UPT_PRINTF(2, 3);
void ev_found(struct events *ev, const char *file);
void ev_verified(struct events *ev, const char *file, const char *kind, const char *id,
		 size_t nimages, uint64_t bytes);
void ev_skipped(struct events *ev, const char *file, const char *status, const char *reason,
		const char *message);
void ev_progress(struct events *ev, const char *ecu, uint64_t done, uint64_t total);
void ev_installed(struct events *ev, const char *ecu, const char *target, bool pending);
void ev_warning(struct events *ev, const char *code, const char *fmt, ...) UPT_PRINTF(3, 4);
void ev_report(struct events *ev, const char *where, uint64_t counter);
/* The last line: status, reason (NULL unless rejected/failed), file (NULL), message for people,
 * detail (technical, may be NULL). */
void ev_result(struct events *ev, const char *status, const char *reason, const char *file,
	       const char *message, const char *detail);
/* s itself when it is valid UTF-8 (jansson accepts it), else its ev_sanitize copy in buf: a
 * name from a stick that is not UTF-8 (FAT sticks with names from another code page) must not
 * make a journal, a record or a report unwritable. */
const char *ev_json_safe(const char *s, char *buf, size_t n);
/* Copies s into out, replacing control and non-ASCII bytes by '?' (terminal safety). */
void ev_sanitize(const char *s, char *out, size_t n);

/* ---- stopping: SIGTERM, SIGINT, SIGHUP ----
 * The handler only sets the flag; the work notices it where stopping is safe: between image
 * chunks (staging is discarded, nothing activated), before the commit point, and during the
 * commit after the current activation step (the journal keeps the rest, and the next start
 * of uptane-install rolls it forward). */
extern volatile sig_atomic_t stop_requested;
void stop_on_signals(void);

/* ---- the run context ---- */

struct ctx {
	const char *config_path;
	upt_devconfig *cfg;
	bool json;
	bool dry_run;
	struct events ev;
	int statefd; /* state_dir, O_DIRECTORY */
	int lockfd;
	int64_t clock; /* read once per run */
	/* media.c: called just before the report is written to a medium (the private read-only
	 * mount is remounted read-write for it); returns 0 or an errno value (EROFS/EACCES: the
	 * medium is read-only). NULL: the medium is written as it is mounted. */
	int (*medium_writable)(void *arg);
	void *medium_arg;
	/* install_from_dir with several bundles: copies of one genuine bundle with a flipped image
	 * byte would each stream the whole image into staging before its hash fails (a slot
	 * written 64 times per insertion). The image bytes streamed per insertion stay at most
	 * twice the largest attempt's: a genuine copy beside a corrupt one still installs. */
	bool limit_streaming, limit_hit; /* limit_hit: the last attempt was not tried for it */
	uint64_t streamed, largest_attempt;
};

/* config.c */
int config_load(const char *path, upt_devconfig **out, upt_err *e) UPT_MUST_CHECK;

/* ---- image_keys.c: encrypted images (docs/bundle-format.md) ---- */
struct image_keys;
struct upt_verify_result;
struct upt_assignment;
struct upt_image_decrypt;
/* Loads cfg's decrypt_key (none configured: an empty set); a bad key file: UPT_E_CONFIG. */
int image_keys_load(const upt_devconfig *cfg, struct image_keys **out, upt_err *e) UPT_MUST_CHECK;
/* The key id verification matches recipients against (NULL without a decrypt_key). */
const char *image_keys_keyid(const struct image_keys *k);
/* Unwraps the image key of every sealed assignment still to install; one that does not open:
 * UPT_E_POLICY. Before any image byte is read. */
int image_keys_unwrap(struct image_keys *k, const struct upt_verify_result *vr,
		      upt_err *e) UPT_MUST_CHECK;
/* What the reader needs to open a's member (NULL when a is not sealed). */
const struct upt_image_decrypt *image_keys_for(const struct image_keys *k,
					       const struct upt_assignment *a);
void image_keys_free(struct image_keys *k);

/* spawn.c: runs argv (argv[0] a path), stdin /dev/null, stdout to our stderr, in its own
 * process group, and waits at most timeout_s seconds (> 0): then SIGTERM to the group,
 * SPAWN_GRACE_S later SIGKILL. UPT_OK when it exits 0 in time; UPT_E_INSTALL otherwise, with
 * what happened (exit status, signal, timeout) in e. */
#define SPAWN_GRACE_S 5
int spawn_run(const upt_argv *argv, unsigned timeout_s, upt_err *e) UPT_MUST_CHECK;
/* A configured program is a regular, executable file that not every user can write
 * (it runs as root). must_exist false: a missing program passes. Errors carry code. */
int spawn_check(const char *path, bool must_exist, int code, upt_err *e) UPT_MUST_CHECK;

/* ---- state_dir.c ---- */

/* Creates/opens state_dir and takes the lock (UPT_E_BUSY when held). journal_open_state()
 * calls it, then completes an interrupted commit, then state_tidy(). */
int state_lock(struct ctx *c, upt_err *e) UPT_MUST_CHECK;
/* After recovery: finishes a half-done swap, removes what an attempt that never committed
 * left, initialises trusted/ from the provisioned roots on first use. */
int state_tidy(struct ctx *c, upt_err *e) UPT_MUST_CHECK;
void state_close(struct ctx *c);
/* trusted/ as the verification engine wants it, plus the installed records. */
int state_load(struct ctx *c, upt_trust *t, upt_installed *inst, upt_err *e) UPT_MUST_CHECK;
/* Replaces trusted/ by t in one atomic switch (trusted.new/ -> trusted.ready -> trusted/),
 * with inst (the installed records as state_load read them): rejections (roots) and
 * up-to-date (newer metadata). */
int state_save_trust(struct ctx *c, const upt_trust *t, const upt_installed *inst,
		     upt_err *e) UPT_MUST_CHECK;
/* Atomically replaces trusted/installed.json (confirm). */
int state_save_installed(struct ctx *c, const upt_installed *inst, upt_err *e) UPT_MUST_CHECK;
/* Writes trusted.new/ (the whole new trusted state except installed.json), synced. */
int state_prepare_new(struct ctx *c, const upt_trust *t, upt_err *e) UPT_MUST_CHECK;
/* Completes trusted.new/ with installed.json and makes it trusted/ (crash-safe swap). */
int state_publish_new(struct ctx *c, const upt_installed *inst, upt_err *e) UPT_MUST_CHECK;
bool state_has_new(struct ctx *c);
/* Finishes or discards a half-done swap; removes trusted.old/ (no journal needed). */
int state_finish_swap(struct ctx *c, upt_err *e) UPT_MUST_CHECK;
/* Next report counter (persisted before use, so a crash never reuses one). */
int state_next_counter(struct ctx *c, uint64_t *out, upt_err *e) UPT_MUST_CHECK;
uint64_t state_last_counter(struct ctx *c);
int state_keep_report(struct ctx *c, uint64_t counter, const void *data, size_t len,
		      upt_err *e) UPT_MUST_CHECK;
/* The report delivery queue (docs/reports.md): every report up to state_delivered() has been
 * on a stick; the ones after it go out with the next stick that takes a report. */
uint64_t state_delivered(struct ctx *c);
int state_set_delivered(struct ctx *c, uint64_t n, upt_err *e) UPT_MUST_CHECK;
/* A kept report's bytes (UPT_E_NOT_FOUND: removed as too old, or never written). */
int state_read_report(struct ctx *c, uint64_t counter, upt_buf *out, upt_err *e) UPT_MUST_CHECK;
/* Recursively removes a directory relative to dirfd, never following links. */
int rm_tree(int dirfd, const char *name, upt_err *e) UPT_MUST_CHECK;
/* fsync name and every directory below it (relative to dirfd). The files in our trees are all
 * written by upt_file_write_atomic, which syncs each file and its directory; what is left is
 * the directories mkdir created, whose entries live in their parents. */
int fsync_tree(int dirfd, const char *name, upt_err *e) UPT_MUST_CHECK;
/* The time floor before any bundle: max(stored, config time_floor, build time). */
int64_t state_initial_floor(const struct ctx *c, int64_t stored);

/* ---- handlers ---- */

/* One ECU's staging during the streaming pass. */
struct stage {
	const upt_dev_ecu *ecu;
	int fd;
	char path[UPT_PATH_MAX]; /* staging file or slot device */
	int slot;		 /* ab: the inactive slot written */
	uint64_t length;	 /* signed length */
	uint64_t written;
	bool created; /* a staging file exists that abort must remove */
	mode_t mode;
	dev_t dev; /* file: the staging file's inode, checked again at activation */
	ino_t ino;
};

struct handler {
	upt_handler_type type;
	/* Opens the ECU's staging area for `length` bytes. installed: the ECU's record (ab: the
	 * active slot). */
	int (*open)(struct ctx *c, struct stage *s, const upt_installed_ecu *installed, upt_err *e);
	/* Syncs and closes: after this the staged bytes survive a power cut. */
	int (*finish)(struct ctx *c, struct stage *s, upt_err *e);
	/* Closes and removes what open created (no staging file left behind). */
	void (*abort)(struct ctx *c, struct stage *s);
	/* Makes a staged image active (commit time and recovery). */
	int (*activate)(struct ctx *c, const upt_dev_ecu *u, upt_journal_ecu *j, struct events *ev,
			upt_err *e);
	/* Removes staging leftovers of this ECU (start-up without journal, after commit). */
	void (*cleanup)(struct ctx *c, const upt_dev_ecu *u);
};

const struct handler *handler_for(upt_handler_type t);
/* How long one run of an ECU's program may take: install.timeout_seconds, or the handler's
 * default (HANDLER_AB_TIMEOUT_S for activate and confirm, HANDLER_EXEC_TIMEOUT_S for exec). */
#define HANDLER_AB_TIMEOUT_S 300
#define HANDLER_EXEC_TIMEOUT_S 1800
unsigned handler_timeout(const upt_dev_ecu *u);
/* Runs one of the ECU's configured programs (tmpl, its placeholders substituted) within the
 * ECU's timeout; a failure names the ECU. */
int handler_run(const upt_dev_ecu *u, const upt_argv *tmpl, const upt_subst *subst, size_t n,
		upt_err *e) UPT_MUST_CHECK;
/* Shared handler steps: fsync + close the staged data (finish), and close + remove a staging
 * file this run created (abort). */
int stage_sync_close(struct ctx *c, struct stage *s, upt_err *e) UPT_MUST_CHECK;
/* The directory part of PATH into OUT ("." for a bare name, "/" for a root entry). */
void path_parent(const char *path, char *out, size_t n);
/* Creates a staging file that did not exist (a leftover is removed first; O_EXCL, no link
 * followed). Returns the fd, or -1 with e set (UPT_E_INSTALL). */
int stage_create(const char *path, mode_t mode, upt_err *e) UPT_MUST_CHECK;
void stage_discard(struct ctx *c, struct stage *s);
/* Runs an ab ECU's activate or confirm template for a slot ({slot}, {device}). */
int ab_run(const upt_dev_ecu *u, const upt_argv *tmpl, int slot, upt_err *e) UPT_MUST_CHECK;
/* The staging file path of a file or exec ECU. */
int staged_path(const struct ctx *c, const upt_dev_ecu *u, char *out, size_t n,
		upt_err *e) UPT_MUST_CHECK;
extern const struct handler handler_file, handler_ab, handler_exec;

/* ---- journal.c ---- */

int journal_write(struct ctx *c, const upt_journal *j, upt_err *e) UPT_MUST_CHECK;
/* Activates every ECU of j still staged, in order, writing the journal after each step.
 * Stops at the first failure when stop_on_failure (a live install); recovery continues with
 * the others (they are verified; rolling forward is the contract). Returns UPT_OK when all
 * are done. */
int journal_activate(struct ctx *c, upt_journal *j, bool live, upt_err *e) UPT_MUST_CHECK;
/* Publishes trusted.new with the records of j's activated ECUs applied to the current
 * installed records, then removes the journal and the staging leftovers. */
int journal_finish(struct ctx *c, const upt_journal *j, upt_err *e) UPT_MUST_CHECK;
/* Recovery on start: UPT_OK when there was nothing to do or recovery succeeded. */
int journal_recover(struct ctx *c, upt_err *e) UPT_MUST_CHECK;
/* The state directory, ready for an attempt: locked (UPT_E_BUSY when another holds it), an
 * interrupted commit completed (roll forward), leftovers removed. The one place that orders
 * the two: state_dir.c never calls the journal. */
int journal_open_state(struct ctx *c, upt_err *e) UPT_MUST_CHECK;

/* ---- report_write.c ---- */

struct medium {
	char vendor[5];
	char product[5];
	char serial[128];
};

struct attempt {
	const char *bundle_path; /* NULL: no bundle */
	const char *kind;	 /* NULL unknown */
	char bundle_id[256];	 /* "" unknown */
	const char *status;
	const char *reason;
	char file[UPT_ERR_FILE_MAX]; /* failing member, "" none */
	char message[1024];	     /* for people */
	char detail[UPT_ERR_MSG_MAX + 64];
	int code; /* UPT_OK or the outcome's code */
	int exit_status;
	int64_t effective;
	const char *attacks; /* class for the ECU reports, "" none */
	struct report_skip_list *skipped;
	/* NULL, or one per configured ECU (device config order): the ECU state to report
	 * (docs/reports.md), NULL for the default: "pending" with a pending A/B image, else
	 * "installed". confirm sets "confirmed" and "fell-back". */
	const char *const *ecu_states;
};

struct report_skip_list {
	size_t n;
	struct {
		char file[256];
		const char *status;
		const char *reason;
		char message[UPT_ERR_MSG_MAX];
	} items[UPT_BUNDLES_PER_MEDIUM_MAX];
};

/* Builds, signs and keeps the report; also writes it to medium_dir/uptane-reports/<id>/ when
 * medium_dir is set (read-only medium: kept on the device, and said so). Never changes the
 * outcome: a report that cannot be written is a warning. */
void report_write(struct ctx *c, const struct attempt *a, const char *medium_dir,
		  const struct medium *m);

/* ---- outcome.c: what each result code tells the person at the device ---- */

struct outcome {
	int code;
	const char *status;  /* the result line's status */
	const char *reason;  /* its reason (the rejection class), NULL for none */
	const char *message; /* the sentence for people */
};
/* The row for code; out of memory, internal errors and codes without a row: "internal". */
const struct outcome *outcome_of(int code);
/* The result line for a failure outside an install attempt (configuration, state, medium):
 * message NULL for the table's; the technical detail also to stderr without --json. Returns the
 * exit status. */
int outcome_report(struct ctx *c, int code, const upt_err *e, const char *message);

/* ---- install.c ---- */

/* One attempt at one bundle file: verify, stream, commit; fills a (no report, no result line). */
void install_attempt(struct ctx *c, const char *path, struct attempt *a);
/* Writes the attempt's report (not for dry runs; also to medium_dir when set) and its result
 * line; returns the exit status. */
int install_finish(struct ctx *c, struct attempt *a, const char *medium_dir,
		   const struct medium *m);
/* Both, for one bundle file. */
int install_bundle(struct ctx *c, const char *path, const char *medium_dir, const struct medium *m);
/* Finds the bundle(s) on a mounted medium directory and installs the best one; writes the
 * report to the medium. The entry point for media/scan/watch. */
int install_from_dir(struct ctx *c, const char *dir, const struct medium *m);

/* Dry metadata-only verification of one bundle, for choosing among several (find.c). */
struct candidate {
	char path[UPT_PATH_MAX];
	int code;
	uint64_t version;
	char message[UPT_ERR_MSG_MAX];
	bool announced; /* a skipped event was already emitted */
};
int install_probe(struct ctx *c, struct candidate *cand);

/* ---- find.c ---- */

/* Bundles in dir: *.uptane / *.uptane.000 at the top level and in uptane/, hidden and "._*"
 * files ignored, links never followed. Sorted by name. */
int find_bundles(const char *dir, char (*out)[UPT_PATH_MAX], size_t max, size_t *n,
		 upt_err *e) UPT_MUST_CHECK;

/* ---- status.c ---- */
int cmd_status(struct ctx *c);
int cmd_confirm(struct ctx *c, bool failed);

/* ---- media.c ---- */
int cmd_media(struct ctx *c, int argc, char **argv);
int cmd_scan(struct ctx *c, int argc, char **argv);
int cmd_watch(struct ctx *c, int argc, char **argv);

#endif
