"""QUOTA (RFC 9208, with the RFC 2087 command forms): GETQUOTA,
GETQUOTAROOT, usage accounting, and APPEND/COPY/MOVE over the limits
answered NO [OVERQUOTA] with nothing written; per-user limits from the
passwd-file (Dovecot's quota_rule syntax)."""

import re

import pytest

from roost import (appenduid, copyuid, make_message, message_file_count,
                   parse_status_line, quote)

STORAGE_LIMIT = 8 * 1024          # bytes; 8 KiB in QUOTA responses
MESSAGE_LIMIT = 5
QUOTA_RE = re.compile(r'^\* QUOTA (\S+|"[^"]*") \(([^()]*)\)$', re.I)


@pytest.fixture
def qsrv(make_server):
    return make_server(config={"store": {"quota_storage": STORAGE_LIMIT,
                                         "quota_messages": MESSAGE_LIMIT}},
                       passwd_lines=[
                           "big:{PLAIN}pw::::::userdb_quota_rule=*:storage"
                           "=10M userdb_quota_rule2=*:messages=100",
                           "plainrule:{PLAIN}pw::::::quota_rule=*:messages"
                           "=2"])


@pytest.fixture
def qc(qsrv):
    c = qsrv.connect()
    c.login()
    yield c
    c.close()


def quota_of(resp):
    """{root: {RESOURCE: (used, limit)}} from the * QUOTA lines."""
    out = {}
    for ln in resp.untagged:
        m = QUOTA_RE.match(ln)
        if not m:
            assert not ln.upper().startswith("* QUOTA "), \
                f"malformed QUOTA line {ln!r}"
            continue
        root = m.group(1).strip('"')
        toks = m.group(2).split()
        assert len(toks) % 3 == 0, ln
        res = {}
        for i in range(0, len(toks), 3):
            name, used, limit = toks[i:i + 3]
            assert used.isdigit() and limit.isdigit(), ln
            assert name.upper() not in res, ln
            res[name.upper()] = (int(used), int(limit))
        out[root] = res
    return out


def usage(c):
    r = c.ok("GETQUOTAROOT INBOX")
    q = quota_of(r)
    assert list(q) == [""], r.lines
    return q[""]


def kib(n):
    """STORAGE usage for n bytes: RFC 9208 counts units of 1024 octets
    (either rounding is accepted)."""
    return {n // 1024, -(-n // 1024)}


def msg_of_size(subject, size):
    base = make_message(subject, body="")
    assert size >= len(base) + 2
    return base + b"x" * (size - len(base) - 2) + b"\r\n"


def count(c, mailbox):
    r = c.ok(f"STATUS {quote(mailbox)} (MESSAGES)")
    st = [s for s in (parse_status_line(ln) for ln in r.untagged) if s]
    return st[0][1]["MESSAGES"]


# ----------------------------------------------------------------------

def test_quota_capabilities(qc):
    caps = qc.ok("CAPABILITY").caps()
    assert {"QUOTA", "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE"} <= caps, caps


def test_getquotaroot_shape(qc):
    r = qc.ok("GETQUOTAROOT INBOX")
    assert '* QUOTAROOT INBOX ""' in r.untagged, r.lines
    q = [ln for ln in r.untagged if ln.startswith("* QUOTA ")]
    assert len(q) == 1, r.lines
    assert re.match(r'^\* QUOTA "" \((STORAGE 0 8 MESSAGE 0 5|'
                    r'MESSAGE 0 5 STORAGE 0 8)\)$', q[0]), r.lines
    assert len(r.untagged) == 2, r.lines


def test_getquota(qc):
    r = qc.ok('GETQUOTA ""')
    assert quota_of(r) == {"": {"STORAGE": (0, 8), "MESSAGE": (0, 5)}}, \
        r.lines
    assert len(r.untagged) == 1, r.lines
    assert qc.cmd('GETQUOTA "nosuchroot"').status == "NO"
    assert qc.cmd("GETQUOTA").status == "BAD"


def test_getquotaroot_other_mailboxes(qc):
    qc.ok("CREATE " + quote("My Box"))
    for name, wire in (("Sent", "Sent"), ("My Box", '"My Box"'),
                       ("INBOX", "INBOX")):
        r = qc.ok(f"GETQUOTAROOT {quote(name)}")
        assert f'* QUOTAROOT {wire} ""' in r.untagged, r.lines
        assert "" in quota_of(r), r.lines
    r = qc.cmd("GETQUOTAROOT Nonexistent")
    assert r.status == "NO", r.lines
    assert qc.cmd("GETQUOTAROOT").status == "BAD"


def test_usage_counts_all_mailboxes(qc):
    m1, m2 = msg_of_size("u1", 1500), msg_of_size("u2", 2500)
    assert qc.append("INBOX", m1).status == "OK"
    assert qc.append("Sent", m2).status == "OK"
    u = usage(qc)
    assert u["MESSAGE"] == (2, 5), u
    assert u["STORAGE"][1] == 8 and u["STORAGE"][0] in kib(4000), u
    qc.select("Sent")
    qc.ok(r"STORE 1 +FLAGS.SILENT (\Deleted)")
    qc.ok("EXPUNGE")
    u = usage(qc)
    assert u["MESSAGE"] == (1, 5) and u["STORAGE"][0] in kib(1500), u
    # \Deleted but not expunged messages still count
    qc.select("INBOX")
    qc.ok(r"STORE 1 +FLAGS.SILENT (\Deleted)")
    assert usage(qc)["MESSAGE"] == (1, 5)


def test_append_over_storage(qsrv, qc):
    udir = qsrv.user_dir("alice")
    m = msg_of_size("s", 3000)
    for i in range(2):
        r = qc.append("INBOX", m)
        assert r.status == "OK", r.lines
    before = usage(qc)
    files = message_file_count(udir)
    r = qc.append("INBOX", msg_of_size("over", 3000))     # 9000 > 8192
    assert r.status == "NO" and r.code == "OVERQUOTA", r.lines
    assert count(qc, "INBOX") == 2
    assert usage(qc) == before
    assert message_file_count(udir) == files
    # a message that still fits is accepted
    r = qc.append("Drafts", msg_of_size("fits", 1500))
    assert r.status == "OK", r.lines


def test_append_over_storage_sync_literal(qc):
    qc.append("INBOX", msg_of_size("a", 7000))
    m = msg_of_size("b", 2000)
    qc.send(f"a APPEND INBOX {{{len(m)}}}\r\n")
    r = qc.read_response("a")
    if r.continuation is not None:
        qc.send(m + b"\r\n")
        r = qc.read_response("a")
    assert r.status == "NO" and r.code == "OVERQUOTA", r.lines
    qc.ok("NOOP")
    assert count(qc, "INBOX") == 1


def test_append_over_messages(qsrv, qc):
    for i in range(MESSAGE_LIMIT):
        r = qc.append("INBOX" if i % 2 else "Archive", make_message(f"n{i}"))
        assert r.status == "OK", r.lines
    r = qc.append("INBOX", make_message("six"))
    assert r.status == "NO" and r.code == "OVERQUOTA", r.lines
    assert usage(qc)["MESSAGE"] == (5, 5)
    assert message_file_count(qsrv.user_dir("alice")) == 5
    # expunging makes room again
    qc.select("Archive")
    qc.ok(r"STORE 1 +FLAGS.SILENT (\Deleted)")
    qc.ok("EXPUNGE")
    r = qc.append("INBOX", make_message("six"))
    assert r.status == "OK", r.lines


def test_multiappend_over_quota_stores_none(qsrv, qc):
    for i in range(3):
        qc.append("INBOX", make_message(f"p{i}"))
    msgs = [make_message(f"m{i}") for i in range(3)]       # 3 + 3 > 5
    data = b"a APPEND INBOX"
    for m in msgs:
        data += b" {%d+}\r\n" % len(m) + m
    qc.send(data + b"\r\n")
    r = qc.read_response("a")
    assert r.status == "NO" and r.code == "OVERQUOTA", r.lines
    assert count(qc, "INBOX") == 3
    assert message_file_count(qsrv.user_dir("alice")) == 3


def test_copy_over_quota(qsrv, qc):
    for i in range(3):
        qc.append("INBOX", make_message(f"c{i}"))
    qc.select("INBOX")
    r = qc.cmd("COPY 1:3 Archive")                          # 6 > 5
    assert r.status == "NO" and r.code == "OVERQUOTA", r.lines
    assert count(qc, "Archive") == 0
    assert message_file_count(qsrv.user_dir("alice")) == 3
    r = qc.cmd("UID COPY 1:3 Archive")
    assert r.status == "NO" and r.code == "OVERQUOTA", r.lines
    r = qc.ok("COPY 1:2 Archive")                            # 5 fits
    assert copyuid(r.tagged)[2] == [1, 2]
    assert usage(qc)["MESSAGE"] == (5, 5)


def test_copy_over_storage_quota(qsrv, qc):
    qc.append("INBOX", msg_of_size("big", 5000))
    qc.select("INBOX")
    r = qc.cmd("COPY 1 Trash")                              # 10000 > 8192
    assert r.status == "NO" and r.code == "OVERQUOTA", r.lines
    assert count(qc, "Trash") == 0
    assert message_file_count(qsrv.user_dir("alice")) == 1


def test_move_at_limit_never_half_done(qsrv, qc):
    """MOVE within one quota root does not change usage: it may succeed,
    or be refused with OVERQUOTA; it is never half done."""
    for i in range(MESSAGE_LIMIT):
        qc.append("INBOX", make_message(f"mv{i}"))
    qc.select("INBOX")
    r = qc.cmd("MOVE 1:2 Archive")
    if r.status == "OK":
        assert count(qc, "Archive") == 2 and count(qc, "INBOX") == 3
    else:
        assert r.status == "NO" and r.code == "OVERQUOTA", r.lines
        assert not [ln for ln in r.untagged if "EXPUNGE" in ln], r.lines
        assert count(qc, "Archive") == 0 and count(qc, "INBOX") == 5
    assert usage(qc)["MESSAGE"] == (5, 5)
    assert message_file_count(qsrv.user_dir("alice")) == 5


def test_move_over_storage_quota_from_other_mailbox(qsrv, qc):
    """A MOVE that would need more space than is left (the server may
    copy before it expunges) either completes or changes nothing."""
    qc.append("INBOX", msg_of_size("mv", 5000))
    qc.select("INBOX")
    r = qc.cmd("UID MOVE 1 Trash")
    assert r.status in ("OK", "NO"), r.lines
    if r.status == "NO":
        assert r.code == "OVERQUOTA", r.lines
        assert count(qc, "INBOX") == 1 and count(qc, "Trash") == 0
    else:
        assert count(qc, "INBOX") == 0 and count(qc, "Trash") == 1
    assert message_file_count(qsrv.user_dir("alice")) == 1


def test_per_user_limits_from_passwd(qsrv):
    c = qsrv.connect()
    c.login("big", "pw")
    assert usage(c) == {"STORAGE": (0, 10 * 1024), "MESSAGE": (0, 100)}
    for i in range(MESSAGE_LIMIT + 1):
        assert c.append("INBOX", make_message(f"b{i}")).status == "OK"
    c.close()
    c = qsrv.connect()
    c.login("plainrule", "pw")
    u = usage(c)
    assert u["MESSAGE"] == (0, 2) and u["STORAGE"] == (0, 8), u
    c.append("INBOX", make_message("1"))
    c.append("INBOX", make_message("2"))
    r = c.append("INBOX", make_message("3"))
    assert r.status == "NO" and r.code == "OVERQUOTA", r.lines
    c.close()


def test_no_quota_configured(make_server):
    srv = make_server()
    c = srv.connect()
    c.login()
    r = c.ok("GETQUOTAROOT INBOX")
    qr = [ln for ln in r.untagged if ln.startswith("* QUOTAROOT ")]
    assert len(qr) == 1 and re.match(r'^\* QUOTAROOT INBOX( ""|)$', qr[0]), \
        r.lines
    for res in quota_of(r).values():
        assert all(limit > 0 for used, limit in res.values()), r.lines
    for i in range(3):
        assert c.append("INBOX", msg_of_size(f"x{i}", 20000)).status == "OK"
    c.close()


def test_only_message_quota(make_server):
    srv = make_server(config={"store": {"quota_messages": 3}})
    c = srv.connect()
    c.login()
    r = c.ok("GETQUOTAROOT INBOX")
    q = quota_of(r)
    assert q == {"": {"MESSAGE": (0, 3)}}, r.lines
    c.close()


def test_setquota_not_allowed(qc):
    r = qc.cmd('SETQUOTA "" (STORAGE 100000)')
    assert r.status in ("NO", "BAD"), r.lines
    assert usage(qc)["STORAGE"] == (0, 8)


def test_quota_survives_restart(qsrv, qc):
    qc.append("INBOX", msg_of_size("r", 3000))
    qc.append("Sent", msg_of_size("r2", 3000))
    before = usage(qc)
    qc.close()
    qsrv.stop()
    qsrv.restart()
    c = qsrv.connect()
    c.login()
    assert usage(c) == before
    r = c.append("INBOX", msg_of_size("over", 3000))
    assert r.status == "NO" and r.code == "OVERQUOTA", r.lines
    c.close()
