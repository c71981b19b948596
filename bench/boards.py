"""Boards hot paths through the gateway: the kanban workload (../shared/tools/kanban-workload's: one
board of 3 columns; sequential creates; whole-board reads; moves to the next column; threads creating
for some seconds), the same board read with `If-None-Match` (304), then how card create and move
scale from a 100-card to a 10,000-card column. Prints figures; no assertions.

    .venv/bin/python bench/boards.py                      # starts its own stack (identity + boards)
    .venv/bin/python bench/boards.py --base-url http://127.0.0.1:3001 \\
        --mongo-uri mongodb://127.0.0.1:27017 --mongo-db stellary_boards   # a running system
    .venv/bin/python bench/boards.py --cards 500 --reads 100 --moves 200 --threads 8 --seconds 10 \\
        --sizes 100,10000 --ops 100

Columns for the scaling part are seeded directly in MongoDB (valid card documents and the project's
board map, as boards writes them); without --mongo-uri against --base-url they are created through
the API instead (slow for 10,000). Latencies are per request as the client sees them (gateway +
service + database); ops/s = requests / wall time.
"""
from __future__ import annotations

import argparse
import itertools
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(0, min(len(ordered) - 1, round(q / 100.0 * len(ordered) + 0.5) - 1))]


def line(name: str, lat: list[float], wall: float | None = None, extra: str = "") -> str:
    ms = [x * 1000 for x in lat]
    rate = f"{len(lat) / wall:8.1f} ops/s" if wall else " " * 14
    return (f"{name:<44} n={len(lat):<6} {rate}   p50 {pct(ms, 50):7.1f} ms   p99 {pct(ms, 99):7.1f} ms   "
            f"mean {statistics.fmean(ms) if ms else float('nan'):7.1f} ms {extra}")


class Api:
    def __init__(self, base: str):
        self.base = base.rstrip("/")
        self.token = None

    def session(self) -> requests.Session:
        s = requests.Session()
        s.trust_env = False
        if self.token:
            s.headers["Authorization"] = "Bearer " + self.token
        return s

    def call(self, s, method, path, ok=(200, 201), **kw):
        r = s.request(method, self.base + path, timeout=60, **kw)
        if r.status_code not in ok:
            raise RuntimeError(f"{method} {path} -> {r.status_code}: {r.text[:300]}")
        return r

    def login(self):
        email = f"bench-{time.time_ns()}@example.com"
        r = requests.post(self.base + "/auth/register", json={"email": email, "password": "bench-pass-123",
                                                              "name": "Bench"}, timeout=30)
        r.raise_for_status()
        self.token = r.json()["access_token"]
        s = self.session()
        org = self.call(s, "GET", "/organizations").json()[0]["slug"]
        ws = next(w for w in self.call(s, "GET", f"/orgs/{org}/workspaces").json() if w.get("isPersonal"))["slug"]
        self.w = f"/orgs/{org}/workspaces/{ws}"

    def board(self, s, name: str) -> tuple[str, str, list[str]]:
        pid = self.call(s, "POST", f"{self.w}/projects", json={"name": name}).json()["id"]
        p = f"{self.w}/projects/{pid}"
        lists = [self.call(s, "POST", f"{p}/columns", json={"name": f"list-{i}"}).json()["id"] for i in range(3)]
        return pid, p, lists

    def create(self, s, p, column, title):
        return self.call(s, "POST", f"{p}/columns/{column}/cards", json={"title": title}).json()

    def read(self, s, p, headers=None):
        cols = self.call(s, "GET", f"{p}/columns", ok=(200, 304), headers=headers or {})
        cards = self.call(s, "GET", f"{p}/cards", ok=(200, 304), headers=headers or {})
        return cols, cards

    def move(self, s, p, card_id, column, order=None):
        body = {"columnId": column} | ({"order": order} if order is not None else {})
        return self.call(s, "PATCH", f"{p}/cards/{card_id}", json=body).json()


def timed(fn, n):
    lat = []
    started = time.perf_counter()
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        lat.append(time.perf_counter() - t)
    return lat, time.perf_counter() - started


def workload(api: Api, a) -> None:
    s = api.session()
    _, p, lists = api.board(s, "kanban-workload")
    for _ in range(10):
        api.read(s, p)
    cards = []
    lat, wall = timed(lambda i: cards.append((api.create(s, p, lists[i % 3], f"card {i}")["id"], lists[i % 3])),
                      a.cards)
    print(line(f"a) create, sequential ({a.cards})", lat, wall), flush=True)

    sizes = []
    lat, wall = timed(lambda i: sizes.append(api.read(s, p)), a.reads)
    cols, body = sizes[-1]
    print(line(f"b) read board (columns + {len(body.json())} cards)", lat, wall,
               f"  {(len(cols.content) + len(body.content)) / 1024:.0f} KiB"), flush=True)
    tags = {"If-None-Match": body.headers.get("ETag", "")}
    col_tag = {"If-None-Match": cols.headers.get("ETag", "")}

    def conditional(i):
        c1 = api.call(s, "GET", f"{p}/columns", ok=(200, 304), headers=col_tag)
        c2 = api.call(s, "GET", f"{p}/cards", ok=(200, 304), headers=tags)
        statuses.add((c1.status_code, c2.status_code))
    statuses: set = set()
    lat, wall = timed(conditional, a.reads)
    print(line("b') read board with If-None-Match", lat, wall, f"  statuses {sorted(statuses)}"), flush=True)

    moves = cards[: a.moves]
    lat, wall = timed(lambda i: api.move(s, p, moves[i][0], lists[(lists.index(moves[i][1]) + 1) % 3]), len(moves))
    print(line(f"c) move to the next column ({len(moves)})", lat, wall), flush=True)

    after = api.call(s, "GET", f"{p}/cards").json()
    dense = all(sorted(c["order"] for c in after if c["columnId"] == col) ==
                list(range(sum(1 for c in after if c["columnId"] == col))) for col in lists)
    print(f"   {len(after)} cards after the moves; orders dense in every column: {dense}", flush=True)

    stop_at, all_lat, errors, lock = [0.0], [], [0], threading.Lock()
    counter, barrier = itertools.count(), threading.Barrier(a.threads + 1)

    def worker(w):
        ss, mine = api.session(), []
        barrier.wait()
        while time.perf_counter() < stop_at[0]:
            n = next(counter)
            t = time.perf_counter()
            try:
                api.create(ss, p, lists[n % 3], f"conc {w}-{n}")
                mine.append(time.perf_counter() - t)
            except Exception as exc:  # noqa: BLE001 - counted and reported
                with lock:
                    errors[0] += 1
                    if errors[0] <= 3:
                        print("   error:", str(exc)[:200], flush=True)
        with lock:
            all_lat.extend(mine)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(a.threads)]
    for th in threads:
        th.start()
    stop_at[0] = time.perf_counter() + a.seconds
    started = time.perf_counter()
    barrier.wait()
    for th in threads:
        th.join()
    print(line(f"d) create, {a.threads} threads for {a.seconds:.0f} s", all_lat, time.perf_counter() - started,
               f"  errors {errors[0]}"), flush=True)


def seed_column(db, project_id: str, column_id: str, n: int) -> None:
    """n valid cards at the end of a column, written as boards writes them (rank, board map)."""
    from bson import ObjectId

    project = db.projects.find_one({"_id": project_id})
    ts = datetime.now(UTC)
    base = max(int(project.get("rankMax") or 0), time.time_ns()) + 1
    docs = [{"_id": str(ObjectId()), "orgId": project.get("orgId"), "workspaceId": project["workspaceId"],
             "projectId": project_id, "columnId": column_id, "scopeId": None, "title": f"seeded {i}",
             "description": None, "priority": "medium", "startDate": None, "dueDate": None, "assigneeId": None,
             "archived": False, "rank": base + i * (1 << 20), "labelIds": [], "customFields": {}, "checklist": [],
             "commentCount": 0, "attachmentCount": 0, "createdBy": None, "createdAt": ts, "updatedAt": ts}
            for i in range(n)]
    for start in range(0, n, 1000):
        db.cards.insert_many(docs[start:start + 1000])
    db.projects.update_one({"_id": project_id}, {"$inc": {f"board.{column_id}.n": n, "boardRev": 1},
                                                 "$max": {"rankMax": base + n * (1 << 20)}})


def scaling(api: Api, a, db) -> None:
    print(f"\nscaling: {a.ops} creates and {a.ops} moves in a column of N cards", flush=True)
    s = api.session()
    results = {}
    for size in a.sizes:
        pid, p, lists = api.board(s, f"scale-{size}")
        started = time.perf_counter()
        if db is not None:
            seed_column(db, pid, lists[0], size)
        else:
            for i in range(size):
                api.create(s, p, lists[0], f"seeded {i}")
        seeded = time.perf_counter() - started
        def create(i, p=p, lists=lists):
            api.create(s, p, lists[0], f"new {i}")
        lat_c, wall_c = timed(create, a.ops)
        extra = [api.create(s, p, lists[1], f"mover {i}")["id"] for i in range(a.ops)]

        def move(i, column, order=None, p=p, extra=extra):
            api.move(s, p, extra[i], column, order)
        lat_in, wall_in = timed(lambda i, c=lists[0]: move(i, c), a.ops)
        lat_mid, wall_mid = timed(lambda i, c=lists[0], o=size // 2: move(i, c, o), a.ops)
        lat_out, wall_out = timed(lambda i, c=lists[2]: move(i, c), a.ops)
        results[size] = (lat_c, lat_in, lat_mid, lat_out)
        print(f"  N = {size} (seeded in {seeded:.1f} s)", flush=True)
        print(line("    create at the end", lat_c, wall_c), flush=True)
        print(line("    move into it (end)", lat_in, wall_in), flush=True)
        print(line(f"    move to its middle (order {size // 2})", lat_mid, wall_mid), flush=True)
        print(line("    move out of it", lat_out, wall_out), flush=True)
    if len(a.sizes) >= 2:
        small, big = a.sizes[0], a.sizes[-1]
        names = ("create", "move in", "move to the middle", "move out")
        ratios = ", ".join(f"{name} {pct(results[big][k], 50) / pct(results[small][k], 50):.2f}x"
                           for k, name in enumerate(names))
        print(f"  p50 at N={big} / p50 at N={small}: {ratios}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base-url", help="a running gateway (default: start a stack of identity + boards)")
    ap.add_argument("--mongo-uri", help="with --base-url: the boards database's server, to seed big columns")
    ap.add_argument("--mongo-db", default="stellary_boards")
    ap.add_argument("--cards", type=int, default=500)
    ap.add_argument("--reads", type=int, default=100)
    ap.add_argument("--moves", type=int, default=200)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--sizes", default="100,10000", help="column sizes for the scaling part ('' to skip)")
    ap.add_argument("--ops", type=int, default=100, help="creates and moves per column size")
    a = ap.parse_args()
    a.sizes = [int(x) for x in a.sizes.split(",") if x.strip()]

    stack, root, db = None, None, None
    if a.base_url:
        base = a.base_url
        if a.mongo_uri:
            from pymongo import MongoClient
            db = MongoClient(a.mongo_uri, tz_aware=True)[a.mongo_db]
    else:
        from pymongo import MongoClient

        from devtools.stack import Stack

        root = Path(tempfile.mkdtemp(prefix="stellary-bench-"))
        print(f"starting the stack (identity, boards) in {root} …", flush=True)
        stack = Stack.start(root, services=["identity", "boards"])
        base = stack.url
        db = MongoClient(f"mongodb://127.0.0.1:{stack.infra.mongo_port}", tz_aware=True)[
            f"{stack.env.get('MONGO_DB_PREFIX', 'stellary_')}boards"]
    try:
        api = Api(base)
        api.login()
        print(f"gateway {base}\n", flush=True)
        workload(api, a)
        if a.sizes:
            scaling(api, a, db)
    finally:
        if stack is not None:
            stack.stop()
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
