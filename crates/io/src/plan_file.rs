//! The responsibility plan file (责任分解方案, shared spec `plan.md` v1): CSV (UTF-8, GBK or
//! GB18030) or XLSX, one row per task or several rows with the same 序号 for a task with
//! several implementing units. Plan facts come from the XLSX sheet 方案信息 (项目, 内容) or,
//! for CSV, from the caller ([`PlanFacts`], the command-line options).
//!
//! All or nothing: any error (P3xx) rejects the whole file with every problem listed;
//! warnings (P4xx) travel with the plan. Reading is `parse → Plan`; storing a plan is the
//! store's business.

use crate::encoding::TextEncoding;
use crate::error::FileError;
use crate::limits::{FileLimits, Limits};
use crate::table::{self, read_table};
use crate::xlsx::{self, SheetRow};
use chrono::NaiveDate;
use fupin_domain::fields::trim_cell;
use fupin_domain::plan::{
    split_list, Deadline, GapKind, KeyTask, Plan, UnitAssignment, DEADLINE_ALLOWED,
};
use fupin_domain::problem::{Problem, ProblemCode};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// The name of the XLSX sheet holding the plan facts.
pub const FACTS_SHEET: &str = "方案信息";

/// The demo plan: the seed county's 2018 plan (25 tasks listed, 26 announced), UTF-8 CSV.
pub const DEMO_PLAN_2018_CSV: &str = include_str!("../assets/demo-plan-2018.csv");

/// The facts of the demo plan, as `fupin plan check` would take them from options.
pub fn demo_plan_2018_facts() -> PlanFacts {
    PlanFacts {
        year: Some(2018),
        name: Some("河曲县2018年脱贫退出重点工作责任分解方案".into()),
        overall_post: Some("县委书记".into()),
        commander_post: Some("县长".into()),
        declared_tasks: Some(26),
    }
}

/// The demo plan, read like any plan file (its one warning: 26 announced, 25 listed).
pub fn demo_plan_2018() -> Result<PlanFile, FileError> {
    parse_plan_csv_text(
        "demo-plan-2018.csv",
        DEMO_PLAN_2018_CSV,
        &demo_plan_2018_facts(),
    )
}

/// Plan facts given by the caller (for CSV the only source; for XLSX they override the
/// 方案信息 sheet item by item).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlanFacts {
    pub year: Option<i32>,
    pub name: Option<String>,
    pub overall_post: Option<String>,
    pub commander_post: Option<String>,
    pub declared_tasks: Option<u32>,
}

/// A plan read without errors, with its warnings.
#[derive(Clone, Debug)]
pub struct PlanFile {
    pub plan: Plan,
    /// P4xx warnings, in file order.
    pub warnings: Vec<Problem>,
    /// How it was read, e.g. `CSV（UTF-8）`.
    pub format: String,
}

/// The plan file's columns by their Chinese headers, in file order (the plan ledger
/// begins with the same columns).
pub const PLAN_HEADER: [&str; 8] = [
    "序号",
    "重点工作",
    "责任领导",
    "牵头单位",
    "落实单位",
    "落实单位责任人",
    "完成时限",
    "负责问题",
];

/// The columns of the plan file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Col {
    No,
    Task,
    Leader,
    LeadUnit,
    Units,
    UnitOwners,
    Deadline,
    Owns,
}

impl Col {
    const ALL: [Col; 8] = [
        Col::No,
        Col::Task,
        Col::Leader,
        Col::LeadUnit,
        Col::Units,
        Col::UnitOwners,
        Col::Deadline,
        Col::Owns,
    ];

    fn chinese(self) -> &'static str {
        PLAN_HEADER[self as usize]
    }

    fn alias(self) -> &'static str {
        [
            "task_no",
            "task",
            "leader",
            "lead_unit",
            "units",
            "unit_owners",
            "deadline",
            "owns",
        ][self as usize]
    }

    fn required(self) -> bool {
        !matches!(self, Col::Deadline | Col::Owns)
    }
}

impl table::Column for Col {
    fn from_header(h: &str) -> Option<Col> {
        let h = trim_cell(h);
        Col::ALL
            .into_iter()
            .find(|c| c.chinese() == h || c.alias().eq_ignore_ascii_case(h))
    }

    fn index(self) -> usize {
        self as usize
    }

    fn chinese(self) -> &'static str {
        Col::chinese(self)
    }
}

/// The items of the 方案信息 sheet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Item {
    Year,
    Name,
    OverallPost,
    CommanderPost,
    DeclaredTasks,
}

impl Item {
    const ALL: [Item; 5] = [
        Item::Year,
        Item::Name,
        Item::OverallPost,
        Item::CommanderPost,
        Item::DeclaredTasks,
    ];

    fn chinese(self) -> &'static str {
        ["年度", "方案名称", "负总责", "指挥长", "重点工作数"][self as usize]
    }

    fn alias(self) -> &'static str {
        [
            "year",
            "name",
            "overall_post",
            "commander_post",
            "declared_tasks",
        ][self as usize]
    }

    fn from_cell(h: &str) -> Option<Item> {
        let h = trim_cell(h);
        Item::ALL
            .into_iter()
            .find(|c| c.chinese() == h || c.alias().eq_ignore_ascii_case(h))
    }
}

/// Read and check a plan file (CSV or XLSX). `facts` come from the command line.
pub fn read_plan(
    path: &Path,
    encoding: Option<TextEncoding>,
    facts: &PlanFacts,
) -> Result<PlanFile, FileError> {
    read_plan_within(path, encoding, facts, &Limits::default().plan)
}

/// [`read_plan`] within `limits`.
pub fn read_plan_within(
    path: &Path,
    encoding: Option<TextEncoding>,
    facts: &PlanFacts,
    limits: &FileLimits,
) -> Result<PlanFile, FileError> {
    let file: Arc<str> = path.display().to_string().into();
    let (_, head) = crate::members::open_head(path)?;
    let mut problems = Vec::new();
    let (table, facts) = if xlsx::looks_like_xlsx(&head) {
        let names = xlsx::sheet_names(path, limits)?;
        let Some(tasks_sheet) = names.iter().find(|n| n.as_str() != FACTS_SHEET) else {
            return Err(FileError::Workbook {
                path: path.to_path_buf(),
                message: format!("工作簿中只有「{FACTS_SHEET}」，没有重点工作表"),
            });
        };
        let table = tasks_table(read_table(path, None, Some(tasks_sheet), limits), "XLSX")?;
        let mut merged = FactSources::from_options(facts);
        if names.iter().any(|n| n == FACTS_SHEET) {
            let sheet = read_table(path, None, Some(FACTS_SHEET), limits)?;
            let sheet_file: Arc<str> = format!("{}（{FACTS_SHEET}）", path.display()).into();
            merged.fill_from_sheet(&sheet_file, &sheet.header, &sheet.rows, &mut problems);
        }
        (table, merged)
    } else {
        (
            tasks_table(read_table(path, encoding, None, limits), "CSV")?,
            FactSources::from_options(facts),
        )
    };
    let is_xlsx = table.format == "XLSX";
    finish(
        path,
        &file,
        &table.header,
        &table.rows,
        is_xlsx,
        facts,
        problems,
        table.format,
    )
}

/// Read a plan from CSV text already decoded (the embedded demo plan, an upload).
pub fn parse_plan_csv_text(
    file_name: &str,
    text: &str,
    facts: &PlanFacts,
) -> Result<PlanFile, FileError> {
    parse_plan_csv_text_within(file_name, text, facts, &Limits::default().plan)
}

/// [`parse_plan_csv_text`] within `limits`.
pub fn parse_plan_csv_text_within(
    file_name: &str,
    text: &str,
    facts: &PlanFacts,
    limits: &FileLimits,
) -> Result<PlanFile, FileError> {
    let file: Arc<str> = file_name.into();
    let table = table::csv_text_table(file_name, text, limits)?;
    finish(
        Path::new(file_name),
        &file,
        &table.header,
        &table.rows,
        false,
        FactSources::from_options(facts),
        Vec::new(),
        table.format,
    )
}

/// The tasks table; an empty file or sheet is a table without columns, so that it is
/// reported as the plan's missing columns (P301) rather than as an empty register.
fn tasks_table(
    read: Result<crate::table::Table, FileError>,
    format: &str,
) -> Result<crate::table::Table, FileError> {
    match read {
        Err(FileError::Empty { .. }) => Ok(crate::table::Table {
            header: Vec::new(),
            rows: Vec::new(),
            format: format.into(),
        }),
        other => other,
    }
}

/// A plan fact and where it came from (for the position of a problem about it).
#[derive(Clone, Debug)]
struct Fact<T> {
    value: T,
    file: Option<Arc<str>>,
    line: u64,
}

#[derive(Clone, Debug, Default)]
struct FactSources {
    year: Option<Fact<i32>>,
    name: Option<Fact<String>>,
    overall_post: Option<Fact<String>>,
    commander_post: Option<Fact<String>>,
    declared_tasks: Option<Fact<u32>>,
}

impl FactSources {
    fn from_options(o: &PlanFacts) -> FactSources {
        fn opt<T: Clone>(v: &Option<T>) -> Option<Fact<T>> {
            v.clone().map(|value| Fact {
                value,
                file: None,
                line: 0,
            })
        }
        let text = |v: &Option<String>| opt(&v.clone().filter(|s| !s.trim().is_empty()));
        FactSources {
            year: opt(&o.year),
            name: text(&o.name),
            overall_post: text(&o.overall_post),
            commander_post: text(&o.commander_post),
            declared_tasks: opt(&o.declared_tasks),
        }
    }

    /// Items of the 方案信息 sheet fill the facts the options left open.
    fn fill_from_sheet(
        &mut self,
        file: &Arc<str>,
        header: &[String],
        rows: &[SheetRow],
        problems: &mut Vec<Problem>,
    ) {
        let find = |zh: &str, en: &str| {
            header.iter().position(|h| {
                let h = trim_cell(h);
                h == zh || h.eq_ignore_ascii_case(en)
            })
        };
        let (Some(item_col), Some(value_col)) = (find("项目", "item"), find("内容", "value"))
        else {
            problems.push(Problem::new(
                file,
                1,
                "",
                ProblemCode::P310,
                format!("「{FACTS_SHEET}」工作表第1行应为列名「项目」「内容」（或 item、value）"),
                header.join("、"),
            ));
            return;
        };
        for row in rows {
            let item_text = row.cells.get(item_col).map_or("", |c| trim_cell(c));
            let value = row.cells.get(value_col).map_or("", |c| trim_cell(c));
            let Some(item) = Item::from_cell(item_text) else {
                problems.push(Problem::new(
                    file,
                    row.line,
                    "项目",
                    ProblemCode::P403,
                    format!(
                        "未识别的项目「{item_text}」已忽略；可填：{}",
                        Item::ALL.map(Item::chinese).join("、")
                    ),
                    item_text,
                ));
                continue;
            };
            let mut bad = |what: &str| {
                problems.push(Problem::new(
                    file,
                    row.line,
                    "内容",
                    ProblemCode::P310,
                    format!("「{}」的内容「{value}」{what}", item.chinese()),
                    value,
                ));
            };
            match item {
                Item::Year => match parse_year(value) {
                    Some(y) if self.year.is_none() => self.year = fact_at(y, file, row.line),
                    Some(_) => {}
                    None => bad("应为四位年份，如 2018"),
                },
                Item::DeclaredTasks => match parse_count(value) {
                    Some(n) if self.declared_tasks.is_none() => {
                        self.declared_tasks = fact_at(n, file, row.line);
                    }
                    Some(_) => {}
                    None if value.is_empty() => {}
                    None => bad("应为正整数，如 26"),
                },
                Item::Name | Item::OverallPost | Item::CommanderPost => {
                    let slot = match item {
                        Item::Name => &mut self.name,
                        Item::OverallPost => &mut self.overall_post,
                        _ => &mut self.commander_post,
                    };
                    if slot.is_none() && !value.is_empty() {
                        *slot = fact_at(value.to_string(), file, row.line);
                    }
                }
            }
        }
    }
}

fn fact_at<T>(value: T, file: &Arc<str>, line: u64) -> Option<Fact<T>> {
    Some(Fact {
        value,
        file: Some(Arc::clone(file)),
        line,
    })
}

fn parse_year(t: &str) -> Option<i32> {
    let t = t.strip_suffix('年').unwrap_or(t);
    (t.len() == 4 && t.bytes().all(|b| b.is_ascii_digit()))
        .then(|| t.parse().ok())
        .flatten()
        .filter(|y| (2000..=2100).contains(y))
}

/// A positive integer, optionally followed by 项 or 个 (`26项`).
fn parse_count(t: &str) -> Option<u32> {
    let t = t.trim_end_matches(['项', '个']);
    (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        .then(|| t.parse().ok())
        .flatten()
        .filter(|n| *n > 0)
}

/// A task as its rows are gathered.
struct Building {
    first_line: u64,
    name: Option<(String, u64)>,
    leader: Option<(String, u64)>,
    lead_unit: Option<(String, u64)>,
    deadline: Option<(Deadline, String, u64)>,
    units: Vec<UnitAssignment>,
    /// Whether some row named implementing units (well paired or not).
    units_given: bool,
    /// Whether some row named a leader (one, or too many).
    leader_given: bool,
    owns: Vec<(GapKind, u64)>,
}

#[allow(clippy::too_many_arguments)]
fn finish(
    path: &Path,
    file: &Arc<str>,
    header: &[String],
    rows: &[SheetRow],
    is_xlsx: bool,
    facts: FactSources,
    mut problems: Vec<Problem>,
    format: String,
) -> Result<PlanFile, FileError> {
    // Header: positions, repeats, unknown and missing columns.
    let (pos, unknown) = table::locate_columns::<Col>(path, header, Col::ALL.len())?;
    if !unknown.is_empty() {
        problems.push(table::unknown_columns(
            file,
            ProblemCode::P403,
            &unknown,
            &Col::ALL.map(Col::chinese),
        ));
    }
    let missing: Vec<Col> = Col::ALL
        .into_iter()
        .filter(|c| c.required() && pos[*c as usize].is_none())
        .collect();
    if !missing.is_empty() {
        for c in missing {
            problems.push(Problem::new(
                file,
                1,
                c.chinese(),
                ProblemCode::P301,
                format!(
                    "缺少必填列「{}」（英文列名 {}）；必填列为：序号、重点工作、责任领导、牵头单位、落实单位、落实单位责任人",
                    c.chinese(),
                    c.alias()
                ),
                "",
            ));
        }
        return Err(rejected(path, problems));
    }

    let mut tasks: BTreeMap<u32, Building> = BTreeMap::new();
    for row in rows {
        read_row(file, row, &pos, is_xlsx, &mut tasks, &mut problems);
    }
    if tasks.is_empty() && !problems.iter().any(|p| p.code.is_error()) {
        problems.push(Problem::new(
            file,
            0,
            "",
            ProblemCode::P302,
            "方案中没有任何重点工作：第1行为列名，此后每项重点工作占一行或多行",
            "",
        ));
    }

    // Task-level checks: a task needs a name, a leader, a lead unit and a unit.
    for (no, t) in &tasks {
        let name = t.name.as_ref().map_or("", |(n, _)| n.as_str());
        let mut missing = |present: bool, col: Col, what: &str| {
            if !present {
                problems.push(Problem::new(
                    file,
                    t.first_line,
                    col.chinese(),
                    ProblemCode::P302,
                    format!("序号{no}「{name}」{what}"),
                    "",
                ));
            }
        };
        missing(t.name.is_some(), Col::Task, "没有填写重点工作名称");
        missing(
            t.leader_given,
            Col::Leader,
            "没有责任领导：每项重点工作须有一位县级责任领导（姓名或职务，如 常务副县长）",
        );
        missing(
            t.lead_unit.is_some(),
            Col::LeadUnit,
            "没有牵头单位：每项重点工作须有一个牵头单位（如 县住建局）",
        );
        missing(
            t.units_given,
            Col::Units,
            "没有落实单位：至少填一个落实单位及其责任人（多个用、分隔，或分行填写同一序号）",
        );
    }

    // A kind owned by two tasks: the smaller 序号 wins (warning on every other owner).
    for kind in GapKind::ALL {
        let owners: Vec<(u32, &str, u64)> = tasks
            .iter()
            .filter_map(|(no, t)| {
                t.owns
                    .iter()
                    .find(|(k, _)| *k == kind)
                    .map(|(_, line)| (*no, t.name.as_ref().map_or("", |(n, _)| n.as_str()), *line))
            })
            .collect();
        if let [(win_no, win_name, win_line), rest @ ..] = owners.as_slice() {
            for (no, name, line) in rest {
                problems.push(Problem::new(
                    file,
                    *line,
                    Col::Owns.chinese(),
                    ProblemCode::P401,
                    format!(
                        "负责问题 {}（{}）同时由序号{win_no}「{win_name}」（第{win_line}行）和序号{no}「{name}」负责：按较小序号，此类问题交由序号{win_no}负责；如应由本项负责，请从序号{win_no}中删去 {}",
                        kind.code(),
                        kind.chinese(),
                        kind.code()
                    ),
                    kind.code(),
                ));
            }
        }
    }

    // Plan facts.
    let year = match &facts.year {
        Some(f) => f.value,
        None => {
            problems.push(Problem::new(
                file,
                0,
                "年度",
                ProblemCode::P310,
                format!(
                    "没有方案年度：CSV 方案请用 --year 指定（如 --year 2018）；XLSX 方案可在「{FACTS_SHEET}」工作表填写项目「年度」"
                ),
                "",
            ));
            0
        }
    };
    if year != 0 {
        for t in tasks.values() {
            if let Some((Deadline::Date(d), text, line)) = &t.deadline {
                if !deadline_plausible(year, *d) {
                    problems.push(Problem::new(
                        file,
                        *line,
                        Col::Deadline.chinese(),
                        ProblemCode::P306,
                        format!(
                            "完成时限「{}」（{d}）不在方案年度 {year} 年至 {} 年之间：请核对年份",
                            fupin_domain::problem::echo(text),
                            year + DEADLINE_YEARS_AHEAD
                        ),
                        text.as_str(),
                    ));
                }
            }
        }
    }
    if let (Some(d), false) = (&facts.declared_tasks, tasks.is_empty()) {
        if d.value as usize != tasks.len() {
            let at = d.file.clone().unwrap_or_else(|| Arc::clone(file));
            problems.push(Problem::new(
                &at,
                d.line,
                "重点工作数",
                ProblemCode::P402,
                format!(
                    "方案称有 {} 项重点工作，实际列出 {} 项（序号 {}）：请核对是否漏列或多列",
                    d.value,
                    tasks.len(),
                    number_ranges(tasks.keys().copied())
                ),
                d.value.to_string(),
            ));
        }
    }

    problems.sort_by(|a, b| {
        (a.file.as_ref() != file.as_ref(), a.line, a.code).cmp(&(
            b.file.as_ref() != file.as_ref(),
            b.line,
            b.code,
        ))
    });
    if problems.iter().any(|p| p.code.is_error()) {
        return Err(rejected(path, problems));
    }
    let text = |f: Option<Fact<String>>, default: String| f.map_or(default, |f| f.value);
    let plan = Plan {
        year,
        name: text(facts.name, format!("{year}年脱贫攻坚重点工作责任分解方案")),
        overall_post: text(facts.overall_post, "县委书记".into()),
        commander_post: text(facts.commander_post, "县长".into()),
        declared_tasks: facts.declared_tasks.map(|f| f.value),
        tasks: tasks
            .into_iter()
            .map(|(no, t)| KeyTask {
                no,
                name: t.name.map(|(n, _)| n).unwrap_or_default(),
                leader: t.leader.map(|(n, _)| n).unwrap_or_default(),
                lead_unit: t.lead_unit.map(|(n, _)| n).unwrap_or_default(),
                units: t.units,
                deadline: t.deadline.map_or(Deadline::None, |(d, _, _)| d),
                owns: t.owns.into_iter().map(|(k, _)| k).collect(),
            })
            .collect(),
    };
    Ok(PlanFile {
        plan,
        warnings: problems,
        format,
    })
}

fn rejected(path: &Path, problems: Vec<Problem>) -> FileError {
    table::rejected(path, "责任分解方案", "方案", problems)
}

/// `1-25` or `1-3、5、7-9`.
fn number_ranges(nos: impl Iterator<Item = u32>) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut run: Option<(u32, u32)> = None;
    let push = |out: &mut Vec<String>, (a, b): (u32, u32)| {
        out.push(if a == b {
            a.to_string()
        } else {
            format!("{a}-{b}")
        });
    };
    for n in nos {
        run = match run {
            Some((a, b)) if n == b + 1 => Some((a, n)),
            Some(r) => {
                push(&mut out, r);
                Some((n, n))
            }
            None => Some((n, n)),
        };
    }
    if let Some(r) = run {
        push(&mut out, r);
    }
    out.join("、")
}

/// How many years after its own a plan's deadlines may fall.
pub const DEADLINE_YEARS_AHEAD: i32 = 10;

/// Whether a deadline fits a plan of `year` (policy: from 1 January of the plan's year to
/// 31 December ten years on; 9999-12-31 is a typing slip, not a deadline).
pub fn deadline_plausible(year: i32, deadline: NaiveDate) -> bool {
    use chrono::Datelike;
    (year..=year + DEADLINE_YEARS_AHEAD).contains(&deadline.year())
}

/// An Excel serial date (1900 date system) in a date-formatted XLSX cell.
fn excel_serial_date(text: &str) -> Option<NaiveDate> {
    let serial: f64 = text.parse().ok()?;
    if !(1.0..=2_958_465.0).contains(&serial) {
        return None;
    }
    NaiveDate::from_ymd_opt(1899, 12, 30)?
        .checked_add_days(chrono::Days::new(serial.trunc() as u64))
}

fn read_row(
    file: &Arc<str>,
    row: &SheetRow,
    pos: &[Option<usize>],
    is_xlsx: bool,
    tasks: &mut BTreeMap<u32, Building>,
    problems: &mut Vec<Problem>,
) {
    let get = |c: Col| table::cell(row, pos[c as usize]);
    let line = row.line;
    let mut problem = |col: Col, code: ProblemCode, message: String, value: &str| {
        problems.push(Problem::new(
            file,
            line,
            col.chinese(),
            code,
            message,
            value,
        ));
    };

    // 序号.
    let no_text = get(Col::No);
    let no = if no_text.is_empty() {
        problem(
            Col::No,
            ProblemCode::P302,
            "「序号」不能为空：每行都要填写所属重点工作的序号（合并单元格请取消合并后逐行填写）"
                .into(),
            "",
        );
        None
    } else {
        match no_text.parse::<u32>() {
            Ok(n) if n > 0 && no_text.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => {
                problem(
                    Col::No,
                    ProblemCode::P309,
                    format!("序号「{no_text}」应为正整数，如 1、2、3"),
                    no_text,
                );
                None
            }
        }
    };

    // 责任领导: exactly one.
    let leader_text = get(Col::Leader);
    let leaders = split_list(leader_text);
    let leader = match leaders.as_slice() {
        [] => None,
        [one] => Some(one.to_string()),
        many => {
            problem(
                Col::Leader,
                ProblemCode::P303,
                format!(
                    "「责任领导」只能填一位县级领导，本行填了 {} 位（{}）：其余领导请另设重点工作，或作为落实单位责任人",
                    many.len(),
                    many.join("、")
                ),
                leader_text,
            );
            None
        }
    };

    // 落实单位 and 落实单位责任人, one to one.
    let units_text = get(Col::Units);
    let owners_text = get(Col::UnitOwners);
    let units = split_list(units_text);
    let owners = split_list(owners_text);
    let paired = if units.len() == owners.len() {
        true
    } else {
        problem(
            Col::UnitOwners,
            ProblemCode::P304,
            format!(
                "落实单位 {} 个（{}），落实单位责任人 {} 个（{}）：每个落实单位须有一位责任人，按同样的顺序和分隔符（、，,；;）填写",
                units.len(),
                units.join("、"),
                owners.len(),
                owners.join("、")
            ),
            &format!("{units_text} | {owners_text}"),
        );
        false
    };

    // 完成时限.
    let deadline_text = get(Col::Deadline);
    let deadline = match Deadline::parse(deadline_text) {
        Ok(Deadline::None) => None,
        Ok(d) => Some(d),
        Err(_) => match is_xlsx.then(|| excel_serial_date(deadline_text)).flatten() {
            Some(d) => Some(Deadline::Date(d)),
            None => {
                problem(
                    Col::Deadline,
                    ProblemCode::P306,
                    format!("完成时限「{deadline_text}」不是日期：可填 {DEADLINE_ALLOWED}"),
                    deadline_text,
                );
                None
            }
        },
    };

    // 负责问题.
    let mut owns = Vec::new();
    for code in split_list(get(Col::Owns)) {
        match GapKind::parse(code) {
            Some(k) => {
                if !owns.contains(&k) {
                    owns.push(k);
                }
            }
            None => problem(
                Col::Owns,
                ProblemCode::P308,
                format!(
                    "负责问题代码「{code}」无法识别；可填：{}（多个用、分隔）",
                    GapKind::allowed()
                ),
                code,
            ),
        }
    }

    let Some(no) = no else { return };
    let name = get(Col::Task);
    let lead_unit = get(Col::LeadUnit);
    let t = tasks.entry(no).or_insert_with(|| Building {
        first_line: line,
        name: None,
        leader: None,
        lead_unit: None,
        deadline: None,
        units: Vec::new(),
        units_given: false,
        leader_given: false,
        owns: Vec::new(),
    });
    if !name.is_empty() {
        match &t.name {
            Some((first, first_line)) if first != name => problem(
                Col::Task,
                ProblemCode::P305,
                format!(
                    "序号{no}已用于第{first_line}行的「{first}」，本行为「{name}」：不同的重点工作请用不同的序号；同一项工作的各行名称应相同或留空"
                ),
                name,
            ),
            Some(_) => {}
            None => t.name = Some((name.to_string(), line)),
        }
    }
    if let Some(leader) = leader {
        match &t.leader {
            Some((first, first_line)) if *first != leader => problem(
                Col::Leader,
                ProblemCode::P303,
                format!(
                    "序号{no}的责任领导在第{first_line}行为「{first}」，本行为「{leader}」：每项重点工作只能有一位责任领导"
                ),
                &leader,
            ),
            Some(_) => {}
            None => t.leader = Some((leader, line)),
        }
    }
    if !lead_unit.is_empty() {
        match &t.lead_unit {
            Some((first, first_line)) if first != lead_unit => problem(
                Col::LeadUnit,
                ProblemCode::P307,
                format!(
                    "序号{no}的牵头单位在第{first_line}行为「{first}」，本行为「{lead_unit}」：每项重点工作只有一个牵头单位，其他单位请填入落实单位"
                ),
                lead_unit,
            ),
            Some(_) => {}
            None => t.lead_unit = Some((lead_unit.to_string(), line)),
        }
    }
    if let Some(d) = deadline {
        match &t.deadline {
            Some((first, first_text, first_line)) if *first != d => problem(
                Col::Deadline,
                ProblemCode::P307,
                format!(
                    "序号{no}的完成时限在第{first_line}行为「{first_text}」，本行为「{deadline_text}」：同一项重点工作只能有一个完成时限"
                ),
                deadline_text,
            ),
            Some(_) => {}
            None => t.deadline = Some((d, deadline_text.to_string(), line)),
        }
    }
    if !units.is_empty() || !owners.is_empty() {
        t.units_given = true;
    }
    if !leaders.is_empty() {
        t.leader_given = true;
    }
    if paired {
        t.units
            .extend(units.iter().zip(&owners).map(|(u, o)| UnitAssignment {
                unit: u.to_string(),
                owner: o.to_string(),
            }));
    }
    for k in owns {
        if !t.owns.iter().any(|(x, _)| *x == k) {
            t.owns.push((k, line));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_counts() {
        assert_eq!(number_ranges([1, 2, 3, 5, 7, 8].into_iter()), "1-3、5、7-8");
        assert_eq!(parse_count("26项"), Some(26));
        assert_eq!(parse_count("0"), None);
        assert_eq!(parse_year("2018年"), Some(2018));
        assert_eq!(parse_year("18"), None);
        assert_eq!(
            excel_serial_date("43404"),
            NaiveDate::from_ymd_opt(2018, 10, 31)
        );
    }
}
