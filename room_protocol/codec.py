"""JSON codec for messages: :func:`encode` and :func:`decode`.

``decode`` checks everything a hostile or buggy peer could get wrong: size, encoding,
JSON syntax, duplicate keys, the type tag, missing and unexpected fields, each field's
type and limits. It raises :class:`ProtocolError` naming the field and the problem.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
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


def _to_json(value: Any) -> Any:
    # Enums first: a StrEnum is also a str.
    if isinstance(value, Enum):
        return value.value
    if value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, tuple | list):
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


@cache
def _hints(cls: Any) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _from_json(cls: Any, body: Any, where: str) -> Any:
    if not isinstance(body, dict):
        raise ProtocolError(ErrorCode.BAD_FIELD, f"{where}: expected an object")
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unexpected = sorted(set(body) - set(fields))
    if unexpected:
        raise ProtocolError(
            ErrorCode.UNEXPECTED_FIELD, f"{where}: unexpected field {unexpected[0][:64]!r}"
        )
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        path = f"{where}.{name}"
        if name not in body:
            has_default = (
                f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
            )
            if has_default:
                continue
            raise ProtocolError(ErrorCode.MISSING_FIELD, f"{path}: required field is missing")
        kwargs[name] = _convert(hints[name], body[name], path, f.metadata)
    return cls(**kwargs)


def _convert(tp: Any, value: Any, path: str, meta: Any) -> Any:
    origin = get_origin(tp)
    if origin is Union or origin is types.UnionType:
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _convert(inner, value, path, meta)
    if origin is tuple:
        if not isinstance(value, list):
            raise ProtocolError(ErrorCode.BAD_FIELD, f"{path}: expected a list")
        max_items = meta.get("max_items")
        if max_items is not None and len(value) > max_items:
            raise ProtocolError(ErrorCode.BAD_FIELD, f"{path}: more than {max_items} entries")
        (inner, _ellipsis) = get_args(tp)
        return tuple(_convert(inner, v, f"{path}[{i}]", meta) for i, v in enumerate(value))
    if dataclasses.is_dataclass(tp):
        return _from_json(tp, value, path)
    if isinstance(tp, type) and issubclass(tp, Enum):
        try:
            return tp(value)
        except ValueError:
            allowed = ", ".join(repr(m.value) for m in tp)
            raise ProtocolError(
                ErrorCode.BAD_FIELD, f"{path}: {str(value)[:64]!r} is not one of {allowed}"
            ) from None
    if tp is bool:
        if not isinstance(value, bool):
            raise ProtocolError(ErrorCode.BAD_FIELD, f"{path}: expected true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ProtocolError(ErrorCode.BAD_FIELD, f"{path}: expected an integer")
        _check_range(value, path, meta)
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ProtocolError(ErrorCode.BAD_FIELD, f"{path}: expected a number")
        _check_range(value, path, meta)
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ProtocolError(ErrorCode.BAD_FIELD, f"{path}: expected a string")
        max_len = meta.get("max_len")
        if max_len is not None and len(value) > max_len:
            raise ProtocolError(ErrorCode.BAD_FIELD, f"{path}: longer than {max_len} characters")
        pattern = meta.get("pattern")
        if pattern is not None and not pattern.fullmatch(value):
            raise ProtocolError(ErrorCode.BAD_FIELD, f"{path}: {value[:64]!r} is not well formed")
        return value
    raise TypeError(f"{path}: unsupported field type {tp!r}")  # a bug in messages.py


def _check_range(value: float, path: str, meta: Any) -> None:
    lo, hi = meta.get("minimum"), meta.get("maximum")
    if lo is not None and value < lo:
        raise ProtocolError(ErrorCode.BAD_FIELD, f"{path}: must be at least {lo}")
    if hi is not None and value > hi:
        raise ProtocolError(ErrorCode.BAD_FIELD, f"{path}: must be at most {hi}")
