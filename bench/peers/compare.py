#!/usr/bin/env python3
"""Compare result files of the benchmark (same JSON shape as assess_*.py writes).

    compare.py A.json B.json [C.json ...]

Every file is compared with the first. Compared: households, members, verdict counts,
problem counts by code (a code missing from a file counts 0), failed-criterion counts and,
when both files have a county, the county keys both have. Exits 1 and prints every
difference if any pair differs, else prints one line and exits 0.
"""

import json
import sys


def flat(d):
    out = {"households": d.get("households"), "members": d.get("members")}
    for section in ("verdicts", "problems", "failed"):
        for k, v in (d.get(section) or {}).items():
            out[f"{section}.{k}"] = v
    for k, v in (d.get("county") or {}).items():
        out[f"county.{k}"] = v
    return out


def main(paths):
    if len(paths) < 2:
        sys.exit("usage: compare.py A.json B.json [C.json ...]")
    results = []
    for p in paths:
        with open(p, encoding="utf-8") as f:
            results.append(flat(json.load(f)))
    base, bad = results[0], False
    for p, r in zip(paths[1:], results[1:]):
        keys = sorted(set(base) | set(r))
        rows = []
        for k in keys:
            zero = 0 if k.split(".")[0] in ("verdicts", "problems", "failed") else None
            if k.startswith("county.") and (k not in base or k not in r):
                continue  # county keys only one side knows are not compared
            a, b = base.get(k, zero), r.get(k, zero)
            if a != b:
                rows.append((k, a, b))
        if rows:
            bad = True
            print(f"DIFFER: {paths[0]} vs {p}")
            w = max(len(k) for k, _, _ in rows)
            for k, a, b in rows:
                print(f"  {k:<{w}}  {a!s:>12}  {b!s:>12}")
    if bad:
        sys.exit(1)
    print(f"same counts: {', '.join(paths)}")


if __name__ == "__main__":
    main(sys.argv[1:])
