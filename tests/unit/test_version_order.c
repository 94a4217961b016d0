/* Unit tests: bundler/version_order.c against independent oracles on generated corpora of
 * version pairs: `dpkg --compare-versions` for Debian's order, npm's semver (compare, and
 * satisfies for OSV introduced/fixed ranges) for SemVer 2.0. Corpora come from a fixed seed,
 * mixing random versions with near misses (one character changed, appended, dropped), where
 * orders differ most. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../bundler/version_order.h"

#define DEB_PAIRS 1500
#define SEMVER_PAIRS 6000
#define RANGE_CASES 3000
#define VMAX 64

static uint64_t rng = 0x9e3779b97f4a7c15u;
static unsigned pick(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static void append(char *v, const char *s)
{
	if (strlen(v) + strlen(s) < VMAX)
		strcat(v, s);
}

/* [epoch:]upstream[-revision]: digit runs (leading zeros too), letters, '.', '+', '~'. */
static void deb_random(char *v)
{
	static const char *const bits[] = {"0", "1",  "2",    "9",    "10", "01", "a",
					   "b", "z",  "A",    ".",    ".",  "+",  "~",
					   "~", "rc", "beta", "dfsg", "+b1"};
	v[0] = 0;
	if (pick(4) == 0)
		append(v, pick(2) ? "1:" : "2:");
	append(v, pick(3) ? "1" : "0");
	for (unsigned i = 0, n = pick(6); i < n; i++)
		append(v, bits[pick(sizeof(bits) / sizeof(bits[0]))]);
	if (pick(2)) {
		static const char *const revs[] = {"-1",	 "-0",	"-2",  "-1~bpo12+1",
						   "-1+deb12u1", "-10", "-1a", "-1.1"};
		append(v, revs[pick(sizeof(revs) / sizeof(revs[0]))]);
	}
}

static void semver_random(char *v)
{
	static const char *const nums[] = {"0", "1", "2", "10", "11"};
	static const char *const pre[] = {"alpha", "beta", "rc", "1",	   "2", "11",
					  "0",	   "x-y",  "a1", "alpha1", "-"};
	snprintf(v, VMAX, "%s.%s.%s", nums[pick(5)], nums[pick(5)], nums[pick(5)]);
	if (pick(2)) {
		append(v, "-");
		for (unsigned i = 0, n = 1 + pick(3); i < n; i++) {
			if (i)
				append(v, ".");
			append(v, pre[pick(sizeof(pre) / sizeof(pre[0]))]);
		}
	}
	if (pick(5) == 0)
		append(v, pick(2) ? "+build.5" : "+001");
}

/* A near miss of a: one character changed, appended or dropped; regenerated until valid. */
static void near(enum vo_scheme s, const char *a, char *b, void (*random_v)(char *))
{
	static const char alphabet[] = "0123456789.+~-abz";
	for (int tries = 0; tries < 20; tries++) {
		snprintf(b, VMAX, "%s", a);
		size_t n = strlen(b), at = pick((unsigned)n);
		switch (pick(3)) {
		case 0:
			b[at] = alphabet[pick(sizeof(alphabet) - 1)];
			break;
		case 1:
			if (n + 1 < VMAX) {
				b[n] = alphabet[pick(sizeof(alphabet) - 1)];
				b[n + 1] = 0;
			}
			break;
		default:
			memmove(b + at, b + at + 1, n - at);
			break;
		}
		if (vo_valid(s, b))
			return;
	}
	random_v(b);
}

typedef struct corpus {
	char (*a)[VMAX], (*b)[VMAX], (*c)[VMAX];
	size_t n;
} corpus;

static void make_pairs(corpus *k, size_t n, enum vo_scheme s, void (*random_v)(char *))
{
	k->a = calloc(n, VMAX);
	k->b = calloc(n, VMAX);
	k->c = calloc(n, VMAX);
	assert_non_null(k->a);
	assert_non_null(k->b);
	assert_non_null(k->c);
	for (size_t i = 0; i < n; i++) {
		do
			random_v(k->a[i]);
		while (!vo_valid(s, k->a[i]));
		if (pick(2))
			near(s, k->a[i], k->b[i], random_v);
		else
			do
				random_v(k->b[i]);
			while (!vo_valid(s, k->b[i]));
		do
			random_v(k->c[i]);
		while (!vo_valid(s, k->c[i]));
	}
	k->n = n;
}

static void free_pairs(corpus *k)
{
	free(k->a);
	free(k->b);
	free(k->c);
}

static int sign(int x)
{
	return x < 0 ? -1 : x > 0;
}

/* Runs cmd with input written to a file on its stdin; returns its stdout lines as ints. */
static int *oracle(const char *cmd, const char *input, size_t n)
{
	char in[] = "/tmp/upt-vo-in.XXXXXX";
	int fd = mkstemp(in);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fputs(input, f);
	fclose(f);
	char full[1024];
	snprintf(full, sizeof(full), "%s <%s", cmd, in);
	FILE *p = popen(full, "r");
	assert_non_null(p);
	int *r = calloc(n, sizeof(int));
	size_t got = 0;
	while (got < n && fscanf(p, "%d", &r[got]) == 1)
		got++;
	pclose(p);
	unlink(in);
	if (got != n)
		fail_msg("oracle %s answered %zu of %zu", cmd, got, n);
	return r;
}

static char *join(size_t n, size_t line, void (*fmt)(size_t, char *, void *), void *ctx)
{
	char *s = calloc(n, line);
	assert_non_null(s);
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		fmt(i, s + len, ctx);
		len += strlen(s + len);
	}
	return s;
}

static void deb_line(size_t i, char *out, void *ctx)
{
	corpus *k = ctx;
	sprintf(out, "%s %s\n", k->a[i], k->b[i]);
}

/* Our order against the oracle's answers (-1, 0, 1) for every pair; prints the first
 * disagreements and how many pairs agree. */
static void agree(enum vo_scheme s, const corpus *k, const int *want, const char *oracle_name)
{
	size_t bad = 0, eq = 0;
	for (size_t i = 0; i < k->n; i++) {
		int got = sign(vo_compare(s, k->a[i], k->b[i]));
		eq += want[i] == 0;
		if (got != want[i] && bad++ < 10)
			print_error("%s %s vs %s: ours %d, %s %d\n", vo_scheme_name(s), k->a[i],
				    k->b[i], got, oracle_name, want[i]);
	}
	print_message("%zu %s pairs (%zu equal) agree with %s\n", k->n - bad, vo_scheme_name(s), eq,
		      oracle_name);
	assert_int_equal(bad, 0);
}

static void debian_vs_dpkg(void **state)
{
	(void)state;
	corpus k;
	make_pairs(&k, DEB_PAIRS, VO_DEBIAN, deb_random);
	char *input = join(k.n, 2 * VMAX + 2, deb_line, &k);
	/* dpkg exits 0 when the relation holds: lt, then eq, else gt */
	int *want = oracle("while read a b; do if dpkg --compare-versions \"$a\" lt \"$b\"; then "
			   "echo -1; elif dpkg --compare-versions \"$a\" eq \"$b\"; then echo 0; "
			   "else echo 1; fi; done",
			   input, k.n);
	agree(VO_DEBIAN, &k, want, "dpkg --compare-versions");
	free(want);
	free(input);
	free_pairs(&k);
}

static const char *semver_oracle(void)
{
	static char cmd[512];
	if (access("tests/interop/cra/node_modules/semver/package.json", R_OK) != 0 &&
	    system("cd tests/interop/cra && npm ci --no-audit --no-fund --loglevel=error "
		   ">/dev/null 2>&1") != 0)
		fail_msg("npm ci in tests/interop/cra failed: npm's semver is the oracle");
	snprintf(cmd, sizeof(cmd), "node tests/interop/cra/semver_oracle.mjs");
	return cmd;
}

static void semver_cmp_line(size_t i, char *out, void *ctx)
{
	corpus *k = ctx;
	sprintf(out, "cmp %s %s\n", k->a[i], k->b[i]);
}

static void semver_vs_npm(void **state)
{
	(void)state;
	corpus k;
	make_pairs(&k, SEMVER_PAIRS, VO_SEMVER, semver_random);
	char *input = join(k.n, 2 * VMAX + 8, semver_cmp_line, &k);
	int *want = oracle(semver_oracle(), input, k.n);
	agree(VO_SEMVER, &k, want, "npm semver.compare");
	free(want);
	free(input);
	free_pairs(&k);
}

static void range_line(size_t i, char *out, void *ctx)
{
	corpus *k = ctx;
	sprintf(out, "in %s %s %s\n", k->c[i], k->a[i], k->b[i]);
}

static void osv_range_vs_npm(void **state)
{
	(void)state;
	corpus k;
	make_pairs(&k, RANGE_CASES, VO_SEMVER, semver_random);
	/* introduced before fixed, as ">=I <F" reads (the order itself is checked above; OSV's
	 * reading of a fixed before an introduced is in osv_events) */
	for (size_t i = 0; i < k.n; i++)
		if (vo_compare(VO_SEMVER, k.a[i], k.b[i]) > 0) {
			char t[VMAX];
			memcpy(t, k.a[i], VMAX);
			memcpy(k.a[i], k.b[i], VMAX);
			memcpy(k.b[i], t, VMAX);
		}
	char *input = join(k.n, 3 * VMAX + 8, range_line, &k);
	int *want = oracle(semver_oracle(), input, k.n);
	size_t bad = 0, in = 0;
	for (size_t i = 0; i < k.n; i++) {
		vo_event ev[2] = {{VO_INTRODUCED, k.a[i]}, {VO_FIXED, k.b[i]}};
		int got = vo_in_range(VO_SEMVER, ev, 2, k.c[i]);
		in += want[i] == 1;
		if (got != want[i] && bad++ < 10)
			print_error("%s in [%s, %s): ours %d, npm semver %d\n", k.c[i], k.a[i],
				    k.b[i], got, want[i]);
	}
	print_message("%zu OSV introduced/fixed cases (%zu inside) agree with semver.satisfies\n",
		      k.n - bad, in);
	assert_int_equal(bad, 0);
	free(want);
	free(input);
	free_pairs(&k);
}

/* The OSV rules the oracles above do not cover: "0", last_affected, several events. */
static void osv_events(void **state)
{
	(void)state;
	vo_event zero[] = {{VO_INTRODUCED, "0"}, {VO_FIXED, "1.2.3"}};
	assert_true(vo_in_range(VO_SEMVER, zero, 2, "0.0.0"));
	assert_true(vo_in_range(VO_SEMVER, zero, 2, "1.2.3-rc.1"));
	assert_false(vo_in_range(VO_SEMVER, zero, 2, "1.2.3"));
	vo_event last[] = {{VO_INTRODUCED, "1.0.0"}, {VO_LAST_AFFECTED, "1.4.0"}};
	assert_true(vo_in_range(VO_SEMVER, last, 2, "1.4.0"));
	assert_false(vo_in_range(VO_SEMVER, last, 2, "1.4.1"));
	assert_false(vo_in_range(VO_SEMVER, last, 2, "0.9.9"));
	vo_event two[] = {{VO_FIXED, "2.0.0"},
			  {VO_INTRODUCED, "3.0.0"},
			  {VO_INTRODUCED, "1.0.0"},
			  {VO_FIXED, "3.1.0"}};
	assert_true(vo_in_range(VO_SEMVER, two, 4, "1.5.0"));
	assert_false(vo_in_range(VO_SEMVER, two, 4, "2.5.0"));
	assert_true(vo_in_range(VO_SEMVER, two, 4, "3.0.5"));
	assert_false(vo_in_range(VO_SEMVER, two, 4, "3.1.0"));
	vo_event deb[] = {{VO_INTRODUCED, "0"}, {VO_FIXED, "1.2.3-1+deb12u1"}};
	assert_true(vo_in_range(VO_DEBIAN, deb, 2, "1.2.3-1"));
	assert_false(vo_in_range(VO_DEBIAN, deb, 2, "1:1.0-1"));
	enum vo_scheme s;
	assert_int_equal(vo_scheme_for_ecosystem("Debian:12", &s, NULL), UPT_OK);
	assert_int_equal(s, VO_DEBIAN);
	assert_int_equal(vo_scheme_for_ecosystem("PyPI", &s, NULL), UPT_E_USAGE);
	assert_false(vo_valid(VO_SEMVER, "1.2"));
	assert_false(vo_valid(VO_SEMVER, "01.2.3"));
	assert_false(vo_valid(VO_SEMVER, "1.2.3-01"));
	assert_false(vo_valid(VO_DEBIAN, "a1.0"));
	/* digit runs of any length, no overflow */
	assert_true(vo_compare(VO_SEMVER, "1.2.99999999999999999999999",
			       "1.2.100000000000000000000000") < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(debian_vs_dpkg),
	    cmocka_unit_test(semver_vs_npm),
	    cmocka_unit_test(osv_range_vs_npm),
	    cmocka_unit_test(osv_events),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
