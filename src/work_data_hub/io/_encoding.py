"""Which text encoding a CSV file is in — decided with certainty, or refused.

The whole file is decoded in blocks (decoding is fast next to parsing), so a stray byte at
the end cannot surface half-way through a long run:

* UTF-8, with or without byte-order mark, when every byte decodes;
* else GB18030 (a superset of GBK) when every byte decodes *and* the text is plausibly
  Chinese — unless the file was clearly UTF-8 before its first bad byte (one stray cp1252
  ``©`` in a UTF-8 file must not turn every name into GB18030 mojibake);
* else :class:`~work_data_hub.errors.InputError` naming the line and byte offset of the
  first bad byte and suggesting ``--encoding``.

A forced encoding (``--encoding``) is used as given; bytes it cannot decode become U+FFFD
and are counted, so the caller can warn.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa  # type: ignore[import-untyped]

from work_data_hub.errors import InputError

__all__ = ["TextEncoding", "detect_csv_encoding", "sniff_encoding"]

_BLOCK_BYTES = 1 << 20
#: Share of non-ASCII characters that must be CJK text or punctuation for GB18030.
_MIN_CJK_SHARE = 0.8
_CJK_TEXT = re.compile(
    "[\u00b7\u00d7\u2000-\u206f\u2460-\u24ff\u25a0-\u25ff\u3000-\u303f\u3400-\u4dbf"
    "\u4e00-\u9fff\uff00-\uffef]"
)


@dataclass(frozen=True, kw_only=True)
class TextEncoding:
    """How to decode a file: codec name, error mode, and bytes replaced (forced only)."""

    name: str
    errors: str = "strict"
    replaced: int = 0


@dataclass(frozen=True)
class _BadByte:
    offset: int
    line: int
    byte: int


def _first_bad_byte(path: Path, encoding: str, skip: int) -> tuple[_BadByte | None, bool]:
    """The first undecodable byte (or ``None``), and whether non-ASCII text came before it."""
    decoder = codecs.getincrementaldecoder(encoding)()
    consumed = skip
    lines = 1
    seen_non_ascii = False
    with path.open("rb") as handle:
        handle.seek(skip)
        while True:
            block = handle.read(_BLOCK_BYTES)
            pending = len(decoder.getstate()[0])
            try:
                text = decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                start = consumed - pending + exc.start
                local = max(0, start - consumed)
                prefix = block[:local]
                non_ascii = seen_non_ascii or any(b >= 0x80 for b in prefix)
                handle.seek(start)
                byte = handle.read(1)[0]
                return _BadByte(start, lines + prefix.count(b"\n"), byte), non_ascii
            if not block:
                return None, seen_non_ascii
            seen_non_ascii = seen_non_ascii or not text.isascii()
            lines += block.count(b"\n")
            consumed += len(block)


def _is_utf8(path: Path, skip: int) -> bool:
    """Whether every byte after ``skip`` decodes as UTF-8, checked by Arrow's validator.

    Several times faster than Python's decoder on a large file (no text is built); it
    accepts exactly what Python's strict UTF-8 decoder accepts. Only the answer is kept:
    a file it refuses goes through :func:`_first_bad_byte` to find the bad byte.
    """
    carry = b""
    with path.open("rb") as handle:
        handle.seek(skip)
        while block := handle.read(_BLOCK_BYTES):
            block = carry + block
            cut = _complete_prefix(block)
            carry = block[cut:]
            try:
                pa.array([block[:cut]], pa.binary()).cast(pa.string())
            except pa.ArrowInvalid:
                return False
    return not carry


def _complete_prefix(block: bytes) -> int:
    """Length of ``block`` without a multi-byte character cut off at its end."""
    for back in range(1, min(4, len(block)) + 1):
        byte = block[-back]
        if byte < 0x80:
            break
        if byte >= 0xC0:  # the lead byte of the last character
            width = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return len(block) - back if width > back else len(block)
    return len(block)


def _plausibly_chinese(path: Path) -> bool:
    decoder = codecs.getincrementaldecoder("gb18030")()
    cjk = non_ascii = 0
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK_BYTES):
            text = decoder.decode(block)
            non_ascii += len(text) - len(text.encode("ascii", "ignore"))
            cjk += len(text) - len(_CJK_TEXT.sub("", text))
    return non_ascii == 0 or cjk / non_ascii >= _MIN_CJK_SHARE


def _count_replaced(path: Path, encoding: str) -> int:
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    replaced = 0
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK_BYTES):
            replaced += decoder.decode(block).count("\ufffd")
        replaced += decoder.decode(b"", final=True).count("\ufffd")
    return replaced


def sniff_encoding(path: Path, forced: str | None = None) -> TextEncoding:
    """The encoding of ``path`` (see the module doc); ``forced`` skips the detection."""
    if forced is not None:
        try:
            name = codecs.lookup(forced).name
        except LookupError:
            raise InputError(f"unknown encoding {forced!r} (try utf-8 or gb18030)") from None
        with path.open("rb") as handle:
            if name == "utf-8" and handle.read(3) == codecs.BOM_UTF8:
                name = "utf-8-sig"
        return TextEncoding(name=name, errors="replace", replaced=_count_replaced(path, name))
    with path.open("rb") as handle:
        bom = handle.read(3) == codecs.BOM_UTF8
    utf8 = TextEncoding(name="utf-8-sig" if bom else "utf-8")
    if _is_utf8(path, 3 if bom else 0):
        return utf8
    bad, was_utf8 = _first_bad_byte(path, "utf-8", 3 if bom else 0)
    if bad is None:
        return utf8
    if not bom and not was_utf8:
        gb_bad, _ = _first_bad_byte(path, "gb18030", 0)
        if gb_bad is None and _plausibly_chinese(path):
            return TextEncoding(name="gb18030")
    raise InputError(
        f"{path.name} is not valid UTF-8 (byte 0x{bad.byte:02X} at line {bad.line}, "
        f"byte offset {bad.offset}) nor plausible GB18030/GBK text: pass --encoding to force "
        "one (--encoding utf-8 replaces bad bytes; or gb18030, cp1252 …)"
    )


def detect_csv_encoding(path: Path) -> str:
    """``utf-8-sig`` (BOM), ``utf-8`` or ``gb18030``, checked on the whole file."""
    return sniff_encoding(path).name
