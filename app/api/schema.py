"""One description per API operation, used both to check each request and to write the OpenAPI 3.1
document: the document cannot drift from what the server accepts, because it is the same object.

A description names the method and path, what the caller's token must allow (read or write), the
query parameters and the JSON body as JSON Schema (OpenAPI 3.1 uses JSON Schema 2020-12), and the
schema of the answer. `checked_query` and `checked_body` validate with jsonschema and turn every
failure into a per-field error, which the API answers as 422 problem+json.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable


PAGE_MAX = 100
PAGE_DEFAULT = 25
PATH_PARAM = re.compile(r"{(\w+)}")


@dataclass
class Operation:
    method: str
    path: str  # OpenAPI form, below /api/v1: /threads/{thread_id}
    operation_id: str
    summary: str
    tag: str
    handler: Callable
    writes: bool = False
    query: dict = field(default_factory=dict)  # name -> JSON Schema (strings are coerced first)
    required_query: tuple[str, ...] = ()
    body: dict | None = None
    response: dict | None = None
    status: int = 200
    paginated: bool = False
    path_types: dict = field(default_factory=dict)  # path param -> "integer" | "string"
    description: str = ""

    @property
    def path_params(self) -> list[str]:
        return PATH_PARAM.findall(self.path)

    @property
    def query_schema(self) -> dict:
        properties = dict(self.query)
        if self.paginated:
            properties.update(PAGINATION_QUERY)
        return {"type": "object", "properties": properties, "required": list(self.required_query),
                "additionalProperties": False}


OPERATIONS: list[Operation] = []

PAGINATION_QUERY = {
    "cursor": {"type": "string", "maxLength": 500,
               "description": "The `next` cursor of the previous page (opaque)."},
    "limit": {"type": "integer", "minimum": 1, "maximum": PAGE_MAX, "default": PAGE_DEFAULT,
              "description": f"Items per page (1 to {PAGE_MAX})."},
}


def operation(method: str, path: str, *, summary: str, tag: str, writes: bool = False, query: dict | None = None,
              required_query: tuple[str, ...] = (), body: dict | None = None, response: dict | None = None,
              status: int = 200, paginated: bool = False, path_types: dict | None = None, description: str = ""):
    """Register the decorated handler as an API operation (see app/api/dispatch.py for how it is called)."""

    def register(handler: Callable) -> Callable:
        OPERATIONS.append(Operation(
            method=method, path=path, operation_id=handler.__name__, summary=summary, tag=tag, handler=handler,
            writes=writes, query=query or {}, required_query=required_query, body=body, response=response,
            status=status, paginated=paginated, path_types=path_types or {}, description=description))
        return handler

    return register


# --- Checking a request ----------------------------------------------------------------

@dataclass
class FieldError:
    field: str
    message: str


class InvalidRequest(Exception):
    def __init__(self, errors: list[FieldError]):
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


_VALIDATORS: dict = {}  # jsonschema (3 MB) is imported by the first API request that validates


def _validator(schema: dict):
    key = id(schema)
    if key not in _VALIDATORS:
        from jsonschema import Draft202012Validator

        _VALIDATORS[key] = Draft202012Validator(schema)
    return _VALIDATORS[key]


def _message(error) -> str:
    """A sentence for a person, in the forms' manner."""
    kind, value = error.validator, error.validator_value
    if kind == "required":
        return "This field is required."
    if kind == "type":
        names = {"string": "text", "integer": "a whole number", "boolean": "true or false", "object": "an object",
                 "array": "a list", "number": "a number"}
        wanted = value if isinstance(value, list) else [value]
        return "Must be " + " or ".join(names.get(v, v) for v in wanted if v != "null") + "."
    if kind == "maxLength":
        return f"At most {value:,} characters."
    if kind == "minLength":
        return "This field is required." if value == 1 else f"At least {value} characters."
    if kind in ("maximum", "minimum"):
        return f"Must be at {'most' if kind == 'maximum' else 'least'} {value}."
    if kind == "enum":
        return "Must be one of: " + ", ".join(str(v) for v in value) + "."
    if kind == "maxItems":
        return f"At most {value} items."
    if kind == "minItems":
        return f"At least {value} item{'s' if value != 1 else ''}."
    if kind == "format" and value == "date-time":
        return "Must be a date and time with its offset, e.g. 2026-12-24T18:00:00Z."
    if kind == "additionalProperties":
        return "Unknown field."
    if kind == "anyOf":
        return "Send one of the alternatives this operation describes (see the OpenAPI document)."
    if kind == "propertyNames":
        return "Keys must be option ids."
    if kind == "maxProperties":
        return f"At most {value} entries."
    if kind == "pattern":
        return "Not in the expected form."
    return error.message


def _field(error) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "required":
        missing = next((name for name in error.validator_value if name not in (error.instance or {})), "")
        return f"{path}.{missing}" if path else missing
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        if extra:
            return f"{path}.{extra[0]}" if path else extra[0]
    return path or "body"


def _check(schema: dict, instance) -> None:
    errors = sorted(_validator(schema).iter_errors(instance), key=lambda e: (list(e.absolute_path), e.validator))
    if errors:
        seen, out = set(), []
        for e in errors:
            name = _field(e)
            if name not in seen:
                seen.add(name)
                out.append(FieldError(name, _message(e)))
        raise InvalidRequest(out)


def _coerce(value: str, schema: dict):
    kind = schema.get("type")
    if kind == "integer" and re.fullmatch(r"-?[0-9]{1,18}", value):
        return int(value)
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    return value


def checked_query(op: Operation, args) -> dict:
    """The query string as the operation describes it (defaults filled in); InvalidRequest otherwise."""
    schema = op.query_schema
    values = {}
    for name in args:
        prop = schema["properties"].get(name, {})
        values[name] = _coerce(args.get(name), prop)
    _check(schema, values)
    for name, prop in schema["properties"].items():
        values.setdefault(name, prop.get("default"))
    return values


def checked_body(op: Operation, body) -> dict:
    if op.body is None:
        return {}
    _check(op.body, body)
    return body


# --- Writing the document ------------------------------------------------------------------

PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {
            "type": "object", "required": ["field", "message"],
            "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}},
    },
    "required": ["type", "title", "status"],
}
ERRORS = {
    "400": "The request is not JSON where JSON is expected.",
    "401": "No token, or a token that is wrong, revoked or its account's gone.",
    "403": "Not allowed: a read-only token asked to write, or the policy says no (the detail says why).",
    "404": "No such thing, or not yours to see (the same answer on purpose).",
    "422": "The request does not match this description, or the service refused the values; `errors` names each field.",
    "429": "Too many requests for this token; try again after Retry-After seconds.",
}


def _page_of(items: dict) -> dict:
    return {"type": "object", "required": ["items", "next"],
            "properties": {"items": {"type": "array", "items": items},
                           "next": {"type": ["string", "null"], "description": "The next page's URL, or null."}}}


def openapi_document(base_url: str) -> dict:
    paths: dict = {}
    for op in OPERATIONS:
        parameters = [{"name": name, "in": "path", "required": True,
                       "schema": {"type": "integer", "minimum": 1} if op.path_types.get(name, "integer") == "integer"
                       else {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,62}$"}}
                      for name in op.path_params]
        for name, schema in op.query_schema["properties"].items():
            param = {"name": name, "in": "query", "required": name in op.required_query,
                     "schema": {k: v for k, v in schema.items() if k != "description"}}
            if schema.get("description"):
                param["description"] = schema["description"]
            parameters.append(param)
        answer = _page_of(op.response) if op.paginated else op.response
        ok = {"description": "OK" if op.status == 200 else "Created"}
        if answer is not None:
            ok["content"] = {"application/json": {"schema": answer}}
        responses = {str(op.status): ok}
        for code, text in ERRORS.items():
            if code == "400" and op.body is None:
                continue
            responses[code] = {"description": text,
                               "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        entry = {"operationId": op.operation_id, "summary": op.summary, "tags": [op.tag], "parameters": parameters,
                 "responses": responses,
                 "security": [{"bearerToken": ["write"] if op.writes else ["read"]}]}
        if op.description:
            entry["description"] = op.description
        if op.body is not None:
            entry["requestBody"] = {"required": True, "content": {"application/json": {"schema": op.body}}}
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": "Quorum API", "version": "1",
                 "description": "Groups, threads, comments, decisions, search and notifications, with the same "
                                "rules as the web pages. Authenticate with `Authorization: Bearer <token>` "
                                "(a personal access token from /account/tokens, or a group bot's token)."},
        "servers": [{"url": base_url.rstrip("/") + "/api/v1"}],
        "paths": paths,
        "components": {
            "schemas": {"Problem": PROBLEM},
            "securitySchemes": {"bearerToken": {"type": "http", "scheme": "bearer",
                                                "description": "A personal access token or a bot's token; "
                                                               "scope read, or write (read and write)."}},
        },
    }
