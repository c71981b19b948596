"""The embedded S3 server (weed, `devtools/infra.py` s3_cmd, make up's flags and GOGC) alone, without
any Stellary code: its anonymous memory while objects are written and deleted with a steady number
kept (what `bench/soak.py`'s uploads and card deletions do to it). Prints figures; asserts nothing.

    .venv/bin/python bench/weed_memory.py                    # 10 rounds of 400 puts, 300 objects kept
    .venv/bin/python bench/weed_memory.py --rounds 14 -- -volume.index=leveldb   # extra weed flags

What grows is not a leak: weed's Go heap stays the same size (runtime.MemStats Sys, HeapInuse: flat),
and most of it is two filer metadata log buffers (the filer's and its aggregator's: 8 MiB being
written + 4 × 8 MiB sealed each, sealed once a minute, reused round-robin), allocated at start and
only resident once written. Anonymous memory rises while that ring is first filled, then stops:

    .venv/bin/python bench/weed_memory.py --rounds 16 --round-seconds 30
    # 2026-12-03: 22.0 MiB at start, 40.8 after round 8, 56.4 after round 13, 56.7 after 16 (6,400
    # objects, 8 min): +0.3 MiB over the last 3 rounds. How high it stops depends on how much
    # metadata a minute brings (the bytes of each buffer written before it is sealed).

PSS is split into the weed binary's own pages (file-backed: ~88 MiB of code paged in, shared with
nothing) and anonymous memory (its Go heap and stacks): only the latter can leak.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import boto3  # noqa: E402

from devtools.infra import free_ports, go_env, s3_cmd, stop_process, wait_s3  # noqa: E402


def pss_mib(pid: int) -> dict[str, float]:
    """PSS of `pid` by kind of mapping: the executable's, anonymous, the rest."""
    out = {"binary": 0.0, "anon": 0.0, "other": 0.0}
    exe = os.path.realpath(f"/proc/{pid}/exe")
    kind = "other"
    for line in open(f"/proc/{pid}/smaps"):
        parts = line.split()
        if parts and "-" in parts[0] and ":" not in parts[0]:
            path = parts[5] if len(parts) > 5 else ""
            kind = "binary" if path == exe else "anon" if path == "" else "other"
        elif line.startswith("Pss:"):
            out[kind] += int(parts[1]) / 1024
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--puts", type=int, default=400, help="objects written per round")
    parser.add_argument("--keep", type=int, default=300, help="objects kept (the oldest are deleted)")
    parser.add_argument("--size-kib", type=int, default=20)
    parser.add_argument("--round-seconds", type=float, default=0,
                        help="spread each round over this long (its puts, then idle): the filer seals its "
                             "metadata log buffer once a minute, so a few minutes show where memory stops")
    parser.add_argument("weed_flags", nargs="*", help="extra flags for `weed server` (after --)")
    args = parser.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="stellary-weed-"))
    s3_port, master, volume, filer = free_ports(4)
    proc = subprocess.Popen(s3_cmd(root, s3_port, master, volume, filer) + args.weed_flags,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            env=go_env("s3"))
    try:
        url = f"http://127.0.0.1:{s3_port}"
        wait_s3(url, proc=proc)
        s3 = boto3.client("s3", endpoint_url=url, aws_access_key_id="bench", aws_secret_access_key="bench",
                          region_name="us-east-1")
        s3.create_bucket(Bucket="bench-bucket")
        body = os.urandom(args.size_kib * 1024)
        print(f"weed server {' '.join(args.weed_flags)} (GOGC={go_env('s3').get('GOGC')}): "
              f"{args.rounds} rounds of {args.puts} puts of {args.size_kib} KiB, {args.keep} kept")
        print(f"{'round':>5} {'written':>8} {'anon MiB':>9} {'binary MiB':>11}")
        first = pss_mib(proc.pid)
        print(f"{'start':>5} {0:>8} {first['anon']:>9.1f} {first['binary']:>11.1f}")
        keys, written, figures = [], 0, []
        for number in range(1, args.rounds + 1):
            round_started = time.monotonic()
            for i in range(args.puts):
                key = f"r{number}-{i}"
                s3.put_object(Bucket="bench-bucket", Key=key, Body=body)
                keys.append(key)
                written += 1
            while len(keys) > args.keep:
                s3.delete_object(Bucket="bench-bucket", Key=keys.pop(0))
            time.sleep(max(0.0, args.round_seconds - (time.monotonic() - round_started)))
            figures.append(pss_mib(proc.pid))
            print(f"{number:>5} {written:>8} {figures[-1]['anon']:>9.1f} {figures[-1]['binary']:>11.1f}")
        time.sleep(20)
        idle = pss_mib(proc.pid)
        print(f"{'+20 s':>5} {written:>8} {idle['anon']:>9.1f} {idle['binary']:>11.1f}")
        if len(figures) > 2:
            per_object = (figures[-1]["anon"] - figures[0]["anon"]) * 1024 / (written - args.puts)
            print(f"anonymous memory after the first round: {per_object:+.1f} KiB per object written "
                  f"(and deleted), with {args.keep} kept")
        if len(figures) >= 8:
            tail = len(figures) // 4
            late = (figures[-1]["anon"] - figures[-1 - tail]["anon"]) * 1024 / (tail * args.puts)
            print(f"over the last {tail} rounds: {late:+.1f} KiB per object (flat once the filer's metadata "
                  f"log buffers are all in use: see the module's doc)")
    finally:
        stop_process(proc)
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
