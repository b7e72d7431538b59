"""Helpers for the LMTP and delivery tests: a raw LMTP client that returns
exact replies (code, enhanced code, text) and an IMAP reader of what was
delivered, byte for byte (imaplib)."""

import imaplib
import re

from line_client import LineClient, connect
from roost import DEFAULT_TIMEOUT

REPLY_RE = re.compile(rb"^(\d{3})([ -])(.*)$")


class Reply:
    def __init__(self, lines):
        self.lines = lines                 # [(code, text)]
        self.code = lines[-1][0]
        self.text = lines[-1][1]

    @property
    def enhanced(self):
        """The enhanced status code (RFC 2034) of the last line."""
        m = re.match(r"^(\d\.\d{1,3}\.\d{1,3}) ", self.text)
        return m.group(1) if m else None

    def __repr__(self):
        return f"Reply({self.lines!r})"


class LmtpClient(LineClient):
    """A raw LMTP client over TCP (port) or a Unix socket (path)."""

    def __init__(self, port=None, path=None, timeout=DEFAULT_TIMEOUT):
        self.sock = connect(port=port, path=path, timeout=timeout)
        self.buf = b""
        self.greeting = self.reply()

    def reply(self):
        lines = []
        while True:
            line = self._line()
            m = REPLY_RE.match(line)
            assert m, f"malformed reply line {line!r}"
            lines.append((int(m.group(1)), m.group(3).decode()))
            if m.group(2) == b" ":
                return Reply(lines)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def lhlo(self, name="mx.test.example"):
        r = self.cmd(f"LHLO {name}")
        assert r.code == 250, r
        return r

    def transaction(self, sender, rcpts, message):
        """MAIL, RCPTs, DATA and the (dot-stuffed) message; returns the
        RCPT replies and the data replies (one per accepted RCPT)."""
        r = self.cmd(f"MAIL FROM:<{sender}>")
        assert r.code == 250, r
        rr = [self.cmd(f"RCPT TO:<{a}>") for a in rcpts]
        accepted = sum(1 for r in rr if r.code == 250)
        r = self.cmd("DATA")
        if accepted == 0:
            assert r.code == 503, r
            return rr, []
        assert r.code == 354, r
        self.send(stuff(message) + b".\r\n")
        return rr, [self.reply() for _ in range(accepted)]

    def read_closed(self):
        """Replies until the server closes the connection."""
        out = []
        try:
            while True:
                out.append(self.reply())
        except (ConnectionError, OSError):
            return out


def stuff(message):
    """Dot-stuff message (bytes with CR LF line ends) for DATA; a
    message not ending in CR LF gets one."""
    if isinstance(message, str):
        message = message.encode()
    if not message.endswith(b"\r\n"):
        message += b"\r\n"
    lines = message.split(b"\r\n")[:-1]
    return b"".join((b"." + ln if ln.startswith(b".") else ln) + b"\r\n"
                    for ln in lines)


def imap_messages(srv, user, password, mailbox="INBOX"):
    """Every message of user's mailbox as bytes (BODY.PEEK[]), in UID
    order."""
    m = imaplib.IMAP4("127.0.0.1", srv.imap_port)
    try:
        m.login(user, password)
        typ, _ = m.select(f'"{mailbox}"', readonly=True)
        assert typ == "OK", (mailbox, typ)
        typ, data = m.uid("FETCH", "1:*", "(BODY.PEEK[])")
        assert typ == "OK", data
        return [d[1] for d in data if isinstance(d, tuple)]
    finally:
        m.logout()


def split_delivered(msg):
    """(trace header lines, rest): the Return-Path, Delivered-To and
    Received lines roost put in front, and the message as sent."""
    head = []
    rest = msg
    while True:
        m = re.match(rb"^(Return-Path|Delivered-To|Received): "
                     rb"[^\r\n]*\r\n(?:\t[^\r\n]*\r\n)*", rest)
        if not m:
            return head, rest
        head.append(m.group(0))
        rest = rest[m.end():]
