"""FETCH of the message model (issue 4), byte for byte on the raw wire,
for the hand-written corpus in tests/mail-corpus/*.eml.

Each message is APPENDed to a mailbox of its own and EXAMINEd (so no
FETCH sets \\Seen); then every entry of tests/mail-corpus/expected/
NAME.txt is one test: `FETCH 1 (ITEM)` must answer exactly the untagged
bytes the entry holds, and a tagged status (and response code) as the
entry says. The expected answers were derived from RFC 3501 (sections
6.4.5, 7.4.2 and 9), RFC 3516 (BINARY) and the message, and cross-checked
against Dovecot 2.3.19; `python3 tests/proto/test_fetch_corpus.py
--compare HOST:PORT USER PASSWORD` prints where another server's answers
differ from the files (see the end of this file).

Format of an expected file (also described at its top):
  - lines before the first `=== ` line are comments;
  - `=== ITEM` starts an entry: the FETCH item as sent;
  - then directive lines: `@status NO [CODE]` (the default is `@status
    OK`; only the status word and the response code are compared),
    `@xfail REASON` (a known roost bug: the test is expected to fail,
    strictly), `@note TEXT` (for readers);
  - then the untagged response, one file line per wire line: every line
    ends in CRLF on the wire unless it ends in a lone backslash; `\\\\`
    is a backslash and `\\xHH` any byte (used for 8-bit and control
    bytes, and for a leading `=` or `@` that would look like a directive).

Also here: the \\Seen rule of RFC 3501 6.4.5, messages with NUL bytes,
and FETCH of parts that do not exist.
"""

import os
import re
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from roost import Client, fetches, quote  # noqa: E402

CORPUS = Path(__file__).resolve().parents[1] / "mail-corpus"
EXPECTED = CORPUS / "expected"


# ----------------------------------------------------------------------
# the expected-answer files

def unescape_line(line):
    """One file line -> its wire bytes (CRLF added unless the line ends
    in a lone backslash)."""
    out = bytearray()
    i = 0
    n = len(line)
    eol = True
    while i < n:
        c = line[i]
        if c == "\\":
            if i + 1 == n:
                eol = False
                i += 1
                continue
            nxt = line[i + 1]
            if nxt == "\\":
                out += b"\\"
                i += 2
            elif nxt == "x":
                out.append(int(line[i + 2:i + 4], 16))
                i += 4
            else:
                raise ValueError(f"bad escape in {line!r}")
        else:
            out += c.encode("ascii")
            i += 1
    if eol:
        out += b"\r\n"
    return bytes(out)


def escape_bytes(data):
    """Wire bytes -> file text (the inverse of unescape_line per line)."""
    lines = []
    cur = []
    i = 0
    n = len(data)
    while i < n:
        b = data[i]
        if b == 0x0D and i + 1 < n and data[i + 1] == 0x0A:
            lines.append("".join(cur))
            cur = []
            i += 2
            continue
        if b == 0x5C:
            cur.append("\\\\")
        elif 0x20 <= b < 0x7F:
            cur.append(chr(b))
        else:
            cur.append(f"\\x{b:02x}")
        if b == 0x0A:  # a bare LF: end the file line, but no CRLF
            lines.append("".join(cur) + "\\")
            cur = []
        i += 1
    if cur:
        lines.append("".join(cur) + "\\")
    fixed = []
    for ln in lines:
        if ln.startswith("=== ") or ln.startswith("@") or ln.startswith("#"):
            ln = f"\\x{ord(ln[0]):02x}" + ln[1:]
        fixed.append(ln)
    return "\n".join(fixed) + ("\n" if fixed else "")


class Entry:
    def __init__(self, item, lineno):
        self.item = item
        self.lineno = lineno
        self.status = "OK"
        self.code = None
        self.xfail = None
        self.notes = []
        self.lines = []

    @property
    def expected(self):
        return b"".join(unescape_line(ln) for ln in self.lines)


def load_expected(path):
    """Entries of one expected file, in order."""
    entries = []
    cur = None
    for no, raw in enumerate(Path(path).read_text("ascii").split("\n"), 1):
        if raw.startswith("=== "):
            cur = Entry(raw[4:], no)
            entries.append(cur)
            continue
        if cur is None:
            continue            # the comment block
        if not cur.lines and raw.startswith("@"):
            word, _, rest = raw[1:].partition(" ")
            if word == "status":
                m = re.match(r"^(OK|NO|BAD)(?: \[([^\]]+)\])?$", rest)
                assert m, f"{path}:{no}: bad @status"
                cur.status, cur.code = m.group(1), m.group(2)
            elif word == "xfail":
                cur.xfail = rest
            elif word == "note":
                cur.notes.append(rest)
            else:
                raise AssertionError(f"{path}:{no}: unknown directive")
            continue
        cur.lines.append(raw)
    for e in entries:
        # the file's last newline is not a wire line
        while e.lines and e.lines[-1] == "":
            e.lines.pop()
    return entries


def corpus_names():
    return sorted(p.stem for p in EXPECTED.glob("*.txt"))


def corpus_params():
    out = []
    for name in corpus_names():
        for e in load_expected(EXPECTED / f"{name}.txt"):
            marks = [pytest.mark.xfail(strict=True, reason=e.xfail)] \
                if e.xfail else []
            out.append(pytest.param(name, e, marks=marks,
                                    id=f"{name}:{e.item}"))
    return out


# ----------------------------------------------------------------------
# raw IMAP: exact bytes of untagged responses

def read_raw_response(c, tag):
    """(untagged bytes, tagged line) for tag, reading c's socket directly:
    literals ({n} and BINARY's ~{n}) are taken by count, so any byte in
    them is kept."""
    out = bytearray()
    while True:
        while b"\r\n" not in c.buf:
            c._fill()
        line, rest = c.buf.split(b"\r\n", 1)
        c.buf = rest
        if line.startswith(tag.encode() + b" "):
            return bytes(out), line.decode("utf-8", "replace")
        out += line + b"\r\n"
        while True:
            m = re.search(rb"~?\{(\d+)\}$", line)
            if not m:
                break
            n = int(m.group(1))
            while len(c.buf) < n:
                c._fill()
            out += c.buf[:n]
            c.buf = c.buf[n:]
            while b"\r\n" not in c.buf:
                c._fill()
            line, c.buf = c.buf.split(b"\r\n", 1)
            out += line + b"\r\n"


def raw_cmd(c, text):
    tag = c.next_tag()
    c.send(f"{tag} {text}\r\n")
    return read_raw_response(c, tag)


def tagged_status(tagged):
    """('OK'|'NO'|'BAD', response code atom or None) of a tagged line."""
    m = re.match(r"^\S+ (OK|NO|BAD)(?: \[([^\] ]+)[^\]]*\])?", tagged, re.I)
    assert m, f"bad tagged line {tagged!r}"
    return m.group(1).upper(), (m.group(2).upper() if m.group(2) else None)


def append_raw(c, mailbox, data):
    """APPEND data (a LITERAL+ literal) -> the Response."""
    tag = c.next_tag()
    c.send(f"{tag} APPEND {quote(mailbox)} {{{len(data)}+}}\r\n".encode()
           + data + b"\r\n")
    return c.read_response(tag)


# ----------------------------------------------------------------------
# the corpus: one mailbox per message, shared by the tests of this module

class _Corpus:
    """One user of the shared mail server with every corpus message in a
    mailbox of its own (named after the message); made again if the
    shared server was replaced (after a crash charged to some test)."""

    def __init__(self):
        self.srv = None
        self.client = None
        self.sizes = {}

    def get(self, srv, shared):
        if self.srv is not srv:
            if self.client is not None:
                self.client.close()
            user = shared.take_user()
            c = srv.connect()
            c.login(user, "mail-pw")
            for name in corpus_names():
                data = (CORPUS / f"{name}.eml").read_bytes()
                c.ok(f"CREATE {quote(name)}")
                r = append_raw(c, name, data)
                assert r.status == "OK", (name, r.lines)
                self.sizes[name] = len(data)
            self.srv, self.client, self.selected = srv, c, None
        return self

    def examine(self, name):
        if self.selected != name:
            self.client.ok(f"EXAMINE {quote(name)}")
            self.selected = name
        return self.client


@pytest.fixture(scope="module")
def _corpus():
    corpus = _Corpus()
    yield corpus
    if corpus.client is not None:
        corpus.client.close()


@pytest.fixture
def corpus(mail_server, _shared_mail_server, _corpus):
    return _corpus.get(mail_server, _shared_mail_server)


def test_every_message_has_expected_answers():
    """Each corpus message has an expected file and each file a message;
    every file asks the items every message must answer."""
    emls = sorted(p.stem for p in CORPUS.glob("*.eml"))
    # nul-body.eml cannot be APPENDed (see test_nul_body_*)
    assert sorted(corpus_names() + ["nul-body"]) == emls
    must = {"ENVELOPE", "BODY", "BODYSTRUCTURE", "RFC822.SIZE", "BODY[]",
            "BODY[HEADER]", "BODY[TEXT]"}
    for name in corpus_names():
        items = [e.item for e in load_expected(EXPECTED / f"{name}.txt")]
        assert must <= set(items), (name, must - set(items))
        assert len(items) == len(set(items)), f"{name}: an item twice"
        assert any(re.match(r"BODY\[HEADER\.FIELDS \(", i) for i in items)
        assert any(re.match(r"BODY\[HEADER\.FIELDS\.NOT \(", i)
                   for i in items)
        assert any("]<" in i for i in items), f"{name}: no partial fetch"


@pytest.mark.parametrize("name,entry", corpus_params())
def test_fetch_item(corpus, name, entry):
    c = corpus.examine(name)
    untagged, tagged = raw_cmd(c, f"FETCH 1 ({entry.item})")
    status, code = tagged_status(tagged)
    assert (status, code) == (entry.status, entry.code), tagged
    assert untagged == entry.expected, (
        f"FETCH 1 ({entry.item}) of {name}.eml "
        f"(expected/{name}.txt line {entry.lineno}):\n"
        f"--- expected\n{escape_bytes(entry.expected)}"
        f"--- got\n{escape_bytes(untagged)}")


def test_rfc822_size_is_appended_size(corpus):
    """RFC822.SIZE of each message is the size of what was APPENDed
    (the corpus files with LF ends aside: those are stored with CRLF)."""
    for name in corpus_names():
        data = (CORPUS / f"{name}.eml").read_bytes()
        c = corpus.examine(name)
        (_, d), = fetches(c.ok("FETCH 1 (RFC822.SIZE)"))
        crlf = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        assert int(d["RFC822.SIZE"]) == len(crlf), name


def test_body_matches_appended_bytes(corpus):
    """BODY.PEEK[] is the appended message (CRLF-normalised), and
    HEADER + TEXT put together are BODY[]."""
    for name in corpus_names():
        data = (CORPUS / f"{name}.eml").read_bytes()
        data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        c = corpus.examine(name)
        got = {}
        for sec in ("", "HEADER", "TEXT"):
            un, tagged = raw_cmd(c, f"FETCH 1 (BODY.PEEK[{sec}])")
            assert tagged_status(tagged)[0] == "OK", tagged
            m = re.match(rb"^\* 1 FETCH \(BODY\[" + sec.encode() +
                         rb"\] \{(\d+)\}\r\n", un)
            assert m, un[:80]
            got[sec] = un[m.end():m.end() + int(m.group(1))]
            assert un[m.end() + int(m.group(1)):] == b")\r\n", un[-20:]
        assert got[""] == data, name
        assert got["HEADER"] + got["TEXT"] == data, name


# ----------------------------------------------------------------------
# \Seen (RFC 3501 6.4.5, RFC 3516 4.2): BODY[...] and BINARY[...] set it,
# and "if this causes the flags to change, they SHOULD be included as part
# of the FETCH responses"; the PEEK forms and everything else do not; on a
# mailbox opened with EXAMINE nothing changes.

SEEN_MSG = (CORPUS / "alternative-in-mixed.eml").read_bytes()
SETS_SEEN = ["BODY[]", "BODY[TEXT]", "BODY[HEADER]", "BODY[1.1]",
             "BODY[2.MIME]", "BODY[HEADER.FIELDS (Subject)]", "BODY[]<0.10>",
             "RFC822", "RFC822.TEXT", "BINARY[2]", "BINARY[1.1]<0.4>"]
KEEPS_UNSEEN = ["BODY.PEEK[]", "BODY.PEEK[TEXT]", "BODY.PEEK[1.1]",
                "BODY.PEEK[]<0.10>", "BINARY.PEEK[2]", "BINARY.SIZE[2]",
                "RFC822.HEADER", "RFC822.SIZE", "ENVELOPE", "BODYSTRUCTURE",
                "BODY", "INTERNALDATE", "UID"]


def flags_of(c, seq=1):
    (_, d), = fetches(c.ok(f"FETCH {seq} (FLAGS)"))
    return {f.lower() for f in d["FLAGS"]}


@pytest.fixture
def one_msg(imap):
    r = append_raw(imap, "INBOX", SEEN_MSG)
    assert r.status == "OK", r.lines
    return imap


@pytest.mark.parametrize("item", SETS_SEEN)
def test_fetch_sets_seen(one_msg, item):
    c = one_msg
    c.ok("SELECT INBOX")
    assert r"\seen" not in flags_of(c)
    r = c.ok(f"FETCH 1 ({item})")
    (seq, d), = fetches(r)
    assert "FLAGS" in d, f"{item}: \\Seen set but FLAGS not sent: {r.lines}"
    assert r"\seen" in {f.lower() for f in d["FLAGS"]}, r.lines
    assert r"\seen" in flags_of(c)


@pytest.mark.parametrize("item", KEEPS_UNSEEN)
def test_fetch_keeps_unseen(one_msg, item):
    c = one_msg
    c.ok("SELECT INBOX")
    r = c.ok(f"FETCH 1 ({item})")
    (seq, d), = fetches(r)
    assert "FLAGS" not in d, r.lines
    assert r"\seen" not in flags_of(c)
    c.ok("UNSELECT")
    c.ok("SELECT INBOX")
    assert r"\seen" not in flags_of(c)


@pytest.mark.parametrize("item", ["BODY[]", "BODY[TEXT]", "RFC822",
                                  "BINARY[2]"])
def test_examine_sets_nothing(one_msg, item):
    c = one_msg
    info = c.select("INBOX", examine=True)
    assert info.access == "READ-ONLY", info
    r = c.ok(f"FETCH 1 ({item})")
    (seq, d), = fetches(r)
    assert "FLAGS" not in d, r.lines
    assert r"\seen" not in flags_of(c)
    c.ok("SELECT INBOX")
    assert r"\seen" not in flags_of(c)


def test_uid_fetch_body_sets_seen_and_tells_others(one_msg, mail_user):
    c = one_msg
    c.ok("SELECT INBOX")
    other = mail_user.connect()
    other.ok("SELECT INBOX")
    (uid,) = c.uids().values()
    r = c.ok(f"UID FETCH {uid} (BODY[1.2])")
    (seq, d), = fetches(r)
    assert d["UID"] == str(uid) and r"\seen" in {
        f.lower() for f in d["FLAGS"]}, r.lines
    # the other session is told at its next command (RFC 3501 7.4.2)
    r = other.ok("NOOP")
    told = [d for _, d in fetches(r) if "FLAGS" in d]
    assert told and r"\seen" in {f.lower() for f in told[-1]["FLAGS"]}, \
        r.lines


# ----------------------------------------------------------------------
# NUL bytes: a literal may not hold one (RFC 3501 section 9: literal is
# CHAR8, %x01-ff), so such a message cannot be APPENDed as a literal; one
# that another program dropped into the Maildir can still be read, and
# BINARY sends it in a literal8 (RFC 3516).

NUL_MSG = (CORPUS / "nul-body.eml").read_bytes()


def test_nul_body_append_refused(imap):
    assert b"\0" in NUL_MSG
    r = append_raw(imap, "INBOX", NUL_MSG)
    assert r.status in ("NO", "BAD"), r.lines
    info = imap.select("INBOX")
    assert info.exists == 0, info


@pytest.fixture
def nul_box(mail_server, mail_user):
    """INBOX holding nul-body.eml, put into the Maildir behind the
    server's back (as an MDA would), and SELECTed."""
    c = mail_user.connect()
    c.ok("SELECT INBOX")
    maildir = mail_server.user_dir(mail_user.name) / "Maildir"
    name = f"{int(time.time())}.M1P{os.getpid()}.fetch-corpus"
    (maildir / "tmp" / name).write_bytes(NUL_MSG)
    os.rename(maildir / "tmp" / name, maildir / "new" / name)
    r = c.ok("NOOP")
    assert "* 1 EXISTS" in r.untagged, r.lines
    return c


# RFC 3501 section 9: a literal is *CHAR8 and CHAR8 is %x01-ff, so the
# NUL bytes of a message go out as 0x80 (as Dovecot does), keeping the
# size. Regression: roost sent them as they were.
@pytest.mark.parametrize("item,start,size", [
    ("BODY.PEEK[]", 0, None),
    ("BODY.PEEK[TEXT]", NUL_MSG.index(b"\r\n\r\n") + 4, None),
    ("BODY.PEEK[1]", NUL_MSG.index(b"\r\n\r\n") + 4, None),
    ("BODY.PEEK[TEXT]<3.6>", NUL_MSG.index(b"\r\n\r\n") + 7, 6),
])
def test_nul_body_literal_has_no_nul(nul_box, item, start, size):
    """BODY[...] of a message with NULs: a literal of the section's size
    with no NUL in it; every other byte is the message's."""
    want = NUL_MSG[start:] if size is None else NUL_MSG[start:start + size]
    un, tagged = raw_cmd(nul_box, f"FETCH 1 ({item})")
    assert tagged_status(tagged)[0] == "OK", tagged
    m = re.match(rb"^\* 1 FETCH \(BODY\[[^\]]*\](?:<\d+>)? \{(\d+)\}\r\n", un)
    assert m, un
    got = un[m.end():m.end() + int(m.group(1))]
    assert un[m.end() + len(got):] == b")\r\n"
    assert len(got) == len(want)
    assert b"\0" not in got, got
    assert all(g == w for g, w in zip(got, want) if w != 0), got


def test_nul_body_binary_is_literal8(nul_box):
    body = NUL_MSG[NUL_MSG.index(b"\r\n\r\n") + 4:]
    un, tagged = raw_cmd(nul_box, "FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1] "
                         "RFC822.SIZE BODYSTRUCTURE)")
    assert tagged_status(tagged) == ("OK", None), tagged
    assert un == (b"* 1 FETCH (BINARY[1] ~{%d}\r\n" % len(body) + body +
                  b' BINARY.SIZE[1] %d RFC822.SIZE %d BODYSTRUCTURE ("text"'
                  b' "plain" ("charset" "us-ascii") NIL NIL "7bit" %d 2 NIL'
                  b' NIL NIL NIL))\r\n' % (len(body), len(NUL_MSG),
                                           len(body))), un


# ----------------------------------------------------------------------
# parts that do not exist, and sections that are not valid

@pytest.mark.parametrize("item,answer", [
    ("BODY.PEEK[3]", b"BODY[3] NIL"),
    ("BODY.PEEK[1.3]", b"BODY[1.3] NIL"),
    ("BODY.PEEK[2.1]", b"BODY[2.1] NIL"),
    ("BODY.PEEK[9.9.9]", b"BODY[9.9.9] NIL"),
    ("BODY.PEEK[3.MIME]", b"BODY[3.MIME] NIL"),
    ("BODY.PEEK[3.TEXT]", b"BODY[3.TEXT] NIL"),
])
def test_nonexistent_part(one_msg, item, answer):
    """No such part: NIL (RFC 3501 leaves the answer open; Dovecot sends
    an empty string), and OK."""
    c = one_msg
    c.ok("SELECT INBOX")
    un, tagged = raw_cmd(c, f"FETCH 1 ({item})")
    assert tagged_status(tagged)[0] == "OK", tagged
    assert un == b"* 1 FETCH (" + answer + b")\r\n", un
    assert r"\seen" not in flags_of(c)


@pytest.mark.parametrize("item", [
    "BODY[0]", "BODY[1.0]", "BODY[MIME]", "BODY[1.]", "BODY[.1]",
    "BODY[HEADER.FIELDS ()]", "BODY[HEADER.FIELDS]", "BODY[1.2.HEADERX]",
    "BODY[]<1>", "BODY[]<1.0>", "BODY[]<x.2>", "BINARY[1.HEADER]",
    "BINARY[TEXT]", "BINARY.SIZE[1]<0.2>",
])
def test_bad_section(one_msg, item):
    """Sections the grammar of RFC 3501 section 9 / RFC 3516 does not
    allow are BAD; a part number is nz-number, MIME needs a part number,
    a partial is <number.nz-number>."""
    c = one_msg
    c.ok("SELECT INBOX")
    un, tagged = raw_cmd(c, f"FETCH 1 ({item})")
    assert tagged_status(tagged)[0] == "BAD", (item, un, tagged)
    assert b"FETCH" not in un, un


# ----------------------------------------------------------------------
# cross-checking the expected files against another server (Dovecot):
#   python3 tests/proto/test_fetch_corpus.py --compare 127.0.0.1:PORT USER PW
# appends each message to a new mailbox there and prints every entry whose
# answer differs from the file.

def compare(hostport, user, password):
    host, port = hostport.rsplit(":", 1)
    c = Client(int(port), host=host)
    c.login(user, password)
    stamp = f"{int(time.time())}-{os.getpid()}"
    differ = 0
    for name in corpus_names():
        box = f"corpus-{name}-{stamp}"
        c.ok(f"CREATE {quote(box)}")
        r = append_raw(c, box, (CORPUS / f"{name}.eml").read_bytes())
        assert r.status == "OK", r.lines
        c.ok(f"EXAMINE {quote(box)}")
        for e in load_expected(EXPECTED / f"{name}.txt"):
            un, tagged = raw_cmd(c, f"FETCH 1 ({e.item})")
            if (un, tagged_status(tagged)) == (e.expected,
                                               (e.status, e.code)):
                continue
            differ += 1
            print(f"=== {name}: {e.item}\n--- expected (line {e.lineno})\n"
                  f"{escape_bytes(e.expected)}--- {hostport}: {tagged}\n"
                  f"{escape_bytes(un)}")
    c.close()
    print(f"{differ} answers differ")


if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[1] != "--compare":
        sys.exit(f"usage: {sys.argv[0]} --compare HOST:PORT USER PASSWORD")
    compare(*sys.argv[2:])
