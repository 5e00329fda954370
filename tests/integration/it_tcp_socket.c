// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Integration tests of the bundled network gadgets: trace_tcp (connect,
 * accept and close events of real loopback connections between two child
 * processes, refused connects, filters) and snapshot_socket (listeners, UDP
 * sockets and established pairs of this process, by port and inode). Root,
 * BPF and FUSE; each test mounts its own igfs (harness.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define SRV_COMM      "igfs-it-tsrv"	  /* comm of the server child */
#define CLI_COMM      "igfs-it-tcli"	  /* comm of the client child */
#define CHILD_ALARM_S 15		  /* a child that hangs dies by itself */
#define PIPE_WAIT_MS  5000		  /* a child reports what it did */
#define EVENT_WAIT_MS 8000		  /* events reach a reader */
#define SNAP_WAIT_MS  5000		  /* a snapshot is read to EOF */
#define MAX_SKEW_NS   (10LL * 1000000000) /* timestamp_raw vs. the wall clock */
#define TCP_LISTEN    10		  /* include/net/tcp_states.h */
#define TCP_ESTAB     1
#define TCP_CLOSE     7
#define TCP_TIME_WAIT 6

/* ----- JSON helpers ----- */

/* Print @l (for failure messages). */
static void dump_line(const char *what, json_t *l)
{
	char *s = l ? json_dumps(l, JSON_COMPACT) : NULL;

	fprintf(stderr, "%s: %s\n", what, s ? s : "(none)");
	free(s);
}

/* The inode number of /proc/self/ns/<ns>, or 0. */
static unsigned long long ns_ino(const char *ns)
{
	char p[64];
	struct stat st;

	snprintf(p, sizeof(p), "/proc/self/ns/%s", ns);
	return stat(p, &st) ? 0 : (unsigned long long)st.st_ino;
}

static unsigned long long fd_ino(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : (unsigned long long)st.st_ino;
}

/* ----- addresses ----- */

/* One loopback family under test. */
struct fam {
	int af;
	const char *addr; /* as IG renders it */
	int version;
};

static const struct fam fam_v4 = {AF_INET, "127.0.0.1", 4};
static const struct fam fam_v6 = {AF_INET6, "::1", 6};

static socklen_t sa_make(const struct fam *f, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (f->af == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*sin);
	}
	((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
	((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
	((struct sockaddr_in6 *)ss)->sin6_addr = in6addr_loopback;
	return sizeof(struct sockaddr_in6);
}

static int sock_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return -1;
	return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					     : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* A socket of @type bound to the loopback address of @f, port @port (0: any); fd or -errno. */
static int bound_socket(const struct fam *f, int type, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = sa_make(f, port, &ss);
	int fd, err;

	fd = socket(f->af, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&ss, len)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* A listener on the loopback of @f; fd, or -errno. */
static int listener(const struct fam *f)
{
	int fd = bound_socket(f, SOCK_STREAM, 0), err;

	if (fd >= 0 && listen(fd, 8)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Whether this host has the loopback of @f (IPv6 may be off): 0, ITH_SKIP or -1. */
static int have_family(const struct fam *f)
{
	int fd = bound_socket(f, SOCK_STREAM, 0);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (fd == -EAFNOSUPPORT || fd == -EADDRNOTAVAIL) {
		fprintf(stderr, "no %s loopback here (%s): skipping\n", f->addr, strerror(-fd));
		return ITH_SKIP;
	}
	fprintf(stderr, "cannot bind %s: %s\n", f->addr, strerror(-fd));
	return -1;
}

/* A port of @f with nobody listening (bound once, then released). */
static int closed_port(const struct fam *f)
{
	int fd = bound_socket(f, SOCK_STREAM, 0), port;

	if (fd < 0)
		return -1;
	port = sock_port(fd);
	close(fd);
	return port;
}

/* ----- the two processes of a connection ----- */

/* What a child reports through its pipe, one record per step. */
struct report {
	int port; /* the local port */
	int fd;	  /* the socket's fd in the child */
	int err;  /* errno of the step, 0 on success */
};

static void child_setup(int *fds, const char *comm)
{
	close(fds[0]);
	prctl(PR_SET_NAME, comm, 0, 0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	alarm(CHILD_ALARM_S);
}

static void child_report(int fd, int port, int sfd, int err)
{
	struct report r = {.port = port, .fd = sfd, .err = err};

	if (write(fd, &r, sizeof(r)) != sizeof(r))
		_exit(3);
}

/* Wait up to @timeout_ms for @fd to be readable. */
static bool wait_readable(int fd, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, timeout_ms) == 1;
}

/*
 * The server child: listen on @f, report {port, listening fd}, accept one
 * connection, report {client port, accepted fd}, wait until the client has
 * closed, then close both sockets.
 */
static void server_main(const struct fam *f, int *fds)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	int lfd, afd;
	char buf[64];

	child_setup(fds, SRV_COMM);
	lfd = listener(f);
	if (lfd < 0)
		_exit(2);
	child_report(fds[1], sock_port(lfd), lfd, 0);
	if (!wait_readable(lfd, 10000))
		_exit(4);
	afd = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
	if (afd < 0)
		_exit(5);
	child_report(fds[1],
		     ntohs(peer.ss_family == AF_INET ? ((struct sockaddr_in *)&peer)->sin_port
						     : ((struct sockaddr_in6 *)&peer)->sin6_port),
		     afd, 0);
	while (wait_readable(afd, 10000) && read(afd, buf, sizeof(buf)) > 0)
		;
	close(afd);
	close(lfd);
	_exit(0);
}

/* The client child: connect to @port of @f, report {local port, fd, errno}, close. */
static void client_main(const struct fam *f, int port, int *fds)
{
	struct sockaddr_storage ss;
	socklen_t len = sa_make(f, port, &ss);
	int fd, err = 0, lport;

	child_setup(fds, CLI_COMM);
	fd = socket(f->af, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		_exit(2);
	if (connect(fd, (struct sockaddr *)&ss, len))
		err = errno;
	lport = sock_port(fd);
	child_report(fds[1], lport, fd, err);
	close(fd);
	_exit(0);
}

/* A forked child that runs @fn-like code; the parent keeps the pipe's read end. */
struct child {
	pid_t pid;
	int rd;
};

static void child_init(struct child *c)
{
	c->pid = -1;
	c->rd = -1;
}

static void child_end(struct child *c)
{
	if (c->pid > 0)
		ith_kill_wait(c->pid);
	if (c->rd >= 0)
		close(c->rd);
	child_init(c);
}

/* Wait for the child to exit by itself with status 0. */
static int child_join(struct child *c)
{
	int st = 0;

	if (c->pid <= 0)
		return 0;
	if (ith_wait_pid(c->pid, PIPE_WAIT_MS, &st)) {
		fprintf(stderr, "child %d did not exit\n", (int)c->pid);
		return -1;
	}
	c->pid = -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "child exited with status 0x%x\n", st);
		return -1;
	}
	return 0;
}

static int child_read(struct child *c, struct report *r)
{
	ssize_t n;

	if (!wait_readable(c->rd, PIPE_WAIT_MS))
		return -ETIMEDOUT;
	n = read(c->rd, r, sizeof(*r));
	return n == sizeof(*r) ? 0 : -EIO;
}

static int start_server(struct child *c, const struct fam *f)
{
	int fds[2];

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	c->pid = fork();
	if (c->pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -errno;
	}
	if (!c->pid)
		server_main(f, fds);
	close(fds[1]);
	c->rd = fds[0];
	return 0;
}

static int start_client(struct child *c, const struct fam *f, int port)
{
	int fds[2];

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	c->pid = fork();
	if (c->pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -errno;
	}
	if (!c->pid)
		client_main(f, port, fds);
	close(fds[1]);
	c->rd = fds[0];
	return 0;
}

/* What one connection between the two children looked like from user space. */
struct conn {
	pid_t srv_pid, cli_pid;
	int port;	  /* the server's port */
	int lfd;	  /* the server's listening fd */
	int afd;	  /* the server's accepted fd */
	int cport;	  /* the client's port */
	int cfd;	  /* the client's fd */
	int refused_port; /* a port nobody listens on (refused connect), or 0 */
	int refused_fd;
	pid_t refused_pid;
};

/*
 * A server child and a client child talk once over the loopback of @f; with
 * @refused, a second client then connects to a closed port. @before_client,
 * when set, runs once the server listens (e.g. to start the gadget with the
 * server's pid).
 */
static int run_conn(const struct fam *f, bool refused, int (*before_client)(void *, pid_t),
		    void *arg, struct conn *out)
{
	struct child srv, cli, bad;
	struct report r;
	int ret = -1, err;

	child_init(&srv);
	child_init(&cli);
	child_init(&bad);
	memset(out, 0, sizeof(*out));
	err = start_server(&srv, f);
	ITH_CHECK(!err, "fork server: %s", strerror(-err));
	out->srv_pid = srv.pid;
	err = child_read(&srv, &r);
	ITH_CHECK(!err, "the server did not report its port: %s", strerror(-err));
	out->port = r.port;
	out->lfd = r.fd;
	ITH_CHECK(out->port > 0, "the server has no port");
	if (before_client)
		ITH_CHECK(!before_client(arg, srv.pid), "before the client");

	err = start_client(&cli, f, out->port);
	ITH_CHECK(!err, "fork client: %s", strerror(-err));
	out->cli_pid = cli.pid;
	err = child_read(&cli, &r);
	ITH_CHECK(!err, "the client did not report: %s", strerror(-err));
	ITH_CHECK(!r.err, "connect to %s port %d: %s", f->addr, out->port, strerror(r.err));
	out->cport = r.port;
	out->cfd = r.fd;
	err = child_read(&srv, &r);
	ITH_CHECK(!err, "the server did not report its accept: %s", strerror(-err));
	ITH_CHECK(r.port == out->cport, "the server accepted port %d, the client has %d", r.port,
		  out->cport);
	out->afd = r.fd;
	ITH_CHECK(!child_join(&cli) && !child_join(&srv), "children");

	if (refused) {
		out->refused_port = closed_port(f);
		ITH_CHECK(out->refused_port > 0, "no closed port");
		err = start_client(&bad, f, out->refused_port);
		ITH_CHECK(!err, "fork client: %s", strerror(-err));
		out->refused_pid = bad.pid;
		err = child_read(&bad, &r);
		ITH_CHECK(!err, "the second client did not report: %s", strerror(-err));
		ITH_CHECK(r.err == ECONNREFUSED, "connect to closed port %d gave '%s'",
			  out->refused_port, strerror(r.err));
		out->refused_fd = r.fd;
		ITH_CHECK(!child_join(&bad), "refused child");
	}
	ret = 0;
out:
	child_end(&srv);
	child_end(&cli);
	child_end(&bad);
	return ret;
}

/* ----- trace_tcp events ----- */

/* An event of @type by @pid with local port @sport (0: any) and remote port @dport. */
struct ev_want {
	const char *type;
	pid_t pid;
	int sport, dport;
};

static json_t *find_ev(const struct ith_stream *s, const struct ev_want *w)
{
	size_t i;

	for (i = 0; i < json_array_size(s->lines); i++) {
		json_t *l = json_array_get(s->lines, i);

		if (ith_str_is(ith_jstr(l, "type"), w->type) && ith_jint(l, "proc.pid") == w->pid &&
		    (!w->sport || ith_jint(l, "src.port") == w->sport) &&
		    ith_jint(l, "dst.port") == w->dport)
			return l;
	}
	return NULL;
}

struct ev_set {
	const struct ev_want *w;
	size_t n;
};

static bool have_all(const struct ith_stream *s, const void *arg)
{
	const struct ev_set *set = arg;
	size_t i;

	for (i = 0; i < set->n; i++)
		if (!find_ev(s, &set->w[i]))
			return false;
	return true;
}

/* The fields every trace_tcp event has, for @pid/@comm on @f. */
static int check_common(json_t *l, const struct fam *f, pid_t pid, const char *comm)
{
	json_int_t raw = ith_jint(l, "timestamp_raw");
	long long skew = (long long)raw - ith_realtime_ns();
	const char *ends[] = {"src", "dst"};
	char key[32];
	size_t i;
	int ret = -1;

	ITH_CHECK(ith_jstr(l, "timestamp") && strlen(ith_jstr(l, "timestamp")) >= 30 && raw > 0 &&
			  skew < MAX_SKEW_NS && skew > -MAX_SKEW_NS,
		  "timestamp '%s' / timestamp_raw %lld", ith_show(ith_jstr(l, "timestamp")),
		  (long long)raw);
	ITH_CHECK(ith_str_is(ith_jstr(l, "proc.comm"), comm), "proc.comm '%s', want '%s'",
		  ith_show(ith_jstr(l, "proc.comm")), comm);
	ITH_CHECK(ith_jint(l, "proc.pid") == pid && ith_jint(l, "proc.tid") == pid,
		  "proc.pid/tid %lld/%lld, want %d", (long long)ith_jint(l, "proc.pid"),
		  (long long)ith_jint(l, "proc.tid"), (int)pid);
	ITH_CHECK(ith_jint(l, "proc.parent.pid") == getpid(), "proc.parent.pid %lld, want %d",
		  (long long)ith_jint(l, "proc.parent.pid"), (int)getpid());
	ITH_CHECK(ith_jint(l, "proc.creds.uid") == (json_int_t)getuid(), "proc.creds.uid %lld",
		  (long long)ith_jint(l, "proc.creds.uid"));
	ITH_CHECK((unsigned long long)ith_jint(l, "proc.mntns_id") == ns_ino("mnt"),
		  "proc.mntns_id %lld, want %llu", (long long)ith_jint(l, "proc.mntns_id"),
		  ns_ino("mnt"));
	ITH_CHECK((unsigned long long)ith_jint(l, "netns_id") == ns_ino("net"),
		  "netns_id %lld, want %llu", (long long)ith_jint(l, "netns_id"), ns_ino("net"));
	for (i = 0; i < IGFS_IT_ARRAY_SIZE(ends); i++) {
		snprintf(key, sizeof(key), "%s.addr", ends[i]);
		ITH_CHECK(ith_str_is(ith_jstr(l, key), f->addr), "%s '%s', want '%s'", key,
			  ith_show(ith_jstr(l, key)), f->addr);
		snprintf(key, sizeof(key), "%s.proto", ends[i]);
		ITH_CHECK(ith_str_is(ith_jstr(l, key), "TCP"), "%s '%s'", key, ith_show(ith_jstr(l, key)));
		snprintf(key, sizeof(key), "%s.proto_raw", ends[i]);
		ITH_CHECK(ith_jint(l, key) == IPPROTO_TCP, "%s %lld", key, (long long)ith_jint(l, key));
		snprintf(key, sizeof(key), "%s.version", ends[i]);
		ITH_CHECK(ith_jint(l, key) == f->version, "%s %lld, want %d", key,
			  (long long)ith_jint(l, key), f->version);
		snprintf(key, sizeof(key), "%s.addr_raw", ends[i]);
		ITH_CHECK(!ith_get(l, key), "%s is in the JSON (IG leaves it out)", key);
	}
	ret = 0;
out:
	if (ret)
		dump_line("event", l);
	return ret;
}

/* @l has error "@name" (errno @num), "" for 0. */
static int check_error(json_t *l, const char *name, int num)
{
	int ret = -1;

	ITH_CHECK(ith_str_is(ith_jstr(l, "error"), name) && ith_jint(l, "error_raw") == num,
		  "error '%s' (%lld), want '%s' (%d)", ith_show(ith_jstr(l, "error")),
		  (long long)ith_jint(l, "error_raw"), name, num);
	ret = 0;
out:
	if (ret)
		dump_line("event", l);
	return ret;
}

static int open_events(const struct ith_gadget *g, struct ith_stream *s)
{
	int fd = open(g->events, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "open '%s': %m\n", g->events);
		return -1;
	}
	s->fd = fd;
	return 0;
}

static void close_stream(struct ith_stream *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	ith_stream_free(s);
}

/*
 * connect, accept and close on both sides, plus a refused connect, on the
 * loopback of @f: every event with its process, endpoints, fds and errors.
 */
static int tcp_lifecycle(struct ith_mount *m, const struct fam *f)
{
	json_t *co, *ac, *ccl, *scl, *bad;
	struct ith_gadget g;
	struct ith_stream s;
	struct conn c;
	int ret = -1, err;

	ith_stream_init(&s, -1);
	err = have_family(f);
	if (err)
		return err;
	ith_gadget_paths(m, "trace_tcp", &g);
	err = ith_ctl(&g, "start");
	ITH_CHECK(!err, "start trace_tcp: %s", strerror(-err));
	ITH_CHECK(!open_events(&g, &s), "events");
	ITH_CHECK(!run_conn(f, true, NULL, NULL, &c), "the connection");
	{
		const struct ev_want w[] = {
			{"connect", c.cli_pid, c.cport, c.port},
			{"accept", c.srv_pid, c.port, c.cport},
			{"close", c.cli_pid, c.cport, c.port},
			{"close", c.srv_pid, c.port, c.cport},
			{"connect", c.refused_pid, 0, c.refused_port},
		};
		const struct ev_set set = {w, IGFS_IT_ARRAY_SIZE(w)};

		err = ith_stream_until(&s, EVENT_WAIT_MS, have_all, &set);
		if (err) {
			size_t i;

			for (i = 0; i < set.n; i++)
				fprintf(stderr, "%s by %d %d->%d: %s\n", w[i].type, (int)w[i].pid,
					w[i].sport, w[i].dport,
					find_ev(&s, &w[i]) ? "seen" : "MISSING");
		}
		ITH_CHECK(!err, "not every event arrived: %s (%zu lines read)", strerror(-err),
			  json_array_size(s.lines));
		ITH_CHECK(!s.bad, "bad lines: %s", s.why);
		co = find_ev(&s, &w[0]);
		ac = find_ev(&s, &w[1]);
		ccl = find_ev(&s, &w[2]);
		scl = find_ev(&s, &w[3]);
		bad = find_ev(&s, &w[4]);
	}
	fprintf(stderr, "server %d port %d, client %d port %d, refused port %d\n", (int)c.srv_pid,
		c.port, (int)c.cli_pid, c.cport, c.refused_port);

	/* connect: the client's process, its fd, success. */
	ITH_CHECK(!check_common(co, f, c.cli_pid, CLI_COMM), "connect event");
	ITH_CHECK(!check_error(co, "", 0), "connect error");
	ITH_CHECK(ith_jint(co, "fd") == c.cfd && ith_jint(co, "accept_fd") == -1,
		  "connect fd %lld / accept_fd %lld, want %d / -1", (long long)ith_jint(co, "fd"),
		  (long long)ith_jint(co, "accept_fd"), c.cfd);
	ITH_CHECK(ith_jint(co, "type_raw") == 0, "connect type_raw %lld",
		  (long long)ith_jint(co, "type_raw"));

	/* accept: the server's process, the listening and the new fd. */
	ITH_CHECK(!check_common(ac, f, c.srv_pid, SRV_COMM), "accept event");
	ITH_CHECK(!check_error(ac, "", 0), "accept error");
	ITH_CHECK(ith_jint(ac, "fd") == c.lfd && ith_jint(ac, "accept_fd") == c.afd,
		  "accept fd %lld / accept_fd %lld, want %d / %d", (long long)ith_jint(ac, "fd"),
		  (long long)ith_jint(ac, "accept_fd"), c.lfd, c.afd);
	ITH_CHECK(ith_jint(ac, "type_raw") == 1, "accept type_raw %lld",
		  (long long)ith_jint(ac, "type_raw"));

	/* close: each side by its owner, even though the kernel finishes it in softirq. */
	ITH_CHECK(!check_common(ccl, f, c.cli_pid, CLI_COMM), "client close event");
	ITH_CHECK(!check_common(scl, f, c.srv_pid, SRV_COMM), "server close event");
	ITH_CHECK(!check_error(ccl, "", 0) && !check_error(scl, "", 0), "close errors");
	ITH_CHECK(ith_jint(ccl, "fd") == c.cfd && ith_jint(scl, "fd") == c.afd,
		  "close fds %lld / %lld, want %d / %d", (long long)ith_jint(ccl, "fd"),
		  (long long)ith_jint(scl, "fd"), c.cfd, c.afd);
	ITH_CHECK(ith_jint(ccl, "type_raw") == 2, "close type_raw %lld",
		  (long long)ith_jint(ccl, "type_raw"));
	ITH_CHECK(ith_jint(ccl, "timestamp_raw") >= ith_jint(co, "timestamp_raw") &&
			  ith_jint(scl, "timestamp_raw") >= ith_jint(ac, "timestamp_raw"),
		  "a close is older than its connect/accept");

	/* The refused connect: the second client, ECONNREFUSED, no close after it. */
	ITH_CHECK(!check_common(bad, f, c.refused_pid, CLI_COMM), "refused connect event");
	ITH_CHECK(!check_error(bad, "ECONNREFUSED", ECONNREFUSED), "refused connect error");
	ITH_CHECK(ith_jint(bad, "fd") == c.refused_fd, "refused connect fd %lld, want %d",
		  (long long)ith_jint(bad, "fd"), c.refused_fd);
	ITH_CHECK(ith_jint(bad, "src.port") > 0, "refused connect has no source port");
	{
		const struct ev_want w = {"close", c.refused_pid, 0, c.refused_port};

		ITH_CHECK(!find_ev(&s, &w), "a close event for a connection that never was");
	}
	ret = 0;
out:
	close_stream(&s);
	ith_ctl(&g, "stop");
	return ret;
}

static int test_tcp_ipv4(struct ith_mount *m)
{
	return tcp_lifecycle(m, &fam_v4);
}

static int test_tcp_ipv6(struct ith_mount *m)
{
	return tcp_lifecycle(m, &fam_v6);
}

/* "start pid=<server>" once the server listens. */
static int start_with_pid(void *arg, pid_t srv)
{
	const struct ith_gadget *g = arg;
	char cmd[64];
	int err;

	snprintf(cmd, sizeof(cmd), "start pid=%d", (int)srv);
	err = ith_ctl(g, cmd);
	if (err)
		fprintf(stderr, "'%s': %s\n", cmd, strerror(-err));
	return err;
}

/* pid=<server>: the server's accept and close, nothing of the client or anyone else. */
static int test_tcp_pid_filter(struct ith_mount *m)
{
	struct ith_gadget g;
	struct ith_stream s;
	struct conn c;
	size_t i;
	int ret = -1, err;

	ith_stream_init(&s, -1);
	ith_gadget_paths(m, "trace_tcp", &g);
	ITH_CHECK(!run_conn(&fam_v4, false, start_with_pid, &g, &c), "the connection");
	ITH_CHECK(!open_events(&g, &s), "events");
	{
		const struct ev_want w[] = {
			{"accept", c.srv_pid, c.port, c.cport},
			{"close", c.srv_pid, c.port, c.cport},
		};
		const struct ev_set set = {w, IGFS_IT_ARRAY_SIZE(w)};

		err = ith_stream_until(&s, EVENT_WAIT_MS, have_all, &set);
		ITH_CHECK(!err, "the server's accept and close did not arrive: %s", strerror(-err));
	}
	ITH_CHECK(!s.bad, "bad lines: %s", s.why);
	for (i = 0; i < json_array_size(s.lines); i++) {
		json_t *l = json_array_get(s.lines, i);

		if (ith_is_lost_line(l, NULL))
			continue;
		if (ith_jint(l, "proc.pid") != c.srv_pid)
			dump_line("unexpected", l);
		ITH_CHECK(ith_jint(l, "proc.pid") == c.srv_pid,
			  "an event of pid %lld passed the filter pid=%d",
			  (long long)ith_jint(l, "proc.pid"), (int)c.srv_pid);
	}
	ret = 0;
out:
	close_stream(&s);
	ith_ctl(&g, "stop");
	return ret;
}

/* failure-only=true: the refused connect shows, the good connection does not. */
static int test_tcp_failure_only(struct ith_mount *m)
{
	struct ith_gadget g;
	struct ith_stream s;
	struct conn c;
	size_t i;
	int ret = -1, err;

	ith_stream_init(&s, -1);
	ith_gadget_paths(m, "trace_tcp", &g);
	err = ith_ctl(&g, "start failure-only=true");
	ITH_CHECK(!err, "start failure-only=true: %s", strerror(-err));
	ITH_CHECK(!open_events(&g, &s), "events");
	ITH_CHECK(!run_conn(&fam_v4, true, NULL, NULL, &c), "the connection");
	{
		const struct ev_want w = {"connect", c.refused_pid, 0, c.refused_port};
		const struct ev_set set = {&w, 1};

		err = ith_stream_until(&s, EVENT_WAIT_MS, have_all, &set);
		ITH_CHECK(!err, "the refused connect did not arrive: %s", strerror(-err));
		ITH_CHECK(!check_error(find_ev(&s, &w), "ECONNREFUSED", ECONNREFUSED),
			  "refused connect");
	}
	ITH_CHECK(!s.bad, "bad lines: %s", s.why);
	for (i = 0; i < json_array_size(s.lines); i++) {
		json_t *l = json_array_get(s.lines, i);
		json_int_t pid = ith_jint(l, "proc.pid");

		if (ith_is_lost_line(l, NULL))
			continue;
		ITH_CHECK(ith_jint(l, "error_raw") > 0, "an event without error passed failure-only");
		ITH_CHECK(pid != c.srv_pid && pid != c.cli_pid,
			  "an event of the good connection (pid %lld) passed failure-only",
			  (long long)pid);
	}
	ret = 0;
out:
	close_stream(&s);
	ith_ctl(&g, "stop");
	return ret;
}

/* ----- snapshot_socket ----- */

/* Read the snapshot once into @s (fresh); every line must be a JSON object. */
static int read_snapshot(const struct ith_gadget *g, struct ith_stream *s)
{
	char path[PATH_MAX + 16];
	struct ith_buf b = {};
	int ret = -1, err;

	ith_stream_free(s);
	ith_stream_init(s, -1);
	snprintf(path, sizeof(path), "%s/snapshot", g->dir);
	err = ith_read_file(path, &b, SNAP_WAIT_MS);
	ITH_CHECK(!err, "reading '%s': %s", path, strerror(-err));
	ITH_CHECK(b.len > 0 && b.data[b.len - 1] == '\n', "the snapshot is empty or ends mid-line");
	ith_stream_feed(s, b.data, b.len);
	ITH_CHECK(!s->bad, "%zu bad line(s): %s", s->bad, s->why);
	ITH_CHECK(s->split == s->raw.len, "the snapshot ends inside a line");
	ret = 0;
out:
	ith_buf_free(&b);
	return ret;
}

/* The record of @proto ("TCP"/"UDP") with local port @sport and remote port @dport. */
static json_t *find_sock(const struct ith_stream *s, const char *proto, const char *addr, int sport,
			 int dport)
{
	size_t i;

	for (i = 0; i < json_array_size(s->lines); i++) {
		json_t *l = json_array_get(s->lines, i);

		if (ith_str_is(ith_jstr(l, "src.proto"), proto) && ith_str_is(ith_jstr(l, "src.addr"), addr) &&
		    ith_jint(l, "src.port") == sport && ith_jint(l, "dst.port") == dport)
			return l;
	}
	return NULL;
}

static bool has_ino(const struct ith_stream *s, unsigned long long ino)
{
	size_t i;

	for (i = 0; i < json_array_size(s->lines); i++)
		if ((unsigned long long)ith_jint(json_array_get(s->lines, i), "ino") == ino)
			return true;
	return false;
}

/*
 * @l is the socket of @fd: @proto on @f, state @state (@state_raw), remote
 * @daddr:@dport, the fd's inode, this netns.
 */
static int check_sock(json_t *l, int fd, const char *proto, int proto_raw, const struct fam *f,
		      const char *state, int state_raw, const char *daddr, int dport)
{
	unsigned long long ino = fd_ino(fd);
	int ret = -1;

	ITH_CHECK(l, "no %s socket with inode %llu in the snapshot", proto, ino);
	ITH_CHECK(ith_str_is(ith_jstr(l, "state"), state) && ith_jint(l, "state_raw") == state_raw,
		  "state '%s' (%lld), want '%s' (%d)", ith_show(ith_jstr(l, "state")),
		  (long long)ith_jint(l, "state_raw"), state, state_raw);
	ITH_CHECK((unsigned long long)ith_jint(l, "ino") == ino && ino, "ino %lld, fstat says %llu",
		  (long long)ith_jint(l, "ino"), ino);
	ITH_CHECK(ith_str_is(ith_jstr(l, "src.addr"), f->addr) && ith_jint(l, "src.version") == f->version &&
			  ith_jint(l, "dst.version") == f->version,
		  "src.addr '%s' version %lld/%lld", ith_show(ith_jstr(l, "src.addr")),
		  (long long)ith_jint(l, "src.version"), (long long)ith_jint(l, "dst.version"));
	ITH_CHECK(ith_str_is(ith_jstr(l, "dst.addr"), daddr) && ith_jint(l, "dst.port") == dport,
		  "dst '%s' port %lld, want '%s' port %d", ith_show(ith_jstr(l, "dst.addr")),
		  (long long)ith_jint(l, "dst.port"), daddr, dport);
	ITH_CHECK(ith_str_is(ith_jstr(l, "dst.proto"), proto) && ith_jint(l, "src.proto_raw") == proto_raw &&
			  ith_jint(l, "dst.proto_raw") == proto_raw,
		  "proto '%s'/%lld", ith_show(ith_jstr(l, "dst.proto")),
		  (long long)ith_jint(l, "src.proto_raw"));
	ITH_CHECK((unsigned long long)ith_jint(l, "netns_id") == ns_ino("net"),
		  "netns_id %lld, want %llu", (long long)ith_jint(l, "netns_id"), ns_ino("net"));
	ITH_CHECK(!ith_get(l, "src.addr_raw"), "src.addr_raw is in the JSON");
	ret = 0;
out:
	if (ret)
		dump_line("socket", l);
	return ret;
}

/*
 * Read snapshots into @s until the socket 127.0.0.1:@sport -> @dport is in
 * TIME_WAIT (the peer's FIN may still be on its way): a minisocket without
 * inode. 0, or -1 after printing why.
 */
static int wait_time_wait(const struct ith_gadget *g, struct ith_stream *s, int sport, int dport)
{
	int64_t deadline = ith_now_ms() + SNAP_WAIT_MS;
	json_t *l = NULL;
	int ret = -1;

	for (;;) {
		l = NULL; /* read_snapshot frees the previous lines */
		ITH_CHECK(!read_snapshot(g, s), "snapshot");
		l = find_sock(s, "TCP", "127.0.0.1", sport, dport);
		if (l && ith_str_is(ith_jstr(l, "state"), "TIME_WAIT"))
			break;
		ITH_CHECK(ith_now_ms() < deadline, "no TIME_WAIT socket %d -> %d", sport, dport);
		ith_sleep_ms(50);
	}
	ITH_CHECK(ith_jint(l, "state_raw") == TCP_TIME_WAIT && ith_jint(l, "ino") == 0,
		  "TIME_WAIT socket: state_raw %lld, ino %lld", (long long)ith_jint(l, "state_raw"),
		  (long long)ith_jint(l, "ino"));
	ITH_CHECK(ith_str_is(ith_jstr(l, "dst.addr"), "127.0.0.1") && ith_jint(l, "src.version") == 4 &&
			  (unsigned long long)ith_jint(l, "netns_id") == ns_ino("net"),
		  "TIME_WAIT socket endpoints");
	ret = 0;
out:
	if (ret)
		dump_line("last match", l);
	return ret;
}

static void close_fds(int *fds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
}

/* Connect a client to listener @lfd of @f and accept it: 0 with both fds, or -1. */
static int tcp_pair(const struct fam *f, int lfd, int *cfd, int *afd)
{
	struct sockaddr_storage ss;
	socklen_t len = sa_make(f, sock_port(lfd), &ss);

	*cfd = socket(f->af, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*cfd < 0 || connect(*cfd, (struct sockaddr *)&ss, len)) {
		fprintf(stderr, "connect to %s port %d: %m\n", f->addr, sock_port(lfd));
		return -1;
	}
	if (!wait_readable(lfd, PIPE_WAIT_MS))
		return -1;
	*afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	return *afd < 0 ? -1 : 0;
}

/*
 * Listeners on 127.0.0.1 and ::1, a UDP socket, an established pair on each
 * family: each appears once with its state, ports, remote end and inode.
 */
static int test_socket_table(struct ith_mount *m)
{
	int fds[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
	int *l4 = &fds[0], *l6 = &fds[1], *udp = &fds[2], *udp6 = &fds[3];
	int *c4 = &fds[4], *a4 = &fds[5], *c6 = &fds[6], *a6 = &fds[7];
	int tw_c = -1, tw_a = -1, tw_cport;
	struct ith_gadget g;
	struct ith_stream s;
	int ret = -1, err, v6;

	ith_stream_init(&s, -1);
	ith_gadget_paths(m, "snapshot_socket", &g);
	v6 = have_family(&fam_v6);
	ITH_CHECK(v6 >= 0, "IPv6 loopback");
	*l4 = listener(&fam_v4);
	*udp = bound_socket(&fam_v4, SOCK_DGRAM, 0);
	ITH_CHECK(*l4 >= 0 && *udp >= 0, "IPv4 sockets: %m");
	ITH_CHECK(!tcp_pair(&fam_v4, *l4, c4, a4), "IPv4 pair");
	if (!v6) {
		*l6 = listener(&fam_v6);
		*udp6 = bound_socket(&fam_v6, SOCK_DGRAM, 0);
		ITH_CHECK(*l6 >= 0 && *udp6 >= 0, "IPv6 sockets: %m");
		ITH_CHECK(!tcp_pair(&fam_v6, *l6, c6, a6), "IPv6 pair");
	}
	/* A pair closed client first: the client's end lingers in TIME_WAIT. */
	ITH_CHECK(!tcp_pair(&fam_v4, *l4, &tw_c, &tw_a), "IPv4 pair for TIME_WAIT");
	tw_cport = sock_port(tw_c);
	close(tw_c);
	close(tw_a);
	tw_c = tw_a = -1;
	err = ith_ctl(&g, "start");
	ITH_CHECK(!err, "start snapshot_socket: %s", strerror(-err));
	ITH_CHECK(!wait_time_wait(&g, &s, tw_cport, sock_port(*l4)),
		  "the closed client end is not in TIME_WAIT");
	fprintf(stderr, "snapshot: %zu sockets\n", json_array_size(s.lines));

	ITH_CHECK(!check_sock(find_sock(&s, "TCP", "127.0.0.1", sock_port(*l4), 0), *l4, "TCP",
			      IPPROTO_TCP, &fam_v4, "LISTEN", TCP_LISTEN, "0.0.0.0", 0),
		  "IPv4 listener");
	ITH_CHECK(!check_sock(find_sock(&s, "UDP", "127.0.0.1", sock_port(*udp), 0), *udp, "UDP",
			      IPPROTO_UDP, &fam_v4, "CLOSE", TCP_CLOSE, "0.0.0.0", 0),
		  "IPv4 UDP socket");
	ITH_CHECK(!check_sock(find_sock(&s, "TCP", "127.0.0.1", sock_port(*c4), sock_port(*l4)),
			      *c4, "TCP", IPPROTO_TCP, &fam_v4, "ESTABLISHED", TCP_ESTAB,
			      "127.0.0.1", sock_port(*l4)),
		  "IPv4 client end");
	ITH_CHECK(!check_sock(find_sock(&s, "TCP", "127.0.0.1", sock_port(*l4), sock_port(*c4)),
			      *a4, "TCP", IPPROTO_TCP, &fam_v4, "ESTABLISHED", TCP_ESTAB,
			      "127.0.0.1", sock_port(*c4)),
		  "IPv4 accepted end");
	if (!v6) {
		ITH_CHECK(!check_sock(find_sock(&s, "TCP", "::1", sock_port(*l6), 0), *l6, "TCP",
				      IPPROTO_TCP, &fam_v6, "LISTEN", TCP_LISTEN, "::", 0),
			  "IPv6 listener");
		ITH_CHECK(!check_sock(find_sock(&s, "UDP", "::1", sock_port(*udp6), 0), *udp6,
				      "UDP", IPPROTO_UDP, &fam_v6, "CLOSE", TCP_CLOSE, "::", 0),
			  "IPv6 UDP socket");
		ITH_CHECK(!check_sock(find_sock(&s, "TCP", "::1", sock_port(*c6), sock_port(*l6)),
				      *c6, "TCP", IPPROTO_TCP, &fam_v6, "ESTABLISHED", TCP_ESTAB,
				      "::1", sock_port(*l6)),
			  "IPv6 client end");
		ITH_CHECK(!check_sock(find_sock(&s, "TCP", "::1", sock_port(*l6), sock_port(*c6)),
				      *a6, "TCP", IPPROTO_TCP, &fam_v6, "ESTABLISHED", TCP_ESTAB,
				      "::1", sock_port(*c6)),
			  "IPv6 accepted end");
	}
	ret = 0;
out:
	close_fds(fds, IGFS_IT_ARRAY_SIZE(fds));
	if (tw_c >= 0)
		close(tw_c);
	if (tw_a >= 0)
		close(tw_a);
	ith_stream_free(&s);
	ith_ctl(&g, "stop");
	return ret;
}

/* Every open takes the table afresh: a socket closed in between is gone, a new one is there. */
static int test_socket_fresh(struct ith_mount *m)
{
	int fds[3] = {-1, -1, -1};
	int *lfd = &fds[0], *udp = &fds[1], *udp2 = &fds[2];
	unsigned long long l_ino;
	struct ith_gadget g;
	struct ith_stream s;
	int ret = -1, err, lport;

	ith_stream_init(&s, -1);
	ith_gadget_paths(m, "snapshot_socket", &g);
	*lfd = listener(&fam_v4);
	*udp = bound_socket(&fam_v4, SOCK_DGRAM, 0);
	ITH_CHECK(*lfd >= 0 && *udp >= 0, "sockets: %m");
	lport = sock_port(*lfd);
	l_ino = fd_ino(*lfd);
	err = ith_ctl(&g, "start");
	ITH_CHECK(!err, "start snapshot_socket: %s", strerror(-err));

	ITH_CHECK(!read_snapshot(&g, &s), "first snapshot");
	ITH_CHECK(find_sock(&s, "TCP", "127.0.0.1", lport, 0) && has_ino(&s, l_ino),
		  "the listener is not in the first snapshot");
	ITH_CHECK(find_sock(&s, "UDP", "127.0.0.1", sock_port(*udp), 0), "no UDP socket");

	close(*lfd);
	*lfd = -1;
	*udp2 = bound_socket(&fam_v4, SOCK_DGRAM, 0);
	ITH_CHECK(*udp2 >= 0, "socket: %m");
	ITH_CHECK(!read_snapshot(&g, &s), "second snapshot");
	ITH_CHECK(!find_sock(&s, "TCP", "127.0.0.1", lport, 0) && !has_ino(&s, l_ino),
		  "the closed listener is still in the second snapshot");
	ITH_CHECK(!check_sock(find_sock(&s, "UDP", "127.0.0.1", sock_port(*udp2), 0), *udp2, "UDP",
			      IPPROTO_UDP, &fam_v4, "CLOSE", TCP_CLOSE, "0.0.0.0", 0),
		  "the new UDP socket");
	ITH_CHECK(find_sock(&s, "UDP", "127.0.0.1", sock_port(*udp), 0),
		  "the first UDP socket is gone");
	ret = 0;
out:
	close_fds(fds, IGFS_IT_ARRAY_SIZE(fds));
	ith_stream_free(&s);
	ith_ctl(&g, "stop");
	return ret;
}

/* Every record of @s has src.proto @proto. */
static int all_proto(const struct ith_stream *s, const char *proto)
{
	size_t i;
	int ret = -1;

	for (i = 0; i < json_array_size(s->lines); i++) {
		json_t *l = json_array_get(s->lines, i);

		ITH_CHECK(ith_str_is(ith_jstr(l, "src.proto"), proto), "a '%s' record with proto=%s",
			  ith_show(ith_jstr(l, "src.proto")), proto);
	}
	ret = 0;
out:
	return ret;
}

/* proto=tcp|udp keeps one protocol; anything else is refused. */
static int test_socket_proto(struct ith_mount *m)
{
	int fds[2] = {-1, -1};
	int *lfd = &fds[0], *udp = &fds[1];
	char path[PATH_MAX + 16];
	struct ith_gadget g;
	struct ith_stream s;
	int ret = -1, err;

	ith_stream_init(&s, -1);
	ith_gadget_paths(m, "snapshot_socket", &g);
	*lfd = listener(&fam_v4);
	*udp = bound_socket(&fam_v4, SOCK_DGRAM, 0);
	ITH_CHECK(*lfd >= 0 && *udp >= 0, "sockets: %m");

	snprintf(path, sizeof(path), "%s/proto", g.params);
	err = ith_write_file(path, "sctp", 4);
	ITH_CHECK(err == -EINVAL, "writing 'sctp' to params/proto gave %s, expected EINVAL",
		  strerror(-err));

	err = ith_ctl(&g, "start proto=udp");
	ITH_CHECK(!err, "start proto=udp: %s", strerror(-err));
	ITH_CHECK(!read_snapshot(&g, &s), "UDP snapshot");
	ITH_CHECK(!all_proto(&s, "UDP"), "proto=udp");
	ITH_CHECK(find_sock(&s, "UDP", "127.0.0.1", sock_port(*udp), 0), "no UDP socket");

	err = ith_ctl(&g, "restart proto=tcp");
	ITH_CHECK(!err, "restart proto=tcp: %s", strerror(-err));
	ITH_CHECK(!read_snapshot(&g, &s), "TCP snapshot");
	ITH_CHECK(!all_proto(&s, "TCP"), "proto=tcp");
	ITH_CHECK(find_sock(&s, "TCP", "127.0.0.1", sock_port(*lfd), 0), "no listener");
	ret = 0;
out:
	close_fds(fds, IGFS_IT_ARRAY_SIZE(fds));
	ith_stream_free(&s);
	ith_ctl(&g, "stop");
	return ret;
}

/* ----- the list ----- */

static const struct ith_test tests[] = {
	{"tcp.ipv4", NULL, NULL, 30000, test_tcp_ipv4},
	{"tcp.ipv6", NULL, NULL, 30000, test_tcp_ipv6},
	{"tcp.pid_filter", NULL, NULL, 30000, test_tcp_pid_filter},
	{"tcp.failure_only", NULL, NULL, 30000, test_tcp_failure_only},
	{"socket.table", NULL, NULL, 30000, test_socket_table},
	{"socket.fresh", NULL, NULL, 30000, test_socket_fresh},
	{"socket.proto", NULL, NULL, 30000, test_socket_proto},
};

int main(int argc, char **argv)
{
	return ith_main(argc, argv, tests, IGFS_IT_ARRAY_SIZE(tests));
}
