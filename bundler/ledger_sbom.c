/* ledger_sbom: SBOM components per target and the fleet's current images (see
 * ledger_sbom.h). */
#include "ledger_sbom.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ledger_internal.h"

static const char sbom_schema[] =
    "CREATE TABLE IF NOT EXISTS sbom_targets ("
    " target_sha256 TEXT PRIMARY KEY NOT NULL," /* the image, as reports name it */
    " target TEXT NOT NULL,"			/* its name when imported */
    " format TEXT NOT NULL,"			/* CycloneDX | SPDX */
    " spec TEXT NOT NULL,"			/* 1.5, 2.3 */
    " sbom_sha256 TEXT NOT NULL,"		/* the signed custom.sbom hash */
    " components INTEGER NOT NULL,"
    " imported_at TEXT NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS sbom_components ("
    " target_sha256 TEXT NOT NULL REFERENCES sbom_targets(target_sha256),"
    " seq INTEGER NOT NULL," /* order in the SBOM */
    " name TEXT NOT NULL, version TEXT, purl TEXT,"
    " purl_base TEXT," /* purl without version, qualifiers, subpath: what matching compares */
    " cpe TEXT, supplier TEXT, hashes TEXT,"
    " PRIMARY KEY (target_sha256, seq)"
    ") WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS sbom_components_name ON sbom_components(name);"
    "CREATE INDEX IF NOT EXISTS sbom_components_purl ON sbom_components(purl_base);";

static int sql_err(ledger *l, upt_err *e, const char *what)
{
	return upt_err_set(e, UPT_E_IO, "ledger: %s: %s", what, sqlite3_errmsg(ledger_sqlite(l)));
}

static int prep(ledger *l, const char *sql, sqlite3_stmt **st, upt_err *e)
{
	return sqlite3_prepare_v2(ledger_sqlite(l), sql, -1, st, NULL) == SQLITE_OK
		   ? UPT_OK
		   : sql_err(l, e, "prepare");
}

static int bind_opt(sqlite3_stmt *st, int i, const char *s)
{
	return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

/* Its own tables, made on first write: independent of the core schema's version. */
static int ledger_sbom_schema(ledger *l, upt_err *e)
{
	return sqlite3_exec(ledger_sqlite(l), sbom_schema, NULL, NULL, NULL) == SQLITE_OK
		   ? UPT_OK
		   : sql_err(l, e, "creating the SBOM tables");
}

static int has_sbom_tables(ledger *l, bool *out, upt_err *e)
{
	sqlite3_stmt *st = NULL;
	int rc = prep(l,
		      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
		      "('sbom_targets', 'sbom_components')",
		      &st, e);
	if (rc == UPT_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			*out = sqlite3_column_int(st, 0) == 2;
		else
			rc = sql_err(l, e, "reading the schema");
	}
	sqlite3_finalize(st);
	return rc;
}

static int step_done(ledger *l, sqlite3_stmt *st, upt_err *e, const char *what)
{
	int src = sqlite3_step(st);
	sqlite3_reset(st);
	return src == SQLITE_DONE ? UPT_OK : sql_err(l, e, what);
}

static int insert_components(ledger *l, const char *target_sha256, const sbom *s, upt_err *e)
{
	sqlite3_stmt *st = NULL;
	int rc =
	    prep(l,
		 "INSERT INTO sbom_components (target_sha256, seq, name, version, purl, "
		 "purl_base, cpe, supplier, hashes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
		 &st, e);
	for (size_t i = 0; rc == UPT_OK && i < s->n; i++) {
		const sbom_component *c = &s->c[i];
		char base[SBOM_FIELD_MAX + 1];
		bool has_base = sbom_purl_base(c->purl, base, sizeof(base));
		sqlite3_bind_text(st, 1, target_sha256, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
		bind_opt(st, 3, c->name);
		bind_opt(st, 4, c->version);
		bind_opt(st, 5, c->purl);
		bind_opt(st, 6, has_base ? base : NULL);
		bind_opt(st, 7, c->cpe);
		bind_opt(st, 8, c->supplier);
		bind_opt(st, 9, c->hashes);
		rc = step_done(l, st, e, "storing a component");
	}
	sqlite3_finalize(st);
	return rc;
}

int ledger_sbom_put(ledger *l, const char *target_sha256, const char *target_name,
		    const char *sbom_sha256, const sbom *s, enum ledger_sbom_result *res,
		    upt_err *e)
{
	int rc = ledger_sbom_schema(l, e);
	sqlite3_stmt *st = NULL;
	bool had = false, same = false;
	if (rc == UPT_OK)
		rc = prep(l, "SELECT sbom_sha256 FROM sbom_targets WHERE target_sha256 = ?1", &st,
			  e);
	if (rc == UPT_OK) {
		sqlite3_bind_text(st, 1, target_sha256, -1, SQLITE_STATIC);
		int src = sqlite3_step(st);
		had = src == SQLITE_ROW;
		same = had && !strcmp((const char *)sqlite3_column_text(st, 0), sbom_sha256);
		if (src != SQLITE_ROW && src != SQLITE_DONE)
			rc = sql_err(l, e, "reading the SBOMs");
	}
	sqlite3_finalize(st);
	st = NULL;
	if (rc || same) {
		*res = LEDGER_SBOM_UNCHANGED;
		return rc;
	}
	if (had)
		rc = prep(l, "DELETE FROM sbom_components WHERE target_sha256 = ?1", &st, e);
	if (rc == UPT_OK && had) {
		sqlite3_bind_text(st, 1, target_sha256, -1, SQLITE_STATIC);
		rc = step_done(l, st, e, "replacing an SBOM");
		sqlite3_finalize(st);
		st = NULL;
	}
	if (rc == UPT_OK)
		rc = prep(
		    l,
		    "INSERT OR REPLACE INTO sbom_targets (target_sha256, target, format, spec, "
		    "sbom_sha256, components, imported_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
		    "?7)",
		    &st, e);
	if (rc == UPT_OK) {
		char now[UPT_RFC3339_LEN + 1];
		upt_rfc3339_format((int64_t)time(NULL), now);
		sqlite3_bind_text(st, 1, target_sha256, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, target_name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, sbom_format_name(s->format), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, s->spec, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, sbom_sha256, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, (sqlite3_int64)s->n);
		sqlite3_bind_text(st, 7, now, -1, SQLITE_TRANSIENT);
		rc = step_done(l, st, e, "storing an SBOM");
	}
	sqlite3_finalize(st);
	if (rc == UPT_OK)
		rc = insert_components(l, target_sha256, s, e);
	if (rc == UPT_OK)
		*res = had ? LEDGER_SBOM_REPLACED : LEDGER_SBOM_ADDED;
	return rc;
}

int ledger_sbom_find(ledger *l, const char *name, const char *purl_base,
		     int (*fn)(const ledger_component *, void *), void *ctx, upt_err *e)
{
	bool tables = false;
	int rc = has_sbom_tables(l, &tables, e);
	if (rc || !tables)
		return rc;
	sqlite3_stmt *st = NULL;
	rc = prep(l,
		  name ? "SELECT c.target_sha256, t.target, c.name, c.version, c.purl FROM "
			 "sbom_components c JOIN sbom_targets t USING (target_sha256) "
			 "WHERE c.name = ?1"
		       : "SELECT c.target_sha256, t.target, c.name, c.version, c.purl FROM "
			 "sbom_components c JOIN sbom_targets t USING (target_sha256) "
			 "WHERE c.purl_base = ?1",
		  &st, e);
	if (rc == UPT_OK)
		sqlite3_bind_text(st, 1, name ? name : purl_base, -1, SQLITE_STATIC);
	int src = SQLITE_DONE;
	while (rc == UPT_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
		ledger_component c = {
		    (const char *)sqlite3_column_text(st, 0),
		    (const char *)sqlite3_column_text(st, 1),
		    (const char *)sqlite3_column_text(st, 2),
		    (const char *)sqlite3_column_text(st, 3),
		    (const char *)sqlite3_column_text(st, 4),
		};
		rc = fn(&c, ctx);
	}
	if (rc == UPT_OK && src != SQLITE_DONE)
		rc = sql_err(l, e, "reading components");
	sqlite3_finalize(st);
	return rc;
}

int ledger_current_each(ledger *l, int (*fn)(const ledger_current *, void *), void *ctx, upt_err *e)
{
	bool tables = false;
	int rc = has_sbom_tables(l, &tables, e);
	if (rc)
		return rc;
	/* The bare columns of a max() aggregate come from the row holding the maximum (SQLite):
	 * the image of each ECU's latest report, in one pass over the primary key. */
	char sql[1024];
	snprintf(sql, sizeof(sql),
		 "SELECT d.device_id, x.ecu, x.filepath, x.sha256, x.c, r.time_effective, "
		 "d.placed_on_market, d.support_years, %s "
		 "FROM devices d "
		 "LEFT JOIN (SELECT device_id, ecu, max(counter) AS c, filepath, sha256 "
		 " FROM ecu_reports GROUP BY device_id, ecu) x ON x.device_id = d.device_id "
		 "LEFT JOIN (SELECT device_id, max(counter) AS c, time_effective "
		 " FROM reports GROUP BY device_id) r ON r.device_id = d.device_id "
		 "ORDER BY d.device_id, x.ecu",
		 tables ? "x.sha256 IN (SELECT target_sha256 FROM sbom_targets)" : "0");
	sqlite3_stmt *st = NULL;
	rc = prep(l, sql, &st, e);
	int src = SQLITE_DONE;
	while (rc == UPT_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
		ledger_current c = {
		    .device_id = (const char *)sqlite3_column_text(st, 0),
		    .ecu = (const char *)sqlite3_column_text(st, 1),
		    .target = (const char *)sqlite3_column_text(st, 2),
		    .sha256 = (const char *)sqlite3_column_text(st, 3),
		    .counter = sqlite3_column_type(st, 4) == SQLITE_NULL
				   ? -1
				   : sqlite3_column_int64(st, 4),
		    .last_report = (const char *)sqlite3_column_text(st, 5),
		    .placed_on_market = (const char *)sqlite3_column_text(st, 6),
		    .support_years =
			sqlite3_column_type(st, 7) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 7),
		    .sbom_known = sqlite3_column_int(st, 8) != 0,
		};
		rc = fn(&c, ctx);
	}
	if (rc == UPT_OK && src != SQLITE_DONE)
		rc = sql_err(l, e, "listing the fleet's images");
	sqlite3_finalize(st);
	return rc;
}

int ledger_running_since(ledger *l, const char *device_id, const char *ecu, const char *sha256,
			 char out[UPT_RFC3339_LEN + 1], upt_err *e)
{
	sqlite3_stmt *st = NULL;
	out[0] = 0;
	int rc =
	    prep(l,
		 "SELECT r.time_effective FROM ecu_reports x JOIN reports r "
		 "ON r.device_id = x.device_id AND r.counter = x.counter "
		 "WHERE x.device_id = ?1 AND x.ecu = ?2 AND x.sha256 IS ?3 AND x.counter > "
		 "coalesce((SELECT max(counter) FROM ecu_reports WHERE device_id = ?1 AND ecu = ?2 "
		 "AND sha256 IS NOT ?3), -1) ORDER BY x.counter LIMIT 1",
		 &st, e);
	if (rc == UPT_OK) {
		bind_opt(st, 1, device_id);
		bind_opt(st, 2, ecu);
		bind_opt(st, 3, sha256);
		int src = sqlite3_step(st);
		if (src == SQLITE_ROW && sqlite3_column_text(st, 0))
			snprintf(out, UPT_RFC3339_LEN + 1, "%s",
				 (const char *)sqlite3_column_text(st, 0));
		else if (src != SQLITE_DONE && src != SQLITE_ROW)
			rc = sql_err(l, e, "reading reports");
	}
	sqlite3_finalize(st);
	return rc;
}
