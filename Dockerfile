# syntax=docker/dockerfile:1
# The gateway's production image (docs/operations.md, "Deployment"): `docker build -t auth-gateway .`
#
# No Docker engine runs on the development machines, so this file is never built there.
# tests/processes/test_container_recipe.py keeps it honest instead: it copies what the build stage
# COPYs into a scratch directory, runs the build stage's RUN there as written (into a
# fresh virtualenv), then runs the image's migrate command and its ENTRYPOINT + CMD with
# the ENV of the runtime stage, and talks to the result over HTTP. Keep every build step
# one that test can run.

# ---- build: the gateway and its pinned runtime dependencies, in a virtualenv ----------
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
COPY pyproject.toml requirements.lock README.md LICENSE server.py settings.py key_files.py wiring.py cli.py ./
COPY domain/ domain/
COPY security/ security/
COPY persistence/ persistence/
COPY schema/ schema/
COPY resolvers/ resolvers/
COPY mail/ mail/
COPY web/ web/
COPY oidc/ oidc/
COPY webhooks/ webhooks/
# The locked runtime tree (hashes checked), then the gateway without dependencies: no test
# or lint tool goes into the image.
RUN python -m venv /opt/gateway \
    && /opt/gateway/bin/python -m pip install --require-hashes -r requirements.lock \
    && /opt/gateway/bin/python -m pip install --no-deps .

# ---- runtime: that virtualenv and a user to run it; no pip install, no source tree -----
FROM python:3.11-slim-bookworm
ENV PATH=/opt/gateway/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    APP_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    MIGRATE_ON_START=false \
    DATA_DIR=/app/data
RUN groupadd --system --gid 10001 gateway \
    && useradd --system --uid 10001 --gid gateway --home-dir /app --no-create-home --shell /usr/sbin/nologin gateway \
    && mkdir -p /app/data \
    && chown gateway:gateway /app/data
COPY --from=build /opt/gateway /opt/gateway
WORKDIR /app
# Numeric, so that Kubernetes' runAsNonRoot can check it.
USER 10001:10001
EXPOSE 8000
# No curl in a slim image: the standard library asks /healthz (the process answers).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/healthz', timeout=4)"]
# Exec form, so that python is PID 1 and receives `docker stop`'s SIGTERM itself: it stops
# accepting, lets requests in flight finish, sends queued mail, then exits 0.
# Migrations are a separate one-shot command: `docker run … auth-gateway migrate`.
ENTRYPOINT ["python", "-m", "server"]
CMD ["serve"]
