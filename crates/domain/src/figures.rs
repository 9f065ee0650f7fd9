//! Village and county figures (registry spec §3; village exit: incidence below 2%, 3% in
//! the western region, 2016 《关于建立贫困退出机制的意见》).

use crate::assess::Verdict;
use crate::criteria::{CriteriaSet, Criterion};
use crate::values::PovertyStatus;
use serde::Serialize;

/// Which exit threshold applies: 2% in the central and eastern regions, 3% in the west.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Region {
    Central,
    Western,
}

impl Region {
    /// The incidence threshold in basis points (1/10,000).
    pub fn threshold_bp(self) -> u64 {
        match self {
            Region::Central => 200,
            Region::Western => 300,
        }
    }

    pub fn chinese(self) -> &'static str {
        match self {
            Region::Central => "中东部（2%）",
            Region::Western => "西部（3%）",
        }
    }
}

/// A ratio of people, kept exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub num: u64,
    pub den: u64,
}

impl Rate {
    pub fn new(num: u64, den: u64) -> Option<Rate> {
        (den > 0).then_some(Rate { num, den })
    }

    /// Strictly below a threshold in basis points, exactly.
    pub fn below_bp(self, bp: u64) -> bool {
        u128::from(self.num) * 10_000 < u128::from(bp) * u128::from(self.den)
    }

    /// As a percentage with two decimals, rounded half away from zero: `1.87`.
    pub fn percent(self) -> String {
        // percent × 100 = num × 10,000 / den, rounded.
        let scaled = (u128::from(self.num) * 20_000 / u128::from(self.den)).div_ceil(2);
        format!("{}.{:02}", scaled / 100, scaled % 100)
    }
}

/// Counts for one area (a village, a township or the county).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub households: u64,
    pub members: u64,
    /// Members of households whose status is 未脱贫.
    pub poor_now: u64,
    /// Members of households whose verdict is not_ready, wrong_exit or data_error.
    pub remaining: u64,
    /// Members of 已脱贫 households.
    pub exited_members: u64,
    /// Members of wrong_exit households.
    pub wrong_exit_members: u64,
    /// Households by verdict, in `Verdict::ALL` order.
    pub by_verdict: [u64; 5],
    /// Households failing each criterion, in `Criterion::ALL` order.
    pub by_criterion: [u64; 7],
}

impl Tally {
    pub fn add(
        &mut self,
        status: Option<PovertyStatus>,
        verdict: Verdict,
        members: u64,
        failed: CriteriaSet,
    ) {
        self.households += 1;
        self.members += members;
        if status == Some(PovertyStatus::NotExited) {
            self.poor_now += members;
        }
        if status == Some(PovertyStatus::Exited) {
            self.exited_members += members;
        }
        if verdict.remains_poor() {
            self.remaining += members;
        }
        if verdict == Verdict::WrongExit {
            self.wrong_exit_members += members;
        }
        self.by_verdict[verdict.index()] += 1;
        for c in failed.iter() {
            self.by_criterion[c as usize] += 1;
        }
    }

    pub fn merge(&mut self, o: &Tally) {
        self.households += o.households;
        self.members += o.members;
        self.poor_now += o.poor_now;
        self.remaining += o.remaining;
        self.exited_members += o.exited_members;
        self.wrong_exit_members += o.wrong_exit_members;
        for i in 0..5 {
            self.by_verdict[i] += o.by_verdict[i];
        }
        for i in 0..7 {
            self.by_criterion[i] += o.by_criterion[i];
        }
    }

    pub fn verdict_count(&self, v: Verdict) -> u64 {
        self.by_verdict[v.index()]
    }

    pub fn criterion_count(&self, c: Criterion) -> u64 {
        self.by_criterion[c as usize]
    }

    /// The internal wrong-exit rate: members of wrong_exit households ÷ members of 已脱贫
    /// households (a pre-check of the sampled 错退率).
    pub fn wrong_exit_rate(&self) -> Option<Rate> {
        Rate::new(self.wrong_exit_members, self.exited_members)
    }
}

/// Infrastructure conditions of a village, from the villages file; None = not given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct VillageConditions {
    pub road: Option<bool>,
    pub power: Option<bool>,
    pub broadband: Option<bool>,
    pub clinic: Option<bool>,
}

impl VillageConditions {
    /// The conditions given and not met, by Chinese name.
    pub fn unmet(&self) -> Vec<&'static str> {
        [
            (self.road, "通硬化路"),
            (self.power, "通动力电"),
            (self.broadband, "通宽带"),
            (self.clinic, "有卫生室"),
        ]
        .into_iter()
        .filter(|(v, _)| *v == Some(false))
        .map(|(_, n)| n)
        .collect()
    }
}

/// Village exit: incidence after exit below the threshold, and every condition given is 是.
pub fn village_exit_ready(after: Option<Rate>, threshold_bp: u64, c: &VillageConditions) -> bool {
    after.is_some_and(|r| r.below_bp(threshold_bp)) && c.unmet().is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_compare_exactly() {
        assert!(!Rate::new(2, 100).unwrap().below_bp(200));
        assert!(Rate::new(199, 10_000).unwrap().below_bp(200));
        assert_eq!(Rate::new(1, 3).unwrap().percent(), "33.33");
        assert_eq!(Rate::new(2, 3).unwrap().percent(), "66.67");
        assert_eq!(Rate::new(1, 8).unwrap().percent(), "12.50");
        assert_eq!(Rate::new(1, 1600).unwrap().percent(), "0.06");
    }
}
