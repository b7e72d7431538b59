"""Test harness for roost protocol tests.

RoostServer starts `ROOST_BIN serve` on free ports (port 0) in a private
temporary data directory, collects its stderr/stdout in reader threads (so
the pipes never fill), waits for the `event=listening` lines and stops it by
PID (through the Popen object). Client is a small raw IMAP line client over
a real socket (plain or TLS) that returns exact server lines.

Only the Python standard library is used here.
"""

import base64
import configparser
import os
import re
import signal
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

from line_client import LineClient

REPO = Path(__file__).resolve().parents[2]
ROOST_BIN = os.environ.get("ROOST_BIN", str(REPO / "build" / "roost"))

STARTUP_TIMEOUT = 20.0
DEFAULT_TIMEOUT = 10.0

SANITIZER_MARKERS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",
    "WARNING: ThreadSanitizer",
    "ERROR: ThreadSanitizer",
)

# Protocols besides IMAP whose listeners every test server puts on free
# ports (their defaults are fixed ports); tests find them in
# RoostServer.<proto>_port / <proto>s_port.
OTHER_PROTOCOLS = ("pop3", "lmtp")
FREE_PORTS = {"listen": "127.0.0.1:0", "tls_listen": "127.0.0.1:0"}
# LMTP has no TLS listener; its Unix socket (RoostServer.lmtp_socket) is
# off unless a test configures [lmtp] socket
PROTOCOL_FREE_PORTS = {"lmtp": {"listen": "127.0.0.1:0"}}


def free_ports(section):
    return dict(PROTOCOL_FREE_PORTS.get(section, FREE_PORTS))

# Users written to every server's passwd-file unless a test says otherwise.
DEFAULT_USERS = {"alice": "secret", "bob": "hunter2"}


class RoostError(AssertionError):
    pass


def check_binary():
    """Fail loudly (never skip) when the server binary is missing."""
    if not os.path.isfile(ROOST_BIN) or not os.access(ROOST_BIN, os.X_OK):
        raise RoostError(
            f"roost binary not found or not executable: {ROOST_BIN!r} "
            "(build it, or set ROOST_BIN)")


# ----------------------------------------------------------------------
# logfmt

_LOGFMT_RE = re.compile(r'([^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)')


def _unquote(v):
    if not (len(v) >= 2 and v[0] == '"' and v[-1] == '"'):
        return v
    out = []
    i = 1
    while i < len(v) - 1:
        c = v[i]
        if c == "\\" and i + 1 < len(v) - 1:
            n = v[i + 1]
            if n == "x" and i + 3 < len(v):
                try:
                    out.append(chr(int(v[i + 2:i + 4], 16)))
                    i += 4
                    continue
                except ValueError:
                    pass
            out.append(n)
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def parse_logfmt(line):
    """Parse one logfmt line into a dict (values unquoted)."""
    return {k: _unquote(v) for k, v in _LOGFMT_RE.findall(line)}


# ----------------------------------------------------------------------
# TLS helpers

def make_cert(tls_dir, cn="localhost"):
    """Write a self-signed EC cert/key (SAN localhost, 127.0.0.1)."""
    tls_dir = Path(tls_dir)
    tls_dir.mkdir(parents=True, exist_ok=True)
    cert, key = tls_dir / "cert.pem", tls_dir / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec",
         "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "30",
         "-subj", f"/CN={cn}",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.chmod(key, 0o600)
    return cert, key


def client_context(cafile=None, verify=True):
    """An SSL context for clients: verifying against cafile (hostname
    checked) or not verifying at all."""
    if verify and cafile:
        ctx = ssl.create_default_context(cafile=str(cafile))
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


# ----------------------------------------------------------------------
# IMAP response helpers

def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def caps_of(line):
    """Capabilities from a `* CAPABILITY ...` line or a `[CAPABILITY ...]`
    response code anywhere in line; None if neither is present."""
    m = re.search(r"\[CAPABILITY ([^\]]*)\]", line, re.I)
    if m:
        return set(m.group(1).upper().split())
    m = re.match(r"\* CAPABILITY (.*)$", line, re.I)
    if m:
        return set(m.group(1).upper().split())
    return None


class Response:
    """Everything the server sent for one command, up to its tagged line
    (or up to a continuation request, see Client.read_response)."""

    def __init__(self, tag):
        self.tag = tag
        self.lines = []
        self.tagged = None
        self.continuation = None

    @property
    def untagged(self):
        return [ln for ln in self.lines if ln.startswith("* ")]

    @property
    def status(self):
        if self.tagged is None:
            return None
        parts = self.tagged.split(" ", 2)
        return parts[1].upper() if len(parts) > 1 else None

    @property
    def code(self):
        """The response code atom, e.g. AUTHENTICATIONFAILED, or None."""
        if self.tagged is None:
            return None
        m = re.match(r"\S+ \S+ \[([^\] ]+)", self.tagged)
        return m.group(1).upper() if m else None

    @property
    def text(self):
        if self.tagged is None:
            return None
        parts = self.tagged.split(" ", 2)
        return parts[2] if len(parts) > 2 else ""

    def caps(self):
        """Capabilities from the tagged line's code or an untagged
        CAPABILITY response (the latter wins)."""
        for ln in self.untagged:
            c = caps_of(ln)
            if c is not None:
                return c
        return caps_of(self.tagged or "")

    def __repr__(self):
        return f"Response(tag={self.tag!r}, lines={self.lines!r})"


class ConnectionClosed(AssertionError):
    pass


class Client(LineClient):
    """A raw IMAP line client. Lines are returned as str without CRLF
    (decoded as UTF-8 with replacement); literals inside server lines are
    inlined as {n}\\r\\n<data>."""

    def __init__(self, port, host="127.0.0.1", tls=False, ctx=None,
                 server_hostname="localhost", timeout=DEFAULT_TIMEOUT,
                 read_greeting=True, source=None):
        self.sock = socket.create_connection(
            (host, port), timeout=timeout,
            source_address=(source, 0) if source else None)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.buf = b""
        self.sent = 0
        self.received = 0
        self.transcript = []  # ("C"|"S", bytes)
        self._tagn = 0
        self.local_port = self.sock.getsockname()[1]
        if tls:
            self.sock = (ctx or client_context(verify=False)).wrap_socket(
                self.sock, server_hostname=server_hostname)
        self.greeting = self.readline() if read_greeting else None

    # -- raw io
    def settimeout(self, t):
        self.timeout = t
        self.sock.settimeout(t)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.transcript.append(("C", data))
        self.sock.sendall(data)
        self.sent += len(data)

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise socket.timeout(
                f"timed out waiting for server data; buffered={self.buf!r}; "
                f"transcript tail={self.transcript[-6:]!r}") from None
        except (ConnectionResetError, ssl.SSLError, OSError) as e:
            raise ConnectionClosed(f"connection error: {e!r}") from e
        if not chunk:
            raise ConnectionClosed(
                f"connection closed by server; buffered={self.buf!r}")
        self.received += len(chunk)
        self.transcript.append(("S", chunk))
        self.buf += chunk

    def readline_bytes(self):
        while b"\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\n", 1)
        if line.endswith(b"\r"):
            line = line[:-1]
        m = re.search(rb"\{(\d+)\}$", line)
        if m:  # a literal in a server response: inline it
            n = int(m.group(1))
            while len(self.buf) < n:
                self._fill()
            data, self.buf = self.buf[:n], self.buf[n:]
            return line + b"\r\n" + data + self.readline_bytes()
        return line

    def readline(self):
        return self.readline_bytes().decode("utf-8", "replace")

    def next_tag(self):
        self._tagn += 1
        return f"t{self._tagn}"

    def read_response(self, tag, stop_on_continuation=True):
        """Read lines until the tagged response for tag, or (by default) a
        `+` continuation request, which is then stored in
        Response.continuation (and the Response has no tagged line)."""
        r = Response(tag)
        while True:
            ln = self.readline()
            r.lines.append(ln)
            if ln.startswith(tag + " "):
                r.tagged = ln
                return r
            if stop_on_continuation and (ln == "+" or ln.startswith("+ ")):
                r.continuation = ln
                return r

    def cmd(self, text, tag=None):
        """Send `tag text\\r\\n` and read the response."""
        tag = tag or self.next_tag()
        self.send(f"{tag} {text}\r\n")
        return self.read_response(tag)

    def ok(self, text, tag=None):
        r = self.cmd(text, tag)
        assert r.status == "OK", f"{text!r} -> {r.lines!r}"
        return r

    def login(self, user="alice", password="secret"):
        return self.ok(f"LOGIN {quote(user)} {quote(password)}")

    def starttls(self, ctx=None, server_hostname="localhost"):
        r = self.cmd("STARTTLS")
        assert r.status == "OK", r.lines
        assert self.buf == b"", f"server sent data after STARTTLS OK: {self.buf!r}"
        self.sock = (ctx or client_context(verify=False)).wrap_socket(
            self.sock, server_hostname=server_hostname)
        return r

    def read_until_closed(self, timeout=DEFAULT_TIMEOUT):
        """Read lines until the server closes the connection. Returns the
        lines (a trailing partial line included). Fails on timeout."""
        self.sock.settimeout(timeout)
        lines = []
        deadline = time.monotonic() + timeout
        while True:
            if time.monotonic() > deadline:
                raise socket.timeout(f"server did not close; lines={lines!r}")
            try:
                lines.append(self.readline())
            except ConnectionClosed:
                if self.buf:
                    lines.append(self.buf.decode("utf-8", "replace"))
                    self.buf = b""
                return lines


def quote(s):
    """An IMAP quoted string (or a literal+ when it cannot be quoted)."""
    if any(c in s for c in "\r\n\0") or any(ord(c) > 126 for c in s):
        data = s.encode()
        return "{%d+}\r\n%s" % (len(data), s)
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ----------------------------------------------------------------------
# the server


def _ini(config):
    out = []
    for section, kv in config.items():
        out.append(f"[{section}]")
        for k, v in kv.items():
            if v is None:
                continue
            if isinstance(v, bool):
                v = "yes" if v else "no"
            out.append(f"{k} = {v}")
        out.append("")
    return "\n".join(out)


class RoostServer:
    """One roost server process in its own temporary directory.

    config: dict of section -> {key: value} overriding the test defaults
    (value None removes a key). users: name -> plaintext password, written
    as {PLAIN} to DATA/passwd (None means DEFAULT_USERS). passwd_lines:
    extra raw passwd-file lines.
    """

    def __init__(self, base_dir, config=None, users=None, passwd_lines=(),
                 make_tls=True, expect_listeners=None, env=None, bare=False):
        check_binary()
        self.base = Path(base_dir)
        self.base.mkdir(parents=True, exist_ok=True)
        self.data = self.base / "data"
        self.config_path = self.base / "roost.ini"
        self.passwd_path = self.data / "passwd"
        self.env = dict(os.environ)
        self.env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        self.env.update(env or {})
        self.expect_listeners = expect_listeners
        self.proc = None
        self.log = []      # stderr lines
        self.out = []      # stdout lines
        self._cond = threading.Condition()
        self._threads = []
        self.listeners = []  # parsed listening events
        self.imap_port = None
        self.imaps_port = None
        self.all_listeners = []  # every protocol's listening events
        self.pop3_port = None
        self.lmtp_port = None
        self.lmtp_socket = None  # path of the LMTP Unix socket, if any
        self.pop3s_port = None
        self.cert = self.data / "tls" / "cert.pem"
        self.key = self.data / "tls" / "key.pem"
        if bare:
            # exactly the given config; no data dir, users or certificate
            self.config = {s: dict(kv) for s, kv in (config or {}).items()}
            # ...except that a protocol the config does not mention still
            # listens on free ports, never on its fixed default ones
            for section in OTHER_PROTOCOLS:
                self.config.setdefault(section, free_ports(section))
            self.write_config()
            self.users = {}
            return
        self.data.mkdir(exist_ok=True)
        self.config = {
            "server": {"data": str(self.data)},
            "imap": dict(FREE_PORTS),
            **{section: free_ports(section) for section in OTHER_PROTOCOLS},
            "auth": {
                "failure_delay_base_ms": 50,
                "failure_delay_max_ms": 200,
            },
        }
        for section, kv in (config or {}).items():
            self.config.setdefault(section, {}).update(kv)
        self.write_config()
        self.users = dict(DEFAULT_USERS if users is None else users)
        lines = [f"{u}:{{PLAIN}}{p}::::::" for u, p in self.users.items()]
        lines += list(passwd_lines)
        self.passwd_path.write_text("".join(ln + "\n" for ln in lines))
        if make_tls:
            self.cert, self.key = make_cert(self.data / "tls")

    # -- files
    def write_config(self):
        self.config_path.write_text(_ini(self.config))

    def add_user(self, name, password, scheme="PLAIN"):
        """Add a user with the CLI (`roost user add`), password on stdin."""
        r = self.cli("user", "add", name, "--scheme", scheme,
                     input=password + "\n")
        assert r.returncode == 0, f"user add failed: {r.stdout!r} {r.stderr!r}"
        self.users[name] = password
        return r

    def cli(self, *args, input=None, timeout=60, config=True):
        argv = [ROOST_BIN, *args]
        if config:
            argv += ["--config", str(self.config_path)]
        return subprocess.run(argv, input=input, capture_output=True,
                              text=True, timeout=timeout, cwd=self.base,
                              env=self.env)

    # -- process
    def _reader(self, stream, sink):
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._cond:
                sink.append(line)
                self._cond.notify_all()
        stream.close()

    def start(self, extra_args=None, argv=None):
        if argv is None:
            argv = [ROOST_BIN, "serve", "--config", str(self.config_path)]
        argv += list(extra_args or [])
        self.argv = argv
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, cwd=self.base, env=self.env)
        for stream, sink in ((self.proc.stderr, self.log),
                             (self.proc.stdout, self.out)):
            t = threading.Thread(target=self._reader, args=(stream, sink),
                                 daemon=True)
            t.start()
            self._threads.append(t)
        want = self.expect_listeners
        if want is None:
            imap = self.config.get("imap", {})
            want = sum(1 for k in ("listen", "tls_listen") if imap.get(k))
        deadline = time.monotonic() + STARTUP_TIMEOUT
        with self._cond:
            while True:
                self.all_listeners = [parse_logfmt(ln) for ln in self.log
                                      if "event=listening" in ln]
                # self.listeners: IMAP's, as before other protocols came
                self.listeners = [ev for ev in self.all_listeners
                                  if ev.get("proto", "imap") == "imap"]
                # every listener is logged before event=started
                if (len(self.listeners) >= want and
                        any("event=started" in ln for ln in self.log)):
                    break
                if self.proc.poll() is not None:
                    # let the readers drain what is left
                    self._cond.wait(0.2)
                    raise RoostError(
                        f"roost exited with {self.proc.returncode} before "
                        f"listening:\n{self.log_text()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    self._kill()
                    raise RoostError(
                        f"roost not listening after {STARTUP_TIMEOUT}s:\n"
                        f"{self.log_text()}")
                self._cond.wait(min(left, 0.1))
        self.startup_s = time.monotonic() - (deadline - STARTUP_TIMEOUT)
        if os.environ.get("ROOST_TEST_DEBUG"):
            with open(os.environ["ROOST_TEST_DEBUG"], "a") as f:
                f.write(f"start {self.startup_s:.2f}s {self.base}\n"
                        + "\n".join(self.log) + "\n")
        for ev in self.all_listeners:
            if ev.get("addr", "").startswith("unix:"):
                setattr(self, f"{ev.get('proto', 'imap')}_socket",
                        ev["addr"][len("unix:"):])
                continue
            if "addr" not in ev or ":" not in ev["addr"]:
                continue
            port = int(ev["addr"].rsplit(":", 1)[1])
            assert ev["addr"].rsplit(":", 1)[0] in ("127.0.0.1", "[127.0.0.1]"), ev
            assert port != 0, ev
            proto = ev.get("proto", "imap")
            tls = "s" if ev.get("tls") == "yes" else ""
            setattr(self, f"{proto}{tls}_port", port)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        assert self.running(), "server not running"
        self.proc.send_signal(sig)

    def _kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def wait_exit(self, timeout=20):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._kill()
            raise RoostError(
                f"roost did not exit within {timeout}s:\n{self.log_text()}")
        for t in self._threads:
            t.join(5)
        return rc

    def stop(self, expect_rc=0, timeout=20):
        """SIGTERM and wait; assert the exit code and a clean sanitizer log."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.wait_exit(timeout)
        if expect_rc is not None:
            assert rc == expect_rc, (
                f"roost exited with {rc}, expected {expect_rc}:\n"
                f"{self.log_text()}")
        self.assert_no_sanitizer_errors()
        return rc

    def assert_no_sanitizer_errors(self):
        bad = [ln for ln in self.log if any(m in ln for m in SANITIZER_MARKERS)]
        assert not bad, "sanitizer report in server log:\n" + self.log_text()

    # -- logs
    def log_text(self):
        with self._cond:
            return "\n".join(self.log[-200:])

    def mark(self):
        """A position in the log, for events(since=...)."""
        with self._cond:
            return len(self.log)

    def events(self, name=None, since=0, **match):
        with self._cond:
            lines = list(self.log[since:])
        out = []
        for ln in lines:
            if "event=" not in ln:
                continue
            ev = parse_logfmt(ln)
            if name is not None and ev.get("event") != name:
                continue
            if all(ev.get(k) == v for k, v in match.items()):
                out.append(ev)
        return out

    def wait_event(self, name, timeout=DEFAULT_TIMEOUT, count=1, since=0,
                   **match):
        """Wait until at least count events match; returns them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                evs = self.events(name, since=since, **match)
                if len(evs) >= count:
                    return evs
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RoostError(
                        f"no {count}x event={name} {match} within {timeout}s:\n"
                        f"{self.log_text()}")
                self._cond.wait(min(left, 0.1))

    def wait_stdout(self, pattern, timeout=DEFAULT_TIMEOUT):
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for ln in self.out:
                    m = rx.search(ln)
                    if m:
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RoostError(
                        f"no stdout line matching {pattern!r}; stdout="
                        f"{self.out!r}\nlog:\n{self.log_text()}")
                self._cond.wait(min(left, 0.1))

    # -- clients
    def ssl_context(self):
        """Client context trusting this server's certificate, hostname
        checked."""
        return client_context(cafile=self.cert)

    def connect(self, **kw):
        assert self.imap_port, "no plaintext listener"
        return Client(self.imap_port, **kw)

    def connect_tls(self, **kw):
        assert self.imaps_port, "no TLS listener"
        kw.setdefault("ctx", self.ssl_context())
        return Client(self.imaps_port, tls=True, **kw)


def read_config_output(text):
    cp = configparser.ConfigParser(inline_comment_prefixes=(";", "#"),
                                   interpolation=None)
    cp.read_string(text)
    return cp


# ----------------------------------------------------------------------
# mail-store helpers (issue 3): messages, APPEND, SELECT, response parsers.
# Message bodies in tests are ASCII, so a literal's length in bytes equals
# its length in characters of the decoded line.

def make_message(subject="test", body="Hello.\r\n", sender="a@example.org",
                 to="b@example.org", date="Wed, 14 Jul 2021 02:44:25 -0700",
                 headers=(), eol="\r\n"):
    """An RFC 5322 message as bytes (ASCII), with eol line ends."""
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}",
             f"Date: {date}", f"Message-ID: <{subject.replace(' ', '.')}"
             "@test.example>", *headers, ""]
    text = eol.join(lines) + eol + body.replace("\r\n", "\n").replace(
        "\n", eol)
    return text.encode()


def crlf(data):
    """data with every line end made CRLF (how roost stores messages)."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _tokenize(s, i=0):
    """Parse IMAP response data from s[i:] into nested Python lists of
    str (atoms, quoted strings, literal contents) and None (NIL). Returns
    (list, index after). Stops at an unmatched ')' or the end."""
    out = []
    n = len(s)
    while i < n:
        c = s[i]
        if c == " ":
            i += 1
        elif c == "(":
            sub, i = _tokenize(s, i + 1)
            out.append(sub)
        elif c == ")":
            return out, i + 1
        elif c == '"':
            j = i + 1
            buf = []
            while s[j] != '"':
                if s[j] == "\\":
                    j += 1
                buf.append(s[j])
                j += 1
            out.append(Quoted("".join(buf)))
            i = j + 1
        elif c == "{":
            m = re.compile(r"\{(\d+)\}\r\n").match(s, i)
            assert m, f"bad literal at {s[i:i + 20]!r}"
            size = int(m.group(1))
            out.append(Quoted(s[m.end():m.end() + size]))
            i = m.end() + size
        else:
            # an atom; '[' ... ']' belongs to it (BODY[HEADER], BODY[])
            j = i
            depth = 0
            while j < n:
                ch = s[j]
                if ch == "[":
                    depth += 1
                elif ch == "]":
                    depth -= 1
                elif depth == 0 and ch in " ()":
                    break
                j += 1
            atom = s[i:j]
            out.append(None if atom.upper() == "NIL" else atom)
            i = j
    return out, i


class Quoted(str):
    """A string that came as a quoted string or literal (not an atom)."""


def parse_data(s):
    return _tokenize(s)[0]


def parse_fetch(line):
    """`* n FETCH (k v ...)` -> (n, {KEY: value}) with upper-case keys;
    FLAGS values are lists of str. None if line is not a FETCH."""
    m = re.match(r"^\* (\d+) FETCH \(", line, re.I)
    if not m:
        return None
    items, _ = _tokenize(line, m.end())
    assert len(items) % 2 == 0, f"odd FETCH item list: {line!r}"
    d = {}
    for k, v in zip(items[0::2], items[1::2]):
        key = k.upper()
        assert key not in d, f"FETCH item {key} twice: {line!r}"
        d[key] = v
    return int(m.group(1)), d


def fetches(resp):
    """All untagged FETCH responses of a Response as [(seq, dict)]."""
    out = []
    for ln in resp.untagged:
        f = parse_fetch(ln)
        if f is not None:
            out.append(f)
    return out


LIST_RE = re.compile(
    r'^\* (LIST|LSUB) \(([^)]*)\) (NIL|"(?:[^"\\]|\\.)") (.+)$', re.I)


class ListEntry:
    def __init__(self, kind, attrs, delim, name, extra):
        self.kind = kind
        self.attrs = attrs            # set of str, original case
        self.delim = delim
        self.name = name
        self.extra = extra            # extended data items (list) or []

    @property
    def attrs_lower(self):
        return {a.lower() for a in self.attrs}

    def has(self, attr):
        return attr.lower() in self.attrs_lower

    def __repr__(self):
        return f"ListEntry({self.kind} {self.attrs} {self.name!r} {self.extra})"


def parse_list_line(line):
    """One `* LIST (attrs) "/" name [extended]` line; None if not LIST or
    LSUB. Asserts the mailbox name is a valid atom or quoted string or
    literal (astring)."""
    m = LIST_RE.match(line)
    if not m:
        assert not re.match(r"^\* (LIST|LSUB) ", line, re.I), \
            f"malformed LIST line: {line!r}"
        return None
    attrs = set(m.group(2).split())
    delim = None if m.group(3).upper() == "NIL" else \
        parse_data(m.group(3))[0]
    rest = parse_data(m.group(4))
    assert rest, f"LIST without a name: {line!r}"
    name = rest[0]
    assert isinstance(name, str), f"LIST name not a string: {line!r}"
    if not isinstance(name, Quoted):
        # an atom: only ATOM-CHARs plus ']' (astring) are allowed
        assert re.match(r'^[^(){ %*"\\\x00-\x1f\x7f]+$', name), \
            f"LIST name {name!r} must be quoted: {line!r}"
    return ListEntry(m.group(1).upper(), attrs, delim, str(name), rest[1:])


def list_entries(resp, kind=None):
    out = []
    for ln in resp.untagged:
        e = parse_list_line(ln)
        if e is not None and (kind is None or e.kind == kind.upper()):
            out.append(e)
    return out


def list_map(resp, kind=None):
    """name -> ListEntry; asserts no name is listed twice."""
    d = {}
    for e in list_entries(resp, kind):
        assert e.name not in d, f"{e.name!r} listed twice: {resp.lines!r}"
        d[e.name] = e
    return d


STATUS_RE = re.compile(r"^\* STATUS (.+) \(([^()]*)\)$", re.I)


def parse_status_line(line):
    """`* STATUS name (K v ...)` -> (name, {K: int}); None otherwise."""
    m = STATUS_RE.match(line)
    if not m:
        assert not re.match(r"^\* STATUS ", line, re.I), \
            f"malformed STATUS line: {line!r}"
        return None
    name = parse_data(m.group(1))
    assert len(name) == 1, f"bad STATUS name: {line!r}"
    toks = m.group(2).split()
    assert len(toks) % 2 == 0, line
    items = {}
    for k, v in zip(toks[0::2], toks[1::2]):
        assert re.match(r"^\d+$", v), f"STATUS value not a number: {line!r}"
        items[k.upper()] = int(v)
    return str(name[0]), items


def resp_code(line):
    """(CODE, args-str or None) of `[CODE args]` right after the status
    word of a tagged or untagged OK/NO/BAD/BYE line; None if absent."""
    m = re.match(r"^\S+ (?:OK|NO|BAD|BYE|PREAUTH) \[([^\] ]+)(?: ([^\]]*))?\]",
                 line, re.I)
    if not m:
        return None
    return m.group(1).upper(), m.group(2)


def expand_uidset(s):
    """'1:3,7' -> [1, 2, 3, 7] (ranges in either order, no '*')."""
    out = []
    for part in s.split(","):
        if ":" in part:
            a, b = (int(x) for x in part.split(":"))
            lo, hi = min(a, b), max(a, b)
            out.extend(range(lo, hi + 1))
        else:
            out.append(int(part))
    return out


def appenduid(resp):
    """(uidvalidity, [uids]) from a tagged OK [APPENDUID v set]."""
    code = resp_code(resp.tagged or "")
    assert code and code[0] == "APPENDUID", \
        f"no APPENDUID in {resp.tagged!r} ({resp.lines!r})"
    m = re.match(r"^(\d+) ([\d:,]+)$", code[1] or "")
    assert m, f"bad APPENDUID syntax: {resp.tagged!r}"
    return int(m.group(1)), expand_uidset(m.group(2))


def copyuid(line):
    """(uidvalidity, [src uids], [dst uids]) from a [COPYUID v s d] line."""
    code = resp_code(line or "")
    assert code and code[0] == "COPYUID", f"no COPYUID in {line!r}"
    m = re.match(r"^(\d+) ([\d:,]+) ([\d:,]+)$", code[1] or "")
    assert m, f"bad COPYUID syntax: {line!r}"
    return int(m.group(1)), expand_uidset(m.group(2)), \
        expand_uidset(m.group(3))


class SelectInfo:
    """What SELECT/EXAMINE said, parsed strictly."""

    def __init__(self, resp):
        self.resp = resp
        self.flags = None
        self.permanentflags = None
        self.exists = None
        self.recent = None
        self.unseen = None
        self.uidvalidity = None
        self.uidnext = None
        self.access = None
        for ln in resp.untagged:
            m = re.match(r"^\* FLAGS \(([^()]*)\)$", ln, re.I)
            if m:
                assert self.flags is None, f"FLAGS twice: {resp.lines!r}"
                self.flags = m.group(1).split()
                continue
            m = re.match(r"^\* (\d+) (EXISTS|RECENT)$", ln, re.I)
            if m:
                setattr(self, m.group(2).lower(), int(m.group(1)))
                continue
            code = resp_code(ln)
            if code is None:
                continue
            name, args = code
            if name == "PERMANENTFLAGS":
                mm = re.match(r"^\(([^()]*)\)$", args or "")
                assert mm, f"bad PERMANENTFLAGS: {ln!r}"
                self.permanentflags = mm.group(1).split()
            elif name in ("UNSEEN", "UIDVALIDITY", "UIDNEXT"):
                assert re.match(r"^\d+$", args or ""), f"bad {name}: {ln!r}"
                setattr(self, name.lower(), int(args))
        code = resp_code(resp.tagged or "")
        if code:
            self.access = code[0]

    def __repr__(self):
        return f"SelectInfo({self.resp.lines!r})"


def _client_append(self, mailbox, msg, flags=None, date=None, sync=False):
    """APPEND one message (a LITERAL+ literal unless sync) -> Response."""
    if isinstance(msg, str):
        msg = msg.encode()
    tag = self.next_tag()
    head = f"{tag} APPEND {quote(mailbox)}"
    if flags is not None:
        head += f" ({flags})" if not flags.startswith("(") else f" {flags}"
    if date is not None:
        head += f' "{date}"'
    if sync:
        self.send(f"{head} {{{len(msg)}}}\r\n")
        r = self.read_response(tag)
        if r.continuation is None:
            return r
        self.send(msg + b"\r\n")
        return self.read_response(tag)
    self.send(f"{head} {{{len(msg)}+}}\r\n".encode() + msg + b"\r\n")
    return self.read_response(tag)


def _client_select(self, mailbox, examine=False):
    """SELECT (or EXAMINE) -> SelectInfo (whatever the status)."""
    r = self.cmd(f"{'EXAMINE' if examine else 'SELECT'} {quote(mailbox)}")
    return SelectInfo(r)


def _client_uids(self):
    """seq -> uid of the selected mailbox, via FETCH 1:* UID (empty when
    the mailbox has no messages; uses UID FETCH so it is never BAD)."""
    r = self.ok("UID FETCH 1:* (UID)")
    return {seq: int(d["UID"]) for seq, d in fetches(r)}


Client.append = _client_append
Client.select = _client_select
Client.uids = _client_uids


def _server_kill9(self):
    """SIGKILL the server, wait for it and its log readers; the log so far
    must hold no sanitizer report."""
    assert self.running(), "server not running"
    self.proc.send_signal(signal.SIGKILL)
    self.wait_exit()
    self.assert_no_sanitizer_errors()


def _server_restart(self, extra_args=None):
    """Start the server again on the same data dir and config after it
    exited (stop() or kill9()); it listens on new ports. The previous
    runs' log lines move to self.old_log."""
    assert not self.running(), "restart() of a running server"
    if self.proc is not None:
        self.wait_exit()
    with self._cond:
        self.old_log = getattr(self, "old_log", []) + self.log
        self.log = []
        self.out = []
    self._threads = []
    self.listeners = []
    self.all_listeners = []
    self.imap_port = self.imaps_port = None
    self.pop3_port = self.pop3s_port = None
    self.lmtp_port = self.lmtp_socket = None
    return self.start(extra_args)


def _server_user_dir(self, user):
    """DATA/mail/USER, where the local store keeps index.db and Maildir."""
    return self.data / "mail" / user


RoostServer.kill9 = _server_kill9
RoostServer.restart = _server_restart
RoostServer.user_dir = _server_user_dir


def maildir_files(user_dir):
    """{'cur': [...], 'new': [...], 'tmp': [...]} file paths in every
    Maildir folder (INBOX and the .Name Maildir++ folders) of a user."""
    out = {"cur": [], "new": [], "tmp": []}
    root = Path(user_dir) / "Maildir"
    if not root.is_dir():
        return out
    folders = [root] + [p for p in root.iterdir()
                        if p.is_dir() and p.name.startswith(".")]
    for f in folders:
        for sub in out:
            d = f / sub
            if d.is_dir():
                out[sub].extend(p for p in d.iterdir() if p.is_file())
    return out


def message_file_count(user_dir):
    """Message files (cur + new) of a user; tmp/ is asserted empty."""
    files = maildir_files(user_dir)
    assert not files["tmp"], f"files left in tmp/: {files['tmp']}"
    return len(files["cur"]) + len(files["new"])
