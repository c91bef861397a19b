"""docs/decisions: every decision record has its own number, a Status and a Date line under its
title, and a line in the index of docs/decisions/README.md with the same title and status."""

from __future__ import annotations

import datetime
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RECORDS = ROOT / "docs" / "decisions"
INDEX = RECORDS / "README.md"
TEMPLATE = RECORDS / "template.md"

FILE_NAME = re.compile(r"^(\d{4})-[a-z0-9]+(?:-[a-z0-9]+)*\.md$")
TITLE = re.compile(r"^# (\d{4}): (\S.*)$")
DAY = r"\d{4}-\d{2}-\d{2}"
STATUS = re.compile(
    rf"^Status: (proposed|accepted|rejected|deprecated|superseded by \d{{4}}"
    rf"|accepted; amended {DAY}(?:, {DAY})*)$"
)
DATE = re.compile(rf"^Date: ({DAY})$")
ISSUE = re.compile(r"^Issue: \d+(?: \(.+\))?$")
INDEX_ROW = re.compile(rf"^\| \[(\d{{4}})\]\(([^)]+)\) \| (.+?) \| (.+?) \| ({DAY}) \|$")


@dataclass(frozen=True)
class Record:
    """One decision record's header, as read from its file."""

    number: str
    file: str
    title: str
    status: str
    date: str

    def index_row(self) -> str:
        return f"| [{self.number}]({self.file}) | {self.title} | {self.status} | {self.date} |"


def record_files(directory: Path = RECORDS) -> list[Path]:
    """The decision records: every file whose name starts with a number."""
    return sorted(p for p in directory.glob("*.md") if p.name[:1].isdigit())


def read_header(path: Path) -> Record:
    """The record's number, title, status and date; fails naming the first malformed line.

    The form: `# NNNN: Title`, a blank line, `Status: ...`, `Date: YYYY-MM-DD`, an optional
    `Issue: N (...)`, and a blank line before the body."""
    name = FILE_NAME.match(path.name)
    assert name, f"{path.name}: a record's file is named NNNN-words-with-dashes.md"
    lines = path.read_text(encoding="utf-8").splitlines() + [""] * 6
    title = TITLE.match(lines[0])
    assert title, f"{path.name}: first line {lines[0]!r} is not '# NNNN: Title'"
    assert title.group(1) == name.group(1), (
        f"{path.name}: title number {title.group(1)} is not the file's number {name.group(1)}"
    )
    assert lines[1] == "", f"{path.name}: a blank line goes between the title and Status"
    status = STATUS.match(lines[2])
    assert status, f"{path.name}: line 3 {lines[2]!r} is not a 'Status: ...' line"
    date = DATE.match(lines[3])
    assert date, f"{path.name}: line 4 {lines[3]!r} is not 'Date: YYYY-MM-DD'"
    datetime.date.fromisoformat(date.group(1))
    after = 5 if lines[4].startswith("Issue:") else 4
    if after == 5:
        assert ISSUE.match(lines[4]), f"{path.name}: line 5 {lines[4]!r} is not 'Issue: N (...)'"
    assert lines[after] == "", f"{path.name}: a blank line goes after the header lines"
    return Record(name.group(1), path.name, title.group(2), status.group(1), date.group(1))


def index_rows(text: str) -> list[Record]:
    """The records the README's index lists, in its order."""
    rows = []
    for line in text.splitlines():
        row = INDEX_ROW.match(line)
        if row:
            rows.append(Record(*row.groups()))
    return rows


def test_every_file_in_the_folder_is_a_record_the_readme_or_the_template() -> None:
    others = {"README.md", "template.md"}
    stray = [
        p.name for p in RECORDS.iterdir() if p.name not in others and not FILE_NAME.match(p.name)
    ]
    assert stray == [], f"not named NNNN-words.md: {stray}"


def test_no_two_records_share_a_number() -> None:
    numbers = Counter(p.name.split("-")[0] for p in record_files())
    shared = {number: count for number, count in numbers.items() if count > 1}
    assert shared == {}, f"numbers used by more than one record: {shared}"


@pytest.mark.parametrize("path", record_files(), ids=lambda p: p.name[:4])
def test_record_header(path: Path) -> None:
    read_header(path)


def test_the_index_lists_every_record_with_its_title_status_and_date() -> None:
    records = [read_header(p) for p in record_files()]
    rows = index_rows(INDEX.read_text(encoding="utf-8"))
    missing = [r.index_row() for r in records if r not in rows]
    assert missing == [], "index lines missing or out of date in docs/decisions/README.md:\n" + (
        "\n".join(missing)
    )
    stale = [r.index_row() for r in rows if r not in records]
    assert stale == [], "index lines for no record:\n" + "\n".join(stale)
    assert [r.number for r in rows] == sorted(r.number for r in records), (
        "the index lists each record once, in number order"
    )


def test_the_template_has_the_header_and_the_sections() -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == "# NNNN: Title"
    assert lines[2].startswith("Status: ") and lines[3].startswith("Date: ")
    sections = [line for line in lines if line.startswith("## ")]
    assert sections == [
        "## Context",
        "## Decision",
        "## Consequences",
        "## Alternatives considered",
    ]
