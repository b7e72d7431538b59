"""Several sessions on one mailbox (concurrency issue): the untagged
responses of RFC 3501 5.2 (mailbox size and message status updates),
5.5 (EXPUNGE only when the client can take it) and 7.4.1 (no EXPUNGE
during FETCH, STORE, SEARCH; allowed during their UID forms, NOOP,
CHECK), \\Recent (2.3.2), and changes made by others -- LMTP, `roost
deliver`, an MDA writing into Maildir new/, POP3, DELETE and RENAME --
reaching sessions that have the mailbox selected. RFC 9051 7.5.1 says
the same for IMAP4rev2.

Each session keeps a model of its view (imap_client.Session) built from
the untagged lines it receives and checked line by line; on top of that
the tests assert the exact lines the RFC fixes."""

import re
import subprocess

import pytest

import roost
from imap_client import Session, norm_flags
from lmtp_client import LmtpClient
from roost import ConnectionClosed, appenduid, fetches, make_message


def session(mail_user, name):
    return Session(mail_user.connect(), name)


def put(c, n, mailbox="INBOX", prefix="m", flags=None):
    """APPEND n messages (subjects prefix0.., Message-ID <prefixN@...>)
    through client c; their UIDs."""
    uids = []
    for i in range(n):
        r = c.append(mailbox, make_message(f"{prefix}{i}"), flags=flags)
        assert r.status == "OK", r.lines
        uids += appenduid(r)[1]
    return uids


def untagged_set(r):
    return sorted(r.untagged)


def expunges(r):
    return [int(m.group(1)) for m in
            (re.match(r"^\* (\d+) EXPUNGE$", ln) for ln in r.untagged) if m]


def fetch_flags(r):
    """seq -> normalised flags of every FETCH FLAGS in the response."""
    return {seq: norm_flags(d["FLAGS"]) for seq, d in fetches(r)
            if "FLAGS" in d}


def fetch_recent(r):
    """seqs whose FETCH FLAGS hold \\Recent."""
    return {seq for seq, d in fetches(r) if "FLAGS" in d and
            any(f.lower() == "\\recent" for f in d["FLAGS"])}


def message_ids(s, seqset="1:*"):
    """seq -> Message-ID of the selected mailbox (BODY.PEEK, FETCH)."""
    r = s.cmd(f"FETCH {seqset} (BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    out = {}
    for seq, d in fetches(r):
        v = d.get("BODY[HEADER.FIELDS (MESSAGE-ID)]")
        m = re.search(r"<([^>]*)>", v or "")
        out[seq] = m.group(1) if m else None
    return out


@pytest.fixture
def ab(mail_user):
    """A and B with INBOX selected (A first, so A holds the \\Recent of
    its three messages m0..m2, UIDs 1..3)."""
    a = session(mail_user, "A")
    b = session(mail_user, "B")
    assert put(a.c, 3) == [1, 2, 3]
    a.select("INBOX")
    b.select("INBOX")
    assert a.recent == 3 and b.recent == 0
    return a, b


# ----------------------------------------------------------------------
# RFC 3501 5.2 / 7.3.1: EXISTS (and RECENT) after another session's APPEND

SYNC_COMMANDS = ["NOOP", "CHECK", "FETCH 1 (UID)", "UID FETCH 1 (UID)",
                 r"STORE 1 +FLAGS (\Answered)",
                 r"UID STORE 1 +FLAGS (\Answered)", "SEARCH ALL",
                 "UID SEARCH ALL"]


@pytest.mark.parametrize("command", SYNC_COMMANDS)
def test_append_by_other_reported_as_exists(ab, mail_user, command):
    a, b = ab
    c = mail_user.connect()                     # nothing selected
    r = c.append("INBOX", make_message("new"))
    assert r.status == "OK"
    uidv, (uid,) = appenduid(r)
    assert uidv == b.uidvalidity and uid == 4
    r = b.cmd(command)
    # B is the first session told about UID 4: it is \Recent for B
    assert "* 4 EXISTS" in r.untagged, r.lines
    assert "* 1 RECENT" in r.untagged, r.lines
    others = [ln for ln in r.untagged if ln not in ("* 4 EXISTS",
                                                    "* 1 RECENT")]
    for ln in others:
        assert re.match(r"^\* (1 FETCH|SEARCH)", ln), r.lines
    # told once only
    assert b.cmd("NOOP").untagged == []
    # A learns of it too, without \Recent (B has it); A's own three stay
    r = a.cmd("NOOP")
    assert sorted(ln for ln in r.untagged if " FETCH " not in ln) == \
        ["* 3 RECENT", "* 4 EXISTS"], r.lines
    # (and, after B's STORE, the flags of message 1)
    assert all(ln.startswith("* 1 FETCH (FLAGS ") for ln in r.untagged
               if " FETCH " in ln), r.lines
    b.learn()
    a.learn()
    assert a.uids() == b.uids() == [1, 2, 3, 4]
    assert fetch_recent(b.cmd("FETCH 1:4 (FLAGS)")) == {4}
    assert fetch_recent(a.cmd("FETCH 1:4 (FLAGS)")) == {1, 2, 3}


def test_append_by_selected_session(ab):
    """RFC 3501 6.3.11: APPEND to the selected mailbox SHOULD give the
    appender an EXISTS at once; the other session gets it at its next
    command; UIDs keep ascending."""
    a, b = ab
    r = a.c.append("INBOX", make_message("own"))
    a.apply("APPEND", r)
    assert r.status == "OK"
    assert appenduid(r)[1] == [4]
    assert "* 4 EXISTS" in r.untagged, r.lines
    assert "* 4 RECENT" in r.untagged, r.lines
    r = b.cmd("NOOP")
    assert "* 4 EXISTS" in r.untagged, r.lines
    assert all(ln in ("* 4 EXISTS", "* 0 RECENT") for ln in r.untagged), \
        r.lines
    r = b.c.append("INBOX", make_message("from-b"))
    b.apply("APPEND", r)
    assert appenduid(r)[1] == [5]
    assert "* 5 EXISTS" in r.untagged and "* 1 RECENT" in r.untagged, r.lines
    r = a.cmd("NOOP")
    assert untagged_set(r) == ["* 4 RECENT", "* 5 EXISTS"], r.lines
    a.learn()
    b.learn()
    assert a.uids() == b.uids() == [1, 2, 3, 4, 5]
    assert message_ids(a, "4:5") == {4: "own@test.example",
                                     5: "from-b@test.example"}


def test_many_appends_one_exists(ab, mail_user):
    a, b = ab
    c = mail_user.connect()
    put(c, 4, prefix="n")
    r = b.cmd("NOOP")
    assert untagged_set(r) == ["* 4 RECENT", "* 7 EXISTS"], r.lines
    b.learn()
    assert b.uids() == [1, 2, 3, 4, 5, 6, 7]
    assert message_ids(b, "4:7") == {
        4: "n0@test.example", 5: "n1@test.example", 6: "n2@test.example",
        7: "n3@test.example"}


def test_copy_and_move_into_selected(ab, mail_user):
    """COPY and MOVE by another session into B's mailbox are new
    messages there (EXISTS); MOVE out of it is an EXPUNGE."""
    a, b = ab
    c = mail_user.connect()
    put(c, 2, mailbox="Drafts", prefix="d")
    c.ok("SELECT Drafts")
    c.ok("COPY 1 INBOX")
    c.ok("MOVE 2 INBOX")
    r = b.cmd("NOOP")
    assert "* 5 EXISTS" in r.untagged, r.lines
    b.learn()
    assert b.uids() == [1, 2, 3, 4, 5]
    assert message_ids(b, "4:5") == {4: "d0@test.example",
                                     5: "d1@test.example"}
    # A moves message 2 (UID 2) out of INBOX: B sees it expunged
    a.cmd("MOVE 2 Drafts")
    a.learn()
    assert a.uids() == [1, 3, 4, 5]
    r = b.cmd("NOOP")
    assert r.untagged == ["* 2 EXPUNGE"], r.lines
    assert b.uids() == [1, 3, 4, 5]


# ----------------------------------------------------------------------
# RFC 3501 7.4.2: FETCH FLAGS after another session's STORE

def test_store_reported_to_other(ab):
    a, b = ab
    r = b.cmd(r"STORE 2 +FLAGS (\Flagged Work)")
    # B's own answer: the new flags (B holds no \Recent); besides, at
    # most the new keyword announced in FLAGS
    fl = [ln for ln in r.untagged if " FETCH " in ln]
    assert len(fl) == 1, r.lines
    assert re.match(r"^\* 2 FETCH \(FLAGS \([^()]*\)\)$", fl[0]), r.lines
    assert all(ln == fl[0] or ln.startswith("* FLAGS ") or
               ln.startswith("* OK [PERMANENTFLAGS ") for ln in r.untagged)
    assert fetch_flags(r) == {2: {r"\flagged", "work"}}
    r = a.cmd("NOOP")
    fl = [ln for ln in r.untagged if " FETCH " in ln]
    assert len(fl) == 1, r.lines
    assert re.match(r"^\* 2 FETCH \(FLAGS \([^()]*\)\)$", fl[0]), r.lines
    assert fetch_flags(r) == {2: {r"\flagged", "work"}}
    assert fetch_recent(r) == {2}               # A's \Recent kept
    # anything else in A's answer can only announce the new keyword
    assert all(ln == fl[0] or ln.startswith("* FLAGS ") or
               ln.startswith("* OK [PERMANENTFLAGS ") for ln in r.untagged)
    assert "work" in a.flags_announced
    assert a.cmd("NOOP").untagged == []         # told once
    # removing and replacing flags is reported the same way
    b.cmd(r"STORE 2 -FLAGS (Work)")
    r = a.cmd("NOOP")
    assert fetch_flags(r) == {2: {r"\flagged"}}, r.lines
    b.cmd(r"STORE 1:3 FLAGS (\Draft)")
    r = a.cmd("NOOP")
    assert fetch_flags(r) == {1: {r"\draft"}, 2: {r"\draft"},
                              3: {r"\draft"}}, r.lines
    assert a.state() == b.state()


def test_uid_store_answer_has_uid(ab):
    a, b = ab
    r = b.cmd(r"UID STORE 3 +FLAGS (\Seen)")
    assert len(r.untagged) == 1, r.lines
    (seq, d), = fetches(r)
    assert seq == 3 and d["UID"] == "3" and d["FLAGS"] == [r"\Seen"], \
        r.lines
    r = a.cmd("NOOP")
    assert fetch_flags(r) == {3: {r"\seen"}}, r.lines


def test_store_without_change_not_reported(ab):
    a, b = ab
    b.cmd(r"STORE 1 +FLAGS (\Seen)")
    a.cmd("NOOP")
    b.cmd(r"STORE 1 +FLAGS (\Seen)")            # no change
    r = a.cmd("NOOP")
    assert r.untagged == [], r.lines


def test_store_silent(ab):
    """.SILENT: no FETCH to the session that stored; the others are told
    as for any STORE."""
    a, b = ab
    r = b.cmd(r"STORE 2 +FLAGS.SILENT (\Seen)")
    assert r.untagged == [], r.lines
    b.apply_silent_store([2], "+", [r"\Seen"])
    r = b.cmd(r"UID STORE 3 FLAGS.SILENT (\Answered)")
    assert r.untagged == [], r.lines
    b.apply_silent_store([3], "", [r"\Answered"])
    r = a.cmd("NOOP")
    assert fetch_flags(r) == {2: {r"\seen"}, 3: {r"\answered"}}, r.lines
    assert b.cmd("NOOP").untagged == []
    assert b.state() == a.state()


@pytest.mark.parametrize("silent", [False, True])
def test_store_tells_concurrent_change(ab, silent):
    """A sets \\Flagged; B, not told yet, adds \\Seen to the same
    message. RFC 3501 6.4.6: "Regardless of whether or not the .SILENT
    suffix was used, the server SHOULD send an untagged FETCH response
    if a change to a message's flags from an external source is
    observed. The intent is that the status of the flags is determinate
    without a race condition." B must end up knowing both flags, in the
    STORE answer or at its next NOOP."""
    a, b = ab
    a.cmd(r"STORE 1 +FLAGS (\Flagged)")
    item = "+FLAGS.SILENT" if silent else "+FLAGS"
    r = b.cmd(f"STORE 1 {item} (\\Seen)")
    if silent:
        assert fetch_flags(r) in ({}, {1: {r"\seen", r"\flagged"}}), r.lines
        if not fetch_flags(r):
            b.apply_silent_store([1], "+", [r"\Seen"])
    else:
        assert fetch_flags(r) == {1: {r"\seen", r"\flagged"}}, r.lines
    b.cmd("NOOP")
    truth = fetch_flags(b.c.cmd("FETCH 1 (FLAGS)"))
    assert truth == {1: {r"\seen", r"\flagged"}}
    assert b.msgs[0].flags == {r"\seen", r"\flagged"}, \
        f"B was never told of A's \\Flagged: {b.log[-3:]!r}"


# ----------------------------------------------------------------------
# RFC 3501 7.4.1: EXPUNGE held back during FETCH, STORE and SEARCH

@pytest.fixture
def ab5(mail_user):
    """A and B with INBOX (UIDs 1..5) selected; A then expunges UIDs 2
    and 4 (A gets its own EXPUNGEs at once)."""
    a = session(mail_user, "A")
    b = session(mail_user, "B")
    assert put(a.c, 5) == [1, 2, 3, 4, 5]
    a.select("INBOX")
    b.select("INBOX")
    a.cmd(r"STORE 2,4 +FLAGS.SILENT (\Deleted)")
    b.cmd("NOOP")
    b.learn()
    r = a.cmd("EXPUNGE")
    assert expunges(r) in ([4, 2], [2, 3]), r.lines
    assert a.uids() == [1, 3, 5]
    return a, b


def test_no_expunge_during_fetch(ab5):
    a, b = ab5
    r = b.cmd("FETCH 5 (UID)")
    assert r.untagged == ["* 5 FETCH (UID 5)"], r.lines
    r = b.cmd("FETCH 3 (UID FLAGS)")
    assert r.untagged == ["* 3 FETCH (UID 3 FLAGS ())"], r.lines
    r = b.cmd("FETCH 1:5 (UID)", expect=("OK", "NO"))
    assert expunges(r) == [], r.lines
    # what it does send uses the old numbering (the model checks it),
    # and whatever it holds back, 1, 3 and 5 are answered
    assert {s for s, _ in fetches(r)} >= {1, 3, 5}, r.lines
    assert b.uids() == [1, 2, 3, 4, 5]
    r = b.cmd("NOOP")
    assert expunges(r) in ([4, 2], [2, 3]), r.lines
    assert len(r.untagged) == 2, r.lines
    assert b.uids() == [1, 3, 5]
    r = b.cmd("FETCH 3 (UID)")
    assert r.untagged == ["* 3 FETCH (UID 5)"], r.lines


def test_no_expunge_during_store(ab5):
    a, b = ab5
    r = b.cmd(r"STORE 5 +FLAGS (\Seen)")
    assert r.untagged == [r"* 5 FETCH (FLAGS (\Seen))"], r.lines
    r = b.cmd(r"STORE 3 +FLAGS (\Answered)")
    assert r.untagged == [r"* 3 FETCH (FLAGS (\Answered))"], r.lines
    # a STORE naming an expunged message: no EXPUNGE, old numbers
    r = b.cmd(r"STORE 1:5 +FLAGS (\Flagged)", expect=("OK", "NO"))
    assert expunges(r) == [], r.lines
    assert {s for s, _ in fetches(r)} >= {1, 3, 5}, r.lines
    r = b.cmd("NOOP")
    assert expunges(r) in ([4, 2], [2, 3]), r.lines
    assert b.uids() == [1, 3, 5]
    r = a.cmd("NOOP")
    assert fetch_flags(r) == {1: {r"\flagged"},
                              2: {r"\flagged", r"\answered"},
                              3: {r"\flagged", r"\seen"}}, r.lines
    assert a.state() == b.state()


def test_no_expunge_during_search(ab5):
    a, b = ab5
    r = b.cmd("SEARCH UID 5")
    assert r.untagged == ["* SEARCH 5"], r.lines
    r = b.cmd("SEARCH UID 3")
    assert r.untagged == ["* SEARCH 3"], r.lines
    r = b.cmd("SEARCH UID 1:5 UNDELETED")
    assert r.untagged == ["* SEARCH 1 3 5"], r.lines
    r = b.cmd("SEARCH ALL")
    assert expunges(r) == [], r.lines
    nums = [int(x) for x in r.untagged[0].split()[2:]]
    assert set(nums) >= {1, 3, 5} and set(nums) <= {1, 2, 3, 4, 5}, r.lines
    r = b.cmd("NOOP")
    assert expunges(r) in ([4, 2], [2, 3]), r.lines
    assert b.cmd("SEARCH UID 5").untagged == ["* SEARCH 3"]


def test_held_back_expunge_with_new_message(ab5, mail_user):
    """While the EXPUNGEs are held back, a new message is counted in
    B's old numbering: 5 + 1 = 6 EXISTS; after NOOP it is number 4."""
    a, b = ab5
    c = mail_user.connect()
    put(c, 1, prefix="late")
    r = b.cmd("FETCH 1 (UID)")
    assert untagged_set(r) == sorted(["* 1 FETCH (UID 1)", "* 6 EXISTS",
                                      "* 1 RECENT"]), r.lines
    r = b.cmd("FETCH 6 (UID)")
    assert r.untagged == ["* 6 FETCH (UID 6)"], r.lines
    r = b.cmd("SEARCH UID 6")
    assert r.untagged == ["* SEARCH 6"], r.lines
    r = b.cmd("NOOP")
    assert expunges(r) in ([4, 2], [2, 3]), r.lines
    assert b.uids() == [1, 3, 5, 6]
    assert b.cmd("FETCH 4 (UID)").untagged == ["* 4 FETCH (UID 6)"]
    r = a.cmd("NOOP")
    # A holds the \Recent of UIDs 1, 3, 5; B got the new one's
    assert untagged_set(r) == ["* 3 RECENT", "* 4 EXISTS"], r.lines


@pytest.mark.parametrize("command", [
    "NOOP", "CHECK", "UID FETCH 5 (UID)", r"UID STORE 5 +FLAGS (\Seen)",
    "UID SEARCH UID 5", "UID SEARCH ALL"])
def test_expunge_sent_during(ab5, command):
    """RFC 3501 7.4.1 allows EXPUNGE during the UID forms; NOOP and CHECK
    must carry it (5.2). Each number refers to the view at the moment
    it is sent (the model checks every line)."""
    a, b = ab5
    r = b.cmd(command)
    ex = expunges(r)
    assert ex in ([4, 2], [2, 3]), r.lines
    assert b.uids() == [1, 3, 5]
    if command.startswith("UID FETCH") or command.startswith("UID STORE"):
        fl = [ln for ln in r.untagged if " FETCH " in ln]
        assert len(fl) == 1, r.lines
        # UID 5 is number 5 before the EXPUNGEs, 3 after them
        pos = r.untagged.index(fl[0])
        before = len([ln for ln in r.untagged[:pos]
                      if ln.endswith(" EXPUNGE")])
        want = 5 if before == 0 else 3
        assert re.match(rf"^\* {want} FETCH \(", fl[0]), r.lines
    if command.startswith("UID SEARCH"):
        s = [ln for ln in r.untagged if ln.startswith("* SEARCH")]
        # UIDs of the view when the line is sent: 2 and 4 only while
        # their EXPUNGEs have not been sent yet
        pos = r.untagged.index(s[0])
        before = len([ln for ln in r.untagged[:pos]
                      if ln.endswith(" EXPUNGE")])
        if "UID 5" in command:
            assert s == ["* SEARCH 5"], r.lines
        elif before:
            assert s == ["* SEARCH 1 3 5"], r.lines
        else:
            assert s in (["* SEARCH 1 3 5"], ["* SEARCH 1 2 3 4 5"]), r.lines
    assert b.cmd("NOOP").untagged == []


def test_expunge_of_many_numbers_valid(mail_user):
    """A expunges every other message of 10; B's NOOP gets five
    EXPUNGEs whose numbers are valid one after the other."""
    a = session(mail_user, "A")
    b = session(mail_user, "B")
    put(a.c, 10)
    a.select("INBOX")
    b.select("INBOX")
    a.cmd(r"STORE 1:* +FLAGS.SILENT (\Deleted)")
    a.cmd(r"STORE 2,4,6,8,10 -FLAGS.SILENT (\Deleted)")
    a.cmd("EXPUNGE")
    assert a.uids() == [2, 4, 6, 8, 10]
    r = b.cmd("NOOP")
    assert len(expunges(r)) == 5, r.lines
    assert b.uids() == [2, 4, 6, 8, 10]
    b.cmd("FETCH 1:* (UID)")


# ----------------------------------------------------------------------
# three sessions, expunges and appends at different times

def test_three_sessions_numbering(mail_user):
    a = session(mail_user, "A")
    b = session(mail_user, "B")
    c = session(mail_user, "C")
    w = mail_user.connect()                     # a writer, nothing selected
    put(w, 6)
    for s in (a, b, c):
        s.select("INBOX")
        assert s.uids() == [1, 2, 3, 4, 5, 6]

    def check(s):
        """The model against the server's answer to FETCH 1:* (UID):
        every line must agree with the model (Session checks it)."""
        r = s.cmd("FETCH 1:* (UID)")
        assert [int(d["UID"]) for _, d in fetches(r)] == s.uids(), r.lines

    # A expunges UID 2
    a.cmd(r"UID STORE 2 +FLAGS.SILENT (\Deleted)")
    a.cmd("UID EXPUNGE 2")
    assert a.uids() == [1, 3, 4, 5, 6]
    # a message arrives; B is told of both at NOOP
    put(w, 1, prefix="x")                       # UID 7
    r = b.cmd("NOOP")
    assert "* 2 EXPUNGE" in r.untagged, r.lines
    b.learn()
    assert b.uids() == [1, 3, 4, 5, 6, 7]
    check(b)
    # C is busy with FETCH: nothing expunged yet, new message counted
    r = c.cmd("FETCH 2 (UID)")
    assert "* 2 FETCH (UID 2)" in r.untagged, r.lines
    assert "* 7 EXISTS" in r.untagged, r.lines
    c.learn()
    assert c.uids() == [1, 2, 3, 4, 5, 6, 7]
    # B expunges UIDs 4 and 7 (B's numbers 3 and 6)
    b.cmd(r"STORE 3,6 +FLAGS.SILENT (\Deleted)")
    r = b.cmd("EXPUNGE")
    assert expunges(r) in ([6, 3], [3, 5]), r.lines
    assert b.uids() == [1, 3, 5, 6]
    # another arrives (UID 8)
    put(w, 1, prefix="y")
    # C still in FETCH/STORE/SEARCH: old numbering, with UID 8 as 8
    r = c.cmd(r"STORE 7 +FLAGS (\Seen)")       # UID 7, expunged already
    assert expunges(r) == [], r.lines
    r = c.cmd("SEARCH UID 8")
    assert "* SEARCH 8" in r.untagged, r.lines
    c.learn()
    assert c.uids() == [1, 2, 3, 4, 5, 6, 7, 8]
    # A, told nothing since its own expunge, catches up in one NOOP
    r = a.cmd("NOOP")
    a.learn()
    assert a.uids() == [1, 3, 5, 6, 8]
    # C's NOOP: three expunges (UIDs 2, 4, 7) in valid order
    r = c.cmd("NOOP")
    assert len(expunges(r)) == 3, r.lines
    assert c.uids() == [1, 3, 5, 6, 8]
    r = b.cmd("NOOP")
    b.learn()
    for s in (a, b, c):
        check(s)
    assert a.uids() == b.uids() == c.uids() == [1, 3, 5, 6, 8]
    assert a.state() == b.state() == c.state()
    assert message_ids(c) == {1: "m0@test.example", 2: "m2@test.example",
                              3: "m4@test.example", 4: "m5@test.example",
                              5: "y0@test.example"}


# ----------------------------------------------------------------------
# \Recent (RFC 3501 2.3.2): one read-write session gets it

def test_recent_once_across_sessions(mail_user):
    e = session(mail_user, "E")      # EXAMINE
    b = session(mail_user, "B")
    c = session(mail_user, "C")
    w = mail_user.connect()
    put(w, 1, prefix="old")
    e.select("INBOX", examine=True)
    # EXAMINE does not take \Recent away (RFC 3501 6.3.2)
    assert e.recent in (0, 1)
    assert b.select("INBOX").untagged.count("* 1 RECENT") == 1
    assert c.select("INBOX").untagged.count("* 0 RECENT") == 1
    # a new message: E is told first, then C, then B
    put(w, 1, prefix="new")
    r = e.cmd("NOOP")
    assert "* 2 EXISTS" in r.untagged, r.lines
    r = c.cmd("NOOP")
    assert untagged_set(r) == ["* 1 RECENT", "* 2 EXISTS"], r.lines
    r = b.cmd("NOOP")
    # B keeps the \Recent of "old" and does not get "new"
    assert untagged_set(r) == ["* 1 RECENT", "* 2 EXISTS"], r.lines
    assert fetch_recent(b.cmd("FETCH 1:2 (FLAGS)")) == {1}
    assert fetch_recent(c.cmd("FETCH 1:2 (FLAGS)")) == {2}
    # E, read-only, claimed nothing: had it, C would not have \Recent
    assert fetch_recent(e.cmd("FETCH 1:2 (FLAGS)")) <= {1, 2}
    # STATUS from a fourth session: nothing left to be recent
    r = w.ok("STATUS INBOX (RECENT)")
    assert "* STATUS INBOX (RECENT 0)" in r.untagged, r.lines
    # re-selecting gives \Recent to nobody
    for s in (b, c):
        r = s.select("INBOX")
        assert "* 0 RECENT" in r.untagged, r.lines
        assert fetch_recent(s.cmd("FETCH 1:2 (FLAGS)")) == set()


def test_recent_examine_then_select(mail_user):
    w = mail_user.connect()
    put(w, 2)
    e = session(mail_user, "E")
    # E is the first told: RFC 3501 2.3.2 lets it see \Recent (roost
    # does) or not; either way EXAMINE claims nothing (6.3.2)
    r = e.select("INBOX", examine=True)
    assert e.recent in (0, 2), r.lines
    r = e.select("INBOX", examine=True)
    assert e.recent in (0, 2), r.lines
    b = session(mail_user, "B")
    r = b.select("INBOX")
    assert "* 2 RECENT" in r.untagged, r.lines
    assert fetch_recent(b.cmd("FETCH 1:2 (FLAGS)")) == {1, 2}
    r = e.select("INBOX", examine=True)
    assert "* 0 RECENT" in r.untagged, r.lines
    c = session(mail_user, "C")
    r = c.select("INBOX")
    assert "* 0 RECENT" in r.untagged, r.lines


def test_recent_not_given_to_examine_for_new_mail(mail_user):
    """A message arriving while only an EXAMINE session watches stays
    \\Recent for the next read-write SELECT."""
    e = session(mail_user, "E")
    e.select("INBOX", examine=True)
    w = mail_user.connect()
    put(w, 1)
    r = e.cmd("NOOP")
    assert "* 1 EXISTS" in r.untagged, r.lines
    b = session(mail_user, "B")
    r = b.select("INBOX")
    assert "* 1 RECENT" in r.untagged, r.lines


# ----------------------------------------------------------------------
# mail from elsewhere reaches open sessions at their next command

def deliver_lmtp(srv, user, data):
    with LmtpClient(srv.lmtp_port) as lc:
        lc.lhlo()
        _, replies = lc.transaction("sender@example.net",
                                    [f"{user}@example.org"], data)
        assert [r.code for r in replies] == [250], replies


def deliver_cli(srv, user, data):
    e = dict(srv.env)
    e.pop("SENDER", None)
    r = subprocess.run([roost.ROOST_BIN, "deliver", user, "--config",
                        str(srv.config_path)], input=data,
                       capture_output=True, timeout=60, env=e)
    assert (r.returncode, r.stderr) == (0, b""), r


def deliver_maildir(srv, user, data):
    import os
    import time
    import uuid
    md = srv.user_dir(user) / "Maildir"
    name = f"{int(time.time())}.{uuid.uuid4().hex}.mda"
    (md / "tmp" / name).write_bytes(data)
    os.rename(md / "tmp" / name, md / "new" / name)


def deliver_imap(srv, user, data):
    from conftest import MAIL_PASSWORD
    c = srv.connect()
    try:
        c.login(user, MAIL_PASSWORD)
        assert c.append("INBOX", data).status == "OK"
    finally:
        c.close()


DELIVERERS = {"lmtp": deliver_lmtp, "deliver": deliver_cli,
              "maildir": deliver_maildir, "imap": deliver_imap}


@pytest.mark.parametrize("how", sorted(DELIVERERS))
def test_delivery_reaches_sessions(ab, mail_user, how):
    a, b = ab
    data = make_message(f"via-{how}", body=f"delivered by {how}\r\n")
    DELIVERERS[how](mail_user.srv, mail_user.name, data)
    r = b.cmd("NOOP")
    assert untagged_set(r) == ["* 1 RECENT", "* 4 EXISTS"], r.lines
    r = a.cmd("NOOP")
    assert untagged_set(r) == ["* 3 RECENT", "* 4 EXISTS"], r.lines
    b.learn()
    a.learn()
    assert a.uids() == b.uids() and a.uids()[:3] == [1, 2, 3]
    assert a.uids()[3] > 3
    assert message_ids(a, "4") == {4: f"via-{how}@test.example"}
    r = b.cmd("FETCH 4 (BODY.PEEK[TEXT])")
    (_, d), = fetches(r)
    assert d["BODY[TEXT]"] == f"delivered by {how}\r\n"
    # a second one, while B is in a FETCH: counted, not lost
    DELIVERERS[how](mail_user.srv, mail_user.name,
                    make_message(f"again-{how}"))
    r = b.cmd("FETCH 1 (UID)")
    assert "* 5 EXISTS" in r.untagged, r.lines
    b.learn()
    assert b.uids()[4] > b.uids()[3]


def test_pop3_deletions_reach_imap_session(mail_user):
    import poplib
    a = session(mail_user, "A")
    put(a.c, 4)
    a.select("INBOX")
    p = poplib.POP3("127.0.0.1", mail_user.srv.pop3_port, timeout=10)
    try:
        p.user(mail_user.name)
        p.pass_(mail_user.password)
        assert len(p.list()[1]) == 4
        p.dele(1)
        p.dele(3)
        # marked, not gone: nothing until QUIT (RFC 1939 6)
        assert a.cmd("NOOP").untagged == []
    finally:
        assert p.quit().startswith(b"+OK")
    r = a.cmd("FETCH 4 (UID)")
    assert r.untagged == ["* 4 FETCH (UID 4)"], r.lines
    r = a.cmd("NOOP")
    assert expunges(r) in ([3, 1], [1, 2]), r.lines
    assert len(r.untagged) == 2, r.lines
    assert a.uids() == [2, 4]
    assert message_ids(a) == {1: "m1@test.example", 2: "m3@test.example"}


# ----------------------------------------------------------------------
# the selected mailbox deleted or renamed by another session

@pytest.mark.parametrize("examine", [False, True])
def test_selected_mailbox_deleted(mail_user, examine):
    """RFC 3501 leaves the choice; roost ends the session with BYE at its
    next command, and the connection closes."""
    a = session(mail_user, "A")
    b = mail_user.connect()
    b.ok("CREATE Box")
    put(b, 2, mailbox="Box")
    a.select("Box", examine=examine)
    b.ok("DELETE Box")
    a.c.send("n1 NOOP\r\n")
    lines = a.c.read_until_closed()
    assert len(lines) == 1 and re.match(r"^\* BYE ", lines[0]), lines
    # nothing else broke: the other session goes on
    b.ok("NOOP")
    assert b.cmd("SELECT Box").status == "NO"


def test_selected_mailbox_deleted_and_recreated(mail_user):
    """A new mailbox of the same name is another mailbox (new
    UIDVALIDITY): the old session must not slide into it."""
    a = session(mail_user, "A")
    b = mail_user.connect()
    b.ok("CREATE Box")
    put(b, 2, mailbox="Box")
    a.select("Box")
    b.ok("DELETE Box")
    b.ok("CREATE Box")
    put(b, 3, mailbox="Box", prefix="n")
    a.c.send("n1 FETCH 1:* (UID)\r\n")
    lines = a.c.read_until_closed()
    assert lines and re.match(r"^\* BYE ", lines[-1]), lines
    assert not any(" FETCH " in ln and "UID 3" in ln for ln in lines), lines


def test_selected_mailbox_renamed(mail_user):
    """RENAME by another session: roost keeps the session on the same
    mailbox under its new name -- same UIDs, flags and UIDVALIDITY,
    new mail to the new name shows up, a new mailbox of the old name
    does not."""
    a = session(mail_user, "A")
    b = mail_user.connect()
    b.ok("CREATE Box")
    put(b, 2, mailbox="Box")
    a.select("Box")
    uidv = a.uidvalidity
    b.ok("RENAME Box Moved")
    r = a.cmd("NOOP")
    assert r.untagged == [], r.lines
    assert a.cmd("FETCH 1:* (UID)").untagged == ["* 1 FETCH (UID 1)",
                                                 "* 2 FETCH (UID 2)"]
    put(b, 1, mailbox="Moved", prefix="moved")
    b.ok("CREATE Box")
    put(b, 1, mailbox="Box", prefix="other")
    r = a.cmd("NOOP")
    assert "* 3 EXISTS" in r.untagged, r.lines
    a.learn()
    assert a.uids() == [1, 2, 3]
    assert message_ids(a, "3") == {3: "moved0@test.example"}
    a.cmd(r"STORE 1 +FLAGS (\Flagged)")
    c = mail_user.connect()
    r = c.ok("EXAMINE Moved")
    assert "* 3 EXISTS" in r.untagged and \
        f"* OK [UIDVALIDITY {uidv}] UIDs valid" in r.untagged, r.lines
    f = {s: norm_flags(d["FLAGS"]) for s, d in
         fetches(c.ok("FETCH 1 (FLAGS)"))}
    assert f == {1: {r"\flagged"}}


def test_selected_inbox_renamed(mail_user):
    """RENAME INBOX moves its messages to a new mailbox and leaves INBOX
    empty (RFC 3501 6.3.5): a session with INBOX selected is told they
    are expunged, and new mail to INBOX still reaches it."""
    a = session(mail_user, "A")
    b = mail_user.connect()
    put(b, 3)
    a.select("INBOX")
    b.ok("RENAME INBOX Old")
    r = a.cmd("NOOP")
    assert len(expunges(r)) == 3, r.lines
    assert a.uids() == []
    put(b, 1, prefix="after")
    r = a.cmd("NOOP")
    assert "* 1 EXISTS" in r.untagged, r.lines
    a.learn()
    assert a.uids()[0] > 3
    assert message_ids(a) == {1: "after0@test.example"}
    r = b.ok("STATUS Old (MESSAGES)")
    assert "* STATUS Old (MESSAGES 3)" in r.untagged, r.lines


def test_connection_survives_other_session_logout(ab):
    """A session that LOGOUTs (or vanishes) does not disturb the other
    one's view."""
    a, b = ab
    a.cmd(r"STORE 1 +FLAGS (\Seen)")
    a.c.send("z LOGOUT\r\n")
    lines = a.c.read_until_closed()
    assert lines[-1].startswith("z OK"), lines
    r = b.cmd("NOOP")
    assert fetch_flags(r) == {1: {r"\seen"}}, r.lines
    with pytest.raises((ConnectionClosed, OSError)):
        a.c.cmd("NOOP")


# ----------------------------------------------------------------------
# RFC 3501 7.4.1: "An EXPUNGE response MUST NOT be sent when no command
# is in progress ... a command is not "in progress" during the
# negotiation of command continuation." (RFC 9051 7.5.1 the same)

def pending_lines(client, rounds=3):
    """Whatever the server has sent client unasked, read without
    blocking once the other sessions' commands are done."""
    import select
    out = b""
    for _ in range(rounds):
        ready, _, _ = select.select([client.sock], [], [], 0.1)
        if not ready:
            break
        chunk = client.sock.recv(65536)
        if not chunk:
            break
        out += chunk
    client.buf += out
    return [ln for ln in out.decode(errors="replace").split("\r\n") if ln]


def test_no_expunge_while_no_command(ab5):
    """B sits selected without a command (and without IDLE) while A
    expunges: nothing may tell B of the EXPUNGE until B's next command.
    (EXISTS and FETCH may come unasked, RFC 3501 5.2; EXPUNGE may not.)"""
    a, b = ab5
    a.cmd(r"STORE 1 +FLAGS.SILENT (\Deleted)")
    a.cmd("EXPUNGE")
    a.cmd("NOOP")                     # the server has finished with A's
    lines = pending_lines(b.c)
    assert not any(ln.endswith(" EXPUNGE") for ln in lines), lines
    r = b.cmd("NOOP")                 # (applies the pending lines too)
    assert b.uids() == [3, 5], r.lines


def test_no_expunge_during_continuation(ab5):
    """B starts an APPEND with a synchronising literal and gets `+`;
    while B sends nothing, A expunges. No EXPUNGE before B's command is
    complete; after it, B's answer may carry it (APPEND is not FETCH,
    STORE or SEARCH)."""
    a, b = ab5
    msg = make_message("cont")
    b.c.send(f"ap APPEND Drafts {{{len(msg)}}}\r\n")
    r = b.c.read_response("ap")
    assert r.continuation is not None, r.lines
    a.cmd(r"STORE 1 +FLAGS.SILENT (\Deleted)")
    a.cmd("EXPUNGE")
    a.cmd("NOOP")
    lines = pending_lines(b.c)
    assert lines == [], lines
    b.c.send(msg + b"\r\n")
    r = b.c.read_response("ap")
    b.apply("APPEND Drafts", r)
    assert r.status == "OK", r.lines
    b.cmd("NOOP")
    assert b.uids() == [3, 5]


def test_pipelined_commands_keep_numbering(ab5):
    """Pipelined FETCH, STORE, SEARCH and then NOOP: the first three
    answer in B's old numbering, the EXPUNGEs come with the NOOP
    (RFC 3501 5.5: answered as if one after the other)."""
    a, b = ab5
    b.c.send("p1 FETCH 5 (UID)\r\np2 STORE 5 +FLAGS (\\Seen)\r\n"
             "p3 SEARCH UID 5\r\np4 NOOP\r\np5 FETCH 3 (UID)\r\n")
    rs = {}
    for tag, text in (("p1", "FETCH 5 (UID)"),
                      ("p2", r"STORE 5 +FLAGS (\Seen)"),
                      ("p3", "SEARCH UID 5"), ("p4", "NOOP"),
                      ("p5", "FETCH 3 (UID)")):
        rs[tag] = b.c.read_response(tag)
        b.apply(text, rs[tag])
        assert rs[tag].status == "OK", rs[tag].lines
    assert rs["p1"].untagged == ["* 5 FETCH (UID 5)"]
    assert rs["p2"].untagged == [r"* 5 FETCH (FLAGS (\Seen))"]
    assert rs["p3"].untagged == ["* SEARCH 5"]
    assert expunges(rs["p4"]) in ([4, 2], [2, 3]), rs["p4"].lines
    assert rs["p5"].untagged == ["* 3 FETCH (UID 5)"]


def test_uid_fetch_of_message_expunged_by_other(ab5):
    """A UID FETCH naming a message another session expunged: the
    server may send the EXPUNGE with it (RFC 3501 7.4.1) and the UID is
    then simply non-existent, which "is ignored without any error
    message" (RFC 3501 6.4.8): the answer is OK with the messages that
    are left. (A plain FETCH may answer NO instead, RFC 2180 4.1.3.)"""
    a, b = ab5
    r = b.cmd("UID FETCH 1:5 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])",
              expect=None)
    got = {int(d["UID"]) for _, d in fetches(r)}
    assert got >= {1, 3, 5}, r.lines
    assert b.uids() == [1, 3, 5], r.lines
    assert r.status == "OK", r.lines
    r = b.cmd("UID FETCH 4 (BODY.PEEK[])")
    assert r.untagged == [], r.lines


FLIP_FETCHES = 2000


def test_fetch_body_while_other_changes_flags(mail_user):
    """A STORE by one session renames the message file (its flags are in
    the name); a FETCH of the body by another session at the same moment
    must still find it: the message exists all along, so the answer is
    OK with the body, never "NO ... no longer exist". Bounded loop, no
    timing: the two sessions simply run side by side."""
    import threading
    a = session(mail_user, "A")
    b = session(mail_user, "B")
    put(a.c, 3)
    a.select("INBOX")
    b.select("INBOX")
    stop = threading.Event()
    errors = []

    def flipper():
        try:
            n = 0
            while not stop.is_set() and n < 5000:
                op = "+" if n % 2 == 0 else "-"
                r = a.c.cmd(f"STORE 2 {op}FLAGS (\\Flagged $X{n % 3})")
                assert r.status == "OK", r.lines
                n += 1
        except BaseException as e:  # noqa: B902 -- reported below
            errors.append(e)

    t = threading.Thread(target=flipper, daemon=True)
    t.start()
    bad = []
    try:
        for i in range(FLIP_FETCHES):
            cmd = ("UID FETCH 2 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])"
                   if i % 2 else "FETCH 2 (BODY.PEEK[])")
            r = b.c.cmd(cmd)
            if r.status != "OK" or not any("m1" in ln for ln in r.untagged):
                bad.append((cmd, r.lines))
    finally:
        stop.set()
        t.join(60)
    assert not errors, errors
    assert not bad, f"{len(bad)} of {FLIP_FETCHES} FETCHes failed, e.g. {bad[:2]!r}"
    r = b.cmd("NOOP")
    assert b.uids() == [1, 2, 3], r.lines
    assert not mail_user.srv.events("store_error"), \
        mail_user.srv.events("store_error")
