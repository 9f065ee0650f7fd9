//! The responsibility plan (责任分解方案, shared spec `plan.md` v1): the county's key tasks
//! (重点工作), each with one responsible county leader, a lead unit, implementing units with
//! one responsible person each, a deadline, and the kinds of gap it answers for.
//!
//! Pure: reading a plan file is in `fupin_io::plan_file`; deriving gaps and routing them to
//! tasks is in [`crate::gap`].

use crate::criteria::Criterion;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A county's plan for one year.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub year: i32,
    /// E.g. 河曲县2018年脱贫攻坚重点工作责任分解方案.
    pub name: String,
    /// The post bearing overall responsibility (负总责), e.g. 县委书记.
    pub overall_post: String,
    /// The commander's post (指挥长), e.g. 县长.
    pub commander_post: String,
    /// The number of key tasks the plan announces, when it says; may differ from the
    /// number listed (the seed article announces 26 and lists 25).
    pub declared_tasks: Option<u32>,
    /// In ascending 序号.
    pub tasks: Vec<KeyTask>,
}

/// One key task (重点工作).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyTask {
    /// 序号.
    pub no: u32,
    /// 重点工作.
    pub name: String,
    /// 责任领导: a name or a post, exactly one.
    pub leader: String,
    /// 牵头单位.
    pub lead_unit: String,
    /// 落实单位 with their 落实单位责任人, one to one, in file order.
    pub units: Vec<UnitAssignment>,
    /// 完成时限.
    pub deadline: Deadline,
    /// 负责问题: the kinds of gap this task answers for, in file order, without repeats.
    pub owns: Vec<GapKind>,
}

/// An implementing unit (落实单位) and its responsible person (落实单位责任人).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UnitAssignment {
    pub unit: String,
    pub owner: String,
}

/// 完成时限: a date, 长期 (ongoing), or not given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Deadline {
    Date(NaiveDate),
    /// 长期.
    Ongoing,
    #[default]
    None,
}

/// A deadline that is not a date in an accepted form, nor 长期.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadDeadline;

impl fmt::Display for BadDeadline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "完成时限应为 {DEADLINE_ALLOWED}")
    }
}

impl std::error::Error for BadDeadline {}

/// What a deadline cell may hold, for messages.
pub const DEADLINE_ALLOWED: &str = "2018-10-31、2018/10/31、2018年10月31日 或 长期（可留空）";

impl Deadline {
    /// Read a deadline: `2018-10-31`, `2018/10/31`, `2018年10月31日` (month and day with
    /// one or two digits), `长期`, or empty. Err for anything else, or a date that does
    /// not exist (2018-02-30).
    pub fn parse(text: &str) -> Result<Deadline, BadDeadline> {
        let t = text.trim();
        if t.is_empty() {
            return Ok(Deadline::None);
        }
        if t == "长期" {
            return Ok(Deadline::Ongoing);
        }
        let parts: Vec<&str> = if let Some(rest) = t.strip_suffix('日') {
            let (y, rest) = rest.split_once('年').ok_or(BadDeadline)?;
            let (m, d) = rest.split_once('月').ok_or(BadDeadline)?;
            vec![y, m, d]
        } else if t.contains('-') {
            t.split('-').collect()
        } else {
            t.split('/').collect()
        };
        let [y, m, d] = parts[..] else {
            return Err(BadDeadline);
        };
        let digits = |s: &str, min: usize, max: usize| {
            (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
        };
        if !(digits(y, 4, 4) && digits(m, 1, 2) && digits(d, 1, 2)) {
            return Err(BadDeadline);
        }
        let (y, m, d) = (
            y.parse().map_err(|_| BadDeadline)?,
            m.parse().map_err(|_| BadDeadline)?,
            d.parse().map_err(|_| BadDeadline)?,
        );
        NaiveDate::from_ymd_opt(y, m, d)
            .map(Deadline::Date)
            .ok_or(BadDeadline)
    }

    /// The date, when the deadline is one.
    pub fn date(self) -> Option<NaiveDate> {
        match self {
            Deadline::Date(d) => Some(d),
            _ => None,
        }
    }

    /// As a person writes it: `2018年10月31日`, `长期`, or empty.
    pub fn label(self) -> String {
        match self {
            Deadline::Date(d) => format!("{}年{}月{}日", d.year(), d.month(), d.day()),
            Deadline::Ongoing => "长期".into(),
            Deadline::None => String::new(),
        }
    }

    /// The machine form used in JSON: `2018-10-31`, `长期`, or None.
    pub fn iso(self) -> Option<String> {
        match self {
            Deadline::Date(d) => Some(d.format("%Y-%m-%d").to_string()),
            Deadline::Ongoing => Some("长期".into()),
            Deadline::None => None,
        }
    }
}

impl Serialize for Deadline {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.iso().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Deadline {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Deadline, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        Deadline::parse(text.as_deref().unwrap_or(""))
            .map_err(|_| serde::de::Error::custom(format!("完成时限应为 {DEADLINE_ALLOWED}")))
    }
}

impl fmt::Display for Deadline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// The kinds of gap (短板) a plan task can answer for: the seven household criteria, two
/// refinements of INCOME by labour capacity, open data problems, and the village
/// conditions of registry spec §3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GapKind {
    /// 收入稳定超过现行标准 not met; the fallback owner for both refinements below.
    Income,
    /// An income gap of a household with a member able to work (industry, employment).
    IncomeLabor,
    /// An income gap of a household with no member able to work (兜底 social security).
    IncomeNoLabor,
    Food,
    Clothing,
    Education,
    Medical,
    Housing,
    Water,
    /// Open data problems on a household's rows (基层资料规范化).
    Data,
    /// A village without a hardened road (通硬化路 = 否).
    Road,
    /// A village without power for production (通动力电 = 否).
    Power,
    /// A village without broadband (通宽带 = 否).
    Broadband,
    /// A village without a clinic (有卫生室 = 否).
    Clinic,
    /// A village whose poverty incidence after exit is not below the threshold.
    Incidence,
}

impl GapKind {
    /// Every kind, in the order plans and reports list them.
    pub const ALL: [GapKind; 15] = [
        GapKind::Income,
        GapKind::IncomeLabor,
        GapKind::IncomeNoLabor,
        GapKind::Food,
        GapKind::Clothing,
        GapKind::Education,
        GapKind::Medical,
        GapKind::Housing,
        GapKind::Water,
        GapKind::Data,
        GapKind::Road,
        GapKind::Power,
        GapKind::Broadband,
        GapKind::Clinic,
        GapKind::Incidence,
    ];

    /// The kinds that gaps are found as; INCOME_LABOR and INCOME_NO_LABOR are only ever
    /// owned (an income gap is found as INCOME and routed by labour capacity).
    pub const FOUND: [GapKind; 13] = GapKind::found_kinds();

    /// [`GapKind::ALL`] without the two income refinements, in the same order.
    const fn found_kinds() -> [GapKind; 13] {
        let mut found = [GapKind::Income; 13];
        let (mut i, mut n) = (0, 0);
        while i < GapKind::ALL.len() {
            let k = GapKind::ALL[i];
            if !matches!(k, GapKind::IncomeLabor | GapKind::IncomeNoLabor) {
                found[n] = k;
                n += 1;
            }
            i += 1;
        }
        assert!(n == found.len(), "every kind but the refinements is found");
        found
    }

    pub fn code(self) -> &'static str {
        match self {
            GapKind::Income => "INCOME",
            GapKind::IncomeLabor => "INCOME_LABOR",
            GapKind::IncomeNoLabor => "INCOME_NO_LABOR",
            GapKind::Food => "FOOD",
            GapKind::Clothing => "CLOTHING",
            GapKind::Education => "EDUCATION",
            GapKind::Medical => "MEDICAL",
            GapKind::Housing => "HOUSING",
            GapKind::Water => "WATER",
            GapKind::Data => "DATA",
            GapKind::Road => "ROAD",
            GapKind::Power => "POWER",
            GapKind::Broadband => "BROADBAND",
            GapKind::Clinic => "CLINIC",
            GapKind::Incidence => "INCIDENCE",
        }
    }

    /// The standard or condition not met, in Chinese.
    pub fn chinese(self) -> &'static str {
        match self {
            GapKind::Income => Criterion::Income.chinese(),
            GapKind::IncomeLabor => "有劳动能力户收入未达标",
            GapKind::IncomeNoLabor => "无劳动能力户收入未达标",
            GapKind::Food => Criterion::Food.chinese(),
            GapKind::Clothing => Criterion::Clothing.chinese(),
            GapKind::Education => Criterion::Education.chinese(),
            GapKind::Medical => Criterion::Medical.chinese(),
            GapKind::Housing => Criterion::Housing.chinese(),
            GapKind::Water => Criterion::Water.chinese(),
            GapKind::Data => "基础资料问题",
            GapKind::Road => "通硬化路",
            GapKind::Power => "通动力电",
            GapKind::Broadband => "通宽带",
            GapKind::Clinic => "有卫生室",
            GapKind::Incidence => "贫困发生率降至退出标准以下",
        }
    }

    /// Read a code from a plan file: the code in any letter case (`housing`), or the
    /// Chinese name (`住房安全有保障`).
    pub fn parse(text: &str) -> Option<GapKind> {
        let t = text.trim();
        GapKind::ALL
            .into_iter()
            .find(|k| k.code().eq_ignore_ascii_case(t) || k.chinese() == t)
    }

    /// The codes a plan file may use, for messages.
    pub fn allowed() -> String {
        GapKind::ALL.map(GapKind::code).join("、")
    }

    /// The gap kind of a failed household criterion.
    pub fn of_criterion(c: Criterion) -> GapKind {
        match c {
            Criterion::Income => GapKind::Income,
            Criterion::Food => GapKind::Food,
            Criterion::Clothing => GapKind::Clothing,
            Criterion::Education => GapKind::Education,
            Criterion::Medical => GapKind::Medical,
            Criterion::Housing => GapKind::Housing,
            Criterion::Water => GapKind::Water,
        }
    }

    /// Whether gaps of this kind belong to a household (else to a village, or a record).
    pub fn is_household_criterion(self) -> bool {
        matches!(
            self,
            GapKind::Income
                | GapKind::IncomeLabor
                | GapKind::IncomeNoLabor
                | GapKind::Food
                | GapKind::Clothing
                | GapKind::Education
                | GapKind::Medical
                | GapKind::Housing
                | GapKind::Water
        )
    }

    /// Whether gaps of this kind belong to a village.
    pub fn is_village_condition(self) -> bool {
        matches!(
            self,
            GapKind::Road
                | GapKind::Power
                | GapKind::Broadband
                | GapKind::Clinic
                | GapKind::Incidence
        )
    }
}

impl fmt::Display for GapKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The separators of a list cell (落实单位, 落实单位责任人, 负责问题): 、 ， , ； ;
pub const LIST_SEPARATORS: [char; 5] = ['、', '，', ',', '；', ';'];

/// Split a list cell at any of [`LIST_SEPARATORS`]; pieces are trimmed and empty pieces
/// dropped (`县水利局、 县住建局、` → two units).
pub fn split_list(text: &str) -> Vec<&str> {
    text.split(LIST_SEPARATORS)
        .map(crate::fields::trim_cell)
        .filter(|s| !s.is_empty())
        .collect()
}

/// A kind owned by more than one task: the winner and the others, all by 序号.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedOwnership {
    pub kind: GapKind,
    pub winner: u32,
    pub others: Vec<u32>,
}

impl Plan {
    /// The task with this 序号.
    pub fn task(&self, no: u32) -> Option<&KeyTask> {
        self.tasks.iter().find(|t| t.no == no)
    }

    /// The task answering for this kind exactly (no fallback): when two tasks own it, the
    /// one with the smaller 序号 wins, whatever the order of the rows.
    pub fn owner_of(&self, kind: GapKind) -> Option<&KeyTask> {
        self.tasks
            .iter()
            .filter(|t| t.owns.contains(&kind))
            .min_by_key(|t| t.no)
    }

    /// Kinds owned by more than one task, in [`GapKind::ALL`] order.
    pub fn shared_ownership(&self) -> Vec<SharedOwnership> {
        GapKind::ALL
            .into_iter()
            .filter_map(|kind| {
                let mut owners: Vec<u32> = self
                    .tasks
                    .iter()
                    .filter(|t| t.owns.contains(&kind))
                    .map(|t| t.no)
                    .collect();
                owners.sort_unstable();
                (owners.len() > 1).then(|| SharedOwnership {
                    kind,
                    winner: owners[0],
                    others: owners[1..].to_vec(),
                })
            })
            .collect()
    }

    /// Kinds some task owns, in [`GapKind::ALL`] order.
    pub fn owned_kinds(&self) -> Vec<GapKind> {
        GapKind::ALL
            .into_iter()
            .filter(|k| self.owner_of(*k).is_some())
            .collect()
    }

    /// Kinds found as gaps that would go to the headquarters' queue, whatever a
    /// household's labour capacity (INCOME counts as routed when INCOME is owned, or both
    /// INCOME_LABOR and INCOME_NO_LABOR are).
    pub fn unowned_kinds(&self) -> Vec<GapKind> {
        GapKind::FOUND
            .into_iter()
            .filter(|k| match k {
                GapKind::Income => {
                    self.owner_of(GapKind::Income).is_none()
                        && (self.owner_of(GapKind::IncomeLabor).is_none()
                            || self.owner_of(GapKind::IncomeNoLabor).is_none())
                }
                k => self.owner_of(*k).is_none(),
            })
            .collect()
    }

    /// Implementing-unit assignments over all tasks.
    pub fn assignment_count(&self) -> usize {
        self.tasks.iter().map(|t| t.units.len()).sum()
    }

    /// Distinct units named as lead or implementing unit, sorted.
    pub fn distinct_units(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .tasks
            .iter()
            .flat_map(|t| {
                std::iter::once(t.lead_unit.as_str()).chain(t.units.iter().map(|u| u.unit.as_str()))
            })
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The plan as if issued on `start` (the demo, run years after its plan's year): every
    /// dated 完成时限 keeps its distance from 1 January of the plan's year, counted from
    /// `start`; 长期 and no deadline stay; the year, tasks and routing do not change.
    pub fn issued_on(&self, start: NaiveDate) -> Plan {
        let Some(year_start) = NaiveDate::from_ymd_opt(self.year, 1, 1) else {
            return self.clone();
        };
        let by = start.signed_duration_since(year_start);
        let mut plan = self.clone();
        for t in &mut plan.tasks {
            if let Deadline::Date(d) = t.deadline {
                t.deadline = Deadline::Date(d.checked_add_signed(by).unwrap_or(d));
            }
        }
        plan
    }

    /// Whether the declared number of tasks differs from the number listed.
    pub fn declared_mismatch(&self) -> Option<(u32, usize)> {
        self.declared_tasks
            .filter(|d| *d as usize != self.tasks.len())
            .map(|d| (d, self.tasks.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> Deadline {
        Deadline::Date(NaiveDate::from_ymd_opt(y, m, d).unwrap())
    }

    #[test]
    fn deadlines_in_every_accepted_form() {
        assert_eq!(Deadline::parse("2018-10-31"), Ok(date(2018, 10, 31)));
        assert_eq!(Deadline::parse("2018/10/31"), Ok(date(2018, 10, 31)));
        assert_eq!(Deadline::parse("2018年10月31日"), Ok(date(2018, 10, 31)));
        assert_eq!(Deadline::parse("2018年9月5日"), Ok(date(2018, 9, 5)));
        assert_eq!(Deadline::parse(" 长期 "), Ok(Deadline::Ongoing));
        assert_eq!(Deadline::parse(""), Ok(Deadline::None));
        for bad in [
            "2018-02-30",
            "2018.10.31",
            "10月底",
            "2018-10",
            "18-10-31",
            "2018年10月31",
            "2018-10/31",
            "年底前",
        ] {
            assert_eq!(Deadline::parse(bad), Err(BadDeadline), "{bad}");
        }
        assert_eq!(date(2018, 9, 5).label(), "2018年9月5日");
        assert_eq!(date(2018, 9, 5).iso().as_deref(), Some("2018-09-05"));
    }

    #[test]
    fn gap_codes_parse_in_any_case_or_by_chinese_name() {
        for k in GapKind::ALL {
            assert_eq!(GapKind::parse(k.code()), Some(k));
            assert_eq!(GapKind::parse(&k.code().to_lowercase()), Some(k));
            assert_eq!(GapKind::parse(k.chinese()), Some(k));
        }
        assert_eq!(GapKind::parse("SCHOOL"), None);
    }

    #[test]
    fn lists_split_at_every_separator() {
        assert_eq!(
            split_list("县住建局、县水利局，县财政局,县民政局；县医保局;各乡镇人民政府"),
            vec![
                "县住建局",
                "县水利局",
                "县财政局",
                "县民政局",
                "县医保局",
                "各乡镇人民政府"
            ]
        );
        assert_eq!(split_list(" 局长、 、"), vec!["局长"]);
        assert!(split_list("").is_empty());
    }

    /// The demo's plan: dated deadlines keep their distance from 1 January of the plan's
    /// year, counted from the day it is issued; 长期 and none stay; nothing else changes.
    #[test]
    fn a_plan_issued_later_keeps_its_deadlines_distance_from_the_start_of_its_year() {
        let task = |no, deadline| KeyTask {
            no,
            name: format!("任务{no}"),
            leader: "常务副县长".into(),
            lead_unit: "县扶贫办".into(),
            units: Vec::new(),
            deadline,
            owns: Vec::new(),
        };
        let plan = Plan {
            year: 2018,
            name: "2018年方案".into(),
            overall_post: "县委书记".into(),
            commander_post: "县长".into(),
            declared_tasks: None,
            tasks: vec![
                task(1, date(2018, 6, 30)),
                task(2, date(2018, 12, 31)),
                task(3, Deadline::Ongoing),
                task(4, Deadline::None),
            ],
        };
        let start = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        let issued = plan.issued_on(start);
        // 2018-06-30 is day 180 of 2018, 2018-12-31 day 364.
        assert_eq!(issued.tasks[0].deadline, date(2027, 5, 28));
        assert_eq!(issued.tasks[1].deadline, date(2027, 11, 28));
        assert_eq!(issued.tasks[2].deadline, Deadline::Ongoing);
        assert_eq!(issued.tasks[3].deadline, Deadline::None);
        let mut back = issued.clone();
        for (t, o) in back.tasks.iter_mut().zip(&plan.tasks) {
            t.deadline = o.deadline;
        }
        assert_eq!(back, plan);
        // Issued on its own 1 January, it is the plan itself.
        let own = NaiveDate::from_ymd_opt(2018, 1, 1).unwrap();
        assert_eq!(plan.issued_on(own), plan);
    }
}
