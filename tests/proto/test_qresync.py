"""QRESYNC (RFC 7162 section 3.2): ENABLE QRESYNC, VANISHED instead of
EXPUNGE (own EXPUNGE, UID EXPUNGE, MOVE, other sessions' and POP3's
removals, held back during FETCH, STORE and SEARCH), HIGHESTMODSEQ in
EXPUNGE's tagged OK, SELECT/EXAMINE (QRESYNC ...) with known UIDs and
sequence match data, UID FETCH (CHANGEDSINCE n VANISHED), the CLOSED
response code, and resynchronisation across a server restart and across
`roost reindex` (whose rebuilt index no longer knows old expunges: the
whole known range is then reported)."""

import poplib
import re
import socket

from roost import fetches, make_message, parse_status_line

HMS_RE = re.compile(r"^\* OK \[HIGHESTMODSEQ (\d+)\]")


def setup_box(c, n, mailbox="INBOX"):
    for i in range(n):
        r = c.append(mailbox, make_message(f"m{i}"))
        assert r.status == "OK", r.lines


def status(c, mailbox="INBOX"):
    r = c.ok(f"STATUS {mailbox} (UIDVALIDITY HIGHESTMODSEQ UIDNEXT)")
    st = [s for s in (parse_status_line(ln) for ln in r.untagged) if s]
    assert len(st) == 1, r.lines
    return st[0][1]


def modseq_of(c, uid):
    f = fetches(c.ok(f"UID FETCH {uid} (MODSEQ)"))
    assert len(f) == 1, f
    return int(f[0][1]["MODSEQ"][0])


def qresync_client(user):
    c = user.connect()
    r = c.ok("ENABLE QRESYNC")
    assert r.untagged == ["* ENABLED QRESYNC"], r.lines
    return c


def select_lines(resp):
    """The lines after the standard SELECT responses: what QRESYNC
    adds (VANISHED (EARLIER) and FETCH)."""
    return [ln for ln in resp.untagged
            if ln.startswith("* VANISHED") or " FETCH " in ln]


def hms(resp):
    out = [int(m.group(1)) for m in map(HMS_RE.match, resp.untagged) if m]
    assert len(out) == 1, resp.lines
    return out[0]


# ---------------------------------------------------------------------
# what needs ENABLE QRESYNC


def test_qresync_parameters_need_enable(mail_user):
    c = mail_user.connect()
    setup_box(c, 2)
    st = status(c)
    r = c.cmd(f"SELECT INBOX (QRESYNC ({st['UIDVALIDITY']} 1))")
    assert r.status == "BAD", r.lines
    assert not r.untagged, r.lines
    c.ok("SELECT INBOX")
    r = c.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)")
    assert r.status == "BAD", r.lines
    c.ok("NOOP")                             # still selected
    q = qresync_client(mail_user)
    q.ok("SELECT INBOX")
    for bad in ("FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)",
                "UID FETCH 1:* (FLAGS) (VANISHED)",
                "UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED VANISHED)"):
        assert q.cmd(bad).status == "BAD", bad
    uv = st["UIDVALIDITY"]
    for bad in (f"SELECT INBOX (QRESYNC)", f"SELECT INBOX (QRESYNC ())",
                f"SELECT INBOX (QRESYNC ({uv}))",
                f"SELECT INBOX (QRESYNC (0 1))",
                f"SELECT INBOX (QRESYNC ({uv} x))",
                f"SELECT INBOX (QRESYNC ({uv} 1 1:x))",
                f"SELECT INBOX (QRESYNC ({uv} 1 1:5 (1:2 1)))",
                f"SELECT INBOX (QRESYNC ({uv} 1 1:5 (1:* 1:2)))",
                f"SELECT INBOX (QRESYNC ({uv} 1 1:5 (1) x))",
                f"SELECT INBOX (QRESYNC ({uv} 1) QRESYNC ({uv} 1))"):
        r = q.cmd(bad)
        assert r.status == "BAD", (bad, r.lines)
    r = q.ok("NOOP")                         # BAD left it selected
    assert r.untagged == [], r.lines


# ---------------------------------------------------------------------
# VANISHED instead of EXPUNGE


def test_vanished_for_own_expunges(mail_user):
    c = qresync_client(mail_user)
    setup_box(c, 6)
    c.ok("SELECT INBOX")
    c.ok(r"STORE 2,4,5 +FLAGS.SILENT (\Deleted)")
    r = c.ok("EXPUNGE")
    h = status(c)["HIGHESTMODSEQ"]
    assert r.untagged == ["* VANISHED 2,4:5"], r.lines
    assert r.tagged == f"{r.tag} OK [HIGHESTMODSEQ {h}] EXPUNGE completed"
    r = c.ok("EXPUNGE")                      # nothing: no code
    assert r.untagged == [] and r.tagged == f"{r.tag} OK EXPUNGE completed"
    c.ok(r"STORE 1:3 +FLAGS.SILENT (\Deleted)")     # UIDs 1, 3, 6
    r = c.ok("UID EXPUNGE 3:6")
    h = status(c)["HIGHESTMODSEQ"]
    assert r.untagged == ["* VANISHED 3,6"], r.lines
    assert r.tagged == f"{r.tag} OK [HIGHESTMODSEQ {h}] EXPUNGE completed"
    r = c.ok("UID MOVE 1 Trash")
    assert r.untagged[-1] == "* VANISHED 1", r.lines
    assert not any(" EXPUNGE" in ln for ln in r.untagged), r.lines
    r = c.ok("SELECT INBOX")
    assert "* 0 EXISTS" in r.untagged, r.lines


def test_vanished_exact_bytes(mail_user, mail_server):
    """EXPUNGE's answer after ENABLE QRESYNC, byte for byte."""
    c = qresync_client(mail_user)
    setup_box(c, 3)
    c.ok("SELECT INBOX")
    c.ok(r"STORE 1:2 +FLAGS.SILENT (\Deleted)")
    s = socket.create_connection(("127.0.0.1", mail_server.imap_port),
                                 timeout=10)
    try:
        s.sendall(f'a LOGIN {mail_user.name} "{mail_user.password}"\r\n'
                  "b ENABLE QRESYNC\r\nc SELECT INBOX\r\nd EXPUNGE\r\n"
                  .encode())
        buf = b""
        while b"\r\nd " not in buf or not buf.endswith(b"\r\n"):
            chunk = s.recv(4096)
            assert chunk, buf
            buf += chunk
        h = status(c)["HIGHESTMODSEQ"]
        tail = buf[buf.index(b"c OK [READ-WRITE] SELECT completed\r\n"):]
        assert tail == (b"c OK [READ-WRITE] SELECT completed\r\n"
                        b"* VANISHED 1:2\r\n"
                        b"d OK [HIGHESTMODSEQ %d] EXPUNGE completed\r\n"
                        % h), buf
    finally:
        s.close()


def test_vanished_for_other_sessions_expunges(mail_user):
    q = qresync_client(mail_user)
    setup_box(q, 5)
    q.ok("SELECT INBOX")
    other = mail_user.connect()
    other.ok("SELECT INBOX")
    other.ok(r"STORE 1,3 +FLAGS.SILENT (\Deleted)")
    other.ok("EXPUNGE")
    # held back during FETCH, STORE, SEARCH (RFC 7162 3.2.10.2)
    for cmd in ("FETCH 1 (FLAGS)", r"STORE 5 +FLAGS (\Seen)",
                "SEARCH ALL", "UID SEARCH 1:2"):
        r = q.ok(cmd)
        assert not any("VANISHED" in ln or "EXPUNGE" in ln
                       for ln in r.untagged), (cmd, r.lines)
    r = q.ok("NOOP")
    assert r.untagged == ["* VANISHED 1,3"], r.lines
    r = q.ok("NOOP")
    assert r.untagged == [], r.lines
    # a UID command may carry it
    other.ok(r"STORE 1 +FLAGS.SILENT (\Deleted)")     # UID 2
    other.ok("EXPUNGE")
    r = q.ok("UID FETCH 4 (UID)")
    assert r.untagged[-1] == "* VANISHED 2", r.lines


def test_held_back_expunge_caps_highestmodseq(mail_user):
    """RFC 7162 3.2: while a VANISHED is held back, a MODSEQ sent must
    come with a HIGHESTMODSEQ below the expunge's."""
    q = qresync_client(mail_user)
    setup_box(q, 3)
    q.ok("SELECT INBOX")
    before = status(q)["HIGHESTMODSEQ"]
    other = mail_user.connect()
    other.ok("SELECT INBOX")
    other.ok(r"STORE 1 +FLAGS.SILENT (\Deleted)")
    other.ok("EXPUNGE")
    expunged_at = status(other)["HIGHESTMODSEQ"]
    other.ok(r"STORE 2 +FLAGS (\Seen)")      # a change after the expunge
    r = q.ok("FETCH 1:* (MODSEQ)")
    ms = [int(d["MODSEQ"][0]) for _, d in fetches(r)]
    assert max(ms) > expunged_at, r.lines
    held = hms(r)
    assert before <= held < expunged_at, r.lines
    r = q.ok("NOOP")
    assert r.untagged[0] == "* VANISHED 1", r.lines
    assert not any(HMS_RE.match(ln) for ln in r.untagged), r.lines


def test_idle_pushes_vanished_and_modseq(mail_user):
    """What IDLE pushes follows the same rules: VANISHED, and UID and
    MODSEQ in a FETCH."""
    q = qresync_client(mail_user)
    setup_box(q, 3)
    q.ok("SELECT INBOX")
    other = mail_user.connect()
    other.ok("SELECT INBOX")
    tag = q.next_tag()
    q.send(f"{tag} IDLE\r\n")
    r = q.read_response(tag)
    assert r.continuation is not None, r.lines
    other.ok(r"UID STORE 3 +FLAGS (\Flagged)")
    m3 = modseq_of(other, 3)
    assert q.readline() == \
        f"* 3 FETCH (UID 3 FLAGS (\\Flagged \\Recent) MODSEQ ({m3}))"
    other.ok(r"UID STORE 2 +FLAGS.SILENT (\Deleted)")
    other.ok("UID EXPUNGE 2")
    line = q.readline()
    if line.startswith("* 2 FETCH"):         # the \Deleted, if seen apart
        line = q.readline()
    assert line == "* VANISHED 2", line
    q.send("DONE\r\n")
    r = q.read_response(tag)
    assert r.tagged == f"{tag} OK IDLE terminated", r.lines


# ---------------------------------------------------------------------
# SELECT (QRESYNC)


def test_qresync_select_reports_only_changes_since(mail_user):
    c = qresync_client(mail_user)
    setup_box(c, 8)
    st = status(c)
    uv, h = st["UIDVALIDITY"], st["HIGHESTMODSEQ"]
    c.close()
    # another client changes flags, expunges and appends meanwhile
    o = mail_user.connect()
    o.ok("SELECT INBOX")
    o.ok(r"UID STORE 2 +FLAGS (\Seen)")
    o.ok(r"UID STORE 3,5 +FLAGS (\Deleted)")
    o.ok("UID EXPUNGE 3,5")
    o.ok(r"UID STORE 7 +FLAGS ($Later)")
    o.append("INBOX", make_message("new"))   # UID 9
    o.close()
    q = qresync_client(mail_user)
    r = q.ok(f"SELECT INBOX (QRESYNC ({uv} {h}))")
    now = hms(r)
    assert now == status(q)["HIGHESTMODSEQ"]
    m2, m7, m9 = (modseq_of(q, u) for u in (2, 7, 9))
    assert select_lines(r) == [
        "* VANISHED (EARLIER) 3,5",
        f"* 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ ({m2}))",
        f"* 5 FETCH (UID 7 FLAGS ($Later) MODSEQ ({m7}))",
        f"* 7 FETCH (UID 9 FLAGS () MODSEQ ({m9}))",  # o claimed \\Recent
    ], r.lines
    assert r.tagged == f"{r.tag} OK [READ-WRITE] SELECT completed"
    # nothing changed since now: nothing to say; EXAMINE as well
    q2 = qresync_client(mail_user)
    r = q2.ok(f"EXAMINE INBOX (QRESYNC ({uv} {now} 1:9))")
    assert select_lines(r) == [], r.lines
    assert r.tagged == f"{r.tag} OK [READ-ONLY] EXAMINE completed"
    # the same resync again (the modseq of before): the same answer,
    # limited to the known UIDs
    r = q2.ok(f"SELECT INBOX (QRESYNC ({uv} {h} 1:5))")
    assert r.untagged[0] == "* OK [CLOSED] Previous mailbox closed"
    assert select_lines(r) == [
        "* VANISHED (EARLIER) 3,5",
        f"* 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ ({m2}))",
    ], r.lines


def test_qresync_select_uidvalidity_mismatch(mail_user):
    c = qresync_client(mail_user)
    setup_box(c, 3)
    st = status(c)
    r = c.ok(f"SELECT INBOX (QRESYNC ({st['UIDVALIDITY'] + 1} 1 1:3))")
    assert select_lines(r) == [], r.lines
    assert f"* OK [UIDVALIDITY {st['UIDVALIDITY']}] UIDs valid" in r.untagged
    assert hms(r) == st["HIGHESTMODSEQ"]


def test_qresync_seq_match_data(mail_user):
    """RFC 7162 3.2.5.2: a matching (sequence number, UID) pair tells the
    server the client knows every expunge up to that UID."""
    c = qresync_client(mail_user)
    setup_box(c, 6)
    st = status(c)
    uv, h = st["UIDVALIDITY"], st["HIGHESTMODSEQ"]
    c.ok("SELECT INBOX")
    c.ok(r"UID STORE 2,5 +FLAGS.SILENT (\Deleted)")
    c.ok("UID EXPUNGE 2,5")                  # left: 1 3 4 6
    q = qresync_client(mail_user)
    r = q.ok(f"SELECT INBOX (QRESYNC ({uv} {h} 1:6))")
    assert select_lines(r)[0] == "* VANISHED (EARLIER) 2,5", r.lines
    # 1->1 and 3->4 match: the client knew of the expunge of 2
    r = q.cmd(f"SELECT INBOX (QRESYNC ({uv} {h} 1:6 (1,3 1,4))))")
    assert r.status == "BAD"                 # one ')' too many
    r = q.ok(f"SELECT INBOX (QRESYNC ({uv} {h} 1:6 (1,3 1,4)))")
    assert select_lines(r)[:1] == ["* VANISHED (EARLIER) 5"], r.lines
    # a pair that does not match stops the matching there
    r = q.ok(f"SELECT INBOX (QRESYNC ({uv} {h} 1:6 (1,2,3 1,2,4)))")
    assert select_lines(r)[:1] == ["* VANISHED (EARLIER) 2,5"], r.lines
    # without known UIDs, as 1:UIDNEXT-1
    r = q.ok(f"SELECT INBOX (QRESYNC ({uv} {h} (3 4)))")
    assert select_lines(r)[:1] == ["* VANISHED (EARLIER) 5"], r.lines


def test_uid_fetch_changedsince_vanished(mail_user):
    q = qresync_client(mail_user)
    setup_box(q, 6)
    q.ok("SELECT INBOX")
    h = status(q)["HIGHESTMODSEQ"]
    q.ok(r"UID STORE 2,3 +FLAGS.SILENT (\Deleted)")
    q.ok("UID EXPUNGE 2")
    q.ok(r"UID STORE 5 +FLAGS ($Seen2)")
    m3, m5 = modseq_of(q, 3), modseq_of(q, 5)
    r = q.ok(f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {h} VANISHED)")
    assert r.untagged == [
        "* VANISHED (EARLIER) 2",
        f"* 2 FETCH (FLAGS (\\Deleted \\Recent) UID 3 MODSEQ ({m3}))",
        f"* 4 FETCH (FLAGS ($Seen2 \\Recent) UID 5 MODSEQ ({m5}))",
    ], r.lines
    r = q.ok(f"UID FETCH 4:6 (FLAGS) (CHANGEDSINCE {h} VANISHED)")
    assert r.untagged == [
        f"* 4 FETCH (FLAGS ($Seen2 \\Recent) UID 5 MODSEQ ({m5}))"], r.lines
    r = q.ok(f"UID FETCH 1:3 (UID) (VANISHED CHANGEDSINCE {m5})")
    assert r.untagged == [], r.lines
    # an expunge not announced yet is not EARLIER: the message is still
    # in the session's view until the VANISHED at the command's end
    other = mail_user.connect()
    other.ok("SELECT INBOX")
    other.ok("UID EXPUNGE 3")
    r = q.ok(f"UID FETCH 1:3 (UID) (CHANGEDSINCE {h} VANISHED)")
    assert r.untagged == ["* VANISHED (EARLIER) 2",
                          f"* 2 FETCH (UID 3 MODSEQ ({m3}))",
                          "* VANISHED 3"], r.lines


def test_closed_response_code(mail_user):
    q = qresync_client(mail_user)
    r = q.ok("SELECT INBOX")
    assert not any("CLOSED" in ln for ln in r.untagged), r.lines
    r = q.ok("EXAMINE Trash")
    assert r.untagged[0] == "* OK [CLOSED] Previous mailbox closed", r.lines
    r = q.ok("UNSELECT")
    assert r.untagged == [], r.lines
    q.ok("SELECT INBOX")
    r = q.ok("CLOSE")
    assert r.untagged == [], r.lines
    # a failed SELECT closes the old one too
    q.ok("SELECT INBOX")
    r = q.cmd("SELECT NoSuchBox")
    assert r.status == "NO", r.lines
    assert r.untagged == ["* OK [CLOSED] Previous mailbox closed"], r.lines


def test_pop3_removal_reported(mail_user, mail_server):
    q = qresync_client(mail_user)
    setup_box(q, 3)
    st = status(q)
    q.close()
    p = poplib.POP3("127.0.0.1", mail_server.pop3_port, timeout=10)
    try:
        p.user(mail_user.name)
        p.pass_(mail_user.password)
        p.dele(2)
    finally:
        p.quit()
    q = qresync_client(mail_user)
    r = q.ok(f"SELECT INBOX (QRESYNC ({st['UIDVALIDITY']} "
             f"{st['HIGHESTMODSEQ']}))")
    assert select_lines(r) == ["* VANISHED (EARLIER) 2"], r.lines
    assert hms(r) > st["HIGHESTMODSEQ"]


# ---------------------------------------------------------------------
# restart and reindex


USER, PW = "qr", "qr-pw"


def login_qresync(srv):
    c = srv.connect()
    c.login(USER, PW)
    c.ok("ENABLE QRESYNC")
    return c


def test_resync_across_restart(make_server):
    srv = make_server(users={USER: PW})
    c = login_qresync(srv)
    setup_box(c, 5)
    st = status(c)
    c.ok("SELECT INBOX")
    c.ok(r"UID STORE 4 +FLAGS.SILENT (\Deleted)")
    c.ok("UID EXPUNGE 4")
    c.ok(r"UID STORE 1 +FLAGS (\Answered)")
    c.close()
    srv.stop()
    srv.restart()
    q = login_qresync(srv)
    r = q.ok(f"SELECT INBOX (QRESYNC ({st['UIDVALIDITY']} "
             f"{st['HIGHESTMODSEQ']}))")
    m1 = modseq_of(q, 1)
    assert select_lines(r) == [
        "* VANISHED (EARLIER) 4",
        f"* 1 FETCH (UID 1 FLAGS (\\Answered) MODSEQ ({m1}))"], r.lines
    q.close()


def test_resync_across_reindex(make_server):
    """`roost reindex` forgets the expunges: a client resyncing from
    before it gets every UID of its known range that is gone, and every
    message again (their modseqs are new), so it misses nothing, not
    even a message whose file vanished without an expunge."""
    srv = make_server(users={USER: PW})
    c = login_qresync(srv)
    setup_box(c, 6)
    st = status(c)
    uv, h = st["UIDVALIDITY"], st["HIGHESTMODSEQ"]
    c.ok("SELECT INBOX")
    c.ok(r"UID STORE 2 +FLAGS.SILENT (\Deleted)")
    c.ok("UID EXPUNGE 2")
    c.ok(r"UID STORE 3 +FLAGS (\Flagged)")
    # a live session stays selected across the reindex
    live = login_qresync(srv)
    live.ok("SELECT INBOX")
    # lose message 5's file, as a crash or an admin might
    cur = srv.user_dir(USER) / "Maildir" / "cur"
    lost = [p for p in cur.iterdir() if ",U=5:" in p.name]
    assert len(lost) == 1, list(cur.iterdir())
    lost[0].unlink()
    r = srv.cli("reindex", USER, "--data", str(srv.data))
    assert r.returncode == 0, (r.stdout, r.stderr)
    after = status(c)
    assert after["UIDVALIDITY"] == uv
    assert after["HIGHESTMODSEQ"] > h
    # the live session learns of the lost message at its next sync
    r = live.ok("NOOP")
    assert r.untagged == ["* VANISHED 5"], r.lines
    # a resync from before the reindex: all gone UIDs, all messages
    q = login_qresync(srv)
    r = q.ok(f"SELECT INBOX (QRESYNC ({uv} {h}))")
    ms = {u: modseq_of(q, u) for u in (1, 3, 4, 6)}
    assert select_lines(r) == [
        "* VANISHED (EARLIER) 2,5",
        f"* 1 FETCH (UID 1 FLAGS () MODSEQ ({ms[1]}))",
        f"* 2 FETCH (UID 3 FLAGS (\\Flagged) MODSEQ ({ms[3]}))",
        f"* 3 FETCH (UID 4 FLAGS () MODSEQ ({ms[4]}))",
        f"* 4 FETCH (UID 6 FLAGS () MODSEQ ({ms[6]}))",
    ], r.lines
    # known UIDs and sequence match data narrow the range reported
    r = q.ok(f"SELECT INBOX (QRESYNC ({uv} {h} 3:6 (2,3 3,4)))")
    assert select_lines(r)[0] == "* VANISHED (EARLIER) 5", r.lines
    # a resync from after it needs no history
    now = hms(r)
    c.ok(r"UID STORE 4 +FLAGS.SILENT (\Deleted)")
    c.ok("UID EXPUNGE 4")
    r = q.ok(f"SELECT INBOX (QRESYNC ({uv} {now}))")
    assert select_lines(r) == ["* VANISHED (EARLIER) 4"], r.lines
    for cl in (c, live, q):
        cl.close()


def test_resync_across_index_loss(make_server):
    """The index lost with the server down is rebuilt at the next start:
    a client resyncing from before gets every known UID that is gone and
    every message again. (The rebuilt index's modseq comes from the
    clock and is not always above the lost one's, as here, where
    everything happens within a second; a modseq above the mailbox's is
    taken as knowing nothing, which gives the same answer.)"""
    srv = make_server(users={USER: PW})
    c = login_qresync(srv)
    setup_box(c, 4)
    st = status(c)
    c.ok("SELECT INBOX")
    c.ok(r"UID STORE 3 +FLAGS.SILENT (\Deleted)")
    c.ok("UID EXPUNGE 3")
    c.close()
    srv.stop()
    for suffix in ("", "-wal", "-shm", "-journal"):
        p = srv.user_dir(USER) / f"index.db{suffix}"
        if p.exists():
            p.unlink()
    srv.restart()
    q = login_qresync(srv)
    r = q.ok(f"SELECT INBOX (QRESYNC ({st['UIDVALIDITY']} "
             f"{st['HIGHESTMODSEQ']} 1:4))")
    assert hms(r) == status(q)["HIGHESTMODSEQ"]
    ms = {u: modseq_of(q, u) for u in (1, 2, 4)}
    assert select_lines(r) == [
        "* VANISHED (EARLIER) 3",
        f"* 1 FETCH (UID 1 FLAGS () MODSEQ ({ms[1]}))",
        f"* 2 FETCH (UID 2 FLAGS () MODSEQ ({ms[2]}))",
        f"* 3 FETCH (UID 4 FLAGS () MODSEQ ({ms[4]}))",
    ], r.lines
    q.close()
