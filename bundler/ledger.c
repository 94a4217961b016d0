/* ledger: the fleet ledger's SQLite schema and queries (see ledger.h). Everything that touches
 * SQL lives here; the commands see only the typed records of ledger.h. */
#include "ledger.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger_internal.h"
#include "upt/hex.h"

/* PRAGMA application_id: "UPTL", so a random SQLite file is never taken for a ledger. */
#define LEDGER_APP_ID 0x5550544c
#define LEDGER_SCHEMA_VERSION 2 /* 2: ecu_reports.state */

static const char schema[] =
    "CREATE TABLE devices ("
    " device_id TEXT PRIMARY KEY NOT NULL,"
    " keyid TEXT NOT NULL UNIQUE," /* a report key identifies one device */
    " public_key TEXT NOT NULL,"   /* ed25519, hex */
    " placed_on_market TEXT,"	   /* YYYY-MM-DD (EU CRA), NULL when unknown */
    " support_years INTEGER,"	   /* NULL when unknown */
    " registered_at TEXT NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE TABLE reports ("
    " device_id TEXT NOT NULL REFERENCES devices(device_id),"
    " counter INTEGER NOT NULL,"
    " digest TEXT NOT NULL," /* sha256 of the canonical signed: duplicate vs replay */
    " time_clock TEXT,"
    " time_effective TEXT NOT NULL,"
    " bundle_file TEXT, bundle_kind TEXT, bundle_id TEXT,"
    " status TEXT NOT NULL, reason TEXT, message TEXT,"
    " source TEXT, ingested_at TEXT NOT NULL,"
    " raw BLOB NOT NULL," /* the signed file as received */
    " PRIMARY KEY (device_id, counter)"
    ");"
    "CREATE TABLE ecu_reports ("
    " device_id TEXT NOT NULL, counter INTEGER NOT NULL, ecu TEXT NOT NULL,"
    " filepath TEXT, length INTEGER, sha256 TEXT,"
    " attacks TEXT NOT NULL, latest_time TEXT, report_counter INTEGER,"
    " state TEXT NOT NULL DEFAULT 'installed'," /* docs/reports.md: ECU states */
    " PRIMARY KEY (device_id, ecu, counter),"
    " FOREIGN KEY (device_id, counter) REFERENCES reports(device_id, counter)"
    ") WITHOUT ROWID;";

struct ledger {
	sqlite3 *db;
	bool in_tx;
	bool has_state; /* ecu_reports.state exists (false: a version 1 ledger opened to read) */
	/* statements run once per report, prepared once per open (ingest speed) */
	sqlite3_stmt *q_device, *q_digest, *q_report, *q_ecu;
};

static int db_err(ledger *l, int src, upt_err *e, const char *what)
{
	int code = UPT_E_INTERNAL;
	switch (src & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		code = UPT_E_BUSY;
		break;
	case SQLITE_NOMEM:
		code = UPT_E_NOMEM;
		break;
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
	case SQLITE_PERM:
		code = UPT_E_IO;
		break;
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		code = UPT_E_CONFIG;
		break;
	default:
		break;
	}
	return upt_err_set(e, code, "ledger: %s: %s", what,
			   l && l->db ? sqlite3_errmsg(l->db) : sqlite3_errstr(src));
}

static int exec(ledger *l, const char *sql, upt_err *e)
{
	int src = sqlite3_exec(l->db, sql, NULL, NULL, NULL);
	return src == SQLITE_OK ? UPT_OK : db_err(l, src, e, "statement failed");
}

static int prepare(ledger *l, const char *sql, sqlite3_stmt **st, upt_err *e)
{
	int src = sqlite3_prepare_v2(l->db, sql, -1, st, NULL);
	return src == SQLITE_OK ? UPT_OK : db_err(l, src, e, "prepare");
}

/* A statement kept for the life of the connection: prepared on first use, reset after. */
static int cached(ledger *l, sqlite3_stmt **slot, const char *sql, upt_err *e)
{
	if (*slot) {
		sqlite3_reset(*slot);
		sqlite3_clear_bindings(*slot);
		return UPT_OK;
	}
	int src = sqlite3_prepare_v3(l->db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL);
	return src == SQLITE_OK ? UPT_OK : db_err(l, src, e, "prepare");
}

/* Binds text or NULL. SQLITE_TRANSIENT: the caller's strings may go away before the step. */
static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

static int pragma_int(ledger *l, const char *sql, int64_t *out, upt_err *e)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare(l, sql, &st, e);
	if (rc)
		return rc;
	int src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else
		rc = db_err(l, src, e, "reading the schema version");
	sqlite3_finalize(st);
	return rc;
}

static int has_column(ledger *l, const char *table, const char *column, bool *out, upt_err *e)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare(l, "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2", &st, e);
	if (rc)
		return rc;
	bind_text(st, 1, table);
	bind_text(st, 2, column);
	int src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0) > 0;
	else
		rc = db_err(l, src, e, "reading the schema");
	sqlite3_finalize(st);
	return rc;
}

/* Version 1 to 2: the ECU state column; every report recorded so far said nothing about it, so
 * it was installed (docs/reports.md). Inside one write transaction, which a concurrent
 * migration waits for; the version is read again under the lock. */
static int migrate(ledger *l, const char *path, upt_err *e)
{
	int64_t ver = 0;
	bool col = false;
	int rc = exec(l, "BEGIN IMMEDIATE", e);
	if (rc == UPT_OK)
		rc = pragma_int(l, "PRAGMA user_version", &ver, e);
	if (rc == UPT_OK && ver == 1)
		rc = has_column(l, "ecu_reports", "state", &col, e);
	if (rc == UPT_OK && ver == 1 && !col)
		rc = exec(l,
			  "ALTER TABLE ecu_reports ADD COLUMN state TEXT NOT NULL DEFAULT "
			  "'installed'",
			  e);
	if (rc == UPT_OK && ver == 1) {
		char sql[64];
		snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", LEDGER_SCHEMA_VERSION);
		rc = exec(l, sql, e);
	}
	if (rc == UPT_OK)
		rc = exec(l, "COMMIT", e);
	if (rc) {
		sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
		return upt_err_prefix(e, "%s: migrating the ledger to schema version %d", path,
				      LEDGER_SCHEMA_VERSION);
	}
	return UPT_OK;
}

static void now_rfc3339(char out[UPT_RFC3339_LEN + 1])
{
	upt_rfc3339_format((int64_t)time(NULL), out);
}

static int check_schema(ledger *l, const char *path, enum ledger_mode mode, upt_err *e)
{
	int64_t app = 0, ver = 0, objects = 0;
	int rc = pragma_int(l, "PRAGMA application_id", &app, e);
	if (rc == UPT_OK)
		rc = pragma_int(l, "PRAGMA user_version", &ver, e);
	if (rc == UPT_OK)
		rc = pragma_int(l, "SELECT count(*) FROM sqlite_master", &objects, e);
	if (rc)
		return upt_err_prefix(e, "%s", path);
	if (app == 0 && ver == 0 && objects == 0) {
		if (mode != LEDGER_CREATE)
			return upt_err_set(e, UPT_E_CONFIG,
					   "%s: empty ledger (register devices with `devices add`)",
					   path);
		char sql[sizeof(schema) + 128];
		snprintf(sql, sizeof(sql),
			 "BEGIN IMMEDIATE;%sPRAGMA application_id=%d;"
			 "PRAGMA user_version=%d;COMMIT;",
			 schema, LEDGER_APP_ID, LEDGER_SCHEMA_VERSION);
		rc = exec(l, sql, e);
		if (rc) {
			sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
			return upt_err_prefix(e, "%s: creating the schema", path);
		}
		l->has_state = true;
		return UPT_OK;
	}
	if (app != LEDGER_APP_ID)
		return upt_err_set(e, UPT_E_CONFIG, "%s: not an uptane-offline ledger", path);
	if (ver > LEDGER_SCHEMA_VERSION)
		return upt_err_set(
		    e, UPT_E_CONFIG,
		    "%s: ledger schema version %lld is newer than this build's (%d); "
		    "use a newer uptane-bundle",
		    path, (long long)ver, LEDGER_SCHEMA_VERSION);
	if (ver != LEDGER_SCHEMA_VERSION && ver != 1)
		return upt_err_set(e, UPT_E_CONFIG, "%s: unknown ledger schema version %lld", path,
				   (long long)ver);
	if (ver == 1 && mode != LEDGER_READ) {
		rc = migrate(l, path, e);
		if (rc)
			return rc;
	}
	return has_column(l, "ecu_reports", "state", &l->has_state, e);
}

static int encryption_keys_table(ledger *l, const char *path, upt_err *e);

int ledger_open(const char *path, enum ledger_mode mode, ledger **out, upt_err *e)
{
	ledger *l = calloc(1, sizeof(*l));
	if (!l)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	bool create = mode == LEDGER_CREATE;
	int flags = mode == LEDGER_READ	   ? SQLITE_OPEN_READONLY
		    : mode == LEDGER_WRITE ? SQLITE_OPEN_READWRITE
					   : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	int rc = UPT_OK;
	if (!create) {
		FILE *f = fopen(path, "rb");
		if (!f) {
			rc = upt_err_set(e, UPT_E_NOT_FOUND,
					 "%s: no such ledger (`devices add --ledger` creates one)",
					 path);
			goto out;
		}
		fclose(f);
	}
	int src = sqlite3_open_v2(path, &l->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (src != SQLITE_OK) {
		rc = db_err(l, src, e, "cannot open");
		upt_err_prefix(e, "%s", path);
		goto out;
	}
	/* Another ingest or import may hold the write lock (for as long as it reads its stick):
	 * wait, do not fail. */
	sqlite3_busy_timeout(l->db, 120000);
	sqlite3_extended_result_codes(l->db, 1);
	rc = exec(l, "PRAGMA foreign_keys=ON", e);
	if (rc == UPT_OK)
		rc = check_schema(l, path, mode, e);
	if (rc == UPT_OK && mode != LEDGER_READ)
		rc = encryption_keys_table(l, path, e);
out:
	if (rc) {
		ledger_close(l);
		return rc;
	}
	*out = l;
	return UPT_OK;
}

void ledger_close(ledger *l)
{
	if (!l)
		return;
	sqlite3_finalize(l->q_device);
	sqlite3_finalize(l->q_digest);
	sqlite3_finalize(l->q_report);
	sqlite3_finalize(l->q_ecu);
	if (l->in_tx)
		ledger_rollback(l);
	sqlite3_close_v2(l->db);
	free(l);
}

int ledger_begin(ledger *l, upt_err *e)
{
	/* IMMEDIATE: take the write lock now, so two ingests serialise instead of one failing
	 * half-way with SQLITE_BUSY on its first write. */
	int rc = exec(l, "BEGIN IMMEDIATE", e);
	if (rc == UPT_OK)
		l->in_tx = true;
	return rc;
}

int ledger_commit(ledger *l, upt_err *e)
{
	int rc = exec(l, "COMMIT", e);
	if (rc == UPT_OK)
		l->in_tx = false;
	return rc;
}

void ledger_rollback(ledger *l)
{
	sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
	l->in_tx = false;
}

/* ---- names, dates, support period ---- */

bool ledger_name_ok(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++) {
		char c = s[n];
		if (n >= UPT_NAME_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return n > 0;
}

bool ledger_device_id_ok(const char *s)
{
	return ledger_name_ok(s) && s[0] != '.';
}

int ledger_date_parse(const char *s, int64_t *out, upt_err *e)
{
	char t[UPT_RFC3339_LEN + 1];
	if (strlen(s) != LEDGER_DATE_LEN)
		return upt_err_set(e, UPT_E_USAGE, "date \"%.40s\" is not of the form YYYY-MM-DD",
				   s);
	snprintf(t, sizeof(t), "%sT00:00:00Z", s);
	if (upt_rfc3339_parse(t, out, NULL) != UPT_OK)
		return upt_err_set(e, UPT_E_USAGE, "\"%s\" is not a valid date (YYYY-MM-DD)", s);
	return UPT_OK;
}

void ledger_support_ends(const char *placed_on_market, int support_years,
			 char out[LEDGER_DATE_LEN + 1])
{
	int64_t t;
	out[0] = 0;
	if (!placed_on_market || !placed_on_market[0] || support_years < 0 ||
	    support_years > LEDGER_SUPPORT_YEARS_MAX ||
	    ledger_date_parse(placed_on_market, &t, NULL))
		return;
	char tmp[UPT_RFC3339_LEN + 1];
	upt_rfc3339_format(upt_time_add_years(t, support_years), tmp);
	memcpy(out, tmp, LEDGER_DATE_LEN);
	out[LEDGER_DATE_LEN] = '\0';
}

/* ---- devices ---- */

static void copy_str(char *dst, size_t cap, const unsigned char *src)
{
	snprintf(dst, cap, "%s", src ? (const char *)src : "");
}

/* Fills d from columns device_id, keyid, public_key, placed_on_market, support_years at i. */
static int device_from_row(sqlite3_stmt *st, int i, ledger_device *d, upt_err *e)
{
	memset(d, 0, sizeof(*d));
	copy_str(d->device_id, sizeof(d->device_id), sqlite3_column_text(st, i));
	copy_str(d->key.keyid, sizeof(d->key.keyid), sqlite3_column_text(st, i + 1));
	const char *pub = (const char *)sqlite3_column_text(st, i + 2);
	if (!pub || upt_hex_decode(pub, d->key.pub, sizeof(d->key.pub), e) != UPT_OK)
		return upt_err_set(e, UPT_E_CONFIG, "ledger: device %s: stored key is corrupt",
				   d->device_id);
	d->key.ed25519 = true;
	copy_str(d->placed_on_market, sizeof(d->placed_on_market), sqlite3_column_text(st, i + 3));
	d->support_years =
	    sqlite3_column_type(st, i + 4) == SQLITE_NULL ? -1 : sqlite3_column_int(st, i + 4);
	return UPT_OK;
}

int ledger_device_get(ledger *l, const char *device_id, ledger_device *out, bool *found, upt_err *e)
{
	int rc = cached(l, &l->q_device,
			"SELECT device_id, keyid, public_key, placed_on_market, support_years "
			"FROM devices WHERE device_id = ?1",
			e);
	if (rc)
		return rc;
	sqlite3_stmt *st = l->q_device;
	bind_text(st, 1, device_id);
	ledger_device d;
	int src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		rc = device_from_row(st, 0, &d, e);
		if (rc == UPT_OK) {
			*out = d;
			*found = true;
		}
	} else if (src == SQLITE_DONE) {
		*found = false;
	} else {
		rc = db_err(l, src, e, "looking up a device");
	}
	sqlite3_reset(st);
	return rc;
}

static int device_with_key(ledger *l, const char *keyid, char other[UPT_NAME_MAX + 1], bool *found,
			   upt_err *e)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare(l, "SELECT device_id FROM devices WHERE keyid = ?1", &st, e);
	if (rc)
		return rc;
	bind_text(st, 1, keyid);
	int src = sqlite3_step(st);
	*found = src == SQLITE_ROW;
	if (src == SQLITE_ROW)
		copy_str(other, UPT_NAME_MAX + 1, sqlite3_column_text(st, 0));
	else if (src != SQLITE_DONE)
		rc = db_err(l, src, e, "looking up a key");
	sqlite3_finalize(st);
	return rc;
}

int ledger_device_put(ledger *l, const ledger_device *d, enum ledger_put_result *res, upt_err *e)
{
	if (!ledger_device_id_ok(d->device_id))
		return upt_err_set(
		    e, UPT_E_USAGE,
		    "device id \"%.140s\" does not match [A-Za-z0-9_-][A-Za-z0-9._-]{0,127}",
		    d->device_id);
	if (!d->key.ed25519)
		return upt_err_set(e, UPT_E_USAGE, "device %s: the report key must be ed25519",
				   d->device_id);
	ledger_device old;
	bool found = false;
	int rc = ledger_device_get(l, d->device_id, &old, &found, e);
	if (rc)
		return rc;
	sqlite3_stmt *st = NULL;
	char pub[2 * sizeof(d->key.pub) + 1];
	upt_hex_encode(d->key.pub, sizeof(d->key.pub), pub);
	if (found) {
		if (strcmp(old.key.keyid, d->key.keyid) != 0)
			return upt_err_set(
			    e, UPT_E_USAGE,
			    "device %s is already registered with another key "
			    "(keyid %.16s..., given %.16s...); refusing to replace it",
			    d->device_id, old.key.keyid, d->key.keyid);
		const char *pom =
		    d->placed_on_market[0] ? d->placed_on_market : old.placed_on_market;
		int years = d->support_years >= 0 ? d->support_years : old.support_years;
		if (strcmp(pom, old.placed_on_market) == 0 && years == old.support_years) {
			*res = LEDGER_PUT_UNCHANGED;
			return UPT_OK;
		}
		rc = prepare(l,
			     "UPDATE devices SET placed_on_market = ?2, support_years = ?3 "
			     "WHERE device_id = ?1",
			     &st, e);
		if (rc)
			return rc;
		bind_text(st, 1, d->device_id);
		bind_text(st, 2, pom[0] ? pom : NULL);
		if (years >= 0)
			sqlite3_bind_int(st, 3, years);
		else
			sqlite3_bind_null(st, 3);
		int src = sqlite3_step(st);
		if (src != SQLITE_DONE)
			rc = db_err(l, src, e, "updating a device");
		sqlite3_finalize(st);
		if (rc == UPT_OK)
			*res = LEDGER_PUT_UPDATED;
		return rc;
	}
	char other[UPT_NAME_MAX + 1];
	rc = device_with_key(l, d->key.keyid, other, &found, e);
	if (rc)
		return rc;
	/* One key, one device: otherwise device A could sign reports that the ledger files
	 * under device B. */
	if (found)
		return upt_err_set(e, UPT_E_USAGE,
				   "device %s: this key (keyid %.16s...) is already registered to "
				   "device %s",
				   d->device_id, d->key.keyid, other);
	char now[UPT_RFC3339_LEN + 1];
	now_rfc3339(now);
	rc = prepare(l,
		     "INSERT INTO devices (device_id, keyid, public_key, placed_on_market, "
		     "support_years, registered_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
		     &st, e);
	if (rc)
		return rc;
	bind_text(st, 1, d->device_id);
	bind_text(st, 2, d->key.keyid);
	bind_text(st, 3, pub);
	bind_text(st, 4, d->placed_on_market[0] ? d->placed_on_market : NULL);
	if (d->support_years >= 0)
		sqlite3_bind_int(st, 5, d->support_years);
	else
		sqlite3_bind_null(st, 5);
	bind_text(st, 6, now);
	int src = sqlite3_step(st);
	if (src != SQLITE_DONE)
		rc = db_err(l, src, e, "registering a device");
	sqlite3_finalize(st);
	if (rc == UPT_OK)
		*res = LEDGER_PUT_ADDED;
	return rc;
}

int ledger_device_each(ledger *l, int (*fn)(const ledger_device_info *, void *), void *ctx,
		       upt_err *e)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare(l,
			 "SELECT d.device_id, d.keyid, d.public_key, d.placed_on_market, "
			 "d.support_years, "
			 "(SELECT count(*) FROM reports r WHERE r.device_id = d.device_id), "
			 "(SELECT r.counter FROM reports r WHERE r.device_id = d.device_id "
			 " ORDER BY r.counter DESC LIMIT 1), "
			 "(SELECT r.time_effective FROM reports r WHERE r.device_id = d.device_id "
			 " ORDER BY r.counter DESC LIMIT 1) "
			 "FROM devices d ORDER BY d.device_id",
			 &st, e);
	if (rc)
		return rc;
	int src;
	while (rc == UPT_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
		ledger_device_info info;
		memset(&info, 0, sizeof(info));
		rc = device_from_row(st, 0, &info.dev, e);
		if (rc)
			break;
		ledger_support_ends(info.dev.placed_on_market, info.dev.support_years,
				    info.support_ends);
		info.reports = sqlite3_column_int64(st, 5);
		info.last_counter =
		    sqlite3_column_type(st, 6) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 6);
		copy_str(info.last_report, sizeof(info.last_report), sqlite3_column_text(st, 7));
		rc = fn(&info, ctx);
	}
	if (rc == UPT_OK && src != SQLITE_DONE)
		rc = db_err(l, src, e, "listing devices");
	sqlite3_finalize(st);
	return rc;
}

/* ---- reports ---- */

static int insert_ecus(ledger *l, const ledger_report *r, upt_err *e)
{
	int rc = UPT_OK;
	for (size_t i = 0; rc == UPT_OK && i < r->necus; i++) {
		const ledger_ecu_report *x = &r->ecus[i];
		rc = cached(l, &l->q_ecu,
			    "INSERT INTO ecu_reports (device_id, counter, ecu, filepath, length, "
			    "sha256, attacks, latest_time, report_counter, state) "
			    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
			    e);
		if (rc)
			break;
		sqlite3_stmt *st = l->q_ecu;
		bind_text(st, 1, r->device_id);
		sqlite3_bind_int64(st, 2, r->counter);
		bind_text(st, 3, x->serial);
		if (x->has_image) {
			bind_text(st, 4, x->filepath);
			/* lengths above INT64_MAX were refused when the report was read */
			sqlite3_bind_int64(st, 5, (sqlite3_int64)x->length);
			bind_text(st, 6, x->has_sha256 ? x->sha256 : NULL);
		} else {
			sqlite3_bind_null(st, 4);
			sqlite3_bind_null(st, 5);
			sqlite3_bind_null(st, 6);
		}
		bind_text(st, 7, x->attacks ? x->attacks : "");
		bind_text(st, 8, x->latest_time);
		sqlite3_bind_int64(st, 9, x->report_counter);
		bind_text(st, 10, x->state ? x->state : "installed");
		int src = sqlite3_step(st);
		if (src != SQLITE_DONE)
			rc = db_err(l, src, e, "recording an ECU report");
		sqlite3_reset(st);
	}
	return rc;
}

int ledger_report_digest(ledger *l, const char *device_id, int64_t counter,
			 char digest[2 * UPT_SHA256_LEN + 1], bool *found, upt_err *e)
{
	int rc = cached(l, &l->q_digest,
			"SELECT digest FROM reports WHERE device_id = ?1 AND counter = ?2", e);
	if (rc)
		return rc;
	sqlite3_stmt *st = l->q_digest;
	bind_text(st, 1, device_id);
	sqlite3_bind_int64(st, 2, counter);
	int src = sqlite3_step(st);
	*found = src == SQLITE_ROW;
	if (src == SQLITE_ROW)
		copy_str(digest, 2 * UPT_SHA256_LEN + 1, sqlite3_column_text(st, 0));
	else if (src != SQLITE_DONE)
		rc = db_err(l, src, e, "looking up a report");
	sqlite3_reset(st);
	return rc;
}

int ledger_report_record(ledger *l, const ledger_report *r, enum ledger_record_result *res,
			 upt_err *e)
{
	char digest[2 * UPT_SHA256_LEN + 1];
	bool found = false;
	int rc = ledger_report_digest(l, r->device_id, r->counter, digest, &found, e);
	if (rc)
		return rc;
	if (found) {
		/* docs/reports.md: same (device, counter) and same signed content is the same
		 * report carried back twice; other content under a used counter is a replay. */
		*res = strcmp(digest, r->digest) == 0 ? LEDGER_DUPLICATE : LEDGER_REPLAYED;
		return UPT_OK;
	}

	/* A savepoint, so a report is recorded whole (manifest and every ECU row) or not at all,
	 * whatever transaction the caller holds. */
	rc = exec(l, "SAVEPOINT report", e);
	if (rc)
		return rc;
	char now[UPT_RFC3339_LEN + 1];
	now_rfc3339(now);
	rc = cached(l, &l->q_report,
		    "INSERT INTO reports (device_id, counter, digest, time_clock, time_effective, "
		    "bundle_file, bundle_kind, bundle_id, status, reason, message, source, "
		    "ingested_at, raw) "
		    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
		    e);
	if (rc == UPT_OK) {
		sqlite3_stmt *st = l->q_report;
		bind_text(st, 1, r->device_id);
		sqlite3_bind_int64(st, 2, r->counter);
		bind_text(st, 3, r->digest);
		bind_text(st, 4, r->time_clock);
		bind_text(st, 5, r->time_effective);
		bind_text(st, 6, r->bundle_file);
		bind_text(st, 7, r->bundle_kind);
		bind_text(st, 8, r->bundle_id);
		bind_text(st, 9, r->status);
		bind_text(st, 10, r->reason);
		bind_text(st, 11, r->message);
		bind_text(st, 12, r->source);
		bind_text(st, 13, now);
		sqlite3_bind_blob64(st, 14, r->raw, r->raw_len, SQLITE_STATIC);
		int src = sqlite3_step(st);
		if (src != SQLITE_DONE)
			rc = db_err(l, src, e, "recording a report");
		sqlite3_reset(st);
		sqlite3_clear_bindings(st); /* the blob is the caller's: drop the pointer now */
	}
	if (rc == UPT_OK)
		rc = insert_ecus(l, r, e);
	if (rc) {
		sqlite3_exec(l->db, "ROLLBACK TO report; RELEASE report", NULL, NULL, NULL);
		return rc;
	}
	rc = exec(l, "RELEASE report", e);
	if (rc == UPT_OK)
		*res = LEDGER_RECORDED;
	return rc;
}

/* ---- what runs where ---- */

static char *dup_col(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	return s ? strdup((const char *)s) : NULL;
}

typedef struct row_stmts {
	sqlite3_stmt *cur, *brk, *start, *last, *attacks;
} row_stmts;

typedef struct row_buf {
	ledger_row row;
	char *target, *sha256, *state, *installed_at, *bundle, *last_report, *last_status;
	ledger_attack *attacks;
	size_t nattacks, cap;
} row_buf;

static void row_buf_free(row_buf *b)
{
	free(b->target);
	free(b->sha256);
	free(b->state);
	free(b->installed_at);
	free(b->bundle);
	free(b->last_report);
	free(b->last_status);
	for (size_t i = 0; i < b->nattacks; i++) {
		free((char *)b->attacks[i].time);
		free((char *)b->attacks[i].ecu);
		free((char *)b->attacks[i].klass);
	}
	free(b->attacks);
	memset(b, 0, sizeof(*b));
}

static int step_one(ledger *l, sqlite3_stmt *st, bool *row, upt_err *e)
{
	int src = sqlite3_step(st);
	*row = src == SQLITE_ROW;
	if (src == SQLITE_ROW || src == SQLITE_DONE)
		return UPT_OK;
	return db_err(l, src, e, "querying reports");
}

static int add_attack(row_buf *b, sqlite3_stmt *st, upt_err *e)
{
	int64_t counter = sqlite3_column_int64(st, 0);
	const char *ecu = (const char *)sqlite3_column_text(st, 2);
	const char *klass = (const char *)sqlite3_column_text(st, 3);
	if (!klass)
		return UPT_OK;
	/* The device's own rejection (result.reason) and the ECUs' attacks_detected usually name
	 * the same attack in the same report: list it once. */
	for (size_t i = 0; i < b->nattacks; i++)
		if (b->attacks[i].counter == counter && strcmp(b->attacks[i].klass, klass) == 0)
			return UPT_OK;
	if (b->nattacks == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 8;
		ledger_attack *a = realloc(b->attacks, cap * sizeof(*a));
		if (!a)
			return upt_err_set(e, UPT_E_NOMEM, "out of memory");
		b->attacks = a;
		b->cap = cap;
	}
	ledger_attack *a = &b->attacks[b->nattacks];
	a->counter = counter;
	a->time = dup_col(st, 1);
	a->ecu = ecu ? strdup(ecu) : NULL;
	a->klass = strdup(klass);
	if (!a->time || !a->klass || (ecu && !a->ecu)) {
		free((char *)a->time);
		free((char *)a->ecu);
		free((char *)a->klass);
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	}
	b->nattacks++;
	return UPT_OK;
}

#define OOM_IF(cond)                                                                               \
	do {                                                                                       \
		if (cond) {                                                                        \
			rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");                         \
			goto out;                                                                  \
		}                                                                                  \
	} while (0)

/* Derives one row: the ECU's current target, since when it has run, by which bundle, and the
 * device's last report and attacks. */
static int fill_row(ledger *l, row_stmts *q, const char *device, const char *ecu, int64_t latest,
		    row_buf *b, upt_err *e)
{
	bool has = false;
	int rc = UPT_OK;
	b->row.length = -1;
	b->row.last_counter = -1;
	if (ecu) {
		sqlite3_reset(q->cur);
		bind_text(q->cur, 1, device);
		bind_text(q->cur, 2, ecu);
		sqlite3_bind_int64(q->cur, 3, latest);
		rc = step_one(l, q->cur, &has, e);
		if (rc || !has)
			goto out;
		b->target = dup_col(q->cur, 0);
		b->sha256 = dup_col(q->cur, 1);
		if (sqlite3_column_type(q->cur, 2) != SQLITE_NULL)
			b->row.length = sqlite3_column_int64(q->cur, 2);
		b->state = dup_col(q->cur, 3);
		OOM_IF((sqlite3_column_type(q->cur, 0) != SQLITE_NULL && !b->target) ||
		       (sqlite3_column_type(q->cur, 1) != SQLITE_NULL && !b->sha256) || !b->state);

		/* The last earlier report (by counter) showing anything else on this ECU ends the
		 * previous run; the first report after it showing this target is when it appeared.
		 * Counters, not times, order reports: a device clock can be wrong, its counter
		 * cannot. A pending A/B image whose next settled report (not pending) shows another
		 * image never ran (it fell back, or was replaced before its boot): its reports do
		 * not end the run of the image that kept running. */
		sqlite3_reset(q->brk);
		bind_text(q->brk, 1, device);
		bind_text(q->brk, 2, ecu);
		sqlite3_bind_int64(q->brk, 3, latest);
		bind_text(q->brk, 4, b->target);
		bind_text(q->brk, 5, b->sha256);
		rc = step_one(l, q->brk, &has, e);
		if (rc)
			goto out;
		int64_t brk = has && sqlite3_column_type(q->brk, 0) != SQLITE_NULL
				  ? sqlite3_column_int64(q->brk, 0)
				  : INT64_MIN;
		sqlite3_reset(q->start);
		bind_text(q->start, 1, device);
		bind_text(q->start, 2, ecu);
		sqlite3_bind_int64(q->start, 3, brk);
		bind_text(q->start, 4, b->target);
		bind_text(q->start, 5, b->sha256);
		rc = step_one(l, q->start, &has, e);
		if (rc)
			goto out;
		if (has && b->target) {
			b->installed_at = dup_col(q->start, 0);
			const char *status = (const char *)sqlite3_column_text(q->start, 1);
			/* Only a report of an install names the bundle that brought the target; the
			 * first report of a factory image names whatever bundle that attempt saw.
			 */
			if (status && (!strcmp(status, "installed") || !strcmp(status, "failed")))
				b->bundle = dup_col(q->start, 2);
		}
	}

	sqlite3_reset(q->last);
	bind_text(q->last, 1, device);
	rc = step_one(l, q->last, &has, e);
	if (rc)
		goto out;
	if (has) {
		b->row.last_counter = sqlite3_column_int64(q->last, 0);
		b->last_report = dup_col(q->last, 1);
		b->last_status = dup_col(q->last, 2);
		OOM_IF(!b->last_report || !b->last_status);
	}

	sqlite3_reset(q->attacks);
	bind_text(q->attacks, 1, device);
	bind_text(q->attacks, 2, ecu);
	for (;;) {
		rc = step_one(l, q->attacks, &has, e);
		if (rc || !has)
			break;
		rc = add_attack(b, q->attacks, e);
		if (rc)
			break;
	}
out:
	b->row.target = b->target;
	b->row.sha256 = b->sha256;
	b->row.state = b->state;
	b->row.installed_at = b->installed_at;
	b->row.bundle = b->bundle;
	b->row.last_report = b->last_report;
	b->row.last_status = b->last_status;
	b->row.attacks = b->attacks;
	b->row.nattacks = b->nattacks;
	return rc;
}

int ledger_rows_each(ledger *l, int (*fn)(const ledger_row *, void *), void *ctx, upt_err *e)
{
	sqlite3_stmt *main_st = NULL;
	row_stmts q = {0};
	int rc = prepare(l,
			 "SELECT d.device_id, d.placed_on_market, d.support_years, x.ecu, x.c "
			 "FROM devices d LEFT JOIN (SELECT device_id, ecu, max(counter) AS c "
			 " FROM ecu_reports GROUP BY device_id, ecu) x "
			 "ON x.device_id = d.device_id ORDER BY d.device_id, x.ecu",
			 &main_st, e);
	if (rc == UPT_OK)
		rc = prepare(l,
			     l->has_state
				 ? "SELECT filepath, sha256, length, state FROM ecu_reports "
				   "WHERE device_id = ?1 AND ecu = ?2 AND counter = ?3"
				 : "SELECT filepath, sha256, length, 'installed' FROM "
				   "ecu_reports "
				   "WHERE device_id = ?1 AND ecu = ?2 AND counter = ?3",
			     &q.cur, e);
	if (rc == UPT_OK)
		rc = prepare(
		    l,
		    l->has_state
			? "SELECT max(x.counter) FROM ecu_reports x WHERE x.device_id = ?1 "
			  "AND x.ecu = ?2 AND x.counter < ?3 "
			  "AND (x.filepath IS NOT ?4 OR x.sha256 IS NOT ?5) "
			  "AND NOT (x.state = 'pending' AND EXISTS ("
			  " SELECT 1 FROM ecu_reports y WHERE y.device_id = x.device_id "
			  " AND y.ecu = x.ecu AND y.counter = ("
			  "  SELECT min(z.counter) FROM ecu_reports z "
			  "  WHERE z.device_id = x.device_id AND z.ecu = x.ecu "
			  "  AND z.counter > x.counter AND z.state <> 'pending') "
			  " AND (y.filepath IS NOT x.filepath OR y.sha256 IS NOT x.sha256)))"
			: "SELECT max(counter) FROM ecu_reports WHERE device_id = ?1 AND ecu = ?2 "
			  "AND counter < ?3 AND (filepath IS NOT ?4 OR sha256 IS NOT ?5)",
		    &q.brk, e);
	if (rc == UPT_OK)
		rc =
		    prepare(l,
			    "SELECT r.time_effective, r.status, r.bundle_id FROM ecu_reports x "
			    "JOIN reports r ON r.device_id = x.device_id AND r.counter = x.counter "
			    "WHERE x.device_id = ?1 AND x.ecu = ?2 AND x.counter > ?3 "
			    "AND x.filepath IS ?4 AND x.sha256 IS ?5 "
			    "ORDER BY x.counter LIMIT 1",
			    &q.start, e);
	if (rc == UPT_OK)
		rc = prepare(
		    l,
		    "SELECT counter, time_effective, status FROM reports WHERE device_id = ?1 "
		    "ORDER BY counter DESC LIMIT 1",
		    &q.last, e);
	if (rc == UPT_OK)
		rc = prepare(
		    l,
		    "SELECT counter, time_effective, NULL AS ecu, reason FROM reports "
		    "WHERE device_id = ?1 AND status = 'rejected' AND reason IS NOT NULL "
		    "UNION ALL "
		    "SELECT x.counter, r.time_effective, x.ecu, x.attacks FROM ecu_reports x "
		    "JOIN reports r ON r.device_id = x.device_id AND r.counter = x.counter "
		    "WHERE x.device_id = ?1 AND x.ecu = ?2 AND x.attacks <> '' "
		    "ORDER BY 1, 3",
		    &q.attacks, e);
	int src = SQLITE_DONE;
	while (rc == UPT_OK && (src = sqlite3_step(main_st)) == SQLITE_ROW) {
		row_buf b;
		memset(&b, 0, sizeof(b));
		char *device = dup_col(main_st, 0), *pom = dup_col(main_st, 1),
		     *ecu = dup_col(main_st, 3);
		char ends[LEDGER_DATE_LEN + 1];
		int years = sqlite3_column_type(main_st, 2) == SQLITE_NULL
				? -1
				: sqlite3_column_int(main_st, 2);
		int64_t latest = sqlite3_column_int64(main_st, 4);
		if (!device || (sqlite3_column_type(main_st, 3) != SQLITE_NULL && !ecu))
			rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
		if (rc == UPT_OK)
			rc = fill_row(l, &q, device, ecu, latest, &b, e);
		if (rc == UPT_OK) {
			ledger_support_ends(pom, years, ends);
			b.row.device_id = device;
			b.row.ecu = ecu;
			b.row.placed_on_market = pom;
			b.row.support_years = years;
			b.row.support_ends = ends[0] ? ends : NULL;
			rc = fn(&b.row, ctx);
		}
		row_buf_free(&b);
		free(device);
		free(pom);
		free(ecu);
	}
	if (rc == UPT_OK && src != SQLITE_DONE)
		rc = db_err(l, src, e, "listing devices");
	sqlite3_finalize(main_st);
	sqlite3_finalize(q.cur);
	sqlite3_finalize(q.brk);
	sqlite3_finalize(q.start);
	sqlite3_finalize(q.last);
	sqlite3_finalize(q.attacks);
	return rc;
}

/* ---- device encryption keys (docs/bundle-format.md, "Encrypted images") ----
 * A table of its own, created when a ledger is opened for writing (IF NOT EXISTS: any schema
 * version, no version bump): older builds ignore it, and a ledger opened only to read may not
 * have it yet (then no device has a key). */

static int encryption_keys_table(ledger *l, const char *path, upt_err *e)
{
	int rc = exec(l,
		      "CREATE TABLE IF NOT EXISTS device_encryption_keys ("
		      " device_id TEXT PRIMARY KEY NOT NULL REFERENCES devices(device_id),"
		      " public_key TEXT NOT NULL," /* X25519, hex */
		      " keyid TEXT NOT NULL"	   /* sha256 of the public key, hex */
		      ") WITHOUT ROWID",
		      e);
	return rc ? upt_err_prefix(e, "%s: adding the encryption key table", path) : UPT_OK;
}

int ledger_encryption_key_put(ledger *l, const char *device_id, const uint8_t pub[32],
			      const char *keyid, upt_err *e)
{
	char hex[65];
	upt_hex_encode(pub, 32, hex);
	sqlite3_stmt *st = NULL;
	int rc = prepare(l,
			 "INSERT INTO device_encryption_keys (device_id, public_key, keyid) "
			 "VALUES (?1, ?2, ?3) ON CONFLICT (device_id) DO UPDATE SET "
			 "public_key = excluded.public_key, keyid = excluded.keyid",
			 &st, e);
	if (rc)
		return rc;
	bind_text(st, 1, device_id);
	bind_text(st, 2, hex);
	bind_text(st, 3, keyid);
	int src = sqlite3_step(st);
	if (src != SQLITE_DONE)
		rc = db_err(l, src, e, "recording the encryption key");
	sqlite3_finalize(st);
	return rc;
}

int ledger_encryption_key_get(ledger *l, const char *device_id, uint8_t pub[32], bool *found,
			      upt_err *e)
{
	*found = false;
	int64_t exists = 0;
	int rc = pragma_int(l,
			    "SELECT count(*) FROM sqlite_master WHERE name = "
			    "'device_encryption_keys'",
			    &exists, e);
	if (rc || !exists)
		return rc;
	sqlite3_stmt *st = NULL;
	rc = prepare(l, "SELECT public_key FROM device_encryption_keys WHERE device_id = ?1", &st,
		     e);
	if (rc)
		return rc;
	bind_text(st, 1, device_id);
	int src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		const char *hex = (const char *)sqlite3_column_text(st, 0);
		rc = upt_hex_decode(hex ? hex : "", pub, 32, e);
		if (rc)
			upt_err_prefix(e, "ledger: encryption key of %s", device_id);
		*found = rc == UPT_OK;
	} else if (src != SQLITE_DONE) {
		rc = db_err(l, src, e, "reading the encryption key");
	}
	sqlite3_finalize(st);
	return rc;
}

sqlite3 *ledger_sqlite(ledger *l)
{
	return l->db;
}
