"""A client-side model of a selected mailbox, for the multi-session tests
(test_sessions.py, test_stress.py).

Session wraps a raw roost.Client (which sends tagged commands and reads
lines up to the tagged reply, inlining literals). Every untagged line of
every response is applied, in order, to the session's model of its view
-- the messages in sequence order, each with its UID and flags -- the way
a real client must apply them, and checked against RFC 3501 5.2, 5.5,
7.3, 7.4.1 at the moment it arrives:

- `* n EXPUNGE`: only during commands that may carry one (never during
  FETCH, STORE, SEARCH; RFC 3501 7.4.1), 1 <= n <= the current count;
- `* n EXISTS`: never smaller than the count left by the EXPUNGEs
  already seen (a mailbox only shrinks by EXPUNGE);
- `* n RECENT`: 0 <= n <= the current count;
- `* n FETCH (...)`: 1 <= n <= count; a UID in it agrees with the UID the
  model has for that number, or, for a number whose UID is not known
  yet, keeps UIDs ascending in sequence order, is not one this session
  was told is expunged, and for a message that arrived after SELECT is
  higher than every UID the session has seen (UIDs strictly ascend);
- `* SEARCH ...`: numbers within range (SEARCH) or UIDs of the view
  (UID SEARCH).

A violation raises ViewError with the session's transcript tail.
Only the Python standard library is used."""

import re

from roost import parse_fetch, quote

# commands during which RFC 3501 7.4.1 forbids `* n EXPUNGE`
NO_EXPUNGE = ("FETCH", "STORE", "SEARCH")


class ViewError(AssertionError):
    pass


def norm_flags(flags):
    """Lower-cased frozenset of flags without \\Recent."""
    return frozenset(f.lower() for f in flags) - {"\\recent"}


class Slot:
    """One message of the view: its UID (None until a FETCH tells it),
    flags (None until known) and the lowest UID it may have."""

    __slots__ = ("uid", "flags", "floor", "recent")

    def __init__(self, floor=0):
        self.uid = None
        self.flags = None
        self.floor = floor
        self.recent = None

    def __repr__(self):
        return f"<{self.uid} {sorted(self.flags or ())}>"


class Session:
    def __init__(self, client, name="s"):
        self.c = client
        self.name = name
        self.mailbox = None
        self.msgs = []
        self.readonly = False
        self.uidvalidity = None
        self.recent = 0
        self.expunged = set()       # UIDs this session was told are gone
        self.max_uid = 0            # the highest UID ever in this view
        self.flags_announced = set()
        self.log = []               # (command, [lines]) of recent commands
        self.keep_log = 20
        self.flag_events = {}       # uid -> [(command, what)], for reports
        self.cur_cmd = None
        self.bye = None

    # -- helpers
    def fail(self, msg, line=None):
        tail = "\n".join(f"  C: {c}\n" + "".join(f"  S: {ln}\n" for ln in ls)
                         for c, ls in self.log[-6:])
        raise ViewError(f"[{self.name} on {self.mailbox}] {msg}"
                        + (f"\n  at line {line!r}" if line else "")
                        + f"\n  view={self.msgs!r}\n  recent commands:\n"
                        + tail)

    def history(self, uid):
        """The logged commands whose text or answer names UID uid (as
        "UID n" or in a UID command's set), for failure messages."""
        out = []
        pat = re.compile(rf"(UID {uid}\b|[ ,:]{uid}[ ,:])")
        for c, ls in self.log:
            hits = [ln for ln in ls if pat.search(ln)]
            if hits or (c.upper().startswith("UID") and pat.search(c + " ")):
                out.append((c, ls))
        return out

    def uids(self):
        return [m.uid for m in self.msgs]

    def state(self):
        """[(uid, flags)] in sequence order, flags without \\Recent."""
        return [(m.uid, m.flags) for m in self.msgs]

    def seq_of(self, uid):
        for i, m in enumerate(self.msgs):
            if m.uid == uid:
                return i + 1
        return None

    # -- commands
    def cmd(self, text, expect=("OK",)):
        """Send a command, apply its untagged lines, check its status."""
        r = self.c.cmd(text)
        self.apply(text, r)
        if expect is not None and r.status not in expect:
            self.fail(f"{text!r}: status {r.status}, expected {expect}")
        return r

    def select(self, mailbox, examine=False):
        verb = "EXAMINE" if examine else "SELECT"
        r = self.c.cmd(f"{verb} {quote(mailbox)}")
        self.log.append((f"{verb} {mailbox}", r.lines))
        if r.status != "OK":
            self.fail(f"{verb} {mailbox}: {r.lines!r}")
        self.mailbox = mailbox
        self.readonly = examine
        self.msgs = []
        self.expunged = set()
        self.max_uid = 0
        self.recent = 0
        for ln in r.untagged:
            m = re.match(r"^\* (\d+) EXISTS$", ln)
            if m:
                self.msgs = [Slot() for _ in range(int(m.group(1)))]
            m = re.match(r"^\* (\d+) RECENT$", ln)
            if m:
                self.recent = int(m.group(1))
            m = re.match(r"^\* FLAGS \((.*)\)$", ln)
            if m:
                self.flags_announced = {f.lower() for f in
                                        m.group(1).split()}
            m = re.match(r"^\* OK \[UIDVALIDITY (\d+)\]", ln)
            if m:
                self.uidvalidity = int(m.group(1))
        if self.recent > len(self.msgs):
            self.fail("RECENT > EXISTS after SELECT")
        self.learn()
        return r

    def learn(self):
        """Fill in the UIDs and flags the model lacks with FETCH (never
        carries EXPUNGE, so the numbers stay put)."""
        for _ in range(10):
            unknown = [i for i, m in enumerate(self.msgs)
                       if m.uid is None or m.flags is None]
            if not unknown:
                return
            lo = unknown[0] + 1
            self.cmd(f"FETCH {lo}:{len(self.msgs)} (UID FLAGS)")
        self.fail("could not learn the view's UIDs")

    # -- applying responses
    def apply(self, text, r):
        self.log.append((text, r.lines))
        del self.log[:-self.keep_log]
        self.cur_cmd = text
        words = text.split()
        verb = words[0].upper()
        uid_cmd = verb == "UID"
        base = words[1].upper() if uid_cmd and len(words) > 1 else verb
        no_expunge = base in NO_EXPUNGE and not uid_cmd
        for ln in r.untagged:
            self.apply_line(ln, no_expunge, uid_cmd, base)
        if self.msgs:
            known = [m.uid for m in self.msgs if m.uid is not None]
            if known != sorted(set(known)):
                self.fail("UIDs not strictly ascending in sequence order")

    def apply_line(self, ln, no_expunge, uid_cmd, base):
        m = re.match(r"^\* (\d+) (EXISTS|RECENT|EXPUNGE)$", ln)
        if m:
            n, what = int(m.group(1)), m.group(2)
            if what == "EXPUNGE":
                if no_expunge:
                    self.fail("EXPUNGE during FETCH/STORE/SEARCH "
                              "(RFC 3501 7.4.1)", ln)
                if not 1 <= n <= len(self.msgs):
                    self.fail(f"EXPUNGE {n} out of range 1..{len(self.msgs)}",
                              ln)
                gone = self.msgs.pop(n - 1)
                if gone.uid is not None:
                    self.expunged.add(gone.uid)
            elif what == "EXISTS":
                if n < len(self.msgs):
                    self.fail(f"EXISTS {n} smaller than the {len(self.msgs)} "
                              "messages left after the EXPUNGEs seen", ln)
                floor = self.max_uid + 1
                self.msgs.extend(Slot(floor) for _ in
                                 range(n - len(self.msgs)))
            else:
                if not 0 <= n <= len(self.msgs):
                    self.fail(f"RECENT {n} > {len(self.msgs)} messages", ln)
                self.recent = n
            return
        if re.match(r"^\* \d+ FETCH ", ln):
            seq, d = parse_fetch(ln)
            if not 1 <= seq <= len(self.msgs):
                self.fail(f"FETCH {seq} out of range 1..{len(self.msgs)}", ln)
            slot = self.msgs[seq - 1]
            if "UID" in d:
                self.set_uid(seq, int(d["UID"]), ln)
            if "FLAGS" in d:
                if slot.uid is not None:
                    self.flag_events.setdefault(slot.uid, []).append(
                        (self.cur_cmd, ln))
                slot.flags = norm_flags(d["FLAGS"])
                slot.recent = any(f.lower() == "\\recent" for f in d["FLAGS"])
            return
        m = re.match(r"^\* SEARCH((?: \d+)*)$", ln)
        if m:
            nums = [int(x) for x in m.group(1).split()]
            if uid_cmd:
                have = set(self.uids())
                for u in nums:
                    if u not in have and None not in have:
                        self.fail(f"UID SEARCH names UID {u}, not in the "
                                  "view", ln)
            else:
                for n in nums:
                    if not 1 <= n <= len(self.msgs):
                        self.fail(f"SEARCH {n} out of range "
                                  f"1..{len(self.msgs)}", ln)
            return
        m = re.match(r"^\* FLAGS \((.*)\)$", ln)
        if m:
            self.flags_announced = {f.lower() for f in m.group(1).split()}
            return
        if ln.startswith("* BYE"):
            self.bye = ln

    def set_uid(self, seq, uid, ln):
        slot = self.msgs[seq - 1]
        if slot.uid is not None:
            if slot.uid != uid:
                self.fail(f"message {seq} has UID {slot.uid} in the model, "
                          f"the server says {uid}", ln)
            return
        if uid in self.expunged:
            self.fail(f"UID {uid} was expunged and is back", ln)
        if uid < slot.floor:
            self.fail(f"new message {seq} has UID {uid}, not above the "
                      f"highest UID seen ({slot.floor - 1})", ln)
        before = [m.uid for m in self.msgs[:seq - 1] if m.uid is not None]
        after = [m.uid for m in self.msgs[seq:] if m.uid is not None]
        if (before and uid <= before[-1]) or (after and uid >= after[0]):
            self.fail(f"UID {uid} at {seq} breaks ascending order", ln)
        slot.uid = uid
        self.max_uid = max(self.max_uid, uid)

    # -- silent STORE: the client knows what it asked for
    def apply_silent_store(self, seqs, op, flags, uids=None):
        """Apply a (UID) STORE ...FLAGS.SILENT the server said OK to: to
        the messages numbered seqs, or with UIDs uids (those still in the
        view)."""
        flags = norm_flags(flags)
        if uids is not None:
            uids = set(uids)
            seqs = [i + 1 for i, m in enumerate(self.msgs) if m.uid in uids]
        for s in seqs:
            m = self.msgs[s - 1]
            self.flag_events.setdefault(m.uid, []).append(
                (self.cur_cmd, f"(silent {op or '='}{sorted(flags)})"))
            if op == "+":
                m.flags = m.flags | flags
            elif op == "-":
                m.flags = m.flags - flags
            else:
                m.flags = flags
