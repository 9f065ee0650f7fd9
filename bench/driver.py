#!/usr/bin/env python3
"""Run fupin, the DuckDB and pandas peers and the csv floor on the same registers.

Called by bench/run.sh (which builds the release binaries and the venv). For every size
and input format it generates the register once with `fupin gen --seed 1`, then runs the
tools in turn, round after round (so that a noisy machine slows them alike), each as a
whole process under GNU time: wall, CPU (user + sys) and peak RSS. After the first round
the three implementations' counts must agree (verdicts, problems by code, criteria) or
the run stops with the differences — on every input format, XLSX included. The floor
reads CSV only: on XLSX it is reported as not applicable. Medians are reported; ratios
are medians of the per-round ratios.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
PROFILE = os.environ.get("BENCH_PROFILE", "release")  # the smoke run uses the debug build
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
FUPIN = os.path.join(TARGET, PROFILE, "fupin")
FLOOR = os.path.join(TARGET, PROFILE, "csv-floor")
PY = sys.executable
YEAR, LINE = "2018", "2995"


def run_timed(cmd, log):
    """Run cmd under GNU time; returns (wall s, cpu s, peak MB)."""
    timing = log + ".time"
    full = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", timing] + cmd
    with open(log, "w") as out:
        r = subprocess.run(full, stdout=out, stderr=subprocess.STDOUT)
    if r.returncode not in (0,):
        with open(log) as f:
            tail = f.read()[-3000:]
        raise SystemExit(f"failed ({r.returncode}): {' '.join(cmd)}\n{tail}")
    with open(timing) as f:
        last = f.read().strip().splitlines()[-1].split()
    wall, user, sys_, rss_kb = float(last[0]), float(last[1]), float(last[2]), int(last[3])
    return wall, user + sys_, rss_kb / 1024


def generate(size, fmt, data_dir):
    d = os.path.join(data_dir, f"{size}-{fmt}")
    ext = "xlsx" if fmt == "xlsx" else "csv"
    members = os.path.join(d, f"members.{ext}")
    villages = os.path.join(d, f"villages.{ext}")
    if not (os.path.exists(members) and os.path.exists(villages)):
        args = [FUPIN, "gen", "--households", str(size), "--seed", "1", "--out", d]
        if fmt == "gbk":
            args += ["--encoding", "gbk"]
        if fmt == "xlsx":
            args += ["--format", "xlsx"]
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return members, villages


def tools(members, villages, fmt, out):
    """name -> (command, result json or None)."""
    enc = ["--encoding", "gbk"] if fmt == "gbk" else []
    t = {
        "fupin": ([FUPIN, "assess", members, "--villages", villages, "--year", YEAR,
                   "--line", LINE, "--out", os.path.join(out, "fupin")], None),
    }
    for peer in ("duckdb", "pandas"):  # both read XLSX too (python-calamine, see peers/)
        js = os.path.join(out, f"{peer}.json")
        t[peer] = ([PY, os.path.join(BENCH, "peers", f"assess_{peer}.py"), members,
                    "--villages", villages, "--year", YEAR, "--line", LINE] + enc
                   + ["--out", js], js)
    if fmt != "xlsx":  # the csv-crate floor has no XLSX counterpart: not applicable
        t["floor"] = ([FLOOR, members], None)
    return t


def agree(out, t):
    fjson = os.path.join(out, "fupin.json")
    subprocess.run([PY, os.path.join(BENCH, "peers", "fupin_counts.py"),
                    os.path.join(out, "fupin"), "--out", fjson], check=True)
    others = [js for name, (_, js) in t.items() if js]
    if others:
        r = subprocess.run([PY, os.path.join(BENCH, "peers", "compare.py"), fjson] + others)
        if r.returncode != 0:
            raise SystemExit(f"the implementations disagree on {out}: see above")


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000, 1_000_000])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--formats", default="utf8,gbk,xlsx",
                   help="utf8, gbk, xlsx (xlsx only at sizes ≤ 100000)")
    p.add_argument("--duckdb-max", type=int, default=10_000_000,
                   help="skip DuckDB above this many households (≈800 s a round at 10^7)")
    p.add_argument("--pandas-max", type=int, default=1_000_000,
                   help="skip pandas above this many households (it holds the file in memory)")
    p.add_argument("--data", default=os.path.join(BENCH, "data"))
    p.add_argument("--out", default=os.path.join(BENCH, "out"))
    p.add_argument("--smoke", action="store_true", help="one round, agreement only, no table")
    a = p.parse_args()
    formats = a.formats.split(",")
    rows = []
    for size in a.sizes:
        for fmt in formats:
            if fmt == "xlsx" and size > 100_000:
                continue
            members, villages = generate(size, fmt, a.data)
            mb = os.path.getsize(members) / 1e6
            out = os.path.join(a.out, f"{size}-{fmt}")
            os.makedirs(out, exist_ok=True)
            t = tools(members, villages, fmt, out)
            if size > a.pandas_max:
                t.pop("pandas", None)
            if size > a.duckdb_max:
                t.pop("duckdb", None)
            results = {name: [] for name in t}
            for rnd in range(1 if a.smoke else a.runs):
                for name, (cmd, _) in t.items():
                    results[name].append(run_timed(cmd, os.path.join(out, f"{name}.log")))
                if rnd == 0:
                    agree(out, t)
            print(f"{size} {fmt}: the implementations agree", flush=True)
            if a.smoke:
                continue
            med = {n: tuple(median([r[i] for r in rs]) for i in range(3)) for n, rs in results.items()}
            ratio = {}
            for other in ("duckdb", "pandas", "floor"):
                if other in results:
                    ratio[other] = median([f[0] / o[0] if o[0] else float("nan")  # 0.00 s at 10^3
                                          for f, o in zip(results["fupin"], results[other])])
            rows.append({"households": size, "format": fmt, "mb": mb, "median": med, "ratio": ratio,
                         "runs": a.runs})
            print(table([rows[-1]]), flush=True)
    if not a.smoke:
        os.makedirs(a.out, exist_ok=True)
        text = header() + table(rows)
        with open(os.path.join(a.out, "latest.md"), "w") as f:
            f.write(text)
        with open(os.path.join(a.out, "latest.json"), "w") as f:
            json.dump(rows, f, indent=1)
        print("\n" + text)


def header():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"Run {time.strftime('%Y-%m-%d %H:%M')} on {os.cpu_count()} cores ({cpu}); "
            f"medians of the runs; ratios are medians of per-round ratios of wall time.\n\n")


def rate(x, wall, sep=""):
    return f"{x / wall:{sep}.0f}" if wall else "—"  # GNU time's 0.00 s (tiny registers)


def table(rows):
    lines = ["| households | input | MB | tool | wall s | CPU s | peak RSS MB | MB/s | households/s | fupin ÷ tool (wall) |",
             "|---:|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        for name, (wall, cpu, rss) in r["median"].items():
            ratio = "" if name == "fupin" else f"{r['ratio'].get(name, float('nan')):.3f}"
            lines.append(f"| {r['households']:,} | {r['format']} | {r['mb']:.0f} | {name} | {wall:.2f} | "
                         f"{cpu:.2f} | {rss:.0f} | {rate(r['mb'], wall)} | {rate(r['households'], wall, ',')} | {ratio} |")
        if r["format"] == "xlsx":  # the floor only splits CSV: not applicable
            lines.append(f"| {r['households']:,} | {r['format']} | {r['mb']:.0f} | floor | n/a | n/a | n/a | "
                         f"n/a | n/a | n/a (CSV only) |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
