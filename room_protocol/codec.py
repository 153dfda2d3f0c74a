"""JSON codec for messages: :func:`encode` and :func:`decode`.

``decode`` checks everything a hostile or buggy peer could get wrong: size, encoding,
JSON syntax, duplicate keys, the type tag, missing and unexpected fields, each field's
type and limits. It raises :class:`ProtocolError` naming the field and the problem.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import Any, Union, get_args, get_origin

from room_protocol.errors import ErrorCode, ProtocolError
from room_protocol.messages import REGISTRY, Message

MAX_MESSAGE_BYTES = 1024 * 1024  # one agenda snapshot of a large congress fits easily


def encode(message: Message) -> str:
    """Serialise a message to compact JSON text (one WebSocket text frame)."""
    if type(message).TYPE not in REGISTRY:
        raise TypeError(f"{type(message).__name__} is not a registered message")
    body = {"type": type(message).TYPE, **_to_json(message)}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def decode(data: str | bytes) -> Message:
    """Parse and validate one message; raise :class:`ProtocolError` on anything wrong."""
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    if size > MAX_MESSAGE_BYTES:
        raise ProtocolError(
            ErrorCode.TOO_LARGE, f"message of {size} bytes exceeds {MAX_MESSAGE_BYTES} bytes"
        )
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(ErrorCode.MALFORMED, f"message is not UTF-8: {exc}") from None
    try:
        body = json.loads(data, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except ProtocolError:
        raise
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(ErrorCode.MALFORMED, f"message is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ProtocolError(ErrorCode.MALFORMED, "message must be a JSON object")
    tag = body.pop("type", None)
    if not isinstance(tag, str):
        raise ProtocolError(ErrorCode.MALFORMED, "message has no string field 'type'")
    cls = REGISTRY.get(tag)
    if cls is None:
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown message type {tag[:64]!r}")
    result = _from_json(cls, body, tag)
    assert isinstance(result, Message)
    return result


def record_to_json(record: Any) -> str:
    """A record (a dataclass carried inside messages) as compact JSON, for storage."""
    return json.dumps(_to_json(record), ensure_ascii=False, separators=(",", ":"))


_R = typing.TypeVar("_R")


def record_from_json(cls: type[_R], data: str | dict[str, Any], where: str = "") -> _R:
    """The inverse of :func:`record_to_json`, with the same checks as :func:`decode`."""
    body = json.loads(data, object_pairs_hook=_no_duplicates) if isinstance(data, str) else data
    result = _from_json(cls, body, where or cls.__name__)
    assert isinstance(result, cls)
    return result


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ProtocolError(ErrorCode.MALFORMED, f"duplicate key {key[:64]!r}")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ProtocolError(ErrorCode.MALFORMED, f"{name} is not allowed in messages")


# Leaf values json.dumps writes as they are (an Enum is not one of these types exactly).
_PLAIN: frozenset[type] = frozenset({str, int, float, bool, type(None)})


def _to_json(value: Any) -> Any:
    # Enums first: a StrEnum is also a str.
    if isinstance(value, Enum):
        return value.value
    if value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, tuple | list):
        if all(type(v) in _PLAIN for v in value):  # coordinates: no call per number
            return list(value)
        return [_to_json(v) for v in value]
    names = _field_names(type(value))
    if names is not None:
        return {name: _to_json(getattr(value, name)) for name in names}
    return value


_FIELD_NAMES: dict[type, tuple[str, ...] | None] = {}


def _field_names(cls: type) -> tuple[str, ...] | None:
    """A record's field names in order (None: not a record), looked up once per class."""
    if cls not in _FIELD_NAMES:
        is_record = dataclasses.is_dataclass(cls)
        _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls)) if is_record else None
    return _FIELD_NAMES[cls]


# Decoding: each record class is compiled once into a plan, one converter per field, so a
# message of a thousand coordinates costs a loop over numbers, not a walk over type hints
# for each of them.
Converter = Callable[[Any, str], Any]  # (JSON value, its path for messages) -> field value


@dataclass(frozen=True, slots=True)
class _Plan:
    names: frozenset[str]
    fields: tuple[tuple[str, bool, Converter], ...]  # name, required, converter


@cache
def _plan(cls: Any) -> _Plan:
    hints = typing.get_type_hints(cls)
    fields = []
    for f in dataclasses.fields(cls):
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        fields.append((f.name, required, _compile(hints[f.name], f.metadata, f"{cls!r}.{f.name}")))
    return _Plan(frozenset(name for name, _, _ in fields), tuple(fields))


def _from_json(cls: Any, body: Any, where: str) -> Any:
    if not isinstance(body, dict):
        raise ProtocolError(ErrorCode.BAD_FIELD, f"{where}: expected an object")
    plan = _plan(cls)
    if not plan.names.issuperset(body):
        unexpected = sorted(set(body) - plan.names)
        raise ProtocolError(
            ErrorCode.UNEXPECTED_FIELD, f"{where}: unexpected field {unexpected[0][:64]!r}"
        )
    kwargs: dict[str, Any] = {}
    for name, required, convert in plan.fields:
        if name in body:
            kwargs[name] = convert(body[name], f"{where}.{name}")
        elif required:
            raise ProtocolError(
                ErrorCode.MISSING_FIELD, f"{where}.{name}: required field is missing"
            )
    return cls(**kwargs)


def _compile(tp: Any, meta: Any, what: str) -> Converter:
    """The converter of one field's type (``meta``: its limits, for the items of a list too)."""
    origin = get_origin(tp)
    if origin is Union or origin is types.UnionType:
        args = get_args(tp)
        (inner_tp,) = [a for a in args if a is not type(None)]
        inner = _compile(inner_tp, meta, what)
        if type(None) not in args:
            return inner

        def optional(value: Any, path: str) -> Any:
            return None if value is None else inner(value, path)

        return optional
    if origin is tuple:
        return _compile_list(get_args(tp)[0], meta, what)
    if dataclasses.is_dataclass(tp):
        return functools.partial(_record, tp)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return _compile_enum(tp)
    if tp is bool:
        return _boolean
    if tp is int:
        return functools.partial(_integer, meta.get("minimum"), meta.get("maximum"))
    if tp is float:
        return functools.partial(_number, meta.get("minimum"), meta.get("maximum"))
    if tp is str:
        return functools.partial(_string, meta.get("max_len"), meta.get("pattern"))
    raise TypeError(f"{what}: unsupported field type {tp!r}")  # a bug in messages.py


def _record(cls: Any, value: Any, path: str) -> Any:
    return _from_json(cls, value, path)


def _compile_list(inner_tp: Any, meta: Any, what: str) -> Converter:
    max_items = meta.get("max_items")
    if inner_tp is float:  # coordinates: one loop, a path made only for the message
        lo, hi = meta.get("minimum"), meta.get("maximum")

        def numbers(value: Any, path: str) -> Any:
            _check_list(value, path, max_items)
            for i, v in enumerate(value):
                if type(v) is not float and type(v) is not int:
                    _number(lo, hi, v, f"{path}[{i}]")  # raises: not a number
                if (lo is not None and v < lo) or (hi is not None and v > hi):
                    _check_range(v, f"{path}[{i}]", lo, hi)
            return tuple(map(float, value))

        return numbers
    inner = _compile(inner_tp, meta, what)

    def items(value: Any, path: str) -> Any:
        _check_list(value, path, max_items)
        return tuple(inner(v, f"{path}[{i}]") for i, v in enumerate(value))

    return items


def _check_list(value: Any, path: str, max_items: int | None) -> None:
    if not isinstance(value, list):
        raise ProtocolError(ErrorCode.BAD_FIELD, f"{path}: expected a list")
    if max_items is not None and len(value) > max_items:
        raise ProtocolError(ErrorCode.BAD_FIELD, f"{path}: more than {max_items} entries")


def _compile_enum(tp: type[Enum]) -> Converter:
    members = {m.value: m for m in tp}
    allowed = ", ".join(repr(m.value) for m in tp)

    def member(value: Any, path: str) -> Any:
        try:
            return members[value]
        except (KeyError, TypeError):  # TypeError: a list or an object is not hashable
            raise ProtocolError(
                ErrorCode.BAD_FIELD, f"{path}: {str(value)[:64]!r} is not one of {allowed}"
            ) from None

    return member


def _boolean(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise ProtocolError(ErrorCode.BAD_FIELD, f"{path}: expected true or false")
    return value


def _integer(lo: float | None, hi: float | None, value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError(ErrorCode.BAD_FIELD, f"{path}: expected an integer")
    _check_range(value, path, lo, hi)
    return value


def _number(lo: float | None, hi: float | None, value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProtocolError(ErrorCode.BAD_FIELD, f"{path}: expected a number")
    _check_range(value, path, lo, hi)
    return float(value)


# JSON may escape half of a UTF-16 surrogate pair on its own ("\ud800"); such a string is
# not text: UTF-8 cannot carry it, so SQLite and the WebSocket layer would refuse it later.
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _string(max_len: int | None, pattern: re.Pattern[str] | None, value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise ProtocolError(ErrorCode.BAD_FIELD, f"{path}: expected a string")
    if max_len is not None and len(value) > max_len:
        raise ProtocolError(ErrorCode.BAD_FIELD, f"{path}: longer than {max_len} characters")
    if pattern is not None and not pattern.fullmatch(value):
        raise ProtocolError(ErrorCode.BAD_FIELD, f"{path}: {value[:64]!r} is not well formed")
    if not value.isascii() and _LONE_SURROGATE.search(value):
        raise ProtocolError(
            ErrorCode.BAD_FIELD,
            f"{path}: holds half of a UTF-16 surrogate pair on its own, which is not text",
        )
    return value


def _check_range(value: float, path: str, lo: float | None, hi: float | None) -> None:
    if lo is not None and value < lo:
        raise ProtocolError(ErrorCode.BAD_FIELD, f"{path}: must be at least {lo}")
    if hi is not None and value > hi:
        raise ProtocolError(ErrorCode.BAD_FIELD, f"{path}: must be at most {hi}")
