/*
 * bundle: the bundle container of docs/bundle-format.md.
 *
 * Writer: an uncompressed pax tar (headers by libarchive): bundle.json, then every metadata/
 * member, then images/<target name> members, each image compressed on its own with libzstd
 * (window <= 4 MiB, worker threads), streamed in constant memory, optionally split into volumes
 * name.000, .001.. With upt_bundle_writer_begin the output is written in one pass, as the images
 * are compressed (bundle.json and image headers reserved, then patched); without it, images go
 * through a temp file and everything is written at finish.
 *
 * Reader (libarchive, tar only, no compression filter): enforces the member rules (regular
 * files only, name allowlist, no duplicates, metadata before images, caps) while reading all
 * metadata into memory; then walks the images, skipping unwanted ones by seeking, and streams
 * a wanted one through zstd (window capped) and SHA-256/512 with the signed length as the cap.
 * The reader never writes to disk; the caller's sink receives decompressed bytes.
 */
#ifndef UPT_BUNDLE_H
#define UPT_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "upt/buf.h"
#include "upt/err.h"
#include "upt/hash.h"
#include "upt/imgcrypt.h"

/* ---- writer ---- */

typedef struct upt_bundle_writer upt_bundle_writer;

typedef struct upt_bundle_writer_opts {
	int level;	  /* zstd level, 0 = default (3) */
	unsigned threads; /* zstd worker threads, 0 or 1 = single-threaded */
	uint64_t
	    split_size; /* 0: one file; else volumes path.000, path.001, ... each <= split_size */
} upt_bundle_writer_opts;

/* Creates the output (path, or path.000... when split). Nothing is visible at path until
 * upt_bundle_writer_finish succeeds (volumes are written under temp names beside it, removed by
 * upt_bundle_writer_free unless finished). */
int upt_bundle_writer_new(const char *path, const upt_bundle_writer_opts *opts,
			  upt_bundle_writer **out, upt_err *e) UPT_MUST_CHECK;
/* The largest compressed size the writer produces, and the reader accepts, for an image of
 * `length` bytes: ZSTD_compressBound(length) + UPT_ZSTD_SLACK (UINT64_MAX when unbounded). The
 * compressed_length to put in a draft bundle.json. */
uint64_t upt_bundle_compressed_max(uint64_t length);
/* Optional, before any image: single pass. Writes the bundle.json member for a DRAFT of len
 * bytes (the final document must not be longer: the same fields with every compressed_length
 * set to upt_bundle_compressed_max(length) does it) and the metadata added so far; from here on
 * metadata is written as it is added and each image as it is compressed. The draft's "created"
 * sets every member's mtime (the final bundle.json must carry the same). Errors leave the writer
 * failed (only upt_bundle_writer_free is left). UPT_E_USAGE after an image or a second begin. */
int upt_bundle_writer_begin(upt_bundle_writer *w, const void *draft_json, size_t len,
			    upt_err *e) UPT_MUST_CHECK;
/* Adds a metadata member (member path "metadata/..."); data is copied (queued until the output
 * starts, written at once after begin). Every metadata member comes before the first image in
 * the output: after an image, UPT_E_USAGE, unless every image so far is a sealed one. */
int upt_bundle_writer_add_metadata(upt_bundle_writer *w, const char *member, const void *data,
				   size_t len, upt_err *e) UPT_MUST_CHECK;
/* Adds an image: compressed now (constant memory) from the file at src_path, which must be
 * exactly `length` bytes (else UPT_E_USAGE). Member "images/<target_name>". Names the reader
 * would refuse are UPT_E_USAGE. After begin, the compressed bytes go straight into the output
 * (a header for upt_bundle_compressed_max(length), rewritten for the real size), unless that
 * bound is 8 GiB or more (a header that could change length): then through an unlinked temp
 * file in the output directory, copied into the output when done. Without begin, every image
 * goes into that temp file, copied at finish. A failed image leaves nothing of itself in the
 * output (earlier members stay), unless the writer cannot cut it off (then it is failed). */
int upt_bundle_writer_add_image(upt_bundle_writer *w, const char *target_name, const char *src_path,
				uint64_t length, upt_err *e) UPT_MUST_CHECK;
/* The length and hashes of a sealed image member, for the Director's custom.encryption. */
typedef struct upt_sealed_info {
	uint64_t length;
	upt_hashes hashes;
} upt_sealed_info;
/* Adds an image compressed, then sealed under key (docs/bundle-format.md, "Encrypted images"),
 * into the temp file; only before begin (UPT_E_USAGE after), so the metadata that signs *info
 * may be added after it (every metadata member still comes first in the output). */
int upt_bundle_writer_add_sealed_image(upt_bundle_writer *w, const char *target_name,
				       const char *src_path, uint64_t length,
				       const uint8_t key[UPT_CRYPT_KEY_LEN], upt_sealed_info *info,
				       upt_err *e) UPT_MUST_CHECK;
/* Writes bundle.json (bundle_json: the document to store, built by the caller; the writer adds
 * nothing): after begin over the draft, padded to the draft's length with spaces and a final
 * newline (JSON whitespace; longer than the draft or another "created" -> UPT_E_USAGE);
 * without begin, then the metadata and the images. Then the end of the archive; fsyncs every
 * volume; renames into place; fsyncs the directory. Members are regular files, mode 0644,
 * uid/gid 0, mtime = bundle.json's "created" (0 when absent): the same input gives the same
 * bytes. Old files the new bundle would be read together with are removed: a split bundle
 * removes an unsplit `path` (it would shadow path.000) and stale trailing volumes; an unsplit
 * one removes path.000, path.001, ... */
int upt_bundle_writer_finish(upt_bundle_writer *w, const void *bundle_json, size_t len,
			     upt_err *e) UPT_MUST_CHECK;
/* Compressed size of an image already added (for bundle.json), 0 if unknown. */
uint64_t upt_bundle_writer_compressed_length(const upt_bundle_writer *w, const char *target_name);
/* For tests: after begin, images whose compressed-size bound is >= limit take the temp-file
 * path (default and maximum: 8 GiB, the ustar size limit; 0: every image). */
void upt_bundle_writer_set_direct_max(upt_bundle_writer *w, uint64_t limit);
void upt_bundle_writer_free(upt_bundle_writer *w); /* removes temp files if not finished */

/* ---- reader ---- */

typedef struct upt_bundle_file {
	char *path; /* member path, e.g. "metadata/director/targets.json" */
	upt_buf data;
} upt_bundle_file;

/* Everything before the first image, in memory. */
typedef struct upt_bundle_meta {
	upt_buf bundle_json;
	upt_bundle_file *files; /* metadata/ members in archive order */
	size_t nfiles;
	/* With upt_bundle_reader_keep_device: the other devices' members of a multi-device
	 * bundle, counted and not kept, and those devices' names ("a, b, ...", cut with "..."). */
	size_t nskipped;
	char skipped_devices[512];
} upt_bundle_meta;

/* NULL when absent. */
const upt_buf *upt_bundle_meta_get(const upt_bundle_meta *m, const char *path);
void upt_bundle_meta_free(upt_bundle_meta *m);

typedef struct upt_bundle_reader upt_bundle_reader;

/* Opens path; "X.uptane" also finds X.uptane.000, .001... (when X.uptane itself is absent);
 * "X.uptane.000" works too. Every volume is opened here, once (O_NOFOLLOW, regular files only).
 * UPT_E_NOT_FOUND when nothing is there, UPT_E_IO otherwise (symlink, not a regular file).
 * "X.uptane.001" (any volume but the first) is UPT_E_USAGE, naming the .000 to give. A gap in
 * the volumes (.002 absent, .003 there) is UPT_E_MALFORMED naming the missing one, and so is an
 * archive that goes on past the last volume found (later, from the call that reads there). */
int upt_bundle_reader_open(const char *path, upt_bundle_reader **out, upt_err *e) UPT_MUST_CHECK;
/* The same over descriptors already open, in volume order, taken over (closed by _free, or
 * here on failure); each must be a regular file (UPT_E_UNSAFE_ARCHIVE). For the fuzzer, whose
 * volumes are memfds, and tests. */
int upt_bundle_reader_open_fds(const int *fds, size_t n, upt_bundle_reader **out,
			       upt_err *e) UPT_MUST_CHECK;
/* On a device, before upt_bundle_read_metadata: only this device's Director members of a
 * multi-device bundle (metadata/director/devices/<device_id>/) are kept, the others skipped
 * unread, and what is kept, its bytes plus their parsed trees (upt_json_scan), must fit in
 * UPT_META_DEVICE_MAX (else UPT_E_TOO_LARGE): a device's memory for metadata does not grow
 * with a station bundle's size or with what an attacker packs in. Without it (station tools)
 * every member is kept, up to UPT_META_TOTAL_MAX bytes. */
void upt_bundle_reader_keep_device(upt_bundle_reader *r, const char *device_id);
/* Reads bundle.json (checks format and version: another version -> UPT_E_MALFORMED "made by a
 * newer bundler") and every metadata/ member, stopping before the first images/ member.
 * bundle.json must be the very first archive entry (not even a directory before it).
 * The first image's header has been checked when this returns (a hostile first image name is
 * refused here). After any container error the reader refuses every later call.
 * Member rule violations -> UPT_E_UNSAFE_ARCHIVE / UPT_E_MALFORMED / UPT_E_TOO_LARGE with the
 * member in e->file. Must be called once, first. */
int upt_bundle_read_metadata(upt_bundle_reader *r, upt_bundle_meta **out,
			     upt_err *e) UPT_MUST_CHECK;
/* Advances to the next images/ member (skipping the unread rest of the current one by seeking).
 * *target_name is the name after "images/", valid until the next call. UPT_E_NOT_FOUND at the
 * end of the archive. Rule violations as above (metadata after an image -> UPT_E_MALFORMED). */
int upt_bundle_next_image(upt_bundle_reader *r, const char **target_name,
			  uint64_t *compressed_length, upt_err *e) UPT_MUST_CHECK;

/* Receives decompressed image bytes; returns UPT_OK or an error code (which stops the stream). */
typedef int (*upt_image_sink)(void *ctx, const void *data, size_t len, upt_err *e);

/* Streams the current image member: zstd (window <= 4 MiB) -> SHA-256/512 -> sink, in one
 * pass, stopping at signed_length. Output: more bytes than signed -> UPT_E_ENDLESS_DATA
 * (the sink never sees a byte past signed_length); fewer, or a hash differing from
 * `expected` -> UPT_E_ARBITRARY_SOFTWARE; invalid zstd (also: truncated frame, trailing garbage,
 * empty member, legacy pre-1.0 frames) -> UPT_E_MALFORMED; a frame needing a window over 4 MiB ->
 * UPT_E_TOO_LARGE; compressed bytes over ZSTD_compressBound(signed_length) + UPT_ZSTD_SLACK ->
 * UPT_E_TOO_LARGE (counted as consumed, never read past: output beyond the signed length found
 * first is UPT_E_ENDLESS_DATA); read error -> UPT_E_IO; a sink error stops the stream with the
 * sink's code. e->file is the member path (unless the sink set one). Hashes are computed for every
 * algorithm `expected` lists (which must list at least one, else UPT_E_MALFORMED). progress
 * (optional) is called with ctx and the decompressed byte count so far. The sink and progress run
 * on the calling thread; decompression may run on a helper thread that ends before this returns.
 * One call per image. */
int upt_bundle_stream_image(upt_bundle_reader *r, uint64_t signed_length,
			    const upt_hashes *expected, upt_image_sink sink, void *ctx,
			    void (*progress)(void *ctx, uint64_t done, uint64_t total),
			    upt_err *e) UPT_MUST_CHECK;
/* The same for a sealed member (docs/bundle-format.md, "Encrypted images"): the member must be
 * exactly sealed->length bytes (else UPT_E_ARBITRARY_SOFTWARE before any is read); each chunk
 * is authenticated and opened before zstd sees it, in the same single pass (decrypt ->
 * decompress -> hash -> sink), memory constant. A chunk that does not authenticate, a stream
 * without its FINAL chunk or with bytes after it, sealed bytes whose hashes differ from
 * sealed->hashes: UPT_E_ARBITRARY_SOFTWARE. The sink sees only authenticated bytes, but the
 * sealed form's hashes and the plaintext's are known good only when this returns UPT_OK. */
int upt_bundle_stream_sealed_image(upt_bundle_reader *r, uint64_t signed_length,
				   const upt_hashes *expected, const upt_image_decrypt *sealed,
				   upt_image_sink sink, void *ctx,
				   void (*progress)(void *ctx, uint64_t done, uint64_t total),
				   upt_err *e) UPT_MUST_CHECK;
/* The station without the device's key: the current member is exactly `length` bytes and
 * matches `hashes` (the sealed form the Director signs), read once; nothing is opened.
 * Otherwise UPT_E_ARBITRARY_SOFTWARE. */
int upt_bundle_check_sealed_image(upt_bundle_reader *r, uint64_t length, const upt_hashes *hashes,
				  upt_err *e) UPT_MUST_CHECK;
void upt_bundle_reader_free(upt_bundle_reader *r);

/* Member path rule (docs/bundle-format.md): letters, digits, . _ + - /; no empty component, no
 * ".." or "." component, not absolute, <= UPT_MEMBER_PATH_MAX bytes. */
bool upt_bundle_member_path_ok(const char *path);

#endif
