"""Real clients against the mail store (issue 3): mbsync (isync) and
offlineimap3 two-way sync with flag changes and deletions on both sides,
and curl imap:// listing, fetching and uploading.

Plaintext LOGIN is allowed on loopback, so the clients use no TLS."""

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from roost import appenduid, crlf, fetches, make_message, quote

MBSYNC = shutil.which("mbsync") or "/usr/bin/mbsync"
OFFLINEIMAP = shutil.which("offlineimap") or "/usr/bin/offlineimap"
CURL = shutil.which("curl") or "/usr/bin/curl"


def require(tool):
    assert os.access(tool, os.X_OK), f"{tool} is required for these tests " \
        "(scripts/install-deps --test installs it)"


def strip_tuid(data):
    """mbsync marks messages it copies with an X-TUID header line."""
    return re.sub(rb"^X-TUID: \S+\r?\n", b"", data, flags=re.M)


def flagset(flags):
    return {f.lower() for f in flags} - {r"\recent"}


def subject_of(data):
    m = re.search(rb"^Subject: (\S+)\r?$", data, re.M)
    assert m, data[:200]
    return m.group(1).decode()


def server_state(c, mailbox):
    """{subject: set of flags} of a mailbox, through EXAMINE."""
    r = c.cmd(f"EXAMINE {quote(mailbox)}")
    assert r.status == "OK", r.lines
    out = {}
    r = c.ok("UID FETCH 1:* (UID FLAGS BODY.PEEK[])")
    for _, d in fetches(r):
        if "BODY[]" in d:
            s = subject_of(d["BODY[]"].encode())
            assert s not in out, f"{s} twice on the server: {r.lines!r}"
            out[s] = flagset(d["FLAGS"])
    c.ok("UNSELECT")
    return out


MAILDIR_FLAGS = {"S": r"\seen", "F": r"\flagged", "R": r"\answered",
                 "D": r"\draft", "T": r"\deleted"}


def maildir_state(folder):
    """{subject: set of flags} of a local Maildir folder (cur and new)."""
    out = {}
    for sub in ("cur", "new"):
        d = Path(folder) / sub
        if not d.is_dir():
            continue
        for p in d.iterdir():
            s = subject_of(p.read_bytes())
            assert s not in out, f"{s} twice in {folder}"
            info = p.name.split(":2,", 1)[1] if ":2," in p.name else ""
            out[s] = {MAILDIR_FLAGS[ch] for ch in info if ch in MAILDIR_FLAGS}
    return out


def maildir_find(folder, subject):
    for sub in ("cur", "new"):
        for p in (Path(folder) / sub).iterdir():
            if subject_of(p.read_bytes()) == subject:
                return p
    raise AssertionError(f"{subject} not in {folder}")


def maildir_set_flags(path, letters):
    """Give a local message exactly these Maildir flags (moving it to
    cur/ as an MUA does)."""
    base = path.name.split(":2,", 1)[0]
    new = path.parent.parent / "cur" / f"{base}:2,{''.join(sorted(letters))}"
    os.rename(path, new)
    return new


def maildir_deliver(folder, data):
    folder = Path(folder)
    for sub in ("cur", "new", "tmp"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    name = f"{int(time.time())}.{os.getpid()}_{time.monotonic_ns()}.test"
    (folder / "tmp" / name).write_bytes(data)
    os.rename(folder / "tmp" / name, folder / "new" / name)


def seed_server(c):
    """INBOX m1 (\\Seen) m2 m3 (\\Flagged) m4; Sent s1; Work/Sub w1."""
    flags = [r"\Seen", None, r"\Flagged", None]
    for i, f in enumerate(flags, 1):
        assert c.append("INBOX", make_message(f"m{i}"), flags=f).status \
            == "OK"
    assert c.append("Sent", make_message("s1"), flags=r"\Seen").status == "OK"
    c.ok("CREATE Work/Sub")
    assert c.append("Work/Sub", make_message("w1")).status == "OK"


def server_changes(c):
    """m3: -\\Flagged +\\Answered; m4 expunged; server-new appended."""
    c.ok("SELECT INBOX")
    uid_of = {subject_of(d["BODY[]"].encode()): int(d["UID"]) for _, d in
              fetches(c.ok("UID FETCH 1:* (UID BODY.PEEK[])"))}
    c.ok(f"UID STORE {uid_of['m3']} -FLAGS (\\Flagged)")
    c.ok(f"UID STORE {uid_of['m3']} +FLAGS (\\Answered)")
    c.ok(f"UID STORE {uid_of['m4']} +FLAGS (\\Deleted)")
    c.ok(f"UID EXPUNGE {uid_of['m4']}")
    c.ok("UNSELECT")
    assert c.append("INBOX", make_message("server-new")).status == "OK"


EXPECTED_INBOX = {"m2": {r"\seen"}, "m3": {r"\answered"},
                  "local-new": {r"\flagged"}, "server-new": set()}


# ----------------------------------------------------------------------
# mbsync

def mbsync_config(tmp, port, user, password):
    local = tmp / "mail"
    local.mkdir()
    conf = tmp / "mbsyncrc"
    conf.write_text(f"""\
IMAPAccount roost
Host 127.0.0.1
Port {port}
User {user}
Pass {password}
SSLType None
AuthMechs LOGIN
Timeout 30

IMAPStore remote
Account roost

MaildirStore local
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel all
Far :remote:
Near :local:
Patterns *
Create Both
Remove None
Expunge Both
SyncState *
CopyArrivalDate yes
""")
    return conf, local


def run_mbsync(conf):
    require(MBSYNC)
    r = subprocess.run([MBSYNC, "-c", str(conf), "-a"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, f"mbsync failed ({r.returncode}):\n" \
        f"{r.stdout}\n{r.stderr}"
    return r


def test_mbsync_two_way(mail_user, tmp_path):
    c = mail_user.connect()
    seed_server(c)
    conf, local = mbsync_config(tmp_path, mail_user.srv.imap_port,
                                mail_user.name, mail_user.password)
    run_mbsync(conf)
    inbox = local / "INBOX"
    assert maildir_state(inbox) == {"m1": {r"\seen"}, "m2": set(),
                                    "m3": {r"\flagged"}, "m4": set()}
    assert maildir_state(local / "Sent") == {"s1": {r"\seen"}}
    assert maildir_state(local / "Work" / "Sub") == {"w1": set()}
    for sub in ("Drafts", "Trash", "Junk", "Archive"):
        assert (local / sub / "cur").is_dir(), sub
    # bodies arrive intact
    m2 = maildir_find(inbox, "m2").read_bytes()
    assert crlf(strip_tuid(m2)) == make_message("m2")

    # changes on both sides
    maildir_set_flags(maildir_find(inbox, "m2"), "S")
    maildir_set_flags(maildir_find(inbox, "m1"), "ST")     # deleted locally
    maildir_deliver(inbox, make_message("local-new"))
    maildir_set_flags(maildir_find(inbox, "local-new"), "F")
    maildir_deliver(local / "Work" / "Sub", make_message("w2"))
    server_changes(c)

    run_mbsync(conf)
    assert server_state(c, "INBOX") == EXPECTED_INBOX
    assert maildir_state(inbox) == EXPECTED_INBOX
    assert server_state(c, "Work/Sub") == {"w1": set(), "w2": set()}
    # a new local folder is created on the server
    maildir_deliver(local / "NewLocal", make_message("nl1"))
    run_mbsync(conf)
    assert server_state(c, "NewLocal") == {"nl1": set()}

    # a third run changes nothing on either side
    before_files = sorted(p.name for p in inbox.rglob("*") if p.is_file())
    run_mbsync(conf)
    assert server_state(c, "INBOX") == EXPECTED_INBOX
    assert sorted(p.name for p in inbox.rglob("*") if p.is_file()) == \
        before_files
    # the uploaded message is what was delivered locally (mbsync adds
    # an X-TUID header line to find it again)
    c.ok("EXAMINE INBOX")
    bodies = [strip_tuid(d["BODY[]"].encode())
              for _, d in fetches(c.ok("UID FETCH 1:* (BODY.PEEK[])"))]
    assert make_message("local-new") in bodies


# ----------------------------------------------------------------------
# offlineimap3

def offlineimap_config(tmp, port, user, password):
    local = tmp / "mail"
    local.mkdir()
    conf = tmp / "offlineimaprc"
    conf.write_text(f"""\
[general]
accounts = roost
metadata = {tmp}/meta
maxsyncaccounts = 1
ui = basic

[Account roost]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = {local}
sep = /

[Repository remote]
type = IMAP
remotehost = 127.0.0.1
remoteport = {port}
remoteuser = {user}
remotepass = {password}
ssl = no
starttls = no
maxconnections = 1
holdconnectionopen = no
createfolders = True
""")
    return conf, local


def run_offlineimap(conf):
    require(OFFLINEIMAP)
    r = subprocess.run([OFFLINEIMAP, "-c", str(conf), "-o", "-u", "basic"],
                       capture_output=True, text=True, timeout=180)
    out = r.stdout + r.stderr
    assert r.returncode == 0, f"offlineimap failed ({r.returncode}):\n{out}"
    assert not re.search(r"^\s*ERROR", out, re.M), out
    return r


def test_offlineimap_two_way(mail_user, tmp_path):
    c = mail_user.connect()
    seed_server(c)
    conf, local = offlineimap_config(tmp_path, mail_user.srv.imap_port,
                                     mail_user.name, mail_user.password)
    run_offlineimap(conf)
    inbox = local / "INBOX"
    assert maildir_state(inbox) == {"m1": {r"\seen"}, "m2": set(),
                                    "m3": {r"\flagged"}, "m4": set()}
    assert maildir_state(local / "Sent") == {"s1": {r"\seen"}}
    assert maildir_state(local / "Work" / "Sub") == {"w1": set()}

    maildir_set_flags(maildir_find(inbox, "m2"), "S")
    os.unlink(maildir_find(inbox, "m1"))                  # deleted locally
    maildir_deliver(inbox, make_message("local-new"))
    maildir_set_flags(maildir_find(inbox, "local-new"), "F")
    server_changes(c)

    run_offlineimap(conf)
    assert server_state(c, "INBOX") == EXPECTED_INBOX
    assert maildir_state(inbox) == EXPECTED_INBOX

    run_offlineimap(conf)
    assert server_state(c, "INBOX") == EXPECTED_INBOX
    assert maildir_state(inbox) == EXPECTED_INBOX


# ----------------------------------------------------------------------
# curl

def curl(*args, timeout=60):
    require(CURL)
    return subprocess.run([CURL, "-s", "-S", "--max-time", "30", *args],
                          capture_output=True, timeout=timeout)


def test_curl_lists_mailboxes(mail_user):
    c = mail_user.connect()
    c.ok("CREATE " + quote("Work/Sub Folder"))
    srv = mail_user.srv
    r = curl(f"imap://127.0.0.1:{srv.imap_port}/", "-u",
             f"{mail_user.name}:{mail_user.password}")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    names = set()
    for ln in lines:
        m = re.match(r'^\* LIST \(([^)]*)\) "/" (.+?)\r?$', ln)
        assert m, f"unexpected curl output line {ln!r}"
        names.add(m.group(2).strip('"'))
    assert {"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive", "Work",
            "Work/Sub Folder"} <= names, lines


def test_curl_fetch_by_uid(mail_user):
    c = mail_user.connect()
    msgs = [make_message(f"cu{i}", body=f"curl body {i}\r\n") for i in
            range(3)]
    for m in msgs:
        assert c.append("INBOX", m).status == "OK"
    c.ok("CREATE Work/Sub")
    assert c.append("Work/Sub", make_message("deep")).status == "OK"
    base = f"imap://127.0.0.1:{mail_user.srv.imap_port}"
    auth = f"{mail_user.name}:{mail_user.password}"
    for uid in (1, 3):
        r = curl(f"{base}/INBOX;UID={uid}", "-u", auth)
        assert r.returncode == 0, r.stderr
        assert r.stdout == msgs[uid - 1], r.stdout
    r = curl(f"{base}/Work/Sub;UID=1", "-u", auth)
    assert r.returncode == 0, r.stderr
    assert r.stdout == make_message("deep")
    # a UID that does not exist is an error, not an empty success
    r = curl(f"{base}/INBOX;UID=99", "-u", auth)
    assert r.returncode != 0 or r.stdout == b"", (r.returncode, r.stdout)
    # fetching by curl marks the message \Seen (BODY[] without PEEK)
    c.ok("EXAMINE INBOX")
    f = {int(d["UID"]): flagset(d["FLAGS"]) for _, d in
         fetches(c.ok("UID FETCH 1:* (UID FLAGS)"))}
    assert r"\seen" in f[1] and r"\seen" not in f[2], f


def test_curl_upload_appends(mail_user, tmp_path):
    c = mail_user.connect()
    msg = make_message("uploaded", body="via curl\n", eol="\n")
    path = tmp_path / "msg.eml"
    path.write_bytes(msg)
    r = curl(f"imap://127.0.0.1:{mail_user.srv.imap_port}/Drafts", "-u",
             f"{mail_user.name}:{mail_user.password}", "-T", str(path))
    assert r.returncode == 0, r.stderr
    c.ok("EXAMINE Drafts")
    got = [d["BODY[]"].encode() for _, d in
           fetches(c.ok("UID FETCH 1:* (BODY.PEEK[])"))]
    assert got == [crlf(msg)], got


def test_curl_nonexistent_mailbox(mail_user):
    r = curl(f"imap://127.0.0.1:{mail_user.srv.imap_port}/NoSuch;UID=1",
             "-u", f"{mail_user.name}:{mail_user.password}")
    assert r.returncode != 0, r.stdout
