/* SEARCH's evaluation for the commands built on it: SORT and THREAD
 * (RFC 5256) and ESORT (RFC 5267) run a search program over the view as
 * a step of their own jobs (cmd-search.c), then order what matched
 * (cmd-sort.c). */
#ifndef ROOST_IMAP_CMD_SEARCH_H
#define ROOST_IMAP_CMD_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap-private.h"
#include "imap/search.h"

struct imap_search;

/* The search keys args[0..count) of a command that names the charset
 * itself (SORT, THREAD): NULL after answering BAD (bad keys) or NO
 * [BADCHARSET] (a charset other than UTF-8 and US-ASCII, as SEARCH). */
struct imap_search *imap_search_parse(struct imap_session *s,
                                      const struct imap_command_line *cmd,
                                      const struct imap_arg *args, size_t count,
                                      const char *charset);
/* Free a search (NULL is fine); void * to serve as a job's ctx_free. */
void imap_search_free(void *search);
/* The program, for the caller to set its RETURN options (ESORT). */
struct search_program *imap_search_program(struct imap_search *search);
/* How the job of a command running search syncs: no expunges unless
 * it is a UID command without sequence numbers among its keys. */
enum imap_sync_mode imap_search_sync_mode(const struct imap_search *search,
                                          bool uid);
/* From a job's work: the view indexes of the messages that match,
 * ascending (malloc'd, *count_r of them). */
size_t *imap_search_run(struct imap_job *job, struct imap_search *search,
                        size_t *count_r);
/* "* ESEARCH (TAG "t") [UID] [MIN n] [MAX n] [COUNT n]" for hits (view
 * indexes; MIN is the first, MAX the last) into job->out: what SEARCH
 * and ESORT answer alike, before ALL. */
void imap_write_esearch_head(struct imap_job *job,
                             const struct search_program *p, bool uid,
                             const size_t *hits, size_t n);
/* RFC 7162 3.1.6, 3.1.9, 3.1.10: the highest modseq of the messages a
 * result returns (hits, view indexes in the order reported: with only
 * MIN and/or MAX, the first and/or the last), and " (MODSEQ n)" for
 * SEARCH and SORT, " MODSEQ n" for ESEARCH, written to job->out when the
 * program has a MODSEQ key and there are hits. */
uint64_t imap_search_modseq(const struct imap_view *v,
                            const struct search_program *p, const size_t *hits,
                            size_t n);
void imap_write_search_modseq(struct imap_job *job,
                              const struct search_program *p,
                              const size_t *hits, size_t n);
/* SAVE (RFC 5182 2.4): hits (view indexes in the order the command
 * reports them) become "$"; just the first and/or last when p asks for
 * MIN and/or MAX and not ALL or COUNT. */
void imap_search_save(struct imap_session *s, const struct search_program *p,
                      const size_t *hits, size_t n);

/* SORT, THREAD and their UID forms (cmd-sort.c). */
void cmd_sort(struct imap_session *s, const struct imap_command_line *cmd);
void cmd_thread(struct imap_session *s, const struct imap_command_line *cmd);
void imap_cmd_sort(struct imap_session *s, const struct imap_command_line *cmd,
                   const struct imap_arg *args, size_t count, bool uid);
void imap_cmd_thread(struct imap_session *s,
                     const struct imap_command_line *cmd,
                     const struct imap_arg *args, size_t count, bool uid);

#endif
