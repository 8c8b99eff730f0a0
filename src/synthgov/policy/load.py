"""Reading and writing policy files, with errors that name the line and the field.

The YAML is composed into PyYAML nodes first, so every mapping key and list item keeps its
line; a schema error's path (``rules → 1 → destinations → allow → 0``) is then mapped back
to the line it came from. Duplicate keys, which YAML loaders usually keep silently, are an
error. A loaded policy remembers the sha256 of its bytes (``policy_sha256``); every decision
records it.

>>> text = '''
... version: 1
... name: tiny
... classifications:
...   - {id: "public:open", description: "open data"}
... screening: {max_list_age_days: 30}
... rules:
...   - class: "public:open"
...     destinations: {allow: ["*"], deny: [XX]}
... '''
>>> try:
...     parse_policy(text, source="tiny.yaml")
... except PolicyError as err:
...     print(err.message); print(err.details["line"], err.details["field"])
tiny.yaml, line 9, field rules[0].destinations.deny[0]: unknown country code or group 'XX' (use ISO 3166-1 alpha-2 or a name under groups)
9 rules[0].destinations.deny[0]
"""

from __future__ import annotations

import hashlib
import os
import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .._atomic import atomic_write_text
from ..errors import PolicyError
from .schema import Policy

__all__ = ["LoadedPolicy", "load_policy", "parse_policy", "dump_policy", "example_policy_path", "example_list_path",
           "policy_sha256"]


class LoadedPolicy:
    """A validated :class:`Policy` with the sha256 of the bytes it was read from and where they came from."""

    __slots__ = ("policy", "sha256", "source")

    def __init__(self, policy: Policy, *, sha256: str, source: str):
        self.policy = policy
        self.sha256 = sha256
        self.source = source

    def __repr__(self) -> str:
        return f"LoadedPolicy(name={self.policy.name!r}, sha256={self.sha256[:12]}..., source={self.source!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LoadedPolicy) and (self.policy, self.sha256) == (other.policy, other.sha256)

    __hash__ = None  # type: ignore[assignment]


class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false, so the country code NO (Norway) stays text."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _first in "tTfF":
    _Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), [_first])


def policy_sha256(data: bytes | str) -> str:
    """The sha256 (hex) of a policy file's bytes (text is encoded as UTF-8)."""
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def _field(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def _fail(source: str, line: int | None, field: str, message: str, *, code: str = "SG-POLICY-MALFORMED") -> PolicyError:
    where = f"{source}, line {line}, field {field}" if line else f"{source}, field {field}"
    return PolicyError(f"{where}: {message}", hint="fix the policy file; docs/sharing.md describes the format",
                       details={"code": code, "file": source, "line": line, "field": field})


def _check_duplicates(node: yaml.Node, source: str, path: tuple = ()) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set = set()
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else repr(key)
            if name in seen:
                raise _fail(source, key.start_mark.line + 1, _field((*path, name)), "duplicate key")
            seen.add(name)
            _check_duplicates(value, source, (*path, name))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _check_duplicates(item, source, (*path, i))


def _line_of(root: yaml.Node | None, path: tuple) -> int | None:
    """The 1-based line of the deepest node on ``path`` (a missing key reports its parent's line)."""
    node, line = root, (root.start_mark.line + 1 if root is not None else None)
    for part in path:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    node, line = value, key.start_mark.line + 1
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _clean_loc(loc: tuple, data: Any) -> tuple:
    """Drop pydantic's union/validator tags from an error location, keeping only real keys and indices."""
    out: list = []
    cursor = data
    for part in loc:
        if isinstance(cursor, dict) and part in cursor:
            out.append(part)
            cursor = cursor[part]
        elif isinstance(cursor, list) and isinstance(part, int) and 0 <= part < len(cursor):
            out.append(part)
            cursor = cursor[part]
        elif isinstance(cursor, dict) and isinstance(part, str) and not part.startswith(("function-", "literal[")):
            out.append(part)  # a missing or unknown key: name it, its line is the parent's
            cursor = None
        elif cursor is None:
            break
    return tuple(out)


def parse_policy(text: str | bytes, *, source: str = "<policy>") -> LoadedPolicy:
    """Validate policy YAML; raise :class:`PolicyError` naming the line and field of the first problem."""
    raw = text if isinstance(text, bytes) else text.encode("utf-8")
    try:
        decoded = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _fail(source, None, "(document)", "the policy file is not UTF-8 text") from None
    try:
        root = yaml.compose(decoded, Loader=_Loader)
        data = yaml.load(decoded, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise _fail(source, line, "(syntax)", f"not valid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise _fail(source, None, "(syntax)", f"not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise _fail(source, 1, "(document)", "a policy is a YAML mapping with version, name, classifications, screening and rules")
    _check_duplicates(root, source)
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        ctx = error.get("ctx") or {}
        path = tuple(ctx["path"]) if "path" in ctx else _clean_loc(tuple(error["loc"]), data)
        message = ctx.get("message") or error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field (check its spelling; docs/sharing.md lists the fields)"
        elif error["type"] == "missing":
            message = "required field is missing"
        elif error["type"] == "string_pattern_mismatch":
            message = (f"{error['input']!r} is not a valid name here: use letters, digits and - _ . : "
                       "(class ids are lower-case, e.g. personal:health or dual-use:geospatial)")
        elif error["type"] != "value_error" and "input" in error and not isinstance(error["input"], (dict, list)):
            message = f"{message} (got {error['input']!r})"
        raise _fail(source, _line_of(root, path), _field(path), message) from None
    return LoadedPolicy(policy, sha256=policy_sha256(raw), source=source)


def load_policy(path: str | os.PathLike) -> LoadedPolicy:
    """Read and validate a policy file (a missing file is a :class:`PolicyError` too)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PolicyError(f"cannot read policy {str(path)!r}: {exc.strerror or exc}",
                          hint="give the path of a policy YAML file; without a policy nothing is shared",
                          details={"code": "SG-POLICY-MISSING", "file": str(path)}) from None
    return parse_policy(raw, source=str(path))


def dump_policy(policy: Policy | LoadedPolicy, path: str | os.PathLike | None = None) -> str:
    """The policy as YAML (fields at their defaults left out); written atomically to ``path`` if given."""
    model = policy.policy if isinstance(policy, LoadedPolicy) else policy
    data = model.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    data = {"version": model.version, **data}
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)
    if path is not None:
        atomic_write_text(path, text)
    return text


def example_policy_path() -> Path:
    """Where the bundled EXAMPLE policy lives (a file inside the installed package)."""
    return Path(str(resources.files(__package__).joinpath("examples/example-policy.yaml")))


def example_list_path() -> Path:
    """Where the bundled FICTITIOUS denied-party list lives."""
    return Path(str(resources.files(__package__).joinpath("examples/fictitious-denied-parties.csv")))
