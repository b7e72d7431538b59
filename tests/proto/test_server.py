"""Process-level behaviour: signals, reload, log events, `roost config`,
first start, many concurrent clients."""

import os
import socket
import re
import signal
import stat
import subprocess
import threading

import pytest

import roost
from roost import Client, RoostServer, client_context, read_config_output


# ----------------------------------------------------------------------
# signals

def test_sigterm_sends_bye_and_exits_0(make_server):
    srv = make_server()
    a = srv.connect()
    a.login()
    b = srv.connect()
    t = srv.connect_tls()
    t.login()
    m = srv.connect()
    m.send("a LOGIN {100+}\r\nabc")      # in the middle of a literal
    try:
        srv.send_signal(signal.SIGTERM)
        for c in (a, b, t):
            lines = c.read_until_closed()
            assert lines and lines[0].startswith("* BYE"), lines
        lines = m.read_until_closed()
        assert not any(ln.startswith("a OK") for ln in lines), lines
        rc = srv.wait_exit()
        assert rc == 0, srv.log_text()
        srv.assert_no_sanitizer_errors()
        assert srv.events("shutdown"), srv.log_text()
    finally:
        for c in (a, b, t, m):
            c.close()


def test_sigterm_idle_server_exits_0(make_server):
    srv = make_server()
    srv.stop()       # asserts exit code 0
    assert srv.events("shutdown")


def test_sighup_reloads_passwd_file(make_server):
    srv = make_server()
    keep = srv.connect()
    keep.login("bob", "hunter2")
    pre = srv.connect()
    tls = srv.connect_tls()
    try:
        with srv.connect() as c:
            assert c.cmd("LOGIN carol c4rol-pw").status == "NO"
        srv.passwd_path.write_text("alice:{PLAIN}secret::::::\n"
                                   "carol:{PLAIN}c4rol-pw::::::\n")
        n = len(srv.events("reload"))
        srv.send_signal(signal.SIGHUP)
        srv.wait_event("reload", count=n + 1)
        with srv.connect() as c:
            c.login("carol", "c4rol-pw")
        with srv.connect() as c:
            r = c.cmd("LOGIN bob hunter2")       # removed
            assert r.status == "NO", r.lines
        # existing sessions survive in every state
        keep.ok("NOOP")
        keep.ok("ENABLE CONDSTORE")
        pre.ok("NOOP")
        pre.login("carol", "c4rol-pw")
        tls.login("alice", "secret")
        assert srv.running()
    finally:
        for c in (keep, pre, tls):
            c.close()


def test_sighup_reloads_config(make_server):
    srv = make_server()
    a, b = srv.connect(), srv.connect()
    try:
        srv.config["imap"]["max_connections_per_ip"] = 2
        srv.write_config()
        n = len(srv.events("reload"))
        srv.send_signal(signal.SIGHUP)
        srv.wait_event("reload", count=n + 1)
        c = Client(srv.imap_port, read_greeting=False)
        lines = c.read_until_closed()
        c.close()
        assert lines and lines[0].startswith("* BYE"), lines
        a.ok("NOOP")
        b.login()
    finally:
        a.close()
        b.close()


def test_repeated_sighup(make_server):
    srv = make_server()
    with srv.connect() as c:
        c.login()
        n = len(srv.events("reload"))
        for i in range(5):
            srv.send_signal(signal.SIGHUP)
            srv.wait_event("reload", count=n + i + 1)
            c.ok("NOOP")
    with srv.connect_tls() as c:
        c.login()


# ----------------------------------------------------------------------
# log events

def test_log_events(make_server):
    srv = make_server()
    c = srv.connect()
    port = c.local_port
    remote = f"127.0.0.1:{port}"
    assert c.cmd("LOGIN alice wrong").status == "NO"
    c.login()
    c.ok("NOOP")
    c.send("z LOGOUT\r\n")
    c.read_until_closed()
    c.close()
    disc = srv.wait_event("disconnect", remote=remote)
    assert len(disc) == 1, disc
    d = disc[0]
    assert d.get("reason"), d
    # byte counts are exact for a plaintext connection
    assert int(d["in_bytes"]) == c.sent, (d, c.sent)
    assert int(d["out_bytes"]) == c.received, (d, c.received)
    assert len(srv.events("connect", remote=remote)) == 1, srv.log_text()
    failed = srv.events("login_failed", remote=remote)
    assert len(failed) == 1 and failed[0].get("user") == "alice", failed
    logins = srv.events("login", remote=remote)
    assert len(logins) == 1, srv.log_text()
    assert logins[0].get("user") == "alice" and logins[0].get("mech"), logins
    # order: connect, login_failed, login, disconnect
    order = [e["event"] for e in srv.events()
             if e.get("remote") == remote]
    assert order == ["connect", "login_failed", "login", "disconnect"], order
    assert all(e.get("level") in ("debug", "info", "warn", "error") and e.get("ts")
               for e in srv.events()), srv.log_text()


def test_log_events_tls_and_client_close(make_server):
    srv = make_server()
    c = srv.connect_tls()
    remote = f"127.0.0.1:{c.local_port}"
    r = c.cmd("AUTHENTICATE PLAIN " + roost.b64("\0bob\0hunter2"))
    assert r.status == "OK"
    c.close()             # no LOGOUT
    d = srv.wait_event("disconnect", remote=remote)[0]
    assert d.get("reason") and int(d["in_bytes"]) > 0 and int(d["out_bytes"]) > 0, d
    ev = srv.events("login", remote=remote)
    assert ev and ev[0]["user"] == "bob" and "PLAIN" in ev[0]["mech"].upper(), ev


# ----------------------------------------------------------------------
# roost config

DEFAULTS = {
    ("server", "workers"): "0",
    ("imap", "prelogin_timeout_s"): "60",
    ("imap", "autologout_s"): "1800",
    ("imap", "max_connections_per_ip"): "100",
    ("imap", "max_line_bytes"): "65536",
    ("imap", "max_literal_bytes"): "65536",
    ("auth", "allow_plaintext"): "no",
    ("auth", "plaintext_loopback"): "yes",
    ("auth", "failure_delay_base_ms"): "1000",
    ("auth", "failure_delay_max_ms"): "15000",
}


def run_cli(args, cwd, timeout=30):
    roost.check_binary()
    return subprocess.run([roost.ROOST_BIN, *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def test_config_defaults_no_config(tmp_path):
    r = run_cli(["config"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    cp = read_config_output(r.stdout)
    for (sec, key), val in DEFAULTS.items():
        assert cp.get(sec, key) == val, (sec, key, cp.get(sec, key))
    assert cp.get("imap", "listen") == "127.0.0.1:1143"
    assert cp.get("imap", "tls_listen") == "127.0.0.1:1993"
    assert cp.get("server", "data").rstrip("/").endswith("roost-data")
    assert cp.get("tls", "cert").endswith("tls/cert.pem")
    assert cp.get("tls", "key").endswith("tls/key.pem")
    assert cp.get("auth", "passwd_file").endswith("passwd")
    assert os.listdir(tmp_path) == [], "roost config created files"


def test_config_with_file_and_data(make_server, tmp_path):
    srv = make_server(start=False, config={"imap": {"autologout_s": 77}})
    r = srv.cli("config")
    assert r.returncode == 0, r.stderr
    cp = read_config_output(r.stdout)
    assert cp.get("imap", "autologout_s") == "77"
    assert cp.get("imap", "listen") == "127.0.0.1:0"
    assert cp.get("auth", "failure_delay_base_ms") == "50"
    assert cp.get("imap", "prelogin_timeout_s") == "60"      # default
    assert cp.get("auth", "plaintext_loopback") == "yes"     # default
    assert cp.get("server", "data") == str(srv.data)
    assert cp.get("tls", "cert") in (str(srv.data / "tls" / "cert.pem"),
                                     "DATA/tls/cert.pem")
    assert cp.get("auth", "passwd_file") in (str(srv.data / "passwd"),
                                             "DATA/passwd")
    other = tmp_path / "other-data"
    r = srv.cli("config", "--data", str(other))
    assert r.returncode == 0, r.stderr
    cp = read_config_output(r.stdout)
    assert cp.get("server", "data") == str(other)
    assert cp.get("tls", "key") in (str(other / "tls" / "key.pem"),
                                    "DATA/tls/key.pem")
    # the printed config is itself a valid config giving the same output
    printed = tmp_path / "printed.ini"
    printed.write_text(r.stdout)
    r2 = run_cli(["config", "--config", str(printed)], cwd=tmp_path)
    assert r2.returncode == 0, r2.stderr
    cp2 = read_config_output(r2.stdout)
    assert {s: dict(cp[s]) for s in cp.sections()} == \
        {s: dict(cp2[s]) for s in cp2.sections()}


@pytest.mark.parametrize("section,key,value", [
    ("imap", "max_line_bytes", "banana"),
    ("imap", "prelogin_timeout_s", "-5"),
    ("auth", "allow_plaintext", "maybe"),
])
def test_config_invalid_value(tmp_path, section, key, value):
    cfg = tmp_path / "bad.ini"
    cfg.write_text(f"[{section}]\n{key} = {value}\n")
    r = run_cli(["config", "--config", str(cfg)], cwd=tmp_path)
    assert r.returncode != 0, r.stdout
    assert r.stderr.strip(), "no error message"


@pytest.mark.parametrize("listen", ["not-an-address", "127.0.0.1:99999",
                                    "127.0.0.1:-1"])
def test_serve_rejects_bad_listen(make_server, listen):
    srv = make_server(start=False, config={"imap": {
        "listen": listen, "tls_listen": ""}})
    with pytest.raises(roost.RoostError):
        srv.start()
    assert srv.proc.returncode not in (None, 0), srv.log_text()
    assert not srv.listeners, f"listened despite {listen!r}: {srv.listeners}"


def test_serve_port_in_use(make_server):
    a = make_server()
    b = make_server(start=False, config={"imap": {
        "listen": f"127.0.0.1:{a.imap_port}", "tls_listen": ""}})
    with pytest.raises(roost.RoostError):
        b.start()
    assert b.proc.returncode not in (None, 0), b.log_text()
    with a.connect() as c:
        c.login()


# ----------------------------------------------------------------------
# first start

def test_first_start_creates_tls_and_demo_user(make_server, tmp_path):
    data = tmp_path / "fresh-data"
    srv = make_server(start=False, bare=True, name="first", config={
        "imap": {"listen": "127.0.0.1:0", "tls_listen": "127.0.0.1:0"}})
    srv.data = data
    srv.cert, srv.key = data / "tls" / "cert.pem", data / "tls" / "key.pem"
    srv.passwd_path = data / "passwd"
    srv.start(extra_args=["--data", str(data)])
    m = srv.wait_stdout(r"^roost: created user demo with password (\S+)$")
    password = m.group(1)
    assert len(password) >= 8, password
    assert srv.cert.is_file() and srv.key.is_file()
    assert srv.passwd_path.is_file()
    assert not (srv.base / "roost-data").exists(), "used ./roost-data despite --data"
    assert os.stat(srv.key).st_mode & 0o077 == 0, oct(os.stat(srv.key).st_mode)
    assert os.stat(srv.passwd_path).st_mode & stat.S_IROTH == 0
    ptext = srv.passwd_path.read_text()
    assert re.search(r"^demo:\{", ptext, re.M), ptext
    assert password not in ptext
    assert not re.search(r"^demo:\{PLAIN\}", ptext, re.M)
    # the certificate verifies for localhost and 127.0.0.1
    for host in ("localhost", "127.0.0.1"):
        with Client(srv.imaps_port, tls=True, ctx=client_context(cafile=srv.cert),
                    server_hostname=host) as c:
            c.login("demo", password)
    with srv.connect() as c:
        c.starttls(client_context(cafile=srv.cert))
        c.login("demo", password)
    with srv.connect() as c:
        c.login("demo", password)        # loopback plaintext allowed
    cert_before = srv.cert.read_bytes()
    key_before = srv.key.read_bytes()
    srv.stop()
    assert sum("created user" in ln for ln in srv.out) == 1, srv.out

    # second start: nothing is recreated, the demo password still works
    again = RoostServer(tmp_path / "first", bare=True, config=srv.config)
    again.start(extra_args=["--data", str(data)])
    try:
        with again.connect() as c:
            c.login("demo", password)
    finally:
        again.stop()
    assert srv.cert.read_bytes() == cert_before
    assert srv.key.read_bytes() == key_before
    assert srv.passwd_path.read_text() == ptext
    assert not any("created user" in ln for ln in again.out), again.out


# ----------------------------------------------------------------------
# many clients

def test_200_concurrent_logins(make_server, raise_nofile):
    n = 200
    soft, _ = raise_nofile
    assert soft >= 2 * n + 64, f"RLIMIT_NOFILE too low for this test: {soft}"
    users = {f"user{i}": f"pw{i}" for i in range(n)}
    srv = make_server(config={"imap": {"max_connections_per_ip": 1000}},
                      users=users)
    barrier = threading.Barrier(n)
    results = [None] * n

    def worker(i):
        c = None
        try:
            c = Client(srv.imap_port, timeout=60)
            assert c.greeting.startswith("* OK"), c.greeting
            barrier.wait(60)
            r = c.cmd(f"LOGIN user{i} pw{i}")
            assert r.status == "OK", r.lines
            assert c.cmd("NOOP").status == "OK"
            c.send("z LOGOUT\r\n")
            lines = c.read_until_closed(timeout=60)
            assert lines[-1].startswith("z OK"), lines
            results[i] = "OK"
        except Exception as e:       # noqa: BLE001 - reported below
            barrier.abort()
            results[i] = repr(e)
        finally:
            if c:
                c.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    failed = {i: r for i, r in enumerate(results) if r != "OK"}
    assert not failed, f"{len(failed)} failed, e.g. {list(failed.items())[:3]}"
    evs = srv.wait_event("login", count=n)
    assert {e["user"] for e in evs} == set(users)


def test_sighup_with_broken_config_keeps_running(make_server):
    srv = make_server()
    with srv.connect() as keep:
        keep.login()
        good = srv.config_path.read_text()
        srv.config_path.write_text("[imap]\nmax_line_bytes = banana\n[[[\n")
        srv.send_signal(signal.SIGHUP)
        # the server reports the problem and keeps the old configuration
        deadline = __import__("time").monotonic() + 10
        while __import__("time").monotonic() < deadline:
            if any(e.get("level") in ("error", "warn") for e in srv.events()):
                break
            __import__("time").sleep(0.1)
        assert any(e.get("level") in ("error", "warn") for e in srv.events()), \
            srv.log_text()
        assert srv.running()
        keep.ok("NOOP")
        with srv.connect() as c:
            c.login("bob", "hunter2")
        with srv.connect_tls() as c:
            c.login()
        srv.config_path.write_text(good)


def test_sighup_with_missing_certificate_keeps_old(make_server):
    srv = make_server()
    old = srv.cert.read_bytes()
    srv.cert.rename(srv.cert.with_suffix(".moved"))
    srv.send_signal(signal.SIGHUP)
    import time
    time.sleep(1.0)
    assert srv.running(), srv.log_text()
    srv.cert.with_suffix(".moved").rename(srv.cert)
    with srv.connect_tls() as c:
        assert c.sock.getpeercert(binary_form=True) == \
            __import__("ssl").PEM_cert_to_DER_cert(old.decode())
        c.login()


# ----------------------------------------------------------------------
# listener configuration

def test_two_plaintext_listeners(make_server):
    srv = make_server(config={"imap": {
        "listen": "127.0.0.1:0, 127.0.0.1:0", "tls_listen": ""}},
        expect_listeners=2)
    ports = [int(e["addr"].rsplit(":", 1)[1]) for e in srv.listeners]
    assert len(ports) == 2 and len(set(ports)) == 2, srv.listeners
    assert all(e.get("tls") == "no" for e in srv.listeners), srv.listeners
    for port in ports:
        with Client(port) as c:
            c.login()


def test_tls_listener_disabled(make_server):
    srv = make_server(config={"imap": {"tls_listen": ""}})
    assert len(srv.listeners) == 1 and srv.imaps_port is None, srv.listeners
    with srv.connect() as c:
        c.starttls(srv.ssl_context())
        c.login()


def test_plaintext_listener_disabled(make_server):
    srv = make_server(config={"imap": {"listen": ""}})
    assert len(srv.listeners) == 1 and srv.imap_port is None, srv.listeners
    with srv.connect_tls() as c:
        c.login()


def test_sigterm_with_stuck_reader(make_server):
    """A client that never reads must not keep the server from exiting."""
    srv = make_server()
    c = srv.connect()
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    payload = b"".join(b"k%d CAPABILITY\r\n" % i for i in range(20000))
    c.sock.settimeout(3)
    try:
        c.sock.sendall(payload)
    except (socket.timeout, OSError):
        pass         # the server stopped reading: its output is full
    srv.send_signal(signal.SIGTERM)
    rc = srv.wait_exit(timeout=30)
    c.close()
    assert rc == 0, srv.log_text()
    srv.assert_no_sanitizer_errors()


# ----------------------------------------------------------------------
# command line

@pytest.mark.parametrize("exists", [True, False], ids=["existing", "new"])
def test_user_cli_with_data_dir_only(tmp_path, exists):
    """`roost user add --data DIR` works before the first start too (an
    administrator adds users, then starts the server)."""
    data = tmp_path / "d"
    if exists:
        data.mkdir()
    r = subprocess.run([roost.ROOST_BIN, "user", "add", "zed", "--scheme",
                        "PLAIN", "--data", str(data)], input="zed-pw\n",
                       capture_output=True, text=True, cwd=tmp_path, timeout=30)
    assert r.returncode == 0, r.stderr
    assert re.search(r"^zed:\{PLAIN\}zed-pw(:|$)", (data / "passwd").read_text(), re.M)
    assert not (tmp_path / "roost-data").exists()
    r = run_cli(["user", "list", "--data", str(data)], cwd=tmp_path)
    assert r.returncode == 0 and "zed" in r.stdout.split(), (r.stdout, r.stderr)


@pytest.mark.parametrize("argv", [["frobnicate"], ["serve", "--no-such-option"],
                                  ["config", "--config"],
                                  ["config", "--config", "/nonexistent/x.ini"],
                                  ["user", "add"]])
def test_cli_usage_errors(tmp_path, argv):
    r = run_cli(argv, cwd=tmp_path, timeout=15)
    assert r.returncode != 0, (r.stdout, r.stderr)
    assert r.stderr.strip(), "no error message on stderr"
    assert os.listdir(tmp_path) == [], os.listdir(tmp_path)
