"""pytest fixtures for roost protocol tests.

Run: /usr/bin/python3 -m pytest -q tests/proto
Binary: $ROOST_BIN (default <repo>/build/roost). A missing binary makes
every test error out; nothing is skipped.
"""

import os
import resource
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import roost  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def roost_binary():
    roost.check_binary()
    return roost.ROOST_BIN


@pytest.fixture
def make_server(tmp_path):
    """Factory: make_server(config=..., users=..., start=True) -> RoostServer.
    Every server it made is stopped at teardown (SIGTERM, exit code 0 and a
    clean sanitizer log asserted) unless the test already stopped it."""
    servers = []

    def make(config=None, users=None, start=True, name=None, **kw):
        base = tmp_path / (name or f"srv{len(servers)}")
        srv = roost.RoostServer(base, config=config, users=users, **kw)
        servers.append(srv)
        if start:
            srv.start()
        return srv

    yield make
    errors = []
    for srv in servers:
        if srv.proc is None:
            continue
        if srv.proc.poll() is None:
            try:
                srv.stop()
            except AssertionError as e:
                errors.append(str(e))
        else:
            srv.wait_exit()
            try:
                srv.assert_no_sanitizer_errors()
            except AssertionError as e:
                errors.append(str(e))
    if errors:
        pytest.fail("server teardown: " + "\n".join(errors))


class _Shared:
    def __init__(self, factory):
        self.factory = factory
        self.srv = None
        self.n = 0

    def get(self):
        if self.srv is None or not self.srv.running():
            base = self.factory.mktemp("shared")
            self.srv = roost.RoostServer(base, config=SHARED_CONFIG)
            self.srv.start()
        return self.srv


# the shared server allows many connections per address so that one
# failing test that leaks connections does not break the following ones
SHARED_CONFIG = {"imap": {"max_connections_per_ip": 1000}}


@pytest.fixture(scope="module")
def _shared_server(tmp_path_factory):
    shared = _Shared(tmp_path_factory)
    yield shared
    if shared.srv is not None and shared.srv.proc is not None:
        shared.srv.stop()


@pytest.fixture
def server(_shared_server):
    """A running server with the default test config (plus a high
    per-address connection cap) and users alice/secret and bob/hunter2
    ({PLAIN}), shared by the tests of one module for speed. Tests that
    signal, reconfigure or stop a server use make_server instead. After
    each test the shared server must still run and its log must hold no
    sanitizer report, so a crash is charged to the test that caused it."""
    srv = _shared_server.get()
    start = len(srv.log)
    yield srv
    import time
    time.sleep(0.02)      # let a sanitizer report reach the log
    new = srv.log[start:]
    bad = [ln for ln in new if any(m in ln for m in roost.SANITIZER_MARKERS)]
    alive = srv.running()
    if bad or not alive:
        text = "\n".join(new[-150:])
        if alive:
            srv.stop(expect_rc=None)
        else:
            srv.wait_exit()
        _shared_server.srv = None
        pytest.fail(f"shared server {'crashed' if not alive else 'reported'}"
                    f" during this test (rc={srv.proc.returncode}):\n{text}")


@pytest.fixture
def raise_nofile():
    """Raise RLIMIT_NOFILE (soft) for this process and its children."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4096 if hard == resource.RLIM_INFINITY else min(hard, 4096)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    yield resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


# ----------------------------------------------------------------------
# mail-store tests (issue 3): a shared server per module with a pool of
# users, so that every test gets a user (and so a mail store) of its own.

MAIL_USER_COUNT = 300
MAIL_PASSWORD = "mail-pw"


def mail_users(count=MAIL_USER_COUNT, prefix="m"):
    return {f"{prefix}{i:03d}": MAIL_PASSWORD for i in range(count)}


class _SharedMail(_Shared):
    def __init__(self, factory):
        super().__init__(factory)
        self.next_user = 0

    def get(self):
        if self.srv is None or not self.srv.running():
            base = self.factory.mktemp("shared-mail")
            self.srv = roost.RoostServer(base, config=SHARED_CONFIG,
                                         users=mail_users())
            self.srv.start()
        return self.srv

    def take_user(self):
        assert self.next_user < MAIL_USER_COUNT, \
            "mail user pool exhausted; raise MAIL_USER_COUNT"
        name = f"m{self.next_user:03d}"
        self.next_user += 1
        return name


@pytest.fixture(scope="module")
def _shared_mail_server(tmp_path_factory):
    shared = _SharedMail(tmp_path_factory)
    yield shared
    if shared.srv is not None and shared.srv.proc is not None:
        shared.srv.stop()


@pytest.fixture
def mail_server(_shared_mail_server):
    """Like `server`, but its users are m000..m299 (password MAIL_PASSWORD)
    and each test takes fresh ones through `mail_user`."""
    srv = _shared_mail_server.get()
    start = len(srv.log)
    yield srv
    import time
    time.sleep(0.02)
    new = srv.log[start:]
    bad = [ln for ln in new if any(m in ln for m in roost.SANITIZER_MARKERS)]
    alive = srv.running()
    if bad or not alive:
        text = "\n".join(new[-150:])
        if alive:
            srv.stop(expect_rc=None)
        else:
            srv.wait_exit()
        _shared_mail_server.srv = None
        pytest.fail(f"shared server {'crashed' if not alive else 'reported'}"
                    f" during this test (rc={srv.proc.returncode}):\n{text}")


class MailUser:
    """A user of its own on a server; connect() gives logged-in clients,
    all closed at teardown."""

    def __init__(self, srv, name, password=MAIL_PASSWORD):
        self.srv = srv
        self.name = name
        self.password = password
        self.clients = []

    def connect(self, login=True, **kw):
        c = self.srv.connect(**kw)
        self.clients.append(c)
        if login:
            c.login(self.name, self.password)
        return c

    def close(self):
        for c in self.clients:
            c.close()


@pytest.fixture
def mail_user(mail_server, _shared_mail_server):
    u = MailUser(mail_server, _shared_mail_server.take_user())
    yield u
    u.close()


@pytest.fixture
def other_user(mail_server, _shared_mail_server):
    u = MailUser(mail_server, _shared_mail_server.take_user())
    yield u
    u.close()


@pytest.fixture
def imap(mail_user):
    """A logged-in raw Client for a fresh user of the shared mail server."""
    return mail_user.connect()
