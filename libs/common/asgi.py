"""How an ASGI service (mcp) is served: uvicorn, with a main loop that ticks once a second.

    python -m libs.common.asgi services.mcp.app:create_app --host 127.0.0.1 --port 3108

uvicorn's own loop wakes ten times a second to refresh its `Date` header (once a second) and to see
whether it should stop: ~0.2 % of a core for a process doing nothing, the largest share of an idle
`make up` after the infrastructure. This one ticks every second — the same header refreshes, a
SIGTERM noticed within a second (then the graceful shutdown as before). Everything else is
uvicorn's: `uvicorn.Config` with the arguments below, the factory called once per process.
"""
from __future__ import annotations

import argparse
import asyncio

import uvicorn

TICK_S = 1.0


class QuietServer(uvicorn.Server):
    async def main_loop(self) -> None:
        ticks_per_tick = round(TICK_S * 10)      # on_tick counts tenths of a second
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + ticks_per_tick) % 864000
            await asyncio.sleep(TICK_S)
            should_exit = await self.on_tick(counter)


def config(argv: list[str] | None = None) -> uvicorn.Config:
    parser = argparse.ArgumentParser(prog="python -m libs.common.asgi", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("app", help="module:factory, called with no argument (uvicorn --factory)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--timeout-graceful-shutdown", type=int, default=5)
    args = parser.parse_args(argv)
    return uvicorn.Config(args.app, factory=True, host=args.host, port=args.port, access_log=False,
                          timeout_graceful_shutdown=args.timeout_graceful_shutdown)


def main(argv: list[str] | None = None) -> None:
    QuietServer(config(argv)).run()


if __name__ == "__main__":
    main()
