//! The project library file (项目库, docs `projects-and-funds.md`): CSV (UTF-8, GBK or
//! GB18030) or the first sheet of an XLSX workbook, one project per row, with a budget
//! column per fund source in yuan.
//!
//! All or nothing: any error (F5xx) rejects the whole file with every problem listed —
//! file, line, column, value and what would be accepted; the one warning (F551, unknown
//! columns) travels with the projects. Storing them is the store's business.

use crate::encoding::TextEncoding;
use crate::error::FileError;
use crate::limits::{FileLimits, Limits};
use crate::table::{self, read_table};
use crate::xlsx::SheetRow;
use chrono::NaiveDate;
use fupin_domain::fields::trim_cell;
use fupin_domain::funds::{date_problems, Budget, FundSource, Project, ProjectType, Stage};
use fupin_domain::plan::Deadline;
use fupin_domain::problem::{Problem, ProblemCode};
use fupin_domain::Fen;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// A project library read without errors.
#[derive(Clone, Debug)]
pub struct ProjectsFile {
    /// In file order, each with its line.
    pub projects: Vec<(u64, Project)>,
    /// F551 warnings.
    pub warnings: Vec<Problem>,
    /// How it was read, e.g. `CSV（UTF-8）`.
    pub format: String,
}

/// The columns of the project library.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Col {
    Name,
    Year,
    Kind,
    Township,
    Village,
    Task,
    Unit,
    Stage,
    PlannedStart,
    PlannedEnd,
    ActualStart,
    ActualEnd,
    /// A budget column, one per source.
    Budget(FundSource),
}

const FIXED: [Col; 12] = [
    Col::Name,
    Col::Year,
    Col::Kind,
    Col::Township,
    Col::Village,
    Col::Task,
    Col::Unit,
    Col::Stage,
    Col::PlannedStart,
    Col::PlannedEnd,
    Col::ActualStart,
    Col::ActualEnd,
];

/// What a date cell may hold, for messages.
pub const DATE_ALLOWED: &str = "2018-10-31、2018/10/31 或 2018年10月31日（可留空）";

impl Col {
    fn all() -> Vec<Col> {
        FIXED
            .into_iter()
            .chain(FundSource::ALL.iter().map(|s| Col::Budget(*s)))
            .collect()
    }

    fn index(self) -> usize {
        match self {
            Col::Budget(s) => FIXED.len() + s as usize,
            c => FIXED.iter().position(|f| *f == c).unwrap_or(0),
        }
    }

    /// The Chinese header.
    pub fn chinese(self) -> &'static str {
        match self {
            Col::Name => "项目名称",
            Col::Year => "年度",
            Col::Kind => "项目类型",
            Col::Township => "乡镇",
            Col::Village => "行政村",
            Col::Task => "服务重点工作(序号)",
            Col::Unit => "实施单位",
            Col::Stage => "项目阶段",
            Col::PlannedStart => "计划开工日期",
            Col::PlannedEnd => "计划完工日期",
            Col::ActualStart => "实际开工日期",
            Col::ActualEnd => "实际完工日期",
            Col::Budget(s) => budget_header(s),
        }
    }

    fn alias(self) -> &'static str {
        match self {
            Col::Name => "name",
            Col::Year => "year",
            Col::Kind => "type",
            Col::Township => "township",
            Col::Village => "village",
            Col::Task => "task_no",
            Col::Unit => "unit",
            Col::Stage => "stage",
            Col::PlannedStart => "planned_start",
            Col::PlannedEnd => "planned_end",
            Col::ActualStart => "actual_start",
            Col::ActualEnd => "actual_end",
            Col::Budget(s) => match s {
                FundSource::Central => "budget_central",
                FundSource::Provincial => "budget_provincial",
                FundSource::City => "budget_city",
                FundSource::County => "budget_county",
                FundSource::Integrated => "budget_integrated",
                FundSource::Social => "budget_social",
                FundSource::Credit => "budget_credit",
            },
        }
    }

    fn required(self) -> bool {
        matches!(
            self,
            Col::Name | Col::Year | Col::Kind | Col::Township | Col::Unit | Col::Stage
        )
    }
}

impl table::Column for Col {
    fn from_header(h: &str) -> Option<Col> {
        let h = trim_cell(h);
        // Full-width brackets and the bare name are accepted for 服务重点工作(序号).
        if matches!(h, "服务重点工作（序号）" | "服务重点工作" | "重点工作序号")
        {
            return Some(Col::Task);
        }
        // A budget header with 元 in brackets: 中央资金(元), 中央资金（元）.
        let bare = h
            .strip_suffix("(元)")
            .or_else(|| h.strip_suffix("（元）"))
            .unwrap_or(h);
        Col::all()
            .into_iter()
            .find(|c| c.chinese() == bare || c.alias().eq_ignore_ascii_case(h))
    }

    fn index(self) -> usize {
        Col::index(self)
    }

    fn chinese(self) -> &'static str {
        Col::chinese(self)
    }
}

/// The budget column header of a source: 中央资金, 统筹整合涉农资金 ….
pub fn budget_header(s: FundSource) -> &'static str {
    match s {
        FundSource::Central => "中央资金",
        FundSource::Provincial => "省级资金",
        FundSource::City => "市级资金",
        FundSource::County => "县级资金",
        FundSource::Integrated => "统筹整合涉农资金",
        FundSource::Social => "社会帮扶资金",
        FundSource::Credit => "信贷资金",
    }
}

/// The headers of a project library file, in the documented order (a template).
pub fn template_header() -> Vec<&'static str> {
    Col::all().into_iter().map(Col::chinese).collect()
}

/// Read and check a project library file (CSV or XLSX, first sheet).
pub fn read_projects(
    path: &Path,
    encoding: Option<TextEncoding>,
) -> Result<ProjectsFile, FileError> {
    read_projects_within(path, encoding, &Limits::default().projects)
}

/// [`read_projects`] within `limits`.
pub fn read_projects_within(
    path: &Path,
    encoding: Option<TextEncoding>,
    limits: &FileLimits,
) -> Result<ProjectsFile, FileError> {
    let table = read_table(path, encoding, None, limits)?;
    parse(path, &table.header, &table.rows, table.format)
}

/// A date in an accepted form, or an Excel serial date from an XLSX cell.
fn parse_date(text: &str, xlsx: bool) -> Result<Option<NaiveDate>, ()> {
    if text.is_empty() {
        return Ok(None);
    }
    match Deadline::parse(text) {
        Ok(Deadline::Date(d)) => return Ok(Some(d)),
        Ok(Deadline::None) => return Ok(None),
        _ => {}
    }
    if xlsx {
        if let Ok(serial) = text.parse::<f64>() {
            if (1.0..=2_958_465.0).contains(&serial) {
                return NaiveDate::from_ymd_opt(1899, 12, 30)
                    .and_then(|d| d.checked_add_days(chrono::Days::new(serial.trunc() as u64)))
                    .map(Some)
                    .ok_or(());
            }
        }
    }
    Err(())
}

fn parse(
    path: &Path,
    header: &[String],
    rows: &[SheetRow],
    format: String,
) -> Result<ProjectsFile, FileError> {
    let file: Arc<str> = path.display().to_string().into();
    // An XLSX date cell reads as its Excel serial number.
    let is_xlsx = format == "XLSX";
    let ncols = FIXED.len() + FundSource::ALL.len();
    let (pos, unknown) = table::locate_columns::<Col>(path, header, ncols)?;
    let mut problems = Vec::new();
    if !unknown.is_empty() {
        problems.push(table::unknown_columns(
            &file,
            ProblemCode::F551,
            &unknown,
            &template_header(),
        ));
    }
    let required: Vec<&str> = Col::all()
        .into_iter()
        .filter(|c| c.required())
        .map(Col::chinese)
        .collect();
    let mut missing = false;
    for c in Col::all() {
        if c.required() && pos[c.index()].is_none() {
            missing = true;
            problems.push(Problem::new(
                &file,
                1,
                c.chinese(),
                ProblemCode::F501,
                format!(
                    "缺少必填列「{}」（英文列名 {}）；必填列为：{}",
                    c.chinese(),
                    c.alias(),
                    required.join("、")
                ),
                "",
            ));
        }
    }
    if !FundSource::ALL
        .iter()
        .any(|s| pos[Col::Budget(*s).index()].is_some())
    {
        missing = true;
        problems.push(Problem::new(
            &file,
            1,
            "",
            ProblemCode::F501,
            format!(
                "没有任何预算列：至少要有一列资金来源（单位：元），可用：{}",
                FundSource::ALL
                    .iter()
                    .map(|s| budget_header(*s))
                    .collect::<Vec<_>>()
                    .join("、")
            ),
            "",
        ));
    }
    if missing {
        return Err(rejected(path, problems));
    }

    let mut projects = Vec::new();
    let mut seen: HashMap<(i32, String), u64> = HashMap::new();
    for row in rows {
        if let Some(p) = read_row(&file, row, &pos, is_xlsx, &mut problems) {
            match seen.get(&(p.year, p.name.clone())) {
                Some(first) => problems.push(Problem::new(
                    &file,
                    row.line,
                    Col::Name.chinese(),
                    ProblemCode::F506,
                    format!(
                        "{}年度「{}」已在第{first}行：同一年度的项目名称不能重复（修改项目请改原行，分期项目请在名称中注明期次）",
                        p.year, p.name
                    ),
                    p.name.as_str(),
                )),
                None => {
                    seen.insert((p.year, p.name.clone()), row.line);
                    projects.push((row.line, p));
                }
            }
        }
    }
    if rows.is_empty() {
        problems.push(Problem::new(
            &file,
            0,
            "",
            ProblemCode::F502,
            "文件中没有任何项目：第1行为列名，此后每个项目占一行",
            "",
        ));
    }
    problems.sort_by_key(|p| (p.line, p.code));
    if problems.iter().any(|p| p.code.is_error()) {
        return Err(rejected(path, problems));
    }
    Ok(ProjectsFile {
        projects,
        warnings: problems,
        format,
    })
}

fn rejected(path: &Path, problems: Vec<Problem>) -> FileError {
    table::rejected(path, "项目库", "文件", problems)
}

fn read_row(
    file: &Arc<str>,
    row: &SheetRow,
    pos: &[Option<usize>],
    is_xlsx: bool,
    problems: &mut Vec<Problem>,
) -> Option<Project> {
    // An XLSX cell that is there may be a date cell (its serial number).
    let cell = |c: Col| {
        let at = pos[c.index()];
        let present = at.is_some_and(|p| p < row.cells.len());
        (table::cell(row, at), is_xlsx && present)
    };
    let get = |c: Col| cell(c).0;
    let before = problems.len();
    let mut problem = |c: Col, code: ProblemCode, message: String, value: &str| {
        problems.push(Problem::new(
            file,
            row.line,
            c.chinese(),
            code,
            message,
            value,
        ));
    };
    let mut required = |c: Col, what: &str| {
        let v = get(c);
        if v.is_empty() {
            problem(
                c,
                ProblemCode::F502,
                format!("「{}」不能为空：{what}", c.chinese()),
                "",
            );
        }
        v
    };
    let name = required(Col::Name, "填写项目全称，同一年度不重复");
    let township = required(Col::Township, "填写项目所在乡镇；全县性项目填 全县");
    let unit = required(Col::Unit, "填写实施单位，如 县农业农村局");
    let year_text = required(Col::Year, "填写四位年份，如 2018");
    let kind_text = required(Col::Kind, "填写项目类型");
    let stage_text = required(Col::Stage, "填写项目阶段");

    let year = match year_text.strip_suffix('年').unwrap_or(year_text) {
        "" => None,
        t => match t.parse::<i32>() {
            Ok(y) if (2000..=2100).contains(&y) && t.len() == 4 => Some(y),
            _ => {
                problem(
                    Col::Year,
                    ProblemCode::F507,
                    format!("年度「{year_text}」应为四位年份，如 2018"),
                    year_text,
                );
                None
            }
        },
    };
    let kind = match kind_text {
        "" => None,
        t => ProjectType::parse(t).or_else(|| {
            problem(
                Col::Kind,
                ProblemCode::F503,
                format!("项目类型「{t}」无法识别；可填：{}", ProjectType::allowed()),
                t,
            );
            None
        }),
    };
    let stage = match stage_text {
        "" => None,
        t => Stage::parse(t).or_else(|| {
            problem(
                Col::Stage,
                ProblemCode::F503,
                format!("项目阶段「{t}」无法识别；可填：{}", Stage::allowed()),
                t,
            );
            None
        }),
    };
    let task_text = get(Col::Task);
    let task_no = match task_text {
        "" => None,
        t => match t.parse::<u32>() {
            Ok(n) if n > 0 && t.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => {
                problem(
                    Col::Task,
                    ProblemCode::F507,
                    format!(
                        "服务重点工作序号「{t}」应为责任分解方案中的正整数序号，如 3（可留空）"
                    ),
                    t,
                );
                None
            }
        },
    };
    let mut budget = Budget::default();
    for s in FundSource::ALL {
        let c = Col::Budget(*s);
        let t = get(c);
        if t.is_empty() {
            continue;
        }
        match Fen::parse_yuan(t) {
            Ok(f) => budget.set(*s, f),
            Err(e) => problem(
                c,
                ProblemCode::F504,
                format!(
                    "「{}」金额「{t}」有误：{e}；应为以元为单位、不小于0、最多两位小数的数字，如 120000 或 1,200.50（没有该来源可留空）",
                    c.chinese()
                ),
                t,
            ),
        }
    }
    let mut date = |c: Col| {
        let (t, xlsx) = cell(c);
        parse_date(t, xlsx).unwrap_or_else(|()| {
            problem(
                c,
                ProblemCode::F505,
                format!("「{}」「{t}」不是日期：可填 {DATE_ALLOWED}", c.chinese()),
                t,
            );
            None
        })
    };
    let planned_start = date(Col::PlannedStart);
    let planned_end = date(Col::PlannedEnd);
    let actual_start = date(Col::ActualStart);
    let actual_end = date(Col::ActualEnd);
    if problems.len() > before {
        return None;
    }
    let village = Some(get(Col::Village))
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    let p = Project {
        name: name.to_string(),
        year: year?,
        kind: kind?,
        township: township.to_string(),
        village,
        task_no,
        unit: unit.to_string(),
        budget,
        stage: stage?,
        planned_start,
        planned_end,
        actual_start,
        actual_end,
    };
    for m in date_problems(&p) {
        problems.push(Problem::new(
            file,
            row.line,
            Col::Stage.chinese(),
            ProblemCode::F508,
            m,
            p.stage.chinese(),
        ));
    }
    // Policy (issue 7): a project approved (批复) or later has a budget.
    if p.stage >= Stage::Approved && p.budget.total().fen() == 0 {
        problems.push(Problem::new(
            file,
            row.line,
            "",
            ProblemCode::F509,
            format!(
                "项目阶段为「{}」但没有任何预算：已批复的项目须在资金来源列填写预算（元）；尚未批复的项目阶段填 入库",
                p.stage.chinese()
            ),
            "",
        ));
    }
    (problems.len() == before).then_some(p)
}

/// Read a project library from CSV text already decoded (an upload, a test).
pub fn parse_projects_csv_text(file_name: &str, text: &str) -> Result<ProjectsFile, FileError> {
    parse_projects_csv_text_within(file_name, text, &Limits::default().projects)
}

/// [`parse_projects_csv_text`] within `limits`.
pub fn parse_projects_csv_text_within(
    file_name: &str,
    text: &str,
    limits: &FileLimits,
) -> Result<ProjectsFile, FileError> {
    let table = table::csv_text_table(file_name, text, limits)?;
    parse(
        Path::new(file_name),
        &table.header,
        &table.rows,
        table.format,
    )
}
