#!/usr/bin/env python3
"""Peer implementation of the registry contract (shared/spec/registry.md) in DuckDB SQL.

    assess_duckdb.py MEMBERS.csv|.xlsx [--villages VILLAGES.csv|.xlsx] --year Y --line YUAN
                     [--encoding utf-8|gbk] --out OUT.json

What a skilled analyst would write: read the CSV with every column as VARCHAR (trimmed),
number the rows with row_number() OVER () on the scan (file order), derive typed and
checked columns in SQL into one table, then GROUP BY / joins for the household-level
checks and the verdicts. The
database is in memory with a temporary directory, so DuckDB spills to disk on registers
larger than memory. Money is in integer fen throughout (BIGINT), never DOUBLE.

Writes OUT.json (counts, sorted keys) and OUT.households.csv (one row per household).

GBK: DuckDB's read_csv reads UTF-8 only unless its `encodings` extension is loaded, and
that extension cannot be installed here (no network but PyPI). The one pip-packaged build
(duckdb-ext-encodings, for duckdb 1.4.4) was tried and rejected: on a 10^6-household GBK
register it silently corrupted a character that straddled the reader's 32 MB buffer
boundary (a known bug, fixed later in DuckDB's CSV encoding code), ending in a
column-count error. So a GBK file is transcoded to UTF-8 with Python first (GB18030, a
superset of GBK; streaming; strict: an invalid byte stops the run) — see `gbk_source`.

XLSX: DuckDB reads a workbook with its `excel` extension (read_xlsx), which cannot be
installed here either: there is no network to DuckDB's extension repository, and the one
pip-packaged build (duckdb-ext-excel 1.4.4.20260205, the only version on PyPI) is built
for DuckDB v1.4.4 and refuses to load into the pinned duckdb 2.0.1 ("can only be loaded
with that version of DuckDB"). So the first worksheet is read with python-calamine (the
calamine crate fupin uses), its cells turned into the text fupin makes of them
(common.sheet_columns: numbers without ".0", numbers as Rust prints them, 是/否 for
booleans), into a pyarrow table of strings with the row's position `rn` and whether the
ID cell was stored as a number; that table is registered as the relation the CSV path
reads with read_csv, and the same SQL runs over it — see `xlsx_source`.
"""

import os
import shutil
import sys
import tempfile
import time

import duckdb
import pyarrow as pa

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402


def sql_list(values):
    return "(" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + ")"


TRIM = "' \t\u3000\ufeff\r\n'"


def gbk_source(path, tmpdir, name="members"):
    """(path, encoding) to hand to read_csv for a GBK file: a UTF-8 copy in tmpdir,
    transcoded in 16 MiB pieces with strict GB18030 decoding."""
    out = os.path.join(tmpdir, f"{name}.utf8.csv")
    with open(path, encoding="gb18030", errors="strict", newline="") as src, \
            open(out, "w", encoding="utf-8", newline="") as dst:
        shutil.copyfileobj(src, dst, 16 << 20)
    return out, "utf-8"


def xlsx_source(con, path, fields, name):
    """(header, positions, unknown headers, wide rows, relation) for the first worksheet
    of a workbook: the mapped columns as strings (c<i>, as read_csv_sql names them), `rn`
    = the row's position among the data rows (explicit, so no scan order is relied on),
    `id_num` = its ID cell was stored as a number; registered with DuckDB as the view
    `name` (a scan of the Arrow table, no copy)."""
    header, data, number, wide_rows = C.read_xlsx(path)
    pos, unknown = C.map_header(header, fields)
    n = len(data[0])
    cols = {f"c{i}": data[i] for i in sorted(pos.values())}
    cols["rn"] = pa.array(range(1, n + 1), type=pa.int64())
    idp = pos.get("id_number")
    cols["id_num"] = (number[idp] if idp is not None and number[idp] is not None
                      else pa.array([False] * n, type=pa.bool_()))
    con.register(name, pa.table(cols))
    return header, pos, unknown, wide_rows, name


def read_csv_sql(path, header, encoding):
    cols = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(header)))
    p = path.replace("'", "''")
    return (f"read_csv('{p}', header = true, delim = ',', quote = '\"', escape = '\"', "
            f"columns = {{{cols}}}, encoding = '{encoding}', auto_detect = false)")


def main():
    args = C.parse_args("assess_duckdb.py")
    t0 = time.time()
    Y = args.year
    xlsx = C.is_xlsx(args.members)
    wide_rows = 0
    if not xlsx:
        header = C.read_header(args.members, args.encoding)
        pos, unknown = C.map_header(header, C.MEMBER_FIELDS)

    tmpdir = tempfile.mkdtemp(prefix="peer_duckdb_")
    try:
        # In-memory database; DuckDB spills to temp_directory when data outgrows memory.
        con = duckdb.connect()
        con.execute(f"SET temp_directory = '{tmpdir}'")
        con.execute("SET preserve_insertion_order = true")
        src, enc = (args.members, "utf-8")
        if xlsx:
            header, pos, unknown, wide_rows, src = xlsx_source(con, args.members, C.MEMBER_FIELDS,
                                                               "members_xlsx")
        elif args.encoding == "gbk":
            src, enc = gbk_source(args.members, tmpdir)
        vsheet = None
        if args.villages and C.is_xlsx(args.villages):
            # registered now: duckdb 2 refuses con.register() while a result is pending
            vsheet = xlsx_source(con, args.villages, C.VILLAGE_FIELDS, "villages_xlsx")

        # 1. Read: known columns only, trimmed, empty instead of NULL; rn = the row's
        # position in the file, from row_number() OVER () right on the scan (DuckDB's
        # documented way to keep the original order; the rest of the query may reorder).
        # XLSX: the registered Arrow table of the sheet's text, which carries rn and
        # id_num (the ID cell held a number: E105 whatever it reads).
        sel = []
        for _, en, _ in C.MEMBER_FIELDS:
            if en in pos:
                sel.append(f"trim(coalesce(c{pos[en]}, ''), {TRIM}) AS {en}")
            else:
                sel.append(f"'' AS {en}")  # an optional column the file does not have
        t_load = time.time()

        # 2. Row-level checks and typed values, in one pass over the CSV into table r.
        id_sum = " + ".join(f"CAST(substr(id_number, {i + 1}, 1) AS INTEGER) * {w}"
                            for i, w in enumerate(C.ID_WEIGHTS))
        T, F = sql_list(C.BOOL_TRUE), sql_list(C.BOOL_FALSE)

        def boolean(f):
            return (f"CASE WHEN lower({f}) IN {T} THEN true WHEN lower({f}) IN {F} THEN false END")

        def amount(f):
            # NULL when not an amount (E104); empty = 0. Digits without '+', ',' and '.',
            # scaled by the number of fractional digits: exact BIGINT fen.
            digits = f"ltrim(translate({f}, '+,.', ''), '0')"
            return f"""CASE WHEN {f} = '' THEN 0::BIGINT
                WHEN regexp_full_match({f}, '{C.AMOUNT_RE}') AND regexp_matches({f}, '[0-9]')
                     AND length({digits}) <= 15 THEN
                  coalesce(try_cast(nullif({digits}, '') AS BIGINT), 0)
                  * CASE WHEN strpos({f}, '.') = 0 THEN 100
                         ELSE [100, 10, 1][length({f}) - strpos({f}, '.') + 1] END END"""

        def choice(f):
            vals = sql_list(C.CHOICES[f])
            if f == "housing_grade":
                return f"CASE WHEN upper({f}) IN {vals} THEN upper({f}) END"
            if f in C.DEFAULTS:
                return f"CASE WHEN {f} = '' THEN '{C.DEFAULTS[f]}' WHEN {f} IN {vals} THEN {f} END"
            # optional text choices: '' is a value of its own (for E109); required: NULL
            empty_ok = "" if f in C.REQUIRED else f"{f} = '' OR "
            return f"CASE WHEN {empty_ok}{f} IN {vals} THEN {f} END"

        typed = [f"CASE WHEN fen_{f} <= {C.MAX_FEN} THEN fen_{f} END AS v_{f}"
                 for f in C.AMOUNT_FIELDS + ["per_capita_income"]]
        typed += [f"{boolean(f)} AS v_{f}" for f in C.BOOL_FIELDS]
        typed += [f"{choice(f)} AS v_{f}" for f in C.CHOICES]
        typed += [f"CASE WHEN schooling IN {sql_list(C.SCHOOLING)} THEN schooling END AS v_schooling"]
        con.execute(f"""
            CREATE TABLE r AS
            WITH m AS (
                {f"SELECT rn, {', '.join(sel)}, id_num FROM {src}" if xlsx else
                 f"SELECT row_number() OVER () AS rn, {', '.join(sel)}, false AS id_num FROM {read_csv_sql(src, header, enc)}"}
            ), a AS (
                SELECT *,
                       {', '.join(f'{amount(f)} AS fen_{f}' for f in C.AMOUNT_FIELDS + ['per_capita_income'])},
                       NOT id_num AND regexp_full_match(id_number, '[0-9]{{17}}[0-9Xx]') AS id_fmt
                FROM m
            ), b AS (
                SELECT *, {', '.join(typed)},
                       CASE WHEN id_fmt THEN substr('{C.ID_CHECK}', ({id_sum}) % 11 + 1, 1) = upper(substr(id_number, 18, 1))
                            ELSE false END AS id_ok
                FROM a
            ), c AS (
                SELECT *,
                       CASE WHEN id_ok THEN CAST(try_strptime(substr(id_number, 7, 8), '%Y%m%d') AS DATE) END AS birth0
                FROM b
            ), d AS (
                SELECT *,
                       CASE WHEN birth0 <= DATE '{Y}-12-31' THEN birth0 END AS birth,
                       CASE WHEN id_ok THEN CAST(substr(id_number, 17, 1) AS INTEGER) % 2 = 1 END AS id_male
                FROM c
            )
            SELECT rn,
                   -- a row with an empty 户编号 (E102) is a household of its own
                   CASE WHEN household_id = '' THEN chr(1) || rn::VARCHAR ELSE household_id END AS hh,
                   relation = '户主' AS is_head,
                   CASE WHEN id_ok THEN upper(id_number) END AS id_key,
                   {Y} - year(birth) - CASE WHEN month(birth) > 9 OR (month(birth) = 9 AND day(birth) > 1)
                                            THEN 1 ELSE 0 END AS age,
                   NULLIF(township, '') AS v_township, NULLIF(village, '') AS v_village,
                   per_capita_income <> '' AS pci_given,
                   {', '.join(f'v_{f}' for f in C.AMOUNT_FIELDS + ['per_capita_income'] + C.BOOL_FIELDS + list(C.CHOICES))},
                   v_schooling,
                   -- E102: required values empty
                   ({' + '.join(f"({f} = '')::INTEGER" for f in C.REQUIRED_TEXT + [
                        'schooling', 'medical_insurance', 'poverty_status', 'food_secure',
                        'clothing_secure', 'housing_grade', 'safe_water'])}) AS e102,
                   -- E103: values outside the allowed sets
                   ({' + '.join(f"({f} <> '' AND v_{f} IS NULL)::INTEGER"
                                for f in ['sex', 'schooling', 'health', 'labor', 'medical_insurance',
                                          'active_military', 'poverty_status', 'household_type',
                                          'main_cause', 'food_secure', 'clothing_secure',
                                          'housing_grade', 'renovation', 'relocation', 'safe_water'])}) AS e103,
                   -- E104: amounts
                   ({' + '.join(f"(v_{f} IS NULL)::INTEGER" for f in C.AMOUNT_FIELDS + ['per_capita_income'])}) AS e104,
                   (id_number <> '' AND NOT id_ok)::INTEGER AS e105,
                   (id_ok AND birth IS NULL)::INTEGER AS e106,
                   (v_sex IN ('男', '女') AND id_ok AND (v_sex = '男') <> id_male)::INTEGER AS w201,
                   (v_schooling IS NOT NULL AND birth IS NOT NULL AND (
                      (v_schooling = '学前教育' AND age >= 8)
                      OR (v_schooling IN {sql_list(C.PRIMARY)} AND age >= 18)
                      OR (v_schooling = '大专及以上' AND age < 15)))::INTEGER AS w203
            FROM d
        """)
        t_rows = time.time()

        # 3. Household level: first row, members, heads, duplicates, disagreements.
        hf_cols = ["township", "village", "poverty_status", "household_type", "main_cause",
                   *C.AMOUNT_FIELDS, "per_capita_income", "food_secure", "clothing_secure",
                   "housing_grade", "renovation", "relocation", "safe_water"]
        assert hf_cols == C.HOUSEHOLD_FIELDS
        e109 = " + ".join(f"(r.v_{f} IS NOT NULL AND f.v_{f} IS NOT NULL AND r.v_{f} <> f.v_{f})::INTEGER"
                          for f in hf_cols)
        line = args.line_fen
        con.execute(f"""
            CREATE TABLE dup AS
            SELECT id_key FROM r WHERE id_key IS NOT NULL GROUP BY id_key HAVING count(*) > 1
        """)
        con.execute(f"""
            CREATE TABLE h AS
            WITH g AS (
                SELECT r.hh, count(*) AS n, min(r.rn) AS first_rn,
                       count_if(r.is_head) AS heads,
                       sum(r.e102 + r.e103 + r.e104 + r.e105 + r.e106) AS row_errors,
                       count(dup.id_key) AS e107,
                       bool_or(r.age BETWEEN 6 AND 15 AND r.v_schooling IN {sql_list(C.NOT_ENROLLED)}) AS edu_fail,
                       bool_or(NOT (coalesce(r.v_medical_insurance, false) OR coalesce(r.v_active_military, false))) AS med_fail
                FROM r LEFT JOIN dup ON r.id_key = dup.id_key
                GROUP BY r.hh
            ), x AS (
                SELECT r.hh, sum({e109}) AS e109
                FROM r JOIN g USING (hh) JOIN r AS f ON f.rn = g.first_rn
                GROUP BY r.hh
            ), j AS (
                SELECT g.*, x.e109,
                       CASE WHEN g.heads = 0 THEN 1 WHEN g.heads > 1 THEN g.heads ELSE 0 END AS e108,
                       f.v_township AS township, f.v_village AS village, f.v_poverty_status AS status,
                       f.v_wage_income + f.v_operating_income - f.v_operating_expense
                         + f.v_property_income + f.v_transfer_income AS net,
                       f.pci_given, f.v_per_capita_income AS pci,
                       f.v_food_secure AS food, f.v_clothing_secure AS clothing, f.v_safe_water AS water,
                       f.v_housing_grade AS grade, f.v_renovation AS renovation, f.v_relocation AS relocation
                FROM g JOIN x USING (hh) JOIN r AS f ON f.rn = g.first_rn
            ), k AS (
                SELECT *,
                       row_errors + e107 + e108 + e109 > 0 OR status IS NULL OR net IS NULL AS data_error,
                       -- per-capita in fen, rounded half away from zero (integers only)
                       sign(net) * ((abs(net) * 2 + n) // (2 * n)) AS pc
                FROM j
            ), l AS (
                SELECT *,
                       NOT (net > {line} * n) AS f_income,
                       NOT coalesce(food, false) AS f_food,
                       NOT coalesce(clothing, false) AS f_clothing,
                       edu_fail AS f_education,
                       med_fail AS f_medical,
                       NOT (coalesce(grade IN ('A', 'B'), false) OR renovation = '已竣工'
                            OR relocation = '已搬迁入住') AS f_housing,
                       NOT coalesce(water, false) AS f_water
                FROM k
            )
            SELECT hh, first_rn, n, township, village, status, e107, e108, e109,
                   {', '.join(f'NOT data_error AND f_{c.lower()} AS fail_{c.lower()}' for c in C.CRITERIA)},
                   (pci_given AND pci IS NOT NULL AND net IS NOT NULL AND abs(pci - pc) > 100)::INTEGER AS w202,
                   data_error,
                   CASE WHEN NOT data_error THEN pc END AS per_capita,
                   CASE WHEN data_error THEN 'data_error'
                        WHEN status = '未脱贫' THEN CASE WHEN {' OR '.join(f'f_{c.lower()}' for c in C.CRITERIA)} THEN 'not_ready' ELSE 'ready' END
                        ELSE CASE WHEN {' OR '.join(f'f_{c.lower()}' for c in C.CRITERIA)} THEN 'wrong_exit' ELSE 'stable' END
                   END AS verdict,
                   CASE WHEN data_error THEN '' ELSE concat_ws('|', {', '.join(f"CASE WHEN f_{c.lower()} THEN '{c}' END" for c in C.CRITERIA)}) END AS failed
            FROM l
        """)
        t_hh = time.time()

        # 4. Counts.
        rp = con.execute("SELECT sum(e102), sum(e103), sum(e104), sum(e105), sum(e106), sum(w201), sum(w203), count(*) FROM r").fetchone()
        hp = con.execute("SELECT sum(e107), sum(e108), sum(e109), sum(w202), count(*), sum(n) FROM h").fetchone()
        problems = dict(zip(["E102", "E103", "E104", "E105", "E106", "W201", "W203"], rp[:7]))
        problems.update(zip(["E107", "E108", "E109", "W202"], hp[:4]))
        # one W205 for unknown headers; XLSX: one more per row with cells right of the header
        problems["W205"] = (1 if unknown else 0) + wide_rows
        verdicts = dict(con.execute("SELECT verdict, count(*) FROM h GROUP BY verdict").fetchall())
        fc = con.execute(f"SELECT {', '.join(f'count_if(fail_{c.lower()})' for c in C.CRITERIA)} FROM h").fetchone()
        failed = dict(zip(C.CRITERIA, fc))

        county = None
        if args.villages:
            county = villages(con, args, tmpdir, vsheet)

        out_csv = C.households_csv_path(args.out).replace("'", "''")
        con.execute(f"""
            COPY (SELECT CASE WHEN hh[1] = chr(1) THEN NULL ELSE hh END AS household_id, n AS members,
                         CASE WHEN per_capita IS NULL THEN NULL
                              ELSE (CASE WHEN per_capita < 0 THEN '-' ELSE '' END) || (abs(per_capita) // 100)::VARCHAR
                                   || '.' || lpad((abs(per_capita) % 100)::VARCHAR, 2, '0') END AS per_capita_income,
                         verdict, NULLIF(failed, '') AS failed
                  FROM h ORDER BY first_rn) TO '{out_csv}' (HEADER, DELIMITER ',')
        """)
        C.write_result(args.out, hp[4], hp[5] or 0, verdicts, problems, failed, county)
        con.close()
        t_end = time.time()
        print(f"duckdb {duckdb.__version__}: {'read xlsx' if xlsx else 'transcode'} {t_load - t0:.1f}s, "
              f"{'rows' if xlsx else 'read+rows'} {t_rows - t_load:.1f}s, "
              f"households {t_hh - t_rows:.1f}s, total {t_end - t0:.1f}s", file=sys.stderr)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def villages(con, args, tmpdir, vsheet=None):
    """§3 figures from the villages file: poor_now, remaining, incidences, exit-ready."""
    xlsx = vsheet is not None  # an XLSX sheet, registered by main()
    src, enc = (args.villages, "utf-8")
    if xlsx:
        header, pos, _, _, src = vsheet
    else:
        header = C.read_header(args.villages, args.encoding)
        pos, _ = C.map_header(header, C.VILLAGE_FIELDS)
    if not xlsx and args.encoding == "gbk":
        src, enc = gbk_source(args.villages, tmpdir, "villages")
    T, F = sql_list(C.BOOL_TRUE), sql_list(C.BOOL_FALSE)
    sel = []
    for _, en, _ in C.VILLAGE_FIELDS:
        sel.append(f"trim(coalesce(c{pos[en]}, ''), {TRIM}) AS {en}" if en in pos else f"'' AS {en}")
    con.execute(f"CREATE TABLE v AS SELECT {', '.join(sel)} FROM "
                + (src if xlsx else read_csv_sql(src, header, enc)))
    bad = con.execute("SELECT count(*) FROM v WHERE NOT coalesce(try_cast(population AS BIGINT) > 0, false)").fetchone()[0]
    if bad:
        C.fail(f"villages file: {bad} rows whose 户籍人口 is not an integer > 0")
    if con.execute("SELECT count(*) > count(DISTINCT (township, village)) FROM v").fetchone()[0]:
        C.fail("villages file: the same village twice")
    # E110 (file-level): a member row whose (township, village) is not in the villages file
    # (as fupin: rows with an empty township or village are not E110, they have E102).
    missing = con.execute("""
        SELECT count(*) FROM r ANTI JOIN v ON r.v_township = v.township AND r.v_village = v.village
        WHERE r.v_township IS NOT NULL AND r.v_village IS NOT NULL  -- empty ones have E102
    """).fetchone()[0]
    if missing:
        C.fail(f"E110: {missing} members whose village is missing from the villages file")
    # a condition column present for the village must be 是 (empty = not given)
    cond = " AND ".join(f"({c} = '' OR lower({c}) IN {T})" for c in C.CONDITION_COLUMNS)
    row = con.execute(f"""
        WITH vf AS (
            SELECT v.township, v.village, CAST(v.population AS BIGINT) AS population, {cond} AS conditions_met,
                   coalesce(sum(h.n) FILTER (WHERE h.status = '未脱贫'), 0) AS poor_now,
                   coalesce(sum(h.n) FILTER (WHERE h.verdict IN ('not_ready', 'wrong_exit', 'data_error')), 0) AS remaining,
                   coalesce(sum(h.n) FILTER (WHERE h.status = '已脱贫'), 0) AS exited,
                   coalesce(sum(h.n) FILTER (WHERE h.verdict = 'wrong_exit'), 0) AS wrong_exit
            FROM v LEFT JOIN h ON h.township = v.township AND h.village = v.village
            GROUP BY ALL
        )
        SELECT sum(poor_now), sum(remaining), sum(population), count(*),
               count_if(remaining * 10000 < {C.THRESHOLD_BP} * population AND conditions_met),
               sum(exited), sum(wrong_exit)
        FROM vf
    """).fetchone()
    poor_now, remaining, population, nv, ready_v, exited, wrong = (int(x or 0) for x in row)
    return {"poor_now": poor_now, "remaining": remaining, "population": population,
            "villages": nv, "villages_exit_ready": ready_v,
            "exit_ready": remaining * 10000 < C.THRESHOLD_BP * population,
            "exited_members": exited, "wrong_exit_members": wrong}


if __name__ == "__main__":
    try:
        main()
    except (duckdb.Error, UnicodeDecodeError) as e:
        C.fail(f"cannot read the register: {e}")
