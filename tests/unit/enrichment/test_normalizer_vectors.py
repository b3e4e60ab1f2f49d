"""The contract vectors: every raw name gives the agreed normalized key and temporary ID.

The vectors are kept in ``tests/data`` so the suite runs from a bare clone; when the shared
specification folder sits beside the repository, a test checks the copy is still current.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from work_data_hub.infrastructure.enrichment.normalizer import (
    generate_temp_company_id,
    normalize_for_temp_id,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
VECTORS = REPO_ROOT / "tests" / "data" / "normalization_vectors.jsonl"
SHARED_VECTORS = REPO_ROOT.parent / "shared" / "data" / "normalization_vectors.jsonl"
SALT = "compass-golden-salt"

# What each line of the vector file exercises, in file order (extra lines get a line number).
LABELS = [
    "inner-group-bracket-kept",
    "space-marker-then-group-bracket-stripped",
    "full-width-latin",
    "branch-bracket-stripped",
    "enterprise-type-bracket-kept",
    "latin-spaces-trailing-dot",
    "empty-string",
    "none",
    "integer",
    "full-width-code-suffix",
    "nfkc-parenthesized-ideograph",
    "sharp-s-lower",
    "sharp-s-capital",
    "code-suffix-after-case-mapping",
    "blanks-ideographic-space-tab",
    "zero-width-space",
    "byte-order-mark",
    "nul",
    "lone-surrogate",
    "em-dash-after-leading-marker",
    "double-em-dash-after-leading-marker",
    "minus-sign-before-trailing-marker",
    "apostrophe-and-accent",
    "dashes-only",
    "placeholder-nan",
    "placeholder-n-slash-a-mixed-case",
    "double-zero-is-a-name",
    "bare-marker-yuan",
    "bare-marker-reserved-account",
    "quoted-subsidiaries-phrase",
    "protected-name",
    "protected-name-with-marker",
    "protected-prefix-not-protected",
    "leading-bracket-marker",
    "leading-empty-brackets",
    "leading-region-bracket-kept",
    "leading-marker-hyphen",
    "yuan-inside-name-kept",
    "repeated-leading-markers",
    "stacked-trailing-markers",
    "stacked-trailing-markers-reversed",
    "unclosed-marker-bracket",
    "unclosed-plain-bracket-kept",
    "subsidiaries-suffix",
    "pension-suffix",
    "group-trust-suffix",
    "lower-case-code-suffix",
    "latin-hyphen-kept",
    "arabic-indic-digit-kept",
    "two-trailing-brackets",
    "enterprise-word-in-longer-bracket",
    "nested-brackets-kept",
    "dot-and-empty-brackets",
    "marker-then-full-stop",
    "leading-dashes",
    "placeholder-after-trailing-hyphen",
    "placeholder-after-marker-bracket",
    "marker-with-trailing-hyphen",
    "soft-hyphen-and-combining-accent",
    "leading-bracket-output-full-width",
]


def _load(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _cases() -> list[Any]:
    return [
        pytest.param(
            vector,
            id=f"{number:02d}-{LABELS[number - 1] if number <= len(LABELS) else 'vector'}",
        )
        for number, vector in enumerate(_load(VECTORS), start=1)
    ]


@pytest.mark.parametrize("vector", _cases())
def test_vector_normalizes_to_the_agreed_key(vector: dict[str, Any]) -> None:
    assert normalize_for_temp_id(vector["raw"]) == vector["normalized"]


@pytest.mark.parametrize("vector", _cases())
def test_vector_hashes_to_the_agreed_temp_id(vector: dict[str, Any]) -> None:
    assert generate_temp_company_id(vector["raw"], SALT) == vector["temp_id"]


def test_vector_copy_covers_the_spec_examples() -> None:
    assert len(_load(VECTORS)) >= len(LABELS)


@pytest.mark.skipif(not SHARED_VECTORS.is_file(), reason="shared specification not beside repo")
def test_vector_copy_matches_the_shared_specification() -> None:
    assert _load(VECTORS) == _load(SHARED_VECTORS)
