//! A user's poverty-line file: lines per year and place that override or add to the
//! built-in national lines (registry spec §5).
//!
//! Columns: 年度 (year), 地区 (place: empty for national, a name or a 6-digit
//! administrative code), 标准 (yuan per person per year), 来源 (source, required),
//! 是否核实 (verified, optional, default 是).

use crate::error::FileError;
use crate::members::check_header;
use crate::rows::Cells;
use crate::table::read_table;
use fupin_domain::fields::{trim_cell, HeaderMap};
use fupin_domain::problem::{Problem, ProblemCode};
use fupin_domain::standards::{PovertyLine, Standards};
use fupin_domain::values::parse_bool;
use fupin_domain::Fen;
use std::path::Path;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Col {
    Year,
    Place,
    Amount,
    Source,
    Verified,
}

impl Col {
    const ALL: [Col; 5] = [
        Col::Year,
        Col::Place,
        Col::Amount,
        Col::Source,
        Col::Verified,
    ];
    fn chinese(self) -> &'static str {
        ["年度", "地区", "标准", "来源", "是否核实"][self as usize]
    }
    fn alias(self) -> &'static str {
        ["year", "place", "line", "source", "verified"][self as usize]
    }
}

/// Read a standards file and add its lines to `standards`.
pub fn read_standards(path: &Path, standards: &mut Standards) -> Result<usize, FileError> {
    let table = read_table(
        path,
        None,
        None,
        &crate::limits::Limits::default().standards,
    )?;
    let file: Arc<str> = path.display().to_string().into();
    let find = |c: Col| {
        table.header.iter().position(|h| {
            let h = trim_cell(h);
            h == c.chinese() || h.eq_ignore_ascii_case(c.alias())
        })
    };
    let pos: Vec<Option<usize>> = Col::ALL.iter().map(|&c| find(c)).collect();
    let known: Vec<&str> = Col::ALL.iter().map(|c| c.chinese()).collect();
    let mut map = HeaderMap::<fupin_domain::fields::VillageField>::new(std::iter::empty());
    map.unknown = table
        .header
        .iter()
        .map(|h| trim_cell(h))
        .filter(|h| {
            !h.is_empty()
                && !known.contains(h)
                && !Col::ALL.iter().any(|c| c.alias().eq_ignore_ascii_case(h))
        })
        .map(str::to_string)
        .collect();
    let missing: Vec<Col> = [Col::Year, Col::Amount, Col::Source]
        .into_iter()
        .filter(|c| pos[*c as usize].is_none())
        .collect();
    check_header(path, &file, &map, |_| "", Vec::new())?;
    let mut problems: Vec<Problem> = missing
        .iter()
        .map(|c| {
            Problem::new(
                &file,
                1,
                c.chinese(),
                ProblemCode::E101,
                format!(
                    "缺少必填列「{}」（列：年度、地区、标准、来源、是否核实）",
                    c.chinese()
                ),
                "",
            )
        })
        .collect();
    let mut lines = Vec::new();
    if problems.is_empty() {
        for row in &table.rows {
            let get = |c: Col| {
                pos[c as usize]
                    .and_then(|p| row.get(p))
                    .map_or("", trim_cell)
            };
            let mut bad = |c: Col, code: ProblemCode, msg: String, v: &str| {
                problems.push(Problem::new(&file, row.line, c.chinese(), code, msg, v));
            };
            let year = get(Col::Year);
            let year_ok = year
                .parse::<i32>()
                .ok()
                .filter(|y| (1978..=2100).contains(y));
            if year_ok.is_none() {
                bad(
                    Col::Year,
                    ProblemCode::E103,
                    format!("年度「{year}」应为四位年份，如 2018"),
                    year,
                );
            }
            let amount = get(Col::Amount);
            let amount_ok = Fen::parse_yuan(amount).ok().filter(|a| a.fen() > 0);
            if amount_ok.is_none() {
                bad(
                    Col::Amount,
                    ProblemCode::E104,
                    format!("标准「{amount}」应为大于0的元数，如 3535"),
                    amount,
                );
            }
            let source = get(Col::Source);
            if source.is_empty() {
                bad(
                    Col::Source,
                    ProblemCode::E102,
                    "「来源」不能为空：请写明文件或口径".into(),
                    "",
                );
            }
            let verified_text = get(Col::Verified);
            let verified = if verified_text.is_empty() {
                Some(true)
            } else {
                parse_bool(verified_text)
            };
            if verified.is_none() {
                bad(
                    Col::Verified,
                    ProblemCode::E103,
                    format!("是否核实「{verified_text}」应为 是/否"),
                    verified_text,
                );
            }
            if let (Some(year), Some(amount), Some(verified), false) =
                (year_ok, amount_ok, verified, source.is_empty())
            {
                let place = get(Col::Place);
                lines.push(PovertyLine {
                    year,
                    place: (!place.is_empty()).then(|| place.to_string()),
                    amount,
                    source: format!("{source}（{}）", path.display()),
                    verified,
                });
            }
        }
    }
    if !problems.is_empty() {
        return Err(FileError::Problems {
            summary: format!("{}：贫困标准文件有错误", path.display()),
            problems,
        });
    }
    let n = lines.len();
    for l in lines {
        standards.set(l);
    }
    Ok(n)
}
