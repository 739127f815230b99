"""Hash a file and pick its text encoding in one pass; open it as text marking undecodable bytes.

Encoding rules: a byte-order mark decides (UTF-8, UTF-16, UTF-32). Otherwise a file that decodes as UTF-8 is
UTF-8. A file with invalid UTF-8 stays UTF-8 when at least as many of its non-ASCII lines are valid UTF-8 as
not (the invalid lines are corrupt and become record errors); otherwise it is in a legacy encoding
chosen by charset-normalizer, preferring cp1252 (then Latin-1) whenever it finds them plausible: short
samples are ambiguous between the single-byte code pages, and business exports are overwhelmingly cp1252.
Bytes the chosen encoding cannot decode are kept as lone surrogates U+DC00+byte so the reader can report the
line with its raw bytes instead of guessing.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from charset_normalizer import from_bytes

__all__ = ["FileScan", "has_undecodable", "open_text", "render_raw", "scan_file"]

logger = logging.getLogger(__name__)

_CHUNK = 1 << 20
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_WESTERN = ("cp1252", "latin_1")
_DETECTION_SAMPLE = 1 << 18
_ERRORS = "autonomos-mark-undecodable"
_UNDECODABLE = re.compile("[\udc00-\udcff]")


def _mark_undecodable(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    return "".join(chr(0xDC00 + b) for b in bad), error.end


codecs.register_error(_ERRORS, _mark_undecodable)


@dataclass(frozen=True)
class FileScan:
    """What a pass over a file learned: content hash, encoding, whether it should decode cleanly, emptiness.

    `clean` is false only for UTF-8 files known to hold invalid bytes (corrupt lines to report one by one).
    """

    sha256: str
    encoding: str
    clean: bool
    empty: bool


def _bom_encoding(head: bytes) -> str | None:
    return next((enc for bom, enc in _BOMS if head.startswith(bom)), None)


def _non_utf8_encoding(path: Path) -> str:
    """Decide between corrupt UTF-8 and a legacy encoding from the file's non-ASCII lines."""
    valid = invalid = 0
    sample = bytearray()
    with path.open("rb") as handle:
        for line in handle:
            if line.isascii():
                continue
            if len(sample) < _DETECTION_SAMPLE:
                sample += line
            try:
                line.decode("utf-8")
                valid += 1
            except UnicodeDecodeError:
                invalid += 1
    if valid >= invalid:
        return "utf-8"
    matches = from_bytes(bytes(sample))
    plausible = [match.encoding for match in matches]
    best = matches.best()
    preferred = next((enc for enc in _WESTERN if enc in plausible), None)
    encoding = preferred or (best.encoding if best is not None else "cp1252")
    logger.info("file is not UTF-8; detected legacy encoding", extra={"file": path.name, "encoding": encoding})
    return encoding


def scan_file(path: Path) -> FileScan:
    """Hash the file and decide its encoding in one streaming pass (a second pass only for non-UTF-8 files)."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8_ok = True
    blank = True
    bom: str | None = None
    with path.open("rb") as handle:
        first = True
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            if first:
                bom = _bom_encoding(chunk)
                first = False
            if utf8_ok and bom in (None, "utf-8-sig"):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8_ok = False
            blank = blank and not chunk.lstrip(codecs.BOM_UTF8).strip()
    if utf8_ok and bom in (None, "utf-8-sig"):
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_ok = False
    if bom is not None:
        encoding = bom
    elif utf8_ok:
        encoding = "utf-8"
    else:
        encoding = _non_utf8_encoding(path)
    clean = utf8_ok or encoding != "utf-8"
    return FileScan(sha256=digest.hexdigest(), encoding=encoding, clean=clean, empty=blank)


def open_text(path: Path, encoding: str) -> IO[str]:
    """Open the file as text for csv/json parsing, keeping line endings and marking undecodable bytes."""
    return path.open(encoding=encoding, errors=_ERRORS, newline="")


def has_undecodable(text: str) -> bool:
    """Whether text holds bytes its encoding could not decode."""
    return _UNDECODABLE.search(text) is not None


def render_raw(text: str) -> str:
    """Text for quarantine: undecodable bytes spelled as \\xNN so the original bytes can be recovered."""
    return _UNDECODABLE.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", text)
