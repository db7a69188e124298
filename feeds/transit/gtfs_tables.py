"""Reading GTFS text tables from a zip archive or a folder, and typed field parsers."""

from __future__ import annotations

import csv
import io
import math
import zipfile
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

import orjson


class GtfsError(ValueError):
    """The feed as a whole is unusable: not a feed, or a required file or column is missing."""


class RowError(ValueError):
    """One row broke the GTFS reference; it is rejected alone and the rest goes through."""


class FeedFiles:
    """The text files of one GTFS feed, from a zip archive or a folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if path.is_dir():
            self._names = {p.name for p in path.iterdir() if p.is_file()}
            self._zip: zipfile.ZipFile | None = None
        elif path.is_file():
            try:
                self._zip = zipfile.ZipFile(path)
            except zipfile.BadZipFile as err:
                raise GtfsError(f"{path} is neither a folder nor a zip archive") from err
            self._names = set(self._zip.namelist())
        else:
            raise GtfsError(f"{path} does not exist")

    def __enter__(self) -> FeedFiles:
        return self

    def __exit__(self, *_: object) -> None:
        if self._zip is not None:
            self._zip.close()

    def has(self, name: str) -> bool:
        """Whether the feed holds the named file."""
        return name in self._names

    def _text(self, name: str) -> str:
        if name not in self._names:
            raise GtfsError(f"{name} is missing from {self.path}")
        data = self._zip.read(name) if self._zip else (self.path / name).read_bytes()
        try:
            # utf-8-sig: many agencies' exports start with a byte-order mark.
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise GtfsError(f"{name} is not UTF-8 text: {err}") from err

    def rows(self, name: str, required: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
        """Yield (line number, row) of a table after checking its required columns."""
        reader = csv.reader(io.StringIO(self._text(name), newline=""))
        header = [column.strip() for column in next(reader, [])]
        missing = [column for column in required if column not in header]
        if missing:
            raise GtfsError(f"{name} has no column {', '.join(map(repr, missing))} "
                            f"(its columns: {', '.join(header) or 'none'})")
        for values in reader:
            if not any(value.strip() for value in values):
                continue  # blank lines, often a trailing one, are not records
            line = reader.line_num
            yield line, {col: val.strip() for col, val in zip(header, values, strict=False)}


def raw_row(name: str, line: int, row: dict[str, str]) -> str:
    """The dead-letter form of a rejected row: file, line and the row by column name."""
    return orjson.dumps({"file": name, "line": line, "row": row}).decode()


def text(row: dict[str, str], column: str) -> str:
    """A required, non-empty text field."""
    value = row.get(column, "")
    if not value:
        raise RowError(f"{column} is empty")
    return value


def optional(row: dict[str, str], column: str) -> str | None:
    """An optional text field, None when empty."""
    return row.get(column) or None


def integer(row: dict[str, str], column: str, low: int, high: int, default: int | None = None
            ) -> int:
    """An integer field within [low, high]; empty gives the default, or an error without one."""
    value = row.get(column, "")
    if not value:
        if default is None:
            raise RowError(f"{column} is empty")
        return default
    try:
        number = int(value)
    except ValueError as err:
        raise RowError(f"{column} {value!r} is not an integer") from err
    if not low <= number <= high:
        raise RowError(f"{column}={number} is outside [{low}, {high}]")
    return number


def optional_integer(row: dict[str, str], column: str, low: int, high: int) -> int | None:
    """An optional integer field within [low, high]."""
    return integer(row, column, low, high) if row.get(column) else None


def number(row: dict[str, str], column: str, low: float, high: float) -> float:
    """A finite decimal field within [low, high]."""
    value = row.get(column, "")
    try:
        result = float(value)
    except ValueError as err:
        raise RowError(f"{column} {value!r} is not a number") from err
    if not math.isfinite(result) or not low <= result <= high:
        raise RowError(f"{column}={value} is outside [{low}, {high}]")
    return result


def optional_number(row: dict[str, str], column: str, low: float, high: float) -> float | None:
    """An optional finite decimal field within [low, high]."""
    return number(row, column, low, high) if row.get(column) else None


def gtfs_time(row: dict[str, str], column: str) -> int | None:
    """Seconds after the service day's start of an H:MM:SS field (hours may pass 24)."""
    value = row.get(column, "")
    if not value:
        return None
    parts = value.split(":")
    if len(parts) != 3 or not all(p.isdigit() for p in parts) or len(parts[1]) != 2 \
            or len(parts[2]) != 2 or int(parts[1]) > 59 or int(parts[2]) > 59:
        raise RowError(f"{column} {value!r} is not a GTFS time (H:MM:SS)")
    return int(parts[0]) * 3600 + int(parts[1]) * 60 + int(parts[2])


def gtfs_date(row: dict[str, str], column: str) -> date:
    """A YYYYMMDD date field."""
    value = row.get(column, "")
    try:
        if len(value) != 8 or not value.isdigit():
            raise ValueError(value)
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError as err:
        raise RowError(f"{column} {value!r} is not a GTFS date (YYYYMMDD)") from err
