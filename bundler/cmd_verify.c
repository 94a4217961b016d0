/*
 * verify: the installer's verification of a bundle, dry, on the station: "would this device
 * accept this stick?". The same container reader and the same engine (upt_verify,
 * docs/threat-model.md steps 1-4) with the device's configuration, its provisioned roots
 * and, when the configured state directory has one, its trusted/ state (roots, metadata,
 * time floor) and installed images (trusted/installed.json: release counters); then every
 * assigned image is streamed through zstd and both hashes, capped at its signed length
 * (step 5, no sink). Nothing is written: not the state, not the lock, not a report.
 *
 * The clock is the system clock, or --at TIME; effective time = max(clock, the stored or
 * configured time floor), as on the device. (The installer also floors at its own build time;
 * a station tool has no such anchor: --at in the past is taken as given.)
 *
 * Exit: 0 verified, 3 nothing to do (not for this device, or every image it assigns is already
 * installed: the installer's up-to-date), 4 rejected (with the class), 2 usage or configuration
 * error, 1 internal error.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "upt/bundle.h"
#include "upt/devconfig.h"
#include "upt/devstate.h"
#include "upt/fileio.h"
#include "upt/limits.h"
#include "upt/rfc3339.h"
#include "upt/trust.h"
#include "upt/verify.h"
#include "workspace.h"
#include "upt/cjson.h"

static const char usage[] =
    "usage: uptane-bundle verify BUNDLE --config DEVICE.json [--at TIME] [--json]\n"
    "       uptane-bundle verify BUNDLE --workspace WS [--device ID..] [--at TIME] [--json]\n"
    "  Runs the installer's checks on BUNDLE for the device DEVICE.json describes (its\n"
    "  provisioned roots, and its state directory's trusted state when present), without\n"
    "  writing anything. --at TIME is the clock to check against: a date YYYY-MM-DD\n"
    "  (midnight UTC) or YYYY-MM-DDTHH:MM:SSZ.\n"
    "  --workspace: at the station, no device.json needed: each device the bundle names (or\n"
    "  each --device) as WS provisions it (its assigned ECUs and hardware ids, WS's version 1\n"
    "  roots, nothing installed yet); one verdict line per device, the worst decides the\n"
    "  exit status.\n"
    "  Exit status: 0 verified, 3 not for this device or already up to date, 4 rejected,\n"
    "  2 usage or configuration error.\n";

static const arg_opt opts[] = {
    {"config", 0, ARG_ONE},    {"at", 0, ARG_ONE},	{"json", 0, ARG_NONE},
    {"workspace", 0, ARG_ONE}, {"device", 0, ARG_LIST},
};

/* Re-files an error as a configuration error (exit 2), keeping its message. */
static int as_config(upt_err *e, const char *path)
{
	char msg[UPT_ERR_MSG_MAX];
	snprintf(msg, sizeof(msg), "%s", e->msg);
	return upt_err_set(e, UPT_E_CONFIG, "%s: %s", path, msg);
}

static int load_config(const char *path, upt_devconfig **out, upt_err *e)
{
	char abs[PATH_MAX];
	if (!realpath(path, abs))
		return upt_err_set(e, UPT_E_CONFIG, "%s: %s", path, strerror(errno));
	char base[PATH_MAX];
	snprintf(base, sizeof(base), "%s", abs);
	char *slash = strrchr(base, '/');
	if (slash == base)
		base[1] = '\0';
	else if (slash)
		*slash = '\0';
	upt_buf b;
	upt_buf_init(&b, UPT_CONFIG_MAX);
	int rc = upt_file_read(AT_FDCWD, abs, UPT_CONFIG_MAX, &b, e);
	if (rc == UPT_OK)
		rc = upt_devconfig_parse(b.data, b.len, base, out, e);
	upt_buf_clear(&b);
	if (rc)
		return as_config(e, path);
	return UPT_OK;
}

static int load_root(upt_trust *t, const char *name, const char *path, upt_err *e)
{
	upt_buf b;
	upt_buf_init(&b, UPT_META_FILE_MAX);
	int rc = upt_file_read(AT_FDCWD, path, UPT_META_FILE_MAX, &b, e);
	if (rc == UPT_OK)
		rc = upt_trust_set(t, name, b.data, b.len, e);
	upt_buf_clear(&b);
	/* A configuration naming a missing root file is a configuration error (exit 2). */
	if (rc)
		return as_config(e, path);
	return UPT_OK;
}

/* The device's trusted state: state_dir/trusted/ when the installer has created it, else the
 * provisioned roots and the configured time floor (what the installer starts from). */
static int load_trust(const upt_devconfig *cfg, upt_trust *t, upt_installed *inst, upt_err *e)
{
	int rc = UPT_OK;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/trusted", cfg->state_dir);
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		rc = upt_trust_load_dir(fd, t, e);
		if (rc) {
			close(fd);
			return upt_err_prefix(e, "%s", path);
		}
		upt_buf b;
		upt_buf_init(&b, UPT_STATE_FILE_MAX);
		rc = upt_file_read(fd, "installed.json", UPT_STATE_FILE_MAX, &b, e);
		if (rc == UPT_OK)
			rc = upt_installed_parse(b.data, b.len, inst, e);
		else if (rc == UPT_E_NOT_FOUND)
			rc = UPT_OK;
		upt_buf_clear(&b);
		close(fd);
		if (rc)
			return upt_err_prefix(e, "%s/installed.json", path);
	} else if (errno != ENOENT) {
		return upt_err_set(e, UPT_E_CONFIG, "%s: %s", path, strerror(errno));
	}
	if (!upt_trust_get(t, "director/root.json"))
		rc = load_root(t, "director/root.json", cfg->director_root, e);
	if (rc == UPT_OK && !upt_trust_get(t, "image-repo/root.json"))
		rc = load_root(t, "image-repo/root.json", cfg->image_root, e);
	if (rc == UPT_OK && cfg->has_time_floor && cfg->time_floor > t->time_floor)
		t->time_floor = cfg->time_floor;
	return rc;
}

typedef struct sink_ctx {
	uint64_t bytes;
} sink_ctx;

static int null_sink(void *ctx, const void *data, size_t len, upt_err *e)
{
	(void)data;
	(void)e;
	((sink_ctx *)ctx)->bytes += len;
	return UPT_OK;
}

/* An encrypted image (docs/bundle-format.md): opened with the device's key when verify has it
 * (--config with a decrypt_key), else only its sealed form's length and hashes are checked. */
static int check_sealed(upt_bundle_reader *r, const upt_assignment *as, const upt_decrypt_key *key,
			sink_ctx *sc, upt_err *e)
{
	if (!as->has_wrapped_key || !key)
		return upt_bundle_check_sealed_image(r, as->sealed_length, &as->sealed_hashes, e);
	upt_image_decrypt *d = sodium_malloc(sizeof(*d));
	if (!d)
		return upt_err_set(e, UPT_E_NOMEM, "out of secure memory");
	int rc = upt_crypt_unwrap(key, as->wrapped_key, d->key, e);
	d->length = as->sealed_length;
	d->hashes = as->sealed_hashes;
	if (rc == UPT_OK)
		rc = upt_bundle_stream_sealed_image(r, as->length, &as->hashes, d, null_sink, sc,
						    NULL, e);
	sodium_free(d);
	return rc;
}

/* Step 5, dry: every image assigned to this device streams through zstd and its hashes. */
static int check_images(upt_bundle_reader *r, const upt_verify_result *res,
			const upt_decrypt_key *key, upt_err *e)
{
	bool *seen = calloc(res->nassignments ? res->nassignments : 1, sizeof(*seen));
	if (!seen)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	int rc;
	for (;;) {
		const char *name;
		uint64_t clen;
		rc = upt_bundle_next_image(r, &name, &clen, e);
		if (rc == UPT_E_NOT_FOUND) {
			rc = UPT_OK;
			break;
		}
		if (rc)
			break;
		const upt_assignment *as = NULL;
		for (size_t i = 0; i < res->nassignments; i++)
			if (!strcmp(res->assignments[i].target_name, name)) {
				if (!as)
					as = &res->assignments[i];
				seen[i] = true;
			}
		if (!as)
			continue;
		char member[UPT_MEMBER_PATH_MAX + 8];
		snprintf(member, sizeof(member), "images/%s", name);
		sink_ctx sc = {0};
		if (as->sealed)
			rc = check_sealed(r, as, key, &sc, e);
		else
			rc = upt_bundle_stream_image(r, as->length, &as->hashes, null_sink, &sc,
						     NULL, e);
		if (rc) {
			upt_err_set_file(e, member);
			break;
		}
	}
	for (size_t i = 0; rc == UPT_OK && i < res->nassignments; i++)
		if (!seen[i] && !res->assignments[i].already_installed) {
			char member[UPT_MEMBER_PATH_MAX + 8];
			snprintf(member, sizeof(member), "images/%s",
				 res->assignments[i].target_name);
			rc = upt_err_set(e, UPT_E_MALFORMED, "image member missing for ECU %s",
					 res->assignments[i].ecu_serial);
			upt_err_set_file(e, member);
		}
	free(seen);
	return rc;
}

static void print_json(const char *status, int code, const upt_err *e, const char *file,
		       const char *msg)
{
	json_t *o = json_pack("{s:s, s:s?, s:s?, s:s?, s:s}", "event", "result", "reason",
			      upt_err_is_rejection(code) ? upt_err_class(code) : NULL, "file",
			      e && e->file[0] ? e->file : NULL, "bundle", file, "message", msg);
	json_object_set_new(o, "status", json_string(status));
	char *s = json_dumps(o, JSON_COMPACT);
	if (s)
		puts(s);
	free(s);
	json_decref(o);
}

/* The verification of BUNDLE for one device (TRUST: what it trusts, DEV: who it is) at NOW and
 * its verdict on stdout; returns the exit status. PREFIX ("" or "device X: ") heads each line of
 * a check of several devices. */
static int run_verify(const char *bundle, upt_trust *trust, const upt_device_ident *dev,
		      const upt_decrypt_key *key, int64_t now, bool as_json, const char *prefix)
{
	upt_err e;
	upt_err_clear(&e);
	upt_bundle_reader *r = NULL;
	upt_bundle_meta *bm = NULL;
	upt_verify_result res;
	bool have_res = false;
	int status;
	int rc;
	const char *device_id = dev->device_id;
	rc = upt_bundle_reader_open(bundle, &r, &e);
	if (rc == UPT_OK)
		rc = upt_bundle_read_metadata(r, &bm, &e);
	if (rc == UPT_OK) {
		upt_verify_input in = {trust, bm, dev, now};
		rc = upt_verify(&in, &res);
		have_res = true;
		if (rc)
			e = res.err;
	}
	if (rc == UPT_OK)
		rc = check_images(r, &res, key, &e);

	char msg[UPT_ERR_MSG_MAX + UPT_ERR_FILE_MAX + 64];
	if (rc == UPT_OK) {
		char t[UPT_RFC3339_LEN + 1];
		upt_rfc3339_format(res.effective_time, t);
		size_t fresh = 0;
		for (size_t i = 0; i < res.nassignments; i++)
			fresh += !res.assignments[i].already_installed;
		snprintf(msg, sizeof(msg),
			 "%s bundle %s verified for device %s at %s: %zu image(s), "
			 "%zu new",
			 res.kind_fleet ? "fleet" : "device", res.bundle_id, device_id, t,
			 res.nassignments, fresh);
		/* Nothing new for this device: what the installer reports as up-to-date (exit 3).
		 */
		bool up_to_date = fresh == 0;
		if (as_json) {
			print_json(up_to_date ? "up-to-date" : "verified", rc, NULL, bundle, msg);
		} else {
			printf("%s%s: %s\n", prefix, up_to_date ? "UP TO DATE" : "OK", msg);
			for (size_t i = 0; i < res.nassignments; i++) {
				char name[UPT_TARGET_NAME_MAX + 1];
				safe_str(res.assignments[i].target_name, name, sizeof(name));
				printf("  %s <- %s (%llu bytes, release %llu)%s\n",
				       res.assignments[i].ecu_serial, name,
				       (unsigned long long)res.assignments[i].length,
				       (unsigned long long)res.assignments[i].release_counter,
				       res.assignments[i].already_installed ? " already installed"
				       : !res.assignments[i].sealed	    ? ""
				       : res.assignments[i].has_wrapped_key && key
					   ? " encrypted, opened with the device's key"
					   : " encrypted: sealed form checked, not opened (no "
					     "device key)");
			}
			if (res.clock_behind_floor)
				printf("  note: the clock is behind the device's time floor; the "
				       "floor "
				       "was used\n");
		}
		status = up_to_date ? CLI_EXIT_NOT_FOR_DEVICE : CLI_EXIT_OK;
	} else if (rc == UPT_E_NOT_FOR_DEVICE) {
		char why[sizeof(res.intended_for) + 1];
		safe_str(have_res && res.intended_for[0] ? res.intended_for : e.msg, why,
			 sizeof(why));
		snprintf(msg, sizeof(msg), "not for device %s: the bundle is for %s", device_id,
			 why);
		if (as_json)
			print_json("not-for-this-device", rc, NULL, bundle, msg);
		else
			printf("%sNOT FOR THIS DEVICE: %s\n", prefix, msg);
		status = CLI_EXIT_NOT_FOR_DEVICE;
	} else if (upt_err_is_rejection(rc)) {
		char m[UPT_ERR_MSG_MAX], f[UPT_ERR_FILE_MAX];
		safe_str(e.msg, m, sizeof(m));
		safe_str(e.file, f, sizeof(f));
		snprintf(msg, sizeof(msg), "%s%s%s", f, f[0] ? ": " : "", m);
		if (as_json)
			print_json("rejected", rc, &e, bundle, m);
		else
			printf("%sREJECTED (%s): %s\n", prefix, upt_err_class(rc), msg);
		status = CLI_EXIT_REJECTED;
	} else {
		status = cli_fail("verify", &e);
	}
	if (have_res)
		upt_verify_result_clear(&res);
	upt_bundle_meta_free(bm);
	upt_bundle_reader_free(r);
	return status;
}

static int verify(const char *bundle, const char *config, const char *at, bool as_json)
{
	upt_err e;
	upt_err_clear(&e);
	upt_devconfig *cfg = NULL;
	upt_trust trust;
	upt_trust_init(&trust);
	upt_installed inst;
	upt_installed_init(&inst);
	upt_ecu_ident *ecus = NULL;
	upt_decrypt_key *key = NULL;
	int status;
	int64_t now = now_utc();

	int rc = load_config(config, &cfg, &e);
	if (rc == UPT_OK && at) {
		rc = upt_time_parse(at, &now, &e);
		if (rc)
			upt_err_prefix(&e, "--at");
	}
	if (rc == UPT_OK)
		rc = load_trust(cfg, &trust, &inst, &e);
	if (rc) {
		status = cli_fail("verify", &e);
		goto out;
	}
	ecus = calloc(cfg->necus, sizeof(*ecus));
	if (!ecus) {
		upt_err_set(&e, UPT_E_NOMEM, "out of memory");
		status = cli_fail("verify", &e);
		goto out;
	}
	for (size_t i = 0; i < cfg->necus; i++) {
		ecus[i].serial = cfg->ecus[i].serial;
		ecus[i].hardware_id = cfg->ecus[i].hardware_id;
		ecus[i].release_counter = cfg->ecus[i].release_counter;
		const upt_installed_ecu *ie = upt_installed_get(&inst, cfg->ecus[i].serial);
		if (ie && ie->has_image) {
			if (ie->image.release_counter > ecus[i].release_counter)
				ecus[i].release_counter = ie->image.release_counter;
			ecus[i].installed_target = ie->image.target;
			if (ie->image.hashes.has_sha256) {
				ecus[i].has_installed_sha256 = true;
				memcpy(ecus[i].installed_sha256, ie->image.hashes.sha256, 32);
			}
		}
	}
	/* as the device: its decrypt_key opens encrypted images, without one they are refused */
	if (cfg->decrypt_key && upt_decrypt_key_load(cfg->decrypt_key, &key, &e) != UPT_OK) {
		upt_err_prefix(&e, "decrypt_key");
		status = cli_fail("verify", &e);
		goto out;
	}
	upt_device_ident dev = {.device_id = cfg->device_id,
				.ecus = ecus,
				.necus = cfg->necus,
				.accept_device = cfg->accept_device,
				.accept_fleet = cfg->accept_fleet,
				.decrypt_keyid = key ? upt_decrypt_key_id(key) : NULL};

	status = run_verify(bundle, &trust, &dev, key, now, as_json, "");
out:
	upt_decrypt_key_free(key);
	free(ecus);
	upt_installed_clear(&inst);
	upt_trust_clear(&trust);
	upt_devconfig_free(cfg);
	return status;
}

/* The devices a bundle names (bundle.json's unsigned "devices": only which to check; the
 * verification decides), into *out (a JSON array, new reference). */
static int bundle_devices(const char *bundle, json_t **out, upt_err *e)
{
	upt_bundle_reader *r = NULL;
	upt_bundle_meta *bm = NULL;
	int rc = upt_bundle_reader_open(bundle, &r, e);
	if (rc == UPT_OK)
		rc = upt_bundle_read_metadata(r, &bm, e);
	json_t *doc = NULL;
	if (rc == UPT_OK)
		rc = upt_json_parse(bm->bundle_json.data, bm->bundle_json.len, UPT_META_FILE_MAX,
				    &doc, e);
	if (rc == UPT_OK) {
		json_t *d = json_object_get(doc, "devices");
		*out = json_is_array(d) ? json_incref(d) : json_array();
	}
	json_decref(doc);
	upt_bundle_meta_free(bm);
	upt_bundle_reader_free(r);
	return rc;
}

/* The worse of two verdicts: rejected (4) over errors (2, 1) over nothing to do (3) over ok. */
static int worse(int a, int b)
{
	static const int rank[8] = {0, 3, 2, 1, 4, 0, 0, 0};
	return rank[b & 7] > rank[a & 7] ? b : a;
}

/* verify --workspace: each device checked as the workspace provisions it: its ECUs and
 * hardware ids from the assignments, the workspace's version 1 roots (what devices are
 * provisioned with), no installed state, both bundle kinds accepted. */
static int verify_workspace(const char *bundle, const char *wsdir, const arg_val *only,
			    const char *at, bool as_json)
{
	upt_err e;
	upt_err_clear(&e);
	ws w = {.dirfd = -1, .lockfd = -1};
	json_t *names = NULL;
	upt_buf roots[2];
	upt_buf_init(&roots[0], UPT_META_FILE_MAX);
	upt_buf_init(&roots[1], UPT_META_FILE_MAX);
	int64_t now = now_utc();
	int rc = ws_open(wsdir, &w, &e);
	if (rc == UPT_OK && at && (rc = upt_time_parse(at, &now, &e)) != UPT_OK)
		upt_err_prefix(&e, "--at");
	if (rc == UPT_OK)
		rc = ws_read(&w, "metadata/director/1.root.json", UPT_META_FILE_MAX, &roots[0], &e);
	if (rc == UPT_OK)
		rc = ws_read(&w, "metadata/image-repo/1.root.json", UPT_META_FILE_MAX, &roots[1],
			     &e);
	if (rc == UPT_OK && only->n) {
		names = json_array();
		for (size_t i = 0; i < only->n; i++)
			json_array_append_new(names, json_string(only->v[i]));
	} else if (rc == UPT_OK) {
		rc = bundle_devices(bundle, &names, &e);
		if (rc == UPT_OK && !json_array_size(names))
			rc = upt_err_set(&e, UPT_E_USAGE,
					 "%s names no device (a fleet bundle): give --device ID..",
					 bundle);
	}
	int status = 0;
	if (rc) {
		status = cli_fail("verify", &e);
		goto out;
	}
	size_t i;
	json_t *n;
	json_array_foreach(names, i, n)
	{
		const char *id = json_string_value(n);
		json_t *ecus = json_object_get(json_object_get(w.doc, "devices"), id ? id : "");
		if (!id || !json_object_size(ecus)) {
			upt_err_set(
			    &e, UPT_E_USAGE,
			    "device %s is not assigned in %s (its ECUs are not known there)",
			    id ? id : "?", wsdir);
			status = worse(status, cli_fail("verify", &e));
			continue;
		}
		upt_ecu_ident idents[UPT_ECUS_MAX];
		size_t ne = 0;
		const char *serial;
		json_t *as;
		json_object_foreach(ecus, serial, as)
		{
			if (ne == UPT_ECUS_MAX)
				break;
			idents[ne++] = (upt_ecu_ident){
			    .serial = serial,
			    .hardware_id = json_string_value(json_object_get(as, "hardwareId"))};
		}
		/* the station holds no device keys: encrypted images are checked sealed */
		upt_device_ident dev = {.device_id = id,
					.ecus = idents,
					.necus = ne,
					.accept_device = true,
					.accept_fleet = true,
					.sealed_unopened_ok = true};
		upt_trust t;
		upt_trust_init(&t);
		rc = upt_trust_set(&t, "director/root.json", roots[0].data, roots[0].len, &e);
		if (rc == UPT_OK)
			rc = upt_trust_set(&t, "image-repo/root.json", roots[1].data, roots[1].len,
					   &e);
		char prefix[UPT_NAME_MAX + 16];
		snprintf(prefix, sizeof(prefix), "device %s: ", id);
		status =
		    worse(status, rc ? cli_fail("verify", &e)
				     : run_verify(bundle, &t, &dev, NULL, now, as_json, prefix));
		upt_trust_clear(&t);
	}
out:
	json_decref(names);
	upt_buf_clear(&roots[0]);
	upt_buf_clear(&roots[1]);
	ws_close(&w);
	return status;
}

int cmd_verify(int argc, char **argv)
{
	args a;
	upt_err e;
	upt_err_clear(&e);
	int status;
	if (!cli_start(&a, "verify", usage, opts, sizeof(opts) / sizeof(opts[0]), argc, argv,
		       &status))
		goto out;
	const char *config = args_one(&a, "config"), *wsdir = args_one(&a, "workspace");
	const arg_val *devs = args_get(&a, "device");
	if (a.npos != 1 || !config == !wsdir || (config && devs->n)) {
		status = cli_usage("verify", usage,
				   "expected BUNDLE and either --config DEVICE.json or "
				   "--workspace WS [--device ID..]");
		goto out;
	}
	status = config ? verify(a.pos[0], config, args_one(&a, "at"), args_flag(&a, "json"))
			: verify_workspace(a.pos[0], wsdir, devs, args_one(&a, "at"),
					   args_flag(&a, "json"));
out:
	args_free(&a);
	return status;
}
