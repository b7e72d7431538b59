/* Listening sockets: see listener.h. */
#include "net/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "net/loop.h"

#define ACCEPTS_PER_EVENT 64

struct listener {
	struct listener *next;
	struct loop_io io;
	listener_accept_cb *cb;
	void *ctx;
	char *unix_path; /* removed at close; NULL for TCP */
};

static void accept_cb(struct loop_io *io, unsigned int events)
{
	struct listener *l = container_of(io, struct listener, io);
	struct loop *loop = loop_current();
	for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
		int fd = accept4(io->fd, NULL, NULL,
		                 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				log_event(LOG_WARN, "accept_failed", "error",
				          strerror(errno), NULL);
			return;
		}
		int one = 1;
		if (l->unix_path == NULL)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			           sizeof(one));
		l->cb(loop, fd, l->ctx);
	}
}

static char *addr_error(const char *addr, const char *what)
{
	char msg[512];
	snprintf(msg, sizeof(msg), "listen address %s: %s", addr, what);
	return xstrdup(msg);
}

/* Split "host:port" / "[v6]:port" into host and port. */
static int split_addr(char *addr, char **host_r, char **port_r)
{
	char *colon;
	if (addr[0] == '[') {
		char *end = strchr(addr, ']');
		if (end == NULL || end[1] != ':')
			return -1;
		*end = '\0';
		*host_r = addr + 1;
		*port_r = end + 2;
		return 0;
	}
	colon = strrchr(addr, ':');
	if (colon == NULL)
		return -1;
	*colon = '\0';
	*host_r = addr;
	*port_r = colon + 1;
	return 0;
}

static void log_listening(int fd, const char *proto, bool tls)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN], text[INET6_ADDRSTRLEN + 16];
	getsockname(fd, (struct sockaddr *)&ss, &len);
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(text, sizeof(text), "[%s]:%u", host,
		         ntohs(s6->sin6_port));
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(text, sizeof(text), "%s:%u", host,
		         ntohs(sin->sin_port));
	}
	log_event(LOG_INFO, "listening", "proto", proto, "tls",
	          tls ? "yes" : "no", "addr", text, NULL);
}

static int open_one(const char *addr, int *fd_r, char **error_r)
{
	char *copy = xstrdup(addr), *host, *port;
	int ret = -1;
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	if (split_addr(copy, &host, &port) < 0) {
		*error_r = addr_error(addr, "expected host:port");
		goto out_free;
	}
	int gai = getaddrinfo(*host == '\0' || strcmp(host, "*") == 0 ? NULL
	                                                              : host,
	                      port, &hints, &ai);
	if (gai != 0) {
		*error_r = addr_error(addr, gai_strerror(gai));
		goto out_free;
	}
	int fd = socket(ai->ai_family,
	                SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1024) < 0) {
		*error_r = addr_error(addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out_free;
	}
	*fd_r = fd;
	ret = 0;
out_free:
	if (ai != NULL)
		freeaddrinfo(ai);
	free(copy);
	return ret;
}

int listener_open_list(struct listener **head_r, const char *list,
                       const char *proto, bool tls, listener_accept_cb *cb,
                       void *ctx, char **error_r)
{
	char *copy = xstrdup(list), *save = NULL;
	int ret = 0;
	for (char *tok = strtok_r(copy, ", \t", &save); tok != NULL;
	     tok = strtok_r(NULL, ", \t", &save)) {
		int fd;
		if (open_one(tok, &fd, error_r) < 0) {
			ret = -1;
			break;
		}
		struct listener *l = xcalloc(1, sizeof(*l));
		l->io.fd = fd;
		l->io.cb = accept_cb;
		l->cb = cb;
		l->ctx = ctx;
		while (*head_r != NULL)
			head_r = &(*head_r)->next;
		*head_r = l;
		log_listening(fd, proto, tls);
	}
	free(copy);
	return ret;
}

/* A socket file left at path by a server that is gone is removed; a
 * live one (something accepts on it) or any other file is an error. */
static int unix_clear(const char *path, const struct sockaddr_un *sun,
                      char **error_r)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		*error_r = addr_error(path, "exists and is not a socket");
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live = fd >= 0 && connect(fd, (const struct sockaddr *)sun,
	                               sizeof(*sun)) == 0;
	if (fd >= 0)
		close(fd);
	if (live) {
		*error_r = addr_error(path, "another server is listening");
		return -1;
	}
	unlink(path);
	return 0;
}

static int open_unix(const char *path, int *fd_r, char **error_r)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sun.sun_path)) {
		*error_r = addr_error(path, "path too long");
		return -1;
	}
	strcpy(sun.sun_path, path);
	if (unix_clear(path, &sun, error_r) < 0)
		return -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* any local user may connect (as Dovecot's LMTP socket): the
	 * directory's permissions are the place to restrict it */
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(path, 0666) < 0 || listen(fd, 1024) < 0) {
		*error_r = addr_error(path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*fd_r = fd;
	return 0;
}

int listener_open_unix(struct listener **head_r, const char *path,
                       const char *proto, listener_accept_cb *cb, void *ctx,
                       char **error_r)
{
	int fd;
	if (path[0] == '\0')
		return 0;
	if (open_unix(path, &fd, error_r) < 0)
		return -1;
	struct listener *l = xcalloc(1, sizeof(*l));
	l->io.fd = fd;
	l->io.cb = accept_cb;
	l->cb = cb;
	l->ctx = ctx;
	l->unix_path = xstrdup(path);
	while (*head_r != NULL)
		head_r = &(*head_r)->next;
	*head_r = l;
	char *text = xasprintf("unix:%s", path);
	log_event(LOG_INFO, "listening", "proto", proto, "tls", "no", "addr",
	          text, NULL);
	free(text);
	return 0;
}

void listener_watch_all(struct listener *head, struct loop *loop)
{
	for (struct listener *l = head; l != NULL; l = l->next)
		loop_io_add_shared(loop, &l->io);
}

void listener_close_all(struct listener **headp)
{
	struct listener *l = *headp;
	while (l != NULL) {
		struct listener *next = l->next;
		close(l->io.fd);
		if (l->unix_path != NULL)
			unlink(l->unix_path);
		free(l->unix_path);
		free(l);
		l = next;
	}
	*headp = NULL;
}
