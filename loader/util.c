// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Shared helpers: logging, diagnostics, byte buffers, sha256, file reading.
 * The log level and sink are the only process-wide state, set once by main.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>

#include <nettle/sha2.h>

#include "util.h"

static _Atomic int log_level = IGFS_LOG_INFO;
static _Atomic bool log_syslog;

void igfs_diag_set(struct igfs_diag *diag, const char *fmt, ...)
{
	va_list ap;

	if (!diag)
		return;
	va_start(ap, fmt);
	vsnprintf(diag->msg, sizeof(diag->msg), fmt, ap);
	va_end(ap);
}

void igfs_diag_prefix(struct igfs_diag *diag, const char *fmt, ...)
{
	char old[IGFS_DIAG_LEN];
	size_t n;
	va_list ap;

	if (!diag)
		return;
	memcpy(old, diag->msg, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(diag->msg, sizeof(diag->msg), fmt, ap);
	va_end(ap);
	n = strlen(diag->msg);
	snprintf(diag->msg + n, sizeof(diag->msg) - n, ": %s", old);
}

void igfs_log_set_level(enum igfs_log_level level)
{
	atomic_store(&log_level, level);
}

enum igfs_log_level igfs_log_get_level(void)
{
	return atomic_load(&log_level);
}

void igfs_log_use_syslog(bool on)
{
	atomic_store(&log_syslog, on);
}

void igfs_vlog(enum igfs_log_level level, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static const char *const tag[] = { "error", "warning", "info", "debug" };
	char line[2048];
	size_t n;

	if ((int)level > atomic_load(&log_level))
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	/* libbpf and libfuse end their messages with '\n'; we do not. */
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	if (atomic_load(&log_syslog))
		syslog(prio[level], "%s", line);
	else
		fprintf(stderr, "igfs: %s: %s\n", tag[level], line);
}

void igfs_log(enum igfs_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	igfs_vlog(level, fmt, ap);
	va_end(ap);
}

int igfs_buf_reserve(struct igfs_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	/* +1 keeps room for a NUL terminator after the data. */
	if (extra > SIZE_MAX - b->len - 1)
		return -ENOMEM;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	if (b->fixed)
		return -ENOBUFS;
	cap = b->cap ? b->cap : 256;
	while (cap < need) {
		if (cap > SIZE_MAX / 2)
			return -ENOMEM;
		cap *= 2;
	}
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	/* A fresh buffer holds the empty string (igfs_buf_steal relies on it). */
	if (!b->data)
		p[b->len] = '\0';
	b->data = p;
	b->cap = cap;
	return 0;
}

int igfs_buf_append(struct igfs_buf *b, const void *p, size_t n)
{
	int err;

	err = igfs_buf_reserve(b, n);
	if (err)
		return err;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int igfs_buf_puts(struct igfs_buf *b, const char *s)
{
	return igfs_buf_append(b, s, strlen(s));
}

int igfs_buf_printf(struct igfs_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, err;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	err = igfs_buf_reserve(b, (size_t)n);
	if (err)
		return err;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

char *igfs_buf_steal(struct igfs_buf *b)
{
	char *p;

	if (!b->data && igfs_buf_reserve(b, 0))
		return NULL;
	p = b->data;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}

void igfs_buf_free(struct igfs_buf *b)
{
	zfree(&b->data);
	b->len = 0;
	b->cap = 0;
}

void *igfs_reallocarray(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	if (!n || !size)
		return realloc(p, 1);
	return realloc(p, n * size);
}

char *igfs_strndup_capped(const char *s, size_t n)
{
	if (n > IGFS_MAX_STR) {
		errno = E2BIG;
		return NULL;
	}
	return strndup(s, n);
}

int igfs_sha256_hex(const void *data, size_t len, char hex[IGFS_SHA256_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	struct sha256_ctx ctx;
	unsigned char md[SHA256_DIGEST_SIZE];
	size_t i;

	sha256_init(&ctx);
	sha256_update(&ctx, len, data);
	sha256_digest(&ctx, sizeof(md), md);
	for (i = 0; i < sizeof(md); i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[IGFS_SHA256_HEX_LEN] = '\0';
	return 0;
}

int igfs_read_file(const char *path, size_t max, struct igfs_buf *out, struct igfs_diag *diag)
{
	size_t base = out->len;
	struct stat st;
	int fd, err = 0;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		err = -errno;
		igfs_diag_set(diag, "cannot open '%s': %s", path, strerror(-err));
		return err;
	}
	if (fstat(fd, &st)) {
		err = -errno;
		igfs_diag_set(diag, "cannot stat '%s': %s", path, strerror(-err));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		igfs_diag_set(diag, "'%s' is not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		err = -EFBIG;
		igfs_diag_set(diag, "'%s' is larger than %zu bytes", path, max);
		goto out;
	}
	for (;;) {
		err = igfs_buf_reserve(out, 65536);
		if (err)
			goto out;
		n = read(fd, out->data + out->len, 65536);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			igfs_diag_set(diag, "cannot read '%s': %s", path, strerror(-err));
			goto out;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		out->data[out->len] = '\0';
		/* The file may grow after fstat; keep the cap anyway. */
		if (out->len - base > max) {
			err = -EFBIG;
			igfs_diag_set(diag, "'%s' is larger than %zu bytes", path, max);
			goto out;
		}
	}
out:
	close(fd);
	return err;
}

int igfs_parse_size(const char *s, uint64_t *ret)
{
	unsigned long long v;
	uint64_t mul = 1;
	char *end;

	/* strtoull would skip any white space and take a sign: digits only. */
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K':
		mul = 1ull << 10;
		end++;
		break;
	case 'm': case 'M':
		mul = 1ull << 20;
		end++;
		break;
	case 'g': case 'G':
		mul = 1ull << 30;
		end++;
		break;
	default:
		return -EINVAL;
	}
	/* Accept "4M", "4MB", "4MiB". */
	if (mul > 1 && (*end == 'i' || *end == 'I'))
		end++;
	if (mul > 1 && (*end == 'b' || *end == 'B'))
		end++;
	if (*end)
		return -EINVAL;
	if (v > UINT64_MAX / mul)
		return -ERANGE;
	*ret = v * mul;
	return 0;
}

static int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

int64_t igfs_boot_to_realtime_offset(void)
{
	struct timespec r1, b, r2;

	/* Bracket the boot-time read to cut the error to half a clock read. */
	clock_gettime(CLOCK_REALTIME, &r1);
	clock_gettime(CLOCK_BOOTTIME, &b);
	clock_gettime(CLOCK_REALTIME, &r2);
	return ts_ns(&r1) + (ts_ns(&r2) - ts_ns(&r1)) / 2 - ts_ns(&b);
}

uint64_t igfs_now_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts_ns(&ts);
}
