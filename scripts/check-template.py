#!/usr/bin/env python3
"""The template's function against the code and the README: every variable the
template sets is one the function reads; the LogLevel parameter is the level the
function logs at (Lambda passes ApplicationLogLevel as AWS_LAMBDA_LOG_LEVEL, which
the function prefers to RUST_LOG, so a RUST_LOG beside it would be ignored); and the
paths the template gives as examples are the ones the README tells to use.

Usage: scripts/check-template.py [infra/template.yaml] [src] [README.md]
"""
import pathlib
import re
import sys

template_path = sys.argv[1] if len(sys.argv) > 1 else "infra/template.yaml"
source_dir = pathlib.Path(sys.argv[2] if len(sys.argv) > 2 else "src")
readme_path = sys.argv[3] if len(sys.argv) > 3 else "README.md"
template = open(template_path, encoding="utf-8").read()
readme = open(readme_path, encoding="utf-8").read()
source = "\n".join(p.read_text(encoding="utf-8") for p in source_dir.rglob("*.rs"))
errors = []

# The function's environment: the block under `Environment:` / `Variables:`.
env_match = re.search(r"^( *)Environment:\n\1  Variables:\n((?:\1    .*\n)+)", template, re.M)
if not env_match:
    sys.exit(f"{template_path}: no function Environment/Variables block found")
variables = re.findall(r"^\s*([A-Z][A-Z0-9_]+):", env_match.group(2), re.M)
for name in variables:
    if f'"{name}"' not in source:
        errors.append(f"the template sets {name}, which nothing in {source_dir}/ reads")

level = re.search(r"^\s*ApplicationLogLevel: (.+)$", template, re.M)
if not level or level.group(1).strip() != "!Ref LogLevel":
    errors.append("LoggingConfig's ApplicationLogLevel is not !Ref LogLevel: "
                  "the LogLevel parameter would not set the function's level")
if "RUST_LOG" in variables:
    errors.append("the template sets RUST_LOG, which the function ignores when Lambda "
                  "sets AWS_LAMBDA_LOG_LEVEL (from ApplicationLogLevel)")

for path in sorted(set(re.findall(r"/opt/[\w./-]+\w", template))):
    if path not in readme:
        errors.append(f"the template names {path}, which {readme_path} does not")

if errors:
    sys.exit("\n".join(f"{template_path}: {e}" for e in errors))
print(f"{template_path}: {len(variables)} variables, all read by the function; "
      "the log level and the example paths agree with the code and the README")
