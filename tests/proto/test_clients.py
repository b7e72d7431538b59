"""Real clients: curl (imap://, imaps://, STARTTLS) and Python's imaplib."""

import imaplib
import re
import shutil
import subprocess

import pytest

CURL = shutil.which("curl") or "/usr/bin/curl"


def curl(*args, timeout=60):
    assert shutil.which(CURL), "curl is required for these tests"
    return subprocess.run([CURL, "-s", "-v", "--max-time", "30", *args],
                          capture_output=True, text=True, timeout=timeout)


def curl_auth_result(stderr):
    """(command, status) of the LOGIN/AUTHENTICATE curl sent, from -v."""
    m = re.search(r"^> (A\d+) (LOGIN|AUTHENTICATE)\b", stderr, re.M)
    assert m, f"curl did not log in:\n{stderr}"
    tag = m.group(1)
    s = re.search(rf"^< {tag} (OK|NO|BAD)\b", stderr, re.M)
    assert s, f"no answer to {tag}:\n{stderr}"
    return m.group(2), s.group(1)


def test_curl_plain_login(server):
    mark = server.mark()
    r = curl(f"imap://127.0.0.1:{server.imap_port}/", "-u", "alice:secret")
    cmd, status = curl_auth_result(r.stderr)
    assert status == "OK", r.stderr
    # curl then LISTs the mailboxes and prints them
    assert re.search(r'^> A\d+ LIST', r.stderr, re.M), r.stderr
    assert r.returncode == 0, r.stderr
    assert re.search(r'^\* LIST \(.*\) "/" INBOX\r?$', r.stdout, re.M), r.stdout
    server.wait_event("login", user="alice", since=mark)


def test_curl_custom_noop(server):
    r = curl(f"imap://127.0.0.1:{server.imap_port}/", "-u", "bob:hunter2",
             "-X", "NOOP")
    assert curl_auth_result(r.stderr)[1] == "OK"
    assert re.search(r"^> A\d+ NOOP", r.stderr, re.M), r.stderr
    assert r.returncode == 0, r.stderr


def test_curl_sasl_login_mech(server):
    r = curl(f"imap://127.0.0.1:{server.imap_port}/", "--login-options",
             "AUTH=LOGIN", "-u", "alice:secret", "-X", "NOOP")
    assert re.search(r"^> A\d+ AUTHENTICATE LOGIN", r.stderr, re.M), r.stderr
    assert curl_auth_result(r.stderr)[1] == "OK"
    assert r.returncode == 0, r.stderr


def test_curl_wrong_password(server):
    mark = server.mark()
    r = curl(f"imap://127.0.0.1:{server.imap_port}/", "-u", "alice:nope")
    assert curl_auth_result(r.stderr)[1] == "NO"
    assert r.returncode == 67, (r.returncode, r.stderr)   # CURLE_LOGIN_DENIED
    server.wait_event("login_failed", user="alice", since=mark)


def test_curl_imaps_insecure(server):
    r = curl(f"imaps://127.0.0.1:{server.imaps_port}/", "-k",
             "-u", "alice:secret", "-X", "NOOP")
    assert curl_auth_result(r.stderr)[1] == "OK"
    assert r.returncode == 0, r.stderr


def test_curl_imaps_verified(server):
    r = curl(f"imaps://127.0.0.1:{server.imaps_port}/", "--cacert",
             str(server.cert), "-u", "alice:secret", "-X", "NOOP")
    assert curl_auth_result(r.stderr)[1] == "OK"
    assert r.returncode == 0, r.stderr


def test_curl_starttls(server):
    r = curl(f"imap://127.0.0.1:{server.imap_port}/", "--ssl-reqd", "-k",
             "-u", "alice:secret", "-X", "NOOP")
    assert re.search(r"^> A\d+ STARTTLS", r.stderr, re.M), r.stderr
    assert curl_auth_result(r.stderr)[1] == "OK"
    assert r.returncode == 0, r.stderr


def test_curl_starttls_required_by_server(make_server):
    srv = make_server(config={"auth": {"plaintext_loopback": "no"}})
    r = curl(f"imap://127.0.0.1:{srv.imap_port}/", "--ssl-reqd",
             "--cacert", str(srv.cert), "-u", "alice:secret", "-X", "NOOP")
    assert re.search(r"^> A\d+ STARTTLS", r.stderr, re.M), r.stderr
    assert curl_auth_result(r.stderr)[1] == "OK"
    assert r.returncode == 0, r.stderr


def test_imaplib_plain(server):
    m = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=10)
    try:
        assert {"IMAP4REV1", "STARTTLS", "AUTH=PLAIN"} <= set(m.capabilities)
        typ, data = m.login("alice", "secret")
        assert typ == "OK", data
        assert m.state == "AUTH"
        assert m.noop()[0] == "OK"
        typ, data = m.select("INBOX")
        assert typ == "OK" and data == [b"0"], data
        assert m.noop()[0] == "OK"
        typ, data = m.xatom("ID", "NIL")
        assert typ == "OK", data
        typ, data = m.response("ID")
        assert data and data[0] and b'"roost"' in data[0], data
    finally:
        typ, data = m.logout()
    assert typ == "BYE", (typ, data)


def test_imaplib_authenticate_plain(server):
    m = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=10)
    try:
        typ, data = m.authenticate("PLAIN", lambda _: b"\0bob\0hunter2")
        assert typ == "OK", data
        assert m.noop()[0] == "OK"
    finally:
        m.logout()


def test_imaplib_wrong_password(server):
    m = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=10)
    try:
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
            m.login("alice", "bad")
        assert m.noop()[0] == "OK"
        assert m.login("alice", "secret")[0] == "OK"
    finally:
        m.logout()
