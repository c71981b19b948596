"""One gunicorn worker without its master, for `make up` on a laptop:

    python -m devtools.serve -c deploy/gunicorn.conf.py -b 127.0.0.1:3101 'services.identity.app:create_app()'

The same arguments, configuration file, hooks and worker class (gthread, or asgi for a
`create_asgi()` target: deploy/gunicorn.conf.py) as `gunicorn`, but the
process that binds the sockets is the one that serves them: no arbiter process beside the worker.
Under `make up` every service runs one worker (WEB_CONCURRENCY=1) and devtools/run.py already
supervises the processes (a process that exits stops the stack), so the arbiter's only work was to
exist: ~15 MiB of PSS and a wake-up a second, for each of nine services. devtools/run.py runs the
Procfile's `gunicorn` commands this way when WEB_ARBITER=off (deploy/dev.env). Compose and
Kubernetes keep gunicorn itself (several workers, restarted by their master when one dies or hangs).

What the arbiter did and this does too: `on_starting` (the metrics listener), binding the sockets,
`post_worker_init` / `worker_exit` (the embedded bus worker), the graceful stop on SIGTERM (in-flight
requests finish within `graceful_timeout`), `child_exit` and `on_exit`. What it does not: restart a
dead or hung worker (`timeout`), reload, several workers, USR2 upgrades.
"""
from __future__ import annotations

import os
import sys

from gunicorn import sock
from gunicorn.app.wsgiapp import WSGIApplication


def serve(app: WSGIApplication) -> int:
    cfg = app.cfg
    log = cfg.logger_class(cfg)
    app.log = log                               # the hooks' `server`: .cfg and .log, like the arbiter
    if cfg.workers != 1:
        log.warning("devtools.serve runs one worker; WEB_CONCURRENCY=%s is ignored", cfg.workers)
    cfg.on_starting(app)
    listeners = sock.create_sockets(cfg, log)
    log.info("Listening at: %s (%s, no arbiter)", ",".join(str(x) for x in listeners), os.getpid())
    worker = cfg.worker_class(1, os.getppid(), listeners, app, cfg.timeout / 2.0, cfg, log)
    worker.pid = os.getpid()
    status = 0
    try:
        worker.init_process()                   # serves until SIGTERM / SIGINT / the parent is gone
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception:  # noqa: BLE001 - logged, then the process exits with an error
        log.exception("the worker failed")
        status = 1
    finally:
        try:
            worker.tmp.close()
            cfg.worker_exit(app, worker)
            cfg.child_exit(app, worker)
        finally:
            cfg.on_exit(app)                    # the worker closed the listeners on its way out
    return status


def main(argv: list[str] | None = None) -> int:
    if argv is not None:
        sys.argv = ["gunicorn", *argv]
    return serve(WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]", prog="gunicorn"))


if __name__ == "__main__":
    sys.exit(main())
