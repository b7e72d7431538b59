"""Postfix from Debian as a real MTA delivering to roost over LMTP.

Each test runs a private Postfix instance: its own configuration and
queue directories (`postfix -c DIR start`), smtpd on a free 127.0.0.1
port, the test domain's mail handed to roost's LMTP listener (TCP, or
the Unix socket) through virtual_transport. A message submitted with
swaks must arrive in the user's INBOX, read over IMAP; an unknown user
must bounce, not be lost. Postfix is stopped at the end (`postfix stop`,
then by the master's PID if it is still there).

Postfix's master runs as root; the tests skip when postfix or swaks is
not installed, or when they are not run as root."""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from lmtp_client import imap_messages, split_delivered

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
SWAKS = shutil.which("swaks")
DOMAIN = "example.test"
WAIT_S = 60.0
PW = "pw"

pytestmark = [
    pytest.mark.skipif(not os.path.exists(POSTFIX) or SWAKS is None,
                       reason="postfix and swaks are not installed "
                              "(scripts/install-deps --test)"),
    pytest.mark.skipif(os.geteuid() != 0,
                       reason="a Postfix master runs as root"),
]

MASTER_CF = """\
{smtpd_addr} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.{domain}
mydomain = {domain}
myorigin = $mydomain
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
relayhost =
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
virtual_mailbox_domains = {domain}
virtual_mailbox_maps =
smtpd_reject_unlisted_recipient = no
virtual_transport = lmtp:{lmtp}
lmtp_destination_recipient_limit = 50
smtp_host_lookup = native
disable_dns_lookups = yes
maillog_file_prefixes = {base}
maillog_file = {base}/postfix.log
delay_warning_time = 0
bounce_queue_lifetime = 0
maximal_queue_lifetime = 1h
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Postfix:
    """A private Postfix instance under base (a directory the postfix
    user can reach: pytest's own temporary directories are 0700)."""

    def __init__(self, lmtp):
        self.base = Path(tempfile.mkdtemp(prefix="roost-postfix-"))
        os.chmod(self.base, 0o755)
        self.conf = self.base / "conf"
        self.conf.mkdir(mode=0o755)
        self.smtp_port = free_port()
        (self.conf / "main.cf").write_text(MAIN_CF.format(
            queue=self.base / "queue", data=self.base / "data",
            domain=DOMAIN, lmtp=lmtp, base=self.base))
        (self.conf / "master.cf").write_text(MASTER_CF.format(
            smtpd_addr=f"127.0.0.1:{self.smtp_port}"))
        for f in ("main.cf", "master.cf"):
            os.chmod(self.conf / f, 0o644)
        # the queue is root's (postfix start makes its subdirectories);
        # the data directory the mail_owner's
        (self.base / "queue").mkdir(mode=0o755)
        (self.base / "data").mkdir(mode=0o700)
        shutil.chown(self.base / "data", "postfix", "postfix")
        self.started = False

    def run(self, *args, check=True):
        r = subprocess.run([POSTFIX, "-c", str(self.conf), *args],
                           capture_output=True, text=True, timeout=120)
        if check:
            assert r.returncode == 0, (args, r.stdout, r.stderr, self.log())
        return r

    def start(self):
        self.run("start")
        self.started = True
        # wait for smtpd's port (the master binds it when it starts)
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.smtp_port),
                                         timeout=2).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"postfix smtpd not listening:\n{self.log()}")

    def master_pid(self):
        try:
            return int((self.base / "queue" / "pid" / "master.pid")
                       .read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self):
        if self.started:
            pid = self.master_pid()
            self.run("stop", check=False)
            deadline = time.monotonic() + 20
            while pid and time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
            else:
                if pid:
                    os.kill(pid, signal.SIGKILL)
            self.started = False
        shutil.rmtree(self.base, ignore_errors=True)

    def log(self):
        try:
            return (self.base / "postfix.log").read_text()[-5000:]
        except OSError:
            return "(no postfix log)"

    def swaks(self, to, subject, body, sender="sender@example.net"):
        return subprocess.run(
            [SWAKS, "--server", f"127.0.0.1:{self.smtp_port}",
             "--helo", "client.example.net", "--from", sender, "--to", to,
             "--header", f"Subject: {subject}", "--body", body,
             "--timeout", "30"],
            capture_output=True, text=True, timeout=120)


@pytest.fixture
def roost_srv(make_server):
    return make_server(users={"alice": PW, "bob": PW},
                       passwd_lines=["quota1:{PLAIN}pw::::::"
                                     "quota_rule=*:messages=1"])


def wait_messages(srv, user, count, postfix, mailbox="INBOX"):
    deadline = time.monotonic() + WAIT_S
    while True:
        got = imap_messages(srv, user, PW, mailbox)
        if len(got) >= count:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{count} message(s) for {user} did not arrive; "
                f"postfix log:\n{postfix.log()}")
        time.sleep(0.2)


def wait_log(postfix, pattern):
    deadline = time.monotonic() + WAIT_S
    while True:
        m = re.search(pattern, postfix.log())
        if m:
            return m
        if time.monotonic() > deadline:
            raise AssertionError(f"{pattern!r} not in postfix log:\n"
                                 f"{postfix.log()}")
        time.sleep(0.2)


def test_postfix_delivers_over_lmtp_tcp(roost_srv):
    pf = Postfix(f"inet:127.0.0.1:{roost_srv.lmtp_port}")
    try:
        pf.start()
        r = pf.swaks(f"alice@{DOMAIN}", "via postfix", "Hello from swaks.")
        assert r.returncode == 0, r.stdout + r.stderr
        got = wait_messages(roost_srv, "alice", 1, pf)
        head, rest = split_delivered(got[0])
        assert head[0] == b"Return-Path: <sender@example.net>\r\n"
        assert head[1] == f"Delivered-To: alice@{DOMAIN}\r\n".encode()
        assert re.match(rb"Received: from mx\.example\.test "
                        rb"\(\[127\.0\.0\.1\]\)\r\n\tby .* with LMTP id ",
                        head[2]), head[2]
        # below ours, Postfix's own Received line, then what swaks wrote
        assert len(head) == 4
        assert head[3].startswith(b"Received: from client.example.net")
        assert b"Subject: via postfix\r\n" in rest
        assert b"\r\n\r\nHello from swaks.\r\n" in rest
        wait_log(pf, r"to=<alice@example\.test>, relay=127\.0\.0\.1\[127"
                 r"\.0\.0\.1\]:\d+, .*status=sent \(250 2\.0\.0 ")
    finally:
        pf.stop()


def test_postfix_unix_socket_several_recipients(make_server):
    sock_dir = Path(tempfile.mkdtemp(prefix="roost-lmtp-sock-"))
    os.chmod(sock_dir, 0o755)
    sock = sock_dir / "lmtp"
    srv = make_server(users={"alice": PW, "bob": PW},
                      passwd_lines=["quota1:{PLAIN}pw::::::"
                                    "quota_rule=*:messages=1"],
                      config={"lmtp": {"socket": str(sock)}})
    c = srv.connect()
    c.login("bob", PW)
    c.ok('CREATE "Lists"')
    c.close()
    pf = Postfix(f"unix:{sock}")
    try:
        pf.start()
        # quota1 takes one message; the second is refused with 552 5.2.2
        # and bounces, without holding back the other recipients
        assert pf.swaks(f"quota1@{DOMAIN}", "fill", "x").returncode == 0
        wait_messages(srv, "quota1", 1, pf)
        r = pf.swaks(f"alice@{DOMAIN},bob+Lists@{DOMAIN},"
                     f"quota1@{DOMAIN},nobody@{DOMAIN}",
                     "to several", "One message, several recipients.")
        assert r.returncode == 0, r.stdout + r.stderr
        got = wait_messages(srv, "alice", 1, pf)
        assert b"Subject: to several\r\n" in got[0]
        lists = wait_messages(srv, "bob", 1, pf, "Lists")
        assert split_delivered(lists[0])[0][1] == \
            f"Delivered-To: bob+Lists@{DOMAIN}\r\n".encode()
        wait_log(pf, r"to=<nobody@example\.test>.*status=bounced "
                 r"\(host .* said: 550 5\.1\.1 ")
        wait_log(pf, r"to=<quota1@example\.test>.*status=bounced "
                 r"\(host .* said: 552 5\.2\.2 ")
        assert len(imap_messages(srv, "quota1", PW)) == 1
    finally:
        pf.stop()
        shutil.rmtree(sock_dir, ignore_errors=True)
