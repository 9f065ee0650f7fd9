#!/usr/bin/env python3
"""Peer implementation of the registry contract (shared/spec/registry.md) in pandas.

    assess_pandas.py MEMBERS.csv|.xlsx [--villages VILLAGES.csv|.xlsx] --year Y --line YUAN
                     [--encoding utf-8|gbk] --out OUT.json

What a skilled analyst would write: read the CSV with dtype=str and usecols, in chunks
(so a 10^7-household register does not need its whole text in memory at once), turn each
chunk into compact typed columns with vectorized string operations (the ID check character
by slicing the 18 characters into a digit matrix, not a Python function per row), then
concatenate and do the household-level checks with groupby on the household code.
Money is int64 fen throughout, never float. GBK files are read as GB18030 (its superset).

XLSX (recognized by content, as fupin does): pd.read_excel(engine="calamine", header=None,
dtype=object) of the first worksheet — python-calamine, the calamine crate fupin uses —
then common.sheet_columns turns the cells into the text fupin makes of them (a whole
number without ".0", other numbers as Rust prints them, 是/否 for booleans), skips blank
rows, takes the first other row as the header and notes which ID cells held a number
(E105 whatever they read). From there the rows go through the same read_rows as a CSV
chunk.

Writes OUT.json (counts, sorted keys) and OUT.households.csv (one row per household).
"""

import os
import sys
import time

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402

CHUNK_ROWS = 1_000_000
W = np.array(C.ID_WEIGHTS, dtype=np.int64)
CHECK = np.frombuffer(C.ID_CHECK.encode(), dtype=np.uint8)
POW10 = 10 ** np.arange(16, -1, -1, dtype=np.int64)
DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
INVALID = -1  # sentinel of an invalid (or, for required fields, empty) value


def codes_of(s, values, empty_code=None):
    """Position of each value in `values` (0-based), `empty_code` for '', else INVALID."""
    codes = pd.Index(values).get_indexer(s).astype(np.int16)  # -1 (INVALID) when absent
    if empty_code is not None:
        codes[(s == "").to_numpy(dtype=bool)] = empty_code
    return pd.Series(codes, index=s.index)


def boolean(s):
    low = s.str.lower()
    return pd.Series(np.select([low.isin(C.BOOL_TRUE), low.isin(C.BOOL_FALSE)], [1, 0], INVALID),
                     index=s.index).astype(np.int8)


def amount(s):
    """Fen as int64: '' = 0; INVALID when not an amount (E104)."""
    fen = np.full(len(s), INVALID, dtype=np.int64)
    fen[(s == "").to_numpy(dtype=bool)] = 0
    ok = ((s != "") & s.str.fullmatch(C.AMOUNT_RE) & s.str.contains("[0-9]", regex=True)).to_numpy(dtype=bool)
    if ok.any():
        v = s[ok].str.replace(r"[+,]", "", regex=True)
        dot = v.str.find(".").to_numpy()
        frac_digits = np.where(dot < 0, 0, v.str.len().to_numpy() - dot - 1)
        digits = v.str.replace(".", "", regex=False).str.lstrip("0")
        fits = (digits.str.len() <= 15).to_numpy(dtype=bool)  # at most 10^14 fen
        value = np.full(len(v), INVALID, dtype=np.int64)
        d = digits[fits]
        value[fits] = d.where(d != "", "0").astype(np.int64).to_numpy() * (10 ** (2 - frac_digits[fits]))
        value[value > C.MAX_FEN] = INVALID
        fen[ok] = value
    return pd.Series(fen, index=s.index)


def id_numbers(s, year, stored_as_number=None):
    """(valid, key, age, male, birth_ok) for a column of ID numbers, vectorized. An XLSX
    ID cell stored as a number (stored_as_number) is never valid: E105."""
    n = len(s)
    valid = np.zeros(n, dtype=bool)
    key = np.full(n, INVALID, dtype=np.int64)
    age = np.full(n, -999, dtype=np.int16)
    male = np.zeros(n, dtype=bool)
    birth_ok = np.zeros(n, dtype=bool)
    fmt = s.str.fullmatch(r"[0-9]{17}[0-9Xx]").to_numpy(dtype=bool)
    if stored_as_number is not None:
        fmt = fmt & ~stored_as_number
    if fmt.any():
        b = np.frombuffer(s[fmt].str.cat().encode("ascii"), dtype=np.uint8).reshape(-1, 18)
        d = b[:, :17].astype(np.int64) - 48
        r = (d @ W) % 11
        last = np.where(b[:, 17] == ord("x"), ord("X"), b[:, 17])
        ok = CHECK[r] == last
        idx = np.flatnonzero(fmt)
        valid[idx] = ok
        key[idx[ok]] = (d[ok] @ POW10) * 11 + np.where(last[ok] == ord("X"), 10, last[ok] - 48)
        male[idx] = d[:, 16] % 2 == 1
        y = d[:, 6] * 1000 + d[:, 7] * 100 + d[:, 8] * 10 + d[:, 9]
        m = d[:, 10] * 10 + d[:, 11]
        dd = d[:, 12] * 10 + d[:, 13]
        leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
        dim = DAYS[np.clip(m, 0, 12)] + ((m == 2) & leap)
        real = (m >= 1) & (m <= 12) & (dd >= 1) & (dd <= dim)
        bo = ok & real & (y <= year)  # not after 31 December of Y
        birth_ok[idx] = bo
        a = year - y - ((m > 9) | ((m == 9) & (dd > 1)))
        age[idx[bo]] = a[bo]
    return valid, key, age, male, birth_ok


def read_rows(chunk, year, id_as_number=None):
    """Row-level checks of one chunk, and the compact typed columns kept for later."""
    g = {en: chunk[en] if en in chunk else pd.Series("", index=chunk.index, dtype=str)
         for _, en, _ in C.MEMBER_FIELDS}
    out = pd.DataFrame({"hh": g["household_id"], "township": g["township"], "village": g["village"]})
    out["is_head"] = g["relation"] == "户主"

    valid, key, age, male, birth_ok = id_numbers(g["id_number"], year, id_as_number)
    out["id_key"] = key
    e102 = sum((g[f] == "").astype(np.int8) for f in C.REQUIRED_TEXT + [
        "schooling", "medical_insurance", "poverty_status", "food_secure", "clothing_secure",
        "housing_grade", "safe_water"])
    e105 = (g["id_number"] != "") & ~valid
    e106 = valid & ~birth_ok

    v = {}
    for f in C.BOOL_FIELDS:
        v[f] = boolean(g[f])
    for f, vals in C.CHOICES.items():
        if f == "housing_grade":
            v[f] = codes_of(g[f].str.upper(), vals)
        elif f in C.DEFAULTS:
            v[f] = codes_of(g[f], vals, empty_code=vals.index(C.DEFAULTS[f]))
        elif f in C.REQUIRED:
            v[f] = codes_of(g[f], vals)
        else:
            v[f] = codes_of(g[f], vals, empty_code=len(vals))  # '' is a value of its own
    v["schooling"] = codes_of(g["schooling"], C.SCHOOLING)
    for f in C.AMOUNT_FIELDS + ["per_capita_income"]:
        v[f] = amount(g[f])
    e103 = sum(((g[f] != "") & (v[f] == INVALID)).astype(np.int8) for f in [
        "sex", "schooling", "health", "labor", "medical_insurance", "active_military",
        "poverty_status", "household_type", "main_cause", "food_secure", "clothing_secure",
        "housing_grade", "renovation", "relocation", "safe_water"])
    e104 = sum((v[f] == INVALID).astype(np.int8) for f in C.AMOUNT_FIELDS + ["per_capita_income"])

    sch = g["schooling"]
    has_sex = (v["sex"] == 0) | (v["sex"] == 1)  # not empty, not invalid
    out["w201"] = has_sex & valid & ((v["sex"] == 0) != male)
    has_age = birth_ok & (v["schooling"] != INVALID)
    out["w203"] = has_age & (((sch == "学前教育") & (age >= 8)) | (sch.isin(C.PRIMARY) & (age >= 18))
                             | ((sch == "大专及以上") & (age < 15)))
    out["e102"], out["e103"], out["e104"] = e102, e103, e104
    out["e105"], out["e106"] = e105, e106
    out["row_error"] = (e102 + e103 + e104 + e105.astype(np.int8) + e106.astype(np.int8)) > 0
    # criteria facts per member
    out["edu_bad"] = (age >= 6) & (age <= 15) & sch.isin(C.NOT_ENROLLED)
    out["med_bad"] = ~((v["medical_insurance"] == 1) | (v["active_military"] == 1))
    # household-level values, normalized (INVALID = skip in E109)
    for f in C.HOUSEHOLD_FIELDS[2:]:
        out["v_" + f] = v[f]
    out["pci_given"] = g["per_capita_income"] != ""
    return out


def read_xlsx(path, fields):
    """The first worksheet as one chunk of text columns named by field, as read_csv's
    chunks: (chunk, unknown headers, rows wider than the header, ID stored as number)."""
    sheet = pd.read_excel(path, sheet_name=0, header=None, dtype=object, engine="calamine",
                          na_filter=False, keep_default_na=False)
    header, data, number, wide_rows = C.sheet_columns([sheet[c].to_numpy() for c in sheet.columns])
    del sheet
    pos, unknown = C.map_header(header, fields)
    chunk = pd.DataFrame({en: data[i].to_pandas() for en, i in sorted(pos.items(), key=lambda x: x[1])})
    idp = pos.get("id_number")
    id_num = (number[idp].to_numpy(zero_copy_only=False)
              if idp is not None and number[idp] is not None else None)
    return chunk, unknown, wide_rows, id_num


def main():
    args = C.parse_args("assess_pandas.py")
    t0 = time.time()
    Y = args.year
    wide_rows, id_num = 0, None
    if C.is_xlsx(args.members):
        chunk, unknown, wide_rows, id_num = read_xlsx(args.members, C.MEMBER_FIELDS)
        names = {i: en for i, en in enumerate(chunk.columns)}
        reader = [chunk]
    else:
        enc = C.python_encoding(args.encoding)
        header = C.read_header(args.members, args.encoding)
        pos, unknown = C.map_header(header, C.MEMBER_FIELDS)
        names = {i: en for en, i in pos.items()}
        reader = pd.read_csv(args.members, dtype=str, keep_default_na=False, na_filter=False,
                             usecols=sorted(names), encoding=enc, encoding_errors="strict",
                             chunksize=CHUNK_ROWS, engine="c")
    usecols = sorted(names)

    parts, start = [], 0
    for chunk in reader:
        chunk.columns = [names[i] for i in usecols]
        chunk = chunk.apply(lambda s: s.str.strip(C.TRIM_CHARS))
        part = read_rows(chunk, Y, id_num)
        part.index = pd.RangeIndex(start, start + len(part))
        start += len(part)
        parts.append(part)
    df = pd.concat(parts, ignore_index=True) if parts else read_rows(
        pd.DataFrame({en: pd.Series(dtype=str) for en in names.values()}), Y)
    del parts
    t_rows = time.time()

    # Household code in order of first appearance; the first row of each household.
    # A row with an empty 户编号 (E102) is a household of its own.
    solo = df["hh"] == ""
    if solo.any():
        df.loc[solo, "hh"] = "\x01" + pd.Series(np.flatnonzero(solo), index=df.index[solo]).astype(str)
    df["h"], hh_ids = pd.factorize(df["hh"], sort=False)
    hh_ids = pd.Series(hh_ids).where(~pd.Series(hh_ids).str.startswith("\x01"), "")
    first_rows = np.flatnonzero(~df["h"].duplicated().to_numpy())  # ordered by h (appearance)
    for f in ("township", "village"):
        codes, _ = pd.factorize(df[f])
        df["v_" + f] = np.where(df[f] == "", INVALID, codes)

    # E109: every household-level field of every row against the household's first row.
    h = df["h"].to_numpy()
    e109 = np.zeros(len(df), dtype=np.int16)
    for f in C.HOUSEHOLD_FIELDS:
        a = df["v_" + f].to_numpy()
        fa = a[first_rows][h]
        e109 += (a != INVALID) & (fa != INVALID) & (a != fa)
    df["e109"] = e109
    # E107: the same (valid) ID number on more than one row: every such row.
    df["e107"] = (df["id_key"] != INVALID) & df["id_key"].duplicated(keep=False)

    g = df.groupby("h", sort=True)
    H = g.agg(n=("hh", "size"), heads=("is_head", "sum"), row_errors=("row_error", "sum"),
              e107=("e107", "sum"), e109=("e109", "sum"), edu_fail=("edu_bad", "any"),
              med_fail=("med_bad", "any"))
    hv = df.iloc[first_rows].reset_index(drop=True)  # household values from the first row
    H["household_id"] = hh_ids.to_numpy()
    H["township"], H["village"] = hv["township"].to_numpy(), hv["village"].to_numpy()
    H["e108"] = np.where(H["heads"] == 0, 1, np.where(H["heads"] > 1, H["heads"], 0))
    status = hv["v_poverty_status"].to_numpy()
    amounts = [hv["v_" + f].to_numpy() for f in C.AMOUNT_FIELDS]
    amounts_ok = np.logical_and.reduce([a != INVALID for a in amounts])
    net = amounts[0] + amounts[1] - amounts[2] + amounts[3] + amounts[4]
    n = H["n"].to_numpy()
    pc = np.sign(net) * ((np.abs(net) * 2 + n) // (2 * n))  # half away from zero
    data_error = ((H["row_errors"] + H["e107"] + H["e108"] + H["e109"]).to_numpy() > 0) \
        | (status == INVALID) | ~amounts_ok
    pci = hv["v_per_capita_income"].to_numpy()
    H["w202"] = hv["pci_given"].to_numpy() & (pci != INVALID) & amounts_ok & (np.abs(pci - pc) > 100)

    grade = hv["v_housing_grade"].to_numpy()
    fails = {
        "INCOME": ~(net > args.line_fen * n),
        "FOOD": hv["v_food_secure"].to_numpy() != 1,
        "CLOTHING": hv["v_clothing_secure"].to_numpy() != 1,
        "EDUCATION": H["edu_fail"].to_numpy(),
        "MEDICAL": H["med_fail"].to_numpy(),
        "HOUSING": ~((grade == 0) | (grade == 1)
                     | (hv["v_renovation"].to_numpy() == C.CHOICES["renovation"].index("已竣工"))
                     | (hv["v_relocation"].to_numpy() == C.CHOICES["relocation"].index("已搬迁入住"))),
        "WATER": hv["v_safe_water"].to_numpy() != 1,
    }
    any_fail = np.logical_or.reduce(list(fails.values()))
    exited = status == C.CHOICES["poverty_status"].index("已脱贫")
    H["verdict"] = np.select(
        [data_error, ~exited & ~any_fail, ~exited, ~any_fail],
        ["data_error", "ready", "not_ready", "stable"], "wrong_exit")
    H["status"] = status
    failed_txt = pd.Series("", index=H.index, dtype=str)
    for c, f in fails.items():
        fails[c] = f & ~data_error
        failed_txt = failed_txt + np.where(fails[c], c + "|", "")
    H["failed"] = failed_txt.str.rstrip("|")
    H["per_capita"] = np.where(data_error, 0, pc)
    H["data_error"] = data_error
    t_hh = time.time()

    problems = {c: int(df[c.lower()].sum()) for c in ["E102", "E103", "E104", "E105", "E106",
                                                      "E107", "E109", "W201", "W203"]}
    problems["E108"] = int(H["e108"].sum())
    problems["W202"] = int(H["w202"].sum())
    # one W205 for unknown headers; XLSX: one more per row with cells right of the header
    problems["W205"] = (1 if unknown else 0) + wide_rows
    verdicts = H["verdict"].value_counts().to_dict()
    failed = {c: int(f.sum()) for c, f in fails.items()}

    county = villages(args, H, df) if args.villages else None

    pcv = H["per_capita"].to_numpy()
    pc_txt = (np.where(pcv < 0, "-", "") + pd.Series(np.abs(pcv) // 100).astype(str)
              + "." + pd.Series(np.abs(pcv) % 100).astype(str).str.zfill(2))
    pd.DataFrame({"household_id": H["household_id"], "members": H["n"],
                  "per_capita_income": pc_txt.where(~data_error, ""),
                  "verdict": H["verdict"], "failed": H["failed"]}
                 ).to_csv(C.households_csv_path(args.out), index=False)
    C.write_result(args.out, len(H), int(n.sum()), verdicts, problems, failed, county)
    print(f"pandas {pd.__version__}: rows {t_rows - t0:.1f}s, households {t_hh - t_rows:.1f}s, "
          f"total {time.time() - t0:.1f}s", file=sys.stderr)


def villages(args, H, df):
    """§3 figures from the villages file: poor_now, remaining, incidences, exit-ready."""
    if C.is_xlsx(args.villages):
        v = read_xlsx(args.villages, C.VILLAGE_FIELDS)[0]
    else:
        header = C.read_header(args.villages, args.encoding)
        pos, _ = C.map_header(header, C.VILLAGE_FIELDS)
        names = {i: en for en, i in pos.items()}
        usecols = sorted(names)
        v = pd.read_csv(args.villages, dtype=str, keep_default_na=False, na_filter=False,
                        usecols=usecols, encoding=C.python_encoding(args.encoding))
        v.columns = [names[i] for i in usecols]
    v = v.apply(lambda s: s.str.strip(C.TRIM_CHARS))
    pop = pd.to_numeric(v["population"].where(v["population"].str.fullmatch(r"[+-]?[0-9]+"), None),
                        errors="coerce")
    if not (pop > 0).all():
        C.fail(f"villages file: {(~(pop > 0)).sum()} rows whose 户籍人口 is not an integer > 0")
    v["population"] = pop.astype(np.int64)
    if v.duplicated(["township", "village"]).any():
        C.fail("villages file: the same village twice")
    cond = np.ones(len(v), dtype=bool)
    for c in C.CONDITION_COLUMNS:
        if c in v:
            cond &= (v[c] == "") | v[c].str.lower().isin(C.BOOL_TRUE)
    v["conditions_met"] = cond
    status_now = C.CHOICES["poverty_status"].index("未脱贫")
    status_out = C.CHOICES["poverty_status"].index("已脱贫")
    hh = pd.DataFrame({
        "township": H["township"], "village": H["village"],
        "poor_now": np.where(H["status"] == status_now, H["n"], 0),
        "remaining": np.where(H["verdict"].isin(["not_ready", "wrong_exit", "data_error"]), H["n"], 0),
        "exited": np.where(H["status"] == status_out, H["n"], 0),
        "wrong_exit": np.where(H["verdict"] == "wrong_exit", H["n"], 0),
        "n": H["n"],
    })
    per_village = hh.groupby(["township", "village"], sort=False).sum()
    # E110 (file-level): a member row whose (township, village) is not in the villages file.
    # (as fupin: rows with an empty township or village are not E110, they have E102).
    placed = df[(df["township"] != "") & (df["village"] != "")]
    rows_per_place = placed.groupby(["township", "village"], sort=False).size().rename("rows")
    j = rows_per_place.to_frame().join(v.set_index(["township", "village"]), how="left")
    missing = int(j.loc[j["population"].isna(), "rows"].sum())
    if missing:
        C.fail(f"E110: {missing} members whose village is missing from the villages file")
    vf = v.join(per_village, on=["township", "village"]).fillna(
        {"poor_now": 0, "remaining": 0, "exited": 0, "wrong_exit": 0})
    vf["exit_ready"] = (vf["remaining"] * 10000 < C.THRESHOLD_BP * vf["population"]) & vf["conditions_met"]
    poor_now, remaining, population = (int(vf[c].sum()) for c in ("poor_now", "remaining", "population"))
    return {"poor_now": poor_now, "remaining": remaining, "population": population,
            "villages": len(vf), "villages_exit_ready": int(vf["exit_ready"].sum()),
            "exit_ready": remaining * 10000 < C.THRESHOLD_BP * population,
            "exited_members": int(vf["exited"].sum()), "wrong_exit_members": int(vf["wrong_exit"].sum())}


if __name__ == "__main__":
    try:
        main()
    except (UnicodeDecodeError, pd.errors.ParserError) as e:
        C.fail(f"cannot read the register: {e}")
