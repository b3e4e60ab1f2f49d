"""A normalized company name taken apart: stem, region, legal form, branch parent.

The normalizer rightly keeps ``上海华信科技有限公司``, ``华信（上海）科技有限公司``,
``华信科技股份有限公司`` and ``华信科技有限公司北京分公司`` apart: they may be different legal
entities. A reviewer, though, wants to see them side by side. These functions reduce a
*normalized* name (full-width brackets, upper case, no blanks) to the pieces a comparison
should weigh separately:

* ``parent`` — for a branch (``…有限公司北京分公司``, ``…银行股份有限公司深圳分行``) the name
  of the company it belongs to, else ``""``;
* ``region`` — a place name in brackets inside the name or at its start (``上海``);
* ``form`` — the legal-form suffix (``股份有限公司``, ``有限公司``, ``集团``…);
* ``stem`` — what is left: brand and trade (``华信科技``), the part that names the company.

Vectorized with pyarrow's regular-expression kernels, so a million aliases take about a
second; one name is just a list of one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

__all__ = ["BRANCH_SUFFIXES", "LEGAL_FORMS", "REGIONS", "NameParts", "split_names"]

#: Legal-form suffixes, longest first (a regular expression alternation takes the first).
LEGAL_FORMS: Final[tuple[str, ...]] = (
    "集团股份有限公司",
    "集团有限责任公司",
    "股份有限公司",
    "集团有限公司",
    "有限责任公司",
    "有限公司",
    "股份公司",
    "集团公司",
    "总公司",
    "公司",
    "集团",
)
#: What ends a branch name after its parent and place: ``…有限公司北京分公司``.
BRANCH_SUFFIXES: Final[tuple[str, ...]] = (
    "分公司",
    "分行",
    "支行",
    "分店",
    "办事处",
    "营业部",
    "分厂",
    "分部",
)
#: Provinces and large cities: the places names carry in front or in brackets.
REGIONS: Final[tuple[str, ...]] = (
    "北京", "上海", "天津", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江",
    "安徽", "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州",
    "云南", "陕西", "甘肃", "青海", "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港",
    "澳门", "广州", "深圳", "杭州", "宁波", "温州", "南京", "苏州", "无锡", "常州", "南通",
    "武汉", "成都", "西安", "长沙", "郑州", "青岛", "济南", "烟台", "厦门", "福州", "泉州",
    "合肥", "南昌", "昆明", "贵阳", "沈阳", "大连", "哈尔滨", "长春", "石家庄", "太原",
    "南宁", "海口", "兰州", "西宁", "银川", "乌鲁木齐", "呼和浩特", "拉萨", "珠海", "佛山",
    "东莞", "中山", "惠州", "绍兴", "嘉兴", "金华", "台州", "徐州", "扬州", "唐山", "保定",
)  # fmt: skip

_FORM_ALT = "|".join(LEGAL_FORMS)
# The place between parent and suffix holds no "公": that makes the lazy parent stretch
# over "股份有限公司" instead of stopping at "银行".
_BRANCH_RE: Final = (
    f"^(?P<parent>.+?(?:{_FORM_ALT}|银行))(?P<place>[^（）公]{{0,10}}?)"
    f"(?P<kind>{'|'.join(BRANCH_SUFFIXES)})$"
)
_BRANCH_END_RE: Final = f"(?:{'|'.join(BRANCH_SUFFIXES)})$"
_BRACKET_REGION_RE: Final = f"（(?P<region>{'|'.join(REGIONS)})(?:省|市)?）"
_BRACKETS_RE: Final = "（[^（）]*）"
#: Shortest stem left after a region or a legal form is taken off.
_MIN_STEM = 2

_Strings = npt.NDArray[np.object_]


@dataclass(frozen=True, kw_only=True, slots=True)
class NameParts:
    """Parallel arrays (``str`` objects, ``""`` where a part is absent), one slot per name;
    ``stems`` is the ``stem`` column as a pyarrow array, for vectorized blocking."""

    name: _Strings
    stem: _Strings
    region: _Strings
    form: _Strings
    parent: _Strings
    stems: pa.Array

    def __len__(self) -> int:
        return len(self.name)


def _objects(array: pa.Array) -> _Strings:
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype=object)


def _on_matching(
    text: pa.Array, mask: pa.Array, pattern: str, fields: tuple[str, ...]
) -> dict[str, _Strings]:
    """``extract_regex`` on the rows where ``mask`` holds (most rows need none): each field
    as a full-length array, ``""`` where the mask or the pattern did not match."""
    rows = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
    out = {name: np.full(len(text), "", dtype=object) for name in fields}
    if len(rows):
        matches = pc.extract_regex(text.take(pa.array(rows)), pattern)
        for name in fields:
            out[name][rows] = _objects(pc.fill_null(pc.struct_field(matches, name), ""))
    return out


def _take_prefix(body: pa.Array, choices: tuple[str, ...]) -> tuple[pa.Array, pa.Array]:
    """(the leading ``choice`` of each row or ``""``, the rest): longest choice first, and
    only where at least two characters stay."""
    found = pa.nulls(len(body), pa.string())
    length = pc.utf8_length(body)
    for size in sorted({len(c) for c in choices}, reverse=True):
        prefix = pc.utf8_slice_codeunits(body, 0, size)
        hit = pc.and_(
            pc.and_(
                pc.is_null(found),
                pc.is_in(prefix, pa.array([c for c in choices if len(c) == size])),
            ),
            pc.greater_equal(length, size + _MIN_STEM),
        )
        found = pc.if_else(hit, prefix, found)
    found_length = pc.fill_null(pc.utf8_length(found), 0)
    rest = body
    for size in sorted(set(found_length.to_pylist()) - {0}):
        rest = pc.if_else(pc.equal(found_length, size), pc.utf8_slice_codeunits(rest, size), rest)
    return pc.fill_null(found, ""), rest


def _take_suffix(body: pa.Array, choices: tuple[str, ...]) -> tuple[pa.Array, pa.Array]:
    """(the trailing ``choice`` of each row or ``""``, the rest): first listed choice wins,
    only where at least two characters stay."""
    found = pa.nulls(len(body), pa.string())
    length = pc.utf8_length(body)
    for choice in choices:
        hit = pc.and_(
            pc.and_(pc.is_null(found), pc.ends_with(body, choice)),
            pc.greater_equal(length, len(choice) + _MIN_STEM),
        )
        found = pc.if_else(hit, choice, found)
    found_length = pc.fill_null(pc.utf8_length(found), 0)
    rest = body
    for size in sorted(set(found_length.to_pylist()) - {0}):
        rest = pc.if_else(
            pc.equal(found_length, size), pc.utf8_slice_codeunits(rest, 0, -size), rest
        )
    return pc.fill_null(found, ""), rest


_REGION_PREFIXES: Final = tuple(
    sorted({r + tail for r in REGIONS for tail in ("", "省", "市")}, key=len, reverse=True)
)


def split_names(names: Sequence[str] | pa.Array) -> NameParts:
    """Take normalized names apart (see the module docstring); ``""`` gives all-empty parts."""
    text = names if isinstance(names, pa.Array) else pa.array(list(names), type=pa.string())
    text = pc.fill_null(text, "")
    branch = _on_matching(
        text, pc.match_substring_regex(text, _BRANCH_END_RE), _BRANCH_RE, ("parent",)
    )
    parent = pa.array(branch["parent"], type=pa.string())
    # A branch is compared by its parent: the branch's place is not the company's region.
    body = pc.if_else(pc.equal(parent, ""), text, parent)
    bracketed = pc.match_substring(body, "（")
    bracket = pa.array(
        _on_matching(body, bracketed, _BRACKET_REGION_RE, ("region",))["region"],
        type=pa.string(),
    )
    body = pc.if_else(bracketed, pc.replace_substring_regex(body, _BRACKETS_RE, ""), body)
    leading, body = _take_prefix(body, _REGION_PREFIXES)
    leading = pc.replace_substring_regex(leading, "[省市]$", "")
    region = pc.if_else(pc.equal(bracket, ""), leading, bracket)
    form, body = _take_suffix(body, LEGAL_FORMS)
    return NameParts(
        name=np.asarray([n or "" for n in names], dtype=object)
        if isinstance(names, list)
        else _objects(text),
        stem=_objects(body),
        region=_objects(region),
        form=_objects(form),
        parent=branch["parent"],
        stems=body,
    )
