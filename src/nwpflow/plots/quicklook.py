"""Quicklook maps: one PNG per field and level, drawn on a figure built once per job and reused.

A :class:`QuicklookCanvas` holds a matplotlib figure (Agg, no pyplot) laid out in whole pixels: the map
takes exactly ``width`` x ``height`` pixels (:class:`~nwpflow.plots.grid.MapGeometry`), so that each pixel
of the field's image is one pixel of the PNG. What every frame shares (axes, graticule labels, legend of
missing values, footer) is drawn once and kept (matplotlib's blitting: ``copy_from_bbox`` and
``restore_region``); each frame writes its coloured pixels straight into the Agg buffer and draws only
what changes over them (coastlines, borders and graticule lines, titles, colour bar) before Pillow writes
the PNG (~0.05-0.1 s of CPU a frame, measured in ``docs/benchmarks.md``).

Colours: the product's fixed :class:`~nwpflow.plots.style.Style`; missing values (NaN) in
:data:`~nwpflow.plots.style.MISSING_COLOUR`, shown in the legend; outside the domain, white.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nwpflow.plots.grid import MapGeometry
from nwpflow.plots.style import MISSING_COLOUR, OUTSIDE_COLOUR, Style

MARGINS = {"left": 58, "right": 118, "bottom": 46, "top": 58}
"""Pixels around the map: graticule labels left and below, the colour bar right, two title lines above."""

DPI = 100
BAR = {"width": 14, "triangle": 12}
"""The colour bar's width and the height of its end triangles (values beyond the range), in pixels."""
PNG_OPTIONS = {"compress_level": 1}
"""Pillow's zlib level for the PNGs: 1 writes a quicklook ~3x faster than the default 6, ~20 % larger."""


@dataclass
class Frame:
    """One quicklook: a field on the map's grid and what its figure says about it."""

    values: np.ndarray
    """The field, one value per grid point (NaN: missing)."""
    style: Style
    title: str
    subtitle: str
    units: str
    record: dict = field(default_factory=dict)
    """What the job's ``frames.json`` keeps about it (product, level, member, times, ...)."""


class QuicklookCanvas:
    """A reusable quicklook figure for the grid of ``geometry``."""

    def __init__(self, geometry: MapGeometry):
        import matplotlib
        from matplotlib import colors
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.patches import Patch

        self.geometry = geometry
        self._colormaps = matplotlib.colormaps
        self._colors = colors
        w, h = geometry.width, geometry.height
        total_w = w + MARGINS["left"] + MARGINS["right"]
        total_h = h + MARGINS["bottom"] + MARGINS["top"]
        self.figure = Figure(figsize=(total_w / DPI, total_h / DPI), dpi=DPI, facecolor="white")
        self.canvas = FigureCanvasAgg(self.figure)
        axes = self.figure.add_axes([MARGINS["left"] / total_w, MARGINS["bottom"] / total_h, w / total_w, h / total_h])
        self.axes = axes
        x0, x1, y0, y1 = geometry.extent
        axes.set_facecolor(OUTSIDE_COLOUR)
        lines = []  # drawn over the field in every frame, in this order
        if len(geometry.graticule):
            lines += axes.plot(geometry.graticule[:, 0], geometry.graticule[:, 1], color="0.55", linewidth=0.5,
                               linestyle=(0, (2, 3)))
        if len(geometry.coast):
            lines += axes.plot(geometry.coast[:, 0], geometry.coast[:, 1], color="black", linewidth=0.6)
        if len(geometry.borders):
            lines += axes.plot(geometry.borders[:, 0], geometry.borders[:, 1], color="black", linewidth=0.7,
                               linestyle=(0, (4, 2)))
        axes.set_xlim(x0, x1)
        axes.set_ylim(y0, y1)
        axes.set_xticks([])
        axes.set_yticks([])
        for text, x, y, side in geometry.graticule_labels:
            if side == "bottom":
                axes.annotate(text, (x, y0), xytext=(0, -4), textcoords="offset points", ha="center", va="top",
                              fontsize=7, annotation_clip=False)
            else:
                axes.annotate(text, (x0, y), xytext=(-4, 0), textcoords="offset points", ha="right",
                              va="center", fontsize=7, annotation_clip=False)
        self.size = (total_w, total_h)
        bar = self._colour_bar_artists()
        self.figure.legend(handles=[Patch(facecolor=MISSING_COLOUR, edgecolor="black", linewidth=0.4,
                                          label="missing")],
                           loc="lower left",
                           bbox_to_anchor=((MARGINS["left"] + w + 6) / total_w, MARGINS["bottom"] / total_h),
                           fontsize=7, frameon=False, handlelength=1.2, borderaxespad=0.0)
        self.title = axes.set_title("", loc="left", fontsize=9, fontweight="bold", pad=16)
        self.subtitle = axes.annotate("", (0, 1), xycoords="axes fraction", xytext=(0, 4), textcoords="offset points",
                                      ha="left", va="bottom", fontsize=8)
        self.figure.text(2 / total_w, 2 / total_h, f"{geometry.drawing}; outlines: {geometry.outline_source}",
                         fontsize=5.5, color="0.4", ha="left", va="bottom")
        self.dynamic = [*lines, *axes.spines.values(), self.title, self.subtitle, *bar]
        for artist in self.dynamic:
            artist.set_animated(True)
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(self.figure.bbox)
        # the map's pixel rows and columns in the figure (row 0 at the top) and, for a rectilinear grid, the
        # grid row and column each pixel shows
        self.rows = slice(MARGINS["top"], MARGINS["top"] + h)
        self.columns = slice(MARGINS["left"], MARGINS["left"] + w)
        if geometry.kind != "cells":
            ny, nx = geometry.grid_shape
            self.grid_rows = ((np.arange(h) + 0.5) * ny / h).astype(np.intp)
            self.grid_columns = ((np.arange(w) + 0.5) * nx / w).astype(np.intp)

    def _colour_bar_artists(self) -> list:
        """The colour bar's box (rows and columns of its strip and its two triangles, which each frame fills
        with colours), its outline, tick marks, tick labels and units: drawn by the frame, not by matplotlib's
        ``Colorbar``, whose redraw for a new colour map and range costs ~30 ms (measured)."""
        from matplotlib.lines import Line2D

        total_w, total_h = self.size
        left = MARGINS["left"] + self.geometry.width + 14
        top = MARGINS["top"] + BAR["triangle"]
        height = self.geometry.height - 34 - 2 * BAR["triangle"]
        self.bar = {"left": left, "top": top, "height": height}
        half = BAR["width"] / 2.0
        depth = np.arange(BAR["triangle"]) + 0.5  # each triangle row's distance from its tip
        columns = np.arange(BAR["width"]) + 0.5
        self.bar["triangle"] = np.abs(columns[None, :] - half) <= depth[:, None] * half / BAR["triangle"]

        def to_figure(x, y):  # pixels from the top left -> figure fraction
            return np.asarray(x, float) / total_w, 1.0 - np.asarray(y, float) / total_h

        right, bottom, t = left + BAR["width"], top + height, BAR["triangle"]
        outline = to_figure([left, left + half, right, right, left + half, left, left],
                            [top, top - t, top, bottom, bottom + t, bottom, top])
        self.bar_outline = Line2D(*outline, color="black", linewidth=0.6, transform=self.figure.transFigure)
        self.bar_ticks = Line2D([], [], color="black", linewidth=0.6, transform=self.figure.transFigure)
        self.bar_labels = [self.figure.text(0, 0, "", fontsize=7, va="center", ha="left") for _ in range(12)]
        self.bar_units = self.figure.text(*to_figure(right + 44, top + height / 2), "", fontsize=8, rotation=90,
                                          va="center", ha="center")
        self._to_figure = to_figure
        for artist in (self.bar_outline, self.bar_ticks):
            self.figure.add_artist(artist)
        return [self.bar_outline, self.bar_ticks, *self.bar_labels, self.bar_units]

    def _colour_bar(self, pixels: np.ndarray, frame: Frame) -> None:
        """Fill the colour bar for ``frame``'s style into ``pixels`` (the figure's RGBA buffer) and set its
        ticks (matplotlib's ``MaxNLocator``, as a colour bar's axis) and units."""
        from matplotlib.ticker import MaxNLocator

        style, bar = frame.style, self.bar
        colormap = self._colormaps[style.colormap]
        left, top, height, t = bar["left"], bar["top"], bar["height"], BAR["triangle"]
        levels = (height - np.arange(height) - 0.5) / height  # top row: vmax
        strip = colormap(levels, bytes=True)
        pixels[top:top + height, left:left + BAR["width"]] = strip[:, None, :]
        for rows, colour in ((slice(top - t, top), colormap(1.5, bytes=True)),
                             (slice(top + height, top + height + t), colormap(-0.5, bytes=True))):
            mask = bar["triangle"] if rows.start < top else bar["triangle"][::-1]
            region = pixels[rows, left:left + BAR["width"]]
            region[mask] = colour
        ticks = [v for v in MaxNLocator(nbins=7).tick_values(style.vmin, style.vmax)
                 if style.vmin - 1e-9 * abs(style.vmin) <= v <= style.vmax + 1e-9 * abs(style.vmax)]
        step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
        decimals = max(0, -int(np.floor(np.log10(step)))) if step > 0 else 0
        x_right = left + BAR["width"]
        xs, ys = [], []
        for label, value in zip(self.bar_labels, ticks + [None] * len(self.bar_labels)):
            label.set_visible(value is not None)
            if value is None:
                continue
            y = top + height * (style.vmax - value) / (style.vmax - style.vmin)
            label.set_position(self._to_figure(x_right + 5, y))
            label.set_text(f"{value:.{decimals}f}")
            xs += [x_right, x_right + 3, np.nan]
            ys += [y, y, np.nan]
        self.bar_ticks.set_data(*self._to_figure(xs, ys))
        self.bar_units.set_text(frame.units)

    def colours(self, frame: Frame) -> tuple[np.ndarray, np.ndarray]:
        """Return the frame's image (float32, NaN missing or outside; rows from the south) and the RGBA
        colours (uint8) of the map's pixels: the colour map over the style's range (values beyond it the
        colour bar's end colours), missing values grey, outside the domain white."""
        colormap = self._colormaps[frame.style.colormap].with_extremes(bad=MISSING_COLOUR)
        vmin, vmax = frame.style.vmin, frame.style.vmax
        image = self.geometry.image(frame.values)
        rgba = colormap((image - np.float32(vmin)) / np.float32(vmax - vmin), bytes=True)  # NaN: bad
        outside = ~self.geometry.inside()
        if self.geometry.kind != "cells":
            rgba, outside = rgba[self.grid_rows][:, self.grid_columns], outside[self.grid_rows][:, self.grid_columns]
        rgba[outside] = (np.array(self._colors.to_rgba(OUTSIDE_COLOUR)) * 255).astype(np.uint8)
        return image, rgba

    def draw(self, frame: Frame, path: str | os.PathLike) -> dict:
        """Draw ``frame`` and write it to ``path`` (PNG, atomically); return its record with the image's
        statistics added (``min``, ``max``, ``missing`` fraction of the domain's pixels)."""
        from PIL import Image

        from nwpflow.io.writer import atomic_output

        image, rgba = self.colours(frame)
        self.canvas.restore_region(self.background)
        pixels = np.asarray(self.canvas.buffer_rgba())
        pixels[self.rows, self.columns] = rgba[::-1]
        self._colour_bar(pixels, frame)
        self.title.set_text(frame.title)
        self.subtitle.set_text(frame.subtitle)
        for artist in self.dynamic:
            self.figure.draw_artist(artist)
        path = Path(path)
        with atomic_output(path) as temporary:
            Image.fromarray(pixels[..., :3]).save(temporary, format="png", **PNG_OPTIONS)
        inside = self.geometry.inside()
        values = image[inside & np.isfinite(image)]
        record = dict(frame.record)
        record.update(
            colormap=frame.style.colormap, range=[frame.style.vmin, frame.style.vmax], range_source=frame.style.source,
            units=frame.units, min=float(values.min()) if values.size else None,
            max=float(values.max()) if values.size else None,
            missing=float(1.0 - values.size / max(int(inside.sum()), 1)),
        )
        return record


__all__ = ["DPI", "Frame", "MARGINS", "QuicklookCanvas"]
