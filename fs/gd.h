/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A gadget as the filesystem sees it: state (stopped, running, failed),
 * params and igfs settings, the per-data-source runtime (window, source),
 * counters, permissions, and the text of status/schema/log. Carries out ctl
 * commands. Knows nothing about FUSE requests.
 */
#ifndef IGFS_GD_H
#define IGFS_GD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/types.h>

#include "container.h"
#include "ctl.h"
#include "gadget.h"
#include "source.h"
#include "stack.h"
#include "table.h"
#include "util.h"
#include "window.h"

struct igfs_pump;
struct igfs_gd;

/* Options of the whole mount (SPEC §1), parsed once by main. */
struct igfs_fs_opts {
	uint64_t backlog; /* bytes per tracer window */
	uid_t uid;
	gid_t gid;
	mode_t mode;	  /* readable files; ctl/params get mode & 0660 */
	bool mode_set;	  /* mode given on the command line */
	bool autostart;
	bool follow;	  /* reads at the end of events wait (else EOF) */
	bool force_perf;  /* tracers on perf buffers */
	bool realtime;	  /* the pump at SCHED_FIFO 1 */
	char pin_root[64]; /* this mount's bpffs directory for pinned maps */
};

/* The mount: options, gadgets, the pump. */
struct igfs_fs {
	struct igfs_fs_opts opts;
	struct igfs_gd **gds; /* sorted by name; changed by the FUSE thread only */
	size_t n_gds;
	pthread_mutex_t gds_lock; /* held by the FUSE thread while changing gds, by others to walk it */
	void *catalog;		  /* struct igfs_catalog * */
	struct igfs_containers *containers; /* mntns -> container, for events and filters */
	struct igfs_pump *pump;
	void *session; /* struct fuse_session *, for poll notifications */
	int64_t mount_ns;
	atomic_bool shutting_down; /* no more starts */
	char *state_dir;	   /* -o state=DIR, or NULL */
	json_t *state_doc;	   /* what was loaded (and last saved) */
	pthread_mutex_t state_lock;
	bool state_loading;	   /* applying the state: do not save */
	pthread_mutex_t fh_lock;   /* guards fhs */
	void *fhs;		   /* every open file handle, for the exit path */
	pthread_mutex_t root_lock;
	uid_t root_uid;
	gid_t root_gid;
	mode_t root_mode;
};

/* igfs's own per-gadget settings, shown in params/ beside the gadget's params. */
enum igfs_setting {
	IGFS_SET_BACKLOG,  /* tracers */
	IGFS_SET_INTERVAL, /* map iterators */
	IGFS_SET_SORT,
	IGFS_SET_LIMIT,
	IGFS_SET_MNTNS,	   /* gadgets with a mntns filter */
	IGFS_SET_FOLLOW,   /* tracers */
	IGFS_SET_NR,
};

enum igfs_gd_state {
	IGFS_GD_STOPPED,
	IGFS_GD_RUNNING,
	IGFS_GD_FAILED,
};

struct igfs_perm {
	uid_t uid;
	gid_t gid;
	mode_t mode; /* permission bits only */
};

/* One data source while the gadget runs (and its window after it stopped). */
struct igfs_dsrt {
	struct igfs_gd *gd;
	size_t idx;
	const struct igfs_ds *ds;
	struct igfs_source *src;   /* running only; the pump reads it */
	struct igfs_window *win;   /* tracers: the current window, or NULL */
	struct igfs_enc_ctx ectx;
	uint64_t next_lost_ns;	   /* pump: when to poll <map>_lost_samples next */
	uint64_t ring_bytes;	   /* tracers on a ring buffer: its size, for the pump's pace */
	bool pumped;		   /* registered with the pump */
	/* Map iterators and iterators; guarded by gd->lock. */
	struct igfs_table *table;  /* the last complete table (kept after stop), or NULL */
	struct igfs_records recs;  /* the records behind it, for re-sorting */
	struct igfs_lines lines;   /* and their lines, encoded once */
	uint64_t table_gen;	   /* the sort/limit generation the table was rendered for */
	uint64_t next_fetch_ns;	   /* pump: CLOCK_MONOTONIC of the next interval fetch */
	uint64_t sched_interval_ns; /* pump: the interval next_fetch_ns was set with */
	uint64_t open_size;	   /* st_size: the table's size as of the last open */
	void *opens;		   /* the fs's opens waiting for the first table */
	void *open_intr_req;	   /* an open interrupted before it was parked */
	bool flush_on_stop;	   /* ebpf.map.flush-on-stop / ebpf.iter.fetch-on-stop */
	atomic_uint nreaders;	   /* open handles of this data file (IGFS_MAX_READERS) */
};

struct igfs_gd {
	unsigned int id;
	char *name;
	struct igfs_gadget *g;
	struct igfs_fs *fs;
	pthread_mutex_t ctl_lock; /* serialises start/stop/set */
	pthread_mutex_t lock;	  /* guards the fields below */
	enum igfs_gd_state state;
	char error[IGFS_DIAG_LEN]; /* empty when none */
	struct igfs_buf log;
	struct igfs_run *run;
	struct igfs_names *names;
	struct igfs_stacks *stacks; /* stack symbolisation of the running object */
	int64_t since_ns;
	bool autostarted;
	bool removed;		  /* its image went: out of fs->gds, freed at the last handle */
	unsigned int handles;	  /* open file handles of any of its files */
	unsigned int readers;	  /* open events/stats/snapshot handles */
	unsigned char **values;	  /* current value of each gadget param */
	bool *values_set;	  /* set by the user (else the default) */
	uint64_t backlog;
	atomic_bool follow;	  /* params/follow: read at the end waits, else EOF */
	uint64_t interval_ms;
	char *sort;
	uint64_t limit;
	__u64 *mntns;		  /* the filter's namespaces, resolved */
	size_t n_mntns;
	char *mntns_spec;	  /* the filter as given (ids, containers), or NULL */
	uint64_t view_gen;	  /* bumped when sort or limit change */
	bool has_setting[IGFS_SET_NR];
	struct igfs_dsrt *dsrt;
	_Atomic uint64_t events;
	_Atomic uint64_t bytes;
	_Atomic uint64_t lost_kernel;  /* ring full, <map>_lost_samples, perf losses */
	_Atomic uint64_t lost_readers; /* lines readers missed, summed over readers */
	/* Permissions: fixed files, then per param, per setting, per data source. */
	struct igfs_perm perm_fixed[16];
	struct igfs_perm *perm_param;
	struct igfs_perm perm_setting[IGFS_SET_NR];
	struct igfs_perm *perm_ds;
	struct igfs_perm *perm_srcdir;
	int64_t ctime_ns;
};

/* The name of setting @s in params/. */
const char *igfs_setting_name(enum igfs_setting s);

/* Make the fs view of gadget @g (takes ownership). 0 or -ENOMEM. */
int igfs_gd__new(struct igfs_fs *fs, unsigned int id, struct igfs_gadget *g, struct igfs_gd **ret);
/* Stop it if running and free; NULL-safe. */
void igfs_gd__free(struct igfs_gd *gd);

/*
 * Carry out one ctl write. Returns 0 or -errno (SPEC §4); the reason is kept
 * for status.error. Call from the FUSE thread only.
 */
int igfs_gd__ctl(struct igfs_gd *gd, const char *buf, size_t len);

/* Start with the current params; @autostart marks a start by open. 0 or -errno. */
int igfs_gd__start(struct igfs_gd *gd, bool autostart);
/* Stop (idempotent): sources leave the pump, windows close, readers get EOF. */
void igfs_gd__stop(struct igfs_gd *gd);

/* A reader of a data file opened (+1) or closed (-1); may autostop. */
void igfs_gd__reader(struct igfs_gd *gd, int delta);

/* Param file @idx (gadget params first, then IGFS_PARAM_SETTING + s). */
#define IGFS_PARAM_SETTING 1000u
bool igfs_gd__param_exists(struct igfs_gd *gd, unsigned int idx);
const char *igfs_gd__param_name(struct igfs_gd *gd, unsigned int idx);
int igfs_gd__param_read(struct igfs_gd *gd, unsigned int idx, struct igfs_buf *out);
int igfs_gd__param_write(struct igfs_gd *gd, unsigned int idx, const char *buf, size_t len);

/* Renderings for the text files; appended to @out. 0 or -ENOMEM. */
int igfs_gd__status(struct igfs_gd *gd, struct igfs_buf *out);
int igfs_gd__schema(struct igfs_gd *gd, struct igfs_buf *out);
int igfs_gd__log(struct igfs_gd *gd, struct igfs_buf *out);
int igfs_gd__ctl_state(struct igfs_gd *gd, struct igfs_buf *out);

/* The current window of tracer @idx with a reference, or NULL. */
struct igfs_window *igfs_gd__window(struct igfs_gd *gd, size_t idx);

/*
 * Map iterators (@drain) and iterators: fetch now and make a new table for
 * data source @idx with the current sort and limit. Called by the pump each
 * interval and by opens (interval 0, snapshots). 0 or -errno; on failure the
 * reason is kept for status. Never holds gd->lock across the BPF syscalls.
 */
int igfs_gd__fetch(struct igfs_gd *gd, size_t idx, bool drain);

/*
 * The table to serve for data source @idx, re-rendered if sort or limit
 * changed since; with a reference, or NULL when there is none yet.
 */
struct igfs_table *igfs_gd__table(struct igfs_gd *gd, size_t idx);

/* Whether the data file of @idx exists now (SPEC §8: running, kept table or autostart). */
bool igfs_gd__dsfile_exists(struct igfs_gd *gd, size_t idx);

#endif /* IGFS_GD_H */
