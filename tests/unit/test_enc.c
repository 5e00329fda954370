// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of loader/enc.c and loader/names.c: BTF built in memory, exact
 * JSON lines compared, every line also parsed back with jansson.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/btf.h>
#include <linux/btf.h>

#include "enc.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                              */

/* Type ids of the usual scalar types and the gadget typedefs. */
struct types {
	int uchar, ushort, uint, ulonglong, schar, sshort, sint, slonglong, chr, boolt;
	int u8, u16, u32, u64, s8, s16, s32, s64;
	int ts, err, sig, sc, uid, gid, flags, mode, bytes, dur, kstack, comm, pid, mntns;
};

static struct btf *types_new(struct types *t)
{
	struct btf *b = btf__new_empty();

	assert_non_null(b);
	t->uchar = btf__add_int(b, "unsigned char", 1, 0);
	t->ushort = btf__add_int(b, "unsigned short", 2, 0);
	t->uint = btf__add_int(b, "unsigned int", 4, 0);
	t->ulonglong = btf__add_int(b, "unsigned long long", 8, 0);
	t->schar = btf__add_int(b, "signed char", 1, BTF_INT_SIGNED);
	t->sshort = btf__add_int(b, "short", 2, BTF_INT_SIGNED);
	t->sint = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
	t->slonglong = btf__add_int(b, "long long", 8, BTF_INT_SIGNED);
	t->chr = btf__add_int(b, "char", 1, BTF_INT_SIGNED);
	t->boolt = btf__add_int(b, "_Bool", 1, BTF_INT_BOOL);
	t->u8 = btf__add_typedef(b, "__u8", t->uchar);
	t->u16 = btf__add_typedef(b, "__u16", t->ushort);
	t->u32 = btf__add_typedef(b, "__u32", t->uint);
	t->u64 = btf__add_typedef(b, "__u64", t->ulonglong);
	t->s8 = btf__add_typedef(b, "__s8", t->schar);
	t->s16 = btf__add_typedef(b, "__s16", t->sshort);
	t->s32 = btf__add_typedef(b, "__s32", t->sint);
	t->s64 = btf__add_typedef(b, "__s64", t->slonglong);
	t->ts = btf__add_typedef(b, "gadget_timestamp", t->u64);
	t->err = btf__add_typedef(b, "gadget_errno", t->u32);
	t->sig = btf__add_typedef(b, "gadget_signal", t->u32);
	t->sc = btf__add_typedef(b, "gadget_syscall", t->u64);
	t->uid = btf__add_typedef(b, "gadget_uid", t->u32);
	t->gid = btf__add_typedef(b, "gadget_gid", t->u32);
	t->flags = btf__add_typedef(b, "gadget_file_flags", t->u32);
	t->mode = btf__add_typedef(b, "gadget_file_mode", t->u32);
	t->bytes = btf__add_typedef(b, "gadget_bytes", t->u64);
	t->dur = btf__add_typedef(b, "gadget_duration", t->u64);
	t->kstack = btf__add_typedef(b, "gadget_kernel_stack", t->u32);
	t->comm = btf__add_typedef(b, "gadget_comm", t->chr);
	t->pid = btf__add_typedef(b, "gadget_pid", t->u32);
	t->mntns = btf__add_typedef(b, "gadget_mntns_id", t->u64);
	return b;
}

static int add_array(struct btf *b, struct types *t, int elem, unsigned int n)
{
	int id = btf__add_array(b, t->uint, elem, n);

	assert_true(id > 0);
	return id;
}

static void field(struct btf *b, const char *name, int type, unsigned int bit_off)
{
	assert_int_equal(btf__add_field(b, name, type, bit_off, 0), 0);
}

static void bitfield(struct btf *b, const char *name, int type, unsigned int bit_off,
		     unsigned int bits)
{
	assert_int_equal(btf__add_field(b, name, type, bit_off, bits), 0);
}

static struct igfs_enc *plan(const struct btf *b, int id, const struct igfs_meta_ds *meta)
{
	struct igfs_enc_opts opts = {.meta = meta};
	struct igfs_diag diag = {""};
	struct igfs_enc *enc = NULL;
	int err;

	err = igfs_enc__new(b, (__u32)id, &opts, &enc, &diag);
	if (err)
		fail_msg("igfs_enc__new: %d: %s", err, diag.msg);
	return enc;
}

/* A line must be one JSON object + '\n', nothing else. */
static void assert_valid_line(const char *line, size_t len)
{
	json_error_t jerr;
	json_t *j;

	assert_true(len > 0);
	assert_int_equal(line[len - 1], '\n');
	assert_null(memchr(line, '\n', len - 1));
	j = json_loadb(line, len - 1, JSON_DECODE_INT_AS_REAL | JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		fail_msg("invalid JSON (%s at %d): %.*s", jerr.text, jerr.position, (int)len, line);
	assert_true(json_is_object(j));
	json_decref(j);
}

static char *encode(const struct igfs_enc *enc, const struct igfs_enc_ctx *ctx, const void *rec,
		    size_t len)
{
	struct igfs_buf out = {};
	int err;

	err = igfs_enc__line(enc, ctx, rec, len, &out);
	assert_int_equal(err, 0);
	assert_valid_line(out.data, out.len);
	out.data[--out.len] = '\0'; /* drop '\n' for comparisons */
	return igfs_buf_steal(&out);
}

static void check(const struct igfs_enc *enc, const struct igfs_enc_ctx *ctx, const void *rec,
		  size_t len, const char *expected)
{
	char *line = encode(enc, ctx, rec, len);

	assert_string_equal(line, expected);
	free(line);
}

static void put(void *rec, size_t off, const void *v, size_t n)
{
	memcpy((char *)rec + off, v, n);
}

static void put32(void *rec, size_t off, uint32_t v)
{
	put(rec, off, &v, 4);
}

static void put64(void *rec, size_t off, uint64_t v)
{
	put(rec, off, &v, 8);
}

static char *write_tmp(const char *content)
{
	char *path = strdup("/tmp/igfs-test-enc-XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	return path;
}

/* ------------------------------------------------------------------ */
/* Plain types                                                          */

static void test_enc_ints(void **state)
{
	struct types t;
	struct btf *b = types_new(&t);
	uint8_t rec[32] = {};
	struct igfs_enc *enc;
	int s;

	(void)state;
	s = btf__add_struct(b, "ints", 32);
	field(b, "a", t.u8, 0);
	field(b, "b", t.s8, 8);
	field(b, "c", t.u16, 16);
	field(b, "d", t.s16, 32);
	field(b, "e", t.u32, 64);
	field(b, "f", t.s32, 96);
	field(b, "g", t.u64, 128);
	field(b, "h", t.s64, 192);
	enc = plan(b, s, NULL);
	assert_int_equal(igfs_enc__size(enc), 32);
	assert_int_equal(igfs_enc__key_size(enc), 0);

	check(enc, NULL, rec, sizeof(rec),
	      "{\"a\":0,\"b\":0,\"c\":0,\"d\":0,\"e\":0,\"f\":0,\"g\":0,\"h\":0}");
	rec[1] = 0x80;
	rec[4] = 0x00;
	rec[5] = 0x80;
	put32(rec, 12, 0x80000000u);
	put64(rec, 24, 0x8000000000000000ull);
	check(enc, NULL, rec, sizeof(rec),
	      "{\"a\":0,\"b\":-128,\"c\":0,\"d\":-32768,\"e\":0,\"f\":-2147483648,\"g\":0,"
	      "\"h\":-9223372036854775808}");
	memset(rec, 0xff, sizeof(rec));
	rec[1] = 0x7f;
	rec[5] = 0x7f;
	put32(rec, 12, 0x7fffffff);
	put64(rec, 24, 0x7fffffffffffffffull);
	check(enc, NULL, rec, sizeof(rec),
	      "{\"a\":255,\"b\":127,\"c\":65535,\"d\":32767,\"e\":4294967295,\"f\":2147483647,"
	      "\"g\":18446744073709551615,\"h\":9223372036854775807}");
	memset(rec, 0xff, sizeof(rec));
	check(enc, NULL, rec, sizeof(rec),
	      "{\"a\":255,\"b\":-1,\"c\":65535,\"d\":-1,\"e\":4294967295,\"f\":-1,"
	      "\"g\":18446744073709551615,\"h\":-1}");
	igfs_enc__free(enc);
	btf__free(b);
}

static void test_enc_int128_ptr_float(void **state)
{
	struct types t;
	struct btf *b = types_new(&t);
	uint8_t rec[56] = {};
	unsigned __int128 big = ((unsigned __int128)1 << 127) + 5;
	struct igfs_enc *enc;
	int s, u128, s128, flt, dbl, ptr;
	float f;
	double d;

	(void)state;
	u128 = btf__add_int(b, "unsigned __int128", 16, 0);
	s128 = btf__add_int(b, "__int128", 16, BTF_INT_SIGNED);
	flt = btf__add_float(b, "float", 4);
	dbl = btf__add_float(b, "double", 8);
	ptr = btf__add_ptr(b, t.chr);
	s = btf__add_struct(b, "misc", 56);
	field(b, "u", u128, 0);
	field(b, "s", s128, 128);
	field(b, "f", flt, 256);
	field(b, "d", dbl, 320);
	field(b, "p", ptr, 384);
	enc = plan(b, s, NULL);

	put(rec, 0, &big, 16);
	put(rec, 16, &big, 16);
	f = 1.5f;
	put(rec, 32, &f, 4);
	d = 0.1;
	put(rec, 40, &d, 8);
	put64(rec, 48, 0xffffffff81000000ull);
	check(enc, NULL, rec, sizeof(rec),
	      "{\"u\":170141183460469231731687303715884105733,"
	      "\"s\":-170141183460469231731687303715884105723,\"f\":1.5,\"d\":0.1,"
	      "\"p\":18446744071578845184}");

	f = 0.1f;
	put(rec, 32, &f, 4);
	d = 1e21;
	put(rec, 40, &d, 8);
	memset(rec, 0, 32);
	check(enc, NULL, rec, sizeof(rec),
	      "{\"u\":0,\"s\":0,\"f\":0.1,\"d\":1e+21,\"p\":18446744071578845184}");
	f = -0.0f;
	put(rec, 32, &f, 4);
	d = 1.5e-7;
	put(rec, 40, &d, 8);
	check(enc, NULL, rec, sizeof(rec),
	      "{\"u\":0,\"s\":0,\"f\":-0,\"d\":1.5e-7,\"p\":18446744071578845184}");
	f = 123456789.0f;
	put(rec, 32, &f, 4);
	d = 1e20;
	put(rec, 40, &d, 8);
	check(enc, NULL, rec, sizeof(rec),
	      "{\"u\":0,\"s\":0,\"f\":123456790,\"d\":100000000000000000000,"
	      "\"p\":18446744071578845184}");
	f = __builtin_nanf("");
	put(rec, 32, &f, 4);
	d = -__builtin_inf();
	put(rec, 40, &d, 8);
	check(enc, NULL, rec, sizeof(rec),
	      "{\"u\":0,\"s\":0,\"f\":null,\"d\":null,\"p\":18446744071578845184}");
	d = -0.000123;
	put(rec, 40, &d, 8);
	f = 3.0f;
	put(rec, 32, &f, 4);
	check(enc, NULL, rec, sizeof(rec),
	      "{\"u\":0,\"s\":0,\"f\":3,\"d\":-0.000123,\"p\":18446744071578845184}");
	igfs_enc__free(enc);
	btf__free(b);
}

static void test_enc_bitfields(void **state)
{
	struct types t;
	struct btf *b = types_new(&t);
	uint8_t rec[16] = {};
	unsigned __int128 w = 0;
	struct igfs_enc *enc;
	int s;

	(void)state;
	s = btf__add_struct(b, "bf", 16);
	bitfield(b, "a", t.uint, 0, 3);
	bitfield(b, "b", t.sint, 3, 5);
	bitfield(b, NULL, t.uint, 8, 4); /* anonymous padding: never shown */
	bitfield(b, "c", t.ulonglong, 12, 40);
	bitfield(b, "d", t.sint, 52, 7);
	bitfield(b, "e", t.boolt, 59, 1);
	field(b, "f", t.u8, 64);
	bitfield(b, "g", t.slonglong, 72, 56);
	enc = plan(b, s, NULL);

	w = 5 | (unsigned __int128)(-3 & 31) << 3 | (unsigned __int128)0xf << 8 |
	    (unsigned __int128)0x123456789aull << 12 | (unsigned __int128)(-64 & 127) << 52 |
	    (unsigned __int128)1 << 59 | (unsigned __int128)7 << 64 |
	    (unsigned __int128)(0xffffffffffffffull - 1) << 72;
	memcpy(rec, &w, 16);
	check(enc, NULL, rec, sizeof(rec),
	      "{\"a\":5,\"b\":-3,\"c\":78187493530,\"d\":-64,\"e\":true,\"f\":7,\"g\":-2}");
	memset(rec, 0, sizeof(rec));
	rec[1] = 0xff; /* only the padding bits */
	check(enc, NULL, rec, sizeof(rec),
	      "{\"a\":0,\"b\":0,\"c\":15,\"d\":0,\"e\":false,\"f\":0,\"g\":0}");
	igfs_enc__free(enc);
	btf__free(b);
}

static void test_enc_bool(void **state)
{
	struct types t;
	struct btf *b = types_new(&t);
	uint8_t rec[3] = {0, 1, 2};
	struct igfs_enc *enc;
	int s, bt;

	(void)state;
	bt = btf__add_typedef(b, "bool", t.boolt);
	s = btf__add_struct(b, "b", 3);
	field(b, "x", bt, 0);
	field(b, "y", t.boolt, 8);
	field(b, "z", t.boolt, 16);
	enc = plan(b, s, NULL);
	/* IG's accessor.Bool: true only for the byte 1 */
	check(enc, NULL, rec, sizeof(rec), "{\"x\":false,\"y\":true,\"z\":false}");
	igfs_enc__free(enc);
	btf__free(b);
}

/* ------------------------------------------------------------------ */
/* Strings                                                              */

static void test_enc_strings(void **state)
{
	struct types t;
	struct btf *b = types_new(&t);
	uint8_t rec[24] = {};
	struct igfs_enc *enc;
	int s, c8, c4, uc4, u83, comm4, cc;

	(void)state;
	c8 = add_array(b, &t, t.chr, 8);
	c4 = add_array(b, &t, t.chr, 4);
	uc4 = add_array(b, &t, t.uchar, 4);
	u83 = add_array(b, &t, t.u8, 3);
	comm4 = add_array(b, &t, t.comm, 4);
	cc = btf__add_const(b, t.chr);
	cc = add_array(b, &t, cc, 1);
	s = btf__add_struct(b, "strs", 24);
	field(b, "a", c8, 0);
	field(b, "b", c4, 64);
	field(b, "c", uc4, 96);
	field(b, "d", u83, 128);
	field(b, "e", comm4, 152);
	field(b, "f", cc, 184);
	enc = plan(b, s, NULL);

	memcpy(rec, "hi\0garbage", 8);
	memcpy(rec + 8, "abcd", 4);
	memcpy(rec + 12, "\x01\x02\x03\x04", 4);
	memcpy(rec + 16, "\xff\x00\x07", 3);
	memcpy(rec + 19, "sh\0\0", 4);
	rec[23] = 'z';
	check(enc, NULL, rec, sizeof(rec),
	      "{\"a\":\"hi\",\"b\":\"abcd\",\"c\":[1,2,3,4],\"d\":[255,0,7],\"e\":\"sh\",\"f\":"
	      "\"z\"}");
	memset(rec, 0, sizeof(rec));
	check(enc, NULL, rec, sizeof(rec),
	      "{\"a\":\"\",\"b\":\"\",\"c\":[0,0,0,0],\"d\":[0,0,0],\"e\":\"\",\"f\":\"\"}");
	igfs_enc__free(enc);
	btf__free(b);
}

static void test_enc_utf8(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		const char *out;
	} cases[] = {
		{"\x80", 1, "\\ufffd"},
		{"a\xbf"
		 "b",
		 3, "a\\ufffdb"},
		{"\xc0\xaf", 2, "\\ufffd\\ufffd"}, /* overlong '/' */
		{"\xc1\xbf", 2, "\\ufffd\\ufffd"},
		{"\xe0\x80\xaf", 3, "\\ufffd\\ufffd\\ufffd"}, /* overlong */
		{"\xf0\x80\x80\xaf", 4, "\\ufffd\\ufffd\\ufffd\\ufffd"},
		{"\xed\xa0\x80", 3, "\\ufffd\\ufffd\\ufffd"},		 /* surrogate D800 */
		{"\xed\xbf\xbf", 3, "\\ufffd\\ufffd\\ufffd"},		 /* surrogate DFFF */
		{"\xf4\x90\x80\x80", 4, "\\ufffd\\ufffd\\ufffd\\ufffd"}, /* > U+10FFFF */
		{"\xf5\xff\xfe", 3, "\\ufffd\\ufffd\\ufffd"},
		{"\xc3\xa9t\xc3\xa9", 5, "\xc3\xa9t\xc3\xa9"},
		{"\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80"},
		{"\xed\x9f\xbf", 3, "\xed\x9f\xbf"},	     /* U+D7FF is fine */
		{"\xf4\x8f\xbf\xbf", 4, "\xf4\x8f\xbf\xbf"}, /* U+10FFFF */
		{"\xe2\x80\xa8|\xe2\x80\xa9", 7, "\\u2028|\\u2029"},
		{"\xe2\x80\xaa", 3, "\xe2\x80\xaa"},
		{"\xe2\x28\xa1", 3, "\\ufffd(\\ufffd"},
		{"abcdef\xe2\x82", 8, "abcdef\\ufffd\\ufffd"}, /* cut at the array's end */
		{"abcde\xf0\x9f\x98", 8, "abcde\\ufffd\\ufffd\\ufffd"},
		{"abcdefg\xc3", 8, "abcdefg\\ufffd"},
	};
	struct types t;
	struct btf *b = types_new(&t);
	struct igfs_enc *enc;
	char exp[128];
	uint8_t rec[8];
	size_t i;
	int s;

	(void)state;
	int c8 = add_array(b, &t, t.chr, 8);
	s = btf__add_struct(b, "s", 8);
	field(b, "s", c8, 0);
	enc = plan(b, s, NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(rec, 0, sizeof(rec));
		memcpy(rec, cases[i].in, cases[i].len);
		snprintf(exp, sizeof(exp), "{\"s\":\"%s\"}", cases[i].out);
		check(enc, NULL, rec, sizeof(rec), exp);
	}
	igfs_enc__free(enc);
	btf__free(b);
}

static void test_enc_escapes(void **state)
{
	struct types t;
	struct btf *b = types_new(&t);
	struct igfs_enc *enc;
	uint8_t rec[32] = {};
	struct igfs_buf out = {};
	int s;

	(void)state;
	int c32 = add_array(b, &t, t.chr, 32);
	s = btf__add_struct(b, "s", 32);
	field(b, "s", c32, 0);
	enc = plan(b, s, NULL);
	memcpy(rec, "\"\\\b\f\n\r\t\x01\x1f<>&\x7f/'", 15);
	check(enc, NULL, rec, sizeof(rec),
	      "{\"s\":\"\\\"\\\\\\u0008\\u000c\\n\\r\\t\\u0001\\u001f<>&\x7f/'\"}");
	igfs_enc__free(enc);
	btf__free(b);

	/* The public helper does the same, with embedded NULs. */
	assert_int_equal(igfs_json_escape(&out, "a\0b\xe2\x80\xa8\xff", 7), 0);
	assert_string_equal(out.data, "a\\u0000b\\u2028\\ufffd");
	igfs_buf_free(&out);
}

/* ------------------------------------------------------------------ */
/* Composite types                                                      */

static void test_enc_nested(void **state)
{
	struct types t;
	struct btf *b = types_new(&t);
	uint8_t rec[36] = {};
	struct igfs_enc *enc;
	int inner, outer, u32x3, inx2, s8x2, s8x2x2, c3, c3x2;

	(void)state;
	inner = btf__add_struct(b, "inner", 4);
	field(b, "x", t.u16, 0);
	field(b, "y", t.u16, 16);
	u32x3 = add_array(b, &t, t.u32, 3);
	inx2 = add_array(b, &t, inner, 2);
	s8x2 = add_array(b, &t, t.s8, 2);
	s8x2x2 = add_array(b, &t, s8x2, 2);
	c3 = add_array(b, &t, t.chr, 3);
	c3x2 = add_array(b, &t, c3, 2);
	outer = btf__add_struct(b, "outer", 36);
	field(b, "in", inner, 0);
	field(b, "arr", u32x3, 32);
	field(b, "pts", inx2, 128);
	field(b, "m", s8x2x2, 192);
	field(b, "names", c3x2, 224);
	enc = plan(b, outer, NULL);

	rec[0] = 1;
	rec[2] = 2;
	put32(rec, 4, 3);
	put32(rec, 8, 4);
	put32(rec, 12, 0xffffffff);
	rec[16] = 5;
	rec[18] = 6;
	rec[20] = 7;
	rec[22] = 8;
	rec[24] = 0xff;
	rec[25] = 2;
	rec[26] = 3;
	rec[27] = 0xfc;
	memcpy(rec + 28, "ab\0c\0\0", 6);
	check(enc, NULL, rec, sizeof(rec),
	      "{\"in\":{\"x\":1,\"y\":2},\"arr\":[3,4,4294967295],\"pts\":[{\"x\":5,\"y\":6},"
	      "{\"x\":7,\"y\":8}],\"m\":[[-1,2],[3,-4]],\"names\":[\"ab\",\"c\"]}");
	igfs_enc__free(enc);
	btf__free(b);
}

static void test_enc_union_anon_skip(void **state)
{
	struct types t;
	struct btf *b = types_new(&t);
	uint8_t rec[24] = {};
	struct igfs_enc *enc;
	int u, anon_s, anon_u, s, creds, u8x4, empty;
	static struct igfs_kv skip[] = {{"json.skip", "true"}};
	static struct igfs_kv notskip[] = {{"json.skip", "false"}};
	static struct igfs_meta_field mfields[] = {
		{"c.gid", {skip, 1}},
		{"hidden", {skip, 1}},
		{"shown", {notskip, 1}},
	};
	struct igfs_meta_ds meta = {.name = "x", .fields = mfields, .n_fields = 3};

	(void)state;
	u8x4 = add_array(b, &t, t.u8, 4);
	u = btf__add_union(b, "u", 4);
	field(b, "a", t.u32, 0);
	field(b, "b", u8x4, 0);
	anon_s = btf__add_struct(b, NULL, 4);
	field(b, "p", t.u16, 0);
	field(b, "q", t.u16, 16);
	anon_u = btf__add_union(b, NULL, 2);
	field(b, "r", t.u16, 0);
	field(b, "r2", t.s16, 0);
	creds = btf__add_struct(b, "creds", 8);
	field(b, "uid", t.u32, 0);
	field(b, "gid", t.u32, 32);
	empty = btf__add_struct(b, "empty", 0);
	s = btf__add_struct(b, "s", 24);
	field(b, "u", u, 0);
	field(b, NULL, anon_s, 32);
	field(b, "__pad", t.u16, 64);
	field(b, NULL, anon_u, 80);
	field(b, "c", creds, 96);
	field(b, "hidden", t.u8, 160);
	field(b, "shown", t.u8, 168);
	field(b, "e", empty, 176);
	enc = plan(b, s, &meta);

	put32(rec, 0, 0x01020304);
	rec[4] = 9;
	rec[6] = 10;
	rec[8] = 0xee;
	rec[10] = 0xfe;
	rec[11] = 0xff;
	put32(rec, 12, 1000);
	put32(rec, 16, 1001);
	rec[20] = 1;
	rec[21] = 2;
	check(enc, NULL, rec, sizeof(rec),
	      "{\"u\":{\"a\":16909060},\"p\":9,\"q\":10,\"r\":65534,\"c\":{\"uid\":1000},"
	      "\"shown\":2,\"e\":{}}");
	igfs_enc__free(enc);
	btf__free(b);
}

static void test_enc_enums(void **state)
{
	struct types t;
	struct btf *b = types_new(&t), *kb;
	uint8_t rec[32] = {};
	struct igfs_enc_opts opts = {};
	struct igfs_diag diag = {""};
	struct igfs_enc *enc;
	int color, sgn, perm, big, s, kcolor;

	(void)state;
	color = btf__add_enum(b, "color", 4);
	btf__add_enum_value(b, "RED", 0);
	btf__add_enum_value(b, "GREEN", 1);
	btf__add_enum_value(b, "BLUE", 2);
	btf__add_enum_value(b, "AZURE", 2); /* duplicate value: the first wins */
	sgn = btf__add_enum(b, "sgn", 4);
	btf__add_enum_value(b, "NEG", -1);
	btf__add_enum_value(b, "ZERO", 0);
	perm = btf__add_enum(b, "perm_set", 1);
	btf__add_enum_value(b, "NONE", 0);
	btf__add_enum_value(b, "R", 1);
	btf__add_enum_value(b, "W", 2);
	btf__add_enum_value(b, "X", 4);
	big = btf__add_enum64(b, "big", 8, false);
	btf__add_enum64_value(b, "HUGE", 1ull << 40);
	btf__add_enum64_value(b, "MAX", UINT64_MAX);
	s = btf__add_struct(b, "e", 32);
	field(b, "c", color, 0);
	field(b, "s", sgn, 32);
	field(b, "p", perm, 64);
	field(b, "c_raw", color, 96);
	field(b, "g", big, 128);
	bitfield(b, "cb", color, 192, 3);
	field(b, "s_raw", sgn, 224);
	enc = plan(b, s, NULL);

	put32(rec, 0, 1);
	put32(rec, 4, 0xffffffff);
	rec[8] = 5;
	put32(rec, 12, 2);
	put64(rec, 16, 1ull << 40);
	rec[24] = 2;
	put32(rec, 28, 0);
	check(enc, NULL, rec, sizeof(rec),
	      "{\"c\":\"GREEN\",\"s\":\"NEG\",\"p\":\"NONE|R|X\",\"c_raw\":\"BLUE\","
	      "\"g\":\"HUGE\",\"cb\":\"BLUE\",\"s_raw\":\"ZERO\"}");
	igfs_enc__free(enc);

	/* "c" and "s" are members: no derived fields above (IG cannot add them). */
	btf__free(b);
	b = types_new(&t);
	color = btf__add_enum(b, "color", 4);
	btf__add_enum_value(b, "RED", 0);
	btf__add_enum_value(b, "GREEN", 1);
	sgn = btf__add_enum(b, "sgn", 4);
	btf__add_enum_value(b, "NEG", -1);
	btf__add_enum_value(b, "ZERO", 0);
	perm = btf__add_enum(b, "perm_set", 1);
	btf__add_enum_value(b, "R", 1);
	btf__add_enum_value(b, "W", 2);
	s = btf__add_struct(b, "e", 16);
	field(b, "c", color, 0);
	field(b, "s", sgn, 32);
	field(b, "p", perm, 64);
	field(b, "k_raw", color, 96);
	enc = plan(b, s, NULL);
	memset(rec, 0, sizeof(rec));
	put32(rec, 0, 7);
	put32(rec, 4, (uint32_t)-5);
	rec[8] = 8;
	put32(rec, 12, 9);
	check(enc, NULL, rec, 16, "{\"c\":7,\"s\":-5,\"p\":\"\",\"k\":\"UNKNOWN\",\"k_raw\":9}");
	igfs_enc__free(enc);

	/* The running kernel's enum of the same name wins. */
	kb = btf__new_empty();
	kcolor = btf__add_enum(kb, "color", 4);
	assert_true(kcolor > 0);
	btf__add_enum_value(kb, "K_RED", 0);
	btf__add_enum_value(kb, "K_PURPLE", 7);
	btf__add_enum_value(kb, "K_NINE", 9);
	opts.kernel_btf = kb;
	assert_int_equal(igfs_enc__new(b, (__u32)s, &opts, &enc, &diag), 0);
	check(enc, NULL, rec, 16,
	      "{\"c\":\"K_PURPLE\",\"s\":-5,\"p\":\"\",\"k\":\"K_NINE\",\"k_raw\":9}");
	igfs_enc__free(enc);
	btf__free(kb);
	btf__free(b);
}

static void test_enc_enum_annotations(void **state)
{
	struct types t;
	struct btf *b = types_new(&t);
	uint8_t rec[8] = {};
	struct igfs_enc *enc;
	int perm, s;
	static struct igfs_kv ann[] = {{"ebpf.formatter.enum", "perms"},
				       {"ebpf.formatter.bitfield.separator", ", "}};
	static struct igfs_meta_field mfields[] = {{"p", {ann, 2}}};
	struct igfs_meta_ds meta = {.name = "x", .fields = mfields, .n_fields = 1};

	(void)state;
	perm = btf__add_enum(b, "perm_set", 4);
	btf__add_enum_value(b, "R", 1);
	btf__add_enum_value(b, "W", 2);
	btf__add_enum_value(b, "X", 4);
	s = btf__add_struct(b, "e", 4);
	field(b, "p", perm, 0);
	enc = plan(b, s, &meta);
	put32(rec, 0, 7);
	check(enc, NULL, rec, 4, "{\"p\":7,\"perms\":\"R, W, X\"}");
	igfs_enc__free(enc);
	btf__free(b);
}

/* ------------------------------------------------------------------ */
/* Well-known types                                                     */

static void test_enc_timestamp(void **state)
{
	struct types t;
	struct btf *b = types_new(&t);
	uint8_t rec[24] = {};
	struct igfs_enc_ctx ctx = {.boot_to_real_ns = 1764014462123456789ll - 1000000000ll};
	static struct igfs_kv ann[] = {{"formatters.timestamp.target", "start_str"}};
	static struct igfs_meta_field mfields[] = {{"start", {ann, 1}}};
	struct igfs_meta_ds meta = {.name = "x", .fields = mfields, .n_fields = 1};
	struct igfs_enc *enc;
	struct timespec t0, t1;
	char *line;
	long long raw;
	int s;

	(void)state;
	s = btf__add_struct(b, "e", 24);
	field(b, "timestamp_raw", t.ts, 0);
	field(b, "boot", t.ts, 64);
	field(b, "start", t.ts, 128);
	enc = plan(b, s, &meta);

	put64(rec, 0, 1000000000);
	put64(rec, 8, 1000000000);
	put64(rec, 16, 1000000000);
	check(enc, &ctx, rec, sizeof(rec),
	      "{\"timestamp\":\"2025-11-24T20:01:02.123456789Z\",\"timestamp_raw\":"
	      "1764014462123456789,"
	      "\"boot\":1000000000,\"start\":1764014462123456789,"
	      "\"start_str\":\"2025-11-24T20:01:02.123456789Z\"}");
	ctx.tz_offset_s = 19800;
	check(enc, &ctx, rec, sizeof(rec),
	      "{\"timestamp\":\"2025-11-25T01:31:02.123456789+05:30\",\"timestamp_raw\":"
	      "1764014462123456789,"
	      "\"boot\":1000000000,\"start\":1764014462123456789,"
	      "\"start_str\":\"2025-11-25T01:31:02.123456789+05:30\"}");
	ctx.tz_offset_s = -28800;
	put64(rec, 16, 0x7fffffffffffffffull - (uint64_t)ctx.boot_to_real_ns);
	check(enc, &ctx, rec, sizeof(rec),
	      "{\"timestamp\":\"2025-11-24T12:01:02.123456789-08:00\",\"timestamp_raw\":"
	      "1764014462123456789,"
	      "\"boot\":1000000000,\"start\":9223372036854775807,"
	      "\"start_str\":\"2262-04-11T15:47:16.854775807-08:00\"}");
	/* Leap day, and one nanosecond before the epoch. */
	ctx.tz_offset_s = 0;
	ctx.boot_to_real_ns = 951782400000000000ll;
	put64(rec, 0, 1);
	put64(rec, 16, (uint64_t)-951782400000000001ll);
	check(enc, &ctx, rec, sizeof(rec),
	      "{\"timestamp\":\"2000-02-29T00:00:00.000000001Z\",\"timestamp_raw\":"
	      "951782400000000001,"
	      "\"boot\":1000000000,\"start\":18446744073709551615,"
	      "\"start_str\":\"1969-12-31T23:59:59.999999999Z\"}");

	/* 0 means "now", from the realtime clock. */
	memset(rec, 0, sizeof(rec));
	clock_gettime(CLOCK_REALTIME, &t0);
	line = encode(enc, &ctx, rec, sizeof(rec));
	clock_gettime(CLOCK_REALTIME, &t1);
	assert_int_equal(strncmp(line, "{\"timestamp\":\"20", 16), 0);
	assert_int_equal(line[43], 'Z');
	assert_int_equal(sscanf(line + 46, "\"timestamp_raw\":%lld", &raw), 1);
	assert_true(raw >= t0.tv_sec * 1000000000ll + t0.tv_nsec);
	assert_true(raw <= t1.tv_sec * 1000000000ll + t1.tv_nsec);
	free(line);
	igfs_enc__free(enc);
	btf__free(b);
}

static void check_one(struct igfs_enc *enc, const struct igfs_enc_ctx *ctx, uint64_t v, size_t size,
		      const char *expected)
{
	uint8_t rec[8] = {};

	memcpy(rec, &v, size);
	check(enc, ctx, rec, size, expected);
}

static struct igfs_enc *plan_one(struct btf *b, const char *name, int type, size_t size)
{
	int s = btf__add_struct(b, "one", (__u32)size);

	field(b, name, type, 0);
	return plan(b, s, NULL);
}

static void test_enc_errno_signal_syscall(void **state)
{
	struct types t;
	struct btf *b = types_new(&t);
	struct igfs_enc *enc;
	int serr;

	(void)state;
	enc = plan_one(b, "error_raw", t.err, 4);
	check_one(enc, NULL, 0, 4, "{\"error\":\"\",\"error_raw\":0}");
	check_one(enc, NULL, 2, 4, "{\"error\":\"ENOENT\",\"error_raw\":2}");
	check_one(enc, NULL, 95, 4, "{\"error\":\"ENOTSUP\",\"error_raw\":95}");
	check_one(enc, NULL, 11, 4, "{\"error\":\"EAGAIN\",\"error_raw\":11}");
	check_one(enc, NULL, 35, 4, "{\"error\":\"EDEADLK\",\"error_raw\":35}");
	check_one(enc, NULL, 133, 4, "{\"error\":\"EHWPOISON\",\"error_raw\":133}");
	check_one(enc, NULL, 41, 4, "{\"error\":\"error#41\",\"error_raw\":41}");
	check_one(enc, NULL, 134, 4, "{\"error\":\"error#134\",\"error_raw\":134}");
	/* IG takes the u32 as is: a negated errno is not folded back. */
	check_one(enc, NULL, (uint32_t)-2, 4,
		  "{\"error\":\"error#4294967294\",\"error_raw\":4294967294}");
	igfs_enc__free(enc);

	/* A signed gadget_errno: IG adds the field but leaves it "". */
	serr = btf__add_typedef(b, "gadget_errno", t.s32);
	enc = plan_one(b, "ret_raw", serr, 4);
	check_one(enc, NULL, (uint32_t)-2, 4, "{\"ret\":\"\",\"ret_raw\":-2}");
	igfs_enc__free(enc);
	/* Without "_raw" or a target annotation: no derived field. */
	enc = plan_one(b, "error", t.err, 4);
	check_one(enc, NULL, 2, 4, "{\"error\":2}");
	igfs_enc__free(enc);

	enc = plan_one(b, "sig_raw", t.sig, 4);
	check_one(enc, NULL, 0, 4, "{\"sig\":\"signal#0\",\"sig_raw\":0}");
	check_one(enc, NULL, 9, 4, "{\"sig\":\"SIGKILL\",\"sig_raw\":9}");
	check_one(enc, NULL, 6, 4, "{\"sig\":\"SIGABRT\",\"sig_raw\":6}");
	check_one(enc, NULL, 31, 4, "{\"sig\":\"SIGSYS\",\"sig_raw\":31}");
	check_one(enc, NULL, 32, 4, "{\"sig\":\"signal#32\",\"sig_raw\":32}");
	check_one(enc, NULL, 64, 4, "{\"sig\":\"signal#64\",\"sig_raw\":64}");
	igfs_enc__free(enc);

	enc = plan_one(b, "syscall_raw", t.sc, 8);
	check_one(enc, NULL, 0, 8, "{\"syscall\":\"SYS_READ\",\"syscall_raw\":0}");
	check_one(enc, NULL, 257, 8, "{\"syscall\":\"SYS_OPENAT\",\"syscall_raw\":257}");
	check_one(enc, NULL, 156, 8, "{\"syscall\":\"SYS__SYSCTL\",\"syscall_raw\":156}");
	check_one(enc, NULL, 182, 8, "{\"syscall\":\"SYS_UNKNOWN\",\"syscall_raw\":182}");
	check_one(enc, NULL, 450, 8,
		  "{\"syscall\":\"SYS_SET_MEMPOLICY_HOME_NODE\",\"syscall_raw\":450}");
	check_one(enc, NULL, 451, 8, "{\"syscall\":\"SYS_CACHESTAT\",\"syscall_raw\":451}");
	check_one(enc, NULL, 452, 8, "{\"syscall\":\"SYS_UNKNOWN\",\"syscall_raw\":452}");
	check_one(enc, NULL, UINT64_MAX, 8,
		  "{\"syscall\":\"SYS_UNKNOWN\",\"syscall_raw\":18446744073709551615}");
	igfs_enc__free(enc);
	btf__free(b);
}

static void test_enc_flags_mode(void **state)
{
	struct types t;
	struct btf *b = types_new(&t);
	struct igfs_enc *enc;
	int ush;

	(void)state;
	enc = plan_one(b, "flags_raw", t.flags, 4);
	check_one(enc, NULL, 0, 4, "{\"flags\":\"O_RDONLY\",\"flags_raw\":0}");
	check_one(enc, NULL, 577, 4, "{\"flags\":\"O_WRONLY|O_CREAT|O_TRUNC\",\"flags_raw\":577}");
	check_one(enc, NULL, 02000002, 4, "{\"flags\":\"O_RDWR|O_CLOEXEC\",\"flags_raw\":524290}");
	check_one(enc, NULL, 3, 4, "{\"flags\":\"\",\"flags_raw\":3}");
	check_one(enc, NULL, 04010000, 4, "{\"flags\":\"O_RDONLY|O_DSYNC\",\"flags_raw\":1052672}");
	check_one(enc, NULL, 03777703, 4,
		  "{\"flags\":\"O_CREAT|O_EXCL|O_NOCTTY|O_TRUNC|O_APPEND|O_NONBLOCK|O_DSYNC|"
		  "O_FASYNC|O_DIRECT|O_LARGEFILE|O_DIRECTORY|O_NOFOLLOW|O_NOATIME|O_CLOEXEC\","
		  "\"flags_raw\":1048515}");
	igfs_enc__free(enc);

	enc = plan_one(b, "mode_raw", t.mode, 4);
	check_one(enc, NULL, 0, 4, "{\"mode\":\"----------\",\"mode_raw\":0}");
	check_one(enc, NULL, 0644, 4, "{\"mode\":\"-rw-r--r--\",\"mode_raw\":420}");
	check_one(enc, NULL, 07777, 4, "{\"mode\":\"-rwxrwxrwx\",\"mode_raw\":4095}");
	check_one(enc, NULL, 0100644, 4, "{\"mode\":\"-rw-r--r--\",\"mode_raw\":33188}");
	check_one(enc, NULL, 0x80000000u | 0755, 4,
		  "{\"mode\":\"drwxr-xr-x\",\"mode_raw\":2147484141}");
	igfs_enc__free(enc);

	/* IG's older trace_open used a plain __u16 mode_raw: no formatter. */
	ush = btf__add_typedef(b, "gadget_file_mode", t.u16);
	enc = plan_one(b, "mode_raw", ush, 2);
	check_one(enc, NULL, 0644, 2, "{\"mode_raw\":420}");
	igfs_enc__free(enc);
	btf__free(b);
}

static void test_enc_bytes_duration(void **state)
{
	static const struct {
		uint64_t v;
		const char *s;
	} bytes[] = {
		{0, "0 B"},
		{9, "9 B"},
		{10, "10 B"},
		{512, "512 B"},
		{999, "999 B"},
		{1000, "1.0 kB"},
		{1500, "1.5 kB"},
		{9999, "10 kB"},
		{12500, "12 kB"},
		{13500, "14 kB"},
		{999999, "1000 kB"},
		{1000000, "1.0 MB"},
		{83000000, "83 MB"},
		{256000000, "256 MB"},
		{1000000000, "1.0 GB"},
		{5000000000000ull, "5.0 TB"},
		{999999999999995ull, "1000 TB"},
		{999999999999996ull, "1.0 PB"},
		{1000000000000000000ull, "1.0 EB"},
		{UINT64_MAX, "18 EB"},
	};
	static const struct {
		uint64_t v;
		const char *s;
	} durs[] = {
		{0, "0ns"},
		{10, "10ns"},
		{999, "999ns"},
		{1000, "1.00\xc2\xb5s"},
		{1004, "1.00\xc2\xb5s"},
		{1005, "1.00\xc2\xb5s"},
		{1006, "1.01\xc2\xb5s"},
		{1015, "1.01\xc2\xb5s"},
		{1125, "1.12\xc2\xb5s"},
		{1135, "1.14\xc2\xb5s"},
		{2675, "2.67\xc2\xb5s"},
		{10000, "10.00\xc2\xb5s"},
		{999999, "1000.00\xc2\xb5s"},
		{1000000, "1.00ms"},
		{1125000, "1.12ms"},
		{150000000, "150.00ms"},
		{999999999, "1000.00ms"},
		{1000000000, "1s"},
		{1000000001, "1.000000001s"},
		{1500000000, "1.5s"},
		{3250000000ull, "3.25s"},
		{60000000000ull, "1m0s"},
		{300000000000ull, "5m0s"},
		{3600000000000ull, "1h0m0s"},
		{9000000000000ull, "2h30m0s"},
		{9223372036854775807ull, "2562047h47m16.854775807s"},
		{9223372036854775808ull, "-9223372036854775808ns"},
		{UINT64_MAX, "-1ns"},
	};
	struct types t;
	struct btf *b = types_new(&t);
	struct igfs_enc *enc;
	char exp[160];
	size_t i;

	(void)state;
	enc = plan_one(b, "size_raw", t.bytes, 8);
	for (i = 0; i < sizeof(bytes) / sizeof(bytes[0]); i++) {
		snprintf(exp, sizeof(exp), "{\"size\":\"%s\",\"size_raw\":%llu}", bytes[i].s,
			 (unsigned long long)bytes[i].v);
		check_one(enc, NULL, bytes[i].v, 8, exp);
	}
	igfs_enc__free(enc);
	enc = plan_one(b, "lat_raw", t.dur, 8);
	for (i = 0; i < sizeof(durs) / sizeof(durs[0]); i++) {
		snprintf(exp, sizeof(exp), "{\"lat\":\"%s\",\"lat_raw\":%llu}", durs[i].s,
			 (unsigned long long)durs[i].v);
		check_one(enc, NULL, durs[i].v, 8, exp);
	}
	igfs_enc__free(enc);
	btf__free(b);
}

/* IG's endpoint types, as in include/gadget/types.h. */
static void add_endpoints(struct btf *b, struct types *t, int *l3, int *l4)
{
	int u8x16 = add_array(b, t, t->u8, 16);
	int ip = btf__add_union(b, "gadget_ip_addr_t", 16);

	field(b, "v6", u8x16, 0);
	field(b, "v4", t->u32, 0);
	*l3 = btf__add_struct(b, "gadget_l3endpoint_t", 20);
	field(b, "addr_raw", ip, 0);
	field(b, "version", t->u8, 128);
	*l4 = btf__add_struct(b, "gadget_l4endpoint_t", 24);
	field(b, "addr_raw", ip, 0);
	field(b, "port", t->u16, 128);
	field(b, "proto_raw", t->u16, 144);
	field(b, "version", t->u8, 160);
}

static void test_enc_endpoints(void **state)
{
	static const struct {
		uint8_t a[16];
		uint8_t ver;
		const char *s;
	} ips[] = {
		{{10, 0, 0, 1}, 4, "10.0.0.1"},
		{{255, 255, 255, 255, 9, 9}, 4, "255.255.255.255"},
		{{[15] = 1}, 6, "::1"},
		{{}, 6, "::"},
		{{[10] = 0xff, 0xff, 1, 2, 3, 4}, 6, "1.2.3.4"},
		{{[12] = 1, 2, 3, 4}, 6, "::102:304"},
		{{0x20, 0x01, 0x0d, 0xb8, [15] = 1}, 6, "2001:db8::1"},
		{{0xfe, 0x80, [7] = 1, [15] = 1}, 6, "fe80:0:0:1::1"},
		{{0, 1, [7] = 2, [13] = 3, 0, 4}, 6, "1::2:0:0:3:4"},
		{{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1},
		 6,
		 "2001:db8:0:1:1:1:1:1"},
		{{0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0x00, 0x0f, 0x00,
		  0xf0, 0x0f, 0x00},
		 6,
		 "abcd:ef01:2345:6789:abcd:f:f0:f00"},
		{{1, 2, 3, 4}, 0, ""},
		{{1, 2, 3, 4}, 5, ""},
	};
	struct types t;
	struct btf *b = types_new(&t);
	uint8_t rec[44] = {};
	struct igfs_enc *enc;
	char exp[256];
	uint16_t v16;
	size_t i;
	int l3, l4, s;

	(void)state;
	add_endpoints(b, &t, &l3, &l4);
	s = btf__add_struct(b, "ev", 44);
	field(b, "src", l3, 0);
	field(b, "dst", l4, 160);
	enc = plan(b, s, NULL);
	for (i = 0; i < sizeof(ips) / sizeof(ips[0]); i++) {
		memset(rec, 0, sizeof(rec));
		memcpy(rec, ips[i].a, 16);
		rec[16] = ips[i].ver;
		memcpy(rec + 20, ips[i].a, 16);
		v16 = 443;
		put(rec, 36, &v16, 2);
		v16 = 17;
		put(rec, 38, &v16, 2);
		rec[40] = ips[i].ver;
		snprintf(exp, sizeof(exp),
			 "{\"src\":{\"addr\":\"%s\",\"version\":%u},\"dst\":{\"addr\":\"%s\","
			 "\"port\":443,\"proto\":\"UDP\",\"proto_raw\":17,\"version\":%u}}",
			 ips[i].s, ips[i].ver, ips[i].s, ips[i].ver);
		check(enc, NULL, rec, sizeof(rec), exp);
	}
	v16 = 6;
	put(rec, 38, &v16, 2);
	memset(rec, 0, 16);
	rec[16] = 4;
	rec[40] = 4;
	memset(rec + 20, 0, 16);
	check(enc, NULL, rec, sizeof(rec),
	      "{\"src\":{\"addr\":\"0.0.0.0\",\"version\":4},\"dst\":{\"addr\":\"0.0.0.0\","
	      "\"port\":443,\"proto\":\"TCP\",\"proto_raw\":6,\"version\":4}}");
	v16 = 200;
	put(rec, 38, &v16, 2);
	check(enc, NULL, rec, sizeof(rec),
	      "{\"src\":{\"addr\":\"0.0.0.0\",\"version\":4},\"dst\":{\"addr\":\"0.0.0.0\","
	      "\"port\":443,\"proto\":\"proto#200\",\"proto_raw\":200,\"version\":4}}");
	v16 = 135;
	put(rec, 38, &v16, 2);
	check(enc, NULL, rec, sizeof(rec),
	      "{\"src\":{\"addr\":\"0.0.0.0\",\"version\":4},\"dst\":{\"addr\":\"0.0.0.0\","
	      "\"port\":443,\"proto\":\"Mobility Header\",\"proto_raw\":135,\"version\":4}}");
	igfs_enc__free(enc);
	btf__free(b);
}

static void test_enc_uid_gid(void **state)
{
	struct types t;
	struct btf *b = types_new(&t);
	uint8_t rec[12] = {};
	struct igfs_names *names = NULL;
	struct igfs_enc_ctx ctx = {};
	struct igfs_enc *enc;
	char *pw, *gr;
	int s;

	(void)state;
	pw = write_tmp("root:x:0:0:root:/root:/bin/bash\n"
		       "alice:x:1000:1000::/home/alice:/bin/sh\n"
		       "# comment:x:7:\n"
		       "  bob:x:1001:1001::/home/bob:/bin/sh\n"
		       "bad:x:notanumber:0::/:/bin/false\n"
		       "huge:x:4294967296:0::/:/bin/false\n"
		       "short:x\n"
		       "alice2:x:1000:1000::/home/alice2:/bin/sh\n"
		       "q\"uote:x:1002:1002::/:/bin/sh");
	gr = write_tmp("root:x:0:\nstaff:x:50:alice,bob\n");
	assert_int_equal(igfs_names__load(pw, gr, &names), 0);
	assert_string_equal(igfs_names__user(names, 0), "root");
	assert_string_equal(igfs_names__user(names, 1000), "alice2"); /* the last one wins */
	assert_string_equal(igfs_names__user(names, 1001), "bob");
	assert_null(igfs_names__user(names, 7));
	assert_string_equal(igfs_names__group(names, 50), "staff");
	assert_null(igfs_names__group(names, 1000));

	s = btf__add_struct(b, "creds", 12);
	field(b, "uid", t.uid, 0);
	field(b, "gid", t.gid, 32);
	field(b, "owner_raw", t.uid, 64);
	enc = plan(b, s, NULL);
	put32(rec, 0, 1000);
	put32(rec, 4, 50);
	put32(rec, 8, 1002);
	check(enc, NULL, rec, sizeof(rec),
	      "{\"uid\":1000,\"user\":\"uid:1000\",\"gid\":50,\"group\":\"gid:50\","
	      "\"owner\":\"uid:1002\",\"owner_raw\":1002}");
	ctx.names = names;
	check(enc, &ctx, rec, sizeof(rec),
	      "{\"uid\":1000,\"user\":\"alice2\",\"gid\":50,\"group\":\"staff\","
	      "\"owner\":\"q\\\"uote\",\"owner_raw\":1002}");
	put32(rec, 0, 4294967295u);
	put32(rec, 4, 7);
	check(enc, &ctx, rec, sizeof(rec),
	      "{\"uid\":4294967295,\"user\":\"uid:4294967295\",\"gid\":7,\"group\":\"gid:7\","
	      "\"owner\":\"q\\\"uote\",\"owner_raw\":1002}");
	igfs_enc__free(enc);

	/* Two uids without _raw: only the first gets "user" (IG cannot add it twice). */
	s = btf__add_struct(b, "two", 8);
	field(b, "ruid", t.uid, 0);
	field(b, "euid", t.uid, 32);
	enc = plan(b, s, NULL);
	check(enc, &ctx, rec, 8, "{\"ruid\":4294967295,\"user\":\"uid:4294967295\",\"euid\":7}");
	igfs_enc__free(enc);

	igfs_names__free(names);
	names = NULL;
	/* Missing files: empty tables. */
	assert_int_equal(igfs_names__load("/nonexistent/passwd", NULL, &names), 0);
	assert_null(igfs_names__user(names, 0));
	igfs_names__free(names);
	unlink(pw);
	unlink(gr);
	free(pw);
	free(gr);
	btf__free(b);
}

static void test_enc_names_long_lines(void **state)
{
	struct igfs_names *names = NULL;
	size_t n = 10000, i;
	char *content = malloc(n + 200), *pw;

	(void)state;
	assert_non_null(content);
	strcpy(content, "first:x:1:1::/:/bin/sh\n");
	i = strlen(content);
	memcpy(content + i, "long:x:2:", 9);
	memset(content + i + 9, 'a', n - i - 9);
	strcpy(content + n, "\nlast:x:3:3::/:/bin/sh\nlast2:x:4:4::/:/bin/sh");
	pw = write_tmp(content);
	assert_int_equal(igfs_names__load(pw, pw, &names), 0);
	assert_string_equal(igfs_names__user(names, 1), "first");
	assert_null(igfs_names__user(names, 2));
	assert_string_equal(igfs_names__user(names, 3), "last");
	assert_string_equal(igfs_names__user(names, 4), "last2");
	assert_string_equal(igfs_names__group(names, 3), "last");
	igfs_names__free(names);
	igfs_names__free(NULL);
	unlink(pw);
	free(pw);
	free(content);
}

static int kstack_cb(void *ctx, __u32 id, struct igfs_buf *out)
{
	(void)ctx;
	if (id == 7)
		return igfs_buf_puts(out, "[0]a; [1]b; ");
	if (id == 8)
		return igfs_buf_puts(out, "[0]odd\"name\xff; ");
	return -ENOENT;
}

static int ustack_cb(void *ctx, const void *ustack, size_t len, struct igfs_buf *addresses,
		     struct igfs_buf *symbols)
{
	uint64_t inode;

	(void)ctx;
	assert_int_equal(len, 16);
	memcpy(&inode, ustack, 8);
	if (!inode)
		return 0;
	igfs_buf_puts(addresses, "[0]0x0000000000401000; ");
	igfs_buf_puts(symbols, "[0]main; ");
	return 0;
}

static void test_enc_stacks(void **state)
{
	struct types t;
	struct btf *b = types_new(&t);
	uint8_t rec[24] = {};
	struct igfs_enc_ctx ctx = {.kstack = kstack_cb, .ustack = ustack_cb};
	struct igfs_enc *enc;
	int us, s;

	(void)state;
	us = btf__add_struct(b, "gadget_user_stack", 16);
	field(b, "exe_inode", t.u64, 0);
	field(b, "stack_id", t.u32, 64);
	s = btf__add_struct(b, "ev", 24);
	field(b, "kstack_raw", t.kstack, 0);
	field(b, "ustack", us, 64);
	enc = plan(b, s, NULL);
	put32(rec, 0, 7);
	put64(rec, 8, 1);
	put32(rec, 16, 2);
	check(enc, NULL, rec, sizeof(rec),
	      "{\"kstack\":\"\",\"kstack_raw\":7,\"ustack\":{\"exe_inode\":1,\"stack_id\":2,"
	      "\"addresses\":\"\",\"buildid\":\"\",\"symbols\":\"\"}}");
	check(enc, &ctx, rec, sizeof(rec),
	      "{\"kstack\":\"[0]a; [1]b; \",\"kstack_raw\":7,\"ustack\":{\"exe_inode\":1,"
	      "\"stack_id\":2,\"addresses\":\"[0]0x0000000000401000; \",\"buildid\":\"\","
	      "\"symbols\":\"[0]main; \"}}");
	put32(rec, 0, 8);
	put64(rec, 8, 0);
	check(enc, &ctx, rec, sizeof(rec),
	      "{\"kstack\":\"[0]odd\\\"name\\ufffd; "
	      "\",\"kstack_raw\":8,\"ustack\":{\"exe_inode\":0,"
	      "\"stack_id\":2,\"addresses\":\"\",\"buildid\":\"\",\"symbols\":\"\"}}");
	put32(rec, 0, 9);
	check(enc, &ctx, rec, sizeof(rec),
	      "{\"kstack\":\"\",\"kstack_raw\":9,\"ustack\":{\"exe_inode\":0,"
	      "\"stack_id\":2,\"addresses\":\"\",\"buildid\":\"\",\"symbols\":\"\"}}");
	igfs_enc__free(enc);
	btf__free(b);
}

/* ------------------------------------------------------------------ */
/* Records, kv plans, errors                                            */

static void test_enc_short_long_record(void **state)
{
	struct types t;
	struct btf *b = types_new(&t);
	uint8_t rec[64], *big;
	struct igfs_enc *enc;
	struct igfs_buf out = {};
	int s, s2;

	(void)state;
	int c8 = add_array(b, &t, t.chr, 8);
	s = btf__add_struct(b, "r", 24);
	field(b, "a", t.u32, 0);
	field(b, "s", c8, 32);
	field(b, "b", t.u64, 128);
	enc = plan(b, s, NULL);
	memset(rec, 'x', sizeof(rec));
	put32(rec, 0, 1);
	check(enc, NULL, rec, 6, "{\"a\":1,\"s\":\"xx\",\"b\":0}");
	check(enc, NULL, rec, 0, "{\"a\":0,\"s\":\"\",\"b\":0}");
	put64(rec, 16, 5);
	check(enc, NULL, rec, sizeof(rec), "{\"a\":1,\"s\":\"xxxxxxxx\",\"b\":5}");
	/* Lines append; the buffer keeps earlier content. */
	assert_int_equal(igfs_enc__line(enc, NULL, rec, 6, &out), 0);
	assert_int_equal(igfs_enc__line(enc, NULL, rec, 64, &out), 0);
	assert_string_equal(out.data, "{\"a\":1,\"s\":\"xx\",\"b\":0}\n"
				      "{\"a\":1,\"s\":\"xxxxxxxx\",\"b\":5}\n");
	igfs_buf_free(&out);
	igfs_enc__free(enc);

	/* Short records of large structs go through a heap scratch. */
	int c2040 = add_array(b, &t, t.chr, 2040);
	s2 = btf__add_struct(b, "big", 2048);
	field(b, "s", c2040, 0);
	field(b, "z", t.u64, 2040 * 8);
	enc = plan(b, s2, NULL);
	big = malloc(10);
	memcpy(big, "abcdefghij", 10);
	check(enc, NULL, big, 10, "{\"s\":\"abcdefghij\",\"z\":0}");
	free(big);
	igfs_enc__free(enc);
	btf__free(b);
}

static void test_enc_kv(void **state)
{
	struct types t;
	struct btf *b = types_new(&t);
	uint8_t rec[20] = {};
	struct igfs_diag diag = {""};
	struct igfs_enc *enc = NULL;
	int key, val, val2;

	(void)state;
	key = btf__add_struct(b, "key", 4);
	field(b, "pid", t.u32, 0);
	int c4 = add_array(b, &t, t.chr, 4);
	val = btf__add_struct(b, "val", 16);
	field(b, "count", t.u64, 0);
	field(b, "comm", c4, 64);
	field(b, "__pad", t.u32, 96);
	val2 = btf__add_struct(b, "val2", 8);
	field(b, "pid", t.u32, 0);
	field(b, "x", t.u32, 32);

	assert_int_equal(igfs_enc__new_kv(b, (__u32)key, (__u32)val, NULL, &enc, &diag), 0);
	assert_int_equal(igfs_enc__size(enc), 20);
	assert_int_equal(igfs_enc__key_size(enc), 4);
	put32(rec, 0, 42);
	put64(rec, 4, 7);
	memcpy(rec + 12, "ab", 2);
	check(enc, NULL, rec, sizeof(rec), "{\"pid\":42,\"count\":7,\"comm\":\"ab\"}");
	igfs_enc__free(enc);
	enc = NULL;

	assert_int_equal(igfs_enc__new_kv(b, (__u32)key, (__u32)val2, NULL, &enc, &diag), -EINVAL);
	assert_null(enc);
	assert_string_equal(diag.msg, "field 'pid' is in both the key and the value");
	btf__free(b);
}

static void expect_plan_error(const struct btf *b, int id, int err, const char *msg)
{
	struct igfs_diag diag = {""};
	struct igfs_enc *enc = NULL;

	assert_int_equal(igfs_enc__new(b, (__u32)id, NULL, &enc, &diag), err);
	assert_null(enc);
	if (!strstr(diag.msg, msg))
		fail_msg("diag '%s' lacks '%s'", diag.msg, msg);
}

static void test_enc_errors(void **state)
{
	struct types t;
	struct btf *b = types_new(&t);
	char name[16];
	int loop, s, prev, i, self, inner;

	(void)state;
	/* A typedef that refers to itself. */
	loop = btf__add_typedef(b, "loop", (int)btf__type_cnt(b));
	assert_true(loop > 0);
	s = btf__add_struct(b, "l", 8);
	field(b, "ok", t.u32, 0);
	field(b, "x", loop, 32);
	expect_plan_error(b, s, -EINVAL, "field 'x': type loop");

	/* A struct that contains itself. */
	self = btf__add_struct(b, "self", 8);
	field(b, "me", self, 0);
	expect_plan_error(b, self, -E2BIG, "nested deeper than 16");

	/* 20 levels of nesting. */
	prev = btf__add_struct(b, "n0", 4);
	field(b, "v", t.u32, 0);
	for (i = 1; i < 20; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		s = btf__add_struct(b, name, 4);
		field(b, "c", prev, 0);
		prev = s;
	}
	expect_plan_error(b, prev, -E2BIG, "'c.c.c.c.c.c.c.c.c.c.c.c.c.c.c");

	/* Too many fields. */
	s = btf__add_struct(b, "wide", 1100);
	for (i = 0; i < 1100; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		field(b, name, t.u8, (unsigned int)i * 8);
	}
	expect_plan_error(b, s, -E2BIG, "field 'f1024': more than 1024");

	/* An array larger than the record. */
	int u32x1m = add_array(b, &t, t.u32, 1000000);
	s = btf__add_struct(b, "lie", 8);
	field(b, "a", u32x1m, 0);
	expect_plan_error(b, s, -EINVAL, "field 'a': lies outside the 8-byte record");
	s = btf__add_struct(b, "lie2", 8);
	field(b, "a", t.u64, 32);
	expect_plan_error(b, s, -EINVAL, "field 'a': lies outside");

	/* Too many elements to unroll. */
	inner = btf__add_struct(b, "pt", 1);
	field(b, "x", t.u8, 0);
	int ptx5000 = add_array(b, &t, inner, 5000);
	s = btf__add_struct(b, "many", 5000);
	field(b, "pts", ptx5000, 0);
	expect_plan_error(b, s, -E2BIG, "field 'pts': array of 5000 elements");

	/* Lines that could outgrow the cap. */
	int c300k = add_array(b, &t, t.chr, 300000);
	s = btf__add_struct(b, "huge", 300000);
	field(b, "s", c300k, 0);
	expect_plan_error(b, s, -E2BIG, "could encode to more than");
	s = btf__add_struct(b, "vast", 2u << 20);
	field(b, "a", t.u8, 0);
	expect_plan_error(b, s, -E2BIG, "too large");

	/* Not a struct, or a type with no JSON form. */
	expect_plan_error(b, t.u32, -EINVAL, "not a struct or union");
	expect_plan_error(b, 100000, -EINVAL, "bad BTF type id");
	int fproto = btf__add_func_proto(b, t.sint);
	s = btf__add_struct(b, "fn", 8);
	field(b, "f", fproto, 0);
	expect_plan_error(b, s, -EINVAL, "field 'f': BTF kind");
	int half = btf__add_float(b, "_Float16", 2);
	s = btf__add_struct(b, "hf", 2);
	field(b, "h", half, 0);
	expect_plan_error(b, s, -ENOTSUP, "field 'h': unsupported 2-byte float");
	btf__free(b);
}

/* ------------------------------------------------------------------ */
/* A realistic event: IG's trace_open                                   */

static int add_process(struct btf *b, struct types *t)
{
	int creds, parent, proc, comm16 = add_array(b, t, t->comm, 16);
	int pcomm = btf__add_typedef(b, "gadget_pcomm", t->chr);
	int ppid = btf__add_typedef(b, "gadget_ppid", t->u32);
	int tid = btf__add_typedef(b, "gadget_tid", t->u32);

	creds = btf__add_struct(b, "gadget_creds", 8);
	field(b, "uid", t->uid, 0);
	field(b, "gid", t->gid, 32);
	int pcomm16 = add_array(b, t, pcomm, 16);
	parent = btf__add_struct(b, "gadget_parent", 20);
	field(b, "comm", pcomm16, 0);
	field(b, "pid", ppid, 128);
	proc = btf__add_struct(b, "gadget_process", 64);
	field(b, "comm", comm16, 0);
	field(b, "pid", t->pid, 128);
	field(b, "tid", tid, 160);
	field(b, "mntns_id", t->mntns, 192);
	field(b, "creds", creds, 256);
	field(b, "parent", parent, 320);
	return proc;
}

static void test_enc_trace_open(void **state)
{
	struct types t;
	struct btf *b = types_new(&t);
	uint8_t rec[344] = {};
	struct igfs_names *names = NULL;
	struct igfs_enc_ctx ctx = {.boot_to_real_ns = 1764014462123456789ll - 1000000000ll};
	struct igfs_enc *enc;
	char *pw, *gr;
	int proc, ev;

	(void)state;
	proc = add_process(b, &t);
	int c255 = add_array(b, &t, t.chr, 255);
	ev = btf__add_struct(b, "event", 344);
	field(b, "timestamp_raw", t.ts, 0);
	field(b, "proc", proc, 64);
	field(b, "error_raw", t.err, 576);
	field(b, "fd", t.u32, 608);
	field(b, "flags_raw", t.flags, 640);
	field(b, "mode_raw", t.mode, 672);
	field(b, "fname", c255, 704);
	enc = plan(b, ev, NULL);

	pw = write_tmp("alice:x:1000:1000::/home/alice:/bin/sh\n");
	gr = write_tmp("staff:x:1000:\n");
	assert_int_equal(igfs_names__load(pw, gr, &names), 0);
	ctx.names = names;

	put64(rec, 0, 1000000000);
	memcpy(rec + 8, "cat", 3);
	put32(rec, 24, 1234);
	put32(rec, 28, 1235);
	put64(rec, 32, 4026531840ull);
	put32(rec, 40, 1000);
	put32(rec, 44, 1000);
	memcpy(rec + 48, "bash", 4);
	put32(rec, 64, 1000);
	put32(rec, 72, 2);
	put32(rec, 76, 0);
	put32(rec, 80, 02000000);
	put32(rec, 84, 0);
	memcpy(rec + 88, "/etc/shadow", 11);
	check(enc, &ctx, rec, sizeof(rec),
	      "{\"timestamp\":\"2025-11-24T20:01:02.123456789Z\",\"timestamp_raw\":"
	      "1764014462123456789,"
	      "\"proc\":{\"comm\":\"cat\",\"pid\":1234,\"tid\":1235,\"mntns_id\":4026531840,"
	      "\"creds\":{\"uid\":1000,\"user\":\"alice\",\"gid\":1000,\"group\":\"staff\"},"
	      "\"parent\":{\"comm\":\"bash\",\"pid\":1000}},\"error\":\"ENOENT\",\"error_raw\":2,"
	      "\"fd\":0,\"flags\":\"O_RDONLY|O_CLOEXEC\",\"flags_raw\":524288,"
	      "\"mode\":\"----------\",\"mode_raw\":0,\"fname\":\"/etc/shadow\"}");

	/* The same event without names and with a successful open. */
	put32(rec, 72, 0);
	put32(rec, 76, 3);
	put32(rec, 80, 0101);
	put32(rec, 84, 0644);
	ctx.names = NULL;
	check(enc, &ctx, rec, sizeof(rec),
	      "{\"timestamp\":\"2025-11-24T20:01:02.123456789Z\",\"timestamp_raw\":"
	      "1764014462123456789,"
	      "\"proc\":{\"comm\":\"cat\",\"pid\":1234,\"tid\":1235,\"mntns_id\":4026531840,"
	      "\"creds\":{\"uid\":1000,\"user\":\"uid:1000\",\"gid\":1000,\"group\":\"gid:1000\"},"
	      "\"parent\":{\"comm\":\"bash\",\"pid\":1000}},\"error\":\"\",\"error_raw\":0,"
	      "\"fd\":3,\"flags\":\"O_WRONLY|O_CREAT\",\"flags_raw\":65,"
	      "\"mode\":\"-rw-r--r--\",\"mode_raw\":420,\"fname\":\"/etc/shadow\"}");
	igfs_enc__free(enc);
	igfs_names__free(names);
	unlink(pw);
	unlink(gr);
	free(pw);
	free(gr);
	btf__free(b);
}

/* The container hook gets the record's mntns and first pid; its objects close the line. */
static int fake_container(void *ctx, __u64 mntns, __u32 pid, struct igfs_buf *out)
{
	int *calls = ctx;

	(*calls)++;
	if (mntns != 4026532000ull)
		return 0;
	assert_int_equal(pid, 77);
	return igfs_buf_puts(out, ",\"runtime\":{\"containerId\":\"c1\"}");
}

static void test_enc_container_hook(void **state)
{
	struct types t;
	struct btf *b = types_new(&t);
	uint8_t rec[72] = {};
	int calls = 0;
	struct igfs_enc_ctx ctx = {.container = fake_container, .container_ctx = &calls};
	struct igfs_enc *enc;
	int proc, ev;

	(void)state;
	proc = add_process(b, &t);
	ev = btf__add_struct(b, "event", 72);
	field(b, "x", t.u32, 0);
	field(b, "proc", proc, 64);
	enc = plan(b, ev, NULL);
	put32(rec, 0, 9);
	memcpy(rec + 8, "sh", 2);
	put32(rec, 24, 77);
	put64(rec, 32, 4026532000ull);
	/* The record ends inside proc: the objects go after its closing brace. */
	check(enc, &ctx, rec, sizeof(rec),
	      "{\"x\":9,\"proc\":{\"comm\":\"sh\",\"pid\":77,\"tid\":0,\"mntns_id\":4026532000,"
	      "\"creds\":{\"uid\":0,\"user\":\"uid:0\",\"gid\":0,\"group\":\"gid:0\"},"
	      "\"parent\":{\"comm\":\"\",\"pid\":0}},\"runtime\":{\"containerId\":\"c1\"}}");
	assert_int_equal(calls, 1);
	/* A namespace outside containers: the line as without the hook. */
	put64(rec, 32, 4026531840ull);
	check(enc, &ctx, rec, sizeof(rec),
	      "{\"x\":9,\"proc\":{\"comm\":\"sh\",\"pid\":77,\"tid\":0,\"mntns_id\":4026531840,"
	      "\"creds\":{\"uid\":0,\"user\":\"uid:0\",\"gid\":0,\"group\":\"gid:0\"},"
	      "\"parent\":{\"comm\":\"\",\"pid\":0}}}");
	assert_int_equal(calls, 2);
	igfs_enc__free(enc);
	btf__free(b);
}


static void test_enc_json_skip_nested(void **state)
{
	struct types t;
	struct btf *b = types_new(&t);
	uint8_t rec[80] = {};
	static struct igfs_kv skip[] = {{"json.skip", "true"}};
	static struct igfs_kv desc[] = {{"description", "Name of the user"},
					{"columns.width", "16"}};
	static struct igfs_meta_field mfields[] = {
		{"proc.creds.gid", {skip, 1}},
		{"proc.parent", {skip, 1}},
		{"timestamp", {skip, 1}},
		{"proc.creds.user", {desc, 2}},
	};
	struct igfs_meta_ds meta = {.name = "open", .fields = mfields, .n_fields = 4};
	struct igfs_enc *enc;
	json_t *fields, *f;
	int proc, ev;

	(void)state;
	proc = add_process(b, &t);
	ev = btf__add_struct(b, "event", 72);
	field(b, "timestamp_raw", t.ts, 0);
	field(b, "proc", proc, 64);
	enc = plan(b, ev, &meta);
	put64(rec, 0, 5);
	memcpy(rec + 8, "sh", 2);
	put32(rec, 40, 1);
	put32(rec, 44, 2);
	check(enc, NULL, rec, sizeof(rec),
	      "{\"timestamp_raw\":5,\"proc\":{\"comm\":\"sh\",\"pid\":0,\"tid\":0,\"mntns_id\":0,"
	      "\"creds\":{\"uid\":1,\"user\":\"uid:1\",\"group\":\"gid:2\"}}}");

	fields = igfs_enc__fields_json(enc);
	assert_non_null(fields);
	/* 10 of the struct, then the 8 container fields a gadget_mntns_id brings. */
	assert_int_equal(json_array_size(fields), 18);
	f = json_array_get(fields, 10);
	assert_string_equal(json_string_value(json_object_get(f, "name")), "runtime.containerId");
	f = json_array_get(fields, 17);
	assert_string_equal(json_string_value(json_object_get(f, "name")), "k8s.podUID");
	f = json_array_get(fields, 0);
	assert_string_equal(json_string_value(json_object_get(f, "name")), "timestamp_raw");
	assert_string_equal(json_string_value(json_object_get(f, "type")), "number");
	assert_string_equal(json_string_value(json_object_get(f, "ctype")), "gadget_timestamp");
	f = json_array_get(fields, 1);
	assert_string_equal(json_string_value(json_object_get(f, "name")), "proc");
	assert_string_equal(json_string_value(json_object_get(f, "type")), "object");
	assert_string_equal(json_string_value(json_object_get(f, "ctype")),
			    "struct gadget_process");
	f = json_array_get(fields, 2);
	assert_string_equal(json_string_value(json_object_get(f, "name")), "proc.comm");
	assert_string_equal(json_string_value(json_object_get(f, "type")), "string");
	assert_string_equal(json_string_value(json_object_get(f, "ctype")), "gadget_comm[16]");
	f = json_array_get(fields, 8);
	assert_string_equal(json_string_value(json_object_get(f, "name")), "proc.creds.user");
	assert_string_equal(json_string_value(json_object_get(f, "type")), "string");
	assert_string_equal(json_string_value(json_object_get(f, "description")),
			    "Name of the user");
	assert_string_equal(json_string_value(json_object_get(json_object_get(f, "annotations"),
							      "columns.width")),
			    "16");
	assert_string_equal(json_string_value(json_object_get(json_array_get(fields, 7), "name")),
			    "proc.creds.uid");
	json_decref(fields);
	igfs_enc__free(enc);
	btf__free(b);
}

/* ------------------------------------------------------------------ */
/* Sorting                                                              */

static void test_enc_sort(void **state)
{
	struct types t;
	struct btf *b = types_new(&t);
	uint8_t r1[32] = {}, r2[32] = {};
	struct igfs_diag diag = {""};
	struct igfs_enc_sort *sort = NULL;
	struct igfs_enc *enc;
	int in, s;

	(void)state;
	in = btf__add_struct(b, "in", 8);
	field(b, "n", t.u64, 0);
	int c8 = add_array(b, &t, t.chr, 8);
	s = btf__add_struct(b, "r", 32);
	field(b, "pid", t.u32, 0);
	field(b, "delta", t.s32, 32);
	field(b, "comm", c8, 64);
	field(b, "in", in, 128);
	field(b, "timestamp_raw", t.ts, 192);
	enc = plan(b, s, NULL);

	put32(r1, 0, 1);
	put32(r2, 0, 2);
	put32(r1, 4, (uint32_t)-5);
	put32(r2, 4, 3);
	memcpy(r1 + 8, "bb", 2);
	memcpy(r2 + 8, "b", 1);
	put64(r1, 16, 10);
	put64(r2, 16, UINT64_MAX);
	put64(r1, 24, 200);
	put64(r2, 24, 100);

#define SORT(spec, expect)                                                                         \
	do {                                                                                       \
		assert_int_equal(igfs_enc__sort_new(enc, spec, &sort, &diag), 0);                  \
		assert_int_equal(igfs_enc__sort_cmp(sort, r1, r2), expect);                        \
		assert_int_equal(igfs_enc__sort_cmp(sort, r2, r1), -(expect));                     \
		assert_int_equal(igfs_enc__sort_cmp(sort, r1, r1), 0);                             \
		igfs_enc__sort_free(sort);                                                         \
		sort = NULL;                                                                       \
	} while (0)

	SORT("pid", -1);
	SORT("-pid", 1);
	SORT("delta", -1);
	SORT("-delta", 1);
	SORT("comm", 1);
	SORT("in.n", -1);
	SORT("-in.n", 1);
	SORT("timestamp", 1);
	SORT("timestamp_raw", 1);
	SORT(" -pid , comm", 1);
	SORT("", 0);
	put32(r2, 0, 1);
	SORT("pid,-comm", -1);
	SORT("pid,in.n", -1);
#undef SORT

	assert_int_equal(igfs_enc__sort_new(enc, "pid,nope", &sort, &diag), -EINVAL);
	assert_null(sort);
	assert_string_equal(diag.msg, "unknown sort field 'nope'");
	assert_int_equal(igfs_enc__sort_new(enc, "in", &sort, &diag), -EINVAL);
	assert_string_equal(diag.msg, "unknown sort field 'in'");
	assert_int_equal(igfs_enc__sort_new(enc, "pid,", &sort, &diag), -EINVAL);
	assert_int_equal(igfs_enc__sort_new(enc, "-", &sort, &diag), -EINVAL);
	igfs_enc__free(enc);
	btf__free(b);
}

/* Found by fuzz_enc (regressions/enc/sort-nan): NaNs sort in IEEE total order, as their keys do. */
static void test_enc_sort_float_total_order(void **state)
{
	static const uint64_t bits[] = {
		0xfff8000000000000ull, /* -NaN */
		0xfff0000000000000ull, /* -inf */
		0xbff0000000000000ull, /* -1 */
		0x8000000000000000ull, /* -0 */
		0x0000000000000000ull, /* +0 */
		0x3ff0000000000000ull, /* 1 */
		0x7ff0000000000000ull, /* inf */
		0x7ff8000000000000ull, /* NaN */
	};
	struct types t;
	struct btf *b = types_new(&t);
	struct igfs_diag diag = {""};
	struct igfs_enc_sort *sort = NULL;
	uint8_t r[IGFS_ARRAY_SIZE(bits)][16] = {}, ka[16], kb[16];
	struct igfs_enc *enc;
	const char *spec;
	size_t i, j;
	int s, dbl, flt;

	(void)state;
	dbl = btf__add_float(b, "double", 8);
	flt = btf__add_float(b, "float", 4);
	s = btf__add_struct(b, "r", 16);
	field(b, "d", dbl, 0);
	field(b, "f", flt, 64);
	enc = plan(b, s, NULL);
	for (i = 0; i < IGFS_ARRAY_SIZE(bits); i++) {
		double d;
		float f;

		put64(r[i], 0, bits[i]);
		memcpy(&d, r[i], sizeof(d));
		f = (float)d;
		memcpy(r[i] + 8, &f, sizeof(f));
	}
	for (spec = "d"; spec; spec = *spec == 'd' ? "f" : NULL) {
		assert_int_equal(igfs_enc__sort_new(enc, spec, &sort, &diag), 0);
		assert_int_equal(igfs_enc__sort_key_size(sort), 8);
		for (i = 0; i < IGFS_ARRAY_SIZE(bits); i++) {
			for (j = 0; j < IGFS_ARRAY_SIZE(bits); j++) {
				int want = i < j ? -1 : i > j;
				int c;

				igfs_enc__sort_key(sort, r[i], ka);
				igfs_enc__sort_key(sort, r[j], kb);
				c = memcmp(ka, kb, 8);
				assert_int_equal(igfs_enc__sort_cmp(sort, r[i], r[j]), want);
				assert_int_equal(c < 0 ? -1 : c > 0, want);
			}
		}
		igfs_enc__sort_free(sort);
		sort = NULL;
	}
	igfs_enc__free(enc);
	btf__free(b);
}

/* Found by fuzz_enc (regressions/enc/time-int64-min): the earliest time an int64 holds. */
static void test_enc_timestamp_int64_min(void **state)
{
	struct types t;
	struct btf *b = types_new(&t);
	uint8_t rec[8] = {};
	struct igfs_enc_ctx ctx = {.boot_to_real_ns = 1000};
	struct igfs_enc *enc;
	int s;

	(void)state;
	s = btf__add_struct(b, "e", 8);
	field(b, "timestamp_raw", t.ts, 0);
	enc = plan(b, s, NULL);
	put64(rec, 0, 0x8000000000000000ull - 1000);
	check(enc, &ctx, rec, sizeof(rec),
	      "{\"timestamp\":\"1677-09-21T00:12:43.145224192Z\","
	      "\"timestamp_raw\":9223372036854775808}");
	igfs_enc__free(enc);
	btf__free(b);
}

/* Found by fuzz_enc (regressions/enc/empty-enum): an enum without enumerators gives numbers. */
static void test_enc_enum_without_enumerators(void **state)
{
	struct types t;
	struct btf *b = types_new(&t);
	struct igfs_enc *enc;
	int e, s;

	(void)state;
	e = btf__add_enum(b, "nothing", 4);
	s = btf__add_struct(b, "r", 4);
	field(b, "x", e, 0);
	enc = plan(b, s, NULL);
	check_one(enc, NULL, 5, 4, "{\"x\":5}");
	igfs_enc__free(enc);
	btf__free(b);
}

/* Found by fuzz_enc (regressions/enc/bitfield-array): only integers can be bitfields. */
static void test_enc_bitfield_not_integer_refused(void **state)
{
	struct types t;
	struct btf *b = types_new(&t);
	struct igfs_enc_opts opts = {};
	struct igfs_diag diag = {""};
	struct igfs_enc *enc = NULL;
	int arr, s;

	(void)state;
	arr = add_array(b, &t, t.u8, 4);
	s = btf__add_struct(b, "r", 4);
	bitfield(b, "a", arr, 0, 3);
	assert_int_equal(igfs_enc__new(b, (__u32)s, &opts, &enc, &diag), -EINVAL);
	assert_null(enc);
	assert_string_equal(diag.msg, "field 'a': a bitfield that is not an integer");
	btf__free(b);
}

/* ------------------------------------------------------------------ */
/* Random records through a plan with every kind of op                  */

static bool valid_utf8(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint32_t cp;
		size_t len, k;

		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			len = 2;
			cp = s[i] & 0x1f;
		} else if ((s[i] & 0xf0) == 0xe0) {
			len = 3;
			cp = s[i] & 0x0f;
		} else if ((s[i] & 0xf8) == 0xf0) {
			len = 4;
			cp = s[i] & 0x07;
		} else {
			return false;
		}
		if (i + len > n)
			return false;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

static void test_enc_random(void **state)
{
	struct types t;
	struct btf *b = types_new(&t);
	struct igfs_enc_ctx ctx = {.boot_to_real_ns = 1700000000000000000ll,
				   .tz_offset_s = -12600,
				   .kstack = kstack_cb,
				   .ustack = ustack_cb};
	uint8_t rec[512];
	struct igfs_buf out = {};
	struct igfs_enc *enc;
	int l3, l4, proc, color, perm, us, s, flt, dbl;
	size_t size, i, j;
	unsigned int seed = 12345;

	(void)state;
	add_endpoints(b, &t, &l3, &l4);
	proc = add_process(b, &t);
	color = btf__add_enum(b, "color", 4);
	btf__add_enum_value(b, "RED", 0);
	btf__add_enum_value(b, "GREEN", 1);
	perm = btf__add_enum(b, "perm_set", 2);
	btf__add_enum_value(b, "R", 1);
	btf__add_enum_value(b, "W", 2);
	us = btf__add_struct(b, "gadget_user_stack", 16);
	field(b, "exe_inode", t.u64, 0);
	field(b, "stack_id", t.u32, 64);
	flt = btf__add_float(b, "float", 4);
	dbl = btf__add_float(b, "double", 8);
	int c64 = add_array(b, &t, t.chr, 64);
	int s16x8 = add_array(b, &t, t.s16, 8);
	int i128 = btf__add_int(b, "__int128", 16, BTF_INT_SIGNED);
	int vptr = btf__add_ptr(b, 0);
	int c88 = add_array(b, &t, t.chr, 400 - 312);
	s = btf__add_struct(b, "all", 400);
	field(b, "timestamp_raw", t.ts, 0);
	field(b, "proc", proc, 64);
	field(b, "error_raw", t.err, 576);
	field(b, "sig_raw", t.sig, 608);
	field(b, "syscall_raw", t.sc, 640);
	field(b, "flags_raw", t.flags, 704);
	field(b, "mode_raw", t.mode, 736);
	field(b, "bytes_raw", t.bytes, 768);
	field(b, "dur_raw", t.dur, 832);
	field(b, "src", l3, 896);
	field(b, "dst", l4, 1056);
	field(b, "c", color, 1248);
	field(b, "p", perm, 1280);
	field(b, "c_raw", color, 1312);
	bitfield(b, "bits", t.sint, 1344, 13);
	bitfield(b, "flag", t.boolt, 1357, 1);
	field(b, "kstack_raw", t.kstack, 1376);
	field(b, "ustack", us, 1408);
	field(b, "f", flt, 1536);
	field(b, "d", dbl, 1600);
	field(b, "text", c64, 1664);
	field(b, "arr", s16x8, 2176);
	field(b, "i128", i128, 2304);
	field(b, "ptr", vptr, 2432);
	field(b, "tail", c88, 2496);
	enc = plan(b, s, NULL);
	size = igfs_enc__size(enc);
	assert_int_equal(size, 400);

	for (i = 0; i < 3000; i++) {
		size_t len = (size_t)rand_r(&seed) % (size + 16), start = out.len;

		for (j = 0; j < len; j++) {
			/* Mostly ASCII text with bursts of high and control bytes. */
			int r = rand_r(&seed);

			rec[j] = (uint8_t)(r % 7 == 0	? r >> 8
					   : r % 5 == 0 ? (r >> 8) % 32
							: 32 + (r >> 8) % 95);
		}
		if (i % 3 == 0) {
			/* sometimes plausible IP versions */
			rec[128] = 4;
			rec[152] = 6;
		}
		assert_int_equal(igfs_enc__line(enc, i % 2 ? &ctx : NULL, rec, len, &out), 0);
		assert_valid_line(out.data + start, out.len - start);
		assert_true(valid_utf8((const uint8_t *)out.data + start, out.len - start));
		for (j = start; j < out.len; j++)
			assert_true((uint8_t)out.data[j] >= 0x20 || out.data[j] == '\n');
		if (out.len > (1u << 20))
			out.len = 0;
	}
	igfs_buf_free(&out);
	igfs_enc__free(enc);
	btf__free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enc_ints),
		cmocka_unit_test(test_enc_int128_ptr_float),
		cmocka_unit_test(test_enc_bitfields),
		cmocka_unit_test(test_enc_bool),
		cmocka_unit_test(test_enc_strings),
		cmocka_unit_test(test_enc_utf8),
		cmocka_unit_test(test_enc_escapes),
		cmocka_unit_test(test_enc_nested),
		cmocka_unit_test(test_enc_union_anon_skip),
		cmocka_unit_test(test_enc_enums),
		cmocka_unit_test(test_enc_enum_annotations),
		cmocka_unit_test(test_enc_timestamp),
		cmocka_unit_test(test_enc_errno_signal_syscall),
		cmocka_unit_test(test_enc_flags_mode),
		cmocka_unit_test(test_enc_bytes_duration),
		cmocka_unit_test(test_enc_endpoints),
		cmocka_unit_test(test_enc_uid_gid),
		cmocka_unit_test(test_enc_names_long_lines),
		cmocka_unit_test(test_enc_stacks),
		cmocka_unit_test(test_enc_short_long_record),
		cmocka_unit_test(test_enc_kv),
		cmocka_unit_test(test_enc_errors),
		cmocka_unit_test(test_enc_trace_open),
		cmocka_unit_test(test_enc_json_skip_nested),
		cmocka_unit_test(test_enc_container_hook),
		cmocka_unit_test(test_enc_sort),
		cmocka_unit_test(test_enc_sort_float_total_order),
		cmocka_unit_test(test_enc_timestamp_int64_min),
		cmocka_unit_test(test_enc_enum_without_enumerators),
		cmocka_unit_test(test_enc_bitfield_not_integer_refused),
		cmocka_unit_test(test_enc_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
