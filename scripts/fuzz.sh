#!/usr/bin/env bash
# Property-based fuzzing of the running API from its own OpenAPI spec (schemathesis): every generated
# request must get a documented status and content type, never a 5xx. Needs `make run` in another
# terminal (or BASE_URL pointing at a server with the demo data loaded). Start that server with budgets the
# fuzzer cannot spend, or most operations answer 429, e.g.
#   export FILMLOG_RATE_{READ,SEARCH,WRITE}_PER_{IP,MEMBER}=100000/60 (each), FILMLOG_RATE_AUTH_PER_IP=100000/60,
#   FILMLOG_RATE_REGISTER_PER_IP=100000/60; then make run.
set -euo pipefail
base=${BASE_URL:-http://127.0.0.1:${PORT:-8080}}
command -v schemathesis >/dev/null 2>&1 || pip install --quiet schemathesis
token=$(curl -sf -X POST "$base/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"username":"kenji","password":"filmlog-demo-password"}' | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
exec schemathesis run "$base/api/v1/openapi.json" --url "$base" -H "Authorization: Bearer $token" \
  --exclude-operation-id logout --exclude-operation-id delete_me --exclude-operation-id change_password \
  --exclude-operation-id end_session --exclude-operation-id end_other_sessions \
  --checks all --exclude-checks ignored_auth,positive_data_acceptance,missing_required_header,unsupported_method \
  --max-examples "${EXAMPLES:-80}" --workers 2
