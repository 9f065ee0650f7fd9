//! Gaps (短板) found by the assessment, the village figures and the data checks, and
//! their routing to the plan's key tasks (查找漏洞，补齐短板).
//!
//! A gap is a kind ([`GapKind`]) and a subject (a household, a village, or a record with a
//! data problem). Its [`Gap::key`] stays the same when the register is assessed again, so a
//! work item opened for a gap is found again, not opened twice.

use crate::assess::{Assessment, Verdict};
use crate::figures::{Rate, VillageConditions};
use crate::plan::{GapKind, Plan};
use crate::problem::ProblemCode;
use serde::Serialize;
use std::collections::HashSet;
use std::fmt;

/// What a gap is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Subject {
    /// A registered household, by 户编号.
    Household { id: String },
    /// An administrative village.
    Village { township: String, village: String },
    /// A data problem: the record it stands on and its code.
    Record {
        record: RecordKey,
        code: ProblemCode,
    },
}

/// Which record a data problem stands on.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKey {
    /// The household with this 户编号 (all its rows are one record).
    Household(String),
    /// A row with no 户编号, by its line: not stable across versions, since nothing else
    /// identifies it.
    Line(u64),
}

/// One gap: a kind of shortfall on one subject.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Gap {
    pub kind: GapKind,
    pub subject: Subject,
}

impl Gap {
    /// A stable identity: the same gap found in a later assessment has the same key.
    /// `household:<户编号>:<KIND>`, `village:<乡镇>:<行政村>:<KIND>`,
    /// `data:household:<户编号>:<CODE>` or `data:line:<line>:<CODE>`.
    pub fn key(&self) -> String {
        match &self.subject {
            Subject::Household { id } => format!("household:{id}:{}", self.kind.code()),
            Subject::Village { township, village } => {
                format!("village:{township}:{village}:{}", self.kind.code())
            }
            Subject::Record { record, code } => match record {
                RecordKey::Household(id) => format!("data:household:{id}:{code}"),
                RecordKey::Line(line) => format!("data:line:{line}:{code}"),
            },
        }
    }

    /// What a person reads: `户 1409300001：住房安全有保障未达到`.
    pub fn title(&self) -> String {
        match &self.subject {
            Subject::Household { id } => format!("户 {id}：{}未达到", self.kind.chinese()),
            Subject::Village { township, village } => match self.kind {
                GapKind::Incidence => format!("{township}{village}：贫困发生率未降至退出标准以下"),
                k => format!("{township}{village}：未{}", k.chinese()),
            },
            Subject::Record { record, code } => {
                let at = match record {
                    RecordKey::Household(id) => format!("户 {id}"),
                    RecordKey::Line(line) => format!("第{line}行"),
                };
                format!("{at}：基础资料问题 {code} {}", code.title())
            }
        }
    }

    /// The household the gap belongs to, when it belongs to one.
    pub fn household(&self) -> Option<&str> {
        match &self.subject {
            Subject::Household { id }
            | Subject::Record {
                record: RecordKey::Household(id),
                ..
            } => Some(id),
            _ => None,
        }
    }
}

impl fmt::Display for Gap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.title())
    }
}

/// Policy (registry spec §2): every failed criterion of an assessed household is a gap of
/// its own; a household that cannot be assessed (数据有误) has a DATA gap for each error
/// code on its rows instead (`error_codes`, repeats allowed).
pub fn household_gaps(household_id: &str, a: &Assessment, error_codes: &[ProblemCode]) -> Vec<Gap> {
    if a.verdict == Verdict::DataError {
        return problem_gaps(error_codes.iter().map(|c| (Some(household_id), 0, *c)));
    }
    a.failed
        .iter()
        .map(|c| Gap {
            kind: GapKind::of_criterion(c),
            subject: Subject::Household {
                id: household_id.into(),
            },
        })
        .collect()
}

/// Policy (基层资料规范化): each open problem on a record is a DATA gap per household and
/// code (several rows of one household with one code are one gap); a row without 户编号
/// is its own record. Unknown columns (W205), problems of a whole file (E101, E110) and
/// problems of plan files (P-codes) are no record's gap.
pub fn problem_gap(household_id: Option<&str>, line: u64, code: ProblemCode) -> Option<Gap> {
    if code == ProblemCode::W205 || code.is_file_level() || code.is_plan() {
        return None;
    }
    let record = match household_id.filter(|id| !id.is_empty()) {
        Some(id) => RecordKey::Household(id.into()),
        None => RecordKey::Line(line),
    };
    Some(Gap {
        kind: GapKind::Data,
        subject: Subject::Record { record, code },
    })
}

/// [`problem_gap`] over many problems `(户编号, line, code)`, each key once, in first-seen
/// order.
pub fn problem_gaps<'a>(
    problems: impl IntoIterator<Item = (Option<&'a str>, u64, ProblemCode)>,
) -> Vec<Gap> {
    let mut seen = HashSet::new();
    problems
        .into_iter()
        .filter_map(|(id, line, code)| problem_gap(id, line, code))
        .filter(|g| seen.insert(g.key()))
        .collect()
}

/// Policy (registry spec §3): each village condition given as 否 (road, power, broadband,
/// clinic) is a gap of the village; a condition not given is none.
pub fn village_condition_gaps(township: &str, village: &str, c: &VillageConditions) -> Vec<Gap> {
    [
        (c.road, GapKind::Road),
        (c.power, GapKind::Power),
        (c.broadband, GapKind::Broadband),
        (c.clinic, GapKind::Clinic),
    ]
    .into_iter()
    .filter(|(v, _)| *v == Some(false))
    .map(|(_, kind)| Gap {
        kind,
        subject: Subject::Village {
            township: township.into(),
            village: village.into(),
        },
    })
    .collect()
}

/// Policy (registry spec §3): a village whose incidence after exit is not strictly below
/// the threshold (2%, 3% in the west) has an INCIDENCE gap; without a population there
/// is no incidence and no gap.
pub fn village_incidence_gap(
    township: &str,
    village: &str,
    after: Option<Rate>,
    threshold_bp: u64,
) -> Option<Gap> {
    after.filter(|r| !r.below_bp(threshold_bp)).map(|_| Gap {
        kind: GapKind::Incidence,
        subject: Subject::Village {
            township: township.into(),
            village: village.into(),
        },
    })
}

/// The village's gaps: its unmet conditions, then its incidence.
pub fn village_gaps(
    township: &str,
    village: &str,
    c: &VillageConditions,
    after: Option<Rate>,
    threshold_bp: u64,
) -> Vec<Gap> {
    let mut v = village_condition_gaps(township, village, c);
    v.extend(village_incidence_gap(
        township,
        village,
        after,
        threshold_bp,
    ));
    v
}

/// Where a gap goes: a key task by 序号, or the headquarters' queue (指挥部) when no task
/// answers for its kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    Task(u32),
    Headquarters,
}

/// Policy (issue 5, DOMAIN "income"): an income gap of a household with a member able to
/// work goes to industry or employment (INCOME_LABOR), else to 兜底 social security
/// (INCOME_NO_LABOR); either falls back to a task owning INCOME.
pub fn owner_kinds(kind: GapKind, has_labor: bool) -> &'static [GapKind] {
    match (kind, has_labor) {
        (GapKind::Income, true) | (GapKind::IncomeLabor, _) => {
            &[GapKind::IncomeLabor, GapKind::Income]
        }
        (GapKind::Income, false) | (GapKind::IncomeNoLabor, _) => {
            &[GapKind::IncomeNoLabor, GapKind::Income]
        }
        (GapKind::Food, _) => &[GapKind::Food],
        (GapKind::Clothing, _) => &[GapKind::Clothing],
        (GapKind::Education, _) => &[GapKind::Education],
        (GapKind::Medical, _) => &[GapKind::Medical],
        (GapKind::Housing, _) => &[GapKind::Housing],
        (GapKind::Water, _) => &[GapKind::Water],
        (GapKind::Data, _) => &[GapKind::Data],
        (GapKind::Road, _) => &[GapKind::Road],
        (GapKind::Power, _) => &[GapKind::Power],
        (GapKind::Broadband, _) => &[GapKind::Broadband],
        (GapKind::Clinic, _) => &[GapKind::Clinic],
        (GapKind::Incidence, _) => &[GapKind::Incidence],
    }
}

/// Policy (plan.md, 负责问题): a gap goes to the task owning its kind (the smaller 序号 when
/// two do; income by labour capacity, see [`owner_kinds`]); a kind no task owns goes to
/// the headquarters' queue. `has_labor` matters only for income gaps.
pub fn route(plan: &Plan, gap: &Gap, has_labor: bool) -> Route {
    owner_kinds(gap.kind, has_labor)
        .iter()
        .find_map(|k| plan.owner_of(*k))
        .map_or(Route::Headquarters, |t| Route::Task(t.no))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::criteria::{CriteriaSet, Criterion};
    use crate::plan::{Deadline, KeyTask, UnitAssignment};

    fn task(no: u32, owns: &[GapKind]) -> KeyTask {
        KeyTask {
            no,
            name: format!("任务{no}"),
            leader: "副县长".into(),
            lead_unit: "县扶贫办".into(),
            units: vec![UnitAssignment {
                unit: "各乡镇人民政府".into(),
                owner: "乡镇长".into(),
            }],
            deadline: Deadline::Ongoing,
            owns: owns.to_vec(),
        }
    }

    fn plan(tasks: Vec<KeyTask>) -> Plan {
        Plan {
            year: 2018,
            name: "方案".into(),
            overall_post: "县委书记".into(),
            commander_post: "县长".into(),
            declared_tasks: None,
            tasks,
        }
    }

    fn hh(kind: GapKind) -> Gap {
        Gap {
            kind,
            subject: Subject::Household { id: "1".into() },
        }
    }

    #[test]
    fn income_routes_by_labour_capacity_with_income_as_fallback() {
        let p = plan(vec![
            task(7, &[GapKind::IncomeNoLabor]),
            task(11, &[GapKind::IncomeLabor]),
            task(20, &[GapKind::Income]),
        ]);
        assert_eq!(route(&p, &hh(GapKind::Income), true), Route::Task(11));
        assert_eq!(route(&p, &hh(GapKind::Income), false), Route::Task(7));
        let only_fallback = plan(vec![task(20, &[GapKind::Income])]);
        assert_eq!(
            route(&only_fallback, &hh(GapKind::Income), true),
            Route::Task(20)
        );
        assert_eq!(
            route(&only_fallback, &hh(GapKind::Income), false),
            Route::Task(20)
        );
        let only_labor = plan(vec![task(11, &[GapKind::IncomeLabor])]);
        assert_eq!(
            route(&only_labor, &hh(GapKind::Income), true),
            Route::Task(11)
        );
        assert_eq!(
            route(&only_labor, &hh(GapKind::Income), false),
            Route::Headquarters
        );
    }

    #[test]
    fn unowned_kind_goes_to_headquarters_and_smaller_no_wins() {
        let p = plan(vec![
            task(9, &[GapKind::Housing]),
            task(4, &[GapKind::Housing]),
        ]);
        assert_eq!(route(&p, &hh(GapKind::Housing), false), Route::Task(4));
        assert_eq!(route(&p, &hh(GapKind::Water), false), Route::Headquarters);
        assert_eq!(p.shared_ownership()[0].winner, 4);
        assert_eq!(p.shared_ownership()[0].others, vec![9]);
    }

    #[test]
    fn failed_criteria_and_data_errors_become_household_gaps() {
        let mut failed = CriteriaSet::default();
        failed.insert(Criterion::Water);
        failed.insert(Criterion::Income);
        let a = Assessment {
            verdict: Verdict::NotReady,
            per_capita: None,
            failed,
            explanation: String::new(),
        };
        let keys: Vec<String> = household_gaps("H1", &a, &[]).iter().map(Gap::key).collect();
        assert_eq!(keys, ["household:H1:INCOME", "household:H1:WATER"]);
        let e = Assessment {
            verdict: Verdict::DataError,
            failed: CriteriaSet::default(),
            ..a
        };
        let keys: Vec<String> = household_gaps(
            "H1",
            &e,
            &[ProblemCode::E105, ProblemCode::E103, ProblemCode::E105],
        )
        .iter()
        .map(Gap::key)
        .collect();
        assert_eq!(keys, ["data:household:H1:E105", "data:household:H1:E103"]);
    }

    #[test]
    fn every_found_kind_routes_to_its_owner_or_headquarters() {
        // One task per kind, numbered by the kind's place in ALL.
        let tasks = GapKind::ALL
            .iter()
            .enumerate()
            .map(|(i, k)| task(i as u32 + 1, &[*k]))
            .collect();
        let p = plan(tasks);
        let no = |k: GapKind| GapKind::ALL.iter().position(|x| *x == k).unwrap() as u32 + 1;
        for k in GapKind::FOUND {
            let expected = match k {
                GapKind::Income => no(GapKind::IncomeLabor),
                k => no(k),
            };
            assert_eq!(route(&p, &hh(k), true), Route::Task(expected), "{k}");
        }
        assert_eq!(
            route(&p, &hh(GapKind::Income), false),
            Route::Task(no(GapKind::IncomeNoLabor))
        );
        assert!(p.unowned_kinds().is_empty());
        let empty = plan(vec![]);
        for k in GapKind::FOUND {
            assert_eq!(route(&empty, &hh(k), true), Route::Headquarters, "{k}");
        }
        assert_eq!(empty.unowned_kinds(), GapKind::FOUND.to_vec());
    }

    #[test]
    fn villages_gaps_from_unmet_conditions_and_incidence() {
        let c = VillageConditions {
            road: Some(false),
            power: Some(true),
            broadband: Some(false),
            clinic: None,
        };
        let keys: Vec<String> = village_gaps("沙坪乡", "河湾村", &c, Rate::new(2, 100), 200)
            .iter()
            .map(Gap::key)
            .collect();
        assert_eq!(
            keys,
            [
                "village:沙坪乡:河湾村:ROAD",
                "village:沙坪乡:河湾村:BROADBAND",
                "village:沙坪乡:河湾村:INCIDENCE"
            ]
        );
        assert!(village_incidence_gap("沙坪乡", "河湾村", Rate::new(199, 10_000), 200).is_none());
        assert!(village_incidence_gap("沙坪乡", "河湾村", None, 200).is_none());
        assert!(village_incidence_gap("沙坪乡", "河湾村", Rate::new(299, 10_000), 300).is_none());
    }

    #[test]
    fn data_gaps_per_household_and_code_and_none_for_file_problems() {
        let gaps = problem_gaps([
            (Some("H1"), 2, ProblemCode::E105),
            (Some("H1"), 3, ProblemCode::E105),
            (Some("H1"), 3, ProblemCode::W201),
            (None, 9, ProblemCode::E102),
            (Some(""), 10, ProblemCode::E102),
            (None, 1, ProblemCode::W205),
            (None, 0, ProblemCode::E101),
            (Some("H2"), 4, ProblemCode::E110),
        ]);
        let keys: Vec<String> = gaps.iter().map(Gap::key).collect();
        assert_eq!(
            keys,
            [
                "data:household:H1:E105",
                "data:household:H1:W201",
                "data:line:9:E102",
                "data:line:10:E102"
            ]
        );
        assert_eq!(gaps[0].household(), Some("H1"));
        assert_eq!(gaps[2].household(), None);
    }

    #[test]
    fn keys_are_stable_across_reassessment() {
        // The same household failing the same criterion in a later version, with other
        // rows, other lines and another explanation, is the same gap.
        let mut failed = CriteriaSet::default();
        failed.insert(Criterion::Housing);
        let first = Assessment {
            verdict: Verdict::NotReady,
            per_capita: None,
            failed,
            explanation: "第一次".into(),
        };
        let mut failed2 = failed;
        failed2.insert(Criterion::Medical);
        let later = Assessment {
            verdict: Verdict::WrongExit,
            per_capita: None,
            failed: failed2,
            explanation: "第二次".into(),
        };
        let a = household_gaps("1409300001", &first, &[]);
        let b = household_gaps("1409300001", &later, &[]);
        assert_eq!(a[0].key(), "household:1409300001:HOUSING");
        assert!(b.iter().any(|g| g.key() == a[0].key()));
        assert_eq!(
            problem_gap(Some("H1"), 5, ProblemCode::E105).map(|g| g.key()),
            problem_gap(Some("H1"), 50, ProblemCode::E105).map(|g| g.key())
        );
        assert_eq!(a[0].title(), "户 1409300001：住房安全有保障未达到");
    }
}
