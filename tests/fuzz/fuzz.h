/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Shared by the fuzz targets: the libFuzzer entry points (also called by
 * driver.c, the replay program of non-fuzz builds), a byte reader for
 * structured inputs, and FUZZ_CHECK for the invariants a target asserts.
 */
#ifndef IGFS_FUZZ_H
#define IGFS_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A broken invariant is a finding: say which and crash so the fuzzer keeps the input. */
#define FUZZ_CHECK(cond)                                                                        \
	do {                                                                                    \
		if (!(cond)) {                                                                  \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,    \
				#cond);                                                         \
			abort();                                                                \
		}                                                                               \
	} while (0)

/* Consume an input front to back; reads past the end give zeros. */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

/* Little-endian; each read is its own statement (argument order is unspecified). */
static inline uint16_t fuzz_u16(struct fuzz_in *in)
{
	uint16_t lo = fuzz_u8(in);

	return (uint16_t)(lo | fuzz_u8(in) << 8);
}

static inline uint32_t fuzz_u32(struct fuzz_in *in)
{
	uint32_t lo = fuzz_u16(in);

	return lo | (uint32_t)fuzz_u16(in) << 16;
}

static inline uint64_t fuzz_u64(struct fuzz_in *in)
{
	uint64_t lo = fuzz_u32(in);

	return lo | (uint64_t)fuzz_u32(in) << 32;
}

/* A NUL-terminated malloc'd copy of @size bytes (embedded NULs end the string). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s) {
		if (size)
			memcpy(s, data, size);
		s[size] = '\0';
	}
	return s;
}

/* Whether @s (@len bytes) is valid UTF-8 (RFC 3629: no overlongs, surrogates, > U+10FFFF). */
static inline bool fuzz_utf8_ok(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s, *end = p + len;

	while (p < end) {
		uint8_t c = *p;
		uint32_t cp, min;
		size_t n, i;

		if (c < 0x80) {
			p++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			n = 2;
			cp = c & 0x1f;
			min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 3;
			cp = c & 0x0f;
			min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 4;
			cp = c & 0x07;
			min = 0x10000;
		} else {
			return false;
		}
		if ((size_t)(end - p) < n)
			return false;
		for (i = 1; i < n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += n;
	}
	return true;
}

/* SPEC §3: one complete JSON object, then '\n'; valid UTF-8; each key once per object. */
static inline void fuzz_check_json_line(const char *line, size_t len)
{
	json_error_t jerr;
	json_t *j;

	FUZZ_CHECK(len >= 3 && line[0] == '{' && line[len - 1] == '\n');
	FUZZ_CHECK(memchr(line, '\n', len) == line + len - 1);
	FUZZ_CHECK(fuzz_utf8_ok(line, len));
	/* Numbers as reals: jansson refuses integers beyond int64, and u64 are exact here. */
	j = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL,
		       &jerr);
	if (!j)
		fprintf(stderr, "invalid JSON (%s at %d): %.*s", jerr.text, jerr.position,
			(int)len, line);
	FUZZ_CHECK(j && json_is_object(j));
	json_decref(j);
}

#endif /* IGFS_FUZZ_H */
