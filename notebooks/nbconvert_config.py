# nbconvert configuration for the btclib report, used by `make report`:
#   jupyter nbconvert --config notebooks/nbconvert_config.py --execute --to pdf ...
# and by `python -m btclib.report.nbexport` (its caller passes --config notebooks/nbconvert_config.py).
#
# - PDF (LaTeX) uses the template notebooks/templates/btclib (long lines wrap everywhere:
#   code, outputs, tracebacks, URLs; DejaVu Sans Mono for box-drawing and check-mark glyphs).
# - HTML uses notebooks/templates/btclib_html (CSS pre-wrap, for the Chromium route).
# - btclib.report.nbsanitize.SanitizeOutputsPreprocessor runs right after execution (control chars,
#   \r progress lines, text fallbacks for HTML-only and widget outputs).
# - Every cell has a time limit (nbconvert's default is none): BTCLIB_CELL_TIMEOUT, 600 s.
import os

from nbconvert.exporters.exporter import Exporter

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

HERE = os.path.dirname(os.path.abspath(__file__))

c.TemplateExporter.extra_template_basedirs = [os.path.join(HERE, "templates")]
c.LatexExporter.template_name = "btclib"  # PDFExporter is a LatexExporter
c.HTMLExporter.template_name = "btclib_html"
# Long output lines cut into visual lines (so a page may break inside them) and their marks.
c.TemplateExporter.filters = {
    "btclib_visual_lines": "btclib.report.nbexport.visual_lines",
    "btclib_marks": "btclib.report.nbexport.continuation_marks",
}

_defaults = list(Exporter.class_traits()["default_preprocessors"].default())
_sanitize = "btclib.report.nbsanitize.SanitizeOutputsPreprocessor"
if _sanitize not in _defaults:
    _defaults.insert(_defaults.index("nbconvert.preprocessors.ExecutePreprocessor") + 1, _sanitize)
c.Exporter.default_preprocessors = _defaults
c.SanitizeOutputsPreprocessor.enabled = True

c.ExecutePreprocessor.timeout = int(os.environ.get("BTCLIB_CELL_TIMEOUT", "600"))
c.ExecutePreprocessor.kernel_name = os.environ.get("BTCLIB_KERNEL", "python3")
# ipykernel warns once per notebook that it "is running over TCP without encryption": true of
# every local kernel (its ports are bound to 127.0.0.1) and noise in make report's output. Its
# log level is raised to ERROR for the report's kernels only. (IPC transport would avoid the
# warning but the kernel then did not answer nbclient within its 60 s start-up limit here.)
c.ExecutePreprocessor.extra_arguments = ["--IPKernelApp.log_level=ERROR"]

# Two xelatex passes are enough (no bibliography, no cross-references; the second pass settles
# hyperref's page labels); nbconvert's default of three costs ~2 s more per notebook.
c.PDFExporter.latex_count = 2
