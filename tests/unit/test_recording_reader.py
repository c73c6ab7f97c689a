"""A damaged recording never stops a reader: each problem is named once, the rest is read."""

import json
import threading
import time
from pathlib import Path

from algotui.engine import BUILTINS, Backtest
from algotui.feed import load_source
from algotui.protocol.read import RecordingReader
from algotui.protocol.records import Candles
from algotui.run.recorder import Recorder


def _record(path: Path) -> list[str]:
    bt = Backtest(load_source("sample"), BUILTINS["sma_cross"], run_id="r", emit_every=50)
    with Recorder(path, "r") as recorder:
        for record in bt.stream():
            recorder.write(record)
    return path.read_text().splitlines(keepends=True)


def _read(path: Path, **kw) -> tuple[list, list[str], RecordingReader]:
    notes: list[str] = []
    reader = RecordingReader(path, notes.append, **kw)
    return list(reader), notes, reader


def _bars(records: list) -> int:
    return sum(len(r) for r in records if isinstance(r, Candles))


def test_a_whole_recording_reads_without_a_word(short_recording) -> None:
    records, notes, _ = _read(short_recording)
    assert notes == [] and _bars(records) == 782 and records[-1].type == "complete"


def test_torn_last_line_also_inside_a_multibyte_character(tmp_path) -> None:
    path = tmp_path / "torn.jsonl"
    lines = _record(path)
    # the last line, torn inside "é" (two bytes in UTF-8)
    last = json.dumps({"type": "error", "seq": len(lines), "run_id": "r", "message": "é"},
                      ensure_ascii=False).encode()  # fmt: skip
    cut = last.index("é".encode()) + 1
    path.write_bytes("".join(lines[:-1]).encode() + last[:cut])
    records, notes, _ = _read(path, follow=False)
    assert any("torn" in n for n in notes)
    assert any("ended early" in n for n in notes)
    assert _bars(records) == 782


def test_garbage_in_the_middle_is_skipped_by_line_number(tmp_path) -> None:
    path = tmp_path / "garbage.jsonl"
    lines = _record(path)
    lines.insert(10, "this is not json\n")
    lines.insert(20, '{"type":"candle","seq":"x"}\n')
    path.write_text("".join(lines))
    records, notes, _ = _read(path)
    assert any("line 11 is not JSON" in n for n in notes)
    assert any("line 21" in n for n in notes)
    assert records[-1].type == "complete"


def test_gaps_in_seq_are_named(tmp_path) -> None:
    path = tmp_path / "gap.jsonl"
    lines = _record(path)
    del lines[30:35]
    path.write_text("".join(lines))
    _, notes, _ = _read(path)
    assert any("seq jumps from 29 to 35" in n for n in notes), notes


def test_wrong_types_and_absurd_values_are_refused(tmp_path) -> None:
    path = tmp_path / "absurd.jsonl"
    lines = _record(path)
    meta = json.loads(lines[0])
    lines[0] = json.dumps({**meta, "total_bars": 10**12}) + "\n"
    stats = next(k for k, line in enumerate(lines) if '"type":"stats"' in line)
    lines[stats] = json.dumps({**json.loads(lines[stats]), "equity": "lots"}) + "\n"
    path.write_text("".join(lines))
    records, notes, _ = _read(path)
    assert any("total_bars" in n for n in notes)
    assert any("stats.equity is not a number" in n for n in notes)
    assert _bars(records) == 782


def test_a_recording_that_ends_early_says_where(tmp_path) -> None:
    path = tmp_path / "early.jsonl"
    lines = _record(path)
    cut = next(k for k, x in enumerate(lines) if '"bar_number":300,' in x and "candle" in x)
    path.write_text("".join(lines[: cut + 1]))
    records, notes, reader = _read(path, follow=False)
    assert any("ended early at bar 300" in n for n in notes)
    assert reader.last_bar == 300 and not reader.ended


def test_a_file_still_being_written_is_followed(tmp_path) -> None:
    path = tmp_path / "growing.jsonl"
    lines = _record(path)
    path.write_text("".join(lines[:100]))

    def write_the_rest() -> None:
        for k in range(100, len(lines), 200):
            time.sleep(0.05)
            with open(path, "a") as f:
                f.write("".join(lines[k : k + 200]))

    writer = threading.Thread(target=write_the_rest)
    writer.start()
    records, notes, reader = _read(path, follow_seconds=2.0)
    writer.join()
    assert any("still being written" in n for n in notes)
    assert reader.ended and records[-1].type == "complete" and _bars(records) == 782
