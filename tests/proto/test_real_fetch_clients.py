"""Real clients fetching by UID (issue 4): getmail6 (SimpleIMAPRetriever
and SimpleIMAPSSLRetriever into a Maildir, UIDs remembered in its oldmail
file, delete = true) and curl (imap:// URLs with ;UID=, ;SECTION=,
;PARTIAL= and ?SEARCH). Whole-message curl fetches and listing are in
test_sync_clients.py; this file adds sections and search."""

import email.parser
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from roost import appenduid, fetches, make_message  # noqa: E402

CORPUS = Path(__file__).resolve().parents[1] / "mail-corpus"
GETMAIL = shutil.which("getmail") or "/usr/bin/getmail"
CURL = shutil.which("curl") or "/usr/bin/curl"

# corpus messages getmail and curl fetch (nul-body.eml cannot be APPENDed)
CORPUS_MSGS = ["alternative-in-mixed", "rfc822-twice", "charsets",
               "base64-attachment", "long-line", "envelope",
               "eight-bit-header", "header-only", "broken-boundaries"]


def require(tool):
    if not os.path.isfile(tool) or not os.access(tool, os.X_OK):
        pytest.skip(f"{tool} is not installed")


def corpus_msg(name):
    return (CORPUS / f"{name}.eml").read_bytes()


def append_all(c, mailbox, msgs):
    """APPEND each message; [(uid, bytes)]."""
    out = []
    for m in msgs:
        r = c.append(mailbox, m)
        assert r.status == "OK", r.lines
        out.append((appenduid(r)[1][0], m))
    return out


def flags_by_uid(c, mailbox="INBOX"):
    c.ok(f'EXAMINE "{mailbox}"')
    return {int(d["UID"]): {f.lower() for f in d["FLAGS"]}
            for _, d in fetches(c.ok("UID FETCH 1:* (UID FLAGS)"))}


# ----------------------------------------------------------------------
# getmail6

class Getmail:
    """A getmail directory with one rc file, delivering to a Maildir.
    getmail refuses to deliver as root: run as root, it delivers as
    nobody (destination user =) into a Maildir nobody owns, in a
    directory of its own under /tmp (pytest's tmp_path is root's only)
    that remove() deletes."""

    def __init__(self, base, user, port, ssl=False, cafile=None,
                 delete=False, mailboxes=("INBOX",)):
        self.dir = Path(base) / "getmail"
        self.dir.mkdir(parents=True)
        self.as_user = None
        self.top = None
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            self.as_user = "nobody"
            self.top = Path(tempfile.mkdtemp(prefix="roost-getmail-"))
            os.chown(self.top, nobody.pw_uid, nobody.pw_gid)
            self.maildir = self.top / "Maildir"
        else:
            self.maildir = Path(base) / "Maildir"
        for sub in ("cur", "new", "tmp"):
            (self.maildir / sub).mkdir(parents=True)
            if self.as_user:
                os.chown(self.maildir / sub, nobody.pw_uid, nobody.pw_gid)
        if self.as_user:
            os.chown(self.maildir, nobody.pw_uid, nobody.pw_gid)
        retr = "SimpleIMAPSSLRetriever" if ssl else "SimpleIMAPRetriever"
        boxes = "(" + "".join(f'"{b}", ' for b in mailboxes) + ")"
        lines = [
            "[retriever]",
            f"type = {retr}",
            "server = 127.0.0.1",
            f"port = {port}",
            f"username = {user.name}",
            f"password = {user.password}",
            f"mailboxes = {boxes}",
            "record_mailbox = false",
        ]
        if cafile:
            lines += [f"ca_certs = {cafile}",
                      "ssl_cert_hostname = localhost"]
        lines += [
            "",
            "[destination]",
            "type = Maildir",
            f"path = {self.maildir}/",
        ] + ([f"user = {self.as_user}"] if self.as_user else []) + [
            "",
            "[options]",
            "read_all = false",
            f"delete = {'true' if delete else 'false'}",
            "delivered_to = false",
            "received = false",
            "verbose = 2",
            "",
        ]
        self.rc = self.dir / "getmailrc"
        self.rc.write_text("\n".join(lines))

    def run(self, srv=None):
        """Run getmail once; it must succeed. A run that hangs is killed
        after 120 s (a guard, not a measurement) and reported with its
        output so far and the tail of srv's log."""
        mark = srv.mark() if srv else 0
        try:
            r = subprocess.run([GETMAIL, "--getmaildir", str(self.dir),
                                "--rcfile", str(self.rc)],
                               capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired as e:
            log = "\n".join(srv.log[mark:][-40:]) if srv else ""
            pytest.fail(f"getmail hung:\nstdout: {e.stdout!r}\n"
                        f"stderr: {e.stderr!r}\nserver log:\n{log}")
        assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
        return r

    def delivered(self):
        """The messages in the Maildir, as getmail wrote them."""
        files = sorted(p for sub in ("new", "cur")
                       for p in (self.maildir / sub).iterdir())
        return [p.read_bytes() for p in files]

    def remove(self):
        if self.top is not None:
            shutil.rmtree(self.top)
            self.top = None

    def oldmail(self):
        """The message ids (UIDVALIDITY/UID) getmail's oldmail file
        holds; one line each, the id then NUL and a timestamp."""
        files = list(self.dir.glob("oldmail-*"))
        assert len(files) == 1, files
        return {ln.split("\0")[0] for ln in
                files[0].read_text().splitlines() if ln}


@pytest.fixture
def getmail(tmp_path):
    """make(user, port, ...) -> Getmail; their Maildirs are removed at
    teardown."""
    require(GETMAIL)
    made = []

    def make(user, port, **kw):
        gm = Getmail(tmp_path / f"g{len(made)}", user, port, **kw)
        made.append(gm)
        return gm

    yield make
    for gm in made:
        gm.remove()


def unwrap_getmail(data):
    """The message getmail received, from the file it wrote: with
    delivered_to, received and record_mailbox off it writes a
    Return-Path line (from the message's Return-Path, Sender or From)
    and then the message, with native (LF) line ends."""
    m = re.match(rb"^Return-Path: <[^<>\n]*>\n", data)
    assert m, data[:200]
    return data[m.end():]


def lf(msg):
    return msg.replace(b"\r\n", b"\n")


def as_getmail_writes(msg):
    """What getmail writes after the Return-Path line for msg as
    received: it parses the message with Python's email package (compat32)
    and writes it back with LF line ends (getmailcore/message.py
    Message.flatten). For most messages that is the message itself
    with LF ends; the email package rewrites a few (a message/rfc822
    part gets a line end after its close delimiter)."""
    m = email.parser.BytesParser().parsebytes(msg)
    del m["Return-Path"]
    return m.as_bytes(policy=m.policy.clone(linesep="\n"))


def assert_delivered(gm, msgs):
    got = sorted(unwrap_getmail(d) for d in gm.delivered())
    assert got == sorted(as_getmail_writes(m) for m in msgs)


def getmail_msgs():
    plain = [make_message(f"getmail {i}", body=f"Line {i}.\r\n" * (i + 1))
             for i in range(3)]
    return plain + [corpus_msg(n) for n in CORPUS_MSGS]


def test_getmail_fetches_every_byte_then_nothing_new(mail_user, getmail):
    c = mail_user.connect()
    msgs = getmail_msgs()
    # getmail writes most messages back as they were (LF ends aside);
    # the email package rewrites rfc822-twice, header-only (it adds the
    # missing blank line) and broken-boundaries
    same = [m for m in msgs if as_getmail_writes(m) == lf(m)]
    assert len(same) >= len(msgs) - 3, [m[:60] for m in msgs
                                        if m not in same]
    sent = append_all(c, "INBOX", msgs)
    gm = getmail(mail_user, mail_user.srv.imap_port)
    r = gm.run(mail_user.srv)
    assert_delivered(gm, [m for _, m in sent])
    assert re.search(rf"{len(sent)} messages? \(\d+ bytes\) retrieved",
                     r.stdout + r.stderr), r.stdout + r.stderr
    # getmail remembers UIDVALIDITY/UID of every message it retrieved
    info = c.select("INBOX")
    assert gm.oldmail() == {f"{info.uidvalidity}/{uid}" for uid, _ in sent}
    # it fetched with BODY.PEEK[]: nothing became \Seen, nothing deleted
    flags = flags_by_uid(c)
    assert sorted(flags) == [u for u, _ in sent]
    assert all(r"\seen" not in f and r"\deleted" not in f
               for f in flags.values()), flags

    # second run: nothing new
    r = gm.run(mail_user.srv)
    assert len(gm.delivered()) == len(sent)
    assert re.search(r"0 messages? \(0 bytes\) retrieved",
                     r.stdout + r.stderr), r.stdout + r.stderr

    # one more message: only it is retrieved
    extra = make_message("getmail late")
    (uid, _), = append_all(c, "INBOX", [extra])
    r = gm.run(mail_user.srv)
    assert_delivered(gm, [m for _, m in sent] + [extra])
    assert gm.oldmail() == {f"{info.uidvalidity}/{u}"
                            for u, _ in sent + [(uid, extra)]}


def test_getmail_delete_removes_from_server(mail_user, getmail):
    c = mail_user.connect()
    c.ok("CREATE Lists")
    keep = append_all(c, "INBOX", [make_message("stays")])
    sent = append_all(c, "Lists", [make_message(f"go {i}") for i in
                                   range(4)] + [corpus_msg("charsets")])
    gm = getmail(mail_user, mail_user.srv.imap_port, delete=True,
                 mailboxes=("Lists",))
    gm.run(mail_user.srv)
    assert_delivered(gm, [m for _, m in sent])
    info = c.select("Lists")
    assert info.exists == 0, info
    assert c.uids() == {}
    # INBOX was not named: untouched
    assert list(flags_by_uid(c)) == [keep[0][0]]
    # and a second run finds nothing to retrieve or delete
    gm.run(mail_user.srv)
    assert len(gm.delivered()) == len(sent)


def test_getmail_ssl_retriever(mail_user, getmail):
    """SimpleIMAPSSLRetriever on the implicit-TLS port, verifying the
    server's certificate (and its host name, localhost)."""
    srv = mail_user.srv
    assert srv.imaps_port, "the test server has no TLS listener"
    c = mail_user.connect()
    sent = append_all(c, "INBOX", [make_message("over tls"),
                                   corpus_msg("base64-attachment")])
    gm = getmail(mail_user, srv.imaps_port, ssl=True, cafile=srv.cert)
    gm.run(mail_user.srv)
    assert_delivered(gm, [m for _, m in sent])
    gm.run(mail_user.srv)
    assert len(gm.delivered()) == len(sent)


def test_getmail_ssl_refuses_wrong_certificate(mail_user, getmail,
                                              tmp_path):
    """With a CA file that did not sign the server's certificate getmail
    must fail and retrieve nothing (so the TLS test above means
    something)."""
    from roost import make_cert
    other_cert, _ = make_cert(tmp_path / "other-ca")
    c = mail_user.connect()
    append_all(c, "INBOX", [make_message("not for you")])
    gm = getmail(mail_user, mail_user.srv.imaps_port, ssl=True,
                 cafile=other_cert)
    r = subprocess.run([GETMAIL, "--getmaildir", str(gm.dir),
                        "--rcfile", str(gm.rc)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0, (r.stdout, r.stderr)
    assert gm.delivered() == []
    assert "CERTIFICATE_VERIFY_FAILED" in r.stderr, (r.stdout, r.stderr)
    # the message is still there, not \Seen
    assert [f - {r"\recent"} for f in flags_by_uid(c).values()] == [set()]


# ----------------------------------------------------------------------
# curl: sections, partial fetches and search by URL (RFC 5092 as curl
# implements it: ;UID= ;SECTION= ;PARTIAL= and ?<search>)

def curl(*args, timeout=60):
    require(CURL)
    return subprocess.run([CURL, "-s", "-S", "--max-time", "30", *args],
                          capture_output=True, timeout=timeout)


def curl_v(*args, timeout=60):
    """curl with -v: (CompletedProcess, the commands it sent)."""
    r = curl("-v", *args, timeout=timeout)
    sent = re.findall(r"^> (.*?)\r?$", r.stderr.decode("utf-8", "replace"),
                      re.M)
    return r, sent


@pytest.fixture
def curl_box(mail_user):
    """INBOX with three corpus messages; (base URL, -u value, {uid: msg},
    client)."""
    c = mail_user.connect()
    msgs = [corpus_msg("alternative-in-mixed"), corpus_msg("rfc822-twice"),
            corpus_msg("charsets")]
    sent = dict(append_all(c, "INBOX", msgs))
    base = f"imap://127.0.0.1:{mail_user.srv.imap_port}"
    return base, f"{mail_user.name}:{mail_user.password}", sent, c


def split_header(msg):
    i = msg.index(b"\r\n\r\n") + 4
    return msg[:i], msg[i:]


def test_curl_fetch_corpus_by_uid(curl_box):
    base, auth, sent, c = curl_box
    for uid, msg in sent.items():
        r, cmds = curl_v(f"{base}/INBOX;UID={uid}", "-u", auth)
        assert r.returncode == 0, r.stderr
        assert r.stdout == msg
        assert any(re.match(rf"A\d+ UID FETCH {uid} BODY\[\]$", x)
                   for x in cmds), cmds


@pytest.mark.parametrize("section,part", [
    ("HEADER", lambda m: split_header(m)[0]),
    ("TEXT", lambda m: split_header(m)[1]),
    ("1", None),
    ("2", None),
    ("2.2", None),
    ("2.2.1", None),
    ("1.MIME", None),
    ("2.HEADER", None),
    ("2.2.TEXT", None),
])
def test_curl_section(curl_box, section, part):
    """;SECTION= fetches BODY[section]: compared with what the server
    answers to BODY.PEEK[section] on a raw connection, and for HEADER and
    TEXT with the message itself."""
    base, auth, sent, c = curl_box
    uid = 2                       # rfc822-twice.eml: parts at every depth
    msg = sent[uid]
    c.ok("EXAMINE INBOX")
    r = c.ok(f"UID FETCH {uid} (BODY.PEEK[{section}])")
    (_, d), = fetches(r)
    want = d[f"BODY[{section}]"].encode("utf-8")
    assert want, r.lines
    if part is not None:
        assert want == part(msg)
    r, cmds = curl_v(f"{base}/INBOX;UID={uid};SECTION={section}", "-u", auth)
    assert r.returncode == 0, r.stderr
    assert any(re.match(rf"A\d+ UID FETCH {uid} BODY\[{re.escape(section)}\]$",
                        x) for x in cmds), cmds
    assert r.stdout == want


def test_curl_section_of_fixed_parts(curl_box):
    """Known bytes of known parts: rfc822-twice.eml part 2.2.1 is
    "Hi there." and part 1 "See below."; charsets.eml part 2 is its
    utf-8 line."""
    base, auth, sent, c = curl_box
    for uid, section, want in [
            (2, "2.2.1", b"Hi there."),
            (2, "1", b"See below."),
            (3, "2", "Gr\u00fc\u00dfe aus K\u00f6ln \u2014 \u65e5\u672c"
                     "\u8a9e, \u0440\u0443\u0441\u0441\u043a\u0438\u0439."
                     "".encode())]:
        r = curl(f"{base}/INBOX;UID={uid};SECTION={section}", "-u", auth)
        assert r.returncode == 0, r.stderr
        assert r.stdout == want, (uid, section, r.stdout)


@pytest.mark.parametrize("partial", ["0.100", "10.25", "900.1000"])
def test_curl_partial(curl_box, partial):
    """;PARTIAL=o.n fetches BODY[]<o.n>: n bytes from offset o, fewer at
    the end of the message."""
    base, auth, sent, c = curl_box
    uid = 1
    msg = sent[uid]
    o, n = (int(x) for x in partial.split("."))
    r, cmds = curl_v(f"{base}/INBOX;UID={uid};PARTIAL={partial}", "-u", auth)
    assert r.returncode == 0, r.stderr
    assert any(re.match(rf"A\d+ UID FETCH {uid} BODY\[\]<{o}\.{n}>$", x)
               for x in cmds), cmds
    assert r.stdout == msg[o:o + n]
    assert 0 < len(r.stdout) <= n


def test_curl_section_with_partial(curl_box):
    base, auth, sent, c = curl_box
    text = split_header(sent[1])[1]
    r = curl(f"{base}/INBOX;UID=1;SECTION=TEXT;PARTIAL=4.30", "-u", auth)
    assert r.returncode == 0, r.stderr
    assert r.stdout == text[4:34]


def test_curl_fetch_sets_seen_only_for_that_uid(curl_box):
    base, auth, sent, c = curl_box
    r = curl(f"{base}/INBOX;UID=2;SECTION=1", "-u", auth)
    assert r.returncode == 0, r.stderr
    flags = flags_by_uid(c)
    assert [u for u, f in sorted(flags.items()) if r"\seen" in f] == [2], \
        flags


@pytest.mark.parametrize("query,uids", [
    ("SUBJECT%20%22Charsets%20%E2%80%94%22", [3]),  # in an encoded-word
    ("SUBJECT%20Report", [1]),
    ("SUBJECT%20fwd", [2]),
    ("FROM%20alice@example.org", [1]),
    ("TEXT%20%22Hi%20there%22", [2]),
    ("BODY%20Forwarding", [2]),
    ("HEADER%20Message-ID%20charsets@example.org", [3]),
    ("LARGER%20900", [1]),
    ("NOT%20SUBJECT%20report", [2, 3]),
    ("ALL", [1, 2, 3]),
    ("SUBJECT%20nothing-matches", []),
])
def test_curl_search(curl_box, query, uids):
    """imap://host/INBOX?<search> sends SEARCH <search> and prints the
    untagged SEARCH response (sequence numbers, here equal to UIDs)."""
    base, auth, sent, c = curl_box
    r, cmds = curl_v(f"{base}/INBOX?{query}", "-u", auth)
    assert r.returncode == 0, r.stderr
    assert any(re.match(r"A\d+ SEARCH ", x) for x in cmds), cmds
    lines = r.stdout.decode().splitlines()
    assert len(lines) == 1 and re.match(r"^\* SEARCH( \d+)*\r?$", lines[0]), \
        lines
    assert [int(x) for x in lines[0].split()[2:]] == uids, lines


def test_curl_search_after_expunge_is_by_sequence(curl_box):
    """curl's ?SEARCH answers sequence numbers: after UID 1 is expunged,
    UID 3 is message 2."""
    base, auth, sent, c = curl_box
    c.ok("SELECT INBOX")
    c.ok(r"UID STORE 1 +FLAGS (\Deleted)")
    c.ok("EXPUNGE")
    r = curl(f"{base}/INBOX?HEADER%20Message-ID%20charsets@example.org",
             "-u", auth)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().split() == ["*", "SEARCH", "2"]


def test_curl_missing_section_gives_nothing(curl_box):
    """A part that does not exist: the server answers NIL, curl gets no
    data; the connection and the mailbox are fine afterwards."""
    base, auth, sent, c = curl_box
    r = curl(f"{base}/INBOX;UID=1;SECTION=7", "-u", auth)
    assert r.stdout == b""
    r = curl(f"{base}/INBOX;UID=1;SECTION=1.1", "-u", auth)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"Hello Bob,\r\nsee the report."
