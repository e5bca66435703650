"""Pure: a report document as plain text (aligned columns)."""

from receiver.reports.document import Document, Table


def _table(table: Table) -> list[str]:
    widths = [
        max(len(cell) for cell in column) for column in zip(table.header, *table.rows, strict=True)
    ]
    lines = []
    for row in (table.header, *table.rows):
        lines.append(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    lines.insert(1, "  ".join("-" * width for width in widths))
    return ["  " + line for line in lines]


def render_text(document: Document) -> str:
    lines = [document.title, "=" * len(document.title), document.subtitle, ""]
    for section in document.sections:
        lines += [section.title, "-" * len(section.title)]
        width = max((len(label) for label, _ in section.facts), default=0)
        lines += [f"  {label + ':':<{width + 1}} {value}" for label, value in section.facts]
        if section.table is not None and section.table.rows:
            lines += _table(section.table)
        elif section.empty:
            lines.append(f"  {section.empty}")
        lines += [f"  ({section.source})", ""]
    return "\n".join(lines)
