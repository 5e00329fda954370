// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzz target: the input is a ctl write (igfs_ctl__parse) and a params/ file
 * write (igfs_param__parse for every param type and size). Invariants: a
 * parsed command written back with quoted values parses to the same command;
 * a parsed value formats to text that parses to the same bytes and formats
 * the same again. Nothing may leak, crash or abort.
 */
#include <errno.h>

#include "ctl.h"
#include "ds.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/* The largest param: a char[256] string. */
#define FUZZ_PARAM_MAX 256

static const char *const fuzz_possible[] = {"1", "010", "0x10", "true", "abc", ""};

/* Ranges as ds.c computes them for a variable of @size bytes. */
static void param_init(struct igfs_param *p, enum igfs_param_type type, size_t size)
{
	memset(p, 0, sizeof(*p));
	p->cname = "fuzz_param";
	p->key = "fuzz";
	p->type = type;
	p->size = size;
	if (type == IGFS_PARAM_INT) {
		p->min = size == 8 ? INT64_MIN : -(INT64_C(1) << (8 * size - 1));
		p->max = size == 8 ? (uint64_t)INT64_MAX : (UINT64_C(1) << (8 * size - 1)) - 1;
	} else if (type == IGFS_PARAM_UINT) {
		p->max = size == 8 ? UINT64_MAX : (UINT64_C(1) << (8 * size)) - 1;
	}
}

/* text -> bytes -> text' -> bytes' -> text'': bytes == bytes', text' == text''. */
static void param_round_trip(const struct igfs_param *p, const char *text)
{
	uint8_t b1[FUZZ_PARAM_MAX], b2[FUZZ_PARAM_MAX];
	struct igfs_buf t1 = {}, t2 = {};
	struct igfs_diag diag = {};
	int err;

	memset(b1, 0xa5, sizeof(b1));
	err = igfs_param__parse(p, text, b1, &diag);
	if (err) {
		FUZZ_CHECK(err == -EINVAL);
		return;
	}
	/* The value never spills past the variable. */
	FUZZ_CHECK(p->size == sizeof(b1) || b1[p->size] == 0xa5);
	FUZZ_CHECK(!igfs_param__format(p, b1, &t1));
	FUZZ_CHECK(!igfs_buf_reserve(&t1, 1));
	t1.data[t1.len] = '\0';
	FUZZ_CHECK(strlen(t1.data) == t1.len);
	if (!p->n_possible_values) {
		memset(b2, 0x5a, sizeof(b2));
		err = igfs_param__parse(p, t1.data, b2, &diag);
		if (err)
			fprintf(stderr, "'%s' -> '%s': %s\n", text, t1.data, diag.msg);
		FUZZ_CHECK(!err);
		FUZZ_CHECK(!memcmp(b1, b2, p->size));
		FUZZ_CHECK(!igfs_param__format(p, b2, &t2));
		FUZZ_CHECK(t2.len == t1.len && !memcmp(t1.data, t2.data, t1.len));
	}
	igfs_buf_free(&t1);
	igfs_buf_free(&t2);
}

static void params(const char *text)
{
	static const struct {
		enum igfs_param_type type;
		size_t size;
	} kinds[] = {
		{IGFS_PARAM_INT, 1},	 {IGFS_PARAM_INT, 2},	   {IGFS_PARAM_INT, 4},
		{IGFS_PARAM_INT, 8},	 {IGFS_PARAM_UINT, 1},	   {IGFS_PARAM_UINT, 2},
		{IGFS_PARAM_UINT, 4},	 {IGFS_PARAM_UINT, 8},	   {IGFS_PARAM_BOOL, 1},
		{IGFS_PARAM_STRING, 1},	 {IGFS_PARAM_STRING, 16},  {IGFS_PARAM_STRING, 256},
		{IGFS_PARAM_IP, 16},	 {IGFS_PARAM_IP, 17},	   {IGFS_PARAM_IP, 20},
	};
	struct igfs_param p;
	size_t i;

	for (i = 0; i < IGFS_ARRAY_SIZE(kinds); i++) {
		param_init(&p, kinds[i].type, kinds[i].size);
		param_round_trip(&p, text);
		/* metadata possibleValues: checked on the text as written */
		p.possible_values = (char **)fuzz_possible;
		p.n_possible_values = IGFS_ARRAY_SIZE(fuzz_possible);
		param_round_trip(&p, text);
	}
}

/* Write @ctl back as a command with every value "quoted", as a tool would. */
static int ctl_unparse(const struct igfs_ctl *ctl, struct igfs_buf *out)
{
	static const char *const words[] = {
		[IGFS_CTL_START] = "start", [IGFS_CTL_STOP] = "stop",
		[IGFS_CTL_RESTART] = "restart", [IGFS_CTL_SET] = "set",
		[IGFS_CTL_CLEAR] = "clear",
	};
	size_t i;
	const char *v;

	FUZZ_CHECK((size_t)ctl->cmd < IGFS_ARRAY_SIZE(words));
	if (igfs_buf_puts(out, words[ctl->cmd]))
		return -ENOMEM;
	for (i = 0; i < ctl->args.n; i++) {
		if (igfs_buf_printf(out, " %s=\"", ctl->args.v[i].key))
			return -ENOMEM;
		for (v = ctl->args.v[i].value; *v; v++) {
			if ((*v == '"' || *v == '\\') && igfs_buf_append(out, "\\", 1))
				return -ENOMEM;
			if (igfs_buf_append(out, v, 1))
				return -ENOMEM;
		}
		if (igfs_buf_append(out, "\"", 1))
			return -ENOMEM;
	}
	return igfs_buf_append(out, "\n", 1);
}

static void ctl(const uint8_t *data, size_t size)
{
	struct igfs_ctl c = {}, c2 = {};
	struct igfs_diag diag = {};
	struct igfs_buf b = {};
	size_t i;
	int err;

	err = igfs_ctl__parse((const char *)data, size, &c, &diag);
	if (err) {
		FUZZ_CHECK(err == -EINVAL || err == -E2BIG);
		FUZZ_CHECK(diag.msg[0]);
		FUZZ_CHECK(!c.args.v && !c.args.n);
		return;
	}
	for (i = 0; i < c.args.n; i++) {
		FUZZ_CHECK(c.args.v[i].key && *c.args.v[i].key && c.args.v[i].value);
		/* What the gadget does with each value: parse it as a param. */
		params(c.args.v[i].value);
	}
	FUZZ_CHECK(!ctl_unparse(&c, &b));
	/* Quoting adds bytes: a long command may no longer fit in one write. */
	if (b.len <= IGFS_MAX_CTL_WRITE) {
		err = igfs_ctl__parse(b.data, b.len, &c2, &diag);
		if (err)
			fprintf(stderr, "'%.*s': %s\n", (int)b.len, b.data, diag.msg);
		FUZZ_CHECK(!err);
		FUZZ_CHECK(c2.cmd == c.cmd && c2.args.n == c.args.n);
		for (i = 0; i < c.args.n; i++) {
			FUZZ_CHECK(!strcmp(c.args.v[i].key, c2.args.v[i].key));
			FUZZ_CHECK(!strcmp(c.args.v[i].value, c2.args.v[i].value));
		}
		igfs_ctl__free(&c2);
	}
	igfs_buf_free(&b);
	igfs_ctl__free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	ctl(data, size);
	/* A params/ file write is a string: it ends at a NUL. */
	if (size > IGFS_MAX_STR + 2)
		return 0;
	text = fuzz_strndup(data, size);
	if (!text)
		return 0;
	params(text);
	free(text);
	return 0;
}
