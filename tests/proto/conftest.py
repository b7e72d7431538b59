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


@pytest.fixture
def server(make_server):
    """A running server with the default test config and users
    alice/secret and bob/hunter2 ({PLAIN})."""
    return make_server()


@pytest.fixture
def raise_nofile():
    """Raise RLIMIT_NOFILE (soft) for this process and its children."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4096 if hard == resource.RLIM_INFINITY else min(hard, 4096)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    yield resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
