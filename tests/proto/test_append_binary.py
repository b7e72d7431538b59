"""APPEND with literal8 (RFC 3516 section 4.4): binary content is
taken; content with a NUL byte, which could not be sent back in a plain
literal, is refused with UNKNOWN-CTE."""

from roost import fetches

EIGHT_BIT = (b"From: a@example.org\r\nSubject: raw\r\n"
             b"Content-Type: text/plain; charset=iso-8859-1\r\n"
             b"Content-Transfer-Encoding: binary\r\n\r\n"
             b"caf\xe9 \xff\xfe\x01\x7f\r\n")


def append8(c, data, plus=False, box="INBOX"):
    tag = c.next_tag()
    c.send(f"{tag} APPEND {box} ~{{{len(data)}{'+' if plus else ''}}}\r\n")
    if not plus:
        r = c.read_response(tag)
        assert r.continuation is not None, r.lines
    c.send(data + b"\r\n")
    return c.read_response(tag)


def test_binary_advertised(mail_user):
    c = mail_user.connect()
    r = c.ok("CAPABILITY")
    caps = r.untagged[0].split()
    assert "BINARY" in caps, r.lines


def test_literal8_append_and_fetch(mail_user):
    c = mail_user.connect()
    assert append8(c, EIGHT_BIT).status == "OK"
    assert append8(c, EIGHT_BIT, plus=True).status == "OK"
    c.ok("SELECT INBOX")
    f = fetches(c.ok("FETCH 1:2 (RFC822.SIZE BODY.PEEK[] BINARY.PEEK[1])"))
    for _, d in f:
        assert d["RFC822.SIZE"] == str(len(EIGHT_BIT))
    raw = c.transcript
    got = b"".join(data for who, data in raw if who == "S")
    assert got.count(EIGHT_BIT) == 2


def test_literal8_with_nul_refused(mail_user):
    c = mail_user.connect()
    data = EIGHT_BIT.replace(b"\x01", b"\x00")
    r = append8(c, data)
    assert r.status == "NO" and "[UNKNOWN-CTE]" in r.tagged, r.lines
    r = append8(c, data, plus=True)
    assert r.status == "NO" and "[UNKNOWN-CTE]" in r.tagged, r.lines
    # a big one goes through the spool file and is refused the same way
    big = data + b"x" * (300 * 1024) + b"\r\n"
    r = append8(c, big, plus=True)
    assert r.status == "NO" and "[UNKNOWN-CTE]" in r.tagged, r.lines
    # nothing was stored
    r = c.ok("STATUS INBOX (MESSAGES)")
    assert "(MESSAGES 0)" in r.untagged[0], r.lines


def test_multiappend_mixes_literal_kinds(mail_user):
    c = mail_user.connect()
    tag = c.next_tag()
    msg = b"Subject: m\r\n\r\nplain\r\n"
    c.send(f"{tag} APPEND INBOX {{{len(msg)}+}}\r\n".encode() + msg +
           f" ~{{{len(EIGHT_BIT)}+}}\r\n".encode() + EIGHT_BIT + b"\r\n")
    r = c.read_response(tag)
    assert r.status == "OK", r.lines
    r = c.ok("STATUS INBOX (MESSAGES)")
    assert "(MESSAGES 2)" in r.untagged[0], r.lines
