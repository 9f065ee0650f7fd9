"""What both peer implementations share: the contract's columns and value sets
(shared/spec/registry.md §1), header matching, arguments and the result JSON.

Nothing here judges the data rows; each peer reads and judges them its own way. The one
shared step on rows is XLSX: turning a worksheet's cells into the text a CSV cell would
hold (sheet_columns), so that both peers then run their CSV logic unchanged.
"""

import argparse
import csv
import datetime as dt
import decimal
import json
import math
import sys

# (Chinese header, English alias, required) — registry spec §1.1, in the spec's order.
MEMBER_FIELDS = [
    ("户编号", "household_id", True),
    ("乡镇", "township", True),
    ("行政村", "village", True),
    ("姓名", "name", True),
    ("证件号码", "id_number", True),
    ("与户主关系", "relation", True),
    ("性别", "sex", False),
    ("在校生状况", "schooling", True),
    ("健康状况", "health", False),
    ("劳动技能", "labor", False),
    ("是否参加基本医疗保险", "medical_insurance", True),
    ("是否现役军人", "active_military", False),
    ("脱贫属性", "poverty_status", True),
    ("贫困户属性", "household_type", False),
    ("主要致贫原因", "main_cause", False),
    ("工资性收入", "wage_income", True),
    ("生产经营性收入", "operating_income", True),
    ("生产经营性支出", "operating_expense", True),
    ("财产性收入", "property_income", True),
    ("转移性收入", "transfer_income", True),
    ("人均纯收入", "per_capita_income", False),
    ("不愁吃", "food_secure", True),
    ("不愁穿", "clothing_secure", True),
    ("住房安全等级", "housing_grade", True),
    ("危房改造状态", "renovation", False),
    ("易地扶贫搬迁", "relocation", False),
    ("饮水安全", "safe_water", True),
]
REQUIRED = {en for _, en, req in MEMBER_FIELDS if req}

VILLAGE_FIELDS = [
    ("乡镇", "township", True),
    ("行政村", "village", True),
    ("户籍人口", "population", True),
    ("是否贫困村", "poor_village", False),
    ("通硬化路", "road", False),
    ("通动力电", "power", False),
    ("通宽带", "broadband", False),
    ("有卫生室", "clinic", False),
    ("村集体经济收入", "collective_income", False),
]
CONDITION_COLUMNS = ["road", "power", "broadband", "clinic"]

# Required text columns: E102 when empty (amounts are not here: an empty amount is 0).
REQUIRED_TEXT = ["household_id", "township", "village", "name", "id_number", "relation"]

BOOL_TRUE = ["是", "1", "y", "yes", "true"]  # compared after ASCII lower-casing
BOOL_FALSE = ["否", "0", "n", "no", "false"]
BOOL_FIELDS = ["medical_insurance", "active_military", "food_secure", "clothing_secure", "safe_water"]

GRADES = ["一", "二", "三", "四", "五", "六"]
SCHOOLING = (
    ["非在校生", "学前教育", "小学"]
    + [f"小学{g}年级" for g in GRADES]
    + ["七年级", "八年级", "九年级"]
    + [f"{p}{g}年级" for p in ("高中", "中职", "高职") for g in GRADES[:3]]
    + ["大专及以上", "送教上门", "因身体原因不具备学习条件", "失学", "辍学"]
)
PRIMARY = ["小学"] + [f"小学{g}年级" for g in GRADES]
# Members aged 6–15 with one of these fail EDUCATION (not enrolled, and not 因身体原因…).
NOT_ENROLLED = ["非在校生", "失学", "辍学"]

# Choice fields other than booleans and schooling: value sets. Housing grade letters are
# accepted in either case (as fupin's domain crate does); renovation/relocation default.
CHOICES = {
    "sex": ["男", "女"],
    "health": ["健康", "长期慢性病", "患有大病", "残疾"],
    "labor": ["普通劳动力", "技能劳动力", "弱劳动力或半劳动力", "丧失劳动力", "无劳动力"],
    "poverty_status": ["未脱贫", "已脱贫"],
    "household_type": ["一般贫困户", "低保贫困户", "特困供养贫困户"],
    "main_cause": ["因病", "因残", "因学", "因灾", "缺土地", "缺水", "缺技术", "缺劳力",
                   "缺资金", "交通条件落后", "自身发展动力不足", "因婚", "因丧", "其他"],
    "housing_grade": ["A", "B", "C", "D"],
    "renovation": ["无", "未开工", "在建", "已竣工"],
    "relocation": ["否", "未入住", "已搬迁入住"],
}
DEFAULTS = {"renovation": "无", "relocation": "否"}

AMOUNT_FIELDS = ["wage_income", "operating_income", "operating_expense", "property_income",
                 "transfer_income"]
# Amount: optional '+', digits with optional ',' groups of three, optional '.' and at most
# two fractional digits; at least one digit somewhere. ASCII digits only.
AMOUNT_RE = r"\+?([0-9]{1,3}(,[0-9]{3})+|[0-9]*)(\.[0-9]{0,2})?"
MAX_FEN = 100_000_000_000_000  # 10^12 yuan: larger is not an amount (as in fupin)

# Household-level fields compared with the household's first row (E109), spec's order.
HOUSEHOLD_FIELDS = ["township", "village", "poverty_status", "household_type", "main_cause",
                    *AMOUNT_FIELDS, "per_capita_income", "food_secure", "clothing_secure",
                    "housing_grade", "renovation", "relocation", "safe_water"]

ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
ID_CHECK = "10X98765432"

CRITERIA = ["INCOME", "FOOD", "CLOTHING", "EDUCATION", "MEDICAL", "HOUSING", "WATER"]
VERDICTS = ["ready", "not_ready", "stable", "wrong_exit", "data_error"]
PROBLEM_CODES = ["E102", "E103", "E104", "E105", "E106", "E107", "E108", "E109",
                 "W201", "W202", "W203", "W205"]
THRESHOLD_BP = 200  # village exit: incidence after exit below 2%

TRIM_CHARS = " \t\u3000\ufeff\r\n"


def trim(s):
    return s.strip(TRIM_CHARS)


def parse_args(prog):
    p = argparse.ArgumentParser(prog=prog, description="Judge a register against the exit standard.")
    p.add_argument("members")
    p.add_argument("--villages")
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--line", required=True, help="poverty line in yuan per person per year")
    p.add_argument("--encoding", choices=["utf-8", "gbk"], default="utf-8",
                   help="of a CSV file (an XLSX workbook is recognized by its content)")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    a.line_fen = yuan_to_fen(a.line)
    return a


def yuan_to_fen(text):
    """The --line argument in fen, exactly (no float)."""
    whole, _, frac = text.replace(",", "").partition(".")
    if not whole.isdigit() or len(frac) > 2 or (frac and not frac.isdigit()):
        fail(f"--line: not an amount in yuan: {text}")
    return int(whole) * 100 + int(frac.ljust(2, "0") or 0)


def python_encoding(enc):
    # GBK files are read as GB18030, its superset, so every GBK file reads the same.
    return "gb18030" if enc == "gbk" else "utf-8-sig"


def fail(msg):
    """A file-level failure: nothing is assessed, exit 2 (as fupin does)."""
    print(msg, file=sys.stderr)
    sys.exit(2)


def read_header(path, enc):
    try:
        with open(path, encoding=python_encoding(enc), newline="") as f:
            r = csv.reader(f)
            header = next(r, None)
            if header is None:
                fail(f"{path}: empty file, no header row")
            if next(r, None) is None:
                fail(f"{path}: header but no data rows, nothing to assess")
            return header
    except UnicodeDecodeError as e:
        fail(f"{path}: not valid {python_encoding(enc)}: {e}")


def map_header(header, fields):
    """Column position of each known field (by alias), and the unknown headers (W205).
    Names are matched after trimming, in Chinese or by the alias (case-insensitive); a
    repeated field stops the run; empty headers are neither known nor unknown."""
    by_name = {}
    for zh, en, _ in fields:
        by_name[zh] = en
        by_name[en.lower()] = en
    positions, unknown = {}, []
    for i, h in enumerate(header):
        t = trim(h)
        en = by_name.get(t) or by_name.get(t.lower())
        if en in positions:
            # as fupin: the same field twice is ambiguous, the run stops
            fail(f"column {t!r} repeats column {positions[en] + 1} ({en})")
        if en:
            positions[en] = i
        elif t:
            unknown.append(t)
    missing = [zh for zh, en, req in fields if req and en not in positions]
    if missing:
        # E101 is file-level: nothing is assessed.
        fail(f"E101 required columns missing: {', '.join(missing)}")
    return positions, unknown


def fen_text(fen):
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    a = abs(int(fen))
    return f"{sign}{a // 100}.{a % 100:02d}"


def write_result(path, households, members, verdicts, problems, failed, county=None):
    out = {
        "households": int(households),
        "members": int(members),
        "verdicts": {v: int(verdicts.get(v, 0)) for v in VERDICTS},
        "problems": {c: int(problems.get(c, 0)) for c in PROBLEM_CODES},
        "failed": {c: int(failed.get(c, 0)) for c in CRITERIA},
    }
    if county is not None:
        out["county"] = {k: (v.item() if hasattr(v, "item") else v) for k, v in county.items()}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=2, sort_keys=True)
        f.write("\n")


def households_csv_path(out):
    return (out[:-5] if out.endswith(".json") else out) + ".households.csv"


# ---------------------------------------------------------------------------------------
# XLSX: the cells of a worksheet as the same text the CSV path sees, the way fupin turns
# them into text (crates/io/src/xlsx.rs): a string as it is; a number without a trailing
# ".0" when it is whole and below 10^15, else as Rust prints an f64 (shortest round-trip
# digits, never an exponent); TRUE/FALSE as 是/否; a date as its serial number. The
# sheet is the workbook's first; a row whose cells are all blank (Rust's trim) is skipped,
# the first other row is the header; empty cells at the end of a row are simply not
# stored in XLSX, so a short row is no truncated row (it is padded with empty cells).

RUST_WS = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007" \
          "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"  # char::is_whitespace
EXCEL_EPOCH = dt.datetime(1899, 12, 30)


def is_xlsx(path):
    """A ZIP archive (as fupin tells XLSX from CSV: by content, not by name)."""
    with open(path, "rb") as f:
        return f.read(4) == b"PK\x03\x04"


def rust_float_text(f):
    """format!("{}", f) for an f64: the shortest digits that read back as f (Python's repr
    finds the same ones), written out in full without an exponent, no trailing '.0'."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    s = format(decimal.Decimal(repr(f)), "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


def excel_serial(v):
    """The serial number of a date cell, which fupin prints (calamine's ExcelDateTime).
    python-calamine hands over a date/datetime/time/timedelta; the serial is rebuilt from
    it (1900 system, Excel's phantom 1900-02-29 included). Whole days come back exactly;
    a time of day may differ from the stored float in its last digits."""
    if isinstance(v, dt.timedelta):
        return v.total_seconds() / 86400
    if isinstance(v, dt.time):
        return (v.hour * 3600 + v.minute * 60 + v.second + v.microsecond / 1e6) / 86400
    if not isinstance(v, dt.datetime):
        v = dt.datetime(v.year, v.month, v.day)
    v = v.replace(tzinfo=None) if getattr(v, "tzinfo", None) else v
    days = (v - EXCEL_EPOCH) / dt.timedelta(days=1)
    return days - 1 if days < 61 else days


def cell_text(v):
    """(text, stored as a number) of one cell value as python-calamine or
    pd.read_excel(engine="calamine", dtype=object) gives it. pandas has already turned a
    whole float into an int: int(f) == f exactly, so float(v) is the stored number."""
    c = v.__class__
    if c is str:
        return v, False
    if c is bool:
        return ("是" if v else "否"), False
    if c is int:
        return (str(v) if abs(v) < 10 ** 15 else rust_float_text(float(v))), True
    if c is float:
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v)), True
        if math.isnan(v):  # an empty cell, should a reader give NaN
            return "", False
        r = repr(v)  # the same digits as Rust's; an exponent or a ".0" needs rewriting
        return (r if "e" not in r and "n" not in r and not v.is_integer() else rust_float_text(v)), True
    if v is None:
        return "", False
    if isinstance(v, (dt.date, dt.time, dt.timedelta)):  # pd.Timestamp is a datetime
        return rust_float_text(excel_serial(v)), False
    return str(v), False


def sheet_columns(columns):
    """The register in a worksheet, from its cells column by column (equal lengths, from
    row 1: python-calamine's to_python(skip_empty_area=False), or the columns of
    pd.read_excel(header=None)). Returns (header, data, number, wide_rows):

    - header: the first non-blank row's texts, up to its last non-empty cell;
    - data: one pyarrow string array per header column, the data rows (blank rows
      skipped), untrimmed, exactly as a CSV cell would read;
    - number: for each header column, a pyarrow boolean array (cell stored as a number)
      when the column holds any number, else None (fupin: an ID number stored as a
      number is E105 whatever it reads);
    - wide_rows: data rows with a non-blank cell right of the header — fupin reports
      one W205 for each (a CSV row can be no wider than its header in the peers)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    texts, numbers = [], []
    for col in columns:
        num = None
        if all(x.__class__ is str for x in col):
            t = col
        else:  # some cells are not strings: convert those
            pairs = [cell_text(x) if x.__class__ is not str else (x, False) for x in col]
            t = [p[0] for p in pairs]
            if any(p[1] for p in pairs):
                num = pa.array([p[1] for p in pairs], type=pa.bool_())
        texts.append(pa.array(t, type=pa.string()))
        numbers.append(num)
    n = len(texts[0]) if texts else 0
    if n == 0:
        fail("the worksheet is empty, no header row")
    filled = [pc.not_equal(pc.utf8_trim(a, RUST_WS), "") for a in texts]
    nonblank = filled[0]
    for f in filled[1:]:
        nonblank = pc.or_(nonblank, f)
    rows = pc.indices_nonzero(nonblank)
    if len(rows) == 0:
        fail("the worksheet is empty, no header row")
    h = rows[0].as_py()
    header = [a[h].as_py() for a in texts]
    width = max((i + 1 for i, x in enumerate(header) if x != ""), default=0)
    header = header[:width]
    data_rows = rows[1:]
    if len(data_rows) == 0:
        fail("header but no data rows, nothing to assess")
    data = [texts[i].take(data_rows) for i in range(width)]
    number = [numbers[i].take(data_rows) if numbers[i] is not None else None
              for i in range(width)]
    wide_rows = 0
    if len(texts) > width:
        beyond = filled[width]
        for f in filled[width + 1:]:
            beyond = pc.or_(beyond, f)
        wide_rows = pc.sum(beyond.take(data_rows)).as_py() or 0
    return header, data, number, wide_rows


def read_xlsx(path):
    """sheet_columns() of the workbook's first worksheet, read with python-calamine (the
    Rust calamine crate that fupin itself uses, under Python)."""
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(path)
        rows = wb.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as e:  # a broken workbook: file-level, as fupin's FileError::Workbook
        fail(f"{path}: cannot read the workbook: {e}")
    return sheet_columns(list(zip(*rows)) if rows else [])
