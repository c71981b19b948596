"""count() against count_documents() on the MongoDB server the tests use (the stand-in by default).

    .venv/bin/python bench/count.py                       # starts its own stand-in
    .venv/bin/python bench/count.py --uri mongodb://127.0.0.1:27017

For 100, 1,000 and 5,000 matching documents (indexed filter), the best of 20 runs of each.
Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from libs.common.mongo import connect, count, new_id  # noqa: E402


def best(fn, runs: int = 20) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times) * 1000


def measure(uri: str) -> None:
    client = connect(uri, "bench-count")
    db = client[f"bench_count_{new_id()[-8:]}"]
    col = db["cards"]
    col.create_index([("projectId", 1), ("columnId", 1), ("rank", 1)])
    print(f"{'matches':>8} {'count_documents ms':>19} {'count ms':>9}")
    try:
        for size in (100, 1000, 5000):
            project = new_id()
            col.insert_many([{"_id": new_id(), "projectId": project, "columnId": "c", "rank": i} for i in range(size)])
            flt = {"projectId": {"$eq": project}, "columnId": {"$eq": "c"}, "rank": {"$lt": size}}
            assert count(col, flt) == col.count_documents(flt) == size
            print(f"{size:>8} {best(lambda: col.count_documents(flt)):>19.2f} {best(lambda: count(col, flt)):>9.2f}")
    finally:
        client.drop_database(db.name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri", help="a running MongoDB-protocol server (default: start the stand-in)")
    args = parser.parse_args()
    if args.uri:
        measure(args.uri)
        return
    from devtools.infra import Infra
    with tempfile.TemporaryDirectory() as data:
        infra = Infra.start(Path(data), s3=False)
        try:
            measure(infra.env["MONGO_URI"])
        finally:
            infra.stop()


if __name__ == "__main__":
    main()
