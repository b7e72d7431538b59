"""Messages (issue 3): APPEND (flags, dates, MULTIAPPEND, APPENDLIMIT),
SELECT/EXAMINE, \\Recent, STORE, FETCH of FLAGS/UID/INTERNALDATE/
RFC822.SIZE and whole-message bodies, COPY, MOVE, UIDPLUS, EXPUNGE, CLOSE,
UNSELECT, CHECK, sequence sets, and two sessions on one mailbox."""

import os
import re
import time
from datetime import datetime, timedelta, timezone

import pytest

from roost import (ConnectionClosed, SelectInfo, appenduid, copyuid, crlf,
                   fetches, make_message, parse_status_line, quote, resp_code)

SYSTEM_FLAGS = {r"\answered", r"\flagged", r"\deleted", r"\seen", r"\draft"}
DATE_RE = re.compile(r"^( \d|\d\d)-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|"
                     r"Nov|Dec)-\d{4} \d\d:\d\d:\d\d [+-]\d{4}$")


def flagset(flags, recent=False):
    """Lower-cased set of flags; without \\Recent unless recent."""
    s = {f.lower() for f in flags}
    if not recent:
        s.discard(r"\recent")
    return s


def parse_date(s):
    assert DATE_RE.match(s), f"bad INTERNALDATE syntax: {s!r}"
    return datetime.strptime(s.strip(), "%d-%b-%Y %H:%M:%S %z")


def status(c, mailbox, items="MESSAGES"):
    r = c.ok(f"STATUS {quote(mailbox)} ({items})")
    st = [s for s in (parse_status_line(ln) for ln in r.untagged) if s]
    assert len(st) == 1, r.lines
    return st[0][1]


def append_n(c, mailbox, n, flags=None, prefix="msg"):
    """APPEND n messages; returns [(uid, bytes)]."""
    out = []
    for i in range(n):
        m = make_message(f"{prefix}{i}", body=f"Body {i}.\r\n" * (i + 1))
        f = flags[i] if isinstance(flags, list) else flags
        r = c.append(mailbox, m, flags=f)
        assert r.status == "OK", r.lines
        out.append((appenduid(r)[1][0], m))
    return out


def fetch_map(resp):
    """seq -> item dict, asserting each seq appears once."""
    d = {}
    for seq, items in fetches(resp):
        assert seq not in d, f"two FETCH responses for {seq}: {resp.lines!r}"
        d[seq] = items
    return d


def expunged_seqs(resp):
    return [int(m.group(1)) for m in
            (re.match(r"^\* (\d+) EXPUNGE$", ln) for ln in resp.untagged) if m]


def apply_expunges(uids, resp):
    """uids: list (seq order) of UIDs; apply the response's EXPUNGEs in
    order the way a client does and return what is left."""
    uids = list(uids)
    for seq in expunged_seqs(resp):
        assert 1 <= seq <= len(uids), f"EXPUNGE {seq} of {len(uids)}: " \
            f"{resp.lines!r}"
        del uids[seq - 1]
    return uids


def exists_of(resp):
    ex = [int(m.group(1)) for m in
          (re.match(r"^\* (\d+) EXISTS$", ln) for ln in resp.untagged) if m]
    return ex[-1] if ex else None


@pytest.fixture
def inbox3(imap):
    """INBOX with 3 messages (the first \\Seen), selected."""
    msgs = append_n(imap, "INBOX", 3, flags=[r"\Seen", None, None])
    info = imap.select("INBOX")
    assert info.resp.status == "OK", info
    imap.msgs = msgs
    return imap


# ----------------------------------------------------------------------
# APPEND

def test_append_flags_and_date(imap):
    msg = make_message("dated")
    r = imap.append("INBOX", msg, flags=r"\Seen \Flagged $Label",
                    date="14-Jul-2021 02:44:25 -0700")
    assert r.status == "OK", r.lines
    assert re.match(r"^\S+ OK \[APPENDUID \d+ 1\]", r.tagged), r.tagged
    uidv, uids = appenduid(r)
    assert uidv > 0 and uids == [1]
    info = imap.select("INBOX")
    assert info.uidvalidity == uidv, info
    r = imap.ok("FETCH 1 (FLAGS UID INTERNALDATE RFC822.SIZE)")
    (seq, d), = fetches(r)
    assert seq == 1 and d["UID"] == "1"
    assert flagset(d["FLAGS"]) == {r"\seen", r"\flagged", "$label"}, d
    assert parse_date(d["INTERNALDATE"]) == datetime(
        2021, 7, 14, 2, 44, 25, tzinfo=timezone(timedelta(hours=-7)))
    assert int(d["RFC822.SIZE"]) == len(msg)


def test_append_space_padded_date(imap):
    r = imap.append("INBOX", make_message("pad"), date=" 4-Jul-2021 "
                    "23:00:00 +0200")
    assert r.status == "OK", r.lines
    imap.select("INBOX")
    (seq, d), = fetches(imap.ok("FETCH 1 INTERNALDATE"))
    assert parse_date(d["INTERNALDATE"]) == datetime(
        2021, 7, 4, 21, 0, 0, tzinfo=timezone.utc)


def test_append_default_date_is_now(imap):
    before = datetime.now(timezone.utc).replace(microsecond=0)
    assert imap.append("INBOX", make_message("now")).status == "OK"
    after = datetime.now(timezone.utc)
    imap.select("INBOX")
    (seq, d), = fetches(imap.ok("FETCH 1 INTERNALDATE"))
    t = parse_date(d["INTERNALDATE"])
    assert before - timedelta(seconds=2) <= t <= after + timedelta(seconds=2)


def test_append_uids_ascend_and_uidnext(imap):
    uids = [u for u, _ in append_n(imap, "Drafts", 4)]
    assert uids == [1, 2, 3, 4]
    st = status(imap, "Drafts", "MESSAGES UIDNEXT")
    assert st == {"MESSAGES": 4, "UIDNEXT": 5}


def test_append_sync_literal(imap):
    msg = make_message("sync")
    imap.send(f"a APPEND Sent {{{len(msg)}}}\r\n")
    r = imap.read_response("a")
    assert r.continuation is not None, r.lines
    assert re.match(r"^\+( |$)", r.continuation), r.continuation
    imap.send(msg + b"\r\n")
    r = imap.read_response("a")
    assert r.status == "OK", r.lines
    assert appenduid(r)[1] == [1]
    assert status(imap, "Sent") == {"MESSAGES": 1}


def test_append_lf_message_stored_with_crlf(imap):
    msg = make_message("lf", body="line one\nline two\n", eol="\n")
    assert b"\r" not in msg
    assert imap.append("INBOX", msg).status == "OK"
    want = crlf(msg)
    assert status(imap, "INBOX", "SIZE") == {"SIZE": len(want)}
    imap.select("INBOX")
    (seq, d), = fetches(imap.ok("FETCH 1 (RFC822.SIZE BODY.PEEK[])"))
    assert int(d["RFC822.SIZE"]) == len(want)
    assert d["BODY[]"].encode() == want


def test_append_nonexistent_trycreate(imap):
    r = imap.append("NoSuchBox", make_message("x"))
    assert r.status == "NO" and r.code == "TRYCREATE", r.lines
    r = imap.append("NoSuchBox", make_message("x"), sync=True)
    assert r.status == "NO" and r.code == "TRYCREATE", r.lines
    assert imap.cmd("STATUS NoSuchBox (MESSAGES)").status == "NO"
    # the connection is in sync afterwards
    imap.ok("NOOP")


def test_append_noselect_refused(imap):
    imap.ok("CREATE Par/Kid")
    lst = imap.ok('LIST "" "Par"')
    if r"\Noselect" not in lst.untagged[0]:
        imap.ok("DELETE Par")
    r = imap.append("Par", make_message("x"))
    assert r.status == "NO", r.lines
    imap.ok("NOOP")


@pytest.mark.parametrize("bad", [
    r'(\Bogus)',                         # unknown system flag
    '"14-Foo-2021 00:00:00 +0000"',      # no such month
    '"14-Jul-2021 02:44:25"',            # zone missing
    '"2021-07-14 02:44:25 +0000"',       # wrong format
])
def test_append_bad_arguments(imap, bad):
    msg = make_message("bad")
    # a synchronising literal, so that a server that refuses the
    # arguments before the literal never gets the message bytes
    imap.send(f"a APPEND INBOX {bad} {{{len(msg)}}}\r\n")
    r = imap.read_response("a")
    if r.continuation is not None:
        imap.send(msg + b"\r\n")
        r = imap.read_response("a")
    assert r.status in ("BAD", "NO"), r.lines
    if bad.startswith('"'):
        assert r.status == "BAD", r.lines        # date-time syntax
    imap.ok("NOOP")
    assert status(imap, "INBOX") == {"MESSAGES": 0}


def test_append_recent_flag_not_settable(imap):
    r = imap.append("INBOX", make_message("r"), flags=r"\Recent")
    assert r.status in ("BAD", "NO"), r.lines
    imap.ok("NOOP")


def test_append_keywords_and_case(imap):
    r = imap.append("INBOX", make_message("kw"),
                    flags=r"\SEEN \draft Work $Junk")
    assert r.status == "OK", r.lines
    info = imap.select("INBOX")
    flags = flagset(info.flags)
    assert SYSTEM_FLAGS <= flags and {"work", "$junk"} <= flags, info.flags
    (seq, d), = fetches(imap.ok("FETCH 1 FLAGS"))
    assert flagset(d["FLAGS"]) == {r"\seen", r"\draft", "work", "$junk"}


def test_append_to_selected_mailbox(imap):
    imap.select("INBOX")
    r = imap.append("INBOX", make_message("sel"))
    assert r.status == "OK", r.lines
    # the new message is announced at the latest by the next NOOP
    lines = r.untagged + imap.ok("NOOP").untagged
    assert "* 1 EXISTS" in lines, lines


# ----------------------------------------------------------------------
# MULTIAPPEND (RFC 3502)

def test_multiappend(imap):
    msgs = [make_message(f"multi{i}") for i in range(3)]
    tag = "ma"
    cmd = f"{tag} APPEND Archive".encode()
    flags = [b" (\\Seen)", b"", b' (\\Flagged) "01-Jan-2020 10:00:00 +0000"']
    for m, f in zip(msgs, flags):
        cmd += f + b" {%d+}\r\n" % len(m) + m
    imap.send(cmd + b"\r\n")
    r = imap.read_response(tag)
    assert r.status == "OK", r.lines
    uidv, uids = appenduid(r)
    assert uids == [1, 2, 3], r.tagged
    assert re.search(r"\[APPENDUID \d+ (1:3|3:1|1,2,3)\]", r.tagged), r.tagged
    imap.select("Archive")
    f = fetch_map(imap.ok("FETCH 1:* (UID FLAGS BODY.PEEK[] INTERNALDATE)"))
    assert sorted(f) == [1, 2, 3]
    for i in range(3):
        assert f[i + 1]["BODY[]"].encode() == msgs[i]
    assert flagset(f[1]["FLAGS"]) == {r"\seen"}
    assert flagset(f[2]["FLAGS"]) == set()
    assert flagset(f[3]["FLAGS"]) == {r"\flagged"}
    assert parse_date(f[3]["INTERNALDATE"]) == datetime(
        2020, 1, 1, 10, tzinfo=timezone.utc)


def test_multiappend_sync_literals(imap):
    m1, m2 = make_message("s1"), make_message("s2")
    imap.send(f"a APPEND INBOX {{{len(m1)}}}\r\n")
    assert imap.read_response("a").continuation is not None
    imap.send(m1 + f" {{{len(m2)}}}\r\n".encode())
    r = imap.read_response("a")
    assert r.continuation is not None, r.lines
    imap.send(m2 + b"\r\n")
    r = imap.read_response("a")
    assert r.status == "OK", r.lines
    assert appenduid(r)[1] == [1, 2]


@pytest.mark.parametrize("bad", [r"(\Bogus)", '"99-Foo-2020 00:00:00 +0000"'])
def test_multiappend_all_or_nothing_bad_second(imap, bad):
    """A bad second message means none is stored."""
    m1, m2 = make_message("first"), make_message("second")
    imap.send(f"a APPEND INBOX {{{len(m1)}+}}\r\n".encode() + m1 +
              f" {bad} {{{len(m2)}}}\r\n".encode())
    r = imap.read_response("a")
    if r.continuation is not None:
        imap.send(m2 + b"\r\n")
        r = imap.read_response("a")
    assert r.status in ("BAD", "NO"), r.lines
    imap.ok("NOOP")
    assert status(imap, "INBOX", "MESSAGES UIDNEXT")["MESSAGES"] == 0
    # and the next APPEND works normally
    r = imap.append("INBOX", make_message("after"))
    assert r.status == "OK", r.lines
    assert status(imap, "INBOX") == {"MESSAGES": 1}


def test_multiappend_nonexistent(imap):
    m1, m2 = make_message("a"), make_message("b")
    imap.send(f"a APPEND Nope {{{len(m1)}+}}\r\n".encode() + m1 +
              f" {{{len(m2)}+}}\r\n".encode() + m2 + b"\r\n")
    r = imap.read_response("a")
    assert r.status == "NO" and r.code == "TRYCREATE", r.lines
    imap.ok("NOOP")


# ----------------------------------------------------------------------
# APPENDLIMIT (RFC 7889) and the message size limit

LIMIT = 4096


@pytest.fixture
def limited_srv(make_server):
    return make_server(config={"store": {"max_message_size": LIMIT}})


@pytest.fixture
def limited(limited_srv):
    c = limited_srv.connect()
    c.login()
    yield c
    c.close()


def test_appendlimit_advertised(limited):
    caps = limited.ok("CAPABILITY").caps()
    assert f"APPENDLIMIT={LIMIT}" in caps, caps


def test_appendlimit_exact_size_accepted(limited):
    base = make_message("edge", body="")
    msg = base + b"x" * (LIMIT - len(base))
    assert len(msg) == LIMIT
    r = limited.append("INBOX", msg)
    assert r.status == "OK", r.lines


def test_appendlimit_sync_literal_refused_before_data(limited):
    """RFC 3501 7.5 and RFC 7889: a synchronising literal over the limit
    is refused with NO [TOOBIG] instead of a continuation, so the client
    does not send the data."""
    limited.send(f"a APPEND INBOX {{{LIMIT + 1}}}\r\n")
    r = limited.read_response("a")
    asked = r.continuation is not None
    if asked:
        limited.send(b"z" * (LIMIT + 1) + b"\r\n")
        r = limited.read_response("a")
    assert r.status == "NO" and r.code == "TOOBIG", r.lines
    limited.ok("NOOP")
    assert status(limited, "INBOX") == {"MESSAGES": 0}
    assert not asked, "server sent '+' for a literal over APPENDLIMIT"


def test_appendlimit_nonsync_literal(limited_srv, limited):
    msg = make_message("big", body="y" * (LIMIT + 500))
    try:
        r = limited.append("INBOX", msg)
    except ConnectionClosed:
        r = None        # RFC 7888 4: the server may answer BYE and close
    if r is not None:
        assert r.status == "NO" and r.code == "TOOBIG", r.lines
        limited.ok("NOOP")
    # either way nothing was stored, and the server serves on
    with limited_srv.connect() as c2:
        c2.login()
        assert status(c2, "INBOX") == {"MESSAGES": 0}


def test_multiappend_toobig_second(limited):
    m1 = make_message("small")
    limited.send(f"a APPEND INBOX {{{len(m1)}+}}\r\n".encode() + m1 +
                 f" {{{LIMIT + 10}}}\r\n".encode())
    r = limited.read_response("a")
    if r.continuation is not None:
        limited.send(b"z" * (LIMIT + 10) + b"\r\n")
        r = limited.read_response("a")
    assert r.status == "NO" and r.code == "TOOBIG", r.lines
    limited.ok("NOOP")
    assert status(limited, "INBOX") == {"MESSAGES": 0}


# ----------------------------------------------------------------------
# SELECT / EXAMINE

def test_select_responses(imap):
    uidv = None
    for i in range(3):
        r = imap.append("INBOX", make_message(f"s{i}"),
                        flags=r"\Seen" if i == 0 else None)
        uidv = appenduid(r)[0]
    r = imap.cmd("SELECT INBOX")
    assert r.status == "OK", r.lines
    assert re.match(r"^\S+ OK \[READ-WRITE\]", r.tagged), r.tagged
    info = imap.select("INBOX")   # again (now nothing is \Recent for us)
    for ln in r.untagged:
        assert re.match(
            r"^\* (FLAGS \([^()]*\)|\d+ EXISTS|\d+ RECENT|"
            r"OK \[(PERMANENTFLAGS \([^()]*\)|UNSEEN \d+|UIDVALIDITY \d+|"
            r"UIDNEXT \d+|HIGHESTMODSEQ \d+|NOMODSEQ|CLOSED)\].*|"
            r"OK .*)$", ln), f"unexpected SELECT line {ln!r}"
    first = SelectInfo(r)
    assert SYSTEM_FLAGS <= flagset(first.flags), first.flags
    assert SYSTEM_FLAGS <= flagset(first.permanentflags), first
    assert r"\*" in first.permanentflags, first.permanentflags
    assert first.exists == 3 and first.recent == 3, r.lines
    assert first.unseen == 2, r.lines
    assert first.uidvalidity == uidv and first.uidnext == 4, r.lines
    # exactly one of each mandatory response
    for pat in (r"^\* FLAGS ", r"^\* \d+ EXISTS$", r"^\* \d+ RECENT$",
                r"^\* OK \[UIDVALIDITY ", r"^\* OK \[UIDNEXT ",
                r"^\* OK \[PERMANENTFLAGS ", r"^\* OK \[UNSEEN "):
        assert sum(1 for ln in r.untagged if re.match(pat, ln)) == 1, \
            (pat, r.lines)
    assert info.exists == 3 and info.recent == 0 and info.unseen == 2


def test_select_empty_mailbox(imap):
    info = imap.select("Trash")
    assert info.resp.status == "OK", info
    assert info.exists == 0 and info.recent == 0, info
    assert info.unseen is None, "UNSEEN sent for an empty mailbox"
    assert info.uidnext == 1 and info.uidvalidity > 0, info
    assert info.access == "READ-WRITE"


def test_select_all_seen_no_unseen(imap):
    append_n(imap, "INBOX", 2, flags=r"\Seen")
    info = imap.select("INBOX")
    assert info.exists == 2 and info.unseen is None, info


def test_examine_responses(imap):
    append_n(imap, "INBOX", 2, flags=[r"\Seen", None])
    info = imap.select("INBOX", examine=True)
    assert info.resp.status == "OK", info
    assert re.match(r"^\S+ OK \[READ-ONLY\]", info.resp.tagged), info
    assert info.permanentflags == [], info
    assert info.exists == 2 and info.unseen == 2, info
    # read-only: no flag changes, no expunge, no implicit \Seen
    r = imap.cmd(r"STORE 2 +FLAGS (\Deleted)")
    assert r.status in ("NO", "OK"), r.lines
    assert not fetches(r), r.lines
    r = imap.cmd("EXPUNGE")
    assert r.status in ("NO", "OK") and not expunged_seqs(r), r.lines
    f = fetch_map(imap.ok("FETCH 2 BODY[]"))
    assert r"\seen" not in flagset(f[2].get("FLAGS", []))
    f = fetch_map(imap.ok("FETCH 2 FLAGS"))
    assert flagset(f[2]["FLAGS"]) == set(), f
    assert status(imap, "INBOX", "MESSAGES UNSEEN") == {"MESSAGES": 2,
                                                       "UNSEEN": 1}


def test_select_other_mailbox_does_not_expunge(imap):
    append_n(imap, "INBOX", 2)
    imap.select("INBOX")
    imap.ok(r"STORE 1 +FLAGS.SILENT (\Deleted)")
    r = imap.cmd("SELECT Sent")
    assert r.status == "OK" and not expunged_seqs(r), r.lines
    assert status(imap, "INBOX") == {"MESSAGES": 2}


def test_failed_select_deselects(inbox3):
    assert inbox3.cmd("SELECT Nope").status == "NO"
    assert inbox3.cmd("FETCH 1 FLAGS").status == "BAD"


# ----------------------------------------------------------------------
# \Recent (RFC 3501 2.3.2)

def test_recent_semantics(mail_user):
    a = mail_user.connect()
    b = mail_user.connect()
    append_n(a, "INBOX", 2)
    assert status(a, "INBOX", "RECENT") == {"RECENT": 2}
    # EXAMINE shows them \Recent and does not claim them
    assert a.select("INBOX", examine=True).recent == 2
    assert b.select("INBOX", examine=True).recent == 2
    a.ok("UNSELECT")
    b.ok("UNSELECT")
    # the first SELECT claims them
    info = a.select("INBOX")
    assert info.recent == 2, info
    f = fetch_map(a.ok("FETCH 1:* FLAGS"))
    assert all(r"\recent" in flagset(v["FLAGS"], True) for v in f.values())
    info = b.select("INBOX")
    assert info.recent == 0, info
    f = fetch_map(b.ok("FETCH 1:* FLAGS"))
    assert not any(r"\recent" in flagset(v["FLAGS"], True)
                   for v in f.values()), f
    # a message appended by a third session (nothing selected) is recent
    # for the first of a and b to be told about it
    c = mail_user.connect()
    append_n(c, "INBOX", 1, prefix="late")
    ra = a.ok("NOOP")
    # a now has three \Recent messages: the two it claimed and the new one
    assert "* 3 EXISTS" in ra.untagged and "* 3 RECENT" in ra.untagged, \
        ra.lines
    rb = b.ok("NOOP")
    assert "* 3 EXISTS" in rb.untagged, rb.lines
    assert not any(re.match(r"^\* [1-9]\d* RECENT$", ln)
                   for ln in rb.untagged), rb.lines
    f = fetch_map(a.ok("FETCH 3 FLAGS"))
    assert r"\recent" in flagset(f[3]["FLAGS"], True)
    # re-selecting: nothing is new any more
    assert a.select("INBOX").recent == 0


# ----------------------------------------------------------------------
# STORE

def test_store_flags_plus_minus(inbox3):
    c = inbox3
    r = c.ok(r"STORE 2 FLAGS (\Answered Work)")
    f = fetch_map(r)
    assert list(f) == [2] and flagset(f[2]["FLAGS"]) == {r"\answered",
                                                         "work"}, r.lines
    assert "UID" not in f[2], r.lines
    r = c.ok(r"STORE 2 +FLAGS (\Flagged $Important)")
    assert flagset(fetch_map(r)[2]["FLAGS"]) == {
        r"\answered", "work", r"\flagged", "$important"}, r.lines
    r = c.ok(r"STORE 2 -FLAGS (Work \Answered NotThere)")
    assert flagset(fetch_map(r)[2]["FLAGS"]) == {
        r"\flagged", "$important"}, r.lines
    r = c.ok("STORE 2 FLAGS ()")
    assert flagset(fetch_map(r)[2]["FLAGS"]) == set(), r.lines
    # several messages at once; system flags are case-insensitive
    r = c.ok(r"STORE 1:3 +FLAGS (\deleted)")
    f = fetch_map(r)
    assert sorted(f) == [1, 2, 3], r.lines
    assert flagset(f[1]["FLAGS"]) == {r"\seen", r"\deleted"}
    assert flagset(f[3]["FLAGS"]) == {r"\deleted"}


def test_store_single_flag_without_parens(inbox3):
    r = inbox3.ok(r"STORE 3 +FLAGS \Flagged")
    assert flagset(fetch_map(r)[3]["FLAGS"]) == {r"\flagged"}, r.lines


def test_store_silent(inbox3):
    c = inbox3
    for cmd in (r"STORE 2 +FLAGS.SILENT (\Seen kw)",
                r"STORE 2 -FLAGS.SILENT (kw)",
                r"STORE 3 FLAGS.SILENT (\Draft)"):
        r = c.ok(cmd)
        assert not fetches(r), r.lines
    f = fetch_map(c.ok("FETCH 1:3 FLAGS"))
    assert flagset(f[2]["FLAGS"]) == {r"\seen"}
    assert flagset(f[3]["FLAGS"]) == {r"\draft"}


def test_uid_store_includes_uid(inbox3):
    r = inbox3.ok(r"UID STORE 2:3 +FLAGS (\Answered)")
    f = fetch_map(r)
    assert sorted(f) == [2, 3], r.lines
    assert f[2]["UID"] == "2" and f[3]["UID"] == "3", r.lines
    r = inbox3.ok(r"UID STORE 2 FLAGS.SILENT (\Seen)")
    assert not fetches(r), r.lines


def test_store_persists(inbox3, mail_user):
    inbox3.ok(r"STORE 1 FLAGS (\Answered $Done)")
    inbox3.ok(r"STORE 3 +FLAGS (\Flagged)")
    other = mail_user.connect()
    other.select("INBOX", examine=True)
    f = fetch_map(other.ok("FETCH 1:* FLAGS"))
    assert flagset(f[1]["FLAGS"]) == {r"\answered", "$done"}
    assert flagset(f[2]["FLAGS"]) == set()
    assert flagset(f[3]["FLAGS"]) == {r"\flagged"}
    info = other.select("INBOX", examine=True)
    assert "$done" in flagset(info.flags), info.flags


def test_store_keyword_announced_in_flags(inbox3):
    r = inbox3.ok("STORE 1 +FLAGS (NewKeyword)")
    lines = r.untagged + inbox3.ok("NOOP").untagged
    flags_lines = [ln for ln in lines if ln.startswith("* FLAGS ")]
    # a new keyword is announced with * FLAGS, or at least in a reselect
    if not flags_lines:
        flags_lines = [ln for ln in inbox3.cmd("SELECT INBOX").untagged
                       if ln.startswith("* FLAGS ")]
    assert flags_lines and "newkeyword" in flags_lines[-1].lower(), lines


@pytest.mark.parametrize("cmd", [
    r"STORE 1 FROB (\Seen)",
    r"STORE 1 +FLAGS (\Seen",
    r"STORE 1 +FLAGS",
    r"STORE +FLAGS (\Seen)",
    r"STORE 1 +FLAGS (\Bogus)",
])
def test_store_bad(inbox3, cmd):
    r = inbox3.cmd(cmd)
    assert r.status in ("BAD", "NO"), r.lines
    if "Bogus" not in cmd:
        assert r.status == "BAD", r.lines
    f = fetch_map(inbox3.ok("FETCH 1 FLAGS"))
    assert flagset(f[1]["FLAGS"]) == {r"\seen"}


def test_store_recent_refused(inbox3):
    r = inbox3.cmd(r"STORE 2 +FLAGS (\Recent)")
    assert r.status in ("BAD", "NO"), r.lines


def test_store_past_end_is_bad(inbox3):
    r = inbox3.cmd(r"STORE 2:4 +FLAGS (\Flagged)")
    assert r.status == "BAD", r.lines
    f = fetch_map(inbox3.ok("FETCH 1:3 FLAGS"))
    assert not any(r"\flagged" in flagset(v["FLAGS"]) for v in f.values()), f


def test_uid_store_nonexistent_ignored(inbox3):
    r = inbox3.ok(r"UID STORE 3:99 +FLAGS (\Flagged)")
    f = fetch_map(r)
    assert sorted(f) == [3], r.lines
    r = inbox3.ok(r"UID STORE 50 +FLAGS (\Flagged)")
    assert not fetches(r), r.lines


# ----------------------------------------------------------------------
# FETCH

def test_fetch_items(inbox3):
    c = inbox3
    r = c.ok("FETCH 1:3 (FLAGS UID INTERNALDATE RFC822.SIZE)")
    f = fetch_map(r)
    assert sorted(f) == [1, 2, 3], r.lines
    for seq, (uid, msg) in enumerate(c.msgs, 1):
        d = f[seq]
        assert set(d) == {"FLAGS", "UID", "INTERNALDATE", "RFC822.SIZE"}, d
        assert int(d["UID"]) == uid == seq
        assert int(d["RFC822.SIZE"]) == len(msg)
        parse_date(d["INTERNALDATE"])
    assert flagset(f[1]["FLAGS"]) == {r"\seen"}
    assert flagset(f[2]["FLAGS"]) == set()


def test_fetch_line_shape(inbox3):
    r = inbox3.ok("FETCH 2 (UID RFC822.SIZE)")
    assert len(r.untagged) == 1, r.lines
    assert re.match(r"^\* 2 FETCH \((UID 2 RFC822.SIZE \d+|"
                    r"RFC822.SIZE \d+ UID 2)\)$", r.untagged[0]), r.lines


def test_fetch_macros(inbox3):
    f = fetch_map(inbox3.ok("FETCH 2 FAST"))
    assert set(f[2]) == {"FLAGS", "INTERNALDATE", "RFC822.SIZE"}, f
    f = fetch_map(inbox3.ok("FETCH 2 (FLAGS)"))
    assert set(f[2]) == {"FLAGS"}


def test_fetch_whole_message_forms(inbox3):
    c = inbox3
    uid, msg = c.msgs[1]
    header = msg[:msg.index(b"\r\n\r\n") + 4]
    f = fetch_map(c.ok("FETCH 2 (BODY.PEEK[])"))
    assert f[2]["BODY[]"].encode() == msg
    assert r"\seen" not in flagset(
        fetch_map(c.ok("FETCH 2 FLAGS"))[2]["FLAGS"])
    f = fetch_map(c.ok("FETCH 2 (RFC822.HEADER)"))
    assert f[2]["RFC822.HEADER"].encode() == header
    f = fetch_map(c.ok("FETCH 2 (BODY.PEEK[HEADER])"))
    assert f[2]["BODY[HEADER]"].encode() == header
    assert r"\seen" not in flagset(
        fetch_map(c.ok("FETCH 2 FLAGS"))[2]["FLAGS"])
    # BODY[] sets \Seen
    f = fetch_map(c.ok("FETCH 2 BODY[]"))
    assert f[2]["BODY[]"].encode() == msg
    assert r"\seen" in flagset(fetch_map(c.ok("FETCH 2 FLAGS"))[2]["FLAGS"])
    # RFC822 too, and it is the same bytes
    f = fetch_map(c.ok("FETCH 3 RFC822"))
    assert f[3]["RFC822"].encode() == c.msgs[2][1]
    assert r"\seen" in flagset(fetch_map(c.ok("FETCH 3 FLAGS"))[3]["FLAGS"])


def test_fetch_body_literal_exact_bytes(inbox3):
    """Raw check: BODY[] is a literal of exactly RFC822.SIZE bytes."""
    c = inbox3
    msg = c.msgs[0][1]
    c.send("x FETCH 1 (BODY.PEEK[])\r\n")
    line = c.readline_bytes()
    assert line.startswith(b"* 1 FETCH (BODY[] {%d}\r\n" % len(msg)), line
    assert line[line.index(b"\r\n") + 2:].startswith(msg), line
    assert line.endswith(b")"), line
    r = c.read_response("x")
    assert r.status == "OK", r.lines


@pytest.mark.parametrize("cmd", ["FETCH 1 (FROB)", "FETCH 1 BODY[", "FETCH",
                                 "FETCH 1", "FETCH 1 (FLAGS", "FETCH x FLAGS",
                                 "UID FETCH 1 (UID FROB)"])
def test_fetch_bad(inbox3, cmd):
    assert inbox3.cmd(cmd).status == "BAD"
    inbox3.ok("NOOP")


def test_fetch_needs_selected(imap):
    assert imap.cmd("FETCH 1 FLAGS").status == "BAD"
    assert imap.cmd("UID FETCH 1 FLAGS").status == "BAD"
    assert imap.cmd("EXPUNGE").status == "BAD"


# ----------------------------------------------------------------------
# sequence sets

@pytest.fixture
def five(imap):
    append_n(imap, "INBOX", 5)
    imap.select("INBOX")
    # expunge UID 2 so that sequence numbers and UIDs differ
    imap.ok(r"UID STORE 2 +FLAGS.SILENT (\Deleted)")
    imap.ok("EXPUNGE")
    return imap      # seq 1..4 -> UID 1, 3, 4, 5


@pytest.mark.parametrize("set_,want", [
    ("*", [4]),
    ("1:*", [1, 2, 3, 4]),
    ("*:1", [1, 2, 3, 4]),
    ("3:2", [2, 3]),
    ("4:4", [4]),
    ("1,3", [1, 3]),
    ("3,1,2:3", [1, 2, 3]),
    ("2:*", [2, 3, 4]),
    ("*:3", [3, 4]),
])
def test_sequence_sets(five, set_, want):
    f = fetch_map(five.ok(f"FETCH {set_} UID"))
    assert sorted(f) == want, f
    uid_of = {1: 1, 2: 3, 3: 4, 4: 5}
    assert all(int(f[s]["UID"]) == uid_of[s] for s in f)


@pytest.mark.parametrize("set_", ["5", "0", "1:5", "0:2", "6:*", "1,9",
                                  "-1", "1:", ":2", "1,,2", "a"])
def test_sequence_sets_invalid(five, set_):
    assert five.cmd(f"FETCH {set_} UID").status == "BAD"


@pytest.mark.parametrize("set_,want", [
    ("1:*", [1, 3, 4, 5]),
    ("2", []),
    ("2:3", [3]),
    ("4:100", [4, 5]),
    ("100:*", [5]),          # '*' is the highest UID: 100:* is 5:100
    ("*", [5]),
    ("5:1", [1, 3, 4, 5]),
    ("6", []),
    ("1,2,3,99", [1, 3]),
])
def test_uid_sequence_sets(five, set_, want):
    r = five.ok(f"UID FETCH {set_} (UID)")
    got = sorted(int(d["UID"]) for _, d in fetches(r))
    assert got == want, r.lines


def test_uid_fetch_empty_mailbox(imap):
    imap.select("Junk")
    r = imap.ok("UID FETCH 1:* (UID FLAGS)")
    assert not fetches(r), r.lines


def test_fetch_empty_mailbox(imap):
    imap.select("Junk")
    r = imap.cmd("FETCH 1 UID")
    assert r.status == "BAD", r.lines
    assert not fetches(r), r.lines


# ----------------------------------------------------------------------
# COPY, MOVE, UIDPLUS

def test_copy(inbox3):
    c = inbox3
    c.ok(r"STORE 2 +FLAGS (\Flagged $Kw)")
    r = c.ok("COPY 1:2 Archive")
    uidv, src, dst = copyuid(r.tagged)
    assert src == [1, 2] and dst == [1, 2], r.tagged
    assert status(c, "Archive", "UIDVALIDITY MESSAGES") == {
        "UIDVALIDITY": uidv, "MESSAGES": 2}
    # the source is unchanged
    assert status(c, "INBOX") == {"MESSAGES": 3}
    # RFC 3501 6.4.7: the copies SHOULD be \Recent
    assert status(c, "Archive", "RECENT") == {"RECENT": 2}
    orig = fetch_map(c.ok("FETCH 1:2 (FLAGS INTERNALDATE BODY.PEEK[])"))
    c.select("Archive")
    copy = fetch_map(c.ok("FETCH 1:2 (FLAGS INTERNALDATE BODY.PEEK[] UID)"))
    for s in (1, 2):
        assert flagset(copy[s]["FLAGS"]) == flagset(orig[s]["FLAGS"])
        assert parse_date(copy[s]["INTERNALDATE"]) == \
            parse_date(orig[s]["INTERNALDATE"])
        assert copy[s]["BODY[]"] == orig[s]["BODY[]"]


def test_copy_into_same_mailbox(inbox3):
    r = inbox3.ok("COPY 3 INBOX")
    uidv, src, dst = copyuid(r.tagged)
    assert src == [3] and dst == [4], r.tagged
    lines = r.untagged + inbox3.ok("NOOP").untagged
    assert "* 4 EXISTS" in lines, lines


def test_copy_uids_out_of_order(five):
    r = five.ok("COPY 4,1 Sent")
    uidv, src, dst = copyuid(r.tagged)
    # pairs in the same order: source UIDs 1 and 5 -> 1 and 2
    assert list(zip(src, dst)) == [(1, 1), (5, 2)], r.tagged


def test_copy_trycreate(inbox3):
    r = inbox3.cmd("COPY 1 Missing")
    assert r.status == "NO" and r.code == "TRYCREATE", r.lines
    r = inbox3.cmd("UID COPY 1 Missing")
    assert r.status == "NO" and r.code == "TRYCREATE", r.lines
    assert inbox3.cmd("STATUS Missing (MESSAGES)").status == "NO"


def test_copy_past_end_is_bad(inbox3):
    assert inbox3.cmd("COPY 2:9 Sent").status == "BAD"
    assert status(inbox3, "Sent") == {"MESSAGES": 0}


def test_uid_copy(five):
    r = five.ok("UID COPY 3:5 Drafts")
    uidv, src, dst = copyuid(r.tagged)
    assert src == [3, 4, 5] and dst == [1, 2, 3], r.tagged
    r = five.ok("UID COPY 2 Drafts")        # UID 2 is gone
    assert resp_code(r.tagged) is None or \
        resp_code(r.tagged)[0] != "COPYUID", r.lines
    assert status(five, "Drafts") == {"MESSAGES": 3}


def test_move(inbox3):
    c = inbox3
    c.ok(r"STORE 2 +FLAGS.SILENT (\Answered)")
    body2 = c.msgs[1][1]
    r = c.ok("MOVE 2 Trash")
    assert r.untagged, r.lines
    assert re.match(r"^\* OK \[COPYUID \d+ 2 1\]", r.untagged[0]), r.lines
    uidv, src, dst = copyuid(r.untagged[0])
    assert expunged_seqs(r) == [2], r.lines
    assert r.lines.index(r.untagged[0]) < r.lines.index("* 2 EXPUNGE")
    assert status(c, "Trash", "MESSAGES UIDVALIDITY") == {
        "MESSAGES": 1, "UIDVALIDITY": uidv}
    assert c.uids() == {1: 1, 2: 3}
    c.select("Trash")
    f = fetch_map(c.ok("FETCH 1 (FLAGS BODY.PEEK[])"))
    assert flagset(f[1]["FLAGS"]) == {r"\answered"}
    assert f[1]["BODY[]"].encode() == body2


def test_move_several_expunge_sequence(five):
    r = five.ok("MOVE 2:4 Archive")
    uidv, src, dst = copyuid([ln for ln in r.untagged
                              if "COPYUID" in ln][0])
    assert src == [3, 4, 5] and dst == [1, 2, 3], r.lines
    assert apply_expunges([1, 3, 4, 5], r) == [1], r.lines
    assert five.uids() == {1: 1}


def test_uid_move(five):
    r = five.ok("UID MOVE 4:5 Sent")
    uidv, src, dst = copyuid([ln for ln in r.untagged
                              if "COPYUID" in ln][0])
    assert src == [4, 5], r.lines
    assert apply_expunges([1, 3, 4, 5], r) == [1, 3], r.lines


def test_move_trycreate(inbox3):
    r = inbox3.cmd("MOVE 1 Missing")
    assert r.status == "NO" and r.code == "TRYCREATE", r.lines
    assert not expunged_seqs(r)
    assert inbox3.uids() == {1: 1, 2: 2, 3: 3}


def test_move_past_end_is_bad(inbox3):
    r = inbox3.cmd("MOVE 3:4 Sent")
    assert r.status == "BAD", r.lines
    assert inbox3.uids() == {1: 1, 2: 2, 3: 3}


def test_move_in_examine(imap):
    """A read-only session cannot expunge: MOVE is refused, or (as some
    servers do) done completely; never half."""
    append_n(imap, "INBOX", 1)
    imap.select("INBOX", examine=True)
    r = imap.cmd("MOVE 1 Sent")
    assert r.status in ("NO", "OK"), r.lines
    if r.status == "NO":
        assert status(imap, "Sent") == {"MESSAGES": 0}
        assert status(imap, "INBOX") == {"MESSAGES": 1}
    else:
        assert status(imap, "Sent") == {"MESSAGES": 1}
        assert status(imap, "INBOX") == {"MESSAGES": 0}


# ----------------------------------------------------------------------
# EXPUNGE, UID EXPUNGE, CLOSE, UNSELECT, CHECK

def test_expunge(five):
    c = five
    c.ok(r"STORE 1,3 +FLAGS.SILENT (\Deleted)")
    r = c.ok("EXPUNGE")
    assert len(expunged_seqs(r)) == 2, r.lines
    assert apply_expunges([1, 3, 4, 5], r) == [3, 5], r.lines
    assert c.uids() == {1: 3, 2: 5}
    r = c.ok("EXPUNGE")
    assert not expunged_seqs(r), r.lines


def test_uid_expunge(five):
    c = five
    c.ok(r"STORE 1:3 +FLAGS.SILENT (\Deleted)")     # UIDs 1, 3, 4
    r = c.ok("UID EXPUNGE 3:4,5")
    assert apply_expunges([1, 3, 4, 5], r) == [1, 5], r.lines
    f = fetch_map(c.ok("FETCH 1 FLAGS"))
    assert r"\deleted" in flagset(f[1]["FLAGS"])    # not expunged
    assert c.cmd("UID EXPUNGE").status == "BAD"


def test_close_expunges_silently(five):
    c = five
    c.ok(r"STORE 2 +FLAGS.SILENT (\Deleted)")
    r = c.ok("CLOSE")
    assert not expunged_seqs(r) and not fetches(r), r.lines
    assert c.cmd("FETCH 1 UID").status == "BAD"   # nothing selected
    assert status(c, "INBOX", "MESSAGES") == {"MESSAGES": 3}
    c.select("INBOX")
    assert c.uids() == {1: 1, 2: 4, 3: 5}


def test_close_after_examine_keeps(five):
    c = five
    c.ok(r"STORE 2 +FLAGS.SILENT (\Deleted)")
    c.select("INBOX", examine=True)
    c.ok("CLOSE")
    assert status(c, "INBOX") == {"MESSAGES": 4}


def test_unselect_does_not_expunge(five):
    c = five
    c.ok(r"STORE 2 +FLAGS.SILENT (\Deleted)")
    r = c.ok("UNSELECT")
    assert not expunged_seqs(r), r.lines
    assert c.cmd("FETCH 1 UID").status == "BAD"
    assert status(c, "INBOX") == {"MESSAGES": 4}
    assert c.cmd("UNSELECT").status == "BAD"      # nothing selected
    assert c.cmd("CLOSE").status == "BAD"


def test_check(inbox3):
    r = inbox3.ok("CHECK")
    assert r.tagged.split()[1] == "OK"
    assert inbox3.cmd("CHECK extra").status == "BAD"


def test_expunge_needs_read_write(five):
    five.ok(r"STORE 1 +FLAGS.SILENT (\Deleted)")
    five.select("INBOX", examine=True)
    for cmd in ("EXPUNGE", "UID EXPUNGE 1"):
        r = five.cmd(cmd)
        assert r.status in ("NO", "OK") and not expunged_seqs(r), r.lines
    assert status(five, "INBOX") == {"MESSAGES": 4}


# ----------------------------------------------------------------------
# two sessions on one mailbox

@pytest.fixture
def pair(mail_user):
    a = mail_user.connect()
    b = mail_user.connect()
    append_n(a, "INBOX", 3)
    assert a.select("INBOX").exists == 3
    assert b.select("INBOX").exists == 3
    return a, b


def test_sessions_see_new_messages(pair, mail_user):
    a, b = pair
    c = mail_user.connect()
    append_n(c, "INBOX", 2, prefix="new")
    for s in (a, b):
        r = s.ok("NOOP")
        assert exists_of(r) == 5, r.lines
        assert s.uids() == {1: 1, 2: 2, 3: 3, 4: 4, 5: 5}


def test_sessions_see_append_by_other_selected(pair):
    a, b = pair
    r = b.append("INBOX", make_message("from-b"))
    assert r.status == "OK"
    r = a.ok("NOOP")
    assert exists_of(r) == 4, r.lines
    f = fetch_map(a.ok("FETCH 4 (UID BODY.PEEK[])"))
    assert f[4]["UID"] == "4"
    assert f[4]["BODY[]"].encode() == make_message("from-b")


def test_sessions_see_expunge(pair):
    a, b = pair
    b.ok(r"STORE 2 +FLAGS.SILENT (\Deleted)")
    r = b.ok("EXPUNGE")
    assert expunged_seqs(r) == [2], r.lines
    r = a.ok("NOOP")
    assert expunged_seqs(r) == [2], r.lines
    assert a.uids() == {1: 1, 2: 3}


def test_sessions_see_multiple_expunges(pair):
    a, b = pair
    b.ok(r"STORE 1:2 +FLAGS.SILENT (\Deleted)")
    r = b.ok("EXPUNGE")
    assert apply_expunges([1, 2, 3], r) == [3], r.lines
    r = a.ok("NOOP")
    assert len(expunged_seqs(r)) == 2, r.lines
    assert apply_expunges([1, 2, 3], r) == [3], r.lines
    assert a.uids() == {1: 3}


def test_sessions_see_flag_changes(pair):
    a, b = pair
    b.ok(r"STORE 3 +FLAGS.SILENT (\Flagged Shared)")
    r = a.ok("NOOP")
    f = fetch_map(r)
    assert 3 in f, r.lines
    assert flagset(f[3]["FLAGS"]) == {r"\flagged", "shared"}, r.lines
    assert 1 not in f and 2 not in f, r.lines


def test_no_expunge_during_fetch_store(pair):
    """RFC 3501 7.4.1: no EXPUNGE during FETCH, STORE or SEARCH (non-UID);
    sequence numbers keep meaning what the client thinks."""
    a, b = pair
    b.ok(r"STORE 1 +FLAGS.SILENT (\Deleted)")
    b.ok("EXPUNGE")
    r = a.ok("FETCH 3 UID")
    assert not expunged_seqs(r), r.lines
    f = fetch_map(r)
    assert f[3]["UID"] == "3", r.lines            # still the old numbering
    r = a.ok(r"STORE 2 +FLAGS (\Seen)")
    assert not expunged_seqs(r), r.lines
    f = fetch_map(r)
    assert 2 in f and r"\seen" in flagset(f[2]["FLAGS"]), r.lines
    r = a.ok("NOOP")
    assert expunged_seqs(r) == [1], r.lines
    assert a.uids() == {1: 2, 2: 3}
    # b sees the change (untagged FETCHes apply in order: the last wins)
    r = b.ok("UID FETCH 2 FLAGS")
    assert any(d.get("UID") == "2" for _, d in fetches(r)), r.lines
    last = [d["FLAGS"] for s, d in fetches(r) if s == 1 and "FLAGS" in d]
    assert last and r"\seen" in flagset(last[-1]), r.lines


def test_expunge_and_append_together(pair, mail_user):
    a, b = pair
    b.ok(r"STORE 1:2 +FLAGS.SILENT (\Deleted)")
    b.ok("EXPUNGE")
    c = mail_user.connect()
    append_n(c, "INBOX", 1, prefix="late")
    r = a.ok("NOOP")
    left = apply_expunges([1, 2, 3], r)
    ex = exists_of(r)
    assert ex is not None, r.lines
    # EXISTS after the EXPUNGEs (or before them, counting them) must agree
    assert left == [3] and ex in (2, 4), r.lines
    assert a.uids() == {1: 3, 2: 4}


def test_session_of_other_user_sees_nothing(pair, other_user):
    a, b = pair
    o = other_user.connect()
    assert o.select("INBOX").exists == 0
    append_n(a, "INBOX", 1, prefix="mine")
    assert exists_of(o.ok("NOOP")) is None
    assert status(o, "INBOX") == {"MESSAGES": 0}


# ----------------------------------------------------------------------
# large messages

def test_large_message_round_trip(imap):
    """A 3 MiB message (bigger than the default output cap of 1 MiB)
    goes in with one APPEND and comes back byte for byte."""
    line = b"".join(bytes([33 + (i % 90)]) for i in range(76)) + b"\r\n"
    msg = make_message("large", body="") + line * (3 * 1024 * 1024 //
                                                   len(line))
    r = imap.append("INBOX", msg)
    assert r.status == "OK", r.lines
    imap.select("INBOX")
    imap.settimeout(60)
    f = fetch_map(imap.ok("FETCH 1 (RFC822.SIZE BODY.PEEK[])"))
    assert int(f[1]["RFC822.SIZE"]) == len(msg)
    assert f[1]["BODY[]"].encode() == msg
    # and twice in one response, pipelined with another command
    imap.send("p1 FETCH 1 (BODY.PEEK[])\r\np2 FETCH 1 (BODY.PEEK[])\r\n")
    for tag in ("p1", "p2"):
        r = imap.read_response(tag)
        assert r.status == "OK", r.lines[-1:]
        assert fetch_map(r)[1]["BODY[]"].encode() == msg


# ----------------------------------------------------------------------
# large messages are spooled to a file, not held in memory

def big_message(tag, size=400 * 1024):
    line = (tag.encode() * 80)[:76] + b"\r\n"
    return make_message(tag, body="") + line * (size // len(line))


def test_multiappend_spooled_and_in_memory(imap):
    """Two messages large enough to be spooled and a small one, in one
    MULTIAPPEND: all stored, byte for byte, in order."""
    msgs = [big_message("first"), make_message("small"),
            big_message("third", 700 * 1024)]
    cmd = b"a APPEND INBOX"
    for m in msgs:
        cmd += b" {%d+}\r\n" % len(m) + m
    imap.send(cmd + b"\r\n")
    r = imap.read_response("a")
    assert r.status == "OK", r.lines
    uidv, uids = appenduid(r)
    assert len(uids) == 3
    imap.select("INBOX")
    imap.settimeout(60)
    f = fetch_map(imap.ok("FETCH 1:3 (RFC822.SIZE BODY.PEEK[])"))
    for i, m in enumerate(msgs, 1):
        assert int(f[i]["RFC822.SIZE"]) == len(m)
        assert f[i]["BODY[]"].encode() == m


def test_spooled_append_with_nul_refused(imap):
    m = big_message("nul")
    m = m[:1000] + b"\0" + m[1001:]
    imap.send(b"a APPEND INBOX {%d+}\r\n" % len(m) + m + b"\r\n")
    r = imap.read_response("a")
    assert r.status == "NO", r.lines
    assert status(imap, "INBOX") == {"MESSAGES": 0}


def test_spooled_append_sync_literal(imap):
    m = big_message("sync")
    imap.send(b"a APPEND INBOX (\\Seen) {%d}\r\n" % len(m))
    r = imap.read_response("a")
    assert r.continuation is not None, r.lines
    imap.send(m + b"\r\n")
    r = imap.read_response("a")
    assert r.status == "OK", r.lines
    imap.select("INBOX")
    f = fetch_map(imap.ok("FETCH 1 (FLAGS RFC822.SIZE)"))
    assert int(f[1]["RFC822.SIZE"]) == len(m)
    assert r"\seen" in flagset(f[1]["FLAGS"])


def test_vanish_mid_spooled_literal_leaves_nothing(mail_server, mail_user):
    c = mail_user.connect()
    m = big_message("gone", 2 * 1024 * 1024)
    c.send(b"a APPEND INBOX {%d+}\r\n" % len(m) + m[:len(m) // 2])
    # the half that arrived is in an unnamed file under DATA/mail, not
    # in the server's memory
    spool_dir = str(mail_server.data / "mail") + "/"
    deadline = time.monotonic() + 10
    spools = []
    while not spools and time.monotonic() < deadline:
        fd_dir = f"/proc/{mail_server.proc.pid}/fd"
        for fd in os.listdir(fd_dir):
            try:
                target = os.readlink(f"{fd_dir}/{fd}")
            except OSError:
                continue
            if target.startswith(spool_dir) and "(deleted)" in target:
                spools.append(target)
        time.sleep(0.05)
    assert spools, "no spool file open in the server"
    c.close()
    c = mail_user.connect()
    assert status(c, "INBOX") == {"MESSAGES": 0}
    # no spool file is left behind (they are unnamed)
    leftovers = [p for p in (mail_server.data / "mail").iterdir()
                 if p.name.startswith(".spool")]
    assert leftovers == []
    r = c.append("INBOX", big_message("after"))
    assert r.status == "OK", r.lines


# ----------------------------------------------------------------------
# ENVELOPE (RFC 3501 7.4.2), from the message's header

ENV_MSG = (b"Date: Wed, 14 Jul 2021 02:44:25 -0700\r\n"
           b"From: \"Joe Q.\" <joe@example.org>\r\n"
           b"To: team: a@b.c, d@e.f;, x@y.z\r\n"
           b"Subject: =?utf-8?q?hi?= there\r\n"
           b"Message-ID: <1@x>\r\n\r\nbody\r\n")


def test_fetch_envelope_exact(imap):
    imap.send(b"a APPEND INBOX {%d+}\r\n" % len(ENV_MSG) + ENV_MSG +
              b"\r\n")
    assert imap.read_response("a").status == "OK"
    imap.ok("SELECT INBOX")
    joe = '(("Joe Q." NIL "joe" "example.org"))'
    want = ('* 1 FETCH (ENVELOPE ("Wed, 14 Jul 2021 02:44:25 -0700" '
            '"=?utf-8?q?hi?= there" ' + joe + " " + joe + " " + joe +
            ' ((NIL NIL "team" NIL)(NIL NIL "a" "b.c")(NIL NIL "d" "e.f")'
            '(NIL NIL NIL NIL)(NIL NIL "x" "y.z")) NIL NIL NIL "<1@x>"))')
    r = imap.ok("FETCH 1 ENVELOPE")
    assert r.untagged == [want], r.lines
    r = imap.ok("UID FETCH 1 ALL")
    assert len(r.untagged) == 1
    line = r.untagged[0]
    for part in ("FLAGS (", "INTERNALDATE ", "RFC822.SIZE %d" % len(ENV_MSG),
                 "UID 1", want[len("* 1 FETCH ("):-1]):
        assert part in line, line


def test_fetch_envelope_without_fields(imap):
    m = b"\r\nonly a body\r\n"
    imap.send(b"a APPEND INBOX {%d+}\r\n" % len(m) + m + b"\r\n")
    assert imap.read_response("a").status == "OK"
    imap.ok("SELECT INBOX")
    r = imap.ok("FETCH 1 ENVELOPE")
    assert r.untagged == ["* 1 FETCH (ENVELOPE (NIL NIL NIL NIL NIL NIL NIL "
                          "NIL NIL NIL))"], r.lines


# ----------------------------------------------------------------------
# BODY, BODYSTRUCTURE and part sections (RFC 3501 6.4.5, 7.4.2)

MP_MSG = (b"From: a@b.c\r\nSubject: mp\r\nMIME-Version: 1.0\r\n"
          b"Content-Type: multipart/mixed; boundary=XX\r\n\r\npreamble\r\n"
          b"--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
          b"first part\r\n"
          b"--XX\r\nContent-Type: application/pdf; name=a.pdf\r\n"
          b"Content-Disposition: attachment; filename=a.pdf\r\n"
          b"Content-Transfer-Encoding: base64\r\n\r\nAAAA\r\n"
          b"--XX\r\nContent-Type: message/rfc822\r\n\r\n"
          b"From: x@y.z\r\nSubject: inner\r\n\r\ninner body\r\n"
          b"--XX--\r\n")
INNER_ENV = ('(NIL "inner" ((NIL NIL "x" "y.z")) ((NIL NIL "x" "y.z")) '
             '((NIL NIL "x" "y.z")) NIL NIL NIL NIL NIL)')


@pytest.fixture
def mp(imap):
    imap.send(b"a APPEND INBOX {%d+}\r\n" % len(MP_MSG) + MP_MSG + b"\r\n")
    assert imap.read_response("a").status == "OK"
    imap.ok("SELECT INBOX")
    return imap


def test_bodystructure_exact(mp):
    want = ('* 1 FETCH (BODYSTRUCTURE (("text" "plain" ("charset" "utf-8") '
            'NIL NIL "7bit" 10 1 NIL NIL NIL NIL)("application" "pdf" '
            '("name" "a.pdf") NIL NIL "base64" 4 NIL ("attachment" '
            '("filename" "a.pdf")) NIL NIL)("message" "rfc822" NIL NIL NIL '
            '"7bit" 41 ' + INNER_ENV + ' ("text" "plain" ("charset" '
            '"us-ascii") NIL NIL "7bit" 10 1 NIL NIL NIL NIL) 4 NIL NIL NIL '
            'NIL) "mixed" ("boundary" "XX") NIL NIL NIL))')
    assert mp.ok("FETCH 1 BODYSTRUCTURE").untagged == [want]
    want = ('* 1 FETCH (BODY (("text" "plain" ("charset" "utf-8") NIL NIL '
            '"7bit" 10 1)("application" "pdf" ("name" "a.pdf") NIL NIL '
            '"base64" 4)("message" "rfc822" NIL NIL NIL "7bit" 41 ' +
            INNER_ENV + ' ("text" "plain" ("charset" "us-ascii") NIL NIL '
            '"7bit" 10 1) 4) "mixed"))')
    assert mp.ok("FETCH 1 BODY").untagged == [want]
    r = mp.ok("FETCH 1 FULL")
    assert " BODY ((" in r.untagged[0] and "ENVELOPE (" in r.untagged[0]
    # none of them sets \Seen
    assert r"\Seen" not in mp.ok("FETCH 1 FLAGS").untagged[0]


def test_part_sections(mp):
    f = fetch_map(mp.ok("FETCH 1 (BODY.PEEK[1] BODY.PEEK[2.MIME] "
                        "BODY.PEEK[3.HEADER] BODY.PEEK[3.TEXT] "
                        "BODY.PEEK[3.1] BODY.PEEK[3.HEADER.FIELDS (subject)] "
                        "BODY.PEEK[1]<2.3> BODY.PEEK[TEXT])"))[1]
    assert f["BODY[1]"] == "first part"
    assert f["BODY[2.MIME]"] == ("Content-Type: application/pdf; name=a.pdf"
                                 "\r\nContent-Disposition: attachment; "
                                 "filename=a.pdf\r\nContent-Transfer-"
                                 "Encoding: base64\r\n\r\n")
    assert f["BODY[3.HEADER]"] == "From: x@y.z\r\nSubject: inner\r\n\r\n"
    assert f["BODY[3.TEXT]"] == "inner body"
    assert f["BODY[3.1]"] == "inner body"
    assert f["BODY[3.HEADER.FIELDS (SUBJECT)]"] == "Subject: inner\r\n\r\n"
    assert f["BODY[1]<2>"] == "rst"
    assert f["BODY[TEXT]"].startswith("preamble\r\n--XX\r\n")
    r = mp.ok("FETCH 1 BODY.PEEK[9]")
    assert r.untagged == ["* 1 FETCH (BODY[9] NIL)"], r.lines
    assert mp.cmd("FETCH 1 BODY[0]").status == "BAD"
    assert mp.cmd("FETCH 1 BODY[1.FOO]").status == "BAD"
    # a non-PEEK part fetch sets \Seen and says so
    r = mp.ok("FETCH 1 BODY[1]")
    assert r"FLAGS (\Seen" in r.untagged[0], r.lines


# ----------------------------------------------------------------------
# BINARY, BINARY.PEEK, BINARY.SIZE (RFC 3516)

BIN_MSG = (b"Subject: bin\r\nContent-Type: multipart/mixed; boundary=XX\r\n"
           b"\r\n--XX\r\nContent-Type: text/plain\r\n"
           b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
           b"A=3DB soft=\r\nbreak\r\n"
           b"--XX\r\nContent-Type: application/octet-stream\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\nAAECAwQ=\r\n"
           b"--XX\r\nContent-Type: application/x\r\n"
           b"Content-Transfer-Encoding: x-uuencode\r\n\r\nbegin\r\n"
           b"--XX--\r\n")


def test_binary_fetch(imap):
    imap.send(b"a APPEND INBOX {%d+}\r\n" % len(BIN_MSG) + BIN_MSG + b"\r\n")
    assert imap.read_response("a").status == "OK"
    imap.ok("SELECT INBOX")
    r = imap.ok("FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1] BINARY.SIZE[2])")
    assert r.lines[0] == ("* 1 FETCH (BINARY[1] {13}\r\nA=B softbreak "
                          "BINARY.SIZE[1] 13 BINARY.SIZE[2] 5)"), r.lines
    # a NUL in the decoded bytes makes it a literal8
    r = imap.ok("FETCH 1 BINARY.PEEK[2]")
    assert r.lines[0] == "* 1 FETCH (BINARY[2] ~{5}\r\n\x00\x01\x02\x03\x04)"
    r = imap.ok("FETCH 1 BINARY.PEEK[1]<2.3>")
    assert r.lines[0] == "* 1 FETCH (BINARY[1]<2> {3}\r\nB s)"
    r = imap.cmd("FETCH 1 BINARY.PEEK[3]")
    assert r.status == "NO" and "[UNKNOWN-CTE]" in r.tagged, r.lines
    assert imap.cmd("FETCH 1 BINARY[1.MIME]").status == "BAD"
    assert imap.cmd("FETCH 1 BINARY.SIZE[1]<0.1>").status == "BAD"
    assert r"\Seen" not in imap.ok("FETCH 1 FLAGS").untagged[0]
    r = imap.ok("FETCH 1 BINARY[1]")
    assert r"FLAGS (\Seen" in r.lines[0], r.lines


# ----------------------------------------------------------------------
# PARTIAL (RFC 1730 6.4.6): positions count from 1, the answer names the
# item without an origin

def test_partial(mp):
    r = mp.ok("PARTIAL 1 RFC822.PEEK 1 10")
    assert r.lines[0] == "* 1 FETCH (RFC822 {10}\r\n" + MP_MSG[:10].decode() \
        + ")", r.lines
    r = mp.ok("PARTIAL 1 BODY.PEEK[3.TEXT] 3 4")
    assert r.lines[0] == "* 1 FETCH (BODY[3.TEXT] {4}\r\nner )", r.lines
    r = mp.ok("PARTIAL 1 RFC822.HEADER 1 5")
    assert r.lines[0] == "* 1 FETCH (RFC822.HEADER {5}\r\nFrom:)", r.lines
    r = mp.ok("PARTIAL 1 RFC822.TEXT.PEEK 100000 10")    # past the end
    assert r.lines[0] == "* 1 FETCH (RFC822.TEXT {0}\r\n)", r.lines
    assert r"\Seen" not in mp.ok("FETCH 1 FLAGS").untagged[0]
    for bad in ("PARTIAL 1 RFC822 0 10", "PARTIAL 1:2 RFC822 1 10",
                "PARTIAL 1 FLAGS 1 10", "PARTIAL 1 BODY[]<0.5> 1 10",
                "PARTIAL 1 RFC822 1", "PARTIAL 2 RFC822 1 10"):
        assert mp.cmd(bad).status == "BAD", bad
    r = mp.ok("PARTIAL 1 BODY[1] 1 5")                  # sets \Seen
    assert r"FLAGS (\Seen" in r.lines[0], r.lines
