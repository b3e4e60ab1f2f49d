"""Company-name normalization and temporary company IDs: the data contract.

``normalize_for_temp_id`` turns a raw company name into the key every tier shares: the
database cache is keyed by it, the enrichment queue deduplicates on it and temporary IDs
are hashed from it. Two names that normalize equal are one company everywhere, so the
function follows the contract's numbered steps literally, and changing its output is a data
migration, not a refactoring.

Why the rules are what they are:

* Names arrive from spreadsheets typed by people: full-width letters and brackets, stray
  spaces, zero-width characters and BOMs pasted from web pages, mixed case. NFKC plus full
  Unicode case mapping, and deleting every blank or invisible character, makes those
  variants one key. Control characters go too: PostgreSQL cannot store NUL in text.
* Annuity plans mark a record's status *in the name* (``中国平安-已转出``, ``(原)某公司``,
  a truncated ``某某有限公司(已转出``). Those markers are stripped, but only where a hyphen,
  dash or bracket delimits them, never from inside a name: ``原平市农业机械有限公司`` is a
  company in 原平市, not "former 平市". The same goes for business suffixes such as
  ``-养老`` or a product code ``-BSU280``; the code suffix is only removed after a Chinese
  name, so ``MERCEDES-BENZ`` and ``7-ELEVEN`` keep their hyphen.
* A trailing bracket group is usually a branch or group qualifier (``(集团)``, ``(深圳分行)``)
  and is dropped, unless it names the legal form (``(普通合伙)``), which tells different
  entities apart.
* Placeholders (``NULL``, ``N/A``, ``无``) and bare status markers carry no company and
  normalize to ``""``; the resolver leaves such rows unresolved rather than merging them
  under one shared ID.
* The output uses full-width brackets, the form Chinese registries print.

Everything here is pure: no I/O, no environment. The salt for temporary IDs is passed in by
the caller (it is a secret; it comes from settings and never reaches a log). pandas is
imported only by the Series helpers, when they run: the package re-exports this module, and
commands that never touch a frame (``wdh-enrich queue status``) start without it.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING, Final

from work_data_hub.infrastructure.enrichment import temp_ids
from work_data_hub.infrastructure.enrichment.temp_ids import (
    EMPTY_KEY,
    TEMP_ID_PATTERN,
    TEMP_ID_PREFIX,
    temp_id_for_key,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "EMPTY_KEY",
    "ENTERPRISE_TYPE_WORDS",
    "PLACEHOLDERS",
    "PROTECTED_NAMES",
    "STATUS_MARKERS",
    "TEMP_ID_PATTERN",
    "TEMP_ID_PREFIX",
    "generate_temp_company_id",
    "normalize_for_temp_id",
    "normalize_series",
    "temp_id_for_key",
    "temp_ids_for_series",
]

STATUS_MARKERS: Final[tuple[str, ...]] = (
    "企业年金计划",
    "已转移终止",
    "转移终止",
    "保留账户",
    "已转出",
    "待转出",
    "待转移",
    "已作废",
    "已终止",
    "未使用",
    "终止",
    "转出",
    "转移",
    "保留",
    "暂停",
    "注销",
    "清算",
    "解散",
    "吊销",
    "撤销",
    "停业",
    "歇业",
    "关闭",
    "迁出",
    "迁入",
    "变更",
    "合并",
    "分立",
    "破产",
    "重整",
    "托管",
    "接管",
    "整顿",
    "清盘",
    "退出",
    "终结",
    "结束",
    "完结",
    "作废",
    "存量",
    "本部",
    "集合",
    "原",
)
"""Status markers, stripped only where a hyphen, dash or bracket delimits them."""

ENTERPRISE_TYPE_WORDS: Final[tuple[str, ...]] = (
    "特殊普通合伙",
    "全民所有制",
    "集体所有制",
    "个体工商户",
    "普通合伙",
    "有限合伙",
    "有限公司",
    "个人独资",
    "股份合作",
)
"""A trailing bracket group containing one of these names the legal form and is kept."""

PLACEHOLDERS: Final[tuple[str, ...]] = (
    "null",
    "none",
    "nan",
    "n/a",
    "na",
    "空白",
    "无",
    "0",
    "-",
    "--",
    "---",
)
"""Values meaning "no name", compared case-insensitively."""

PROTECTED_NAMES: Final[tuple[str, ...]] = ("保留账户管理",)
"""Names returned as they are once cleaned, although they begin with a status marker."""


# Step 3's characters: str.isspace() or category Cc, Cf, Cs, for Unicode 14.0.0 (Python 3.11).
# Kept as ranges so importing the module does not scan every code point; a unit test checks
# the table against unicodedata, so a Unicode upgrade cannot change it silently.
_INVISIBLE_RANGES: Final[tuple[tuple[int, int], ...]] = (
    (0x0000, 0x0020),
    (0x007F, 0x00A0),
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x1680, 0x1680),
    (0x180E, 0x180E),
    (0x2000, 0x200F),
    (0x2028, 0x202F),
    (0x205F, 0x2064),
    (0x2066, 0x206F),
    (0x3000, 0x3000),
    (0xD800, 0xDFFF),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x13438),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
)
_QUOTES: Final = "「」『』\"'“”‘’〝〞"  # step 4
_DASHES: Final = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63"
_TRAILING_PUNCTUATION: Final = "-.。,、"
_SUBSIDIARIES: Final = "及下属子企业"
_FIXED_SUFFIXES: Final = ("-养老", "-福利", "(团托)")
_CJK_CLASS: Final = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"


def _char_class(ranges: tuple[tuple[int, int], ...]) -> str:
    return "".join(
        re.escape(chr(low)) if low == high else f"{re.escape(chr(low))}-{re.escape(chr(high))}"
        for low, high in ranges
    )


# Steps 3 and the quote half of step 4 are both pure deletions, so one pass does both.
_DELETE_RE: Final = re.compile(f"[{_char_class(_INVISIBLE_RANGES)}{re.escape(_QUOTES)}]+")
_DASH_RUN_RE: Final = re.compile(f"[-{_DASHES}]{{2,}}|[{_DASHES}]")
_HYPHEN_RUN_RE: Final = re.compile("--+")
_CJK_RE: Final = re.compile(f"[{_CJK_CLASS}]")
_QUOTE_RE: Final = re.compile(f"[{re.escape(_QUOTES)}]")
_DASH_CHECK_RE: Final = re.compile(f"[{_DASHES}]|--")
_STRIPPABLE_RE: Final = re.compile(
    f"[(\\-{_SUBSIDIARIES[0]}]|[{re.escape(_TRAILING_PUNCTUATION)}]\\Z"
)
# A character that gives steps 4, 7 or 10 something to do. Most real names contain none of
# them (nor a blank or invisible character) and take the fast path.
_SPECIAL_RE: Final = re.compile(
    f"[{re.escape(_QUOTES + _DASHES + _TRAILING_PUNCTUATION + _SUBSIDIARIES[0] + '()')}]"
)

_WIDE_TO_NARROW: Final = (("\uff08", "("), ("\uff09", ")"), ("\u3000", " "), ("\uff0d", "-"))
_MARKER_SET: Final[frozenset[str]] = frozenset(STATUS_MARKERS)
_EMPTY_RESULTS: Final[frozenset[str]] = frozenset(
    [p.casefold().upper() for p in PLACEHOLDERS] + list(STATUS_MARKERS)
)
_PROTECTED: Final[frozenset[str]] = frozenset(PROTECTED_NAMES)

# The rules of step 7 are written with str methods rather than regular expressions: markers
# contain neither a hyphen nor a bracket, so "the text after the last '-' or '('" is exactly
# what an anchored pattern would match, at a fraction of the cost on CJK text.


def _strip_round(text: str) -> str:
    """One round of step 7, rules a to h in order."""
    # a. leading "(…)" holding nothing or a status marker, with one hyphen after it
    if text.startswith("("):
        close = text.find(")")
        if close > 0 and (close == 1 or text[1:close] in _MARKER_SET):
            text = text[close + 2 :] if text.startswith("-", close + 1) else text[close + 1 :]
    # b. leading "M-"
    hyphen = text.find("-")
    if hyphen > 0 and text[:hyphen] in _MARKER_SET:
        text = text[hyphen + 1 :]
    # c. trailing "-M", "(M)" or unclosed "(M"
    if text.endswith(")"):
        start = text.rfind("(")
        if start >= 0 and text[start + 1 : -1] in _MARKER_SET:
            text = text[:start]
    else:
        start = max(text.rfind("-"), text.rfind("("))
        if start >= 0 and text[start + 1 :] in _MARKER_SET:
            text = text[:start]
    # d. every "及下属子企业"
    if _SUBSIDIARIES in text:
        text = text.replace(_SUBSIDIARIES, "")
    # e. trailing business suffix; a code suffix (ASCII letters and digits) only after CJK
    if text.endswith(_FIXED_SUFFIXES):
        text = text[: text.rfind("-" if text.endswith(_FIXED_SUFFIXES[:2]) else "(")]
    else:
        start = text.rfind("-")
        if start >= 0:
            code = text[start + 1 :]
            if code.isascii() and code.isalnum() and _CJK_RE.search(text, 0, start):
                text = text[:start]
    # f. trailing "(…)" (non-empty, no bracket inside) unless it names an enterprise type
    if text.endswith(")"):
        start = text.rfind("(")
        content = text[start + 1 : -1]
        if (
            start >= 0
            and content
            and ")" not in content
            and not any(word in content for word in ENTERPRISE_TYPE_WORDS)
        ):
            text = text[:start]
    # g. leading hyphens, trailing punctuation, one trailing "()"
    text = text.lstrip("-").rstrip(_TRAILING_PUNCTUATION)
    if text.endswith("()"):
        text = text[:-2]
    # h. runs of hyphens (a deletion in d can leave two side by side)
    if "--" in text:
        text = _HYPHEN_RUN_RE.sub("-", text)
    return text


def _nfkc(text: str) -> str:
    """``unicodedata.normalize("NFKC", text)``, faster on Chinese text with full-width marks.

    CPython's NFKC is quick for text that is already normalized and slow otherwise. The usual
    culprits in Chinese names are the full-width brackets and the ideographic space; replacing
    them first by their own compatibility decompositions cannot change the result (NFKC
    starts by decomposing every character that way) and often leaves nothing else to do.
    """
    if unicodedata.is_normalized("NFKC", text):
        return text
    for wide, narrow in _WIDE_TO_NARROW:
        if wide in text:
            text = text.replace(wide, narrow)
    return unicodedata.normalize("NFKC", text)


def _normalize_text(raw: str) -> str:
    # 2. NFKC, then full Unicode case mapping
    text = _nfkc(raw).casefold().upper()
    printable = text.isprintable()
    if printable and " " not in text and not _SPECIAL_RE.search(text):
        # Fast path: nothing for steps 3, 4, 7 and 10 to do (every step-3 character is
        # either non-printable or the space), so only 5/8 and 9 remain.
        if text in _EMPTY_RESULTS:
            return ""
        return unicodedata.normalize("NFKC", text)
    # 3 and 4. delete invisible characters and decorative quotes; unify and collapse dashes
    # (each substitution only where a cheap test says it has something to do)
    if not printable or " " in text or _QUOTE_RE.search(text):
        text = _DELETE_RE.sub("", text)
    if _DASH_CHECK_RE.search(text):
        text = _DASH_RUN_RE.sub("-", text)
    # 5. placeholders and bare markers
    if text in _EMPTY_RESULTS:
        return ""
    # 6. protected name
    if text in _PROTECTED:
        return text
    # 7. strip until nothing changes; every change shortens the text, so this ends. Text
    # without a bracket, hyphen, "及" or trailing punctuation gives a round nothing to do.
    while _STRIPPABLE_RE.search(text):
        stripped = _strip_round(text)
        if stripped == text:
            break
        text = stripped
    # 8. placeholders again
    if text in _EMPTY_RESULTS:
        return ""
    # 9. NFKC again, then 10. full-width brackets
    text = unicodedata.normalize("NFKC", text)
    if "(" in text:
        text = text.replace("(", "（")
    if ")" in text:
        text = text.replace(")", "）")
    return text


def normalize_for_temp_id(name: object) -> str:
    """Return the contract key for a raw company name; ``""`` when it names no company.

    Never raises: anything that is not a ``str`` (None, NaN, ``pd.NA``, numbers, bytes)
    gives ``""``. Idempotent, and insensitive to width, case, blanks and invisible characters.
    """
    if not isinstance(name, str):
        return ""
    # A str subclass could override methods the steps call; work on a plain copy.
    return _normalize_text(name if type(name) is str else str.__str__(name))


def generate_temp_company_id(name: object, salt: str) -> str:
    """Return the temporary company ID ``IN`` + 16 Base32 characters for ``name``.

    HMAC-SHA1 keyed with ``salt`` over the normalized name (``__empty__`` when that is
    empty), first 10 bytes, Base32 without padding. Never raises for any ``name``; a salt
    that is not a UTF-8-encodable ``str`` is caller misuse (``TypeError``/``ValueError``).
    """
    return temp_ids.temp_id_for_key(normalize_for_temp_id(name), salt)


def normalize_series(s: pd.Series) -> pd.Series:
    """``normalize_for_temp_id`` for every cell of ``s``, each distinct value computed once.

    Returns an object Series of ``str`` (``""`` where the name is empty or missing) with the
    same index and name as ``s``.
    """
    from work_data_hub.infrastructure.enrichment._series import map_distinct  # noqa: PLC0415

    return map_distinct(s, normalize_for_temp_id)


def temp_ids_for_series(s: pd.Series, salt: str) -> pd.Series:
    """Temporary ID for every cell of ``s``; ``None`` where the name normalizes to ``""``.

    Rows without a name get no ID on purpose: one shared "empty" ID would merge unrelated
    records. Each distinct value is normalized and hashed once; same index and name as ``s``.
    """
    from work_data_hub.infrastructure.enrichment._series import map_distinct  # noqa: PLC0415

    salt_bytes = temp_ids.salt_bytes(salt)

    def temp_id(value: object) -> str | None:
        key = normalize_for_temp_id(value)
        return temp_ids.temp_id_for_key_bytes(key, salt_bytes) if key else None

    return map_distinct(s, temp_id)
