# One image for every Stellary process: each service's web (gunicorn) and worker, and the gateway.
# The command picks the process, e.g.
#   gunicorn -c deploy/gunicorn.conf.py -b 0.0.0.0:3101 'services.identity.app:create_app()'
#   gunicorn -c deploy/gunicorn.conf.py -b 0.0.0.0:3106 'services.notifications.app:create_asgi()'  (asgi worker)
#   python -m services.identity.worker
# Configuration comes from the environment only (README.md, "Configuration"); no secret is baked in.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /app

# Runtime dependencies only: the embedded-infrastructure wheels of requirements-dev.txt are for `make up`.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY libs ./libs
COPY gateway ./gateway
COPY services ./services
COPY deploy/gunicorn.conf.py ./deploy/gunicorn.conf.py
RUN python -m compileall -q libs gateway services \
 && useradd --system --uid 10001 --user-group --create-home --home-dir /home/stellary --shell /usr/sbin/nologin stellary

# Numeric, so Kubernetes' runAsNonRoot can verify it. The code stays root-owned and read-only.
USER 10001

EXPOSE 3001
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "-b", "0.0.0.0:3001", "gateway.app:create_asgi()"]
