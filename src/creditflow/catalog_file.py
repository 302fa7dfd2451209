"""Reading a catalog file, and saying in the author's terms what is wrong with it.

The person who reads these messages is editing a TOML file, not Python: every problem is one line
naming the file, the key path as written in the file (`plans[1].price.month`) and the fault. All
problems of single keys are listed at once; those between keys (duplicate codes, a price finer
than the currency) are judged once every key is valid on its own.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from creditflow.domain.catalog import Catalog, Entitlements, FloatLiteral, as_written, key_path
from creditflow.domain.errors import CatalogError

BUILT_IN = Path(__file__).with_name("catalogs") / "example.toml"
"""The catalog served when none is named: a made-up site that switches every feature on."""

CATALOG_ENV = "CREDITFLOW_CATALOG"


def resolve_catalog_path(explicit: str | None, environ: Mapping[str, str]) -> str | None:
    """`--catalog` wins over CREDITFLOW_CATALOG; None means the built-in example.

    An empty value counts as not given, so `CREDITFLOW_CATALOG=` in a shell falls back cleanly.
    """
    return explicit or environ.get(CATALOG_ENV) or None


def load_catalog(path: str | os.PathLike[str] | None = None) -> Catalog:
    """The catalog at `path`, or the built-in example when no path is given."""
    file = BUILT_IN if path is None else Path(path)
    source = "(built-in example.toml)" if path is None else str(path)
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise _error(source, ["file not found"]) from None
    except IsADirectoryError:
        raise _error(source, ["is a folder, not a file"]) from None
    except OSError as exc:
        raise _error(source, [f"cannot be read: {exc.strerror or exc}"]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _error(source, [f"not UTF-8 text (byte {exc.start})"]) from None
    return parse_catalog(text, source)


def parse_catalog(text: str, source: str) -> Catalog:
    """The catalog in `text`; `source` names it in messages (usually the file's path)."""
    try:
        data = tomllib.loads(text, parse_float=FloatLiteral)
    except tomllib.TOMLDecodeError as exc:
        raise _error(source, [f"not valid TOML: {exc}"]) from None
    try:
        return Catalog.model_validate(data)
    except ValidationError as exc:
        raise _error(source, [line for error in exc.errors() for line in _lines(error)]) from None


def _error(source: str, problems: list[str]) -> CatalogError:
    message = "\n".join(f"catalog {source}: {problem}" for problem in problems)
    return CatalogError(message, source=source, problems=problems)


def _lines(error: ErrorDetails) -> list[str]:
    loc = tuple(error["loc"])
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    if error["type"] == "catalog_problems":
        return [_line(loc + tuple(path), message) for path, message in ctx["problems"]]
    return [_line(loc, _describe(error, loc, ctx))]


def _line(loc: tuple[str | int, ...], message: str) -> str:
    path = key_path(loc)
    return f"{path}: {message}" if path else message


def _describe(error: ErrorDetails, loc: tuple[str | int, ...], ctx: dict[str, Any]) -> str:
    """Pydantic's sentence where it is plain; ours where it talks about Python."""
    kind, value = error["type"], error["input"]
    got = f"(got {as_written(value)})"
    if kind == "catalog_value":
        return str(ctx["reason"])
    if kind == "extra_forbidden":
        if loc[:1] == ("free",) or loc[-2:-1] == ("entitlements",):
            known = ", ".join(Entitlements.model_fields)
            return f'unknown entitlement "{loc[-1]}" (known: {known})'
        if len(loc) == 1:
            return f"unknown section (known: {', '.join(Catalog.model_fields)})"
        return "unknown key"
    if kind == "missing":
        return "required section is missing" if len(loc) == 1 else "required key is missing"
    if kind == "int_type":
        if isinstance(value, bool):
            return f"must be a whole number, not {got[5:-1]}"
        if isinstance(value, Decimal):
            return f"must be a whole number {got}"
        if isinstance(value, str):
            return f"must be a whole number written without quotes {got}"
        return f"must be a whole number {got}"
    if kind == "bool_type":
        return f"must be true or false {got}"
    if kind == "string_type":
        return f"must be a string in quotes {got}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "greater_than_equal":
        bound = ctx["ge"]
        return f"must not be negative {got}" if bound == 0 else f"must be at least {bound} {got}"
    if kind == "greater_than":
        return f"must be more than {ctx['gt']} {got}"
    if kind == "less_than_equal":
        return f"must be at most {ctx['le']} {got}"
    if kind == "less_than":
        return f"must be less than {ctx['lt']} {got}"
    if kind in ("literal_error", "enum"):
        return f"must be {str(ctx['expected']).replace(chr(39), chr(34))} {got}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"must be a table {got}"
    if kind in ("tuple_type", "list_type"):
        return f"must be an array {got}"
    return f"{error['msg']} {got}"
