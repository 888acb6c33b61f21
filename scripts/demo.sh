#!/usr/bin/env bash
# `make demo`: the main job end to end on synthetic data, with embedded defaults.
# Three synthetic agencies (healthcare, social services, prosecution) share a
# linkage secret, encode their own files into signed submissions with quality
# reports, the submissions are linked into people, and the linkage is scored
# against the generator's ground truth -- which only the demo has.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=demo-output
SCHEMA=configs/schemas/person-v1-salted-dob.json  # the shipped default (docs/threat-model.md)
AGENCIES=(healthcare social_services prosecution)
rm -rf "$OUT"
mkdir -p "$OUT/keys" "$OUT/links" "$OUT/payloads"

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

step "The hub operator sets up the linkage hub (SQLite in its data directory) and starts it"
run htlink hub init --data-dir "$OUT/hub" --token-file "$OUT/keys/hub-admin.token"
PORT=$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
HUB="http://127.0.0.1:$PORT"
printf '$ htlink hub serve --data-dir %s --port %s &\n' "$OUT/hub" "$PORT"
htlink hub serve --data-dir "$OUT/hub" --port "$PORT" > "$OUT/hub-serve.log" 2>&1 &
HUB_PID=$!
trap 'kill $HUB_PID 2>/dev/null || true' EXIT
python - "$HUB" <<'PY'
import sys, time, httpx
for _ in range(300):
    try:
        httpx.get(sys.argv[1] + "/api/v1/whoami", timeout=1)
        break
    except httpx.TransportError:
        time.sleep(0.1)
else:
    sys.exit("the hub did not start; see demo-output/hub-serve.log")
PY
ADMIN=(--hub "$HUB" --token-file "$OUT/keys/hub-admin.token")

step "The operator creates the project: agencies, their public keys, the schema, matching settings"
run htlink hub project create "${ADMIN[@]}" --name demo --schema "$SCHEMA" \
  --agency "healthcare=$OUT/keys/healthcare.pub" \
  --agency "social_services=$OUT/keys/social_services.pub" \
  --agency "prosecution=$OUT/keys/prosecution.pub" \
  --threshold auto --tokens-out "$OUT/hub-tokens"

for agency in "${AGENCIES[@]}"; do
  step "$agency: upload its submission with its upload token"
  run htlink submit "$OUT/$agency/submission" --hub "$HUB" --project demo \
    --token-file "$OUT/hub-tokens/$agency.upload.token"
done

step "The operator links the three submissions into people (threshold chosen from the data)"
run htlink hub run start "${ADMIN[@]}" --project demo --wait

for agency in "${AGENCIES[@]}"; do
  step "$agency: fetch its own links (row token, pseudonym, confidence) with its results token"
  run htlink links fetch --hub "$HUB" --project demo \
    --token-file "$OUT/hub-tokens/$agency.results.token" --out "$OUT/links/$agency.links.csv"
done

step "The audit log of everything the hub did is intact"
run htlink hub audit verify --data-dir "$OUT/hub"
kill $HUB_PID 2>/dev/null || true
wait $HUB_PID 2>/dev/null || true

step "Synthetic data only: score every pair locally for the evaluation's threshold sweep"
run htlink match "$OUT/healthcare/submission" "$OUT/social_services/submission" \
  "$OUT/prosecution/submission" --threshold auto --out "$OUT/local-match" \
  --project-key "$OUT/hub/projects/demo/project.key" --write-pairs 0.7

step "Score the hub's linkage against the generator's ground truth"
run htlink evaluate --truth "$OUT/world/truth.csv" \
  --links "$OUT/links/healthcare.links.csv" "$OUT/links/social_services.links.csv" \
  "$OUT/links/prosecution.links.csv" \
  --tokens "healthcare=$OUT/healthcare/private/row-tokens.csv" \
  --tokens "social_services=$OUT/social_services/private/row-tokens.csv" \
  --tokens "prosecution=$OUT/prosecution/private/row-tokens.csv" \
  --pairs "$OUT/local-match/pairs.csv" --out "$OUT/evaluation"

step "The release officer makes a key pair; agencies will encrypt their payloads to it"
run htlink keys release-new --out "$OUT/keys/release"

step "Each agency exports chosen attributes keyed by pseudonym, coarsened, encrypted to the release key"
run htlink payload export --links "$OUT/links/healthcare.links.csv" \
  --tokens "$OUT/healthcare/private/row-tokens.csv" --input "$OUT/world/healthcare.csv" \
  --map-file "$OUT/world/mappings/healthcare.yaml" \
  --columns DOB,Sex,ZIP,VisitDate,ReasonCategory \
  --coarsen DOB=age@VisitDate --coarsen ZIP=zip3 --coarsen VisitDate=year \
  --release-key "$OUT/keys/release.pub" --out "$OUT/payloads/healthcare.payload"
run htlink payload export --links "$OUT/links/social_services.links.csv" \
  --tokens "$OUT/social_services/private/row-tokens.csv" --input "$OUT/world/social_services.csv" \
  --map-file "$OUT/world/mappings/social_services.yaml" \
  --columns birth_date,gender,county,report_date,report_type \
  --coarsen birth_date=age@report_date --coarsen report_date=year \
  --release-key "$OUT/keys/release.pub" --out "$OUT/payloads/social_services.payload"
run htlink payload export --links "$OUT/links/prosecution.links.csv" \
  --tokens "$OUT/prosecution/private/row-tokens.csv" --input "$OUT/world/prosecution.csv" \
  --map-file "$OUT/world/mappings/prosecution.yaml" \
  --columns DOB,Role,ChargeCategory,County,FilingDate \
  --coarsen DOB=age@FilingDate --coarsen FilingDate=year \
  --release-key "$OUT/keys/release.pub" --out "$OUT/payloads/prosecution.payload"

step "The release officer builds a de-identified release under the CMS cell-size policy"
run htlink release build --policy configs/release/cms-cell-size.yaml \
  --payload "$OUT/payloads/healthcare.payload" --payload "$OUT/payloads/social_services.payload" \
  --payload "$OUT/payloads/prosecution.payload" --release-key "$OUT/keys/release.key" \
  --out "$OUT/release"

step "Done"
echo "Submissions (what the hub receives): $OUT/<agency>/submission"
echo "Row-token maps (kept by agencies):   $OUT/<agency>/private/row-tokens.csv"
echo "Quality reports:                     $OUT/<agency>/report/quality.html"
echo "Hub data directory (operator):       $OUT/hub (database hub.sqlite3, log logs/hub.log)"
echo "Links per agency (from the hub):     $OUT/links/<agency>.links.csv"
echo "Linkage evaluation report:           $OUT/evaluation/report.html"
echo "Release for analysts:                $OUT/release (extract.csv, tables/, report.html, audit.json)"
