"""Quicklook maps: one PNG per field and level, drawn on a figure built once per job and reused.

A :class:`QuicklookCanvas` holds a matplotlib figure (Agg, no pyplot) laid out in whole pixels: the map
takes exactly ``width`` x ``height`` pixels (:class:`~nwpflow.plots.grid.MapGeometry`), so that each pixel
of the image is one pixel of the PNG; coastlines, borders, the graticule, the colour bar and the legend of
missing values are drawn once. Each frame then only replaces the image, the colour map and range, and
the titles before it is saved (about 0.1 s a frame, measured in ``docs/benchmarks.md``).

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
PNG_OPTIONS = {"compress_level": 3}
"""Pillow's zlib level for the PNGs: 3 writes a quicklook ~2x faster than the default 6 and ~5 % larger."""


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
        from matplotlib.cm import ScalarMappable
        from matplotlib.figure import Figure
        from matplotlib.patches import Patch

        self.geometry = geometry
        self._colormaps = matplotlib.colormaps
        self._colors = colors
        w, h = geometry.width, geometry.height
        total_w = w + MARGINS["left"] + MARGINS["right"]
        total_h = h + MARGINS["bottom"] + MARGINS["top"]
        self.figure = Figure(figsize=(total_w / DPI, total_h / DPI), dpi=DPI, facecolor="white")
        FigureCanvasAgg(self.figure)
        axes = self.figure.add_axes([MARGINS["left"] / total_w, MARGINS["bottom"] / total_h, w / total_w, h / total_h])
        self.axes = axes
        x0, x1, y0, y1 = geometry.extent
        self.image = axes.imshow(np.zeros((2, 2, 4), dtype=np.uint8), extent=geometry.extent, origin="lower",
                                 interpolation="nearest", aspect="auto", zorder=1)
        axes.set_facecolor(OUTSIDE_COLOUR)
        if len(geometry.coast):
            axes.plot(geometry.coast[:, 0], geometry.coast[:, 1], color="black", linewidth=0.6, zorder=3)
        if len(geometry.borders):
            axes.plot(geometry.borders[:, 0], geometry.borders[:, 1], color="black", linewidth=0.7,
                      linestyle=(0, (4, 2)), zorder=3)
        if len(geometry.graticule):
            axes.plot(geometry.graticule[:, 0], geometry.graticule[:, 1], color="0.35", linewidth=0.35,
                      linestyle=":", zorder=2)
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
        self.mappable = ScalarMappable(norm=colors.Normalize(0.0, 1.0), cmap="viridis")
        bar_axes = self.figure.add_axes([(MARGINS["left"] + w + 14) / total_w, (MARGINS["bottom"] + 34) / total_h,
                                         14 / total_w, (h - 34) / total_h])
        self.colorbar = self.figure.colorbar(self.mappable, cax=bar_axes, extend="both")
        self.colorbar.ax.tick_params(labelsize=7)
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

    def colours(self, frame: Frame) -> tuple[np.ndarray, np.ndarray]:
        """Return the frame's image (float32, NaN missing or outside) and its RGBA colours (uint8)."""
        colormap = self._colormaps[frame.style.colormap].with_extremes(bad=MISSING_COLOUR)
        norm = self._colors.Normalize(frame.style.vmin, frame.style.vmax)
        image = self.geometry.image(frame.values)
        rgba = colormap(norm(np.ma.masked_invalid(image)), bytes=True)
        rgba[~self.geometry.inside()] = 0  # transparent: the axes' background
        return image, rgba

    def draw(self, frame: Frame, path: str | os.PathLike) -> dict:
        """Draw ``frame`` and write it to ``path`` (PNG, atomically); return its record with the image's
        statistics added (``min``, ``max``, ``missing`` fraction of the domain's pixels)."""
        from nwpflow.io.writer import atomic_output

        image, rgba = self.colours(frame)
        self.image.set_data(rgba)
        self.mappable.set_cmap(self._colormaps[frame.style.colormap])
        self.mappable.set_norm(self._colors.Normalize(frame.style.vmin, frame.style.vmax))
        self.colorbar.update_normal(self.mappable)
        self.colorbar.set_label(frame.units, fontsize=8)
        self.title.set_text(frame.title)
        self.subtitle.set_text(frame.subtitle)
        path = Path(path)
        with atomic_output(path) as temporary:
            with open(temporary, "wb") as f:
                self.figure.savefig(f, format="png", dpi=DPI, pil_kwargs=PNG_OPTIONS)
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
