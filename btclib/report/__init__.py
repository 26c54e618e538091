"""The report: every notebook run and exported to PDF.

- :mod:`.build` (``python -m btclib report``: run each notebook, export it, what make report does);
- :mod:`.nbexport` (the PDF's text helpers and routes: LaTeX, or HTML printed by Chromium);
- :mod:`.nbsanitize` (the preprocessor that keeps terminal codes and widgets out of the PDF).
"""

__all__: list[str] = []
