"""Generate golden CLK test vectors from the reference implementation clkhash 0.18.3.

The output, ``tests/golden/clkhash-0.18.3-vectors.json``, pins the exact bytes that
clkhash 0.18.3 produces for a wide range of linkage schemas, records and secrets. htlink's
encoder must reproduce every CLK in that file bit for bit.

This script is NOT part of the product and must not be imported by it. It runs only in the
separate "peers" virtualenv that has the reference packages installed (see
``benchmarks/peers-requirements.txt``)::

    cd /work/main   # the repository root
    /work/peers/bin/python tests/golden/make_clkhash_vectors.py

To rebuild the peers virtualenv from scratch::

    python3.11 -m venv /work/peers
    /work/peers/bin/pip install -r benchmarks/peers-requirements.txt

The output is deterministic: fixed secrets, a fixed-seed sample of FEBRL4 records,
``sort_keys=True`` and ``indent=1``. Re-running with the same package versions on a
little-endian Linux/glibc machine must reproduce the committed file byte for byte
(``git diff --exit-code tests/golden/`` after regenerating).

Besides writing vectors, the script checks (and aborts on any mismatch) the clkhash quirks
documented in ``tests/golden/README.md``: ``xor_folds`` vs ``xorFolds``,
``fractional_precision`` vs ``fractionalPrecision``, per-index key derivation including
ignored features, value normalisation for integer and date formats, and so on.
"""

from __future__ import annotations

import base64
import copy
import csv
import hashlib
import json
import platform
import random
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import recordlinkage
from bitarray import bitarray
from clkhash import bloomfilter, clk, key_derivation
from clkhash import schema as clkschema

JSONDict = dict[str, Any]
Record = list[str]

CLKHASH_VERSION = "0.18.3"
OUT_PATH = Path(__file__).resolve().parent / f"clkhash-{CLKHASH_VERSION}-vectors.json"

# Secrets. HEX_SECRET is htlink's default key form (64 hex chars); clkhash treats it as a
# plain text string and UTF-8 encodes it (it is NOT hex-decoded to 32 bytes).
HEX_SECRET = hashlib.sha256(b"htlink golden vectors for clkhash 0.18.3").hexdigest()
PASSPHRASE_SECRET = "secret"
UNICODE_SECRET = "Geheimnis-ünïcødé-секрет-秘密-🔑"

SAMPLE_SEED = 20240917
FEBRL_COLUMNS = [
    "rec_id",
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "soc_sec_id",
]
FEBRL_STATES = ["act", "nsw", "nt", "qld", "sa", "tas", "vic", "wa"]

# Strings that stress tokenisation: empty, very short, repeated characters, whitespace,
# NFC vs NFD, Latin-1, Latin Extended, Cyrillic, CJK, Hangul, Greek, RTL scripts, emoji
# outside the BMP, ZWJ sequences, regional-indicator flags and a long value.
EDGE_STRINGS: list[str] = [
    "",
    "a",
    "ab",
    "abc",
    "Bob",
    "Robert",
    "aaaa",
    "o'brien",
    "van der berg",
    "  spaced  ",
    "tab\there",
    "MiXeD Case",
    "1234567890",
    "José",
    "Jose\u0301",
    "Zoë",
    "Müller",
    "straße",
    "Łukasz",
    "Ærøskøbing",
    "Дмитрий",
    "Иванов",
    "王小明",
    "山田太郎",
    "김민준",
    "Ωμέγα",
    "עברית",
    "مرحبا",
    "😀",
    "a😀b",
    "👩\u200d👩\u200d👧",
    "🇦🇺",
    "x" * 50,
]
ASCII_EDGE_STRINGS = [s for s in EDGE_STRINGS if s.isascii()]


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------


def check(condition: bool, message: str) -> None:
    """Abort generation if an observed clkhash behaviour differs from what we document."""
    if not condition:
        raise SystemExit(f"clkhash behaviour check failed: {message}")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def serialize(ba: bitarray) -> str:
    return base64.b64encode(ba.tobytes()).decode()


def encode(schema_dict: JSONDict, records: Sequence[Sequence[str]], secret: str) -> list[bitarray]:
    """Run clkhash on a deep copy of ``schema_dict`` (clkhash mutates the dict it is given)."""
    schema_obj = clkschema.from_json_dict(copy.deepcopy(schema_dict))
    clks: list[bitarray] = clk.generate_clks(
        [list(r) for r in records], schema_obj, secret, validate=True, max_workers=1
    )
    return clks


def same_clks(a: Sequence[bitarray], b: Sequence[bitarray]) -> bool:
    return len(a) == len(b) and all(x == y for x, y in zip(a, b, strict=True))


def all_differ(a: Sequence[bitarray], b: Sequence[bitarray]) -> bool:
    """True if every pair of CLKs that is not all-zero differs."""
    return all(x != y for x, y in zip(a, b, strict=True) if x.any() or y.any())


# Schema builders ----------------------------------------------------------------------


def ngram(n: int, positional: bool | None = None) -> JSONDict:
    comparison: JSONDict = {"type": "ngram", "n": n}
    if positional is not None:
        comparison["positional"] = positional
    return comparison


def exact() -> JSONDict:
    return {"type": "exact"}


def numeric(
    threshold: float,
    resolution: int,
    precision: int | None = None,
    precision_key: str = "fractional_precision",
) -> JSONDict:
    comparison: JSONDict = {
        "type": "numeric",
        "thresholdDistance": threshold,
        "resolution": resolution,
    }
    if precision is not None:
        comparison[precision_key] = precision
    return comparison


def bpt(k: int) -> JSONDict:
    return {"bitsPerToken": k}


def bpf(k: int) -> JSONDict:
    return {"bitsPerFeature": k}


BLAKE: JSONDict = {"type": "blakeHash"}
DOUBLE: JSONDict = {"type": "doubleHash"}
DOUBLE_NS: JSONDict = {"type": "doubleHash", "prevent_singularity": True}


def string_fmt(encoding: str | None = None, **extra: Any) -> JSONDict:
    fmt: JSONDict = {"type": "string"}
    if encoding is not None:
        fmt["encoding"] = encoding
    fmt.update(extra)
    return fmt


def feature(
    identifier: str,
    fmt: JSONDict,
    comparison: JSONDict,
    strategy: JSONDict,
    hash_: JSONDict | None = None,
    missing: JSONDict | None = None,
) -> JSONDict:
    hashing: JSONDict = {"comparison": comparison, "strategy": strategy}
    if hash_ is not None:
        hashing["hash"] = dict(hash_)
    if missing is not None:
        hashing["missingValue"] = missing
    return {"identifier": identifier, "format": fmt, "hashing": hashing}


def ignored(identifier: str) -> JSONDict:
    return {"identifier": identifier, "ignored": True}


def make_schema(
    features: list[JSONDict],
    l: int = 1024,  # noqa: E741 - clkhash's own name for the filter length
    kdf: JSONDict | None = None,
    **clk_extra: Any,
) -> JSONDict:
    clk_config: JSONDict = {"l": l, "kdf": kdf if kdf is not None else {"type": "HKDF"}}
    clk_config.update(clk_extra)
    return {"version": 3, "clkConfig": clk_config, "features": features}


def with_hash(features: list[JSONDict], hash_: JSONDict) -> list[JSONDict]:
    """Copy of ``features`` with every non-ignored feature switched to ``hash_``."""
    out = copy.deepcopy(features)
    for f in out:
        if not f.get("ignored", False):
            f["hashing"]["hash"] = dict(hash_)
    return out


def set_clk(schema_dict: JSONDict, **clk_changes: Any) -> JSONDict:
    out = copy.deepcopy(schema_dict)
    out["clkConfig"].update(clk_changes)
    return out


# --------------------------------------------------------------------------------------
# FEBRL4 data
# --------------------------------------------------------------------------------------


def febrl4_path() -> Path:
    return Path(recordlinkage.__file__).parent / "datasets" / "febrl" / "dataset4a.csv"


def load_febrl4() -> list[Record]:
    with febrl4_path().open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f, skipinitialspace=True))
    check(rows[0] == FEBRL_COLUMNS, f"unexpected FEBRL4 header {rows[0]}")
    body = [[v.strip() for v in row] for row in rows[1:]]
    check(all(len(r) == len(FEBRL_COLUMNS) for r in body), "ragged FEBRL4 rows")
    return body


def valid_yyyymmdd(value: str) -> bool:
    try:
        datetime.strptime(value, "%Y%m%d")
    except ValueError:
        return False
    return True


def sample_febrl(rows: list[Record], n: int) -> list[Record]:
    """Deterministic sample of ``n`` rows, always including rows with missing values.

    Rows keep their file order. The first 10 rows (in file order) that have at least two
    empty cells are always included so that every FEBRL case exercises empty values.
    """
    forced = [i for i, r in enumerate(rows) if sum(v == "" for v in r) >= 2][:10]
    forced += [i for i, r in enumerate(rows) if r[8] == ""][:2]  # empty state
    forced = sorted(set(forced))
    rest = [i for i in range(len(rows)) if i not in set(forced)]
    rng = random.Random(SAMPLE_SEED)
    chosen = sorted(forced + rng.sample(rest, n - len(forced)))
    return [list(rows[i]) for i in chosen]


def febrl_features(hash_: JSONDict) -> list[JSONDict]:
    """The FEBRL-style schema: rec_id ignored, everything else hashed."""
    return [
        ignored("rec_id"),
        feature("given_name", string_fmt("utf-8"), ngram(2, False), bpt(15), hash_),
        feature("surname", string_fmt("utf-8"), ngram(2, False), bpt(15), hash_),
        feature("street_number", string_fmt("utf-8"), ngram(2, False), bpt(10), hash_),
        feature("address_1", string_fmt("utf-8"), ngram(2, False), bpt(10), hash_),
        feature("address_2", string_fmt("utf-8"), ngram(2, False), bpt(10), hash_),
        feature("suburb", string_fmt("utf-8"), ngram(2, False), bpt(10), hash_),
        feature(
            "postcode", string_fmt("utf-8", pattern="[0-9]{4}"), ngram(1, True), bpt(20), hash_
        ),
        feature(
            "state",
            {"type": "enum", "values": FEBRL_STATES},
            exact(),
            bpt(20),
            hash_,
            missing={"sentinel": ""},
        ),
        feature("date_of_birth", string_fmt("utf-8"), ngram(2, True), bpt(10), hash_),
        feature("soc_sec_id", string_fmt("utf-8"), ngram(2, False), bpt(10), hash_),
    ]


def small_febrl_features() -> list[JSONDict]:
    return [
        ignored("rec_id"),
        feature("given_name", string_fmt(), ngram(2), bpt(20)),
        feature("surname", string_fmt(), ngram(2), bpt(20)),
        feature("date_of_birth", string_fmt(), ngram(2, True), bpt(10)),
    ]


def small_febrl_records(rows: list[Record]) -> list[Record]:
    return [[r[0], r[1], r[2], r[9]] for r in rows]


def twenty_feature_records(rows: list[Record]) -> list[Record]:
    out: list[Record] = []
    for i, r in enumerate(rows):
        rec_id, given, surname, street_no, addr1, addr2, suburb, postcode, state, dob, ssid = r
        if dob and not valid_yyyymmdd(dob):
            continue
        dob_dmy = ""
        birth_year = ""
        if dob:
            d = datetime.strptime(dob, "%Y%m%d")
            dob_dmy = f"{d.day}/{d.month}/{d.year}"  # deliberately not zero padded
            birth_year = str(d.year)
        out.append(
            [
                rec_id,
                given,
                surname,
                street_no,
                addr1,
                addr2,
                suburb,
                postcode,
                state,
                dob,
                ssid,
                given[:1],
                surname.upper(),
                birth_year,
                f"note {i}",
                f"{given} {surname}".strip(),
                postcode[:2],
                dob_dmy,
                surname,
                "febrl4",
            ]
        )
    return out


def twenty_features() -> list[JSONDict]:
    empty = {"sentinel": ""}
    return [
        ignored("rec_id"),
        feature("given_name", string_fmt(), ngram(2), bpt(20)),
        feature("surname", string_fmt(), ngram(2), bpt(20), DOUBLE),
        feature(
            "street_number",
            {"type": "integer", "minimum": 0},
            ngram(1, True),
            bpt(10),
            missing=empty,
        ),
        feature("address_1", string_fmt(), ngram(3), bpf(100)),
        feature("address_2", string_fmt(), ngram(2), bpt(8), missing=empty),
        feature("suburb", string_fmt(), ngram(2, True), bpt(10), DOUBLE_NS),
        feature(
            "postcode",
            {"type": "integer", "minimum": 0, "maximum": 9999},
            numeric(100, 3),
            bpt(8),
        ),
        feature("state", {"type": "enum", "values": FEBRL_STATES}, exact(), bpt(30), missing=empty),
        feature(
            "date_of_birth",
            {"type": "date", "format": "%Y%m%d"},
            ngram(2, True),
            bpt(12),
            missing=empty,
        ),
        feature("soc_sec_id", string_fmt(pattern="[0-9]{7}"), exact(), bpt(40), DOUBLE_NS),
        feature("given_initial", string_fmt(maxLength=1), exact(), bpt(10)),
        feature("surname_upper", string_fmt(case="upper"), ngram(1), bpt(5)),
        feature("birth_year", {"type": "integer"}, numeric(5, 2), bpt(10), missing=empty),
        ignored("notes"),
        feature("full_name", string_fmt(), ngram(2), bpf(200), DOUBLE),
        feature("postcode_prefix", string_fmt(pattern="[0-9]{2}"), exact(), bpt(15)),
        feature(
            "dob_dmy",
            {"type": "date", "format": "%d/%m/%Y"},
            ngram(1, True),
            bpt(6),
            missing=empty,
        ),
        feature("surname_utf16", string_fmt("utf-16"), ngram(2), bpt(10)),
        ignored("source"),
    ]


# --------------------------------------------------------------------------------------
# Case collection
# --------------------------------------------------------------------------------------


class CaseBook:
    """Collects cases, runs clkhash once per case and keeps the CLKs for cross-checks."""

    def __init__(self) -> None:
        self.cases: list[JSONDict] = []
        self.clks: dict[str, list[bitarray]] = {}

    def add(
        self,
        name: str,
        description: str | Callable[[list[bitarray]], str],
        schema_dict: JSONDict,
        secret: str,
        records: Sequence[Sequence[str]],
    ) -> list[bitarray]:
        check(name not in self.clks, f"duplicate case name {name}")
        n_features = len(schema_dict["features"])
        for r in records:
            check(len(r) == n_features, f"{name}: record {r!r} has wrong length")
        original = copy.deepcopy(schema_dict)
        clks = encode(schema_dict, records, secret)
        check(schema_dict == original, f"{name}: schema dict was mutated by encode()")
        expected_len = schema_dict["clkConfig"]["l"]
        check(all(len(c) == expected_len for c in clks), f"{name}: unexpected CLK length")
        text = description(clks) if callable(description) else description
        self.cases.append(
            {
                "name": name,
                "description": text,
                "schema": original,
                "secret": secret,
                "records": [list(r) for r in records],
                "clks": [serialize(c) for c in clks],
                "popcounts": [c.count() for c in clks],
            }
        )
        self.clks[name] = clks
        return clks


# --------------------------------------------------------------------------------------
# Case groups
# --------------------------------------------------------------------------------------


def febrl_cases(book: CaseBook, febrl200: list[Record]) -> None:
    febrl100 = febrl200[:100]
    base = make_schema(
        febrl_features(BLAKE), 1024, {"type": "HKDF", "hash": "SHA256", "keySize": 64}
    )
    book.add(
        "febrl4-blake-bpt-l1024",
        "Main FEBRL4 vector: 200 dataset4a records, rec_id ignored, names/address n=2 "
        "n-grams, postcode positional unigrams, state enum+exact with missingValue "
        "sentinel '' (empty state -> no tokens), date_of_birth positional bigrams, "
        "blakeHash, bitsPerToken, l=1024, 64-hex-char secret (UTF-8 encoded as text).",
        base,
        HEX_SECRET,
        febrl200,
    )

    double = make_schema(febrl_features(DOUBLE), 1024, {"type": "HKDF"})
    book.add(
        "febrl4-double-l1024",
        "As febrl4-blake-bpt-l1024 but doubleHash (no prevent_singularity key) and the "
        "minimal kdf {'type': 'HKDF'} (defaults: SHA256, no salt, no info, keySize 64).",
        double,
        HEX_SECRET,
        febrl200,
    )
    explicit_false = make_schema(
        febrl_features({"type": "doubleHash", "prevent_singularity": False}), 1024
    )
    check(
        same_clks(book.clks["febrl4-double-l1024"], encode(explicit_false, febrl200, HEX_SECRET)),
        "doubleHash prevent_singularity=false differs from absent",
    )
    book.add(
        "febrl4-double-nonsingular-l1024",
        lambda clks: (
            "As febrl4-double-l1024 with prevent_singularity true on every feature. "
            "Explicit prevent_singularity false was verified to equal the key being absent. "
            f"{sum(a != b for a, b in zip(clks, book.clks['febrl4-double-l1024'], strict=True))}"
            " of the 200 CLKs differ from febrl4-double-l1024 (records containing a token "
            "whose HMAC-MD5 is 0 mod 1024)."
        ),
        make_schema(febrl_features(DOUBLE_NS), 1024),
        HEX_SECRET,
        febrl200,
    )
    book.add(
        "febrl4-double-l1000",
        "doubleHash with l=1000 (not a power of two; allowed for doubleHash only).",
        make_schema(febrl_features(DOUBLE), 1000),
        HEX_SECRET,
        febrl200,
    )
    book.add(
        "febrl4-double-l1001",
        "doubleHash with l=1001 (not a multiple of 8): bitarray.tobytes() pads the last "
        "byte with zero bits (big-endian bit order), so the base64 holds 126 bytes.",
        make_schema(febrl_features(DOUBLE), 1001),
        HEX_SECRET,
        febrl200,
    )
    book.add(
        "febrl4-double-nonsingular-l1001",
        "doubleHash with prevent_singularity true and l=1001.",
        make_schema(febrl_features(DOUBLE_NS), 1001),
        HEX_SECRET,
        febrl100,
    )

    # l variants for blake
    for l in (512, 2048, 4096):  # noqa: E741
        book.add(
            f"febrl4-blake-l{l}",
            f"FEBRL schema, blakeHash, l={l}.",
            set_clk(base, l=l),
            HEX_SECRET,
            febrl100,
        )

    # blake with l not a power of two is rejected, but only once a token is hashed.
    blake1000 = set_clk(base, l=1000)
    try:
        encode(blake1000, febrl100[:1], HEX_SECRET)
        rejected = False
    except ValueError:
        rejected = True
    check(rejected, "blakeHash accepted l=1000")
    one_feature = make_schema([feature("v", string_fmt(), ngram(2), bpt(10))], 1000)
    zeros = encode(one_feature, [[""]], HEX_SECRET)
    check(len(zeros[0]) == 1000 and not zeros[0].any(), "blake l=1000 all-empty record")


def xor_cases(book: CaseBook, febrl200: list[Record]) -> None:
    recs = febrl200[:100]
    base = make_schema(
        febrl_features(BLAKE), 1024, {"type": "HKDF", "hash": "SHA256", "keySize": 64}
    )
    unfolded_2048 = encode(set_clk(base, l=2048), recs, HEX_SECRET)
    unfolded_4096 = encode(set_clk(base, l=4096), recs, HEX_SECRET)
    f1 = book.add(
        "febrl4-blake-xor_folds1",
        "clkConfig.xor_folds=1 (snake case, the key clkhash 0.18.3 actually reads): hashed "
        "into l*2=2048 bits, then the two halves XORed -> 1024 bits. Verified equal to "
        "folding the l=2048 unfolded CLK once.",
        set_clk(base, xor_folds=1),
        HEX_SECRET,
        recs,
    )
    check(
        same_clks(f1, [bloomfilter.fold_xor(c, 1) for c in unfolded_2048]),
        "xor_folds=1 is not fold(l=2048)",
    )
    f2 = book.add(
        "febrl4-blake-xor_folds2",
        "clkConfig.xor_folds=2: hashed into 4096 bits, folded twice -> 1024 bits. "
        "Verified equal to folding the l=4096 unfolded CLK twice.",
        set_clk(base, xor_folds=2),
        HEX_SECRET,
        recs,
    )
    check(
        same_clks(f2, [bloomfilter.fold_xor(c, 2) for c in unfolded_4096]),
        "xor_folds=2 is not fold(l=4096)",
    )

    unfolded_1024 = encode(base, recs, HEX_SECRET)
    camel = set_clk(base, xorFolds=1)
    camel_clks = encode(camel, recs, HEX_SECRET)
    folded = not same_clks(camel_clks, unfolded_1024)
    check(not folded, "clkhash honoured camelCase xorFolds")
    book.add(
        "febrl4-blake-xorFolds1-camelcase",
        lambda clks: (
            "clkConfig.xorFolds=1 (camelCase, as documented in clkhash's v3 master schema). "
            "The master schema validates it, but clkhash 0.18.3 only reads 'xor_folds', so "
            f"clkhash did {'' if folded else 'NOT '}fold: the CLKs are identical to the "
            "unfolded l=1024 CLKs of the same records."
        ),
        camel,
        HEX_SECRET,
        recs,
    )

    dbl = make_schema(febrl_features(DOUBLE), 1024)
    d1 = book.add(
        "febrl4-double-xor_folds1",
        "doubleHash with xor_folds=1: tokens hashed modulo 2048, folded to 1024.",
        set_clk(dbl, xor_folds=1),
        HEX_SECRET,
        recs,
    )
    check(
        same_clks(
            d1, [bloomfilter.fold_xor(c, 1) for c in encode(set_clk(dbl, l=2048), recs, HEX_SECRET)]
        ),
        "double xor_folds=1 is not fold(l=2048)",
    )
    d2 = book.add(
        "febrl4-double-xor_folds2-l1001",
        "doubleHash with xor_folds=2 and l=1001: tokens hashed modulo 4004, folded twice to "
        "1001 bits.",
        set_clk(dbl, l=1001, xor_folds=2),
        HEX_SECRET,
        recs,
    )
    check(
        same_clks(
            d2, [bloomfilter.fold_xor(c, 2) for c in encode(set_clk(dbl, l=4004), recs, HEX_SECRET)]
        ),
        "double xor_folds=2 is not fold(l=4004)",
    )


def tokenizer_cases(book: CaseBook) -> None:
    records = [[s] for s in EDGE_STRINGS]
    variants: list[tuple[str, JSONDict, str]] = [
        ("ngram1", ngram(1), "n=1, 'positional' key absent (defaults to false)"),
        ("ngram1-pos", ngram(1, True), "n=1 positional: tokens '1 a', '2 b', ..."),
        ("ngram2", ngram(2, False), "n=2 non-positional, padded with one space each side"),
        ("ngram2-pos", ngram(2, True), "n=2 positional: '1  a', '2 ab', ..., 1-based"),
        ("ngram3", ngram(3), "n=3 non-positional, padded with two spaces each side"),
        ("ngram3-pos", ngram(3, True), "n=3 positional"),
        ("exact", exact(), "exact: the whole value is one token"),
    ]
    for suffix, comparison, text in variants:
        schema_dict = make_schema([feature("value", string_fmt(), comparison, bpt(10))])
        book.add(
            f"tokenize-{suffix}-blake",
            f"Single string feature, {text}; blakeHash (hash key absent -> default), "
            "bitsPerToken 10. Values include '', NFC and NFD 'José' (no Unicode "
            "normalisation is applied), non-BMP emoji and ZWJ sequences (n-grams are over "
            "Python code points). An empty value yields no tokens and an all-zero CLK.",
            schema_dict,
            HEX_SECRET,
            records,
        )
    combined = make_schema(
        [
            feature(f"value_{suffix}", string_fmt(), comparison, bpt(7), DOUBLE)
            for suffix, comparison, _ in variants
        ]
    )
    book.add(
        "tokenize-all-double",
        "Seven features (n=1, n=1 pos, n=2, n=2 pos, n=3, n=3 pos, exact) each holding the "
        "same value, doubleHash, bitsPerToken 7.",
        combined,
        HEX_SECRET,
        [[s] * len(variants) for s in EDGE_STRINGS],
    )
    nfc = EDGE_STRINGS.index("José")
    nfd = EDGE_STRINGS.index("Jose\u0301")
    clks = book.clks["tokenize-ngram2-blake"]
    check(clks[nfc] != clks[nfd], "NFC and NFD strings hash the same")
    check(not clks[EDGE_STRINGS.index("")].any(), "empty string sets bits")


def strategy_cases(book: CaseBook, names: list[str]) -> None:
    values = ["", "a", "ab", "abc", "Bob", "aaaa", "Robert", "Christopher", "x" * 40, "José", "王"]
    records = [[v, v, v, v, v] for v in values]
    for hash_name, hash_ in (("blake", BLAKE), ("double", DOUBLE)):
        book.add(
            f"strategy-bitsPerFeature-{hash_name}",
            "bitsPerFeature: k = int(bpf / num_tokens); the first (bpf % num_tokens) tokens, "
            "in token order and counting duplicate tokens, get k+1. Features: bpf 30 n=2; "
            "bpf 7 n=2 (long values -> some tokens get k=0); bpf 100 n=1 positional (short "
            "values -> k > 32, i.e. several BLAKE2b calls per token); bpf 13 n=3; bpf 1 "
            f"exact. {hash_name}Hash.",
            make_schema(
                [
                    feature("bpf30_n2", string_fmt(), ngram(2), bpf(30), hash_),
                    feature("bpf7_n2", string_fmt(), ngram(2), bpf(7), hash_),
                    feature("bpf100_n1pos", string_fmt(), ngram(1, True), bpf(100), hash_),
                    feature("bpf13_n3", string_fmt(), ngram(3), bpf(13), hash_),
                    feature("bpf1_exact", string_fmt(), exact(), bpf(1), hash_),
                ]
            ),
            HEX_SECRET,
            records,
        )
    # bitsPerToken around the 32-index-per-BLAKE2b-call boundary
    name_records = [[n] * 6 for n in names[:40]]
    book.add(
        "strategy-bitsPerToken-multimac-blake",
        "blakeHash with bitsPerToken 1, 31, 32, 33, 64 and 100: each BLAKE2b-512 call "
        "(salt str(i).encode()) yields 32 little-endian uint16 indices, so k > 32 needs "
        "several calls.",
        make_schema(
            [
                feature(f"bpt{k}", string_fmt(), ngram(2), bpt(k), BLAKE)
                for k in (1, 31, 32, 33, 64, 100)
            ]
        ),
        HEX_SECRET,
        name_records,
    )
    book.add(
        "strategy-bitsPerToken-large-double",
        "doubleHash with bitsPerToken 1, 33 and 100.",
        make_schema(
            [feature(f"bpt{k}", string_fmt(), ngram(2), bpt(k), DOUBLE) for k in (1, 33, 100)]
        ),
        HEX_SECRET,
        [[n] * 3 for n in names[:40]],
    )


def missing_value_cases(book: CaseBook) -> None:
    features = [
        feature("s_sentinel_only", string_fmt(), ngram(2), bpt(10), missing={"sentinel": "N/A"}),
        feature(
            "s_sentinel_to_empty",
            string_fmt(),
            ngram(2),
            bpt(10),
            missing={"sentinel": "N/A", "replaceWith": ""},
        ),
        feature(
            "s_empty_to_word",
            string_fmt(),
            ngram(2),
            bpt(10),
            missing={"sentinel": "", "replaceWith": "missing"},
        ),
        feature(
            "int_sentinel_replace",
            {"type": "integer"},
            ngram(1, True),
            bpt(10),
            missing={"sentinel": "unknown", "replaceWith": "+0"},
        ),
        feature(
            "date_sentinel_replace",
            {"type": "date", "format": "%d/%m/%Y"},
            ngram(2, True),
            bpt(10),
            missing={"sentinel": "00/00/0000", "replaceWith": "1900-01-01"},
        ),
        feature(
            "enum_empty_replace",
            {"type": "enum", "values": ["M", "F"]},
            exact(),
            bpt(20),
            missing={"sentinel": "", "replaceWith": "U"},
        ),
        feature(
            "pattern_sentinel",
            string_fmt(pattern="[A-Z]{3}"),
            ngram(2),
            bpt(10),
            missing={"sentinel": "???"},
        ),
        feature(
            "numeric_sentinel",
            string_fmt(),
            numeric(5, 2),
            bpt(10),
            missing={"sentinel": "N/A", "replaceWith": ""},
        ),
    ]
    records = [
        ["alice", "bob", "carol", "12", "01/02/1990", "F", "ABC", "42"],
        ["N/A", "N/A", "", "unknown", "00/00/0000", "", "???", "N/A"],
        ["N/A", "bob", "carol", "0", "31/12/1899", "M", "XYZ", "7.5"],
        ["n/a", "n/a", "missing", "+0", "01/01/1900", "F", "NAA", "0"],
        ["", "", "x", "-5", "29/02/2000", "M", "QQQ", ""],
        ["N/A ", "NA", " ", " 7", "1/1/1900", "", "???", "-3"],
    ]
    schema_dict = make_schema(features)
    clks = book.add(
        "missing-values",
        "missingValue variants. A value equal to the sentinel bypasses validation and is "
        "replaced by replaceWith, or kept as the literal sentinel when replaceWith is "
        "absent (so 'N/A' is hashed as the string 'N/A'). The replacement is NOT "
        "normalised by the format: integer replaceWith '+0' is hashed as '+0' (a real "
        "'+0' becomes '0'); date replaceWith '1900-01-01' is hashed literally (a real date "
        "becomes '19000101'); enum replaceWith 'U' need not be an allowed value. Sentinel "
        "matching is exact and case sensitive ('n/a', 'N/A ' are ordinary values). "
        "replaceWith '' yields no tokens.",
        schema_dict,
        PASSPHRASE_SECRET,
        records,
    )
    # sentinel without replaceWith == plain feature holding the literal sentinel
    plain = copy.deepcopy(schema_dict)
    del plain["features"][0]["hashing"]["missingValue"]
    check(
        same_clks(clks, encode(plain, records, PASSPHRASE_SECRET)),
        "sentinel without replaceWith is not hashed literally",
    )
    # replaceWith is hashed verbatim: not normalised by the integer/date format.
    for idx, sentinel, replacement, regular, normalised in (
        (3, "unknown", "+0", "+0", "0"),
        (4, "00/00/0000", "1900-01-01", "01/01/1900", "19000101"),
    ):
        typed = make_schema([schema_dict["features"][idx]])
        as_text = copy.deepcopy(typed)
        as_text["features"][0]["format"] = string_fmt()
        del as_text["features"][0]["hashing"]["missingValue"]
        got = encode(typed, [[sentinel], [regular]], PASSPHRASE_SECRET)
        want = encode(as_text, [[replacement], [normalised]], PASSPHRASE_SECRET)
        check(same_clks(got, want), f"replaceWith {replacement!r} not hashed verbatim")
        check(got[0] != got[1], f"replaceWith {replacement!r} was normalised")

    # sentinel '' on an integer field lets empty values through validation
    int_records = [["13"], [""], ["+13"], [" 13"]]
    int_clks = book.add(
        "missing-values-integer-empty-sentinel",
        "Integer feature with missingValue sentinel '' (no replaceWith): '' is accepted "
        "and yields an all-zero CLK; without the sentinel clkhash rejects ''.",
        make_schema(
            [feature("n", {"type": "integer"}, ngram(2), bpt(20), missing={"sentinel": ""})]
        ),
        HEX_SECRET,
        int_records,
    )
    check(not int_clks[1].any(), "empty integer set bits")
    try:
        encode(make_schema([feature("n", {"type": "integer"}, ngram(2), bpt(20))]), [[""]], "s")
        accepted_empty_int = True
    except ValueError:
        accepted_empty_int = False
    check(not accepted_empty_int, "integer feature accepted '' without sentinel")


def empty_value_cases(book: CaseBook) -> None:
    features = [
        feature("s_ngram2", string_fmt(), ngram(2), bpt(10)),
        feature("s_ngram1_pos", string_fmt(), ngram(1, True), bpt(10)),
        feature("s_exact", string_fmt(), exact(), bpt(10)),
        feature("s_numeric", string_fmt(), numeric(10, 2), bpt(10)),
        feature("s_bpf", string_fmt(), ngram(2), bpf(50)),
        feature("s_double", string_fmt(), ngram(2), bpt(10), DOUBLE_NS),
    ]
    records = [
        ["", "", "", "", "", ""],
        ["a", "", "", "", "", ""],
        ["", "b", "", "", "", ""],
        ["", "", "c", "", "", ""],
        ["", "", "", "4", "", ""],
        ["", "", "", "", "e", ""],
        ["", "", "", "", "", "f"],
        ["a", "b", "c", "4", "e", "f"],
        [" ", " ", " ", "", " ", " "],
    ]
    clks = book.add(
        "empty-values-no-missing-spec",
        "String features without missingValue: '' is valid and yields no tokens, so it "
        "contributes no bits (an all-empty record is an all-zero CLK). A single space is "
        "an ordinary value and does produce tokens. Includes a numeric comparison on a "
        "string feature ('' -> no tokens).",
        make_schema(features),
        HEX_SECRET,
        records,
    )
    check(not clks[0].any(), "all-empty record is not all-zero")
    union = bitarray(clks[1])
    for c in clks[2:7]:
        union |= c
    check(union == clks[7], "CLK is not the OR of its per-feature filters")


def ignored_cases(book: CaseBook, febrl: list[Record]) -> None:
    names = [[r[0], r[1], "junk ✓", r[2], ""] for r in febrl[:40]]
    schema_dict = make_schema(
        [
            ignored("id"),
            feature("given_name", string_fmt(), ngram(2), bpt(20)),
            ignored("middle"),
            feature("surname", string_fmt(), ngram(2), bpt(20)),
            ignored("tail"),
        ]
    )
    clks = book.add(
        "ignored-start-middle-end",
        "Ignored features at index 0, 2 and 4. HKDF derives 2 keys per feature index "
        "(2 * 5 keys here) including ignored ones, so feature i always uses keys "
        "[2i, 2i+1]. Verified: replacing each ignored feature by a real feature whose value "
        "is '' gives identical CLKs, and dropping the ignored features changes every CLK. "
        "Ignored values are neither validated nor hashed.",
        schema_dict,
        HEX_SECRET,
        names,
    )
    filler = feature("filler", string_fmt(), ngram(2), bpt(20))
    replaced = copy.deepcopy(schema_dict)
    for idx in (0, 2, 4):
        replaced["features"][idx] = copy.deepcopy(filler)
    blanked = [["", r[1], "", r[3], ""] for r in names]
    check(
        same_clks(clks, encode(replaced, blanked, HEX_SECRET)),
        "ignored features do not consume key slots by index",
    )
    dropped = make_schema([schema_dict["features"][1], schema_dict["features"][3]])
    check(
        all_differ(clks, encode(dropped, [[r[1], r[3]] for r in names], HEX_SECRET)),
        "dropping ignored features did not change the CLKs",
    )

    full_ignored = make_schema(
        [
            feature("given_name", string_fmt(), ngram(2), bpt(20)),
            {
                "identifier": "ignored_with_config",
                "ignored": True,
                "format": {"type": "integer"},
                "hashing": {"comparison": ngram(2), "strategy": bpt(20)},
            },
            feature("surname", string_fmt(), ngram(2), bpt(20)),
        ]
    )
    recs = [[r[1], "not an integer", r[2]] for r in febrl[:20]]
    book.add(
        "ignored-with-full-feature-config",
        "A feature with 'ignored': true AND a full format/hashing config is still ignored "
        "(its value is not validated against the integer format and not hashed), but it "
        "still occupies key index 1.",
        full_ignored,
        HEX_SECRET,
        recs,
    )


def comparison_cases(book: CaseBook) -> None:
    exact_records = [[v, v] for v in ["nsw", "NSW", "vic", "", "new south wales", "王", "😀"]]
    book.add(
        "comparison-exact",
        "Exact comparison (value is a single token), blake bitsPerToken 30 and doubleHash "
        "prevent_singularity bitsPerToken 30.",
        make_schema(
            [
                feature("exact_blake", string_fmt(), exact(), bpt(30)),
                feature("exact_double", string_fmt(), exact(), bpt(30), DOUBLE_NS),
            ]
        ),
        HEX_SECRET,
        exact_records,
    )

    int_values = [
        "0",
        "1",
        "5",
        "-7",
        "+13",
        " 13",
        "13",
        "0013",
        "100",
        "999999",
        "-1000000",
        "-0",
    ]
    int_clks = book.add(
        "numeric-integer",
        "Integer-format features with numeric comparison. Feature 0: thresholdDistance 10, "
        "resolution 3 (7 tokens). Feature 1: thresholdDistance 2.5 (a float), resolution 1 "
        "-> distance interval int(round(2.5)) = 2 (Python banker's rounding). Feature 2: "
        "integer with fractional_precision 1, thresholdDistance 0.5. Integer values are "
        "normalised via int() first ('+13', ' 13', '0013' all -> '13').",
        make_schema(
            [
                feature("num_t10_r3", {"type": "integer"}, numeric(10, 3), bpt(10)),
                feature("num_t2_5_r1", {"type": "integer"}, numeric(2.5, 1), bpt(10)),
                feature("num_int_fp1", {"type": "integer"}, numeric(0.5, 2, 1), bpt(10)),
            ]
        ),
        HEX_SECRET,
        [[v, v, v] for v in int_values],
    )
    i13 = [int_values.index(v) for v in ("+13", " 13", "13", "0013")]
    check(all(int_clks[i] == int_clks[i13[0]] for i in i13), "integer normalisation")

    dec_values = [
        "3.25", "3.2", "3", "3.75", "-3.25", "-3.75", "0.125", "0.375", "2.675", "1e2",
        "  4.5 ", "100", "-0.005", "1_000.5", "13", "+13", "",
    ]  # fmt: skip
    fp_schema = make_schema([feature("amount", string_fmt(), numeric(2, 2, 2), bpt(10))])
    fp_clks = book.add(
        "numeric-fractional-precision",
        "String-format feature with numeric comparison, thresholdDistance 2, resolution 2, "
        "fractional_precision 2 (snake case, the spelling clkhash reads). Values that "
        "int() can parse are scaled exactly; others go through float() and "
        "int(round(x * 10**2)) (banker's rounding on the binary float, e.g. '0.125' -> 12). "
        "'' -> no tokens.",
        fp_schema,
        HEX_SECRET,
        [[v] for v in dec_values],
    )
    camel_schema = make_schema(
        [feature("amount", string_fmt(), numeric(2, 2, 2, "fractionalPrecision"), bpt(10))]
    )
    zero_schema = make_schema([feature("amount", string_fmt(), numeric(2, 2), bpt(10))])
    zero_clks = encode(zero_schema, [[v] for v in dec_values], HEX_SECRET)
    camel_clks = encode(camel_schema, [[v] for v in dec_values], HEX_SECRET)
    honoured = not same_clks(camel_clks, zero_clks)
    check(not honoured, "clkhash honoured camelCase fractionalPrecision")
    check(not same_clks(fp_clks, zero_clks), "fractional_precision had no effect")
    book.add(
        "numeric-fractionalPrecision-camelcase",
        lambda clks: (
            "Same as numeric-fractional-precision but spelled 'fractionalPrecision'. The "
            "v3 master schema does not forbid extra keys, so it validates, but clkhash "
            f"{'honours' if honoured else 'IGNORES'} it: identical to omitting it "
            "(precision 0). With precision 0 a non-integer string is truncated toward zero "
            "by int(float(x)), so '3.25' and '3.75' hash like '3' and '-3.75' like '-3'."
        ),
        camel_schema,
        HEX_SECRET,
        [[v] for v in dec_values],
    )
    i3 = dec_values.index("3")
    check(
        camel_clks[dec_values.index("3.75")] == camel_clks[i3]
        and camel_clks[dec_values.index("3.25")] == camel_clks[i3],
        "precision-0 float truncation",
    )


def format_cases(book: CaseBook) -> None:
    int_values = [
        "13", "+13", " 13", "13 ", "0013", "-0", "0", "-13", "1_000", "1000",
        "١٣", "１３", " +7\n", "123456789012345678901234567890",
    ]  # fmt: skip
    int_clks = book.add(
        "format-integer",
        "Integer format: values are validated and normalised with int(value, 10) then "
        "str(): surrounding whitespace and '+' are dropped, leading zeros removed, "
        "'-0' -> '0', underscores accepted ('1_000' -> '1000'), and any Unicode decimal "
        "digits accepted (Arabic-Indic '١٣' and fullwidth '１３' -> '13'). Features: "
        "positional unigrams, bigrams, exact (doubleHash); minimum -100 / maximum 10**30.",
        make_schema(
            [
                feature("i_n1pos", {"type": "integer"}, ngram(1, True), bpt(15)),
                feature("i_n2", {"type": "integer", "minimum": -100}, ngram(2), bpt(15)),
                feature(
                    "i_exact", {"type": "integer", "maximum": 10**30}, exact(), bpt(25), DOUBLE
                ),
            ]
        ),
        HEX_SECRET,
        [[v, v, v] for v in int_values],
    )
    same_as_13 = ["+13", " 13", "13 ", "0013", "١٣", "１３"]
    check(
        all(int_clks[int_values.index(v)] == int_clks[0] for v in same_as_13),
        "integer normalisation to '13'",
    )
    check(int_clks[int_values.index("-0")] == int_clks[int_values.index("0")], "-0 vs 0")
    check(
        int_clks[int_values.index("1_000")] == int_clks[int_values.index("1000")],
        "underscore integer",
    )

    # Dates: the same dates written in two formats must hash identically.
    dates = [
        (1990, 2, 1), (2000, 2, 29), (1899, 12, 31), (1970, 1, 1), (2024, 10, 9),
        (999, 12, 31), (5, 1, 2),
    ]  # fmt: skip
    iso = [f"{y:04d}-{m:02d}-{d:02d}" for y, m, d in dates] + ["1990-2-1"]
    dmy = [f"{d:02d}/{m:02d}/{y:04d}" for y, m, d in dates] + ["1/2/1990"]

    def date_schema(fmt: str) -> JSONDict:
        return make_schema(
            [
                feature("dob_n2pos", {"type": "date", "format": fmt}, ngram(2, True), bpt(15)),
                feature("dob_exact", {"type": "date", "format": fmt}, exact(), bpt(25), DOUBLE),
            ]
        )

    reformatted = [datetime.strptime(v, "%Y-%m-%d").strftime("%Y%m%d") for v in iso]
    iso_clks = book.add(
        "format-date-iso",
        "Date format '%Y-%m-%d'. Values are parsed with strptime and re-emitted with "
        "strftime('%Y%m%d') before tokenising. strptime accepts non-padded '1990-2-1'. "
        "On glibc strftime('%Y') does not zero-pad years < 1000, so 0999-12-31 -> "
        "'9991231' and 0005-01-02 -> '50102'. Verified identical to format-date-dmy and "
        f"to plain string features holding the reformatted values {reformatted}.",
        date_schema("%Y-%m-%d"),
        HEX_SECRET,
        [[v, v] for v in iso],
    )
    dmy_clks = book.add(
        "format-date-dmy",
        "Date format '%d/%m/%Y' (including non-padded '1/2/1990'); same dates as "
        "format-date-iso and identical CLKs.",
        date_schema("%d/%m/%Y"),
        HEX_SECRET,
        [[v, v] for v in dmy],
    )
    check(same_clks(iso_clks, dmy_clks), "date formats hash differently")
    as_string = make_schema(
        [
            feature("dob_n2pos", string_fmt(), ngram(2, True), bpt(15)),
            feature("dob_exact", string_fmt(), exact(), bpt(25), DOUBLE),
        ]
    )
    check(
        same_clks(iso_clks, encode(as_string, [[v, v] for v in reformatted], HEX_SECRET)),
        "date is not hashed as its %Y%m%d string",
    )
    check(reformatted[5] == "9991231", f"strftime year padding changed: {reformatted[5]}")

    enum_values = ["nsw", "vic", "qld", "wa", "sa", "tas", "nt", "act"]
    book.add(
        "format-enum",
        "Enum format (values act..wa) with n=2 n-grams and exact comparison.",
        make_schema(
            [
                feature("state_n2", {"type": "enum", "values": FEBRL_STATES}, ngram(2), bpt(15)),
                feature("state_exact", {"type": "enum", "values": FEBRL_STATES}, exact(), bpt(30)),
            ]
        ),
        HEX_SECRET,
        [[v, v] for v in enum_values],
    )


def encoding_cases(book: CaseBook) -> None:
    records = [[s] for s in EDGE_STRINGS]
    results: dict[str, list[bitarray]] = {}
    for enc in ("utf-8", "utf-16", "utf-32"):
        results[enc] = book.add(
            f"encoding-{enc}",
            f"Single string feature with format.encoding '{enc}', n=2, blakeHash. Each token "
            f"is encoded separately with str.encode('{enc}')"
            + (
                "; for utf-16/utf-32 Python prepends a byte-order mark to EVERY token and uses "
                "native (little-endian here) byte order: 'a' -> b'\\xff\\xfea\\x00' for utf-16."
                if enc != "utf-8"
                else "."
            ),
            make_schema([feature("value", string_fmt(enc), ngram(2), bpt(10))]),
            UNICODE_SECRET,
            records,
        )
    check(
        same_clks(
            results["utf-8"],
            encode(
                make_schema([feature("value", string_fmt(), ngram(2), bpt(10))]),
                records,
                UNICODE_SECRET,
            ),
        ),
        "absent encoding is not utf-8",
    )
    check(all_differ(results["utf-8"], results["utf-16"]), "utf-16 equals utf-8")
    book.add(
        "encoding-ascii",
        "Encoding 'ascii' (validation rejects non-ASCII values, so only ASCII records).",
        make_schema([feature("value", string_fmt("ascii"), ngram(2), bpt(10))]),
        UNICODE_SECRET,
        [[s] for s in ASCII_EDGE_STRINGS],
    )
    book.add(
        "encoding-double-utf-16-utf-32",
        "doubleHash features with utf-16 and utf-32 encodings (BOM per token).",
        make_schema(
            [
                feature("v16", string_fmt("utf-16"), ngram(2, True), bpt(10), DOUBLE),
                feature("v32", string_fmt("utf-32"), ngram(2), bpt(10), DOUBLE_NS),
            ]
        ),
        UNICODE_SECRET,
        [[s, s] for s in EDGE_STRINGS],
    )


def kdf_cases(book: CaseBook, febrl: list[Record]) -> None:
    recs = small_febrl_records(febrl[:50])
    feats = small_febrl_features()
    salt = b64(bytes(range(32)))
    info = b64(b"htlink golden info")
    variants: list[tuple[str, JSONDict, str]] = [
        (
            "kdf-default",
            {"type": "HKDF"},
            "Minimal kdf: HKDF-SHA256, no salt, no info, keySize 64.",
        ),
        (
            "kdf-salt-info",
            {"type": "HKDF", "hash": "SHA256", "salt": salt, "info": info},
            "HKDF-SHA256 with base64 salt (bytes 0..31) and base64 info.",
        ),
        ("kdf-keysize32", {"type": "HKDF", "keySize": 32}, "keySize 32 (32-byte BLAKE2b key)."),
        ("kdf-keysize16", {"type": "HKDF", "keySize": 16}, "keySize 16."),
        ("kdf-sha512", {"type": "HKDF", "hash": "SHA512"}, "HKDF-SHA512, keySize 64."),
        (
            "kdf-sha512-salt-info-keysize32",
            {"type": "HKDF", "hash": "SHA512", "salt": salt, "info": info, "keySize": 32},
            "HKDF-SHA512 with salt, info and keySize 32.",
        ),
    ]
    for name, kdf, text in variants:
        book.add(
            name,
            text + " Keys: one HKDF call producing 2 * num_features * keySize bytes, split "
            "in order; feature i uses keys 2i (BLAKE2b key / HMAC-SHA1 key) and 2i+1 "
            "(HMAC-MD5 key). Features: rec_id ignored, given_name, surname, date_of_birth.",
            make_schema(feats, 1024, kdf),
            HEX_SECRET,
            recs,
        )
    explicit = make_schema(feats, 1024, {"type": "HKDF", "hash": "SHA256", "keySize": 64})
    check(
        same_clks(book.clks["kdf-default"], encode(explicit, recs, HEX_SECRET)),
        "explicit SHA256/64 differs from defaults",
    )
    book.add(
        "kdf-double-keysize100",
        "doubleHash with keySize 100 (longer than the HMAC block size, so HMAC hashes the "
        "key first; not usable with blakeHash whose key limit is 64 bytes).",
        make_schema(with_hash(feats, DOUBLE), 1024, {"type": "HKDF", "keySize": 100}),
        HEX_SECRET,
        recs,
    )
    keys = key_derivation.generate_key_lists(HEX_SECRET, 4)
    keys_bytes = key_derivation.generate_key_lists(HEX_SECRET.encode("utf-8"), 4)
    check(keys == keys_bytes, "str secret is not UTF-8 encoded")


def secret_cases(book: CaseBook, febrl: list[Record]) -> None:
    recs = small_febrl_records(febrl[:50])
    schema_dict = make_schema(small_febrl_features())
    for name, secret, text in (
        ("secret-hex64", HEX_SECRET, "64 lowercase hex chars, used as 64 ASCII bytes"),
        ("secret-passphrase", PASSPHRASE_SECRET, "short ASCII passphrase 'secret'"),
        ("secret-unicode", UNICODE_SECRET, "non-ASCII secret, UTF-8 encoded before HKDF"),
    ):
        book.add(
            name,
            f"Secret variant: {text}. Same schema and records as the other secret-* cases.",
            schema_dict,
            secret,
            recs,
        )
    check(
        all_differ(book.clks["secret-hex64"], book.clks["secret-passphrase"]),
        "secrets give same CLKs",
    )
    hex_decoded = clk.generate_clks(
        [list(r) for r in recs],
        clkschema.from_json_dict(copy.deepcopy(schema_dict)),
        bytes.fromhex(HEX_SECRET),
        validate=True,
        max_workers=1,
    )
    check(all_differ(book.clks["secret-hex64"], hex_decoded), "hex secret was hex-decoded")


def misc_cases(book: CaseBook, febrl: list[Record], names: list[str]) -> None:
    recs20 = twenty_feature_records(febrl[:60])
    book.add(
        "twenty-features",
        "20 features (3 ignored, at 0, 14 and 19) mixing string/integer/date/enum formats, "
        "ngram/exact/numeric comparisons, both strategies, blake/double/double-nonsingular "
        "hashes and utf-8/utf-16 encodings; pins per-index key ordering over 40 HKDF keys.",
        make_schema(twenty_features(), 2048, {"type": "HKDF", "hash": "SHA256"}),
        HEX_SECRET,
        recs20,
    )

    # doubleHash singularity: with a tiny l, HMAC-MD5 % l == 0 happens for ~1/l of tokens.
    single = [[n] for n in names[:60]]
    keys = key_derivation.generate_key_lists(HEX_SECRET, 1)
    singular_rows = [
        i
        for i, (name,) in enumerate(single)
        if bloomfilter._double_hash_token(name.encode("utf-8"), 7, keys[0][0], keys[0][1])[0] == 0
    ]
    check(len(singular_rows) > 0, "no singular tokens for l=7")
    plain = book.add(
        "double-l7-singular",
        "doubleHash with l=7, exact comparison, bitsPerToken 4, no prevent_singularity: "
        f"the names in rows {singular_rows} have HMAC-MD5 % 7 == 0, so all 4 insertions "
        "hit the same bit (popcount 1).",
        make_schema([feature("name", string_fmt(), exact(), bpt(4), DOUBLE)], 7),
        HEX_SECRET,
        single,
    )
    nonsing = book.add(
        "double-l7-nonsingular",
        "Same as double-l7-singular with prevent_singularity true: while HMAC-MD5 % l == 0 "
        "clkhash re-hashes token + chr(i).encode('utf-8') for i = 0, 1, ... with the MD5 "
        "key (the SHA1-derived index is unchanged), so rows "
        f"{singular_rows} differ from double-l7-singular and all other rows are identical.",
        make_schema([feature("name", string_fmt(), exact(), bpt(4), DOUBLE_NS)], 7),
        HEX_SECRET,
        single,
    )
    for i, (a, b) in enumerate(zip(plain, nonsing, strict=True)):
        if i in singular_rows:
            check(a.count() == 1 and a != b, f"singular row {i} not fixed")
        else:
            check(a == b, f"non-singular row {i} changed")

    big = book.add(
        "blake-l131072-index-range",
        "blakeHash with l=131072 (2**17). Indices are uint16 values % l, so with "
        "l > 65536 only the first 65536 bits can ever be set.",
        make_schema(small_febrl_features(), 131072),
        HEX_SECRET,
        small_febrl_records(febrl[:3]),
    )
    check(all(not c[65536:].any() for c in big), "blake set a bit above 65535")


def main() -> None:
    check(sys.byteorder == "little", "vectors must be generated on a little-endian machine")
    check(version("clkhash") == CLKHASH_VERSION, f"need clkhash {CLKHASH_VERSION}")

    # clkhash mutates the schema dict it parses (it inserts 'positional': False).
    probe = make_schema([feature("x", string_fmt(), ngram(2), bpt(5))])
    probe_copy = copy.deepcopy(probe)
    clkschema.from_json_dict(probe_copy)
    check(
        probe_copy["features"][0]["hashing"]["comparison"].get("positional") is False,
        "from_json_dict no longer inserts positional=False",
    )

    rows = load_febrl4()
    febrl200 = sample_febrl(rows, 200)
    names = [r[1] for r in febrl200 if r[1]]

    book = CaseBook()
    febrl_cases(book, febrl200)
    xor_cases(book, febrl200)
    tokenizer_cases(book)
    strategy_cases(book, names)
    missing_value_cases(book)
    empty_value_cases(book)
    ignored_cases(book, febrl200)
    comparison_cases(book)
    format_cases(book)
    encoding_cases(book)
    kdf_cases(book, febrl200)
    secret_cases(book, febrl200)
    misc_cases(book, febrl200, names)

    doc = {
        "generator": {
            "clkhash": version("clkhash"),
            "bitarray": version("bitarray"),
            "cryptography": version("cryptography"),
            "python": platform.python_version(),
        },
        "cases": book.cases,
    }
    text = json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    OUT_PATH.write_text(text, encoding="utf-8")
    total = sum(len(c["clks"]) for c in book.cases)
    print(f"wrote {OUT_PATH} ({len(book.cases)} cases, {total} CLKs, {len(text.encode())} bytes)")


if __name__ == "__main__":
    main()
