# Image of one IntradayJules service, chosen by the build argument SERVICE (its folder under
# services/) with its HTTP port HTTP_PORT (the service's default port):
#
#   service        HTTP_PORT  what it does
#   market-data    8101       normalises and validates market data onto the md.* topics
#   features       8102       streaming indicators (TA-Lib) published as feature vectors
#   signal         8103       rule strategies and ONNX policies turning features into signals
#   risk           8104       pre-trade controls, sizing, stops, kill switch, portfolio risk
#   order-router   8105       order state machine and the simulated venue
#   audit          8106       hash-chained audit log of every event
#
# Build from the repository root (docker-compose.yml builds each service this way), e.g.
#
#   docker build -f deploy/docker/service.Dockerfile \
#       --build-arg SERVICE=risk --build-arg HTTP_PORT=8104 -t intradayjules-risk .
#
# builder: uv (the version the Makefile pins) exports the locked third-party dependencies of
# jules-${SERVICE} alone from uv.lock (no dev group, no other service, no trainer), installs
# them into /opt/venv from binary wheels with their hashes checked, then installs the three
# workspace packages it needs (jules-contracts, jules-runtime, jules-${SERVICE}) without
# dependencies. It then writes the two commands whose variable names depend on the service:
#   jules-service      runs `jules-${SERVICE}` with JULES_<SERVICE>__HTTP__HOST defaulting to
#                      0.0.0.0 (the service's own default is 127.0.0.1, unreachable from outside)
#   jules-healthcheck  GETs /health on JULES_<SERVICE>__HTTP__PORT, default HTTP_PORT
# where <SERVICE> is SERVICE upper-cased with '-' as '_' (jules_runtime.settings.env_prefix).
# runtime: the same Python image with only /opt/venv, run as an unprivileged user.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ARG SERVICE
ARG HTTP_PORT
ARG UV_VERSION=0.13.8
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PIP_NO_CACHE_DIR=1 \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never
RUN if [ -z "${SERVICE}" ] || [ -z "${HTTP_PORT}" ]; then \
        echo "build with --build-arg SERVICE=<folder under services/> --build-arg HTTP_PORT=<its port>" >&2; \
        exit 1; \
    fi \
 && pip install "uv==${UV_VERSION}" \
 && uv venv --python /usr/local/bin/python3 /opt/venv
WORKDIR /src

# Third-party dependencies first: this layer changes only with uv.lock or a pyproject.toml.
COPY pyproject.toml uv.lock ./
COPY libs/contracts/pyproject.toml libs/contracts/
COPY libs/runtime/pyproject.toml libs/runtime/
COPY services/${SERVICE}/pyproject.toml services/${SERVICE}/
RUN uv export --frozen --no-dev --package "jules-${SERVICE}" --no-emit-workspace \
        --format requirements-txt --output-file /tmp/requirements.txt \
 && uv pip install --python /opt/venv/bin/python --require-hashes --only-binary :all: \
        --compile-bytecode -r /tmp/requirements.txt

# Then the workspace packages themselves (regular installs, not editable).
COPY libs/contracts libs/contracts
COPY libs/runtime libs/runtime
COPY services/${SERVICE} services/${SERVICE}
RUN uv pip install --python /opt/venv/bin/python --no-deps --compile-bytecode \
        ./libs/contracts ./libs/runtime "./services/${SERVICE}"

# The entry point and the health check, with the service's variable names written in.
RUN test -x "/opt/venv/bin/jules-${SERVICE}" \
 && prefix="JULES_$(printf '%s' "${SERVICE}" | tr 'a-z-' 'A-Z_')__" \
 && printf '%s\n' \
        '#!/bin/sh' \
        "# jules-${SERVICE}, serving /health, /ready and /metrics on every interface by default" \
        "export ${prefix}HTTP__HOST=\"\${${prefix}HTTP__HOST:-0.0.0.0}\"" \
        "exec /opt/venv/bin/jules-${SERVICE} \"\$@\"" \
        > /opt/venv/bin/jules-service \
 && printf '%s\n' \
        '#!/opt/venv/bin/python' \
        "\"\"\"Health check of jules-${SERVICE}: /health answers on its HTTP port.\"\"\"" \
        'import os' \
        'import urllib.request' \
        "port = os.environ.get(\"${prefix}HTTP__PORT\", \"${HTTP_PORT}\")" \
        'urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=4)' \
        > /opt/venv/bin/jules-healthcheck \
 && chmod 0755 /opt/venv/bin/jules-service /opt/venv/bin/jules-healthcheck

FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE
ARG HTTP_PORT
LABEL org.opencontainers.image.title="intradayjules-${SERVICE}" \
      org.opencontainers.image.description="IntradayJules ${SERVICE} service" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# /var/lib/jules/${SERVICE}: the service's own state folder (the audit log's volume mounts
# there), owned by its user so that a new volume is writable.
RUN groupadd --system --gid 10001 jules \
 && useradd --system --uid 10001 --gid jules --home-dir /var/lib/jules \
        --shell /usr/sbin/nologin jules \
 && install -d -o jules -g jules -m 0750 /var/lib/jules "/var/lib/jules/${SERVICE}"
COPY --from=builder /opt/venv /opt/venv
USER 10001:10001
WORKDIR /var/lib/jules

# /health answers 204 while the process runs; /ready once the broker answers; /metrics.
EXPOSE ${HTTP_PORT}
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["jules-healthcheck"]
ENTRYPOINT ["jules-service", "run"]
