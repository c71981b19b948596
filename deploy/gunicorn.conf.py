"""gunicorn settings shared by every service and the gateway. Override with WEB_CONCURRENCY / WEB_THREADS.

Worker class: an app named by `create_asgi()` (the gateway, notifications, agents: the processes
that hold SSE streams) runs under gunicorn's `asgi` worker — one event loop, ordinary requests on a
pool of WEB_THREADS threads, each open stream a coroutine (libs/common/asyncweb.py); any other
(`create_app()`) under `gthread`, WEB_THREADS threads (a download holds one while it lasts).

Logs: one JSON line per event (libs/common/logs.py), gunicorn's own lines included.
Metrics: with METRICS_PORT set, a second listener on that port (same host as the service's own
bind) where only GET /metrics answers (libs/common/observability.py); the processes share their
figures through prometheus-client's multiprocess directory, made here for this master and removed
when it exits (or PROMETHEUS_MULTIPROC_DIR, emptied at start).
With WORKERS_IN_WEB=true the service's bus worker runs inside each web worker process (post_worker_init).
What gunicorn itself refuses (request line, header limits below, malformed requests) is answered
with the API's JSON error body (libs/common/protocol_errors.py)."""
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from libs.common.logs import gunicorn_logconfig  # noqa: E402
from libs.common.protocol_errors import install as _json_protocol_errors  # noqa: E402

_json_protocol_errors()

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
_asgi = bool(re.search(r":create_asgi\(", " ".join(sys.argv)))
worker_class = "asgi" if _asgi else "gthread"
threads = 1 if _asgi else int(os.environ.get("WEB_THREADS", "16"))  # asgi: the app's pool (asyncweb.py)
asgi_loop = "asyncio"
timeout = 0 if os.environ.get("WEB_NO_TIMEOUT") else 120
graceful_timeout = 5
keepalive = 30
# ACCESS_LOG: one JSON line per request, written by the app (it knows the route and request id).
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
preload_app = False  # the Mongo client and NATS thread are built after the fork, in create_app


def _service_name() -> str:
    m = re.search(r"\b(?:services\.(\w+)|(gateway))\.app\b", " ".join(sys.argv))
    return (m.group(1) or m.group(2)) if m else "gunicorn"


logconfig_dict = gunicorn_logconfig(_service_name())
_made_dir = None


def _metrics_port() -> int:
    try:
        return int(os.environ.get("METRICS_PORT") or 0)
    except ValueError:
        return 0


def on_starting(server):
    global _made_dir
    port = _metrics_port()
    if port <= 0:
        return
    host = server.cfg.bind[0].rsplit(":", 1)[0] if server.cfg.bind and ":" in server.cfg.bind[0] else "127.0.0.1"
    server.cfg.set("bind", list(server.cfg.bind) + [f"{host}:{port}"])
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        os.makedirs(directory, exist_ok=True)
        for name in os.listdir(directory):   # a previous master's figures
            if name.endswith(".db"):
                os.unlink(os.path.join(directory, name))
    else:
        _made_dir = directory = tempfile.mkdtemp(prefix="stellary-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory


_embedded = None


def post_worker_init(worker):
    """WORKERS_IN_WEB=true (`make up`): this service's bus worker runs on a thread of each web worker
    process (libs/common/kit.py EmbeddedWorker); the Procfile's `<name>-worker` is then not started."""
    global _embedded
    from libs.common.kit import embed_worker
    _embedded = embed_worker(_service_name())


def worker_exit(server, worker):
    if _embedded is not None:
        _embedded.stop()


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR") and _metrics_port() > 0:
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _made_dir:
        shutil.rmtree(_made_dir, ignore_errors=True)


# Request-line and header limits (gunicorn refuses beyond them: 414 / 431 / 400, as JSON).
limit_request_line = int(os.environ.get("LIMIT_REQUEST_LINE", "8190"))        # bytes; gunicorn's maximum
limit_request_fields = int(os.environ.get("LIMIT_REQUEST_FIELDS", "100"))
limit_request_field_size = int(os.environ.get("LIMIT_REQUEST_FIELD_SIZE", "8190"))  # bytes per header
