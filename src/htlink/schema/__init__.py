"""Linkage schemas: clkhash v3 compatible, validated, fingerprinted."""

from htlink.schema.fingerprint import canonical_json, schema_fingerprint
from htlink.schema.load import load_schema_file, parse_schema
from htlink.schema.model import EXTENSION_KEY, Feature, LinkageSchema

__all__ = [
    "EXTENSION_KEY",
    "Feature",
    "LinkageSchema",
    "canonical_json",
    "load_schema_file",
    "parse_schema",
    "schema_fingerprint",
]
