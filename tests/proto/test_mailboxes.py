"""Mailboxes (issue 3): names (modified UTF-7, '/', INBOX), CREATE, DELETE,
RENAME, SUBSCRIBE/UNSUBSCRIBE, LIST/LSUB, LIST-EXTENDED, LIST-STATUS,
SPECIAL-USE and CREATE-SPECIAL-USE, NAMESPACE, STATUS (with SIZE).

Every test uses a user of its own (fixture `mail_user`/`imap`), so the
mailboxes it sees are the defaults plus what it made itself."""

import re

import pytest

from roost import (ConnectionClosed, appenduid, list_entries, list_map,
                   make_message, parse_list_line, parse_status_line, quote,
                   resp_code)

DEFAULTS = {"INBOX": None, "Sent": r"\Sent", "Drafts": r"\Drafts",
            "Trash": r"\Trash", "Junk": r"\Junk", "Archive": r"\Archive"}
SPECIAL_USES = {r"\all", r"\archive", r"\drafts", r"\flagged", r"\junk",
                r"\sent", r"\trash"}

POSTLOGIN_CAPS = {"IMAP4REV1", "LITERAL+", "ID", "ENABLE", "NAMESPACE",
                  "UNSELECT", "UIDPLUS", "MOVE", "CHILDREN", "LIST-EXTENDED",
                  "LIST-STATUS", "SPECIAL-USE", "CREATE-SPECIAL-USE", "QUOTA",
                  "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE", "MULTIAPPEND",
                  "STATUS=SIZE"}


def names(resp, kind=None):
    return set(list_map(resp, kind))


def ls(c, args="\"\" \"*\"", cmd="LIST"):
    return c.ok(f"{cmd} {args}")


def status(c, mailbox, items="MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN SIZE"):
    r = c.ok(f"STATUS {quote(mailbox)} ({items})")
    st = [parse_status_line(ln) for ln in r.untagged]
    st = [s for s in st if s]
    assert len(st) == 1, r.lines
    return st[0]


def assert_no(r, code=None):
    assert r.status == "NO", r.lines
    if code is not None:
        assert r.code == code, f"expected NO [{code}]: {r.lines!r}"


def assert_no_maybe_code(r, code):
    """NO; a response code, when the server gives one, must be code."""
    assert r.status == "NO", r.lines
    assert r.code in (None, code), r.lines


def append(c, mailbox, subject="m", flags=None):
    r = c.append(mailbox, make_message(subject), flags=flags)
    assert r.status == "OK", r.lines
    return r


# ----------------------------------------------------------------------
# capabilities, namespace, defaults

def test_capabilities_after_login(imap):
    caps = imap.ok("CAPABILITY").caps()
    missing = POSTLOGIN_CAPS - caps
    assert not missing, f"missing {missing} in {sorted(caps)}"
    limits = [c for c in caps if c.startswith("APPENDLIMIT")]
    assert len(limits) == 1 and re.match(r"^APPENDLIMIT=\d+$", limits[0]), \
        caps


def test_namespace(imap):
    r = imap.ok("NAMESPACE")
    ns = [ln for ln in r.untagged if ln.upper().startswith("* NAMESPACE")]
    assert ns == ['* NAMESPACE (("" "/")) NIL NIL'], r.lines


def test_namespace_needs_login(mail_user):
    c = mail_user.connect(login=False)
    assert c.cmd("NAMESPACE").status == "BAD"


def test_default_mailboxes(imap):
    r = ls(imap)
    m = list_map(r)
    assert set(m) == set(DEFAULTS), r.lines
    for name, use in DEFAULTS.items():
        e = m[name]
        assert e.delim == "/", e
        assert e.has(r"\HasNoChildren"), e
        assert not e.has(r"\Noselect") and not e.has(r"\HasChildren"), e
        uses = e.attrs_lower & SPECIAL_USES
        assert uses == ({use.lower()} if use else set()), e
    # exact wire form: atom names, quoted delimiter
    assert r'* LIST (\HasNoChildren) "/" INBOX' in r.lines, r.lines
    assert any(re.match(r'^\* LIST \([^)]*\\Sent[^)]*\) "/" Sent$', ln)
               for ln in r.lines), r.lines


def test_default_mailboxes_subscribed(imap):
    assert names(ls(imap, cmd="LSUB"), "LSUB") == set(DEFAULTS)
    r = ls(imap, '(SUBSCRIBED) "" "*"')
    m = list_map(r)
    assert set(m) == set(DEFAULTS), r.lines
    assert all(e.has(r"\Subscribed") for e in m.values()), r.lines
    # special-use is shown with the SUBSCRIBED selection too
    assert m["Trash"].has(r"\Trash"), r.lines


def test_list_empty_pattern(imap):
    r = imap.ok('LIST "" ""')
    assert r.untagged == [r'* LIST (\Noselect) "/" ""'], r.lines


def test_list_nothing_matches(imap):
    r = imap.ok('LIST "" "nosuch*"')
    assert r.untagged == [], r.lines


def test_list_needs_two_arguments(imap):
    assert imap.cmd('LIST ""').status == "BAD"
    assert imap.cmd("LIST").status == "BAD"


# ----------------------------------------------------------------------
# names: INBOX, modified UTF-7, delimiter

@pytest.mark.parametrize("spelling", ["INBOX", "inbox", "InBoX", "iNBOX"])
def test_inbox_case_insensitive(imap, spelling):
    append(imap, spelling, "to-" + spelling)
    name, st = status(imap, spelling, "MESSAGES")
    assert st == {"MESSAGES": 1}
    info = imap.select(spelling)
    assert info.resp.status == "OK" and info.exists == 1, info
    r = imap.ok(f"LIST \"\" {quote(spelling)}")
    assert [e.name for e in list_entries(r)] == ["INBOX"], r.lines
    assert_no(imap.cmd(f"CREATE {spelling}"), "ALREADYEXISTS")


def test_inbox_children_any_case(imap):
    imap.ok("CREATE inbox/Sub")
    imap.ok("CREATE InBox/Sub/Deeper")
    r = ls(imap)
    m = list_map(r)
    assert "INBOX/Sub" in m and "INBOX/Sub/Deeper" in m, r.lines
    assert not any(n.lower().startswith("inbox/") and not
                   n.startswith("INBOX/") for n in m), r.lines
    assert m["INBOX"].has(r"\HasChildren"), r.lines
    assert not m["INBOX"].has(r"\Noselect"), r.lines
    assert m["INBOX/Sub"].has(r"\HasChildren"), r.lines
    assert m["INBOX/Sub/Deeper"].has(r"\HasNoChildren"), r.lines
    append(imap, "Inbox/Sub/Deeper")
    assert status(imap, "INBOX/Sub/Deeper", "MESSAGES")[1]["MESSAGES"] == 1
    # only the leading component is case-insensitive
    assert_no(imap.cmd("STATUS INBOX/sub (MESSAGES)"), "NONEXISTENT")


def test_names_are_case_sensitive(imap):
    imap.ok("CREATE Work")
    imap.ok("CREATE work")
    r = imap.ok('LIST "" "%ork"')
    assert names(r) == {"Work", "work"}, r.lines
    append(imap, "Work")
    assert status(imap, "work", "MESSAGES")[1] == {"MESSAGES": 0}
    assert status(imap, "Work", "MESSAGES")[1] == {"MESSAGES": 1}
    assert imap.ok('LIST "" "WORK"').untagged == []


@pytest.mark.parametrize("name", [
    "&ZeVnLIqe-",          # 日本語
    "Entw&APw-rfe",        # Entwürfe
    "&U,BTFw-",            # 台北 (',' is the mUTF-7 '/')
    "a&-b",                # a&b
    "&-",                  # &
    "&2D3eAA-",            # U+1F600 as a surrogate pair
])
def test_mutf7_valid_names(imap, name):
    imap.ok(f"CREATE {quote(name)}")
    r = imap.ok(f"LIST \"\" {quote(name)}")
    es = list_entries(r)
    assert [e.name for e in es] == [name], r.lines
    append(imap, name)
    assert status(imap, name, "MESSAGES") == (name, {"MESSAGES": 1})
    info = imap.select(name)
    assert info.resp.status == "OK" and info.exists == 1, info
    imap.ok("UNSELECT")
    imap.ok(f"DELETE {quote(name)}")
    assert imap.ok(f"LIST \"\" {quote(name)}").untagged == []


@pytest.mark.parametrize("name", [
    "&Jjo",                # not terminated
    "&U,BTFw",             # not terminated
    "&AGE-",               # encodes 'a', which must be sent as itself
    "&AGEAYg-",            # 'ab' encoded
    "a&b",                 # '&' must start a shift or be '&-'
    "ab&",                 # shift at the end
    "&2D0-",               # a lone high surrogate
    "&ZeVnLIqe",           # not terminated, valid otherwise
])
def test_mutf7_invalid_names(imap, name):
    before = names(ls(imap))
    r = imap.cmd(f"CREATE {quote(name)}")
    assert r.status == "NO", r.lines
    assert names(ls(imap)) == before
    # the same name is refused wherever a mailbox name is taken
    assert imap.cmd(f"SELECT {quote(name)}").status == "NO"
    assert imap.cmd(f"STATUS {quote(name)} (MESSAGES)").status == "NO"
    r = imap.append(name, make_message("x"))
    assert r.status == "NO", r.lines
    assert names(ls(imap)) == before


def test_raw_8bit_name_refused(imap):
    """Mailbox names are modified UTF-7 in IMAP4rev1; raw UTF-8 is not a
    valid name there."""
    before = names(ls(imap))
    r = imap.cmd("CREATE " + quote("Entwürfe"))
    assert r.status in ("NO", "BAD"), r.lines
    assert names(ls(imap)) == before


@pytest.mark.parametrize("name", ['""', '"a//b"', '"/lead"'])
def test_bad_hierarchy_names(imap, name):
    before = names(ls(imap))
    r = imap.cmd(f"CREATE {name}")
    assert r.status == "NO", r.lines
    assert names(ls(imap)) == before


def test_name_needing_quotes_is_quoted(imap):
    spaced, dq, bs = "My Folder", 'Quote"d', "Back\\slash"
    for n in (spaced, dq, bs):
        imap.ok(f"CREATE {quote(n)}")
    r = ls(imap)
    assert r'* LIST (\HasNoChildren) "/" "My Folder"' in r.lines, r.lines
    assert r'* LIST (\HasNoChildren) "/" "Quote\"d"' in r.lines, r.lines
    assert r'* LIST (\HasNoChildren) "/" "Back\\slash"' in r.lines, r.lines
    assert {spaced, dq, bs} <= names(r)


@pytest.mark.parametrize("name", ["dot.ted", ".lead", "trail.", "a.b/c.d",
                                  "~tilde", "100%", "star*"])
def test_names_with_special_characters(imap, name):
    """Names the Maildir++ layout cannot use verbatim on disk ('.' is its
    separator) or that need quoting on the wire."""
    r = imap.cmd(f"CREATE {quote(name)}")
    if name in ("100%", "star*") and r.status == "NO":
        return      # wildcard characters may be refused in names
    assert r.status == "OK", r.lines
    append(imap, name, "sc")
    m = list_map(ls(imap))
    assert name in m, m
    assert status(imap, name, "MESSAGES") == (name, {"MESSAGES": 1})
    # no other mailbox appeared (a '.' must not become a hierarchy level)
    extra = set(m) - set(DEFAULTS) - {name}
    parents = {"/".join(name.split("/")[:i])
               for i in range(1, name.count("/") + 1)}
    assert extra == parents, m


@pytest.mark.parametrize("name", ["..", ".", "../evil", "a/../../evil",
                                  "./x", "a/./b", "..hidden/x"])
def test_names_cannot_escape_the_store(mail_server, imap, name):
    data = mail_server.data
    before = {p for p in data.rglob("*") if "mail" not in p.parts}
    r = imap.cmd(f"CREATE {quote(name)}")
    assert r.status in ("OK", "NO"), r.lines
    if r.status == "OK":
        append(imap, name, "esc")
        assert status(imap, name, "MESSAGES")[1] == {"MESSAGES": 1}
        assert name in names(ls(imap))
    after = {p for p in data.rglob("*") if "mail" not in p.parts}
    assert after == before, f"files outside the mail dir: {after - before}"
    outside = [p for p in (data / "mail").iterdir()
               if not (p / "index.db").exists() and p.is_dir()
               and not p.name.startswith("m")]
    assert not outside, outside
    assert not (data.parent / "evil").exists()
    assert not (data / "evil").exists()


def test_name_as_literal(imap):
    imap.send('a CREATE {6}\r\n')
    r = imap.read_response("a")
    assert r.continuation is not None, r.lines
    imap.send("Lit/er\r\n")
    r = imap.read_response("a")
    assert r.status == "OK", r.lines
    assert "Lit/er" in names(ls(imap))


# ----------------------------------------------------------------------
# CREATE

def test_create_and_list(imap):
    imap.ok("CREATE Projects")
    r = ls(imap)
    m = list_map(r)
    assert set(m) == set(DEFAULTS) | {"Projects"}, r.lines
    assert m["Projects"].has(r"\HasNoChildren"), r.lines
    assert not m["Projects"].attrs_lower & SPECIAL_USES
    info = imap.select("Projects")
    assert info.resp.status == "OK" and info.exists == 0, info


def test_create_existing(imap):
    imap.ok("CREATE Dup")
    assert_no(imap.cmd("CREATE Dup"), "ALREADYEXISTS")
    assert_no(imap.cmd("CREATE Sent"), "ALREADYEXISTS")
    assert_no(imap.cmd("CREATE INBOX"), "ALREADYEXISTS")


def test_create_missing_parents(imap):
    imap.ok("CREATE a/b/c")
    r = ls(imap)
    m = list_map(r)
    assert {"a", "a/b", "a/b/c"} <= set(m), r.lines
    assert m["a"].has(r"\HasChildren") and m["a/b"].has(r"\HasChildren")
    assert m["a/b/c"].has(r"\HasNoChildren")
    # a parent is either a real mailbox or \Noselect, and SELECT agrees
    for p in ("a", "a/b"):
        sel = imap.cmd(f"SELECT {p}")
        if m[p].has(r"\Noselect"):
            assert sel.status == "NO", (m[p], sel.lines)
        else:
            assert sel.status == "OK", (m[p], sel.lines)
    # a parent made implicitly can be made a real mailbox afterwards or
    # already is one; either way CREATE of it does not fail silently
    r = imap.cmd("CREATE a")
    if m["a"].has(r"\Noselect"):
        assert r.status == "OK", r.lines
        assert not list_map(ls(imap))["a"].has(r"\Noselect")
        assert imap.cmd("SELECT a").status == "OK"
    else:
        assert_no(r, "ALREADYEXISTS")


def test_create_trailing_delimiter(imap):
    r = imap.cmd("CREATE Trail/")
    assert r.status == "OK", r.lines
    m = list_map(ls(imap))
    assert "Trail" in m and "Trail/" not in m, m


# ----------------------------------------------------------------------
# DELETE

def test_delete(imap):
    imap.ok("CREATE Gone")
    append(imap, "Gone")
    imap.ok("DELETE Gone")
    assert "Gone" not in names(ls(imap))
    assert_no(imap.cmd("STATUS Gone (MESSAGES)"), "NONEXISTENT")
    assert_no(imap.cmd("SELECT Gone"), "NONEXISTENT")
    # created again, it is empty with a new UIDVALIDITY or higher UIDs
    imap.ok("CREATE Gone")
    assert status(imap, "Gone", "MESSAGES")[1] == {"MESSAGES": 0}


def test_delete_nonexistent(imap):
    assert_no_maybe_code(imap.cmd("DELETE NoSuchBox"), "NONEXISTENT")


@pytest.mark.parametrize("spelling", ["INBOX", "inbox"])
def test_delete_inbox_refused(imap, spelling):
    append(imap, "INBOX")
    assert imap.cmd(f"DELETE {spelling}").status == "NO"
    assert "INBOX" in names(ls(imap))
    assert status(imap, "INBOX", "MESSAGES")[1] == {"MESSAGES": 1}


def test_delete_special_use_mailbox(imap):
    imap.ok("DELETE Junk")
    m = list_map(ls(imap))
    assert "Junk" not in m
    assert not any(e.has(r"\Junk") for e in m.values()), m


def test_delete_with_children_becomes_noselect(imap):
    imap.ok("CREATE P")
    imap.ok("CREATE P/C")
    append(imap, "P")
    append(imap, "P/C")
    imap.ok("DELETE P")
    r = ls(imap)
    m = list_map(r)
    assert m["P"].has(r"\Noselect") and m["P"].has(r"\HasChildren"), r.lines
    assert "P/C" in m and not m["P/C"].has(r"\Noselect"), r.lines
    assert imap.cmd("SELECT P").status == "NO"
    assert imap.cmd("STATUS P (MESSAGES)").status == "NO"
    assert imap.append("P", make_message("x")).status == "NO"
    assert status(imap, "P/C", "MESSAGES")[1] == {"MESSAGES": 1}
    # RFC 3501 6.3.4: a \Noselect mailbox with inferiors cannot be deleted
    assert imap.cmd("DELETE P").status == "NO"
    assert "P/C" in names(ls(imap))
    # ... but CREATE makes it a real (empty) mailbox again
    imap.ok("CREATE P")
    assert status(imap, "P", "MESSAGES")[1] == {"MESSAGES": 0}


def test_delete_selected_mailbox_other_session(mail_user):
    a = mail_user.connect()
    b = mail_user.connect()
    a.ok("CREATE Doomed")
    append(a, "Doomed")
    assert a.select("Doomed").exists == 1
    b.ok("DELETE Doomed")
    # the first session must not crash the server or see the mailbox come
    # back; it may get BYE, or NO/OK answers until it selects again
    try:
        r = a.cmd("NOOP")
        assert r.status in ("OK", "NO"), r.lines
        r = a.cmd("FETCH 1 FLAGS")
        assert r.status in ("OK", "NO", "BAD"), r.lines
    except ConnectionClosed:
        pass
    b.ok("NOOP")
    assert "Doomed" not in names(ls(b))
    assert_no(b.cmd("STATUS Doomed (MESSAGES)"), "NONEXISTENT")


# ----------------------------------------------------------------------
# RENAME

def test_rename_moves_children_and_messages(imap):
    imap.ok("CREATE R1/kid/grandkid")
    imap.ok("CREATE R1/kid2")
    append(imap, "R1", "top")
    append(imap, "R1/kid", "kid")
    before = status(imap, "R1/kid", "UIDVALIDITY MESSAGES")[1]
    imap.ok("RENAME R1 R2")
    m = list_map(ls(imap))
    assert not any(n == "R1" or n.startswith("R1/") for n in m), m
    assert {"R2", "R2/kid", "R2/kid/grandkid", "R2/kid2"} <= set(m), m
    assert status(imap, "R2", "MESSAGES")[1] == {"MESSAGES": 1}
    after = status(imap, "R2/kid", "UIDVALIDITY MESSAGES")[1]
    assert after["MESSAGES"] == 1
    assert_no(imap.cmd("STATUS R1 (MESSAGES)"), "NONEXISTENT")
    # UIDs stay meaningful: the message keeps its UID if UIDVALIDITY stays
    if after["UIDVALIDITY"] == before["UIDVALIDITY"]:
        imap.select("R2/kid")
        assert imap.uids() == {1: 1}


def test_rename_to_existing(imap):
    imap.ok("CREATE Ra")
    imap.ok("CREATE Rb")
    assert_no(imap.cmd("RENAME Ra Rb"), "ALREADYEXISTS")
    assert_no(imap.cmd("RENAME Ra INBOX"), "ALREADYEXISTS")
    assert {"Ra", "Rb"} <= names(ls(imap))


def test_rename_nonexistent(imap):
    assert_no_maybe_code(imap.cmd("RENAME Nope Other"), "NONEXISTENT")
    assert "Other" not in names(ls(imap))


def test_rename_into_itself(imap):
    imap.ok("CREATE Self")
    assert imap.cmd("RENAME Self Self/Sub").status == "NO"
    m = list_map(ls(imap))
    assert "Self" in m and "Self/Sub" not in m, m


def test_rename_creates_parents(imap):
    imap.ok("CREATE Leaf")
    append(imap, "Leaf")
    imap.ok("RENAME Leaf deep/er/Leaf")
    m = list_map(ls(imap))
    assert {"deep", "deep/er", "deep/er/Leaf"} <= set(m), m
    assert "Leaf" not in m
    assert status(imap, "deep/er/Leaf", "MESSAGES")[1] == {"MESSAGES": 1}


def test_rename_inbox(imap):
    for i in range(3):
        append(imap, "INBOX", f"in{i}", flags=r"\Seen" if i == 0 else None)
    imap.ok("CREATE INBOX/Child")
    imap.ok("RENAME inbox Old")
    m = list_map(ls(imap))
    assert "INBOX" in m and "Old" in m, m
    # RFC 3501 6.3.5: inferior names of INBOX are not moved
    assert "INBOX/Child" in m and "Old/Child" not in m, m
    assert status(imap, "Old", "MESSAGES UNSEEN")[1] == \
        {"MESSAGES": 3, "UNSEEN": 2}
    assert status(imap, "INBOX", "MESSAGES")[1] == {"MESSAGES": 0}
    info = imap.select("INBOX")
    assert info.resp.status == "OK" and info.exists == 0, info
    # INBOX keeps working
    append(imap, "INBOX", "after")
    assert status(imap, "INBOX", "MESSAGES")[1] == {"MESSAGES": 1}


def test_rename_bad_target_name(imap):
    imap.ok("CREATE Src")
    assert imap.cmd("RENAME Src &Jjo").status == "NO"
    assert imap.cmd('RENAME Src "x//y"').status == "NO"
    assert "Src" in names(ls(imap))


# ----------------------------------------------------------------------
# SUBSCRIBE / UNSUBSCRIBE / LSUB

def test_subscribe_unsubscribe(imap):
    imap.ok("CREATE Sub1")
    assert "Sub1" not in names(ls(imap, cmd="LSUB"), "LSUB")
    imap.ok("SUBSCRIBE Sub1")
    assert "Sub1" in names(ls(imap, cmd="LSUB"), "LSUB")
    m = list_map(ls(imap, '"" "*" RETURN (SUBSCRIBED)'))
    assert m["Sub1"].has(r"\Subscribed") and m["INBOX"].has(r"\Subscribed")
    imap.ok("UNSUBSCRIBE Sub1")
    assert "Sub1" not in names(ls(imap, cmd="LSUB"), "LSUB")
    m = list_map(ls(imap, '"" "*" RETURN (SUBSCRIBED)'))
    assert not m["Sub1"].has(r"\Subscribed"), m
    imap.ok("UNSUBSCRIBE Sent")
    assert names(ls(imap, cmd="LSUB"), "LSUB") == set(DEFAULTS) - {"Sent"}


def test_subscription_survives_delete(imap):
    """RFC 3501 6.3.6: the server MUST NOT remove a name from the
    subscriptions because the mailbox went away."""
    imap.ok("CREATE Ephemeral")
    imap.ok("SUBSCRIBE Ephemeral")
    imap.ok("DELETE Ephemeral")
    assert "Ephemeral" in names(ls(imap, cmd="LSUB"), "LSUB")
    r = ls(imap, '(SUBSCRIBED) "" "Eph*"')
    m = list_map(r)
    assert set(m) == {"Ephemeral"}, r.lines
    assert m["Ephemeral"].has(r"\Subscribed"), r.lines
    assert m["Ephemeral"].has(r"\NonExistent"), r.lines
    # plain LIST does not show it
    assert "Ephemeral" not in names(ls(imap))
    imap.ok("UNSUBSCRIBE Ephemeral")
    assert ls(imap, '(SUBSCRIBED) "" "Eph*"').untagged == []


def test_unsubscribe_not_subscribed(imap):
    imap.ok("CREATE Never")
    r = imap.cmd("UNSUBSCRIBE Never")
    assert r.status in ("OK", "NO"), r.lines
    assert "Never" not in names(ls(imap, cmd="LSUB"), "LSUB")


def test_subscribe_inbox_any_case(imap):
    imap.ok("UNSUBSCRIBE INBOX")
    assert "INBOX" not in names(ls(imap, cmd="LSUB"), "LSUB")
    imap.ok("SUBSCRIBE inbox")
    assert names(ls(imap, '"" "INBOX"', "LSUB"), "LSUB") == {"INBOX"}


def test_lsub_percent_parent_noselect(imap):
    """RFC 3501 6.3.9: foo/bar subscribed, foo not: LSUB "" % returns foo
    flagged \\Noselect."""
    imap.ok("CREATE Lp/x")
    imap.ok("SUBSCRIBE Lp/x")
    r = ls(imap, '"" "%"', "LSUB")
    m = list_map(r, "LSUB")
    assert "Lp" in m and "Lp/x" not in m, r.lines
    assert m["Lp"].has(r"\Noselect"), r.lines
    r = ls(imap, '"" "Lp/%"', "LSUB")
    assert names(r, "LSUB") == {"Lp/x"}, r.lines
    r = ls(imap, '"" "*"', "LSUB")
    assert "Lp/x" in names(r, "LSUB") and "Lp" not in names(r, "LSUB")


# ----------------------------------------------------------------------
# LIST patterns and references

@pytest.fixture
def tree(imap):
    for n in ("w/a/b", "w/c", "wx", "w/a/b2"):
        imap.ok(f"CREATE {n}")
    return imap


@pytest.mark.parametrize("ref,pattern,want", [
    ("", "w/%", {"w/a", "w/c"}),
    ("", "w/*", {"w/a", "w/a/b", "w/a/b2", "w/c"}),
    ("", "w*", {"w", "w/a", "w/a/b", "w/a/b2", "w/c", "wx"}),
    ("", "w%", {"w", "wx"}),
    ("w/", "%", {"w/a", "w/c"}),
    ("w/", "*", {"w/a", "w/a/b", "w/a/b2", "w/c"}),
    ("w/a/", "b%", {"w/a/b", "w/a/b2"}),
    ("", "w/%/b", {"w/a/b"}),
    ("", "*b", {"w/a/b"}),
    ("", "%/%/%", {"w/a/b", "w/a/b2"}),
    ("", "W/%", set()),
    ("", "w/a", {"w/a"}),
    ("", "inBOX", {"INBOX"}),
    ("", "%", set(DEFAULTS) | {"w", "wx"}),
])
def test_list_patterns(tree, ref, pattern, want):
    r = tree.ok(f"LIST {quote(ref)} {quote(pattern)}")
    assert names(r) == want, r.lines


def test_list_children_attributes(tree):
    m = list_map(ls(tree))
    assert m["w"].has(r"\HasChildren") and not m["w"].has(r"\HasNoChildren")
    assert m["w/a"].has(r"\HasChildren")
    for n in ("w/a/b", "w/a/b2", "w/c", "wx"):
        assert m[n].has(r"\HasNoChildren") and not m[n].has(r"\HasChildren")
    # the same attributes with a % pattern (children not listed)
    m2 = list_map(tree.ok('LIST "" "%"'))
    assert m2["w"].has(r"\HasChildren"), m2


def test_list_lsub_same_syntax(tree):
    tree.ok("SUBSCRIBE w/c")
    r = tree.ok('LSUB "w/" "*"')
    assert names(r, "LSUB") == {"w/c"}, r.lines
    assert all(re.match(r'^\* LSUB \([^)]*\) "/" ', ln) for ln in r.untagged)


# ----------------------------------------------------------------------
# LIST-EXTENDED (RFC 5258), SPECIAL-USE (RFC 6154)

def test_list_remote_is_plain_list(tree):
    assert names(ls(tree, '(REMOTE) "" "*"')) == names(ls(tree))


def test_list_subscribed_selection(tree):
    tree.ok("SUBSCRIBE w/a/b")
    tree.ok("UNSUBSCRIBE Junk")
    r = ls(tree, '(SUBSCRIBED) "" "*"')
    m = list_map(r)
    assert set(m) == (set(DEFAULTS) - {"Junk"}) | {"w/a/b"}, r.lines
    assert all(e.has(r"\Subscribed") for e in m.values()), r.lines
    assert not any(e.has(r"\NonExistent") for e in m.values()), r.lines


def test_list_subscribed_recursivematch(tree):
    tree.ok("SUBSCRIBE w/a/b")
    r = ls(tree, '(SUBSCRIBED RECURSIVEMATCH) "" "%"')
    m = list_map(r)
    assert "w" in m and "wx" not in m, r.lines
    assert not m["w"].has(r"\Subscribed"), r.lines
    assert len(m["w"].extra) == 1, r.lines
    item = m["w"].extra[0]
    assert isinstance(item, list) and len(item) == 2, r.lines
    assert item[0].upper() == "CHILDINFO", r.lines
    assert [x.upper() for x in item[1]] == ["SUBSCRIBED"], r.lines
    # a subscribed mailbox that also matches has no CHILDINFO unless it
    # has subscribed children
    assert m["INBOX"].has(r"\Subscribed") and m["INBOX"].extra == []


def test_list_recursivematch_alone_is_bad(imap):
    assert imap.cmd('LIST (RECURSIVEMATCH) "" "%"').status == "BAD"


def test_list_unknown_selection_option_is_bad(imap):
    assert imap.cmd('LIST (FROBNICATE) "" "%"').status == "BAD"
    assert imap.cmd('LIST "" "%" RETURN (FROBNICATE)').status == "BAD"


def test_list_special_use_selection(tree):
    r = ls(tree, '(SPECIAL-USE) "" "*"')
    m = list_map(r)
    assert set(m) == set(DEFAULTS) - {"INBOX"}, r.lines
    for name, use in DEFAULTS.items():
        if use:
            assert m[name].has(use), r.lines


def test_list_return_special_use(tree):
    m = list_map(ls(tree, '"" "*" RETURN (SPECIAL-USE)'))
    assert set(m) == names(ls(tree))
    assert m["Drafts"].has(r"\Drafts") and not m["w"].attrs_lower & \
        SPECIAL_USES


def test_list_return_children(tree):
    m = list_map(ls(tree, '"" "w*" RETURN (CHILDREN)'))
    assert m["w"].has(r"\HasChildren") and m["wx"].has(r"\HasNoChildren")


def test_list_return_subscribed(tree):
    tree.ok("SUBSCRIBE wx")
    r = ls(tree, '"" "*" RETURN (SUBSCRIBED)')
    m = list_map(r)
    assert set(m) == names(ls(tree)), r.lines
    subscribed = {n for n, e in m.items() if e.has(r"\Subscribed")}
    assert subscribed == set(DEFAULTS) | {"wx"}, r.lines


def test_list_multiple_patterns(tree):
    r = ls(tree, '"" ("INBOX" "Sent" "w/%")')
    assert names(r) == {"INBOX", "Sent", "w/a", "w/c"}, r.lines
    # overlapping patterns list a mailbox once (list_map asserts that)
    r = ls(tree, '"" ("w/*" "w/a" "*b")')
    assert names(r) == {"w/a", "w/a/b", "w/a/b2", "w/c"}, r.lines


def test_list_status(tree):
    append(tree, "w/c", "1")
    append(tree, "w/c", "2", flags=r"\Seen")
    append(tree, "INBOX", "3")
    r = tree.ok('LIST "" "*" RETURN (STATUS (MESSAGES UNSEEN))')
    lines = r.untagged
    listed = {}
    for i, ln in enumerate(lines):
        e = parse_list_line(ln)
        if e is None:
            continue
        listed[e.name] = e
        nxt = parse_status_line(lines[i + 1]) if i + 1 < len(lines) else None
        if e.has(r"\Noselect") or e.has(r"\NonExistent"):
            assert nxt is None or nxt[0] != e.name, lines
        else:
            assert nxt is not None and nxt[0] == e.name, \
                f"no STATUS right after LIST {e.name}: {lines!r}"
            want = {"w/c": (2, 1), "INBOX": (1, 1)}.get(e.name, (0, 0))
            assert nxt[1] == {"MESSAGES": want[0], "UNSEEN": want[1]}, nxt
    assert set(listed) == names(ls(tree))
    n_status = sum(1 for ln in lines if parse_status_line(ln))
    n_selectable = sum(1 for e in listed.values() if not e.has(r"\Noselect"))
    assert n_status == n_selectable, lines


def test_list_status_size(tree):
    msg = make_message("sz")
    r = tree.append("wx", msg)
    assert r.status == "OK"
    r = tree.ok('LIST "" "wx" RETURN (STATUS (SIZE MESSAGES))')
    st = [parse_status_line(ln) for ln in r.untagged]
    st = [s for s in st if s]
    assert st == [("wx", {"SIZE": len(msg), "MESSAGES": 1})], r.lines


def test_list_extended_nothing_selected(imap):
    r = imap.ok('LIST (SUBSCRIBED) "" "nothing-here"')
    assert r.untagged == []


# ----------------------------------------------------------------------
# CREATE-SPECIAL-USE (RFC 6154)

def test_create_special_use(imap):
    imap.ok(r"CREATE MyArchive (USE (\Archive))")
    m = list_map(ls(imap))
    assert m["MyArchive"].has(r"\Archive"), m
    r = ls(imap, '(SPECIAL-USE) "" "*"')
    assert "MyArchive" in names(r), r.lines


def test_create_special_use_unknown_refused(imap):
    """RFC 6154 3: if the server cannot create a mailbox with the given
    special use it MUST NOT create it and answers NO."""
    r = imap.cmd(r"CREATE Weird (USE (\Bogus))")
    assert r.status == "NO", r.lines
    code = resp_code(r.tagged)
    assert code is None or code[0] == "USEATTR", r.lines
    assert "Weird" not in names(ls(imap))


def test_create_special_use_syntax(imap):
    assert imap.cmd(r"CREATE X (USE \Archive)").status == "BAD"
    assert imap.cmd(r"CREATE X (FROB (\Archive))").status in ("BAD", "NO")
    assert "X" not in names(ls(imap))


# ----------------------------------------------------------------------
# STATUS

def test_status_counts(imap):
    imap.ok("CREATE St")
    msgs = [make_message(f"s{i}", body="x" * (10 * i)) for i in range(3)]
    uidv = None
    for i, m in enumerate(msgs):
        r = imap.append("St", m, flags=r"\Seen" if i == 1 else None)
        assert r.status == "OK", r.lines
        uidv = appenduid(r)[0]
    name, st = status(imap, "St")
    assert name == "St"
    assert st == {"MESSAGES": 3, "RECENT": 3, "UIDNEXT": 4,
                  "UIDVALIDITY": uidv, "UNSEEN": 2,
                  "SIZE": sum(len(m) for m in msgs)}, st
    # only the items asked for, in any order
    assert status(imap, "St", "UNSEEN")[1] == {"UNSEEN": 2}


def test_status_empty_and_line_shape(imap):
    r = imap.ok("STATUS Drafts (MESSAGES UIDNEXT UNSEEN SIZE)")
    assert len(r.untagged) == 1, r.lines
    assert re.match(r"^\* STATUS Drafts \((MESSAGES 0|UIDNEXT 1|UNSEEN 0|"
                    r"SIZE 0| )+\)$", r.untagged[0]), r.lines


def test_status_nonexistent(imap):
    assert_no(imap.cmd("STATUS Missing (MESSAGES)"), "NONEXISTENT")


def test_status_bad_items(imap):
    assert imap.cmd("STATUS INBOX (BOGUS)").status == "BAD"
    assert imap.cmd("STATUS INBOX ()").status == "BAD"
    assert imap.cmd("STATUS INBOX").status == "BAD"
    assert imap.cmd("STATUS INBOX MESSAGES").status == "BAD"


def test_status_uidvalidity_stable_and_distinct(imap):
    imap.ok("CREATE Va")
    imap.ok("CREATE Vb")
    va = status(imap, "Va", "UIDVALIDITY")[1]["UIDVALIDITY"]
    vb = status(imap, "Vb", "UIDVALIDITY")[1]["UIDVALIDITY"]
    assert va > 0 and vb > 0
    assert status(imap, "Va", "UIDVALIDITY")[1]["UIDVALIDITY"] == va
    # a mailbox deleted and created again must not reuse UIDs under the
    # same UIDVALIDITY
    append(imap, "Va")
    imap.ok("DELETE Va")
    imap.ok("CREATE Va")
    st = status(imap, "Va", "UIDVALIDITY UIDNEXT")[1]
    assert st["UIDVALIDITY"] != va or st["UIDNEXT"] > 1, st


def test_status_selected_mailbox(imap):
    append(imap, "INBOX")
    imap.select("INBOX")
    r = imap.ok("STATUS INBOX (MESSAGES)")
    assert [parse_status_line(ln) for ln in r.untagged
            if ln.startswith("* STATUS")] == [("INBOX", {"MESSAGES": 1})]


# ----------------------------------------------------------------------
# SELECT of things that are not mailboxes

def test_select_nonexistent(imap):
    assert_no(imap.cmd("SELECT Nothing"), "NONEXISTENT")
    assert_no(imap.cmd("EXAMINE Nothing"), "NONEXISTENT")
    # a failed SELECT leaves no mailbox selected
    assert imap.cmd("FETCH 1 FLAGS").status == "BAD"


def test_select_noselect(imap):
    imap.ok("CREATE NS/child")
    if not list_map(ls(imap))["NS"].has(r"\Noselect"):
        imap.ok("DELETE NS")     # has children: becomes \Noselect
    assert list_map(ls(imap))["NS"].has(r"\Noselect")
    assert imap.cmd("SELECT NS").status == "NO"
    assert imap.cmd("EXAMINE NS").status == "NO"
    assert imap.cmd("FETCH 1 FLAGS").status == "BAD"


# ----------------------------------------------------------------------
# persistence across a restart

def test_mailboxes_and_subscriptions_survive_restart(make_server):
    srv = make_server()
    c = srv.connect()
    c.login()
    c.ok("CREATE Keep/Me")
    c.ok("SUBSCRIBE Keep/Me")
    c.ok("UNSUBSCRIBE Trash")
    c.ok("CREATE Gone")
    c.ok("SUBSCRIBE Gone")
    c.ok("DELETE Gone")
    c.ok(r"CREATE Spec (USE (\Archive))")
    before_list = list_map(ls(c))
    before_lsub = names(ls(c, cmd="LSUB"), "LSUB")
    c.close()
    srv.stop()
    srv.restart()
    c = srv.connect()
    c.login()
    after_list = list_map(ls(c))
    assert set(after_list) == set(before_list)
    for n, e in before_list.items():
        assert after_list[n].attrs_lower == e.attrs_lower, (n, e,
                                                            after_list[n])
    assert after_list["Spec"].has(r"\Archive")
    after_lsub = names(ls(c, cmd="LSUB"), "LSUB")
    assert after_lsub == before_lsub
    assert "Gone" in after_lsub and "Trash" not in after_lsub
    assert "Keep/Me" in after_lsub
    c.close()


def test_status_name_quoting(imap):
    for name in ("My Folder", "&ZeVnLIqe-", "Quote\"d"):
        imap.ok(f"CREATE {quote(name)}")
        r = imap.ok(f"STATUS {quote(name)} (MESSAGES)")
        st = [s for s in (parse_status_line(ln) for ln in r.untagged) if s]
        assert st == [(name, {"MESSAGES": 0})], r.lines
    r = imap.ok(f"STATUS {quote('My Folder')} (MESSAGES)")
    assert r.untagged == ['* STATUS "My Folder" (MESSAGES 0)'], r.lines
    r = imap.ok("STATUS &ZeVnLIqe- (MESSAGES)")
    assert r.untagged == ["* STATUS &ZeVnLIqe- (MESSAGES 0)"], r.lines
