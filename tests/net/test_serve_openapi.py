"""The served OpenAPI description, tested against the running server with schemathesis.

The server runs on 127.0.0.1 in a thread of its own; examples are bounded; any download a
generated ticker could start is refused (libcurl and Python sockets both stop at loopback).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from algotui.serve.openapi import document
from tests.net.serve_support import make_app

LOOPBACK = ("127.0.0.1", "::1", "localhost")


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from curl_cffi import requests as curl_requests

    tmp = tmp_path_factory.mktemp("openapi")
    real_connect = socket.socket.connect

    def loopback_only(self: socket.socket, address: object) -> None:
        host = address[0] if isinstance(address, tuple) else address
        if host not in LOOPBACK and self.family != socket.AF_UNIX:
            raise OSError("network disabled in tests")
        real_connect(self, address)

    def no_network(*_: object, **__: object) -> None:
        raise OSError("network disabled in tests")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", loopback_only)
        mp.setattr(curl_requests.Session, "request", no_network)
        mp.setenv("ALGOTUI_CACHE_DIR", str(tmp / "cache"))
        loop = asyncio.new_event_loop()
        app = make_app(Path(tmp), max_per_client=16, max_sessions=32)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()


# The document the server serves (a test below checks it is the same one).
schema = schemathesis.openapi.from_dict(document())


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_the_running_server_conforms_to_its_openapi(case, base_url: str) -> None:  # noqa: ANN001
    case.call_and_validate(
        base_url=base_url,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
        timeout=30,
    )


def test_the_document_describes_every_http_route(base_url: str) -> None:
    import json
    import urllib.request

    with urllib.request.urlopen(f"{base_url}/api/openapi.json", timeout=10) as response:
        doc = json.load(response)
    assert doc == json.loads(json.dumps(document()))
    assert doc["openapi"].startswith("3.1")
    paths = set(doc["paths"])
    for path in (
        "/api/sessions",
        "/api/sessions/{id}",
        "/api/sessions/{id}/seek",
        "/api/sessions/{id}/speed",
        "/api/status",
        "/api/backtest/create",
        "/api/backtest/{id}/pause",
        "/api/backtesting/start",
        "/api/ws/stream/status",
    ):
        assert path in paths
