//! The seven exit criteria for a household (registry spec §2; 2016 《关于建立贫困退出机制
//! 的意见》: income above the line, 两不愁三保障, and safe water).

use crate::household::Household;
use crate::id_number::age_on;
use crate::money::Fen;
use crate::values::{bool_label, Relocation, Renovation, Schooling};
use chrono::NaiveDate;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Criterion {
    Income,
    Food,
    Clothing,
    Education,
    Medical,
    Housing,
    Water,
}

impl Criterion {
    /// In the spec's order; failed criteria are always listed in this order.
    pub const ALL: [Criterion; 7] = [
        Criterion::Income,
        Criterion::Food,
        Criterion::Clothing,
        Criterion::Education,
        Criterion::Medical,
        Criterion::Housing,
        Criterion::Water,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Criterion::Income => "INCOME",
            Criterion::Food => "FOOD",
            Criterion::Clothing => "CLOTHING",
            Criterion::Education => "EDUCATION",
            Criterion::Medical => "MEDICAL",
            Criterion::Housing => "HOUSING",
            Criterion::Water => "WATER",
        }
    }

    pub fn chinese(self) -> &'static str {
        match self {
            Criterion::Income => "收入稳定超过现行标准",
            Criterion::Food => "不愁吃",
            Criterion::Clothing => "不愁穿",
            Criterion::Education => "义务教育有保障",
            Criterion::Medical => "基本医疗有保障",
            Criterion::Housing => "住房安全有保障",
            Criterion::Water => "饮水安全有保障",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of criteria, iterated in the spec's order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CriteriaSet(u8);

impl CriteriaSet {
    pub fn insert(&mut self, c: Criterion) {
        self.0 |= c.bit();
    }
    pub fn contains(self, c: Criterion) -> bool {
        self.0 & c.bit() != 0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }
    pub fn iter(self) -> impl Iterator<Item = Criterion> {
        Criterion::ALL
            .into_iter()
            .filter(move |c| self.contains(*c))
    }
    /// Codes joined by `sep`: `INCOME、HOUSING`.
    pub fn codes(self, sep: &str) -> String {
        self.iter()
            .map(Criterion::code)
            .collect::<Vec<_>>()
            .join(sep)
    }
}

/// What a household is judged on, taken from a household without errors.
pub struct Facts<'a> {
    pub household: &'a Household,
    /// The poverty line per person per year.
    pub line: Fen,
    /// 1 September of the assessment year.
    pub age_day: NaiveDate,
}

/// INCOME (收入稳定超过现行标准): net income > line × members, exactly, in fen.
pub fn income(net: Fen, members: u32, line: Fen) -> Result<(), String> {
    let n = i64::from(members);
    if net.fen() > line.fen() * n {
        Ok(())
    } else {
        Err(format!(
            "人均纯收入 {} 元 ≤ 标准 {} 元",
            net.per_capita(members).grouped(),
            line.grouped_short()
        ))
    }
}

/// FOOD (不愁吃): food_secure = 是.
pub fn food(secure: bool) -> Result<(), String> {
    yes_or(secure, "不愁吃")
}

/// CLOTHING (不愁穿): clothing_secure = 是.
pub fn clothing(secure: bool) -> Result<(), String> {
    yes_or(secure, "不愁穿")
}

/// WATER (饮水安全有保障): safe_water = 是.
pub fn water(safe: bool) -> Result<(), String> {
    yes_or(safe, "饮水安全")
}

fn yes_or(v: bool, what: &str) -> Result<(), String> {
    if v {
        Ok(())
    } else {
        Err(format!("{what}：{}", bool_label(v)))
    }
}

/// EDUCATION (义务教育有保障): every member aged 6–15 inclusive on 1 September is enrolled
/// (送教上门 counts) or is 因身体原因不具备学习条件.
pub fn education(f: &Facts<'_>) -> Result<(), String> {
    let mut out = Vec::new();
    for m in &f.household.members {
        let (Some(birth), Some(s)) = (m.birth, m.schooling) else {
            continue;
        };
        let age = age_on(birth, f.age_day);
        if (6..=15).contains(&age) && !s.is_enrolled() && s != Schooling::UnfitForStudy {
            out.push(format!(
                "第{}行成员{}岁，在校生状况为「{}」",
                m.line,
                age,
                s.label()
            ));
        }
    }
    join_failures("义务教育阶段未在校：", out)
}

/// MEDICAL (基本医疗有保障): every member has basic medical insurance or is active military.
pub fn medical(f: &Facts<'_>) -> Result<(), String> {
    let out: Vec<String> = f
        .household
        .members
        .iter()
        .filter(|m| m.medical_insurance != Some(true) && !m.active_military)
        .map(|m| format!("第{}行成员", m.line))
        .collect();
    join_failures("未参加基本医疗保险：", out)
}

/// HOUSING (住房安全有保障): grade A or B; or C/D made safe by 危房改造 (已竣工) or left by
/// 易地扶贫搬迁 (已搬迁入住).
pub fn housing(f: &Facts<'_>) -> Result<(), String> {
    let v = &f.household.values;
    let (Some(grade), renovation, relocation) = (
        v.housing_grade.value(),
        v.renovation.value().unwrap_or(Renovation::None),
        v.relocation.value().unwrap_or(Relocation::No),
    ) else {
        return Err("住房安全等级未知".into());
    };
    if grade.is_safe() || renovation == Renovation::Done || relocation == Relocation::MovedIn {
        Ok(())
    } else {
        Err(format!(
            "住房安全等级 {}（危房），危房改造「{}」，易地扶贫搬迁「{}」",
            grade.label(),
            renovation.label(),
            relocation.label()
        ))
    }
}

fn join_failures(head: &str, items: Vec<String>) -> Result<(), String> {
    if items.is_empty() {
        Ok(())
    } else {
        Err(format!("{head}{}", items.join("，")))
    }
}
