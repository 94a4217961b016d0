/* rows_out: tables and CSV of JSON rows (see rows_out.h). */
#include "rows_out.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define CELL_MAX 4096
#define WIDTH_MAX 48

static void cell(const json_t *row, const rows_col *col, char *buf, size_t n)
{
	const json_t *v = json_object_get(row, col->key);
	if (json_is_array(v))
		snprintf(buf, n, "%zu", json_array_size(v));
	else if (json_is_string(v))
		snprintf(buf, n, "%s", json_string_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, n, "%s", json_is_true(v) ? "yes" : "no");
	else if (json_is_integer(v))
		snprintf(buf, n, "%lld", (long long)json_integer_value(v));
	else
		buf[0] = 0;
}

/* Printable ASCII as is, anything else as \xNN; the printed width is returned. */
static size_t put_escaped(const char *s)
{
	size_t w = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p >= 0x20 && *p < 0x7f) {
			putchar(*p);
			w++;
		} else {
			printf("\\x%02x", *p);
			w += 4;
		}
	}
	return w;
}

static void table_cell(const json_t *row, const rows_col *col, char *buf)
{
	cell(row, col, buf, CELL_MAX);
	if (col->shorten && strlen(buf) > col->shorten)
		buf[col->shorten] = 0;
}

void rows_print_table(const json_t *rows, const rows_col *cols, size_t ncols)
{
	size_t width[32];
	char buf[CELL_MAX];
	if (ncols > 32)
		ncols = 32;
	for (size_t c = 0; c < ncols; c++)
		width[c] = strlen(cols[c].head);
	for (size_t i = 0; i < json_array_size(rows); i++)
		for (size_t c = 0; c < ncols; c++) {
			table_cell(json_array_get(rows, i), &cols[c], buf);
			size_t len = strlen(buf) > WIDTH_MAX ? WIDTH_MAX : strlen(buf);
			if (len > width[c])
				width[c] = len;
		}
	for (size_t c = 0; c < ncols; c++)
		printf("%-*s%s", (int)width[c], cols[c].head, c + 1 < ncols ? "  " : "\n");
	for (size_t i = 0; i < json_array_size(rows); i++)
		for (size_t c = 0; c < ncols; c++) {
			table_cell(json_array_get(rows, i), &cols[c], buf);
			size_t len = put_escaped(buf[0] ? buf : "-");
			if (c + 1 < ncols)
				printf("%*s", (int)(width[c] > len ? width[c] - len : 0) + 2, "");
			else
				putchar('\n');
		}
}

static void put_csv(const char *s)
{
	bool quote = strpbrk(s, ",\"") != NULL;
	bool formula = s[0] && strchr("=+-@", s[0]) != NULL;
	if (quote || formula)
		putchar('"');
	if (formula)
		putchar('\'');
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			putchar('"');
		char one[2] = {*p, 0};
		put_escaped(one);
	}
	if (quote || formula)
		putchar('"');
}

void rows_print_csv(const json_t *rows, const rows_col *cols, size_t ncols)
{
	char buf[CELL_MAX];
	for (size_t c = 0; c < ncols; c++)
		printf("%s%s", c ? "," : "", cols[c].key);
	putchar('\n');
	for (size_t i = 0; i < json_array_size(rows); i++) {
		for (size_t c = 0; c < ncols; c++) {
			if (c)
				putchar(',');
			cell(json_array_get(rows, i), &cols[c], buf, sizeof(buf));
			put_csv(buf);
		}
		putchar('\n');
	}
}
