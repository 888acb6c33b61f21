"""Run the re-identification attack bench and record the results.

    python benchmarks/attacks/run_attacks.py                 # full: 20,000 people
    python benchmarks/attacks/run_attacks.py --small         # CI size: 1,500 people
    python benchmarks/attacks/run_attacks.py --configs person-v1 posthoc:balanced

Writes benchmarks/results/attacks.json (attacks-small.json with --small) and
prints the table (configuration x attack@overlap -> re-identification %, with
the linkage F1).  Same as `htlink attack bench`; see docs/attacks.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    from htlink.attacks.bench import BenchOptions, run_bench
    from htlink.attacks.configs import DEFAULT_CONFIGS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="the CI configuration")
    parser.add_argument("--people", type=int, help="people in the synthetic world")
    parser.add_argument("--attack-size", type=int, help="encoded records attacked")
    parser.add_argument("--graph-size", type=int, help="encoded records for the graph attack")
    parser.add_argument(
        "--configs", nargs="+", default=list(DEFAULT_CONFIGS),
        help="built-in names or SCHEMA.json[+step...] specs",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--world-dir", type=Path)
    parser.add_argument("--out", type=Path, help="results JSON")
    args = parser.parse_args(argv)

    overrides: dict[str, object] = {
        "configs": tuple(args.configs), "seed": args.seed, "repo_root": ROOT,
    }  # fmt: skip
    for key in ("people", "attack_size", "graph_size", "world_dir"):
        if getattr(args, key) is not None:
            overrides[key] = getattr(args, key)
    options = BenchOptions.small(**overrides) if args.small else BenchOptions(**overrides)  # type: ignore[arg-type]
    out = args.out or ROOT / "benchmarks" / "results" / (
        "attacks-small.json" if args.small else "attacks.json"
    )

    def say(message: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)

    result = run_bench(options, progress=say)
    print(result.markdown_table())
    payload = result.to_dict()
    payload["command"] = "python benchmarks/attacks/run_attacks.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    print(f"written to {out} ({result.seconds:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
