/* Listening sockets. One socket per configured address, watched by every
 * worker loop (EPOLLEXCLUSIVE wakes one), so accepting spreads over the
 * workers without a dispatcher thread. */
#ifndef ROOST_NET_LISTENER_H
#define ROOST_NET_LISTENER_H

#include <stdbool.h>

struct loop;
struct listener;

/* Called on the loop that accepted, with a non-blocking socket. */
typedef void listener_accept_cb(struct loop *loop, int fd, void *ctx);

/* Bind every address in list ("host:port[,host:port...]", IPv6 as
 * "[::1]:143", port 0 = any free port) and log event=listening with the
 * real address. An empty list opens nothing. Returns the listeners in a
 * chain (*head_r, appended), 0 or -1 with *error_r (malloc'd). */
int listener_open_list(struct listener **head_r, const char *list,
                       const char *proto, bool tls, listener_accept_cb *cb,
                       void *ctx, char **error_r);
/* Bind a Unix-domain stream socket at path (mode 0666; a stale socket
 * file left there is replaced) and log event=listening with
 * addr=unix:PATH. An empty path opens nothing. The file is removed when
 * the listener closes. 0, or -1 with *error_r (malloc'd). */
int listener_open_unix(struct listener **head_r, const char *path,
                       const char *proto, listener_accept_cb *cb, void *ctx,
                       char **error_r);
/* Start accepting on loop (call once per worker loop). */
void listener_watch_all(struct listener *head, struct loop *loop);
/* Close every listener in the chain; sets *head to NULL. Only after the
 * loops have stopped. */
void listener_close_all(struct listener **head);

#endif
