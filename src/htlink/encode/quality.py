"""The agency's data-quality report: look before you submit.

Per feature: completeness, values made missing by normalization or by the
schema's format (with the reasons, counted), distinct values, the share of the
most frequent value (a placeholder such as "UNKNOWN" shows up here), and the
bits the feature sets; for the encodings, the popcount distribution.  The
report holds counts only -- no value of any record -- so it can be shared with
the project coordinator.  It is written as JSON, as a self-contained HTML page
with a chart, and printed as a table.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from htlink.encode.bloom import EncodedChunk

LOW_COMPLETENESS = 0.90
PLACEHOLDER_SHARE = 0.05
LOW_POPCOUNT_SHARE = 0.05


class _DistinctCounter:
    """Distinct values and the most frequent value's count, in bounded memory.

    Exact (from 64-bit hashes of the values) up to ``max_exact`` distinct values.
    Beyond that it switches to a k-minimum-values sketch for the distinct count
    (relative error about 1/sqrt(k), under 0.5% for k = 65,536) and keeps the
    heaviest candidates of every chunk for the top value, whose count is then a
    lower bound.  ``estimated`` says which mode produced the figures.
    """

    def __init__(self, max_exact: int = 1_000_000, sketch_size: int = 65_536) -> None:
        self.max_exact = max_exact
        self.sketch_size = sketch_size
        self.estimated = False
        self._hashes = np.zeros(0, dtype=np.uint64)
        self._counts = np.zeros(0, dtype=np.int64)
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._pending_size = 0
        self._heavy: Counter[int] = Counter()

    def add(self, values: pd.Series) -> None:
        present = values[values.notna()]
        if present.empty:
            return
        hashed = pd.util.hash_array(present.to_numpy(dtype=object))
        uniq, counts = np.unique(hashed, return_counts=True)
        if self.estimated:
            self._add_sketch(uniq, counts)
            return
        self._pending.append((uniq, counts))
        self._pending_size += len(uniq)
        if self._pending_size > self.max_exact:
            self._compact()

    def _compact(self) -> None:
        if not self._pending:
            return
        hashes = np.concatenate([self._hashes, *[h for h, _ in self._pending]])
        counts = np.concatenate([self._counts, *[c for _, c in self._pending]])
        uniq, inverse = np.unique(hashes, return_inverse=True)
        self._hashes = uniq
        self._counts = np.bincount(inverse, weights=counts).astype(np.int64)
        self._pending, self._pending_size = [], 0
        if len(self._hashes) > self.max_exact:
            self.estimated = True
            hashes, counts = self._hashes, self._counts
            self._hashes = np.zeros(0, dtype=np.uint64)
            self._counts = np.zeros(0, dtype=np.int64)
            self._add_sketch(hashes, counts)

    def _add_sketch(self, uniq: np.ndarray, counts: np.ndarray) -> None:
        top = np.argsort(counts)[-64:]
        for h, c in zip(uniq[top].tolist(), counts[top].tolist(), strict=True):
            self._heavy[h] += c
        if len(self._heavy) > 4096:
            self._heavy = Counter(dict(self._heavy.most_common(1024)))
        self._hashes = np.union1d(self._hashes, uniq)[: self.sketch_size]

    def result(self) -> tuple[int, int]:
        self._compact()
        if not self.estimated:
            top = int(self._counts.max()) if len(self._counts) else 0
            return len(self._hashes), top
        kth = float(self._hashes[-1]) + 1.0
        distinct = round((len(self._hashes) - 1) * 2.0**64 / kth)
        top = max(self._heavy.values()) if self._heavy else 0
        return distinct, top


@dataclass
class FeatureQuality:
    feature: str
    column: str | None
    records: int = 0
    input_missing: int = 0
    invalid: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    repaired: int = 0
    changed: int = 0
    bits_set: int = 0
    distinct: int = 0
    top_count: int = 0
    _distinct: _DistinctCounter = field(default_factory=_DistinctCounter, repr=False)

    @property
    def present(self) -> int:
        return self.records - self.input_missing - self.invalid

    @property
    def completeness(self) -> float:
        return self.present / self.records if self.records else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "column": self.column,
            "records": self.records,
            "present": self.present,
            "completeness": round(self.completeness, 4),
            "missing_in_input": self.input_missing,
            "invalid_made_missing": self.invalid,
            "invalid_reasons": dict(sorted(self.reasons.items())),
            "repaired": self.repaired,
            "changed_by_normalization": self.changed,
            "distinct_values": self.distinct,
            "distinct_values_estimated": self._distinct.estimated,
            "top_value_share": round(self.top_count / self.present, 4) if self.present else 0.0,
            "mean_bits_set": round(self.bits_set / self.records, 2) if self.records else 0.0,
        }


class QualityAccumulator:
    """Collects the report's counts chunk by chunk."""

    def __init__(self, features: dict[str, str | None], bit_length: int) -> None:
        self.features = {f: FeatureQuality(f, col) for f, col in features.items()}
        self.bit_length = bit_length
        self.popcount_hist = np.zeros(bit_length + 1, dtype=np.int64)
        self.records = 0
        self.consent_excluded = 0
        self.consent_unrecognized = 0

    def add_normalization(
        self,
        feature: str,
        values: pd.Series,
        *,
        input_missing: int,
        invalid: int,
        reasons: dict[str, int] | None = None,
        repaired: int = 0,
        changed: int = 0,
    ) -> None:
        q = self.features[feature]
        q.input_missing += input_missing
        q.invalid += invalid
        q.reasons.update(reasons or {})
        q.repaired += repaired
        q.changed += changed
        q._distinct.add(values)

    def add_encoded(self, chunk: EncodedChunk) -> None:
        n = len(chunk.popcounts)
        self.records += n
        self.popcount_hist += np.bincount(chunk.popcounts, minlength=self.bit_length + 1)
        for name, counts in chunk.features.items():
            q = self.features[name]
            q.records += n
            q.bits_set += counts.bits_set
            # values that passed normalization but failed the schema's format
            q.invalid += counts.invalid
            if counts.invalid:
                q.reasons["fails_schema_format"] += counts.invalid

    def finish(self) -> QualityReport:
        for q in self.features.values():
            q.distinct, q.top_count = q._distinct.result()
        return QualityReport(self)


def _reasons_text(reasons: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in reasons.items())


class QualityReport:
    def __init__(self, acc: QualityAccumulator) -> None:
        self.records = acc.records
        self.bit_length = acc.bit_length
        self.features = [q.to_dict() for q in acc.features.values()]
        self.popcount_hist = acc.popcount_hist
        self.consent_excluded = acc.consent_excluded
        self.consent_unrecognized = acc.consent_unrecognized
        self.warnings = self._warnings()

    def popcount_summary(self) -> dict[str, float]:
        hist = self.popcount_hist
        if not hist.sum():
            return {"mean": 0.0, "min": 0, "p05": 0, "median": 0, "p95": 0, "max": 0}
        values = np.arange(len(hist))
        cdf = np.cumsum(hist) / hist.sum()

        def q(p: float) -> int:
            return int(values[np.searchsorted(cdf, p)])

        return {
            "mean": round(float((values * hist).sum() / hist.sum()), 2),
            "min": int(values[hist > 0].min()),
            "p05": q(0.05),
            "median": q(0.5),
            "p95": q(0.95),
            "max": int(values[hist > 0].max()),
            "fill_ratio": round(float((values * hist).sum() / hist.sum()) / self.bit_length, 4),
        }

    def _warnings(self) -> list[str]:
        out = []
        for f in self.features:
            if f["column"] is None:
                continue  # declared absent: the agency does not hold this feature
            if f["records"] and f["completeness"] < LOW_COMPLETENESS:
                out.append(
                    f"{f['feature']}: only {f['completeness']:.0%} of records have a usable value "
                    f"({f['missing_in_input']} missing in the file, {f['invalid_made_missing']} "
                    "invalid). Check the column mapping and the export."
                )
            if (
                f["present"] >= 20
                and f["distinct_values"] >= 50
                and f["top_value_share"] > PLACEHOLDER_SHARE
            ):
                out.append(
                    f"{f['feature']}: one value accounts for {f['top_value_share']:.0%} of the "
                    "records that have one. If it is a placeholder (UNKNOWN, 01/01/1900, 99999), "
                    "blank it in the extract so it is treated as missing."
                )
        hist = self.popcount_hist
        low = int(hist[: max(1, int(self.bit_length * 0.05))].sum())
        if self.records and low / self.records > LOW_POPCOUNT_SHARE:
            out.append(
                f"{low} records ({low / self.records:.0%}) set fewer than 5% of the bits: they "
                "have almost nothing to match on."
            )
        if self.consent_excluded:
            out.append(
                f"{self.consent_excluded} records were kept out of the submission because they "
                "lack consent to share"
                + (
                    f" ({self.consent_unrecognized} of them had an unrecognized consent value)."
                    if self.consent_unrecognized
                    else "."
                )
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "records_encoded": self.records,
            "records_kept_out_for_consent": self.consent_excluded,
            "bit_length": self.bit_length,
            "features": self.features,
            "popcount": self.popcount_summary(),
            "popcount_histogram": self.popcount_hist.tolist(),
            "warnings": self.warnings,
        }

    def write_json(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    def popcount_png(self) -> bytes:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 3.2), dpi=110)
        hist = self.popcount_hist
        nz = np.nonzero(hist)[0]
        lo, hi = (int(nz.min()), int(nz.max())) if len(nz) else (0, self.bit_length)
        pad = max(5, (hi - lo) // 10)
        xs = np.arange(max(0, lo - pad), min(self.bit_length, hi + pad) + 1)
        ax.bar(xs, hist[xs], width=1.0, color="#3a6ea5")
        ax.set_xlabel(f"bits set per encoding (of {self.bit_length})")
        ax.set_ylabel("records")
        ax.set_title("Popcount distribution of the encodings")
        ax.spines[["top", "right"]].set_visible(False)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        plt.close(fig)
        return buf.getvalue()

    def write_html(self, path: Path, *, agency: str, schema_fingerprint: str) -> None:
        png = base64.b64encode(self.popcount_png()).decode()
        pc = self.popcount_summary()
        rows = "".join(
            "<tr>"
            f"<td>{html.escape(f['feature'])}</td>"
            f"<td>{html.escape(str(f['column'] or '(absent)'))}</td>"
            f"<td class=n>{f['completeness']:.1%}</td>"
            f"<td class=n>{f['missing_in_input']}</td>"
            f"<td class=n>{f['invalid_made_missing']}</td>"
            f"<td>{html.escape(_reasons_text(f['invalid_reasons']))}</td>"
            f"<td class=n>{f['distinct_values']}</td>"
            f"<td class=n>{f['top_value_share']:.1%}</td>"
            f"<td class=n>{f['mean_bits_set']}</td>"
            "</tr>"
            for f in self.features
        )
        warnings = (
            "<ul class=warn>"
            + "".join(f"<li>{html.escape(w)}</li>" for w in self.warnings)
            + "</ul>"
            if self.warnings
            else "<p class=ok>No warnings.</p>"
        )
        page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>htlink data-quality report: {html.escape(agency)}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2rem;max-width:1100px;color:#1d2733}}
table{{border-collapse:collapse;width:100%}}
th,td{{padding:.35rem .6rem;border-bottom:1px solid #dde3ea;text-align:left}}
td.n{{text-align:right;font-variant-numeric:tabular-nums}}th{{background:#eef2f6}}
.warn li{{color:#8a4b00}}.ok{{color:#2b6b2b}}code{{background:#eef2f6;padding:0 .2rem}}
</style></head><body>
<h1>Data-quality report</h1>
<p>Agency <b>{html.escape(agency)}</b> &middot; {self.records} records encoded &middot;
{self.consent_excluded} kept out for consent &middot;
schema <code>{html.escape(schema_fingerprint[:19])}&hellip;</code></p>
<p>This report holds counts only; it contains no value of any record.</p>
<h2>Warnings</h2>{warnings}
<h2>Features</h2>
<table><tr><th>feature</th><th>column</th><th>complete</th><th>missing in file</th>
<th>invalid &rarr; missing</th><th>reasons</th><th>distinct</th><th>top value share</th>
<th>mean bits set</th></tr>
{rows}</table>
<h2>Encodings</h2>
<p>Bits set per encoding: mean {pc["mean"]}, median {pc["median"]}, 5th&ndash;95th percentile
{pc["p05"]}&ndash;{pc["p95"]}, range {pc["min"]}&ndash;{pc["max"]} of {self.bit_length}.</p>
<img alt="Histogram of bits set per encoding" src="data:image/png;base64,{png}">
<h2>How to read this</h2>
<ul>
<li><b>complete</b>: share of records with a usable value after normalization. Low completeness
on a name or date of birth lowers the chance of finding a person's other records.</li>
<li><b>invalid &rarr; missing</b>: values that could not be read (an impossible date, a ZIP
with letters) and were encoded as missing rather than guessed.</li>
<li><b>top value share</b>: how common the most frequent value is. A high share on a name or
date usually means a placeholder was exported; blank placeholders in the extract.</li>
<li><b>bits set</b>: encodings with very few bits set have little to match on; a very
narrow distribution is expected from the <code>bitsPerFeature</code> strategy.</li>
</ul>
</body></html>
"""
        path.write_text(page, encoding="utf-8")
