"""Durability and faults (issue 3): SIGKILL under concurrent APPEND and
STORE load, loss of the index (restart and `roost reindex`), mail dropped
into the Maildir by another program, a full disk (a small tmpfs), and a
client that vanishes in the middle of an APPEND literal."""

import os
import random
import re
import shutil
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from roost import (Client, ConnectionClosed, appenduid, crlf, fetches,
                   make_message, maildir_files, message_file_count,
                   parse_status_line, quote)

USER, PW = "crash", "crash-pw"


def flagset(flags):
    return {f.lower() for f in flags} - {r"\recent"}


def login(srv, user=USER, password=PW, timeout=10):
    c = srv.connect(timeout=timeout)
    c.login(user, password)
    return c


def mailbox_state(c, mailbox):
    """(uidvalidity, uidnext, {uid: (flags, body bytes)}) of a mailbox,
    read with EXAMINE so nothing changes."""
    r = c.cmd(f"EXAMINE {quote(mailbox)}")
    assert r.status == "OK", r.lines
    uidv = uidnext = None
    for ln in r.untagged:
        m = re.match(r"^\* OK \[UIDVALIDITY (\d+)\]", ln)
        if m:
            uidv = int(m.group(1))
        m = re.match(r"^\* OK \[UIDNEXT (\d+)\]", ln)
        if m:
            uidnext = int(m.group(1))
    assert uidv and uidnext, r.lines
    r = c.ok("UID FETCH 1:* (UID FLAGS BODY.PEEK[])")
    msgs = {}
    for seq, d in fetches(r):
        if "UID" not in d or "BODY[]" not in d:
            continue        # an unsolicited FLAGS update
        uid = int(d["UID"])
        assert uid not in msgs, f"UID {uid} twice: {r.lines!r}"
        msgs[uid] = (flagset(d["FLAGS"]), d["BODY[]"].encode())
    c.ok("UNSELECT")
    return uidv, uidnext, msgs


def status_of(c, mailbox, items="MESSAGES"):
    r = c.ok(f"STATUS {quote(mailbox)} ({items})")
    st = [s for s in (parse_status_line(ln) for ln in r.untagged) if s]
    return st[0][1]


def subject_of(body):
    m = re.search(rb"^Subject: (\S+)\r$", body, re.M)
    assert m, body[:200]
    return m.group(1).decode()


# ----------------------------------------------------------------------
# SIGKILL under load

ROUNDS = 5
THREADS = 4
KEYWORDS = ["$a", "$b", "Work"]


class Ledger:
    """What the clients were told (acknowledged) and what they only sent
    (in flight when the server died)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = {}        # uid -> {"subject", "body", "flags"}
        self.inflight = {}     # subject -> (body, flags)
        self.pending = {}      # uid -> flags sent by an unanswered STORE
        self.uids_ever = set()
        self.uidvalidity = None
        self.errors = []
        self.counts = {"append": 0, "store": 0}


def random_flags(rng):
    f = set()
    for x in (r"\Seen", r"\Flagged", r"\Answered", *KEYWORDS):
        if rng.random() < 0.35:
            f.add(x)
    return f


def crash_worker(srv_port, ledger, stop, tid, rnd):
    rng = random.Random(f"{rnd}-{tid}")
    mine = []
    try:
        c = Client(srv_port, timeout=15)
        c.login(USER, PW)
        c.ok("SELECT INBOX")
        n = 0
        while not stop.is_set():
            n += 1
            subject = f"r{rnd}t{tid}n{n}-{uuid.uuid4().hex[:8]}"
            size = rng.choice([200, 2000, 30000])
            body = make_message(subject, body=("z" * 70 + "\r\n") *
                                (size // 72))
            flags = random_flags(rng)
            with ledger.lock:
                ledger.inflight[subject] = (body, flags)
            r = c.append("INBOX", body, flags=" ".join(sorted(flags)))
            if r.status != "OK":
                with ledger.lock:
                    ledger.errors.append(f"APPEND refused: {r.lines!r}")
                return
            uidv, (uid,) = appenduid(r)
            with ledger.lock:
                del ledger.inflight[subject]
                if ledger.uidvalidity is None:
                    ledger.uidvalidity = uidv
                if uidv != ledger.uidvalidity:
                    ledger.errors.append(
                        f"UIDVALIDITY changed {ledger.uidvalidity}->{uidv}")
                if uid in ledger.uids_ever:
                    ledger.errors.append(f"UID {uid} given out again "
                                         f"(APPEND {subject})")
                ledger.uids_ever.add(uid)
                ledger.acked[uid] = {"subject": subject, "body": body,
                                     "flags": {f.lower() for f in flags}}
                ledger.counts["append"] += 1
            mine.append(uid)
            if mine and n % 2 == 0:
                target = rng.choice(mine)
                new = random_flags(rng)
                with ledger.lock:
                    ledger.pending[target] = {f.lower() for f in new}
                r = c.cmd(f"UID STORE {target} FLAGS.SILENT "
                          f"({' '.join(sorted(new))})")
                if r.status != "OK":
                    with ledger.lock:
                        ledger.errors.append(f"STORE refused: {r.lines!r}")
                    return
                with ledger.lock:
                    ledger.acked[target]["flags"] = ledger.pending.pop(
                        target)
                    ledger.counts["store"] += 1
    except (ConnectionClosed, OSError, socket.timeout):
        return      # the server was killed


def verify_after_crash(srv, ledger, rnd):
    c = login(srv)
    uidv, uidnext, msgs = mailbox_state(c, "INBOX")
    c.close()
    errs = []
    if ledger.uidvalidity is not None and uidv != ledger.uidvalidity:
        errs.append(f"UIDVALIDITY {ledger.uidvalidity} -> {uidv}")
    if msgs and uidnext <= max(msgs):
        errs.append(f"UIDNEXT {uidnext} <= highest UID {max(msgs)}")
    for uid, a in ledger.acked.items():
        if uid not in msgs:
            errs.append(f"acknowledged UID {uid} ({a['subject']}) lost")
            continue
        flags, body = msgs[uid]
        if body != a["body"]:
            errs.append(f"UID {uid}: body differs ({len(body)} bytes, "
                        f"acked {len(a['body'])})")
        allowed = [a["flags"]]
        if uid in ledger.pending:
            allowed.append(ledger.pending[uid])
        if flags not in allowed:
            errs.append(f"UID {uid}: flags {sorted(flags)}, allowed "
                        f"{[sorted(x) for x in allowed]}")
    for uid, (flags, body) in msgs.items():
        if uid in ledger.acked:
            ledger.acked[uid]["flags"] = flags
            continue
        subject = subject_of(body)
        if subject not in ledger.inflight:
            errs.append(f"UID {uid}: unknown message {subject}")
            continue
        sent, sent_flags = ledger.inflight.pop(subject)
        if body != sent:
            errs.append(f"UID {uid}: half-written message {subject} "
                        f"({len(body)} of {len(sent)} bytes)")
        sys_sent = {f.lower() for f in sent_flags if f.startswith("\\")}
        sys_got = {f for f in flags if f.startswith("\\")}
        kw_sent = {f.lower() for f in sent_flags} - sys_sent
        if sys_got != sys_sent or not (flags - sys_got) <= kw_sent:
            errs.append(f"UID {uid}: unacknowledged APPEND {subject} "
                        f"appeared with flags {sorted(flags)}, sent "
                        f"{sorted(sent_flags)}")
        if uid in ledger.uids_ever:
            errs.append(f"UID {uid} reused")
        ledger.uids_ever.add(uid)
        ledger.acked[uid] = {"subject": subject, "body": body,
                             "flags": flags}
    ledger.pending.clear()
    ledger.inflight.clear()
    assert not errs, f"round {rnd}:\n" + "\n".join(errs[:30])
    return len(msgs)


def test_sigkill_under_concurrent_appends_and_stores(make_server):
    srv = make_server(users={USER: PW})
    ledger = Ledger()
    rng = random.Random(1234)
    total = 0
    for rnd in range(ROUNDS):
        if rnd > 0:
            srv.restart()
        stop = threading.Event()
        threads = [threading.Thread(target=crash_worker,
                                    args=(srv.imap_port, ledger, stop, t,
                                          rnd), daemon=True)
                   for t in range(THREADS)]
        for t in threads:
            t.start()
        # let some appends complete, then kill at a random instant
        deadline = time.monotonic() + 20
        while ledger.counts["append"] < (rnd + 1) * 3 and \
                time.monotonic() < deadline and not ledger.errors:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.2, 1.2))
        srv.kill9()
        stop.set()
        for t in threads:
            t.join(30)
            assert not t.is_alive(), "client thread stuck after SIGKILL"
        assert not ledger.errors, ledger.errors
        srv.restart()
        total = verify_after_crash(srv, ledger, rnd)
        srv.stop()
    assert ledger.counts["append"] >= ROUNDS * 3, ledger.counts
    assert ledger.counts["store"] > 0, ledger.counts
    assert total >= ledger.counts["append"]


def test_sigkill_mid_literal_leaves_nothing(make_server):
    """A message whose literal was still arriving when the server died
    is not there after the restart, and the store works on."""
    srv = make_server(users={USER: PW})
    c = login(srv)
    c.send(b"a APPEND INBOX {100000+}\r\n" + b"x" * 50000)
    time.sleep(0.3)
    srv.kill9()
    c.close()
    srv.restart()
    c = login(srv)
    assert status_of(c, "INBOX") == {"MESSAGES": 0}
    r = c.append("INBOX", make_message("after"))
    assert r.status == "OK", r.lines
    assert status_of(c, "INBOX") == {"MESSAGES": 1}
    c.close()


# ----------------------------------------------------------------------
# index loss and reindex

def populate(c):
    """A store with flags, keywords, expunged UIDs and several mailboxes;
    returns the set of mailbox names."""
    for i in range(5):
        r = c.append("INBOX", make_message(f"in{i}"),
                     flags=[r"\Seen", r"\Flagged $Work", "", r"\Answered",
                            r"\Draft Custom"][i] or None)
        assert r.status == "OK", r.lines
    c.ok("CREATE Work/Sub")
    for i in range(3):
        assert c.append("Work/Sub", make_message(f"w{i}"),
                        flags=r"\Seen").status == "OK"
    assert c.append("Sent", make_message("sent0"),
                    date="01-Feb-2020 12:00:00 +0100").status == "OK"
    c.ok("SELECT INBOX")
    c.ok(r"STORE 2 +FLAGS (\Deleted)")
    c.ok("EXPUNGE")                       # UID 2 gone
    c.ok(r"UID STORE 5 +FLAGS.SILENT (\Deleted)")
    c.ok("UID EXPUNGE 5")                 # the highest UID gone too
    c.ok(r"UID STORE 3 FLAGS (\Seen $Later)")
    c.ok("UNSELECT")
    return {"INBOX", "Work/Sub", "Sent"}


def snapshot(c, boxes):
    out = {}
    for b in sorted(boxes):
        out[b] = mailbox_state(c, b)
    r = c.ok('LIST "" "*"')
    names = set()
    for ln in r.untagged:
        m = re.match(r'^\* LIST \(([^)]*)\) "/" (.+)$', ln)
        if m and r"\noselect" not in m.group(1).lower():
            names.add(m.group(2).strip('"'))
    return out, names


def remove_index(srv, user=USER):
    udir = srv.user_dir(user)
    gone = []
    for suffix in ("", "-wal", "-shm", "-journal"):
        p = udir / f"index.db{suffix}"
        if p.exists():
            p.unlink()
            gone.append(p.name)
    assert "index.db" in gone, f"no index.db in {udir}: {os.listdir(udir)}"


def assert_same_after_rebuild(c, before, boxes):
    after, names = snapshot(c, boxes)
    assert names == before[1], (before[1], names)
    for b in boxes:
        uv0, next0, msgs0 = before[0][b]
        uv1, next1, msgs1 = after[b]
        assert uv1 == uv0, f"{b}: UIDVALIDITY {uv0} -> {uv1}"
        assert set(msgs1) == set(msgs0), f"{b}: UIDs {sorted(msgs0)} -> " \
            f"{sorted(msgs1)}"
        for uid in msgs0:
            assert msgs1[uid] == msgs0[uid], (b, uid, msgs0[uid][0],
                                              msgs1[uid][0])
        # UIDs are never reused under one UIDVALIDITY, not even those of
        # expunged messages (INBOX had UID 5 expunged)
        assert next1 >= next0, f"{b}: UIDNEXT {next0} -> {next1}"
    r = c.append("INBOX", make_message("post-rebuild"))
    assert r.status == "OK", r.lines
    uidv, (uid,) = appenduid(r)
    assert uidv == before[0]["INBOX"][0]
    assert uid >= before[0]["INBOX"][1], \
        f"new UID {uid} < UIDNEXT before the index loss " \
        f"{before[0]['INBOX'][1]}"


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_index_loss_rebuilt_on_start(make_server, how):
    srv = make_server(users={USER: PW})
    c = login(srv)
    boxes = populate(c)
    before = snapshot(c, boxes)
    assert before[0]["INBOX"][2].keys() == {1, 3, 4}
    c.close()
    if how == "sigterm":
        srv.stop()
    else:
        srv.kill9()
    remove_index(srv)
    srv.restart()
    c = login(srv)
    assert_same_after_rebuild(c, before, boxes)
    c.close()


def test_corrupt_index_rebuilt_on_start(make_server):
    """An index.db that is not a database is set aside and rebuilt."""
    srv = make_server(users={USER: PW})
    c = login(srv)
    boxes = populate(c)
    before = snapshot(c, boxes)
    c.close()
    srv.stop()
    udir = srv.user_dir(USER)
    for suffix in ("-wal", "-shm"):
        p = udir / f"index.db{suffix}"
        if p.exists():
            p.unlink()
    (udir / "index.db").write_bytes(b"this is not an SQLite database\n" * 512)
    srv.restart()
    c = login(srv)
    assert_same_after_rebuild(c, before, boxes)
    c.close()
    kept = [n for n in os.listdir(udir) if n.startswith("index.db.corrupt")]
    assert kept, f"the damaged index was not kept aside: {os.listdir(udir)}"


def test_reindex_cli(make_server):
    srv = make_server(users={USER: PW})
    c = login(srv)
    boxes = populate(c)
    before = snapshot(c, boxes)
    c.close()
    srv.stop()
    remove_index(srv)
    r = srv.cli("reindex", USER, "--data", str(srv.data))
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert (srv.user_dir(USER) / "index.db").exists()
    # every message was parsed once, its derived data and text kept
    import sqlite3
    db = sqlite3.connect(f"file:{srv.user_dir(USER)}/index.db?mode=ro",
                         uri=True)
    try:
        msgs = db.execute("SELECT count(*) FROM message").fetchone()[0]
        cached = db.execute("SELECT count(*) FROM message m JOIN derived d"
                            " ON d.id = m.mailbox_id << 32 | m.uid WHERE"
                            " length(d.data) > 0 AND m.has_text = 1"
                            ).fetchone()
        pending = db.execute("SELECT count(*) FROM text_unindexed"
                             ).fetchone()
    finally:
        db.close()
    assert msgs > 0 and cached == (msgs,)
    assert pending == (0,)      # and the texts are in the trigram index
    assert f", {msgs} parsed" in r.stdout, r.stdout
    srv.restart()
    c = login(srv)
    assert_same_after_rebuild(c, before, boxes)
    c.close()


def test_reindex_cli_while_running(make_server):
    srv = make_server(users={USER: PW})
    c = login(srv)
    boxes = populate(c)
    before = snapshot(c, boxes)
    c.close()
    r = srv.cli("reindex", USER, "--data", str(srv.data))
    assert r.returncode == 0, (r.stdout, r.stderr)
    c = login(srv)
    assert_same_after_rebuild(c, before, boxes)
    c.close()


def test_reindex_cli_unknown_user(make_server):
    srv = make_server(users={USER: PW})
    r = srv.cli("reindex", "nobody-here", "--data", str(srv.data))
    assert r.returncode != 0, (r.stdout, r.stderr)
    assert not (srv.data / "mail" / "nobody-here").exists()


# ----------------------------------------------------------------------
# mail from other programs

def drop_into_new(maildir, data, name=None):
    """Deliver like an MDA: write in tmp/, then rename into new/."""
    name = name or f"{int(time.time())}.{uuid.uuid4().hex}.testhost"
    tmp = Path(maildir) / "tmp" / name
    tmp.write_bytes(data)
    os.rename(tmp, Path(maildir) / "new" / name)


def test_maildir_drop_appears_in_inbox(make_server):
    srv = make_server(users={USER: PW})
    a = login(srv)
    assert a.append("INBOX", make_message("first")).status == "OK"
    a.ok("SELECT INBOX")
    b = login(srv)
    msg = make_message("dropped", body="from an MDA\n", eol="\n")
    drop_into_new(srv.user_dir(USER) / "Maildir", msg)
    # the selected session learns at its next command
    r = a.ok("NOOP")
    assert "* 2 EXISTS" in r.untagged, r.lines
    f = {s: d for s, d in fetches(a.ok("FETCH 2 (UID RFC822.SIZE "
                                       "BODY.PEEK[])"))}
    assert f[2]["BODY[]"].encode() == crlf(msg)
    assert int(f[2]["RFC822.SIZE"]) == len(crlf(msg))
    uid = int(f[2]["UID"])
    assert uid == 2, f
    # another session sees it in STATUS
    assert status_of(b, "INBOX", "MESSAGES UNSEEN") == {"MESSAGES": 2,
                                                        "UNSEEN": 2}
    # and it is a normal message: flags stick, UID stays after restart
    a.ok(r"STORE 2 +FLAGS (\Flagged)")
    a.close()
    b.close()
    srv.stop()
    srv.restart()
    c = login(srv)
    uidv, uidnext, msgs = mailbox_state(c, "INBOX")
    assert msgs[2] == ({r"\flagged"}, crlf(msg))
    c.close()


def test_maildir_drop_several_while_idle_session(make_server):
    srv = make_server(users={USER: PW})
    a = login(srv)
    a.ok("SELECT INBOX")
    md = srv.user_dir(USER) / "Maildir"
    for i in range(5):
        drop_into_new(md, make_message(f"d{i}"))
    r = a.ok("NOOP")
    assert "* 5 EXISTS" in r.untagged, r.lines
    uids = sorted(int(d["UID"]) for _, d in
                  fetches(a.ok("UID FETCH 1:* UID")))
    assert uids == [1, 2, 3, 4, 5]
    a.close()


# ----------------------------------------------------------------------
# a client that vanishes mid-literal

def wait_tmp_empty(srv, user, timeout=5):
    deadline = time.monotonic() + timeout
    while True:
        tmp = maildir_files(srv.user_dir(user))["tmp"]
        if not tmp or time.monotonic() > deadline:
            return tmp
        time.sleep(0.05)


@pytest.mark.parametrize("mode", ["literal+", "sync", "multi"])
def test_client_vanishes_mid_append(make_server, mode):
    srv = make_server(users={USER: PW})
    c = login(srv)
    assert c.append("Drafts", make_message("keep")).status == "OK"
    if mode == "literal+":
        c.send(b"a APPEND INBOX {20000+}\r\n" + b"y" * 9000)
    elif mode == "sync":
        c.send(b"a APPEND INBOX {20000}\r\n")
        r = c.read_response("a")
        assert r.continuation is not None, r.lines
        c.send(b"y" * 9000)
    else:
        m = make_message("complete-first")
        c.send(f"a APPEND INBOX {{{len(m)}+}}\r\n".encode() + m +
               b" (\\Seen) {20000+}\r\n" + b"y" * 9000)
    time.sleep(0.3)
    c.sock.shutdown(socket.SHUT_RDWR)
    c.close()
    srv.wait_event("disconnect", user=USER)
    d = login(srv)
    assert status_of(d, "INBOX") == {"MESSAGES": 0}
    assert status_of(d, "Drafts") == {"MESSAGES": 1}
    assert wait_tmp_empty(srv, USER) == []
    assert message_file_count(srv.user_dir(USER)) == 1
    assert d.append("INBOX", make_message("next")).status == "OK"
    d.close()


# ----------------------------------------------------------------------
# a full disk

def _can_mount_tmpfs(where):
    if os.geteuid() != 0:
        return "not root: cannot mount a tmpfs for the full-disk test"
    where.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs",
                        str(where)], capture_output=True, text=True)
    if r.returncode != 0:
        return f"mount -t tmpfs not permitted here: {r.stderr.strip()}"
    subprocess.run(["umount", str(where)], check=True)
    return None


@pytest.fixture
def small_disk(make_server, tmp_path):
    """A server whose DATA/mail is a 3 MiB tmpfs; skipped when mounting
    is not permitted."""
    probe = tmp_path / "probe"
    why = _can_mount_tmpfs(probe)
    if why:
        pytest.skip(why)
    srv = make_server(users={USER: PW}, start=False)
    mnt = srv.data / "mail"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m,mode=0700",
                    "tmpfs", str(mnt)], check=True)
    try:
        srv.start()
        yield srv, mnt
    finally:
        if srv.running():
            srv.stop()
        r = subprocess.run(["umount", str(mnt)], capture_output=True)
        if r.returncode != 0:
            subprocess.run(["umount", "-l", str(mnt)])


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill(mnt, leave, name="filler"):
    """Fill the filesystem with a filler file until `leave` bytes are
    free; returns the filler path."""
    filler = mnt / name
    want = max(0, free_bytes(mnt) - leave)
    with open(filler, "wb") as f:
        chunk = b"\0" * 65536
        while want > 0:
            n = min(want, len(chunk))
            try:
                f.write(chunk[:n])
                f.flush()
            except OSError:
                break
            want -= n
    return filler


def test_full_disk(small_disk):
    srv, mnt = small_disk
    c = login(srv)
    acked = {}
    r = c.append("INBOX", make_message("before"))
    assert r.status == "OK", r.lines
    acked[appenduid(r)[1][0]] = make_message("before")
    filler = fill(mnt, 300 * 1024)
    refused = None
    for i in range(40):
        m = make_message(f"fill{i}", body=("q" * 78 + "\r\n") * 500)  # 40K
        r = c.append("INBOX", m)
        if r.status != "OK":
            refused = r
            break
        acked[appenduid(r)[1][0]] = m
    assert refused is not None, "the disk never filled up"
    assert refused.status == "NO", refused.lines
    assert refused.code not in ("TRYCREATE", "OVERQUOTA"), refused.lines
    # the server keeps serving this session and others
    c.ok("NOOP")
    assert status_of(c, "INBOX") == {"MESSAGES": len(acked)}
    assert wait_tmp_empty(srv, USER) == []
    assert message_file_count(srv.user_dir(USER)) == len(acked)
    other = login(srv)
    uidv, uidnext, msgs = mailbox_state(other, "INBOX")
    assert {u: b for u, (f, b) in msgs.items()} == acked
    # with the disk completely full, changes either work or fail cleanly
    c.ok("SELECT INBOX")
    fill(mnt, 0, "filler2")
    r_store = c.cmd(r"UID STORE 1 +FLAGS (\Flagged)")
    assert r_store.status in ("OK", "NO"), r_store.lines
    r_create = c.cmd("CREATE Newbox")
    assert r_create.status in ("OK", "NO"), r_create.lines
    r = c.append("INBOX", make_message("tiny"))
    assert r.status == "NO", r.lines
    c.ok("NOOP")
    # space comes back: everything works again
    for p in mnt.iterdir():
        if p.name.startswith("filler"):
            p.unlink()
    assert not filler.exists()
    r = c.append("INBOX", make_message("after"))
    assert r.status == "OK", r.lines
    acked[appenduid(r)[1][0]] = make_message("after")
    c.close()
    other.close()
    # and all of it is there after a restart
    srv.stop()
    srv.restart()
    c = login(srv)
    uidv2, _, msgs = mailbox_state(c, "INBOX")
    assert uidv2 == uidv
    assert {u: b for u, (f, b) in msgs.items()} == acked
    if r_store.status == "OK":
        assert r"\flagged" in msgs[1][0]
    names = c.ok('LIST "" "Newbox"').untagged
    assert bool(names) == (r_create.status == "OK"), names
    c.close()
