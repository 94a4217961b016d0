/* html: the self-contained fleet page (see html.h). */
#include "html.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"
#include "upt/buf.h"
#include "upt/fileio.h"
#include "upt/rfc3339.h"

#define HTML_MAX (512u << 20)
#define CHART_LEFT 220	/* px for the device names */
#define CHART_WIDTH 720 /* px for the time axis */
#define BAR_PITCH 22
#define BAR_HEIGHT 14

typedef struct page {
	upt_buf b;
	int rc;
	upt_err *e;
} page;

static void put(page *p, const char *s)
{
	if (p->rc == UPT_OK)
		p->rc = upt_buf_append_str(&p->b, s, p->e);
}

static void putf(page *p, const char *fmt, ...) UPT_PRINTF(2, 3);
static void putf(page *p, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	put(p, tmp);
}

/* Text and attribute values: the five characters HTML gives meaning to, and control bytes
 * dropped (they come from devices and SBOMs). */
static void put_text(page *p, const char *s)
{
	char one[2] = {0, 0};
	for (; s && *s && p->rc == UPT_OK; s++) {
		switch (*s) {
		case '&':
			put(p, "&amp;");
			break;
		case '<':
			put(p, "&lt;");
			break;
		case '>':
			put(p, "&gt;");
			break;
		case '"':
			put(p, "&quot;");
			break;
		case '\'':
			put(p, "&#39;");
			break;
		default:
			if ((unsigned char)*s >= 0x20 && *s != 0x7f) {
				one[0] = *s;
				put(p, one);
			}
		}
	}
}

typedef struct device {
	const char *id;
	int64_t start, end; /* placed on the market, support end; 0 unknown */
	int64_t installs[16];
	size_t ninstalls;
	bool affected;
} device;

static int64_t day_of(const char *date)
{
	int64_t t = 0;
	return date && ledger_date_parse(date, &t, NULL) == UPT_OK ? t : 0;
}

/* Devices in row order, each once. */
static device *devices_of(const json_t *rows, size_t *n)
{
	device *d = calloc(json_array_size(rows) + 1, sizeof(*d));
	if (!d)
		return NULL;
	*n = 0;
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r)
	{
		const char *id = json_string_value(json_object_get(r, "device_id"));
		if (!id)
			continue;
		device *x = *n && !strcmp(d[*n - 1].id, id) ? &d[*n - 1] : &d[(*n)++];
		x->id = id;
		x->start = day_of(json_string_value(json_object_get(r, "placed_on_market")));
		x->end = day_of(json_string_value(json_object_get(r, "support_ends")));
		const char *st = json_string_value(json_object_get(r, "status"));
		x->affected |= st && !strcmp(st, "affected");
		int64_t t;
		const char *at = json_string_value(json_object_get(r, "installed_at"));
		if (at && upt_rfc3339_parse(at, &t, NULL) == UPT_OK &&
		    x->ninstalls < sizeof(x->installs) / sizeof(x->installs[0]))
			x->installs[x->ninstalls++] = t;
	}
	return d;
}

static double xpos(int64_t t, int64_t lo, int64_t hi)
{
	return CHART_LEFT + (double)(t - lo) * CHART_WIDTH / (double)(hi - lo);
}

static void chart(page *p, const device *d, size_t n, int64_t now)
{
	int64_t lo = now, hi = now;
	for (size_t i = 0; i < n; i++) {
		if (d[i].start && d[i].start < lo)
			lo = d[i].start;
		if (d[i].end > hi)
			hi = d[i].end;
		for (size_t k = 0; k < d[i].ninstalls; k++) {
			lo = d[i].installs[k] < lo ? d[i].installs[k] : lo;
			hi = d[i].installs[k] > hi ? d[i].installs[k] : hi;
		}
	}
	lo -= 30 * 86400;
	hi += 30 * 86400;
	int h = (int)n * BAR_PITCH + 40;
	putf(p,
	     "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"support-chart\" width=\"%d\" "
	     "height=\"%d\" role=\"img\" aria-label=\"support period of each device\">\n",
	     CHART_LEFT + CHART_WIDTH + 20, h);
	/* a tick at each 1 January */
	for (int y = 1970; y < 2200; y++) {
		char date[24];
		snprintf(date, sizeof(date), "%04d-01-01", y);
		int64_t t = day_of(date);
		if (t < lo || t > hi)
			continue;
		double x = xpos(t, lo, hi);
		putf(p,
		     "<line class=\"tick\" x1=\"%.1f\" y1=\"0\" x2=\"%.1f\" y2=\"%d\"/>"
		     "<text class=\"year\" x=\"%.1f\" y=\"%d\">%d</text>\n",
		     x, x, h - 20, x + 2, h - 6, y);
	}
	for (size_t i = 0; i < n; i++) {
		int y = (int)i * BAR_PITCH + 6;
		bool known = d[i].start && d[i].end;
		double x0 = xpos(d[i].start ? d[i].start : lo, lo, hi);
		double x1 = xpos(d[i].end ? d[i].end : hi, lo, hi);
		bool past = d[i].end && d[i].end + 86400 <= now;
		put(p, "<g class=\"device");
		put(p, d[i].affected ? " affected" : "");
		put(p, past ? " past-support" : "");
		put(p, "\" data-device=\"");
		put_text(p, d[i].id);
		put(p, "\">");
		putf(p, "<text class=\"name\" x=\"4\" y=\"%d\">", y + BAR_HEIGHT - 3);
		put_text(p, d[i].id);
		put(p, "</text>");
		putf(p,
		     "<rect class=\"support-bar%s\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
		     "height=\"%d\"><title>",
		     known ? "" : " unknown-period", x0, y, x1 - x0 > 1 ? x1 - x0 : 1, BAR_HEIGHT);
		put_text(p, d[i].id);
		put(p, d[i].affected ? ": affected" : "");
		put(p, known ? "" : ": support period not registered");
		put(p, "</title></rect>");
		for (size_t k = 0; k < d[i].ninstalls; k++)
			putf(p,
			     "<circle class=\"install\" cx=\"%.1f\" cy=\"%d\" r=\"4\"><title>"
			     "installed</title></circle>",
			     xpos(d[i].installs[k], lo, hi), y + BAR_HEIGHT / 2);
		put(p, "</g>\n");
	}
	double tx = xpos(now, lo, hi);
	putf(p,
	     "<line id=\"today\" class=\"today\" x1=\"%.1f\" y1=\"0\" x2=\"%.1f\" y2=\"%d\"/>"
	     "<text class=\"today-label\" x=\"%.1f\" y=\"%d\">today</text>\n</svg>\n",
	     tx, tx, h - 20, tx + 3, h - 24);
}

static void table(page *p, const json_t *rows, const rows_col *cols, size_t ncols)
{
	put(p, "<table id=\"fleet\">\n<thead><tr>");
	for (size_t c = 0; c < ncols; c++) {
		put(p, "<th>");
		put_text(p, cols[c].head);
		put(p, "</th>");
	}
	put(p, "</tr></thead>\n<tbody>\n");
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r)
	{
		const char *st = json_string_value(json_object_get(r, "status"));
		put(p, st && !strcmp(st, "affected") ? "<tr class=\"affected\">" : "<tr>");
		for (size_t c = 0; c < ncols; c++) {
			const json_t *v = json_object_get(r, cols[c].key);
			char num[32];
			const char *s = json_string_value(v);
			if (json_is_boolean(v))
				s = json_is_true(v) ? "yes" : "no";
			else if (json_is_integer(v) || json_is_array(v)) {
				snprintf(num, sizeof(num), "%lld",
					 json_is_array(v) ? (long long)json_array_size(v)
							  : (long long)json_integer_value(v));
				s = num;
			}
			size_t len = s ? strlen(s) : 0;
			if (cols[c].shorten && len > cols[c].shorten) {
				/* the full value on hover, a prefix that identifies it shown */
				char cut[64];
				snprintf(cut, sizeof(cut), "%.*s", (int)cols[c].shorten, s);
				put(p, "<td title=\"");
				put_text(p, s);
				put(p, "\">");
				put_text(p, cut);
			} else {
				put(p, "<td>");
				put_text(p, s ? s : "");
			}
			put(p, "</td>");
		}
		put(p, "</tr>\n");
	}
	put(p, "</tbody>\n</table>\n");
}

static const char style[] =
    "body{font:14px sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;margin-top:1em}"
    "th,td{border:1px solid #bbb;padding:2px 6px;text-align:left;font-size:12px}"
    "tr.affected td{background:#fdd}"
    ".support-bar{fill:#7aa6d8}.unknown-period{fill:#ccc}"
    ".affected .support-bar{fill:#d9534f}.past-support .support-bar{opacity:.45}"
    ".install{fill:#222}.tick{stroke:#ddd}.year{font-size:11px;fill:#666}"
    ".today{stroke:#e08000;stroke-width:2}.today-label{fill:#e08000;font-size:11px}"
    ".legend span{display:inline-block;width:1em;height:.8em;margin:0 .3em 0 1em}"
    ".name{font-size:12px}.affected .name{font-weight:bold;fill:#b00}";

int html_write(const char *path, const char *title, const json_t *rows, const rows_col *cols,
	       size_t ncols, int64_t now, upt_err *e)
{
	page p = {.rc = UPT_OK, .e = e};
	upt_buf_init(&p.b, HTML_MAX);
	size_t n = 0;
	device *d = devices_of(rows, &n);
	if (!d)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	size_t naffected = 0, npast = 0;
	for (size_t i = 0; i < n; i++) {
		naffected += d[i].affected;
		npast += d[i].end && d[i].end + 86400 <= now;
	}
	char today[UPT_RFC3339_LEN + 1];
	upt_rfc3339_format(now, today);
	put(&p, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
	put_text(&p, title);
	putf(&p, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>", style);
	put_text(&p, title);
	putf(&p,
	     "</h1>\n<p id=\"summary\">%zu devices, %zu affected, %zu past their support end; "
	     "as of %s.</p>\n<h2>Support periods</h2>\n",
	     n, naffected, npast, today);
	put(&p, "<p class=\"legend\"><span style=\"background:#7aa6d8\"></span>support period "
		"(placed on the market to support end)<span style=\"background:#d9534f\"></span>"
		"affected<span style=\"background:#ccc\"></span>period not registered; faded: "
		"past its support end; dots: installs; orange line: today</p>\n");
	chart(&p, d, n, now);
	put(&p, "<h2>Devices</h2>\n");
	table(&p, rows, cols, ncols);
	put(&p, "</body>\n</html>\n");
	free(d);
	int rc = p.rc;
	if (rc == UPT_OK)
		rc = upt_file_write_atomic(AT_FDCWD, path, p.b.data, p.b.len, 0644, e);
	if (rc)
		upt_err_prefix(e, "--html %s", path);
	upt_buf_clear(&p.b);
	return rc;
}
