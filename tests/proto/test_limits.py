"""Parser limits, literals, byte-split input, timeouts, connection cap."""

import socket
import threading
import time

import pytest

from roost import Client, ConnectionClosed, b64

LINE = 4096
LITERAL = 4096


@pytest.fixture
def limited(make_server):
    # after login a literal may be as large as a message APPEND takes
    return make_server(config={"imap": {"max_line_bytes": LINE,
                                        "max_literal_bytes": LITERAL},
                               "store": {"max_message_size": LITERAL}})


def assert_usable(c, login=False):
    r = c.cmd("NOOP")
    assert r.status == "OK" and len(r.lines) == 1, r.lines
    if login:
        c.login()


# ----------------------------------------------------------------------
# line length

def test_line_too_long_continues(limited):
    with limited.connect() as c:
        r = c.cmd("NOOP " + "x" * (LINE + 100))
        assert r.status == "BAD", r.lines
        assert_usable(c, login=True)
        r = c.cmd("NOOP " + "y" * (LINE * 3))   # after login too
        assert r.status == "BAD", r.lines
        assert_usable(c)


def test_line_within_limit_is_parsed(limited):
    with limited.connect() as c:
        # a long but acceptable line is parsed (and rejected by NOOP's syntax)
        r = c.cmd("FROB " + "x" * (LINE // 2))
        assert r.status == "BAD", r.lines
        r = c.cmd('LOGIN "alice" "%s"' % ("p" * 200))
        assert r.status == "NO", r.lines
        assert_usable(c, login=True)


def test_huge_line_without_newline(server):
    """200 KB without LF under the default 64 KiB limit: BAD, then the
    rest of the line is discarded and the next command works."""
    with server.connect() as c:
        c.send("a FROB ")
        chunk = b"z" * 65536
        for _ in range(3):
            c.send(chunk)
        c.send("\r\n")
        r = c.read_response("a")
        assert r.status == "BAD", r.lines
        assert_usable(c, login=True)


def test_long_line_without_tag(limited):
    with limited.connect() as c:
        c.send("x" * (LINE * 2) + "\r\n")
        ln = c.readline()
        assert " BAD" in ln, ln[:80]
        assert_usable(c)


# ----------------------------------------------------------------------
# literals

def test_sync_literal_gets_continuation(limited):
    with limited.connect() as c:
        c.send("a LOGIN {5}\r\n")
        r = c.read_response("a")
        assert r.continuation is not None, r.lines
        c.send("alice {6}\r\n")
        r = c.read_response("a")
        assert r.continuation is not None, r.lines
        c.send("secret\r\n")
        r = c.read_response("a")
        assert r.status == "OK", r.lines


def test_literal_plus_no_continuation(limited):
    with limited.connect() as c:
        c.send("a LOGIN {5+}\r\nalice {6+}\r\nsecret\r\n")
        r = c.read_response("a")
        assert r.continuation is None, f"continuation for LITERAL+: {r.lines}"
        assert r.status == "OK", r.lines
        assert not any(ln.startswith("+") for ln in r.lines)


def test_literal_with_crlf_and_zero_length(limited):
    with limited.connect() as c:
        r = c.cmd("LOGIN alice {0+}\r\n")
        assert r.status in ("NO", "BAD"), r.lines
        r = c.cmd("LOGIN {7+}\r\nal\r\nice secret")
        assert r.status == "NO", r.lines
        r = c.cmd('LOGIN {5+}\r\nalice "secret"')
        assert r.status == "OK", r.lines


@pytest.mark.parametrize("login", [False, True], ids=["prelogin", "authed"])
def test_sync_literal_too_large(limited, login):
    """max_literal_bytes is honoured in every state (the server may use a
    stricter limit before login, never a looser one)."""
    with limited.connect() as c:
        if login:
            c.login()
        c.send("a FROB {%d}\r\n" % (LITERAL + 1))
        r = c.read_response("a")
        assert r.continuation is None, f"server invited an oversized literal: {r.lines}"
        assert r.status == "BAD", r.lines
        assert_usable(c)
        # second literal of a command too large
        c.send("b LOGIN {5}\r\n")
        assert c.read_response("b").continuation
        c.send("alice {99999999}\r\n")
        r = c.read_response("b")
        assert r.continuation is None and r.status == "BAD", r.lines
        assert_usable(c, login=not login)


def test_sync_literal_at_limit_accepted(limited):
    with limited.connect() as c:
        c.login()
        c.send("a FROB {%d}\r\n" % LITERAL)
        r = c.read_response("a")
        assert r.continuation is not None, r.lines
        c.send(b"q" * LITERAL + b"\r\n")
        r = c.read_response("a")
        assert r.status == "BAD", r.lines     # unknown command, parsed whole
        assert_usable(c)


def test_prelogin_literal_limit_default(server):
    """Before login a literal larger than the (default 64 KiB) limit is
    refused; a small one is invited."""
    with server.connect() as c:
        c.send("a LOGIN {65537}\r\n")
        r = c.read_response("a")
        assert r.continuation is None and r.status == "BAD", r.lines
        c.send("b LOGIN {5}\r\n")
        assert c.read_response("b").continuation
        c.send("alice secret\r\n")
        assert c.read_response("b").status == "OK"


def test_huge_literal_size_number(limited):
    with limited.connect() as c:
        c.send("a LOGIN {184467440737095516160}\r\n")
        r = c.read_response("a")
        assert r.continuation is None and r.status == "BAD", r.lines
        assert_usable(c)


@pytest.mark.parametrize("login", [False, True], ids=["prelogin", "authed"])
def test_literal_plus_too_large_bye(limited, login):
    with limited.connect() as c:
        if login:
            c.login()
        c.send("a FROB {%d+}\r\n" % (LITERAL + 1))
        lines = c.read_until_closed()
        assert any(ln.startswith("* BYE") for ln in lines), lines
        assert not any(ln.startswith("+") for ln in lines), lines
    with limited.connect() as c:
        assert_usable(c, login=True)


def test_nesting_too_deep(server):
    with server.connect() as c:
        depth = 30000           # 60 KB, under the default 64 KiB line limit
        r = c.cmd("ID " + "(" * depth + ")" * depth)
        assert r.status == "BAD", r.lines
        assert_usable(c)
        r = c.cmd("FROB " + "(" * depth)        # unbalanced
        assert r.status == "BAD", r.lines
        assert_usable(c, login=True)
        r = c.cmd("STATUS INBOX " + "(" * 1000 + "MESSAGES" + ")" * 1000)
        assert r.status == "BAD", r.lines
        assert_usable(c)


def test_too_many_args(server):
    with server.connect() as c:
        r = c.cmd("ID (" + '"k" "v" ' * 5000 + ")")
        assert r.status == "BAD", r.lines
        assert_usable(c)
        r = c.cmd("FROB " + "x " * 30000)
        assert r.status == "BAD", r.lines
        assert_usable(c)
        r = c.cmd("FROB " + "() " * 20000)
        assert r.status == "BAD", r.lines
        assert_usable(c, login=True)


def test_many_small_literals(server):
    """Many LITERAL+ arguments in one command must not exhaust anything."""
    with server.connect() as c:
        r = c.cmd("FROB " + "{1+}\r\nx " * 5000)
        assert r.status == "BAD", r.lines
        assert_usable(c, login=True)


def test_disconnect_mid_literal(server):
    mark = server.mark()
    a = server.connect()
    a.send("a LOGIN {100+}\r\nabc")
    a.close()
    b = server.connect()
    b.send("a LOGIN {100}\r\n")
    assert b.read_response("a").continuation
    b.send("0123456789")
    b.close()
    c = server.connect()
    c.send("a LOGIN alice {50+}\r\nhalf")
    c.sock.shutdown(socket.SHUT_WR)     # half-close mid-literal
    lines = c.read_until_closed()
    assert not any(ln.startswith("a OK") for ln in lines), lines
    c.close()
    with server.connect() as d:
        assert_usable(d, login=True)
    server.wait_event("disconnect", count=4, since=mark)


def test_disconnect_mid_line_and_mid_handshake(server):
    a = server.connect()
    a.send("a LOG")
    a.close()
    b = server.connect()
    b.ok("STARTTLS")
    b.send(b"\x16\x03\x01")      # start of a ClientHello, then gone
    b.close()
    c = Client(server.imaps_port, read_greeting=False)
    c.send(b"\x16\x03\x01\x02")
    c.close()
    with server.connect() as d:
        assert_usable(d, login=True)
    with server.connect_tls() as e:
        assert_usable(e, login=True)


def test_flood_of_bad_commands_bye(server):
    with server.connect() as c:
        c.send("".join(f"x{i} FROB\r\n" for i in range(60)))
        lines = c.read_until_closed()
        bads = [ln for ln in lines if " BAD" in ln]
        assert any(ln.startswith("* BYE") for ln in lines), lines
        assert 1 <= len(bads) < 60, lines
    with server.connect() as c:
        assert_usable(c, login=True)


def test_bad_commands_interleaved_with_good_ones_not_closed(server):
    with server.connect() as c:
        for rnd in range(12):
            for i in range(4):
                assert c.cmd("FROB").status == "BAD"
            assert_usable(c)
        c.login()


# ----------------------------------------------------------------------
# byte-split input: every split parses the same as the whole

def run_conversation(port, steps, byte_pause=None, split_at=None):
    """steps: list of bytes to send; b"+" entries mean: wait for a
    continuation request. Returns everything the server sent until it
    closed the connection."""
    c = Client(port, read_greeting=False)
    try:
        c.readline()    # greeting arrives before we send
        flat = b"".join(s for s in steps if s != b"+")
        if split_at is not None:
            assert b"+" not in steps
            c.send(flat[:split_at])
            time.sleep(0.003)
            c.send(flat[split_at:])
        else:
            for s in steps:
                if s == b"+":
                    while True:
                        ln = c.readline()
                        if ln.startswith("+"):
                            break
                    continue
                if byte_pause is None:
                    c.send(s)
                else:
                    for i in range(len(s)):
                        c.send(s[i:i + 1])
                        time.sleep(byte_pause)
        c.read_until_closed(timeout=15)
        return b"".join(d for who, d in c.transcript if who == "S")
    finally:
        c.close()


CONVERSATIONS = {
    "literal-plus": [b"a LOGIN {5+}\r\nalice {6+}\r\nsecret\r\nb NOOP\r\n"
                     b"c CAPABILITY\r\nd LOGOUT\r\n"],
    "sync-literals": [b"a LOGIN {5}\r\n", b"+", b"alice {6}\r\n", b"+",
                      b"secret\r\nb NOOP\r\nc LOGOUT\r\n"],
    "authenticate": [b"a AUTHENTICATE PLAIN\r\n", b"+",
                     b64("\0bob\0hunter2").encode() + b"\r\n",
                     b"b ID (\"name\" \"x\")\r\nc LOGOUT\r\n"],
    "errors": [b'a FROB "unterminated\r\nb NOOP\r\nc LOGIN {3+}\r\nabc def\r\n'
               b"d LOGIN alice (x)\r\n\r\ne NOOP\r\nf LOGOUT\r\n"],
}


@pytest.mark.parametrize("name", list(CONVERSATIONS))
def test_byte_at_a_time(server, name):
    steps = CONVERSATIONS[name]
    whole = run_conversation(server.imap_port, steps)
    assert b"BYE" in whole and whole.count(b"\r\n") >= 4, whole
    split = run_conversation(server.imap_port, steps, byte_pause=0.001)
    assert split == whole


def test_every_two_way_split(server):
    data = b"a NOOP\r\nb LOGIN {5+}\r\nalice secret\r\nc CAPABILITY\r\nd LOGOUT\r\n"
    whole = run_conversation(server.imap_port, [data])
    assert b"b OK" in whole and b"d OK" in whole, whole
    for i in range(1, len(data)):
        got = run_conversation(server.imap_port, [data], split_at=i)
        assert got == whole, f"split at {i}: {data[:i]!r} | {data[i:]!r}"


# ----------------------------------------------------------------------
# timeouts

def test_prelogin_timeout(make_server):
    srv = make_server(config={"imap": {"prelogin_timeout_s": 2}})
    plain = srv.connect()
    tls = srv.connect_tls()
    raw_tls = Client(srv.imaps_port, read_greeting=False)     # no handshake
    starttls = srv.connect()
    starttls.ok("STARTTLS")                                  # no handshake
    sasl = srv.connect()                 # stuck in an AUTHENTICATE exchange
    sasl.send("a AUTHENTICATE PLAIN\r\n")
    assert sasl.read_response("a").continuation
    literal = srv.connect()              # stuck in a literal
    literal.send("a LOGIN {10}\r\n")
    assert literal.read_response("a").continuation
    literal.send("alic")
    partial = srv.connect()              # stuck in a line
    partial.send("a LOG")
    conns = (plain, tls, raw_tls, starttls, sasl, literal, partial)
    try:
        for c in (plain, tls):
            lines = c.read_until_closed(timeout=15)
            assert lines and lines[0].startswith("* BYE"), lines
        for c in (raw_tls, starttls, sasl, literal, partial):
            lines = c.read_until_closed(timeout=15)
            assert not any(" OK" in ln for ln in lines), lines
    finally:
        for c in conns:
            c.close()
    with srv.connect() as c:
        c.login()


def test_autologout(make_server):
    srv = make_server(config={"imap": {"prelogin_timeout_s": 1,
                                       "autologout_s": 3}})
    idle = srv.connect()
    busy = srv.connect()
    try:
        idle.login()
        t0 = time.monotonic()
        busy.login()
        closed_at = []

        def wait_idle():
            lines = idle.read_until_closed(timeout=20)
            closed_at.append((time.monotonic(), lines))

        th = threading.Thread(target=wait_idle)
        th.start()
        # activity keeps a session alive past both timeouts
        end = time.monotonic() + 4.5
        while time.monotonic() < end:
            assert_usable(busy)
            time.sleep(0.4)
        th.join(25)
        assert closed_at, "idle session not logged out"
        when, lines = closed_at[0]
        assert lines and lines[0].startswith("* BYE"), lines
        # it was autologout (3 s), not the pre-login timeout (1 s)
        assert when - t0 >= 2.0, when - t0
        assert_usable(busy)
    finally:
        idle.close()
        busy.close()


# ----------------------------------------------------------------------
# per-IP connection cap

def test_max_connections_per_ip(make_server):
    srv = make_server(config={"imap": {"max_connections_per_ip": 3}})
    conns = [srv.connect() for _ in range(2)] + [srv.connect_tls()]
    try:
        for c in conns:
            assert c.greeting.startswith("* OK"), c.greeting
        extra = Client(srv.imap_port, read_greeting=False)
        lines = extra.read_until_closed()
        assert lines and lines[0].startswith("* BYE"), lines
        extra.close()
        try:
            extra = Client(srv.imaps_port, ctx=srv.ssl_context(), tls=True,
                           read_greeting=False)
        except (OSError, ConnectionClosed):
            pass    # closed before or during the handshake: fine
        else:
            lines = extra.read_until_closed()
            assert not lines or lines[0].startswith("* BYE"), lines
            extra.close()
        for c in conns:
            assert_usable(c)
        conns.pop(0).close()
        # a slot frees up once the server has seen the close
        deadline = time.monotonic() + 10
        while True:
            c = Client(srv.imap_port)
            if c.greeting.startswith("* OK"):
                conns.append(c)
                break
            c.close()
            assert time.monotonic() < deadline, "slot never freed"
            time.sleep(0.2)
        assert_usable(conns[-1], login=True)
    finally:
        for c in conns:
            c.close()


def test_max_bad_commands_config(make_server):
    srv = make_server(config={"imap": {"max_bad_commands": 5}})
    with srv.connect() as c:
        c.send("".join(f"x{i} FROB\r\n" for i in range(10)))
        lines = c.read_until_closed()
        bads = [ln for ln in lines if ln.startswith("x") and " BAD" in ln]
        assert len(bads) == 5, lines
        assert lines[-1].startswith("* BYE"), lines
    with srv.connect() as c:
        # a good command resets the count
        for _ in range(3):
            for _ in range(4):
                assert c.cmd("FROB").status == "BAD"
            assert_usable(c)
        c.login()


def test_connection_cap_is_per_address(make_server):
    srv = make_server(config={"imap": {"max_connections_per_ip": 1}})
    a = srv.connect()
    try:
        b = srv.connect(source="127.0.0.2")
    except OSError as e:
        a.close()
        raise AssertionError(f"cannot bind 127.0.0.2 on this host: {e}")
    try:
        assert a.greeting.startswith("* OK") and b.greeting.startswith("* OK")
        assert_usable(a, login=True)
        assert_usable(b, login=True)
        c = Client(srv.imap_port, read_greeting=False, source="127.0.0.2")
        lines = c.read_until_closed()
        c.close()
        assert lines and lines[0].startswith("* BYE"), lines
        ev = srv.wait_event("login", remote=f"127.0.0.2:{b.local_port}")
        assert ev[0]["user"] == "alice"
    finally:
        a.close()
        b.close()


def test_global_max_connections(make_server):
    srv = make_server(config={"imap": {"max_connections": 2}})
    a, b = srv.connect(), srv.connect_tls()
    try:
        c = Client(srv.imap_port, read_greeting=False)
        try:
            lines = c.read_until_closed()
        except ConnectionClosed:
            lines = []
        c.close()
        assert not any(ln.startswith("* OK") for ln in lines), lines
        assert_usable(a, login=True)
        assert_usable(b, login=True)
    finally:
        a.close()
        b.close()



def test_connection_slots_released_on_every_kind_of_close(make_server):
    """Abnormal closes must give the per-address slot back: after many of
    them, max_connections_per_ip clients can still connect."""
    srv = make_server(config={"imap": {"max_connections_per_ip": 3,
                                       "max_bad_commands": 3}})

    def connect(tls=False):
        """Connect once a slot is free (the server notices closes
        asynchronously)."""
        deadline = time.monotonic() + 10
        while True:
            c = srv.connect_tls() if tls else srv.connect()
            if c.greeting.startswith("* OK"):
                return c
            c.close()
            assert time.monotonic() < deadline, "no slot became free"
            time.sleep(0.1)

    for _ in range(2):
        # LOGOUT
        with connect() as c:
            c.send("a LOGOUT\r\n")
            c.read_until_closed()
        # client reset while logged in
        c = connect()
        c.login()
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                          b"\x01\x00\x00\x00\x00\x00\x00\x00")
        c.close()
        # failed TLS handshake on both ports
        connect().close()       # wait for a free slot
        c = Client(srv.imaps_port, read_greeting=False)
        c.send("a NOOP\r\n")
        c.read_until_closed()
        c.close()
        c = connect()
        c.ok("STARTTLS")
        c.send("not tls\r\n")
        c.read_until_closed()
        c.close()
        # too many bad commands
        with connect() as c:
            c.send("x FROB\r\n" * 5)
            c.read_until_closed()
        # oversized LITERAL+
        with connect() as c:
            c.send("a LOGIN {999999999+}\r\n")
            c.read_until_closed()
        # mid-literal hang-up and a pending failed login
        c = connect()
        c.send("a LOGIN {100+}\r\nabc")
        c.close()
        c = connect()
        c.send("a LOGIN alice wrong\r\n")
        c.close()
        # rejected for being over the cap
        held = [connect(), connect(tls=True), connect()]
        over = Client(srv.imap_port, read_greeting=False)   # 4th
        assert over.read_until_closed()[0].startswith("* BYE")
        over.close()
        for c in held:
            c.close()
    deadline = time.monotonic() + 10
    while True:
        conns = [Client(srv.imap_port) for _ in range(3)]
        ok = all(c.greeting.startswith("* OK") for c in conns)
        if ok:
            break
        for c in conns:
            c.close()
        assert time.monotonic() < deadline, \
            f"slots leaked: {[c.greeting for c in conns]}\n{srv.log_text()}"
        time.sleep(0.3)
    try:
        for c in conns:
            assert_usable(c, login=True)
    finally:
        for c in conns:
            c.close()
