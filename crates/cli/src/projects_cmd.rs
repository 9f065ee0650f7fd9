//! `fupin projects` and `fupin funds`: check and import the project library (项目库), record
//! disbursements and reversals in the append-only ledger (资金拨付台账), and print the
//! disbursement figures (docs `projects-and-funds.md`).
//!
//! Exit codes follow `fupin check`: 0 accepted, 1 refused (errors listed, nothing stored),
//! 2 when the file cannot be read as a table or lacks a required column.

use crate::refused;
use crate::server_cmd::{db_url, open, runtime, DbArgs};
use anyhow::{anyhow, bail, Result};
use chrono::NaiveDate;
use fupin_domain::access::{may, Action};
use fupin_domain::funds::{EntryId, EntryKind, FundSource, Override};
use fupin_domain::plan::Deadline;
use fupin_domain::Fen;
use fupin_io::funds_file::{read_beneficiaries, read_disbursements};
use fupin_io::projects_file::{read_projects, ProjectsFile};
use fupin_io::TextEncoding;
use fupin_store::{FundEntry, FundsBy, ItemScope, NewFundEntry, ProjectId, Store, User};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Clone, Debug)]
pub struct ProjectsFileArgs {
    /// Project library (CSV in UTF-8/GBK/GB18030, or XLSX: the first sheet).
    pub file: PathBuf,
    /// Text encoding of a CSV file: auto, utf-8, gbk, gb18030.
    #[arg(long, default_value = "auto")]
    pub encoding: String,
}

#[derive(clap::Subcommand)]
pub enum ProjectsCommand {
    /// Check a project library file: list every problem, or summarise the projects.
    Check(ProjectsFileArgs),
    /// Import a project library (all or nothing): new projects are created, changed ones
    /// get a new revision with the before and after in the audit log.
    Import {
        #[command(flatten)]
        file: ProjectsFileArgs,
        #[command(flatten)]
        db: DbArgs,
        /// The account that imports (a headquarters admin).
        #[arg(long)]
        user: String,
    },
}

/// The account acting on the ledger and where it is.
#[derive(clap::Args, Debug)]
pub struct Acting {
    #[command(flatten)]
    pub db: DbArgs,
    /// The account that records (headquarters, or staff of the project's unit).
    #[arg(long)]
    pub user: String,
}

#[derive(clap::Subcommand)]
pub enum FundsCommand {
    /// Record a disbursement (拨付) of a project.
    Add {
        /// The project's number (as `fupin funds figures --by project` shows).
        #[arg(long)]
        project: ProjectId,
        /// 拨付日期: 2018-04-01.
        #[arg(long)]
        date: String,
        /// 资金来源: 中央、省级、市级、县级、统筹整合涉农资金、社会帮扶、信贷 (or central …).
        #[arg(long)]
        source: String,
        /// Amount in yuan, at most two decimals.
        #[arg(long)]
        amount: String,
        /// 凭证号.
        #[arg(long)]
        voucher: String,
        /// 收款单位/人.
        #[arg(long)]
        payee: String,
        #[arg(long, default_value = "")]
        note: String,
        /// Record it even over the source's budget (headquarters only), with this reason.
        #[arg(long = "override")]
        override_reason: Option<String>,
        #[command(flatten)]
        acting: Acting,
    },
    /// Reverse (冲销) an earlier disbursement, in full or in part: the only correction.
    Reverse {
        /// The number of the entry to reverse.
        entry: EntryId,
        #[arg(long)]
        project: ProjectId,
        #[arg(long)]
        date: String,
        /// Amount in yuan (default: all that is left of the entry).
        #[arg(long)]
        amount: Option<String>,
        #[arg(long)]
        voucher: String,
        /// Why (required: a reversal corrects a mistake).
        #[arg(long)]
        note: String,
        #[command(flatten)]
        acting: Acting,
    },
    /// Record a disbursement file (资金拨付明细: 年度, 项目名称, 拨付日期, 资金来源, 金额,
    /// 凭证号, 收款单位, 备注), all or nothing; over-budget rows are refused.
    Import {
        #[command(flatten)]
        file: ProjectsFileArgs,
        #[command(flatten)]
        acting: Acting,
    },
    /// Record a beneficiaries file (带贫户名单: 年度, 项目名称, 户编号, 带贫方式, 年收益),
    /// all or nothing.
    Beneficiaries {
        #[command(flatten)]
        file: ProjectsFileArgs,
        #[command(flatten)]
        acting: Acting,
    },
    /// Disbursement figures in the account's scope: by project, source, task, unit,
    /// township or month.
    Figures {
        #[arg(long, default_value = "project")]
        by: String,
        #[command(flatten)]
        acting: Acting,
    },
}

fn encoding(text: &str) -> Result<Option<TextEncoding>, ExitCode> {
    TextEncoding::from_option(text).map_err(|msg| {
        eprintln!("错误：{msg}");
        ExitCode::from(2)
    })
}

/// Read a project library as the command line describes it; on failure every problem
/// has been printed and the exit code is returned.
fn read(args: &ProjectsFileArgs) -> Result<ProjectsFile, ExitCode> {
    refused::with_counts(read_projects(&args.file, encoding(&args.encoding)?))
}

pub fn projects(cmd: &ProjectsCommand) -> Result<ExitCode> {
    match cmd {
        ProjectsCommand::Check(args) => {
            let f = match read(args) {
                Ok(f) => f,
                Err(code) => return Ok(code),
            };
            for p in &f.warnings {
                println!("{p}");
            }
            let budget: Fen = f.projects.iter().map(|(_, p)| p.budget.total()).sum();
            println!(
                "{}（{}）：项目库可以导入；错误 0 个，警告 {} 个",
                args.file.display(),
                f.format,
                f.warnings.len()
            );
            println!(
                "项目 {} 个，预算合计 {} 元",
                f.projects.len(),
                budget.grouped()
            );
            for s in FundSource::ALL {
                let sum: Fen = f.projects.iter().map(|(_, p)| p.budget.get(*s)).sum();
                if sum > Fen::ZERO {
                    println!("  {}：{} 元", s.chinese(), sum.grouped());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ProjectsCommand::Import { file, db, user } => {
            let url = db_url(db)?;
            let f = match read(file) {
                Ok(f) => f,
                Err(code) => return Ok(code),
            };
            for p in &f.warnings {
                println!("{p}");
            }
            let name = file.file.display().to_string();
            runtime()?.block_on(async {
                let store = open(&url).await?;
                let account = account(&store, user).await?;
                if may(account.role.actor(None), Action::Administer).is_err() {
                    bail!(
                        "用户「{}」是{}，只有指挥部管理员（hq_admin）可以导入项目库",
                        account.username,
                        account.role.chinese()
                    );
                }
                let code = match store
                    .funds()
                    .import_projects(&name, &f.projects, Some(account.id))
                    .await?
                {
                    Ok(r) => {
                        refused::print_rows(&name, &r.warnings);
                        println!(
                            "已导入「{name}」：新增项目 {} 个，修改 {} 个，未变 {} 个",
                            r.created, r.updated, r.unchanged
                        );
                        ExitCode::SUCCESS
                    }
                    Err(rows) => {
                        let errors = refused::print_rows(&name, &rows);
                        println!(
                            "{name}：项目库有 {errors} 个错误，整个文件未导入（改正后重新提交）"
                        );
                        ExitCode::from(1)
                    }
                };
                store.close().await;
                Ok(code)
            })
        }
    }
}

fn encoding_or(text: &str) -> Result<Option<TextEncoding>> {
    TextEncoding::from_option(text).map_err(|msg| anyhow!("{msg}"))
}

async fn account(store: &Store, user: &str) -> Result<User> {
    store
        .accounts()
        .users()
        .await?
        .into_iter()
        .find(|u| u.username == user && u.disabled_at.is_none())
        .ok_or_else(|| anyhow!("没有用户「{user}」（或已停用）：先用 fupin user add 创建"))
}

fn date(text: &str) -> Result<NaiveDate> {
    Deadline::parse(text)
        .ok()
        .and_then(Deadline::date)
        .ok_or_else(|| anyhow!("日期「{text}」应为 2018-04-01、2018/4/1 或 2018年4月1日"))
}

fn amount(text: &str) -> Result<Fen> {
    Fen::parse_yuan(text.trim()).map_err(|e| anyhow!("金额「{text}」有误：{e}"))
}

pub fn funds(cmd: &FundsCommand) -> Result<ExitCode> {
    let acting = match cmd {
        FundsCommand::Add { acting, .. }
        | FundsCommand::Reverse { acting, .. }
        | FundsCommand::Import { acting, .. }
        | FundsCommand::Beneficiaries { acting, .. }
        | FundsCommand::Figures { acting, .. } => acting,
    };
    let url = db_url(&acting.db)?;
    // Files are read before the database is opened: a file with errors touches nothing.
    let read = match cmd {
        FundsCommand::Import { file, .. } => {
            match refused::with_summary(read_disbursements(
                &file.file,
                encoding_or(&file.encoding)?,
            )) {
                Ok((rows, warnings)) => Some((file, Ok(rows), warnings)),
                Err(code) => return Ok(code),
            }
        }
        FundsCommand::Beneficiaries { file, .. } => {
            match refused::with_summary(read_beneficiaries(
                &file.file,
                encoding_or(&file.encoding)?,
            )) {
                Ok((rows, warnings)) => Some((file, Err(rows), warnings)),
                Err(code) => return Ok(code),
            }
        }
        _ => None,
    };
    runtime()?.block_on(async {
        if let Some((file, rows, warnings)) = read {
            for p in &warnings {
                println!("{p}");
            }
            let store = open(&url).await?;
            let user = account(&store, &acting.user).await?;
            let name = file.file.display().to_string();
            let (done, what) = match &rows {
                Ok(rows) => (
                    store
                        .funds()
                        .import_disbursements(&user, &name, rows)
                        .await?,
                    "拨付记录",
                ),
                Err(rows) => (
                    store
                        .funds()
                        .import_beneficiaries(&user, &name, rows)
                        .await?,
                    "带贫户记录",
                ),
            };
            store.close().await;
            return Ok(match done {
                Ok(n) => {
                    println!("已登记「{name}」中的 {n} 条{what}");
                    ExitCode::SUCCESS
                }
                Err(rows) => {
                    let errors = refused::print_rows(&name, &rows);
                    println!("{name}：有 {errors} 个错误，整个文件未登记（改正后重新提交）");
                    ExitCode::from(1)
                }
            });
        }
        let store = open(&url).await?;
        let user = account(&store, &acting.user).await?;
        let code = run_funds(&store, &user, cmd).await;
        store.close().await;
        code
    })
}

async fn run_funds(store: &Store, user: &User, cmd: &FundsCommand) -> Result<ExitCode> {
    let (project, kind, entry, over) = match cmd {
        FundsCommand::Add {
            project,
            date: d,
            source,
            amount: a,
            voucher,
            payee,
            note,
            override_reason,
            ..
        } => (
            *project,
            EntryKind::Disbursement,
            NewFundEntry {
                date: date(d)?,
                source: source.parse::<FundSource>()?,
                amount: amount(a)?,
                voucher: voucher.clone(),
                payee: payee.clone(),
                note: note.clone(),
            },
            override_reason.clone().map(|reason| Override { reason }),
        ),
        FundsCommand::Reverse {
            entry,
            project,
            date: d,
            amount: a,
            voucher,
            note,
            ..
        } => {
            if note.trim().is_empty() {
                bail!("冲销须在 --note 中写明原因");
            }
            let ledger = store
                .funds()
                .fund_entries(&ItemScope::of(&user.role), *project)
                .await?;
            let Some(target) = ledger.iter().find(|e| e.id == *entry) else {
                bail!("项目 {project} 没有编号为 {entry} 的拨付记录（或不在您的范围内）");
            };
            let left = fupin_domain::funds::unreversed(
                &ledger.iter().map(FundEntry::ledger).collect::<Vec<_>>(),
                *entry,
            )
            .unwrap_or(Fen::ZERO);
            (
                *project,
                EntryKind::Reversal { of: *entry },
                NewFundEntry {
                    date: date(d)?,
                    source: target.source,
                    amount: match a {
                        Some(a) => amount(a)?,
                        None => left,
                    },
                    voucher: voucher.clone(),
                    payee: target.payee.clone(),
                    note: note.clone(),
                },
                None,
            )
        }
        FundsCommand::Import { .. } | FundsCommand::Beneficiaries { .. } => {
            unreachable!("files are recorded before")
        }
        FundsCommand::Figures { by, .. } => {
            let by: FundsBy = by.parse()?;
            let rows = store
                .funds()
                .fund_figures(&ItemScope::of(&user.role), by)
                .await?;
            println!("分组\t名称\t项目数\t预算（元）\t已拨付（元）\t本期（元）\t拨付率");
            for r in rows {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    r.key,
                    r.label,
                    r.projects,
                    r.budget.plain(),
                    r.disbursed.plain(),
                    r.in_period.plain(),
                    r.rate.map_or("—".into(), |r| format!("{}%", r.percent()))
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
    };
    match store
        .funds()
        .add_fund_entry(user, project, kind, &entry, over.as_ref())
        .await?
    {
        Ok(e) => {
            let what = match e.kind {
                EntryKind::Disbursement => "拨付".to_string(),
                EntryKind::Reversal { of } => format!("冲销（冲销记录 {of}）"),
            };
            println!(
                "已登记{what}记录 {}：项目 {project}，{}资金 {} 元，凭证号 {}{}",
                e.id,
                e.source.chinese(),
                e.amount.grouped(),
                e.voucher,
                e.override_reason
                    .map_or(String::new(), |r| format!("；超预算拨付，理由：{r}"))
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(refusal) => {
            println!("未登记：{refusal}");
            Ok(ExitCode::from(1))
        }
    }
}
