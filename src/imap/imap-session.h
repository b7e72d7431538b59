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
/* A thread-pool job holding the session has completed; frees the session
 * if it was closed meanwhile. */
void imap_session_job_done(struct imap_session *s);
bool imap_session_is_closed(const struct imap_session *s);

void imap_settings_unref(struct imap_settings **set);

#endif
