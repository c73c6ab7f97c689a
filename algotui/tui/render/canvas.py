"""The canvas every chart draws on: a grid of one-cell characters and small style indices.

A frame is built with numpy on two arrays (``chars`` and ``codes``) and turned into one
:class:`~textual.strip.Strip` per row at the end, one Segment per run of equal style. That is
what keeps a frame of a line-API chart near a millisecond (see DESIGN.md: 45-50 frames/s for a
line-API widget where a Rich ``Text`` tops out near 10).
"""

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

__all__ = ["BLOCKS8", "BLOCKS8_ARRAY", "Canvas"]

#: Eighths of a cell, bottom up: the fill of an area or a volume bar.
BLOCKS8 = " ▁▂▃▄▅▆▇█"
BLOCKS8_ARRAY = np.array(list(BLOCKS8))


class Canvas:
    """A grid of single-cell characters and style indices, turned into one Strip per row."""

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self.chars = np.full((height, width), " ", dtype="<U1")
        self.codes = np.zeros((height, width), dtype=np.int16)

    def text(self, y: int, x: int, text: str, code: int, limit: int | None = None) -> int:
        """Write ``text`` at (x, y), clipped at column ``limit`` (default: the width).

        Returns the column after the last one written (``x`` when nothing was).
        """
        end = min(self.width if limit is None else limit, x + len(text))
        if not 0 <= y < self.height or end <= x or x < 0:
            return x
        self.chars[y, x:end] = list(text[: end - x])
        self.codes[y, x:end] = code
        return end

    def fill(self, y: int, x0: int, x1: int, char: str, code: int) -> None:
        """Fill columns ``x0..x1-1`` of row ``y`` with one character in one style."""
        if 0 <= y < self.height and x0 < x1:
            self.chars[y, max(0, x0) : x1] = char
            self.codes[y, max(0, x0) : x1] = code

    def strips(self, styles: list[Style]) -> list[Strip]:
        """The rows as Strips, one Segment per run of equal style.

        A blank cell takes the style of the cell before it when both have the base background,
        so "█ █" in one colour is one run, not three.
        """
        h, w = self.height, self.width
        if h == 0 or w == 0:
            return [Strip.blank(w, styles[0]) for _ in range(h)]
        codes = self.codes
        plain_bg = np.array([st.bgcolor == styles[0].bgcolor and not st.reverse for st in styles])
        mergeable = (self.chars == " ") & plain_bg[codes]
        if mergeable.any():
            pos = np.where(mergeable, -1, np.arange(w))
            np.maximum.accumulate(pos, axis=1, out=pos)
            rows = np.arange(h)[:, None]
            source = codes[rows, np.maximum(pos, 0)]
            take = mergeable & (pos >= 0) & plain_bg[source]
            codes = np.where(take, source, codes)
        flat = codes.ravel()
        start = np.ones(h * w, dtype=bool)
        start[1:] = flat[1:] != flat[:-1]
        start[::w] = True
        starts = np.flatnonzero(start)
        ends = np.append(starts[1:], h * w)
        per_row = np.searchsorted(starts, np.arange(0, h * w + 1, w)).tolist()
        text = str(np.ascontiguousarray(self.chars).reshape(-1).view(f"<U{h * w}")[0])
        # Segments made as plain tuples: a NamedTuple's own constructor is a Python function,
        # and a frame makes hundreds of them (this halves the cost of this step).
        new = tuple.__new__
        segments = [
            new(Segment, (text[a:b], styles[i], None))
            for a, b, i in zip(starts.tolist(), ends.tolist(), flat[starts].tolist(), strict=True)
        ]
        return [Strip(segments[per_row[y] : per_row[y + 1]], w) for y in range(h)]
