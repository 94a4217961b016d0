/*
 * usb: libusb for `watch` (docs/integration.md): hotplug arrivals of mass-storage devices, and
 * the identity (vendor, product, serial) of the USB device a medium sits on. The only file that
 * includes libusb.h. Nothing is read from a stick through libusb: its filesystem is reached
 * through the kernel's block device (mount.c); libusb only says that something arrived.
 *
 * libusb is loaded with dlopen when `watch` starts, not linked: install, status and scan never
 * map libusb and libudev (an install's peak RSS stays at most 8 MiB), and a device without
 * libusb still installs (watch then polls /sys/block, as when libusb_init fails). Every entry
 * point keeps the exact type libusb.h declares (__typeof__), so a wrong call does not compile.
 */
#include <dlfcn.h>
#include <libusb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media.h"

/* The runtime name of libusb 1.0 (its ABI has been 0 since 1.0.0); the hotplug API used here
 * came with 1.0.16, every other call is older. */
#define USB_SONAME "libusb-1.0.so.0"

#define USB_FUNCTIONS(X)                                                                           \
	X(libusb_init)                                                                             \
	X(libusb_exit)                                                                             \
	X(libusb_strerror)                                                                         \
	X(libusb_has_capability)                                                                   \
	X(libusb_hotplug_register_callback)                                                        \
	X(libusb_hotplug_deregister_callback)                                                      \
	X(libusb_handle_events_timeout_completed)                                                  \
	X(libusb_ref_device)                                                                       \
	X(libusb_unref_device)                                                                     \
	X(libusb_get_active_config_descriptor)                                                     \
	X(libusb_get_config_descriptor)                                                            \
	X(libusb_free_config_descriptor)                                                           \
	X(libusb_get_device_list)                                                                  \
	X(libusb_free_device_list)                                                                 \
	X(libusb_get_bus_number)                                                                   \
	X(libusb_get_device_address)                                                               \
	X(libusb_get_device_descriptor)                                                            \
	X(libusb_open)                                                                             \
	X(libusb_close)                                                                            \
	X(libusb_get_string_descriptor_ascii)

struct usbfns {
#define USB_FN_FIELD(f) __typeof__(f) *f;
	USB_FUNCTIONS(USB_FN_FIELD)
#undef USB_FN_FIELD
};

#define ARRIVALS_MAX 16 /* arrivals queued between two usb_watch_wait() calls */

struct usbwatch {
	void *lib; /* dlopen handle of USB_SONAME */
	struct usbfns fn;
	libusb_context *ctx;
	bool hotplug;
	libusb_hotplug_callback_handle handle;
	libusb_device *arrivals[ARRIVALS_MAX];
	size_t narrivals;
	unsigned left;
};

/* libusb may not do synchronous I/O inside a hotplug callback: queue the device, look at its
 * descriptors after libusb_handle_events returns. */
static int LIBUSB_CALL on_hotplug(libusb_context *ctx, libusb_device *dev,
				  libusb_hotplug_event event, void *arg)
{
	(void)ctx;
	struct usbwatch *w = arg;
	if (event == LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT) {
		w->left++;
	} else if (event == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED && w->narrivals < ARRIVALS_MAX) {
		w->arrivals[w->narrivals++] = w->fn.libusb_ref_device(dev);
	}
	return 0; /* stay registered */
}

/* Mass storage is declared per interface (bDeviceClass is 0 on nearly every stick), so the
 * hotplug class filter cannot be used: look at every interface of the configuration. */
static bool is_mass_storage(const struct usbfns *fn, libusb_device *dev)
{
	struct libusb_config_descriptor *cfg = NULL;
	if (fn->libusb_get_active_config_descriptor(dev, &cfg) != 0 &&
	    fn->libusb_get_config_descriptor(dev, 0, &cfg) != 0)
		return false;
	bool found = false;
	for (uint8_t i = 0; !found && i < cfg->bNumInterfaces; i++) {
		const struct libusb_interface *itf = &cfg->interface[i];
		for (int a = 0; !found && a < itf->num_altsetting; a++)
			found = itf->altsetting[a].bInterfaceClass == LIBUSB_CLASS_MASS_STORAGE;
	}
	fn->libusb_free_config_descriptor(cfg);
	return found;
}

/* Resolves every entry point, or none: a libusb without one of them is not used at all. */
static int load(struct usbwatch *w, upt_err *e)
{
	dlerror();
	w->lib = dlopen(USB_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!w->lib) {
		const char *why = dlerror();
		return upt_err_set(e, UPT_E_IO, "%s", why ? why : "cannot load " USB_SONAME);
	}
	void *p;
	/* dlsym gives an object pointer; POSIX guarantees it converts to the function's type
	 * (ISO C does not, hence memcpy rather than a cast, which -Wpedantic refuses). */
#define USB_FN_LOAD(f)                                                                             \
	if (!(p = dlsym(w->lib, #f)))                                                              \
		goto missing;                                                                      \
	_Static_assert(sizeof(w->fn.f) == sizeof(p), "function pointer size");                     \
	memcpy(&w->fn.f, &p, sizeof(p));
	USB_FUNCTIONS(USB_FN_LOAD)
#undef USB_FN_LOAD
	return UPT_OK;
missing:
	dlclose(w->lib);
	w->lib = NULL;
	return upt_err_set(e, UPT_E_IO, "%s lacks a function watch uses", USB_SONAME);
}

int usb_watch_open(struct usbwatch **out, bool *hotplug, upt_err *e)
{
	struct usbwatch *w = calloc(1, sizeof(*w));
	if (!w)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	int rc = load(w, e);
	if (rc) {
		free(w);
		return rc;
	}
	int r = w->fn.libusb_init(&w->ctx);
	if (r != 0) {
		rc = upt_err_set(e, UPT_E_IO, "libusb: %s", w->fn.libusb_strerror(r));
		dlclose(w->lib);
		free(w);
		return rc;
	}
	if (w->fn.libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG)) {
		/* No LIBUSB_HOTPLUG_ENUMERATE: what is plugged in already is not an arrival (a
		 * stick left in is never acted on again: edge-triggered). */
		r = w->fn.libusb_hotplug_register_callback(
		    w->ctx, LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT,
		    0, LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY,
		    on_hotplug, w, &w->handle);
		w->hotplug = r == LIBUSB_SUCCESS;
	}
	*hotplug = w->hotplug;
	*out = w;
	return UPT_OK;
}

void usb_watch_wait(struct usbwatch *w, int timeout_ms, unsigned *arrived, unsigned *left)
{
	*arrived = *left = 0;
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	w->fn.libusb_handle_events_timeout_completed(w->ctx, &tv, NULL);
	for (size_t i = 0; i < w->narrivals; i++) {
		if (is_mass_storage(&w->fn, w->arrivals[i]))
			(*arrived)++;
		w->fn.libusb_unref_device(w->arrivals[i]);
	}
	w->narrivals = 0;
	*left = w->left;
	w->left = 0;
}

bool usb_identity(struct usbwatch *w, unsigned busnum, unsigned devnum, struct medium *m)
{
	const struct usbfns *fn = &w->fn;
	libusb_device **list = NULL;
	ssize_t n = fn->libusb_get_device_list(w->ctx, &list);
	bool found = false;
	for (ssize_t i = 0; i < n && !found; i++) {
		libusb_device *dev = list[i];
		if (fn->libusb_get_bus_number(dev) != busnum ||
		    fn->libusb_get_device_address(dev) != devnum)
			continue;
		struct libusb_device_descriptor d;
		if (fn->libusb_get_device_descriptor(dev, &d) != 0)
			break;
		struct medium id;
		memset(&id, 0, sizeof(id));
		snprintf(id.vendor, sizeof(id.vendor), "%04x", d.idVendor);
		snprintf(id.product, sizeof(id.product), "%04x", d.idProduct);
		libusb_device_handle *h = NULL;
		if (d.iSerialNumber && fn->libusb_open(dev, &h) == 0) {
			unsigned char raw[sizeof(id.serial)];
			int len = fn->libusb_get_string_descriptor_ascii(h, d.iSerialNumber, raw,
									 (int)sizeof(raw) - 1);
			if (len > 0) {
				raw[len] = '\0';
				/* The stick chooses this text: printable ASCII only. */
				for (int k = 0; k < len; k++)
					id.serial[k] =
					    raw[k] >= 0x20 && raw[k] < 0x7f ? (char)raw[k] : '?';
				id.serial[len] = '\0';
			}
			fn->libusb_close(h);
		}
		*m = id;
		found = true;
	}
	if (list)
		fn->libusb_free_device_list(list, 1);
	return found;
}

void usb_watch_close(struct usbwatch *w)
{
	if (!w)
		return;
	if (w->hotplug)
		w->fn.libusb_hotplug_deregister_callback(w->ctx, w->handle);
	for (size_t i = 0; i < w->narrivals; i++)
		w->fn.libusb_unref_device(w->arrivals[i]);
	w->fn.libusb_exit(w->ctx);
	/* libusb_exit has joined libusb's threads: nothing of the library runs any more. */
	dlclose(w->lib);
	free(w);
}

void usb_version(char *out, size_t n)
{
	void *lib = dlopen(USB_SONAME, RTLD_NOW | RTLD_LOCAL);
	void *p = lib ? dlsym(lib, "libusb_get_version") : NULL;
	if (!p) {
		snprintf(out, n, "libusb: no %s (watch polls /sys/block)", USB_SONAME);
	} else {
		__typeof__(libusb_get_version) *get;
		_Static_assert(sizeof(get) == sizeof(p), "function pointer size");
		memcpy(&get, &p, sizeof(p));
		const struct libusb_version *v = get();
		snprintf(out, n, "libusb %u.%u.%u (%s, loaded by watch)", v->major, v->minor,
			 v->micro, USB_SONAME);
	}
	if (lib)
		dlclose(lib);
}
