# syntax=docker/dockerfile:1
#
# One image for the API (default command, `python -m api`), the worker (`python worker.py`) and the
# one-shot migration. See docs/deploy.md.

ARG PYTHON_IMAGE=python:3.11-slim

##### Build: install the project and its runtime dependencies into a virtualenv #####
FROM ${PYTHON_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /build
# pyproject.toml names README.md as the readme: setuptools needs it to build.
COPY pyproject.toml README.md ./
COPY src ./src
# Runtime dependencies only: not the `embedded` (dev servers) or `test` extras.
RUN pip install .

##### Runtime: the virtualenv, worker.py and nothing else #####
FROM ${PYTHON_IMAGE} AS runtime

# A container listens on every interface it has (outside one, the service defaults to loopback).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HTTP_HOST=0.0.0.0 \
    METRICS_HOST=0.0.0.0

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin app

# Same base image and same path as in the build stage, so the venv's interpreter links still hold.
COPY --from=build /opt/venv /opt/venv

WORKDIR /app
# Top-level script; it imports the packages installed from src/ into the venv.
COPY worker.py ./

USER app

# The API; its metrics (API_METRICS_PORT) and the worker's (WORKER_METRICS_PORT) when set.
EXPOSE 8000 9464 9465

# /health answers 200 only when PostgreSQL and Temporal both answer (503 otherwise).
# The worker and the migration do not serve HTTP: docker-compose.yml disables this check for them.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % (os.environ.get('HTTP_PORT') or '8000'), timeout=4)"]

CMD ["python", "-m", "api"]
