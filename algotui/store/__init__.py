"""The results store: finished runs in SQLite, listed, compared and exported.

``db`` is the file and its schema, ``record`` one run as stored, ``sink`` feeds it from an event
stream or a run state, ``export`` and ``compare`` read it back, ``commands`` is ``algotui runs``.
"""
