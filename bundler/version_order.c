/* version_order: SemVer 2.0 and Debian version orders, OSV range events (see
 * version_order.h). */
#include "version_order.h"

#include <ctype.h>
#include <string.h>

const char *vo_scheme_name(enum vo_scheme s)
{
	return s == VO_SEMVER ? "SemVer" : "Debian";
}

int vo_scheme_for_ecosystem(const char *ecosystem, enum vo_scheme *out, upt_err *e)
{
	size_t n = strcspn(ecosystem, ":");
	if (n == 3 && !strncmp(ecosystem, "npm", 3))
		*out = VO_SEMVER;
	else if (n == 6 && !strncmp(ecosystem, "Debian", 6))
		*out = VO_DEBIAN;
	else
		return upt_err_set(e, UPT_E_USAGE,
				   "ecosystem \"%.100s\": no version order known (npm, Debian)",
				   ecosystem);
	return UPT_OK;
}

int vo_scheme_for_purl(const char *purl, enum vo_scheme *out, upt_err *e)
{
	if (purl && !strncmp(purl, "pkg:npm/", 8))
		*out = VO_SEMVER;
	else if (purl && !strncmp(purl, "pkg:deb/", 8))
		*out = VO_DEBIAN;
	else
		return upt_err_set(e, UPT_E_USAGE,
				   "purl \"%.100s\": no version order known for its type "
				   "(pkg:npm, pkg:deb)",
				   purl ? purl : "(none)");
	return UPT_OK;
}

/* ---- SemVer 2.0 ---- */

static bool is_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return n > 0;
}

/* A numeric identifier: digits without a leading zero (but "0"). */
static bool numeric_id(const char *s, size_t n)
{
	return is_digits(s, n) && (n == 1 || s[0] != '0');
}

static bool ident_chars(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
	return n > 0;
}

/* Dot-separated identifiers of s[0..n): each non-empty [0-9A-Za-z-]; numeric ones without
 * leading zeros when strict_numeric (pre-release, not build metadata). */
static bool idents_ok(const char *s, size_t n, bool strict_numeric)
{
	size_t i = 0;
	while (i <= n) {
		size_t j = i;
		while (j < n && s[j] != '.')
			j++;
		if (!ident_chars(s + i, j - i))
			return false;
		if (strict_numeric && is_digits(s + i, j - i) && !numeric_id(s + i, j - i))
			return false;
		i = j + 1;
	}
	return true;
}

static bool semver_valid(const char *v)
{
	size_t len = strlen(v), core = strcspn(v, "-+");
	const char *p = v;
	for (int part = 0; part < 3; part++) {
		size_t n = strcspn(p, part < 2 ? "." : "-+");
		if ((size_t)(p - v) + n > core || !numeric_id(p, n))
			return false;
		p += n;
		if (part < 2) {
			if (*p != '.')
				return false;
			p++;
		}
	}
	if ((size_t)(p - v) != core)
		return false;
	if (*p == '-') {
		size_t n = strcspn(p + 1, "+");
		if (!idents_ok(p + 1, n, true))
			return false;
		p += 1 + n;
	}
	if (*p == '+' && !idents_ok(p + 1, len - (size_t)(p + 1 - v), false))
		return false;
	return true;
}

/* Digit runs a and b (no leading zeros, or compared past them): by length, then digits. */
static int cmp_num(const char *a, size_t an, const char *b, size_t bn)
{
	while (an > 1 && *a == '0')
		a++, an--;
	while (bn > 1 && *b == '0')
		b++, bn--;
	if (an != bn)
		return an < bn ? -1 : 1;
	int c = memcmp(a, b, an);
	return c < 0 ? -1 : c > 0;
}

static int semver_cmp(const char *a, const char *b)
{
	/* major.minor.patch, numerically */
	for (int part = 0; part < 3; part++) {
		size_t an = strspn(a, "0123456789"), bn = strspn(b, "0123456789");
		int c = cmp_num(a, an, b, bn);
		if (c)
			return c;
		a += an;
		b += bn;
		if (part < 2)
			a++, b++;
	}
	/* a version with a pre-release comes before the same version without one */
	bool apre = *a == '-', bpre = *b == '-';
	if (!apre || !bpre)
		return apre == bpre ? 0 : apre ? -1 : 1;
	a++, b++;
	for (;;) {
		size_t an = strcspn(a, ".+"), bn = strcspn(b, ".+");
		bool anum = is_digits(a, an), bnum = is_digits(b, bn);
		int c;
		if (anum && bnum)
			c = cmp_num(a, an, b, bn);
		else if (anum || bnum)
			c = anum ? -1 : 1; /* numeric identifiers come first */
		else {
			c = memcmp(a, b, an < bn ? an : bn);
			c = c ? (c < 0 ? -1 : 1) : an == bn ? 0 : an < bn ? -1 : 1;
		}
		if (c)
			return c;
		a += an;
		b += bn;
		bool amore = *a == '.', bmore = *b == '.';
		if (!amore || !bmore)
			return amore == bmore ? 0 : amore ? 1 : -1; /* more identifiers: later */
		a++, b++;
	}
}

/* ---- Debian (deb-version(7), Debian Policy 5.6.12) ---- */

static bool deb_valid(const char *v)
{
	const char *colon = strchr(v, ':');
	const char *up = v;
	if (colon) {
		if (!is_digits(v, (size_t)(colon - v)))
			return false;
		up = colon + 1;
	}
	const char *dash = strrchr(up, '-');
	size_t uplen = dash ? (size_t)(dash - up) : strlen(up);
	if (uplen == 0 || !isdigit((unsigned char)up[0]))
		return false;
	for (size_t i = 0; i < uplen; i++)
		if (!isalnum((unsigned char)up[i]) && !strchr(".+~-", up[i]))
			return false;
	if (dash) {
		if (!dash[1])
			return false;
		for (const char *r = dash + 1; *r; r++)
			if (!isalnum((unsigned char)*r) && !strchr(".+~", *r))
				return false;
	}
	return true;
}

/* The weight of a non-digit character: '~' before everything, even the end of the part;
 * letters before the other characters. */
static int deb_weight(char c)
{
	if (c == '~')
		return -1;
	if (isalpha((unsigned char)c))
		return (unsigned char)c;
	return c ? (unsigned char)c + 256 : 0;
}

/* Compares a[0..an) with b[0..bn): alternating runs of non-digits (by weight) and digits (as
 * numbers, an empty run is 0). */
static int deb_part_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	size_t i = 0, j = 0;
	while (i < an || j < bn) {
		while ((i < an && !isdigit((unsigned char)a[i])) ||
		       (j < bn && !isdigit((unsigned char)b[j]))) {
			int wa = i < an && !isdigit((unsigned char)a[i]) ? deb_weight(a[i]) : 0;
			int wb = j < bn && !isdigit((unsigned char)b[j]) ? deb_weight(b[j]) : 0;
			if (wa != wb)
				return wa < wb ? -1 : 1;
			if (i < an && !isdigit((unsigned char)a[i]))
				i++;
			if (j < bn && !isdigit((unsigned char)b[j]))
				j++;
		}
		size_t di = i, dj = j;
		while (i < an && isdigit((unsigned char)a[i]))
			i++;
		while (j < bn && isdigit((unsigned char)b[j]))
			j++;
		int c = cmp_num(i > di ? a + di : "0", i > di ? i - di : 1, j > dj ? b + dj : "0",
				j > dj ? j - dj : 1);
		if (c)
			return c;
	}
	return 0;
}

typedef struct deb_parts {
	const char *epoch, *up, *rev;
	size_t epoch_n, up_n, rev_n;
} deb_parts;

static deb_parts deb_split(const char *v)
{
	deb_parts p = {"0", v, "", 1, 0, 0};
	const char *colon = strchr(v, ':');
	if (colon) {
		p.epoch = v;
		p.epoch_n = (size_t)(colon - v);
		p.up = colon + 1;
	}
	const char *dash = strrchr(p.up, '-');
	p.up_n = dash ? (size_t)(dash - p.up) : strlen(p.up);
	if (dash) {
		p.rev = dash + 1;
		p.rev_n = strlen(p.rev);
	}
	return p;
}

static int deb_cmp(const char *a, const char *b)
{
	deb_parts x = deb_split(a), y = deb_split(b);
	int c = cmp_num(x.epoch, x.epoch_n, y.epoch, y.epoch_n);
	if (!c)
		c = deb_part_cmp(x.up, x.up_n, y.up, y.up_n);
	if (!c)
		c = deb_part_cmp(x.rev, x.rev_n, y.rev, y.rev_n);
	return c;
}

bool vo_valid(enum vo_scheme s, const char *v)
{
	return v && *v && (s == VO_SEMVER ? semver_valid(v) : deb_valid(v));
}

int vo_compare(enum vo_scheme s, const char *a, const char *b)
{
	return s == VO_SEMVER ? semver_cmp(a, b) : deb_cmp(a, b);
}

/* ---- OSV ranges ---- */

static int event_cmp(enum vo_scheme s, const vo_event *x, const char *v)
{
	if (x->kind == VO_INTRODUCED && !strcmp(x->version, "0"))
		return -1; /* "0": before every version */
	return vo_compare(s, x->version, v);
}

bool vo_in_range(enum vo_scheme s, const vo_event *ev, size_t n, const char *v)
{
	/* The latest event at or below v decides (O(n), no sort): an introduced at or below
	 * v opens, a fixed at or below v closes, a last_affected strictly below v closes. At the
	 * same version a closing event wins over an introduced. */
	const vo_event *best = NULL;
	for (size_t i = 0; i < n; i++) {
		int c = event_cmp(s, &ev[i], v);
		if (c > 0 || (c == 0 && ev[i].kind == VO_LAST_AFFECTED))
			continue;
		if (!best) {
			best = &ev[i];
			continue;
		}
		int d = ev[i].kind == VO_INTRODUCED && !strcmp(ev[i].version, "0")
			    ? -1
			    : (best->kind == VO_INTRODUCED && !strcmp(best->version, "0")
				   ? 1
				   : vo_compare(s, ev[i].version, best->version));
		if (d > 0 || (d == 0 && ev[i].kind != VO_INTRODUCED))
			best = &ev[i];
	}
	/* a last_affected equal to v: still affected when an introduced at or below opens */
	return best && best->kind == VO_INTRODUCED;
}
