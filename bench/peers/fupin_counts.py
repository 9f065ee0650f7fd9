#!/usr/bin/env python3
"""Build the benchmark's result JSON (the shape assess_*.py write) from fupin's output.

    fupin_counts.py OUTDIR --out X.json

Reads OUTDIR/households.jsonl (one JSON object per household: household_id, members,
verdict, failed = list of criterion codes), OUTDIR/problems.csv (UTF-8 with BOM, header
row; the code is the column named 代码, else the 4th column) and, when present,
OUTDIR/county.json (fields poor_now, remaining, population and the like are copied when
found at its top level or under a "county" key; skipped when it has no population,
i.e. when fupin ran without a villages file).
"""

import argparse
import csv
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402

COUNTY_KEYS = ["poor_now", "remaining", "population", "villages", "villages_exit_ready",
               "exit_ready", "exited_members", "wrong_exit_members"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("outdir")
    p.add_argument("--out", required=True)
    a = p.parse_args()

    households = members = 0
    verdicts = {v: 0 for v in C.VERDICTS}
    failed = {c: 0 for c in C.CRITERIA}
    with open(os.path.join(a.outdir, "households.jsonl"), encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            h = json.loads(line)
            households += 1
            members += int(h.get("members") or 0)
            verdicts[h["verdict"]] = verdicts.get(h["verdict"], 0) + 1
            fl = h.get("failed") or []
            if isinstance(fl, str):
                fl = [x for x in fl.replace("、", ";").replace(",", ";").split(";") if x]
            for c in fl:
                failed[c] = failed.get(c, 0) + 1

    problems = {}
    with open(os.path.join(a.outdir, "problems.csv"), encoding="utf-8-sig", newline="") as f:
        r = csv.reader(f)
        header = next(r, None)
        if header is not None:
            col = header.index("代码") if "代码" in header else 3
            for row in r:
                if len(row) > col:
                    problems[row[col]] = problems.get(row[col], 0) + 1

    county = None
    cpath = os.path.join(a.outdir, "county.json")
    if os.path.exists(cpath):
        with open(cpath, encoding="utf-8") as f:
            cj = json.load(f)
        src = cj.get("county", cj) if isinstance(cj, dict) else {}
        # without a villages file fupin still writes county.json, with no population
        if isinstance(src, dict) and src.get("population") is not None:
            county = {k: src[k] for k in COUNTY_KEYS if k in src} or None

    out = {"households": households, "members": members, "verdicts": verdicts,
           "problems": {c: problems.get(c, 0) for c in sorted(set(C.PROBLEM_CODES) | set(problems))},
           "failed": failed}
    if county is not None:
        out["county"] = county
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
