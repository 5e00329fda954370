/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Helpers shared by loader/ and fs/: logging, one-sentence diagnostics,
 * growable byte buffers, fd/pointer release, sha256 and the size caps.
 * Knows nothing about FUSE, BPF objects or gadgets.
 */
#ifndef IGFS_UTIL_H
#define IGFS_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

/* Caps on everything an image or a user can make us allocate. */
#define IGFS_MAX_ARCHIVE_SIZE	 (256u << 20) /* compressed or not, whole file */
#define IGFS_MAX_ARCHIVE_ENTRIES 4096
#define IGFS_MAX_BLOB_SIZE	 (64u << 20)  /* one layer (ELF, WASM, BTF) */
#define IGFS_MAX_BTF_SIZE	 (16u << 20)  /* a gadget's .BTF, the kernel's BTF_MAX_SIZE */
#define IGFS_MAX_JSON_SIZE	 (1u << 20)   /* index.json, manifests */
#define IGFS_MAX_META_SIZE	 (1u << 20)   /* gadget.yaml */
#define IGFS_MAX_META_DEPTH	 32
#define IGFS_MAX_META_NODES	 65536
#define IGFS_MAX_STR		 4096 /* one YAML scalar, one param value */
#define IGFS_MAX_IMAGES		 256  /* images in one layout or archive */
#define IGFS_MAX_CTL_WRITE	 4096
#define IGFS_MAX_GADGETS	 1024 /* gadgets in one mount */
#define IGFS_MAX_READERS	 1024 /* open handles of one events/stats/snapshot file */
#define IGFS_MAX_FIELDS		 1024 /* fields in one data source */
#define IGFS_MAX_NEST		 16   /* struct nesting in an event */
#define IGFS_MAX_LINE		 (1u << 20) /* one encoded JSON line */

#define IGFS_DIAG_LEN 512

/* One human-readable sentence explaining the last failure. */
struct igfs_diag {
	char msg[IGFS_DIAG_LEN];
};

/* Set diag's sentence (printf style); NULL-safe; overwrites. */
void igfs_diag_set(struct igfs_diag *diag, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prefix diag's current sentence with "<prefix>: "; NULL-safe. */
void igfs_diag_prefix(struct igfs_diag *diag, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

enum igfs_log_level {
	IGFS_LOG_ERR,
	IGFS_LOG_WARN,
	IGFS_LOG_INFO,
	IGFS_LOG_DEBUG,
};

/* Log one line to stderr, or syslog once igfs_log_use_syslog() was called. */
void igfs_log(enum igfs_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void igfs_vlog(enum igfs_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Messages above @level are dropped. Default: IGFS_LOG_INFO. */
void igfs_log_set_level(enum igfs_log_level level);
enum igfs_log_level igfs_log_get_level(void);
void igfs_log_use_syslog(bool on);

#define pr_err(...)   igfs_log(IGFS_LOG_ERR, __VA_ARGS__)
#define pr_warn(...)  igfs_log(IGFS_LOG_WARN, __VA_ARGS__)
#define pr_info(...)  igfs_log(IGFS_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) igfs_log(IGFS_LOG_DEBUG, __VA_ARGS__)

/*
 * A growable byte buffer; zero-initialise before use. A @fixed buffer wraps
 * memory it does not own (cap bytes at data): it never grows, and a reserve
 * beyond it fails with -ENOBUFS.
 */
struct igfs_buf {
	char *data;
	size_t len;
	size_t cap;
	bool fixed;
};

/* Make room for @extra more bytes; 0 or -ENOMEM (also on overflow). */
int igfs_buf_reserve(struct igfs_buf *b, size_t extra);
/* Append @n bytes; 0 or -ENOMEM. */
int igfs_buf_append(struct igfs_buf *b, const void *p, size_t n);
/* Append a NUL-terminated string; 0 or -ENOMEM. */
int igfs_buf_puts(struct igfs_buf *b, const char *s);
/* Append formatted text (no NUL counted in len); 0 or -ENOMEM. */
int igfs_buf_printf(struct igfs_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Take the data as a NUL-terminated string; the buffer is emptied. */
char *igfs_buf_steal(struct igfs_buf *b);
/* Release the memory; the buffer is usable again afterwards. */
void igfs_buf_free(struct igfs_buf *b);

static inline void igfs_buf_putc_unchecked(struct igfs_buf *b, char c)
{
	b->data[b->len++] = c;
}

/* free(*pp) and set it to NULL. @pp is a pointer to a pointer. */
static inline void zfree(void *pp)
{
	void **p = pp;

	free(*p);
	*p = NULL;
}

/* close(*fd) if it is open and set it to -1. */
static inline void zclose(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Overflow-checked reallocarray; NULL with errno ENOMEM on failure. */
void *igfs_reallocarray(void *p, size_t n, size_t size);

/* strdup of at most @n bytes that fails with NULL on n > IGFS_MAX_STR. */
char *igfs_strndup_capped(const char *s, size_t n);

#define IGFS_SHA256_HEX_LEN 64
/* Hex sha256 of @len bytes into @hex (65 bytes with the NUL); 0 or -EIO. */
int igfs_sha256_hex(const void *data, size_t len, char hex[IGFS_SHA256_HEX_LEN + 1]);

/*
 * Read a whole regular file of at most @max bytes into @out (appended, NUL
 * kept after the data but not counted). 0, -EFBIG, or -errno with diag.
 */
int igfs_read_file(const char *path, size_t max, struct igfs_buf *out, struct igfs_diag *diag);

/* Parse a size with optional K/M/G suffix (powers of 1024) into @ret. */
int igfs_parse_size(const char *s, uint64_t *ret);

/* Wall clock ns since the epoch minus boot-time ns: add it to a boot-time stamp. */
int64_t igfs_boot_to_realtime_offset(void);

/* Monotonic ns, for deadlines and rates. */
uint64_t igfs_now_mono_ns(void);

#define IGFS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define IGFS_MIN(a, b)	   ((a) < (b) ? (a) : (b))
#define IGFS_MAX(a, b)	   ((a) > (b) ? (a) : (b))

#endif /* IGFS_UTIL_H */
