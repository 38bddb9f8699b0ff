"""Self-contained HTML pages: inline style, charts embedded as data: URIs, no script, no network.

The verdict is the first thing in the body; evidence links are relative paths to files of the report folder
or anchors on the page, so that the folder can be copied, archived or served as it is.
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:1.5rem auto;max-width:72rem;color:#212529;padding:0 1rem}
.verdict{font-size:1.7rem;font-weight:700;padding:.6rem 1rem;border-radius:.4rem;margin:0 0 1rem}
.good{background:#d3f9d8;color:#2b8a3e}.bad{background:#ffe3e3;color:#c92a2a}.warn{background:#fff3bf;color:#e67700}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.2rem}th,td{border:1px solid #dee2e6;padding:.3rem .5rem;
text-align:left;vertical-align:top;overflow-wrap:break-word}th{background:#f1f3f5}code{font-size:12px;overflow-wrap:anywhere}img{max-width:100%;border:1px solid #dee2e6}
.s-PASS,.s-pass,.s-faster{color:#2b8a3e;font-weight:600}.s-FAIL,.s-fail,.s-error,.s-ERROR,.s-slower,.s-UNREACHABLE,
.s-unreachable{color:#c92a2a;font-weight:600}.s-SKIPPED,.s-skip,.s-noisy,.s-SIMULATED,.s-simulated{color:#e67700;
font-weight:600}.s-NOT-RUN,.s-missing,.s-MISSING{color:#862e9c;font-weight:600}small{color:#495057}
"""


def e(text: object) -> str:
    return escape(str(text), quote=True)


def status_class(status: str) -> str:
    return "s-" + status.replace(" ", "-")


def data_uri(png: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")


def page(title: str, verdict: str, verdict_class: str, body: str) -> str:
    """A whole page; verdict first, then body (already escaped HTML)."""
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{e(title)}</title>"
            f"<link rel=\"icon\" href=\"data:,\"><style>{STYLE}</style></head>\n<body>\n"
            f"<p class=\"verdict {verdict_class}\" id=\"verdict\">{e(verdict)}</p>\n"
            f"<h1>{e(title)}</h1>\n{body}\n</body></html>\n")


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A table from already-escaped cells."""
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def md_cell(text: object) -> str:
    """Markdown table cell: no pipes or newlines."""
    return str(text).replace("|", "\\|").replace("\n", " ")
