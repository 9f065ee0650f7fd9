//! The verdict on one household (registry spec §2).

use crate::criteria::{self, CriteriaSet, Criterion, Facts};
use crate::household::Household;
use crate::money::Fen;
use crate::values::PovertyStatus;
use chrono::NaiveDate;
use serde::Serialize;

/// The five verdicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// 未脱贫 and all seven criteria pass: 达到退出标准.
    Ready,
    /// 未脱贫 and some criterion fails: 未达退出标准.
    NotReady,
    /// 已脱贫 and all seven pass: 稳定脱贫.
    Stable,
    /// 已脱贫 and some criterion fails: 疑似错退.
    WrongExit,
    /// Any error-level problem on its rows: 数据有误, not assessed further.
    DataError,
}

impl Verdict {
    pub const ALL: [Verdict; 5] = [
        Verdict::Ready,
        Verdict::NotReady,
        Verdict::Stable,
        Verdict::WrongExit,
        Verdict::DataError,
    ];

    /// The verdict its word names (`not_ready`), as stored.
    pub fn of_word(word: &str) -> Option<Verdict> {
        Verdict::ALL.into_iter().find(|v| v.word() == word)
    }

    pub fn word(self) -> &'static str {
        match self {
            Verdict::Ready => "ready",
            Verdict::NotReady => "not_ready",
            Verdict::Stable => "stable",
            Verdict::WrongExit => "wrong_exit",
            Verdict::DataError => "data_error",
        }
    }

    pub fn chinese(self) -> &'static str {
        match self {
            Verdict::Ready => "达到退出标准",
            Verdict::NotReady => "未达退出标准",
            Verdict::Stable => "稳定脱贫",
            Verdict::WrongExit => "疑似错退",
            Verdict::DataError => "数据有误",
        }
    }

    /// Members of these households still count as poor after exit (spec §3): a household
    /// that cannot be assessed is not shown to be out.
    pub fn remains_poor(self) -> bool {
        matches!(
            self,
            Verdict::NotReady | Verdict::WrongExit | Verdict::DataError
        )
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// The assessment of one household.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assessment {
    pub verdict: Verdict,
    /// Net income per person, rounded half away from zero; None for `data_error`.
    pub per_capita: Option<Fen>,
    pub failed: CriteriaSet,
    /// Every failed criterion with the values that decided it, or why it passes.
    pub explanation: String,
}

/// Judge a household against the line (yuan per person per year) in year Y; `age_day` is
/// 1 September of Y.
pub fn assess_household(h: &Household, line: Fen, age_day: NaiveDate) -> Assessment {
    let n = h.members.len() as u32;
    let net = h.values.net_income();
    let (Some(status), Some(net), false) = (h.status(), net, h.has_errors()) else {
        return data_error(h);
    };
    let v = &h.values;
    let facts = Facts {
        household: h,
        line,
        age_day,
    };
    let checks: [(Criterion, Result<(), String>); 7] = [
        (Criterion::Income, criteria::income(net, n, line)),
        (
            Criterion::Food,
            criteria::food(v.food_secure.value() == Some(true)),
        ),
        (
            Criterion::Clothing,
            criteria::clothing(v.clothing_secure.value() == Some(true)),
        ),
        (Criterion::Education, criteria::education(&facts)),
        (Criterion::Medical, criteria::medical(&facts)),
        (Criterion::Housing, criteria::housing(&facts)),
        (
            Criterion::Water,
            criteria::water(v.safe_water.value() == Some(true)),
        ),
    ];
    let mut failed = CriteriaSet::default();
    let mut reasons = Vec::new();
    for (c, r) in checks {
        if let Err(why) = r {
            failed.insert(c);
            reasons.push(format!("{}（{}）：{why}", c.chinese(), c.code()));
        }
    }
    let per_capita = net.per_capita(n);
    let verdict = match (status, failed.is_empty()) {
        (PovertyStatus::NotExited, true) => Verdict::Ready,
        (PovertyStatus::NotExited, false) => Verdict::NotReady,
        (PovertyStatus::Exited, true) => Verdict::Stable,
        (PovertyStatus::Exited, false) => Verdict::WrongExit,
    };
    let explanation = if failed.is_empty() {
        format!(
            "{}：人均纯收入 {} 元 > 标准 {} 元，两不愁三保障及饮水安全均有保障",
            verdict.chinese(),
            per_capita.grouped(),
            line.grouped_short()
        )
    } else {
        reasons.join("；")
    };
    Assessment {
        verdict,
        per_capita: Some(per_capita),
        failed,
        explanation,
    }
}

fn data_error(h: &Household) -> Assessment {
    let mut errors = h.errors.clone();
    errors.sort();
    errors.dedup();
    let listed: Vec<String> = errors
        .iter()
        .map(|(line, code)| format!("第{line}行 {code} {}", code.title()))
        .collect();
    Assessment {
        verdict: Verdict::DataError,
        per_capita: None,
        failed: CriteriaSet::default(),
        explanation: format!("数据有误，未评估：{}", listed.join("；")),
    }
}
