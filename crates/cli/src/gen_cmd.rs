//! `fupin gen`: a synthetic county register; `fupin demo`: one the size of the seed county,
//! assessed.

use crate::server_cmd::DemoArgs;
use anyhow::{Context, Result};
use fupin_gen::{generate, Encoding, Format, GenOptions, GenSummary};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct GenArgs {
    /// Number of households.
    #[arg(long)]
    pub households: u64,
    /// Seed: the same seed and options give the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Share of households given one error-level problem (0–1).
    #[arg(long, default_value_t = 0.01)]
    pub error_rate: f64,
    /// File format: csv or xlsx.
    #[arg(long, default_value = "csv")]
    pub format: String,
    /// Text encoding of CSV files: utf-8 or gbk.
    #[arg(long, default_value = "utf-8")]
    pub encoding: String,
    /// Year the register is for (ages, incomes around that year's line).
    #[arg(long, default_value_t = 2018)]
    pub year: i32,
    /// Output folder for the members and villages files.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn options(args: &GenArgs) -> Result<GenOptions, String> {
    Ok(GenOptions {
        households: args.households,
        seed: args.seed,
        error_rate: args.error_rate,
        format: Format::parse(&args.format)
            .ok_or_else(|| format!("--format「{}」应为 csv 或 xlsx", args.format))?,
        encoding: Encoding::parse(&args.encoding)
            .ok_or_else(|| format!("--encoding「{}」应为 utf-8 或 gbk", args.encoding))?,
        year: args.year,
    })
}

fn describe(s: &GenSummary) -> String {
    format!(
        "已生成虚拟登记表：{} 户 {} 人，{} 个乡镇 {} 个行政村；注入数据错误 {} 户、警告 {} 户\n  成员表：{}\n  村级名册：{}",
        s.households,
        s.members,
        s.townships,
        s.villages,
        s.injected_errors,
        s.injected_warnings,
        s.members_path.display(),
        s.villages_path.display()
    )
}

pub fn run(args: &GenArgs) -> Result<ExitCode> {
    let opts = match options(args) {
        Ok(o) => o,
        Err(m) => {
            eprintln!("错误：{m}");
            return Ok(ExitCode::from(2));
        }
    };
    let summary = generate(&opts, &args.out)
        .with_context(|| format!("生成到 {} 失败", args.out.display()))?;
    println!("{}", describe(&summary));
    Ok(ExitCode::SUCCESS)
}

/// The seed county's size: about 20,000 registered households.
const DEMO_HOUSEHOLDS: u64 = 20_000;

/// The demo register's members and villages files in `dir/register`, generated unless
/// already there.
pub fn ensure_demo_register(dir: &Path) -> Result<(PathBuf, PathBuf)> {
    let data = dir.join("register");
    let members = data.join("members.csv");
    let villages = data.join("villages.csv");
    if members.exists() && villages.exists() {
        println!("使用已有的虚拟登记表 {}", data.display());
    } else {
        let opts = GenOptions {
            households: DEMO_HOUSEHOLDS,
            seed: 140930,
            ..GenOptions::default()
        };
        let summary =
            generate(&opts, &data).with_context(|| format!("生成到 {} 失败", data.display()))?;
        println!("{}", describe(&summary));
    }
    Ok((members, villages))
}

/// `fupin demo --assess-only`: generate a county register (unless already there) and
/// assess it for 2018.
pub fn demo(args: &DemoArgs) -> Result<ExitCode> {
    let (members, villages) = ensure_demo_register(&args.dir)?;
    let register = crate::RegisterArgs {
        members,
        villages: Some(villages),
        year: 2018,
        encoding: "auto".into(),
        sheet: None,
        threads: 0,
    };
    let assess = crate::assess_cmd::AssessArgs {
        line: None,
        place: None,
        standards: None,
        region: "central".into(),
        out: args.dir.join("result"),
    };
    println!();
    crate::assess_cmd::assess(&register, &assess)
}
