/* IMAP session lifecycle, for the server that accepts connections. */
#ifndef ROOST_IMAP_IMAP_SESSION_H
#define ROOST_IMAP_IMAP_SESSION_H

#include <stdbool.h>

struct conn;
struct imap_server;
struct imap_settings;
struct imap_session;

/* Start a session on an accepted connection; takes over set's reference.
 * The session frees itself when the connection closes. */
void imap_session_create(struct imap_server *server, struct conn *conn,
                         struct imap_settings *set);
/* Hold the session while code that may close its connection runs (an
 * event callback, a thread-pool job); the last unref of a closed session
 * frees it. */
void imap_session_ref(struct imap_session *s);
void imap_session_unref(struct imap_session *s);
bool imap_session_is_closed(const struct imap_session *s);

void imap_settings_unref(struct imap_settings **set);

#endif
