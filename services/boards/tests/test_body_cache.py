"""The board body cache keeps one body per (project, path): a write's new revision replaces the old
body instead of piling up beside it (the soak's boards-web growth), and the whole stays bounded."""
from services.boards.api import _Bodies


def test_a_newer_revision_replaces_the_body_of_the_same_board_and_path():
    cache = _Bodies(max_bytes=1 << 20)
    where = ("p1", "/cards?")
    for rev in range(1, 200):
        cache.put(where, rev, b"x" * 1000, {})
    assert len(cache.entries) == 1 and cache.size == 1000
    assert cache.get(where, 199) == (b"x" * 1000, {})
    assert cache.get(where, 198) is None          # an older revision is never served


def test_an_older_build_does_not_replace_a_newer_one():
    cache = _Bodies(max_bytes=1 << 20)
    cache.put(("p", "/c"), 5, b"new", {})
    cache.put(("p", "/c"), 4, b"old", {})
    assert cache.get(("p", "/c"), 5) == (b"new", {})


def test_the_cache_is_bounded_in_bytes_least_recently_read_first():
    cache = _Bodies(max_bytes=10_000)
    for n in range(20):
        cache.put((f"p{n}", "/c"), 1, b"y" * 1000, {})
        cache.get(("p0", "/c"), 1)                 # p0 stays warm
    assert cache.size <= 10_000
    assert cache.get(("p0", "/c"), 1) is not None
    assert cache.get(("p1", "/c"), 1) is None
    cache.put(("big", "/c"), 1, b"z" * 5000, {})   # over a quarter of the bound: not kept
    assert cache.get(("big", "/c"), 1) is None
