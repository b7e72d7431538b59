"""SORT and THREAD (RFC 5256), SORT=DISPLAY (RFC 5957) and ESORT (RFC
5267), over real sockets.

The expected answers are worked out from the RFCs in the comments; where
the RFCs leave room (ESORT's MIN/MAX, the order in which ranges are
written) they were checked against Dovecot 2.3 on the same messages."""

import re

import pytest


def build(headers, body="Hello.\r\n"):
    """A message from (name, value) header pairs (None: left out)."""
    lines = [f"{k}: {v}" for k, v in headers if v is not None]
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


# The SORT mailbox: (headers, internal date, body). A first message is
# appended and expunged, so message n has UID n + 1.
SORT_MSGS = [
    ([("From", '"Zed Alpha" <carol@x.org>'), ("To", "bob@b.org"),
      ("Subject", "Re: apple"),
      ("Date", "Mon, 01 Mar 2021 10:00:00 +0000")],
     "05-Mar-2021 12:00:00 +0000", "a" * 300),
    ([("From", "alice@a.org"), ("To", '"Dave" <dave@d.org>'),
      ("Cc", "zed@z.org"), ("Subject", "=?UTF-8?B?w4lsYW4=?="),
      ("Date", "Sun, 28 Feb 2021 23:00:00 -0500")],
     "01-Mar-2021 12:00:00 +0000", "b" * 10),
    ([("From", '"bob" <BOB@b.org>'), ("To", "alice@a.org"),
      ("Cc", '"Ann" <ann@a.org>'), ("Subject", "Fwd: banana (fwd)")],
     "02-Mar-2021 00:00:00 +0000", "c" * 200),
    ([("Date", "yesterday")],
     "28-Feb-2021 00:00:00 +0000", "d" * 20),
    ([("From", "=?ISO-8859-1?Q?J=F6rg?= <jorg@j.de>"),
      ("To", '"aaron" <zz@z.org>'), ("Cc", "cc@c.org"),
      ("Subject", "[list] Apple"),
      ("Date", "Mon, 01 Mar 2021 10:00:00 +0000")],
     "03-Mar-2021 00:00:00 +0000", "e" * 500),
    ([("From", '"_under" <under@u.org>'),
      ("To", "=?UTF-8?Q?=C3=A9mile?= <emile@e.org>"),
      ("Subject", "re: [list] re: APPLE (fwd)"),
      ("Date", "Tue, 02 Mar 2021 00:00:00 +0100")],
     "04-Mar-2021 00:00:00 +0000", "f" * 100),
]


def sort_nums(c, query):
    r = c.ok(query)
    lines = [ln for ln in r.untagged if ln.startswith("* SORT")]
    assert len(lines) == 1, r.lines
    assert lines[0] == "* SORT" or lines[0].startswith("* SORT ")
    return [int(x) for x in lines[0].split()[2:]]


def esearch_line(c, query):
    """The * ESEARCH line's text after the tag correlator, or None."""
    r = c.ok(query)
    lines = [ln for ln in r.untagged if ln.startswith("* ESEARCH")]
    assert len(lines) <= 1, r.lines
    if not lines:
        return None
    prefix = f'* ESEARCH (TAG "{r.tag}")'
    assert lines[0].startswith(prefix), lines[0]
    return lines[0][len(prefix):]


def thread_line(c, query):
    r = c.ok(query)
    lines = [ln for ln in r.untagged if ln.startswith("* THREAD")]
    assert len(lines) == 1, r.lines
    return lines[0]


def fill(c, box, msgs):
    c.ok(f"CREATE {box}")
    r = c.append(box, build([("Subject", "gone")]))
    assert r.status == "OK", r.lines
    for headers, date, body in msgs:
        r = c.append(box, build(headers, body + "\r\n"), date=date)
        assert r.status == "OK", r.lines
    c.ok(f"SELECT {box}")
    c.ok("STORE 1 +FLAGS (\\Deleted)")
    c.ok("EXPUNGE")


@pytest.fixture
def sbox(imap):
    fill(imap, "sortbox", SORT_MSGS)
    return imap


def test_capabilities(imap):
    caps = imap.ok("CAPABILITY").caps()
    for cap in ("SORT", "SORT=DISPLAY", "ESORT", "THREAD=ORDEREDSUBJECT",
                "THREAD=REFERENCES"):
        assert cap in caps


def test_subject(sbox):
    # base subjects: apple, Élan, banana, "", Apple, APPLE; "" first,
    # the three apples tie and keep sequence order, é after ASCII
    assert sort_nums(sbox, "SORT (SUBJECT) UTF-8 ALL") == [4, 1, 5, 6, 3, 2]
    # REVERSE reverses the key, not the sequence-number tie-break
    assert sort_nums(sbox, "SORT (REVERSE SUBJECT) UTF-8 ALL") == \
        [2, 3, 1, 5, 6, 4]


def test_addresses(sbox):
    # addr-mailbox of the first address: carol alice BOB "" jorg under
    assert sort_nums(sbox, "SORT (FROM) UTF-8 ALL") == [4, 2, 3, 1, 5, 6]
    # bob dave alice "" zz emile
    assert sort_nums(sbox, "SORT (TO) UTF-8 ALL") == [4, 3, 1, 2, 6, 5]
    # "" zed ann "" cc "": the empty ones tie
    assert sort_nums(sbox, "SORT (CC) UTF-8 ALL") == [1, 4, 6, 3, 5, 2]
    assert sort_nums(sbox, "SORT (REVERSE CC) UTF-8 ALL") == \
        [2, 5, 3, 1, 4, 6]


def test_display(sbox):
    # RFC 5957: the decoded display name, else mailbox@host: "Zed
    # Alpha", "alice@a.org", "bob", "", "Jörg", "_under". ASCII letters
    # compare as capitals (i;ascii-casemap), so "_" sorts after "Z".
    assert sort_nums(sbox, "SORT (DISPLAYFROM) UTF-8 ALL") == \
        [4, 2, 3, 5, 1, 6]
    # "bob@b.org", "Dave", "alice@a.org", "", "aaron", "émile"
    assert sort_nums(sbox, "SORT (DISPLAYTO) UTF-8 ALL") == \
        [4, 5, 3, 1, 2, 6]
    assert sort_nums(sbox, "SORT (REVERSE DISPLAYTO) UTF-8 ALL") == \
        [6, 2, 1, 3, 5, 4]


def test_dates(sbox):
    # sent dates in UTC: 1 Mar 10:00, 1 Mar 04:00, none (internal 2 Mar
    # 00:00), unreadable (internal 28 Feb), 1 Mar 10:00, 1 Mar 23:00
    assert sort_nums(sbox, "SORT (DATE) UTF-8 ALL") == [4, 2, 1, 5, 6, 3]
    assert sort_nums(sbox, "SORT (REVERSE DATE) UTF-8 ALL") == \
        [3, 6, 1, 5, 2, 4]
    # internal dates: 5, 1, 2 Mar, 28 Feb, 3, 4 Mar
    assert sort_nums(sbox, "SORT (ARRIVAL) UTF-8 ALL") == [4, 2, 3, 5, 6, 1]
    assert sort_nums(sbox, "SORT (REVERSE ARRIVAL) UTF-8 ALL") == \
        [1, 6, 5, 3, 2, 4]


def test_size(sbox):
    sizes = {}
    r = sbox.ok("FETCH 1:* RFC822.SIZE")
    for ln in r.untagged:
        m = re.match(r"\* (\d+) FETCH \(RFC822\.SIZE (\d+)\)", ln)
        if m:
            sizes[int(m.group(1))] = int(m.group(2))
    assert len(sizes) == 6 and len(set(sizes.values())) == 6
    by_size = sorted(sizes, key=lambda n: sizes[n])
    assert sort_nums(sbox, "SORT (SIZE) UTF-8 ALL") == by_size
    assert sort_nums(sbox, "sort (reverse size) utf-8 all") == by_size[::-1]


def test_several_criteria(sbox):
    # "" 4, then the apples 1 5 6 by reverse date (6 last sent; 1 and 5
    # tie: sequence order), banana 3, Élan 2
    assert sort_nums(sbox, "SORT (SUBJECT REVERSE DATE) UTF-8 ALL") == \
        [4, 6, 1, 5, 3, 2]
    # the empty Cc group 1 4 6 by From mailbox: "" carol under
    assert sort_nums(sbox, "SORT (CC FROM) UTF-8 ALL") == [4, 1, 6, 3, 5, 2]
    assert sort_nums(sbox, "SORT (CC REVERSE FROM SIZE) UTF-8 ALL") == \
        [6, 1, 4, 3, 5, 2]


def test_with_search_keys(sbox):
    assert sort_nums(sbox, "SORT (DATE) UTF-8 SUBJECT apple") == [1, 5, 6]
    assert sort_nums(sbox, "SORT (ARRIVAL) US-ASCII OR FROM alice "
                           "FROM bob") == [2, 3]
    assert sort_nums(sbox, "SORT (REVERSE SUBJECT) UTF-8 2:4") == [2, 3, 4]
    assert sort_nums(sbox, "SORT (SUBJECT) utf-8 SUBJECT nothing") == []
    lit = "Élan".encode()
    sbox.send(b"t90 SORT (SUBJECT) UTF-8 SUBJECT {%d+}\r\n%s\r\n"
              % (len(lit), lit))
    r = sbox.read_response("t90")
    assert r.status == "OK" and "* SORT 2" in r.lines, r.lines


def test_uid_sort(sbox):
    # message n has UID n + 1
    assert sort_nums(sbox, "UID SORT (SUBJECT) UTF-8 ALL") == \
        [5, 2, 6, 7, 4, 3]
    assert sort_nums(sbox, "UID SORT (DATE) UTF-8 UID 3:5") == [5, 3, 4]
    # ESORT with UIDs: 5 3 2 6 7 4 in DATE order
    assert esearch_line(
        sbox, "UID SORT RETURN (MIN MAX ALL) (DATE) UTF-8 ALL") == \
        " UID MIN 5 MAX 4 ALL 5,3,2,6:7,4"
    r = sbox.cmd("UID SORT (SUBJECT) x-unknown ALL")
    assert r.status == "NO" and r.code == "BADCHARSET", r.lines
    for q in ("UID SORT (DATE) UTF-8", "UID THREAD ORDEREDSUBJECT"):
        assert sbox.cmd(q).status == "BAD"


def test_esort(sbox):
    # DATE order 4 2 1 5 6 3: MIN and MAX are the first and the last in
    # that order; ALL keeps it, with only ascending runs as ranges
    assert esearch_line(
        sbox, "SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 ALL") == \
        " MIN 4 MAX 3 COUNT 6 ALL 4,2,1,5:6,3"
    assert esearch_line(sbox, "SORT RETURN () (DATE) UTF-8 ALL") == \
        " ALL 4,2,1,5:6,3"
    assert esearch_line(sbox, "SORT RETURN (ALL) (ARRIVAL) UTF-8 2:5") == \
        " ALL 4,2:3,5"
    assert esearch_line(sbox, "SORT RETURN (COUNT) (DATE) UTF-8 DELETED") \
        == " COUNT 0"
    assert esearch_line(sbox, "SORT RETURN (MIN MAX) (DATE) UTF-8 DELETED") \
        == ""


def test_esort_save(sbox):
    # SAVE alone: no ESEARCH response; $ holds the matches (RFC 5182)
    assert esearch_line(sbox, "SORT RETURN (SAVE) (DATE) UTF-8 "
                              "SUBJECT apple") is None
    assert sort_nums(sbox, "SORT (REVERSE DATE) UTF-8 $") == [6, 1, 5]
    # SAVE with MAX: $ is the last in sort order
    assert esearch_line(sbox, "SORT RETURN (SAVE MAX) (DATE) UTF-8 ALL") \
        == " MAX 3"
    r = sbox.ok("SEARCH $")
    assert "* SEARCH 3" in r.untagged, r.lines
    assert thread_line(sbox, "THREAD ORDEREDSUBJECT UTF-8 $") == \
        "* THREAD (3)"


def test_badcharset(sbox):
    for q in ("SORT (DATE) KOI8-R ALL", "THREAD REFERENCES ISO-8859-1 ALL"):
        r = sbox.cmd(q)
        assert r.status == "NO" and r.code == "BADCHARSET", r.lines


@pytest.mark.parametrize("query", [
    "SORT DATE UTF-8 ALL",
    "SORT (DATE)",
    "SORT (DATE) UTF-8",
    "SORT () UTF-8 ALL",
    "SORT (REVERSE) UTF-8 ALL",
    "SORT (DATE REVERSE) UTF-8 ALL",
    "SORT (REVERSE REVERSE DATE) UTF-8 ALL",
    "SORT (DATE BOGUS) UTF-8 ALL",
    "SORT ((DATE)) UTF-8 ALL",
    "SORT (DATE) (UTF-8) ALL",
    "SORT (DATE) UTF-8 BOGUSKEY",
    "SORT (DATE) UTF-8 CHARSET UTF-8 ALL",
    "SORT RETURN (BOGUS) (DATE) UTF-8 ALL",
    "SORT RETURN ALL (DATE) UTF-8 ALL",
    "SORT RETURN (ALL)",
    "SORT (DATE) UTF-8 RETURN (ALL) ALL",
    "SORT",
    "THREAD",
    "THREAD BOGUS UTF-8 ALL",
    "THREAD (REFERENCES) UTF-8 ALL",
    "THREAD REFERENCES",
    "THREAD REFERENCES UTF-8",
    "THREAD REFERENCES UTF-8 SUBJECT",
])
def test_bad_syntax(sbox, query):
    r = sbox.cmd(query)
    assert r.status == "BAD", r.lines
    assert not [ln for ln in r.untagged
                if ln.startswith(("* SORT", "* THREAD", "* ESEARCH"))]
    sbox.ok("NOOP")


def test_not_selected(imap):
    for q in ("SORT (DATE) UTF-8 ALL", "THREAD REFERENCES UTF-8 ALL"):
        assert imap.cmd(q).status == "BAD"


def test_empty_mailbox(imap):
    imap.ok("CREATE empty")
    imap.ok("SELECT empty")
    assert sort_nums(imap, "SORT (SUBJECT) UTF-8 ALL") == []
    assert thread_line(imap, "THREAD REFERENCES UTF-8 ALL") == "* THREAD"
    assert esearch_line(imap, "SORT RETURN (COUNT) (DATE) UTF-8 ALL") == \
        " COUNT 0"


# The THREAD mailbox: a hand-built conversation (Message-ID, subject,
# date on 2021-03-DD HH:00 UTC, In-Reply-To, References).
THREAD_MSGS = [
    ("<root@t>", "Plans", (1, 9), None, None),                       # 1
    ("<r1@t>", "Re: Plans", (1, 10), None, "<root@t>"),              # 2
    ("<r2@t>", "Re: Plans", (1, 11), None, "<root@t> <r1@t>"),       # 3
    ("<r3@t>", "Re: Plans", (1, 10, 30), "<root@t>", None),          # 4
    ("<o1@t>", "Re: Lost", (2, 8), None, "<missing@t>"),             # 5
    ("<o2@t>", "Re: Lost", (2, 7), None, "<missing@t>"),             # 6
    ("<loopa@t>", "Loop", (3, 0), None, "<loopb@t>"),                # 7
    ("<loopb@t>", "Loop", (3, 1), None, "<loopa@t>"),                # 8
    ("<root@t>", "Other", (4, 0), None, None),                       # 9
    (None, "Re: Other", (4, 1), "<root@t>", None),                   # 10
    ("<s1@t>", "Subject only", (5, 0), None, None),                  # 11
    ("<s2@t>", "Re: subject ONLY", (5, 1), None, None),              # 12
    ("<x@t>", "Lost", (2, 9), None, None),                           # 13
]


def thread_msgs():
    out = []
    for mid, subj, when, irt, refs in THREAD_MSGS:
        day, hour, minute = (when + (0,))[:3]
        date = f"Mon, {day:02d} Mar 2021 {hour:02d}:{minute:02d}:00 +0000"
        out.append(([("From", "t@t"), ("Subject", subj), ("Date", date),
                     ("Message-ID", mid), ("In-Reply-To", irt),
                     ("References", refs)],
                    "10-Mar-2021 00:00:00 +0000", "x"))
    return out


@pytest.fixture
def tbox(imap):
    fill(imap, "threadbox", thread_msgs())
    return imap


def test_thread_references(tbox):
    # Step 1: 2 and 4 reply to 1, 3 to 2 (its last reference); 5 and 6
    # to a missing message (a dummy); 7 says 8 is its parent, and 8's
    # claim on 7 would close a loop; 9 repeats 1's Message-ID, so it
    # has none and 10, replying to <root@t>, goes under 1. Step 3 keeps
    # the dummy (two children at the top). Step 5: 13 ("Lost") joins
    # the dummy thread of that subject; 12 (a reply) goes under 11.
    # Step 6 sorts siblings by date; the dummy sorts by 6, its first.
    assert thread_line(tbox, "THREAD REFERENCES UTF-8 ALL") == \
        "* THREAD (1 (2 3)(4)(10))((6)(5)(13))(8 7)(9)(11 12)"


def test_thread_orderedsubject(tbox):
    # by base subject, then date; each subject's first message heads a
    # thread and the others are its children; threads by first date
    assert thread_line(tbox, "THREAD ORDEREDSUBJECT UTF-8 ALL") == \
        "* THREAD (1 (2)(4)(3))(6 (5)(13))(7 8)(9 10)(11 12)"


def test_thread_search(tbox):
    assert thread_line(tbox, "THREAD REFERENCES UTF-8 SUBJECT plans") == \
        "* THREAD (1 (2 3)(4))"
    # without 1, its replies hang from a dummy for <root@t>
    assert thread_line(tbox, "THREAD REFERENCES UTF-8 2:4") == \
        "* THREAD ((2 3)(4))"
    assert thread_line(tbox, "THREAD references us-ascii SUBJECT nothing") \
        == "* THREAD"


def test_uid_thread(tbox):
    # message n has UID n + 1
    assert thread_line(tbox, "UID THREAD REFERENCES UTF-8 2:4") == \
        "* THREAD ((3 4)(5))"
    assert thread_line(tbox, "UID THREAD ORDEREDSUBJECT UTF-8 UID 8:11") == \
        "* THREAD (8 9)(10 11)"
    assert thread_line(tbox, "UID THREAD REFERENCES UTF-8 SUBJECT none") \
        == "* THREAD"
