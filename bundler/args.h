/*
 * args: the bundler's command-line conventions, shared by every subcommand.
 *
 * Options are long (`--name VALUE` or `--name=VALUE`) with a few short aliases (-o). A list
 * option (K.., HW.., ID..) may be repeated, and also takes the words that follow it up to the
 * next option (`--device VIN-1 VIN-2`), so positional arguments go before list options, as
 * the synopses show. `--` ends the options. Errors go to stderr as "uptane-bundle CMD: ...";
 * every command exits with a status of the one table below (cli_exit_status).
 */
#ifndef UPT_BUNDLER_ARGS_H
#define UPT_BUNDLER_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "upt/err.h"

#define ARG_NONE 0 /* a flag */
#define ARG_ONE 1  /* one value; given twice -> usage error */
#define ARG_LIST 2 /* one or more values; repeatable */

typedef struct arg_opt {
	const char *name; /* without the leading "--" */
	char short_name;  /* 0 for none */
	int kind;	  /* ARG_NONE, ARG_ONE, ARG_LIST */
} arg_opt;

typedef struct arg_val {
	const char **v; /* values in command-line order (pointers into argv) */
	size_t n;
	bool set;
} arg_val;

typedef struct args {
	const char *cmd;
	const arg_opt *opts;
	size_t nopts;
	arg_val *vals; /* one per option, same order */
	const char **pos;
	size_t npos;
	bool help;
} args;

/* Parses argv (argv[0] is the command name). Unknown options, missing values, a single-valued
 * option given twice -> UPT_E_USAGE. `--help`/`-h` sets help and stops checking. */
int args_parse(args *a, const char *cmd, const arg_opt *opts, size_t nopts, int argc, char **argv,
	       upt_err *e) UPT_MUST_CHECK;
void args_free(args *a);

/* The value(s) of an option by name (the name must be in the table). */
const arg_val *args_get(const args *a, const char *name);
const char *args_one(const args *a, const char *name); /* NULL when not given */
bool args_flag(const args *a, const char *name);

/* Value parsers: UPT_E_USAGE with the option's name in the message. */
int parse_u64(const char *what, const char *s, uint64_t min, uint64_t max, uint64_t *out,
	      upt_err *e) UPT_MUST_CHECK;
/* SIZE: a number with optional K, M, G (powers of 1024). */
int parse_size(const char *what, const char *s, uint64_t *out, upt_err *e) UPT_MUST_CHECK;
/* "REPO/ROLE=VALUE": repo and role point into a copy the caller frees with free(*copy). */
int parse_assign(const char *what, const char *s, char **copy, const char **left,
		 const char **right, upt_err *e) UPT_MUST_CHECK;

/* The bundler's exit statuses, one table for every command (printed by `uptane-bundle --help`,
 * in README.md "Exit status" and uptane-bundle(1)). Scripts rely on them: keep them. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_INTERNAL 1	  /* out of memory, a bug, the ledger locked: try again */
#define CLI_EXIT_USAGE 2	  /* usage or input error: nothing was changed */
#define CLI_EXIT_NOT_FOR_DEVICE 3 /* verify: not for this device, or already up to date */
#define CLI_EXIT_REJECTED 4	  /* verify, inspect: bundle rejected; ingest: reports rejected */
/* The status for an error code: CLI_EXIT_INTERNAL or CLI_EXIT_USAGE (0 for UPT_OK). The
 * verdicts 3 and 4 are the commands' own outcomes, never an error code's. */
int cli_exit_status(int code);
/* The table as --help shows it: one "  N  meaning" line per status. */
void cli_print_exit_table(FILE *f);

/* Prints "uptane-bundle CMD: msg" (and the failing file) to stderr and returns
 * cli_exit_status(e->code). */
int cli_fail(const char *cmd, const upt_err *e);
/* Prints a usage error and returns 2. */
int cli_usage(const char *cmd, const char *usage, const char *fmt, ...) UPT_PRINTF(3, 4);
/* Every command's start: parses argv into *a (args_free it in any case). Returns true when the
 * command goes on; false with *status set: 2 after a usage error (printed), 0 after --help
 * (the usage printed to stdout). */
bool cli_start(args *a, const char *cmd, const char *usage, const arg_opt *opts, size_t nopts,
	       int argc, char **argv, int *status);
/* A command's whole frame: cli_start, run(a) when the command goes on, args_free. Returns the
 * exit status (cli_start's, or run's). */
int cli_run(const char *cmd, const char *usage, const arg_opt *opts, size_t nopts, int argc,
	    char **argv, int (*run)(const args *a));
void cli_warn(const char *cmd, const char *fmt, ...) UPT_PRINTF(2, 3);
/* True when --help or -h comes before any "--" in argv[1..]: for the commands that parse
 * their own arguments (devices, reports), so `CMD SUB --help` prints the usage as elsewhere. */
bool cli_wants_help(int argc, char **argv);

/* Copies s for printing to a terminal: control and non-ASCII bytes become '?', cut at max. */
void safe_str(const char *s, char *out, size_t outsz);

/* The current time (seconds since the epoch, UTC). */
int64_t now_utc(void);

#endif
