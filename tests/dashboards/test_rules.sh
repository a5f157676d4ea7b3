#!/usr/bin/env bash
# Dashboards and alert rules, without a running agent: promtool check/test rules, the example
# scrape config, the dashboard's structure and every PromQL expression parsed by promtool; and the
# documentation they point into (check_docs.py).
# (The live checks — names against a real exposition, queries on a real Prometheus — are in
# tests/integration/test_e2e.sh.)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d /tmp/sipwatch-rules.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

check() { # NAME COMMAND...
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		echo "PASS: $name"
	else
		echo "FAIL: $name"
		printf '%s\n' "$out" | sed 's/^/    /' >&2
	fi
}

check "promtool check rules dashboards/alerts.yml" promtool check rules "$ROOT/dashboards/alerts.yml"
# promtool resolves rule_files relative to the test file.
check "promtool test rules: every alert fires and stays silent where it should" \
	bash -c 'cd "$1/tests/dashboards" && promtool test rules alerts_test.yml' _ "$ROOT"

# The example scrape config, pointed at this tree's rules and a target directory that exists.
mkdir -p "$TMP/targets"
echo '[{"targets": ["pbx3.example.net:9060"], "labels": {"site": "branch"}}]' >"$TMP/targets/t.json"
sed -e "s|/etc/prometheus/sipwatch/alerts.yml|$ROOT/dashboards/alerts.yml|" \
	-e "s|/etc/prometheus/sipwatch/targets|$TMP/targets|g" \
	"$ROOT/dashboards/prometheus.yml" >"$TMP/prometheus.yml"
check "promtool check config dashboards/prometheus.yml" promtool check config "$TMP/prometheus.yml"

python3 "$ROOT/tests/dashboards/check_queries.py"
# The documentation against the tree: links resolve, the README stays short, the package's docs exist.
python3 "$ROOT/tests/dashboards/check_docs.py"
