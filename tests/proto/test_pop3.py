"""POP3 (RFC 1939) with CAPA (RFC 2449), STLS (RFC 2595), AUTH (RFC 5034)
and the response codes of RFC 3206, over real sockets: raw lines for the
exact bytes, Python's poplib as a client. Mail is put in with IMAP, and
IMAP sessions watch what POP3 does to the same INBOX."""

import base64
import fcntl
import hashlib
import os
import poplib
import re
import socket
import time

import pytest

import roost
from conftest import MAIL_PASSWORD
from line_client import LineClient, connect
from roost import b64, crlf, make_message
from test_auth import _hmac, _saslname

# ----------------------------------------------------------------------
# a raw POP3 client


class Pop3(LineClient):
    """A raw POP3 line client: exact bytes in and out."""

    recv_bytes = 262144
    closed_error = roost.ConnectionClosed

    def __init__(self, port, tls=False, ctx=None, timeout=roost.DEFAULT_TIMEOUT):
        self.sock = connect(port=port, timeout=timeout)
        if tls:
            self.sock = (ctx or roost.client_context(verify=False)) \
                .wrap_socket(self.sock, server_hostname="localhost")
        self.buf = b""
        self.greeting = self.line()

    def line(self):
        """One line as str, without CR LF."""
        return self._line().decode("utf-8", "replace")

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.line()

    def ok(self, text):
        r = self.cmd(text)
        assert r.startswith("+OK"), f"{text!r} -> {r!r}"
        return r

    def err(self, text, code=None):
        r = self.cmd(text)
        assert r.startswith("-ERR"), f"{text!r} -> {r!r}"
        if code is not None:
            assert r.startswith(f"-ERR [{code}]"), f"{text!r} -> {r!r}"
        return r

    def body_raw(self):
        """The rest of a multi-line answer as sent, terminator included."""
        while True:
            i = self.buf.find(b"\r\n.\r\n")
            if i >= 0 or self.buf.startswith(b".\r\n"):
                end = i + 5 if i >= 0 else 3
                if self.buf.startswith(b".\r\n"):
                    end = 3
                data, self.buf = self.buf[:end], self.buf[end:]
                return data
            self._fill()

    def multi(self, text):
        """Status line and the unstuffed lines of a multi-line answer."""
        status = self.ok(text)
        raw = self.body_raw()
        return status, [ln[1:] if ln.startswith(b".") else ln
                        for ln in raw[:-3].split(b"\r\n")[:-1]]

    def login(self, user, password):
        self.ok(f"USER {user}")
        return self.ok(f"PASS {password}")

    def read_until_closed(self):
        out = []
        try:
            while True:
                out.append(self.line())
        except (roost.ConnectionClosed, ConnectionResetError):
            return out


def unstuff(raw):
    """A stuffed multi-line body (terminator included) -> the message."""
    assert raw.endswith(b".\r\n"), raw[-20:]
    lines = raw[:-3].split(b"\r\n")
    assert lines[-1] == b""
    return b"".join((ln[1:] if ln.startswith(b".") else ln) + b"\r\n"
                    for ln in lines[:-1])


def put(user, *messages, flags=None):
    """APPEND messages to user's INBOX over IMAP; their UIDs."""
    c = user.connect()
    uids = []
    for m in messages:
        r = c.append("INBOX", m, flags=flags)
        assert r.status == "OK", r.lines
        uids += roost.appenduid(r)[1]
    c.close()
    return uids


def pop(user, **kw):
    c = Pop3(user.srv.pop3_port, **kw)
    c.login(user.name, user.password)
    return c


MSG1 = make_message("one", body="First.\r\n.dot line\r\n..two dots\r\n.\r\nend\r\n")
MSG2 = make_message("two", body="Second message.\r\n")
MSG3 = make_message("three", body="a\r\nb\r\nc\r\nd\r\n")


# ----------------------------------------------------------------------
# greeting, CAPA, states


def test_greeting_has_apop_timestamp(mail_server):
    with Pop3(mail_server.pop3_port) as c, Pop3(mail_server.pop3_port) as d:
        m = re.match(r"^\+OK roost POP3 ready (<\d+\.[0-9a-f]+\.\d+@[^<> ]+>)$",
                     c.greeting)
        assert m, c.greeting
        # a fresh timestamp for every connection
        assert d.greeting != c.greeting


def test_greeting_without_apop_when_no_user_can(make_server):
    srv = make_server(users={}, start=False)
    srv.add_user("carol", "pw", scheme="SHA512-CRYPT")
    srv.start()
    with Pop3(srv.pop3_port) as c:
        assert c.greeting == "+OK roost POP3 ready", c.greeting
        assert c.err("APOP carol " + "0" * 32) == "-ERR APOP is not available"
        c.login("carol", "pw")


def capa(c):
    status, lines = c.multi("CAPA")
    assert status == "+OK Capability list follows", status
    return [ln.decode() for ln in lines]


def test_capa_before_and_after_login(mail_user):
    with Pop3(mail_user.srv.pop3_port) as c:
        assert capa(c) == ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE",
                           "PIPELINING", "USER",
                           "SASL PLAIN LOGIN SCRAM-SHA-256", "STLS",
                           "IMPLEMENTATION roost"]
        c.login(mail_user.name, MAIL_PASSWORD)
        assert capa(c) == ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE",
                           "PIPELINING", "IMPLEMENTATION roost"]


def test_capa_on_tls_has_no_stls(mail_server):
    with Pop3(mail_server.pop3s_port, tls=True) as c:
        caps = capa(c)
        assert "STLS" not in caps and "USER" in caps, caps


def test_capa_login_delay_and_enforced(make_server):
    srv = make_server(config={"pop3": {"login_delay_s": 3600}})
    with Pop3(srv.pop3_port) as c:
        assert "LOGIN-DELAY 3600" in capa(c)
        c.login("alice", "secret")
        c.ok("QUIT")
    with Pop3(srv.pop3_port) as c:
        c.ok("USER alice")
        c.err("PASS secret", "LOGIN-DELAY")
        c.ok("CAPA")
        c.body_raw()
        # another user is not held back
        c.login("bob", "hunter2")


def test_commands_before_login(mail_server):
    with Pop3(mail_server.pop3_port) as c:
        for cmd in ("STAT", "LIST", "LIST 1", "RETR 1", "DELE 1", "NOOP",
                    "RSET", "TOP 1 0", "UIDL", "UIDL 1"):
            assert c.cmd(cmd) == "-ERR Command is valid only after login", cmd
        assert c.cmd("PASS secret") == "-ERR Send USER first"
        c.ok("QUIT")
        assert c.read_until_closed() == []


def test_commands_after_login(mail_user):
    with pop(mail_user) as c:
        for cmd in ("USER x", "PASS x", "APOP x " + "0" * 32, "AUTH PLAIN",
                    "STLS"):
            assert c.cmd(cmd) == "-ERR Command is not valid after login", cmd
        c.ok("NOOP")


def test_unknown_commands_and_too_many(make_server):
    srv = make_server(config={"pop3": {"max_bad_commands": 3}})
    with Pop3(srv.pop3_port) as c:
        assert c.cmd("XYZZY") == "-ERR Unknown command"
        assert c.cmd("") == "-ERR Empty command"
        c.ok("CAPA")   # a good command resets the count
        c.body_raw()
        c.cmd("FOO")
        c.cmd("BAR")
        c.send("BAZ\r\n")
        assert c.read_until_closed() == ["-ERR Unknown command",
                                         "-ERR Too many invalid commands"]


def test_bad_arguments(mail_user):
    put(mail_user, MSG1, MSG2)
    with pop(mail_user) as c:
        cases = {
            "STAT 1": "-ERR STAT takes no arguments",
            "NOOP x": "-ERR NOOP takes no arguments",
            "RSET 1": "-ERR RSET takes no arguments",
            "LIST x": "-ERR Invalid message number",
            "LIST -1": "-ERR Invalid message number",
            "LIST +1": "-ERR Invalid message number",
            "LIST 0": "-ERR No such message",
            "LIST 3": "-ERR No such message",
            "LIST 99999999999": "-ERR Invalid message number",
            "LIST 1 2": "-ERR LIST takes one message number",
            "UIDL 3": "-ERR No such message",
            "RETR": "-ERR RETR takes one message number",
            "RETR 1 2": "-ERR RETR takes one message number",
            "RETR 3": "-ERR No such message",
            "DELE": "-ERR DELE takes one message number",
            "DELE x": "-ERR Invalid message number",
            "TOP 1": "-ERR TOP takes a message number and a number of lines",
            "TOP 1 x": "-ERR Invalid number of lines",
            "TOP 1 -1": "-ERR Invalid number of lines",
            "TOP 9 1": "-ERR No such message",
            "CAPA x": "-ERR CAPA takes no arguments",
            "QUIT now": "-ERR QUIT takes no arguments",
        }
        for cmd, want in cases.items():
            assert c.cmd(cmd) == want, cmd
        # after all that, the session is still in step
        assert c.ok("STAT") == f"+OK 2 {len(MSG1) + len(MSG2)}"


def test_long_lines(mail_user):
    put(mail_user, MSG1)
    with pop(mail_user) as c:
        # RFC 2449 4: 255 octets with CR LF
        assert c.cmd("NOOP" + " " * 249) == "+OK"
        assert c.cmd("NOOP" + " " * 250) == "-ERR Command line too long"
        assert c.cmd("X" * 10000) == "-ERR Line too long"
        assert c.ok("STAT") == f"+OK 1 {len(MSG1)}"


def test_bare_lf_and_lower_case(mail_user):
    put(mail_user, MSG1)
    with Pop3(mail_user.srv.pop3_port) as c:
        c.send(f"user {mail_user.name}\n")
        assert c.line().startswith("+OK")
        c.send(f"pass {MAIL_PASSWORD}\n")
        assert c.line().startswith("+OK Logged in")
        c.send("stat\n")
        assert c.line() == f"+OK 1 {len(MSG1)}"


def test_nul_in_command(mail_server):
    with Pop3(mail_server.pop3_port) as c:
        assert c.cmd("USER a\0b") == "-ERR NUL byte in command"
        c.ok("CAPA")
        c.body_raw()


# ----------------------------------------------------------------------
# USER/PASS


def test_user_pass(mail_user):
    put(mail_user, MSG1, MSG2)
    with Pop3(mail_user.srv.pop3_port) as c:
        assert c.cmd(f"USER {mail_user.name}") == "+OK Send your password"
        assert c.cmd(f"PASS {MAIL_PASSWORD}") == \
            f"+OK Logged in, maildrop has 2 messages ({len(MSG1) + len(MSG2)} octets)"
    assert mail_user.srv.wait_event("login", proto="pop3", user=mail_user.name,
                                    mech="USER")


@pytest.mark.parametrize("user,password", [("alice", "nope"),
                                           ("ghost", "secret"),
                                           ("alice", "")])
def test_pass_wrong(make_server, user, password):
    srv = make_server()
    with Pop3(srv.pop3_port) as c:
        c.ok(f"USER {user}")   # the same answer for unknown users
        assert c.cmd(f"PASS {password}") == "-ERR [AUTH] Authentication failed"
        # back in AUTHORIZATION, and USER is needed again
        assert c.cmd("STAT") == "-ERR Command is valid only after login"
        assert c.cmd("PASS secret") == "-ERR Send USER first"
        c.login("alice", "secret")
    ev = srv.wait_event("login_failed", proto="pop3")
    assert ev[0]["user"] == user


def test_pass_with_spaces(make_server):
    srv = make_server(users={"sp": "pass word  x"})
    with Pop3(srv.pop3_port) as c:
        c.login("sp", "pass word  x")


def test_plaintext_refused_without_tls(make_server):
    srv = make_server(config={"auth": {"plaintext_loopback": False}})
    with Pop3(srv.pop3_port) as c:
        caps = capa(c)
        assert "USER" not in caps and "SASL SCRAM-SHA-256" in caps, caps
        refused = ("-ERR [AUTH] Plaintext authentication is disallowed on "
                   "non-encrypted connections")
        assert c.cmd("USER alice") == refused
        assert c.cmd("AUTH PLAIN " + b64("\0alice\0secret")) == refused
        assert c.cmd("AUTH LOGIN") == refused
        status, mechs = c.multi("AUTH")
        assert mechs == [b"SCRAM-SHA-256"]
        # SCRAM sends no password: allowed
        assert scram(c, "alice", "secret").startswith("+OK Logged in")
    with Pop3(srv.pop3s_port, tls=True) as c:
        c.login("alice", "secret")


# ----------------------------------------------------------------------
# APOP


def apop_digest(greeting, secret):
    stamp = re.search(r"<[^>]*>", greeting).group(0)
    return hashlib.md5((stamp + secret).encode()).hexdigest()


def test_apop(mail_user):
    put(mail_user, MSG1)
    with Pop3(mail_user.srv.pop3_port) as c:
        d = apop_digest(c.greeting, MAIL_PASSWORD)
        assert c.cmd(f"APOP {mail_user.name} {d}").startswith(
            "+OK Logged in, maildrop has 1 messages")
    # poplib's apop() agrees
    p = poplib.POP3("127.0.0.1", mail_user.srv.pop3_port)
    assert p.apop(mail_user.name, MAIL_PASSWORD).startswith(b"+OK")
    assert p.stat() == (1, len(MSG1))
    p.quit()
    # upper-case hex is the same digest
    with Pop3(mail_user.srv.pop3_port) as c:
        d = apop_digest(c.greeting, MAIL_PASSWORD).upper()
        c.ok(f"APOP {mail_user.name} {d}")


def test_apop_wrong(make_server):
    srv = make_server(start=False)
    srv.add_user("hashed", "pw", scheme="SHA512-CRYPT")
    srv.start()
    with Pop3(srv.pop3_port) as c:
        # a digest of another timestamp, a malformed one, an unknown user,
        # a user whose secret is hashed
        wrong = hashlib.md5(b"<1.2@x>secret").hexdigest()
        good_hashed = apop_digest(c.greeting, "pw")
        for line in (f"APOP alice {wrong}", "APOP alice xyz",
                     f"APOP alice {'g' * 32}",
                     f"APOP ghost {apop_digest(c.greeting, 'secret')}",
                     f"APOP hashed {good_hashed}"):
            assert c.cmd(line) == "-ERR [AUTH] Authentication failed", line
        assert c.cmd("APOP alice") == "-ERR APOP takes a user name and a digest"
        c.ok(f"APOP alice {apop_digest(c.greeting, 'secret')}")


# ----------------------------------------------------------------------
# AUTH (RFC 5034)


def test_auth_lists_mechanisms(mail_server):
    with Pop3(mail_server.pop3_port) as c:
        c.send("AUTH\r\n")
        assert c.line() == "+OK Mechanisms follow"
        assert c.body_raw() == b"PLAIN\r\nLOGIN\r\nSCRAM-SHA-256\r\n.\r\n"


def test_auth_plain_initial_response(mail_user):
    with Pop3(mail_user.srv.pop3_port) as c:
        r = c.cmd("AUTH PLAIN " + b64(f"\0{mail_user.name}\0{MAIL_PASSWORD}"))
        assert r.startswith("+OK Logged in"), r
        c.ok("STAT")
    assert mail_user.srv.wait_event("login", proto="pop3",
                                    user=mail_user.name, mech="PLAIN")


def test_auth_plain_continuation(mail_user):
    with Pop3(mail_user.srv.pop3_port) as c:
        assert c.cmd("auth plain") == "+ "
        r = c.cmd(b64(f"{mail_user.name}\0{mail_user.name}\0{MAIL_PASSWORD}"))
        assert r.startswith("+OK Logged in"), r


def test_auth_plain_empty_initial_response(mail_server):
    with Pop3(mail_server.pop3_port) as c:
        assert c.cmd("AUTH PLAIN =").startswith("-ERR")
        assert c.cmd("STAT") == "-ERR Command is valid only after login"


def test_auth_login(mail_user):
    with Pop3(mail_user.srv.pop3_port) as c:
        r = c.cmd("AUTH LOGIN")
        assert base64.b64decode(r[2:]).lower().startswith(b"user"), r
        r = c.cmd(b64(mail_user.name))
        assert base64.b64decode(r[2:]).lower().startswith(b"pass"), r
        assert c.cmd(b64(MAIL_PASSWORD)).startswith("+OK Logged in")


def test_auth_failures(mail_server):
    with Pop3(mail_server.pop3_port) as c:
        assert c.cmd("AUTH PLAIN " + b64("\0m000\0wrong")) == \
            "-ERR [AUTH] Authentication failed"
        assert c.cmd("AUTH PLAIN " + b64("m001\0m000\0" + MAIL_PASSWORD)) == \
            "-ERR [AUTH] Authentication failed"
        assert c.cmd("AUTH CRAM-MD5") == \
            "-ERR Unsupported authentication mechanism"
        assert c.cmd("AUTH PLAIN !!!") == "-ERR Invalid base64 data"
        assert c.cmd("AUTH PLAIN a b c") == \
            "-ERR AUTH takes a mechanism and an initial response"
        assert c.cmd("AUTH LOGIN").startswith("+ ")
        assert c.cmd("*") == "-ERR Authentication cancelled"
        assert c.cmd("AUTH PLAIN") == "+ "
        assert c.cmd("not base64!") == "-ERR Invalid base64 data"
        assert c.cmd("STAT") == "-ERR Command is valid only after login"


def scram(c, user, password, tamper=False):
    """AUTH SCRAM-SHA-256 on a raw client; the final status line."""
    cnonce = base64.b64encode(os.urandom(18)).decode()
    first_bare = f"n={_saslname(user)},r={cnonce}"
    r = c.cmd("AUTH SCRAM-SHA-256 " + b64("n,," + first_bare))
    if not r.startswith("+ "):
        return r
    server_first = base64.b64decode(r[2:]).decode()
    attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(),
                                 base64.b64decode(attrs["s"]), int(attrs["i"]))
    client_key = _hmac(salted, b"Client Key")
    stored_key = hashlib.sha256(client_key).digest()
    final_wo_proof = f"c={b64('n,,')},r={attrs['r']}"
    auth_msg = f"{first_bare},{server_first},{final_wo_proof}".encode()
    proof = bytes(a ^ b for a, b in zip(client_key, _hmac(stored_key, auth_msg)))
    if tamper:
        proof = bytes([proof[0] ^ 1]) + proof[1:]
    r = c.cmd(b64(f"{final_wo_proof},p={base64.b64encode(proof).decode()}"))
    if not r.startswith("+ "):
        return r
    server_final = base64.b64decode(r[2:]).decode()
    expected = base64.b64encode(_hmac(_hmac(salted, b"Server Key"),
                                      auth_msg)).decode()
    assert server_final == "v=" + expected, server_final
    return c.cmd("")


def test_auth_scram(mail_user):
    put(mail_user, MSG1)
    with Pop3(mail_user.srv.pop3_port) as c:
        assert scram(c, mail_user.name, MAIL_PASSWORD).startswith(
            "+OK Logged in, maildrop has 1 messages")
    with Pop3(mail_user.srv.pop3_port) as c:
        assert scram(c, mail_user.name, MAIL_PASSWORD, tamper=True) == \
            "-ERR [AUTH] Authentication failed"
    with Pop3(mail_user.srv.pop3_port) as c:
        assert scram(c, "ghost", "x") == "-ERR [AUTH] Authentication failed"


# ----------------------------------------------------------------------
# TRANSACTION


def test_stat_list_uidl(mail_user):
    uids = put(mail_user, MSG1, MSG2, MSG3)
    imap = mail_user.connect()
    uidvalidity = imap.select("INBOX").uidvalidity
    with pop(mail_user) as c:
        sizes = [len(MSG1), len(MSG2), len(MSG3)]
        assert c.ok("STAT") == f"+OK 3 {sum(sizes)}"
        c.send("LIST\r\n")
        assert c.line() == f"+OK 3 messages ({sum(sizes)} octets)"
        assert c.body_raw() == "".join(
            f"{i + 1} {s}\r\n" for i, s in enumerate(sizes)).encode() + b".\r\n"
        assert c.ok("LIST 2") == f"+OK 2 {sizes[1]}"
        want = [f"{u:08X}{uidvalidity:08X}" for u in uids]
        c.send("UIDL\r\n")
        c.line()
        assert c.body_raw() == "".join(
            f"{i + 1} {w}\r\n" for i, w in enumerate(want)).encode() + b".\r\n"
        assert c.ok("UIDL 3") == f"+OK 3 {want[2]}"
        # RFC 1939 7: 1 to 70 characters in 0x21..0x7E
        assert all(re.match(r"^[\x21-\x7e]{1,70}$", w) for w in want)


def test_retr_exact_bytes(mail_user):
    put(mail_user, MSG1)
    with pop(mail_user) as c:
        c.send("RETR 1\r\n")
        assert c.line() == f"+OK {len(MSG1)} octets"
        raw = c.body_raw()
        assert raw == MSG1.replace(b"\r\n.", b"\r\n..") + b".\r\n"
        assert unstuff(raw) == MSG1


def test_retr_big_message_streamed(mail_user):
    # 6 MB with a dot at the start of every fourth line, past any buffer
    lines = []
    for i in range(120000):
        lines.append(("." if i % 4 == 0 else "") + f"line {i:06d} " + "x" * 35)
    msg = make_message("big", body="\r\n".join(lines) + "\r\n")
    put(mail_user, msg)
    with pop(mail_user) as c:
        c.send("RETR 1\r\n")
        assert c.line() == f"+OK {len(msg)} octets"
        raw = c.body_raw()
        assert unstuff(raw) == msg
        assert c.ok("NOOP") == "+OK"


def test_top(mail_user):
    put(mail_user, MSG1, MSG3)
    header = MSG1.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    with pop(mail_user) as c:
        c.send("TOP 1 0\r\n")
        assert c.line() == "+OK Top of message follows"
        assert c.body_raw() == header + b".\r\n"
        c.send("TOP 1 2\r\n")
        c.line()
        assert c.body_raw() == header + b"First.\r\n..dot line\r\n.\r\n"
        c.send("TOP 2 1000\r\n")
        c.line()
        assert unstuff(c.body_raw()) == MSG3
    p = poplib.POP3("127.0.0.1", mail_user.srv.pop3_port)
    p.user(mail_user.name)
    p.pass_(MAIL_PASSWORD)
    resp, lines, octets = p.top(2, 2)
    assert lines[-2:] == [b"a", b"b"]
    p.quit()


def test_dele_rset(mail_user):
    put(mail_user, MSG1, MSG2, MSG3)
    with pop(mail_user) as c:
        assert c.ok("DELE 2") == "+OK Message 2 deleted"
        assert c.err("DELE 2") == "-ERR Message 2 already deleted"
        for cmd in ("RETR 2", "LIST 2", "UIDL 2", "TOP 2 0"):
            assert c.cmd(cmd) == "-ERR Message 2 already deleted", cmd
        assert c.ok("STAT") == f"+OK 2 {len(MSG1) + len(MSG3)}"
        c.send("LIST\r\n")
        assert c.line() == f"+OK 2 messages ({len(MSG1) + len(MSG3)} octets)"
        # numbers do not change: 1 and 3
        assert c.body_raw() == f"1 {len(MSG1)}\r\n3 {len(MSG3)}\r\n.\r\n".encode()
        n = len(MSG1) + len(MSG2) + len(MSG3)
        assert c.ok("RSET") == f"+OK Maildrop has 3 messages ({n} octets)"
        assert c.ok("LIST 2") == f"+OK 2 {len(MSG2)}"
        c.ok("DELE 1")
        c.ok("DELE 3")
        assert c.cmd("QUIT") == "+OK roost POP3 server signing off (1 messages left)"
        assert c.read_until_closed() == []
    imap = mail_user.connect()
    assert imap.select("INBOX").exists == 1
    r = imap.ok("FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
    assert "Subject: two" in r.lines[0]


def test_pipelining(mail_user):
    put(mail_user, MSG1, MSG2)
    with Pop3(mail_user.srv.pop3_port) as c:
        c.send(f"CAPA\r\nUSER {mail_user.name}\r\nPASS {MAIL_PASSWORD}\r\n"
               "STAT\r\nRETR 1\r\nLIST\r\nDELE 1\r\nTOP 2 0\r\nUIDL 2\r\n"
               "NOOP\r\nQUIT\r\n")
        assert c.line().startswith("+OK Capability")
        c.body_raw()
        assert c.line().startswith("+OK")
        assert c.line().startswith("+OK Logged in")
        assert c.line() == f"+OK 2 {len(MSG1) + len(MSG2)}"
        assert c.line() == f"+OK {len(MSG1)} octets"
        assert unstuff(c.body_raw()) == MSG1
        assert c.line().startswith("+OK 2 messages")
        assert c.body_raw().count(b"\r\n") == 3
        assert c.line() == "+OK Message 1 deleted"
        assert c.line() == "+OK Top of message follows"
        c.body_raw()
        assert c.line().startswith("+OK 2 ")
        assert c.line() == "+OK"
        assert c.line().startswith("+OK roost POP3 server signing off")
        assert c.read_until_closed() == []


def test_big_maildrop_listing(mail_user):
    """Mail dropped into new/ by another program; a LIST and UIDL larger
    than the connection's output buffers stream in order."""
    put(mail_user, MSG1)
    new = mail_user.srv.user_dir(mail_user.name) / "Maildir" / "new"
    count = 20000
    for i in range(count):
        (new / f"1700000000.M{i}P1.test").write_bytes(
            b"Subject: m%d\r\n\r\nbody\r\n" % i)
    # the store takes in so many files from new/ per sync: IMAP syncs
    # until all are in
    imap = mail_user.connect()
    imap.select("INBOX")
    for _ in range(count // 500):
        if f"* {count + 1} EXISTS" in imap.ok("NOOP").lines:
            break
    with pop(mail_user) as c:
        c.send("LIST\r\nUIDL\r\nSTAT\r\n")
        assert c.line().startswith(f"+OK {count + 1} messages")
        lines = c.body_raw().split(b"\r\n")[:-2]
        assert len(lines) == count + 1
        assert [int(ln.split()[0]) for ln in lines] == list(range(1, count + 2))
        assert c.line().startswith(f"+OK {count + 1} messages")
        ids = [ln.split()[1] for ln in c.body_raw().split(b"\r\n")[:-2]]
        assert len(set(ids)) == count + 1
        assert c.line().startswith(f"+OK {count + 1} ")


# ----------------------------------------------------------------------
# UIDL stability, the lock, IMAP together


def uidl_map(user):
    with pop(user) as c:
        _, lines = c.multi("UIDL")
        c.ok("QUIT")
    return dict(ln.decode().split() for ln in lines)


def test_uidl_stable_across_sessions_and_imap_changes(mail_user):
    put(mail_user, MSG1, MSG2, MSG3)
    first = uidl_map(mail_user)
    assert uidl_map(mail_user) == first
    imap = mail_user.connect()
    imap.select("INBOX")
    imap.ok("STORE 1:3 +FLAGS (\\Seen \\Flagged)")
    imap.ok("STORE 2 -FLAGS (\\Seen)")
    assert uidl_map(mail_user) == first
    # another client expunges message 2: the others keep their UIDLs
    imap.ok("STORE 2 +FLAGS (\\Deleted)")
    imap.ok("EXPUNGE")
    after = uidl_map(mail_user)
    assert after == {"1": first["1"], "2": first["3"]}
    # new mail gets a new UIDL
    put(mail_user, MSG2)
    again = uidl_map(mail_user)
    assert again["3"] not in first.values()


def test_uidl_stable_across_restart(make_server):
    srv = make_server()
    c = srv.connect()
    c.login()
    for m in (MSG1, MSG2):
        c.append("INBOX", m)
    c.close()

    def ids():
        with Pop3(srv.pop3_port) as p:
            p.login("alice", "secret")
            _, lines = p.multi("UIDL")
            p.ok("QUIT")
            return lines
    before = ids()
    srv.stop()
    srv.restart()
    assert ids() == before


def test_maildrop_lock(mail_user):
    put(mail_user, MSG1)
    with pop(mail_user) as first:
        with Pop3(mail_user.srv.pop3_port) as second:
            second.ok(f"USER {mail_user.name}")
            assert second.cmd(f"PASS {MAIL_PASSWORD}") == \
                "-ERR [IN-USE] Maildrop is locked by another session"
            # still in AUTHORIZATION; AUTH answers the same
            assert second.cmd("STAT") == "-ERR Command is valid only after login"
            r = second.cmd("AUTH PLAIN " + b64(f"\0{mail_user.name}\0{MAIL_PASSWORD}"))
            assert r.startswith("-ERR [IN-USE]"), r
            # an IMAP session is no problem
            imap = mail_user.connect()
            assert imap.select("INBOX").exists == 1
            first.ok("STAT")
            first.ok("QUIT")
            first.read_until_closed()
            # the lock went before QUIT's answer
            second.login(mail_user.name, MAIL_PASSWORD)


def test_maildrop_lock_file_honoured(mail_user):
    """Another process holding the lock file's flock keeps POP3 out."""
    put(mail_user, MSG1)
    path = mail_user.srv.user_dir(mail_user.name) / "pop3.lock"
    with pop(mail_user) as c:
        assert path.exists()
        fd = os.open(path, os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
        c.ok("QUIT")
        c.read_until_closed()
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with Pop3(mail_user.srv.pop3_port) as c:
            c.ok(f"USER {mail_user.name}")
            assert c.cmd(f"PASS {MAIL_PASSWORD}") == \
                "-ERR [IN-USE] Maildrop is locked by another session"
    finally:
        os.close(fd)
    pop(mail_user).close()


def test_deletion_reaches_imap_as_expunge(mail_user):
    put(mail_user, MSG1, MSG2, MSG3)
    imap = mail_user.connect()
    assert imap.select("INBOX").exists == 3
    with pop(mail_user) as c:
        c.ok("DELE 2")
        # nothing happens before QUIT
        r = imap.ok("NOOP")
        assert not any("EXPUNGE" in ln for ln in r.lines), r.lines
        c.ok("QUIT")
        c.read_until_closed()
    r = imap.ok("NOOP")
    assert "* 2 EXPUNGE" in r.lines, r.lines
    assert len(imap.uids()) == 2


def test_message_expunged_by_imap_during_session(mail_user):
    put(mail_user, MSG1, MSG2)
    with pop(mail_user) as c:
        imap = mail_user.connect()
        imap.select("INBOX")
        imap.ok("STORE 1 +FLAGS (\\Deleted)")
        imap.ok("EXPUNGE")
        # numbers stay; the message is gone
        assert c.ok("STAT") == f"+OK 2 {len(MSG1) + len(MSG2)}"
        assert c.cmd("RETR 1") == "-ERR Message no longer exists"
        assert c.cmd("TOP 1 0") == "-ERR Message no longer exists"
        c.ok("DELE 1")
        c.ok("RETR 2")
        assert unstuff(c.body_raw()) == MSG2
        assert c.ok("QUIT").startswith("+OK")


def test_retr_marks_seen_at_quit(mail_user):
    put(mail_user, MSG1, MSG2)
    with pop(mail_user) as c:
        c.ok("RETR 1")
        c.body_raw()
        c.ok("TOP 2 0")
        c.body_raw()
        c.ok("QUIT")
        c.read_until_closed()
    imap = mail_user.connect()
    imap.select("INBOX")
    r = imap.ok("FETCH 1:2 FLAGS")
    flags = {seq: d["FLAGS"] for seq, d in roost.fetches(r)}
    assert "\\Seen" in flags[1] and "\\Seen" not in flags[2], flags


def test_no_quit_deletes_nothing(mail_user):
    put(mail_user, MSG1, MSG2)
    c = pop(mail_user)
    c.ok("DELE 1")
    c.ok("DELE 2")
    c.close()    # no QUIT: no UPDATE state
    mail_user.srv.wait_event("disconnect", user=mail_user.name,
                             reason="client disconnected")
    with pop(mail_user) as c:
        assert c.ok("STAT") == f"+OK 2 {len(MSG1) + len(MSG2)}"


def test_sigkill_before_quit_deletes_nothing(make_server):
    srv = make_server()
    c = srv.connect()
    c.login()
    for m in (MSG1, MSG2, MSG3):
        c.append("INBOX", m)
    c.close()
    p = Pop3(srv.pop3_port)
    p.login("alice", "secret")
    for n in (1, 2, 3):
        p.ok(f"DELE {n}")
    srv.kill9()
    p.close()
    srv.restart()
    with Pop3(srv.pop3_port) as p:
        p.login("alice", "secret")
        assert p.ok("STAT").startswith("+OK 3 ")
        for n in (1, 2, 3):
            p.ok(f"DELE {n}")
        assert p.ok("QUIT") == "+OK roost POP3 server signing off (0 messages left)"
    # acknowledged: gone for good, also after a crash
    srv.kill9()
    srv.restart()
    with Pop3(srv.pop3_port) as p:
        assert p.login("alice", "secret") == \
            "+OK Logged in, maildrop has 0 messages (0 octets)"
    assert roost.message_file_count(srv.user_dir("alice")) == 0


def test_sigterm_with_session_open(make_server):
    srv = make_server()
    c = srv.connect()
    c.login()
    c.append("INBOX", MSG1)
    c.close()
    p = Pop3(srv.pop3_port)
    p.login("alice", "secret")
    p.ok("DELE 1")
    srv.stop()
    assert p.read_until_closed() == ["-ERR Server shutting down"]
    srv.restart()
    with Pop3(srv.pop3_port) as p:
        assert p.login("alice", "secret").startswith(
            "+OK Logged in, maildrop has 1 messages")


# ----------------------------------------------------------------------
# TLS


def test_stls(mail_user):
    put(mail_user, MSG1)
    with Pop3(mail_user.srv.pop3_port) as c:
        assert c.cmd("STLS") == "+OK Begin TLS negotiation now"
        c.sock = mail_user.srv.ssl_context().wrap_socket(
            c.sock, server_hostname="localhost")
        assert "STLS" not in capa(c)
        assert c.cmd("STLS") == "-ERR TLS is already active"
        c.login(mail_user.name, MAIL_PASSWORD)
        c.ok("RETR 1")
        assert unstuff(c.body_raw()) == MSG1
    assert mail_user.srv.wait_event("login", proto="pop3", user=mail_user.name,
                                    tls="yes")


def test_stls_twice_and_poplib(mail_user):
    with Pop3(mail_user.srv.pop3_port) as c:
        c.ok("STLS")
        c.sock = roost.client_context(verify=False).wrap_socket(
            c.sock, server_hostname="localhost")
        assert c.cmd("STLS") == "-ERR TLS is already active"
    p = poplib.POP3("127.0.0.1", mail_user.srv.pop3_port)
    p.stls(mail_user.srv.ssl_context())
    p.user(mail_user.name)
    p.pass_(MAIL_PASSWORD)
    p.quit()


def test_stls_discards_pipelined_plaintext(mail_user):
    """RFC 2595 / the STARTTLS injection attack: what follows STLS in the
    same packet must never be executed inside TLS."""
    with Pop3(mail_user.srv.pop3_port) as c:
        c.send(f"STLS\r\nUSER {mail_user.name}\r\nPASS {MAIL_PASSWORD}\r\n")
        assert c.line() == "+OK Begin TLS negotiation now"
        assert c.buf == b""
        c.sock = roost.client_context(verify=False).wrap_socket(
            c.sock, server_hostname="localhost")
        assert c.cmd("STAT") == "-ERR Command is valid only after login"
        assert c.cmd(f"PASS {MAIL_PASSWORD}") == "-ERR Send USER first"
        c.login(mail_user.name, MAIL_PASSWORD)


def test_stls_clears_user(mail_user):
    with Pop3(mail_user.srv.pop3_port) as c:
        c.ok(f"USER {mail_user.name}")
        c.ok("STLS")
        c.sock = roost.client_context(verify=False).wrap_socket(
            c.sock, server_hostname="localhost")
        assert c.cmd(f"PASS {MAIL_PASSWORD}") == "-ERR Send USER first"


def test_implicit_tls(mail_user):
    put(mail_user, MSG1)
    p = poplib.POP3_SSL("127.0.0.1", mail_user.srv.pop3s_port,
                        context=mail_user.srv.ssl_context())
    assert p.getwelcome().startswith(b"+OK roost POP3 ready")
    p.user(mail_user.name)
    p.pass_(MAIL_PASSWORD)
    resp, lines, octets = p.retr(1)
    assert octets == len(MSG1)
    assert b"\r\n".join(lines) + b"\r\n" == MSG1
    p.quit()


# ----------------------------------------------------------------------
# timeouts


def test_prelogin_timeout(make_server):
    srv = make_server(config={"pop3": {"prelogin_timeout_s": 1}})
    with Pop3(srv.pop3_port) as c:
        assert c.read_until_closed() == ["-ERR Disconnected for inactivity"]
    srv.wait_event("disconnect", reason="idle timeout")


def test_autologout_deletes_nothing(make_server):
    srv = make_server(config={"pop3": {"autologout_s": 1}})
    c = srv.connect()
    c.login()
    c.append("INBOX", MSG1)
    c.close()
    with Pop3(srv.pop3_port) as p:
        p.login("alice", "secret")
        p.ok("DELE 1")
        assert p.read_until_closed() == ["-ERR Disconnected for inactivity"]
    with Pop3(srv.pop3_port) as p:
        assert p.login("alice", "secret").startswith(
            "+OK Logged in, maildrop has 1 messages")


def test_autologout_on_accepting_worker(make_server):
    """With one worker the session never moves; its timer must still go
    from the pre-login timeout (60 s) to the autologout (1 s) at login."""
    srv = make_server(config={"pop3": {"autologout_s": 1},
                              "server": {"workers": 1}})
    with Pop3(srv.pop3_port) as p:
        p.login("alice", "secret")
        assert p.read_until_closed() == ["-ERR Disconnected for inactivity"]


def test_per_address_limit(make_server):
    srv = make_server(config={"pop3": {"max_connections_per_ip": 2}})
    a = Pop3(srv.pop3_port)
    b = Pop3(srv.pop3_port)
    try:
        with socket.create_connection(("127.0.0.1", srv.pop3_port)) as s:
            data = s.recv(1000)
            assert data == (b"-ERR [SYS/TEMP] Too many connections from "
                            b"your address\r\n")
    finally:
        a.close()
        b.close()


def test_slow_reader_big_retr(mail_user):
    """A client that reads nothing while RETR streams: the server stops
    producing instead of buffering; the answer arrives whole later."""
    msg = make_message("big", body=("y" * 998 + "\r\n") * 4000)
    put(mail_user, msg)
    with pop(mail_user) as c:
        c.send("RETR 1\r\nNOOP\r\n")
        time.sleep(0.5)   # let the server fill what the socket holds
        assert c.line() == f"+OK {len(msg)} octets"
        assert unstuff(c.body_raw()) == msg
        assert c.line() == "+OK"


def test_no_password_in_log(make_server):
    srv = make_server(users={"pw": "Sup3rSecretPw"})
    with Pop3(srv.pop3_port) as c:
        c.ok("USER pw")
        c.err("PASS WrongSecretPw")
        c.login("pw", "Sup3rSecretPw")
    text = "\n".join(srv.log)
    assert "Sup3rSecretPw" not in text and "WrongSecretPw" not in text


def test_failed_login_penalty(make_server):
    """Failures are answered after the per-address delay IMAP uses, and
    the two protocols share it."""
    base_ms = 400
    srv = make_server(config={"auth": {"failure_delay_base_ms": base_ms,
                                       "failure_delay_max_ms": 5000}})
    with Pop3(srv.pop3_port) as c:
        c.ok("USER alice")
        c.err("PASS wrong1", "AUTH")
        c.ok("USER alice")
        t0 = time.monotonic()
        c.err("PASS wrong2", "AUTH")
        # a lower bound only: the delay is there
        assert time.monotonic() - t0 >= base_ms / 1000 * 0.9
    assert len(srv.wait_event("login_failed", count=2, proto="pop3",
                              user="alice")) == 2
    with srv.connect() as imap:
        t0 = time.monotonic()
        assert imap.cmd("LOGIN alice wrong3").status == "NO"
        assert time.monotonic() - t0 >= base_ms / 1000 * 0.9
    with Pop3(srv.pop3_port) as c:
        c.login("alice", "secret")


def test_sighup_reloads_pop3_settings(make_server):
    srv = make_server()
    with Pop3(srv.pop3_port) as before:
        assert not any(x.startswith("LOGIN-DELAY") for x in capa(before))
        srv.config["pop3"]["login_delay_s"] = 60
        srv.write_config()
        n = len(srv.events("reload"))
        srv.send_signal(__import__("signal").SIGHUP)
        srv.wait_event("reload", count=n + 1)
        with Pop3(srv.pop3_port) as c:
            assert "LOGIN-DELAY 60" in capa(c)
        # a session keeps the settings it started with
        assert not any(x.startswith("LOGIN-DELAY") for x in capa(before))
        before.login("alice", "secret")
