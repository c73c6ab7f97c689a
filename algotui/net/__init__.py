"""The WebSocket bridge: a run's events to remote viewers (terminal and browser).

``hub`` fans events out, ``snapshot`` packs a run state for late joiners, ``server`` is the
HTTP + WebSocket front (aiohttp), ``client`` and ``apps`` are ``algotui view``, ``session`` and
``wiring`` connect runs to it, ``report`` writes the offline HTML page, ``static/`` is the
browser viewer.
"""
