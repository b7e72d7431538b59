"""User affinity: a session moves to its user's worker loop at login.

Regression for a race: the move was started from inside the I/O callback
that completed the login (a SCRAM exchange finishes on the loop thread),
so the old loop kept using the connection after the new loop had taken
it (heap-use-after-free under ASan). The move now happens once the
callback has returned. Commands pipelined right behind the login must be
answered on the new worker, in order.
"""
import threading

from test_auth import scram_login


def _scram_then_pipeline(srv, user, password, errors):
    try:
        with srv.connect() as c:
            res = scram_login(c, user, password)
            assert res.response.status == "OK", res.response.lines
            assert res.server_signature_ok
            # pipelined behind the login: served after the move
            c.send("p1 NOOP\r\np2 CAPABILITY\r\np3 ID NIL\r\n")
            for tag in ("p1", "p2", "p3"):
                r = c.read_response(tag)
                assert r.status == "OK", r.lines
            c.ok("LOGOUT")
    except Exception as e:   # collected, asserted by the test thread
        errors.append(repr(e))


def test_concurrent_scram_logins_move_workers(make_server):
    users = {f"u{i}": f"pw{i}" for i in range(16)}
    srv = make_server(users=users, config={
        "server": {"workers": 4},
        "imap": {"max_connections_per_ip": 1000},
    })
    errors = []
    threads = [threading.Thread(target=_scram_then_pipeline,
                                args=(srv, u, p, errors))
               for _ in range(8) for u, p in users.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[:5]
    # the log is read by a thread in the harness: wait for the last lines
    assert len(srv.wait_event("login", count=len(threads))) == len(threads)
    srv.assert_no_sanitizer_errors()


def test_plain_login_pipelined_commands_follow_the_move(make_server):
    """LOGIN, then commands in the same write: answered in order, once."""
    srv = make_server(config={"server": {"workers": 3}})
    for _ in range(10):
        with srv.connect() as c:
            c.send("a LOGIN alice secret\r\nb NOOP\r\nc NOOP\r\nd LOGOUT\r\n")
            lines = c.read_until_closed()
            tagged = [ln.split(" ", 2)[:2] for ln in lines
                      if ln[:1] in "abcd"]
            assert tagged == [["a", "OK"], ["b", "OK"], ["c", "OK"],
                              ["d", "OK"]], lines
