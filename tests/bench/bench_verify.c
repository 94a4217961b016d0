/*
 * bench_verify: how long the verification engine (docs/threat-model.md steps 1-4) takes on a
 * large bundle: an Image repository with 1000 targets spread over 50 delegated roles that all
 * match every target path (the worst case for the pre-order walk: a target in role k costs k
 * role visits), both roots rotated once. Cases:
 *   full upt_verify, the Director assigning a target to each of 64 ECUs (UPT_ECUS_MAX);
 *   the Image repository alone with all 1000 targets searched through the delegations;
 *   a stress case beyond any device: 1000 ECUs, all 1000 targets assigned and matched.
 * Goal: under 50 ms of CPU time for the first two (the engine's work for 1000 targets with 50
 * delegations); the stress case is reported. Prints median and minimum over the runs.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "upt/metabuild.h"
#include "upt/sig.h"
#include "upt/verify.h"

#define NTARGETS 1000
#define NDELEG 50
#ifndef RUNS
#define RUNS 21
#endif
#define NOW 1893456000
#define EXPIRES (NOW + 30 * 86400)

typedef struct world {
	upt_signer *droot, *dts, *dsn, *dtg, *iroot, *its, *isn, *itg, *deleg[NDELEG];
	upt_bundle_file files[NDELEG + 16];
	char paths[NDELEG + 16][128];
	upt_bundle_meta bundle;
	upt_trust trust;
	char names[NTARGETS][64];
	char serials[NTARGETS][32];
	upt_ecu_ident ecus[NTARGETS];
	upt_device_ident dev;
} world;

static void die(const char *what)
{
	fprintf(stderr, "bench_verify: %s failed\n", what);
	exit(1);
}

static upt_signer *key(void)
{
	upt_signer *s = NULL;
	if (upt_signer_generate(&s, NULL) != UPT_OK)
		die("key generation");
	return s;
}

static upt_buf *add(world *w, const char *path)
{
	size_t i = w->bundle.nfiles++;
	snprintf(w->paths[i], sizeof(w->paths[i]), "%s", path);
	w->files[i].path = w->paths[i];
	upt_buf_init(&w->files[i].data, 8u << 20);
	return &w->files[i].data;
}

static void sign(const json_t *obj, upt_signer *s, upt_buf *out)
{
	const upt_signer *sg[1] = {s};
	if (!obj || upt_mb_sign(obj, sg, 1, out, NULL) != UPT_OK)
		die("signing");
}

static json_t *root(uint64_t v, upt_signer *r, upt_signer *ts, upt_signer *sn, upt_signer *tg)
{
	upt_key k[4] = {*upt_signer_key(r), *upt_signer_key(ts), *upt_signer_key(sn),
			*upt_signer_key(tg)};
	upt_mb_role roles[4] = {{"root", &k[0], 1, 1},
				{"timestamp", &k[1], 1, 1},
				{"snapshot", &k[2], 1, 1},
				{"targets", &k[3], 1, 1}};
	return upt_mb_root(v, NOW + 365 * 86400, roles, 4);
}

static void hashes_of(const char *name, upt_hashes *h)
{
	memset(h, 0, sizeof(*h));
	h->has_sha256 = true;
	if (upt_sha256(name, strlen(name), h->sha256, NULL) != UPT_OK)
		die("sha256");
}

/* Roots v1 trusted, v2 (same keys, signed by old and new) shipped. */
static void roots(world *w, const char *dir, upt_signer *r, upt_signer *ts, upt_signer *sn,
		  upt_signer *tg, const char *trust_name)
{
	char path[128];
	upt_buf b;
	upt_buf_init(&b, 1u << 20);
	json_t *v1 = root(1, r, ts, sn, tg), *v2 = root(2, r, ts, sn, tg);
	sign(v1, r, &b);
	if (upt_trust_set(&w->trust, trust_name, b.data, b.len, NULL) != UPT_OK)
		die("trust");
	snprintf(path, sizeof(path), "%s1.root.json", dir);
	if (upt_buf_copy(add(w, path), &b, NULL) != UPT_OK)
		die("copy");
	snprintf(path, sizeof(path), "%s2.root.json", dir);
	sign(v2, r, add(w, path));
	json_decref(v1);
	json_decref(v2);
	upt_buf_clear(&b);
}

static void build(world *w, size_t nassigned)
{
	memset(w, 0, sizeof(*w));
	upt_trust_init(&w->trust);
	w->bundle.files = w->files;
	upt_buf_init(&w->bundle.bundle_json, 16);
	w->droot = key(), w->dts = key(), w->dsn = key(), w->dtg = key();
	w->iroot = key(), w->its = key(), w->isn = key(), w->itg = key();
	for (size_t i = 0; i < NDELEG; i++)
		w->deleg[i] = key();
	roots(w, "metadata/director/", w->droot, w->dts, w->dsn, w->dtg, "director/root.json");
	roots(w, "metadata/image-repo/", w->iroot, w->its, w->isn, w->itg, "image-repo/root.json");

	/* Image repository: 50 roles, each with the pattern fw/STAR, 20 targets each */
	static const char *const paths[] = {"fw/*"};
	static const char *const hw[] = {"board-a"};
	json_t *top = upt_mb_targets(UPT_ROLE_TARGETS, 1, EXPIRES, NULL);
	upt_mb_fileref refs[NDELEG + 1];
	char refnames[NDELEG + 1][48];
	upt_buf *bytes[NDELEG + 1];
	for (size_t d = 0; d < NDELEG; d++) {
		char name[32];
		snprintf(name, sizeof(name), "role-%02zu", d);
		upt_key k = *upt_signer_key(w->deleg[d]);
		upt_mb_delegation md = {name, &k, 1, 1, paths, 1, false, NULL, 0};
		if (upt_mb_targets_delegate(top, &md, NULL) != UPT_OK)
			die("delegate");
		json_t *role = upt_mb_targets(UPT_ROLE_TARGETS, 1, EXPIRES, NULL);
		for (size_t t = d; t < NTARGETS; t += NDELEG) {
			snprintf(w->names[t], sizeof(w->names[t]), "fw/image-%04zu.bin", t);
			upt_mb_target mt;
			memset(&mt, 0, sizeof(mt));
			mt.name = w->names[t];
			mt.length = 4096 + t;
			hashes_of(w->names[t], &mt.hashes);
			mt.hardware_ids = hw;
			mt.nhardware_ids = 1;
			mt.has_release_counter = true;
			mt.release_counter = 1;
			if (upt_mb_targets_add(role, &mt, NULL) != UPT_OK)
				die("targets add");
		}
		char path[128];
		snprintf(path, sizeof(path), "metadata/image-repo/delegations/%s.json", name);
		bytes[d + 1] = add(w, path);
		sign(role, w->deleg[d], bytes[d + 1]);
		json_decref(role);
		snprintf(refnames[d + 1], sizeof(refnames[0]), "%s.json", name);
	}
	bytes[0] = add(w, "metadata/image-repo/targets.json");
	sign(top, w->itg, bytes[0]);
	json_decref(top);
	snprintf(refnames[0], sizeof(refnames[0]), "targets.json");
	for (size_t i = 0; i <= NDELEG; i++)
		refs[i] = (upt_mb_fileref){refnames[i], 1, bytes[i]->data, bytes[i]->len};
	upt_buf *isn = add(w, "metadata/image-repo/snapshot.json");
	json_t *o = upt_mb_snapshot(UPT_ROLE_SNAPSHOT, 1, EXPIRES, refs, NDELEG + 1, -1);
	sign(o, w->isn, isn);
	json_decref(o);
	upt_mb_fileref sref = {"snapshot.json", 1, isn->data, isn->len};
	o = upt_mb_timestamp(1, EXPIRES, &sref, -1);
	sign(o, w->its, add(w, "metadata/image-repo/timestamp.json"));
	json_decref(o);

	/* Director: one ECU per target, the first nassigned targets */
	json_t *dt = upt_mb_targets(UPT_ROLE_TARGETS, 1, EXPIRES, "VIN-1");
	for (size_t t = 0; t < nassigned; t++) {
		snprintf(w->serials[t], sizeof(w->serials[t]), "ecu-%04zu", t);
		w->ecus[t] = (upt_ecu_ident){.serial = w->serials[t], .hardware_id = "board-a"};
		/* spread over all roles: target t lives in role t % 50 */
		size_t pick = nassigned == NTARGETS ? t : (t * 15) % NTARGETS;
		upt_ecu_binding b = {w->serials[t], "board-a"};
		upt_mb_target mt;
		memset(&mt, 0, sizeof(mt));
		mt.name = w->names[pick];
		mt.length = 4096 + pick;
		hashes_of(w->names[pick], &mt.hashes);
		mt.has_release_counter = true;
		mt.release_counter = 1;
		mt.ecus = &b;
		mt.necus = 1;
		if (upt_mb_targets_add(dt, &mt, NULL) != UPT_OK)
			die("director targets add");
	}
	upt_buf *dtb = add(w, "metadata/director/targets.json");
	sign(dt, w->dtg, dtb);
	json_decref(dt);
	upt_mb_fileref tref = {"targets.json", 1, dtb->data, dtb->len};
	upt_buf *dsb = add(w, "metadata/director/snapshot.json");
	o = upt_mb_snapshot(UPT_ROLE_SNAPSHOT, 1, EXPIRES, &tref, 1, -1);
	sign(o, w->dsn, dsb);
	json_decref(o);
	upt_mb_fileref sr = {"snapshot.json", 1, dsb->data, dsb->len};
	o = upt_mb_timestamp(1, EXPIRES, &sr, NOW - 60);
	sign(o, w->dts, add(w, "metadata/director/timestamp.json"));
	json_decref(o);

	w->dev = (upt_device_ident){"VIN-1", w->ecus, nassigned, true, false};
}

static void world_free(world *w)
{
	upt_signer *all[] = {w->droot, w->dts, w->dsn, w->dtg, w->iroot, w->its, w->isn, w->itg};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		upt_signer_free(all[i]);
	for (size_t i = 0; i < NDELEG; i++)
		upt_signer_free(w->deleg[i]);
	for (size_t i = 0; i < w->bundle.nfiles; i++)
		upt_buf_clear(&w->files[i].data);
	upt_buf_clear(&w->bundle.bundle_json);
	upt_trust_clear(&w->trust);
}

static double clock_ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

typedef int (*run_fn)(world *w, upt_verify_result *r);

static int run_full(world *w, upt_verify_result *r)
{
	upt_verify_input in = {&w->trust, &w->bundle, &w->dev, NOW};
	return upt_verify(&in, r);
}

static const char *const *g_names;

static int run_image(world *w, upt_verify_result *r)
{
	upt_verify_input in = {&w->trust, &w->bundle, NULL, NOW};
	return upt_verify_image_repo(&in, g_names, NTARGETS, r);
}

/* CPU time of this thread is what the engine costs; wall time also shows what the (shared,
 * loaded) machine added. The goal is judged on CPU time. */
static double measure(const char *label, world *w, run_fn fn, size_t expect_assigned)
{
	double t[RUNS], wall[RUNS];
	for (int i = 0; i < RUNS; i++) {
		upt_verify_result r;
		double w0 = clock_ms(CLOCK_MONOTONIC), c0 = clock_ms(CLOCK_THREAD_CPUTIME_ID);
		int rc = fn(w, &r);
		t[i] = clock_ms(CLOCK_THREAD_CPUTIME_ID) - c0;
		wall[i] = clock_ms(CLOCK_MONOTONIC) - w0;
		if (rc != UPT_OK || r.nassignments != expect_assigned) {
			fprintf(stderr, "bench_verify: %s: %s (%s)\n", label, upt_err_class(rc),
				r.err.msg);
			exit(1);
		}
		upt_verify_result_clear(&r);
	}
	qsort(t, RUNS, sizeof(t[0]), cmp_double);
	qsort(wall, RUNS, sizeof(wall[0]), cmp_double);
	printf("verify %-58s cpu median %7.2f ms (min %7.2f)  wall median %7.2f ms\n", label,
	       t[RUNS / 2], t[0], wall[RUNS / 2]);
	return t[RUNS / 2];
}

int main(void)
{
	static world w;
	static const char *names[NTARGETS];
	build(&w, 64);
	double dev =
	    measure("1000 targets, 50 delegations, 64 ECUs (upt_verify)", &w, run_full, 64);
	for (size_t i = 0; i < NTARGETS; i++)
		names[i] = w.names[i];
	g_names = names;
	double img = measure("Image repo only, 1000 targets searched via 50 delegations", &w,
			     run_image, NTARGETS);
	world_free(&w);
	build(&w, NTARGETS);
	measure("stress: 1000 ECUs, all 1000 targets assigned (upt_verify)", &w, run_full,
		NTARGETS);
	world_free(&w);
	bool met = dev < 50.0 && img < 50.0;
	printf("verify goal: < 50 ms (cpu) for 1000 targets with 50 delegations: %s\n",
	       met ? "met" : "NOT MET");
	return met ? 0 : 1;
}
