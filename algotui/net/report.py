"""``algotui replay FILE --html OUT``: the browser viewer as one self-contained file.

The page is the live viewer's own (``static/index.html`` and ``viewer.js``) with its style, the
chart library and the run's snapshot inlined, so it opens offline and draws the same picture:
candles, overlays, markers, equity, stats, the signal log, a metrics table and a trades table.
"""

from pathlib import Path
from typing import Any

import orjson

from algotui.errors import UserError
from algotui.net.server import static_dir
from algotui.net.snapshot import snapshot_of
from algotui.view.state import RunState


def report_html(snapshot: dict[str, Any]) -> str:
    """The page with everything inlined and ``snapshot`` as its data."""
    static = static_dir()
    page = (static / "index.html").read_text(encoding="utf-8")
    css = (static / "viewer.css").read_text(encoding="utf-8")
    chart_js = (static / "lightweight-charts.standalone.production.js").read_text(encoding="utf-8")
    viewer_js = (static / "viewer.js").read_text(encoding="utf-8")
    # "</" would end the script element early; "<\/" means the same inside a JS string.
    data = orjson.dumps(snapshot, option=orjson.OPT_SERIALIZE_NUMPY).decode().replace("</", "<\\/")
    title = " ".join(
        str(snapshot.get("metadata", {}).get(k, "")) for k in ("symbol", "interval", "strategy")
    )
    replacements = {
        '<link rel="stylesheet" href="static/viewer.css">': f"<style>\n{css}</style>",
        '<script src="static/lightweight-charts.standalone.production.js"></script>': (
            f"<script>\n{chart_js}\n</script>"
        ),
        '<script src="static/viewer.js"></script>': (
            f"<script>window.ALGOTUI_REPORT = {data};</script>\n<script>\n{viewer_js}\n</script>"
        ),
        "<title>algotui</title>": f"<title>algotui report: {_escape(title)}</title>",
        "see static/NOTICE.lightweight-charts": (
            "TradingView Lightweight Charts, Copyright (c) 2023 TradingView, Inc."
        ),
    }
    for old, new in replacements.items():
        if old not in page:
            raise RuntimeError(f"the viewer page lost its {old!r}")
        page = page.replace(old, new)
    return page


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_report(recording: Path, out: Path) -> Path:
    """Read ``recording`` into a run state and write its report to ``out``."""
    from algotui.protocol.read import RecordingReader

    state = RunState()
    batch: list[Any] = []
    for record in RecordingReader(recording, follow=False):
        batch.append(record)
        if len(batch) >= 256:
            state.apply(batch)
            batch = []
    state.apply(batch)
    html = report_html(snapshot_of(state, state.last_seq))
    try:
        out.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"--html {out}: cannot write there ({exc.strerror})") from None
    return out
