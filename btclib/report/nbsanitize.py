"""The nbconvert preprocessor that makes executed outputs printable, for the report's PDF.

A thin nbconvert shell around :mod:`btclib.report.nbexport`'s text helpers, kept apart so that those
import without nbconvert: this module is the only one that needs it at import time.
``notebooks/nbconvert_config.py`` names it
(``btclib.report.nbsanitize.SanitizeOutputsPreprocessor``).
"""

from __future__ import annotations

from typing import Any

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from .nbexport import clean_source, sanitize_outputs, saved_widget_state

__all__ = ["SanitizeOutputsPreprocessor"]


class SanitizeOutputsPreprocessor(Preprocessor):
    """Make executed outputs safe and readable for LaTeX (and HTML) export.

    Enabled by default; ``notebooks/nbconvert_config.py`` inserts it right after
    ``ExecutePreprocessor`` so it sees the fresh outputs before any other step.
    """

    enabled = Bool(True, help="Sanitize outputs before export.").tag(config=True)
    keep_ansi_colors = Bool(
        False,
        help=(
            "Keep ANSI colour sequences. Off by default: nbconvert renders them as \\textcolor"
            " groups, inside which fvextra cannot break a line (a long coloured line would be"
            " cut), and IPython's 256-colour tracebacks abort xelatex under breakanywhere."
        ),
    ).tag(config=True)
    static_widgets = Bool(
        True,
        help="Replace widget views by their final state as text (a static export runs no widget).",
    ).tag(config=True)
    drop_svg_when_png = Bool(
        True, help="Drop image/svg+xml when image/png is also present (SVG needs inkscape)."
    ).tag(config=True)

    def preprocess(self, nb: Any, resources: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        self._widget_state = saved_widget_state(nb)
        return super().preprocess(nb, resources)

    def preprocess_cell(
        self, cell: Any, resources: dict[str, Any], index: int
    ) -> tuple[Any, dict[str, Any]]:
        kind = cell.get("cell_type")
        if kind not in ("markdown", "raw", "code"):
            return cell, resources
        cell.source = clean_source(cell.source)
        if kind == "code":
            cell.outputs = sanitize_outputs(
                list(cell.get("outputs", [])),
                widget_state=getattr(self, "_widget_state", {}),
                keep_ansi_colors=self.keep_ansi_colors,
                static_widgets=self.static_widgets,
                drop_svg_when_png=self.drop_svg_when_png,
            )
        return cell, resources
