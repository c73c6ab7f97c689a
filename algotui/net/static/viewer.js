// algotui browser viewer: a run's snapshot and live events (or a report's embedded snapshot)
// drawn with TradingView Lightweight Charts. No build step; served by the bridge or inlined
// into `algotui replay FILE --html OUT`.
(function () {
  "use strict";
  const LWC = window.LightweightCharts;
  const $ = (id) => document.getElementById(id);
  const UP = "#26a69a";
  const DOWN = "#ef5350";
  const LINE_COLORS = ["#5fa8ff", "#e5c07b", "#c678dd", "#56b6c2", "#d19a66", "#98c379"];
  const MAX_LOG = 300;

  // Protocol timestamps are ISO 8601 without a zone (UTC) or with one.
  const toTime = (iso) =>
    Math.floor(Date.parse(/(Z|[+-]\d\d:?\d\d)$/.test(iso) ? iso : iso + "Z") / 1000);

  const chart = LWC.createChart($("chart"), {
    autoSize: true,
    layout: {
      background: { type: "solid", color: "#0f1419" },
      textColor: "#d8dee9",
      panes: { separatorColor: "#334" },
    },
    grid: { vertLines: { color: "#1a222c" }, horzLines: { color: "#1a222c" } },
    timeScale: { timeVisible: true, secondsVisible: false, borderColor: "#334" },
    rightPriceScale: { borderColor: "#334" },
  });
  const candles = chart.addSeries(LWC.CandlestickSeries, {
    upColor: UP, downColor: DOWN, borderVisible: false, wickUpColor: UP, wickDownColor: DOWN,
  });
  const markerLayer = LWC.createSeriesMarkers(candles, []);
  const equity = chart.addSeries(
    LWC.LineSeries, { color: "#5fa8ff", lineWidth: 2, priceLineVisible: false, title: "equity" }, 1);

  let view = empty();
  let control = { paused: false, speed: null, finishing: false, allowed: false };
  let dirty = false;

  function empty() {
    return {
      meta: {}, runId: null, seq: -1, bars: 0, lastTime: -Infinity, rows: [],
      ind: {}, indSeries: {}, markers: [], signals: [], trades: [], stats: {},
      equity: [], metrics: null, error: null,
    };
  }

  // -- the model ------------------------------------------------------------------------------

  function indicatorSeries(name, overlay) {
    let s = view.indSeries[name];
    if (!s) {
      const color = LINE_COLORS[Object.keys(view.indSeries).length % LINE_COLORS.length];
      s = chart.addSeries(LWC.LineSeries, {
        color, lineWidth: 1, priceLineVisible: false, lastValueVisible: false, title: name,
      }, overlay ? 0 : 2);
      view.indSeries[name] = s;
      view.ind[name] = [];
    }
    return s;
  }

  function reset(meta) {
    for (const s of Object.values(view.indSeries)) chart.removeSeries(s);
    view = empty();
    view.meta = meta || {};
    view.runId = view.meta.run_id || null;
    for (const spec of view.meta.indicators || []) indicatorSeries(spec.name, spec.overlay !== false);
  }

  function addCandle(time, o, h, l, c, inds, live) {
    if (time <= view.lastTime) time = view.lastTime + 1; // the chart needs rising times
    view.lastTime = time;
    const bar = { time, open: o, high: h, low: l, close: c };
    view.rows.push(bar);
    if (live) candles.update(bar);
    for (const [name, value] of Object.entries(inds || {})) {
      const s = indicatorSeries(name, true);
      const point = value === null || value === undefined ? { time } : { time, value };
      view.ind[name].push(point);
      if (live) s.update(point);
    }
  }

  function addSignal(e) {
    view.signals.push(e);
    const entry = e.action === "ENTRY";
    const long = (e.direction || (e.side === "BUY" ? "long" : "short")) === "long";
    view.markers.push({
      time: toTime(e.timestamp),
      position: entry ? (long ? "belowBar" : "aboveBar") : (long ? "aboveBar" : "belowBar"),
      color: entry ? (long ? UP : DOWN) : "#d8dee9",
      shape: entry ? (long ? "arrowUp" : "arrowDown") : "circle",
      text: entry ? (long ? "L" : "S") : "x",
    });
  }

  function addEquity(time, value, live) {
    const last = view.equity[view.equity.length - 1];
    const point = { time, value };
    if (last && last.time === time) view.equity[view.equity.length - 1] = point;
    else if (!last || time > last.time) view.equity.push(point);
    else return;
    if (live) equity.update(point);
  }

  function applySnapshot(snap) {
    reset(snap.metadata);
    view.runId = snap.run_id || view.runId;
    const c = snap.candles || { bars: 0 };
    const names = Object.keys(c.indicators || {});
    for (const n of names) indicatorSeries(n, (snap.overlay || {})[n] !== false);
    for (let row = 0; row < (c.time || []).length; row++) {
      const inds = {};
      for (const n of names) inds[n] = c.indicators[n][row];
      addCandle(toTime(c.time[row]), c.open[row], c.high[row], c.low[row], c.close[row], inds, false);
    }
    view.bars = c.bars || 0;
    for (const e of snap.signals || []) addSignal(e);
    view.trades = (snap.trades || []).slice();
    view.stats = snap.stats || {};
    const eq = snap.equity || { time: [], equity: [] };
    for (let i = 0; i < eq.equity.length; i++) {
      if (eq.time[i]) addEquity(toTime(eq.time[i]), eq.equity[i], false);
    }
    view.metrics = snap.metrics;
    view.error = snap.error;
    view.seq = typeof snap.seq === "number" ? snap.seq : -1;
    redrawAll();
    chart.timeScale().fitContent(); // a joiner sees the whole run so far, then follows it
  }

  function applyEvents(events) {
    const bulk = events.length > 200; // redraw once instead of one update per bar
    let markersChanged = false;
    for (const e of events) {
      switch (e.type) {
        case "metadata": reset(e); break;
        case "candle":
          addCandle(toTime(e.timestamp), e.open, e.high, e.low, e.close, e.indicators, !bulk);
          view.bars = e.bar_number || view.bars + 1;
          break;
        case "signal": addSignal(e); markersChanged = true; break;
        case "trade": view.trades.push(e); break;
        case "stats": view.stats = e; break;
        case "equity": addEquity(toTime(e.timestamp), e.equity, !bulk); break;
        case "complete": view.metrics = e.metrics || {}; break;
        case "error": view.error = e; break;
      }
      if (typeof e.seq === "number") view.seq = e.seq;
    }
    if (bulk) redrawAll();
    else if (markersChanged) markerLayer.setMarkers(view.markers);
    dirty = true;
  }

  function redrawAll() {
    candles.setData(view.rows);
    for (const [name, s] of Object.entries(view.indSeries)) s.setData(view.ind[name]);
    equity.setData(view.equity);
    markerLayer.setMarkers(view.markers);
    dirty = true;
  }

  // -- text panes (once per animation frame at most) ------------------------------------------

  const fmt = (x, d = 2) =>
    typeof x === "number" ? x.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d }) : (x ?? "");

  function rows(table, pairs) {
    table.replaceChildren(...pairs.map(([k, v]) => {
      const tr = document.createElement("tr");
      const a = document.createElement("td"); a.textContent = k;
      const b = document.createElement("td"); b.textContent = v;
      tr.append(a, b);
      return tr;
    }));
  }

  function label() {
    if (view.error) return "FAILED";
    if (view.metrics) return "DONE";
    if (control.paused && !control.finishing) return "PAUSED";
    return "RUNNING";
  }

  function drawText() {
    const m = view.meta;
    const params = Object.entries(m.params || {}).map(([k, v]) => `${k}=${v}`).join(" ");
    $("title").textContent = `${m.symbol || ""} ${m.interval || ""}  ${m.strategy || ""} ${params}`;
    const state = label();
    $("state").textContent = state;
    $("state").className = "badge " + state;
    $("speed").textContent = control.speed === null || control.finishing ? "max" : `${control.speed} bars/s`;
    $("toggle").textContent = control.paused ? "Play" : "Pause";
    const s = view.stats;
    const total = view.meta.total_bars || 0;
    rows($("stats"), [
      ["Bar", `${view.bars} / ${total}`],
      ["Equity", fmt(s.equity)],
      ["P&L", fmt(s.pnl)],
      ["Drawdown", s.drawdown === undefined ? "" : fmt(s.drawdown) + "%"],
      ["Trades", s.total_trades === undefined ? "" : `${s.total_trades} (${s.winning_trades}W / ${s.losing_trades}L)`],
      ["Win rate", s.win_rate === undefined ? "" : fmt(s.win_rate) + "%"],
      ["Open", s.open_positions ?? ""],
    ]);
    $("signal-count").textContent = `(${view.signals.length})`;
    const items = view.signals.slice(-MAX_LOG).reverse().map((e) => {
      const li = document.createElement("li");
      li.className = e.side;
      li.textContent = `${(e.timestamp || "").slice(0, 10)} ${e.action.padEnd(5)} ${e.side.padEnd(4)} ${fmt(e.price)}  ${e.reason || ""}`;
      return li;
    });
    $("signals").replaceChildren(...items);
    if (view.error) $("connection").textContent = "run failed: " + (view.error.message || "");
    const st = $("status").dataset;
    st.bars = view.bars; st.seq = view.seq; st.signals = view.signals.length;
    st.rows = view.rows.length; st.runState = state;
  }

  function tick() {
    if (dirty) { dirty = false; drawText(); }
    requestAnimationFrame(tick);
  }

  // Pixels of candle colours on the chart: what a test reads to know candles are drawn.
  function candlePixels() {
    const canvas = chart.takeScreenshot();
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      const r = data[i], g = data[i + 1], b = data[i + 2];
      if ((Math.abs(r - 0x26) < 12 && Math.abs(g - 0xa6) < 12 && Math.abs(b - 0x9a) < 12) ||
          (Math.abs(r - 0xef) < 12 && Math.abs(g - 0x53) < 12 && Math.abs(b - 0x50) < 12)) n++;
    }
    $("status").dataset.candlePixels = n;
    return n;
  }

  // -- the socket -----------------------------------------------------------------------------

  const token = new URLSearchParams(location.hash.slice(1)).get("token");
  let ws = null;
  let backoff = 500;
  let nextId = 1;

  function setConnection(text, state) {
    $("connection").textContent = text;
    $("status").dataset.state = state;
  }

  function send(message) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
  }

  function command(name, extra) {
    send({ type: "control", command: name, id: nextId++, ...(extra || {}) });
  }

  function onControls(msg) {
    if ("paused" in msg) control.paused = msg.paused;
    if ("speed" in msg) control.speed = msg.speed;
    if ("finishing" in msg) control.finishing = msg.finishing;
    dirty = true;
  }

  function onFrame(msg) {
    if (Array.isArray(msg)) {
      const fresh = msg.filter((e) => e.seq > view.seq);
      if (!fresh.length) return;
      if (fresh[0].seq !== view.seq + 1) { send({ type: "resume", seq: view.seq }); return; }
      applyEvents(fresh);
      return;
    }
    switch (msg.type) {
      case "connected":
        control.allowed = !!msg.control;
        $("controls").hidden = !control.allowed;
        onControls(msg);
        setConnection("live" + (control.allowed ? "" : " (read-only)"), "live");
        if (view.runId && msg.run_id !== view.runId) send({ type: "snapshot" });
        break;
      case "snapshot": applySnapshot(msg); break;
      case "heartbeat": case "controls": case "ack": onControls(msg); break;
      case "error": if (msg.code === "forbidden") setConnection("read-only", "live"); break;
    }
  }

  function connect() {
    const url = new URL("ws", location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    url.hash = "";
    if (token) url.searchParams.set("token", token);
    if (view.seq >= 0 && view.runId) url.searchParams.set("resume", String(view.seq));
    ws = new WebSocket(url);
    let opened = false;
    ws.onopen = () => { backoff = 500; opened = true; };
    ws.onmessage = (m) => { try { onFrame(JSON.parse(m.data)); } catch (err) { console.error(err); } };
    ws.onclose = () => {
      // A refused handshake looks like any failure from here: say what is most likely.
      const why = opened ? "" : " (server down, or a viewer token needed: add #token=T)";
      setConnection(`reconnecting in ${backoff / 1000}s${why}`, "reconnecting");
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    };
  }

  const SPEEDS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000];
  const faster = () => command("speed", { speed: control.speed === null ? null : Math.min(control.speed * 2, 50000) });
  const slower = () => command("speed", { speed: control.speed === null ? SPEEDS[SPEEDS.length - 1] : Math.max(control.speed / 2, 0.5) });
  $("toggle").onclick = () => command(control.paused ? "resume" : "pause");
  $("step").onclick = () => command("step", { bars: 1 });
  $("faster").onclick = faster;
  $("slower").onclick = slower;
  $("finish").onclick = () => command("finish");
  document.addEventListener("keydown", (ev) => {
    if (!control.allowed) return;
    const keys = { " ": () => $("toggle").onclick(), n: () => command("step", { bars: 1 }),
      "+": faster, "=": faster, "-": slower, f: () => command("finish") };
    if (keys[ev.key]) { ev.preventDefault(); keys[ev.key](); }
  });

  // -- start ----------------------------------------------------------------------------------

  try { chart.panes()[1].setHeight(120); } catch (err) { /* older builds: default heights */ }
  window.algotui = { get view() { return view; }, candlePixels, applySnapshot, applyEvents };
  const report = window.ALGOTUI_REPORT;
  if (report) {
    applySnapshot(report);
    setConnection("report", "report");
    $("report").hidden = false;
    const m = report.metrics || {};
    rows($("metrics"), Object.entries(m).map(([k, v]) => [k, typeof v === "number" ? fmt(v, 4) : String(v ?? "")]));
    const head = ["#", "direction", "entry", "entry price", "exit", "exit price", "size", "P&L", "P&L %", "reason"];
    const trs = [head].concat(view.trades.map((t) => [t.trade_id, t.direction, (t.entry_time || "").slice(0, 16),
      fmt(t.entry_price), (t.exit_time || "").slice(0, 16), fmt(t.exit_price), t.size, fmt(t.pnl), fmt(t.pnl_percent), t.exit_reason]));
    $("trades").replaceChildren(...trs.map((cells, i) => {
      const tr = document.createElement("tr");
      for (const c of cells) { const td = document.createElement(i ? "td" : "th"); td.textContent = String(c ?? ""); tr.append(td); }
      return tr;
    }));
    drawText();
  } else {
    connect();
  }
  requestAnimationFrame(tick);
})();
