"""Which text encoding a CSV file is in: UTF-8 with or without BOM, else GB18030 (GBK)."""

from __future__ import annotations

import codecs
from pathlib import Path

from work_data_hub.errors import InputError

__all__ = ["detect_csv_encoding"]

_ENCODING_PROBE_BYTES = 1 << 20


def _decodes(path: Path, encoding: str, skip: int) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with path.open("rb") as handle:
            handle.seek(skip)
            while block := handle.read(_ENCODING_PROBE_BYTES):
                decoder.decode(block)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_csv_encoding(path: Path) -> str:
    """``utf-8-sig`` (BOM), ``utf-8`` or ``gb18030`` (a superset of GBK), checked on the whole file.

    The whole file is decoded in blocks so that a stray byte at the end cannot surface
    half-way through a long run; decoding is fast next to parsing.
    """
    with path.open("rb") as handle:
        head = handle.read(3)
    if head == codecs.BOM_UTF8:
        if _decodes(path, "utf-8", 3):
            return "utf-8-sig"
    elif _decodes(path, "utf-8", 0):
        return "utf-8"
    if _decodes(path, "gb18030", 0):
        return "gb18030"
    raise InputError(f"{path.name} is neither UTF-8 nor GB18030/GBK text")
