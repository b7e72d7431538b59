"""`roost deliver USER [-m MAILBOX] [-f SENDER]`: the message on standard
input delivered as LMTP delivers (same pipeline, Return-Path and
Delivered-To, no Received), with sysexits(3) exit codes and a line on
stderr when it fails. Runs while the server runs, as an MTA would."""

import os
import subprocess

import pytest

import roost
from lmtp_client import imap_messages, split_delivered

PW = "pw"


@pytest.fixture(scope="module")
def dsrv(tmp_path_factory):
    base = tmp_path_factory.mktemp("deliver")
    srv = roost.RoostServer(
        base, users={f"d{i:02d}": PW for i in range(30)},
        config={"store": {"max_message_size": 8192}},
        passwd_lines=["dq:{PLAIN}pw::::::quota_rule=*:messages=1"])
    srv.start()
    srv.next_user = 0
    yield srv
    srv.stop()


@pytest.fixture
def user(dsrv):
    name = f"d{dsrv.next_user:02d}"
    dsrv.next_user += 1
    return name


def deliver(srv, *args, data=b"", env=None):
    e = dict(srv.env)
    e.pop("SENDER", None)
    e.update(env or {})
    return subprocess.run(
        [roost.ROOST_BIN, "deliver", *args, "--config", str(srv.config_path)],
        input=data, capture_output=True, timeout=60, env=e)


MSG_LF = b"From: a@example.net\nSubject: lf\n\nline 1\n.line 2\n"
MSG_CRLF = MSG_LF.replace(b"\n", b"\r\n")


def test_delivers_lf_message(dsrv, user):
    r = deliver(dsrv, user, "-f", "sender@example.net", data=MSG_LF)
    assert (r.returncode, r.stderr) == (0, b"")
    got = imap_messages(dsrv, user, PW)
    assert len(got) == 1
    head, rest = split_delivered(got[0])
    # LF line ends stored as CR LF; no dot-unstuffing on a pipe
    assert rest == MSG_CRLF
    assert head == [b"Return-Path: <sender@example.net>\r\n",
                    f"Delivered-To: {user}\r\n".encode()]


def test_unknown_user(dsrv):
    r = deliver(dsrv, "nobody", data=MSG_LF)
    assert r.returncode == 67
    assert b"nobody" in r.stderr and b"no such user" in r.stderr


@pytest.mark.parametrize("args", [[], ["-m"], ["a", "b"], ["--bogus", "a"],
                                  ["a", "-x"]])
def test_usage(dsrv, args):
    r = deliver(dsrv, *args, data=MSG_LF)
    assert r.returncode == 64, r
    assert b"usage" in r.stderr


def test_sender_sources(dsrv, user):
    # a leading mbox "From " line is dropped and names the sender
    r = deliver(dsrv, user, data=b"From env@example.org Mon Jan  1 00:00:00 "
                b"2024\n" + MSG_LF)
    assert r.returncode == 0, r
    r = deliver(dsrv, user, data=b"From MAILER-DAEMON Mon Jan  1 00:00:00 "
                b"2024\n" + MSG_LF)
    assert r.returncode == 0, r
    # Postfix's mailbox_command environment
    r = deliver(dsrv, user, data=MSG_LF, env={"SENDER": "pf@example.org"})
    assert r.returncode == 0, r
    # -f wins over the From line
    r = deliver(dsrv, user, "-f", "f@example.org",
                data=b"From env@example.org date\n" + MSG_LF)
    assert r.returncode == 0, r
    # unknown: no Return-Path at all
    r = deliver(dsrv, user, data=MSG_LF)
    assert r.returncode == 0, r
    heads = [split_delivered(m) for m in imap_messages(dsrv, user, PW)]
    assert all(rest == MSG_CRLF for _, rest in heads)
    assert [h[0] for h, _ in heads[:4]] == [
        b"Return-Path: <env@example.org>\r\n", b"Return-Path: <>\r\n",
        b"Return-Path: <pf@example.org>\r\n",
        b"Return-Path: <f@example.org>\r\n"]
    assert heads[4][0] == [f"Delivered-To: {user}\r\n".encode()]


def test_mailbox_option(dsrv, user):
    c = dsrv.connect()
    c.login(user, PW)
    c.ok('CREATE "Lists"')
    c.ok('CREATE "Entw&APw-rfe"')
    c.close()
    assert deliver(dsrv, user, "-m", "Lists", data=MSG_LF).returncode == 0
    assert deliver(dsrv, user, "-m", "Entwürfe", data=MSG_LF).returncode == 0
    # a mailbox that does not exist: INBOX, as dovecot-lda does
    assert deliver(dsrv, user, "-m", "Nope", data=MSG_LF).returncode == 0
    # user+detail into the detail's folder
    r = deliver(dsrv, f"{user}+Lists@example.org", data=MSG_LF)
    assert r.returncode == 0, r
    assert len(imap_messages(dsrv, user, PW, "Lists")) == 2
    assert len(imap_messages(dsrv, user, PW, "Entw&APw-rfe")) == 1
    got = imap_messages(dsrv, user, PW)
    assert len(got) == 1
    head, _ = split_delivered(imap_messages(dsrv, user, PW, "Lists")[1])
    assert head == [f"Delivered-To: {user}+Lists@example.org\r\n".encode()]
    r = deliver(dsrv, user, "-m", "bad\x01name", data=MSG_LF)
    assert r.returncode == 64


def test_quota(dsrv):
    assert deliver(dsrv, "dq", data=MSG_LF).returncode == 0
    r = deliver(dsrv, "dq", data=MSG_LF)
    assert r.returncode == 73
    assert b"Quota exceeded" in r.stderr
    assert len(imap_messages(dsrv, "dq", PW)) == 1


def test_quota_tempfail(make_server):
    srv = make_server(users={"t": PW},
                      config={"store": {"quota_messages": 1},
                              "lmtp": {"quota_full_tempfail": True}})
    assert deliver(srv, "t", data=MSG_LF).returncode == 0
    r = deliver(srv, "t", data=MSG_LF)
    assert r.returncode == 75
    assert b"Quota exceeded" in r.stderr


def test_too_big_nul_empty(dsrv, user):
    r = deliver(dsrv, user, data=MSG_LF + b"x" * 9000 + b"\n")
    assert r.returncode == 73 and b"too large" in r.stderr
    r = deliver(dsrv, user, data=MSG_LF + b"a\0b\n")
    assert r.returncode == 65 and b"NUL" in r.stderr
    r = deliver(dsrv, user, data=b"")
    assert r.returncode == 65 and b"empty" in r.stderr
    assert imap_messages(dsrv, user, PW) == []


def test_store_failure_is_temporary(dsrv, user):
    # the user's store cannot be made: a file is where its directory
    # goes
    (dsrv.data / "mail").mkdir(exist_ok=True)
    path = dsrv.user_dir(user)
    path.write_text("in the way")
    r = deliver(dsrv, user, data=MSG_LF)
    path.unlink()
    assert r.returncode == 75, r
    assert r.stderr


def test_seen_by_open_imap_session(dsrv, user):
    c = dsrv.connect()
    c.login(user, PW)
    c.ok("SELECT INBOX")
    assert deliver(dsrv, user, data=MSG_LF).returncode == 0
    r = c.ok("NOOP")
    assert "* 1 EXISTS" in r.untagged
    c.close()


def test_large_message_from_stdin(make_server):
    srv = make_server(users={"big": PW})
    body = b"".join(b"%06d " % i + b"x" * 70 + b"\n" for i in range(8000))
    m = b"Subject: big\n\n" + body
    r = deliver(srv, "big", "-f", "s@x.org", data=m)
    assert r.returncode == 0, r
    _, rest = split_delivered(imap_messages(srv, "big", PW)[0])
    assert rest == m.replace(b"\n", b"\r\n")


def test_server_not_running(make_server):
    srv = make_server(users={"off": PW}, start=False)
    r = deliver(srv, "off", data=MSG_LF)
    assert r.returncode == 0, r
    assert os.path.isdir(srv.user_dir("off") / "Maildir")
    srv.start()
    assert len(imap_messages(srv, "off", PW)) == 1
