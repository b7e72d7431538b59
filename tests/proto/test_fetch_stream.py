"""FETCH from the index and from the file: ENVELOPE, BODY and
BODYSTRUCTURE come from what APPEND derived once (never the message
file), and big sections are streamed from the file, so the server's
memory does not grow with the message."""

import base64
import os
import socket
import sqlite3

from roost import fetches, make_message

BIG_PART = 24 << 20


def rss_anon(pid):
    """The process's anonymous resident memory, in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for ln in f:
            if ln.startswith("RssAnon:"):
                return int(ln.split()[1]) * 1024
    raise AssertionError("no RssAnon in /proc/PID/status")


BINARY_PART = bytes(range(256)) * (8 << 12)     # 8 MiB, NULs included


def big_message():
    """A multipart message: a short text part, a big one, and a big
    base64 attachment (BINARY_PART)."""
    line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n"
    big = line * (BIG_PART // len(line))
    head = (b"From: a@example.org\r\nSubject: big\r\n"
            b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n"
            b"--XX\r\nContent-Type: text/plain\r\n\r\nsmall part\r\n"
            b"--XX\r\nContent-Type: text/plain\r\n\r\n")
    att = (b"\r\n--XX\r\nContent-Type: application/octet-stream\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n" +
           base64.encodebytes(BINARY_PART).replace(b"\n", b"\r\n"))
    return head + big + att + b"--XX--\r\n", big


def append_literal_plus(c, data):
    tag = c.next_tag()
    c.send(f"{tag} APPEND INBOX {{{len(data)}+}}\r\n".encode())
    c.send(data + b"\r\n")
    r = c.read_response(tag)
    assert r.status == "OK", r.lines


def read_literal_slowly(sock, head, pid, sample):
    """Read `* 1 FETCH (label {n}` and its n bytes in small reads,
    sampling the server's memory every MiB; returns the bytes."""
    buf = b""
    while b"}\r\n" not in buf:
        chunk = sock.recv(4096)
        assert chunk, buf
        buf += chunk
    line, buf = buf.split(b"}\r\n", 1)
    assert line.startswith(head), line
    n = int(line.rsplit(b"{", 1)[1])
    data = bytearray(buf)
    mark = 0
    while len(data) < n:
        chunk = sock.recv(65536)
        assert chunk
        data += chunk
        if len(data) - mark >= 1 << 20:
            mark = len(data)
            sample.append(rss_anon(pid))
    return bytes(data[:n]), bytes(data[n:])


def fetch_raw(srv, cmd, head, sample):
    c = srv.connect()
    c.login("big", "pw")
    c.ok("SELECT INBOX")
    tag = c.next_tag()
    c.send(f"{tag} {cmd}\r\n")
    data, rest = read_literal_slowly(c.sock, head, srv.pid, sample)
    c.buf = rest
    r = c.read_response(tag)
    assert r.status == "OK", r.lines
    c.close()
    return data


def test_big_sections_stream(make_server):
    # a server of its own, with ASan's quarantine of freed memory off:
    # freed memory must count as freed for this measurement
    asan = os.environ.get("ASAN_OPTIONS", "detect_leaks=1")
    srv = make_server(users={"big": "pw"},
                      env={"ASAN_OPTIONS": asan + ":quarantine_size_mb=0"})
    msg, big = big_message()
    c = srv.connect()
    c.login("big", "pw")
    append_literal_plus(c, msg)
    # a warm-up fetch, so the pages any first fetch allocates count in
    # the baseline
    fetch_raw(srv, "FETCH 1 BODY.PEEK[1]", b"* 1 FETCH", [])
    base = rss_anon(srv.pid)
    sample = []
    got = fetch_raw(srv, "FETCH 1 BODY.PEEK[]", b"* 1 FETCH (BODY[] ",
                    sample)
    assert got == msg
    got = fetch_raw(srv, "FETCH 1 BODY.PEEK[2]", b"* 1 FETCH (BODY[2] ",
                    sample)
    assert got == big
    got = fetch_raw(srv, "FETCH 1 BODY.PEEK[TEXT]<1000.3000000>",
                    b"* 1 FETCH (BODY[TEXT]<1000> ", sample)
    text = msg[msg.index(b"\r\n\r\n") + 4:]
    assert got == text[1000:3001000]
    # the attachment decoded as it is sent, whole and in part
    got = fetch_raw(srv, "FETCH 1 BINARY.PEEK[3]",
                    b"* 1 FETCH (BINARY[3] ~", sample)
    assert got == BINARY_PART
    got = fetch_raw(srv, "FETCH 1 BINARY.PEEK[3]<65537.300000>",
                    b"* 1 FETCH (BINARY[3]<65537> ~", sample)
    assert got == BINARY_PART[65537:365537]
    r = srv.connect()
    r.login("big", "pw")
    r.ok("SELECT INBOX")
    assert f"BINARY.SIZE[3] {len(BINARY_PART)}" in \
        r.ok("FETCH 1 BINARY.SIZE[3]").untagged[0]
    r.close()
    assert len(sample) > 50
    # 24 MiB sections went out three times and an 8 MiB part decoded
    # twice; the server's memory grew by far less than one of them
    assert max(sample) - base < BIG_PART // 3, (base, max(sample))
    c.close()


def test_others_served_during_big_fetch(mail_server, mail_user):
    msg, _ = big_message()
    a = mail_user.connect()
    append_literal_plus(a, msg)
    a.ok("SELECT INBOX")
    tag = a.next_tag()
    a.send(f"{tag} FETCH 1 BODY.PEEK[]\r\n")  # and not read for now
    b = mail_user.connect()
    b.ok("SELECT INBOX")
    r = b.ok("FETCH 1 (RFC822.SIZE ENVELOPE)")
    assert f"RFC822.SIZE {len(msg)}" in r.untagged[0]
    data, rest = read_literal_slowly(a.sock, b"* 1 FETCH (BODY[] ",
                                     mail_server.pid, [])
    assert data == msg
    a.buf = rest
    assert a.read_response(tag).status == "OK"


MULTI = (b"From: Ann <ann@example.org>\r\nTo: bob@example.net\r\n"
         b"Subject: =?utf-8?q?caf=C3=A9?=\r\nDate: 1 Mar 2026 10:00 +0000\r\n"
         b"Message-ID: <x1@example.org>\r\n"
         b"Content-Type: multipart/alternative; boundary=b\r\n\r\n"
         b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhi\r\n"
         b"--b\r\nContent-Type: text/html\r\n\r\n<p>hi</p>\r\n--b--\r\n")

ITEMS = "(ENVELOPE BODY BODYSTRUCTURE)"


def message_files(user_dir):
    cur = user_dir / "Maildir" / "cur"
    return [cur / n for n in os.listdir(cur)]


def test_envelope_and_structure_come_from_the_index(mail_server,
                                                    mail_user):
    c = mail_user.connect()
    append_literal_plus(c, MULTI)
    c.ok("SELECT INBOX")
    before = fetches(c.ok(f"FETCH 1 {ITEMS}"))
    assert "BODYSTRUCTURE" in before[0][1]
    # with the file gone behind the server's back, the answers are the
    # same: nothing was read from it
    files = message_files(mail_server.user_dir(mail_user.name))
    assert len(files) == 1
    os.unlink(files[0])
    after = fetches(c.ok(f"FETCH 1 {ITEMS}"))
    assert after == before


def test_mail_taken_in_later_is_parsed_once(mail_server, mail_user):
    """A file dropped into new/ has no derived data: the first FETCH
    computes it from the file and keeps it in the index."""
    c = mail_user.connect()
    append_literal_plus(c, MULTI)
    c.ok("SELECT INBOX")
    want = fetches(c.ok(f"FETCH 1 {ITEMS}"))[0][1]
    udir = mail_server.user_dir(mail_user.name)
    tmp = udir / "Maildir" / "tmp" / "dropped.1"
    tmp.write_bytes(MULTI.replace(b"\r\n", b"\n"))
    os.rename(tmp, udir / "Maildir" / "new" / "dropped.1")
    assert "* 2 EXISTS" in c.ok("NOOP").untagged
    got = fetches(c.ok(f"FETCH 2 {ITEMS}"))[0][1]
    assert got == want
    db = sqlite3.connect(f"file:{udir}/index.db?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT id & 4294967295, length(data) > 0"
                          " FROM derived ORDER BY id").fetchall()
    finally:
        db.close()
    assert rows == [(1, 1), (2, 1)]


def test_copy_keeps_derived_data(mail_server, mail_user):
    c = mail_user.connect()
    append_literal_plus(c, MULTI)
    c.ok("CREATE Kept")
    c.ok("SELECT INBOX")
    want = fetches(c.ok(f"FETCH 1 {ITEMS}"))[0][1]
    c.ok("COPY 1 Kept")
    c.ok("SELECT Kept")
    assert fetches(c.ok(f"FETCH 1 {ITEMS}"))[0][1] == want
    r = c.ok('SEARCH BODY "<p>hi"')
    assert "* SEARCH 1" in r.untagged


def test_bare_lf_message_offsets(mail_server, mail_user):
    """A message sent with bare LFs is kept with CR LF: the derived part
    offsets and sizes are the stored file's."""
    c = mail_user.connect()
    append_literal_plus(c, MULTI.replace(b"\r\n", b"\n"))
    append_literal_plus(c, MULTI)
    c.ok("SELECT INBOX")
    f = fetches(c.ok("FETCH 1:2 (BODY.PEEK[1] BODY.PEEK[2.MIME] "
                     "RFC822.SIZE BODYSTRUCTURE)"))
    lf, crlf = f[0][1], f[1][1]
    assert lf["BODY[1]"] == "hi"
    assert lf["BODY[2.MIME]"] == "Content-Type: text/html\r\n\r\n"
    assert lf["RFC822.SIZE"] == str(len(MULTI))
    assert lf == crlf


def test_fetch_many_from_index(mail_server, mail_user):
    c = mail_user.connect()
    for i in range(60):
        m = make_message(f"m{i}", body=f"body {i}\r\n")
        assert c.append("INBOX", m).status == "OK"
    c.ok("SELECT INBOX")
    f = fetches(c.ok("FETCH 1:* (UID ENVELOPE BODYSTRUCTURE)"))
    assert [s for s, _ in f] == list(range(1, 61))
    for seq, d in f:
        assert d["ENVELOPE"][1] == f"m{seq - 1}"


def test_dropped_connection_mid_stream(mail_server, mail_user):
    """A client that goes away in the middle of a streamed literal costs
    nothing: the server keeps serving."""
    msg, _ = big_message()
    a = mail_user.connect()
    append_literal_plus(a, msg)
    a.ok("SELECT INBOX")
    a.send("x FETCH 1 BODY.PEEK[]\r\n")
    a.sock.recv(100000)
    a.sock.shutdown(socket.SHUT_RDWR)
    a.sock.close()
    b = mail_user.connect()
    b.ok("SELECT INBOX")
    assert f"RFC822.SIZE {len(msg)}" in b.ok("FETCH 1 RFC822.SIZE").untagged[0]


def test_damaged_derived_data_is_rebuilt(mail_server, mail_user):
    """A blob in the index that is not one roost wrote (damage, or an
    older layout) is ignored: the answer is computed from the file and
    the blob replaced."""
    c = mail_user.connect()
    append_literal_plus(c, MULTI)
    c.ok("SELECT INBOX")
    want = fetches(c.ok(f"FETCH 1 {ITEMS}"))[0][1]
    path = f"{mail_server.user_dir(mail_user.name)}/index.db"
    db = sqlite3.connect(path, timeout=30)
    try:
        with db:
            db.execute("UPDATE derived SET data = x'524d4901ffff'")
        assert fetches(c.ok(f"FETCH 1 {ITEMS}"))[0][1] == want
        blob = db.execute("SELECT data FROM derived").fetchone()[0]
    finally:
        db.close()
    assert blob[:3] == b"RMI" and len(blob) > 100   # written again
