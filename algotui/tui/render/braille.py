"""Lines at sub-cell resolution: braille dots (2 x 4 per cell) and the scaling helpers.

:func:`braille_line` turns a series of heights into the dot codes of a connected line; the
chart ORs the codes of several lines together so lines that share a cell merge their dots.
"""

import math

import numpy as np

from algotui.tui.render.canvas import Canvas

__all__ = ["BRAILLE", "braille_line", "draw_lines", "expand", "put_dots", "scale", "scale1"]

BRAILLE = np.array([chr(0x2800 + i) for i in range(256)])
# Braille dot bits for the four sub-rows of a cell, bottom (0) to top (3).
_LEFT_BITS = (0x40, 0x04, 0x02, 0x01)
_RIGHT_BITS = (0x80, 0x20, 0x10, 0x08)


def _span_table(bits: tuple[int, ...]) -> np.ndarray:
    """Dot bits of sub-rows a..b of one cell at [a, b + 1], for a in 0..4 and b in -1..3 (zero
    where the span is empty): a cell's dots are one lookup, without branches."""
    table = np.zeros((5, 5), dtype=np.int32)
    for a in range(4):
        for b in range(a, 4):
            table[a, b + 1] = sum(bits[a : b + 1])
    return table


_LEFT_SPAN = _span_table(_LEFT_BITS)
_RIGHT_SPAN = _span_table(_RIGHT_BITS)


def braille_line(q: np.ndarray, rows: int) -> np.ndarray:
    """Braille dot codes (rows x len(q)) of a continuous line through sub-row positions ``q``.

    ``q`` holds, per column, the line's height in quarter cells (0 = bottom of the lowest row,
    ``4 * rows - 1`` = top; NaN = no value). Each column's left dots run from the midpoint with
    the previous value to its own value, its right dots on to the midpoint with the next, so
    steep moves stay connected. A 2-D ``q`` (one line per row) gives one (rows x m) grid per
    line in one call, which is what a frame with several lines wants (numpy per call, not per
    line).
    """
    q = np.asarray(q, dtype=float)
    m = q.shape[-1]
    lead = q.shape[:-1]
    if m == 0 or rows <= 0:
        return np.zeros((*lead, rows, m), dtype=np.int32)
    top = 4 * rows - 1
    q = np.clip(q, 0, top)
    valid = ~np.isnan(q)
    pad = np.full((*lead, 1), np.nan)
    prev = np.concatenate((pad, q[..., :-1]), axis=-1)
    nxt = np.concatenate((q[..., 1:], pad), axis=-1)
    mid_prev = np.where(np.isnan(prev), q, (prev + q) / 2)
    mid_next = np.where(np.isnan(nxt), q, (nxt + q) / 2)
    q = np.where(valid, q, 0)
    mid_prev = np.where(valid, mid_prev, 0)
    mid_next = np.where(valid, mid_next, 0)
    # Per column, the contiguous sub-row spans of the left and right dots (empty if invalid).
    l_lo = np.where(valid, np.ceil(np.minimum(q, mid_prev)), top + 1).astype(np.int32)
    l_hi = np.floor(np.maximum(q, mid_prev)).astype(np.int32)
    r_lo = np.where(valid, np.ceil(np.minimum(q, mid_next)), top + 1).astype(np.int32)
    r_hi = np.floor(np.maximum(q, mid_next)).astype(np.int32)
    bottom = (4 * (rows - 1 - np.arange(rows, dtype=np.int32)))[:, None]

    def cells(v: np.ndarray) -> np.ndarray:
        return v[..., None, :] - bottom

    return _span_bits(cells(l_lo), cells(l_hi), _LEFT_SPAN) | _span_bits(
        cells(r_lo), cells(r_hi), _RIGHT_SPAN
    )


def draw_lines(
    lines: list[tuple[np.ndarray, int | np.ndarray]], rows: int, cols: int
) -> tuple[np.ndarray, np.ndarray]:
    """Dots and style codes (rows x cols) of several lines, later lines' colour on top where
    they share a cell. Each line is (sub-row positions, a style code or one code per column)."""
    dots = np.zeros((rows, cols), dtype=np.int32)
    codes = np.zeros((rows, cols), dtype=np.int16)
    if not lines:
        return dots, codes
    q = np.full((len(lines), cols), np.nan)
    for i, (values, _) in enumerate(lines):
        q[i, : len(values)] = values[:cols]
    bits = braille_line(q, rows)
    for i, (_, code) in enumerate(lines):
        on = bits[i] > 0
        codes[on] = code if np.isscalar(code) else np.broadcast_to(code, on.shape)[on]
    np.bitwise_or.reduce(bits, axis=0, out=dots)
    return dots, codes


def _span_bits(lo: np.ndarray, hi: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Dot bits of the sub-rows lo..hi (relative to each cell's bottom) that fall in the cell."""
    return table[np.clip(lo, 0, 4), np.clip(hi + 1, 0, 4)]


def put_dots(cv: Canvas, top: int, dots: np.ndarray, dot_code: np.ndarray, x0: int = 0) -> None:
    """Write braille dot codes into the canvas from row ``top``, where a cell holds any."""
    on = dots > 0
    if not on.any():
        return
    rows, m = dots.shape
    cv.chars[top : top + rows, x0 : x0 + m][on] = BRAILLE[dots[on]]
    cv.codes[top : top + rows, x0 : x0 + m][on] = dot_code[on]


def expand(values: np.ndarray, wide: bool) -> np.ndarray:
    """Per-item values spread over columns; in wide mode the gap column gets the midpoint."""
    if not wide:
        return values
    out = np.full(2 * len(values), np.nan)
    out[0::2] = values
    out[1:-1:2] = (values[:-1] + values[1:]) / 2
    return out


def scale1(value: float, lo: float, hi: float, steps: int) -> int:
    """One value mapped to 0..steps-1, ``lo`` at 0."""
    return min(steps - 1, max(0, math.floor((value - lo) / (hi - lo) * steps)))


def scale(values: np.ndarray, lo: float, hi: float, steps: int) -> np.ndarray:
    """Values mapped to 0..steps-1 (float, NaN kept), ``lo`` at 0."""
    with np.errstate(invalid="ignore"):
        return np.clip(np.floor((values - lo) / (hi - lo) * steps), 0, steps - 1)
