#!/usr/bin/env bash
# `make demo`: the main job end to end on synthetic data, with embedded defaults.
# Three synthetic agencies (healthcare, social services, prosecution) share a
# linkage secret, encode their own files into signed submissions with quality
# reports, the submissions are linked into people, and the linkage is scored
# against the generator's ground truth -- which only the demo has.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=demo-output
SCHEMA=configs/schemas/person-v1.json
AGENCIES=(healthcare social_services prosecution)
rm -rf "$OUT"
mkdir -p "$OUT/keys"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "Generate three synthetic agencies with ground truth (default scenario, seed 1)"
run htlink synth --scenario synthetic/default.yaml --seed 1 --out "$OUT/world" --quiet

step "The project coordinator makes the linkage secret (shared by agencies only, never the hub)"
run htlink keys new --out "$OUT/keys/linkage.secret"

step "Everyone checks the shared linkage schema"
run htlink schema check "$SCHEMA"

for agency in "${AGENCIES[@]}"; do
  step "$agency: make a signing key, then encode its own file with its column mapping"
  run htlink keys agency-new --out "$OUT/keys/$agency"
  run htlink encode --schema "$SCHEMA" --secret "$OUT/keys/linkage.secret" \
    --input "$OUT/world/$agency.csv" --agency "$agency" --out "$OUT/$agency" \
    --map-file "$OUT/world/mappings/$agency.yaml" \
    --signing-key "$OUT/keys/$agency.key" --report --quiet
done

step "Link the three submissions into people (threshold chosen from the data)"
run htlink match "$OUT/healthcare/submission" "$OUT/social_services/submission" \
  "$OUT/prosecution/submission" --threshold auto --out "$OUT/links" --write-pairs 0.7

step "Score the linkage against the generator's ground truth"
run htlink evaluate --truth "$OUT/world/truth.csv" \
  --links "$OUT/links/healthcare.links.csv" "$OUT/links/social_services.links.csv" \
  "$OUT/links/prosecution.links.csv" \
  --tokens "healthcare=$OUT/healthcare/private/row-tokens.csv" \
  --tokens "social_services=$OUT/social_services/private/row-tokens.csv" \
  --tokens "prosecution=$OUT/prosecution/private/row-tokens.csv" \
  --pairs "$OUT/links/pairs.csv" --out "$OUT/evaluation"

step "Done"
echo "Submissions (what the hub receives): $OUT/<agency>/submission"
echo "Row-token maps (kept by agencies):   $OUT/<agency>/private/row-tokens.csv"
echo "Quality reports:                     $OUT/<agency>/report/quality.html"
echo "Links per agency:                    $OUT/links/<agency>.links.csv"
echo "Linkage evaluation report:           $OUT/evaluation/report.html"
