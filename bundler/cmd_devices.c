/* uptane-bundle devices add|import|list: the device registry of the fleet ledger (see
 * docs/reports.md): each device's id, the ed25519 key its reports are signed with, and its EU Cyber
 * Resilience Act support period (placed on the market + support years).
 *
 * Exit status: the bundler's table (args.h): 0 ok, 1 internal error or the ledger locked, 2 usage
 * or input error. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "ledger.h"
#include "upt/fileio.h"
#include "upt/hex.h"
#include "upt/imgcrypt.h"
#include "upt/rfc3339.h"
#include "upt/sig.h"

static const char usage[] =
    "usage: uptane-bundle devices add --ledger FILE --device ID --public-key DEV.pub\n"
    "                     [--placed-on-market DATE] [--support-years N]\n"
    "                     [--encryption-key ENC.pub]\n"
    "       uptane-bundle devices import --ledger FILE DEVICES.csv\n"
    "       uptane-bundle devices list --ledger FILE [--json]\n"
    "\n"
    "DEVICES.csv: a header line device_id,public_key_file,placed_on_market,"
    "support_years,\n"
    "optionally followed by ,encryption_key_file; then one device a line; key paths "
    "are\n"
    "relative to the CSV; every field but the first two may be empty.\n"
    "--encryption-key (and encryption_key_file): the device's X25519 public key (key\n"
    "generate --x25519) that create --encrypt --ledger wraps image keys for.\n"
    "DATE (--placed-on-market, and the CSV's field): YYYY-MM-DD, or a time\n"
    "YYYY-MM-DDTHH:MM:SSZ of that day (UTC). The support period ends support_years\n"
    "calendar years later (29 February: 28 February in a common year).\n"
    "add on a registered device with the same key updates its support period; another "
    "key is refused.\n"
    "exit status: 0 ok, 1 internal error or the ledger locked, 2 usage or input error\n";

static int parse_years(const char *s, int *out, upt_err *e)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (!*s || *end || errno || s[0] == '-' || s[0] == '+' || v < 0 ||
	    v > LEDGER_SUPPORT_YEARS_MAX)
		return upt_err_set(e, UPT_E_USAGE,
				   "support years \"%.20s\" is not a whole number "
				   "from 0 to %d",
				   s, LEDGER_SUPPORT_YEARS_MAX);
	*out = (int)v;
	return UPT_OK;
}

/* Builds a registry entry from the operator's (already separated) fields. */
static int make_device(const char *id, const char *keyfile, const char *pom, const char *years,
		       ledger_device *out, upt_err *e)
{
	ledger_device d;
	memset(&d, 0, sizeof(d));
	d.support_years = -1;
	if (!ledger_device_id_ok(id))
		return upt_err_set(
		    e, UPT_E_USAGE,
		    "device id \"%.140s\" does not match [A-Za-z0-9_-][A-Za-z0-9._-]{0,127} "
		    "(it names a directory on the stick)",
		    id);
	snprintf(d.device_id, sizeof(d.device_id), "%s", id);
	int rc = upt_pubkey_load(keyfile, &d.key, e);
	if (rc) {
		if (e && !strstr(e->msg, keyfile))
			upt_err_prefix(e, "%s", keyfile);
		upt_err_prefix(e, "public key of %s", id);
		return rc;
	}
	if (!d.key.ed25519)
		return upt_err_set(e, UPT_E_USAGE,
				   "%s: not an ed25519 key (device reports are "
				   "signed with ed25519, docs/reports.md)",
				   keyfile);
	if (pom && *pom) {
		int64_t t;
		char iso[UPT_RFC3339_LEN + 1];
		rc = upt_time_parse(pom, &t, e);
		if (rc)
			return upt_err_prefix(e, "placed on market");
		upt_rfc3339_format(t, iso); /* the ledger keeps the day (UTC) */
		snprintf(d.placed_on_market, sizeof(d.placed_on_market), "%.*s", LEDGER_DATE_LEN,
			 iso);
	}
	if (years && *years) {
		rc = parse_years(years, &d.support_years, e);
		if (rc)
			return rc;
	}
	*out = d;
	return UPT_OK;
}

/* The device's X25519 encryption key (docs/bundle-format.md, "Encrypted images"), recorded
 * beside its registration; *keyid gets its key id. */
static int put_encryption_key(ledger *l, const char *id, const char *path, char *keyid, upt_err *e)
{
	uint8_t pub[UPT_X25519_LEN];
	int rc = upt_x25519_load_public(path, pub, e);
	if (rc == UPT_OK)
		rc = upt_crypt_keyid(pub, keyid, e);
	if (rc == UPT_OK)
		rc = ledger_encryption_key_put(l, id, pub, keyid, e);
	if (rc)
		upt_err_prefix(e, "encryption key of %s (%s)", id, path);
	return rc;
}

static const char *put_word(enum ledger_put_result r)
{
	return r == LEDGER_PUT_ADDED	 ? "registered"
	       : r == LEDGER_PUT_UPDATED ? "updated"
					 : "unchanged";
}

static const arg_opt add_opts[] = {
    {"ledger", 0, ARG_ONE},	      {"device", 0, ARG_ONE},	     {"public-key", 0, ARG_ONE},
    {"placed-on-market", 0, ARG_ONE}, {"support-years", 0, ARG_ONE}, {"encryption-key", 0, ARG_ONE},
};

static int devices_add_run(const args *a)
{
	const char *ledger_path = args_one(a, "ledger"), *id = args_one(a, "device"),
		   *key = args_one(a, "public-key"), *pom = args_one(a, "placed-on-market"),
		   *years = args_one(a, "support-years"), *enc = args_one(a, "encryption-key");
	if (a->npos)
		return cli_usage("devices add", usage, "unknown argument \"%s\"", a->pos[0]);
	if (!ledger_path || !id || !key)
		return cli_usage("devices add", usage,
				 "--ledger, --device and --public-key are required");
	upt_err e;
	upt_err_clear(&e);
	ledger_device d;
	ledger *l = NULL;
	enum ledger_put_result res = LEDGER_PUT_UNCHANGED;
	int rc = make_device(id, key, pom, years, &d, &e);
	if (rc == UPT_OK)
		rc = ledger_open(ledger_path, LEDGER_CREATE, &l, &e);
	if (rc == UPT_OK)
		rc = ledger_begin(l, &e);
	if (rc == UPT_OK)
		rc = ledger_device_put(l, &d, &res, &e);
	char enc_id[UPT_CRYPT_KEYID_HEX + 1] = "";
	if (rc == UPT_OK && enc)
		rc = put_encryption_key(l, d.device_id, enc, enc_id, &e);
	if (rc == UPT_OK)
		rc = ledger_commit(l, &e);
	ledger_close(l);
	if (rc) {
		fprintf(stderr, "uptane-bundle devices add: %s\n", e.msg);
		return cli_exit_status(rc);
	}
	printf("%s %s (keyid %.16s)", put_word(res), d.device_id, d.key.keyid);
	if (enc)
		printf(", encryption key %.16s", enc_id);
	putchar('\n');
	return 0;
}

static int devices_add(int argc, char **argv)
{
	return cli_run("devices add", usage, add_opts, sizeof(add_opts) / sizeof(add_opts[0]), argc,
		       argv, devices_add_run);
}

/* ---- import ---- */

/* Splits one CSV line (RFC 4180 quoting: "a,b" and "" inside quotes) into at most nmax fields,
 * in place. Returns the field count, or -1 on a quoting error or too many fields. */
static int csv_split(char *line, char **fields, int nmax)
{
	int n = 0;
	char *p = line;
	for (;;) {
		if (n == nmax)
			return -1;
		while (*p == ' ' || *p == '\t')
			p++;
		char *w = p;
		fields[n++] = w;
		if (*p == '"') {
			p++;
			for (;;) {
				if (!*p)
					return -1;
				if (*p == '"' && p[1] == '"') {
					*w++ = '"';
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else {
					*w++ = *p++;
				}
			}
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p && *p != ',')
				return -1;
		} else {
			while (*p && *p != ',') {
				if (*p == '"')
					return -1;
				*w++ = *p++;
			}
			while (w > fields[n - 1] && (w[-1] == ' ' || w[-1] == '\t'))
				w--;
		}
		char sep = *p;
		*w = 0;
		if (!sep)
			return n;
		p++;
	}
}

/* A path from the CSV: relative to the CSV's directory (its first dirlen bytes). */
static char *csv_relative(const char *csv, size_t dirlen, const char *field)
{
	size_t klen = strlen(field);
	char *path = malloc(dirlen + klen + 1);
	if (!path)
		return NULL;
	if (field[0] == '/') {
		memcpy(path, field, klen + 1);
	} else {
		memcpy(path, csv, dirlen);
		memcpy(path + dirlen, field, klen + 1);
	}
	return path;
}

static const arg_opt ledger_opt[] = {{"ledger", 0, ARG_ONE}};

static int devices_import_run(const args *a)
{
	const char *ledger_path = args_one(a, "ledger"), *csv = a->npos ? a->pos[0] : NULL;
	if (a->npos > 1)
		return cli_usage("devices import", usage, "unexpected argument \"%s\"", a->pos[1]);
	if (!ledger_path || !csv)
		return cli_usage("devices import", usage,
				 "--ledger FILE and DEVICES.csv are required");
	upt_err e;
	upt_err_clear(&e);
	upt_buf in;
	upt_buf_init(&in, LEDGER_CSV_MAX);
	ledger *l = NULL;
	char *keypath = NULL;
	size_t counts[3] = {0, 0, 0};
	long lineno = 0;
	/* Key paths are relative to the CSV's directory. */
	const char *slash = strrchr(csv, '/');
	size_t dirlen = slash ? (size_t)(slash - csv) + 1 : 0;

	int rc = upt_file_read(AT_FDCWD, csv, LEDGER_CSV_MAX, &in, &e);
	if (rc == UPT_OK && memchr(in.data, 0, in.len))
		rc = upt_err_set(&e, UPT_E_USAGE, "%s: holds a NUL byte: not a CSV file", csv);
	if (rc == UPT_OK)
		rc = ledger_open(ledger_path, LEDGER_CREATE, &l, &e);
	if (rc == UPT_OK)
		rc = ledger_begin(l, &e);
	char *p = (char *)in.data;
	/* A spreadsheet's UTF-8 byte order mark before the header is not part of it. */
	if (rc == UPT_OK && in.len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
		p += 3;
	bool header = false;
	int columns = 4;
	while (rc == UPT_OK && p && *p) {
		char *line = p, *nl = strchr(p, '\n');
		p = nl ? nl + 1 : NULL;
		if (nl)
			*nl = 0;
		lineno++;
		size_t len = strlen(line);
		if (len && line[len - 1] == '\r')
			line[--len] = 0;
		if (!len)
			continue;
		char *f[5];
		int n = csv_split(line, f, 5);
		if (!header) {
			/* the fifth column, encryption_key_file, is optional */
			if ((n != 4 && n != 5) || strcmp(f[0], "device_id") ||
			    strcmp(f[1], "public_key_file") || strcmp(f[2], "placed_on_market") ||
			    strcmp(f[3], "support_years") ||
			    (n == 5 && strcmp(f[4], "encryption_key_file")))
				rc = upt_err_set(&e, UPT_E_USAGE,
						 "%s:%ld: the header must be "
						 "device_id,public_key_file,placed_on_market,"
						 "support_years[,encryption_key_file]",
						 csv, lineno);
			columns = n;
			header = true;
			continue;
		}
		if (n < 0 || n > columns) {
			rc = upt_err_set(&e, UPT_E_USAGE, "%s:%ld: %smore than %d fields", csv,
					 lineno, n < 0 ? "unbalanced quotes or " : "", columns);
			break;
		}
		if (n != columns) {
			rc = upt_err_set(&e, UPT_E_USAGE, "%s:%ld: expected %d fields", csv, lineno,
					 columns);
			break;
		}
		if (!f[1][0]) {
			rc = upt_err_set(&e, UPT_E_USAGE, "%s:%ld: public_key_file is empty", csv,
					 lineno);
			break;
		}
		free(keypath);
		keypath = csv_relative(csv, dirlen, f[1]);
		if (!keypath) {
			rc = upt_err_set(&e, UPT_E_NOMEM, "out of memory");
			break;
		}
		ledger_device d;
		enum ledger_put_result res;
		rc = make_device(f[0], keypath, f[2], f[3], &d, &e);
		if (rc == UPT_OK)
			rc = ledger_device_put(l, &d, &res, &e);
		if (rc == UPT_OK && columns == 5 && f[4][0]) {
			char *enc = csv_relative(csv, dirlen, f[4]);
			char enc_id[UPT_CRYPT_KEYID_HEX + 1];
			rc = enc ? put_encryption_key(l, d.device_id, enc, enc_id, &e)
				 : upt_err_set(&e, UPT_E_NOMEM, "out of memory");
			free(enc);
		}
		if (rc) {
			upt_err_prefix(&e, "%s:%ld", csv, lineno);
			break;
		}
		counts[res]++;
	}
	if (rc == UPT_OK && !header)
		rc = upt_err_set(&e, UPT_E_USAGE, "%s: empty (no header line)", csv);
	/* All or nothing: one bad line leaves the ledger as it was. */
	if (rc == UPT_OK)
		rc = ledger_commit(l, &e);
	ledger_close(l);
	free(keypath);
	upt_buf_clear(&in);
	if (rc) {
		fprintf(stderr, "uptane-bundle devices import: %s (nothing imported)\n", e.msg);
		return cli_exit_status(rc);
	}
	printf("devices import: %zu registered, %zu updated, %zu unchanged\n",
	       counts[LEDGER_PUT_ADDED], counts[LEDGER_PUT_UPDATED], counts[LEDGER_PUT_UNCHANGED]);
	return 0;
}

static int devices_import(int argc, char **argv)
{
	return cli_run("devices import", usage, ledger_opt, 1, argc, argv, devices_import_run);
}

/* ---- list ---- */

typedef struct list_ctx {
	bool json;
	json_t *arr;
	int rows;
} list_ctx;

static json_t *str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

static int list_one(const ledger_device_info *d, void *vctx)
{
	list_ctx *c = vctx;
	char pub[2 * sizeof(d->dev.key.pub) + 1];
	upt_hex_encode(d->dev.key.pub, sizeof(d->dev.key.pub), pub);
	if (c->json) {
		json_t *o = json_pack(
		    "{s:s, s:s, s:s, s:o, s:o, s:o, s:I, s:o, s:o}", "device_id", d->dev.device_id,
		    "keyid", d->dev.key.keyid, "public_key", pub, "placed_on_market",
		    str_or_null(d->dev.placed_on_market), "support_years",
		    d->dev.support_years >= 0 ? json_integer(d->dev.support_years) : json_null(),
		    "support_ends", str_or_null(d->support_ends), "reports", (json_int_t)d->reports,
		    "last_counter",
		    d->last_counter >= 0 ? json_integer(d->last_counter) : json_null(),
		    "last_report", str_or_null(d->last_report));
		if (!o || json_array_append_new(c->arr, o))
			return UPT_E_NOMEM;
	} else {
		if (c->rows++ == 0)
			printf("%-24s %-16s %-10s %5s %-12s %7s %s\n", "DEVICE", "KEYID",
			       "ON-MARKET", "YEARS", "SUPPORT-ENDS", "REPORTS", "LAST-REPORT");
		char years[16];
		snprintf(years, sizeof(years), "%d", d->dev.support_years);
		/* Names were validated on registration: printable, no terminal escapes. */
		printf("%-24s %-16.16s %-10s %5s %-12s %7lld %s\n", d->dev.device_id,
		       d->dev.key.keyid, d->dev.placed_on_market[0] ? d->dev.placed_on_market : "-",
		       d->dev.support_years >= 0 ? years : "-",
		       d->support_ends[0] ? d->support_ends : "-", (long long)d->reports,
		       d->last_report[0] ? d->last_report : "-");
	}
	return UPT_OK;
}

static const arg_opt list_opts[] = {{"ledger", 0, ARG_ONE}, {"json", 0, ARG_NONE}};

static int devices_list_run(const args *a)
{
	const char *ledger_path = args_one(a, "ledger");
	list_ctx c = {0};
	c.json = args_flag(a, "json");
	if (a->npos)
		return cli_usage("devices list", usage, "unexpected argument \"%s\"", a->pos[0]);
	if (!ledger_path)
		return cli_usage("devices list", usage, "--ledger FILE is required");
	upt_err e;
	upt_err_clear(&e);
	ledger *l = NULL;
	c.arr = json_array();
	int rc = c.arr ? UPT_OK : upt_err_set(&e, UPT_E_NOMEM, "out of memory");
	if (rc == UPT_OK)
		rc = ledger_open(ledger_path, LEDGER_READ, &l, &e);
	if (rc == UPT_OK) {
		rc = ledger_device_each(l, list_one, &c, &e);
		if (rc == UPT_E_NOMEM)
			upt_err_set(&e, rc, "out of memory");
	}
	ledger_close(l);
	if (rc == UPT_OK && c.json) {
		if (json_dumpf(c.arr, stdout, JSON_INDENT(2)) != 0)
			rc = upt_err_set(&e, UPT_E_IO, "cannot write the list");
		else
			putchar('\n');
	}
	json_decref(c.arr);
	if (rc) {
		fprintf(stderr, "uptane-bundle devices list: %s\n", e.msg);
		return cli_exit_status(rc);
	}
	return 0;
}

static int devices_list(int argc, char **argv)
{
	return cli_run("devices list", usage, list_opts, 2, argc, argv, devices_list_run);
}

int cmd_devices(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return CLI_EXIT_USAGE;
	}
	/* Also `devices add --help`: the usage covers every subcommand. */
	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "add"))
		return devices_add(argc - 1, argv + 1);
	if (!strcmp(argv[1], "import"))
		return devices_import(argc - 1, argv + 1);
	if (!strcmp(argv[1], "list"))
		return devices_list(argc - 1, argv + 1);
	return cli_usage("devices", usage, "unknown subcommand \"%s\"", argv[1]);
}
