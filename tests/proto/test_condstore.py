"""CONDSTORE (RFC 7162 section 3.1): the capability, ENABLE, SELECT
(CONDSTORE) and HIGHESTMODSEQ, the MODSEQ FETCH item and the CHANGEDSINCE
modifier, STORE (UNCHANGEDSINCE) with MODIFIED, the MODSEQ search key and
the modseq SEARCH, ESEARCH and SORT report, STATUS HIGHESTMODSEQ, and the
UID and MODSEQ every untagged FETCH carries once a session is
CONDSTORE-aware.

Modseqs are opaque numbers: the tests read them from the server (STATUS,
FETCH) and check the exact lines built from them."""

import re
import socket

from roost import fetches, make_message, parse_status_line

HMS_RE = re.compile(r"^\* OK \[HIGHESTMODSEQ (\d+)\]")


def setup_box(c, n=5, mailbox="INBOX"):
    """n messages in mailbox, selected (plain SELECT); -> [uids]."""
    for i in range(n):
        r = c.append(mailbox, make_message(f"m{i}"))
        assert r.status == "OK", r.lines
    c.ok(f"SELECT {mailbox}")
    return [int(d["UID"]) for _, d in fetches(c.ok("UID FETCH 1:* UID"))]


def highestmodseq(c, mailbox="INBOX"):
    r = c.ok(f"STATUS {mailbox} (HIGHESTMODSEQ)")
    st = [s for s in (parse_status_line(ln) for ln in r.untagged) if s]
    assert len(st) == 1, r.lines
    return st[0][1]["HIGHESTMODSEQ"]


def modseqs(c):
    """seq -> modseq of the selected mailbox, by FETCH MODSEQ."""
    out = {}
    for seq, d in fetches(c.ok("FETCH 1:* (MODSEQ)")):
        assert isinstance(d["MODSEQ"], list) and len(d["MODSEQ"]) == 1, d
        out[seq] = int(d["MODSEQ"][0])
    return out


def hms_lines(resp):
    return [int(m.group(1)) for m in map(HMS_RE.match, resp.untagged) if m]


# ---------------------------------------------------------------------
# capability and ENABLE


def test_capability_after_login_only(mail_user):
    c = mail_user.connect(login=False)
    r = c.ok("CAPABILITY")
    assert not {"CONDSTORE", "QRESYNC"} & r.caps(), r.lines
    c.login(mail_user.name, mail_user.password)
    caps = c.ok("CAPABILITY").caps()
    assert {"CONDSTORE", "QRESYNC", "ENABLE"} <= caps, caps


def test_enable_lists_only_what_is_new(mail_user):
    c = mail_user.connect()
    r = c.ok("ENABLE CONDSTORE")
    assert r.untagged == ["* ENABLED CONDSTORE"], r.lines
    r = c.ok("ENABLE CONDSTORE")
    assert r.untagged == ["* ENABLED"], r.lines
    r = c.ok("ENABLE X-UNKNOWN qresync")
    assert r.untagged == ["* ENABLED QRESYNC"], r.lines
    r = c.ok("ENABLE QRESYNC CONDSTORE")
    assert r.untagged == ["* ENABLED"], r.lines
    d = mail_user.connect()
    r = d.ok("ENABLE QRESYNC CONDSTORE QRESYNC")
    assert r.untagged == ["* ENABLED QRESYNC CONDSTORE"], r.lines
    e = mail_user.connect()
    r = e.ok("ENABLE QRESYNC")         # implies CONDSTORE, not listed
    assert r.untagged == ["* ENABLED QRESYNC"], r.lines
    r = e.ok("ENABLE CONDSTORE")
    assert r.untagged == ["* ENABLED"], r.lines


def test_enable_exact_bytes(mail_user, mail_server):
    """The raw bytes of ENABLE's answer."""
    s = socket.create_connection(("127.0.0.1", mail_server.imap_port),
                                 timeout=10)
    try:
        buf = b""
        s.sendall(f'a LOGIN {mail_user.name} "{mail_user.password}"\r\n'
                  f"b ENABLE CONDSTORE QRESYNC\r\n".encode())
        while not buf.endswith(b"b OK ENABLE completed\r\n"):
            chunk = s.recv(4096)
            assert chunk, buf
            buf += chunk
        tail = buf[buf.index(b"\r\na OK") + 2:]
        tail = tail[tail.index(b"\r\n") + 2:]
        assert tail == (b"* ENABLED CONDSTORE QRESYNC\r\n"
                        b"b OK ENABLE completed\r\n"), buf
    finally:
        s.close()


# ---------------------------------------------------------------------
# SELECT and HIGHESTMODSEQ


def test_select_condstore_highestmodseq(mail_user):
    c = mail_user.connect()
    setup_box(c, 3)
    r = c.ok("SELECT INBOX")
    assert hms_lines(r) == [], r.lines      # not CONDSTORE-aware yet
    h = highestmodseq(c)                     # STATUS: now it is
    r = c.ok("SELECT INBOX (CONDSTORE)")
    assert r.untagged[0] == "* OK [CLOSED] Previous mailbox closed", r.lines
    assert f"* OK [HIGHESTMODSEQ {h}] Highest" in r.untagged, r.lines
    assert hms_lines(r) == [h], r.lines
    assert re.match(r"^\S+ OK \[READ-WRITE\] SELECT completed$", r.tagged)
    d = mail_user.connect()
    r = d.ok("EXAMINE INBOX (CONDSTORE)")
    assert hms_lines(r) == [h], r.lines
    r = d.ok("SELECT INBOX")                 # CONDSTORE-aware: always
    assert hms_lines(r) == [h], r.lines
    for bad in ("SELECT INBOX ()", "SELECT INBOX (CONDSTORE CONDSTORE)",
                "SELECT INBOX (FOO)", "SELECT INBOX CONDSTORE",
                "EXAMINE INBOX (CONDSTORE) x"):
        assert d.cmd(bad).status == "BAD", bad


def test_highestmodseq_rises_with_every_change(mail_user):
    c = mail_user.connect()
    setup_box(c, 3)
    h0 = highestmodseq(c)
    c.append("INBOX", make_message("new"))
    h1 = highestmodseq(c)
    assert h1 > h0
    c.ok(r"STORE 1 +FLAGS (\Deleted)")
    h2 = highestmodseq(c)
    assert h2 > h1
    c.ok(r"STORE 1 +FLAGS (\Deleted)")       # no change: no new modseq
    assert highestmodseq(c) == h2
    c.ok("EXPUNGE")
    h3 = highestmodseq(c)
    assert h3 > h2
    c.ok("UID MOVE 2 Trash")
    assert highestmodseq(c) > h3


def test_first_enabling_command_while_selected_says_highestmodseq(mail_user):
    c = mail_user.connect()
    setup_box(c, 2)
    h = highestmodseq(c, "Trash")            # enabling, mailbox selected
    assert h >= 0
    hs = highestmodseq(c)
    r = c.ok("NOOP")
    assert hms_lines(r) == [], r.lines       # said once, with STATUS
    d = mail_user.connect()
    d.ok("SELECT INBOX")
    r = d.ok("FETCH 1 (MODSEQ)")
    assert hms_lines(r) == [hs], r.lines
    r = d.ok("FETCH 1 (MODSEQ)")
    assert hms_lines(r) == [], r.lines


# ---------------------------------------------------------------------
# FETCH MODSEQ and CHANGEDSINCE


def test_fetch_modseq_and_changedsince(mail_user):
    c = mail_user.connect()
    uids = setup_box(c, 5)
    ms = modseqs(c)
    assert sorted(ms) == [1, 2, 3, 4, 5]
    assert len(set(ms.values())) == 5        # one APPEND each
    r = c.ok("FETCH 2 (MODSEQ FLAGS)")
    assert r.untagged[0] == f"* 2 FETCH (MODSEQ ({ms[2]}) FLAGS (\\Recent))"
    base = max(ms.values())
    c.ok(r"STORE 2,4 +FLAGS (\Answered)")
    ms2 = modseqs(c)
    assert ms2[2] > base and ms2[4] > base and ms2[2] == ms2[4]
    r = c.ok(f"FETCH 1:* (FLAGS) (CHANGEDSINCE {base})")
    assert r.untagged == [
        f"* 2 FETCH (FLAGS (\\Answered \\Recent) MODSEQ ({ms2[2]}))",
        f"* 4 FETCH (FLAGS (\\Answered \\Recent) MODSEQ ({ms2[4]}))"], r.lines
    r = c.ok(f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {base})")
    assert r.untagged == [
        f"* 2 FETCH (FLAGS (\\Answered \\Recent) UID {uids[1]} "
        f"MODSEQ ({ms2[2]}))",
        f"* 4 FETCH (FLAGS (\\Answered \\Recent) UID {uids[3]} "
        f"MODSEQ ({ms2[4]}))"], r.lines
    r = c.ok(f"FETCH 1:* (UID) (CHANGEDSINCE {ms2[2]})")
    assert r.untagged == [], r.lines
    r = c.ok("FETCH 3 (UID MODSEQ) (CHANGEDSINCE 1)")
    assert r.untagged == [f"* 3 FETCH (UID {uids[2]} MODSEQ ({ms[3]}))"]
    for bad in ("FETCH 1 (FLAGS) (CHANGEDSINCE)", "FETCH 1 (FLAGS) ()",
                "FETCH 1 (FLAGS) (CHANGEDSINCE x)",
                "FETCH 1 (FLAGS) (CHANGEDSINCE 1 CHANGEDSINCE 2)",
                "FETCH 1 (FLAGS) (FOO 1)", "FETCH 1 (FLAGS) CHANGEDSINCE 1"):
        assert c.cmd(bad).status == "BAD", bad


def test_fetch_that_sets_seen_says_uid_and_modseq(mail_user):
    c = mail_user.connect()
    uids = setup_box(c, 2)
    highestmodseq(c)                          # CONDSTORE-aware
    r = c.ok("FETCH 2 (RFC822.SIZE BODY[])")
    ms = modseqs(c)
    f = fetches(r)
    assert len(f) == 1 and f[0][0] == 2, r.lines
    d = f[0][1]
    assert d["UID"] == str(uids[1]), r.lines
    assert d["MODSEQ"] == [str(ms[2])], r.lines
    assert {x.lower() for x in d["FLAGS"]} == {r"\seen", r"\recent"}


# ---------------------------------------------------------------------
# unsolicited FETCH: UID and MODSEQ once CONDSTORE-aware


def test_other_sessions_changes_carry_uid_and_modseq(mail_user):
    a = mail_user.connect()
    uids = setup_box(a, 3)
    b = mail_user.connect()
    b.ok("SELECT INBOX (CONDSTORE)")
    plain = mail_user.connect()
    plain.ok("SELECT INBOX")
    a.ok(r"STORE 2 +FLAGS (\Seen $Work)")
    ms = modseqs(a)
    r = b.ok("NOOP")
    assert r.untagged == [
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)",
        "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen "
        "\\Draft $Work \\*)] Flags permitted",
        f"* 2 FETCH (UID {uids[1]} FLAGS (\\Seen $Work) MODSEQ ({ms[2]}))"
    ], r.lines
    r = plain.ok("NOOP")
    assert r.untagged[-1] == "* 2 FETCH (FLAGS (\\Seen $Work))", r.lines
    # a STORE .SILENT by the session itself: MODSEQ, no FLAGS
    r = b.ok(r"STORE 3 +FLAGS.SILENT (\Flagged)")
    ms = modseqs(b)
    assert r.untagged == [f"* 3 FETCH (UID {uids[2]} MODSEQ ({ms[3]}))"]
    # the same again changes nothing: nothing to say
    r = b.ok(r"STORE 3 +FLAGS.SILENT (\Flagged)")
    assert r.untagged == [], r.lines
    r = b.ok(r"STORE 3 +FLAGS (\Flagged)")
    assert r.untagged == [
        f"* 3 FETCH (UID {uids[2]} FLAGS (\\Flagged) MODSEQ ({ms[3]}))"]


# ---------------------------------------------------------------------
# STORE (UNCHANGEDSINCE)


def test_store_unchangedsince(mail_user):
    c = mail_user.connect()
    uids = setup_box(c, 4)
    c.ok(r"STORE 1:4 +FLAGS.SILENT (\Seen)")
    ms = modseqs(c)
    # all pass: FETCH with MODSEQ even though .SILENT
    r = c.ok(f"STORE 1,3 (UNCHANGEDSINCE {ms[3]}) +FLAGS.SILENT (\\Deleted)")
    after = modseqs(c)
    assert after[1] == after[3] > ms[3]
    assert r.untagged == [
        f"* 1 FETCH (UID {uids[0]} MODSEQ ({after[1]}))",
        f"* 3 FETCH (UID {uids[2]} MODSEQ ({after[3]}))"], r.lines
    assert r.tagged.endswith(" OK STORE completed"), r.tagged
    # message 1 changed since ms[1]: MODIFIED, nothing changed; 2 passes
    r = c.ok(f"STORE 1:2 (UNCHANGEDSINCE {ms[2]}) FLAGS (\\Answered)")
    assert r.tagged.endswith(" OK [MODIFIED 1] Conditional STORE failed")
    after2 = modseqs(c)
    assert after2[1] == after[1]
    assert r.untagged == [
        f"* 2 FETCH (UID {uids[1]} FLAGS (\\Answered \\Recent) "
        f"MODSEQ ({after2[2]}))"], r.lines
    # UID STORE names UIDs in MODIFIED
    r = c.ok(f"UID STORE {uids[0]},{uids[3]} (UNCHANGEDSINCE {ms[1]}) "
             r"-FLAGS (\Seen)")
    assert r.tagged.endswith(
        f" OK [MODIFIED {uids[0]}] Conditional STORE failed"), r.lines
    # a flag already as asked: passes, modseq unchanged, still reported
    ms3 = modseqs(c)
    r = c.ok(f"STORE 3 (UNCHANGEDSINCE {ms3[3]}) +FLAGS.SILENT (\\Seen)")
    assert r.untagged == [f"* 3 FETCH (UID {uids[2]} MODSEQ ({ms3[3]}))"]
    assert modseqs(c)[3] == ms3[3]
    for bad in ("STORE 1 (UNCHANGEDSINCE) +FLAGS (\\Seen)",
                "STORE 1 (UNCHANGEDSINCE x) +FLAGS (\\Seen)",
                "STORE 1 (UNCHANGEDSINCE 1 UNCHANGEDSINCE 2) +FLAGS (\\Seen)",
                "STORE 1 (FOO 1) +FLAGS (\\Seen)",
                "STORE 1 () +FLAGS (\\Seen)",
                "STORE 1 (UNCHANGEDSINCE 1)"):
        assert c.cmd(bad).status == "BAD", bad


def test_store_unchangedsince_zero(mail_user):
    """RFC 7162 3.1.3: 0 fails wherever the item exists; a system flag
    always exists, a keyword only when set (the $MDNSent test-and-set)."""
    c = mail_user.connect()
    uids = setup_box(c, 2)
    ms = modseqs(c)
    r = c.ok(r"STORE 1 (UNCHANGEDSINCE 0) +FLAGS.SILENT (\Seen)")
    assert r.untagged[-1:] == [] or not fetches(r), r.lines
    assert r.tagged.endswith(" OK [MODIFIED 1] Conditional STORE failed")
    assert modseqs(c)[1] == ms[1]
    r = c.ok(r"STORE 1 (UNCHANGEDSINCE 0) +FLAGS.SILENT ($MDNSent)")
    assert r.tagged.endswith(" OK STORE completed"), r.lines
    now = modseqs(c)[1]
    assert now > ms[1]
    assert f"* 1 FETCH (UID {uids[0]} MODSEQ ({now}))" in r.untagged
    r = c.ok(r"STORE 1 (UNCHANGEDSINCE 0) +FLAGS.SILENT ($MDNSent)")
    assert r.tagged.endswith(" OK [MODIFIED 1] Conditional STORE failed")
    assert not fetches(r), r.lines
    r = c.ok(r"STORE 1:2 (UNCHANGEDSINCE 0) FLAGS ($MDNSent)")
    assert r.tagged.endswith(" OK [MODIFIED 1:2] Conditional STORE failed")


def fetch_lines(resp):
    return [ln for ln in resp.untagged if re.match(r"^\* \d+ FETCH ", ln)]


def test_store_unchangedsince_two_sessions_race(mail_user):
    """Two clients take the same message as a queue entry: one wins, the
    other gets MODIFIED and, in the same response, why."""
    a = mail_user.connect()
    uids = setup_box(a, 3)
    b = mail_user.connect()
    b.ok("SELECT INBOX (CONDSTORE)")
    ms = modseqs(a)
    assert modseqs(b) == ms
    cmd = f"STORE 2 (UNCHANGEDSINCE {ms[2]}) +FLAGS.SILENT ($Processed)"
    ra = a.ok(cmd)
    assert ra.tagged.endswith(" OK STORE completed"), ra.lines
    won = modseqs(a)[2]
    assert fetch_lines(ra) == [f"* 2 FETCH (UID {uids[1]} MODSEQ ({won}))"]
    rb = b.ok(cmd)
    assert rb.tagged.endswith(" OK [MODIFIED 2] Conditional STORE failed")
    assert fetch_lines(rb) == [
        f"* 2 FETCH (UID {uids[1]} FLAGS ($Processed) MODSEQ ({won}))"
    ], rb.lines
    assert modseqs(b)[2] == won
    # both pipelined on one message: exactly one of them wins
    ms = modseqs(a)
    cmd = f"STORE 3 (UNCHANGEDSINCE {ms[3]}) +FLAGS.SILENT ($Mine)"
    a.send(f"x1 {cmd}\r\n")
    b.send(f"y1 {cmd}\r\n")
    ra, rb = a.read_response("x1"), b.read_response("y1")
    outcomes = sorted(r.tagged.split(" ", 1)[1] for r in (ra, rb))
    assert outcomes == ["OK STORE completed",
                        "OK [MODIFIED 3] Conditional STORE failed"], (
        ra.lines, rb.lines)


def test_store_unchangedsince_other_flag_changed(mail_user):
    """RFC 7162 3.1.12: a change to another flag than the ones +FLAGS or
    -FLAGS names does not make the conditional STORE fail; FLAGS (replace
    all) does."""
    a = mail_user.connect()
    uids = setup_box(a, 3)
    b = mail_user.connect()
    b.ok("SELECT INBOX (CONDSTORE)")
    ms = modseqs(b)
    a.ok(r"STORE 2 +FLAGS (\Seen)")
    r = b.ok(f"STORE 2 (UNCHANGEDSINCE {ms[2]}) +FLAGS.SILENT ($Done)")
    assert r.tagged.endswith(" OK STORE completed"), r.lines
    now = modseqs(b)[2]
    # the client did not know of \Seen: FLAGS despite .SILENT
    assert f"* 2 FETCH (UID {uids[1]} FLAGS (\\Seen $Done) MODSEQ ({now}))" \
        in r.untagged, r.lines
    a.ok(r"STORE 3 +FLAGS (\Seen)")
    r = b.ok(f"STORE 3 (UNCHANGEDSINCE {ms[3]}) FLAGS ($Done)")
    assert r.tagged.endswith(" OK [MODIFIED 3] Conditional STORE failed")
    # and a change to the flag named does
    a.ok(r"STORE 1 +FLAGS ($Done)")
    r = b.ok(f"STORE 1 (UNCHANGEDSINCE {ms[1]}) -FLAGS ($Done)")
    assert r.tagged.endswith(" OK [MODIFIED 1] Conditional STORE failed")


# ---------------------------------------------------------------------
# SEARCH, ESEARCH, SORT


def test_search_modseq(mail_user):
    c = mail_user.connect()
    uids = setup_box(c, 5)
    ms = modseqs(c)
    c.ok(r"STORE 2 +FLAGS (\Draft)")
    c.ok(r"STORE 4 +FLAGS (\Seen)")
    new = modseqs(c)
    top = max(new.values())
    r = c.ok(f"SEARCH MODSEQ {ms[5] + 1}")
    assert r.untagged == [f"* SEARCH 2 4 (MODSEQ {top})"], r.lines
    r = c.ok(f'SEARCH MODSEQ "/flags/\\\\draft" all {ms[5] + 1}')
    assert r.untagged == [f"* SEARCH 2 4 (MODSEQ {top})"], r.lines
    r = c.ok(f"UID SEARCH MODSEQ {ms[3]}")
    assert r.untagged == [
        f"* SEARCH {uids[1]} {uids[2]} {uids[3]} {uids[4]} (MODSEQ {top})"]
    r = c.ok(f"SEARCH MODSEQ {top + 1}")
    assert r.untagged == ["* SEARCH"], r.lines
    # RFC 7162 example 16
    r = c.ok(f"SEARCH OR NOT MODSEQ {ms[1]} LARGER 50000")
    assert r.untagged == ["* SEARCH"], r.lines
    r = c.ok("SEARCH 1:3 MODSEQ 0")
    assert r.untagged == [f"* SEARCH 1 2 3 (MODSEQ {new[2]})"], r.lines
    r = c.ok(f"SEARCH RETURN (ALL) MODSEQ {ms[5] + 1}")
    assert r.untagged == [
        f'* ESEARCH (TAG "{r.tag}") ALL 2,4 MODSEQ {top}'], r.lines
    r = c.ok(f"SEARCH RETURN (MIN) MODSEQ {ms[5] + 1}")
    assert r.untagged == [
        f'* ESEARCH (TAG "{r.tag}") MIN 2 MODSEQ {new[2]}'], r.lines
    r = c.ok(f"SEARCH RETURN (COUNT) MODSEQ {top + 1}")
    assert r.untagged == [f'* ESEARCH (TAG "{r.tag}") COUNT 0'], r.lines
    r = c.ok("SEARCH ALL")                    # no MODSEQ key: no report
    assert r.untagged == ["* SEARCH 1 2 3 4 5"], r.lines
    for bad in ("SEARCH MODSEQ", "SEARCH MODSEQ x", "SEARCH MODSEQ -1",
                'SEARCH MODSEQ "/flags/\\\\seen" 5',
                'SEARCH MODSEQ "/foo/bar" all 5',
                'SEARCH MODSEQ "/flags/\\\\seen" none 5',
                'SEARCH MODSEQ "/flags/\\\\seen" all'):
        assert c.cmd(bad).status == "BAD", bad


def test_search_modseq_enables_condstore(mail_user):
    a = mail_user.connect()
    uids = setup_box(a, 2)
    b = mail_user.connect()
    b.ok("SELECT INBOX")
    r = b.ok("SEARCH MODSEQ 1")
    h = highestmodseq(a)
    assert hms_lines(r) == [h], r.lines
    a.ok(r"STORE 1 +FLAGS (\Seen)")
    ms = modseqs(a)
    r = b.ok("NOOP")
    assert r.untagged == [
        f"* 1 FETCH (UID {uids[0]} FLAGS (\\Seen) MODSEQ ({ms[1]}))"]


def test_sort_and_thread_with_modseq(mail_user):
    c = mail_user.connect()
    setup_box(c, 4)
    ms = modseqs(c)
    c.ok(r"STORE 1,3 +FLAGS (\Flagged)")
    new = modseqs(c)
    r = c.ok(f"SORT (REVERSE SUBJECT) UTF-8 MODSEQ {ms[4] + 1}")
    assert r.untagged == [f"* SORT 3 1 (MODSEQ {new[1]})"], r.lines
    r = c.ok(f"SORT RETURN (ALL) (ARRIVAL) UTF-8 MODSEQ {ms[4] + 1}")
    assert r.untagged == [
        f'* ESEARCH (TAG "{r.tag}") ALL 1,3 MODSEQ {new[1]}'], r.lines
    r = c.ok(f"SORT (ARRIVAL) UTF-8 MODSEQ {new[1] + 1}")
    assert r.untagged == ["* SORT"], r.lines
    r = c.ok(f"THREAD ORDEREDSUBJECT UTF-8 MODSEQ {ms[4] + 1}")
    assert r.untagged == ["* THREAD (1)(3)"], r.lines


# ---------------------------------------------------------------------
# STATUS


def test_status_highestmodseq(mail_user):
    c = mail_user.connect()
    setup_box(c, 2)
    c.ok("UNSELECT")
    h = highestmodseq(c)
    r = c.ok("STATUS INBOX (MESSAGES HIGHESTMODSEQ UIDNEXT)")
    assert r.untagged == [
        f"* STATUS INBOX (MESSAGES 2 UIDNEXT 3 HIGHESTMODSEQ {h})"], r.lines
    r = c.ok("SELECT INBOX")
    assert hms_lines(r) == [h], r.lines
    # an empty new mailbox still has a HIGHESTMODSEQ, and says it
    c.ok("CREATE Empty")
    r = c.ok("STATUS Empty (HIGHESTMODSEQ)")
    assert re.match(r"^\* STATUS Empty \(HIGHESTMODSEQ \d+\)$",
                    r.untagged[0]), r.lines
