"""Typed dataclasses from YAML and ``--section.key=value`` overrides: the parsing behind the config.

``build(cls, values)`` checks nested values against a dataclass's type hints (unknown keys, wrong
types and ``Literal`` choices are errors naming the dotted key) and converts command-line strings;
``parse_overrides`` turns ``--train.lr=3e-5`` arguments into nested values; ``merge`` layers them.

Not here: the settings themselves (``config.py``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, Mapping, get_args, get_origin, get_type_hints

import yaml


class ConfigError(ValueError):
    """A config that cannot work, said in terms of the keys the user wrote."""


def _coerce(value: Any, hint: Any, key: str) -> Any:
    """Check ``value`` against a dataclass field's type hint, converting CLI strings where needed."""
    origin = get_origin(hint)
    args = get_args(hint)
    if value is None:
        if hint is type(None) or type(None) in args:
            return None
        raise ConfigError(f"{key} may not be null")
    if origin is Literal:
        if isinstance(value, bool):  # YAML reads a bare no/off/yes/on as a boolean
            value = next((w for w in (("yes", "on", "true") if value else ("no", "off", "false")) if w in args), value)
        if value not in args:
            raise ConfigError(f"{key} must be one of {list(args)}, got {value!r}")
        return value
    if args and type(None) in args:  # Optional[X] / X | None / unions with dict etc.
        last_error = None
        for alt in args:
            if alt is type(None):
                continue
            try:
                return _coerce(value, alt, key)
            except ConfigError as e:
                last_error = e
        raise last_error or ConfigError(f"{key}: bad value {value!r}")
    if dataclasses.is_dataclass(hint):  # a section inside a list (data.sources)
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key} must be a mapping")
        return build(hint, value, key + ".")
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        raise ConfigError(f"{key} must be true or false, got {value!r}")
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ConfigError(f"{key} must be an integer, got {value!r}")
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"{key} must be an integer, got {value!r}") from None
    if hint is float:
        if isinstance(value, bool):
            raise ConfigError(f"{key} must be a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key} must be a number, got {value!r}") from None
    if hint is str:
        if isinstance(value, (dict, list)):
            raise ConfigError(f"{key} must be a string, got {value!r}")
        return str(value)
    if origin is list:
        if isinstance(value, str):
            value = [v for v in value.split(",") if v]
        if not isinstance(value, list):
            raise ConfigError(f"{key} must be a list, got {value!r}")
        return [_coerce(v, args[0], f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if isinstance(value, str):
            raise ConfigError(f"{key} must be a mapping")
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a mapping, got {value!r}")
        return {str(k): _coerce(v, args[1], key) for k, v in value.items()}
    raise ConfigError(f"{key}: unsupported type {hint}")


def build(cls: type, values: Mapping[str, Any], prefix: str = "", drop=None) -> Any:
    """``cls(**values)`` checked field by field against its type hints, sections recursively;
    ``drop(values, prefix)`` may first remove keys that are accepted but no longer used."""
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    if drop is not None:
        values = drop(values, prefix)
    unknown = set(values) - names
    if unknown:
        where = f" in section {prefix.rstrip('.')!r}" if prefix else ""
        raise ConfigError(f"unknown config key(s){where}: {', '.join(sorted(prefix + k for k in unknown))}")
    kwargs = {}
    for name, value in values.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{prefix}{name} must be a section (a mapping)")
            kwargs[name] = build(hint, value, f"{prefix}{name}.", drop)
        else:
            kwargs[name] = _coerce(value, hint, prefix + name)
    return cls(**kwargs)


def parse_overrides(args: list[str]) -> dict[str, Any]:
    """Turn ``["--train.lr=3e-5", "--output_dir", "runs/x"]`` into a nested dict of strings.

    Values are parsed as YAML scalars/lists (``true``, ``3e-5``, ``[A, B]``, ``null``) and then
    checked against the dataclass types when the config is built.
    """
    nested: dict[str, Any] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--"):
            raise ConfigError(f"expected --section.key=value, got {arg!r}")
        if "=" in arg:
            key, raw = arg[2:].split("=", 1)
        else:
            if i + 1 >= len(args):
                raise ConfigError(f"{arg} needs a value")
            key, raw = arg[2:], args[i + 1]
            i += 1
        i += 1
        try:
            value = yaml.safe_load(raw) if raw != "" else ""
        except yaml.YAMLError:
            value = raw
        if isinstance(value, (int, float)) and not isinstance(value, bool) and key.endswith(("file", "dir", "path")):
            value = raw  # a path named "2021" stays a string
        node = nested
        parts = key.replace("-", "_").split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--{key}: {part} is not a section")
        node[parts[-1]] = value
    return nested


def merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out
