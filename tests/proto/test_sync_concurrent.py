"""Real sync clients against a mailbox that changes while they sync
(concurrency issue): mbsync (isync) and offlineimap3 sync INBOX while
another IMAP client (imaplib, in a thread) appends, changes flags and
expunges in the same mailbox. Then, with that client stopped, the sync
runs again until it settles, and the local Maildir and the server must
agree: the same messages (by Subject, one each -- nothing duplicated),
every message that should be there is there on both sides (nothing
lost), the flags the same on both sides and equal to what the last
writer set.

The tools are configured and run with the helpers of
test_sync_clients.py. Plaintext LOGIN on loopback, no TLS."""

import imaplib
import os
import random
import re
import subprocess
import threading
import time

import pytest

from roost import crlf, fetches, make_message
from test_sync_clients import (MBSYNC, OFFLINEIMAP, maildir_deliver,
                               maildir_find, maildir_set_flags,
                               maildir_state, mbsync_config,
                               offlineimap_config, require, server_state,
                               strip_tuid, subject_of)

SEED = 4242
KEEP = 5          # keep0..keep4: only the local side changes them
OWN = 20          # own0..own19: only the changer changes them
CHANGER_MAX_OPS = 3000
CONCURRENT_RUNS = 4
FLAG_POOL = [r"\Seen", r"\Flagged", r"\Answered"]


class Changer(threading.Thread):
    """An imaplib client changing INBOX until stopped: APPENDs new
    messages (chgN), adds and removes flags on the messages it owns, and
    expunges some of them (UID STORE +FLAGS (\\Deleted), UID EXPUNGE).
    It keeps its own record of what it did."""

    def __init__(self, port, user, password, owned):
        super().__init__(daemon=True, name="changer")
        self.port, self.user, self.password = port, user, password
        self.rng = random.Random(SEED)
        self.owned = {u: s for u, (s, _) in owned.items()}  # uid -> subject
        self.flags = {s: set(f) for s, f in owned.values()}
        self.appended = []                  # subjects
        self.deleted = set()                # subjects marked \Deleted
        self.deleted_uids = set()
        self.ops = 0
        self.stop = threading.Event()
        self.error = None

    def check(self, typ, data, what):
        assert typ == "OK", f"changer {what}: {typ} {data!r}"

    def run(self):
        try:
            m = imaplib.IMAP4("127.0.0.1", self.port, timeout=60)
            m.login(self.user, self.password)
            self.check(*m.select("INBOX"), "SELECT")
            while not self.stop.is_set() and self.ops < CHANGER_MAX_OPS:
                self.step(m)
                self.ops += 1
                time.sleep(0.003)       # pacing, so syncs see a stream
            m.logout()
        except BaseException as e:  # noqa: B902 -- the test reports it
            self.error = e

    def step(self, m):
        live = sorted(u for u, s in self.owned.items()
                      if s not in self.deleted)
        r = self.rng.random()
        if r < 0.3 or len(live) < 5:
            subject = f"chg{len(self.appended)}"
            flags = self.rng.choice(["", r"(\Seen)", r"(\Flagged)"])
            typ, data = m.append("INBOX", flags or None, None,
                                 make_message(subject))
            self.check(typ, data, "APPEND")
            mm = re.search(rb"\[APPENDUID \d+ (\d+)\]", data[0])
            assert mm, data
            self.owned[int(mm.group(1))] = subject
            self.appended.append(subject)
            self.flags[subject] = {f.lower() for f in flags.strip("()")
                                   .split()}
        elif r < 0.85:
            uid = self.rng.choice(live)
            subject = self.owned[uid]
            flag = self.rng.choice(FLAG_POOL)
            op = self.rng.choice(["+FLAGS", "-FLAGS"])
            self.check(*m.uid("STORE", str(uid), op, f"({flag})"), "STORE")
            if op == "+FLAGS":
                self.flags[subject].add(flag.lower())
            else:
                self.flags[subject].discard(flag.lower())
        else:
            uid = self.rng.choice(live)
            self.deleted.add(self.owned[uid])
            self.deleted_uids.add(uid)
            self.check(*m.uid("STORE", str(uid), "+FLAGS", r"(\Deleted)"),
                       "STORE \\Deleted")
            self.check(*m.uid("EXPUNGE", str(uid)), "UID EXPUNGE")

    def expected(self):
        """{subject: flags} of the messages the changer owns that should
        be left."""
        return {s: set(self.flags[s]) for s in self.owned.values()
                if s not in self.deleted}


def seed(c):
    """INBOX: keep0..keep4 (keep0 \\Seen) then own0..own19 (every third
    \\Flagged); {uid: (subject, flags)} of the own ones."""
    for i in range(KEEP):
        r = c.append("INBOX", make_message(f"keep{i}"),
                     flags=r"\Seen" if i == 0 else None)
        assert r.status == "OK", r.lines
    owned = {}
    for i in range(OWN):
        r = c.append("INBOX", make_message(f"own{i}"),
                     flags=r"\Flagged" if i % 3 == 0 else None)
        assert r.status == "OK", r.lines
        uid = int(re.search(r"APPENDUID \d+ (\d+)", r.tagged).group(1))
        owned[uid] = (f"own{i}", {r"\flagged"} if i % 3 == 0 else set())
    return owned


def run_tool(tool, conf):
    if tool == "mbsync":
        require(MBSYNC)
        argv = [MBSYNC, "-c", str(conf), "-a"]
    else:
        require(OFFLINEIMAP)
        argv = [OFFLINEIMAP, "-c", str(conf), "-o", "-u", "basic"]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=180)
    r.out = r.stdout + r.stderr
    return r


def assert_sync_ok(tool, r):
    assert r.returncode == 0, f"{tool} failed ({r.returncode}):\n{r.out}"
    if tool == "offlineimap":
        assert not re.search(r"^\s*ERROR", r.out, re.M), r.out


def assert_sync_ok_while_changing(tool, r, changer):
    """A sync that ran while the changer worked. mbsync must succeed.
    offlineimap lists the UIDs first and fetches each message later; a
    message expunged in between is an error it reports and skips (its
    folder/IMAP.py: "IMAP server ... does not have a message with UID",
    whatever the server answers) and it exits 1. That is allowed, but
    only for UIDs the changer did expunge."""
    if tool == "offlineimap" and r.returncode == 1:
        errors = re.findall(r"^\s*ERROR: (.*)$", r.out, re.M)
        assert errors, r.out
        for e in errors:
            if e == "Exceptions occurred during the run!":
                continue
            m = re.match(r"^IMAP server 'remote' does not have a message "
                         r"with UID '(\d+)'$", e)
            assert m, f"offlineimap error: {e}\n{r.out}"
            assert int(m.group(1)) in changer.deleted_uids, \
                f"UID {m.group(1)} was not expunged, yet:\n{r.out}"
        return
    assert_sync_ok(tool, r)


def local_changes(tool, inbox):
    """keep0 loses \\Seen, keep1 gets \\Flagged, keep2 is deleted
    locally, keep3 gets \\Answered \\Seen; two new local messages."""
    maildir_set_flags(maildir_find(inbox, "keep0"), "")
    maildir_set_flags(maildir_find(inbox, "keep1"), "F")
    if tool == "mbsync":
        maildir_set_flags(maildir_find(inbox, "keep2"), "T")
    else:
        os.unlink(maildir_find(inbox, "keep2"))
    maildir_set_flags(maildir_find(inbox, "keep3"), "RS")
    maildir_deliver(inbox, make_message("local0"))
    maildir_deliver(inbox, make_message("local1"))


LOCAL_EXPECTED = {"keep0": set(), "keep1": {r"\flagged"},
                  "keep3": {r"\answered", r"\seen"}, "keep4": set(),
                  "local0": set(), "local1": set()}


@pytest.mark.parametrize("tool", ["mbsync", "offlineimap"])
def test_sync_while_mailbox_changes(mail_user, tmp_path, tool):
    srv = mail_user.srv
    c = mail_user.connect()
    owned = seed(c)
    if tool == "mbsync":
        conf, local = mbsync_config(tmp_path, srv.imap_port, mail_user.name,
                                    mail_user.password)
    else:
        conf, local = offlineimap_config(tmp_path, srv.imap_port,
                                         mail_user.name, mail_user.password)
    inbox = local / "INBOX"

    changer = Changer(srv.imap_port, mail_user.name, mail_user.password,
                      owned)
    changer.start()
    runs = []
    try:
        # the first (initial) sync and then more, each while the
        # changer works; the local side changes after the first
        for k in range(CONCURRENT_RUNS):
            before = changer.ops
            r = run_tool(tool, conf)
            runs.append((changer.ops - before, r))
            assert changer.error is None, changer.error
            assert_sync_ok_while_changing(tool, r, changer)
            if k == 0:
                local_changes(tool, inbox)
            # locally, nothing is ever there twice
            maildir_state(inbox)
    finally:
        changer.stop.set()
        changer.join(60)
    assert not changer.is_alive()
    assert changer.error is None, changer.error
    # the changer really worked during the syncs
    during = [n for n, _ in runs]
    assert sum(1 for n in during if n > 0) >= 2, during

    # quiet now: sync until it settles (two runs at most change things:
    # one to take the last changes, one to see there is nothing left)
    for _ in range(2):
        assert_sync_ok(tool, run_tool(tool, conf))
    want = {**LOCAL_EXPECTED, **changer.expected()}
    assert r"\deleted" not in set().union(*want.values())
    have_server = server_state(c, "INBOX")     # asserts no duplicates
    have_local = maildir_state(inbox)          # asserts no duplicates
    # nothing lost, nothing extra, nothing twice; flags as last set
    missing_s = sorted(set(want) - set(have_server))
    extra_s = sorted(set(have_server) - set(want))
    assert not missing_s and not extra_s, \
        f"server: missing {missing_s}, unexpected {extra_s}"
    missing_l = sorted(set(want) - set(have_local))
    extra_l = sorted(set(have_local) - set(want))
    assert not missing_l and not extra_l, \
        f"local: missing {missing_l}, unexpected {extra_l}"
    bad = {s: (want[s], have_server[s], have_local[s]) for s in want
           if not want[s] == have_server[s] == have_local[s]}
    assert not bad, f"flags (wanted, server, local) differ: {bad}"
    # bodies intact both ways
    for s in ("own1", "local0", changer.appended[-1] if changer.appended
              else "own2"):
        if s in want:
            data = maildir_find(inbox, s).read_bytes()
            assert crlf(strip_tuid(data)) == make_message(s), s
    c.ok("EXAMINE INBOX")
    r = c.ok("UID FETCH 1:* (BODY.PEEK[])")
    bodies = {}
    for _, d in fetches(r):
        data = strip_tuid(d["BODY[]"].encode())
        bodies[subject_of(data)] = data
    for s in ("local0", "local1"):
        assert bodies[s] == make_message(s), s
    # and once more: a settled sync changes nothing on either side
    files = sorted(p.name for p in inbox.rglob("*") if p.is_file())
    assert_sync_ok(tool, run_tool(tool, conf))
    assert server_state(c, "INBOX") == have_server
    assert sorted(p.name for p in inbox.rglob("*") if p.is_file()) == files
