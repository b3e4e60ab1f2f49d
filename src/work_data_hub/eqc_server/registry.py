"""A deterministic, generated company registry for the local EQC-compatible server.

Names are built the way Chinese company names are: region + brand + industry + enterprise
form (``上海华信科技有限公司``), sometimes with the region in brackets after the brand
(``华信(上海)科技有限公司``). Each company has an 18-character unified social credit code
with valid check characters (GB 32100-2015), a numeric EQC id, and some have former
names and branch offices. Every syllable carries its pinyin, so the registry can answer
pinyin searches and homophone spellings (``华新`` for ``华信``) as a weaker match.

The same ``seed`` and ``size`` always give the same registry, so tests and demos can pick
known names (:attr:`Registry.companies`, :meth:`Registry.lookup_name`).
"""

from __future__ import annotations

import bisect
import functools
import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from work_data_hub.eqc_server._vocabulary import (
    BRAND_CHARS,
    CAPITALS,
    FORM_WEIGHTS,
    FORMS,
    GIVEN,
    HOMOPHONES,
    INDUSTRIES,
    LABELS,
    REGIONS,
    STATUSES,
    SURNAMES,
)

__all__ = [
    "DEFAULT_REGISTRY_SIZE",
    "DEFAULT_SEED",
    "MATCH_EXACT",
    "MATCH_FUZZY",
    "MATCH_PINYIN",
    "Company",
    "Registry",
    "build_registry",
    "credit_code_check_char",
    "fold_name",
    "pinyin_of",
]

DEFAULT_REGISTRY_SIZE = 12_000
DEFAULT_SEED = 20240601
DEFAULT_SEARCH_LIMIT = 10
#: Shortest key (in characters) that is searched for inside full names.
MIN_CONTAINS_LENGTH = 4
#: Only this many leading characters of a key are scanned for full names inside it.
MAX_KEY_SCAN_LENGTH = 120

MATCH_EXACT = "全称精确匹配"
MATCH_FUZZY = "模糊匹配"
MATCH_PINYIN = "拼音"

_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def fold_name(text: str) -> str:
    """Comparison form of a name: NFKC, upper case, no blanks (``（`` and ``(`` agree)."""
    return "".join(unicodedata.normalize("NFKC", text).upper().split())


def credit_code_check_char(first17: str) -> str:
    """The 18th character of a unified social credit code (GB 32100-2015)."""
    total = sum(_CODE_ALPHABET.index(ch) * w for ch, w in zip(first17, _CODE_WEIGHTS, strict=True))
    return _CODE_ALPHABET[(31 - total % 31) % 31]


def _org_code(rng: random.Random) -> str:
    body = "".join(rng.choices(_CODE_ALPHABET, k=8))
    total = sum(_CODE_ALPHABET.index(ch) * w for ch, w in zip(body, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return body + ("X" if check == 10 else "0" if check == 11 else str(check))


@dataclass(frozen=True, kw_only=True)
class Company:
    """One registry entry; ``detail``/``labels`` answers are built from these fields."""

    company_id: str
    full_name: str
    unite_code: str
    pinyin: str
    region: str
    industry: str
    former_names: tuple[str, ...] = ()
    branch_names: tuple[str, ...] = ()
    legal_person: str = ""
    registered_capital: str = ""
    status: str = "存续"
    established: str = ""
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Registry:
    """An immutable set of companies with the indexes search needs."""

    companies: tuple[Company, ...]
    seed: int
    _by_id: dict[str, Company] = field(repr=False)
    _by_name: dict[str, Company] = field(repr=False)
    _by_alias: dict[str, Company] = field(repr=False)
    _by_pinyin: dict[str, tuple[Company, ...]] = field(repr=False)
    _haystack: str = field(repr=False)
    _offsets: tuple[int, ...] = field(repr=False)
    _name_lengths: tuple[int, int] = field(repr=False)

    def __len__(self) -> int:
        return len(self.companies)

    def get(self, company_id: str) -> Company | None:
        """The company with ``company_id``, or ``None``."""
        return self._by_id.get(company_id)

    def lookup_name(self, name: str) -> Company | None:
        """The company whose current full name equals ``name`` (folded), or ``None``."""
        return self._by_name.get(fold_name(name))

    def homophone_variant(self, company: Company) -> str | None:
        """A different spelling of ``company``'s name that sounds the same, if one exists."""
        for position, ch in enumerate(company.full_name):
            replacement = HOMOPHONES.get(ch)
            if replacement is not None:
                name = company.full_name
                variant = name[:position] + replacement + name[position + 1 :]
                if fold_name(variant) not in self._by_name:
                    return variant
        return None

    def _names_containing(self, folded: str, limit: int) -> list[Company]:
        """Companies whose folded full name contains ``folded`` (one C-level scan)."""
        out: list[Company] = []
        position = self._haystack.find(folded)
        while position >= 0 and len(out) < limit:
            index = bisect.bisect_right(self._offsets, position) - 1
            out.append(self.companies[index])
            position = self._haystack.find(folded, self._offsets[index + 1])
        return out

    def _names_inside(self, folded: str) -> list[Company]:
        """Companies whose folded full name appears inside ``folded`` (longest first)."""
        out: list[Company] = []
        shortest, longest = self._name_lengths
        text = folded[:MAX_KEY_SCAN_LENGTH]
        for size in range(min(longest, len(text)), shortest - 1, -1):
            for start in range(len(text) - size + 1):
                company = self._by_name.get(text[start : start + size])
                if company is not None and company not in out:
                    out.append(company)
        return out

    def search(self, key: str, limit: int = DEFAULT_SEARCH_LIMIT) -> list[tuple[Company, str]]:
        """Companies matching ``key`` with their match type, best first; ``[]`` when none.

        Exact full name → ``全称精确匹配``; a former or branch name, or a key contained in
        a full name (or containing one) → ``模糊匹配``; same pinyin → ``拼音``.
        """
        folded = fold_name(key)
        if not folded:
            return []
        found: dict[str, tuple[Company, str]] = {}

        def add(company: Company, match_type: str) -> None:
            if company.company_id not in found and len(found) < limit:
                found[company.company_id] = (company, match_type)

        exact = self._by_name.get(folded)
        if exact is not None:
            add(exact, MATCH_EXACT)
        alias = self._by_alias.get(folded)
        if alias is not None:
            add(alias, MATCH_FUZZY)
        if len(folded) >= MIN_CONTAINS_LENGTH and not folded.isascii():
            for company in self._names_containing(folded, limit):
                add(company, MATCH_FUZZY)
            for company in self._names_inside(folded):
                add(company, MATCH_FUZZY)
        spoken = pinyin_of(folded)
        if spoken:
            for company in self._by_pinyin.get(spoken, ()):
                add(company, MATCH_PINYIN)
        return list(found.values())


def _syllable_table() -> dict[str, str]:
    table: dict[str, str] = {}
    groups: Sequence[tuple[str, str]] = (
        *((name, py) for name, py, _ in REGIONS),
        *BRAND_CHARS,
        *((HOMOPHONES[ch], py) for ch, py in BRAND_CHARS),
        *INDUSTRIES,
        *FORMS,
        ("分公司", "fen gong si"),
    )
    for text, spoken in groups:
        for ch, syllable in zip(text, spoken.split(), strict=True):
            table.setdefault(ch, syllable)
    return table


_SYLLABLES = _syllable_table()


def pinyin_of(text: str) -> str | None:
    """Pinyin of ``text`` (letters only) if every CJK character is known, else ``None``."""
    out: list[str] = []
    for ch in fold_name(text):
        if ch.isascii():
            if ch.isalpha():
                out.append(ch.lower())
            continue
        syllable = _SYLLABLES.get(ch)
        if syllable is None:
            if unicodedata.category(ch).startswith("L"):
                return None
            continue
        out.append(syllable)
    return "".join(out) or None


def _make_name(rng: random.Random, index: int) -> tuple[str, str, str, str]:
    """(full name, region, brand, industry) for the ``index``-th company."""
    region = rng.choice(REGIONS)[0]
    brand = "".join(ch for ch, _ in rng.sample(BRAND_CHARS, 2))
    industry = rng.choice(INDUSTRIES)[0]
    form = rng.choices(FORMS, weights=FORM_WEIGHTS)[0][0]
    if index % 5 == 0:
        return f"{brand}({region}){industry}{form}", region, brand, industry
    return f"{region}{brand}{industry}{form}", region, brand, industry


def build_registry(size: int = DEFAULT_REGISTRY_SIZE, seed: int = DEFAULT_SEED) -> Registry:
    """Generate ``size`` companies from ``seed``; equal arguments give equal registries."""
    if size < 1:
        raise ValueError("size must be at least 1")
    return _build_registry_cached(size, seed)


@functools.lru_cache(maxsize=4)
def _build_registry_cached(size: int, seed: int) -> Registry:
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    taken: set[str] = set()
    codes: set[str] = set()
    ids: set[str] = set()
    companies: list[Company] = []
    divisions = {name: division for name, _py, division in REGIONS}
    while len(companies) < size:
        name, region, brand, industry = _make_name(rng, len(companies))
        # Generated names are already in folded form (CJK, ASCII brackets, no blanks).
        if name in taken:
            continue
        taken.add(name)
        former: list[str] = []
        if rng.random() < 0.3:
            for _ in range(rng.choice((1, 1, 2))):
                old_industry = rng.choice(INDUSTRIES)[0]
                old_form = rng.choice(FORMS)[0]
                old = f"{region}{brand}{old_industry}{old_form}"
                if old not in taken:
                    taken.add(old)
                    former.append(old)
        branches: list[str] = []
        if rng.random() < 0.2:
            for city, _py, _div in rng.sample(REGIONS, rng.choice((1, 2))):
                if city != region:
                    branch = f"{name}{city}分公司"
                    taken.add(branch)
                    branches.append(branch)
        while True:
            company_id = str(rng.randrange(10**9, 10**10))
            first17 = f"91{divisions[region]}{_org_code(rng)}"
            code = first17 + credit_code_check_char(first17)
            if company_id not in ids and code not in codes:
                break
        ids.add(company_id)
        codes.add(code)
        companies.append(
            Company(
                company_id=company_id,
                full_name=name,
                unite_code=code,
                pinyin=pinyin_of(name) or "",
                region=region,
                industry=industry,
                former_names=tuple(former),
                branch_names=tuple(branches),
                legal_person=rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, 2)),
                registered_capital=f"{rng.choice(CAPITALS)}万元人民币",
                status=rng.choice(STATUSES),
                established=f"{rng.randrange(1985, 2023)}-{rng.randrange(1, 13):02d}-"
                f"{rng.randrange(1, 29):02d}",
                labels=tuple(rng.sample(LABELS, rng.randrange(0, 4))),
            )
        )
    return _index(companies, seed)


def _index(companies: list[Company], seed: int) -> Registry:
    by_pinyin: dict[str, list[Company]] = {}
    by_alias: dict[str, Company] = {}
    for company in companies:
        by_pinyin.setdefault(company.pinyin, []).append(company)
        for alias in (*company.former_names, *company.branch_names):
            by_alias.setdefault(fold_name(alias), company)
    # All folded names in one string ("\n"-separated) so a contains-search is one scan;
    # offsets[i] is where company i starts (plus a final sentinel).
    folded_names = [fold_name(c.full_name) for c in companies]
    offsets = [0]
    for name in folded_names:
        offsets.append(offsets[-1] + len(name) + 1)
    haystack = "\n".join(folded_names) + "\n"
    lengths = [len(name) for name in folded_names]
    return Registry(
        companies=tuple(companies),
        seed=seed,
        _by_id={c.company_id: c for c in companies},
        _by_name=dict(zip(folded_names, companies, strict=True)),
        _by_alias=by_alias,
        _by_pinyin={key: tuple(value) for key, value in by_pinyin.items()},
        _haystack=haystack,
        _offsets=tuple(offsets),
        _name_lengths=(min(lengths), max(lengths)),
    )
