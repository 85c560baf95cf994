# syntax=docker/dockerfile:1
# opsbot's image. Two stages: the first builds opsbot and every dependency as wheels, the second
# installs only those wheels (no compiler, no source tree, no pip cache) and runs unprivileged.
#
#   docker build -t opsbot:0.1.0 --build-arg REVISION="$(git rev-parse HEAD)" .
#   docker run --rm -p 3000:3000 -v opsbot-data:/data --read-only --tmpfs /tmp \
#     -e SLACK_BOT_TOKEN -e SLACK_SIGNING_SECRET opsbot:0.1.0
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Only what the wheel is made of (see .dockerignore): a change to tests rebuilds nothing.
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="opsbot" \
      org.opencontainers.image.description="Slack-native engineering-ops bot: incidents, CI breakages, standups and code red, digests, coding agents" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="${PYTHON_IMAGE}"

# Bytecode is compiled at install; at run time nothing is written beside the code, so the root
# filesystem can be mounted read-only. matplotlib (digest charts) keeps its cache in /tmp.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/opsbot \
    PATH=/opt/opsbot/bin:$PATH \
    MPLCONFIGDIR=/tmp/matplotlib \
    DATABASE_URL=sqlite:////data/opsbot.db

# The wheels are mounted from the first stage for this one step, so they never become a layer;
# --no-index: everything comes from them, nothing from the network.
# bubblewrap: the sandbox each command coding agent runs in (bot/agents/backends/isolation.py).
RUN apt-get update \
    && apt-get install -y --no-install-recommends bubblewrap=0.8.0-2+deb12u1 \
    && rm -rf /var/lib/apt/lists/*
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m venv "$VIRTUAL_ENV" \
    && pip install --no-cache-dir --no-index --find-links=/wheels /wheels/opsbot-*.whl \
    && groupadd --system --gid 10001 opsbot \
    && useradd --system --uid 10001 --gid opsbot --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin opsbot \
    && mkdir /data \
    && chown opsbot:opsbot /data

# bot/migrate.py finds the Alembic environment beside the `bot` package, and the wheel does not
# carry it: put it there (the path follows the base image's Python; the check below notices).
COPY migrations /opt/opsbot/lib/python3.11/site-packages/migrations
# Fail the build, not the first pod, when migrations cannot be found or do not apply.
RUN DATABASE_URL=sqlite:////tmp/build-check.db opsbot db upgrade \
    && rm -f /tmp/build-check.db*

# The SQLite file (single-replica mode) and its lock file live here; PostgreSQL needs nothing.
VOLUME ["/data"]
WORKDIR /data
# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001

# 3000: Slack, webhooks, /livez and /readyz; 9100: /metrics when OPSBOT_METRICS_PORT=9100.
EXPOSE 3000 9100
# slim has no curl: ask /livez with the Python that is already there (non-2xx raises, exit 1).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/livez', timeout=4)"]

# SIGTERM (Docker's and Kubernetes' default) starts opsbot's graceful stop: running tasks get
# shutdown_grace_seconds (20 s) and the rest of their leases are given back.
STOPSIGNAL SIGTERM
ENTRYPOINT ["opsbot"]
CMD ["serve"]
