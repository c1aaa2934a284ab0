/* tools/bench-realtime-client.c — the subscriber side of the realtime
 * fan-out bench (tools/bench-realtime builds and drives it).
 *
 * One process opens COUNT WebSocket connections to http://HOST:PORT PATH
 * (at most CONCURRENCY handshakes in flight), all in one epoll loop, and
 * then waits for one message. It speaks a line protocol with its parent:
 *
 *   stdout  ready CONNECTED FAILED CONNECT_MS FIRST_ERROR
 *   stdin   RESOURCE_ID                (the object the parent has created)
 *   stdout  done GOT MISSING CPU_MS
 *   stdout  T T T …                    (CLOCK_MONOTONIC, µs, one per GOT)
 *
 * A connection "has the event" when a whole text frame whose resource_id is
 * RESOURCE_ID has been read from it; the time is taken then. Frames that
 * arrive before the id does are remembered (the event may beat the create's
 * response). CPU_MS is the user+system CPU this process spent between
 * "ready" and "done": what receiving the fan-out cost the client itself.
 * C and epoll rather than Python so that the client, which shares the
 * machine with nginx, stays far from being the bottleneck.
 *
 * Usage: bench-realtime-client HOST PORT PATH COUNT [CONCURRENCY] [WAIT_S]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum state { ST_IDLE, ST_CONNECTING, ST_HANDSHAKE, ST_OPEN, ST_FAILED };

#define RID_MAX 64
#define CAP_MAX 512

struct conn {
	int fd;
	enum state st;
	/* handshake response, up to the blank line */
	char hbuf[1024];
	size_t hlen;
	/* frame parser */
	unsigned char hdr[14];
	size_t hdr_have, hdr_need;
	uint64_t left;
	int opcode, in_payload;
	char cap[CAP_MAX];
	size_t cap_len;
	/* result */
	char rid[RID_MAX];      /* resource_id of the first text frame */
	int64_t rid_us;         /* when that frame was complete */
	int64_t got_us;         /* when the target's frame was complete */
};

static struct conn *conns;
static int count, concurrency, epfd;
static char target[RID_MAX];
static int have_target;
static struct sockaddr_in addr;
static char request[8192];
static size_t request_len;
static char first_error[128] = "-";

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
	       ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

static void note_error(const char *what)
{
	if (strcmp(first_error, "-") == 0) {
		snprintf(first_error, sizeof(first_error), "%s", what);
		for (char *p = first_error; *p; p++)
			if (*p == ' ' || *p == '\r' || *p == '\n')
				*p = '_';
	}
}

static void conn_fail(struct conn *c, const char *why)
{
	note_error(why);
	if (c->fd >= 0) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->st = ST_FAILED;
}

static int conn_start(struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN };
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		conn_fail(c, strerror(errno));
		return -1;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 && errno != EINPROGRESS) {
		conn_fail(c, strerror(errno));
		return -1;
	}
	c->st = ST_CONNECTING;
	ev.data.ptr = c;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
		conn_fail(c, strerror(errno));
		return -1;
	}
	return 0;
}

/* Copies the value of "resource_id" in the captured payload into out. */
static void rid_extract(const struct conn *c, char *out)
{
	static const char key[] = "\"resource_id\":\"";
	const char *p = memmem(c->cap, c->cap_len, key, sizeof(key) - 1);
	size_t n = 0;

	out[0] = '\0';
	if (!p)
		return;
	p += sizeof(key) - 1;
	while (p < c->cap + c->cap_len && *p != '"' && n < RID_MAX - 1)
		out[n++] = *p++;
	out[n] = '\0';
}

static void frame_done(struct conn *c)
{
	char rid[RID_MAX];

	if (c->opcode == 8) {
		conn_fail(c, "closed_by_server");
		return;
	}
	if (c->opcode != 1)
		return;
	rid_extract(c, rid);
	if (have_target) {
		if (!c->got_us && strcmp(rid, target) == 0)
			c->got_us = now_us();
	} else if (!c->rid[0]) {
		memcpy(c->rid, rid, sizeof(rid));
		c->rid_us = now_us();
	}
}

/* Feeds n bytes of the WebSocket stream (server frames are never masked). */
static void frames_feed(struct conn *c, const unsigned char *b, size_t n)
{
	while (n > 0 && c->st == ST_OPEN) {
		if (!c->in_payload) {
			c->hdr[c->hdr_have++] = *b++;
			n--;
			if (c->hdr_have == 2) {
				unsigned len7 = c->hdr[1] & 0x7f;
				c->hdr_need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) +
					      ((c->hdr[1] & 0x80) ? 4 : 0);
			}
			if (c->hdr_have < 2 || c->hdr_have < c->hdr_need)
				continue;
			unsigned len7 = c->hdr[1] & 0x7f;
			uint64_t len = len7;
			if (len7 == 126)
				len = ((uint64_t)c->hdr[2] << 8) | c->hdr[3];
			else if (len7 == 127)
				for (int i = 0; i < 8; i++)
					len = (len << 8) | c->hdr[2 + i];
			int op = c->hdr[0] & 0x0f;
			if (op != 0) {
				c->opcode = op;
				c->cap_len = 0;
			}
			c->left = len;
			c->hdr_have = 0;
			c->in_payload = 1;
			if (len == 0) {
				c->in_payload = 0;
				if (c->hdr[0] & 0x80)
					frame_done(c);
			}
			continue;
		}
		size_t take = c->left < n ? (size_t)c->left : n;
		if (c->opcode == 1 && c->cap_len < CAP_MAX) {
			size_t room = CAP_MAX - c->cap_len;
			size_t k = take < room ? take : room;
			memcpy(c->cap + c->cap_len, b, k);
			c->cap_len += k;
		}
		b += take;
		n -= take;
		c->left -= take;
		if (c->left == 0) {
			c->in_payload = 0;
			if (c->hdr[0] & 0x80)
				frame_done(c);
		}
	}
}

/* Returns 1 when the connection left the handshake (open or failed). */
static int on_event(struct conn *c, uint32_t events)
{
	unsigned char buf[65536];

	if (c->st == ST_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);
		if ((events & (EPOLLERR | EPOLLHUP)) ||
		    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err) {
			conn_fail(c, err ? strerror(err) : "connect_failed");
			return 1;
		}
		if (!(events & EPOLLOUT))
			return 0;
		if (write(c->fd, request, request_len) != (ssize_t)request_len) {
			conn_fail(c, "short_write");
			return 1;
		}
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
		c->st = ST_HANDSHAKE;
		return 0;
	}
	for (;;) {
		ssize_t n = read(c->fd, buf, sizeof(buf));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n <= 0) {
			int was_handshake = c->st == ST_HANDSHAKE;
			conn_fail(c, n == 0 ? "eof" : strerror(errno));
			return was_handshake;
		}
		if (c->st == ST_OPEN) {
			frames_feed(c, buf, (size_t)n);
			if (c->st != ST_OPEN)
				return 0;
			continue;
		}
		/* handshake: collect the response head, keep what follows */
		size_t room = sizeof(c->hbuf) - 1 - c->hlen;
		size_t k = (size_t)n < room ? (size_t)n : room;
		memcpy(c->hbuf + c->hlen, buf, k);
		c->hlen += k;
		c->hbuf[c->hlen] = '\0';
		char *end = strstr(c->hbuf, "\r\n\r\n");
		if (!end) {
			if (c->hlen == sizeof(c->hbuf) - 1) {
				conn_fail(c, "handshake_too_long");
				return 1;
			}
			continue;
		}
		if (strncmp(c->hbuf, "HTTP/1.1 101", 12) != 0) {
			char *eol = strstr(c->hbuf, "\r\n");
			if (eol)
				*eol = '\0';
			conn_fail(c, c->hbuf);
			return 1;
		}
		size_t head = (size_t)(end + 4 - c->hbuf);
		size_t rest = c->hlen - head;
		c->st = ST_OPEN;
		if (rest)
			frames_feed(c, (unsigned char *)c->hbuf + head, rest);
		if (k < (size_t)n && c->st == ST_OPEN)
			frames_feed(c, buf + k, (size_t)n - k);
		return 1;
	}
}

static void loop_once(int timeout_ms, int *pending)
{
	struct epoll_event evs[512];
	int n = epoll_wait(epfd, evs, 512, timeout_ms);

	for (int i = 0; i < n; i++) {
		struct conn *c = evs[i].data.ptr;
		if (c->st == ST_FAILED)
			continue;
		if (on_event(c, evs[i].events) && pending)
			(*pending)--;
	}
}

static int count_state(enum state st)
{
	int n = 0;

	for (int i = 0; i < count; i++)
		n += conns[i].st == st;
	return n;
}

static int all_delivered(void)
{
	for (int i = 0; i < count; i++)
		if (conns[i].st == ST_OPEN && !conns[i].got_us)
			return 0;
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: %s HOST PORT PATH COUNT [CONCURRENCY] [WAIT_S]\n", argv[0]);
		return 2;
	}
	const char *host = argv[1];
	int port = atoi(argv[2]);
	const char *path = argv[3];
	count = atoi(argv[4]);
	concurrency = argc > 5 ? atoi(argv[5]) : 100;
	int wait_s = argc > 6 ? atoi(argv[6]) : 10;
	if (count <= 0 || concurrency <= 0 || port <= 0)
		return 2;

	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
		fprintf(stderr, "bench-realtime-client: HOST must be an IPv4 address\n");
		return 2;
	}
	int w = snprintf(request, sizeof(request),
			 "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
			 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			 "Sec-WebSocket-Version: 13\r\nUser-Agent: tessera-bench\r\n\r\n",
			 path, host, port);
	if (w < 0 || (size_t)w >= sizeof(request))
		return 2;
	request_len = (size_t)w;
	conns = calloc((size_t)count, sizeof(*conns));
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!conns || epfd < 0)
		return 1;
	for (int i = 0; i < count; i++)
		conns[i].fd = -1;

	/* connect, at most `concurrency` handshakes at a time, 60 s overall */
	int64_t t0 = now_us(), deadline = t0 + 60 * 1000000LL;
	int next = 0, pending = 0;
	while ((next < count || pending > 0) && now_us() < deadline) {
		while (next < count && pending < concurrency) {
			if (conn_start(&conns[next++]) == 0)
				pending++;
		}
		loop_once(100, &pending);
	}
	for (int i = 0; i < count; i++)
		if (conns[i].st != ST_OPEN && conns[i].st != ST_FAILED)
			conn_fail(&conns[i], "connect_timeout");
	int64_t connect_ms = (now_us() - t0) / 1000;
	int64_t cpu0 = cpu_us();
	int ready_open = count_state(ST_OPEN);
	printf("ready %d %d %lld %s\n", ready_open, count_state(ST_FAILED),
	       (long long)connect_ms, first_error);
	fflush(stdout);

	/* wait for the target id on stdin while reading frames */
	struct epoll_event sev = { .events = EPOLLIN, .data.ptr = NULL };
	fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
	epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &sev);
	char line[RID_MAX];
	size_t line_len = 0;
	int64_t wait_end = 0;
	for (;;) {
		struct epoll_event evs[512];
		int timeout = 1000;
		if (have_target) {
			if (all_delivered() || now_us() >= wait_end)
				break;
			timeout = (int)((wait_end - now_us()) / 1000) + 1;
		}
		int n = epoll_wait(epfd, evs, 512, timeout);
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (c == NULL) {
				ssize_t r = read(0, line + line_len, sizeof(line) - 1 - line_len);
				if (r <= 0) {
					if (r == 0 && !have_target)
						return 0; /* parent gave up */
					continue;
				}
				line_len += (size_t)r;
				line[line_len] = '\0';
				char *nl = strchr(line, '\n');
				if (!nl && line_len < sizeof(line) - 1)
					continue;
				if (nl)
					*nl = '\0';
				snprintf(target, sizeof(target), "%s", line);
				have_target = 1;
				wait_end = now_us() + (int64_t)wait_s * 1000000;
				epoll_ctl(epfd, EPOLL_CTL_DEL, 0, NULL);
				for (int j = 0; j < count; j++)
					if (conns[j].rid[0] && strcmp(conns[j].rid, target) == 0)
						conns[j].got_us = conns[j].rid_us;
				continue;
			}
			if (c->st != ST_FAILED)
				on_event(c, evs[i].events);
		}
	}
	int got = 0;
	for (int i = 0; i < count; i++)
		got += conns[i].got_us != 0;
	/* a connection open at "ready" that never had the event (closed since,
	 * or still waiting) is missing */
	printf("done %d %d %lld\n", got, ready_open - got,
	       (long long)((cpu_us() - cpu0) / 1000));
	for (int i = 0, first = 1; i < count; i++) {
		if (!conns[i].got_us)
			continue;
		printf(first ? "%lld" : " %lld", (long long)conns[i].got_us);
		first = 0;
	}
	printf("\n");
	fflush(stdout);
	return 0;
}
