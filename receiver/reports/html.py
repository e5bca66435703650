"""Pure: a report document as an HTML e-mail. Every value is escaped here, in one place: nothing
from a payload (a version, a mode, a feature name, an explanation quoting them) can become markup."""

from html import escape

from receiver.reports.document import Document, Section, Table

_CELL = 'style="padding:2px 10px;border-bottom:1px solid #ddd;text-align:left"'


def _e(text: str) -> str:
    return escape(text, quote=True)


def _table(table: Table) -> str:
    head = "".join(f"<th {_CELL}>{_e(cell)}</th>" for cell in table.header)
    body = "".join(
        "<tr>" + "".join(f"<td {_CELL}>{_e(cell)}</td>" for cell in row) + "</tr>"
        for row in table.rows
    )
    return f'<table style="border-collapse:collapse"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _section(section: Section) -> str:
    parts = [f'<h2 style="font-size:16px;margin:18px 0 6px">{_e(section.title)}</h2>']
    if section.facts:
        rows = "".join(
            f"<tr><td {_CELL}>{_e(label)}</td><td {_CELL}><b>{_e(value)}</b></td></tr>"
            for label, value in section.facts
        )
        parts.append(f'<table style="border-collapse:collapse">{rows}</table>')
    if section.table is not None and section.table.rows:
        parts.append(_table(section.table))
    elif section.empty:
        parts.append(f"<p>{_e(section.empty)}</p>")
    parts.append(f'<p style="color:#666;font-size:12px">{_e(section.source)}</p>')
    return "".join(parts)


def render_html(document: Document) -> str:
    sections = "".join(_section(section) for section in document.sections)
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>{_e(document.title)}</title></head>"
        '<body style="font-family:sans-serif;font-size:14px;color:#222">'
        f'<h1 style="font-size:20px">{_e(document.title)}</h1><p>{_e(document.subtitle)}</p>'
        f"{sections}</body></html>"
    )
