#!/usr/bin/env python3
"""Run both peers on the golden register and check them against its expected results.

    check_golden.py [GOLDEN_DIR] [--python PYTHON]

GOLDEN_DIR defaults to crates/cli/tests/fixtures/golden. For members.csv (UTF-8) and
members_gbk_en.csv (GBK, English headers), with villages.csv, each peer's
OUT.households.csv must equal expected_households.csv byte for byte, its problem counts
must equal those of expected_problems.csv, and its county figures those of the 合计 row of
expected_figures.csv. Exits 1 on any difference.
"""

import argparse
import collections
import csv
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("golden", nargs="?", default=os.path.join(ROOT, "crates/cli/tests/fixtures/golden"))
    p.add_argument("--python", default=os.path.join(ROOT, "bench/.venv/bin/python"))
    a = p.parse_args()
    g = a.golden
    expected_problems = collections.Counter(r["code"] for r in csv.DictReader(open(os.path.join(g, "expected_problems.csv"), encoding="utf-8")))
    total = [r for r in csv.DictReader(open(os.path.join(g, "expected_figures.csv"), encoding="utf-8")) if r["township"] == "合计"][0]
    expected_hh = open(os.path.join(g, "expected_households.csv"), encoding="utf-8").read()
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        villages_gbk = os.path.join(tmp, "villages_gbk.csv")
        with open(os.path.join(g, "villages.csv"), encoding="utf-8") as s, open(villages_gbk, "w", encoding="gbk") as d:
            d.write(s.read())
        for impl in ("duckdb", "pandas"):
            for members, enc, villages in (("members.csv", "utf-8", os.path.join(g, "villages.csv")),
                                           ("members_gbk_en.csv", "gbk", villages_gbk)):
                out = os.path.join(tmp, f"{impl}.{enc}.json")
                r = subprocess.run([a.python, os.path.join(HERE, f"assess_{impl}.py"), os.path.join(g, members),
                                    "--villages", villages, "--year", "2018", "--line", "3535",
                                    "--encoding", enc, "--out", out], capture_output=True, text=True)
                msgs = []
                if r.returncode != 0:
                    msgs.append(f"exit {r.returncode}: {r.stderr.strip()[-500:]}")
                else:
                    res = json.load(open(out, encoding="utf-8"))
                    got_hh = open(out[:-5] + ".households.csv", encoding="utf-8").read()
                    if got_hh != expected_hh:
                        msgs.append("households.csv differs from expected_households.csv")
                    for code in sorted(set(expected_problems) | set(res["problems"])):
                        if expected_problems.get(code, 0) != res["problems"].get(code, 0):
                            msgs.append(f"{code}: expected {expected_problems.get(code, 0)}, got {res['problems'].get(code, 0)}")
                    c = res.get("county", {})
                    for k in ("poor_now", "remaining", "population"):
                        if int(total[k]) != c.get(k):
                            msgs.append(f"county {k}: expected {total[k]}, got {c.get(k)}")
                    if (total["exit_ready"] == "true") != c.get("exit_ready"):
                        msgs.append(f"county exit_ready: expected {total['exit_ready']}, got {c.get('exit_ready')}")
                print(f"{impl:7} {members:20} {'OK' if not msgs else 'FAIL'}")
                for m in msgs:
                    print("   ", m)
                bad += bool(msgs)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
