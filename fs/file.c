// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Open files. Text files (status, schema, metadata, log, ctl and params when
 * read) are rendered once at open and served by offset. events is a live
 * file: a read with data returns at once, a read at the end is parked and
 * answered by the pump when the window grows, with interrupts and poll
 * handled so that Ctrl-C, O_NONBLOCK, select and epoll behave (SPEC §7).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <string.h>

#include "catalog.h"
#include "file.h"

enum igfs_fh_kind {
	IGFS_FH_TEXT,
	IGFS_FH_CTL,
	IGFS_FH_PARAM,
	IGFS_FH_EVENTS,
	IGFS_FH_TABLE,
};

struct igfs_fh {
	struct igfs_fh *prev, *next; /* fs->fhs */
	enum igfs_fh_kind kind;
	struct igfs_gd *gd;
	unsigned int idx;
	struct igfs_buf text;
	struct igfs_window *win;  /* events: NULL when the tracer never ran */
	struct igfs_wreader rd;	  /* guarded by win->lock */
	fuse_req_t intr_req;	  /* a request interrupted before it was parked */
	bool reader;		  /* counted in gd->readers */
	bool counted;		  /* counted in dsrt->nreaders */
	struct igfs_table *table; /* stats, snapshot: the table of this open */
};

/* An open of stats waiting for the first table of its interval. */
struct igfs_popen {
	struct igfs_popen *next;
	fuse_req_t req;
	struct fuse_file_info fi;
	struct igfs_fh *fh;
};

/* A read parked at the end of a window, answered later. */
struct igfs_waiter {
	struct igfs_waiter *next;
	fuse_req_t req;
	struct igfs_fh *fh;
	uint64_t off;
	size_t size;
	ssize_t res;
	struct igfs_buf buf;	       /* the answer, when made by the FUSE thread */
	struct iovec iov[3];	       /* or, from the pump, the window itself */
	int niov;
	char pend[IGFS_WINDOW_PEND];
};

struct igfs_pollw {
	struct igfs_pollw *next;
	struct fuse_pollhandle *ph;
	struct igfs_fh *fh;
};

static void fh_link(struct igfs_fs *fs, struct igfs_fh *fh)
{
	pthread_mutex_lock(&fs->fh_lock);
	fh->next = fs->fhs;
	if (fh->next)
		fh->next->prev = fh;
	fs->fhs = fh;
	pthread_mutex_unlock(&fs->fh_lock);
	igfs_catalog__handle(fh->gd, +1);
}

static void fh_free(struct igfs_fh *fh)
{
	struct igfs_gd *gd = fh->gd;
	struct igfs_fs *fs = gd->fs;

	pthread_mutex_lock(&fs->fh_lock);
	if (fh->prev)
		fh->prev->next = fh->next;
	else if (fs->fhs == fh)
		fs->fhs = fh->next;
	if (fh->next)
		fh->next->prev = fh->prev;
	pthread_mutex_unlock(&fs->fh_lock);
	igfs_buf_free(&fh->text);
	igfs_window__put(fh->win);
	igfs_table__put(fh->table);
	free(fh);
	/* Last: a removed gadget goes with its last handle. */
	igfs_catalog__handle(gd, -1);
}

/* Drop an open that never reached the caller. */
static void fh_abandon(struct igfs_fh *fh)
{
	if (fh->counted)
		atomic_fetch_sub(&fh->gd->dsrt[fh->idx].nreaders, 1);
	if (fh->reader)
		igfs_gd__reader(fh->gd, -1);
	fh_free(fh);
}

static void reply_open(fuse_req_t req, struct igfs_fh *fh, struct fuse_file_info *fi)
{
	/* Synthetic sizes: without direct_io the kernel answers reads at the end itself. */
	fi->direct_io = 1;
	fi->keep_cache = 0;
	fi->nonseekable = 0;
	fi->fh = (uint64_t)(uintptr_t)fh;
	if (fuse_reply_open(req, fi) == -ENOENT)
		fh_abandon(fh); /* the opener was interrupted: no release will come */
}

static int render_text(struct igfs_fh *fh, const struct igfs_node *n)
{
	const struct igfs_image *img = n->gd->g->image;

	switch (n->type) {
	case IGFS_N_STATUS:
		return igfs_gd__status(n->gd, &fh->text);
	case IGFS_N_SCHEMA:
		return igfs_gd__schema(n->gd, &fh->text);
	case IGFS_N_METADATA:
		return igfs_buf_append(&fh->text, img->yaml.data, img->yaml.len);
	case IGFS_N_LOG:
		return igfs_gd__log(n->gd, &fh->text);
	case IGFS_N_CTL:
		return igfs_gd__ctl_state(n->gd, &fh->text);
	case IGFS_N_PARAM:
		return igfs_gd__param_read(n->gd, n->idx, &fh->text);
	default:
		return -EISDIR;
	}
}

/* FUSE interrupt callback for a parked open (FUSE thread). */
static void open_interrupt(fuse_req_t req, void *data)
{
	struct igfs_dsrt *d = data;
	struct igfs_gd *gd = d->gd;
	struct igfs_popen **pp, *po = NULL;

	pthread_mutex_lock(&gd->lock);
	for (pp = (struct igfs_popen **)&d->opens; *pp; pp = &(*pp)->next) {
		if ((*pp)->req == req) {
			po = *pp;
			*pp = po->next;
			break;
		}
	}
	if (!po)
		d->open_intr_req = req;
	pthread_mutex_unlock(&gd->lock);
	if (po) {
		fuse_reply_err(req, EINTR);
		fh_abandon(po->fh);
		free(po);
	}
}

void igfs_file__table_ready(struct igfs_dsrt *d)
{
	struct igfs_gd *gd = d->gd;
	struct igfs_popen *list, *po;

	pthread_mutex_lock(&gd->lock);
	list = d->opens;
	d->opens = NULL;
	pthread_mutex_unlock(&gd->lock);
	while ((po = list)) {
		list = po->next;
		po->fh->table = igfs_gd__table(gd, d->idx);
		if (po->fh->table) {
			reply_open(po->req, po->fh, &po->fi);
		} else {
			/* Stopped before its first table: no table, no file (SPEC §8). */
			fuse_reply_err(po->req, ENOENT);
			fh_abandon(po->fh);
		}
		free(po);
	}
}

/*
 * stats and snapshot: one table per open. A map iterator with an interval
 * serves its last complete interval (parking the open until the first one);
 * with interval 0 and for iterators the open fetches now (SPEC §8).
 * Returns 1 when the request was parked.
 */
static int open_table(fuse_req_t req, struct igfs_fh *fh, const struct igfs_node *n,
		      struct fuse_file_info *fi)
{
	struct igfs_gd *gd = n->gd;
	struct igfs_dsrt *d = &gd->dsrt[n->idx];
	struct igfs_popen *po;
	bool running, parked = false;
	uint64_t interval;
	int err;

	fh->kind = IGFS_FH_TABLE;
	pthread_mutex_lock(&gd->lock);
	running = gd->state == IGFS_GD_RUNNING;
	interval = gd->interval_ms;
	pthread_mutex_unlock(&gd->lock);
	if (running && (d->ds->kind == IGFS_DS_ITER || !interval)) {
		err = igfs_gd__fetch(gd, n->idx, false);
		if (err)
			return err == -ENOMEM ? err : -EIO;
	}
	fh->table = igfs_gd__table(gd, n->idx);
	if (fh->table)
		return 0;
	if (!running)
		return -ENOENT;
	/* The first interval is not over yet: answer when it is. */
	po = calloc(1, sizeof(*po));
	if (!po)
		return -ENOMEM;
	po->req = req;
	po->fi = *fi;
	po->fh = fh;
	pthread_mutex_lock(&gd->lock);
	d->open_intr_req = NULL;
	pthread_mutex_unlock(&gd->lock);
	fuse_req_interrupt_func(req, open_interrupt, d);
	pthread_mutex_lock(&gd->lock);
	if (d->open_intr_req == req) {
		d->open_intr_req = NULL;
	} else if (!d->table) {
		po->next = d->opens;
		d->opens = po;
		parked = true;
	}
	pthread_mutex_unlock(&gd->lock);
	if (parked)
		return 1;
	free(po);
	/* Interrupted, or the table arrived meanwhile. */
	fh->table = igfs_gd__table(gd, n->idx);
	return fh->table ? 0 : -EINTR;
}

/*
 * Whether the opener may write ctl: only then does an open autostart the
 * gadget. Reading events must not be a way around ctl's mode (SPEC §9: a
 * reader of events cannot start or stop anything).
 */
static bool may_start(fuse_req_t req, struct igfs_gd *gd)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);
	gid_t groups[256];
	struct igfs_perm p;
	bool in_group;
	int n, i;

	if (!c || c->uid == 0)
		return true;
	pthread_mutex_lock(&gd->lock);
	p = gd->perm_fixed[IGFS_N_CTL];
	pthread_mutex_unlock(&gd->lock);
	if (c->uid == p.uid)
		return p.mode & S_IWUSR;
	in_group = c->gid == p.gid;
	n = in_group ? 0 : fuse_req_getgroups(req, (int)IGFS_ARRAY_SIZE(groups), groups);
	for (i = 0; i < n && i < (int)IGFS_ARRAY_SIZE(groups); i++)
		in_group |= groups[i] == p.gid;
	return in_group ? p.mode & S_IWGRP : p.mode & S_IWOTH;
}

static int open_events(fuse_req_t req, struct igfs_fh *fh, const struct igfs_node *n,
		       struct fuse_file_info *fi)
{
	struct igfs_gd *gd = n->gd;
	bool start, denied = false;
	int err;

	if ((fi->flags & O_ACCMODE) != O_RDONLY)
		return -EACCES;
	fh->kind = IGFS_FH_EVENTS;
	/* Bounded fan-out: every reader costs a position and a parked request. */
	if (atomic_fetch_add(&gd->dsrt[n->idx].nreaders, 1) >= IGFS_MAX_READERS) {
		atomic_fetch_sub(&gd->dsrt[n->idx].nreaders, 1);
		pthread_mutex_lock(&gd->lock);
		snprintf(gd->error, sizeof(gd->error), "more than %d readers of %s", IGFS_MAX_READERS,
			 igfs_ds_file_name(&gd->g->info->ds[n->idx]));
		pthread_mutex_unlock(&gd->lock);
		return -EMFILE;
	}
	fh->counted = true;
	/* Count the reader first so that a concurrent last close cannot autostop it. */
	igfs_gd__reader(gd, +1);
	fh->reader = true;
	pthread_mutex_lock(&gd->lock);
	/*
	 * A table kept from the last run (SPEC §8: interval 0, flush-on-stop) is
	 * what the user stopped the gadget for: serve it rather than autostart,
	 * which would throw it away.
	 */
	start = gd->fs->opts.autostart && gd->state != IGFS_GD_RUNNING &&
		!(gd->g->info->ds[n->idx].kind == IGFS_DS_MAPITER && gd->dsrt[n->idx].table);
	pthread_mutex_unlock(&gd->lock);
	if (start && !may_start(req, gd)) {
		start = false;
		denied = true;
	}
	if (start) {
		err = igfs_gd__start(gd, true);
		if (err)
			return err;
	}
	if (gd->g->info->ds[n->idx].kind != IGFS_DS_TRACER) {
		err = open_table(req, fh, n, fi);
		/* No table and no right to make one: say so rather than ENOENT. */
		return err == -ENOENT && denied ? -EACCES : err;
	}
	fh->win = igfs_gd__window(gd, n->idx);
	if (fh->win) {
		pthread_mutex_lock(&fh->win->lock);
		igfs_window__reader_init_locked(fh->win, &fh->rd);
		pthread_mutex_unlock(&fh->win->lock);
	}
	return 0;
}

/* A window read that also counts what the reader missed in status.lost (SPEC §6). */
static ssize_t events_read_locked(struct igfs_fh *fh, uint64_t off, size_t size,
				  struct igfs_buf *out)
{
	uint64_t before = fh->rd.lost;
	ssize_t n;

	n = igfs_window__read_locked(fh->win, &fh->rd, off, size, out);
	if (fh->rd.lost != before)
		atomic_fetch_add(&fh->gd->lost_readers, fh->rd.lost - before);
	return n;
}

void igfs_file__open(fuse_req_t req, struct igfs_fs *fs, const struct igfs_node *n,
		     struct fuse_file_info *fi)
{
	struct igfs_fh *fh;
	int err = 0;

	(void)fs;
	fh = calloc(1, sizeof(*fh));
	if (!fh) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fh->gd = n->gd;
	fh->idx = n->idx;
	fh_link(n->gd->fs, fh);
	switch (n->type) {
	case IGFS_N_CTL:
		fh->kind = IGFS_FH_CTL;
		err = render_text(fh, n);
		break;
	case IGFS_N_PARAM:
		fh->kind = IGFS_FH_PARAM;
		err = render_text(fh, n);
		break;
	case IGFS_N_DSFILE:
		err = open_events(req, fh, n, fi);
		if (err == 1)
			return; /* parked: the pump answers */
		break;
	default:
		fh->kind = IGFS_FH_TEXT;
		/* Root may open anything for writing: refuse writes to read-only files. */
		if ((fi->flags & O_ACCMODE) != O_RDONLY)
			err = -EACCES;
		else
			err = render_text(fh, n);
		break;
	}
	if (err) {
		fh_abandon(fh);
		fuse_reply_err(req, -err);
		return;
	}
	reply_open(req, fh, fi);
}

static void reply_text(fuse_req_t req, const struct igfs_buf *t, size_t size, off_t off)
{
	if (off < 0 || (size_t)off >= t->len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	fuse_reply_buf(req, t->data + off, IGFS_MIN(size, t->len - (size_t)off));
}

static void waiter_free(struct igfs_waiter *wt)
{
	igfs_buf_free(&wt->buf);
	free(wt);
}

static void waiter_reply(struct igfs_waiter *wt)
{
	if (wt->res >= 0 && wt->niov)
		fuse_reply_iov(wt->req, wt->iov, wt->niov);
	else if (wt->res >= 0)
		fuse_reply_buf(wt->req, wt->buf.data, (size_t)wt->res);
	else
		fuse_reply_err(wt->req, (int)-wt->res);
	waiter_free(wt);
}

/* FUSE interrupt callback: runs on the FUSE thread (fuse_lowlevel.h). */
static void events_interrupt(fuse_req_t req, void *data)
{
	struct igfs_fh *fh = data;
	struct igfs_window *w = fh->win;
	struct igfs_waiter **pp, *wt = NULL;

	pthread_mutex_lock(&w->lock);
	for (pp = (struct igfs_waiter **)&w->waiters; *pp; pp = &(*pp)->next) {
		if ((*pp)->req == req) {
			wt = *pp;
			*pp = wt->next;
			break;
		}
	}
	if (!wt)
		fh->intr_req = req; /* not parked yet: the read handler answers EINTR */
	pthread_mutex_unlock(&w->lock);
	if (wt) {
		wt->res = -EINTR;
		waiter_reply(wt);
	}
}

static void read_events(fuse_req_t req, struct igfs_fh *fh, size_t size, off_t off,
			struct fuse_file_info *fi)
{
	struct igfs_window *w = fh->win;
	struct igfs_waiter *wt;
	struct igfs_buf out = {};
	ssize_t n;

	if (!w || off < 0) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	/* Fast path: data is there. */
	pthread_mutex_lock(&w->lock);
	n = events_read_locked(fh, (uint64_t)off, size, &out);
	pthread_mutex_unlock(&w->lock);
	if (n != -EAGAIN) {
		if (n >= 0)
			fuse_reply_buf(req, out.data, (size_t)n);
		else
			fuse_reply_err(req, (int)-n);
		igfs_buf_free(&out);
		return;
	}
	igfs_buf_free(&out);
	/* follow=false: the end is the end, as in a log file that grows (polling shippers). */
	if (!atomic_load(&fh->gd->follow)) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (fi->flags & O_NONBLOCK) {
		fuse_reply_err(req, EAGAIN);
		return;
	}
	wt = calloc(1, sizeof(*wt));
	if (!wt) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	wt->req = req;
	wt->fh = fh;
	wt->off = (uint64_t)off;
	wt->size = size;
	/*
	 * Register for interrupts before the request becomes visible to the pump:
	 * once parked, the pump may answer (and free) it at any moment.
	 */
	pthread_mutex_lock(&w->lock);
	fh->intr_req = NULL;
	pthread_mutex_unlock(&w->lock);
	fuse_req_interrupt_func(req, events_interrupt, fh);
	pthread_mutex_lock(&w->lock);
	if (fh->intr_req == req) {
		fh->intr_req = NULL;
		wt->res = -EINTR;
	} else {
		wt->res = events_read_locked(fh, wt->off, size, &wt->buf);
		if (wt->res == -EAGAIN) {
			wt->next = w->waiters;
			w->waiters = wt;
			wt = NULL;
		}
	}
	pthread_mutex_unlock(&w->lock);
	if (wt)
		waiter_reply(wt);
}

void igfs_file__read(fuse_req_t req, struct igfs_fh *fh, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	switch (fh->kind) {
	case IGFS_FH_EVENTS:
		read_events(req, fh, size, off, fi);
		return;
	case IGFS_FH_TABLE: {
		struct igfs_buf t = { .data = fh->table->data, .len = fh->table->len };

		reply_text(req, &t, size, off);
		return;
	}
	default:
		reply_text(req, &fh->text, size, off);
		return;
	}
}

void igfs_file__write(fuse_req_t req, struct igfs_fh *fh, const char *buf, size_t size, off_t off)
{
	int err;

	(void)off; /* each write is one whole command or value, wherever it lands */
	switch (fh->kind) {
	case IGFS_FH_CTL:
		if (size > IGFS_MAX_CTL_WRITE) {
			err = igfs_gd__ctl(fh->gd, buf, size); /* records E2BIG in status */
			fuse_reply_err(req, E2BIG);
			return;
		}
		err = igfs_gd__ctl(fh->gd, buf, size);
		break;
	case IGFS_FH_PARAM:
		err = igfs_gd__param_write(fh->gd, fh->idx, buf, size);
		break;
	default:
		err = -EBADF;
		break;
	}
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_write(req, size);
}

void igfs_file__wake(struct igfs_window *w)
{
	struct igfs_waiter **pp, *wt, *done = NULL;
	struct igfs_pollw *polls, *pw;

	pthread_mutex_lock(&w->lock);
	pp = (struct igfs_waiter **)&w->waiters;
	while ((wt = *pp)) {
		uint64_t before = wt->fh->rd.lost;

		/*
		 * No copy: the reply points into the window. Only the appender calls
		 * wake (the pump, between appends), or a window that no longer grows.
		 */
		wt->niov = 0;
		wt->res = igfs_window__read_iov_locked(w, &wt->fh->rd, wt->off, wt->size, wt->pend,
						       wt->iov, &wt->niov);
		if (wt->fh->rd.lost != before)
			atomic_fetch_add(&wt->fh->gd->lost_readers, wt->fh->rd.lost - before);
		if (wt->res == -EAGAIN) {
			pp = &wt->next;
			continue;
		}
		*pp = wt->next;
		wt->next = done;
		done = wt;
	}
	polls = w->polls;
	w->polls = NULL;
	pthread_mutex_unlock(&w->lock);
	/* Replies and notifications outside the lock (STYLE §9.5). */
	while ((wt = done)) {
		done = wt->next;
		waiter_reply(wt);
	}
	while ((pw = polls)) {
		polls = pw->next;
		fuse_lowlevel_notify_poll(pw->ph);
		fuse_pollhandle_destroy(pw->ph);
		free(pw);
	}
}

void igfs_file__poll(fuse_req_t req, struct igfs_fh *fh, struct fuse_pollhandle *ph)
{
	struct igfs_window *w = fh->win;
	struct igfs_pollw **pp, *pw, *old = NULL;
	unsigned int revents = POLLOUT | POLLWRNORM;
	bool readable;

	if (fh->kind != IGFS_FH_EVENTS || !w) {
		/* Finite files are always readable; never POLLHUP (less watches for it). */
		if (ph)
			fuse_pollhandle_destroy(ph);
		fuse_reply_poll(req, POLLIN | POLLRDNORM | (fh->kind == IGFS_FH_TEXT ? 0 : revents));
		return;
	}
	pthread_mutex_lock(&w->lock);
	readable = igfs_window__readable_locked(w, &fh->rd) || w->closed ||
		   !atomic_load(&fh->gd->follow);
	for (pp = (struct igfs_pollw **)&w->polls; *pp; pp = &(*pp)->next) {
		if ((*pp)->fh == fh) {
			old = *pp;
			*pp = old->next;
			break;
		}
	}
	if (ph && !readable) {
		pw = old ? old : calloc(1, sizeof(*pw));
		if (pw) {
			if (old)
				fuse_pollhandle_destroy(old->ph);
			pw->ph = ph;
			pw->fh = fh;
			pw->next = w->polls;
			w->polls = pw;
			ph = NULL;
			old = NULL;
		}
	}
	pthread_mutex_unlock(&w->lock);
	if (old) {
		fuse_pollhandle_destroy(old->ph);
		free(old);
	}
	if (ph)
		fuse_pollhandle_destroy(ph);
	fuse_reply_poll(req, readable ? POLLIN | POLLRDNORM : 0);
}

void igfs_file__lseek(fuse_req_t req, struct igfs_fh *fh, off_t off, int whence)
{
	uint64_t size = fh->kind == IGFS_FH_TABLE ? fh->table->len : fh->text.len;

	if (fh->kind == IGFS_FH_EVENTS) {
		size = 0;
		if (fh->win) {
			pthread_mutex_lock(&fh->win->lock);
			size = fh->win->end;
			pthread_mutex_unlock(&fh->win->lock);
		}
	}
	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	switch (whence) {
	case SEEK_DATA:
		/* No holes: data everywhere before the end. */
		if ((uint64_t)off >= size)
			fuse_reply_err(req, ENXIO);
		else
			fuse_reply_lseek(req, off);
		return;
	case SEEK_HOLE:
		if ((uint64_t)off > size)
			fuse_reply_err(req, ENXIO);
		else
			fuse_reply_lseek(req, (off_t)size);
		return;
	case SEEK_SET:
		fuse_reply_lseek(req, off);
		return;
	case SEEK_END:
		fuse_reply_lseek(req, (off_t)size + off);
		return;
	default:
		fuse_reply_err(req, EINVAL);
		return;
	}
}

void igfs_file__release_all(struct igfs_fs *fs)
{
	struct igfs_fh *fh;

	for (;;) {
		pthread_mutex_lock(&fs->fh_lock);
		fh = fs->fhs;
		pthread_mutex_unlock(&fs->fh_lock);
		if (!fh)
			break;
		fh_abandon(fh);
	}
}

void igfs_file__release(fuse_req_t req, struct igfs_fh *fh)
{
	struct igfs_window *w = fh->win;

	if (w) {
		struct igfs_waiter **pp, *wt, *stale = NULL;
		struct igfs_pollw **qq, *pw, *spolls = NULL;

		/* The kernel releases after every read finished; drop leftovers anyway. */
		pthread_mutex_lock(&w->lock);
		pp = (struct igfs_waiter **)&w->waiters;
		while ((wt = *pp)) {
			if (wt->fh != fh) {
				pp = &wt->next;
				continue;
			}
			*pp = wt->next;
			wt->next = stale;
			stale = wt;
		}
		qq = (struct igfs_pollw **)&w->polls;
		while ((pw = *qq)) {
			if (pw->fh != fh) {
				qq = &pw->next;
				continue;
			}
			*qq = pw->next;
			pw->next = spolls;
			spolls = pw;
		}
		pthread_mutex_unlock(&w->lock);
		while ((wt = stale)) {
			stale = wt->next;
			wt->res = -EBADF;
			waiter_reply(wt);
		}
		while ((pw = spolls)) {
			spolls = pw->next;
			fuse_pollhandle_destroy(pw->ph);
			free(pw);
		}
	}
	fh_abandon(fh);
	fuse_reply_err(req, 0);
}
