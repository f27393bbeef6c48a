"""Plain-Python ⇄ DynamoDB attribute values for the low-level client (floats travel as Decimal).

The two request documents (``request``: the normalised view; ``input``: the parseable request) are
only ever read whole, so they are stored as JSON strings: a string costs a fraction of a nested map
to serialise and parse at both ends of every claim and completion. Everything else stays native.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

DOCUMENTS = frozenset({"request", "input"})
_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def _to_dynamo(value: Any) -> Any:
    if isinstance(value, float):
        # str() keeps the shortest round-tripping form: 0.04 stays 0.04, not 0.0400000000000000008.
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _to_dynamo(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_dynamo(v) for v in value]
    return value


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_dynamo(v) for v in value]
    if isinstance(value, set):
        return sorted(_from_dynamo(v) for v in value)
    return value


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: {"S": json.dumps(v, separators=(",", ":"))} if k in DOCUMENTS else _SERIALIZER.serialize(_to_dynamo(v))
        for k, v in values.items()
        if v is not None
    }


def to_value(value: Any) -> Any:
    return _SERIALIZER.serialize(_to_dynamo(value))


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {
        k: json.loads(v["S"]) if k in DOCUMENTS and "S" in v else _from_dynamo(_DESERIALIZER.deserialize(v))
        for k, v in item.items()
    }
