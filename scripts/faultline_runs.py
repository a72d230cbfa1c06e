"""Shared helpers for the scripts that run faultline experiments and calibration checks:
each runs its points as a sweep (`faultline sweep SPEC`, docs/sweeps.md) of a spec under
configs/sweeps/ and reads the rows of the sweep's results.csv."""
import contextlib
import csv
import json
import os
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_BIN = os.path.join(ROOT, "build", "faultline")
SWEEPS = os.path.join(ROOT, "configs", "sweeps")


def spec_path(name):
    """configs/sweeps/NAME.textproto."""
    return os.path.join(SWEEPS, name + ".textproto")


def add_arguments(ap):
    """The options every sweep-running script has: --bin, -j/--jobs, --sweep-out."""
    ap.add_argument("--bin", default=DEFAULT_BIN, help="the faultline binary (default build/faultline)")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, help="runs at once (faultline sweep -j)")
    ap.add_argument("--sweep-out", metavar="DIR",
                    help="keep each sweep's directory as DIR/NAME (points, results.csv); a directory of an "
                         "earlier sweep is resumed, so use a fresh one after changing the binary or options. "
                         "Default: a temporary directory, removed afterwards")


def _cell(v):
    """A stat cell of results.csv as stats.json holds it: int, float, or None when empty."""
    return json.loads(v) if v != "" else None


def sweep(binary, spec, out_dir=None, jobs=1, sets=(), config=None):
    """Runs `faultline sweep SPEC --out OUT_DIR -j JOBS` and returns the rows of
    OUT_DIR/results.csv as dicts, in the table's order: `point`, the parameters and `status`
    as strings, each stat as its number (None for an empty cell). A row whose status is not
    `ok` also has `failure`: its point's failed.txt (`exit N` and the end of its output).
    SETS (KEY=VALUE, or $NAME=VALUE for a workload variable) and CONFIG (a base config) apply
    to every point (faultline sweep --set / --config). OUT_DIR None: a
    temporary directory, removed afterwards. Raises RuntimeError with the sweep's output when
    it exits non-zero."""
    with contextlib.ExitStack() as stack:
        if out_dir is None:
            out_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="faultline-sweep-"))
        os.makedirs(out_dir, exist_ok=True)
        args = [binary, "sweep", spec, "--out", out_dir, "-j", str(jobs)]
        if config:
            args += ["--config", config]
        for s in sets:
            args += ["--set", s]
        p = subprocess.run(args, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError("faultline sweep failed (exit %d): %s\n%s%s" % (
                p.returncode, " ".join(args), p.stdout, p.stderr))
        with open(os.path.join(out_dir, "results.csv"), newline="") as f:
            reader = csv.reader(f)
            header = next(reader)
            first_stat = header.index("status") + 1
            rows = []
            for cells in reader:
                row = dict(zip(header[:first_stat], cells[:first_stat]))
                row.update((k, _cell(v)) for k, v in zip(header[first_stat:], cells[first_stat:]))
                if row["status"] != "ok":
                    failed = os.path.join(out_dir, "points", row["point"], "failed.txt")
                    row["failure"] = open(failed).read() if os.path.exists(failed) else ""
                rows.append(row)
        return rows


def sweep_out(args, name):
    """The directory for sweep NAME under --sweep-out, or None (a temporary one)."""
    return os.path.join(args.sweep_out, name) if args.sweep_out else None


def run_spec(args, name, sets=(), config=None, ok=("ok",), out_name=None):
    """Runs configs/sweeps/NAME.textproto with the script's --bin, -j and --sweep-out (into
    DIR/OUT_NAME, default DIR/NAME); returns its rows. A row whose status is not in OK
    raises RuntimeError naming the point."""
    rows = sweep(args.bin, spec_path(name), sweep_out(args, out_name or name), args.jobs, sets, config)
    for r in rows:
        if r["status"] not in ok:
            raise RuntimeError("sweep %s: point %s: %s\n%s" % (name, r["point"], r["status"], r.get("failure", "")))
    return rows


def copy_gb_per_s(row):
    """Bandwidth of the dma_copy operations of a point: bytes over summed job time (stats
    workload.dma_copy_bytes, workload.dma_copy_ns:mean and :count)."""
    return row["workload.dma_copy_bytes"] / (row["workload.dma_copy_ns:mean"] * row["workload.dma_copy_ns:count"])
