/*
 * rows_out: a list of JSON row objects printed for people (an aligned table) or spreadsheets
 * (CSV), the columns named by the caller. Row fields may come from devices, SBOMs and
 * advisories: bytes outside printable ASCII are printed as \xNN, never as they are.
 */
#ifndef UPT_BUNDLER_ROWS_OUT_H
#define UPT_BUNDLER_ROWS_OUT_H

#include <jansson.h>
#include <stddef.h>

typedef struct rows_col {
	const char *key;  /* the row member */
	const char *head; /* the table heading */
	size_t shorten;	  /* the table shows at most this many characters (0: up to 48) */
} rows_col;

/* Strings as they are, null as "", true/false as yes/no, numbers in decimal, arrays as their
 * size. */
void rows_print_table(const json_t *rows, const rows_col *cols, size_t ncols);
/* RFC 4180; a cell that a spreadsheet would run as a formula (=, +, -, @ first) gets a leading
 * quote. The header line names the keys. */
void rows_print_csv(const json_t *rows, const rows_col *cols, size_t ncols);

#endif
