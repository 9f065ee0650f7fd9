"""What both peer implementations share: the contract's columns and value sets
(shared/spec/registry.md §1), header matching, arguments and the result JSON.

Nothing here touches the data rows; each peer reads and judges them its own way.
"""

import argparse
import csv
import json
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
    p.add_argument("--encoding", choices=["utf-8", "gbk"], default="utf-8")
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
