"""Concurrent event streams are capped per user and per token (issue 14): the 11th open
GET /notifications/stream of one user is a 429 with the error body; other users are unaffected;
closing a stream frees its slot (once the gateway notices: at the latest at the second heartbeat
the stream writes to the gone client). A Last-Event-ID beyond int64 starts afresh instead of failing."""
import requests

from tests.support import assert_error, register, wait_until

CAP = 10  # STREAMS_PER_USER / STREAMS_PER_TOKEN


def _open(client, token=None, **headers):
    r = requests.get(client.base + "/notifications/stream", stream=True, timeout=(5, 30),
                     headers={"Authorization": f"Bearer {token or client.token}", **headers})
    return r


def test_an_eleventh_stream_of_one_user_is_a_429(base):
    user, other = register(base), register(base)
    r = user.post("/api-tokens", json={"name": "sse", "scopes": ["notifications:read"]})
    assert r.status_code == 201, r.text
    pat = r.json()["token"]
    streams = [_open(user, pat) for _ in range(CAP)]
    try:
        assert [s.status_code for s in streams] == [200] * CAP
        refused = _open(user, pat)
        assert_error(refused, 429, "streams")
        assert refused.headers["Retry-After"]
        assert_error(_open(user), 429, "streams")  # the same user with a JWT: the per-user cap
        theirs = _open(other)
        assert theirs.status_code == 200  # another user is not affected
        theirs.close()
        assert user.get("/notifications/count").status_code == 200  # ordinary requests still pass
        streams.pop().close()
        again = wait_until(lambda: (lambda r: r if r.status_code == 200 else r.close())(_open(user, pat)),
                           timeout=60, interval=0.5, message="a closed stream frees its slot")
        streams.append(again)
    finally:
        for s in streams:
            s.close()


def test_a_last_event_id_beyond_int64_starts_afresh(base):
    user = register(base)
    r = _open(user, **{"Last-Event-ID": "9223372036854775808"})
    try:
        assert r.status_code == 200
        lines = []
        for line in r.iter_lines(decode_unicode=True):
            lines.append(line)
            if line.startswith("data:"):
                break
        assert lines[0].startswith("retry:") and "event: count" in lines, lines
    finally:
        r.close()
