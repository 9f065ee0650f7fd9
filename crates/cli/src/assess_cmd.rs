//! `fupin assess` and `fupin check`.

use crate::output::{self, Report};
use crate::{standards_cmd, RegisterArgs};
use anyhow::{Context, Result};
use fupin_domain::figures::Region;
use fupin_domain::standards::PovertyLine;
use fupin_domain::Fen;
use fupin_io::villages::{match_villages, read_villages, Villages};
use fupin_io::{read_members, FileError, ReadOptions, Register, TextEncoding};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub struct AssessArgs {
    pub line: Option<String>,
    pub place: Option<String>,
    pub standards: Option<PathBuf>,
    pub region: String,
    pub out: PathBuf,
}

/// Exit code for a file-level problem: nothing assessed, nothing written.
const FILE_ERROR: u8 = 2;

fn file_error(e: &FileError) -> ExitCode {
    eprintln!("错误：{e}");
    ExitCode::from(FILE_ERROR)
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("错误：{msg}");
    ExitCode::from(FILE_ERROR)
}

/// A villages file and, for each area of the register, its row in that file.
pub(crate) type MatchedVillages = (Villages, Vec<Option<usize>>);

/// Read the members file (and the villages file) and match their villages.
pub(crate) fn read_inputs(
    args: &RegisterArgs,
) -> Result<(Register, Option<MatchedVillages>), FileError> {
    let encoding = TextEncoding::from_option(&args.encoding).map_err(|m| FileError::NotText {
        path: args.members.clone(),
        what: m,
    })?;
    let opts = ReadOptions {
        year: args.year,
        encoding,
        sheet: args.sheet.clone(),
        threads: args.threads,
        member_texts: false,
        progress: None,
        limits: fupin_io::FileLimits::MEMBERS,
    };
    let register = read_members(&args.members, &opts)?;
    let villages = match &args.villages {
        Some(v) => {
            let villages = read_villages(v, encoding, None)?;
            let matched = match_villages(&register, &villages)?;
            Some((villages, matched))
        }
        None => None,
    };
    Ok((register, villages))
}

/// The line for the run: `--line`, else the standards table for the year and place.
pub(crate) fn resolve_line(args: &AssessArgs, year: i32) -> Result<PovertyLine, String> {
    if let Some(text) = &args.line {
        let amount = Fen::parse_yuan(text.trim())
            .ok()
            .filter(|a| a.fen() > 0)
            .ok_or_else(|| format!("--line「{text}」应为大于0的元数，如 3535"))?;
        return Ok(PovertyLine {
            year,
            place: args.place.clone(),
            amount,
            source: "命令行参数 --line".into(),
            verified: true,
        });
    }
    let standards = standards_cmd::load(args.standards.as_deref()).map_err(|e| e.to_string())?;
    standards
        .lookup(year, args.place.as_deref())
        .cloned()
        .ok_or_else(|| {
            format!("没有 {year} 年的贫困标准：请用 --line 指定，或用 --standards 文件添加（fupin standards 列出已知标准）")
        })
}

pub fn assess(args: &RegisterArgs, a: &AssessArgs) -> Result<ExitCode> {
    let region = match a.region.as_str() {
        "central" | "中部" | "东部" => Region::Central,
        "western" | "西部" => Region::Western,
        other => {
            return Ok(usage_error(&format!(
                "--region「{other}」应为 central（2%）或 western（3%）"
            )))
        }
    };
    let line = match resolve_line(a, args.year) {
        Ok(l) => l,
        Err(m) => return Ok(usage_error(&m)),
    };
    let (register, villages) = match read_inputs(args) {
        Ok(v) => v,
        Err(e) => return Ok(file_error(&e)),
    };
    let input = output::Input {
        register: &register,
        villages: villages.as_ref().map(|(v, m)| (v, m.as_slice())),
        line: &line,
        year: args.year,
        region,
    };
    let tallies = output::assess_and_write(&a.out, &input)
        .with_context(|| format!("写入结果到 {} 失败", a.out.display()))?;
    let report = Report {
        register: &register,
        villages: input.villages,
        tallies: &tallies,
        line: &line,
        year: args.year,
        region,
    };
    print!("{}", output::summary(&report, &a.out));
    // The process ends here: handing the register's millions of allocations back one by
    // one would only delay the exit (a tenth of a second at 10^6 households).
    std::mem::forget(register);
    Ok(ExitCode::SUCCESS)
}

/// `fupin check`: exit 0 with no error-level problems, 1 with some, 2 on a file-level error.
pub fn check(args: &RegisterArgs, out: Option<&Path>) -> Result<ExitCode> {
    let (register, villages) = match read_inputs(args) {
        Ok(v) => v,
        Err(e) => return Ok(file_error(&e)),
    };
    let mut problems = register.problems.clone();
    if let Some((v, _)) = &villages {
        problems.extend(v.problems.iter().cloned());
    }
    for p in &problems {
        println!("{p}");
    }
    let errors = problems.iter().filter(|p| p.code.is_error()).count();
    println!(
        "{}：{} 户，{} 行；错误 {} 个，警告 {} 个",
        register.file,
        register.households.len(),
        register.rows,
        errors,
        problems.len() - errors
    );
    if let Some(dir) = out {
        output::write_problems_only(dir, &problems)
            .with_context(|| format!("写入 {} 失败", dir.display()))?;
    }
    Ok(if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
