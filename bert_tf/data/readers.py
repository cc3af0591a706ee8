"""File readers shared by the pipelines: CSV / TSV / JSONL rows, with 1-based line numbers.

Pure Python (the csv and json modules), so quoted fields spanning several lines,
odd encodings and malformed rows are handled before anything reaches tf.data.
Every problem with a file is a ``DataError`` whose message starts with ``path:line:``.
"""

from __future__ import annotations

import codecs
import csv
import glob
import json
import os
import sys
from collections.abc import Iterator

FILE_FORMATS = ("csv", "tsv", "jsonl")
_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


class DataError(ValueError):
    """A problem with an input file; the message names the file (and line when there is one)."""


def where(path: str, line: int | None = None) -> str:
    """``path:line`` (or ``path``) for error messages."""
    return f"{path}:{line}" if line is not None else str(path)


def expand_paths(paths) -> list[str]:
    """A path, a glob pattern, a comma-separated list, or a list of those -> sorted existing
    files."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [p for p in str(paths).split(",") if p.strip()]
    files: list[str] = []
    for pattern in paths:
        pattern = os.path.expanduser(str(pattern).strip())
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not matches:
            raise DataError(f"{pattern}: no file matches this pattern")
        for match in matches:
            if not os.path.isfile(match):
                raise DataError(f"{match}: no such file")
            files.append(match)
    if not files:
        raise DataError("no input files given")
    return files


def detect_file_format(path: str, file_format: str | None = None) -> str:
    """``file_format`` if given, else from the extension (.csv, .tsv/.tab, .jsonl/.ndjson/.json)."""
    if file_format:
        file_format = file_format.lower()
        if file_format not in FILE_FORMATS:
            raise DataError(
                f"{path}: unknown file format {file_format!r}; choose one of {FILE_FORMATS}"
            )
        return file_format
    ext = os.path.splitext(str(path).lower().removesuffix(".gz"))[1]
    if ext not in _EXTENSIONS:
        raise DataError(
            f"{path}: cannot tell the format from the extension {ext!r}; "
            f"pass file_format= one of {FILE_FORMATS}"
        )
    return _EXTENSIONS[ext]


def _lines(path: str, encoding: str) -> Iterator[str]:
    """Decoded physical lines (newline kept); a decoding error names the line it is on."""
    if not os.path.isfile(path):
        raise DataError(f"{path}: no such file")
    # utf-8-sig drops a byte-order mark (Excel writes one) and otherwise reads plain UTF-8.
    enc = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    try:
        decoder = codecs.getincrementaldecoder(enc)()
    except LookupError as e:
        raise DataError(f"{path}: unknown encoding {encoding!r}") from e
    with open(path, "rb") as f:
        for line, raw in enumerate(f, start=1):
            try:
                yield decoder.decode(raw)
            except UnicodeDecodeError as e:
                raise DataError(
                    f"{where(path, line)}: cannot decode the file as {encoding} ({e.reason}); "
                    f"pass encoding= (e.g. 'latin-1')"
                ) from e
        try:
            tail = decoder.decode(b"", final=True)
        except UnicodeDecodeError as e:
            raise DataError(
                f"{path}: the file ends inside a {encoding} character ({e.reason})"
            ) from e
        if tail:
            yield tail


def read_rows(
    path: str,
    file_format: str | None = None,
    encoding: str = "utf-8",
    header: bool = True,
    quotechar: str | None = "auto",
) -> Iterator[tuple[int, dict]]:
    """Yields ``(line, row)`` for each record; ``line`` is the 1-based line where the record starts.

    CSV: RFC 4180 quoting (fields with commas, quotes, newlines). TSV: no quoting by
    default, as GLUE / google-research/bert read it (pass ``quotechar='"'`` otherwise).
    Without a header the columns are named "0", "1", ... A record with a different number
    of fields than the header raises a DataError (it would shift the columns silently).
    JSONL: one object per line; blank lines are skipped.
    """
    file_format = detect_file_format(path, file_format)
    if file_format == "jsonl":
        yield from _read_jsonl(path, encoding)
    else:
        yield from _read_delimited(path, file_format, encoding, header, quotechar)


def _read_delimited(path, file_format, encoding, header, quotechar):
    if quotechar == "auto":
        quotechar = '"' if file_format == "csv" else None
    delimiter = "," if file_format == "csv" else "\t"
    kwargs = {"delimiter": delimiter, "strict": True}
    if quotechar is None:
        kwargs["quoting"] = csv.QUOTE_NONE
    else:
        kwargs["quotechar"] = quotechar
    old_limit = csv.field_size_limit()
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # long documents in one field
    try:
        reader = csv.reader(_lines(path, encoding), **kwargs)
        names = None
        while True:
            line = reader.line_num + 1
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as e:
                raise DataError(
                    f"{where(path, line)}: malformed {file_format.upper()} record ({e})"
                ) from e
            if not fields or fields == [""]:
                continue  # blank line
            if names is None:
                if header:
                    names = [name.strip() for name in fields]
                    if len(set(names)) != len(names):
                        raise DataError(
                            f"{where(path, line)}: duplicate column names in the header {names}"
                        )
                    continue
                names = [str(i) for i in range(len(fields))]
            if len(fields) != len(names):
                raise DataError(
                    f"{where(path, line)}: expected {len(names)} fields ({', '.join(names)}), "
                    f"found {len(fields)}"
                )
            yield line, dict(zip(names, fields))
    finally:
        csv.field_size_limit(old_limit)


def _read_jsonl(path, encoding):
    for line, text in enumerate(_lines(path, encoding), start=1):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as e:
            raise DataError(f"{where(path, line)}: invalid JSON ({e.msg})") from e
        if not isinstance(row, dict):
            raise DataError(
                f"{where(path, line)}: expected a JSON object, found {type(row).__name__}"
            )
        yield line, row


def read_text_lines(path: str, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """Yields ``(line, text)`` with the line ending removed (blank lines included)."""
    for line, text in enumerate(_lines(path, encoding), start=1):
        yield line, text.rstrip("\r\n")
