# Image of the market-data service:
# normalises and validates market data onto the md.* topics (replays recorded files).
# Build from the repository root (docker-compose.yml builds it as the service `market-data`):
#
#   docker build -f deploy/docker/market-data.Dockerfile -t intradayjules-market-data .
#
# builder: uv (the version the Makefile pins) exports the locked third-party dependencies of
# jules-market-data alone from uv.lock (no dev group, no other service, no trainer), installs them
# into /opt/venv from binary wheels with their hashes checked, then installs the three workspace
# packages it needs (jules-contracts, jules-runtime, jules-market-data) without dependencies.
# runtime: the same Python image with only /opt/venv, run as an unprivileged user.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ARG UV_VERSION=0.13.8
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PIP_NO_CACHE_DIR=1 \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never
RUN pip install "uv==${UV_VERSION}" \
 && uv venv --python /usr/local/bin/python3 /opt/venv
WORKDIR /src

# Third-party dependencies first: this layer changes only with uv.lock or a pyproject.toml.
COPY pyproject.toml uv.lock ./
COPY libs/contracts/pyproject.toml libs/contracts/
COPY libs/runtime/pyproject.toml libs/runtime/
COPY services/market-data/pyproject.toml services/market-data/
RUN uv export --frozen --no-dev --package jules-market-data --no-emit-workspace \
        --format requirements-txt --output-file /tmp/requirements.txt \
 && uv pip install --python /opt/venv/bin/python --require-hashes --only-binary :all: \
        --compile-bytecode -r /tmp/requirements.txt

# Then the workspace packages themselves (regular installs, not editable).
COPY libs/contracts libs/contracts
COPY libs/runtime libs/runtime
COPY services/market-data services/market-data
RUN uv pip install --python /opt/venv/bin/python --no-deps --compile-bytecode \
        ./libs/contracts ./libs/runtime ./services/market-data

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="intradayjules-market-data" \
      org.opencontainers.image.description="IntradayJules market-data service" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    JULES_MARKET_DATA__HTTP__HOST=0.0.0.0
RUN groupadd --system --gid 10001 jules \
 && useradd --system --uid 10001 --gid jules --home-dir /var/lib/jules \
        --shell /usr/sbin/nologin jules \
 && install -d -o jules -g jules -m 0750 /var/lib/jules
COPY --from=builder /opt/venv /opt/venv
USER 10001:10001
WORKDIR /var/lib/jules

# /health answers 204 while the process runs; /ready once the broker answers; /metrics.
EXPOSE 8101
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('JULES_MARKET_DATA__HTTP__PORT', '8101') + '/health', timeout=4)"]
ENTRYPOINT ["jules-market-data", "run"]
