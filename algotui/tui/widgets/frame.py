"""The base of the chart panes: a line-API widget that draws whole frames, cached as strips."""

from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from algotui.tui.render.palette import Palette
from algotui.tui.theming import theme_colors
from algotui.view.state import RunState

__all__ = ["FrameWidget"]


class FrameWidget(Widget):
    """A line-API pane that draws whole frames: built once per change, cached as strips.

    Subclasses give :meth:`_data_key` (the state the picture shows), :meth:`_view_key`
    (how it is shown: size, zoom...) and :meth:`build_frame`. New data is drawn when the
    app's frame timer calls :meth:`refresh_if_changed`, and only then: a repaint for another
    reason (a neighbour's layout, a key) redraws the data last asked for, unless the view
    itself changed. So the app decides how often each pane follows the data.
    """

    def __init__(self, state: RunState, *, id: str | None = None, classes: str | None = None):  # noqa: A002
        super().__init__(id=id, classes=classes)
        self.state = state
        self._frame_key: tuple | None = None  # (data, view) of the frame built
        self._shown_key: tuple | None = None  # (data, view) at the last refresh_if_changed
        self._data_seen: tuple | None = None  # the data asked for by refresh_if_changed
        self._strips: list[Strip] = []
        self._palette: Palette | None = None
        self._palette_key: tuple | None = None
        self._style_epoch = 0

    def on_mount(self) -> None:
        """Redraw when the app's theme changes."""
        self.watch(self.app, "theme", self._theme_changed, init=False)
        # The theme's CSS (our background) is applied a moment after the change: redraw again.
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)

    def _theme_changed(self, _theme: object = None) -> None:
        self._style_epoch += 1
        self.refresh()

    def _data_key(self) -> tuple:
        raise NotImplementedError

    def _view_key(self) -> tuple:
        raise NotImplementedError

    def _full_view_key(self) -> tuple:
        return (self.size, self.app.theme, self._style_epoch, self._view_key())

    def build_frame(self) -> list[Strip]:
        """Draw the current frame (uncached)."""
        raise NotImplementedError

    def refresh_if_changed(self) -> bool:
        """Refresh if anything the picture depends on changed since the last call."""
        data = self._data_key()
        key = (data, self._full_view_key())
        if key == self._shown_key:
            return False
        self._shown_key = key
        self._data_seen = data
        self.refresh()
        return True

    def palette(self) -> Palette:
        """Styles for the current theme (cached per theme and colour mode)."""
        base: Style = self.rich_style
        no_color = bool(getattr(self.app, "no_color", False))
        key = (self.app.theme, self._style_epoch, base, no_color)
        if self._palette is None or key != self._palette_key:
            colors = theme_colors(self.app)
            self._palette = Palette(colors, base, self.background_colors[1], no_color)
            self._palette_key = key
        return self._palette

    def render_lines(self, crop: Region) -> list[Strip]:
        """The frame's rows inside ``crop``.

        A frame paints every cell itself, in full styles, so Textual's per-line styling pass
        (borders, padding, tint) is skipped when the pane has none of those; the app's line
        filters (NO_COLOR, dimming) still apply. Whether the frame is due is asked once here,
        not once per line (the keys read the view, which is not free).
        """
        if self.styles.gutter or self.styles.tint.a or self.styles.opacity != 1:
            return super().render_lines(crop)
        frame = self.current_frame()
        filters = self.get_line_filters()
        background = self.background_colors[1]
        blank = Strip.blank(self.size.width, self.rich_style)
        strips = []
        for y in crop.line_range:
            strip = frame[y] if 0 <= y < len(frame) else blank
            for line_filter in filters:
                strip = strip.apply_filter(line_filter, background)
            strips.append(strip)
        x1, x2 = crop.column_span
        if (x1, x2) != (0, self.size.width):
            strips = [strip.crop(x1, x2) for strip in strips]
        return strips

    def current_frame(self) -> list[Strip]:
        """The frame's rows, rebuilt first if it is due (see the class)."""
        if self._data_seen is None:
            self._data_seen = self._data_key()
        key = (self._data_seen, self._full_view_key())
        if key != self._frame_key:
            self._strips = self.build_frame()
            self._frame_key = key
        return self._strips

    def render_line(self, y: int) -> Strip:
        """Row ``y`` of the current frame."""
        frame = self.current_frame()
        if 0 <= y < len(frame):
            return frame[y]
        return Strip.blank(self.size.width, self.rich_style)
