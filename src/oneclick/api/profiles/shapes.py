"""What a client's models can decode (``Node``, ``ObjectShape``, ``ClientApi``), how such a view is
read from an OpenAPI 3.0 document, and ``prune``: a JSON body cut down to that view.

Pruning only removes object properties and list items; it never adds or changes a value."""

from __future__ import annotations

import pprint
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Operation = tuple[str, str]  # (HTTP method in upper case, path)


@dataclass(frozen=True, slots=True, repr=False)
class Node:
    """One JSON value as a client model sees it: an object of a named schema (``ref``), a list
    (``items``), one of a closed set of strings (``enum``), or any other value (all ``None``)."""

    ref: str | None = None
    items: Node | None = None
    enum: tuple[str, ...] | None = None

    def __repr__(self) -> str:  # the generated tables read better without the ``None`` fields
        fields = {"ref": self.ref, "items": self.items, "enum": self.enum}
        shown = ", ".join(f"{key}={value!r}" for key, value in fields.items() if value is not None)
        return f"Node({shown})"


@dataclass(frozen=True, slots=True)
class ObjectShape:
    properties: Mapping[str, Node]
    required: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ClientApi:
    """One client's models: its schemas and, per operation, the schema of each response status
    that has a body. ``closed``: the client rejects properties it does not know (Go's
    ``DisallowUnknownFields``), so they are removed; otherwise they are kept."""

    schemas: Mapping[str, ObjectShape]
    responses: Mapping[Operation, Mapping[int, Node]]
    closed: bool
    error_schema: str = "BadRequestResponse"

    def response(self, method: str, path: str, status: int) -> Node | None:
        """The node for this response, ``None`` when this client has no such operation.
        Error statuses the client does not document get its error schema."""
        by_status = self.responses.get((method.upper(), path))
        if by_status is None:
            return Node(ref=self.error_schema) if status >= 400 else None
        if status in by_status:
            return by_status[status]
        return Node(ref=self.error_schema) if status >= 400 else None


@dataclass(slots=True)
class Pruned:
    """``body`` as the client can take it; ``unrepresentable`` lists where it still cannot
    (a required property missing or outside the client's enum): empty in every state we serve."""

    body: object
    unrepresentable: list[str] = field(default_factory=list)


def prune(body: object, node: Node, api: ClientApi) -> Pruned:
    result = Pruned(body)
    result.body, _ = _prune(body, node, api, "$", result.unrepresentable)
    return result


def _prune(
    value: object, node: Node, api: ClientApi, path: str, problems: list[str]
) -> tuple[object, bool]:
    """(the pruned value, whether the client can decode it). A list leaves out the items it
    cannot decode; an object leaves out the optional properties it cannot decode and reports
    the required ones in ``problems``."""
    if node.enum is not None:
        if isinstance(value, str) and value in node.enum:
            return value, True
        return value, False
    if node.items is not None and isinstance(value, list):
        kept = []
        for index, item in enumerate(value):
            pruned, ok = _prune(item, node.items, api, f"{path}[{index}]", [])
            if ok:
                kept.append(pruned)
        return kept, True
    if node.ref is not None and isinstance(value, list):
        return value, False  # an array where the client decodes one object: it cannot
    if node.ref is not None and isinstance(value, dict):
        shape = api.schemas[node.ref]
        out: dict[str, object] = {}
        ok = True
        for key, item in value.items():
            child = shape.properties.get(key)
            if child is None:
                if not api.closed:
                    out[key] = item
                continue
            inner: list[str] = []
            pruned, item_ok = _prune(item, child, api, f"{path}.{key}", inner)
            if item_ok:
                out[key] = pruned
            elif key in shape.required:  # nothing to remove it for: report, never invent
                out[key] = pruned
                ok = False
                problems.extend(inner or [f"{path}.{key}: {item!r} is not a value it knows"])
        for key in shape.required:
            if key not in out:
                ok = False
                problems.append(f"{path}.{key}: required by the client, absent")
        return out, ok
    return value, True


# --------------------------------------------------------------------------------------------
# Reading a client's view from its OpenAPI 3.0 document (used to generate spec_v0_1_10.py)
# --------------------------------------------------------------------------------------------

_REF_PREFIX = "#/components/schemas/"


def _node(schema: Mapping[str, Any]) -> Node:
    if "$ref" in schema:
        return Node(ref=str(schema["$ref"]).removeprefix(_REF_PREFIX))
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return _node(schema["allOf"][0])
    if schema.get("type") == "array":
        return Node(items=_node(schema["items"]))
    if "enum" in schema:
        return Node(enum=tuple(str(value) for value in schema["enum"]))
    return Node()


def schemas_from_openapi(document: Mapping[str, Any]) -> dict[str, ObjectShape]:
    schemas: dict[str, ObjectShape] = {}
    for name, schema in document["components"]["schemas"].items():
        properties = {key: _node(sub) for key, sub in schema.get("properties", {}).items()}
        schemas[name] = ObjectShape(properties, tuple(schema.get("required", ())))
    return schemas


def responses_from_openapi(document: Mapping[str, Any]) -> dict[Operation, dict[int, Node]]:
    responses: dict[Operation, dict[int, Node]] = {}
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            by_status: dict[int, Node] = {}
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {}).get("application/json")
                if content is not None:
                    by_status[int(status)] = _node(content["schema"])
            responses[(method.upper(), path)] = by_status
    return responses


def module_source(document: Mapping[str, Any], source: str) -> str:
    """The Python source of a generated table module for ``document`` (run ``ruff format``
    on it afterwards)."""
    schemas = schemas_from_openapi(document)
    responses = responses_from_openapi(document)
    return (
        f'"""GENERATED from {source} by\n'
        "``oneclick.api.profiles.shapes.module_source``; do not edit (a test compares it with\n"
        'the spec)."""\n\n'
        "from oneclick.api.profiles.shapes import Node, ObjectShape, Operation\n\n"
        f"SCHEMAS: dict[str, ObjectShape] = {pprint.pformat(schemas, width=100)}\n\n"
        f"RESPONSES: dict[Operation, dict[int, Node]] = {pprint.pformat(responses, width=100)}\n"
    )
