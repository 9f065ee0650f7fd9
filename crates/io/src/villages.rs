//! The villages file (registry spec §1.2): population and conditions per village. Any
//! error in it stops the run, since incidences cannot be computed from a wrong population.

use crate::encoding::TextEncoding;
use crate::error::FileError;
use crate::limits::{FileLimits, Limits};
use crate::members::check_header;
use crate::merge::{Area, Register};
use crate::rows::Cells;
use crate::table::read_table;
use fupin_domain::fields::{trim_cell, HeaderMap, VillageField};
use fupin_domain::figures::VillageConditions;
use fupin_domain::problem::{Problem, ProblemCode};
use fupin_domain::values::{parse_bool, BOOL_ALLOWED};
use fupin_domain::Fen;
use rustc_hash::FxHashMap;
use std::path::Path;
use std::sync::Arc;

/// One administrative village.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VillageRecord {
    pub line: u64,
    pub area: Area,
    /// Rural registered population (户籍人口).
    pub population: u64,
    pub poor_village: Option<bool>,
    pub conditions: VillageConditions,
    pub collective_income: Option<Fen>,
}

#[derive(Clone, Debug)]
pub struct Villages {
    pub file: Arc<str>,
    pub list: Vec<VillageRecord>,
    /// Warnings (W205).
    pub problems: Vec<Problem>,
}

/// Read and check a villages file within the default limits; every error is listed in
/// the returned error.
pub fn read_villages(
    path: &Path,
    encoding: Option<TextEncoding>,
    sheet: Option<&str>,
) -> Result<Villages, FileError> {
    read_villages_within(path, encoding, sheet, &Limits::default().villages)
}

/// [`read_villages`] within `limits`.
pub fn read_villages_within(
    path: &Path,
    encoding: Option<TextEncoding>,
    sheet: Option<&str>,
    limits: &FileLimits,
) -> Result<Villages, FileError> {
    let table = read_table(path, encoding, sheet, limits)?;
    let file: Arc<str> = path.display().to_string().into();
    let map = HeaderMap::<VillageField>::new(table.header.iter().map(String::as_str));
    let warnings = check_header(
        path,
        &file,
        &map,
        VillageField::chinese,
        map.missing_required(),
    )?;
    let mut problems = Vec::new();
    let mut list: Vec<VillageRecord> = Vec::new();
    let mut seen: FxHashMap<Area, u64> = FxHashMap::default();
    for row in &table.rows {
        let get = |f: VillageField| {
            map.position(f)
                .and_then(|p| row.get(p))
                .map_or("", trim_cell)
        };
        let mut problem = |f: VillageField, code: ProblemCode, msg: String, value: &str| {
            problems.push(Problem::new(&file, row.line, f.chinese(), code, msg, value));
        };
        let mut required = |f: VillageField| {
            let v = get(f);
            if v.is_empty() {
                problem(
                    f,
                    ProblemCode::E102,
                    format!("「{}」不能为空", f.chinese()),
                    "",
                );
            }
            v
        };
        let township = required(VillageField::Township);
        let village = required(VillageField::Village);
        let pop_text = required(VillageField::Population);
        let population = match pop_text.replace(',', "").parse::<u64>() {
            Ok(n) if n > 0 => n,
            _ if pop_text.is_empty() => 0,
            _ => {
                problem(
                    VillageField::Population,
                    ProblemCode::E103,
                    format!("户籍人口「{pop_text}」应为大于0的整数"),
                    pop_text,
                );
                0
            }
        };
        let mut flag = |f: VillageField| -> Option<bool> {
            let v = get(f);
            if v.is_empty() {
                return None;
            }
            let parsed = parse_bool(v);
            if parsed.is_none() {
                problem(
                    f,
                    ProblemCode::E103,
                    format!(
                        "「{}」的值「{v}」不在允许范围内，可填：{BOOL_ALLOWED}",
                        f.chinese()
                    ),
                    v,
                );
            }
            parsed
        };
        let poor_village = flag(VillageField::PoorVillage);
        let conditions = VillageConditions {
            road: flag(VillageField::Road),
            power: flag(VillageField::Power),
            broadband: flag(VillageField::Broadband),
            clinic: flag(VillageField::Clinic),
        };
        let income_text = get(VillageField::CollectiveIncome);
        let collective_income = if income_text.is_empty() {
            None
        } else {
            match Fen::parse_yuan(income_text) {
                Ok(v) => Some(v),
                Err(e) => {
                    problem(
                        VillageField::CollectiveIncome,
                        ProblemCode::E104,
                        format!("村集体经济收入「{income_text}」不是有效金额：{e}"),
                        income_text,
                    );
                    None
                }
            }
        };
        let area = Area {
            township: township.into(),
            village: village.into(),
        };
        if !township.is_empty() && !village.is_empty() {
            if let Some(first) = seen.get(&area) {
                problem(
                    VillageField::Village,
                    ProblemCode::E103,
                    format!("{township}{village}在村级名册中重复（第{first}行已有）：每个行政村只能有一行"),
                    village,
                );
            } else {
                seen.insert(area.clone(), row.line);
            }
        }
        list.push(VillageRecord {
            line: row.line,
            area,
            population,
            poor_village,
            conditions,
            collective_income,
        });
    }
    if !problems.is_empty() {
        return Err(FileError::Problems {
            summary: format!("{}：村级名册有错误，未做评估", path.display()),
            problems,
        });
    }
    Ok(Villages {
        file,
        list,
        problems: warnings,
    })
}

/// For each area of the register, its village record; E110 for every village of the
/// members file that the villages file lacks (at the first row that names it).
pub fn match_villages(
    register: &Register,
    villages: &Villages,
) -> Result<Vec<Option<usize>>, FileError> {
    let index: FxHashMap<&Area, usize> = villages
        .list
        .iter()
        .enumerate()
        .map(|(i, v)| (&v.area, i))
        .collect();
    let mut first_line = vec![u64::MAX; register.areas.len()];
    for h in &register.households {
        let l = &mut first_line[h.area as usize];
        *l = (*l).min(h.first_line);
    }
    let mut out = Vec::with_capacity(register.areas.len());
    let mut problems = Vec::new();
    for (i, area) in register.areas.iter().enumerate() {
        let found = index.get(area).copied();
        // A row with no township or village already has E102; it is not placed.
        if found.is_none() && !area.township.is_empty() && !area.village.is_empty() {
            problems.push(Problem::new(
                &register.file,
                first_line[i],
                "行政村",
                ProblemCode::E110,
                format!(
                    "{}{}不在村级名册 {} 中：请在村级名册中补上该村（乡镇、行政村、户籍人口），或更正本行的乡镇/行政村名称",
                    area.township, area.village, villages.file
                ),
                format!("{}/{}", area.township, area.village),
            ));
        }
        out.push(found);
    }
    if !problems.is_empty() {
        return Err(FileError::Problems {
            summary: format!("{}：有行政村不在村级名册中，未做评估", register.file),
            problems,
        });
    }
    Ok(out)
}
