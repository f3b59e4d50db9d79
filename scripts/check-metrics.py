#!/usr/bin/env python3
"""The template's metrics against the code: the dashboard body must be valid JSON once
its ${...} references are substituted, and every metric the template reads from the
function's namespace must be one the function emits (METRICS in src/report/metrics/mod.rs).

Usage: scripts/check-metrics.py [infra/template.yaml] [src/report/metrics/mod.rs]
"""
import json
import re
import sys

template_path = sys.argv[1] if len(sys.argv) > 1 else "infra/template.yaml"
metrics_path = sys.argv[2] if len(sys.argv) > 2 else "src/report/metrics/mod.rs"
template = open(template_path, encoding="utf-8").read()
source = open(metrics_path, encoding="utf-8").read()
errors = []

# The names in `pub(crate) const METRICS: &[(&str, &str)] = &[ ("Name", "Unit"), ... ];`.
block = re.search(r"pub(?:\(crate\))? const METRICS\b.*?= &\[(.*?)\];", source, re.S)
if not block:
    sys.exit(f"{metrics_path}: no METRICS list found")
emitted = set(re.findall(r'\(\s*"([A-Za-z]+)"\s*,', block.group(1)))

# The dashboard body: the block scalar after `DashboardBody: !Sub |`.
body_match = re.search(r"^( *)DashboardBody: !Sub \|\n((?:\1  .*\n|\s*\n)+)", template, re.M)
if not body_match:
    sys.exit(f"{template_path}: no `DashboardBody: !Sub |` found")
body = body_match.group(2)
samples = {"AWS::Region": "eu-west-1", "MetricsNamespace": "IndexPilot",
           "Function": "index-pilot", "TimeoutSeconds": "900"}
unknown_refs = set(re.findall(r"\$\{([^}]+)\}", body)) - samples.keys()
if unknown_refs:
    errors.append(f"dashboard: no sample value for ${{{', '.join(sorted(unknown_refs))}}} "
                  "(add one to scripts/check-metrics.py)")
substituted = re.sub(r"\$\{([^}]+)\}", lambda m: samples.get(m.group(1), "x"), body)
try:
    dashboard = json.loads(substituted)
except json.JSONDecodeError as e:
    errors.append(f"dashboard body is not valid JSON after substitution: {e}")
    dashboard = None

used = set()
if dashboard is not None:
    for widget in dashboard.get("widgets", []):
        for row in widget.get("properties", {}).get("metrics", []):
            if row and isinstance(row[0], str) and row[0] == samples["MetricsNamespace"]:
                used.add(("dashboard", row[1]))
            for item in row:
                if isinstance(item, dict) and "expression" in item:
                    for name in re.findall(r'MetricName="([^"]+)"', item["expression"]):
                        used.add(("dashboard", name))
# Alarms on the namespace: `Namespace: !Ref MetricsNamespace` then `MetricName: X`.
for name in re.findall(r"Namespace: !Ref MetricsNamespace\n\s+MetricName: (\S+)", template):
    used.add(("alarm", name))
if not any(where == "alarm" for where, _ in used):
    errors.append("no alarm reads the MetricsNamespace metrics")

for where, name in sorted(used):
    if name not in emitted:
        errors.append(f"{where} uses metric {name!r}, which src/report/metrics/mod.rs does not emit "
                      f"(METRICS: {', '.join(sorted(emitted))})")

if errors:
    sys.exit("\n".join(f"check-metrics: {e}" for e in errors))
print(f"check-metrics: dashboard JSON valid; {len(used)} metric uses, all emitted")
