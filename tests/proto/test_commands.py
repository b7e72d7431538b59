"""Basic IMAP commands over a real socket: greeting, CAPABILITY in each
state, NOOP, LOGOUT, ID, ENABLE, LOGIN, state errors, pipelining."""

import re

import pytest

from roost import caps_of, b64

PRELOGIN_CAPS = {"IMAP4REV1", "LITERAL+", "SASL-IR", "ID", "ENABLE",
                 "STARTTLS", "AUTH=PLAIN", "AUTH=LOGIN", "AUTH=SCRAM-SHA-256"}


def assert_postlogin_caps(caps):
    assert "IMAP4REV1" in caps, caps
    for forbidden in ("STARTTLS", "LOGINDISABLED", "SASL-IR"):
        assert forbidden not in caps, caps
    assert not any(c.startswith("AUTH=") for c in caps), caps


def test_greeting(server):
    with server.connect() as c:
        assert re.match(r"^\* OK \[CAPABILITY [^\]]+\] ", c.greeting), c.greeting
        assert c.greeting.endswith("roost ready."), c.greeting
        caps = caps_of(c.greeting)
        assert PRELOGIN_CAPS <= caps, caps
        assert "LOGINDISABLED" not in caps


def test_capability_before_login(server):
    with server.connect() as c:
        r = c.cmd("CAPABILITY")
        assert r.status == "OK", r.lines
        cap_lines = [ln for ln in r.untagged if ln.upper().startswith("* CAPABILITY ")]
        assert len(cap_lines) == 1, r.lines
        caps = caps_of(cap_lines[0])
        assert PRELOGIN_CAPS <= caps, caps
        assert "LOGINDISABLED" not in caps
        # the greeting advertises the same state
        assert caps == caps_of(c.greeting)


def test_capability_after_login(server):
    with server.connect() as c:
        r = c.login()
        ok_caps = caps_of(r.tagged)
        assert ok_caps is not None, f"LOGIN OK lacks [CAPABILITY]: {r.tagged}"
        assert_postlogin_caps(ok_caps)
        r = c.ok("CAPABILITY")
        caps = r.caps()
        assert_postlogin_caps(caps)
        assert {"LITERAL+", "ID", "ENABLE"} <= caps, caps
        assert caps == ok_caps


def test_capability_after_starttls(server):
    with server.connect() as c:
        c.starttls(server.ssl_context())
        caps = c.ok("CAPABILITY").caps()
        assert "STARTTLS" not in caps and "LOGINDISABLED" not in caps, caps
        assert {"IMAP4REV1", "AUTH=PLAIN", "AUTH=LOGIN",
                "AUTH=SCRAM-SHA-256", "SASL-IR"} <= caps, caps
        r = c.login()
        assert_postlogin_caps(caps_of(r.tagged))


def test_capability_implicit_tls(server):
    with server.connect_tls() as c:
        caps = caps_of(c.greeting)
        assert caps is not None, c.greeting
        assert "STARTTLS" not in caps and "LOGINDISABLED" not in caps, caps
        assert {"IMAP4REV1", "AUTH=PLAIN", "AUTH=SCRAM-SHA-256"} <= caps, caps
        assert c.ok("CAPABILITY").caps() == caps


def test_noop_every_state(server):
    with server.connect() as c:
        c.ok("NOOP")                      # not authenticated, plaintext
        c.starttls(server.ssl_context())
        c.ok("NOOP")                      # not authenticated, TLS
        c.login()
        c.ok("NOOP")                      # authenticated
        c.ok("noop")                      # case-insensitive command name
    with server.connect_tls() as c:
        c.ok("NOOP")
        c.login()
        c.ok("NOOP")


@pytest.mark.parametrize("login", [False, True])
def test_logout(server, login):
    with server.connect() as c:
        if login:
            c.login()
        c.send("z LOGOUT\r\n")
        lines = c.read_until_closed()
        assert lines, "no answer to LOGOUT"
        assert lines[0].startswith("* BYE"), lines
        assert len(lines) == 2 and re.match(r"^z OK\b", lines[1]), lines
        assert "LOGOUT" in lines[1].upper()


def test_id(server):
    with server.connect() as c:
        r = c.ok("ID NIL")
        ids = [ln for ln in r.untagged if ln.upper().startswith("* ID ")]
        assert len(ids) == 1, r.lines
        assert re.match(r'^\* ID \(.*"name" "roost".*\)$', ids[0], re.I), ids
        assert re.search(r'"version" "[^"]+"', ids[0], re.I), ids
        r = c.ok('ID ("name" "pytest" "version" "1.0")')
        assert any(ln.upper().startswith("* ID (") for ln in r.untagged), r.lines
        c.login()
        r = c.ok('ID ("name" "pytest")')
        assert any(ln.upper().startswith("* ID (") for ln in r.untagged), r.lines


def test_id_bad_syntax(server):
    with server.connect() as c:
        assert c.cmd("ID").status == "BAD"
        assert c.cmd('ID ("name")').status == "BAD"
        c.ok("NOOP")


def test_enable_before_auth(server):
    with server.connect() as c:
        r = c.cmd("ENABLE CONDSTORE")
        assert r.status == "BAD", r.lines
        assert not any(ln.upper().startswith("* ENABLED") for ln in r.lines)
        c.ok("NOOP")


def test_enable_after_auth(server):
    with server.connect() as c:
        c.login()
        r = c.ok("ENABLE CONDSTORE")
        en = [ln for ln in r.untagged if re.match(r"^\* ENABLED\b", ln, re.I)]
        assert len(en) == 1, r.lines
        r = c.ok("ENABLE X-NO-SUCH-EXTENSION")
        en = [ln for ln in r.untagged if re.match(r"^\* ENABLED\b", ln, re.I)]
        assert len(en) == 1, r.lines
        assert "X-NO-SUCH-EXTENSION" not in en[0].upper()
        assert c.cmd("ENABLE").status == "BAD"


def test_login_ok(server):
    with server.connect() as c:
        r = c.cmd("LOGIN alice secret")
        assert r.status == "OK", r.lines
        assert r.code == "CAPABILITY", r.tagged
    with server.connect() as c:
        c.ok('LoGiN "bob" "hunter2"')
    with server.connect() as c:
        c.send("a LOGIN {5}\r\n")
        r = c.read_response("a")
        assert r.continuation, r.lines
        c.send("alice {6+}\r\nsecret\r\n")
        r = c.read_response("a")
        assert r.status == "OK", r.lines


@pytest.mark.parametrize("user,password", [
    ("alice", "wrong"),
    ("nosuchuser", "secret"),
    ("alice", "Secret"),     # passwords are case-sensitive
    ("Alice", "secret"),     # user names are case-sensitive (passwd-file)
    ("alice", "secre"),      # prefix of the right password
    ("alice", "secret2"),
])
def test_login_failed(server, user, password):
    with server.connect() as c:
        r = c.cmd(f'LOGIN "{user}" "{password}"')
        assert r.status == "NO", r.lines
        assert r.code == "AUTHENTICATIONFAILED", r.tagged
        assert r.text == "[AUTHENTICATIONFAILED] Authentication failed.", r.tagged
        # still not authenticated and still usable
        assert c.cmd("ENABLE CONDSTORE").status == "BAD"
        c.login()


def test_login_failure_texts_identical(server):
    """Wrong password and unknown user are indistinguishable."""
    with server.connect() as c:
        a = c.cmd("LOGIN alice wrong")
        b = c.cmd("LOGIN nobody wrong")
        assert a.status == b.status == "NO"
        assert a.text == b.text


def test_login_syntax(server):
    with server.connect() as c:
        assert c.cmd("LOGIN").status == "BAD"
        assert c.cmd("LOGIN alice").status == "BAD"
        assert c.cmd("LOGIN alice secret extra").status == "BAD"
        assert c.cmd("LOGIN (alice) secret").status == "BAD"
        # regression: a literal8 is not an astring (RFC 3516), it logged in
        c.send("k LOGIN ~{5+}\r\nalice secret\r\n")
        assert c.read_response("k").status == "BAD"
        c.login()


def test_pipelined_before_and_after_login(server):
    with server.connect() as c:
        cmds = [
            ("p01", "NOOP"),
            ("p02", "CAPABILITY"),
            ("p03", "FROBNICATE"),
            ("p04", "ID NIL"),
            ("p05", "ENABLE CONDSTORE"),       # BAD: not authenticated
            ("p06", "LOGIN alice secret"),
            ("p07", "CAPABILITY"),
            ("p08", "ENABLE CONDSTORE"),       # OK now
            ("p09", "SELECT INBOX"),           # a store job right after the move
            ("p10", "NOOP"),
        ]
        c.send("".join(f"{t} {x}\r\n" for t, x in cmds))
        got = []
        while sum(t != "caps" for t, _ in got) < len(cmds):
            ln = c.readline()
            m = re.match(r"^(p\d\d) ", ln)
            if m:
                got.append((m.group(1), ln))
            elif ln.startswith("* CAPABILITY"):
                got.append(("caps", ln))
        tags = [t for t, _ in got if t != "caps"]
        assert tags == [t for t, _ in cmds], got
        status = {t: ln.split()[1] for t, ln in got if t != "caps"}
        assert status == {"p01": "OK", "p02": "OK", "p03": "BAD", "p04": "OK",
                          "p05": "BAD", "p06": "OK", "p07": "OK", "p08": "OK",
                          "p09": "OK", "p10": "OK"}, got
        caps = [caps_of(ln) for t, ln in got if t == "caps"]
        order = [t for t, _ in got]
        assert order.index("caps") < order.index("p02"), order
        assert len(caps) == 2, got
        assert "AUTH=PLAIN" in caps[0] and "STARTTLS" in caps[0]
        assert_postlogin_caps(caps[1])


def test_pipelined_ten_noops(server):
    with server.connect() as c:
        c.send("".join(f"n{i} NOOP\r\n" for i in range(10)))
        for i in range(10):
            r = c.read_response(f"n{i}")
            assert r.status == "OK", r.lines
            assert not any(re.match(r"^n\d ", ln) for ln in r.lines[:-1]), r.lines


def test_pipelined_with_delayed_login_failure(server):
    """A failed LOGIN is answered after a delay; commands pipelined behind
    it must wait for it and be answered in order."""
    with server.connect() as c:
        c.send("q1 LOGIN alice wrong\r\nq2 NOOP\r\nq3 ENABLE CONDSTORE\r\n"
               "q4 LOGIN alice secret\r\nq5 ENABLE CONDSTORE\r\nq6 NOOP\r\n")
        tagged = []
        while len(tagged) < 6:
            ln = c.readline()
            if re.match(r"^q\d ", ln):
                tagged.append(ln.split(" ", 2)[:2])
        assert tagged == [["q1", "NO"], ["q2", "OK"], ["q3", "BAD"],
                          ["q4", "OK"], ["q5", "OK"], ["q6", "OK"]], tagged


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_output_backpressure_keeps_order(server, tls):
    """A client that writes many commands before reading anything: the
    server must neither drop answers nor reorder them (it has to stop
    reading while its output is full; over TLS it must retry partial
    writes correctly)."""
    import threading
    # plaintext: ~6000 * 190 bytes of output > 1 MiB, written from a thread
    # so that the server has to stop reading. TLS: an SSL socket must not
    # be written and read from two threads, so send 3000 commands (the
    # input fits the socket buffers) and read only after a pause: the
    # server's output still overflows the socket buffers.
    n = 3000 if tls else 6000
    conn = server.connect_tls if tls else server.connect
    with conn(timeout=60) as c:
        payload = "".join(f"k{i} CAPABILITY\r\n" for i in range(n)).encode()
        err = []

        def writer():
            try:
                c.sock.sendall(payload)
            except OSError as e:
                err.append(e)

        th = threading.Thread(target=writer)
        if tls:
            writer()
        else:
            th.start()
        import time
        time.sleep(1.0)          # let the server fill its output
        seen = 0
        caps = 0
        while seen < n:
            ln = c.readline()
            if ln.startswith("* CAPABILITY"):
                caps += 1
            elif ln.startswith("k"):
                assert ln == f"k{seen} OK CAPABILITY completed" or \
                    ln.startswith(f"k{seen} OK"), ln
                seen += 1
            else:
                raise AssertionError(f"unexpected line {ln!r}")
        if not tls:
            th.join(30)
        assert not err, err
        assert caps == n
        assert_ok = c.cmd("NOOP")
        assert assert_ok.status == "OK"


@pytest.mark.parametrize("command", ["CAPABILITY x", "NOOP x", "LOGOUT x",
                                     "STARTTLS x", "NAMESPACE x"])
def test_commands_without_arguments_reject_arguments(server, command):
    with server.connect() as c:
        r = c.cmd(command)
        assert r.status == "BAD", r.lines
        c.ok("NOOP")


def test_logout_ignores_pipelined_commands(server):
    with server.connect() as c:
        c.send("a LOGOUT\r\nb NOOP\r\nc LOGIN alice secret\r\n")
        lines = c.read_until_closed()
        assert lines[0].startswith("* BYE") and lines[1].startswith("a OK"), lines
        assert len(lines) == 2, lines


def test_tags_echoed_exactly(server):
    with server.connect() as c:
        for tag in ("A001", "x.y-z_1", "T" * 300, "tag!#$&'", "0"):
            r = c.cmd("NOOP", tag=tag)
            assert r.tagged.startswith(tag + " OK"), r.lines


@pytest.mark.parametrize("raw", [b"a NO\xffOP\r\n", b"a NO\x00OP\r\n",
                                 b"a\r\n", b"a  NOOP\r\n", b"a NOOP \r\n",
                                 b"a \x1b[31mNOOP\r\n"])
def test_malformed_command_lines(server, raw):
    with server.connect() as c:
        c.send(raw)
        ln = c.readline()
        assert ln.startswith(("a BAD", "* BAD")), ln
        r = c.ok("NOOP")
        assert len(r.lines) == 1, r.lines
