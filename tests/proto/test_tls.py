"""STARTTLS, implicit TLS, STARTTLS command injection, real TLS clients."""

import imaplib
import shutil
import signal
import ssl

import pytest

from roost import Client, ConnectionClosed, caps_of, client_context, make_cert


def der(cert_path):
    return ssl.PEM_cert_to_DER_cert(open(cert_path).read())


def test_starttls_then_login(server):
    with server.connect() as c:
        r = c.cmd("STARTTLS")
        assert r.status == "OK", r.lines
        assert r.text.startswith("Begin TLS negotiation now"), r.tagged
        assert c.buf == b""
        c.sock = server.ssl_context().wrap_socket(c.sock, server_hostname="localhost")
        assert c.sock.getpeercert(binary_form=True) == der(server.cert)
        c.login()
        c.ok("NOOP")
        c.send("z LOGOUT\r\n")
        lines = c.read_until_closed()
        assert lines[0].startswith("* BYE") and lines[-1].startswith("z OK"), lines


@pytest.mark.parametrize("injected,check", [
    ("b CAPABILITY\r\n", "CAPABILITY"),
    ("b LOGIN alice secret\r\n", "LOGIN"),
    ("b NOOP\r\nb2 NOOP\r\n", "NOOP"),
])
def test_starttls_command_injection(server, injected, check):
    with server.connect() as c:
        c.send("a STARTTLS\r\n" + injected)        # one write
        r = c.read_response("a")
        assert r.status == "OK", r.lines
        assert len(r.lines) == 1, r.lines
        # no plaintext answer to the injected command may have been sent
        assert c.buf == b"", c.buf
        # the handshake must not see the injected bytes either
        c.sock = server.ssl_context().wrap_socket(c.sock, server_hostname="localhost")
        c.send("c NOOP\r\n")
        r = c.read_response("c")
        assert r.status == "OK", r.lines
        assert r.lines == [r.tagged], f"unexpected answers before c: {r.lines}"
        assert not any(ln.startswith(("b ", "b2 ")) for ln in r.lines)
        # the injected LOGIN did not authenticate the session
        r = c.cmd("ENABLE CONDSTORE")
        assert r.status == "BAD", r.lines
        caps = c.ok("CAPABILITY").caps()
        assert "AUTH=PLAIN" in caps, caps
        c.login()


def test_starttls_twice_is_bad(server):
    with server.connect() as c:
        c.starttls(server.ssl_context())
        r = c.cmd("STARTTLS")
        assert r.status == "BAD", r.lines
        c.ok("NOOP")
        c.login()


def test_starttls_on_implicit_tls_is_bad(server):
    with server.connect_tls() as c:
        r = c.cmd("STARTTLS")
        assert r.status == "BAD", r.lines
        c.login()


def test_starttls_with_arguments_is_bad(server):
    with server.connect() as c:
        r = c.cmd("STARTTLS now")
        assert r.status == "BAD", r.lines
        c.ok("NOOP")     # still plaintext, still usable


def test_implicit_tls(server):
    with server.connect_tls() as c:
        assert c.greeting.startswith("* OK [CAPABILITY "), c.greeting
        assert c.sock.getpeercert(binary_form=True) == der(server.cert)
        assert c.sock.version() in ("TLSv1.2", "TLSv1.3"), c.sock.version()
        caps = caps_of(c.greeting)
        assert "STARTTLS" not in caps and "LOGINDISABLED" not in caps
        c.login()
        c.ok("NOOP")


def test_implicit_tls_hostname_ip(server):
    """The certificate is valid for 127.0.0.1 too (SAN)."""
    with Client(server.imaps_port, tls=True, ctx=server.ssl_context(),
                server_hostname="127.0.0.1") as c:
        assert c.greeting.startswith("* OK")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_old_tls_versions_refused(server):
    ctx = client_context(verify=False)
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    try:
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    except ssl.SSLError:
        pass
    with pytest.raises((ssl.SSLError, ConnectionError, ConnectionClosed, OSError)):
        Client(server.imaps_port, tls=True, ctx=ctx)
    with server.connect_tls() as c:    # server still fine
        c.ok("NOOP")


def test_plaintext_on_imaps_port(server):
    with Client(server.imaps_port, read_greeting=False) as c:
        c.send("a LOGIN alice secret\r\n")
        lines = c.read_until_closed()
        assert not any(ln.startswith(("* OK", "a OK")) for ln in lines), lines
    with server.connect_tls() as c:
        c.login()


def test_garbage_after_starttls(server):
    with server.connect() as c:
        c.ok("STARTTLS")
        c.send(b"\x16\x03\x01\x00\x05garbage-not-tls\r\n")
        c.read_until_closed()
    with server.connect() as c:
        c.starttls(server.ssl_context())
        c.login()


def test_imaplib_imap4_ssl(server):
    with imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port,
                           ssl_context=server.ssl_context(), timeout=10) as m:
        assert "AUTH=PLAIN" in m.capabilities
        assert "STARTTLS" not in m.capabilities
        typ, data = m.login("alice", "secret")
        assert typ == "OK", data
        assert m.noop()[0] == "OK"
        typ, data = m.logout()
        assert typ == "BYE", (typ, data)


def test_imaplib_starttls(server):
    m = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=10)
    try:
        assert "STARTTLS" in m.capabilities
        typ, data = m.starttls(ssl_context=server.ssl_context())
        assert typ == "OK", data
        assert "STARTTLS" not in m.capabilities
        typ, data = m.login("bob", "hunter2")
        assert typ == "OK", data
        assert m.noop()[0] == "OK"
        typ, data = m.capability()
        assert typ == "OK"
        assert b"AUTH=" not in data[0].upper(), data
    finally:
        m.logout()


def test_imaplib_ssl_unverified_context(server):
    ctx = client_context(verify=False)
    with imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=ctx,
                           timeout=10) as m:
        assert m.login("alice", "secret")[0] == "OK"


def test_sighup_reloads_certificate(make_server):
    server = make_server()
    old = der(server.cert)
    with server.connect_tls() as keep:
        keep.login()
        new_dir = server.base / "newtls"
        cert, key = make_cert(new_dir, cn="roost-reloaded")
        # replace atomically (rename over the old files)
        shutil.copy(key, server.data / "tls" / "key.new")
        shutil.copy(cert, server.data / "tls" / "cert.new")
        (server.data / "tls" / "key.new").rename(server.key)
        (server.data / "tls" / "cert.new").rename(server.cert)
        n = len(server.events("reload"))
        server.send_signal(signal.SIGHUP)
        server.wait_event("reload", count=n + 1)
        with server.connect_tls() as c:
            got = c.sock.getpeercert(binary_form=True)
            assert got == der(cert) and got != old
            c.login()
        with server.connect() as c:
            c.starttls(client_context(cafile=cert))
            assert c.sock.getpeercert(binary_form=True) == der(cert)
        # the session on the old certificate survives
        keep.ok("NOOP")
