// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for loader/meta.c: realistic gadget.yaml documents, IG's key
 * spelling leniency, and every malformed-input class with its errno and diag.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "meta.h"

/* Shaped like IG's trace_open (v0.3x+), written for this test. */
static const char trace_open_yaml[] =
	"name: trace open\n"
	"description: trace open files\n"
	"homepageURL: https://inspektor-gadget.io/\n"
	"documentationURL: https://inspektor-gadget.io/docs/latest/gadgets/trace_open\n"
	"sourceURL: https://github.com/inspektor-gadget/inspektor-gadget/tree/main/gadgets/"
	"trace_open\n"
	"datasources:\n"
	"  open:\n"
	"    annotations:\n"
	"      cli.clear-screen-before: \"false\"\n"
	"      ebpf.rest.name: open-events\n"
	"    fields:\n"
	"      timestamp_raw:\n"
	"        annotations:\n"
	"          columns.hidden: true\n"
	"      timestamp:\n"
	"        annotations:\n"
	"          template: timestamp\n"
	"      proc.comm:\n"
	"        annotations:\n"
	"          description: Process name\n"
	"          template: comm\n"
	"      proc.creds.uid:\n"
	"        annotations:\n"
	"          description: User ID\n"
	"          template: uid\n"
	"          columns.hidden: true\n"
	"      error_raw:\n"
	"        annotations:\n"
	"          columns.hidden: true\n"
	"      error:\n"
	"        annotations:\n"
	"          description: Error code, if any\n"
	"          columns.width: 10\n"
	"          columns.alignment: right\n"
	"      fd:\n"
	"        annotations:\n"
	"          description: File descriptor number\n"
	"          columns.minwidth: 2\n"
	"          columns.maxwidth: 3\n"
	"      flags_raw:\n"
	"        annotations:\n"
	"          json.skip: \"true\"\n"
	"      mode:\n"
	"        annotations:\n"
	"          description: 'File mode, like -rw-r--r--'\n"
	"          columns.width: 10\n"
	"          columns.ellipsis: end\n"
	"      fname:\n"
	"        annotations:\n"
	"          description: >-\n"
	"            Path of the file\n"
	"            as passed to open\n"
	"          columns.width: 32\n"
	"          columns.minwidth: 24\n"
	"      # the user stack is optional\n"
	"      ustack:\n"
	"params:\n"
	"  ebpf:\n"
	"    targ_failed:\n"
	"      key: failed\n"
	"      defaultValue: \"false\"\n"
	"      description: Show only failed events\n"
	"  wasm:\n"
	"    ignored:\n"
	"      key: whatever\n";

/* Shaped like IG's profile_cpu, with settings, defaults and a program override. */
static const char profile_cpu_yaml[] = "name: profile cpu\n"
				       "description: Take samples of stack traces\n"
				       "annotations:\n"
				       "  io.example/owner: igfs\n"
				       "programs:\n"
				       "  ig_prof_cpu:\n"
				       "    perf:\n"
				       "      type: software\n"
				       "      config: count_sw_cpu_clock\n"
				       "      frequency: 49\n"
				       "    sampler:\n"
				       "      frequency: 99\n"
				       "  ig_unused:\n"
				       "    attach_to: gadget_program_disabled\n"
				       "  ig_events:\n"
				       "    Attach_To: sched_switch\n"
				       "    perf: {events: [cycles, instructions]}\n"
				       "paramDefaults:\n"
				       "  operator.ebpf.map-fetch-interval: 0\n"
				       "  operator.ebpf.map-fetch-count: \"0\"\n"
				       "datasources:\n"
				       "  samples:\n"
				       "    annotations:\n"
				       "      ebpf.map.flush-on-stop: true\n"
				       "      views.defaults.mode: flamegraph\n"
				       "    fields:\n"
				       "      kern_stack:\n"
				       "        annotations:\n"
				       "          flamegraph.level: 30\n"
				       "params:\n"
				       "  ebpf:\n"
				       "    kernel_stacks_only:\n"
				       "      key: kernel-stacks-only\n"
				       "      defaultValue: false\n"
				       "      description: Only include the kernel stack\n";

struct parsed {
	int err;
	struct igfs_meta *meta;
	struct igfs_diag diag;
};

static struct parsed parse_n(const char *yaml, size_t len)
{
	struct parsed p = {0};

	p.err = igfs_meta__parse(yaml, len, &p.meta, &p.diag);
	if (p.err)
		assert_null(p.meta); /* ret_* written only on success */
	else
		assert_non_null(p.meta);
	return p;
}

static struct parsed parse(const char *yaml)
{
	return parse_n(yaml, strlen(yaml));
}

/* Parse @yaml, expect failure @err with exactly @msg. */
static void expect_fail(const char *yaml, int err, const char *msg)
{
	struct parsed p = parse(yaml);

	if (p.err != err || strcmp(p.diag.msg, msg))
		print_error("yaml:\n%s\n-> %d '%s'\n", yaml, p.err, p.diag.msg);
	assert_int_equal(p.err, err);
	assert_string_equal(p.diag.msg, msg);
}

static const char *field_ann(const struct igfs_meta_ds *ds, const char *field, const char *key)
{
	const struct igfs_meta_field *f = igfs_meta__field(ds, field);

	assert_non_null(f);
	return igfs_kvlist_get(&f->annotations, key);
}

static void test_meta_trace_open(void **state)
{
	const struct igfs_meta_param *prm;
	const struct igfs_meta_ds *ds;
	struct parsed p = parse(trace_open_yaml);

	(void)state;
	assert_int_equal(p.err, 0);
	assert_string_equal(p.meta->name, "trace open");
	assert_string_equal(p.meta->description, "trace open files");
	assert_string_equal(p.meta->homepage_url, "https://inspektor-gadget.io/");
	assert_string_equal(p.meta->documentation_url,
			    "https://inspektor-gadget.io/docs/latest/gadgets/trace_open");
	assert_string_equal(p.meta->source_url, "https://github.com/inspektor-gadget/"
						"inspektor-gadget/tree/main/gadgets/trace_open");
	assert_int_equal(p.meta->annotations.n, 0);

	assert_int_equal(p.meta->n_ds, 1);
	ds = igfs_meta__ds(p.meta, "open");
	assert_non_null(ds);
	assert_ptr_equal(ds, &p.meta->ds[0]);
	assert_null(igfs_meta__ds(p.meta, "Open")); /* names are exact */
	assert_int_equal(ds->annotations.n, 2);
	assert_string_equal(igfs_kvlist_get(&ds->annotations, "cli.clear-screen-before"), "false");
	assert_string_equal(igfs_kvlist_get(&ds->annotations, "ebpf.rest.name"), "open-events");

	assert_int_equal(ds->n_fields, 11);
	/* document order is kept */
	assert_string_equal(ds->fields[0].name, "timestamp_raw");
	assert_string_equal(ds->fields[2].name, "proc.comm");
	assert_string_equal(ds->fields[10].name, "ustack");
	assert_string_equal(field_ann(ds, "timestamp_raw", "columns.hidden"), "true");
	assert_string_equal(field_ann(ds, "timestamp", "template"), "timestamp");
	assert_string_equal(field_ann(ds, "proc.comm", "description"), "Process name");
	assert_string_equal(field_ann(ds, "proc.comm", "template"), "comm");
	assert_string_equal(field_ann(ds, "proc.creds.uid", "columns.hidden"), "true");
	assert_string_equal(field_ann(ds, "error", "columns.width"), "10");
	assert_string_equal(field_ann(ds, "error", "columns.alignment"), "right");
	assert_string_equal(field_ann(ds, "fd", "columns.minwidth"), "2");
	assert_string_equal(field_ann(ds, "fd", "columns.maxwidth"), "3");
	assert_string_equal(field_ann(ds, "flags_raw", "json.skip"), "true");
	assert_string_equal(field_ann(ds, "mode", "description"), "File mode, like -rw-r--r--");
	assert_string_equal(field_ann(ds, "fname", "description"),
			    "Path of the file as passed to open");
	assert_string_equal(field_ann(ds, "fname", "columns.width"), "32");
	assert_null(field_ann(ds, "fname", "columns.hidden"));
	assert_int_equal(igfs_meta__field(ds, "ustack")->annotations.n, 0);
	assert_null(igfs_meta__field(ds, "proc"));
	assert_null(igfs_meta__field(ds, "Fname"));

	/* params.wasm is not ours */
	assert_int_equal(p.meta->n_params, 1);
	prm = igfs_meta__param(p.meta, "targ_failed");
	assert_non_null(prm);
	assert_string_equal(prm->cname, "targ_failed");
	assert_string_equal(prm->key, "failed");
	assert_string_equal(prm->default_value, "false");
	assert_string_equal(prm->description, "Show only failed events");
	assert_null(prm->type);
	assert_null(prm->title);
	assert_null(prm->alias);
	assert_false(prm->mandatory);
	assert_int_equal(prm->n_possible_values, 0);
	assert_null(igfs_meta__param(p.meta, "failed"));

	assert_int_equal(p.meta->n_progs, 0);
	assert_int_equal(p.meta->param_defaults.n, 0);
	igfs_meta__free(p.meta);
}

static void test_meta_profile_cpu(void **state)
{
	const struct igfs_meta_prog *prog;
	const struct igfs_meta_ds *ds;
	struct parsed p = parse(profile_cpu_yaml);

	(void)state;
	assert_int_equal(p.err, 0);
	assert_string_equal(p.meta->name, "profile cpu");
	assert_null(p.meta->homepage_url);
	assert_string_equal(igfs_kvlist_get(&p.meta->annotations, "io.example/owner"), "igfs");

	assert_int_equal(p.meta->n_progs, 3);
	prog = igfs_meta__prog(p.meta, "ig_prof_cpu");
	assert_non_null(prog);
	assert_null(prog->attach_to);
	assert_int_equal(prog->settings.n, 4);
	assert_string_equal(prog->settings.v[0].key, "perf.type");
	assert_string_equal(igfs_kvlist_get(&prog->settings, "perf.type"), "software");
	assert_string_equal(igfs_kvlist_get(&prog->settings, "perf.config"), "count_sw_cpu_clock");
	assert_string_equal(igfs_kvlist_get(&prog->settings, "perf.frequency"), "49");
	assert_string_equal(igfs_kvlist_get(&prog->settings, "sampler.frequency"), "99");

	prog = igfs_meta__prog(p.meta, "ig_unused");
	assert_non_null(prog);
	assert_string_equal(prog->attach_to, "gadget_program_disabled");
	assert_int_equal(prog->settings.n, 0);

	prog = igfs_meta__prog(p.meta, "ig_events");
	assert_non_null(prog);
	assert_string_equal(prog->attach_to, "sched_switch");
	assert_int_equal(prog->settings.n, 2);
	assert_string_equal(igfs_kvlist_get(&prog->settings, "perf.events.0"), "cycles");
	assert_string_equal(igfs_kvlist_get(&prog->settings, "perf.events.1"), "instructions");
	assert_null(igfs_meta__prog(p.meta, "IG_EVENTS"));

	assert_int_equal(p.meta->param_defaults.n, 2);
	assert_string_equal(
		igfs_kvlist_get(&p.meta->param_defaults, "operator.ebpf.map-fetch-interval"), "0");
	assert_string_equal(
		igfs_kvlist_get(&p.meta->param_defaults, "operator.ebpf.map-fetch-count"), "0");

	ds = igfs_meta__ds(p.meta, "samples");
	assert_non_null(ds);
	assert_string_equal(igfs_kvlist_get(&ds->annotations, "ebpf.map.flush-on-stop"), "true");
	assert_string_equal(field_ann(ds, "kern_stack", "flamegraph.level"), "30");

	assert_int_equal(p.meta->n_params, 1);
	assert_string_equal(igfs_meta__param(p.meta, "kernel_stacks_only")->default_value, "false");
	igfs_meta__free(p.meta);
}

static void test_meta_legacy_ebpf_params(void **state)
{
	const struct igfs_meta_param *prm;
	const struct igfs_meta_ds *ds;
	struct parsed p = parse("name: trace signal\n"
				"ebpfParams:\n"
				"  targ_sig:\n"
				"    key: signal\n"
				"    defaultValue: 5\n"
				"    description: Signal number\n"
				"    type: int\n"
				"    title: Signal\n"
				"    alias: s\n"
				"    isMandatory: yes\n"
				"    possibleValues: [\"9\", 15, SIGKILL]\n"
				"  targ_kill_only:\n"
				"  targ_mode:\n"
				"    isMandatory: false\n"
				"    possibleValues:\n"
				"      - fast\n"
				"      - |\n"
				"        slow\n"
				"params:\n"
				"  ebpf:\n"
				"    targ_pid:\n"
				"      key: pid\n"
				"datasources:\n"
				"  signal:\n"
				"    fields:\n"
				"      sig:\n"
				"        description: Signal sent\n"
				"      tpid:\n"
				"        description: direct\n"
				"        annotations:\n"
				"          description: nested\n");

	(void)state;
	assert_int_equal(p.err, 0);
	assert_int_equal(p.meta->n_params, 4);
	/* params.ebpf first, then ebpfParams */
	assert_string_equal(p.meta->params[0].cname, "targ_pid");
	assert_string_equal(p.meta->params[0].key, "pid");

	prm = igfs_meta__param(p.meta, "targ_sig");
	assert_non_null(prm);
	assert_string_equal(prm->key, "signal");
	assert_string_equal(prm->default_value, "5");
	assert_string_equal(prm->description, "Signal number");
	assert_string_equal(prm->type, "int");
	assert_string_equal(prm->title, "Signal");
	assert_string_equal(prm->alias, "s");
	assert_true(prm->mandatory);
	assert_int_equal(prm->n_possible_values, 3);
	assert_string_equal(prm->possible_values[0], "9");
	assert_string_equal(prm->possible_values[1], "15");
	assert_string_equal(prm->possible_values[2], "SIGKILL");

	prm = igfs_meta__param(p.meta, "targ_kill_only");
	assert_non_null(prm);
	assert_null(prm->key);
	assert_null(prm->default_value);

	prm = igfs_meta__param(p.meta, "targ_mode");
	assert_non_null(prm);
	assert_false(prm->mandatory);
	assert_int_equal(prm->n_possible_values, 2);
	assert_string_equal(prm->possible_values[0], "fast");
	assert_string_equal(prm->possible_values[1], "slow\n");

	ds = igfs_meta__ds(p.meta, "signal");
	assert_non_null(ds);
	assert_string_equal(field_ann(ds, "sig", "description"), "Signal sent");
	/* a nested description wins over a direct one */
	assert_string_equal(field_ann(ds, "tpid", "description"), "nested");
	assert_int_equal(igfs_meta__field(ds, "tpid")->annotations.n, 1);
	igfs_meta__free(p.meta);
}

static void test_meta_case_insensitive_keys(void **state)
{
	const struct igfs_meta_param *prm;
	const struct igfs_meta_ds *ds;
	struct parsed p = parse("NAME: x\n"
				"homepageurl: https://h/\n"
				"DocumentationUrl: https://d/\n"
				"SOURCEURL: https://s/\n"
				"DataSources:\n"
				"  Events:\n"
				"    Annotations: {Fetch-Interval: 1s}\n"
				"    FIELDS:\n"
				"      Proc.Comm: {ANNOTATIONS: {Template: comm}}\n"
				"Params:\n"
				"  EBPF:\n"
				"    Targ_X: {KEY: x, DEFAULTVALUE: \"1\", IsMandatory: TRUE}\n"
				"PARAMDEFAULTS: {Operator.X: y}\n"
				"Programs:\n"
				"  Prog: {ATTACH_TO: foo, Perf: {Frequency: 7}}\n"
				"operator: {whatever: [1, 2]}\n"
				"unknownKey: {deep: {er: 1}}\n");

	(void)state;
	assert_int_equal(p.err, 0);
	assert_string_equal(p.meta->name, "x");
	assert_string_equal(p.meta->homepage_url, "https://h/");
	assert_string_equal(p.meta->documentation_url, "https://d/");
	assert_string_equal(p.meta->source_url, "https://s/");
	/* names and annotation keys keep their case */
	ds = igfs_meta__ds(p.meta, "Events");
	assert_non_null(ds);
	assert_null(igfs_meta__ds(p.meta, "events"));
	assert_string_equal(igfs_kvlist_get(&ds->annotations, "Fetch-Interval"), "1s");
	assert_null(igfs_kvlist_get(&ds->annotations, "fetch-interval"));
	assert_string_equal(field_ann(ds, "Proc.Comm", "Template"), "comm");
	prm = igfs_meta__param(p.meta, "Targ_X");
	assert_non_null(prm);
	assert_string_equal(prm->key, "x");
	assert_string_equal(prm->default_value, "1");
	assert_true(prm->mandatory);
	assert_string_equal(igfs_kvlist_get(&p.meta->param_defaults, "Operator.X"), "y");
	assert_string_equal(igfs_meta__prog(p.meta, "Prog")->attach_to, "foo");
	/* settings are yaml keywords: lower-cased */
	assert_string_equal(
		igfs_kvlist_get(&igfs_meta__prog(p.meta, "Prog")->settings, "perf.frequency"), "7");
	igfs_meta__free(p.meta);
}

static void assert_empty_meta(const struct igfs_meta *m)
{
	assert_null(m->name);
	assert_null(m->description);
	assert_null(m->homepage_url);
	assert_int_equal(m->annotations.n, 0);
	assert_int_equal(m->n_ds, 0);
	assert_int_equal(m->n_params, 0);
	assert_int_equal(m->param_defaults.n, 0);
	assert_int_equal(m->n_progs, 0);
	assert_null(igfs_meta__ds(m, "open"));
	assert_null(igfs_meta__param(m, "x"));
	assert_null(igfs_meta__prog(m, "x"));
}

static void test_meta_empty_doc(void **state)
{
	static const char *const docs[] = {"", "\n\n", "---\n", "---\n...\n", "{}\n", "~\n"};
	struct parsed p;
	size_t i;

	(void)state;
	p = parse_n(NULL, 0);
	assert_int_equal(p.err, 0);
	assert_empty_meta(p.meta);
	igfs_meta__free(p.meta);
	for (i = 0; i < IGFS_ARRAY_SIZE(docs); i++) {
		p = parse(docs[i]);
		assert_int_equal(p.err, 0);
		assert_empty_meta(p.meta);
		igfs_meta__free(p.meta);
	}
	/* null sections are empty sections */
	p = parse("name:\ndatasources:\nparams:\nprograms:\nannotations: ~\nparamDefaults: null\n");
	assert_int_equal(p.err, 0);
	assert_empty_meta(p.meta);
	igfs_meta__free(p.meta);
}

static void test_meta_comments_only(void **state)
{
	struct parsed p = parse("# gadget.yaml\n# nothing here yet\n   # indented comment\n");

	(void)state;
	assert_int_equal(p.err, 0);
	assert_empty_meta(p.meta);
	igfs_meta__free(p.meta);
}

static void test_meta_first_document_only(void **state)
{
	/* the second document is neither used nor parsed */
	struct parsed p = parse("name: first\n---\nname: second\n---\n: : [\n");

	(void)state;
	assert_int_equal(p.err, 0);
	assert_string_equal(p.meta->name, "first");
	igfs_meta__free(p.meta);
}

static void test_meta_scalar_styles(void **state)
{
	struct parsed p = parse("name: 'it''s'\n"
				"description: \"tab\\there \\u00e9\"\n"
				"homepageURL: !!str 42\n"
				"documentationURL: |\n"
				"  line one\n"
				"  line two\n"
				"sourceURL: 0x10\n"
				"annotations:\n"
				"  empty: \"\"\n"
				"  null: ~\n"
				"  bool: no\n"
				"  float: 1.50\n");

	(void)state;
	assert_int_equal(p.err, 0);
	assert_string_equal(p.meta->name, "it's");
	assert_string_equal(p.meta->description, "tab\there \xc3\xa9");
	assert_string_equal(p.meta->homepage_url, "42");
	assert_string_equal(p.meta->documentation_url, "line one\nline two\n");
	assert_string_equal(p.meta->source_url, "0x10");
	assert_string_equal(igfs_kvlist_get(&p.meta->annotations, "empty"), "");
	assert_string_equal(igfs_kvlist_get(&p.meta->annotations, "null"), "");
	assert_string_equal(igfs_kvlist_get(&p.meta->annotations, "bool"), "no");
	assert_string_equal(igfs_kvlist_get(&p.meta->annotations, "float"), "1.50");
	igfs_meta__free(p.meta);
}

static void test_meta_anchor_without_alias(void **state)
{
	struct parsed p = parse("name: &n trace\nannotations: &a {k: v}\n");

	(void)state;
	assert_int_equal(p.err, 0);
	assert_string_equal(p.meta->name, "trace");
	assert_string_equal(igfs_kvlist_get(&p.meta->annotations, "k"), "v");
	igfs_meta__free(p.meta);
}

static void test_meta_syntax_error(void **state)
{
	(void)state;
	expect_fail("name: a: b\n", -EINVAL,
		    "gadget.yaml line 1 col 8: mapping values are not allowed in this context");
	expect_fail("name: t\ndescription: \"unterminated\n", -EINVAL,
		    "gadget.yaml line 3 col 1: found unexpected end of stream (while scanning a "
		    "quoted scalar at line 2 col 14)");
	expect_fail("name: [a, b\n", -EINVAL,
		    "gadget.yaml line 2 col 1: did not find expected ',' or ']' (while parsing a "
		    "flow sequence at line 1 col 7)");
	expect_fail("datasources:\n  open: {}\n fields: {}\n", -EINVAL,
		    "gadget.yaml line 3 col 2: did not find expected key (while parsing a block "
		    "mapping at line 1 col 1)");
	expect_fail("name: \xff\n", -EINVAL,
		    "gadget.yaml line 1 col 7: invalid leading UTF-8 octet (0xFF)");
	expect_fail("name: a\x01\n", -EINVAL,
		    "gadget.yaml line 1 col 8: control characters are not allowed (0x1)");
	expect_fail("name: \"a\\0b\"\n", -EINVAL,
		    "gadget.yaml line 1 col 7: a scalar contains a NUL character");
	expect_fail("? [a]\n: b\n", -EINVAL,
		    "gadget.yaml line 1 col 3: a mapping key must be a scalar, not a sequence");
}

static void test_meta_tab_indent(void **state)
{
	(void)state;
	expect_fail("datasources:\n\topen: {}\n", -EINVAL,
		    "gadget.yaml line 2 col 1: found character that cannot start any token "
		    "(while scanning for the next token)");
}

static void test_meta_alias(void **state)
{
	(void)state;
	expect_fail("annotations: &a {k: v}\ndatasources:\n  open:\n    annotations: *a\n", -EINVAL,
		    "gadget.yaml line 4 col 18: aliases are not supported (found '*a'); write the "
		    "value out");
	/* billion laughs stops at the first alias */
	expect_fail("a: &a [x, x, x, x, x, x, x, x, x]\n"
		    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n",
		    -EINVAL,
		    "gadget.yaml line 2 col 8: aliases are not supported (found '*a'); write the "
		    "value out");
	/* merge keys need an alias too */
	expect_fail("base: &b {k: v}\nannotations:\n  <<: *b\n", -EINVAL,
		    "gadget.yaml line 3 col 7: aliases are not supported (found '*b'); write the "
		    "value out");
}

/* "a: " then @levels nested flow sequences under the root mapping. */
static char *nested(int levels)
{
	char *s = malloc(4 + 2 * (size_t)levels + 2);
	size_t n = 0;
	int i;

	assert_non_null(s);
	memcpy(s, "a: ", 3);
	n = 3;
	for (i = 0; i < levels; i++)
		s[n++] = '[';
	for (i = 0; i < levels; i++)
		s[n++] = ']';
	s[n++] = '\n';
	s[n] = '\0';
	return s;
}

static void test_meta_depth_cap(void **state)
{
	char msg[128];
	struct parsed p;
	char *s;

	(void)state;
	/* the root mapping is level 1 */
	s = nested(IGFS_MAX_META_DEPTH - 1);
	p = parse(s);
	assert_int_equal(p.err, 0);
	igfs_meta__free(p.meta);
	free(s);

	s = nested(IGFS_MAX_META_DEPTH);
	snprintf(msg, sizeof(msg), "gadget.yaml line 1 col %d: nested deeper than %d levels",
		 3 + IGFS_MAX_META_DEPTH, IGFS_MAX_META_DEPTH);
	expect_fail(s, -E2BIG, msg);
	free(s);
}

static void test_meta_too_many_nodes(void **state)
{
	/* root + key + sequence + items */
	size_t items = IGFS_MAX_META_NODES - 3, n = 0, i;
	char *s = malloc(8 + 2 * (items + 1) + 4);
	char msg[128];
	struct parsed p;

	(void)state;
	assert_non_null(s);
	memcpy(s, "a: [", 4);
	n = 4;
	for (i = 0; i < items; i++) {
		s[n++] = 'x';
		s[n++] = ',';
	}
	memcpy(s + n - 1, "]\n", 3);
	p = parse(s);
	assert_int_equal(p.err, 0);
	igfs_meta__free(p.meta);

	/* one more item */
	memcpy(s + n - 1, ",x]\n", 5);
	snprintf(msg, sizeof(msg),
		 "gadget.yaml line 1 col %zu: more than %d nodes; the document is too large", n + 1,
		 IGFS_MAX_META_NODES);
	expect_fail(s, -E2BIG, msg);
	free(s);
}

static void test_meta_oversize_scalar(void **state)
{
	char *s = malloc(16 + IGFS_MAX_STR + 2);
	char msg[128];
	struct parsed p;

	(void)state;
	assert_non_null(s);
	memcpy(s, "name: ", 6);
	memset(s + 6, 'x', IGFS_MAX_STR);
	strcpy(s + 6 + IGFS_MAX_STR, "\n");
	p = parse(s);
	assert_int_equal(p.err, 0);
	assert_int_equal(strlen(p.meta->name), IGFS_MAX_STR);
	igfs_meta__free(p.meta);

	s[6 + IGFS_MAX_STR] = 'x';
	strcpy(s + 7 + IGFS_MAX_STR, "\n");
	snprintf(msg, sizeof(msg),
		 "gadget.yaml line 1 col 7: a scalar of %d bytes is over the %d-byte limit",
		 IGFS_MAX_STR + 1, IGFS_MAX_STR);
	expect_fail(s, -E2BIG, msg);
	free(s);
}

/* YAML caps implicit keys at 1024 characters: five levels of 900 make a 4.5 KB setting name. */
static void test_meta_setting_name_too_long(void **state)
{
	size_t part = 900, n, i;
	char *s = malloc(64 + 5 * (part + 16));
	struct parsed p;

	(void)state;
	assert_non_null(s);
	n = (size_t)sprintf(s, "programs:\n  p:\n");
	for (i = 0; i < 5; i++) {
		n += (size_t)sprintf(s + n, "%*s", (int)(4 + 2 * i), "");
		memset(s + n, 'a' + (char)i, part);
		n += part;
		n += (size_t)sprintf(s + n, ":%s\n", i == 4 ? " 1" : "");
	}
	p = parse(s);
	assert_int_equal(p.err, -E2BIG);
	assert_true(strstr(p.diag.msg, "gadget.yaml line 7 col 13: programs.p.aaaa") == p.diag.msg);
	assert_non_null(strstr(p.diag.msg, "gives a setting name longer than 4096 bytes"));
	free(s);
}

static void test_meta_oversize_document(void **state)
{
	size_t len = IGFS_MAX_META_SIZE + 1;
	char *s = malloc(len);
	char msg[128];
	struct parsed p;

	(void)state;
	assert_non_null(s);
	memset(s, '#', len);
	p = parse_n(s, len);
	assert_int_equal(p.err, -E2BIG);
	snprintf(msg, sizeof(msg), "gadget.yaml is %zu bytes, over the %u-byte limit", len,
		 IGFS_MAX_META_SIZE);
	assert_string_equal(p.diag.msg, msg);

	/* exactly at the cap is fine: one big comment */
	s[IGFS_MAX_META_SIZE - 1] = '\n';
	p = parse_n(s, IGFS_MAX_META_SIZE);
	assert_int_equal(p.err, 0);
	igfs_meta__free(p.meta);
	free(s);
}

static void test_meta_duplicate_key(void **state)
{
	(void)state;
	expect_fail("name: a\n"
		    "datasources:\n"
		    "  open:\n"
		    "    fields:\n"
		    "      fname: {}\n"
		    "      fd: {}\n"
		    "      fname: {}\n",
		    -EINVAL,
		    "gadget.yaml line 7 col 7: duplicate key 'fname' in datasources.open.fields "
		    "(first at line 5)");
	expect_fail("name: a\ndescription: b\nname: c\n", -EINVAL,
		    "gadget.yaml line 3 col 1: duplicate key 'name' in the top level (first at "
		    "line 1)");
	/* an ignored section is still YAML */
	expect_fail("operator:\n  x: [{k: 1, k: 2}]\n", -EINVAL,
		    "gadget.yaml line 2 col 14: duplicate key 'k' in operator.x[0] (first at "
		    "line 2)");
	/* keywords are case-insensitive, so these two are the same key */
	expect_fail("name: a\nNAME: b\n", -EINVAL,
		    "gadget.yaml line 2 col 1: duplicate key 'NAME' in the top level (first at "
		    "line 1; keys are case-insensitive)");
	expect_fail("params:\n  ebpf:\n    x: {defaultValue: 1, defaultvalue: 2}\n", -EINVAL,
		    "gadget.yaml line 3 col 26: duplicate key 'defaultvalue' in params.ebpf.x "
		    "(first at line 3; keys are case-insensitive)");
	/* the same param in both sections */
	expect_fail("params:\n  ebpf:\n    targ_x: {}\nebpfParams:\n  targ_x: {}\n", -EINVAL,
		    "gadget.yaml line 5 col 3: param 'targ_x' is declared in both params.ebpf "
		    "(line 3) and ebpfParams");
	/* one setting spelled two ways */
	expect_fail("programs:\n  p:\n    perf: {frequency: 1}\n    perf.frequency: 2\n", -EINVAL,
		    "gadget.yaml line 4 col 21: programs.p: setting 'perf.frequency' is given "
		    "twice (first at line 3)");
	expect_fail("programs:\n  p:\n    attach_to: a\n    Attach_to: b\n", -EINVAL,
		    "gadget.yaml line 4 col 5: duplicate key 'Attach_to' in programs.p (first at "
		    "line 3; keys are case-insensitive)");
}

static void test_meta_wrong_shapes(void **state)
{
	(void)state;
	expect_fail("datasources: [a, b]\n", -EINVAL,
		    "gadget.yaml line 1 col 14: datasources must be a mapping");
	expect_fail("datasources:\n  open: yes\n", -EINVAL,
		    "gadget.yaml line 2 col 9: datasources.open must be a mapping");
	expect_fail("datasources:\n  open:\n    annotations: flush\n", -EINVAL,
		    "gadget.yaml line 3 col 18: datasources.open.annotations must be a mapping");
	expect_fail("datasources:\n  open:\n    annotations: {a: [1]}\n", -EINVAL,
		    "gadget.yaml line 3 col 22: datasources.open.annotations.a must be a scalar");
	expect_fail("datasources:\n"
		    "  open:\n"
		    "    fields:\n"
		    "      - fname\n",
		    -EINVAL, "gadget.yaml line 4 col 7: datasources.open.fields must be a mapping");
	expect_fail("datasources:\n"
		    "  open:\n"
		    "    fields:\n"
		    "      fname: wide\n",
		    -EINVAL,
		    "gadget.yaml line 4 col 14: datasources.open.fields.fname must be a mapping");
	expect_fail("datasources:\n"
		    "  open:\n"
		    "    fields:\n"
		    "      fname:\n"
		    "        annotations: [a]\n",
		    -EINVAL,
		    "gadget.yaml line 5 col 22: datasources.open.fields.fname.annotations must be "
		    "a mapping");
	expect_fail("datasources:\n"
		    "  open:\n"
		    "    fields:\n"
		    "      fname:\n"
		    "        annotations:\n"
		    "          columns:\n"
		    "            width: 32\n",
		    -EINVAL,
		    "gadget.yaml line 7 col 13: datasources.open.fields.fname.annotations.columns "
		    "must be a scalar");
	expect_fail("datasources:\n"
		    "  open:\n"
		    "    fields:\n"
		    "      fname:\n"
		    "        description: {a: b}\n",
		    -EINVAL,
		    "gadget.yaml line 5 col 22: datasources.open.fields.fname.description must be "
		    "a scalar");
	expect_fail("name: {a: b}\n", -EINVAL, "gadget.yaml line 1 col 7: name must be a scalar");
	expect_fail("description: [a]\n", -EINVAL,
		    "gadget.yaml line 1 col 14: description must be a scalar");
	expect_fail("annotations: [a]\n", -EINVAL,
		    "gadget.yaml line 1 col 14: annotations must be a mapping");
	expect_fail("params: [ebpf]\n", -EINVAL,
		    "gadget.yaml line 1 col 9: params must be a mapping");
	expect_fail("params:\n  ebpf: x\n", -EINVAL,
		    "gadget.yaml line 2 col 9: params.ebpf must be a mapping");
	expect_fail("params:\n  ebpf:\n    targ_x: 5\n", -EINVAL,
		    "gadget.yaml line 3 col 13: params.ebpf.targ_x must be a mapping");
	expect_fail("params:\n  ebpf:\n    targ_x:\n      key: [a]\n", -EINVAL,
		    "gadget.yaml line 4 col 12: params.ebpf.targ_x.key must be a scalar");
	expect_fail("params:\n  ebpf:\n    targ_x:\n      possibleValues: a\n", -EINVAL,
		    "gadget.yaml line 4 col 23: params.ebpf.targ_x.possibleValues must be a "
		    "sequence");
	expect_fail("params:\n  ebpf:\n    targ_x:\n      possibleValues: [a, [b]]\n", -EINVAL,
		    "gadget.yaml line 4 col 27: params.ebpf.targ_x.possibleValues[1] must be a "
		    "scalar");
	expect_fail("params:\n  ebpf:\n    targ_x:\n      isMandatory: maybe\n", -EINVAL,
		    "gadget.yaml line 4 col 20: params.ebpf.targ_x.isMandatory must be true or "
		    "false, not 'maybe'");
	expect_fail("ebpfParams: [a]\n", -EINVAL,
		    "gadget.yaml line 1 col 13: ebpfParams must be a mapping");
	expect_fail("paramDefaults: [a]\n", -EINVAL,
		    "gadget.yaml line 1 col 16: paramDefaults must be a mapping");
	expect_fail("paramDefaults:\n  a: {b: c}\n", -EINVAL,
		    "gadget.yaml line 2 col 6: paramDefaults.a must be a scalar");
	expect_fail("programs: [a]\n", -EINVAL,
		    "gadget.yaml line 1 col 11: programs must be a mapping");
	expect_fail("programs:\n  p: 49\n", -EINVAL,
		    "gadget.yaml line 2 col 6: programs.p must be a mapping");
	expect_fail("programs:\n  p:\n    attach_to: [a]\n", -EINVAL,
		    "gadget.yaml line 3 col 16: programs.p.attach_to must be a scalar");
	/* unknown keys are ignored whatever their shape */
	expect_fail("programs:\n  p:\n    attach_to: {a: b}\n    x: {y: [z]}\n", -EINVAL,
		    "gadget.yaml line 3 col 16: programs.p.attach_to must be a scalar");
}

static void test_meta_top_level_not_mapping(void **state)
{
	(void)state;
	expect_fail("- name: a\n- name: b\n", -EINVAL,
		    "gadget.yaml line 1 col 1: the top level must be a mapping");
	expect_fail("---\njust a string\n", -EINVAL,
		    "gadget.yaml line 2 col 1: the top level must be a mapping");
}

static void test_meta_too_old(void **state)
{
	static const char msg[] = "gadget.yaml uses the pre-v0.31 format (tracers/toppers); image "
				  "too old, rebuild it with a current Inspektor Gadget";

	(void)state;
	expect_fail("name: trace open\n"
		    "tracers:\n"
		    "  open:\n"
		    "    mapName: events\n"
		    "    structName: event\n"
		    "structs:\n"
		    "  event:\n"
		    "    fields:\n"
		    "    - name: pid\n",
		    -EPROTO, msg);
	expect_fail("name: top file\nToppers:\n  file: {mapName: entries}\n", -EPROTO, msg);
}

static void test_meta_lookups_null(void **state)
{
	struct igfs_kvlist empty = {0};

	(void)state;
	igfs_meta__free(NULL);
	assert_null(igfs_kvlist_get(NULL, "a"));
	assert_null(igfs_kvlist_get(&empty, "a"));
	assert_null(igfs_meta__ds(NULL, "a"));
	assert_null(igfs_meta__field(NULL, "a"));
	assert_null(igfs_meta__param(NULL, "a"));
	assert_null(igfs_meta__prog(NULL, "a"));
}

static void check_errno(const struct parsed *p, const char *what, size_t at)
{
	if (!p->err) {
		igfs_meta__free(p->meta);
		return;
	}
	if (p->err != -EINVAL && p->err != -E2BIG && p->err != -EPROTO)
		fail_msg("%s at %zu: unexpected %d", what, at, p->err);
	if (strncmp(p->diag.msg, "gadget.yaml", 11))
		fail_msg("%s at %zu: diag '%s'", what, at, p->diag.msg);
}

/* Every truncation of the realistic documents parses or fails cleanly (run under ASan). */
static void test_meta_truncations(void **state)
{
	static const char *const docs[] = {trace_open_yaml, profile_cpu_yaml};
	size_t d, len, n;
	struct parsed p;
	char *buf;

	(void)state;
	for (d = 0; d < IGFS_ARRAY_SIZE(docs); d++) {
		n = strlen(docs[d]);
		for (len = 0; len <= n; len++) {
			/* an exact-size copy so ASan sees any overread */
			buf = malloc(len ? len : 1);
			assert_non_null(buf);
			memcpy(buf, docs[d], len);
			p = parse_n(buf, len);
			check_errno(&p, "prefix", len);
			free(buf);
		}
	}
}

/*
 * One-byte mutations of the realistic document: at every offset, one of a set
 * of structure characters (rotating, to stay fast under ASan).
 */
static void test_meta_mutations(void **state)
{
	static const char subst[] = {'\t', ':', '[', '{', '*', '&', '-', '"', '\n', '#', '\0'};
	size_t n = strlen(trace_open_yaml), i;
	struct parsed p;
	char *buf = malloc(n);

	(void)state;
	assert_non_null(buf);
	for (i = 0; i < n; i++) {
		memcpy(buf, trace_open_yaml, n);
		buf[i] = subst[(i * 7) % sizeof(subst)];
		p = parse_n(buf, n);
		check_errno(&p, "mutation", i);
	}
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_meta_trace_open),
		cmocka_unit_test(test_meta_profile_cpu),
		cmocka_unit_test(test_meta_legacy_ebpf_params),
		cmocka_unit_test(test_meta_case_insensitive_keys),
		cmocka_unit_test(test_meta_empty_doc),
		cmocka_unit_test(test_meta_comments_only),
		cmocka_unit_test(test_meta_first_document_only),
		cmocka_unit_test(test_meta_scalar_styles),
		cmocka_unit_test(test_meta_anchor_without_alias),
		cmocka_unit_test(test_meta_syntax_error),
		cmocka_unit_test(test_meta_tab_indent),
		cmocka_unit_test(test_meta_alias),
		cmocka_unit_test(test_meta_depth_cap),
		cmocka_unit_test(test_meta_too_many_nodes),
		cmocka_unit_test(test_meta_oversize_scalar),
		cmocka_unit_test(test_meta_setting_name_too_long),
		cmocka_unit_test(test_meta_oversize_document),
		cmocka_unit_test(test_meta_duplicate_key),
		cmocka_unit_test(test_meta_wrong_shapes),
		cmocka_unit_test(test_meta_top_level_not_mapping),
		cmocka_unit_test(test_meta_too_old),
		cmocka_unit_test(test_meta_lookups_null),
		cmocka_unit_test(test_meta_truncations),
		cmocka_unit_test(test_meta_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
