"""``algotui serve``: a headless backtest server for our API and three existing dashboards.

One aiohttp application on one port: sessions under ``/api`` (protocol v1 events), and the
seed dashboards' protocols (``/ws/backtest/stream/``, ``/api/backtest``, ``/api/backtesting`` with
``/api/ws/stream/backtest/{id}``) as layers over the same sessions. Each session's engine runs
in its own process. See ``docs/serve.md``.
"""
