//! The disbursement file (资金拨付明细) and the beneficiaries file (带贫户名单) of docs
//! `projects-and-funds.md`: CSV (UTF-8, GBK or GB18030) or the first sheet of an XLSX
//! workbook, each row naming its project by 年度 and 项目名称.
//!
//! All or nothing, like the project library: any error rejects the whole file with every
//! problem listed. Whether each project exists, may be written by the user and stays in
//! budget is the store's check, in the transaction that writes the file.

use crate::encoding::TextEncoding;
use crate::error::FileError;
use crate::limits::{FileLimits, Limits};
use crate::projects_file::DATE_ALLOWED;
use crate::table::read_table;
use crate::xlsx::SheetRow;
use chrono::NaiveDate;
use fupin_domain::fields::trim_cell;
use fupin_domain::funds::{BenefitKind, FundSource, NewFundEntry};
use fupin_domain::plan::Deadline;
use fupin_domain::problem::{Problem, ProblemCode};
use fupin_domain::Fen;
use std::path::Path;
use std::sync::Arc;

/// A disbursement as read: its project and the entry to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisbursementRow {
    pub line: u64,
    pub year: i32,
    pub project: String,
    pub entry: NewFundEntry,
}

/// A household's benefit as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BeneficiaryRow {
    pub line: u64,
    pub year: i32,
    pub project: String,
    pub household_no: String,
    pub kind: BenefitKind,
    pub yearly: Fen,
}

/// Columns: (Chinese, English alias, required).
type Columns = &'static [(&'static str, &'static str, bool)];

const DISBURSEMENT_COLUMNS: Columns = &[
    ("年度", "year", true),
    ("项目名称", "project", true),
    ("拨付日期", "date", true),
    ("资金来源", "source", true),
    ("金额", "amount", true),
    ("凭证号", "voucher", true),
    ("收款单位", "payee", true),
    ("备注", "note", false),
];

const BENEFICIARY_COLUMNS: Columns = &[
    ("年度", "year", true),
    ("项目名称", "project", true),
    ("户编号", "household_no", true),
    ("带贫方式", "kind", true),
    ("年收益", "yearly", true),
];

/// Where each column is; unknown columns (F551) and missing required ones (F501).
fn header(
    file: &Arc<str>,
    header: &[String],
    columns: Columns,
    problems: &mut Vec<Problem>,
) -> Option<Vec<Option<usize>>> {
    let mut pos = vec![None; columns.len()];
    let mut unknown = Vec::new();
    for (i, h) in header.iter().enumerate() {
        let h = trim_cell(h);
        let bare = h
            .strip_suffix("(元)")
            .or_else(|| h.strip_suffix("（元）"))
            .unwrap_or(h);
        match columns
            .iter()
            .position(|(zh, en, _)| *zh == bare || en.eq_ignore_ascii_case(h))
        {
            Some(c) if pos[c].is_none() => pos[c] = Some(i),
            Some(_) => unknown.push(format!("{h}（重复）")),
            None if h.is_empty() => {}
            None => unknown.push(h.to_string()),
        }
    }
    let all: Vec<&str> = columns.iter().map(|c| c.0).collect();
    if !unknown.is_empty() {
        problems.push(Problem::new(
            file,
            1,
            "",
            ProblemCode::F551,
            format!(
                "未识别的列已忽略：{}；可用的列：{}",
                unknown.join("、"),
                all.join("、")
            ),
            unknown.join("、"),
        ));
    }
    let mut ok = true;
    for (c, (zh, en, required)) in columns.iter().enumerate() {
        if *required && pos[c].is_none() {
            ok = false;
            problems.push(Problem::new(
                file,
                1,
                zh,
                ProblemCode::F501,
                format!(
                    "缺少必填列「{zh}」（英文列名 {en}）；列为：{}",
                    all.join("、")
                ),
                "",
            ));
        }
    }
    ok.then_some(pos)
}

/// A row's cells by column, and the problems of its common fields.
struct Cells<'a> {
    file: &'a Arc<str>,
    row: &'a SheetRow,
    pos: &'a [Option<usize>],
    columns: Columns,
    xlsx: bool,
    problems: &'a mut Vec<Problem>,
    bad: bool,
}

impl Cells<'_> {
    fn get(&self, c: usize) -> &str {
        self.pos[c]
            .and_then(|p| self.row.cells.get(p))
            .map_or("", |t| trim_cell(t))
    }

    fn problem(&mut self, c: usize, code: ProblemCode, message: String) {
        let value = self.get(c).to_string();
        self.problems.push(Problem::new(
            self.file,
            self.row.line,
            self.columns[c].0,
            code,
            message,
            value,
        ));
        self.bad = true;
    }

    fn required(&mut self, c: usize) -> String {
        let v = self.get(c).to_string();
        if v.is_empty() && self.columns[c].2 {
            let zh = self.columns[c].0;
            self.problem(c, ProblemCode::F502, format!("「{zh}」不能为空"));
        }
        v
    }

    fn year(&mut self, c: usize) -> i32 {
        let t = self.required(c);
        if t.is_empty() {
            return 0;
        }
        let bare = t.strip_suffix('年').unwrap_or(&t);
        match bare.parse::<i32>() {
            Ok(y) if bare.len() == 4 && (2000..=2100).contains(&y) => y,
            _ => {
                self.problem(
                    c,
                    ProblemCode::F507,
                    format!("年度「{t}」应为四位年份，如 2018"),
                );
                0
            }
        }
    }

    fn amount(&mut self, c: usize) -> Fen {
        let t = self.required(c);
        if t.is_empty() {
            return Fen::ZERO;
        }
        Fen::parse_yuan(&t).unwrap_or_else(|e| {
            self.problem(
                c,
                ProblemCode::F504,
                format!(
                    "金额「{t}」有误：{e}；应为以元为单位、不小于0、最多两位小数的数字，如 1200.50"
                ),
            );
            Fen::ZERO
        })
    }

    fn date(&mut self, c: usize) -> Option<NaiveDate> {
        let t = self.required(c);
        if t.is_empty() {
            return None;
        }
        let serial = || {
            let s: f64 = t.parse().ok()?;
            (1.0..=2_958_465.0).contains(&s).then_some(())?;
            NaiveDate::from_ymd_opt(1899, 12, 30)?.checked_add_days(chrono::Days::new(s as u64))
        };
        match Deadline::parse(&t) {
            Ok(Deadline::Date(d)) => Some(d),
            _ => match self.xlsx.then(serial).flatten() {
                Some(d) => Some(d),
                None => {
                    self.problem(
                        c,
                        ProblemCode::F505,
                        format!("「{t}」不是日期：可填 {DATE_ALLOWED}"),
                    );
                    None
                }
            },
        }
    }
}

fn rejected(path: &Path, what: &str, problems: Vec<Problem>) -> FileError {
    let errors = problems.iter().filter(|p| p.code.is_error()).count();
    FileError::Problems {
        summary: format!(
            "{}：{what}有 {errors} 个错误，整个文件未读入（改正后重新提交）",
            path.display()
        ),
        problems,
    }
}

/// Read rows of a table all or nothing with `row`; the problems of the whole file.
fn read_all<T>(
    path: &Path,
    encoding: Option<TextEncoding>,
    limits: &FileLimits,
    columns: Columns,
    what: &str,
    mut read: impl FnMut(&mut Cells<'_>) -> Option<T>,
) -> Result<(Vec<T>, Vec<Problem>), FileError> {
    let table = read_table(path, encoding, None, limits)?;
    let file: Arc<str> = path.display().to_string().into();
    let mut problems = Vec::new();
    let Some(pos) = header(&file, &table.header, columns, &mut problems) else {
        return Err(rejected(path, what, problems));
    };
    let xlsx = table.format == "XLSX";
    let mut out = Vec::new();
    for row in &table.rows {
        let mut cells = Cells {
            file: &file,
            row,
            pos: &pos,
            columns,
            xlsx,
            problems: &mut problems,
            bad: false,
        };
        if let Some(v) = read(&mut cells) {
            if !cells.bad {
                out.push(v);
            }
        }
    }
    if table.rows.is_empty() {
        problems.push(Problem::new(
            &file,
            0,
            "",
            ProblemCode::F502,
            "文件中没有任何数据行",
            "",
        ));
    }
    problems.sort_by_key(|p| (p.line, p.code));
    if problems.iter().any(|p| p.code.is_error()) {
        return Err(rejected(path, what, problems));
    }
    Ok((out, problems))
}

/// Read a disbursement file: each row a disbursement (reversals are recorded one by one,
/// with `fupin funds reverse` or the API). Returns the rows and the F551 warnings.
pub fn read_disbursements(
    path: &Path,
    encoding: Option<TextEncoding>,
) -> Result<(Vec<DisbursementRow>, Vec<Problem>), FileError> {
    read_disbursements_within(path, encoding, &Limits::default().disbursements)
}

/// [`read_disbursements`] within `limits`.
pub fn read_disbursements_within(
    path: &Path,
    encoding: Option<TextEncoding>,
    limits: &FileLimits,
) -> Result<(Vec<DisbursementRow>, Vec<Problem>), FileError> {
    read_all(
        path,
        encoding,
        limits,
        DISBURSEMENT_COLUMNS,
        "拨付明细",
        |c| {
            let year = c.year(0);
            let project = c.required(1);
            let date = c.date(2);
            let source_text = c.required(3);
            let source = FundSource::parse(&source_text);
            if source.is_none() && !source_text.is_empty() {
                c.problem(
                    3,
                    ProblemCode::F503,
                    format!(
                        "资金来源「{source_text}」无法识别；可填：{}",
                        FundSource::allowed()
                    ),
                );
            }
            let reported = c.problems.len();
            let amount = c.amount(4);
            if amount.fen() == 0 && c.problems.len() == reported && !c.get(4).is_empty() {
                c.problem(4, ProblemCode::F504, "拨付金额应大于0".into());
            }
            let voucher = c.required(5);
            let payee = c.required(6);
            let note = c.get(7).to_string();
            Some(DisbursementRow {
                line: c.row.line,
                year,
                project,
                entry: NewFundEntry {
                    date: date?,
                    source: source?,
                    amount,
                    voucher,
                    payee,
                    note,
                },
            })
        },
    )
}

/// Read a beneficiaries file. Returns the rows and the F551 warnings.
pub fn read_beneficiaries(
    path: &Path,
    encoding: Option<TextEncoding>,
) -> Result<(Vec<BeneficiaryRow>, Vec<Problem>), FileError> {
    read_beneficiaries_within(path, encoding, &Limits::default().beneficiaries)
}

/// [`read_beneficiaries`] within `limits`.
pub fn read_beneficiaries_within(
    path: &Path,
    encoding: Option<TextEncoding>,
    limits: &FileLimits,
) -> Result<(Vec<BeneficiaryRow>, Vec<Problem>), FileError> {
    read_all(
        path,
        encoding,
        limits,
        BENEFICIARY_COLUMNS,
        "带贫户名单",
        |c| {
            let year = c.year(0);
            let project = c.required(1);
            let household_no = c.required(2);
            let kind_text = c.required(3);
            let kind = BenefitKind::parse(&kind_text);
            if kind.is_none() && !kind_text.is_empty() {
                c.problem(
                    3,
                    ProblemCode::F503,
                    format!(
                        "带贫方式「{kind_text}」无法识别；可填：{}",
                        BenefitKind::allowed()
                    ),
                );
            }
            let yearly = c.amount(4);
            Some(BeneficiaryRow {
                line: c.row.line,
                year,
                project,
                household_no,
                kind: kind?,
                yearly,
            })
        },
    )
}
