# syntax=docker/dockerfile:1
# One image for both processes of the GitHub App; the first argument picks the role (deploy/docker-entrypoint.sh):
#   docker run IMAGE web [gunicorn options]     gunicorn serving bot.app.web:create_app() on :8080 (the default)
#   docker run IMAGE worker [--workers N]       python -m bot.app.worker (Huey's consumer)
#   docker run IMAGE serve                      pledge serve (web + in-process worker, for a quick try)
#   docker run IMAGE validate --repo /repo ...  any other pledge command
# Build:  docker build --build-arg PLEDGE_VERSION="$(git describe --tags | sed 's/^v//')" -t pledge .
# Configuration: PLEDGE_* variables (docs/app.md); deployment: docs/deploy.md.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: a virtualenv with Pledge and its dependencies (all of them ship wheels, so no compiler) ----
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
RUN python -m venv /opt/pledge
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY schemas ./schemas
COPY policies ./policies
COPY renderers ./renderers
# The build context has no .git (.dockerignore), so the version comes from here; empty: 0.0.0 (pyproject.toml).
ARG PLEDGE_VERSION=""
RUN if [ -n "$PLEDGE_VERSION" ]; then export SETUPTOOLS_SCM_PRETEND_VERSION_FOR_PLEDGE="$PLEDGE_VERSION"; fi \
 && /opt/pledge/bin/pip install --no-compile . \
 && /opt/pledge/bin/python -m compileall -q /opt/pledge/lib \
 && /opt/pledge/bin/pledge --version

# ---- runtime: the same Python, git (mirrors, render pushes), tini (PID 1: signals, zombies), no build tools ----
FROM ${PYTHON_IMAGE} AS runtime
ARG PLEDGE_VERSION=""
LABEL org.opencontainers.image.title="pledge" \
      org.opencontainers.image.description="GitOps pull-request bot for platform teams (GitHub App: web and worker)" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${PLEDGE_VERSION}"
# Debian's own git and tini; versions are not pinned so a rebuild picks up security updates (.hadolint.yaml).
RUN apt-get update \
 && apt-get install -y --no-install-recommends git tini ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 pledge \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/pledge --shell /usr/sbin/nologin pledge \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/pledge
COPY --from=build /opt/pledge /opt/pledge
COPY --chmod=0755 deploy/docker-entrypoint.sh /usr/local/bin/docker-entrypoint
ENV PATH=/opt/pledge/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/var/lib/pledge \
    PLEDGE_DATA_DIR=/var/lib/pledge
WORKDIR /var/lib/pledge
USER 10001:10001
EXPOSE 8080
# Web: GET /healthz on :8080 (PLEDGE_HEALTHCHECK_URL to change it). Worker and one-off commands: healthy while
# the process runs (the container stops when it does). Kubernetes ignores this and uses the probes in deploy/.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["docker-entrypoint", "healthcheck"]
ENTRYPOINT ["tini", "--", "docker-entrypoint"]
CMD ["web"]
