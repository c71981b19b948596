"""The embedded stand-in (nx-27017) handling commands on its event loop (make up's and the tests'
way, devtools/infra.py `handle_commands_on_the_loop`) against its own thread hop per command
(STANDIN_THREAD_POOL=1), on a card create's transaction: the project's board map
(findAndModify), the card, the outbox row, the commit — one unit of work at a time machine-wide
(libs/common/mongo.py), from `--threads` threads. Prints figures; asserts nothing.

    .venv/bin/python bench/standin.py [--seconds 10] [--threads 8] [--rounds 2]

Per mode: units of work per second and the stand-in's CPU (user + system) per unit. The modes
alternate round by round, so both see the same machine.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pymongo import ReturnDocument  # noqa: E402

from devtools.infra import Infra  # noqa: E402
from libs.common.mongo import connect, new_id, unit_of_work  # noqa: E402


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(pool: bool, seconds: float, threads: int) -> tuple[float, float]:
    os.environ.pop("STANDIN_THREAD_POOL", None)
    if pool:
        os.environ["STANDIN_THREAD_POOL"] = "1"
    infra = Infra.start(Path(tempfile.mkdtemp(prefix="bench-standin-")), s3=False)
    try:
        client = connect(infra.env["MONGO_URI"], "bench-standin")
        db = client["bench_standin"]
        for name in ("projects", "cards", "outbox"):
            db.create_collection(name)
        project = new_id()
        db.projects.insert_one({"_id": project, "board": {"c": {"n": 0, "r": 0}}})
        done, stop = [0] * threads, time.monotonic() + seconds

        def create(i: int) -> None:
            while time.monotonic() < stop:
                with unit_of_work(client) as s:
                    db.projects.find_one_and_update({"_id": project}, {"$inc": {"board.c.n": 1, "board.c.r": 1}},
                                                    return_document=ReturnDocument.AFTER, session=s)
                    card = new_id()
                    db.cards.insert_one({"_id": card, "projectId": project, "title": f"card {i}"}, session=s)
                    db.outbox.insert_one({"_id": new_id(), "type": "boards.card.created", "card": card}, session=s)
                done[i] += 1

        pid = infra.procs["mongo"].pid
        before, started = cpu_s(pid), time.monotonic()
        workers = [threading.Thread(target=create, args=(i,)) for i in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        elapsed, used = time.monotonic() - started, cpu_s(pid) - before
        client.close()
        return sum(done) / elapsed, used * 1000 / max(1, sum(done))
    finally:
        infra.stop()
        os.environ.pop("STANDIN_THREAD_POOL", None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(f"{'mode':<36} {'units/s':>8} {'stand-in CPU ms/unit':>21}")
    for _ in range(args.rounds):
        for pool, label in ((False, "on the loop (default)"), (True, "thread hop (STANDIN_THREAD_POOL=1)")):
            rate, cpu = run(pool, args.seconds, args.threads)
            print(f"{label:<36} {rate:8.1f} {cpu:21.2f}", flush=True)


if __name__ == "__main__":
    main()
