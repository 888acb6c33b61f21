"""A human-readable description of a schema (used by ``htlink schema describe``)."""

from __future__ import annotations

from typing import Any

from htlink.schema.model import DateFormat, EnumFormat, IntegerFormat, LinkageSchema, StringFormat


def _format_text(fmt: Any) -> str:
    if isinstance(fmt, StringFormat):
        parts = ["string", fmt.encoding]
        if fmt.pattern:
            parts.append(f"pattern {fmt.pattern}")
        if fmt.case != "mixed":
            parts.append(fmt.case)
        if fmt.min_length is not None or fmt.max_length is not None:
            parts.append(f"length {fmt.min_length or 0}-{fmt.max_length or 'any'}")
        return ", ".join(parts)
    if isinstance(fmt, IntegerFormat):
        low = "" if fmt.minimum is None else fmt.minimum
        high = "" if fmt.maximum is None else fmt.maximum
        return f"integer {low}..{high}"
    if isinstance(fmt, DateFormat):
        return f"date {fmt.format}"
    if isinstance(fmt, EnumFormat):
        return f"enum of {len(fmt.values)}"
    return ""


def describe_schema(schema: LinkageSchema) -> dict[str, Any]:
    clk = schema.clk
    kdf = clk.kdf
    summary = (
        f"CLK length {clk.l} bits"
        + (f" ({clk.xor_folds} XOR fold(s) of {clk.hash_length})" if clk.xor_folds else "")
        + f"; keys by HKDF-{kdf.hash}, {kdf.key_size}-byte keys"
        + (", with salt" if kdf.salt else "")
        + (", with info" if kdf.info else "")
        + f"; {len(schema.hashed_features)} hashed and "
        + f"{len(schema.features) - len(schema.hashed_features)} ignored features."
    )
    rows = []
    for f in schema.features:
        if f.ignored or f.hashing is None:
            rows.append(
                {
                    "feature": f.identifier,
                    "format": "(ignored)",
                    "normalize": "",
                    "tokens": "",
                    "bits": "",
                    "hash": "",
                    "missing": "",
                }
            )
            continue
        c = f.hashing.comparison
        if c.type == "ngram":
            tokens = f"{'positional ' if c.positional else ''}{c.n}-grams"
        elif c.type == "exact":
            tokens = "whole value"
        else:
            tokens = f"numeric, distance {c.threshold_distance}, resolution {c.resolution}"
        s = f.hashing.strategy
        bits = (
            f"{s.bits_per_token} per token"
            if s.bits_per_token
            else f"{s.bits_per_feature} per feature"
        )
        hash_text = f.hashing.hash_type + (
            " (non-singular)" if f.hashing.prevent_singularity else ""
        )
        mv = f.hashing.missing_value
        missing = (
            ""
            if mv is None
            else f"sentinel {mv.sentinel!r}"
            + (f" -> {mv.replace_with!r}" if mv.replace_with is not None else "")
        )
        rule = f.normalize
        rows.append(
            {
                "feature": f.identifier,
                "format": _format_text(f.format),
                "normalize": getattr(rule, "kind", "") if rule is not None else "(as written)",
                "tokens": tokens,
                "bits": bits,
                "hash": hash_text,
                "missing": missing,
            }
        )
    # salt, balanced, diffusion (t) and BLIP, as in ``htlink schema check``
    hardening = schema.hardening.describe()
    return {"summary": summary, "hardening": hardening, "features": rows}
