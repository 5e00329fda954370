// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ctl command parser. Strict: unknown commands, stray arguments, control
 * characters and unterminated quotes are refused with a reason.
 */
#include <errno.h>
#include <string.h>

#include "ctl.h"

static const struct {
	const char *word;
	enum igfs_ctl_cmd cmd;
	bool args;
} ctl_words[] = {
	{ "start", IGFS_CTL_START, true },   { "stop", IGFS_CTL_STOP, false },
	{ "restart", IGFS_CTL_RESTART, true }, { "set", IGFS_CTL_SET, true },
	{ "clear", IGFS_CTL_CLEAR, false },
};

void igfs_ctl__free(struct igfs_ctl *ctl)
{
	size_t i;

	for (i = 0; i < ctl->args.n; i++) {
		free(ctl->args.v[i].key);
		free(ctl->args.v[i].value);
	}
	zfree(&ctl->args.v);
	ctl->args.n = 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

static bool key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

/* Read one value at *p (quoted or bare) into @out. */
static int ctl_value(const char **p, const char *end, struct igfs_buf *out,
		     struct igfs_diag *diag)
{
	const char *s = *p;
	char q;

	while (s < end && !is_space(*s)) {
		if (*s != '"' && *s != '\'') {
			if (igfs_buf_append(out, s, 1))
				return -ENOMEM;
			s++;
			continue;
		}
		q = *s++;
		while (s < end && *s != q) {
			if (q == '"' && *s == '\\' && s + 1 < end && (s[1] == '"' || s[1] == '\\'))
				s++;
			if (igfs_buf_append(out, s, 1))
				return -ENOMEM;
			s++;
		}
		if (s >= end) {
			igfs_diag_set(diag, "unterminated %c quote", q);
			return -EINVAL;
		}
		s++;
	}
	if (igfs_buf_reserve(out, 0))
		return -ENOMEM;
	*p = s;
	return 0;
}

int igfs_ctl__parse(const char *buf, size_t len, struct igfs_ctl *ret, struct igfs_diag *diag)
{
	const char *p = buf, *end = buf + len, *w;
	struct igfs_ctl ctl = {};
	size_t i, wl;
	int err = 0;

	if (len > IGFS_MAX_CTL_WRITE) {
		igfs_diag_set(diag, "command longer than %d bytes", IGFS_MAX_CTL_WRITE);
		return -E2BIG;
	}
	if (len && end[-1] == '\n')
		end--;
	for (w = buf; w < end; w++) {
		if ((unsigned char)*w < 0x20 && *w != '\t') {
			igfs_diag_set(diag, "one command per write, without control characters");
			return -EINVAL;
		}
	}
	while (p < end && is_space(*p))
		p++;
	w = p;
	while (p < end && !is_space(*p))
		p++;
	wl = (size_t)(p - w);
	if (!wl) {
		igfs_diag_set(diag, "empty command (expected start, stop, restart, set or clear)");
		return -EINVAL;
	}
	for (i = 0; i < IGFS_ARRAY_SIZE(ctl_words); i++)
		if (strlen(ctl_words[i].word) == wl && !strncmp(w, ctl_words[i].word, wl))
			break;
	if (i == IGFS_ARRAY_SIZE(ctl_words)) {
		igfs_diag_set(diag, "unknown command '%.*s' (expected start, stop, restart, set or clear)",
			      (int)IGFS_MIN(wl, (size_t)64), w);
		return -EINVAL;
	}
	ctl.cmd = ctl_words[i].cmd;
	for (;;) {
		struct igfs_buf val = {};
		struct igfs_kv *kv;
		const char *k;
		size_t kl;

		while (p < end && is_space(*p))
			p++;
		if (p >= end)
			break;
		if (!ctl_words[i].args) {
			igfs_diag_set(diag, "'%s' takes no arguments", ctl_words[i].word);
			err = -EINVAL;
			goto err_out;
		}
		k = p;
		while (p < end && key_char(*p))
			p++;
		kl = (size_t)(p - k);
		if (!kl || p >= end || *p != '=') {
			igfs_diag_set(diag, "expected key=value, got '%.*s'",
				      (int)IGFS_MIN((size_t)(end - k), (size_t)64), k);
			err = -EINVAL;
			goto err_out;
		}
		p++;
		err = ctl_value(&p, end, &val, diag);
		if (err) {
			igfs_buf_free(&val);
			goto err_out;
		}
		kv = igfs_reallocarray(ctl.args.v, ctl.args.n + 1, sizeof(*kv));
		if (!kv) {
			igfs_buf_free(&val);
			err = -ENOMEM;
			goto err_out;
		}
		ctl.args.v = kv;
		kv[ctl.args.n].key = strndup(k, kl);
		kv[ctl.args.n].value = igfs_buf_steal(&val);
		ctl.args.n++;
		if (!kv[ctl.args.n - 1].key || !kv[ctl.args.n - 1].value) {
			err = -ENOMEM;
			goto err_out;
		}
	}
	if (ctl.cmd == IGFS_CTL_SET && !ctl.args.n) {
		igfs_diag_set(diag, "'set' needs at least one key=value");
		err = -EINVAL;
		goto err_out;
	}
	*ret = ctl;
	return 0;
err_out:
	if (err == -ENOMEM)
		igfs_diag_set(diag, "out of memory");
	igfs_ctl__free(&ctl);
	return err;
}
