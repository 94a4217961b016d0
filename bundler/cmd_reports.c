/* uptane-bundle reports ingest|show: signed device reports carried back on USB sticks
 * (docs/reports.md) into the fleet ledger, and what runs where.
 *
 * ingest treats every byte on the stick as hostile until the report's signature verifies with
 * the key registered for the device it names: bounded reads (UPT_REPORT_MAX), no symlink
 * followed (O_NOFOLLOW on every file and directory below the path given), the strict JSON
 * parser, the signature over the OLPC canonical form of `signed` (docs/bundle-format.md), and
 * only then the field checks and the ledger. It is idempotent: one transaction per run, and a
 * (device, counter) already recorded is a duplicate (same signed content) or a replay (other).
 *
 * Exit status of ingest (the bundler's table, args.h): 0 every report accepted or duplicate; 4 at
 * least one rejected (the others are recorded all the same); 1 internal error or the ledger
 * locked, 2 usage or input error (nothing recorded in either case). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "affected.h"
#include "args.h"
#include "commands.h"
#include "html.h"
#include "ledger.h"
#include "rows_out.h"
#include "upt/cjson.h"
#include "upt/fileio.h"
#include "upt/hash.h"
#include "upt/hex.h"
#include "upt/report.h"
#include "upt/rfc3339.h"
#include "upt/sig.h"

static const char usage[] =
    "usage: uptane-bundle reports ingest DIR.. --ledger FILE\n"
    "       uptane-bundle reports show --ledger FILE [--json|--csv]\n"
    "              [--support-ends-within DURATION] [--not-updated-since TIME]\n"
    "              [--running TARGET] [--at TIME] [--html FILE]\n"
    "       uptane-bundle reports affected --ledger FILE (--component NAME | --purl PURL "
    "|\n"
    "              --osv ADVISORY.json) ...   (reports affected --help for more)\n"
    "\n"
    "ingest: DIR is a stick (holding uptane-reports/), an uptane-reports directory, or "
    "one\n"
    "  device's directory (uptane-reports/<device-id>/, or a device's state_dir/reports).\n"
    "  Each rejected report gets one line on stderr: rejected: FILE: CLASS: why, with\n"
    "  CLASS one of forged, unknown-device, replayed, device-mismatch, malformed,\n"
    "  too-large, unreadable. Then: N accepted, N duplicate, N rejected.\n"
    "  exit status: 0 none rejected, 4 some rejected (the rest recorded), 1 internal\n"
    "  error or the ledger locked, 2 usage or input error (nothing recorded)\n"
    "show: one row per device and ECU: the target it runs and its state (installed,\n"
    "  pending, confirmed, fell-back). TIME is a date YYYY-MM-DD (midnight UTC) or\n"
    "  YYYY-MM-DDTHH:MM:SSZ; DURATION is <n>h hours, <n>d days or <n>y calendar years\n"
    "  (90d, 1y; a bare number is days, as before).\n"
    "  --support-ends-within DURATION  support period ends between today and today +\n"
    "                              DURATION\n"
    "  --not-updated-since TIME    the installed target has run since before TIME (or no\n"
    "                              report shows an install)\n"
    "  --running TARGET            the ECU runs TARGET\n"
    "  --at TIME                   take TIME's day as today (default: the system clock)\n"
    "  --html FILE                 also write a self-contained HTML page: the rows and\n"
    "                              each device's support period (docs/sbom.md)\n";

/* A string for a terminal or a log line: printable ASCII as is, anything else as \xNN, so a
 * file name or message from the stick can never carry terminal escapes. */
static void put_safe(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p >= 0x20 && *p < 0x7f)
			fputc(*p, f);
		else
			fprintf(f, "\\x%02x", *p);
	}
}

/* ---- reading one report ---- */

/* Reports are read in batches: reading, parsing and signature checks run on every core (the
 * ed25519 checks are most of the work), the ledger is consulted and written by the main thread
 * alone, in file order, so the outcome never depends on thread timing. */
#define BATCH_JOBS 512
#define BATCH_DIRS 256
#define BATCH_BYTES (32u << 20) /* file bytes in memory at once (by size at listing time) */
#define THREADS_MAX 8

enum job_state {
	JOB_QUEUED,    /* a file name, nothing read yet */
	JOB_OPEN,      /* read and parsed; device and counter known */
	JOB_REJECTED,  /* klass and e.msg say why */
	JOB_DUPLICATE, /* the same signed content is already recorded: nothing to check or do */
	JOB_VERIFY,    /* device registered: check signatures and fields */
	JOB_READY,     /* verified: r is ready to record */
};

typedef struct job {
	int dfd;	    /* borrowed from the batch */
	char *name, *path;  /* owned */
	const char *expect; /* device id the directory names, or NULL; borrowed from the batch */
	enum job_state state;
	const char *klass;
	upt_err e;
	upt_buf file;
	upt_report_parsed *p;
	const char *device_id; /* borrowed from p */
	long long counter;
	ledger_device dev;
	ledger_report r;
	ledger_ecu_report *ecus;
	/* the report's times as the ledger stores them (the exact form the device wrote) */
	char clock[UPT_RFC3339_LEN + 1], effective[UPT_RFC3339_LEN + 1];
	char (*latest)[UPT_RFC3339_LEN + 1];
} job;

typedef struct batch_dir {
	int fd; /* a dup of the walker's, owned */
	char *expect;
} batch_dir;

typedef struct ingest {
	ledger *l;
	size_t accepted, duplicate, rejected;
	int threads;
	job *jobs;
	size_t njobs;
	batch_dir dirs[BATCH_DIRS];
	size_t ndirs;
	bool dir_open; /* the walker's current directory is dirs[ndirs - 1] */
	uint64_t bytes;
} ingest;

static void reject(ingest *g, const char *path, const char *klass, const char *why)
{
	g->rejected++;
	fputs("rejected: ", stderr);
	put_safe(stderr, path);
	fprintf(stderr, ": %s: ", klass);
	put_safe(stderr, why);
	fputc('\n', stderr);
}

/* A verified report as the ledger records it. */
static int to_ledger(job *j, upt_err *e)
{
	const upt_report *x = &j->p->r;
	ledger_report *r = &j->r;
	upt_rfc3339_format(x->effective, j->effective);
	r->time_effective = j->effective;
	if (j->p->has_clock) {
		upt_rfc3339_format(x->clock, j->clock);
		r->time_clock = j->clock;
	}
	r->counter = (int64_t)x->counter;
	r->bundle_file = x->bundle_file;
	r->bundle_kind = x->bundle_kind;
	r->bundle_id = x->bundle_id;
	r->status = x->status;
	r->reason = x->reason;
	r->message = x->message;
	j->ecus = calloc(x->necus ? x->necus : 1, sizeof(*j->ecus));
	j->latest = calloc(x->necus ? x->necus : 1, sizeof(*j->latest));
	if (!j->ecus || !j->latest)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	for (size_t i = 0; i < x->necus; i++) {
		const upt_report_ecu *u = &x->ecus[i];
		ledger_ecu_report *l = &j->ecus[i];
		l->serial = u->serial;
		l->has_image = u->filepath[0] != 0;
		l->filepath = u->filepath;
		l->length = u->length;
		l->has_sha256 = u->has_sha256;
		if (u->has_sha256)
			upt_hex_encode(u->sha256, sizeof(u->sha256), l->sha256); /* lowercase */
		l->attacks = u->attacks;
		upt_rfc3339_format(u->latest_time, j->latest[i]);
		l->latest_time = j->latest[i];
		l->report_counter = (int64_t)u->report_counter;
		l->state = u->state;
	}
	r->ecus = j->ecus;
	r->necus = x->necus;
	return UPT_OK;
}

static const char *class_of(int code)
{
	switch (code) {
	case UPT_E_ARBITRARY_SOFTWARE:
		return "forged";
	case UPT_E_TOO_LARGE:
		return "too-large";
	default:
		return "malformed";
	}
}

/* Phase 1 (any thread): read, and the two fields that say which report this is. */
static void job_read(job *j)
{
	upt_err *e = &j->e;
	upt_buf_init(&j->file, UPT_REPORT_MAX);
	int rc = upt_file_read(j->dfd, j->name, UPT_REPORT_MAX, &j->file, e);
	if (rc) {
		j->state = JOB_REJECTED;
		j->klass = rc == UPT_E_TOO_LARGE ? "too-large" : "unreadable";
		return;
	}
	rc = upt_report_open(j->file.data, j->file.len, &j->p, e);
	if (rc) {
		j->state = JOB_REJECTED;
		j->klass = class_of(rc);
		return;
	}
	j->device_id = j->p->r.device_id;
	j->counter = (long long)j->p->r.counter;
	memcpy(j->r.digest, j->p->digest, sizeof(j->r.digest));
	if (j->expect && strcmp(j->expect, j->device_id) != 0) {
		j->state = JOB_REJECTED;
		j->klass = "device-mismatch";
		upt_err_set(e, UPT_E_MALFORMED, "report of device %s in the directory of device %s",
			    j->device_id, j->expect);
		return;
	}
	j->state = JOB_OPEN;
}

/* Phase 2 (main thread): the device's registered key, and whether this exact report is
 * already recorded. Only ledger failures are returned. */
static int job_lookup(ingest *g, job *j, upt_err *fatal)
{
	bool found = false;
	char digest[2 * UPT_SHA256_LEN + 1];
	int rc = ledger_device_get(g->l, j->device_id, &j->dev, &found, fatal);
	if (rc)
		return rc;
	if (!found) {
		j->state = JOB_REJECTED;
		j->klass = "unknown-device";
		upt_err_set(&j->e, UPT_E_CONFIG, "device %s is not registered (devices add)",
			    j->device_id);
		return UPT_OK;
	}
	rc = ledger_report_digest(g->l, j->device_id, j->counter, digest, &found, fatal);
	if (rc)
		return rc;
	/* Byte for byte the signed content of a report verified before: nothing can change, so
	 * nothing needs checking (a second copy with a broken signature adds nothing either). */
	j->state = found && !strcmp(digest, j->r.digest) ? JOB_DUPLICATE : JOB_VERIFY;
	return UPT_OK;
}

/* Phase 3 (any thread): verify first, then believe: only device_id and counter were read
 * before the signature by the registered key checked out. */
static void job_verify(job *j)
{
	upt_err *e = &j->e;
	int rc = upt_report_verify(j->p, &j->dev.key, e);
	if (rc == UPT_OK)
		rc = to_ledger(j, e);
	if (rc) {
		j->state = JOB_REJECTED;
		j->klass = class_of(rc);
		return;
	}
	j->r.device_id = j->device_id;
	j->r.raw = j->file.data;
	j->r.raw_len = j->file.len;
	j->r.source = j->path;
	j->state = JOB_READY;
}

/* Phase 4 (main thread, file order): record, count, say why each rejection happened. */
static int job_finish(ingest *g, job *j, upt_err *fatal)
{
	enum ledger_record_result res;
	switch (j->state) {
	case JOB_REJECTED:
		reject(g, j->path, j->klass, j->e.msg);
		return UPT_OK;
	case JOB_DUPLICATE:
		g->duplicate++;
		return UPT_OK;
	case JOB_READY:
		break;
	default:
		return upt_err_set(fatal, UPT_E_INTERNAL, "%s: report left unchecked", j->path);
	}
	int rc = ledger_report_record(g->l, &j->r, &res, fatal);
	if (rc)
		return rc;
	if (res == LEDGER_RECORDED) {
		g->accepted++;
	} else if (res == LEDGER_DUPLICATE) {
		g->duplicate++;
	} else {
		char why[UPT_ERR_MSG_MAX];
		snprintf(why, sizeof(why),
			 "counter %lld of device %s is already recorded with other content",
			 (long long)j->counter, j->device_id);
		reject(g, j->path, "replayed", why);
	}
	return UPT_OK;
}

static void job_clear(job *j)
{
	upt_report_parsed_free(j->p);
	upt_buf_clear(&j->file);
	free(j->ecus);
	free(j->latest);
	free(j->name);
	free(j->path);
}

typedef struct pfor {
	ingest *g;
	void (*fn)(job *);
	enum job_state want; /* only jobs in this state */
	atomic_size_t next;
} pfor;

static void *pfor_run(void *arg)
{
	pfor *p = arg;
	for (;;) {
		size_t i = atomic_fetch_add(&p->next, 1);
		if (i >= p->g->njobs)
			return NULL;
		if (p->g->jobs[i].state == p->want)
			p->fn(&p->g->jobs[i]);
	}
}

/* Runs fn on every job in state want, on up to g->threads threads (this one included). The
 * jobs are disjoint: a job is touched by one thread only. */
static void parallel(ingest *g, void (*fn)(job *), enum job_state want)
{
	pfor p = {.g = g, .fn = fn, .want = want};
	atomic_init(&p.next, 0);
	pthread_t t[THREADS_MAX];
	int started = 0;
	int n = g->njobs < (size_t)g->threads ? (int)g->njobs : g->threads;
	while (started < n - 1 && pthread_create(&t[started], NULL, pfor_run, &p) == 0)
		started++;
	pfor_run(&p); /* a thread that could not start leaves its share to this one */
	for (int i = 0; i < started; i++)
		pthread_join(t[i], NULL);
}

/* Checks and records every job of the batch, then empties it. */
static int batch_run(ingest *g, upt_err *e)
{
	int rc = UPT_OK;
	parallel(g, job_read, JOB_QUEUED);
	for (size_t i = 0; rc == UPT_OK && i < g->njobs; i++)
		if (g->jobs[i].state == JOB_OPEN)
			rc = job_lookup(g, &g->jobs[i], e);
	if (rc == UPT_OK)
		parallel(g, job_verify, JOB_VERIFY);
	for (size_t i = 0; rc == UPT_OK && i < g->njobs; i++)
		rc = job_finish(g, &g->jobs[i], e);
	for (size_t i = 0; i < g->njobs; i++)
		job_clear(&g->jobs[i]);
	for (size_t i = 0; i < g->ndirs; i++) {
		close(g->dirs[i].fd);
		free(g->dirs[i].expect);
	}
	g->njobs = g->ndirs = 0;
	g->bytes = 0;
	g->dir_open = false;
	return rc;
}

/* Queues one report of the walker's current directory dfd (it stays the walker's: the batch
 * keeps its own descriptor). Runs the batch first when it is full. */
static int batch_add(ingest *g, int dfd, const char *expect, const char *name, const char *path,
		     uint64_t size, upt_err *e)
{
	int rc = UPT_OK;
	if (g->njobs == BATCH_JOBS || (g->njobs && size > BATCH_BYTES - g->bytes) ||
	    (!g->dir_open && g->ndirs == BATCH_DIRS))
		rc = batch_run(g, e);
	if (rc)
		return rc;
	if (!g->dir_open) {
		batch_dir *d = &g->dirs[g->ndirs];
		d->fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
		if (d->fd < 0)
			return upt_err_set(e, UPT_E_IO, "%s: %s", path, strerror(errno));
		d->expect = expect ? strdup(expect) : NULL;
		if (expect && !d->expect) {
			close(d->fd);
			return upt_err_set(e, UPT_E_NOMEM, "out of memory");
		}
		g->ndirs++;
		g->dir_open = true;
	}
	job *j = &g->jobs[g->njobs];
	memset(j, 0, sizeof(*j));
	j->dfd = g->dirs[g->ndirs - 1].fd;
	j->expect = g->dirs[g->ndirs - 1].expect;
	j->name = strdup(name);
	j->path = strdup(path);
	if (!j->name || !j->path) {
		free(j->name);
		free(j->path);
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	}
	j->state = JOB_QUEUED;
	g->njobs++;
	g->bytes += size < UPT_REPORT_MAX ? size : UPT_REPORT_MAX;
	return UPT_OK;
}

/* ---- walking the stick ---- */

static int cmp_names(const void *a, const void *b)
{
	/* 2.json before 10.json: counters in order, so the outcome of a conflict is stable */
	return strverscmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The entries of a directory, hidden ones (".", "..", macOS "._*" companions) left out, in
 * version order. */
static int list_dir(int dfd, const char *path, char ***out, size_t *nout, upt_err *e)
{
	int fd = dup(dfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return upt_err_set(e, UPT_E_IO, "%s: cannot read directory: %s", path,
				   strerror(errno));
	}
	rewinddir(d);
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = UPT_OK;
	struct dirent *de;
	errno = 0;
	while (rc == UPT_OK && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == LEDGER_DIR_ENTRIES_MAX) {
			rc = upt_err_set(e, UPT_E_TOO_LARGE, "%s: more than %d entries", path,
					 LEDGER_DIR_ENTRIES_MAX);
			break;
		}
		if (n == cap) {
			size_t c = cap ? 2 * cap : 64;
			char **p = realloc(names, c * sizeof(*p));
			if (!p) {
				rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
				break;
			}
			names = p;
			cap = c;
		}
		if (!(names[n] = strdup(de->d_name)))
			rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
		else
			n++;
		errno = 0;
	}
	if (rc == UPT_OK && errno)
		rc = upt_err_set(e, UPT_E_IO, "%s: cannot read directory: %s", path,
				 strerror(errno));
	closedir(d);
	if (rc) {
		free_names(names, n);
		return rc;
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	*out = names;
	*nout = n;
	return UPT_OK;
}

static bool is_json_name(const char *name)
{
	size_t n = strlen(name);
	return n > 5 && !strcmp(name + n - 5, ".json");
}

static char *join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *p = malloc(la + lb + 2);
	if (p) {
		memcpy(p, a, la);
		p[la] = '/';
		memcpy(p + la + 1, b, lb + 1);
	}
	return p;
}

/* A rejection found while walking (a link, a bad directory name): the reports queued before
 * it are reported first, so the lines come out in walk order. */
static int walk_reject(ingest *g, const char *path, const char *klass, const char *why, upt_err *e)
{
	int rc = batch_run(g, e);
	if (rc == UPT_OK)
		reject(g, path, klass, why);
	return rc;
}

/* uptane-reports/<device-id>/: every *.json is a report of that device. */
static int walk_device_dir(ingest *g, int dfd, const char *path, const char *expect, upt_err *e)
{
	char **names = NULL;
	size_t n = 0;
	int rc = list_dir(dfd, path, &names, &n, e);
	if (rc) {
		char why[UPT_ERR_MSG_MAX];
		snprintf(why, sizeof(why), "%s", e->msg);
		upt_err_clear(e);
		return walk_reject(g, path, rc == UPT_E_TOO_LARGE ? "too-large" : "unreadable", why,
				   e);
	}
	for (size_t i = 0; rc == UPT_OK && i < n; i++) {
		if (!is_json_name(names[i]))
			continue;
		struct stat st;
		uint64_t size = 0;
		if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
			size = (uint64_t)st.st_size;
		char *p = join(path, names[i]);
		if (!p)
			rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
		else
			rc = batch_add(g, dfd, expect, names[i], p, size, e);
		free(p);
	}
	/* the next directory gets its own descriptor in the batch */
	g->dir_open = false;
	free_names(names, n);
	return rc;
}

/* uptane-reports/: one directory per device, named by its id. */
static int walk_reports_dir(ingest *g, int dfd, const char *path, upt_err *e)
{
	char **names = NULL;
	size_t n = 0;
	int rc = list_dir(dfd, path, &names, &n, e);
	if (rc) {
		char why[UPT_ERR_MSG_MAX];
		snprintf(why, sizeof(why), "%s", e->msg);
		upt_err_clear(e);
		return walk_reject(g, path, rc == UPT_E_TOO_LARGE ? "too-large" : "unreadable", why,
				   e);
	}
	for (size_t i = 0; rc == UPT_OK && i < n; i++) {
		char *p = join(path, names[i]);
		if (!p) {
			rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
			break;
		}
		struct stat st;
		if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) != 0) {
			rc = walk_reject(g, p, "unreadable", strerror(errno), e);
		} else if (S_ISLNK(st.st_mode)) {
			/* a link on the stick could point anywhere on this machine */
			rc = walk_reject(g, p, "unreadable", "symbolic link, not followed", e);
		} else if (S_ISDIR(st.st_mode)) {
			int sub =
			    openat(dfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (!ledger_name_ok(names[i]))
				rc = walk_reject(g, p, "malformed",
						 "directory name is not a device id "
						 "([A-Za-z0-9._-]{1,128})",
						 e);
			else if (sub < 0)
				rc = walk_reject(g, p, "unreadable", strerror(errno), e);
			else
				rc = walk_device_dir(g, sub, p, names[i], e);
			if (sub >= 0)
				close(sub);
		} else if (S_ISREG(st.st_mode) && is_json_name(names[i])) {
			rc = walk_reject(g, p, "malformed",
					 "report outside uptane-reports/<device-id>/", e);
		}
		free(p);
	}
	free_names(names, n);
	return rc;
}

static bool has_reports(int dfd, const char *path)
{
	char **names = NULL;
	size_t n = 0;
	bool found = false;
	if (list_dir(dfd, path, &names, &n, NULL) != UPT_OK)
		return false;
	for (size_t i = 0; i < n && !found; i++) {
		struct stat st;
		found = is_json_name(names[i]) &&
			fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			!S_ISDIR(st.st_mode);
	}
	free_names(names, n);
	return found;
}

/* DIR as given: a stick's root (uptane-reports/ below it), an uptane-reports directory, or a
 * device directory (it holds reports itself). The path itself is the operator's and may be
 * a link (/media/stick); nothing below it is followed. */
static int ingest_arg(ingest *g, int dfd, const char *path, upt_err *e)
{
	struct stat st;
	if (fstatat(dfd, "uptane-reports", &st, AT_SYMLINK_NOFOLLOW) == 0) {
		char *p = join(path, "uptane-reports");
		int rc = UPT_OK;
		if (!p)
			return upt_err_set(e, UPT_E_NOMEM, "out of memory");
		int sub = S_ISDIR(st.st_mode)
			      ? openat(dfd, "uptane-reports",
				       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
			      : -1;
		if (sub < 0)
			rc = walk_reject(g, p, "unreadable",
					 "not a directory (a link is not followed)", e);
		else
			rc = walk_reports_dir(g, sub, p, e);
		if (sub >= 0)
			close(sub);
		free(p);
		return rc;
	}
	if (!has_reports(dfd, path))
		return walk_reports_dir(g, dfd, path, e);
	/* A device directory binds its reports to the device it is named after; a device's own
	 * state_dir/reports (docs/reports.md) names none. */
	char *real = realpath(path, NULL);
	if (!real)
		return upt_err_set(e, UPT_E_IO, "%s: %s", path, strerror(errno));
	const char *base = strrchr(real, '/');
	base = base ? base + 1 : real;
	int rc;
	if (!strcmp(base, "reports")) {
		rc = walk_device_dir(g, dfd, path, NULL, e);
	} else if (!ledger_name_ok(base)) {
		rc = walk_reject(g, path, "malformed", "directory name is not a device id", e);
	} else {
		rc = walk_device_dir(g, dfd, path, base, e);
	}
	free(real);
	return rc;
}

static int reports_ingest_run(const args *a)
{
	const char *ledger_path = args_one(a, "ledger");
	const char *const *dirs = a->pos;
	int *fds = calloc(a->npos ? a->npos : 1, sizeof(*fds));
	int ndirs = (int)a->npos, status = CLI_EXIT_USAGE;
	ingest g;
	memset(&g, 0, sizeof(g));
	g.jobs = calloc(BATCH_JOBS, sizeof(*g.jobs));
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	g.threads = cpus < 1 ? 1 : cpus > THREADS_MAX ? THREADS_MAX : (int)cpus;
	upt_err e;
	upt_err_clear(&e);
	if (!fds || !g.jobs) {
		fprintf(stderr, "uptane-bundle reports ingest: out of memory\n");
		status = CLI_EXIT_INTERNAL;
		goto out;
	}
	if (!ledger_path || ndirs == 0) {
		status = cli_usage("reports ingest", usage, "DIR.. and --ledger FILE are required");
		goto out;
	}
	/* Every DIR must open before anything is read, so a typo changes nothing. */
	for (int i = 0; i < ndirs; i++) {
		fds[i] = open(dirs[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fds[i] < 0) {
			fprintf(stderr, "uptane-bundle reports ingest: %s: %s\n", dirs[i],
				strerror(errno));
			for (int j = 0; j < i; j++)
				close(fds[j]);
			goto out;
		}
	}
	int rc = ledger_open(ledger_path, LEDGER_WRITE, &g.l, &e);
	if (rc == UPT_OK)
		rc = ledger_begin(g.l, &e);
	for (int i = 0; i < ndirs; i++) {
		if (rc == UPT_OK)
			rc = ingest_arg(&g, fds[i], dirs[i], &e);
		close(fds[i]);
	}
	if (rc == UPT_OK)
		rc = batch_run(&g, &e);
	/* One transaction: a run that fails half-way records nothing, and a run that completes
	 * records every accepted report at once. */
	if (rc == UPT_OK)
		rc = ledger_commit(g.l, &e);
	if (rc) {
		fprintf(stderr, "uptane-bundle reports ingest: %s (nothing recorded)\n", e.msg);
		status = cli_exit_status(rc);
		goto out;
	}
	printf("%zu accepted, %zu duplicate, %zu rejected\n", g.accepted, g.duplicate, g.rejected);
	status = g.rejected ? CLI_EXIT_REJECTED : 0;
out:
	if (g.jobs) {
		for (size_t i = 0; i < g.njobs; i++)
			job_clear(&g.jobs[i]);
		for (size_t i = 0; i < g.ndirs; i++) {
			close(g.dirs[i].fd);
			free(g.dirs[i].expect);
		}
	}
	free(g.jobs);
	ledger_close(g.l);
	free(fds);
	return status;
}

static const arg_opt ledger_opt[] = {{"ledger", 0, ARG_ONE}};

static int reports_ingest(int argc, char **argv)
{
	return cli_run("reports ingest", usage, ledger_opt, 1, argc, argv, reports_ingest_run);
}

/* ---- show ---- */

enum show_format { SHOW_TABLE, SHOW_JSON, SHOW_CSV };

typedef struct show_ctx {
	bool within_set, since_set;
	const char *within; /* support ends in [today, today + within] (a DURATION) */
	int64_t within_end;
	int64_t since; /* installed_at before this */
	int64_t today; /* midnight UTC of the reference day */
	const char *running;
	json_t *rows;
} show_ctx;

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static bool row_selected(const show_ctx *c, const ledger_row *r)
{
	if (c->running && (!r->target || strcmp(r->target, c->running) != 0))
		return false;
	if (c->within_set) {
		int64_t ends;
		if (!r->support_ends || ledger_date_parse(r->support_ends, &ends, NULL) != UPT_OK)
			return false;
		if (ends < c->today || ends > c->within_end)
			return false;
	}
	if (c->since_set && r->installed_at) {
		int64_t t;
		if (upt_rfc3339_parse(r->installed_at, &t, NULL) != UPT_OK || t >= c->since)
			return false;
	}
	return true;
}

static int show_one(const ledger_row *r, void *vctx)
{
	show_ctx *c = vctx;
	if (!row_selected(c, r))
		return UPT_OK;
	json_t *attacks = json_array();
	if (!attacks)
		return UPT_E_NOMEM;
	for (size_t i = 0; i < r->nattacks; i++) {
		const ledger_attack *a = &r->attacks[i];
		json_t *o =
		    json_pack("{s:I, s:o, s:o, s:s}", "counter", (json_int_t)a->counter, "time",
			      jstr(a->time), "ecu", jstr(a->ecu), "class", a->klass);
		if (!o || json_array_append_new(attacks, o)) {
			json_decref(attacks);
			return UPT_E_NOMEM;
		}
	}
	json_t *o = json_pack(
	    "{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
	    "device_id", r->device_id, "ecu", jstr(r->ecu), "target", jstr(r->target), "state",
	    jstr(r->state), "sha256", jstr(r->sha256), "length",
	    r->length >= 0 ? json_integer(r->length) : json_null(), "installed_at",
	    jstr(r->installed_at), "bundle", jstr(r->bundle), "last_report", jstr(r->last_report),
	    "last_counter", r->last_counter >= 0 ? json_integer(r->last_counter) : json_null(),
	    "last_status", jstr(r->last_status), "attacks", attacks, "placed_on_market",
	    jstr(r->placed_on_market), "support_years",
	    r->support_years >= 0 ? json_integer(r->support_years) : json_null(), "support_ends",
	    jstr(r->support_ends));
	if (!o || json_array_append_new(c->rows, o))
		return UPT_E_NOMEM;
	return UPT_OK;
}

/* The table, CSV and HTML columns (rows_out.h); JSON rows carry every field. */
static const rows_col columns[] = {
    {"device_id", "DEVICE", 0},
    {"ecu", "ECU", 0},
    {"target", "TARGET", 0},
    {"state", "STATE", 0},
    {"sha256", "SHA256", 12}, /* a sha256 prefix identifies an image for people */
    {"installed_at", "INSTALLED-AT", 0},
    {"bundle", "BUNDLE", 0},
    {"last_report", "LAST-REPORT", 0},
    {"attacks", "ATTACKS", 0}, /* their count */
    {"support_ends", "SUPPORT-ENDS", 0},
};
#define NCOLUMNS (sizeof(columns) / sizeof(columns[0]))

static int show_html(const char *path, const json_t *rows, int64_t now, upt_err *e)
{
	return html_write(path, "Fleet", rows, columns, NCOLUMNS, now, e);
}

static const arg_opt show_opts[] = {
    {"ledger", 0, ARG_ONE},
    {"json", 0, ARG_NONE},
    {"csv", 0, ARG_NONE},
    {"support-ends-within", 0, ARG_ONE},
    {"not-updated-since", 0, ARG_ONE},
    {"running", 0, ARG_ONE},
    {"at", 0, ARG_ONE},
    {"html", 0, ARG_ONE},
};

/* --at and --not-updated-since: TIME values, the option named in a bad one's message. */
static int show_parse_times(const args *a, int64_t *now, show_ctx *c, upt_err *e)
{
	const char *at = args_one(a, "at"), *since = args_one(a, "not-updated-since");
	if (at && upt_time_parse(at, now, e))
		return upt_err_prefix(e, "--at");
	if (since && upt_time_parse(since, &c->since, e))
		return upt_err_prefix(e, "--not-updated-since");
	c->since_set = since != NULL;
	return UPT_OK;
}

static int reports_show_run(const args *a)
{
	const char *ledger_path = args_one(a, "ledger"), *html = args_one(a, "html");
	enum show_format fmt = args_flag(a, "json")  ? SHOW_JSON
			       : args_flag(a, "csv") ? SHOW_CSV
						     : SHOW_TABLE;
	show_ctx c;
	memset(&c, 0, sizeof(c));
	upt_err e;
	upt_err_clear(&e);
	int64_t now = (int64_t)time(NULL);
	c.running = args_one(a, "running");
	c.within = args_one(a, "support-ends-within");
	c.within_set = c.within != NULL;
	int rc = a->npos ? upt_err_set(&e, UPT_E_USAGE, "unknown argument \"%s\"", a->pos[0])
		 : args_flag(a, "json") && args_flag(a, "csv")
		     ? upt_err_set(&e, UPT_E_USAGE, "--json and --csv exclude each other")
		     : show_parse_times(a, &now, &c, &e);
	if (rc == UPT_OK && !ledger_path)
		rc = upt_err_set(&e, UPT_E_USAGE, "--ledger FILE is required");
	if (rc)
		return cli_usage("reports show", usage, "%s", e.msg);
	c.today = now - ((now % 86400) + 86400) % 86400;
	if (c.within_set) {
		/* A bare number is days, the syntax before DURATION, kept for scripts ("0": today).
		 */
		char days[16];
		const char *dur = c.within;
		size_t n = strspn(dur, "0123456789");
		if (n > 0 && n == strlen(dur) && n < sizeof(days) - 1) {
			snprintf(days, sizeof(days), "%sd", dur);
			dur = days;
		}
		int64_t secs = 0;
		if (n == 0 || strspn(c.within, "0") != strlen(c.within))
			rc = upt_duration_parse(dur, c.today, &secs, &e);
		if (rc)
			return cli_usage("reports show", usage, "--support-ends-within: %s", e.msg);
		c.within_end = c.today + secs;
	}
	ledger *l = NULL;
	c.rows = json_array();
	rc = c.rows ? ledger_open(ledger_path, LEDGER_READ, &l, &e)
		    : upt_err_set(&e, UPT_E_NOMEM, "out of memory");
	if (rc == UPT_OK) {
		rc = ledger_rows_each(l, show_one, &c, &e);
		if (rc == UPT_E_NOMEM)
			upt_err_set(&e, rc, "out of memory");
	}
	ledger_close(l);
	if (rc == UPT_OK && html)
		rc = show_html(html, c.rows, now, &e);
	if (rc == UPT_OK) {
		if (fmt == SHOW_JSON) {
			/* ASCII only: \uXXXX for the rest, so no report byte drives a terminal */
			if (json_dumpf(c.rows, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII) == 0)
				putchar('\n');
			else
				rc = upt_err_set(&e, UPT_E_IO, "cannot write");
		} else if (fmt == SHOW_CSV) {
			rows_print_csv(c.rows, columns, NCOLUMNS);
		} else {
			rows_print_table(c.rows, columns, NCOLUMNS);
		}
	}
	json_decref(c.rows);
	if (rc == UPT_OK && fflush(stdout) != 0)
		rc = upt_err_set(&e, UPT_E_IO, "cannot write: %s", strerror(errno));
	if (rc) {
		fprintf(stderr, "uptane-bundle reports show: %s\n", e.msg);
		return cli_exit_status(rc);
	}
	return 0;
}

static int reports_show(int argc, char **argv)
{
	return cli_run("reports show", usage, show_opts, sizeof(show_opts) / sizeof(show_opts[0]),
		       argc, argv, reports_show_run);
}

int cmd_reports(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return CLI_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "affected")) /* its own usage (affected.h) */
		return reports_affected(argc - 1, argv + 1);
	/* Also `reports show --help`: the usage covers every subcommand. */
	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "ingest"))
		return reports_ingest(argc - 1, argv + 1);
	if (!strcmp(argv[1], "show"))
		return reports_show(argc - 1, argv + 1);

	return cli_usage("reports", usage, "unknown subcommand \"%s\"", argv[1]);
}
