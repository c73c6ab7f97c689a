"""The browser viewer in headless Chromium: live candles mid-run, a late join, the buttons,
and the offline HTML report. Screenshots are PNGs (kept in $ALGOTUI_SHOTS when set)."""

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from algotui.net.hub import encode
from algotui.net.report import write_report
from algotui.net.session import to_dicts
from algotui.view.state import RunState
from tests.net.cdp import Browser, chromium
from tests.net.test_bridge import CONTROL, FakeControls, start_server

pytestmark = pytest.mark.skipif(chromium() is None, reason="needs chromium")

STATUS = "document.getElementById('status').dataset"


@pytest.fixture(scope="module")
def events() -> list[dict[str, Any]]:
    from algotui.engine import Backtest, load_strategy
    from algotui.feed import load_source
    from algotui.protocol.encode import Encoder

    bt = Backtest(load_source("sample"), load_strategy("sma_cross"), {})
    encoder = Encoder(bt.run_id)
    out: list[dict[str, Any]] = []
    for item in bt.stream():
        out.extend(to_dicts([item], encoder))
    return out


def keep(path: Path) -> None:
    """Copy a screenshot where a person can look at it."""
    where = os.environ.get("ALGOTUI_SHOTS")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(where) / path.name)


def cut_at_bar(events: list[dict[str, Any]], bars: int) -> int:
    """The index just after the events of bar ``bars`` (its candle and what follows it)."""
    seen = 0
    for i, e in enumerate(events):
        if e["type"] == "candle":
            seen += 1
            if seen > bars:
                return i
    return len(events)


async def test_the_page_draws_candles_live_and_a_late_joiner_sees_the_run_so_far(events, tmp_path):
    controls = FakeControls()
    server = await start_server(controls=controls)
    hub = server.hub
    first = second = None
    try:
        cut = cut_at_bar(events, 300)
        hub.publish(events[:cut])
        hub.flush()
        first = Browser()
        await first.open()
        await first.goto(f"{server.url}#token={CONTROL}")
        rows = await first.wait_for(f"{STATUS}.rows == 300 && {STATUS}.rows")
        assert rows == "300"
        assert await first.wait_for("window.algotui.candlePixels() > 500")
        shot = await first.screenshot(tmp_path / "bridge-mid-run.png")
        keep(shot)
        assert await first.js(f"{STATUS}.state") == "live"
        # Live: more bars arrive over the socket and are drawn.
        more = cut_at_bar(events, 600)
        for a in range(cut, more, 25):
            hub.publish(events[a : min(a + 25, more)])
            hub.flush()
        assert await first.wait_for(f"{STATUS}.rows == 600 && {STATUS}.seq") == str(more - 1)
        # The control buttons show with the token, and act through the controls.
        assert await first.js("document.getElementById('controls').hidden") is False
        await first.js("document.getElementById('toggle').click()")
        await first.wait_for(f"{STATUS}.runState == 'PAUSED'")
        assert ("pause",) in controls.calls
        # A late joiner: the whole run so far at once, from the snapshot.
        second = Browser()
        await second.open()
        await second.goto(server.url)
        assert await second.wait_for(f"{STATUS}.rows == 600 && {STATUS}.rows") == "600"
        state = RunState()
        state.apply(events[:more])
        assert await second.js(f"{STATUS}.signals") == str(len(state.signals))
        assert await second.wait_for("window.algotui.candlePixels() > 500")
        assert await second.js("document.getElementById('controls').hidden") is True
        shot = await second.screenshot(tmp_path / "bridge-late-join.png")
        keep(shot)
    finally:
        for browser in (first, second):
            if browser is not None:
                await browser.close()
        await server.stop()


async def test_the_html_report_opens_offline_with_chart_trades_and_metrics(events, tmp_path):
    recording = tmp_path / "run.jsonl"
    recording.write_bytes(b"".join(encode(e) + b"\n" for e in events))
    out = write_report(recording, tmp_path / "report.html")
    html = out.read_text()
    # Nothing to fetch: no script or style comes from elsewhere.
    assert not re.search(r"<script[^>]*\bsrc=|<link\b", html)
    assert "TradingView Lightweight Charts" in html and "@license" in html
    state = RunState()
    state.apply(events)
    browser = Browser()
    try:
        await browser.open()
        await browser.goto(out.as_uri())
        rows = await browser.wait_for(f"{STATUS}.rows")
        assert rows == str(state.bars)
        assert await browser.js(f"{STATUS}.runState") == "DONE"
        assert await browser.wait_for("window.algotui.candlePixels() > 500")
        trades = await browser.js("document.querySelectorAll('#trades tr').length")
        assert trades == len(state.trades) + 1  # and the header
        metrics = await browser.js("document.querySelectorAll('#metrics tr').length")
        assert metrics == len(state.metrics)
        keep(await browser.screenshot(tmp_path / "bridge-report.png"))
    finally:
        await browser.close()
