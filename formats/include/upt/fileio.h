/*
 * fileio: bounded reads of untrusted files and crash-safe replacement of state files.
 * Reads never follow a final symlink (O_NOFOLLOW), accept only regular files (fstat + S_ISREG),
 * and check the cap before allocating. Writes replace atomically: temp file in the same
 * directory, write, fsync, rename, fsync the directory.
 */
#ifndef UPT_FILEIO_H
#define UPT_FILEIO_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "upt/buf.h"
#include "upt/err.h"

/* Opens path (relative to dirfd, or AT_FDCWD) for reading only if it is a regular file, and
 * checks that before anything is opened for real: opening a FIFO blocks, opening a device node
 * has side effects (a watchdog starts, a tape rewinds). The name is first resolved with O_PATH
 * (which opens nothing), checked with fstat, then reopened through /proc/self/fd (the same
 * inode, whatever the name points at meanwhile), or where /proc is not mounted by name with
 * O_NONBLOCK and the device/inode compared. Never follows a final symlink. st (optional) gets
 * the file's stat. *fd gets the descriptor (O_RDONLY, O_NONBLOCK: harmless on a regular file).
 * UPT_E_NOT_FOUND when absent, UPT_E_IO otherwise, the message naming path and the check; when
 * the name exists but is not a regular file, st gets what it is (st_mode 0 on other errors). */
int upt_open_regular(int dirfd, const char *path, int *fd, struct stat *st,
		     upt_err *e) UPT_MUST_CHECK;

/* Reads path (relative to dirfd, or AT_FDCWD) into out (replacing its contents).
 * UPT_E_NOT_FOUND when absent, UPT_E_TOO_LARGE over max, UPT_E_IO otherwise (not a regular
 * file, a symlink, read error). out untouched on failure. */
int upt_file_read(int dirfd, const char *path, size_t max, upt_buf *out, upt_err *e) UPT_MUST_CHECK;

/* Reads everything from an open fd (regular file checked), at most max bytes. */
int upt_fd_read_all(int fd, size_t max, upt_buf *out, upt_err *e) UPT_MUST_CHECK;

/* Writes all n bytes, retrying short writes and EINTR. UPT_E_IO on failure. */
int upt_fd_write_all(int fd, const void *p, size_t n, upt_err *e) UPT_MUST_CHECK;

/* Atomically replaces path (relative to dirfd) with data, file mode `mode`:
 * temp "<path>.tmp", write, fsync, rename, fsync directory. On failure the old file is intact
 * and the temp file removed. */
int upt_file_write_atomic(int dirfd, const char *path, const void *data, size_t n, mode_t mode,
			  upt_err *e) UPT_MUST_CHECK;

/* Creates path (relative to dirfd; it must not exist), writes data and fsyncs the file; no
 * rename and no directory fsync. Only for files inside a new directory that is published as a
 * whole by one rename after its directories are synced: a crash before that rename discards
 * the directory, so the per-file rename of upt_file_write_atomic would buy nothing. */
int upt_file_write_new(int dirfd, const char *path, const void *data, size_t n, mode_t mode,
		       upt_err *e) UPT_MUST_CHECK;

/* fsync of the directory containing path (relative to dirfd). */
int upt_fsync_parent(int dirfd, const char *path, upt_err *e) UPT_MUST_CHECK;

/* mkdir -p, relative to dirfd; existing directories are fine, anything else there is not. */
int upt_mkdir_p(int dirfd, const char *path, mode_t mode, upt_err *e) UPT_MUST_CHECK;

#endif
