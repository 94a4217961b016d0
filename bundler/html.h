/*
 * html: the fleet as one self-contained HTML page (docs/sbom.md): no external assets, no
 * script, so it opens from a USB stick on an offline machine and prints as it shows.
 * The rows' table, and an SVG chart with one bar per device for its EU Cyber Resilience Act
 * support period (placed on the market to support end), its installs and today marked;
 * devices with an affected row are highlighted. Every text from a row is escaped.
 */
#ifndef UPT_BUNDLER_HTML_H
#define UPT_BUNDLER_HTML_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "rows_out.h"
#include "upt/err.h"

/* Rows carry device_id, and where known placed_on_market, support_ends (YYYY-MM-DD),
 * installed_at (RFC 3339) and status ("affected" highlights the device). Written atomically. */
int html_write(const char *path, const char *title, const json_t *rows, const rows_col *cols,
	       size_t ncols, int64_t now, upt_err *e) UPT_MUST_CHECK;

#endif
