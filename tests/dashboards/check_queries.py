#!/usr/bin/env python3
"""Check the Grafana dashboard and the alert rules against the rules we promise in
docs/operations.md ("Dashboards and alerts") and docs/runbook.md.

  check_queries.py                         structure + every PromQL expression parses (promtool)
                                             + every metric a query names is registered in agent/
  check_queries.py --exposition FILE       + every metric a query names is a family in FILE
                                             (a live /metrics exposition)
  check_queries.py --prometheus URL        + every query runs without error on that Prometheus
  check_queries.py --list-metrics          print the metric names the queries use

Prints "PASS: ..." / "FAIL: ..." lines (tests/run.sh counts them); exits 1 on any failure.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request

import yaml

# checklib sits in this directory, which Python puts first on sys.path; no .pyc left in the tree.
sys.dont_write_bytecode = True
import checklib  # noqa: E402
from checklib import check  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DASHBOARD = os.path.join(ROOT, "dashboards", "sipwatch-overview.json")
ALERTS = os.path.join(ROOT, "dashboards", "alerts.yml")
# Every alert's runbook_url is this path (relative to the repository) + "#" + a heading's anchor.
RUNBOOK_PATH = "docs/runbook.md"
RUNBOOK = os.path.join(ROOT, RUNBOOK_PATH)
AGENT = os.path.join(ROOT, "agent")

# What the issue asks the rules to cover, by alert name.
REQUIRED_ALERTS = {
    "SipwatchSipSendStalls", "SipwatchSipPeersUnreachable", "SipwatchNeighTableNearLimit",
    "SipwatchTcpKeepaliveTimeoutsRising", "SipwatchSipTcpWithoutKeepalive", "SipwatchProbeDown",
    "SipwatchEventsDropped", "SipwatchDown",
    # issue 18: the harm the kernel causes did
    "SipwatchSipRegistrationsLapsedKernelCause", "SipwatchSipTransactionTimeouts",
}
# Grafana 10.0 writes schemaVersion 37/38, Grafana 11.x 39–41.
SCHEMA_VERSIONS = range(37, 42)
# Grafana's variables, replaced by concrete values before PromQL sees the expression.
GRAFANA_VARS = [("$__rate_interval", "1m"), ("$__interval", "30s"), ("$__range", "1h"),
                ("$instance", ".+"), ("$job", ".+")]
# Grafana unit ids this dashboard may use (a typo would silently show raw numbers).
GRAFANA_UNITS = {"none", "short", "percent", "percentunit", "s", "ms", "µs", "ns", "bytes",
                 "decbytes", "Bps", "binBps", "cps", "ops", "pps", "reqps", "rps", "wps",
                 "bool", "bool_yes_no", "bool_on_off", "dateTimeAsIso", "dtdurations"}
PROMQL_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
                   "or", "unless", "offset", "inf", "nan", "atan2"}

def walk_panels(panels):
    for p in panels:
        yield p
        yield from walk_panels(p.get("panels", []))


def dashboard_queries(dash):
    """(where, expr) for every panel target and every query variable."""
    out = []
    for p in walk_panels(dash.get("panels", [])):
        for t in p.get("targets", []):
            out.append((f"panel {p.get('title')!r} {t.get('refId')}", t.get("expr", "")))
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") != "query":
            continue
        q = v["query"]["query"] if isinstance(v.get("query"), dict) else v.get("query", "")
        m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", q)
        out.append((f"variable {v['name']}", m.group(1) if m else q))
    return out


def substitute(expr):
    for var, value in GRAFANA_VARS:
        expr = expr.replace(var, value)
    return expr


def metric_names(expr):
    """The metric names an expression selects (strings, matchers, ranges and label lists removed)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
        word = m.group(0)
        if word.lower() in PROMQL_KEYWORDS or e[m.end():].lstrip().startswith("("):
            continue
        names.add(word)
    return names


def selectors(expr):
    """Every vector selector: (metric name, matcher text or '')."""
    e = re.sub(r"\[[^\]]*\]", " ", expr)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    out = []
    for m in re.finditer(r"([A-Za-z_:][A-Za-z0-9_:]*)\s*(\{[^}]*\})?", e):
        word = m.group(1)
        if word.lower() in PROMQL_KEYWORDS or e[m.end():].lstrip().startswith("(") and not m.group(2):
            continue
        if re.match(r"\d", e[m.start() - 1:m.start()] or "x"):
            continue
        out.append((word, m.group(2) or ""))
    return out


def check_dashboard(dash, queries):
    check("dashboard has no __inputs (file provisioning works)", "__inputs" not in dash)
    check("dashboard schemaVersion is Grafana 10/11", dash.get("schemaVersion") in SCHEMA_VERSIONS,
          str(dash.get("schemaVersion")))
    variables = {v["name"]: v for v in dash.get("templating", {}).get("list", [])}
    check("datasource variable of type prometheus",
          variables.get("datasource", {}).get("type") == "datasource"
          and variables["datasource"].get("query") == "prometheus")
    check("job and instance query variables", all(
        variables.get(n, {}).get("type") == "query" for n in ("job", "instance")))
    panels = [p for p in walk_panels(dash.get("panels", [])) if p.get("type") != "row"]
    ids = [p.get("id") for p in walk_panels(dash.get("panels", []))]
    check("panel ids are unique", len(ids) == len(set(ids)))
    bad = [p.get("title") for p in panels if not p.get("description", "").strip()]
    check("every panel has a description", not bad, ", ".join(map(str, bad)))
    bad = [p.get("title") for p in panels if not p.get("fieldConfig", {}).get("defaults", {}).get("unit")]
    check("every panel has a unit", not bad, ", ".join(map(str, bad)))
    bad = [f'{p.get("title")}: {p["fieldConfig"]["defaults"]["unit"]}' for p in panels
           if p.get("fieldConfig", {}).get("defaults", {}).get("unit") not in GRAFANA_UNITS | {None}]
    check("every unit is a Grafana unit id", not bad, ", ".join(bad))
    bad = [p.get("title") for p in panels
           if p.get("datasource", {}).get("uid") != "${datasource}"
           or any(t.get("datasource", {}).get("uid") != "${datasource}" for t in p.get("targets", []))]
    check("every panel and query uses the datasource variable", not bad, ", ".join(map(str, bad)))
    titles = {p.get("title") for p in walk_panels(dash.get("panels", [])) if p.get("type") == "row"}
    check("rows: health, neighbour, send path, keepalive, SIP traffic, peers, refresh, "
          "transactions, registrations", all(
              any(word in (t or "").lower() for t in titles)
              for word in ("health", "neighbour", "send path", "keepalive", "sip traffic", "peers",
                           "refresh", "transactions", "registrations")),
        ", ".join(sorted(map(str, titles))))
    bad = []
    for where, expr in queries:
        if not where.startswith("panel"):
            continue
        for name, matchers in selectors(expr):
            if 'job=~"$job"' not in matchers or 'instance=~"$instance"' not in matchers:
                bad.append(f"{where}: {name}{matchers}")
    check("every selector filters on $job and $instance", not bad, "; ".join(bad))
    bad = []
    for where, expr in queries:
        for fn, rng in re.findall(r"\b(rate|irate|increase)\s*\([^\[]*\[([^\]]*)\]", expr):
            if rng != "$__rate_interval" and not (fn == "increase" and rng == "$__range"):
                bad.append(f"{where}: {fn}[{rng}]")
    check("every rate uses $__rate_interval", not bad, "; ".join(bad))


def runbook_anchors():
    """GitHub-style anchors of the runbook's headings."""
    anchors = set()
    with open(RUNBOOK) as f:
        for line in f:
            m = re.match(r"#+\s+(.*)", line)
            if m:
                a = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
                anchors.add(a)
    return anchors


def agent_families():
    """The metric families the agent's source registers (metrics_counter/gauge/histogram)."""
    fams = {}
    for name in sorted(os.listdir(AGENT)):
        if not name.endswith(".c"):
            continue
        with open(os.path.join(AGENT, name)) as f:
            src = f.read()
        for kind, fam in re.findall(r'\bmetrics_(counter|gauge|histogram)\s*\(\s*[^,()]+,\s*"(\w+)"', src):
            fams[fam] = kind
    return fams


def check_alerts(rules):
    alerts = [r for g in rules["groups"] for r in g["rules"] if "alert" in r]
    names = {r["alert"] for r in alerts}
    check("alert rules cover every required alert", REQUIRED_ALERTS <= names,
          ", ".join(sorted(REQUIRED_ALERTS - names)))
    check("alert names are CamelCase with the Sipwatch prefix",
          all(re.fullmatch(r"Sipwatch(?:[A-Z][a-z0-9]*)+", n) for n in names))
    check("every alert has severity critical/warning/info",
          all(r.get("labels", {}).get("severity") in ("critical", "warning", "info") for r in alerts))
    check("every alert has summary, description and runbook_url", all(
        all(r.get("annotations", {}).get(k) for k in ("summary", "description", "runbook_url"))
        for r in alerts))
    anchors = runbook_anchors()
    bad = []
    for r in alerts:
        path, _, anchor = r["annotations"].get("runbook_url", "").partition("#")
        if path != RUNBOOK_PATH or anchor not in anchors:
            bad.append(f"{r['alert']} ({path}#{anchor})")
    check(f"every runbook_url points at a heading of {RUNBOOK_PATH}", not bad, ", ".join(bad))
    return [(f"alert {r['alert']}", r["expr"]) for r in alerts]


def check_parse(queries):
    """promtool parses every expression: they are written as recording rules and checked."""
    rules = {"groups": [{"name": "queries", "rules": [
        {"record": f"check:query_{i}", "expr": substitute(expr)} for i, (_, expr) in enumerate(queries)]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        yaml.safe_dump(rules, f)
        path = f.name
    try:
        r = subprocess.run(["promtool", "check", "rules", path], capture_output=True, text=True)
        why = (r.stdout + r.stderr).strip().replace("\n", " ")
        if r.returncode:
            # name the culprits
            culprits = []
            for i, (where, expr) in enumerate(queries):
                one = {"groups": [{"name": "q", "rules": [{"record": "check:q", "expr": substitute(expr)}]}]}
                with open(path, "w") as f:
                    yaml.safe_dump(one, f)
                if subprocess.run(["promtool", "check", "rules", path], capture_output=True).returncode:
                    culprits.append(where)
            why = "; ".join(culprits) or why
        check(f"all {len(queries)} PromQL expressions parse (promtool check rules)", r.returncode == 0, why)
    finally:
        os.unlink(path)


def exposition_families(path):
    fams = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"# TYPE (\S+) (\S+)", line)
            if m:
                fams[m.group(1)] = m.group(2)
    return fams


def check_names(queries, fams, what="exported by sipwatch", where="not in the exposition"):
    exported = set(fams)
    for name, kind in fams.items():
        if kind == "histogram":
            exported |= {name + "_bucket", name + "_sum", name + "_count"}
    exported.add("up")  # Prometheus's own per-target series
    used = set()
    for _, expr in queries:
        used |= metric_names(expr)
    missing = sorted(used - exported)
    check(f"every metric the queries name ({len(used)}) is {what}", not missing,
          f"{where}: " + ", ".join(missing))


def check_prometheus(url, queries):
    bad = []
    for where, expr in queries:
        q = urllib.parse.urlencode({"query": substitute(expr)})
        try:
            with urllib.request.urlopen(f"{url}/api/v1/query?{q}", timeout=10) as r:
                body = json.load(r)
            if body.get("status") != "success":
                bad.append(f"{where}: {body.get('error')}")
        except Exception as e:  # an HTTP 400 (bad query) lands here too
            detail = e.read().decode() if hasattr(e, "read") else str(e)
            bad.append(f"{where}: {detail}")
    check(f"all {len(queries)} dashboard and alert queries run on Prometheus without error",
          not bad, "; ".join(bad))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exposition")
    ap.add_argument("--prometheus")
    ap.add_argument("--list-metrics", action="store_true")
    args = ap.parse_args()
    with open(DASHBOARD) as f:
        dash = json.load(f)
    with open(ALERTS) as f:
        rules = yaml.safe_load(f)
    queries = dashboard_queries(dash)
    if args.list_metrics:
        alerts = [(r["alert"], r["expr"]) for g in rules["groups"] for r in g["rules"] if "alert" in r]
        print("\n".join(sorted(set().union(*(metric_names(e) for _, e in queries + alerts)))))
        return 0
    check_dashboard(dash, queries)
    queries += check_alerts(rules)
    check_parse(queries)
    # Without a running agent: the names must at least be families the agent's source registers
    # (a renamed or misspelt family is caught here, before the live check in test_e2e.sh).
    check_names(queries, agent_families(), "registered in agent/", "no metrics_* call registers")
    if args.exposition:
        check_names(queries, exposition_families(args.exposition))
    if args.prometheus:
        check_prometheus(args.prometheus.rstrip("/"), queries)
    return 1 if checklib.failures else 0


if __name__ == "__main__":
    sys.exit(main())
