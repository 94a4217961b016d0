/* args: option parsing, value parsers and error printing for every subcommand. */
#include "args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int find_long(const args *a, const char *name, size_t len)
{
	for (size_t i = 0; i < a->nopts; i++)
		if (strlen(a->opts[i].name) == len && !strncmp(a->opts[i].name, name, len))
			return (int)i;
	return -1;
}

static int find_short(const args *a, char c)
{
	for (size_t i = 0; i < a->nopts; i++)
		if (a->opts[i].short_name && a->opts[i].short_name == c)
			return (int)i;
	return -1;
}

static int push(arg_val *v, const char *s, upt_err *e)
{
	const char **nv = realloc(v->v, (v->n + 1) * sizeof(*nv));
	if (!nv)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	nv[v->n++] = s;
	v->v = nv;
	v->set = true;
	return UPT_OK;
}

int args_parse(args *a, const char *cmd, const arg_opt *opts, size_t nopts, int argc, char **argv,
	       upt_err *e)
{
	memset(a, 0, sizeof(*a));
	a->cmd = cmd;
	a->opts = opts;
	a->nopts = nopts;
	a->vals = calloc(nopts ? nopts : 1, sizeof(*a->vals));
	a->pos = calloc((size_t)(argc > 0 ? argc : 1), sizeof(*a->pos));
	if (!a->vals || !a->pos)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	bool only_pos = false;
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		if (only_pos || s[0] != '-' || s[1] == '\0') {
			a->pos[a->npos++] = s;
			continue;
		}
		if (!strcmp(s, "--")) {
			only_pos = true;
			continue;
		}
		if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
			a->help = true;
			return UPT_OK;
		}
		int idx;
		const char *inline_val = NULL;
		if (s[1] == '-') {
			const char *eq = strchr(s + 2, '=');
			size_t len = eq ? (size_t)(eq - (s + 2)) : strlen(s + 2);
			idx = find_long(a, s + 2, len);
			if (eq)
				inline_val = eq + 1;
		} else {
			idx = s[2] == '\0' ? find_short(a, s[1]) : -1;
		}
		if (idx < 0)
			return upt_err_set(e, UPT_E_USAGE, "unknown option \"%s\"", s);
		const arg_opt *o = &opts[idx];
		arg_val *v = &a->vals[idx];
		if (o->kind == ARG_NONE) {
			if (inline_val)
				return upt_err_set(e, UPT_E_USAGE, "--%s takes no value", o->name);
			v->set = true;
			continue;
		}
		if (o->kind == ARG_ONE && v->set)
			return upt_err_set(e, UPT_E_USAGE, "--%s given twice", o->name);
		const char *val = inline_val;
		if (!val) {
			if (i + 1 >= argc)
				return upt_err_set(e, UPT_E_USAGE, "--%s needs a value", o->name);
			val = argv[++i];
		}
		int rc = push(v, val, e);
		if (rc)
			return rc;
		/* A list option also takes the following words, up to the next option. */
		while (o->kind == ARG_LIST && i + 1 < argc && argv[i + 1][0] != '-') {
			rc = push(v, argv[++i], e);
			if (rc)
				return rc;
		}
	}
	return UPT_OK;
}

void args_free(args *a)
{
	if (a->vals)
		for (size_t i = 0; i < a->nopts; i++)
			free(a->vals[i].v);
	free(a->vals);
	free(a->pos);
	memset(a, 0, sizeof(*a));
}

const arg_val *args_get(const args *a, const char *name)
{
	int idx = find_long(a, name, strlen(name));
	if (idx < 0) {
		static const arg_val none;
		return &none;
	}
	return &a->vals[idx];
}

const char *args_one(const args *a, const char *name)
{
	const arg_val *v = args_get(a, name);
	return v->n ? v->v[0] : NULL;
}

bool args_flag(const args *a, const char *name)
{
	return args_get(a, name)->set;
}

int parse_u64(const char *what, const char *s, uint64_t min, uint64_t max, uint64_t *out,
	      upt_err *e)
{
	if (!s[0] || s[0] < '0' || s[0] > '9')
		return upt_err_set(e, UPT_E_USAGE, "%s \"%s\": expected a number", what, s);
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return upt_err_set(e, UPT_E_USAGE, "%s \"%s\": expected a number", what, s);
	if (v < min || v > max)
		return upt_err_set(e, UPT_E_USAGE, "%s %llu: must be between %llu and %llu", what,
				   v, (unsigned long long)min, (unsigned long long)max);
	*out = v;
	return UPT_OK;
}

int parse_size(const char *what, const char *s, uint64_t *out, upt_err *e)
{
	size_t len = strlen(s);
	if (len == 0 || len > 24)
		return upt_err_set(e, UPT_E_USAGE, "%s \"%s\": expected a size like 4000M", what,
				   s);
	char num[32];
	memcpy(num, s, len + 1);
	unsigned shift = 0;
	switch (num[len - 1]) {
	case 'K':
	case 'k':
		shift = 10;
		break;
	case 'M':
	case 'm':
		shift = 20;
		break;
	case 'G':
	case 'g':
		shift = 30;
		break;
	default:
		break;
	}
	if (shift)
		num[len - 1] = '\0';
	uint64_t v;
	int rc = parse_u64(what, num, 1, UINT64_MAX >> shift, &v, e);
	if (rc)
		return upt_err_set(e, UPT_E_USAGE,
				   "%s \"%s\": expected a size: a number with K, M or G", what, s);
	*out = v << shift;
	return UPT_OK;
}

int parse_assign(const char *what, const char *s, char **copy, const char **left,
		 const char **right, upt_err *e)
{
	const char *eq = strchr(s, '=');
	if (!eq || eq == s || !eq[1])
		return upt_err_set(e, UPT_E_USAGE, "%s \"%s\": expected NAME=VALUE", what, s);
	char *c = strdup(s);
	if (!c)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	c[eq - s] = '\0';
	*copy = c;
	*left = c;
	*right = c + (eq - s) + 1;
	return UPT_OK;
}

int cli_exit_status(int code)
{
	switch (code) {
	case UPT_OK:
		return CLI_EXIT_OK;
	case UPT_E_INTERNAL:
	case UPT_E_NOMEM:
	case UPT_E_BUSY:
		return CLI_EXIT_INTERNAL;
	default:
		return CLI_EXIT_USAGE;
	}
}

static const struct {
	int status;
	const char *meaning;
} exit_table[] = {
    {CLI_EXIT_OK, "ok"},
    {CLI_EXIT_INTERNAL, "internal error: out of memory, a bug, the ledger locked (try again)"},
    {CLI_EXIT_USAGE, "usage or input error"},
    {CLI_EXIT_NOT_FOR_DEVICE, "verify: not for this device, or already up to date"},
    {CLI_EXIT_REJECTED, "verify, inspect: bundle rejected; reports ingest: reports rejected"},
};

void cli_print_exit_table(FILE *f)
{
	fprintf(f, "exit status:\n");
	for (size_t i = 0; i < sizeof(exit_table) / sizeof(exit_table[0]); i++)
		fprintf(f, "  %d  %s\n", exit_table[i].status, exit_table[i].meaning);
}

int cli_fail(const char *cmd, const upt_err *e)
{
	char msg[UPT_ERR_MSG_MAX];
	safe_str(e->msg[0] ? e->msg : "failed", msg, sizeof(msg));
	if (e->file[0]) {
		char file[UPT_ERR_FILE_MAX];
		safe_str(e->file, file, sizeof(file));
		fprintf(stderr, "uptane-bundle %s: %s: %s\n", cmd, file, msg);
	} else {
		fprintf(stderr, "uptane-bundle %s: %s\n", cmd, msg);
	}
	return cli_exit_status(e->code);
}

int cli_usage(const char *cmd, const char *usage, const char *fmt, ...)
{
	char msg[UPT_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "uptane-bundle %s: %s\n%s", cmd, msg, usage);
	return CLI_EXIT_USAGE;
}

bool cli_start(args *a, const char *cmd, const char *usage, const arg_opt *opts, size_t nopts,
	       int argc, char **argv, int *status)
{
	upt_err e;
	upt_err_clear(&e);
	if (args_parse(a, cmd, opts, nopts, argc, argv, &e) != UPT_OK) {
		*status = cli_usage(cmd, usage, "%s", e.msg);
		return false;
	}
	if (a->help) {
		fputs(usage, stdout);
		*status = 0;
		return false;
	}
	return true;
}

int cli_run(const char *cmd, const char *usage, const arg_opt *opts, size_t nopts, int argc,
	    char **argv, int (*run)(const args *a))
{
	args a;
	int status;
	if (cli_start(&a, cmd, usage, opts, nopts, argc, argv, &status))
		status = run(&a);
	args_free(&a);
	return status;
}

bool cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

void cli_warn(const char *cmd, const char *fmt, ...)
{
	char msg[UPT_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "uptane-bundle %s: warning: %s\n", cmd, msg);
}

void safe_str(const char *s, char *out, size_t outsz)
{
	size_t i = 0;
	if (!outsz)
		return;
	for (; s && s[i] && i + 1 < outsz; i++) {
		unsigned char c = (unsigned char)s[i];
		out[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	out[i] = '\0';
}

int64_t now_utc(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}
