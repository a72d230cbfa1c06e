#!/usr/bin/python3
"""Golden regressions: the full stats.json of a fixed set of scenarios, checked in.

  scripts/golden.py check   [--bin build/faultline] [--only NAME ...]
  scripts/golden.py refresh [--bin build/faultline] [--only NAME ...]
  scripts/golden.py compare --bin A --against B [--only NAME ...]

The scenarios are tests/golden/scenarios.txt (`name: faultline run arguments`, paths
relative to the repository root). `check` runs each and compares its stats.json with
tests/golden/NAME.json, printing every stat that differs; exit 1 if any does. `refresh`
rewrites the goldens (each file whole: a temporary file, then a rename); commit them with a
message that says why they changed. `compare` runs two binaries on every scenario and
compares them with each other (an old build against a new one, e.g. to show that a speed
change left every result as it was).

Compared: every stat and every meta field except those that depend on the host, the
build or how the kernel dispatched events (IGNORED_META): kernel_events and
kernel_delta_cycles count scheduler callbacks and SystemC delta cycles, which a change to
the scheduler may reduce by design without changing any result.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN_DIR = os.path.join(ROOT, "tests", "golden")
MANIFEST = os.path.join(GOLDEN_DIR, "scenarios.txt")
IGNORED_META = {"host_seconds", "host_accesses_per_second", "kernel_events", "kernel_delta_cycles",
                "git_hash", "build_type", "systemc_version"}


def scenarios(only):
    out = []
    with open(MANIFEST) as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, sep, args = line.partition(":")
            if not sep or not name.strip():
                raise SystemExit(f"{MANIFEST}:{lineno}: expected `name: arguments`")
            out.append((name.strip(), shlex.split(args)))
    names = {n for n, _ in out}
    for n in only or []:
        if n not in names:
            raise SystemExit(f"no golden scenario named {n!r} in {MANIFEST}")
    return [s for s in out if not only or s[0] in only]


def run(binary, args):
    """Runs one scenario from the repository root; returns its stats.json, volatile meta removed."""
    with tempfile.TemporaryDirectory() as d:
        cmd = [binary, "run", "--quiet", "--out", d] + args
        proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        path = os.path.join(d, "stats.json")
        if not os.path.exists(path):
            raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode} and wrote no stats.json:\n{proc.stderr}")
        with open(path) as f:
            doc = json.load(f)
    doc["meta"] = {k: v for k, v in doc["meta"].items() if k not in IGNORED_META}
    return doc


def differences(expected, actual, limit=40):
    lines = []
    for section in ("meta", "stats"):
        e, a = expected.get(section, {}), actual.get(section, {})
        for key in sorted(set(e) | set(a)):
            if key not in a:
                lines.append(f"  {section}.{key}: missing (expected {json.dumps(e[key])})")
            elif key not in e:
                lines.append(f"  {section}.{key}: new (now {json.dumps(a[key])})")
            elif e[key] != a[key]:
                lines.append(f"  {section}.{key}: expected {json.dumps(e[key])}, now {json.dumps(a[key])}")
    if len(lines) > limit:
        lines = lines[:limit] + [f"  ... and {len(lines) - limit} more"]
    return lines


def golden_path(name):
    return os.path.join(GOLDEN_DIR, name + ".json")


def write_whole(path, doc):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", choices=["check", "refresh", "compare"])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "faultline"))
    ap.add_argument("--against", help="compare: the other binary")
    ap.add_argument("--only", nargs="*", help="scenario names (default: all)")
    a = ap.parse_args()
    binary = os.path.abspath(a.bin)
    if not os.access(binary, os.X_OK):
        raise SystemExit(f"{binary}: not an executable (build it first)")
    failed = 0
    for name, args in scenarios(a.only):
        try:
            actual = run(binary, args)
            if a.action == "refresh":
                write_whole(golden_path(name), actual)
                print(f"{name}: written")
                continue
            if a.action == "compare":
                if not a.against:
                    raise SystemExit("compare needs --against BINARY")
                expected = run(os.path.abspath(a.against), args)
            else:
                if not os.path.exists(golden_path(name)):
                    raise RuntimeError(f"no golden {golden_path(name)}: run `scripts/golden.py refresh --only {name}`")
                with open(golden_path(name)) as f:
                    expected = json.load(f)
        except RuntimeError as e:
            print(f"{name}: ERROR {e}")
            failed += 1
            continue
        diff = differences(expected, actual)
        if diff:
            failed += 1
            print(f"{name}: {len(diff)} differences")
            print("\n".join(diff))
        else:
            print(f"{name}: identical ({len(actual['stats'])} stats)")
    if failed:
        print(f"{failed} scenario(s) differ")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
