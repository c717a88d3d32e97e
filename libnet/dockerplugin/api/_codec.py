"""One declarative JSON codec for the protocol's messages, with Go's ``encoding/json`` rules.

A message is a frozen dataclass deriving from :class:`Message` whose fields are declared
with :func:`wire`: the Docker JSON key and a :class:`Kind` saying how the value is read and
written (``network_id: str = wire("NetworkID", ID)``). ``to_json()`` gives plain values in
field order, ready for :func:`encode`; ``from_json()`` reads what Docker's Go code produces.

Decoding follows Go: keys match case-insensitively (an exact match wins), unknown keys are
ignored, and ``null`` or an absent key gives the empty value. A value of the wrong JSON
type raises :class:`~libnet.errors.WireError` naming the message and the key. Encoding
sends ``null`` for empty maps and lists and ``""`` for unset strings, as Go does for nil
maps, nil slices and empty strings.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from libnet.errors import WireError

_M = TypeVar("_M", bound="Message")

# -- bytes <-> JSON values ---------------------------------------------------------------

_ENCODER = json.JSONEncoder(separators=(",", ":"), default=lambda o: _jsonable(o))


def _jsonable(value: object) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} value {value!r} cannot be sent as JSON")


def encode(value: Any) -> bytes:
    """``value`` as compact JSON followed by a newline, as Go's ``json.Encoder`` writes it."""
    try:
        return (_ENCODER.encode(value) + "\n").encode()
    except (TypeError, ValueError) as exc:
        raise WireError(f"cannot encode the message as JSON: {exc}") from None


def decode(data: bytes, what: str = "message") -> Any:
    """Parse a JSON body; WireError naming ``what`` if it is not JSON."""
    try:
        return json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise WireError(f"{what} is not JSON: {exc}") from None
    except RecursionError:
        raise WireError(f"{what} is JSON nested too deeply to read") from None


# -- reading a JSON object as Go's decoder does ------------------------------------------


def kind_of(value: object) -> str:
    """How an error message names a JSON value of the wrong type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, (int, float)):
        return f"{value!r} (a number)"
    if isinstance(value, str):
        return f"{value[:40]!r} (a string)"
    if isinstance(value, list):
        return "an array"
    return "an object" if isinstance(value, Mapping) else type(value).__name__


class Fields:
    """Case-insensitive, typed access to a JSON object, as Go's decoder matches struct fields.

    An exact key wins over a case-insensitive match; ``null`` and absent keys read as the
    empty value of the asked type; a value of another JSON type raises WireError naming
    ``what`` and the key.
    """

    __slots__ = ("_data", "_folded", "what")

    def __init__(self, data: object, what: str) -> None:
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise WireError(f"{what} must be a JSON object, not {kind_of(data)}")
        self._data: Mapping[str, Any] = data
        self._folded: dict[str, str] | None = None
        self.what = what

    def get(self, key: str) -> Any:
        """The value at ``key`` (any case), or None."""
        if key in self._data:
            return self._data[key]
        if self._folded is None:
            folded: dict[str, str] = {}
            for each in self._data:
                if isinstance(each, str):
                    folded.setdefault(each.lower(), each)
            self._folded = folded
        found = self._folded.get(key.lower())
        return None if found is None else self._data[found]

    def bad(self, key: str, expected: str, value: object) -> WireError:
        """The error for ``key`` holding ``value`` where ``expected`` belongs."""
        return WireError(f"{self.what}: {key} must be {expected}, not {kind_of(value)}")

    def text(self, key: str) -> str:
        """A string field; ``""`` when null or absent."""
        value = self.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self.bad(key, "a string", value)
        return value

    def flag(self, key: str) -> bool:
        """A boolean field; False when null or absent."""
        value = self.get(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self.bad(key, "true or false", value)
        return value

    def number(self, key: str) -> int:
        """An integer field; 0 when null or absent."""
        value = self.get(key)
        if value is None:
            return 0
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.bad(key, "an integer", value)
        if isinstance(value, float) and not value.is_integer():
            raise self.bad(key, "an integer", value)
        return int(value)

    def mapping(self, key: str) -> dict[str, Any]:
        """An object field as a dict; ``{}`` when null or absent."""
        value = self.get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.bad(key, "an object", value)
        return dict(value)

    def text_map(self, key: str) -> dict[str, str]:
        """An object of strings (Go's ``map[string]string``); ``{}`` when null or absent."""
        out = self.mapping(key)
        for name, value in out.items():
            if not isinstance(value, str):
                raise self.bad(f"{key}[{name!r}]", "a string", value)
        return out

    def items(self, key: str) -> list[Any]:
        """An array field as a list; ``[]`` when null or absent."""
        value = self.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.bad(key, "an array", value)
        return value

    def obj(self, key: str) -> Fields | None:
        """An object field as Fields; None when null or absent."""
        value = self.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.bad(key, "an object", value)
        return Fields(value, f"{self.what}: {key}")


# -- kinds of fields -------------------------------------------------------------------


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Kind:
    """How one field travels: ``read(fields, key)`` decodes it, ``write(value)`` encodes it."""

    read: Callable[[Fields, str], Any]
    write: Callable[[Any], Any] = _same


def nullable(value: Mapping[str, Any] | list[Any] | None) -> Any:
    """Go sends nil maps and slices as null: empty ones go out as null too."""
    if not value:
        return None
    return dict(value) if isinstance(value, Mapping) else list(value)


def _id(fields: Fields, key: str) -> str:
    value = fields.text(key)
    if not value or "/" in value:
        raise WireError(f"{fields.what}: {key} must be a non-empty ID, not {value!r}")
    return value


def _required(fields: Fields, key: str) -> str:
    value = fields.text(key)
    if not value:
        raise WireError(f"{fields.what}: {key} is empty")
    return value


def _texts(fields: Fields, key: str) -> tuple[str, ...]:
    items = fields.items(key)
    if not all(isinstance(i, str) for i in items):
        raise WireError(f"{fields.what}: {key} must be an array of strings")
    return tuple(items)


def cidr(fields: Fields, key: str) -> str | None:
    """An address with prefix length (``10.0.0.2/24``), normalised; None when empty."""
    value = fields.text(key)
    if not value:
        return None
    try:
        if "/" not in value:
            raise ValueError("it has no prefix length")
        return str(ipaddress.ip_interface(value))
    except ValueError as exc:
        raise WireError(f"{fields.what}: {key} {value!r} is not an address/length: {exc}") from None


def cidr_network(fields: Fields, key: str) -> str:
    """A CIDR network (host bits allowed), as written; WireError if it is not one."""
    value = fields.text(key)
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError as exc:
        raise WireError(f"{fields.what}: {key} {value!r} is not a CIDR: {exc}") from None
    return value


TEXT = Kind(Fields.text)
"""A string; ``""`` when absent."""

OPTIONAL_TEXT = Kind(lambda f, k: f.text(k) or None, lambda v: v or "")
"""A string that is None when unset, and ``""`` on the wire."""

ID = Kind(_id)
"""A required ID: a non-empty string without ``/``."""

REQUIRED = Kind(_required)
"""A required non-empty string."""

FLAG = Kind(Fields.flag)
"""A boolean; False when absent."""

NUMBER = Kind(Fields.number)
"""An integer; 0 when absent."""

ANY = Kind(Fields.get)
"""Any JSON value, passed through."""

MAP = Kind(Fields.mapping, nullable)
"""An object (Go's ``map[string]interface{}``); null when empty."""

TEXT_MAP = Kind(Fields.text_map, nullable)
"""An object of strings (Go's ``map[string]string``); null when empty."""

TEXTS = Kind(_texts, list)
"""An array of strings, as a tuple."""

CIDR = Kind(lambda f, k: cidr(f, k) or "")
"""An address with prefix length, normalised; ``""`` when absent."""

POOL = Kind(cidr_network)
"""A required CIDR network, kept as written."""


def nested(cls: type[Message], empty: Callable[[], Any], *, null_when_empty: bool = False) -> Kind:
    """An object decoded as message ``cls``; ``empty()`` when absent or null.

    With ``null_when_empty``, a value that is None or false goes out as null.
    """

    def read(fields: Fields, key: str) -> Any:
        sub = fields.obj(key)
        return empty() if sub is None else decode_fields(cls, sub)

    def write(value: Any) -> Any:
        if null_when_empty and not value:
            return None
        return encode_fields(value)

    return Kind(read, write)


def nested_list(cls: type[Message]) -> Kind:
    """An array of objects decoded as message ``cls``, as a tuple; null when empty."""

    def read(fields: Fields, key: str) -> tuple[Any, ...]:
        return tuple(
            decode_fields(cls, Fields(item, f"{fields.what}: {key}[{n}]"))
            for n, item in enumerate(fields.items(key))
        )

    return Kind(read, lambda value: [encode_fields(v) for v in value] or None)


# -- messages ----------------------------------------------------------------------------


def wire(key: str, kind: Kind = TEXT, *, omitempty: bool = False, **field: Any) -> Any:
    """A dataclass field sent as ``key``; ``omitempty`` leaves an empty value out.

    Other keywords (``default``, ``default_factory``) go to :func:`dataclasses.field`.
    """
    metadata = {"json": key, "kind": kind, "omitempty": omitempty}
    return dataclasses.field(metadata=metadata, **field)


_Plan = tuple[tuple[str, str, Callable[[Fields, str], Any], Callable[[Any], Any], bool], ...]
_PLANS: dict[type, _Plan] = {}


def _plan(cls: type) -> _Plan:
    """(attribute, JSON key, read, write, omitempty) of each wire field of ``cls``, in order."""
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = tuple(
            (
                f.name,
                f.metadata["json"],
                f.metadata["kind"].read,
                f.metadata["kind"].write,
                f.metadata["omitempty"],
            )
            for f in dataclasses.fields(cls)
            if "json" in f.metadata
        )
    return plan


def encode_fields(message: object) -> dict[str, Any]:
    """The JSON object of a message."""
    out = {}
    for name, key, _, write, omitempty in _plan(type(message)):
        value = getattr(message, name)
        if omitempty and not value:
            continue
        out[key] = write(value)
    return out


def decode_fields(cls: type[_M], body: object, what: str | None = None) -> _M:
    """Message ``cls`` read from a JSON object (or Fields); errors name ``what``."""
    fields = body if isinstance(body, Fields) else Fields(body, what or cls.what)
    return cls(**{name: read(fields, key) for name, key, read, _, _ in _plan(cls)})


class Message:
    """Base of the wire dataclasses: ``to_json()`` and ``from_json()`` through the codec.

    ``class JoinRequest(Message, what="Join request")``: ``what`` names the message in
    decoding errors.
    """

    what: ClassVar[str] = "message"

    def __init_subclass__(cls, what: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if what is not None:
            cls.what = what

    def to_json(self) -> dict[str, Any]:
        return encode_fields(self)

    @classmethod
    def from_json(cls: type[_M], body: object) -> _M:
        return decode_fields(cls, body)
