//! The four veto indicators of the county exit inspection (专项评估检查实施办法, 2017) from
//! a sample and its verification results, weighted by the sampling design: 错退率, 漏评率,
//! 群众认可度 and 综合贫困发生率, with 95% confidence intervals, pass or fail against each
//! threshold, and the probability that the true rate is on the right side of it.
//!
//! Estimators (written out in `docs/inspections.md`): Hájek ratios Σwy ÷ Σwx; variance by
//! linearisation with sampled villages as primary sampling units, drawn with replacement
//! (an approximation: it ignores the township stage and the strata, and the finite
//! population corrections); Wilson intervals on the effective sample size; for
//! 综合贫困发生率 the MOVER combination of the two estimated parts.

use crate::figures::{Rate, Region};
use crate::sampling::{CountyTotals, Sample};
use serde::{Deserialize, Serialize};

/// z for a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// An answer to 是否认可 (群众认可度).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    /// 是
    Yes,
    /// 否
    No,
    /// 不清楚 — counted as not approving (the household was surveyed and did not approve).
    Unsure,
}

impl Approval {
    pub const ACCEPTED: &'static str = "是、否、不清楚（或 yes、no、unsure）";

    pub fn parse(text: &str) -> Option<Approval> {
        match text.trim().to_ascii_lowercase().as_str() {
            "是" | "认可" | "yes" | "y" => Some(Approval::Yes),
            "否" | "不认可" | "no" | "n" => Some(Approval::No),
            "不清楚" | "说不清" | "unsure" => Some(Approval::Unsure),
            _ => None,
        }
    }

    pub fn chinese(self) -> &'static str {
        match self {
            Approval::Yes => "是",
            Approval::No => "否",
            Approval::Unsure => "不清楚",
        }
    }
}

/// What the field team found at one sampled household.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// 样本编号.
    pub no: u32,
    /// Household members as counted by the field team (required for non-registered
    /// households; registered households count their registered members).
    pub people: Option<u32>,
    /// Registered households: income verified above the line, then 不愁吃, 不愁穿,
    /// 义务教育, 基本医疗, 住房安全 and (optional) 饮水安全 verified. `false` anywhere
    /// makes an exited household a wrong exit.
    pub checks: Vec<bool>,
    /// Non-registered households: 漏评 found (a household that should have been registered).
    pub missed: Option<bool>,
    pub approval: Approval,
}

impl Verification {
    pub fn all_verified(&self) -> bool {
        self.checks.iter().all(|&c| c)
    }
}

/// The four indicators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Indicator {
    WrongExit,
    Missed,
    Approval,
    Comprehensive,
}

impl Indicator {
    pub fn chinese(self) -> &'static str {
        match self {
            Indicator::WrongExit => "错退率",
            Indicator::Missed => "漏评率",
            Indicator::Approval => "群众认可度",
            Indicator::Comprehensive => "综合贫困发生率",
        }
    }

    /// The veto threshold in basis points and whether the rate must stay below it (true)
    /// or above it (false): < 2% · < 2% · > 90% · < 2% (3% in the west).
    pub fn threshold(self, region: Region) -> (u64, bool) {
        match self {
            Indicator::WrongExit | Indicator::Missed => (200, true),
            Indicator::Approval => (9_000, false),
            Indicator::Comprehensive => (region.threshold_bp(), true),
        }
    }
}

/// A weighted ratio estimate and its linearised variance.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Ratio {
    pub estimate: f64,
    pub variance: f64,
    /// Sampled units in the denominator (households).
    pub households: u64,
    /// Σx of the sample, unweighted (people, or households for 认可度).
    pub base: u64,
    /// Σy of the sample, unweighted.
    pub found: u64,
    /// Primary sampling units (villages) of the sample.
    pub psus: usize,
}

/// One unit of a ratio: its PSU, weight, y and x.
#[derive(Clone, Copy, Debug)]
pub struct Unit {
    pub psu: u32,
    pub weight: f64,
    pub y: u64,
    pub x: u64,
}

/// Hájek ratio R̂ = Σwy ÷ Σwx; variance by linearisation, villages as PSUs drawn with
/// replacement: z_c = Σ_{i∈c} w_i (y_i − R̂ x_i) ÷ Σwx, v = n ÷ (n − 1) · Σ_c (z_c − z̄)²
/// over all n sampled villages (those without a unit of this ratio have z_c = 0). None
/// when no unit has x > 0.
pub fn ratio(units: &[Unit], psus: usize) -> Option<Ratio> {
    let wx: f64 = units.iter().map(|u| u.weight * u.x as f64).sum();
    if wx <= 0.0 {
        return None;
    }
    let wy: f64 = units.iter().map(|u| u.weight * u.y as f64).sum();
    let r = wy / wx;
    let mut z = vec![0.0; psus];
    for u in units {
        z[u.psu as usize] += u.weight * (u.y as f64 - r * u.x as f64) / wx;
    }
    let variance = if psus > 1 {
        let n = psus as f64;
        let mean = z.iter().sum::<f64>() / n;
        n / (n - 1.0) * z.iter().map(|v| (v - mean).powi(2)).sum::<f64>()
    } else {
        f64::NAN
    };
    Some(Ratio {
        estimate: r,
        variance,
        households: units.iter().filter(|u| u.x > 0).count() as u64,
        base: units.iter().map(|u| u.x).sum(),
        found: units.iter().map(|u| u.y).sum(),
        psus,
    })
}

/// The effective sample size of a proportion (Kish): p(1 − p) ÷ v, at most the people
/// (units of x) sampled; when p is 0 or 1, or v is 0, the households sampled (each
/// household's people share one verdict, so a household is the conservative unit).
pub fn effective_n(r: &Ratio) -> f64 {
    let p = r.estimate;
    if p > 0.0 && p < 1.0 && r.variance > 0.0 {
        (p * (1.0 - p) / r.variance).min(r.base as f64)
    } else {
        r.households as f64
    }
}

/// The Wilson score interval for p with n (effective) trials and z: the p′ with
/// |p − p′| ≤ z √(p′(1 − p′) ÷ n). Stays within [0, 1] and is not empty at p = 0, where
/// a Wald interval collapses — the usual case for 错退率 and 漏评率.
pub fn wilson(p: f64, n: f64, z: f64) -> (f64, f64) {
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = z / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// The standard normal distribution function, Φ(x) = erfc(−x ÷ √2) ÷ 2, with erfc by the
/// Chebyshev fit of Numerical Recipes (fractional error below 1.2 × 10⁻⁷).
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// One indicator's estimate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IndicatorEstimate {
    pub indicator: Indicator,
    /// Found and base in the sample, unweighted and exact (people; households for 认可度;
    /// for 综合贫困发生率 the remaining registered poor and the rural population).
    pub found: u64,
    pub base: u64,
    /// The design-weighted estimate (a proportion, 0–1).
    pub estimate: f64,
    pub standard_error: f64,
    pub effective_n: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub threshold_bp: u64,
    /// The rate must stay below the threshold (else: above).
    pub below: bool,
    /// The estimate is on the right side of the threshold.
    pub pass: bool,
    /// The probability that the true rate is on the right side of the threshold (normal
    /// approximation on the interval's scale; see `docs/inspections.md`).
    pub p_within: f64,
}

impl IndicatorEstimate {
    /// The unweighted sample ratio, exact (as inspectors count it).
    pub fn sample_rate(&self) -> Option<Rate> {
        Rate::new(self.found, self.base)
    }
}

/// A proportion as a percentage with two decimals: 0.01876 → "1.88".
pub fn percent(p: f64) -> String {
    format!("{:.2}", (p * 10_000.0).round() / 100.0)
}

/// Why an indicator cannot be estimated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NotEstimable {
    pub indicator: Indicator,
    pub reason: String,
}

/// The four indicators, each estimated or with the reason it is not.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Estimates {
    pub indicators: Vec<Result<IndicatorEstimate, NotEstimable>>,
    pub region: Region,
    /// Sampled villages (primary sampling units) and households.
    pub villages: usize,
    pub households: usize,
}

impl Estimates {
    /// Every estimable indicator passes and none is missing.
    pub fn all_pass(&self) -> bool {
        self.indicators
            .iter()
            .all(|r| r.as_ref().is_ok_and(|e| e.pass))
    }
}

/// The probability that the true proportion is on the right side of `t` from the score
/// statistic at t: Φ((t − p) ÷ √(t(1 − t) ÷ n)) for "below", its mirror for "above". It
/// reaches 97.5% exactly when the Wilson bound on that side crosses t.
pub fn score_probability(p: f64, n: f64, t: f64, below: bool) -> f64 {
    let z = (t - p) / (t * (1.0 - t) / n).sqrt();
    normal_cdf(if below { z } else { -z })
}

fn proportion(
    indicator: Indicator,
    r: Option<Ratio>,
    region: Region,
    empty: &str,
) -> Result<IndicatorEstimate, NotEstimable> {
    let not = |reason: String| NotEstimable { indicator, reason };
    let r = r.ok_or_else(|| not(empty.to_string()))?;
    if r.psus < 2 {
        return Err(not("样本只有一个村，无法估计抽样误差".into()));
    }
    let n = effective_n(&r);
    let (lo, hi) = wilson(r.estimate, n, Z95);
    let (bp, below) = indicator.threshold(region);
    let t = bp as f64 / 10_000.0;
    let pass = if below {
        r.estimate < t
    } else {
        r.estimate > t
    };
    Ok(IndicatorEstimate {
        indicator,
        found: r.found,
        base: r.base,
        estimate: r.estimate,
        standard_error: r.variance.sqrt(),
        effective_n: n,
        ci_low: lo,
        ci_high: hi,
        threshold_bp: bp,
        below,
        pass,
        p_within: score_probability(r.estimate, n, t, below),
    })
}

/// Estimate the four indicators from a sample, its verification results (one per sampled
/// household, by 样本编号; the caller has checked that each is there once) and the
/// county's totals.
pub fn estimate(
    sample: &Sample,
    results: &[Verification],
    totals: &CountyTotals,
    region: Region,
) -> Estimates {
    let by_no: std::collections::HashMap<u32, &Verification> =
        results.iter().map(|v| (v.no, v)).collect();
    let psus = sample.villages.len();
    let mut wrong = Vec::new();
    let mut missed = Vec::new();
    let mut approval = Vec::new();
    for h in &sample.households {
        let Some(v) = by_no.get(&h.no) else { continue };
        let unit = |y: u64, x: u64| Unit {
            psu: h.village,
            weight: h.weight,
            y,
            x,
        };
        if h.group.is_registered() {
            if h.exited {
                let people = u64::from(h.people.or(v.people).unwrap_or(0));
                wrong.push(unit(if v.all_verified() { 0 } else { people }, people));
            }
        } else {
            let people = u64::from(v.people.unwrap_or(0));
            missed.push(unit(
                if v.missed == Some(true) { people } else { 0 },
                people,
            ));
        }
        approval.push(unit(u64::from(v.approval == Approval::Yes), 1));
    }
    let r_wrong = ratio(&wrong, psus);
    let r_missed = ratio(&missed, psus);
    let r_approval = ratio(&approval, psus);
    let e_wrong = proportion(
        Indicator::WrongExit,
        r_wrong,
        region,
        "样本中没有已脱贫户（人口），无法估计错退率",
    );
    let e_missed = proportion(
        Indicator::Missed,
        r_missed,
        region,
        "样本中没有非建档立卡户（人口），无法估计漏评率",
    );
    let e_approval = proportion(
        Indicator::Approval,
        r_approval,
        region,
        "样本中没有农户，无法估计群众认可度",
    );
    let e_comp = comprehensive(&e_wrong, &e_missed, totals, region);
    Estimates {
        indicators: vec![e_wrong, e_missed, e_approval, e_comp],
        region,
        villages: psus,
        households: sample.households.len(),
    }
}

/// 综合贫困发生率 = (remaining registered poor + R̂_missed × non-registered people +
/// R̂_wrong × exited people) ÷ rural population. Interval by MOVER (Zou and Donner 2008):
/// each part's Wilson bounds, combined as L = θ̂ − √Σ(a_k(θ̂_k − l_k))², U = θ̂ +
/// √Σ(a_k(u_k − θ̂_k))², the two parts taken as independent (they come from different
/// households). Probability: normal with the standard error read from the bound on the
/// threshold's side, (U − θ̂) ÷ z.
pub fn comprehensive(
    wrong: &Result<IndicatorEstimate, NotEstimable>,
    missed: &Result<IndicatorEstimate, NotEstimable>,
    totals: &CountyTotals,
    region: Region,
) -> Result<IndicatorEstimate, NotEstimable> {
    let indicator = Indicator::Comprehensive;
    let not = |reason: String| NotEstimable { indicator, reason };
    if totals.rural_population == 0 {
        return Err(not(
            "没有农村户籍人口（村级名册），无法计算综合贫困发生率".into()
        ));
    }
    let (w, m) = match (wrong, missed) {
        (Ok(w), Ok(m)) => (w, m),
        (Err(e), _) | (_, Err(e)) => {
            return Err(not(format!(
                "{}无法估计：{}",
                e.indicator.chinese(),
                e.reason
            )))
        }
    };
    let pop = totals.rural_population as f64;
    let c = totals.remaining_poor as f64 / pop;
    let a_m = totals.non_registered_people() as f64 / pop;
    let a_w = totals.exited_people as f64 / pop;
    let est = c + a_m * m.estimate + a_w * w.estimate;
    let low = est
        - ((a_m * (m.estimate - m.ci_low)).powi(2) + (a_w * (w.estimate - w.ci_low)).powi(2))
            .sqrt();
    let high = est
        + ((a_m * (m.ci_high - m.estimate)).powi(2) + (a_w * (w.ci_high - w.estimate)).powi(2))
            .sqrt();
    let se = ((a_m * m.standard_error).powi(2) + (a_w * w.standard_error).powi(2)).sqrt();
    let (bp, below) = indicator.threshold(region);
    let t = bp as f64 / 10_000.0;
    let side = if t >= est { high - est } else { est - low } / Z95;
    let p_within = if side > 0.0 {
        normal_cdf((t - est) / side)
    } else if est < t {
        1.0
    } else {
        0.0
    };
    Ok(IndicatorEstimate {
        indicator,
        found: totals.remaining_poor,
        base: totals.rural_population,
        estimate: est,
        standard_error: se,
        effective_n: f64::NAN,
        ci_low: low.max(0.0),
        ci_high: high.min(1.0),
        threshold_bp: bp,
        below,
        pass: est < t,
        p_within,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Φ at known points: Φ(0) = 0.5, Φ(1.959964) = 0.975, Φ(−1) = 0.158655.
    #[test]
    fn normal_cdf_at_known_points() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(Z95) - 0.975).abs() < 1e-7);
        assert!((normal_cdf(-1.0) - 0.158_655_25).abs() < 1e-7);
    }

    /// Wilson for 0 of 100 (z² = 3.841459): centre = (0 + 3.841459 ÷ 200) ÷ 1.038415 =
    /// 0.0184968, half = 1.959964 ÷ 1.038415 × √(3.841459 ÷ 40,000) = 1.887457 ×
    /// 0.0097998 = 0.0184967 → [0, 0.036993]. For 10 of 100: [0.055229, 0.174366] (the
    /// textbook value).
    #[test]
    fn wilson_by_hand() {
        let (lo, hi) = wilson(0.0, 100.0, Z95);
        assert!(lo.abs() < 1e-12, "{lo}");
        assert!((hi - 0.036_993).abs() < 1e-6, "{hi}");
        let (lo, hi) = wilson(0.1, 100.0, Z95);
        assert!((lo - 0.055_229).abs() < 1e-6, "{lo}");
        assert!((hi - 0.174_366).abs() < 1e-6, "{hi}");
    }

    /// The score probability is 97.5% exactly where the Wilson upper bound meets t.
    #[test]
    fn score_probability_meets_the_wilson_bound() {
        let (_, hi) = wilson(0.01, 400.0, Z95);
        assert!((score_probability(0.01, 400.0, hi, true) - 0.975).abs() < 1e-6);
    }

    #[test]
    fn percent_rounds_to_two_decimals() {
        assert_eq!(percent(0.018_76), "1.88");
        assert_eq!(percent(0.9), "90.00");
        assert_eq!(percent(0.0), "0.00");
    }
}
