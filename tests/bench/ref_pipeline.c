/*
 * ref_pipeline: the reference programs the installer's streaming install is measured against
 * (tests/bench/bench_install.sh), and the tools that benchmark needs.
 *
 *   ref_pipeline one IN.zst OUT     libzstd decompress -> OpenSSL SHA-256 -> write, then fsync,
 *                                   all in one thread
 *   ref_pipeline two IN.zst OUT     decompress on one thread; SHA-256 + write on a second,
 *                                   through a ring of 256 KiB buffers; then fsync
 *   ref_pipeline two512 IN.zst OUT  the same, hashing SHA-256 and SHA-512 (what a target that
 *                                   lists both hashes, as our bundler's do, requires)
 *   ref_pipeline gen OUT SIZE [SEED] firmware-like data (random runs, zero runs, repeats:
 *                                   about 2:1 under zstd -3), fast and deterministic
 *   ref_pipeline run CMD ARGS..     runs CMD, prints "wall_s maxrss_kib exit anon_kib file_kib"
 *                                   on stderr (peak RSS from rusage; anonymous and file-backed
 *                                   peaks sampled from /proc every 2 ms)
 *   ref_pipeline                    (no arguments, as tests/bench/run calls it) a self-check:
 *                                   64 MiB through both pipelines, same digest, throughput
 * Each pipeline prints "wall_s sha256" on stdout. Deliberately independent of formats/: this
 * is what "the same work done plainly" costs.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#define CHUNK (256u << 10)
#define RING 4

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "ref_pipeline: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			die("write");
		p += w;
		n -= (size_t)w;
	}
}

static void hex(const uint8_t *d, char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* ---- one thread ---- */

static void one(const char *in, const char *outp, char digest[65], double *secs)
{
	double t0 = now();
	int ifd = open(in, O_RDONLY | O_CLOEXEC);
	int ofd = open(outp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (ifd < 0 || ofd < 0)
		die("open");
	ZSTD_DCtx *dctx = ZSTD_createDCtx();
	ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, 22);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	uint8_t *ib = malloc(CHUNK), *ob = malloc(CHUNK);
	ssize_t n;
	while ((n = read(ifd, ib, CHUNK)) > 0) {
		ZSTD_inBuffer zin = {ib, (size_t)n, 0};
		while (zin.pos < zin.size) {
			ZSTD_outBuffer zout = {ob, CHUNK, 0};
			size_t r = ZSTD_decompressStream(dctx, &zout, &zin);
			if (ZSTD_isError(r)) {
				fprintf(stderr, "zstd: %s\n", ZSTD_getErrorName(r));
				exit(2);
			}
			EVP_DigestUpdate(md, ob, zout.pos);
			write_all(ofd, ob, zout.pos);
		}
	}
	for (;;) { /* flush what the decoder still holds */
		ZSTD_inBuffer zin = {NULL, 0, 0};
		ZSTD_outBuffer zout = {ob, CHUNK, 0};
		size_t r = ZSTD_decompressStream(dctx, &zout, &zin);
		EVP_DigestUpdate(md, ob, zout.pos);
		write_all(ofd, ob, zout.pos);
		if (ZSTD_isError(r) || zout.pos < CHUNK)
			break;
	}
	if (fsync(ofd) != 0)
		die("fsync");
	uint8_t d[32];
	unsigned dl;
	EVP_DigestFinal_ex(md, d, &dl);
	hex(d, digest);
	close(ifd);
	close(ofd);
	free(ib);
	free(ob);
	EVP_MD_CTX_free(md);
	ZSTD_freeDCtx(dctx);
	*secs = now() - t0;
}

/* ---- two threads: decompress | hash + write ---- */

struct ring {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint8_t *buf[RING];
	size_t len[RING];
	unsigned head, tail; /* filled: tail..head */
	bool done;
	int ifd;
};

static void *decompressor(void *arg)
{
	struct ring *r = arg;
	ZSTD_DCtx *dctx = ZSTD_createDCtx();
	ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, 22);
	uint8_t *ib = malloc(CHUNK);
	ZSTD_inBuffer zin = {ib, 0, 0};
	bool eof = false;
	for (;;) {
		pthread_mutex_lock(&r->mu);
		while (r->head - r->tail == RING)
			pthread_cond_wait(&r->cv, &r->mu);
		uint8_t *ob = r->buf[r->head % RING];
		pthread_mutex_unlock(&r->mu);
		ZSTD_outBuffer zout = {ob, CHUNK, 0};
		while (zout.pos < zout.size) {
			if (zin.pos == zin.size && !eof) {
				ssize_t n = read(r->ifd, ib, CHUNK);
				if (n < 0)
					die("read");
				eof = n == 0;
				zin.size = (size_t)n;
				zin.pos = 0;
			}
			size_t before = zout.pos;
			size_t ret = ZSTD_decompressStream(dctx, &zout, &zin);
			if (ZSTD_isError(ret)) {
				fprintf(stderr, "zstd: %s\n", ZSTD_getErrorName(ret));
				exit(2);
			}
			if (eof && zout.pos == before)
				break;
		}
		pthread_mutex_lock(&r->mu);
		r->len[r->head % RING] = zout.pos;
		if (zout.pos > 0)
			r->head++;
		if (zout.pos < CHUNK)
			r->done = true;
		pthread_cond_broadcast(&r->cv);
		bool stop = r->done;
		pthread_mutex_unlock(&r->mu);
		if (stop)
			break;
	}
	free(ib);
	ZSTD_freeDCtx(dctx);
	return NULL;
}

static void two(const char *in, const char *outp, bool sha512, char digest[65], double *secs)
{
	double t0 = now();
	struct ring r;
	memset(&r, 0, sizeof(r));
	pthread_mutex_init(&r.mu, NULL);
	pthread_cond_init(&r.cv, NULL);
	for (int i = 0; i < RING; i++)
		r.buf[i] = malloc(CHUNK);
	r.ifd = open(in, O_RDONLY | O_CLOEXEC);
	int ofd = open(outp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (r.ifd < 0 || ofd < 0)
		die("open");
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_MD_CTX *md512 = EVP_MD_CTX_new();
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	EVP_DigestInit_ex(md512, EVP_sha512(), NULL);
	pthread_t th;
	pthread_create(&th, NULL, decompressor, &r);
	for (;;) {
		pthread_mutex_lock(&r.mu);
		while (r.head == r.tail && !r.done)
			pthread_cond_wait(&r.cv, &r.mu);
		if (r.head == r.tail && r.done) {
			pthread_mutex_unlock(&r.mu);
			break;
		}
		uint8_t *b = r.buf[r.tail % RING];
		size_t n = r.len[r.tail % RING];
		pthread_mutex_unlock(&r.mu);
		EVP_DigestUpdate(md, b, n);
		if (sha512)
			EVP_DigestUpdate(md512, b, n);
		write_all(ofd, b, n);
		pthread_mutex_lock(&r.mu);
		r.tail++;
		pthread_cond_broadcast(&r.cv);
		pthread_mutex_unlock(&r.mu);
	}
	pthread_join(th, NULL);
	if (fsync(ofd) != 0)
		die("fsync");
	uint8_t d[32];
	unsigned dl;
	EVP_DigestFinal_ex(md, d, &dl);
	hex(d, digest);
	close(r.ifd);
	close(ofd);
	for (int i = 0; i < RING; i++)
		free(r.buf[i]);
	EVP_MD_CTX_free(md);
	EVP_MD_CTX_free(md512);
	*secs = now() - t0;
}

/* ---- data ---- */

static uint64_t xs(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Firmware-like: 4 KiB blocks, each random (code, compressed assets), zeros (padding) or a
 * copy of an earlier block (tables, repeated structures), about 2:1 under zstd -3. */
static void gen(const char *outp, uint64_t size, uint64_t seed)
{
	int fd = open(outp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die("open");
	uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
	size_t bufsz = 1u << 20;
	uint8_t *buf = malloc(bufsz);
	uint64_t done = 0;
	while (done < size) {
		for (size_t off = 0; off < bufsz; off += 4096) {
			uint64_t kind = xs(&s) % 8;
			uint8_t *b = buf + off;
			if (kind < 4) {
				for (size_t i = 0; i < 4096; i += 8) {
					uint64_t v = xs(&s);
					memcpy(b + i, &v, 8);
				}
			} else if (kind < 6) {
				memset(b, 0, 4096);
			} else if (off >= 8192) {
				memcpy(b, buf + (xs(&s) % (off / 4096)) * 4096, 4096);
				b[xs(&s) % 4096] ^= 1;
			} else {
				memset(b, 0xff, 4096);
			}
		}
		size_t n = size - done < bufsz ? (size_t)(size - done) : bufsz;
		write_all(fd, buf, n);
		done += n;
	}
	close(fd);
	free(buf);
}

static long status_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	long v = -1;
	size_t n = strlen(field);
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

static int run(char **argv)
{
	double t0 = now();
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	int st;
	struct rusage ru;
	long anon = 0, file = 0;
	for (;;) {
		pid_t w = wait4(pid, &st, WNOHANG, &ru);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			die("wait4");
		long a = status_kib(pid, "RssAnon"), f = status_kib(pid, "RssFile");
		anon = a > anon ? a : anon;
		file = f > file ? f : file;
		struct timespec ts = {0, 2000000};
		nanosleep(&ts, NULL);
	}
	double secs = now() - t0;
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	fprintf(stderr, "%.3f %ld %d %ld %ld\n", secs, ru.ru_maxrss, code, anon, file);
	return code;
}

/* No arguments: compress 64 MiB of generated data, run it through both pipelines, check they
 * agree with a one-shot SHA-256 of the source. */
static int selfcheck(void)
{
	char dir[] = "/tmp/ref_pipeline.XXXXXX";
	if (!mkdtemp(dir))
		die("mkdtemp");
	char raw[64], zst[64], o1[64], o2[64];
	snprintf(raw, sizeof(raw), "%s/raw", dir);
	snprintf(zst, sizeof(zst), "%s/raw.zst", dir);
	snprintf(o1, sizeof(o1), "%s/o1", dir);
	snprintf(o2, sizeof(o2), "%s/o2", dir);
	uint64_t size = 64u << 20;
	gen(raw, size, 7);
	/* compress with libzstd in one go (64 MiB fits) */
	int fd = open(raw, O_RDONLY);
	uint8_t *src = malloc(size);
	if (fd < 0 || read(fd, src, size) != (ssize_t)size)
		die("read");
	close(fd);
	size_t cap = ZSTD_compressBound(size);
	uint8_t *dst = malloc(cap);
	size_t clen = ZSTD_compress(dst, cap, src, size, 3);
	fd = open(zst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	write_all(fd, dst, clen);
	close(fd);
	uint8_t d[32];
	unsigned dl;
	EVP_Digest(src, size, d, &dl, EVP_sha256(), NULL);
	char want[65], g1[65], g2[65];
	hex(d, want);
	double s1, s2;
	one(zst, o1, g1, &s1);
	two(zst, o2, false, g2, &s2);
	printf("reference pipelines, 64 MiB (zstd ratio %.2f): one thread %.0f MB/s, two threads "
	       "%.0f MB/s\n",
	       (double)size / (double)clen, (double)size / s1 / 1e6, (double)size / s2 / 1e6);
	int bad = strcmp(want, g1) || strcmp(want, g2);
	if (bad)
		printf("digest mismatch: want %s one %s two %s\n", want, g1, g2);
	unlink(raw);
	unlink(zst);
	unlink(o1);
	unlink(o2);
	rmdir(dir);
	free(src);
	free(dst);
	return bad;
}

int main(int argc, char **argv)
{
	char digest[65];
	double secs;
	if (argc == 1)
		return selfcheck();
	if (argc == 4 && !strcmp(argv[1], "one")) {
		one(argv[2], argv[3], digest, &secs);
	} else if (argc == 4 && !strcmp(argv[1], "two")) {
		two(argv[2], argv[3], false, digest, &secs);
	} else if (argc == 4 && !strcmp(argv[1], "two512")) {
		two(argv[2], argv[3], true, digest, &secs);
	} else if ((argc == 4 || argc == 5) && !strcmp(argv[1], "gen")) {
		gen(argv[2], strtoull(argv[3], NULL, 10),
		    argc == 5 ? strtoull(argv[4], NULL, 10) : 1);
		return 0;
	} else if (argc >= 3 && !strcmp(argv[1], "run")) {
		return run(argv + 2);
	} else {
		fprintf(stderr, "usage: ref_pipeline one|two|two512 IN.zst OUT | gen OUT SIZE "
				"[SEED] | run CMD..\n");
		return 2;
	}
	printf("%.3f %s\n", secs, digest);
	return 0;
}
