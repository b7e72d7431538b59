/* POP3 session lifecycle, for the server that accepts connections. */
#ifndef ROOST_POP3_POP3_SESSION_H
#define ROOST_POP3_POP3_SESSION_H

struct conn;
struct pop3_server;
struct pop3_settings;

/* Start a session on an accepted connection; takes over set's reference.
 * The session frees itself when the connection closes. */
void pop3_session_create(struct pop3_server *server, struct conn *conn,
                         struct pop3_settings *set);

#endif
