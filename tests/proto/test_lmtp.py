"""LMTP (RFC 2033): every command and reply with its enhanced status code,
pipelining, one reply per recipient, the trace fields, user+detail,
quotas and size limits, dot-stuffing checked byte for byte over IMAP,
bad input (bare LF, NUL, long lines, wrong order), the Unix socket, a
client vanishing mid-DATA, and SIGKILL during deliveries."""

import re
import smtplib
import socket
import threading
import time

import pytest

import roost
from lmtp_client import LmtpClient, imap_messages, split_delivered, stuff

PW = "pw"
USERS = {f"u{i:02d}": PW for i in range(60)}
MAX_SIZE = 64 * 1024


class _Users:
    def __init__(self):
        self.n = 0

    def take(self):
        name = f"u{self.n:02d}"
        self.n += 1
        assert self.n <= len(USERS), "raise the number of USERS"
        return name


@pytest.fixture(scope="module")
def lsrv(tmp_path_factory):
    base = tmp_path_factory.mktemp("lmtp")
    srv = roost.RoostServer(
        base, users=USERS,
        config={"store": {"max_message_size": MAX_SIZE},
                "lmtp": {"socket": str(base / "lmtp.sock")}},
        passwd_lines=["quser:{PLAIN}pw::::::quota_rule=*:messages=1",
                      "full@example.org:{PLAIN}pw::::::"])
    srv.start()
    srv.pool = _Users()
    yield srv
    srv.stop()


@pytest.fixture
def user(lsrv):
    return lsrv.pool.take()


@pytest.fixture
def lc(lsrv):
    c = LmtpClient(lsrv.lmtp_port)
    yield c
    c.close()


def msg(subject="hello", body="Body.\r\n"):
    return (f"From: a@example.net\r\nTo: b@example.org\r\nSubject: {subject}"
            f"\r\nMessage-ID: <{subject}@test>\r\n\r\n{body}").encode()


def inbox(srv, user, mailbox="INBOX"):
    return imap_messages(srv, user, PW, mailbox)


# ---------------------------------------------------------------- basics

def test_greeting_and_lhlo(lsrv, lc):
    assert lc.greeting.code == 220
    assert "LMTP" in lc.greeting.text
    r = lc.lhlo()
    exts = {t.split()[0].upper(): t for _, t in r.lines[1:]}
    assert set(exts) == {"PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME",
                         "SIZE"}
    assert exts["SIZE"] == f"SIZE {MAX_SIZE}"


def test_smtplib_lmtp_delivery(lsrv, user):
    c = smtplib.LMTP("127.0.0.1", lsrv.lmtp_port)
    refused = c.sendmail("sender@example.net", [f"{user}@example.org"],
                         msg("smtplib"))
    c.quit()
    assert refused == {}
    got = inbox(lsrv, user)
    assert len(got) == 1
    head, rest = split_delivered(got[0])
    assert rest == msg("smtplib")
    assert head[0] == b"Return-Path: <sender@example.net>\r\n"
    assert head[1] == f"Delivered-To: {user}@example.org\r\n".encode()
    # RFC 5321 4.4: from HELO ([ip]) by host with LMTP id ID for <rcpt>;
    # date
    assert re.match(
        rb"^Received: from \S+ \(\[127\.0\.0\.1\]\)\r\n"
        rb"\tby \S+ \(roost\) with LMTP id [0-9a-f]{12}\r\n"
        rb"\tfor <" + user.encode() + rb"@example\.org>; "
        rb"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}\r\n$", head[2]), \
        head[2]
    assert len(head) == 3


def test_null_sender_and_received_from_lhlo(lsrv, lc, user):
    lc.lhlo("relay.example.com")
    _, dr = lc.transaction("", [f"{user}@x.org"], msg("null"))
    assert [r.code for r in dr] == [250]
    head, _ = split_delivered(inbox(lsrv, user)[0])
    assert head[0] == b"Return-Path: <>\r\n"
    assert head[2].startswith(
        b"Received: from relay.example.com ([127.0.0.1])\r\n")


def test_helo_ehlo_refused(lc):
    for verb in ("HELO", "EHLO"):
        r = lc.cmd(f"{verb} mx.example")
        assert (r.code, r.enhanced) == (500, "5.5.1"), r
    lc.lhlo()


def test_noop_rset_vrfy_help_quit(lc, user):
    assert (lc.cmd("NOOP").code, lc.cmd("NOOP").enhanced) == (250, "2.0.0")
    assert lc.cmd("NOOP anything at all").code == 250
    r = lc.cmd("VRFY someone")
    assert (r.code, r.enhanced) == (252, "2.5.0")
    r = lc.cmd("VRFY")
    assert (r.code, r.enhanced) == (501, "5.5.4")
    assert lc.cmd("HELP").code == 214
    lc.lhlo()
    assert lc.cmd("MAIL FROM:<a@b.c>").code == 250
    assert lc.cmd(f"RCPT TO:<{user}@x.org>").code == 250
    r = lc.cmd("RSET")
    assert (r.code, r.enhanced) == (250, "2.0.0")
    # the transaction is gone: RCPT needs MAIL again
    r = lc.cmd(f"RCPT TO:<{user}@x.org>")
    assert (r.code, r.enhanced) == (503, "5.5.1")
    r = lc.cmd("RSET now")
    assert (r.code, r.enhanced) == (501, "5.5.4")
    r = lc.cmd("QUIT")
    assert (r.code, r.enhanced) == (221, "2.0.0")
    assert lc.read_closed() == []


def test_unknown_command(lc):
    for line in ("FOO", "STARTTLS", "BDAT 10 LAST", "MAILX FROM:<a@b>"):
        r = lc.cmd(line)
        assert (r.code, r.enhanced) == (500, "5.5.2"), (line, r)


# ---------------------------------------------------------------- order

def test_bad_sequence(lc, user):
    r = lc.cmd("MAIL FROM:<a@b.c>")
    assert (r.code, r.enhanced) == (503, "5.5.1"), r
    r = lc.cmd(f"RCPT TO:<{user}@x.org>")
    assert (r.code, r.enhanced) == (503, "5.5.1"), r
    r = lc.cmd("DATA")
    assert (r.code, r.enhanced) == (503, "5.5.1"), r
    lc.lhlo()
    r = lc.cmd(f"RCPT TO:<{user}@x.org>")
    assert (r.code, r.enhanced) == (503, "5.5.1"), r
    r = lc.cmd("DATA")
    assert (r.code, r.enhanced) == (503, "5.5.1"), r
    assert lc.cmd("MAIL FROM:<a@b.c>").code == 250
    r = lc.cmd("MAIL FROM:<a@b.c>")
    assert (r.code, r.enhanced) == (503, "5.5.1"), r
    # DATA without any accepted recipient (RFC 2033 4.2)
    r = lc.cmd("RCPT TO:<nobody-here@x.org>")
    assert (r.code, r.enhanced) == (550, "5.1.1"), r
    r = lc.cmd("DATA")
    assert (r.code, r.enhanced) == (503, "5.5.1"), r
    assert "recipient" in r.text.lower()


def test_lhlo_resets_transaction(lc, user):
    lc.lhlo()
    assert lc.cmd("MAIL FROM:<a@b.c>").code == 250
    lc.lhlo()
    assert lc.cmd(f"RCPT TO:<{user}@x.org>").code == 503


# ---------------------------------------------------------------- syntax

@pytest.mark.parametrize("line,code,enh", [
    ("LHLO", 501, "5.5.4"),
    ("LHLO bad..name", 501, "5.5.4"),
    ("MAIL", 501, "5.5.4"),
    ("MAIL TO:<a@b.c>", 501, "5.5.4"),
    ("MAIL FROM:a@b.c", 501, "5.5.4"),
    ("MAIL FROM:<a b@c.d>", 501, "5.1.7"),
    ("MAIL FROM:<a@b.c", 501, "5.1.7"),
    ("MAIL FROM:<" + "a" * 300 + "@b.c>", 501, "5.1.7"),
    ("MAIL FROM:<a@b.c> RET=HDRS", 555, "5.5.4"),
    ("MAIL FROM:<a@b.c> SIZE=big", 501, "5.5.4"),
    ("MAIL FROM:<a@b.c> BODY=BINARYMIME", 501, "5.5.4"),
])
def test_command_syntax(lc, line, code, enh):
    if not line.startswith("LHLO"):
        lc.lhlo()
    r = lc.cmd(line)
    assert (r.code, r.enhanced) == (code, enh), r
    # the session goes on
    assert lc.cmd("NOOP").code == 250


@pytest.mark.parametrize("arg,code,enh", [
    ("TO:<{u}>", 501, "5.1.3"),            # no domain
    ("TO:<>", 501, "5.1.3"),
    ("TO:{u}@x.org", 501, "5.5.4"),
    ("<{u}@x.org>", 501, "5.5.4"),
    ("TO:<{u}@x.org> NOTIFY=NEVER", 555, "5.5.4"),
    ("TO:<{u}@bad..domain>", 501, "5.1.3"),
    ("TO:<Postmaster>", 550, "5.1.1"),     # valid, but nobody has it
    ("TO:<nobody@x.org>", 550, "5.1.1"),
])
def test_rcpt_syntax(lc, user, arg, code, enh):
    lc.lhlo()
    assert lc.cmd("MAIL FROM:<a@b.c>").code == 250
    r = lc.cmd("RCPT " + arg.format(u=user))
    assert (r.code, r.enhanced) == (code, enh), r
    assert lc.cmd(f"RCPT TO:<{user}@x.org>").code == 250


def test_data_with_argument(lc, user):
    lc.lhlo()
    lc.cmd("MAIL FROM:<a@b.c>")
    lc.cmd(f"RCPT TO:<{user}@x.org>")
    r = lc.cmd("DATA now")
    assert (r.code, r.enhanced) == (501, "5.5.4")


def test_commands_case_and_spacing(lsrv, lc, user):
    lc.lhlo()
    assert lc.cmd("mail from: <a@b.c>  ").code == 250
    assert lc.cmd(f"rcpt to:<{user.upper()}@X.ORG>").code == 250
    r = lc.cmd("data")
    assert r.code == 354
    lc.send(stuff(msg("case")) + b".\r\n")
    assert lc.reply().code == 250
    assert len(inbox(lsrv, user)) == 1


def test_line_too_long(lc):
    # RFC 5321 4.5.3.1.10: "500 Line too long"; the session goes on
    r = lc.cmd("NOOP " + "x" * 5000)
    assert (r.code, r.enhanced) == (500, "5.5.0"), r
    lc.send("NOOP " + "y" * 100000 + "\r\n")
    r = lc.reply()
    assert (r.code, r.enhanced) == (500, "5.5.0"), r
    assert lc.cmd("NOOP").code == 250


def test_nul_in_command(lc):
    r = lc.cmd("NOOP a\0b")
    assert (r.code, r.enhanced) == (500, "5.5.2")
    assert lc.cmd("NOOP").code == 250


def test_bare_lf_commands_accepted(lc, user):
    lc.send("LHLO x.example\n")
    assert lc.reply().code == 250
    lc.send("NOOP\n")
    assert lc.reply().code == 250


def test_too_many_bad_commands(lc):
    lc.send("BAD\r\n" * 25)
    replies = lc.read_closed()
    assert [r.code for r in replies[:19]] == [500] * 19
    assert replies[-1].code == 421, replies[-1]


# ---------------------------------------------------------------- recipients

def test_pipelining_mixed_recipients(lsrv, lc):
    a, b = lsrv.pool.take(), lsrv.pool.take()
    # one write: everything up to DATA (RFC 2920)
    lc.send(f"LHLO p.example\r\nMAIL FROM:<s@x.org>\r\n"
            f"RCPT TO:<{a}@x.org>\r\nRCPT TO:<nosuch@x.org>\r\n"
            f"RCPT TO:<{b}@x.org>\r\nRCPT TO:<also-no@x.org>\r\nDATA\r\n")
    codes = [lc.reply().code for _ in range(7)]
    assert codes == [250, 250, 250, 550, 250, 550, 354]
    lc.send(stuff(msg("pipelined")) + b".\r\nNOOP\r\n")
    replies = [lc.reply() for _ in range(2)]
    assert [r.code for r in replies] == [250, 250]
    assert f"<{a}@x.org>" in replies[0].text
    assert f"<{b}@x.org>" in replies[1].text
    assert lc.reply().code == 250  # the NOOP pipelined behind the data
    for u in (a, b):
        assert [split_delivered(m)[1] for m in inbox(lsrv, u)] == \
            [msg("pipelined")]


def test_one_copy_per_user_and_mailbox(lsrv, lc, user):
    lc.lhlo()
    rcpts = [f"{user}@x.org", f"{user}@other.example", f"{user}@x.org",
             f"{user}+nosuchfolder@x.org"]
    rr, dr = lc.transaction("s@x.org", rcpts, msg("once"))
    assert [r.code for r in rr] == [250] * 4
    # one reply per recipient, in RCPT order
    assert [r.code for r in dr] == [250] * 4
    for r, a in zip(dr, rcpts):
        assert f"<{a}>" in r.text
    got = inbox(lsrv, user)
    assert len(got) == 1
    head, _ = split_delivered(got[0])
    assert head[1] == f"Delivered-To: {rcpts[0]}\r\n".encode()


def test_too_many_recipients(lsrv, lc, user):
    lc.lhlo()
    lc.send("MAIL FROM:<s@x.org>\r\n" + f"RCPT TO:<{user}@x.org>\r\n" * 1001)
    replies = [lc.reply() for _ in range(1002)]
    assert [r.code for r in replies[:1001]] == [250] * 1001
    assert (replies[1001].code, replies[1001].enhanced) == (452, "4.5.3")
    assert lc.cmd("DATA").code == 354
    lc.send(stuff(msg("many")) + b".\r\n")
    assert [lc.reply().code for _ in range(1000)] == [250] * 1000
    assert len(inbox(lsrv, user)) == 1


def test_user_lookup_by_full_address(lsrv, lc):
    lc.lhlo()
    rr, dr = lc.transaction("s@x.org", ["full@example.org", "full@other.org",
                                        "Full+Tag@EXAMPLE.org"],
                            msg("full"))
    assert [r.code for r in rr] == [250, 550, 250]
    assert [r.code for r in dr] == [250, 250]
    assert len(inbox(lsrv, "full@example.org")) == 1


def test_detail_into_folder(lsrv, lc, user):
    c = lsrv.connect()
    c.login(user, PW)
    c.ok('CREATE "Lists"')
    c.close()
    lc.lhlo()
    _, dr = lc.transaction("s@x.org", [f"{user}+Lists@x.org",
                                       f"{user}+nofolder@x.org",
                                       f"{user}+lists@x.org"], msg("detail"))
    assert [r.code for r in dr] == [250, 250, 250]
    assert "Lists" in dr[0].text and "INBOX" in dr[1].text
    assert [split_delivered(m)[1] for m in inbox(lsrv, user, "Lists")] == \
        [msg("detail")]
    assert len(inbox(lsrv, user)) == 1


def test_detail_mailbox_off_and_delimiter(make_server):
    srv = make_server(users={"ann": PW},
                      config={"lmtp": {"detail_mailbox": False,
                                       "recipient_delimiter": "-+"}})
    c = srv.connect()
    c.login("ann", PW)
    c.ok('CREATE "Lists"')
    c.close()
    with LmtpClient(srv.lmtp_port) as lc:
        lc.lhlo()
        rr, dr = lc.transaction("s@x.org", ["ann+Lists@x.org",
                                            "ann-Lists@x.org"], msg("off"))
        assert [r.code for r in rr] == [250, 250]
        assert [r.code for r in dr] == [250, 250]
    assert len(imap_messages(srv, "ann", PW)) == 1
    assert imap_messages(srv, "ann", PW, "Lists") == []


# ---------------------------------------------------------------- limits

def test_quota_permanent(lsrv, lc):
    other = lsrv.pool.take()
    lc.lhlo()
    _, dr = lc.transaction("s@x.org", ["quser@x.org"], msg("q1"))
    assert [r.code for r in dr] == [250]
    _, dr = lc.transaction("s@x.org", ["quser@x.org", f"{other}@x.org"],
                           msg("q2"))
    assert (dr[0].code, dr[0].enhanced) == (552, "5.2.2"), dr
    assert dr[1].code == 250
    assert len(inbox(lsrv, "quser")) == 1


def test_quota_tempfail(make_server):
    srv = make_server(users={"qq": PW},
                      config={"lmtp": {"quota_full_tempfail": True},
                              "store": {"quota_messages": 1}})
    with LmtpClient(srv.lmtp_port) as lc:
        lc.lhlo()
        _, dr = lc.transaction("s@x.org", ["qq@x.org"], msg("t1"))
        assert dr[0].code == 250
        _, dr = lc.transaction("s@x.org", ["qq@x.org"], msg("t2"))
        assert (dr[0].code, dr[0].enhanced) == (452, "4.2.2"), dr


def test_size_declared_too_big(lc, user):
    lc.lhlo()
    r = lc.cmd(f"MAIL FROM:<a@b.c> SIZE={MAX_SIZE + 1}")
    assert (r.code, r.enhanced) == (552, "5.3.4"), r
    assert lc.cmd(f"MAIL FROM:<a@b.c> SIZE={MAX_SIZE // 2} "
                  "BODY=8BITMIME").code == 250


def test_message_too_big(lsrv, lc):
    a, b = lsrv.pool.take(), lsrv.pool.take()
    lc.lhlo()
    big = msg("big", "x" * 70 + "\r\n") * (MAX_SIZE // 70)
    _, dr = lc.transaction("s@x.org", [f"{a}@x.org", f"{b}@x.org"], big)
    assert [(r.code, r.enhanced) for r in dr] == [(552, "5.3.4")] * 2
    # the session goes on and a message that fits goes through
    _, dr = lc.transaction("s@x.org", [f"{a}@x.org"], msg("fits"))
    assert dr[0].code == 250
    assert len(inbox(lsrv, a)) == 1 and inbox(lsrv, b) == []


# ---------------------------------------------------------------- content

def test_dot_stuffing_round_trip(lsrv, lc, user):
    body = (b".\r\n..\r\n...leading dots\r\n. space\r\nmid.dle\r\n"
            b".\r\n\r\n.")
    m = msg("dots").replace(b"Body.\r\n", b"") + body + b"\r\n"
    lc.lhlo()
    _, dr = lc.transaction("s@x.org", [f"{user}@x.org"], m)
    assert dr[0].code == 250
    assert split_delivered(inbox(lsrv, user)[0])[1] == m


def test_dot_stuffing_raw(lsrv, lc, user):
    lc.lhlo()
    lc.cmd("MAIL FROM:<s@x.org>")
    lc.cmd(f"RCPT TO:<{user}@x.org>")
    assert lc.cmd("DATA").code == 354
    lc.send(b"Subject: raw\r\n\r\n..one\r\n...two\r\n.x\r\nend\r\n.\r\n")
    assert lc.reply().code == 250
    assert split_delivered(inbox(lsrv, user)[0])[1] == \
        b"Subject: raw\r\n\r\n.one\r\n..two\r\nx\r\nend\r\n"


def test_8bit_and_long_lines(lsrv, lc, user):
    body = ("Grüße, ça va? " * 10 + "\r\n" + "L" * 5000 + "\r\n").encode()
    m = msg("8bit").replace(b"Body.\r\n", body)
    lc.lhlo()
    assert lc.cmd("MAIL FROM:<s@x.org> BODY=8BITMIME").code == 250
    assert lc.cmd(f"RCPT TO:<{user}@x.org>").code == 250
    assert lc.cmd("DATA").code == 354
    lc.send(stuff(m) + b".\r\n")
    assert lc.reply().code == 250
    assert split_delivered(inbox(lsrv, user)[0])[1] == m


def test_bare_lf_in_data(lsrv, lc, user):
    """Bare LFs are stored as CR LF; only CR LF . CR LF ends the data,
    so "LF . LF" cannot smuggle a second transaction (SMTP smuggling)."""
    lc.lhlo()
    lc.cmd("MAIL FROM:<s@x.org>")
    lc.cmd(f"RCPT TO:<{user}@x.org>")
    assert lc.cmd("DATA").code == 354
    lc.send(b"Subject: lf\n\nline one\n.\nMAIL FROM:<evil@x.org>\n"
            b"\r\n.\r\n")
    r = lc.reply()
    assert r.code == 250
    assert lc.cmd("NOOP").code == 250   # no stray replies in between
    got = inbox(lsrv, user)
    assert len(got) == 1
    assert split_delivered(got[0])[1] == (
        b"Subject: lf\r\n\r\nline one\r\n.\r\nMAIL FROM:<evil@x.org>\r\n"
        b"\r\n")


def test_nul_in_message_refused(lsrv, lc, user):
    lc.lhlo()
    _, dr = lc.transaction("s@x.org", [f"{user}@x.org"],
                           msg("nul", "a\0b\r\n"))
    assert (dr[0].code, dr[0].enhanced) == (554, "5.6.0"), dr
    assert inbox(lsrv, user) == []


def test_empty_message(lsrv, lc, user):
    lc.lhlo()
    lc.cmd("MAIL FROM:<s@x.org>")
    lc.cmd(f"RCPT TO:<{user}@x.org>")
    assert lc.cmd("DATA").code == 354
    lc.send(b".\r\n")
    assert lc.reply().code == 250
    head, rest = split_delivered(inbox(lsrv, user)[0])
    assert rest == b"" and len(head) == 3


def test_spooled_message(make_server):
    srv = make_server(users={"a1": PW, "a2": PW})
    line = b"0123456789abcdefghijklmnopqrstuvwxyz" * 2 + b"\r\n"
    m = msg("spool").replace(b"Body.\r\n", b".dot\r\n" + line * 8000)
    with LmtpClient(srv.lmtp_port) as lc:
        lc.lhlo()
        _, dr = lc.transaction("s@x.org", ["a1@x.org", "a2@x.org"], m)
        assert [r.code for r in dr] == [250, 250]
    for u in ("a1", "a2"):
        got = imap_messages(srv, u, PW)
        assert [split_delivered(g)[1] for g in got] == [m]
        head, _ = split_delivered(got[0])
        assert head[1] == f"Delivered-To: {u}@x.org\r\n".encode()


# ---------------------------------------------------------------- transport

def test_unix_socket(lsrv, user):
    assert lsrv.lmtp_socket
    with LmtpClient(path=lsrv.lmtp_socket) as lc:
        lc.lhlo("local.example")
        _, dr = lc.transaction("s@x.org", [f"{user}@x.org"], msg("unix"))
        assert dr[0].code == 250
    head, rest = split_delivered(inbox(lsrv, user)[0])
    assert rest == msg("unix")
    # no TCP peer: the "from" clause is the LHLO name alone
    assert head[2].startswith(b"Received: from local.example\r\n\tby ")
    c = smtplib.LMTP(lsrv.lmtp_socket)
    assert c.sendmail("s@x.org", [f"{user}@x.org"], msg("unix2")) == {}
    c.quit()
    assert len(inbox(lsrv, user)) == 2


def test_unix_socket_stale_file_replaced_and_removed(make_server, tmp_path):
    path = tmp_path / "stale.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))
    s.close()          # a socket file nobody listens on
    srv = make_server(users={"a1": PW}, config={"lmtp": {"socket": str(path)}})
    with LmtpClient(path=str(path)) as lc:
        lc.lhlo()
    srv.stop()
    assert not path.exists()


def test_client_vanishes_mid_data(lsrv, user):
    mark = lsrv.mark()
    lc = LmtpClient(lsrv.lmtp_port)
    lc.lhlo()
    lc.cmd("MAIL FROM:<s@x.org>")
    lc.cmd(f"RCPT TO:<{user}@x.org>")
    assert lc.cmd("DATA").code == 354
    lc.send(msg("cut") + b"x" * 300000)   # past the spool threshold too
    lc.close()
    # once the server saw the disconnect: nothing delivered, nothing left
    lsrv.wait_event("disconnect", since=mark)
    assert inbox(lsrv, user) == []
    assert roost.message_file_count(lsrv.user_dir(user)) == 0
    with LmtpClient(lsrv.lmtp_port) as lc2:
        lc2.lhlo()
        _, dr = lc2.transaction("s@x.org", [f"{user}@x.org"], msg("after"))
        assert dr[0].code == 250


def test_shutdown_says_421(make_server):
    srv = make_server(users={"a1": PW})
    lc = LmtpClient(srv.lmtp_port)
    lc.lhlo()
    srv.stop()
    replies = lc.read_closed()
    assert [(r.code, r.enhanced) for r in replies] == [(421, "4.3.2")]
    lc.close()


def test_other_sessions_served_during_a_slow_data(lsrv, user):
    """Deliveries run on the thread pool: while one client sends a big
    message, another delivers and an IMAP client is answered."""
    slow = LmtpClient(lsrv.lmtp_port)
    slow.lhlo()
    slow.cmd("MAIL FROM:<s@x.org>")
    slow.cmd(f"RCPT TO:<{user}@x.org>")
    assert slow.cmd("DATA").code == 354
    slow.send(msg("slow-start"))
    with LmtpClient(lsrv.lmtp_port) as lc:
        lc.lhlo()
        _, dr = lc.transaction("s@x.org", [f"{user}@x.org"], msg("quick"))
        assert dr[0].code == 250
    c = lsrv.connect()
    c.login(user, PW)
    c.ok("NOOP")
    c.close()
    slow.send(b"more\r\n.\r\n")
    assert slow.reply().code == 250
    slow.close()
    assert len(inbox(lsrv, user)) == 2


# ---------------------------------------------------------------- durability

def _deliver_loop(port, user, tag, acked, stop):
    n = 0
    try:
        with LmtpClient(port, timeout=20) as lc:
            lc.lhlo()
            while not stop.is_set():
                subject = f"{tag}-{n}"
                _, dr = lc.transaction("s@x.org", [f"{user}@x.org"],
                                       msg(subject))
                if dr and dr[0].code == 250:
                    acked.append(subject)
                n += 1
    except (ConnectionError, OSError, AssertionError):
        pass


def test_sigkill_loses_nothing_acknowledged(make_server):
    users = {f"k{i}": PW for i in range(3)}
    srv = make_server(users=users)
    acked = {u: [] for u in users}
    for round_ in range(3):
        stop = threading.Event()
        threads = [threading.Thread(target=_deliver_loop,
                                    args=(srv.lmtp_port, u, f"r{round_}",
                                          acked[u], stop))
                   for u in users for _ in range(2)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while (sum(len(a) for a in acked.values()) < 20 * (round_ + 1)
               and time.monotonic() < deadline):
            time.sleep(0.01)
        srv.kill9()
        stop.set()
        for t in threads:
            t.join(30)
        srv.restart()
    total = sum(len(a) for a in acked.values())
    print("acknowledged", total)
    assert total >= 60
    for u in users:
        got = imap_messages(srv, u, PW)
        subjects = set()
        for g in got:
            m = re.search(rb"\r\nSubject: (\S+)\r\n", g)
            assert m, g[:300]
            subjects.add(m.group(1).decode())
            # never half a message
            assert g.endswith(b"\r\n\r\nBody.\r\n"), g[-100:]
        missing = set(acked[u]) - subjects
        assert not missing, f"{u}: acknowledged but lost: {sorted(missing)}"
