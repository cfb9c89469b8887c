"""HTML pieces of the model card: the stylesheet, escaping, tables and embedded plots."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from modelyard.errors import TrainingError
from modelyard.evaluation._card_sections import Table

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CSS = """
body{font:15px/1.5 system-ui,sans-serif;color:#1f2328;margin:0;background:#f6f8fa}
main{max-width:980px;margin:0 auto;padding:24px 32px;background:#fff}
h1{font-size:1.6em;margin:0 0 4px}h2{border-bottom:1px solid #d0d7de;padding-bottom:4px}
.meta{color:#59636e;margin:0 0 16px}
table{border-collapse:collapse;margin:8px 0 16px;font-size:.92em}
th,td{border:1px solid #d0d7de;padding:4px 10px;text-align:left;vertical-align:top}
th{background:#f6f8fa}tr.pass td:first-child{border-left:4px solid #1a7f37}
tr.fail td:first-child{border-left:4px solid #cf222e}
figure{display:inline-block;margin:8px}figure img{max-width:440px;border:1px solid #d0d7de}
figcaption{text-align:center;color:#59636e}
""".strip()


def escape(text: str) -> str:
    """Return ``text`` safe to put in HTML text and in quoted attribute values."""
    return html.escape(text, quote=True)


def html_table(table: Table) -> str:
    """Return ``table`` as an HTML table; rows marked pass or fail get that class."""
    head = "".join(f"<th>{escape(cell)}</th>" for cell in table.headers)
    rows = []
    for index, cells in enumerate(table.rows):
        status = table.row_status[index] if index < len(table.row_status) else ""
        attribute = f' class="{escape(status)}"' if status else ""
        cells_html = "".join(f"<td>{escape(cell)}</td>" for cell in cells)
        rows.append(f"<tr{attribute}>{cells_html}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def html_figure(plot: Path) -> str:
    """Return ``plot`` as a figure with the PNG embedded as a data URI.

    Raises:
        TrainingError: The file cannot be read or is not a PNG.
    """
    try:
        data = plot.read_bytes()
    except OSError as exc:
        raise TrainingError(
            f"Cannot read plot {str(plot)!r} for the model card: {exc.strerror or exc}. "
            "Write it with write_plots first, or leave it out of ModelCard.plots."
        ) from exc
    if not data.startswith(PNG_MAGIC):
        raise TrainingError(
            f"Plot {str(plot)!r} is not a PNG file. The HTML card embeds PNGs only; "
            "write it with write_plots or save it as PNG."
        )
    uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    caption = escape(plot.stem.replace("_", " "))
    return f'<figure><img src="{uri}" alt="{caption}"><figcaption>{caption}</figcaption></figure>'
