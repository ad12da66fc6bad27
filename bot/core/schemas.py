"""Publish each offering version as a JSON Schema of the whole request file, for editors and other tools."""

from __future__ import annotations

import json
from typing import Any

from bot.core.catalog import Catalog, Offering

DNS_LABEL = "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"


def request_schema(offering: Offering) -> dict[str, Any]:
    """The JSON Schema (2020-12) of a request file for `offering`: envelope plus the offering's spec."""
    spec = {k: v for k, v in offering.schema.items() if k not in ("$schema", "$defs")}
    string_map = {"type": "object", "additionalProperties": {"type": "string"}}
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"{offering.title} ({offering.kind} {offering.api_version})",
        "description": str(offering.meta.get("description", offering.title)),
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "additionalProperties": False,
        "properties": {
            "apiVersion": {"const": offering.api_version},
            "kind": {"const": offering.kind},
            "metadata": {
                "type": "object",
                "required": ["name", "team"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string", "pattern": DNS_LABEL, "maxLength": 63},
                    "team": {"type": "string", "pattern": DNS_LABEL},
                    "labels": string_map,
                    "annotations": string_map,
                },
            },
            "spec": spec,
        },
    }
    if "$defs" in offering.schema:  # `#/$defs/...` references resolve against the document root
        schema["$defs"] = offering.schema["$defs"]
    return schema


def file_name(offering: Offering) -> str:
    return f"{offering.name}.{offering.version}.json"


def export(catalog: Catalog) -> dict[str, bytes]:
    """file name -> JSON bytes, one per offering version (deterministic)."""
    out = {}
    for offering in sorted(catalog.offerings.values(), key=lambda o: (o.name, o.version)):
        text = json.dumps(request_schema(offering), indent=2, sort_keys=False, ensure_ascii=False)
        out[file_name(offering)] = (text + "\n").encode()
    return out
