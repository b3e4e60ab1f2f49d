"""The strict YAML loader of the override files, apart so that PyYAML loads when one is read.

``SafeLoader`` (``safe_load``'s loader) minus aliases (no "billion laughs" expansion), minus
implicit typing (an unquoted ``0012`` stays ``"0012"``, ``no`` stays ``"no"``, ids never
become floats), and with duplicate keys refused. Every problem is a ``ValueError`` naming
the file and, where PyYAML knows it, the line and column.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

__all__ = ["parse"]

_NULL_TAG = "tag:yaml.org,2002:null"


def parse(path: Path, text: str) -> Any:
    """The document of ``text``, read from ``path`` (named in every error)."""
    try:
        return yaml.load(text, Loader=_OverridesLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ValueError(f"{path}: invalid YAML{where}: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: invalid YAML ({type(exc).__name__})") from None
    except RecursionError:  # PyYAML composes nested collections recursively
        raise ValueError(f"{path}: invalid YAML: nested too deeply") from None


class _OverridesLoader(yaml.SafeLoader):
    """``SafeLoader`` without aliases, without implicit typing, refusing duplicate keys."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    if key_node.value in seen:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"duplicate key {key_node.value!r}", key_node.start_mark
                        )
                    seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


# Only "null" stays implicit: every other plain scalar (numbers, yes/no, dates) is a string.
_OverridesLoader.yaml_implicit_resolvers = {
    first: kept
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    if (kept := [(tag, pattern) for tag, pattern in resolvers if tag == _NULL_TAG])
}
