//! Inspectors' sampling (专项评估检查抽样, 2017 实施办法; Guangdong 2018 rule): townships per
//! county, villages per township stratified poor / non-poor, households per village —
//! registered households at fixed intervals over the register's order (等间隔抽样) and
//! non-registered households at random — with quotas by group, minimum shares, and the
//! design weights of every sampled household. Seeded and reproducible: the algorithm is
//! written out in `docs/inspections.md` so that anyone can redraw a sample by hand.

use serde::{Deserialize, Serialize};
use std::fmt;

/// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators",
/// OOPSLA 2014): a 64-bit state advanced by the golden-ratio constant and mixed by two
/// xor-shift-multiply rounds. Written here, not taken from a crate, so that a seed draws
/// the same sample in every version of fupin.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A whole number in 0..n, every value equally likely: draw x and reject it while
    /// x < (2^64 − n) mod n (those first values would make x mod n uneven), then x mod n.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0)");
        let reject = n.wrapping_neg() % n;
        loop {
            let x = self.next_u64();
            if x >= reject {
                return x % n;
            }
        }
    }

    /// A number in [0, 1): the top 53 bits of the next output ÷ 2^53.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Simple random sampling of `k` of `0..n` without replacement, by the first `k` steps of
/// a Fisher–Yates shuffle: for i = 0, 1, …, k−1 swap position i with position
/// i + below(n − i). Returns the chosen positions in ascending order. Taking all n
/// draws no number.
pub fn simple_random(rng: &mut SplitMix64, n: u32, k: u32) -> Vec<u32> {
    assert!(k <= n);
    if k == n {
        return (0..n).collect();
    }
    let mut idx: Vec<u32> = (0..n).collect();
    for i in 0..k as usize {
        let j = i + rng.below(u64::from(n) - i as u64) as usize;
        idx.swap(i, j);
    }
    let mut out = idx[..k as usize].to_vec();
    out.sort_unstable();
    out
}

/// Systematic sampling (等间隔抽样) of `k` of `0..n` with a random start and interval
/// n ÷ k, in whole numbers: r = below(n), then positions ⌊(r + j·n) ÷ k⌋ for
/// j = 0 … k−1. Every position is chosen with probability exactly k ÷ n; when k divides
/// n this is the textbook rule "start at ⌊r ÷ k⌋ (0 … n/k − 1), then every (n/k)-th".
/// Taking all n (or none) draws no number.
pub fn systematic(rng: &mut SplitMix64, n: u32, k: u32) -> Vec<u32> {
    assert!(k <= n);
    if k == 0 || k == n {
        return (0..k).collect();
    }
    let r = rng.below(u64::from(n));
    (0..u64::from(k))
        .map(|j| ((r + j * u64::from(n)) / u64::from(k)) as u32)
        .collect()
}

/// How the households of a sampled village are asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Allocation {
    /// Fixed numbers per village: registered households (one systematic draw over all the
    /// village's registered households) and non-registered households (at random).
    Fixed {
        registered: u32,
        non_registered: u32,
    },
    /// `per_village` households split by the ratio able : non_registered : unable (e.g.
    /// 5:3:2 — registered able to work, non-registered, registered unable to work) by the
    /// largest remainder; each registered group is drawn systematically on its own.
    Ratio {
        per_village: u32,
        able: u32,
        non_registered: u32,
        unable: u32,
    },
}

/// The group a sampled household was drawn in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// Registered households, all together (allocation `fixed`).
    Registered,
    /// Registered households with a member able to work (普通, 技能 or 弱劳动力).
    RegisteredAble,
    /// Non-registered rural households.
    NonRegistered,
    /// Registered households with no member able to work.
    RegisteredUnable,
}

impl Group {
    pub fn chinese(self) -> &'static str {
        match self {
            Group::Registered => "建档立卡户",
            Group::RegisteredAble => "建档立卡户（有劳动能力）",
            Group::NonRegistered => "非建档立卡户",
            Group::RegisteredUnable => "建档立卡户（无劳动能力）",
        }
    }

    pub fn is_registered(self) -> bool {
        self != Group::NonRegistered
    }

    pub fn parse(text: &str) -> Option<Group> {
        [
            Group::Registered,
            Group::RegisteredAble,
            Group::NonRegistered,
            Group::RegisteredUnable,
        ]
        .into_iter()
        .find(|g| g.chinese() == text)
    }
}

impl Allocation {
    /// Households asked per village, by group, in drawing order.
    pub fn per_village(&self) -> Vec<(Group, u32)> {
        match *self {
            Allocation::Fixed {
                registered,
                non_registered,
            } => vec![
                (Group::Registered, registered),
                (Group::NonRegistered, non_registered),
            ],
            Allocation::Ratio {
                per_village,
                able,
                non_registered,
                unable,
            } => {
                let groups = [
                    (Group::RegisteredAble, able),
                    (Group::NonRegistered, non_registered),
                    (Group::RegisteredUnable, unable),
                ];
                let total: u64 = groups.iter().map(|g| u64::from(g.1)).sum();
                if total == 0 {
                    return groups.iter().map(|g| (g.0, 0)).collect();
                }
                // Largest remainder (Hamilton): floors first, then one more to the groups
                // with the largest remainders; ties to the earlier group.
                let n = u64::from(per_village);
                let mut out: Vec<(Group, u32, u64)> = groups
                    .iter()
                    .map(|&(g, r)| {
                        let exact = n * u64::from(r);
                        (g, (exact / total) as u32, exact % total)
                    })
                    .collect();
                let given: u32 = out.iter().map(|g| g.1).sum();
                let mut order: Vec<usize> = (0..3).collect();
                order.sort_by(|&a, &b| out[b].2.cmp(&out[a].2).then(a.cmp(&b)));
                for &i in order.iter().take((per_village - given) as usize) {
                    out[i].1 += 1;
                }
                out.into_iter().map(|(g, k, _)| (g, k)).collect()
            }
        }
    }
}

/// A sampling plan: every knob of the inspectors' draw, and the seed. Recorded as JSON
/// with the sample so that anyone can redraw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamplingPlan {
    /// The seed of the SplitMix64 generator.
    pub seed: u64,
    /// Townships drawn in the county; 0 = every township.
    pub townships: u32,
    /// Poor villages (贫困村) drawn per sampled township.
    pub poor_villages_per_township: u32,
    /// Non-poor villages drawn per sampled township.
    pub other_villages_per_township: u32,
    /// Households per sampled village, by group.
    pub households: Allocation,
    /// Minimum share of the county's registered households in the sample, in basis
    /// points (100 = 1%); 0 = none.
    #[serde(default)]
    pub min_registered_share_bp: u32,
    /// Minimum households in the whole sample; 0 = none.
    #[serde(default)]
    pub min_households: u32,
    /// When a township, a village stratum or a village group has fewer units than asked:
    /// take them all (true) or refuse the plan (false, the default).
    #[serde(default)]
    pub take_all_when_short: bool,
}

impl SamplingPlan {
    /// The Guangdong 2018 rule as a starting point: 2 townships, 2 poor and 1 non-poor
    /// village each, 10 households per village split 5:3:2, at least 1% of the
    /// registered households.
    pub fn guangdong_2018(seed: u64) -> SamplingPlan {
        SamplingPlan {
            seed,
            townships: 2,
            poor_villages_per_township: 2,
            other_villages_per_township: 1,
            households: Allocation::Ratio {
                per_village: 10,
                able: 5,
                non_registered: 3,
                unable: 2,
            },
            min_registered_share_bp: 100,
            min_households: 0,
            take_all_when_short: false,
        }
    }
}

/// One registered household of the frame, in register order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameHousehold {
    /// 户编号.
    pub id: String,
    /// Some member able to work (普通, 技能 or 弱劳动力).
    pub able: bool,
    /// Registered members.
    pub people: u32,
    /// 脱贫属性 is 已脱贫.
    pub exited: bool,
    /// Exited and the county's own assessment does not find it stable (for the forecast).
    pub wrong_exit: bool,
}

/// The non-registered households of a village, as far as they are known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NonRegistered {
    /// No list or count imported.
    Unknown,
    /// Their number (农村总户数 − 建档立卡户数); a drawn household is named by its place
    /// (1-based) in the village's own roster of non-registered households.
    Count(u32),
    /// Their 户编号, in the order of the imported list.
    List(Vec<String>),
}

impl NonRegistered {
    pub fn count(&self) -> Option<u32> {
        match self {
            NonRegistered::Unknown => None,
            NonRegistered::Count(n) => Some(*n),
            NonRegistered::List(l) => Some(l.len() as u32),
        }
    }
}

/// One administrative village of the frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameVillage {
    pub township: String,
    pub village: String,
    /// 是否贫困村.
    pub poor: bool,
    pub registered: Vec<FrameHousehold>,
    pub non_registered: NonRegistered,
}

/// The sampling frame: villages in the order of the villages file; townships in the order
/// they first appear in it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frame {
    pub villages: Vec<FrameVillage>,
}

impl Frame {
    /// Townships in order of first appearance, each with its villages' indexes.
    pub fn townships(&self) -> Vec<(&str, Vec<usize>)> {
        let mut out: Vec<(&str, Vec<usize>)> = Vec::new();
        for (i, v) in self.villages.iter().enumerate() {
            match out.iter_mut().find(|t| t.0 == v.township) {
                Some(t) => t.1.push(i),
                None => out.push((&v.township, vec![i])),
            }
        }
        out
    }

    pub fn registered_households(&self) -> u64 {
        self.villages
            .iter()
            .map(|v| v.registered.len() as u64)
            .sum()
    }
}

/// A probability k ÷ n, kept exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fraction {
    pub k: u32,
    pub n: u32,
}

impl Fraction {
    pub fn value(self) -> f64 {
        f64::from(self.k) / f64::from(self.n)
    }
}

impl fmt::Display for Fraction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

/// A sampled village: a primary sampling unit of the variance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampledVillage {
    pub township: String,
    pub village: String,
    pub poor: bool,
    /// Inclusion probability of its township: townships drawn ÷ townships.
    pub p_township: Fraction,
    /// Inclusion probability of the village within its township and stratum.
    pub p_village: Fraction,
}

/// A sampled household and its design weight.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampledHousehold {
    /// 样本编号, 1, 2, … in drawing order.
    pub no: u32,
    /// Index into `Sample::villages`.
    pub village: u32,
    pub group: Group,
    /// 1-based place in the group's order within the village (register order for
    /// registered households; the list's or the village roster's order otherwise).
    pub position: u32,
    /// 户编号, when known (registered households, or a listed non-registered one).
    pub household_id: Option<String>,
    /// Registered members (registered households only).
    pub people: Option<u32>,
    /// 已脱贫 (registered households only).
    pub exited: bool,
    /// Inclusion probability within the village: drawn ÷ households of the group.
    pub p_household: Fraction,
    /// 1 ÷ (p_township × p_village × p_household).
    pub weight: f64,
}

/// Counts of the whole county that the estimators need, recorded with the sample.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountyTotals {
    /// Rural registered population (Σ 户籍人口 of the villages file).
    pub rural_population: u64,
    /// Members of registered households.
    pub registered_people: u64,
    /// Members of 未脱贫 households (remaining registered poor).
    pub remaining_poor: u64,
    /// Members of 已脱贫 households.
    pub exited_people: u64,
    /// Registered households.
    pub registered_households: u64,
}

impl CountyTotals {
    /// Rural people outside the register.
    pub fn non_registered_people(&self) -> u64 {
        self.rural_population.saturating_sub(self.registered_people)
    }
}

/// A drawn sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub plan: SamplingPlan,
    pub townships_in_county: u32,
    pub villages: Vec<SampledVillage>,
    pub households: Vec<SampledHousehold>,
}

impl Sample {
    pub fn count(&self, g: impl Fn(Group) -> bool) -> usize {
        self.households.iter().filter(|h| g(h.group)).count()
    }
}

/// Where a plan asks for more than there is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shortfall {
    Townships {
        available: u32,
        asked: u32,
    },
    Villages {
        township: String,
        poor: bool,
        available: u32,
        asked: u32,
    },
    Households {
        township: String,
        village: String,
        group: Group,
        available: u32,
        asked: u32,
    },
    /// Non-registered households asked where no list or count was imported.
    NonRegisteredUnknown {
        township: String,
        village: String,
    },
}

impl fmt::Display for Shortfall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shortfall::Townships { available, asked } => {
                write!(f, "全县只有 {available} 个乡镇，方案要抽 {asked} 个")
            }
            Shortfall::Villages {
                township,
                poor,
                available,
                asked,
            } => write!(
                f,
                "{township}只有{}{available} 个，方案每乡镇要抽 {asked} 个",
                if *poor { "贫困村" } else { "非贫困村" }
            ),
            Shortfall::Households {
                township,
                village,
                group,
                available,
                asked,
            } => write!(
                f,
                "{township}{village}只有{}{available} 户，方案每村要抽 {asked} 户",
                group.chinese()
            ),
            Shortfall::NonRegisteredUnknown { township, village } => write!(
                f,
                "{township}{village}没有导入农村总户数或非建档立卡户名单，无法抽取非建档立卡户"
            ),
        }
    }
}

/// Why a plan cannot be drawn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SamplingError {
    /// The plan asks for no household at all.
    Empty,
    /// Every place where the plan asks for more than there is.
    Short(Vec<Shortfall>),
    /// Fewer registered households than the minimum share.
    BelowShare {
        sampled: u64,
        required: u64,
        registered: u64,
        share_bp: u32,
    },
    /// Fewer households in all than the minimum.
    BelowMinimum { sampled: u64, required: u32 },
}

impl fmt::Display for SamplingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SamplingError::Empty => write!(f, "抽样方案抽不到任何农户：请设定每乡镇抽取的村数和每村抽取的户数"),
            SamplingError::Short(list) => {
                write!(
                    f,
                    "抽样方案要求的数量超过实有数量（可减少抽取数，或设定 take_all_when_short / --take-all 不足时全部抽取）："
                )?;
                for s in list {
                    write!(f, "\n  {s}")?;
                }
                Ok(())
            }
            SamplingError::BelowShare {
                sampled,
                required,
                registered,
                share_bp,
            } => write!(
                f,
                "样本中建档立卡户 {sampled} 户，不足全县建档立卡户 {registered} 户的 {}%（至少 {required} 户）：请增加每村户数或抽样村数",
                crate::figures::Rate { num: u64::from(*share_bp), den: 10_000 }.percent()
            ),
            SamplingError::BelowMinimum { sampled, required } => write!(
                f,
                "样本共 {sampled} 户，少于方案要求的至少 {required} 户：请增加每村户数或抽样村数"
            ),
        }
    }
}

impl std::error::Error for SamplingError {}

/// Which groups to draw: all, or the registered ones only (the forecast needs no
/// non-registered household, and the county may not have imported them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    All,
    RegisteredOnly,
}

/// Draw a sample as `docs/inspections.md` describes, step by step:
/// 1. townships: `simple_random` of the plan's number among the frame's townships (all
///    when 0); 2. for each drawn township in frame order, its poor villages, then its
///    other villages: `simple_random` within each stratum; 3. for each drawn village in
///    frame order and each group in `Allocation::per_village` order: `systematic` over
///    the group's registered households in register order, or `simple_random` over the
///    non-registered households. One generator, seeded with `plan.seed`, serves every
///    step in this order.
pub fn draw(frame: &Frame, plan: &SamplingPlan, scope: Scope) -> Result<Sample, SamplingError> {
    let groups: Vec<(Group, u32)> = plan
        .households
        .per_village()
        .into_iter()
        .filter(|&(g, _)| scope == Scope::All || g.is_registered())
        .collect();
    if groups.iter().all(|g| g.1 == 0) {
        return Err(SamplingError::Empty);
    }
    let mut rng = SplitMix64::new(plan.seed);
    let mut short = Vec::new();
    let take_all = plan.take_all_when_short;

    let townships = frame.townships();
    let t_all = townships.len() as u32;
    let t_asked = if plan.townships == 0 {
        t_all
    } else {
        plan.townships
    };
    let t_k = take(&mut short, take_all, t_all, t_asked, || {
        Shortfall::Townships {
            available: t_all,
            asked: t_asked,
        }
    });
    let p_township = Fraction { k: t_k, n: t_all };
    let chosen_townships = simple_random(&mut rng, t_all, t_k);

    let mut villages = Vec::new();
    let mut chosen_villages: Vec<usize> = Vec::new();
    for &t in &chosen_townships {
        let (name, members) = &townships[t as usize];
        let mut picked: Vec<(usize, Fraction, bool)> = Vec::new();
        for poor in [true, false] {
            let stratum: Vec<usize> = members
                .iter()
                .copied()
                .filter(|&i| frame.villages[i].poor == poor)
                .collect();
            let asked = if poor {
                plan.poor_villages_per_township
            } else {
                plan.other_villages_per_township
            };
            let n = stratum.len() as u32;
            let k = take(&mut short, take_all, n, asked, || Shortfall::Villages {
                township: (*name).to_string(),
                poor,
                available: n,
                asked,
            });
            for i in simple_random(&mut rng, n, k) {
                picked.push((stratum[i as usize], Fraction { k, n }, poor));
            }
        }
        picked.sort_by_key(|p| p.0);
        for (i, p_village, poor) in picked {
            let v = &frame.villages[i];
            chosen_villages.push(i);
            villages.push(SampledVillage {
                township: v.township.clone(),
                village: v.village.clone(),
                poor,
                p_township,
                p_village,
            });
        }
    }

    let mut households = Vec::new();
    for (vi, &fi) in chosen_villages.iter().enumerate() {
        let fv = &frame.villages[fi];
        let sv = &villages[vi];
        for &(group, asked) in &groups {
            if asked == 0 {
                continue;
            }
            let registered: Vec<&FrameHousehold> = match group {
                Group::Registered => fv.registered.iter().collect(),
                Group::RegisteredAble => fv.registered.iter().filter(|h| h.able).collect(),
                Group::RegisteredUnable => fv.registered.iter().filter(|h| !h.able).collect(),
                Group::NonRegistered => Vec::new(),
            };
            let n = if group.is_registered() {
                registered.len() as u32
            } else {
                match fv.non_registered.count() {
                    Some(n) => n,
                    None => {
                        if !plan.take_all_when_short {
                            short.push(Shortfall::NonRegisteredUnknown {
                                township: fv.township.clone(),
                                village: fv.village.clone(),
                            });
                        }
                        0
                    }
                }
            };
            let k = if group.is_registered() || fv.non_registered.count().is_some() {
                take(&mut short, take_all, n, asked, || Shortfall::Households {
                    township: fv.township.clone(),
                    village: fv.village.clone(),
                    group,
                    available: n,
                    asked,
                })
            } else {
                0
            };
            if k == 0 {
                continue;
            }
            let p_household = Fraction { k, n };
            let weight = 1.0 / (sv.p_township.value() * sv.p_village.value() * p_household.value());
            let positions = if group.is_registered() {
                systematic(&mut rng, n, k)
            } else {
                simple_random(&mut rng, n, k)
            };
            for pos in positions {
                let (household_id, people, exited) = if group.is_registered() {
                    let h = registered[pos as usize];
                    (Some(h.id.clone()), Some(h.people), h.exited)
                } else {
                    let id = match &fv.non_registered {
                        NonRegistered::List(l) => Some(l[pos as usize].clone()),
                        _ => None,
                    };
                    (id, None, false)
                };
                households.push(SampledHousehold {
                    no: households.len() as u32 + 1,
                    village: vi as u32,
                    group,
                    position: pos + 1,
                    household_id,
                    people,
                    exited,
                    p_household,
                    weight,
                });
            }
        }
    }
    if !short.is_empty() {
        return Err(SamplingError::Short(short));
    }
    if households.is_empty() {
        return Err(SamplingError::Empty);
    }
    let registered_sampled = households
        .iter()
        .filter(|h| h.group.is_registered())
        .count() as u64;
    let registered = frame.registered_households();
    let required = (registered * u64::from(plan.min_registered_share_bp)).div_ceil(10_000);
    if registered_sampled < required {
        return Err(SamplingError::BelowShare {
            sampled: registered_sampled,
            required,
            registered,
            share_bp: plan.min_registered_share_bp,
        });
    }
    if scope == Scope::All && (households.len() as u64) < u64::from(plan.min_households) {
        return Err(SamplingError::BelowMinimum {
            sampled: households.len() as u64,
            required: plan.min_households,
        });
    }
    Ok(Sample {
        plan: plan.clone(),
        townships_in_county: t_all,
        villages,
        households,
    })
}

/// How many to draw of `available` when `asked`: all of them when short and the plan
/// takes all, else `available` with the shortfall noted.
fn take(
    short: &mut Vec<Shortfall>,
    take_all: bool,
    available: u32,
    asked: u32,
    shortfall: impl FnOnce() -> Shortfall,
) -> u32 {
    if asked > available {
        if !take_all {
            short.push(shortfall());
        }
        available
    } else {
        asked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference outputs of SplitMix64 for seed 0 (as in Java's SplittableRandom and
    /// Vigna's splitmix64.c): a change of the generator would change every recorded draw.
    #[test]
    fn splitmix64_matches_the_reference_outputs() {
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(r.next_u64(), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn below_is_within_range_and_uses_every_value() {
        let mut r = SplitMix64::new(7);
        let mut seen = [0u32; 7];
        for _ in 0..7_000 {
            seen[r.below(7) as usize] += 1;
        }
        assert!(seen.iter().all(|&c| (850..1150).contains(&c)), "{seen:?}");
    }

    /// Interval 25 ÷ 10 = 2.5 with start r: positions ⌊(r + 25j) ÷ 10⌋. For r = 3:
    /// 0, 2, 5, 7, 10, 12, 15, 17, 20, 22 — gaps alternate 2 and 3.
    #[test]
    fn systematic_positions_follow_the_fractional_interval() {
        // Find a seed whose start is 3 by construction: below(25) of seed s.
        let mut seed = 0;
        while SplitMix64::new(seed).below(25) != 3 {
            seed += 1;
        }
        let got = systematic(&mut SplitMix64::new(seed), 25, 10);
        assert_eq!(got, vec![0, 2, 5, 7, 10, 12, 15, 17, 20, 22]);
    }

    /// Over all n starts, each position is chosen exactly k times: inclusion k ÷ n.
    #[test]
    fn systematic_gives_every_position_probability_k_over_n() {
        let (n, k) = (23u64, 5u64);
        let mut hits = vec![0u64; n as usize];
        for r in 0..n {
            for j in 0..k {
                hits[((r + j * n) / k) as usize] += 1;
            }
        }
        assert!(hits.iter().all(|&h| h == k), "{hits:?}");
    }

    #[test]
    fn simple_random_draws_distinct_sorted_positions() {
        let mut r = SplitMix64::new(11);
        let s = simple_random(&mut r, 50, 12);
        assert_eq!(s.len(), 12);
        assert!(s.windows(2).all(|w| w[0] < w[1]));
        assert!(s.iter().all(|&p| p < 50));
        assert_eq!(simple_random(&mut r, 4, 4), vec![0, 1, 2, 3]);
    }

    /// 5:3:2 of 10 is 5, 3, 2; of 12 it is 6, 3.6→4, 2.4→2 (largest remainder 0.6 wins);
    /// of 7: 3.5, 2.1, 1.4 → floors 3, 2, 1 and the one left to the able (0.5).
    #[test]
    fn ratio_allocation_uses_largest_remainder() {
        let ratio = |per_village| Allocation::Ratio {
            per_village,
            able: 5,
            non_registered: 3,
            unable: 2,
        };
        let counts = |a: Allocation| a.per_village().iter().map(|g| g.1).collect::<Vec<_>>();
        assert_eq!(counts(ratio(10)), vec![5, 3, 2]);
        assert_eq!(counts(ratio(12)), vec![6, 4, 2]);
        assert_eq!(counts(ratio(7)), vec![4, 2, 1]);
    }
}
