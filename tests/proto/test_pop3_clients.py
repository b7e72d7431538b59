"""Real POP3 clients against roost: fetchmail (keep and delete modes,
plaintext with STLS and implicit TLS, delivering to an MDA), getmail6
(SimplePOP3Retriever and SimplePOP3SSLRetriever into a Maildir) and curl
(pop3:// LIST, RETR by number, -X DELE, pop3s://). A test is skipped only
when its client is not installed."""

import os
import pwd
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from roost import make_message

FETCHMAIL = shutil.which("fetchmail") or "/usr/bin/fetchmail"
GETMAIL = shutil.which("getmail") or "/usr/bin/getmail"
CURL = shutil.which("curl") or "/usr/bin/curl"
CLIENT_TIMEOUT = 120   # a guard against a hang, not a measurement


def require(tool):
    if not os.path.isfile(tool) or not os.access(tool, os.X_OK):
        pytest.skip(f"{tool} is not installed")


def lf(msg):
    return msg.replace(b"\r\n", b"\n")


def messages():
    """Messages with the lines POP3 must byte-stuff, and a larger one."""
    return [
        make_message("plain", body="Hello.\r\n"),
        make_message("dots", body=".\r\n..\r\n.leading dot\r\nend.\r\n"),
        make_message("bigger", body="".join(
            f"{'.' if i % 7 == 0 else ''}line {i} {'z' * 60}\r\n"
            for i in range(20000))),
    ]


def put(user, msgs):
    c = user.connect()
    for m in msgs:
        r = c.append("INBOX", m)
        assert r.status == "OK", r.lines
    c.close()


def inbox_count(user):
    c = user.connect()
    n = c.select("INBOX").exists
    c.close()
    return n


def run(argv, srv, env=None, user=None):
    """Run a client to its end; it must succeed."""
    mark = srv.mark()
    try:
        r = subprocess.run(argv, capture_output=True, timeout=CLIENT_TIMEOUT,
                           env=env, user=user)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{argv[0]} hung: {e.stdout!r} {e.stderr!r}\n"
                    + "\n".join(srv.log[mark:][-40:]))
    assert r.returncode == 0, (argv, r.returncode, r.stdout, r.stderr,
                               "\n".join(srv.log[mark:][-40:]))
    return r


class Sandbox:
    """A directory a client may write to. As root, clients that refuse
    to deliver as root (getmail) or warn (fetchmail) run as nobody, in a
    directory of its own under /tmp (pytest's tmp_path is root's only)."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="roost-pop3-client-"))
        self.user = None
        if os.geteuid() == 0:
            self.user = "nobody"
            pw = pwd.getpwnam("nobody")
            self.uid, self.gid = pw.pw_uid, pw.pw_gid
            os.chown(self.dir, self.uid, self.gid)

    def mkdir(self, *parts):
        d = self.dir.joinpath(*parts)
        d.mkdir(parents=True, exist_ok=True)
        self.own(d)
        return d

    def write(self, name, text, mode=0o600):
        p = self.dir / name
        p.write_text(text)
        os.chmod(p, mode)
        self.own(p)
        return p

    def own(self, path):
        if self.user:
            os.chown(path, self.uid, self.gid)

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def sandbox():
    sb = Sandbox()
    yield sb
    sb.remove()


def copy_cert(srv, sb):
    """The server's certificate where the client's user can read it."""
    cert = sb.dir / "cert.pem"
    shutil.copy(srv.cert, cert)
    os.chmod(cert, 0o644)
    sb.own(cert)
    return cert


# ----------------------------------------------------------------------
# fetchmail


def fetchmail(user, sb, port, keep, ssl=False, stls=False, cert=None):
    """Run fetchmail once for user; each message goes to its own file in
    sb/out through an MDA. Returns the files' contents, oldest first."""
    out = sb.mkdir("out")
    mda = f"/bin/sh -c 'cat > {out}/$(date +%s%N).eml'"
    opts = ["keep"] if keep else ["no keep", "fetchall"]
    if ssl:
        opts.append("ssl")
    # fetchmail upgrades with STLS whenever it can; sslproto '' stops it
    opts.append("sslproto 'TLS1.2+'" if stls or ssl else "sslproto ''")
    if cert:
        opts += ["sslcertck", f"sslcertfile '{cert}'",
                 "sslcommonname localhost"]
    poll = f"poll localhost via 127.0.0.1 with proto POP3 port {port}"
    rc = sb.write("fetchmailrc", "\n".join([
        "set no syslog",
        "set no bouncemail",
        poll + (" uidl" if keep else ""),
        f'  user "{user.name}" there with password "{user.password}"'
        f" is {sb.user or 'root'} here",
        f"  options {' '.join(opts)}",
        f'  mda "{mda}"',
        "",
    ]))
    env = dict(os.environ, HOME=str(sb.dir))
    argv = [FETCHMAIL, "--nodetach", "--nosyslog", "-v", "-f", str(rc),
            "--pidfile", str(sb.dir / "fetchmail.pid"),
            "--idfile", str(sb.dir / "fetchids")]
    r = subprocess.run(argv, capture_output=True, timeout=CLIENT_TIMEOUT,
                       env=env, user=sb.user)
    # 0: mail fetched; 1: no mail
    assert r.returncode in (0, 1), (r.returncode, r.stdout, r.stderr)
    files = sorted(out.iterdir())
    got = [p.read_bytes() for p in files]
    for p in files:
        p.unlink()
    return r, got


def fetched_bodies(got):
    """What fetchmail delivered, less the Received header it puts on
    top, with LF line ends."""
    out = []
    for data in got:
        m = re.match(rb"^Received: [^\n]*\n(?:[ \t][^\n]*\n)*", data)
        out.append(data[m.end():] if m else data)
    return out


def test_fetchmail_keep_then_delete(mail_user, sandbox):
    require(FETCHMAIL)
    msgs = messages()
    put(mail_user, msgs)
    port = mail_user.srv.pop3_port
    # keep: everything arrives, nothing leaves the server
    r, got = fetchmail(mail_user, sandbox, port, keep=True)
    assert sorted(fetched_bodies(got)) == sorted(lf(m) for m in msgs), r
    assert inbox_count(mail_user) == len(msgs)
    # keep again: fetchmail remembers the UIDLs, nothing new
    r, got = fetchmail(mail_user, sandbox, port, keep=True)
    assert got == [], r
    assert r.returncode == 1, r
    # delete mode: everything again, then the maildrop is empty
    r, got = fetchmail(mail_user, sandbox, port, keep=False)
    assert sorted(fetched_bodies(got)) == sorted(lf(m) for m in msgs), r
    assert inbox_count(mail_user) == 0


def test_fetchmail_tls(mail_user, sandbox):
    require(FETCHMAIL)
    msgs = messages()[:2]
    put(mail_user, msgs)
    cert = copy_cert(mail_user.srv, sandbox)
    r, got = fetchmail(mail_user, sandbox, mail_user.srv.pop3s_port,
                       keep=True, ssl=True, cert=cert)
    assert sorted(fetched_bodies(got)) == sorted(lf(m) for m in msgs), r
    # STLS on the plaintext port, then delete
    r, got = fetchmail(mail_user, sandbox, mail_user.srv.pop3_port,
                       keep=False, stls=True, cert=cert)
    assert sorted(fetched_bodies(got)) == sorted(lf(m) for m in msgs), r
    assert inbox_count(mail_user) == 0
    assert mail_user.srv.events("login", proto="pop3", user=mail_user.name,
                                tls="yes")


# ----------------------------------------------------------------------
# getmail6


def getmail(user, sb, port, ssl=False, cert=None, delete=False):
    gdir = sb.mkdir("getmail")
    maildir = sb.dir / "Maildir"
    for sub in ("cur", "new", "tmp"):
        sb.mkdir("Maildir", sub)
    retr = "SimplePOP3SSLRetriever" if ssl else "SimplePOP3Retriever"
    lines = ["[retriever]", f"type = {retr}", "server = 127.0.0.1",
             f"port = {port}", f"username = {user.name}",
             f"password = {user.password}"]
    if cert:
        lines += [f"ca_certs = {cert}", "ssl_cert_hostname = localhost"]
    lines += ["", "[destination]", "type = Maildir", f"path = {maildir}/"]
    if sb.user:
        lines.append(f"user = {sb.user}")
    lines += ["", "[options]", "read_all = false",
              f"delete = {'true' if delete else 'false'}",
              "delivered_to = false", "received = false", "verbose = 2", ""]
    rc = sb.write("getmail/getmailrc", "\n".join(lines))
    r = run([GETMAIL, "--getmaildir", str(gdir), "--rcfile", str(rc)],
            user.srv)
    files = sorted(p for sub in ("new", "cur")
                   for p in (maildir / sub).iterdir())
    got = [p.read_bytes() for p in files]
    for p in files:
        p.unlink()
    return r, got


def getmail_bodies(got):
    out = []
    for data in got:
        m = re.match(rb"^Return-Path: <[^<>\n]*>\n", data)
        assert m, data[:200]
        out.append(data[m.end():])
    return out


def test_getmail_pop3(mail_user, sandbox):
    require(GETMAIL)
    msgs = messages()
    put(mail_user, msgs)
    r, got = getmail(mail_user, sandbox, mail_user.srv.pop3_port)
    assert sorted(getmail_bodies(got)) == sorted(lf(m) for m in msgs), r
    # it remembers UIDLs: nothing new the second time
    r, got = getmail(mail_user, sandbox, mail_user.srv.pop3_port)
    assert got == [], r
    assert inbox_count(mail_user) == len(msgs)


def test_getmail_pop3_ssl_delete(mail_user, sandbox):
    require(GETMAIL)
    msgs = messages()[:2]
    put(mail_user, msgs)
    cert = copy_cert(mail_user.srv, sandbox)
    r, got = getmail(mail_user, sandbox, mail_user.srv.pop3s_port, ssl=True,
                     cert=cert, delete=True)
    assert sorted(getmail_bodies(got)) == sorted(lf(m) for m in msgs), r
    assert inbox_count(mail_user) == 0


# ----------------------------------------------------------------------
# curl


def curl(user, url, *extra, cert=None):
    argv = [CURL, "-sS", "--max-time", str(CLIENT_TIMEOUT),
            "-u", f"{user.name}:{user.password}", *extra]
    if cert:
        argv += ["--cacert", str(cert)]
    return run(argv + [url], user.srv).stdout


def test_curl_list_retr_dele(mail_user):
    require(CURL)
    msgs = messages()
    put(mail_user, msgs)
    base = f"pop3://127.0.0.1:{mail_user.srv.pop3_port}"
    listing = curl(mail_user, base + "/")
    assert listing == "".join(f"{i + 1} {len(m)}\r\n"
                              for i, m in enumerate(msgs)).encode()
    for i, m in enumerate(msgs):
        assert curl(mail_user, f"{base}/{i + 1}") == m
    curl(mail_user, f"{base}/2", "-X", "DELE", "-I")
    # a new session numbers what is left from 1
    left = [msgs[0], msgs[2]]
    listing = curl(mail_user, base + "/")
    assert listing == "".join(f"{i + 1} {len(m)}\r\n"
                              for i, m in enumerate(left)).encode()
    assert curl(mail_user, f"{base}/2") == msgs[2]
    assert inbox_count(mail_user) == 2


def test_curl_pop3s_and_stls(mail_user, sandbox):
    require(CURL)
    msgs = messages()[:2]
    put(mail_user, msgs)
    cert = copy_cert(mail_user.srv, sandbox)
    url = f"pop3s://localhost:{mail_user.srv.pop3s_port}/2"
    assert curl(mail_user, url, cert=cert) == msgs[1]
    url = f"pop3://localhost:{mail_user.srv.pop3_port}/1"
    assert curl(mail_user, url, "--ssl-reqd", cert=cert) == msgs[0]
    assert len(mail_user.srv.events("login", proto="pop3",
                                    user=mail_user.name, tls="yes")) == 2
