"""SEARCH and UID SEARCH on what the index holds (flags, keywords,
sequence numbers, UIDs, sizes, internal dates), with ESEARCH (RFC 4731),
SEARCHRES (RFC 5182) and WITHIN (RFC 5032)."""

import re
from datetime import datetime, timedelta, timezone

import pytest

from roost import make_message


def search(c, query):
    """Numbers of the * SEARCH response to query."""
    r = c.ok(query)
    lines = [ln for ln in r.untagged if ln.startswith("* SEARCH")]
    assert len(lines) == 1, r.lines
    return [int(x) for x in lines[0].split()[2:]]


def esearch(c, query):
    """The * ESEARCH response's items as a dict (and the tag/UID parts)."""
    r = c.ok(query)
    lines = [ln for ln in r.untagged if ln.startswith("* ESEARCH")]
    assert len(lines) <= 1, r.lines
    if not lines:
        return None
    m = re.match(r'^\* ESEARCH \(TAG "([^"]+)"\)( UID)?(.*)$', lines[0])
    assert m, lines[0]
    assert m.group(1) == r.tag
    words = m.group(3).split()
    items = dict(zip(words[0::2], words[1::2]))
    items["UID"] = m.group(2) is not None
    return items


@pytest.fixture
def box(imap):
    """INBOX with 6 messages: UIDs 1-6, then 2 expunged, so seq 1..5 are
    UIDs 1,3,4,5,6. Flags and keywords vary; message 6 is big; dates
    spread over years."""
    specs = [
        (r"\Seen", " 1-Jan-2020 10:00:00 +0000", 0),
        (r"\Deleted", " 2-Jan-2020 10:00:00 +0000", 0),
        (r"\Seen \Flagged $Work", "15-Jun-2021 23:30:00 -0700", 0),
        (r"\Answered \Draft", "16-Jun-2021 01:00:00 +0200", 0),
        ("$Work $Later", "31-Dec-2022 12:00:00 +0000", 0),
        (None, None, 20000),
    ]
    for i, (flags, date, pad) in enumerate(specs):
        body = "x" * pad + "\r\n" if pad else "Hello.\r\n"
        r = imap.append("INBOX", make_message(f"s{i}", body=body),
                        flags=flags, date=date)
        assert r.status == "OK", r.lines
    imap.ok("SELECT INBOX")
    imap.ok("EXPUNGE")          # message 2 (UID 2) had \Deleted
    return imap


def test_flag_keys(box):
    assert search(box, "SEARCH ALL") == [1, 2, 3, 4, 5]
    assert search(box, "SEARCH SEEN") == [1, 2]
    assert search(box, "SEARCH UNSEEN") == [3, 4, 5]
    assert search(box, "SEARCH FLAGGED") == [2]
    assert search(box, "SEARCH UNFLAGGED") == [1, 3, 4, 5]
    assert search(box, "SEARCH ANSWERED DRAFT") == [3]
    assert search(box, "SEARCH UNANSWERED UNDRAFT") == [1, 2, 4, 5]
    assert search(box, "SEARCH DELETED") == []
    assert search(box, "SEARCH UNDELETED") == [1, 2, 3, 4, 5]
    assert search(box, "SEARCH KEYWORD $Work") == [2, 4]
    assert search(box, "SEARCH keyword $work") == [2, 4]   # any case
    assert search(box, "SEARCH UNKEYWORD $Work") == [1, 3, 5]
    assert search(box, "SEARCH KEYWORD $Nothing") == []


def test_recent_new_old(box):
    # this session selected first, so all are \Recent for it
    assert search(box, "SEARCH RECENT") == [1, 2, 3, 4, 5]
    assert search(box, "SEARCH NEW") == [3, 4, 5]
    assert search(box, "SEARCH OLD") == []


def test_sets_and_logic(box):
    assert search(box, "SEARCH 2:4") == [2, 3, 4]
    assert search(box, "SEARCH 4:2,*") == [2, 3, 4, 5]
    assert search(box, "SEARCH UID 3:5") == [2, 3, 4]
    assert search(box, "SEARCH UID 2") == []          # expunged
    assert search(box, "SEARCH OR SEEN KEYWORD $Later") == [1, 2, 4]
    assert search(box, "SEARCH NOT SEEN") == [3, 4, 5]
    assert search(box, "SEARCH NOT (SEEN OR DRAFT 1)") == [2, 3, 4, 5]
    assert search(box, "SEARCH (SEEN) (FLAGGED)") == [2]
    assert search(box, "SEARCH UNSEEN 1:3") == [3]
    assert search(box, "UID SEARCH UNSEEN") == [4, 5, 6]
    assert search(box, "UID SEARCH UID 4:*") == [4, 5, 6]
    assert search(box, "UID SEARCH 1:2") == [1, 3]    # seq numbers in


def test_size_keys(box):
    assert search(box, "SEARCH LARGER 10000") == [5]
    assert search(box, "SEARCH SMALLER 10000") == [1, 2, 3, 4]
    assert search(box, "SEARCH LARGER 100000") == []


def test_internal_date_keys(box):
    # the day in the date's own zone counts, not UTC (RFC 3501 6.4.4)
    assert search(box, "SEARCH ON 15-Jun-2021") == [2]
    assert search(box, "SEARCH ON 16-Jun-2021") == [3]
    assert search(box, "SEARCH BEFORE 15-Jun-2021") == [1]
    assert search(box, "SEARCH SINCE 16-Jun-2021") == [3, 4, 5]
    assert search(box, 'SEARCH SINCE "1-Jan-2021" BEFORE 1-Jan-2022') \
        == [2, 3]


def test_within(box):
    # message 6 (seq 5) was appended now; the others are years old
    assert search(box, "SEARCH YOUNGER 3600") == [5]
    assert search(box, "SEARCH OLDER 3600") == [1, 2, 3, 4]


def test_esearch(box):
    e = esearch(box, "SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN")
    assert e == {"MIN": "3", "MAX": "5", "COUNT": "3", "ALL": "3:5",
                 "UID": False}
    e = esearch(box, "UID SEARCH RETURN (ALL) ALL")
    assert e == {"ALL": "1,3:6", "UID": True}
    e = esearch(box, "SEARCH RETURN () SEEN")        # () means ALL
    assert e == {"ALL": "1:2", "UID": False}
    e = esearch(box, "SEARCH RETURN (MIN MAX COUNT ALL) DELETED")
    assert e == {"COUNT": "0", "UID": False}        # nothing else if empty


def test_searchres(box):
    # SAVE alone: no ESEARCH response, the result becomes $
    assert esearch(box, "SEARCH RETURN (SAVE) UNSEEN") is None
    r = box.ok("FETCH $ (UID)")
    assert sorted(re.findall(r"UID (\d+)", " ".join(r.untagged))) == \
        ["4", "5", "6"]
    assert search(box, "SEARCH $ LARGER 10000") == [5]
    assert search(box, "UID SEARCH NOT $") == [1, 3]
    box.ok(r"STORE $ +FLAGS.SILENT (\Seen)")
    assert search(box, "SEARCH UNSEEN") == []
    # with MIN and MAX only those are saved
    esearch(box, "SEARCH RETURN (SAVE MIN MAX) ALL")
    assert search(box, "SEARCH $") == [1, 5]
    # a new SELECT empties $
    box.ok("SELECT INBOX")
    assert search(box, "SEARCH $") == []


def test_charset(box):
    assert search(box, "SEARCH CHARSET UTF-8 SEEN") == [1, 2]
    assert search(box, "SEARCH CHARSET us-ascii SEEN") == [1, 2]
    r = box.cmd("SEARCH CHARSET KOI8-Q SEEN")
    assert r.status == "NO" and "[BADCHARSET" in r.tagged, r.lines


@pytest.mark.parametrize("bad", [
    "SEARCH", "SEARCH FROBNICATE", "SEARCH (", "SEARCH ()", "SEARCH NOT",
    "SEARCH OR SEEN", "SEARCH LARGER", "SEARCH LARGER ten",
    "SEARCH BEFORE 32-Jan-2020", "SEARCH BEFORE 1-Foo-2020",
    "SEARCH UID 1:x", "SEARCH KEYWORD \\Seen", "SEARCH RETURN (FOO) ALL",
    "SEARCH 0", "SEARCH " + "(" * 40 + "ALL" + ")" * 40,
])
def test_bad_syntax(box, bad):
    r = box.cmd(bad)
    assert r.status == "BAD", r.lines
    box.ok("NOOP")


def test_no_expunge_during_search(box, mail_user):
    other = mail_user.connect()
    other.ok("SELECT INBOX")
    other.ok(r"STORE 1 +FLAGS.SILENT (\Deleted)")
    other.ok("EXPUNGE")
    r = box.ok("SEARCH ALL")
    assert not any("EXPUNGE" in ln for ln in r.untagged), r.lines
    r = box.ok("UID SEARCH ALL")     # UID SEARCH may report it
    assert any(re.match(r"^\* 1 EXPUNGE$", ln) for ln in r.untagged), \
        r.lines


# ----------------------------------------------------------------------
# header keys, matched after RFC 2047 decoding and case folding

HDR_MSGS = [
    b"Date: Wed, 14 Jul 2021 23:44:25 -0700\r\n"
    b"From: \"Jo\xc3\xabl\" <joel@example.org>\r\n"
    b"To: team: a@b.c;, Zo\xc3\xab <zoe@example.net>\r\n"
    b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= aus\r\n =?ISO-8859-1?Q?K=F6ln?=\r\n"
    b"X-Tag: alpha\r\n\r\nbody one\r\n",
    b"Date: garbage\r\n"
    b"From: other@example.com\r\n"
    b"Cc: Joel <joel@example.org>\r\n"
    b"Subject: Re: plain ASCII subject\r\n\r\nbody two\r\n",
]


def forget_derived(mail_server, mail_user):
    """Empty the index's derived data and texts behind the server's back,
    as after a rebuild: answers must then come from the files."""
    import sqlite3
    db = sqlite3.connect(f"{mail_server.user_dir(mail_user.name)}/index.db",
                         timeout=30)
    try:
        with db:
            db.execute("INSERT INTO message_text (message_text)"
                       " VALUES ('delete-all')")
            db.execute("DELETE FROM text_store")
            db.execute("DELETE FROM text_unindexed")
            db.execute("DELETE FROM derived")
            db.execute("UPDATE message SET has_text = 0")
    finally:
        db.close()


@pytest.fixture(params=["indexed", "from-files"])
def hdr(request, imap, mail_server, mail_user):
    """HDR_MSGS in INBOX; their derived data is in the index, or (the
    second time) forgotten, so header keys read the files."""
    for m in HDR_MSGS:
        imap.send(b"a APPEND INBOX \"1-Jan-2020 00:00:00 +0000\" {%d+}\r\n"
                  % len(m) + m + b"\r\n")
        assert imap.read_response("a").status == "OK"
    if request.param == "from-files":
        forget_derived(mail_server, mail_user)
    imap.ok("SELECT INBOX")
    return imap


def test_header_keys(hdr):
    assert search(hdr, "SEARCH FROM joel") == [1]
    assert search(hdr, "SEARCH FROM EXAMPLE.COM") == [2]
    assert search(hdr, 'SEARCH TO "zoe@"') == [1]
    assert search(hdr, "SEARCH CC joel") == [2]
    assert search(hdr, "SEARCH BCC joel") == []
    # encoded-words decoded, and ß folds to ss
    assert search(hdr, 'SEARCH CHARSET UTF-8 SUBJECT "GR\u00dcSSE"') == [1]
    assert search(hdr, 'SEARCH SUBJECT "aus k\u00f6ln"') == [1]
    assert search(hdr, "SEARCH SUBJECT \"aus x\"") == []
    assert search(hdr, "SEARCH SUBJECT \"plain ascii\"") == [2]
    assert search(hdr, "SEARCH HEADER X-Tag ALPHA") == [1]
    assert search(hdr, 'SEARCH HEADER X-Tag ""') == [1]     # has the field
    assert search(hdr, 'SEARCH HEADER X-Missing ""') == []
    assert search(hdr, "SEARCH OR FROM other SUBJECT aus") == [1, 2]
    assert search(hdr, "SEARCH NOT FROM joel") == [2]


def test_sent_dates(hdr):
    # message 1 was sent on 14 July in its own zone (15 July in UTC);
    # message 2's Date is unreadable, so its internal date counts
    assert search(hdr, "SEARCH SENTON 14-Jul-2021") == [1]
    assert search(hdr, "SEARCH SENTON 15-Jul-2021") == []
    assert search(hdr, "SEARCH SENTBEFORE 1-Jun-2021") == [2]
    assert search(hdr, "SEARCH SENTSINCE 1-Jan-2020") == [1, 2]
    assert search(hdr, "SEARCH SENTSINCE 2-Jan-2020") == [1]


# ----------------------------------------------------------------------
# BODY and TEXT: decoded, converted, folded; narrowed by the index

BODY_MSGS = [
    # 1: quoted-printable latin-1
    b"Subject: one\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    b"Gr=FC=DFe aus K=F6ln, soft=\r\nbreak here.\r\n",
    # 2: base64 UTF-8 inside multipart, with a binary attachment
    b"Subject: two\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
    b"--XX\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\n"
    b"RGllIHNjaMO2bmUgTWVsb2RpZQ==\r\n"
    b"--XX\r\nContent-Type: application/octet-stream\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\n"
    b"aGlkZGVuIHRyZWFzdXJl\r\n--XX--\r\n",
    # 3: an embedded message
    b"Subject: three\r\nContent-Type: message/rfc822\r\n\r\n"
    b"From: inner@example.org\r\nSubject: Inner Secret\r\n\r\n"
    b"nested words\r\n",
    # 4: plain, the word only in a header
    b"Subject: four\r\nX-Note: treasure map\r\n\r\nnothing to see\r\n",
]


@pytest.fixture
def bodies(imap):
    for m in BODY_MSGS:
        imap.send(b"a APPEND INBOX {%d+}\r\n" % len(m) + m + b"\r\n")
        assert imap.read_response("a").status == "OK"
    imap.ok("SELECT INBOX")
    return imap


BODY_CASES = [
    ("BODY \"GR\u00dcSSE aus\"", [1]),     # decoded QP, folded
    ("BODY softbreak", [1]),                  # soft line break joined
    ("BODY \"SCH\u00d6NE melodie\"", [2]),   # decoded base64 UTF-8
    ("BODY treasure", []),                    # attachment, header: no
    ("TEXT treasure", [4]),                   # TEXT includes the header
    ("BODY \"inner secret\"", [3]),           # embedded message's header
    ("BODY nested", [3]),
    ("TEXT \"subject: two\"", [2]),
    ("BODY ab", []),                          # too short for trigrams
    ("BODY ne", [2, 3]),                      # ...still answered exactly
    ("OR BODY \"k\u00f6ln\" BODY nested", [1, 3]),
    ("NOT BODY nested", [1, 2, 4]),
]


def test_body_and_text(bodies):
    for _ in range(2):       # computed the first time, from the index next
        for query, want in BODY_CASES:
            assert search(bodies, "SEARCH CHARSET UTF-8 " + query) == \
                want, query


def test_indexed_equals_scanned(mail_server, mail_user):
    """A generated corpus: each needle's answer from the full-text index
    (APPEND put every message's text there: the first 128 in the trigram
    index, the rest still waiting for the next batch) equals the answer
    of a full scan (the index emptied behind the server's back, so every
    message is read and parsed), and both equal what the test computes
    itself."""
    import random
    import sqlite3
    imap = mail_user.connect()
    rnd = random.Random(7)
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot",
             "golf", "hotel", "india", "juliett", "kilo", "lima"]
    texts = []
    for i in range(150):
        body = " ".join(rnd.choice(words) for _ in range(12))
        texts.append(body)
        m = make_message(f"gen{i}", body=body + "\r\n")
        assert imap.append("INBOX", m).status == "OK"
    imap.ok("SELECT INBOX")
    needles = ["alpha bravo", "lima", "ECHO FOX", "kilo kilo", "ta ech",
               "india juliett kilo", "zulu"]
    db = sqlite3.connect(
        f"file:{mail_server.user_dir(mail_user.name)}/index.db?mode=ro",
        uri=True)
    try:
        count = "SELECT count(*) FROM message WHERE has_text = 1"
        assert db.execute(count).fetchone() == (150,)
        assert db.execute("SELECT count(*) FROM text_unindexed"
                          ).fetchone() == (150 - 128,)
        indexed = {n: search(imap, f'SEARCH BODY "{n}"') for n in needles}
        forget_derived(mail_server, mail_user)
        scanned = {n: search(imap, f'SEARCH BODY "{n}"') for n in needles}
        # the scan put the texts back
        assert db.execute(count).fetchone() == (150,)
    finally:
        db.close()
    for n in needles:
        want = [i + 1 for i, t in enumerate(texts) if n.lower() in t]
        assert indexed[n] == want, n
        assert scanned[n] == want, n
