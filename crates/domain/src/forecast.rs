//! The county's own early warning before any field visit: draw the inspectors' sample
//! from the register many times over the current verdicts and see how the sampled 错退率
//! (wrongly exited people found ÷ exited people sampled, 专项评估检查实施办法 2017) falls,
//! and how often it reaches the 2% veto.

use crate::figures::Rate;
use crate::sampling::{draw, Frame, SamplingError, SamplingPlan, Scope, SplitMix64};
use serde::Serialize;

/// The distribution of the sampled 错退率 over the simulated draws.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Forecast {
    pub runs: u32,
    /// Runs whose sample held no exited household (no 错退率 to compute).
    pub runs_without_exited: u32,
    /// The register's own share: members of exited households the assessment does not
    /// find stable ÷ members of exited households.
    pub register_rate: Option<(u64, u64)>,
    /// Mean of the sampled rates.
    pub mean: f64,
    /// Quantiles 5%, 25%, 50%, 75%, 95% of the sampled rates (nearest rank), exact.
    pub quantiles: Vec<(u32, (u64, u64))>,
    /// Runs whose sampled rate is at or above the threshold (a failed veto).
    pub runs_failing: u32,
    pub threshold_bp: u64,
    /// Exited households and people per sample, on average.
    pub mean_exited_households: f64,
}

impl Forecast {
    /// The chance that the inspectors' sample fails the veto: runs failing ÷ runs with a
    /// rate.
    pub fn p_fail(&self) -> f64 {
        let with = self.runs - self.runs_without_exited;
        if with == 0 {
            0.0
        } else {
            f64::from(self.runs_failing) / f64::from(with)
        }
    }
}

/// The quantile levels reported, in percent.
pub const LEVELS: [u32; 5] = [5, 25, 50, 75, 95];

/// Simulate `runs` draws of `plan` (registered households only: 错退率 needs no other),
/// run i seeded with the i-th output of SplitMix64(plan.seed), and collect the sampled
/// 错退率 of each. A sampled exited household counts as a wrong exit when the county's
/// assessment does not find it stable (`FrameHousehold::wrong_exit`).
pub fn forecast(
    frame: &Frame,
    plan: &SamplingPlan,
    runs: u32,
    threshold_bp: u64,
) -> Result<Forecast, SamplingError> {
    let mut seeds = SplitMix64::new(plan.seed);
    let index: std::collections::HashMap<(&str, &str), usize> = frame
        .villages
        .iter()
        .enumerate()
        .map(|(i, v)| ((v.township.as_str(), v.village.as_str()), i))
        .collect();
    let asks_registered = plan
        .households
        .per_village()
        .iter()
        .any(|&(g, k)| g.is_registered() && k > 0);
    let mut rates: Vec<Rate> = Vec::with_capacity(runs as usize);
    let mut without = 0;
    let mut exited_households = 0u64;
    for _ in 0..runs {
        let run_plan = SamplingPlan {
            seed: seeds.next_u64(),
            ..plan.clone()
        };
        let sample = match draw(frame, &run_plan, Scope::RegisteredOnly) {
            Ok(s) => s,
            // Drawn villages without a registered household: a run without a rate.
            Err(SamplingError::Empty) if asks_registered => {
                without += 1;
                continue;
            }
            Err(e) => return Err(e),
        };
        let (mut wrong, mut exited) = (0u64, 0u64);
        for h in sample.households.iter().filter(|h| h.exited) {
            let v = &sample.villages[h.village as usize];
            let fv = &frame.villages[index[&(v.township.as_str(), v.village.as_str())]];
            let people = u64::from(h.people.unwrap_or(0));
            let id = h.household_id.as_deref().unwrap_or("");
            exited += people;
            exited_households += 1;
            if fv.registered.iter().any(|r| r.id == id && r.wrong_exit) {
                wrong += people;
            }
        }
        match Rate::new(wrong, exited) {
            Some(r) => rates.push(r),
            None => without += 1,
        }
    }
    rates.sort_by(|a, b| {
        (u128::from(a.num) * u128::from(b.den)).cmp(&(u128::from(b.num) * u128::from(a.den)))
    });
    let quantiles = if rates.is_empty() {
        Vec::new()
    } else {
        LEVELS
            .iter()
            .map(|&q| {
                // Nearest rank: the ⌈q% × n⌉-th smallest.
                let rank = (u64::from(q) * rates.len() as u64).div_ceil(100).max(1);
                let r = rates[rank as usize - 1];
                (q, (r.num, r.den))
            })
            .collect()
    };
    let mean = if rates.is_empty() {
        0.0
    } else {
        rates
            .iter()
            .map(|r| r.num as f64 / r.den as f64)
            .sum::<f64>()
            / rates.len() as f64
    };
    let runs_failing = rates.iter().filter(|r| !r.below_bp(threshold_bp)).count() as u32;
    let (w, e) = frame
        .villages
        .iter()
        .flat_map(|v| &v.registered)
        .filter(|h| h.exited)
        .fold((0u64, 0u64), |(w, e), h| {
            (
                w + if h.wrong_exit { u64::from(h.people) } else { 0 },
                e + u64::from(h.people),
            )
        });
    Ok(Forecast {
        runs,
        runs_without_exited: without,
        register_rate: (e > 0).then_some((w, e)),
        mean,
        quantiles,
        runs_failing,
        threshold_bp,
        mean_exited_households: if runs == 0 {
            0.0
        } else {
            exited_households as f64 / f64::from(runs)
        },
    })
}
