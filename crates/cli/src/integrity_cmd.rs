//! `fupin migrate` (with the runtime role's grants on PostgreSQL) and `fupin verify`,
//! which walks the hash chains of the ledger and the audit log (issue 20, item 3; README,
//! "Deployment roles").

use crate::server_cmd::{db_url, open, runtime, DbArgs};
use anyhow::Result;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// PostgreSQL: the role `fupin serve` connects as. It gets SELECT and INSERT only on
    /// the ledger and the audit log, and what it needs elsewhere; it must exist, not own
    /// the schema and not be a superuser. Run as the role that owns the schema; again
    /// after each upgrade.
    #[arg(long, value_name = "ROLE")]
    pub runtime_role: Option<String>,
}

/// `fupin migrate [--runtime-role ROLE]`
pub fn migrate(args: &MigrateArgs) -> Result<ExitCode> {
    let url = db_url(&args.db)?;
    runtime()?.block_on(async {
        let store = open(&url).await?;
        println!("数据库结构已是最新（{}）", store.backend());
        if let Some(role) = &args.runtime_role {
            store.grant_runtime_role(role).await?;
            println!(
                "已授权运行角色 {role}：资金台账和审计日志只能读取和追加，不能修改、删除或停用触发器"
            );
        }
        store.close().await;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `fupin verify`: exit 0 with the count of each chain and its head hash when both hold;
/// exit 1 with the first broken link of each chain (table, id, what differs) when not.
pub fn verify(args: &DbArgs) -> Result<ExitCode> {
    let url = db_url(args)?;
    let report = runtime()?.block_on(async {
        let store = open(&url).await?;
        let report = store.audit_log().verify_chains().await?;
        store.close().await;
        Ok::<_, anyhow::Error>(report)
    })?;
    if report.broken.is_empty() {
        println!(
            "链完整：fund_entries {} 条，audit_log {} 条",
            report.fund_entries, report.audit_log
        );
        println!("fund_entries 链头：{}", report.fund_head);
        println!("audit_log 链头：{}", report.audit_head);
        println!("（请把两个链头记在数据库之外，例如月报中：日后可据此核对链未被整体重写）");
        Ok(ExitCode::SUCCESS)
    } else {
        for b in &report.broken {
            eprintln!("链断开：{} id {}：{}", b.table, b.id, b.what);
        }
        eprintln!(
            "之前完好：fund_entries {} 条，audit_log {} 条",
            report.fund_entries, report.audit_log
        );
        Ok(ExitCode::from(1))
    }
}
