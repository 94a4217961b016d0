/*
 * events: what the installer tells the world. With --json, one JSON object per line on stdout
 * (docs/threat-model.md); otherwise sentences a technician understands, and a progress bar when
 * stdout is a terminal. Text that came from a bundle is escaped before it reaches a terminal.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "installer.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void ev_init(struct events *ev, bool json)
{
	memset(ev, 0, sizeof(*ev));
	ev->json = json;
	ev->tty = !json && isatty(STDOUT_FILENO);
}

void ev_sanitize(const char *s, char *out, size_t n)
{
	size_t o = 0;
	if (n == 0)
		return;
	for (; s && *s && o + 1 < n; s++) {
		unsigned char ch = (unsigned char)*s;
		/* Newlines too: a file name with one could print a line of its own ("Installed
		 * ... The device is up to date.") under the real outcome. */
		out[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	out[o] = '\0';
}

const char *ev_json_safe(const char *s, char *buf, size_t n)
{
	json_t *v = s ? json_string(s) : NULL;
	if (!s || v) {
		json_decref(v);
		return s;
	}
	ev_sanitize(s, buf, n);
	return buf;
}

/* A JSON string for any C string: text cut inside a UTF-8 sequence, or a file name from a
 * stick that is not UTF-8, must not make an event (above all the result line) disappear. */
static json_t *jstr(const char *s)
{
	if (!s)
		return json_null();
	json_t *v = json_string(s);
	if (v)
		return v;
	char safe[4096];
	ev_sanitize(s, safe, sizeof(safe));
	return json_string(safe);
}

static void emit(json_t *o)
{
	if (!o)
		return;
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!s)
		return;
	fputs(s, stdout);
	fputc('\n', stdout);
	fflush(stdout);
	free(s);
}

static void end_bar(struct events *ev)
{
	if (ev->bar_drawn) {
		fputc('\n', stdout);
		ev->bar_drawn = false;
	}
}

static void say_v(struct events *ev, const char *fmt, va_list ap)
{
	char raw[2048], safe[2048];
	vsnprintf(raw, sizeof(raw), fmt, ap);
	ev_sanitize(raw, safe, sizeof(safe));
	end_bar(ev);
	fputs(safe, stdout);
	fputc('\n', stdout);
	fflush(stdout);
}

void ev_say(struct events *ev, const char *fmt, ...)
{
	if (ev->json)
		return;
	va_list ap;
	va_start(ap, fmt);
	say_v(ev, fmt, ap);
	va_end(ap);
}

void ev_found(struct events *ev, const char *file)
{
	if (ev->json)
		emit(json_pack("{s:s, s:o}", "event", "found", "file", jstr(file)));
	else
		ev_say(ev, "Found update %s", file);
}

void ev_verified(struct events *ev, const char *file, const char *kind, const char *id,
		 size_t nimages, uint64_t bytes)
{
	if (ev->json) {
		emit(json_pack("{s:s, s:o, s:s, s:o, s:I, s:I}", "event", "verified", "file",
			       jstr(file), "kind", kind, "id", jstr(id), "images",
			       (json_int_t)nimages, "bytes", (json_int_t)bytes));
		return;
	}
	if (nimages == 0)
		ev_say(
		    ev,
		    "The %s bundle %s checks out (signatures, versions, expiry); everything on it "
		    "is already installed.",
		    kind, id);
	else if (ev->dry_run)
		ev_say(ev,
		       "The %s bundle %s checks out (signatures, versions, expiry); dry run: "
		       "reading its %zu image%s (%.1f MB) for this device against the signed "
		       "hashes, writing nothing.",
		       kind, id, nimages, nimages == 1 ? "" : "s", (double)bytes / 1e6);
	else
		ev_say(ev,
		       "The %s bundle %s checks out (signatures, versions, expiry); checking and "
		       "writing its %zu image%s (%.1f MB) for this device.",
		       kind, id, nimages, nimages == 1 ? "" : "s", (double)bytes / 1e6);
}

void ev_skipped(struct events *ev, const char *file, const char *status, const char *reason,
		const char *message)
{
	if (ev->json) {
		emit(json_pack("{s:s, s:o, s:s, s:o, s:o}", "event", "skipped", "file", jstr(file),
			       "status", status, "reason", jstr(reason), "message", jstr(message)));
		return;
	}
	if (!reason && !strcmp(status, "older"))
		ev_say(ev, "Not using %s: %s", file, message); /* the message says why */
	else
		ev_say(ev, "Not using %s (%s): %s", file, reason ? reason : status, message);
}

void ev_progress(struct events *ev, const char *ecu, uint64_t done, uint64_t total)
{
	double t = now_s();
	if (ev->ecu != ecu || done == 0) {
		ev->ecu = ecu;
		ev->start = t;
		ev->last = 0;
	}
	bool final = done == total;
	if (!final && done != 0 && t - ev->last < 0.25)
		return;
	ev->last = t;
	if (ev->json) {
		emit(json_pack("{s:s, s:s, s:I, s:I}", "event", "progress", "ecu", ecu, "bytes",
			       (json_int_t)done, "total", (json_int_t)total));
		return;
	}
	if (!ev->tty)
		return;
	double secs = t - ev->start;
	double rate = secs > 0.05 ? (double)done / secs : 0;
	int width = 24;
	int fill = total ? (int)((double)done / (double)total * width) : width;
	char bar[32];
	for (int i = 0; i < width; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[width] = '\0';
	char eta[32] = "";
	if (rate > 0 && !final) {
		double left = (double)(total - done) / rate;
		snprintf(eta, sizeof(eta), "  ETA %d:%02d", (int)left / 60, (int)left % 60);
	}
	char safe[UPT_NAME_MAX + 1];
	ev_sanitize(ecu, safe, sizeof(safe));
	printf("\r  %-16.16s [%s] %7.1f/%.1f MB  %6.1f MB/s%s   ", safe, bar, (double)done / 1e6,
	       (double)total / 1e6, rate / 1e6, eta);
	ev->bar_drawn = true;
	if (final)
		end_bar(ev);
	fflush(stdout);
}

void ev_installed(struct events *ev, const char *ecu, const char *target, bool pending)
{
	if (ev->json) {
		emit(json_pack("{s:s, s:s, s:o, s:b}", "event", "installed", "ecu", ecu, "target",
			       jstr(target), "pending", pending));
		return;
	}
	if (pending)
		ev_say(ev,
		       "%s: %s written to the inactive slot and activated; it runs after the next "
		       "reboot (then run `uptane-install confirm`).",
		       ecu, target);
	else
		ev_say(ev, "%s: now runs %s.", ecu, target);
}

void ev_warning(struct events *ev, const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ev->json)
		emit(json_pack("{s:s, s:s, s:o}", "event", "warning", "code", code, "message",
			       jstr(msg)));
	else
		ev_say(ev, "Warning: %s", msg);
}

void ev_report(struct events *ev, const char *where, uint64_t counter)
{
	if (ev->json)
		emit(json_pack("{s:s, s:o, s:I}", "event", "report", "path", jstr(where), "counter",
			       (json_int_t)counter));
	else
		ev_say(ev, "Signed report %llu written to %s", (unsigned long long)counter, where);
}

void ev_result(struct events *ev, const char *status, const char *reason, const char *file,
	       const char *message, const char *detail)
{
	if (ev->json) {
		emit(json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "event", "result", "status",
			       status, "reason", jstr(reason), "file", jstr(file), "message",
			       jstr(message), "detail", jstr(detail && detail[0] ? detail : NULL)));
		return;
	}
	ev_say(ev, "%s", message);
	if (detail && detail[0])
		ev_say(ev, "  (%s%s%s)", file ? file : "", file ? ": " : "", detail);
}
