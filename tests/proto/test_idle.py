"""IDLE (RFC 2177): the command's exchange, and a change made anywhere
(another session, LMTP, POP3, `roost deliver`, another program writing
into the Maildir) reaching an idling client unprompted.

An idling client sends nothing, so every untagged line it reads was
pushed by the server. The socket timeout only guards against a hang;
latency is measured by bench/, not asserted here."""

import os
import poplib
import re
import subprocess
import time

import roost
from lmtp_client import LmtpClient

PUSH_TIMEOUT = 10


def append(c, mailbox="INBOX", subject="s", flags=""):
    msg = roost.make_message(subject=subject)
    tag = c.next_tag()
    fl = f" ({flags})" if flags else ""
    c.send(f"{tag} APPEND {mailbox}{fl} {{{len(msg)}+}}\r\n".encode() + msg
           + b"\r\n")
    r = c.read_response(tag)
    assert r.status == "OK", r.lines
    return int(re.search(r"APPENDUID \d+ (\d+)", r.tagged).group(1))


def start_idle(c, mailbox="INBOX"):
    if mailbox is not None:
        c.ok(f"SELECT {mailbox}")
    tag = c.next_tag()
    c.send(f"{tag} IDLE\r\n")
    r = c.read_response(tag)
    assert r.continuation is not None, r.lines
    assert r.tagged is None
    c.settimeout(PUSH_TIMEOUT)
    return tag


def pushed(c, pattern):
    """Read untagged lines until one matches pattern; all lines read."""
    lines = []
    while True:
        ln = c.readline()
        lines.append(ln)
        assert ln.startswith("* "), lines
        if re.fullmatch(pattern, ln):
            return lines


def done(c, tag):
    c.send("DONE\r\n")
    r = c.read_response(tag)
    assert r.tagged == f"{tag} OK IDLE terminated", r.lines
    return r


def test_idle_advertised_and_done(mail_user):
    c = mail_user.connect()
    assert "IDLE" in c.ok("CAPABILITY").untagged[0].split()
    tag = start_idle(c)
    r = done(c, tag)
    assert r.untagged == []
    # the session takes commands again
    c.ok("NOOP")


def test_idle_in_authenticated_state(mail_user):
    c = mail_user.connect()
    tag = start_idle(c, mailbox=None)
    done(c, tag)
    c.ok("SELECT INBOX")


def test_idle_and_done_in_one_packet(mail_user):
    c = mail_user.connect()
    c.ok("SELECT INBOX")
    c.send("a IDLE\r\nDONE\r\nb NOOP\r\n")
    r = c.read_response("a", stop_on_continuation=False)
    assert r.lines[0] == "+ idling"
    assert r.tagged == "a OK IDLE terminated"
    assert c.read_response("b").status == "OK"


def test_idle_done_case_insensitive(mail_user):
    c = mail_user.connect()
    tag = start_idle(c)
    c.send("done\r\n")
    assert c.read_response(tag).status == "OK"


def test_line_other_than_done_is_bad(mail_user):
    c = mail_user.connect()
    tag = start_idle(c)
    c.send("x NOOP\r\n")
    r = c.read_response(tag)
    assert r.tagged == f"{tag} BAD Expected DONE"
    c.ok("NOOP")


def test_idle_reports_what_happened_before(mail_user):
    a = mail_user.connect()
    b = mail_user.connect()
    a.ok("SELECT INBOX")
    append(b)
    tag = a.next_tag()
    a.send(f"{tag} IDLE\r\n")
    r = a.read_response(tag)
    assert r.lines == ["* 1 EXISTS", "* 1 RECENT", "+ idling"]
    done(a, tag)


def test_append_by_other_session_wakes_idler(mail_user):
    a = mail_user.connect()
    b = mail_user.connect()
    tag = start_idle(a)
    append(b, subject="first")
    lines = pushed(a, r"\* 1 RECENT")
    assert lines == ["* 1 EXISTS", "* 1 RECENT"]
    append(b, subject="second")
    assert pushed(a, r"\* 2 RECENT") == ["* 2 EXISTS", "* 2 RECENT"]
    r = done(a, tag)
    assert r.untagged == []
    assert a.ok("UID FETCH 1:* (UID)").untagged == [
        "* 1 FETCH (UID 1)", "* 2 FETCH (UID 2)"]


def test_flags_and_expunge_by_other_session(mail_user):
    a = mail_user.connect()
    b = mail_user.connect()
    for i in range(3):
        append(b, subject=f"m{i}")
    a.ok("SELECT INBOX")
    tag = a.next_tag()
    a.send(f"{tag} IDLE\r\n")
    assert a.read_response(tag).continuation == "+ idling"
    a.settimeout(PUSH_TIMEOUT)
    b.ok("SELECT INBOX")
    b.ok("STORE 2 +FLAGS (\\Flagged)")
    assert pushed(a, r"\* 2 FETCH .*") == [
        "* 2 FETCH (FLAGS (\\Flagged \\Recent))"]
    b.ok("STORE 1 +FLAGS (\\Deleted)")
    pushed(a, r"\* 1 FETCH .*")
    b.ok("EXPUNGE")
    # EXPUNGE may be sent during IDLE (RFC 3501 7.4.1)
    assert pushed(a, r"\* \d+ EXPUNGE") == ["* 1 EXPUNGE"]
    done(a, tag)
    assert a.ok("FETCH 1:* (UID)").untagged == [
        "* 1 FETCH (UID 2)", "* 2 FETCH (UID 3)"]


def test_three_idlers_all_woken(mail_user):
    idlers = [mail_user.connect() for _ in range(3)]
    tags = [start_idle(c) for c in idlers]
    w = mail_user.connect()
    append(w)
    got = [pushed(c, r"\* \d+ RECENT") for c in idlers]
    # \Recent goes to one session only (RFC 3501 2.3.2)
    assert sorted(got) == [["* 1 EXISTS", "* 0 RECENT"]] * 2 + [
        ["* 1 EXISTS", "* 1 RECENT"]]
    for c, tag in zip(idlers, tags):
        done(c, tag)
    recent = [c.ok("SEARCH RECENT").untagged[0] for c in idlers]
    assert sorted(recent) == ["* SEARCH", "* SEARCH", "* SEARCH 1"]


def test_idler_in_other_mailbox_not_disturbed(mail_user):
    a = mail_user.connect()
    b = mail_user.connect()
    b.ok("CREATE Other")
    tag = start_idle(a, "Other")
    append(b, "INBOX")
    append(b, "Other", subject="here")
    # the first push a gets is about Other's message, not INBOX's
    assert pushed(a, r"\* 1 RECENT") == ["* 1 EXISTS", "* 1 RECENT"]
    done(a, tag)


def test_lmtp_delivery_wakes_idler(mail_user):
    srv = mail_user.srv
    a = mail_user.connect()
    tag = start_idle(a)
    lm = LmtpClient(port=srv.lmtp_port)
    lm.lhlo()
    rcpt, data = lm.transaction("s@example.org", [mail_user.name + "@example.org"],
                                roost.make_message(subject="lmtp"))
    assert [r.code for r in data] == [250], (rcpt, data)
    lm.close()
    assert pushed(a, r"\* 1 RECENT") == ["* 1 EXISTS", "* 1 RECENT"]
    done(a, tag)


def test_pop3_deletion_wakes_idler(mail_user):
    srv = mail_user.srv
    w = mail_user.connect()
    append(w, subject="one")
    append(w, subject="two")
    a = mail_user.connect()
    tag = start_idle(a)
    p = poplib.POP3("127.0.0.1", srv.pop3_port, timeout=PUSH_TIMEOUT)
    p.user(mail_user.name)
    p.pass_(mail_user.password)
    p.dele(1)
    p.quit()
    assert pushed(a, r"\* \d+ EXPUNGE") == ["* 1 EXPUNGE"]
    done(a, tag)
    assert a.ok("UID FETCH 1:* (UID)").untagged == ["* 1 FETCH (UID 2)"]


def test_roost_deliver_wakes_idler(mail_user):
    """`roost deliver` is another process: its change is seen through
    the Maildir (inotify), not the in-process hook."""
    srv = mail_user.srv
    a = mail_user.connect()
    tag = start_idle(a)
    r = subprocess.run(
        [roost.ROOST_BIN, "deliver", mail_user.name, "--config",
         str(srv.config_path)],
        input=roost.make_message(subject="piped"), capture_output=True,
        timeout=60, env=srv.env)
    assert r.returncode == 0, r.stderr
    assert pushed(a, r"\* 1 RECENT") == ["* 1 EXISTS", "* 1 RECENT"]
    done(a, tag)
    r = a.ok("FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert "Subject: piped" in r.untagged[0]


def test_external_maildir_write_wakes_idler(mail_user):
    srv = mail_user.srv
    a = mail_user.connect()
    tag = start_idle(a)
    mdir = srv.user_dir(mail_user.name) / "Maildir"
    tmp = mdir / "tmp" / "ext.1"
    tmp.write_bytes(b"From: x@example.org\nSubject: dropped\n\nbody\n")
    os.rename(tmp, mdir / "new" / "ext.1")
    assert pushed(a, r"\* 1 RECENT") == ["* 1 EXISTS", "* 1 RECENT"]
    done(a, tag)
    r = a.ok("FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert "Subject: dropped" in r.untagged[0]


def test_file_written_in_place_into_new(mail_user):
    """An MDA that writes straight into new/ (no rename): the message is
    announced once the file is closed."""
    srv = mail_user.srv
    a = mail_user.connect()
    tag = start_idle(a)
    path = srv.user_dir(mail_user.name) / "Maildir" / "new" / "direct.1"
    with open(path, "wb") as f:
        f.write(b"Subject: direct\r\n\r\nbody\r\n")
    assert pushed(a, r"\* 1 RECENT") == ["* 1 EXISTS", "* 1 RECENT"]
    done(a, tag)


def test_burst_of_changes_converges(mail_user):
    """Changes that come while a wake-up sync runs are not lost: the
    idler's view ends equal to a fresh one."""
    a = mail_user.connect()
    b = mail_user.connect()
    tag = start_idle(a)
    uids = [append(b, subject=f"b{i}") for i in range(20)]
    b.ok("SELECT INBOX")
    b.ok("STORE 1:10 +FLAGS (\\Seen)")
    exists = 0
    seen = set()
    while exists < 20 or len(seen) < 10:
        ln = a.readline()
        m = re.fullmatch(r"\* (\d+) EXISTS", ln)
        if m:
            exists = int(m.group(1))
        m = re.fullmatch(r"\* (\d+) FETCH \(FLAGS \((.*)\)\)", ln)
        if m and "\\Seen" in m.group(2):
            seen.add(int(m.group(1)))
    done(a, tag)
    r = a.ok("UID FETCH 1:* (FLAGS)")
    assert len(r.untagged) == 20
    assert [int(re.search(r"UID (\d+)", ln).group(1))
            for ln in r.untagged] == uids


def test_mailbox_deleted_while_idling(mail_user):
    a = mail_user.connect()
    b = mail_user.connect()
    b.ok("CREATE Doomed")
    start_idle(a, "Doomed")
    b.ok("DELETE Doomed")
    lines = a.read_until_closed(timeout=PUSH_TIMEOUT)
    assert lines[-1].startswith("* BYE"), lines


def test_client_gone_while_idling(mail_user):
    """A client that vanishes mid-IDLE leaves the others' IDLE working
    (and the server clean: the fixture checks the sanitizer log)."""
    a = mail_user.connect()
    start_idle(a)
    a.close()
    b = mail_user.connect()
    tag = start_idle(b)
    w = mail_user.connect()
    append(w)
    assert pushed(b, r"\* 1 RECENT") == ["* 1 EXISTS", "* 1 RECENT"]
    done(b, tag)


def test_idle_long_garbage_line(mail_user):
    a = mail_user.connect()
    tag = start_idle(a)
    a.send(b"x" * 5000)
    lines = a.read_until_closed(timeout=PUSH_TIMEOUT)
    assert lines[0] == f"{tag} BAD Expected DONE", lines
    assert lines[1].startswith("* BYE"), lines


def test_autologout_applies_while_idling(make_server):
    """With one worker the session stays on the loop that accepted it;
    its timer must still switch from the pre-login timeout (60 s) to
    the autologout (1 s) at login."""
    srv = make_server(config={"imap": {"autologout_s": 1},
                              "server": {"workers": 1}})
    c = srv.connect()
    c.login("alice", "secret")
    start_idle(c)
    t0 = time.monotonic()
    lines = c.read_until_closed(timeout=30)
    assert lines[-1].startswith("* BYE Autologout"), lines
    assert time.monotonic() - t0 >= 0.9
