"""How a report table's width is shared among its columns.

The report lays tables out at a fixed width (every column reaches the page). Equal shares give a
model's name a column as narrow as a count's, and each row of a wide table then stands several lines
tall. Here a column gets what its widest printed cell needs on one line: a number never wraps, a
text cell may, past TEXT_CELL_CAP characters; and at least its header's longest word (a header
wraps between words).
"""
from __future__ import annotations

import copy
import math
import re
from html import unescape as html_unescape

TEXT_CELL_CAP = 22
CELL_PADDING = 2      # characters' worth of a cell's padding and rule
# A number as either language prints it, with an uncertainty or a unit after it: it never wraps.
_NUMBER = re.compile(r"^[−+-]?[\d\s.,]+(\s*±\s*[\d\s.,]+)?(\s*[%s]|\s*nats)?$")


def column_shares(columns: list[str], rows: list[list[str]]) -> list[float]:
    """Each column's percentage of the table's width (they add up to 100), from the printed texts."""
    def longest_word(text: str) -> int:
        return max((len(word) for word in text.split()), default=1)

    needs = []
    for j, header in enumerate(columns):
        need = longest_word(header)
        for row in rows:
            text = row[j].strip() if j < len(row) else ""
            need = max(need, len(text) if _NUMBER.match(text) else min(len(text), TEXT_CELL_CAP))
        needs.append(need + CELL_PADDING)
    total = sum(needs)
    return [round(100.0 * need / total, 2) for need in needs]


_HTML_TABLE = re.compile(r"<table>(.*?)</table>", re.S)
_HTML_ROW = re.compile(r"<tr>(.*?)</tr>", re.S)
_HTML_CELL = re.compile(r"<t[hd][^>]*>(.*?)</t[hd]>", re.S)
_HTML_TAG = re.compile(r"<[^>]+>")


def share_table_columns(html: str) -> str:
    """The Markdown tables of an answer, each with a <colgroup> sharing its width as column_shares does."""
    def with_shares(match: re.Match) -> str:
        rows = [[html_unescape(_HTML_TAG.sub("", cell)) for cell in _HTML_CELL.findall(row)]
                for row in _HTML_ROW.findall(match.group(1))]
        if not rows or not rows[0]:
            return match.group(0)
        cols = "".join(f'<col style="width: {w}%">' for w in column_shares(rows[0], rows[1:]))
        return f"<table><colgroup>{cols}</colgroup>{match.group(1)}</table>"

    return _HTML_TABLE.sub(with_shares, html)


MAX_COLUMNS = 12  # more and an A4 column gets ~4 % of the width: its header breaks mid-word


def table_parts(table) -> list:
    """A table as printed: itself, or, past MAX_COLUMNS, stacked parts that each repeat its first
    column (the row's name), so no header breaks mid-word ("−ELB O", "Entro-pía")."""
    columns, rows = list(table.columns), [list(r) for r in table.rows]
    if len(columns) <= MAX_COLUMNS:
        return [table]
    rest = list(range(1, len(columns)))
    per = math.ceil(len(rest) / math.ceil(len(rest) / (MAX_COLUMNS - 1)))  # parts of about equal width
    parts = []
    for start in range(0, len(rest), per):
        keep = [0] + rest[start:start + per]
        part = copy.copy(table)
        part.columns = [columns[j] for j in keep]
        part.rows = [[row[j] if j < len(row) else "" for j in keep] for row in rows]
        parts.append(part)
    return parts
