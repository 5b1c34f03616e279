"""Turns a transaction file (plain or gzip) into a checked UTF-8 text file on disk, streaming:
its real type is read from its first bytes, and the size and row caps are checked as it unpacks,
so a gzip bomb is refused within seconds in bounded memory. Touches no database."""

from __future__ import annotations

import hashlib
import os
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from labeler.errors import ImportRejected
from labeler.services.import_options import ImportLimits

CHUNK_BYTES = 1 << 20  # read and unpack a MiB at a time
BINARY_SNIFF_BYTES = 65536
MAX_LINE_BYTES = 16 << 20  # a row of thousands of columns is ~100 KB; longer is not a CSV row
UTF8_BOM = b"\xef\xbb\xbf"
GZIP_MAGIC = b"\x1f\x8b"
# Files people send by mistake, told apart by their first bytes.
OTHER_KINDS = (
    (b"PK\x03\x04", "a zip archive (an .xlsx workbook is one): unzip it, or save the sheet as CSV"),
    (b"BZh", "a bzip2 file: unpack it, or compress the CSV with gzip"),
    (b"\xfd7zXZ\x00", "an xz file: unpack it, or compress the CSV with gzip"),
    (b"\x28\xb5\x2f\xfd", "a zstandard file: unpack it, or compress the CSV with gzip"),
    (b"%PDF", "a PDF document, not a CSV file"),
    (b"\xd0\xcf\x11\xe0", "an Office document (an old .xls), not a CSV file: save it as CSV"),
)


@dataclass(frozen=True)
class UnpackedFile:
    text_path: Path  # UTF-8 text without BOM; removed when the `file_unpacked` block ends
    checksum: str  # sha256 of the file as given (compressed if it was)


def _size(count: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} bytes"


class _TextSink:
    """Receives unpacked bytes (within the caps, see `_capped`): checks binary content and
    UTF-8 line by line, writes."""

    def __init__(self, out, *, file_name: str):
        self.out = out
        self.file_name = file_name
        self.lines = 0  # complete lines seen
        self.pending = b""  # bytes after the last newline, checked once their line is complete
        self.started = False
        self.has_content = False

    def write(self, data: bytes) -> None:
        if not data:
            return
        if not self.started:
            data = self._first(data)
        if not self.has_content and data.strip():
            self.has_content = True
        cut = data.rfind(b"\n")
        if cut < 0:
            self.pending += data
            if len(self.pending) > MAX_LINE_BYTES:
                raise ImportRejected(
                    f"{self.file_name}, line {self.lines + 1}: longer than "
                    f"{_size(MAX_LINE_BYTES)} without a line break; this is not a CSV file."
                )
        else:
            self._complete(self.pending + data[: cut + 1])
            self.pending = data[cut + 1 :]
        self.out.write(data)

    def _first(self, data: bytes) -> bytes:
        self.started = True
        if data.startswith(UTF8_BOM):
            data = data[len(UTF8_BOM) :]
        if b"\x00" in data[:BINARY_SNIFF_BYTES]:
            raise ImportRejected(f"{self.file_name}: this is a binary file, not a CSV text file.")
        return data

    def _complete(self, lines: bytes) -> None:
        try:
            lines.decode("utf-8")
        except UnicodeDecodeError as error:
            line = self.lines + lines.count(b"\n", 0, error.start) + 1
            raise ImportRejected(
                f"{self.file_name}, line {line}: not UTF-8 text (byte "
                f"0x{lines[error.start]:02x}); save the file as UTF-8 CSV."
            ) from error
        self.lines += lines.count(b"\n")

    def close(self) -> None:
        if self.pending:
            self._complete(self.pending + b"\n")
            self.pending = b""
        if not self.has_content:
            raise ImportRejected(f"{self.file_name}: the file is empty.")


def _kind(head: bytes, file_name: str) -> str:
    """'gzip' or 'text' by the first bytes; anything else is refused, as is a name that says
    gzip on a file that is not."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    for magic, what in OTHER_KINDS:
        if head.startswith(magic):
            raise ImportRejected(f"{file_name}: this is {what}.")
    if file_name.lower().endswith((".gz", ".gzip")):
        raise ImportRejected(
            f"{file_name}: the name says gzip but the file is not gzip-compressed (it does not "
            "start with gzip's bytes 1f 8b); rename it to .csv if it is plain text, or compress "
            "it with gzip. Nothing was imported."
        )
    return "text"


def _chunks(source, hasher=None) -> Iterator[bytes]:
    for chunk in iter(lambda: source.read(CHUNK_BYTES), b""):
        if hasher is not None:
            hasher.update(chunk)
        yield chunk


def _inflated(chunks: Iterator[bytes], file_name: str) -> Iterator[bytes]:
    """Every gzip member's output, at most a chunk per piece (a 4 MB bomb would otherwise
    become GBs in one call)."""
    decompressor = zlib.decompressobj(wbits=31)
    fed = False  # whether the current member has received any input
    try:
        for chunk in chunks:
            data = chunk
            while True:
                fed = fed or bool(data)
                output = decompressor.decompress(data, CHUNK_BYTES)
                if output:
                    yield output
                data = decompressor.unconsumed_tail
                if decompressor.eof:
                    # Concatenated gzip members are one file, as `zcat` reads them.
                    data = decompressor.unused_data
                    decompressor = zlib.decompressobj(wbits=31)
                    fed = False
                if not data and len(output) < CHUNK_BYTES:
                    break
    except zlib.error as error:
        raise ImportRejected(f"{file_name}: not a readable gzip file ({error}).") from error
    if fed:
        raise ImportRejected(f"{file_name}: not a readable gzip file (it ends early).")


def _capped(pieces: Iterator[bytes], *, file_name: str, limits: ImportLimits) -> Iterator[bytes]:
    """The pieces, refused once they pass the size cap or the rows cap (the header is a line,
    rows are the lines after it; a last line without its line break counts too)."""
    text_bytes = lines = 0
    ends_a_line = True
    for piece in pieces:
        text_bytes += len(piece)
        lines += piece.count(b"\n")
        if text_bytes > limits.max_text_bytes:
            raise ImportRejected(_too_large(file_name, limits))
        if lines - 1 > limits.max_rows:
            raise ImportRejected(_too_many_rows(file_name, limits))
        if piece:
            ends_a_line = piece.endswith(b"\n")
        yield piece
    if not ends_a_line and lines > limits.max_rows:
        raise ImportRejected(_too_many_rows(file_name, limits))


def _too_large(file_name: str, limits: ImportLimits) -> str:
    return (
        f"{file_name}: the file unpacks to more than {_size(limits.max_text_bytes)} of text, "
        "the limit (IMPORT_MAX_TEXT_BYTES); nothing was imported. Raise IMPORT_MAX_TEXT_BYTES "
        "to import a larger file, or split it."
    )


def _too_many_rows(file_name: str, limits: ImportLimits) -> str:
    return (
        f"{file_name}: more than {limits.max_rows:,} rows, the limit (IMPORT_MAX_ROWS); "
        "nothing was imported. Raise IMPORT_MAX_ROWS to import a larger file, or split it."
    )


@contextmanager
def file_unpacked(
    path: str | Path, *, file_name: str, limits: ImportLimits
) -> Iterator[UnpackedFile]:
    """The checked text of the file at `path` in a temporary file, for the block's duration."""
    path = Path(path)
    try:
        source = path.open("rb")
    except OSError as error:
        raise ImportRejected(f"{file_name}: cannot read the file ({error.strerror}).") from error
    handle, text_name = tempfile.mkstemp(
        prefix="fraudloop-import-", suffix=".csv", dir=settings.FILE_UPLOAD_TEMP_DIR
    )
    text_path = Path(text_name)
    try:
        with source, os.fdopen(handle, "wb") as out:
            kind = _kind(source.read(8), file_name)
            source.seek(0)
            sink = _TextSink(out, file_name=file_name)
            hasher = hashlib.sha256()
            if kind == "gzip":
                # A first pass that only counts: a bomb is refused after unpacking up to the cap
                # in memory-sized pieces, before a byte of it is checked or written to disk.
                for _ in _capped(
                    _inflated(_chunks(source), file_name), file_name=file_name, limits=limits
                ):
                    pass
                source.seek(0)
                pieces = _inflated(_chunks(source, hasher), file_name)
            else:
                if path.stat().st_size > limits.max_text_bytes:  # refused before reading it
                    raise ImportRejected(_too_large(file_name, limits))
                pieces = _capped(_chunks(source, hasher), file_name=file_name, limits=limits)
            for piece in pieces:
                sink.write(piece)
            sink.close()
        yield UnpackedFile(text_path=text_path, checksum=hasher.hexdigest())
    finally:
        text_path.unlink(missing_ok=True)
