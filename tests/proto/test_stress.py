"""A bounded multi-session stress test (concurrency issue).

CLIENTS raw-socket clients of one user, in threads, work on two shared
mailboxes at once: APPEND (to either mailbox), STORE and UID STORE
(+FLAGS, -FLAGS, FLAGS; system flags and keywords; with or without
.SILENT), EXPUNGE, UID EXPUNGE, FETCH, UID FETCH, SEARCH, UID SEARCH,
NOOP, CHECK and now and then a new SELECT. Every client keeps a model of
its view built only from the untagged responses it gets
(imap_client.Session), and every untagged line is checked against that
model as it arrives: sequence numbers in range, no EXPUNGE during
FETCH/STORE/SEARCH, EXISTS never below what the EXPUNGEs left, UIDs
ascending in sequence order, a UID once expunged never back, a new
message's UID above every UID seen. APPENDUID UIDs strictly increase
per client and mailbox and are never given twice.

At the end every client does NOOP, and its model (UIDs and flags) must
equal what a fresh SELECT and UID FETCH 1:* (FLAGS) show; so flags have
converged across sessions. Nothing is lost: every APPENDUID'd message
is still there with its Message-ID unless someone set \\Deleted on it,
and no message is there that nobody appended.

Fixed seeds and op counts; the interleaving of the threads varies from
run to run, the checks do not depend on it. No timing thresholds; the
socket timeout only keeps a hung server from hanging the test. No
ENABLE, so the same ops stay valid once CONDSTORE/QRESYNC exist."""

import random
import re
import threading

import pytest

from imap_client import Session, ViewError
from roost import appenduid, fetches, make_message

SEED = 20261123
CLIENTS = 6
OPS = 500                     # per client
MAILBOXES = ["INBOX", "Shared"]
SEED_MESSAGES = 8             # per mailbox, before the clients start
FLAG_POOL = [r"\Seen", r"\Flagged", r"\Answered", r"\Draft", "$Label1",
             "work", "todo"]
USER, PW = "stress", "stress-pw"
MID_ITEM = "BODY[HEADER.FIELDS (MESSAGE-ID)]"


class World:
    """What the clients did, shared (under a lock) for the final check."""

    def __init__(self):
        self.lock = threading.Lock()
        self.appended = {mb: {} for mb in MAILBOXES}      # uid -> msgid
        self.uidvalidity = {}
        self.deleted = {mb: set() for mb in MAILBOXES}    # \Deleted set
        self.expunged = {mb: set() for mb in MAILBOXES}   # told expunged
        self.seen_ids = []            # (mailbox, uid, Message-ID) fetched
        self.errors = []
        self.stop = threading.Event()
        self.ops_done = 0

    def record_append(self, mailbox, uidv, uid, msgid, gone_before=()):
        """An APPENDUID: never given twice, and never a UID some session
        had been told was expunged before the APPEND was sent
        (gone_before). (One told after it may be this very message:
        others can see it, and expunge it, before the appender reads its
        tagged OK.)"""
        with self.lock:
            have = self.uidvalidity.setdefault(mailbox, uidv)
            assert have == uidv, f"UIDVALIDITY of {mailbox} changed: " \
                f"{have} -> {uidv}"
            assert uid not in self.appended[mailbox], \
                f"APPENDUID {uid} given twice in {mailbox}"
            assert uid not in gone_before, \
                f"APPENDUID {uid} in {mailbox} reuses an expunged UID"
            self.appended[mailbox][uid] = msgid


def msgid_of(d):
    m = re.search(r"<([^>]*)>", d.get(MID_ITEM) or "")
    return m.group(1) if m else None


def seqset_of(nums):
    return ",".join(str(n) for n in nums)


class Worker:
    def __init__(self, i, srv, world, silent):
        self.i = i
        self.world = world
        self.silent_ok = silent
        self.rng = random.Random(SEED * 100 + i * 7 + (1 if silent else 0))
        c = srv.connect(timeout=60)
        c.login(USER, PW)
        self.s = Session(c, f"c{i}")
        self.s.keep_log = 2000
        self.last_appenduid = {mb: 0 for mb in MAILBOXES}
        self.unexplained_no = []    # (mailbox, {uids}, lines): UID FETCH NO
        self.n = 0

    # -- helpers
    def note_expunged(self):
        with self.world.lock:
            self.world.expunged[self.s.mailbox] |= self.s.expunged

    def mark_deleted(self, uids):
        with self.world.lock:
            self.world.deleted[self.s.mailbox].update(uids)

    def mark_store(self, uids):
        """UID STORE +FLAGS (\\Deleted), .SILENT in the with-silent run."""
        silent = self.silent_ok and self.rng.random() < 0.5
        r = self.s.cmd(f"UID STORE {seqset_of(uids)} +FLAGS"
                       f"{'.SILENT' if silent else ''} (\\Deleted)",
                       expect=("OK", "NO"))
        if silent and r.status == "OK":
            self.s.apply_silent_store(None, "+", [r"\Deleted"], uids=uids)

    def observe(self, r, mailbox):
        got = []
        for seq, d in fetches(r):
            if MID_ITEM in d and "UID" in d:
                got.append((mailbox, int(d["UID"]), msgid_of(d)))
        with self.world.lock:
            self.world.seen_ids.extend(got)

    def pick_seqs(self):
        n = len(self.s.msgs)
        a = self.rng.randint(1, n)
        kind = self.rng.random()
        if kind < 0.5:
            return [a]
        if kind < 0.8:
            b = self.rng.randint(a, min(n, a + 3))
            return list(range(a, b + 1))
        return sorted(self.rng.sample(range(1, n + 1), min(n, 3)))

    def seq_text(self, seqs):
        if len(seqs) > 1 and seqs == list(range(seqs[0], seqs[-1] + 1)):
            return f"{seqs[0]}:{seqs[-1]}"
        return seqset_of(seqs)

    # -- operations
    def op_append(self):
        target = self.s.mailbox if self.rng.random() < 0.7 else \
            self.rng.choice(MAILBOXES)
        subject = f"st{self.i}-{self.n}"
        flags = " ".join(self.rng.sample(FLAG_POOL, self.rng.randint(0, 2)))
        msg = make_message(subject, body=f"stress body {subject}\r\n")
        with self.world.lock:
            gone_before = set(self.world.expunged[target])
        r = self.s.c.append(target, msg, flags=flags or None)
        self.s.apply(f"APPEND {target}", r)
        assert r.status == "OK", r.lines
        uidv, uids = appenduid(r)
        assert len(uids) == 1, r.tagged
        uid = uids[0]
        assert uid > self.last_appenduid[target], \
            f"APPENDUID {uid} not above this client's last " \
            f"{self.last_appenduid[target]} in {target}"
        self.last_appenduid[target] = uid
        self.world.record_append(target, uidv, uid,
                                 f"{subject}@test.example", gone_before)

    def op_store(self):
        if not self.s.msgs:
            return self.op_append()
        seqs = self.pick_seqs()
        uids = [self.s.msgs[k - 1].uid for k in seqs]
        op = self.rng.choice(["+", "-", ""])
        flags = self.rng.sample(FLAG_POOL, self.rng.randint(
            0 if op == "" else 1, 2))
        if self.rng.random() < 0.1 and op != "-":
            flags.append(r"\Deleted")
            self.mark_deleted(uids)
        silent = self.silent_ok and self.rng.random() < 0.5
        item = f"{op}FLAGS{'.SILENT' if silent else ''}"
        use_uid = self.rng.random() < 0.5
        if use_uid:
            text = f"UID STORE {seqset_of(sorted(uids))} {item} " \
                f"({' '.join(flags)})"
        else:
            text = f"STORE {self.seq_text(seqs)} {item} ({' '.join(flags)})"
        r = self.s.cmd(text, expect=("OK", "NO"))
        if silent and r.status == "OK":
            self.s.apply_silent_store(None, op, flags, uids=uids)

    def op_expunge(self):
        if self.s.msgs and self.rng.random() < 0.8:
            k = self.rng.randint(1, len(self.s.msgs))
            uid = self.s.msgs[k - 1].uid
            self.mark_deleted([uid])
            self.mark_store([uid])
        self.s.cmd("EXPUNGE")

    def op_uid_expunge(self):
        if not self.s.msgs:
            return self.op_append()
        k = self.rng.sample(range(len(self.s.msgs)),
                            min(len(self.s.msgs), self.rng.randint(1, 3)))
        uids = sorted(self.s.msgs[j].uid for j in k)
        mark = uids[:self.rng.randint(0, len(uids))]
        if mark:
            self.mark_deleted(mark)
            self.mark_store(mark)
        self.s.cmd(f"UID EXPUNGE {seqset_of(uids)}")

    def op_fetch(self):
        if not self.s.msgs:
            return self.op_noop()
        seqs = self.pick_seqs()
        items = self.rng.choice(["(UID FLAGS)", f"(UID BODY.PEEK["
                                 "HEADER.FIELDS (MESSAGE-ID)])",
                                 f"(FLAGS UID BODY.PEEK[HEADER.FIELDS "
                                 "(MESSAGE-ID)] RFC822.SIZE)"])
        # NO is allowed for a message another session expunged
        # (RFC 2180 4.1.2)
        mb = self.s.mailbox
        r = self.s.cmd(f"FETCH {self.seq_text(seqs)} {items}",
                       expect=("OK", "NO"))
        self.observe(r, mb)

    def op_uid_fetch(self):
        uids = [m.uid for m in self.s.msgs]
        pick = self.rng.sample(uids, min(len(uids), self.rng.randint(1, 3)))
        # now and then a UID that is gone or not there yet
        pick.append(self.rng.randint(1, max(uids or [1]) + 3))
        mb = self.s.mailbox
        before = set(uids)
        r = self.s.cmd(f"UID FETCH {seqset_of(sorted(set(pick)))} (FLAGS "
                       "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])",
                       expect=("OK", "NO"))
        self.observe(r, mb)
        after = set(self.s.uids())
        got = {int(d["UID"]) for _, d in fetches(r) if "UID" in d}
        wanted = set(pick) & before
        # each UID asked for that is still in the view was answered
        missing = (wanted & after) - got
        if r.status == "OK" and missing:
            self.s.fail(f"UID FETCH left out UIDs {sorted(missing)} that "
                        "are in the view")
        # NO only when a message asked for went away (RFC 2180 4.1.3):
        # its EXPUNGE came with the NO (a UID command may carry it, RFC
        # 3501 7.4.1), or it comes later -- roost unlinks an expunged
        # message's file before it commits the expunge, so a FETCH in
        # between finds no file and no EXPUNGE yet. Checked at the end.
        # (test_sessions.py asserts OK, RFC 3501 6.4.8, for the case
        # where the EXPUNGE comes with the answer.)
        if r.status == "NO" and not wanted - after:
            self.unexplained_no.append((mb, set(wanted), r.lines))

    def op_search(self):
        crit = self.rng.choice(["ALL", "FLAGGED", "UNSEEN", "DELETED",
                                "KEYWORD work", "NOT KEYWORD todo",
                                "OR SEEN ANSWERED", "UID 1:*",
                                "HEADER Message-ID st"])
        uid = self.rng.random() < 0.5
        self.s.cmd(f"{'UID ' if uid else ''}SEARCH {crit}")

    def op_noop(self):
        self.s.cmd(self.rng.choice(["NOOP", "CHECK"]))

    def op_select(self):
        self.note_expunged()
        self.s.select(self.rng.choice(MAILBOXES))

    OPS = [("op_append", 18), ("op_store", 22), ("op_expunge", 5),
           ("op_uid_expunge", 5), ("op_fetch", 14), ("op_uid_fetch", 10),
           ("op_search", 10), ("op_noop", 12), ("op_select", 3)]

    def run(self):
        try:
            self.s.select(MAILBOXES[self.i % len(MAILBOXES)])
            names = [n for n, _ in self.OPS]
            weights = [w for _, w in self.OPS]
            for self.n in range(OPS):
                if self.world.stop.is_set():
                    return
                name = self.rng.choices(names, weights)[0]
                getattr(self, name)()
                self.s.learn()
                self.note_expunged()
                with self.world.lock:
                    self.world.ops_done += 1
        except BaseException as e:  # noqa: B902 -- reported by the test
            with self.world.lock:
                self.world.errors.append((self.s.name, e))
            self.world.stop.set()


def fresh_state(srv, mailbox):
    """(Session after SELECT, {uid: Message-ID}) of a new session."""
    c = srv.connect(timeout=60)
    c.login(USER, PW)
    s = Session(c, f"fresh-{mailbox}")
    s.select(mailbox, examine=True)
    r = s.cmd("UID FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS "
              "(MESSAGE-ID)])")
    ids = {int(d["UID"]): msgid_of(d) for _, d in fetches(r)}
    assert list(ids) == s.uids(), r.lines
    return s, ids


@pytest.mark.parametrize("silent", [False, True],
                         ids=["plain", "with-silent"])
def test_stress_sessions(make_server, silent):
    srv = make_server(users={USER: PW},
                      config={"imap": {"max_connections_per_ip": 100}})
    world = World()
    # seed both mailboxes
    c = srv.connect(timeout=60)
    c.login(USER, PW)
    c.ok("CREATE Shared")
    for mb in MAILBOXES:
        for k in range(SEED_MESSAGES):
            subject = f"seed-{mb}-{k}"
            r = c.append(mb, make_message(subject), flags=r"\Seen"
                         if k % 3 == 0 else None)
            assert r.status == "OK", r.lines
            uidv, (uid,) = appenduid(r)
            world.record_append(mb, uidv, uid, f"{subject}@test.example")
    c.close()

    workers = [Worker(i, srv, world, silent) for i in range(CLIENTS)]
    threads = [threading.Thread(target=w.run, name=f"stress-{w.i}",
                                daemon=True) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
        assert not t.is_alive(), f"{t.name} still running"
    if world.errors:
        name, e = world.errors[0]
        if isinstance(e, (AssertionError, ViewError)):
            raise AssertionError(f"client {name}: {e}") from e
        raise e
    assert world.ops_done == CLIENTS * OPS

    # every client catches up; its model must be what a fresh session
    # sees, UIDs and flags
    for w in workers:
        w.s.cmd("NOOP")
        w.s.learn()
        w.note_expunged()
    # a UID FETCH that said NO named a message that has gone since
    for w in workers:
        for mb, uids, lines in w.unexplained_no:
            assert uids & world.expunged[mb], f"{w.s.name}: UID FETCH said NO, yet " \
                f"none of {sorted(uids)} was ever expunged: {lines!r}"
    final = {}
    for mb in MAILBOXES:
        fresh, ids = fresh_state(srv, mb)
        final[mb] = ids
        for w in workers:
            if w.s.mailbox != mb:
                continue
            if w.s.state() != fresh.state():
                model, truth = dict(w.s.state()), dict(fresh.state())
                diff = sorted(u for u in set(model) | set(truth)
                              if model.get(u) != truth.get(u))
                u = diff[0]
                hist = "".join(f"  {c}  ->  {what}\n" for c, what in
                               w.s.flag_events.get(u, [])[-12:])
                raise AssertionError(
                    f"{w.s.name}'s view of {mb} differs from a fresh SELECT"
                    f" at UIDs {diff}: UID {u} model {model.get(u)} fresh "
                    f"{truth.get(u)}; flag news {w.s.name} had of it:\n"
                    f"{hist}")
            # every keyword in use has been announced in * FLAGS
            used = set().union(*[m.flags for m in w.s.msgs]) if \
                w.s.msgs else set()
            missing = {f for f in used if not f.startswith("\\")} - \
                w.s.flags_announced
            assert not missing, f"{w.s.name}: keywords {missing} never " \
                f"announced in * FLAGS ({w.s.flags_announced})"

    for mb in MAILBOXES:
        appended = world.appended[mb]
        have = final[mb]
        # nothing from nowhere, with the content it was appended with
        assert set(have) <= set(appended), \
            f"{mb}: UIDs nobody appended: {set(have) - set(appended)}"
        for uid, mid in have.items():
            assert mid == appended[uid], (mb, uid, mid, appended[uid])
        # nothing lost: a message gone had \Deleted set by someone
        lost = set(appended) - set(have) - world.deleted[mb]
        assert not lost, f"{mb}: messages lost without \\Deleted: " \
            f"{sorted(lost)}"
        # what sessions were told is expunged is gone for good
        back = world.expunged[mb] & set(have)
        assert not back, f"{mb}: expunged UIDs back: {sorted(back)}"
        assert world.expunged[mb] <= set(appended), mb
    # every message a client fetched had the Message-ID it was
    # appended with
    for mb, uid, mid in world.seen_ids:
        assert world.appended[mb].get(uid) == mid, (mb, uid, mid)
    # the run did real work
    assert sum(len(world.expunged[mb]) for mb in MAILBOXES) > 0
    assert sum(len(v) for v in world.appended.values()) > \
        SEED_MESSAGES * len(MAILBOXES)
    assert all(final[mb] for mb in MAILBOXES)
    for w in workers:
        w.s.c.close()
