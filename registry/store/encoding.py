"""Stored-event encoding with msgspec.

A stored event's state is the msgspec JSON of the event's attributes, minus originator id and
version (those are columns). JSON alone forgets UUID, datetime and tuple types, so decoding is
typed: per event class we build (once) a msgspec Struct from the class's type hints and decode
with it. The library's JSONTranscoder tags values instead ({"_type_": ...}); plain typed JSON keeps
stored states readable by anything that speaks JSON.

Wire it into an Application with MAPPER_TOPIC=registry.store.encoding:MsgspecMapper and
TRANSCODER_TOPIC=registry.store.encoding:PassThroughTranscoder (the Mapper does all the work; the
library still insists on constructing a transcoder).
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from threading import Lock
from typing import Any

import msgspec
from eventsourcing.domain import CanSnapshotAggregate
from eventsourcing.persistence import (
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
    Transcoder,
    find_id_convertor,
)
from eventsourcing.utils import get_topic, resolve_topic

# Columns of the stored event, never part of its JSON state.
_COLUMNS = frozenset({"originator_id", "originator_version"})

_encoder = msgspec.json.Encoder()
_generic_decoder = msgspec.json.Decoder()


class EventSchemaError(TypeError):
    """An event class whose attributes cannot be given an exact JSON schema."""


class PassThroughTranscoder(Transcoder):
    """Hands bytes through unchanged: MsgspecMapper has already produced the JSON bytes."""

    def encode(self, obj: Any) -> bytes:
        if not isinstance(obj, bytes):
            raise TypeError(f"PassThroughTranscoder expects bytes, got {type(obj).__name__}")
        return obj

    def decode(self, data: bytes) -> Any:
        return data


@dataclasses.dataclass(frozen=True)
class _Schema:
    struct: type[msgspec.Struct]
    decoder: msgspec.json.Decoder[Any]
    # Classes with class_version > 1 may read states written by older versions, which have other
    # fields: those go through the upcasters before the typed conversion.
    class_version: int


_schemas: dict[type, _Schema] = {}
_schemas_lock = Lock()


def schema_for(event_class: type) -> _Schema:
    """The typed schema of an event class (built once, then cached)."""
    try:
        return _schemas[event_class]
    except KeyError:
        pass
    with _schemas_lock:
        if event_class in _schemas:
            return _schemas[event_class]
        schema = _build_schema(event_class)
        _schemas[event_class] = schema
        return schema


def _build_schema(event_class: type) -> _Schema:
    topic = get_topic(event_class)
    if issubclass(event_class, CanSnapshotAggregate):
        # A snapshot's state is a dict[str, Any] of aggregate attributes: its values have no
        # declared types, so a round trip would silently turn UUIDs and datetimes into strings.
        raise EventSchemaError(
            f"{topic}: snapshots are not supported by MsgspecMapper (aggregate state is untyped)"
        )
    if not dataclasses.is_dataclass(event_class):
        raise EventSchemaError(f"{topic}: not a dataclass event class")
    try:
        hints = typing.get_type_hints(event_class)
    except (NameError, TypeError) as e:
        raise EventSchemaError(f"{topic}: cannot resolve an attribute annotation: {e}") from e
    fields: list[tuple[str, Any]] = []
    for field in dataclasses.fields(event_class):
        if field.name in _COLUMNS:
            continue
        annotation = hints.get(field.name, Any)
        if annotation is inspect.Parameter.empty:
            # The @event decorator copies an unannotated parameter's "empty" marker.
            annotation = Any
        fields.append((field.name, annotation))
    try:
        struct = msgspec.defstruct(
            f"{event_class.__qualname__}.State",
            fields,
            forbid_unknown_fields=True,
            module=event_class.__module__,
        )
        decoder = msgspec.json.Decoder(struct)
    except TypeError as e:
        raise EventSchemaError(f"{topic}: attribute type not supported by msgspec: {e}") from e
    return _Schema(struct, decoder, getattr(event_class, "class_version", 1))


class MsgspecMapper(Mapper[Any]):
    """Maps domain events to stored events as typed msgspec JSON; keeps the base Mapper's
    compressor, cipher and class_version upcasting behaviour."""

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        event_class = type(domain_event)
        schema = schema_for(event_class)  # fails at save time, not years later at read time
        event_state = dict(vars(domain_event))
        originator_id = event_state.pop("originator_id")
        originator_version = event_state.pop("originator_version")
        if schema.class_version > 1:
            event_state["class_version"] = schema.class_version
        stored_state = _encoder.encode(event_state)
        if self.compressor:
            stored_state = self.compressor.compress(stored_state)
        if self.cipher:
            stored_state = self.cipher.encrypt(stored_state)
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=get_topic(event_class),
            state=stored_state,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        try:
            event_class = resolve_topic(stored_event.topic)
            schema = schema_for(event_class)
            stored_state = stored_event.state
            if self.cipher:
                stored_state = self.cipher.decrypt(stored_state)
            if self.compressor:
                stored_state = self.compressor.decompress(stored_state)
            originator_id = find_id_convertor(event_class, type(stored_event.originator_id))(
                stored_event.originator_id
            )
            if schema.class_version > 1:
                event_state = self._upcast(event_class, schema, stored_state, originator_id,
                                           stored_event.originator_version)
            else:
                event_state = msgspec.structs.asdict(schema.decoder.decode(stored_state))
        except Exception as e:
            raise MapperDeserialisationError(
                f"cannot decode stored event {stored_event.topic!r} at "
                f"{stored_event.originator_id}/{stored_event.originator_version}: {e}"
            ) from e
        event_state["originator_id"] = originator_id
        event_state["originator_version"] = stored_event.originator_version
        domain_event = object.__new__(event_class)
        object.__setattr__(domain_event, "__dict__", event_state)
        return domain_event

    @staticmethod
    def _upcast(event_class: type, schema: _Schema, stored_state: bytes, originator_id: Any,
                originator_version: int) -> dict[str, Any]:
        # As the base Mapper: upcasters see the whole state, including the originator columns.
        event_state = _generic_decoder.decode(stored_state)
        if not isinstance(event_state, dict):
            raise ValueError(f"state is a JSON {type(event_state).__name__}, not an object")
        event_state["originator_id"] = originator_id
        event_state["originator_version"] = originator_version
        from_version = event_state.pop("class_version", 1)
        while from_version < schema.class_version:
            getattr(event_class, f"upcast_v{from_version}_v{from_version + 1}")(event_state)
            from_version += 1
        for column in _COLUMNS:
            event_state.pop(column, None)
        return msgspec.structs.asdict(msgspec.convert(event_state, schema.struct))
