//! `fupin plan`: check a responsibility plan file (责任分解方案) and show what it says.
//!
//! Exit codes follow `fupin check`: 0 when the plan is accepted (warnings allowed), 1 when
//! it has errors (nothing is read), 2 when the file cannot be read as a table at all or
//! lacks a required column.

use crate::refused;
use anyhow::{Context, Result};
use fupin_domain::gap::owner_kinds;
use fupin_domain::plan::{GapKind, Plan};
use fupin_io::plan_file::{read_plan, PlanFacts, PlanFile, DEMO_PLAN_2018_CSV};
use fupin_io::TextEncoding;
use std::path::PathBuf;
use std::process::ExitCode;

/// A plan file and the plan facts a CSV file cannot hold.
#[derive(clap::Args, Clone, Debug)]
pub struct PlanArgs {
    /// Plan file (CSV in UTF-8/GBK/GB18030, or XLSX with an optional 方案信息 sheet).
    pub file: PathBuf,
    /// Plan year (required for CSV unless given in the 方案信息 sheet).
    #[arg(long)]
    pub year: Option<i32>,
    /// Plan name (default: <year>年脱贫攻坚重点工作责任分解方案).
    #[arg(long)]
    pub name: Option<String>,
    /// Post with overall responsibility, 负总责 (default 县委书记).
    #[arg(long)]
    pub overall_post: Option<String>,
    /// Commander's post, 指挥长 (default 县长).
    #[arg(long)]
    pub commander_post: Option<String>,
    /// Number of key tasks the plan announces (a difference is a warning).
    #[arg(long)]
    pub declared: Option<u32>,
    /// Text encoding of a CSV file: auto, utf-8, gbk, gb18030.
    #[arg(long, default_value = "auto")]
    pub encoding: String,
}

impl PlanArgs {
    /// The facts given on the command line; for XLSX they override the 方案信息 sheet.
    pub fn facts(&self) -> PlanFacts {
        PlanFacts {
            year: self.year,
            name: self.name.clone(),
            overall_post: self.overall_post.clone(),
            commander_post: self.commander_post.clone(),
            declared_tasks: self.declared,
        }
    }
}

#[derive(clap::Subcommand)]
pub enum PlanCommand {
    /// Check a plan file: list every problem and summarise the plan.
    Check(PlanArgs),
    /// Show the tasks of a plan file (with --json: the parsed plan as JSON).
    Show {
        #[command(flatten)]
        plan: PlanArgs,
        /// Print the plan and its warnings as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Import a plan file into the database (all or nothing): the next revision of its
    /// year's plan; the current register's gaps are routed by it at once.
    Import {
        #[command(flatten)]
        plan: PlanArgs,
        #[command(flatten)]
        db: crate::server_cmd::DbArgs,
        /// The account that imports (a headquarters admin).
        #[arg(long)]
        user: String,
    },
    /// Write the demo plan (the seed county's 2018 plan, UTF-8 CSV): a template to edit.
    Demo {
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub fn run(cmd: &PlanCommand) -> Result<ExitCode> {
    match cmd {
        PlanCommand::Check(args) => check(args),
        PlanCommand::Show { plan, json } => show(plan, *json),
        PlanCommand::Import { plan, db, user } => crate::server_cmd::plan_import(plan, db, user),
        PlanCommand::Demo { out: Some(path) } => {
            std::fs::write(path, DEMO_PLAN_2018_CSV)
                .with_context(|| format!("写入 {} 失败", path.display()))?;
            Ok(ExitCode::SUCCESS)
        }
        PlanCommand::Demo { out: None } => {
            print!("{DEMO_PLAN_2018_CSV}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Read a plan file as the command line describes it: the one boundary between a file and
/// a [`Plan`] (`fupin plan import` stores what this returns). On failure every problem
/// has been printed and the exit code is returned.
pub fn read(args: &PlanArgs) -> Result<PlanFile, ExitCode> {
    let encoding = match TextEncoding::from_option(&args.encoding) {
        Ok(e) => e,
        Err(msg) => {
            eprintln!("错误：{msg}");
            return Err(ExitCode::from(2));
        }
    };
    refused::with_counts(read_plan(&args.file, encoding, &args.facts()))
}

fn check(args: &PlanArgs) -> Result<ExitCode> {
    let read = match read(args) {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    for p in &read.warnings {
        println!("{p}");
    }
    print!("{}", summary(&args.file.display().to_string(), &read));
    Ok(ExitCode::SUCCESS)
}

/// The summary `fupin plan check` prints for an accepted plan.
pub fn summary(file: &str, read: &PlanFile) -> String {
    let plan = &read.plan;
    let declared = plan
        .declared_tasks
        .map_or(String::new(), |d| format!("（方案称 {d} 项）"));
    let mut out = format!(
        "{file}（{}）：方案可以导入；错误 0 个，警告 {} 个\n",
        read.format,
        read.warnings.len()
    );
    out += &format!(
        "{}年度《{}》：{}负总责，{}任指挥长\n",
        plan.year, plan.name, plan.overall_post, plan.commander_post
    );
    out += &format!(
        "重点工作 {} 项{declared}，责任领导 {} 位，牵头及落实单位 {} 个，单位分工 {} 处\n",
        plan.tasks.len(),
        distinct(plan.tasks.iter().map(|t| t.leader.as_str())),
        plan.distinct_units().len(),
        plan.assignment_count()
    );
    let owned: Vec<String> = plan
        .owned_kinds()
        .into_iter()
        .filter_map(|k| {
            plan.owner_of(k)
                .map(|t| format!("{}→{}「{}」", k.code(), t.no, t.name))
        })
        .collect();
    out += &format!(
        "有任务负责的问题：{}\n",
        if owned.is_empty() {
            "无".into()
        } else {
            owned.join("、")
        }
    );
    let unowned = plan.unowned_kinds();
    out += &format!(
        "无任务负责、交指挥部的问题：{}\n",
        if unowned.is_empty() {
            "无".into()
        } else {
            unowned
                .iter()
                .map(|k| unowned_label(plan, *k))
                .collect::<Vec<_>>()
                .join("、")
        }
    );
    out
}

/// `INCOME（无劳动能力户）` when only one side of an income gap has an owner.
fn unowned_label(plan: &Plan, k: GapKind) -> String {
    if k != GapKind::Income {
        return k.code().to_string();
    }
    let open = |labor: bool| {
        owner_kinds(GapKind::Income, labor)
            .iter()
            .all(|k| plan.owner_of(*k).is_none())
    };
    match (open(true), open(false)) {
        (true, false) => "INCOME（有劳动能力户）".into(),
        (false, true) => "INCOME（无劳动能力户）".into(),
        _ => "INCOME".into(),
    }
}

fn distinct<'a>(it: impl Iterator<Item = &'a str>) -> usize {
    let mut v: Vec<&str> = it.collect();
    v.sort_unstable();
    v.dedup();
    v.len()
}

fn show(args: &PlanArgs, json: bool) -> Result<ExitCode> {
    let read = match read(args) {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    if json {
        let doc = serde_json::json!({ "plan": read.plan, "warnings": read.warnings });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(ExitCode::SUCCESS);
    }
    let plan = &read.plan;
    println!(
        "{}年度《{}》：{}负总责，{}任指挥长",
        plan.year, plan.name, plan.overall_post, plan.commander_post
    );
    for t in &plan.tasks {
        let units: Vec<String> = t
            .units
            .iter()
            .map(|u| format!("{}（{}）", u.unit, u.owner))
            .collect();
        let owns: Vec<&str> = t.owns.iter().map(|k| k.code()).collect();
        println!(
            "{:>2}. {}｜责任领导：{}｜牵头单位：{}｜落实单位：{}｜完成时限：{}｜负责问题：{}",
            t.no,
            t.name,
            t.leader,
            t.lead_unit,
            units.join("、"),
            if t.deadline.label().is_empty() {
                "未定".into()
            } else {
                t.deadline.label()
            },
            if owns.is_empty() {
                "无".into()
            } else {
                owns.join("、")
            }
        );
    }
    for p in &read.warnings {
        println!("{p}");
    }
    Ok(ExitCode::SUCCESS)
}
