"""gunicorn settings shared by every service and the gateway (threaded workers: SSE and
downloads hold a thread, not a process). Override with WEB_CONCURRENCY / WEB_THREADS."""
import os

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "16"))
worker_class = "gthread"
timeout = 0 if os.environ.get("WEB_NO_TIMEOUT") else 120
graceful_timeout = 5
keepalive = 30
accesslog = "-" if os.environ.get("ACCESS_LOG") else None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
preload_app = False  # the Mongo client and NATS thread are built after the fork, in create_app
