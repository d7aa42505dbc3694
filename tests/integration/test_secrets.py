"""Venue API keys never leave the market-data service except towards the venue.

The service runs live against the fake Binance exchange with sentinel values (distinctive
random strings) for the API key, secret and password of four venues, one per route: inline in
``VENUES``, through ``api_key_env``/``api_secret_env``, through ``api_key_file``/
``api_secret_file`` in ``VENUES_FILE``, and inline in ``VENUES_FILE``. It streams, is
rate-limited (429s at start-up and during a backfill), loses its websockets and backfills over
REST (through auth errors), which sends each venue's key to the fake: the fake received every key
(the secrets and passwords only reach ccxt: Binance market data signs nothing). An audit
service records the run and dead-letters a malformed message; meanwhile the service is started
once more, as its own process, with an invalid venue config. Then no sentinel may appear in
the service's output (JSON logs at DEBUG), ``/metrics``, ``/health`` or ``/ready``, any message
of any topic of the run's scope (dead-letter topics and ``control-state.v1`` included), the
recorded Parquet files, the audit log, the audit service's output or the refused start-up's
stdout and stderr. More invalid venue configs, and ``check-config``, run in this process.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path
from subprocess import PIPE
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml
from aiohttp import web
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from jules_contracts.topics import CONTROL_STATE, MD_TRADES
from jules_market_data.cli import app as market_data_app
from jules_market_data.config import MarketDataSettings
from jules_runtime.bus import ensure_topics
from jules_runtime.settings import KafkaSettings
from jules_venues import VenueConfig
from jules_venues.fake import FakeExchange, FaultUpdate
from jules_venues.fake.dialect import Handler
from jules_venues.fake.faults import DropConnections, RateLimit
from typer.testing import CliRunner

from .bus_helpers import create_scoped_topics, new_scope, read_topic, wait_until
from .live_market_data import INSTRUMENT, live_market_data, metric, metrics, play_until, venue_entry
from .service_process import BIN, ServiceProcess, http_status, http_text, start_service

ROUTES = ("inline", "env", "file", "yaml")
"""How each venue of the run gets its secrets (``VENUES`` inline, ``*_env``, ``*_file``, inline
in ``VENUES_FILE``)."""
KEY_HEADER = "X-MBX-APIKEY"
"""The header Binance's ``historicalTrades`` (the trade backfill) carries the API key in."""


def sentinel(name: str) -> str:
    """A random string that cannot appear anywhere by chance."""
    return f"sntl{name[0]}{secrets.token_hex(12)}"


def traces(value: str) -> list[str]:
    """What a leak of ``value`` could look like: whole, cut to its head or tail, base64."""
    return [value, value[:14], value[-14:], base64.b64encode(value.encode()).decode()[:16]]


def leaks(sentinels: dict[str, str], places: dict[str, str]) -> list[str]:
    """``place: sentinel`` for every sentinel trace found in a place's text."""
    return [
        f"{place}: {name}"
        for place, text in places.items()
        for name, value in sentinels.items()
        if any(trace in text for trace in traces(value))
    ]


class RecordingFake(FakeExchange):
    """The fake exchange, keeping the path and headers of every request it received.

    ``refuse_keys``: that many of the next requests carrying an API key are refused as Binance
    refuses an invalid key (HTTP 401, code -2015).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.received: list[tuple[str, dict[str, str]]] = []
        self.refuse_keys = 0

    def build_app(self) -> web.Application:
        """The fake's application, recording each request before anything else sees it."""
        app = super().build_app()
        app.middlewares.insert(0, self._record)
        return app

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.received.append((request.path_qs, dict(request.headers)))
        if self.refuse_keys > 0 and KEY_HEADER in request.headers:
            self.refuse_keys -= 1
            refusal = {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}
            return web.json_response(refusal, status=401)
        return await handler(request)

    def keys_sent(self, path: str) -> set[str]:
        """The API keys sent with the requests of ``path``."""
        return {h[KEY_HEADER] for p, h in self.received if p.startswith(path) and KEY_HEADER in h}


class Secrets:
    """The run's sentinels and the four venues that carry them, one per route."""

    def __init__(self, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        kinds = ("key", "secret", "password")
        self.values = {f"{kind}-{route}": sentinel(kind) for kind in kinds for route in ROUTES}
        self.folder = folder
        folder.mkdir()
        (folder / "key").write_text(self.values["key-file"] + "\n")
        (folder / "secret").write_text(self.values["secret-file"])
        monkeypatch.setenv("SENTINEL_API_KEY", self.values["key-env"])
        monkeypatch.setenv("SENTINEL_API_SECRET", self.values["secret-env"])
        self.venues_file = folder / "venues.yaml"
        self.inline: list[dict[str, Any]] = []

    def instrument(self, route: str) -> str:
        """The instrument of the route's venue (each venue trades BTC/USDT of the fake)."""
        return INSTRUMENT if route == "inline" else f"BTCUSDT.SNTL{route.upper()}"

    def _venue(self, fake: FakeExchange | None, route: str) -> dict[str, Any]:
        secret = {
            "env": {"api_key_env": "SENTINEL_API_KEY", "api_secret_env": "SENTINEL_API_SECRET"},
            "file": {
                "api_key_file": str(self.folder / "key"),
                "api_secret_file": str(self.folder / "secret"),
            },
        }.get(route, {"api_key": self.values[f"key-{route}"]})
        secret.setdefault("api_secret", self.values[f"secret-{route}"])
        fields = {
            "name": "binance" if route == "inline" else f"binance-{route}",
            "exchange_id": "binance",
            "instruments": {self.instrument(route): "BTC/USDT"},
            "api_password": self.values[f"password-{route}"],
        }
        entry = fields if fake is None else venue_entry(fake, **fields)
        entry.pop("api_key", None)
        return entry | secret

    def venues(self, fake: FakeExchange | None) -> list[dict[str, Any]]:
        """``VENUES`` (inline and env routes); writes ``VENUES_FILE`` (file and yaml routes).

        With the fake exchange the venues point at it, else at the venues themselves.
        """
        listed = [self._venue(fake, route) for route in ("file", "yaml")]
        self.venues_file.write_text(yaml.safe_dump({"venues": listed}))
        self.inline = [self._venue(fake, route) for route in ("inline", "env")]
        return self.inline

    def keys(self) -> set[str]:
        """The four API keys."""
        return {self.values[f"key-{route}"] for route in ROUTES}


async def read_scope(bootstrap: str, scope: str) -> dict[str, list[Any]]:
    """Every message of every topic of ``scope``, by topic (dead-letter topics included)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = sorted(t for t in await admin.list_topics() if t.startswith(f"{scope}."))
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    partitions = [
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        for partition in topic["partitions"]
    ]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: dict[str, list[Any]] = {topic: [] for topic in topics}
        async with asyncio.timeout(30):
            while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
                for tp, batch in (await consumer.getmany(timeout_ms=200)).items():
                    records[tp.topic].extend(batch)
        return records
    finally:
        await consumer.stop()


def record_text(record: Any) -> str:
    """A Kafka record's key, value and headers as text."""
    parts = [record.key or b"", record.value or b""]
    parts += [name.encode() + b"=" + (value or b"") for name, value in record.headers]
    return b"\n".join(parts).decode(errors="replace")


async def wait_for(service: ServiceProcess, name: str, at_least: float, **labels: str) -> None:
    """Wait until the service's metric ``name`` reaches ``at_least``."""
    for _ in range(600):
        if metric(await metrics(service), name, **labels) >= at_least:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{service.name}: {name} stayed below {at_least}")


def refused_configs(values: dict[str, str], folder: Path) -> dict[str, dict[str, str]]:
    """Invalid venue configurations holding the sentinels, as the service's variables."""
    key, secret, password = values["key-inline"], values["secret-inline"], values["password-inline"]
    venue = {"name": "binance", "instruments": {INSTRUMENT: "BTC/USDT"}, "api_key": key}
    venue |= {"api_secret": secret, "api_password": password}
    not_yaml = folder / "not-yaml.yaml"
    not_yaml.write_text(f"venues:\n  - name: binance\n    api_key: {key}: {secret}\n")
    unclosed = folder / "unclosed.yaml"
    unclosed.write_text(f"venues:\n  - name: binance\n    api_password: [{password}, {key}\n")
    invalid = folder / "invalid.yaml"
    invalid.write_text(yaml.safe_dump({"venues": [venue | {"book_depth": 0}]}))
    from_env = {k: v for k, v in venue.items() if k != "api_key"} | {"api_key_env": "NOT_SET"}
    return {
        "VENUES not a list": {"VENUES": json.dumps(venue)},
        "VENUES not JSON": {"VENUES": json.dumps([venue])[:-2]},
        "VENUES unknown field": {"VENUES": json.dumps([venue | {"api_token": key}])},
        "VENUES bad secret type": {"VENUES": json.dumps([venue | {"api_secret": [secret]}])},
        "VENUES unset key variable": {"VENUES": json.dumps([from_env])},
        "VENUES_FILE not YAML": {"VENUES_FILE": str(not_yaml)},
        "VENUES_FILE unclosed": {"VENUES_FILE": str(unclosed)},
        "VENUES_FILE invalid entry": {"VENUES_FILE": str(invalid)},
    }


def refused_start(variables: dict[str, str]) -> subprocess.Popen[str]:
    """``jules-market-data run`` as its own process with these ``JULES_MARKET_DATA__`` variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JULES_")}
    env |= {f"JULES_MARKET_DATA__{name}": value for name, value in variables.items()}
    env["JULES_MARKET_DATA__LOG__LEVEL"] = "DEBUG"
    command = [str(BIN / "jules-market-data"), "run"]
    return subprocess.Popen(command, env=env, stdout=PIPE, stderr=PIPE, text=True)


def market_data(args: list[str], variables: dict[str, str]) -> tuple[int, str]:
    """``jules-market-data <args>`` in this process with ``JULES_MARKET_DATA__<name>`` set:
    the exit status and everything it printed (stdout and stderr)."""
    env = {f"JULES_MARKET_DATA__{name}": value for name, value in variables.items()}
    result = CliRunner().invoke(
        market_data_app, args, env=env | {"JULES_MARKET_DATA__LOG__LEVEL": "DEBUG"}
    )
    return result.exit_code, result.output


@dataclass
class Observed:
    """What a live run left to search: the fake's requests, the service's answers and output."""

    fake: RecordingFake
    service: ServiceProcess
    answers: dict[str, str]
    metrics: str
    refused: subprocess.Popen[str]
    """A start-up refused for an invalid venue config, run meanwhile."""


async def live_run(
    kafka: Any, tmp_path: Path, run: Secrets, scope: str, audit: ServiceProcess
) -> Observed:
    """Stream through 429s, a websocket drop and a backfill; dead-letter a malformed message
    (``audit`` consumes it); meanwhile start the service with an invalid venue config."""
    started = RateLimit(count=2, retry_after=1)  # markets are loaded through 429s
    live = {"record_dir": str(tmp_path / "recorded"), "record_rows": 200}
    async with live_market_data(
        kafka,
        tmp_path,
        ["trades"],
        FaultUpdate(rate_limit=started),
        venues=run.venues,
        subscribers=len(ROUTES),
        fake_class=RecordingFake,
        scope=scope,
        venues_file=str(run.venues_file),
        log__level="DEBUG",
        live=json.dumps(live),
    ) as (fake, service, _):
        assert isinstance(fake, RecordingFake)
        refused = refused_start(refused_configs(run.values, tmp_path)["VENUES not a list"])
        await asyncio.to_thread(audit.wait_ready)
        await play_until(fake.market, 20, speed=20)
        await wait_for(service, "jules_market_data_events_out_total", 1, event_type="md.trade")
        drop = DropConnections(refuse_seconds=1)
        fake.refuse_keys = len(ROUTES)  # the backfills meet auth errors, then 429s
        await fake.set_faults(FaultUpdate(drop_connections=drop, rate_limit=started))
        await play_until(fake.market, 40, speed=20)
        await wait_until(lambda: fake.keys_sent("/api/v3/historicalTrades") >= run.keys(), 60)
        await wait_for(service, "jules_market_data_backfilled_trades_total", 1)
        trades = len(fake.market.state("BTCUSDT").trades) * len(ROUTES)
        await wait_for(service, "jules_market_data_events_out_total", trades, event_type="md.trade")
        producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap)
        await producer.start()
        try:  # a malformed message: the audit service dead-letters it
            await producer.send_and_wait(MD_TRADES.scoped(scope), b'{"event_type": "md.trade"')
        finally:
            await producer.stop()
        await read_topic(kafka.bootstrap, MD_TRADES.scoped_dlq(scope), 1, timeout_s=30)
        answers = {}
        for path in ("/health", "/ready", "/metrics"):
            url = service.base_url + path
            status = await asyncio.to_thread(http_status, url)
            answers[path] = f"{status}\n{await asyncio.to_thread(http_text, url)}"
        return Observed(fake, service, answers, await metrics(service), refused)


async def test_sentinel_secrets_appear_nowhere_but_in_the_requests_to_the_venue(
    kafka, tmp_path, monkeypatch
):
    run = Secrets(tmp_path / "secrets", monkeypatch)
    scope = new_scope()
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap)
    await create_scoped_topics(settings, scope)
    await ensure_topics(settings, [CONTROL_STATE.scoped(scope)])
    audit_dir = tmp_path / "audit-log"
    audit = start_service("audit", kafka.bootstrap, scope, tmp_path, DIRECTORY=str(audit_dir))
    try:
        seen = await live_run(kafka, tmp_path, run, scope, audit)
        messages = await read_scope(kafka.bootstrap, scope)
        events = sum(len(records) for t, records in messages.items() if not t.endswith(".dlq"))
        await wait_for(audit, "jules_audit_events_in_total", events)
    finally:
        audit_status = await asyncio.to_thread(audit.terminate)
    assert audit_status == 0, audit.log.read_text()[-3000:]
    stdout, stderr = seen.refused.communicate(timeout=120)

    # the run went through every path, and the secrets were given and used
    inline = tuple(VenueConfig.model_validate(venue) for venue in run.inline)
    given = MarketDataSettings(venues=inline, venues_file=run.venues_file)
    resolved = {v for venue in given.venues for v in venue.ccxt_credentials().values()}
    assert resolved == set(run.values.values())  # the service's config holds every sentinel
    received = "\n".join(f"{path} {json.dumps(headers)}" for path, headers in seen.fake.received)
    reached = {name for name, value in run.values.items() if value in received}
    assert reached == {f"key-{route}" for route in ROUTES}  # every route's key reached the fake
    assert leaks(run.values, {"the fake's requests": received})  # the search finds them there
    assert seen.fake.faults.describe()["injected"]["rate_limited"] >= 4
    assert metric(seen.metrics, "jules_market_data_venue_retries_total", error="DDoSProtection")
    assert metric(seen.metrics, "jules_market_data_feed_reconnects_total") >= len(ROUTES)
    assert seen.fake.refuse_keys == 0
    assert "AuthenticationError" in seen.metrics
    log = seen.service.log.read_text()
    assert '"level":"DEBUG"' in log
    assert "trades backfilled over REST" in log
    assert messages[MD_TRADES.scoped(scope)]
    assert messages[MD_TRADES.scoped_dlq(scope)]
    assert CONTROL_STATE.scoped(scope) in messages
    recorded = sorted((tmp_path / "recorded").glob("*.parquet"))
    assert {path.name.split("_")[0] for path in recorded} >= {run.instrument(r) for r in ROUTES}
    audit_files = sorted(p for p in audit_dir.rglob("*") if p.is_file())
    assert any(p.stat().st_size for p in audit_files)
    assert seen.refused.returncode == 2, stderr
    assert "JULES_MARKET_DATA__VENUES (value not shown" in stderr

    places = {"market-data output": log, "audit output": audit.log.read_text()}
    places |= {"refused start-up stdout": stdout, "refused start-up stderr": stderr}
    places |= {f"answer of {path}": answer for path, answer in seen.answers.items()}
    places |= {f"topic {t}": "\n".join(map(record_text, rs)) for t, rs in messages.items()}
    for path in recorded:
        places[f"file {path.name}"] = f"{path.read_bytes()!r} {pq.read_table(path).to_pylist()}"
    for path in audit_files:
        places[f"audit file {path.name}"] = path.read_bytes().decode(errors="replace")
    assert leaks(run.values, places) == []


def test_invalid_venue_configs_stop_the_start_up_without_showing_a_secret(tmp_path, monkeypatch):
    run = Secrets(tmp_path / "secrets", monkeypatch)
    configs = refused_configs(run.values, tmp_path)
    outputs, statuses = {}, {}
    for name, variables in configs.items():
        statuses[name], outputs[name] = market_data(["run"], variables)
    assert statuses == dict.fromkeys(configs, 2), outputs
    for name in configs:  # each refused for its venue config, at start-up
        assert "invalid configuration for service 'market-data'" in outputs[name], name
        assert "venue" in outputs[name].lower(), outputs[name]
    assert leaks(run.values, outputs) == []


def test_check_config_shows_the_venues_but_not_their_secrets(tmp_path, monkeypatch):
    run = Secrets(tmp_path / "secrets", monkeypatch)
    variables = {"VENUES": json.dumps(run.venues(None)), "VENUES_FILE": str(run.venues_file)}
    status, output = market_data(["check-config"], variables)
    assert status == 0, output
    shown = json.loads(output)
    names = [venue["name"] for venue in shown["venues"]]
    assert names == ["binance", "binance-env", "binance-file", "binance-yaml"]
    masked = [v[f] for v in shown["venues"] for f in ("api_key", "api_secret", "api_password")]
    assert masked == ["**********"] * len(run.values)  # every secret is there, masked
    assert leaks(run.values, {"check-config": output}) == []
