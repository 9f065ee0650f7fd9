//! Files of an inspection (issue 6): the rural households outside the register (a count
//! per village, or a list), the sampling frame built from the register and the villages
//! file, and the verification results the field teams fill in — read all or nothing, every
//! problem with file, line, column, value and what would be accepted.

use crate::encoding::TextEncoding;
use crate::error::{column_letter, FileError};
use crate::limits::{FileLimits, Limits};
use crate::merge::{Area, Register};
use crate::table::read_table;
use crate::villages::Villages;
use fupin_domain::assess::Verdict;
use fupin_domain::estimates::{Approval, Verification};
use fupin_domain::fields::trim_cell;
use fupin_domain::sampling::{
    CountyTotals, Frame, FrameHousehold, FrameVillage, NonRegistered, Sample,
};
use fupin_domain::values::{parse_bool, PovertyStatus, BOOL_ALLOWED};
use std::collections::HashMap;
use std::fmt;
use std::path::Path;

/// A problem in an inspection file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputProblem {
    pub file: String,
    /// 1-based line (sheet row for XLSX); 0 when the problem is the file's as a whole.
    pub line: u64,
    /// Column header and letter, e.g. `是否认可（K列）`; empty for a whole row.
    pub column: String,
    pub value: String,
    /// What is wrong and what would be accepted.
    pub message: String,
}

impl fmt::Display for InputProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fupin_domain::problem::write_problem(
            f,
            &self.file,
            self.line,
            &self.column,
            format_args!("：{}", self.message),
            &self.value,
        )
    }
}

/// Why an inspection file was not read.
#[derive(Debug)]
pub enum InspectionError {
    File(FileError),
    /// Every problem found; nothing was read.
    Problems {
        summary: String,
        problems: Vec<InputProblem>,
    },
}

impl From<FileError> for InspectionError {
    fn from(e: FileError) -> Self {
        InspectionError::File(e)
    }
}

impl fmt::Display for InspectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InspectionError::File(e) => write!(f, "{e}"),
            InspectionError::Problems { summary, problems } => {
                write!(f, "{summary}（{} 个问题）", problems.len())?;
                for p in problems {
                    write!(f, "\n  {p}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for InspectionError {}

/// Columns of a table found by Chinese header or English alias, after trimming.
struct Columns {
    header: Vec<String>,
}

impl Columns {
    fn find(&self, names: &[&str]) -> Option<usize> {
        self.header
            .iter()
            .position(|h| names.iter().any(|n| trim_cell(h).eq_ignore_ascii_case(n)))
    }

    fn label(&self, i: usize) -> String {
        format!("{}（{}列）", trim_cell(&self.header[i]), column_letter(i))
    }

    /// A problem of line `line`'s cell in column `col` (None: of the line as a whole), the
    /// value echoed as problem lists show it.
    fn problem(
        &self,
        file: &str,
        line: u64,
        col: Option<usize>,
        value: &str,
        message: String,
    ) -> InputProblem {
        InputProblem {
            file: file.to_string(),
            line,
            column: col.map_or(String::new(), |c| self.label(c)),
            value: fupin_domain::problem::echo(value),
            message,
        }
    }
}

fn cell(row: &[String], i: Option<usize>) -> &str {
    i.and_then(|i| row.get(i)).map_or("", |c| trim_cell(c))
}

/// A whole number ≥ 1 as text (`3`, or `3.0` from a spreadsheet).
fn positive(text: &str) -> Option<u32> {
    let t = text.strip_suffix(".0").unwrap_or(text);
    t.parse::<u32>().ok().filter(|&n| n > 0)
}

/// The non-registered households per village: 农村总户数 (all rural households, registered
/// included) per village, or a list of non-registered households (乡镇, 行政村, 户编号).
#[derive(Clone, Debug, Default)]
pub struct RuralHouseholds {
    /// Per village: all rural households, or the listed non-registered households.
    pub villages: HashMap<Area, RuralEntry>,
}

#[derive(Clone, Debug)]
pub enum RuralEntry {
    Total { households: u32, line: u64 },
    List(Vec<String>),
}

const TOWNSHIP: &[&str] = &["乡镇", "township"];
const VILLAGE: &[&str] = &["行政村", "village"];
const TOTAL: &[&str] = &["农村总户数", "rural_households"];
const HOUSEHOLD_ID: &[&str] = &["户编号", "household_id"];

/// Read the rural households file: with a 农村总户数 column one row per village; else with
/// a 户编号 column one row per non-registered household.
pub fn read_rural_households(
    path: &Path,
    encoding: Option<TextEncoding>,
) -> Result<RuralHouseholds, InspectionError> {
    read_rural_households_within(path, encoding, &Limits::default().inspection)
}

/// [`read_rural_households`] within `limits`.
pub fn read_rural_households_within(
    path: &Path,
    encoding: Option<TextEncoding>,
    limits: &FileLimits,
) -> Result<RuralHouseholds, InspectionError> {
    let table = read_table(path, encoding, None, limits)?;
    let file = path.display().to_string();
    let cols = Columns {
        header: table.header.clone(),
    };
    let (t, v) = (cols.find(TOWNSHIP), cols.find(VILLAGE));
    let total = cols.find(TOTAL);
    let id = cols.find(HOUSEHOLD_ID);
    let mut problems = Vec::new();
    let missing = |name: &str| InputProblem {
        file: file.clone(),
        line: 1,
        column: name.into(),
        value: String::new(),
        message: format!("缺少必填列「{name}」：请在第1行加上这一列"),
    };
    if t.is_none() {
        problems.push(missing("乡镇"));
    }
    if v.is_none() {
        problems.push(missing("行政村"));
    }
    if total.is_none() && id.is_none() {
        problems.push(InputProblem {
            message: "缺少「农村总户数」列（每村一行）或「户编号」列（每个非建档立卡户一行）：请加上其中之一".into(),
            ..missing("农村总户数")
        });
    }
    if !problems.is_empty() {
        return Err(InspectionError::Problems {
            summary: format!("{file}：农村户数文件缺少必填列，未读入"),
            problems,
        });
    }
    let mut out = RuralHouseholds::default();
    for row in &table.rows {
        let mut problem = |col: Option<usize>, value: &str, message: String| {
            problems.push(cols.problem(&file, row.line, col, value, message));
        };
        let (township, village) = (cell(&row.cells, t), cell(&row.cells, v));
        if township.is_empty() {
            problem(t, "", "「乡镇」不能为空".into());
        }
        if village.is_empty() {
            problem(v, "", "「行政村」不能为空".into());
        }
        let area = Area {
            township: township.into(),
            village: village.into(),
        };
        if let Some(c) = total {
            let text = cell(&row.cells, Some(c));
            match positive(text) {
                Some(n) => {
                    if let Some(RuralEntry::Total { line, .. }) = out.villages.get(&area) {
                        let line = *line;
                        problem(
                            v,
                            village,
                            format!(
                                "{township}{village}重复（第{line}行已有）：每个行政村只能有一行"
                            ),
                        );
                    } else {
                        out.villages.insert(
                            area,
                            RuralEntry::Total {
                                households: n,
                                line: row.line,
                            },
                        );
                    }
                }
                None => problem(
                    Some(c),
                    text,
                    "农村总户数应为大于0的整数（含建档立卡户）".into(),
                ),
            }
        } else {
            let text = cell(&row.cells, id);
            if text.is_empty() {
                problem(id, "", "「户编号」不能为空".into());
                continue;
            }
            match out
                .villages
                .entry(area)
                .or_insert_with(|| RuralEntry::List(Vec::new()))
            {
                RuralEntry::List(l) => l.push(text.to_string()),
                RuralEntry::Total { .. } => {}
            }
        }
    }
    if !problems.is_empty() {
        return Err(InspectionError::Problems {
            summary: format!("{file}：农村户数文件有错误，未读入"),
            problems,
        });
    }
    Ok(out)
}

/// Build the sampling frame and the county's totals: villages in the villages file's
/// order, each with its registered households in register order (`verdicts`, when given,
/// in the same order as `register.households`, mark the exited households the assessment
/// does not find stable), and its non-registered households from `rural`.
pub fn build_frame(
    register: &Register,
    villages: &Villages,
    matched: &[Option<usize>],
    verdicts: Option<&[Verdict]>,
    rural: Option<&RuralHouseholds>,
    rural_file: &str,
) -> Result<(Frame, CountyTotals), InspectionError> {
    let mut frame = Frame {
        villages: villages
            .list
            .iter()
            .map(|v| FrameVillage {
                township: v.area.township.to_string(),
                village: v.area.village.to_string(),
                poor: v.poor_village == Some(true),
                registered: Vec::new(),
                non_registered: NonRegistered::Unknown,
            })
            .collect(),
    };
    let mut totals = CountyTotals {
        rural_population: villages.list.iter().map(|v| v.population).sum(),
        ..CountyTotals::default()
    };
    for (i, h) in register.households.iter().enumerate() {
        let people = h.members.len() as u32;
        let status = h.status();
        totals.registered_people += u64::from(people);
        totals.registered_households += 1;
        match status {
            Some(PovertyStatus::NotExited) => totals.remaining_poor += u64::from(people),
            Some(PovertyStatus::Exited) => totals.exited_people += u64::from(people),
            None => {}
        }
        let Some(vi) = matched.get(h.area as usize).copied().flatten() else {
            continue;
        };
        let exited = status == Some(PovertyStatus::Exited);
        frame.villages[vi].registered.push(FrameHousehold {
            id: h.id.to_string(),
            able: h.has_labor(),
            people,
            exited,
            wrong_exit: exited && verdicts.is_some_and(|v| v[i] != Verdict::Stable),
        });
    }
    if let Some(rural) = rural {
        let mut problems = Vec::new();
        for (area, entry) in &rural.villages {
            let Some(fv) = frame
                .villages
                .iter_mut()
                .find(|v| *v.township == *area.township && *v.village == *area.village)
            else {
                problems.push(InputProblem {
                    file: rural_file.into(),
                    line: match entry {
                        RuralEntry::Total { line, .. } => *line,
                        RuralEntry::List(_) => 0,
                    },
                    column: "行政村".into(),
                    value: format!("{}/{}", area.township, area.village),
                    message: format!(
                        "{}{}不在村级名册 {} 中：请更正乡镇/行政村名称",
                        area.township, area.village, villages.file
                    ),
                });
                continue;
            };
            fv.non_registered = match entry {
                RuralEntry::Total { households, line } => {
                    let registered = fv.registered.len() as u32;
                    if *households < registered {
                        problems.push(InputProblem {
                            file: rural_file.into(),
                            line: *line,
                            column: "农村总户数".into(),
                            value: households.to_string(),
                            message: format!(
                                "{}{}的农村总户数少于登记表中该村的建档立卡户 {registered} 户：农村总户数应包含建档立卡户",
                                area.township, area.village
                            ),
                        });
                    }
                    NonRegistered::Count(households.saturating_sub(registered))
                }
                RuralEntry::List(ids) => {
                    for id in ids {
                        if fv.registered.iter().any(|h| h.id == *id) {
                            problems.push(InputProblem {
                                file: rural_file.into(),
                                line: 0,
                                column: "户编号".into(),
                                value: id.clone(),
                                message: format!(
                                    "户编号 {id} 是{}{}的建档立卡户，不应列为非建档立卡户",
                                    area.township, area.village
                                ),
                            });
                        }
                    }
                    NonRegistered::List(ids.clone())
                }
            };
        }
        if !problems.is_empty() {
            problems.sort_by_key(|p| p.line);
            return Err(InspectionError::Problems {
                summary: format!("{rural_file}：农村户数与登记表、村级名册不一致"),
                problems,
            });
        }
    }
    Ok((frame, totals))
}

/// The columns of the sample list that the field teams fill in, in order: Chinese header,
/// English alias.
pub const RESULT_COLUMNS: [(&str, &str); 9] = [
    ("收入稳定超过标准", "income_verified"),
    ("不愁吃", "food"),
    ("不愁穿", "clothing"),
    ("义务教育有保障", "education"),
    ("基本医疗有保障", "medical"),
    ("住房安全有保障", "housing"),
    ("饮水安全有保障", "water"),
    ("是否漏评", "missed"),
    ("是否认可", "approval"),
];

/// Read the verification results (the sample list, filled in) against the recorded sample:
/// one row per sampled household, all or nothing. Registered households need the six
/// checks of income and 两不愁三保障 (饮水安全 may be empty); non-registered households
/// need 是否漏评 and 家庭人口; every household needs 是否认可 (是/否/不清楚).
pub fn read_results(
    path: &Path,
    encoding: Option<TextEncoding>,
    sample: &Sample,
) -> Result<Vec<Verification>, InspectionError> {
    read_results_within(path, encoding, sample, &Limits::default().inspection)
}

/// [`read_results`] within `limits`.
pub fn read_results_within(
    path: &Path,
    encoding: Option<TextEncoding>,
    sample: &Sample,
    limits: &FileLimits,
) -> Result<Vec<Verification>, InspectionError> {
    let table = read_table(path, encoding, None, limits)?;
    let file = path.display().to_string();
    let cols = Columns {
        header: table.header.clone(),
    };
    let no_col = cols.find(&["样本编号", "sample_no"]);
    let id_col = cols.find(HOUSEHOLD_ID);
    let people_col = cols.find(&["家庭人口", "people"]);
    let result_cols: Vec<Option<usize>> = RESULT_COLUMNS
        .iter()
        .map(|(zh, en)| cols.find(&[zh, en]))
        .collect();
    let mut problems = Vec::new();
    let required = [("样本编号", no_col), ("家庭人口", people_col)]
        .into_iter()
        .chain(
            RESULT_COLUMNS
                .iter()
                .zip(&result_cols)
                .map(|((zh, _), c)| (*zh, *c)),
        );
    for (name, c) in required {
        if c.is_none() {
            problems.push(InputProblem {
                file: file.clone(),
                line: 1,
                column: name.into(),
                value: String::new(),
                message: format!(
                    "缺少必填列「{name}」：请用 fupin sample 导出的样本清单填写核查结果"
                ),
            });
        }
    }
    if !problems.is_empty() {
        return Err(InspectionError::Problems {
            summary: format!("{file}：核查结果缺少必填列，未做估计"),
            problems,
        });
    }
    let by_no: HashMap<u32, &fupin_domain::sampling::SampledHousehold> =
        sample.households.iter().map(|h| (h.no, h)).collect();
    let mut seen: HashMap<u32, u64> = HashMap::new();
    let mut out = Vec::new();
    for row in &table.rows {
        let mut problem = |col: Option<usize>, value: &str, message: String| {
            problems.push(cols.problem(&file, row.line, col, value, message));
        };
        let no_text = cell(&row.cells, no_col);
        let Some(no) = positive(no_text) else {
            problem(no_col, no_text, "样本编号应为样本清单中的正整数".into());
            continue;
        };
        let Some(h) = by_no.get(&no) else {
            problem(
                no_col,
                no_text,
                format!(
                    "样本编号 {no} 不在抽样记录中（本次样本编号为 1–{}）",
                    sample.households.len()
                ),
            );
            continue;
        };
        if let Some(first) = seen.insert(no, row.line) {
            problem(
                no_col,
                no_text,
                format!("样本编号 {no} 重复（第{first}行已有）：每户只能有一行"),
            );
            continue;
        }
        if let (Some(expected), Some(c)) = (&h.household_id, id_col) {
            let got = cell(&row.cells, Some(c));
            if got != expected {
                problem(
                    Some(c),
                    got,
                    format!("样本 {no} 的户编号应为 {expected}（与抽样记录不符）"),
                );
            }
        }
        let mut flag = |i: usize, needed: bool| -> Option<bool> {
            let c = result_cols[i];
            let text = cell(&row.cells, c);
            if text.is_empty() {
                if needed {
                    problem(
                        c,
                        "",
                        format!(
                            "{}必须填写「{}」，可填：{BOOL_ALLOWED}",
                            h.group.chinese(),
                            RESULT_COLUMNS[i].0
                        ),
                    );
                }
                return None;
            }
            let v = parse_bool(text);
            if v.is_none() {
                problem(
                    c,
                    text,
                    format!("「{}」只能填：{BOOL_ALLOWED}", RESULT_COLUMNS[i].0),
                );
            }
            v
        };
        let registered = h.group.is_registered();
        let mut checks = Vec::new();
        let mut missed = None;
        if registered {
            for i in 0..6 {
                checks.extend(flag(i, true));
            }
            checks.extend(flag(6, false));
        } else {
            missed = flag(7, true);
        }
        let people_text = cell(&row.cells, people_col);
        let people = if registered {
            None
        } else {
            let p = positive(people_text);
            if p.is_none() {
                problem(
                    people_col,
                    people_text,
                    "非建档立卡户必须填写「家庭人口」，应为大于0的整数".into(),
                );
            }
            p
        };
        let approval_text = cell(&row.cells, result_cols[8]);
        let approval = Approval::parse(approval_text);
        if approval.is_none() {
            problem(
                result_cols[8],
                approval_text,
                format!("「是否认可」只能填：{}", Approval::ACCEPTED),
            );
        }
        if let Some(approval) = approval {
            out.push(Verification {
                no,
                people,
                checks,
                missed,
                approval,
            });
        }
    }
    let mut absent: Vec<u32> = sample
        .households
        .iter()
        .map(|h| h.no)
        .filter(|n| !seen.contains_key(n))
        .collect();
    absent.sort_unstable();
    if !absent.is_empty() {
        let list: Vec<String> = absent.iter().map(u32::to_string).collect();
        problems.push(InputProblem {
            file: file.clone(),
            line: 0,
            column: "样本编号".into(),
            value: list.join("、"),
            message: format!(
                "缺少 {} 户样本的核查结果：每个样本户都要有一行（未能入户的请注明原因后按实际情况填写）",
                absent.len()
            ),
        });
    }
    if !problems.is_empty() {
        return Err(InspectionError::Problems {
            summary: format!("{file}：核查结果有错误，未做估计"),
            problems,
        });
    }
    out.sort_by_key(|v| v.no);
    Ok(out)
}
