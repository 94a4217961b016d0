/* devconfig: device.json parsed strictly into a typed record (docs/device-config.md). */
#include "upt/devconfig.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upt/cjson.h"
#include "upt/limits.h"
#include "upt/rfc3339.h"

#define PATH_MAX_LEN 4095
#define ARG_MAX_LEN 4096
#define ARGS_MAX 64

const char *upt_handler_name(upt_handler_type t)
{
	switch (t) {
	case UPT_HANDLER_FILE:
		return "file";
	case UPT_HANDLER_AB:
		return "ab";
	case UPT_HANDLER_EXEC:
		return "exec";
	}
	return "?";
}

bool upt_devconfig_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > UPT_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	/* "." and ".." are names too, but not safe ones for a directory component. */
	return strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

void upt_argv_free(upt_argv *a)
{
	if (!a || !a->argv)
		return;
	for (size_t i = 0; i < a->argc; i++)
		free(a->argv[i]);
	free(a->argv);
	a->argv = NULL;
	a->argc = 0;
}

static void ecu_clear(upt_dev_ecu *u)
{
	free(u->serial);
	free(u->hardware_id);
	free(u->path);
	free(u->slots[0]);
	free(u->slots[1]);
	upt_argv_free(&u->activate);
	upt_argv_free(&u->confirm);
	upt_argv_free(&u->command);
}

void upt_devconfig_free(upt_devconfig *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->necus; i++)
		ecu_clear(&c->ecus[i]);
	free(c->ecus);
	free(c->device_id);
	free(c->primary_ecu);
	free(c->state_dir);
	free(c->director_root);
	free(c->image_root);
	free(c->report_key);
	free(c->decrypt_key);
	free(c);
}

const upt_dev_ecu *upt_devconfig_ecu(const upt_devconfig *c, const char *serial)
{
	for (size_t i = 0; i < c->necus; i++)
		if (!strcmp(c->ecus[i].serial, serial))
			return &c->ecus[i];
	return NULL;
}

/* Every key of obj must be one of allowed[]: a misspelt optional field must not be ignored. */
static int only_keys(const json_t *obj, const char *const *allowed, const char *where, upt_err *e)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v)
	{
		bool found = false;
		for (size_t i = 0; allowed[i]; i++)
			if (!strcmp(k, allowed[i]))
				found = true;
		if (!found)
			return upt_err_set(e, UPT_E_CONFIG, "%s: unknown field \"%s\"", where, k);
	}
	return UPT_OK;
}

static int get_str(const json_t *obj, const char *key, const char *where, size_t maxlen,
		   const char **out, upt_err *e)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return upt_err_set(e, UPT_E_CONFIG, "%s: missing field \"%s\"", where, key);
	if (!json_is_string(v))
		return upt_err_set(e, UPT_E_CONFIG, "%s.%s: must be a string", where, key);
	const char *s = json_string_value(v);
	if (json_string_length(v) != strlen(s) || s[0] == '\0' || strlen(s) > maxlen)
		return upt_err_set(e, UPT_E_CONFIG,
				   "%s.%s: must be a non-empty string of at most %zu bytes", where,
				   key, maxlen);
	*out = s;
	return UPT_OK;
}

static int get_name(const json_t *obj, const char *key, const char *where, char **out, upt_err *e)
{
	const char *s;
	int rc = get_str(obj, key, where, UPT_NAME_MAX, &s, e);
	if (rc)
		return rc;
	if (!upt_devconfig_name_ok(s))
		return upt_err_set(e, UPT_E_CONFIG,
				   "%s.%s: \"%s\" is not a valid name ([A-Za-z0-9._-]{1,128})",
				   where, key, s);
	*out = strdup(s);
	return *out ? UPT_OK : upt_err_set(e, UPT_E_NOMEM, "out of memory");
}

static int resolve(const char *base, const char *p, char **out, upt_err *e)
{
	char *r;
	if (p[0] == '/' || !base || !base[0]) {
		r = strdup(p);
	} else {
		size_t bl = strlen(base), pl = strlen(p);
		size_t sl = base[bl - 1] == '/' ? 0 : 1;
		if (bl + sl + pl > PATH_MAX_LEN)
			return upt_err_set(e, UPT_E_CONFIG, "path too long: %s/%s", base, p);
		r = malloc(bl + sl + pl + 1);
		if (r) {
			memcpy(r, base, bl);
			memcpy(r + bl, "/", sl);
			memcpy(r + bl + sl, p, pl + 1);
		}
	}
	if (!r)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	*out = r;
	return UPT_OK;
}

static int get_path(const json_t *obj, const char *key, const char *where, const char *base,
		    char **out, upt_err *e)
{
	const char *s;
	int rc = get_str(obj, key, where, PATH_MAX_LEN, &s, e);
	return rc ? rc : resolve(base, s, out, e);
}

static int parse_argv(const json_t *obj, const char *key, const char *where, const char *base,
		      upt_argv *out, upt_err *e)
{
	json_t *arr = json_object_get(obj, key);
	if (!arr)
		return upt_err_set(e, UPT_E_CONFIG, "%s: missing field \"%s\"", where, key);
	size_t n = json_is_array(arr) ? json_array_size(arr) : 0;
	if (n == 0 || n > ARGS_MAX)
		return upt_err_set(
		    e, UPT_E_CONFIG,
		    "%s.%s: must be an array of 1 to %d strings (program and arguments)", where,
		    key, ARGS_MAX);
	upt_argv a = {calloc(n + 1, sizeof(char *)), 0};
	if (!a.argv)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	int rc = UPT_OK;
	for (size_t i = 0; rc == UPT_OK && i < n; i++) {
		json_t *v = json_array_get(arr, i);
		const char *s = json_string_value(v);
		if (!s || json_string_length(v) != strlen(s) || strlen(s) > ARG_MAX_LEN ||
		    (i == 0 && !s[0])) {
			rc = upt_err_set(e, UPT_E_CONFIG,
					 "%s.%s[%zu]: must be a string of at most %d bytes", where,
					 key, i, ARG_MAX_LEN);
			break;
		}
		if (i == 0 && !strchr(s, '/')) {
			/* No PATH search: what runs as root is exactly what the config names. */
			rc = upt_err_set(
			    e, UPT_E_CONFIG,
			    "%s.%s[0]: \"%s\" must be a path to the program (absolute, or "
			    "relative to the configuration file)",
			    where, key, s);
			break;
		}
		if (i == 0)
			rc = resolve(base, s, &a.argv[0], e);
		else if (!(a.argv[i] = strdup(s)))
			rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
		if (rc == UPT_OK)
			a.argc = i + 1;
	}
	if (rc) {
		upt_argv_free(&a);
		return rc;
	}
	*out = a;
	return UPT_OK;
}

static bool argv_mentions(const upt_argv *a, const char *key)
{
	for (size_t i = 0; i < a->argc; i++)
		if (strstr(a->argv[i], key))
			return true;
	return false;
}

/* Optional "timeout_seconds": a whole number of seconds, bounded (no "never": a hung program
 * would hold the state lock of an unattended device forever). */
static int get_timeout(const json_t *inst, const char *where, uint32_t *out, upt_err *e)
{
	json_t *v = json_object_get(inst, "timeout_seconds");
	if (!v)
		return UPT_OK;
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > UPT_PROGRAM_TIMEOUT_MAX)
		return upt_err_set(
		    e, UPT_E_CONFIG,
		    "%s.timeout_seconds: must be a whole number of seconds from 1 to %d", where,
		    UPT_PROGRAM_TIMEOUT_MAX);
	*out = (uint32_t)json_integer_value(v);
	return UPT_OK;
}

static int parse_install(const json_t *inst, const char *where, const char *base, upt_dev_ecu *u,
			 upt_err *e)
{
	if (!json_is_object(inst))
		return upt_err_set(e, UPT_E_CONFIG, "%s: must be an object", where);
	const char *type;
	int rc = get_str(inst, "type", where, 16, &type, e);
	if (rc)
		return rc;
	if (!strcmp(type, "file")) {
		static const char *const keys[] = {"type", "path", NULL};
		u->type = UPT_HANDLER_FILE;
		rc = only_keys(inst, keys, where, e);
		if (rc == UPT_OK)
			rc = get_path(inst, "path", where, base, &u->path, e);
		return rc;
	}
	if (!strcmp(type, "ab")) {
		static const char *const keys[] = {"type",    "slots",		 "activate",
						   "confirm", "timeout_seconds", NULL};
		u->type = UPT_HANDLER_AB;
		rc = only_keys(inst, keys, where, e);
		if (rc == UPT_OK)
			rc = get_timeout(inst, where, &u->timeout_s, e);
		if (rc)
			return rc;
		json_t *slots = json_object_get(inst, "slots");
		if (!json_is_array(slots) || json_array_size(slots) != 2)
			return upt_err_set(e, UPT_E_CONFIG,
					   "%s.slots: must be an array of two paths [A, B]", where);
		for (size_t i = 0; i < 2; i++) {
			const char *s = json_string_value(json_array_get(slots, i));
			if (!s || !s[0] || strlen(s) > PATH_MAX_LEN)
				return upt_err_set(e, UPT_E_CONFIG, "%s.slots[%zu]: must be a path",
						   where, i);
			rc = resolve(base, s, &u->slots[i], e);
			if (rc)
				return rc;
		}
		if (!strcmp(u->slots[0], u->slots[1]))
			return upt_err_set(e, UPT_E_CONFIG,
					   "%s.slots: the two slots are the same path", where);
		rc = parse_argv(inst, "activate", where, base, &u->activate, e);
		if (rc == UPT_OK && json_object_get(inst, "confirm"))
			rc = parse_argv(inst, "confirm", where, base, &u->confirm, e);
		return rc;
	}
	if (!strcmp(type, "exec")) {
		static const char *const keys[] = {"type", "command", "timeout_seconds", NULL};
		u->type = UPT_HANDLER_EXEC;
		rc = only_keys(inst, keys, where, e);
		if (rc == UPT_OK)
			rc = get_timeout(inst, where, &u->timeout_s, e);
		if (rc == UPT_OK)
			rc = parse_argv(inst, "command", where, base, &u->command, e);
		if (rc == UPT_OK && !argv_mentions(&u->command, "{image}"))
			rc = upt_err_set(e, UPT_E_CONFIG,
					 "%s.command: must pass the image to the program ({image})",
					 where);
		return rc;
	}
	return upt_err_set(e, UPT_E_CONFIG,
			   "%s.type: \"%s\" is not an install handler (file, ab, exec)", where,
			   type);
}

static int parse_ecu(const json_t *obj, size_t idx, const char *base, upt_dev_ecu *u, upt_err *e)
{
	static const char *const keys[] = {"serial", "hardware_id", "install", "release_counter",
					   NULL};
	char where[64];
	snprintf(where, sizeof(where), "ecus[%zu]", idx);
	if (!json_is_object(obj))
		return upt_err_set(e, UPT_E_CONFIG, "%s: must be an object", where);
	int rc = only_keys(obj, keys, where, e);
	if (rc == UPT_OK)
		rc = get_name(obj, "serial", where, &u->serial, e);
	if (rc == UPT_OK)
		rc = get_name(obj, "hardware_id", where, &u->hardware_id, e);
	json_t *rcnt = json_object_get(obj, "release_counter");
	if (rc == UPT_OK && rcnt) {
		if (!json_is_integer(rcnt) || json_integer_value(rcnt) < 0)
			return upt_err_set(e, UPT_E_CONFIG,
					   "%s.release_counter: must be an integer >= 0", where);
		u->release_counter = (uint64_t)json_integer_value(rcnt);
	}
	if (rc == UPT_OK) {
		char iw[80];
		snprintf(iw, sizeof(iw), "%s.install", where);
		json_t *inst = json_object_get(obj, "install");
		if (!inst)
			return upt_err_set(e, UPT_E_CONFIG, "%s: missing field \"install\"", where);
		rc = parse_install(inst, iw, base, u, e);
	}
	return rc;
}

/* Two ECUs writing the same file or slot would overwrite each other's image. */
static int check_cross(const upt_devconfig *c, upt_err *e)
{
	const char *paths[UPT_ECUS_MAX * 2];
	const char *owner[UPT_ECUS_MAX * 2];
	size_t np = 0;
	for (size_t i = 0; i < c->necus; i++) {
		const upt_dev_ecu *u = &c->ecus[i];
		for (size_t j = 0; j < i; j++)
			if (!strcmp(c->ecus[j].serial, u->serial))
				return upt_err_set(e, UPT_E_CONFIG,
						   "ecus[%zu]: serial \"%s\" listed twice", i,
						   u->serial);
		if (u->type == UPT_HANDLER_FILE)
			paths[np] = u->path, owner[np++] = u->serial;
		if (u->type == UPT_HANDLER_AB) {
			paths[np] = u->slots[0], owner[np++] = u->serial;
			paths[np] = u->slots[1], owner[np++] = u->serial;
		}
	}
	for (size_t i = 0; i < np; i++)
		for (size_t j = 0; j < i; j++)
			if (!strcmp(paths[i], paths[j]) && strcmp(owner[i], owner[j]))
				return upt_err_set(e, UPT_E_CONFIG,
						   "ECUs %s and %s both install to %s", owner[j],
						   owner[i], paths[i]);
	if (!upt_devconfig_ecu(c, c->primary_ecu))
		return upt_err_set(e, UPT_E_CONFIG, "primary_ecu \"%s\" is not one of the ecus",
				   c->primary_ecu);
	return UPT_OK;
}

int upt_devconfig_parse(const void *data, size_t len, const char *base_dir, upt_devconfig **out,
			upt_err *e)
{
	static const char *const keys[] = {"device_id",	    "primary_ecu", "ecus",   "state_dir",
					   "trusted_roots", "report_key",  "accept", "time_floor",
					   "decrypt_key",   NULL};
	static const char *const root_keys[] = {"director", "image-repo", NULL};
	json_t *doc = NULL;
	upt_devconfig *c = calloc(1, sizeof(*c));
	if (!c)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	int rc = upt_json_parse(data, len, UPT_CONFIG_MAX, &doc, e);
	if (rc) {
		char why[UPT_ERR_MSG_MAX];
		snprintf(why, sizeof(why), "%s", e ? e->msg : "invalid JSON");
		rc = upt_err_set(e, UPT_E_CONFIG, "%s", why);
		goto out;
	}
	if (!json_is_object(doc)) {
		rc = upt_err_set(e, UPT_E_CONFIG, "the configuration must be a JSON object");
		goto out;
	}
	rc = only_keys(doc, keys, "configuration", e);
	if (rc == UPT_OK)
		rc = get_name(doc, "device_id", "configuration", &c->device_id, e);
	if (rc == UPT_OK)
		rc = get_name(doc, "primary_ecu", "configuration", &c->primary_ecu, e);
	if (rc == UPT_OK)
		rc = get_path(doc, "state_dir", "configuration", base_dir, &c->state_dir, e);
	if (rc == UPT_OK)
		rc = get_path(doc, "report_key", "configuration", base_dir, &c->report_key, e);
	/* optional: a device without it cannot open encrypted images (docs/device-config.md) */
	if (rc == UPT_OK && json_object_get(doc, "decrypt_key"))
		rc = get_path(doc, "decrypt_key", "configuration", base_dir, &c->decrypt_key, e);
	if (rc)
		goto out;

	json_t *roots = json_object_get(doc, "trusted_roots");
	if (!json_is_object(roots)) {
		rc = upt_err_set(e, UPT_E_CONFIG,
				 "configuration.trusted_roots: must be an object {\"director\", "
				 "\"image-repo\"}");
		goto out;
	}
	rc = only_keys(roots, root_keys, "trusted_roots", e);
	if (rc == UPT_OK)
		rc = get_path(roots, "director", "trusted_roots", base_dir, &c->director_root, e);
	if (rc == UPT_OK)
		rc = get_path(roots, "image-repo", "trusted_roots", base_dir, &c->image_root, e);
	if (rc)
		goto out;

	json_t *accept = json_object_get(doc, "accept");
	if (!json_is_array(accept) || json_array_size(accept) == 0) {
		rc = upt_err_set(e, UPT_E_CONFIG,
				 "configuration.accept: must list the bundle kinds accepted "
				 "(\"device\", \"fleet\")");
		goto out;
	}
	size_t i;
	json_t *v;
	json_array_foreach(accept, i, v)
	{
		const char *s = json_string_value(v);
		if (s && !strcmp(s, "device")) {
			c->accept_device = true;
		} else if (s && !strcmp(s, "fleet")) {
			c->accept_fleet = true;
		} else {
			rc = upt_err_set(
			    e, UPT_E_CONFIG,
			    "configuration.accept[%zu]: must be \"device\" or \"fleet\"", i);
			goto out;
		}
	}

	json_t *tf = json_object_get(doc, "time_floor");
	if (tf) {
		const char *s = json_string_value(tf);
		if (!s || upt_rfc3339_parse(s, &c->time_floor, NULL) != UPT_OK) {
			rc = upt_err_set(e, UPT_E_CONFIG,
					 "configuration.time_floor: must be RFC 3339 UTC "
					 "(2027-01-01T00:00:00Z)");
			goto out;
		}
		c->has_time_floor = true;
	}

	json_t *ecus = json_object_get(doc, "ecus");
	size_t n = json_is_array(ecus) ? json_array_size(ecus) : 0;
	if (n == 0 || n > UPT_ECUS_MAX) {
		rc = upt_err_set(e, UPT_E_CONFIG,
				 "configuration.ecus: must be an array of 1 to %d ECUs",
				 UPT_ECUS_MAX);
		goto out;
	}
	c->ecus = calloc(n, sizeof(*c->ecus));
	if (!c->ecus) {
		rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		c->necus = i + 1;
		rc = parse_ecu(json_array_get(ecus, i), i, base_dir, &c->ecus[i], e);
		if (rc)
			goto out;
	}
	rc = check_cross(c, e);
out:
	json_decref(doc);
	if (rc) {
		upt_devconfig_free(c);
		return rc;
	}
	*out = c;
	return UPT_OK;
}

int upt_argv_expand(const upt_argv *tmpl, const upt_subst *subst, size_t nsubst, upt_argv *out,
		    upt_err *e)
{
	upt_argv a = {calloc(tmpl->argc + 1, sizeof(char *)), 0};
	if (!a.argv)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	int rc = UPT_OK;
	for (size_t i = 0; rc == UPT_OK && i < tmpl->argc; i++) {
		char buf[ARG_MAX_LEN + 1];
		size_t used = 0;
		const char *p = tmpl->argv[i];
		while (*p && rc == UPT_OK) {
			const char *val = NULL;
			size_t klen = 0;
			for (size_t k = 0; k < nsubst; k++) {
				size_t kl = strlen(subst[k].key);
				if (kl && !strncmp(p, subst[k].key, kl)) {
					val = subst[k].value;
					klen = kl;
					break;
				}
			}
			const char *src = val ? val : p;
			size_t n = val ? strlen(val) : 1;
			if (n > ARG_MAX_LEN - used) {
				rc = upt_err_set(e, UPT_E_TOO_LARGE,
						 "argument %zu longer than %d bytes", i,
						 ARG_MAX_LEN);
				break;
			}
			memcpy(buf + used, src, n);
			used += n;
			p += val ? klen : 1;
		}
		buf[used] = '\0';
		if (rc == UPT_OK && !(a.argv[i] = strdup(buf)))
			rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
		if (rc == UPT_OK)
			a.argc = i + 1;
	}
	if (rc) {
		upt_argv_free(&a);
		return rc;
	}
	*out = a;
	return UPT_OK;
}
