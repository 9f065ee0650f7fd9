//! Who may do what, in one place: the roles, the area each reads ([`Scope`],
//! [`ItemScope`]), who acts ([`Actor`]) and [`may`], which answers every "may this actor
//! do this?" the program asks, with a [`Refusal`] in words for the user.
//!
//! The store and the web ask [`may`] before they write; what a role reads is its scope,
//! applied in SQL by the store.

use crate::work_item::WorkAction;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a user does, and where: the role decides what they may change, and its area
/// decides what they may read ([`Scope::of`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Role {
    /// 县扶贫办（指挥部）管理员: everything, accounts and imports included.
    HqAdmin,
    /// 县领导: reads the whole county.
    CountyLeader,
    /// 行业部门（单位）工作人员: reads the whole register (read-only for now).
    UnitStaff { unit: String },
    /// 乡镇工作人员: one township.
    TownshipStaff { township: String },
    /// 村级工作人员: one village.
    VillageStaff { township: String, village: String },
    /// 督查/考核人员: reads the whole county, changes nothing.
    Inspector,
}

impl Role {
    pub const WORDS: [&'static str; 6] = [
        "hq_admin",
        "county_leader",
        "unit_staff",
        "township_staff",
        "village_staff",
        "inspector",
    ];

    /// The roles' names for people, in [`Role::WORDS`] order.
    const CHINESE: [&'static str; 6] = [
        "指挥部管理员",
        "县领导",
        "行业部门工作人员",
        "乡镇工作人员",
        "村级工作人员",
        "督查人员",
    ];

    /// Its place in [`Role::WORDS`].
    fn index(&self) -> usize {
        match self {
            Role::HqAdmin => 0,
            Role::CountyLeader => 1,
            Role::UnitStaff { .. } => 2,
            Role::TownshipStaff { .. } => 3,
            Role::VillageStaff { .. } => 4,
            Role::Inspector => 5,
        }
    }

    /// The machine word stored in the database: `township_staff`.
    pub fn word(&self) -> &'static str {
        Role::WORDS[self.index()]
    }

    pub fn chinese(&self) -> &'static str {
        Role::CHINESE[self.index()]
    }

    /// A role from its word and the names that go with it (a form, the command line, a
    /// database row). Names are trimmed; a name the role does not use must be absent.
    pub fn parse(
        word: &str,
        township: Option<&str>,
        village: Option<&str>,
        unit: Option<&str>,
    ) -> Result<Role, String> {
        fn name(v: Option<&str>) -> Option<&str> {
            v.map(str::trim).filter(|s| !s.is_empty())
        }
        let (township, village, unit) = (name(township), name(village), name(unit));
        let need = |v: Option<&str>, what: &str| {
            v.map(str::to_string)
                .ok_or_else(|| format!("角色 {word} 需要填写{what}"))
        };
        let role = match word {
            "hq_admin" => Role::HqAdmin,
            "county_leader" => Role::CountyLeader,
            "inspector" => Role::Inspector,
            "unit_staff" => Role::UnitStaff {
                unit: need(unit, "单位")?,
            },
            "township_staff" => Role::TownshipStaff {
                township: need(township, "乡镇")?,
            },
            "village_staff" => Role::VillageStaff {
                township: need(township, "乡镇")?,
                village: need(village, "行政村")?,
            },
            _ => {
                return Err(format!(
                    "未知角色「{word}」：应为 {}",
                    Role::WORDS.join("、")
                ))
            }
        };
        let (t, v, u) = role.names();
        if (township.is_some() && t.is_none())
            || (village.is_some() && v.is_none())
            || (unit.is_some() && u.is_none())
        {
            return Err(format!(
                "角色 {word} 不应填写{}",
                [
                    (township, t, "乡镇"),
                    (village, v, "行政村"),
                    (unit, u, "单位")
                ]
                .iter()
                .filter(|(given, used, _)| given.is_some() && used.is_none())
                .map(|x| x.2)
                .collect::<Vec<_>>()
                .join("、")
            ));
        }
        Ok(role)
    }

    /// (township, village, unit) as stored.
    pub fn names(&self) -> (Option<&str>, Option<&str>, Option<&str>) {
        match self {
            Role::UnitStaff { unit } => (None, None, Some(unit)),
            Role::TownshipStaff { township } => (Some(township), None, None),
            Role::VillageStaff { township, village } => (Some(township), Some(village), None),
            _ => (None, None, None),
        }
    }

    /// Read-only roles change nothing.
    pub fn read_only(&self) -> bool {
        matches!(self, Role::Inspector | Role::UnitStaff { .. })
    }
}

impl Role {
    /// Who acts with this role, as the rules see it; `post` is a county leader's post.
    pub fn actor<'a>(&'a self, post: Option<&'a str>) -> Actor<'a> {
        match self {
            Role::HqAdmin => Actor::Headquarters,
            Role::Inspector => Actor::Inspector,
            Role::CountyLeader => Actor::CountyLeader { post },
            Role::UnitStaff { unit } => Actor::UnitStaff {
                unit: unit.as_str(),
            },
            Role::TownshipStaff { township } => Actor::AreaStaff {
                township,
                village: None,
            },
            Role::VillageStaff { township, village } => Actor::AreaStaff {
                township,
                village: Some(village),
            },
        }
    }
}

/// The area a user may read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scope", rename_all = "snake_case")]
pub enum Scope {
    /// The whole county: headquarters admin, county leader, inspector, unit staff.
    County,
    /// One township (乡镇): township staff.
    Township { township: String },
    /// One administrative village (行政村) of a township: village staff.
    Village { township: String, village: String },
}

impl Scope {
    /// Policy (issue 2, 分级查看): township and village staff read their own area; the
    /// others, unit staff included (read-only), the whole county.
    pub fn of(role: &Role) -> Scope {
        match role {
            Role::HqAdmin | Role::CountyLeader | Role::Inspector | Role::UnitStaff { .. } => {
                Scope::County
            }
            Role::TownshipStaff { township } => Scope::Township {
                township: township.clone(),
            },
            Role::VillageStaff { township, village } => Scope::Village {
                township: township.clone(),
                village: village.clone(),
            },
        }
    }

    pub fn is_county(&self) -> bool {
        matches!(self, Scope::County)
    }

    /// Whether a village lies in this scope.
    pub fn contains(&self, township: &str, village: &str) -> bool {
        match self {
            Scope::County => true,
            Scope::Township { township: t } => t == township,
            Scope::Village {
                township: t,
                village: v,
            } => t == township && v == village,
        }
    }
}

/// What part of gaps, work items and projects a user may read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemScope {
    /// Headquarters, county leaders, inspectors.
    All,
    /// Unit staff: items assigned to their unit, gaps routed to it.
    Unit(String),
    /// Township and village staff: items and gaps in their area.
    Area(Scope),
}

impl ItemScope {
    /// Policy (issue 5, 谁的事谁看): a unit reads what is routed to it, township and
    /// village staff what lies in their area, the others everything.
    pub fn of(role: &Role) -> ItemScope {
        match role {
            Role::HqAdmin | Role::CountyLeader | Role::Inspector => ItemScope::All,
            Role::UnitStaff { unit } => ItemScope::Unit(unit.clone()),
            r => ItemScope::Area(Scope::of(r)),
        }
    }
}

/// Who is acting, as the rules see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor<'a> {
    /// 指挥部管理员 (HqAdmin).
    Headquarters,
    /// 督查/考核人员.
    Inspector,
    /// 县领导 with the post their account carries (None: no post set).
    CountyLeader { post: Option<&'a str> },
    /// 行业部门工作人员 of a unit.
    UnitStaff { unit: &'a str },
    /// 乡镇工作人员 (`village` None) or 村级工作人员 of their area: they read it, and change
    /// its register through change requests.
    AreaStaff {
        township: &'a str,
        village: Option<&'a str>,
    },
}

/// Something an actor wants to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action<'a> {
    /// Accounts, imports of the register and the plan, leaders' posts, settings: the
    /// headquarters' administration.
    Administer,
    /// 交办: make a work item (from gaps or by hand).
    AssignWork,
    /// 升级督办 of every overdue item at once.
    EscalateOverdue,
    /// 改期、改派 a work item.
    EditItem,
    /// A step on a work item assigned to `unit`, whose task's leader is `leader`.
    Item {
        step: WorkAction,
        unit: &'a str,
        leader: Option<&'a str>,
    },
    /// 新建或修改 a project of the project library.
    EditProject,
    /// Set the rule that says which projects are behind schedule (进度滞后).
    SetScheduleRule,
    /// Record fund entries for some project (an upload of entries for many projects).
    RecordAnyEntry,
    /// Record a fund entry (or move the stage, link a beneficiary) of a project that
    /// `unit` implements; `overriding` the budget.
    RecordEntry { unit: &'a str, overriding: bool },
    /// Link a household to a project of `project_township` as its beneficiary (带贫户);
    /// `household_township` is the household's township in the current register, None
    /// when the 户编号 is not in it.
    LinkBeneficiary {
        project_township: &'a str,
        household_no: &'a str,
        household_township: Option<&'a str>,
    },
    /// Record an inspection, its sample, results and findings.
    RecordInspection,
    /// 提交变更申请 for a household of (`township`, `village`).
    SubmitChange { township: &'a str, village: &'a str },
    /// 审核 (approve or send back) a change request for a household of `township`;
    /// `own`: the actor submitted it.
    ReviewChange { township: &'a str, own: bool },
    /// Apply a change to the register without review (直接变更).
    ApplyChange,
}

/// Why something was refused, in words for the user; the kind says how the web answers
/// (403, 409, 422).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The actor may not do this (403).
    Forbidden(String),
    /// Not from the state things are in now: a step from the wrong state, something
    /// already done, changed meanwhile by someone else (409).
    Conflict(String),
    /// What was asked is not acceptable as given: a missing reason, a value out of
    /// range, a household that does not qualify (422).
    Invalid(String),
}

impl Refusal {
    pub fn message(&self) -> &str {
        match self {
            Refusal::Forbidden(m) | Refusal::Conflict(m) | Refusal::Invalid(m) => m,
        }
    }

    pub fn into_message(self) -> String {
        match self {
            Refusal::Forbidden(m) | Refusal::Conflict(m) | Refusal::Invalid(m) => m,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Refusal {}

/// Whether `actor` may do `action`. Every who-may-do-what rule of fupin is an arm here;
/// the state an object is in is checked by its own rules (e.g. `work_item::can`).
pub fn may(actor: Actor<'_>, action: Action<'_>) -> Result<(), Refusal> {
    let hq = actor == Actor::Headquarters;
    let forbid = |m: String| Err(Refusal::Forbidden(m));
    match action {
        // Policy (issue 1, 指挥部统筹): accounts, imports and settings are headquarters'.
        Action::Administer if hq => Ok(()),
        Action::Administer => forbid("此功能仅限指挥部管理员使用".into()),
        // Policy (issue 5, 交办): headquarters assigns work and escalates.
        Action::AssignWork if hq => Ok(()),
        Action::AssignWork => forbid("只有指挥部可以交办事项".into()),
        Action::EscalateOverdue if hq => Ok(()),
        Action::EscalateOverdue => forbid("只有指挥部可以升级督办".into()),
        // Policy (issue 5): only headquarters changes a deadline or reassigns.
        Action::EditItem if hq => Ok(()),
        Action::EditItem => forbid("只有指挥部可以调整事项的时限或承办单位".into()),
        Action::Item { step, unit, leader } => may_step(actor, step, unit, leader),
        // Policy (issue 7, 项目库): headquarters keeps the project library and its rule.
        Action::EditProject if hq => Ok(()),
        Action::EditProject => forbid("只有指挥部管理员可以新建或修改项目库中的项目".into()),
        Action::SetScheduleRule if hq => Ok(()),
        Action::SetScheduleRule => forbid("只有指挥部管理员可以设置进度滞后规则".into()),
        Action::RecordAnyEntry => match actor {
            Actor::Headquarters | Actor::UnitStaff { .. } => Ok(()),
            _ => forbid("只有指挥部和项目实施单位可以登记资金拨付".into()),
        },
        Action::RecordEntry { unit, overriding } => may_record_entry(actor, unit, overriding),
        Action::LinkBeneficiary {
            project_township,
            household_no,
            household_township,
        } => may_link(actor, project_township, household_no, household_township),
        // Policy (issue 6): headquarters and inspectors record inspections; others read.
        Action::RecordInspection => match actor {
            Actor::Headquarters | Actor::Inspector => Ok(()),
            _ => forbid("只有指挥部或督查人员可以录入考核评估".into()),
        },
        Action::SubmitChange { township, village } => may_submit_change(actor, township, village),
        Action::ReviewChange { township, own } => may_review_change(actor, township, own),
        // Policy (issue 14): headquarters may change the register directly.
        Action::ApplyChange if hq => Ok(()),
        Action::ApplyChange => forbid("只有指挥部可以不经审核直接变更登记信息".into()),
    }
}

/// Whether the actor is township staff of `township`.
fn township_staff_of(actor: Actor<'_>, township: &str) -> bool {
    matches!(actor, Actor::AreaStaff { township: t, village: None } if t == township)
}

/// Policy (issue 14, 村报乡审): village staff submit changes for households of their
/// village, township staff for their township, headquarters for any; units, leaders and
/// inspectors do not change the register.
fn may_submit_change(actor: Actor<'_>, township: &str, village: &str) -> Result<(), Refusal> {
    match actor {
        Actor::Headquarters => Ok(()),
        a if township_staff_of(a, township) => Ok(()),
        Actor::AreaStaff {
            township: t,
            village: Some(v),
        } if t == township && v == village => Ok(()),
        Actor::AreaStaff { .. } => Err(Refusal::Forbidden(format!(
            "「{township}{village}」不在您负责的范围内，不能为该户提交变更申请"
        ))),
        _ => Err(Refusal::Forbidden(
            "只有村、乡镇工作人员和指挥部可以提交变更申请".into(),
        )),
    }
}

/// Policy (issue 14, 村报乡审): the household's township staff, or headquarters, approve
/// or send back a change; nobody reviews their own request.
fn may_review_change(actor: Actor<'_>, township: &str, own: bool) -> Result<(), Refusal> {
    if own {
        return Err(Refusal::Forbidden(
            "不能审核自己提交的变更申请：请由乡镇其他工作人员或指挥部审核".into(),
        ));
    }
    match actor {
        Actor::Headquarters => Ok(()),
        a if township_staff_of(a, township) => Ok(()),
        _ => Err(Refusal::Forbidden(format!(
            "只有「{township}」的乡镇工作人员或指挥部可以审核该户的变更申请"
        ))),
    }
}

/// Policy (issue 5, 交办 → 整改 → 验收 → 销号): the assigned unit's staff move their own
/// unit's items (start, report, report done), and so may headquarters; only headquarters
/// or an inspector checks and closes (销号) or sends an item back; headquarters and the
/// task's responsible leader remind (催办); headquarters escalates. Township and village
/// staff only read.
fn may_step(
    actor: Actor<'_>,
    step: WorkAction,
    unit: &str,
    leader: Option<&str>,
) -> Result<(), Refusal> {
    use WorkAction as A;
    let own_unit = matches!(actor, Actor::UnitStaff { unit: u } if u == unit);
    let hq = actor == Actor::Headquarters;
    let is_leader = matches!(actor, Actor::CountyLeader { post: Some(p) } if Some(p) == leader);
    let (allowed, who) = match step {
        A::Start | A::Report | A::Complete => {
            (hq || own_unit, format!("承办单位（{unit}）或指挥部"))
        }
        A::Close | A::Reopen => (hq || actor == Actor::Inspector, "指挥部或督查人员".into()),
        A::Remind => (hq || is_leader, "指挥部或该任务的责任领导".into()),
        A::Escalate => (hq, "指挥部".into()),
    };
    if allowed {
        Ok(())
    } else {
        Err(Refusal::Forbidden(format!(
            "只有{who}可以「{}」",
            step.chinese()
        )))
    }
}

/// Policy (issue 7, who records): headquarters records entries for any project, a unit's
/// staff for the projects their unit implements; county leaders, inspectors, township and
/// village staff only read. Overrides of the budget are headquarters' alone.
fn may_record_entry(actor: Actor<'_>, project_unit: &str, overriding: bool) -> Result<(), Refusal> {
    let m = match actor {
        Actor::Headquarters => return Ok(()),
        Actor::UnitStaff { unit } if unit == project_unit && !overriding => return Ok(()),
        Actor::UnitStaff { unit } if unit == project_unit => {
            "超预算拨付只能由指挥部管理员登记".to_string()
        }
        Actor::UnitStaff { .. } => {
            format!("只有实施单位「{project_unit}」或指挥部可以登记本项目的资金拨付")
        }
        _ => "只有指挥部和项目实施单位可以登记资金拨付".to_string(),
    };
    Err(Refusal::Forbidden(m))
}

/// Policy (issue 20, 带贫户的范围): a unit's staff link to their project only a household of
/// the current register that lives in the project's township (the unit works where its
/// project is; a household elsewhere is a typing mistake or not theirs to claim);
/// headquarters may link any household, e.g. one relocated (易地扶贫搬迁) from another
/// township. Who may write the project at all is [`Action::RecordEntry`].
fn may_link(
    actor: Actor<'_>,
    project_township: &str,
    household_no: &str,
    household_township: Option<&str>,
) -> Result<(), Refusal> {
    match (actor, household_township) {
        (Actor::Headquarters, _) => Ok(()),
        (_, None) => Err(Refusal::Invalid(format!(
            "现行登记表中没有户编号「{household_no}」：带贫户应为登记表中的户（实施单位只能登记项目所在乡镇「{project_township}」的户）"
        ))),
        (_, Some(t)) if t == project_township => Ok(()),
        (_, Some(t)) => Err(Refusal::Invalid(format!(
            "户编号「{household_no}」属于「{t}」，不在项目所在乡镇「{project_township}」：实施单位只能登记本项目所在乡镇的户为带贫户，跨乡镇的请由指挥部登记"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUSING: &str = "县住建局";
    const WATER: &str = "县水利局";
    const POST: &str = "县委副书记";

    fn roles() -> Vec<Role> {
        vec![
            Role::HqAdmin,
            Role::CountyLeader,
            Role::UnitStaff {
                unit: HOUSING.into(),
            },
            Role::TownshipStaff {
                township: "示例一乡".into(),
            },
            Role::VillageStaff {
                township: "示例一乡".into(),
                village: "示例一乡甲村".into(),
            },
            Role::Inspector,
        ]
    }

    fn yes(role: &Role, action: Action<'_>) -> bool {
        may(role.actor(Some(POST)), action).is_ok()
    }

    /// One row per action: whether each role, in the order of [`roles`] (hq, leader,
    /// unit staff of 县住建局, township, village, inspector), may do it.
    #[test]
    fn the_role_table() {
        let item = |step| Action::Item {
            step,
            unit: HOUSING,
            leader: Some(POST),
        };
        let other_unit = |step| Action::Item {
            step,
            unit: WATER,
            leader: None,
        };
        let submit = |township, village| Action::SubmitChange { township, village };
        let review = |township, own| Action::ReviewChange { township, own };
        // Y: may; N: may not.
        const Y: bool = true;
        const N: bool = false;
        #[rustfmt::skip]
        let table: Vec<(&str, Action<'_>, [bool; 6])> = vec![
            ("administer", Action::Administer, [Y, N, N, N, N, N]),
            ("assign", Action::AssignWork, [Y, N, N, N, N, N]),
            ("escalate all", Action::EscalateOverdue, [Y, N, N, N, N, N]),
            ("edit item", Action::EditItem, [Y, N, N, N, N, N]),
            ("start own", item(WorkAction::Start), [Y, N, Y, N, N, N]),
            ("report own", item(WorkAction::Report), [Y, N, Y, N, N, N]),
            ("complete own", item(WorkAction::Complete), [Y, N, Y, N, N, N]),
            ("start other", other_unit(WorkAction::Start), [Y, N, N, N, N, N]),
            ("close", item(WorkAction::Close), [Y, N, N, N, N, Y]),
            ("reopen", item(WorkAction::Reopen), [Y, N, N, N, N, Y]),
            ("remind own task", item(WorkAction::Remind), [Y, Y, N, N, N, N]),
            ("remind other task", other_unit(WorkAction::Remind), [Y, N, N, N, N, N]),
            ("escalate one", item(WorkAction::Escalate), [Y, N, N, N, N, N]),
            ("edit project", Action::EditProject, [Y, N, N, N, N, N]),
            ("schedule rule", Action::SetScheduleRule, [Y, N, N, N, N, N]),
            ("record any", Action::RecordAnyEntry, [Y, N, Y, N, N, N]),
            ("record own", Action::RecordEntry { unit: HOUSING, overriding: false, }, [Y, N, Y, N, N, N]),
            ("override own", Action::RecordEntry { unit: HOUSING, overriding: true, }, [Y, N, N, N, N, N]),
            ("record other", Action::RecordEntry { unit: WATER, overriding: false, }, [Y, N, N, N, N, N]),
            ("inspection", Action::RecordInspection, [Y, N, N, N, N, Y]),
            ("submit a change in 示例一乡甲村", submit("示例一乡", "示例一乡甲村"), [Y, N, N, Y, Y, N]),
            ("submit a change in another village of the township", submit("示例一乡", "示例一乡乙村"), [Y, N, N, Y, N, N]),
            ("submit a change in another township", submit("示例二乡", "示例二乡甲村"), [Y, N, N, N, N, N]),
            ("review another's change in 示例一乡", review("示例一乡", false), [Y, N, N, Y, N, N]),
            ("review one's own change", review("示例一乡", true), [N, N, N, N, N, N]),
            ("review a change in another township", review("示例二乡", false), [Y, N, N, N, N, N]),
            ("apply a change directly", Action::ApplyChange, [Y, N, N, N, N, N]),
        ];
        for (what, action, expected) in table {
            let got: Vec<bool> = roles().iter().map(|r| yes(r, action)).collect();
            assert_eq!(got, expected, "{what}");
        }
    }

    #[test]
    fn refusals_are_forbidden_and_say_who_may() {
        let unit = Role::UnitStaff {
            unit: HOUSING.into(),
        };
        let r = may(
            unit.actor(None),
            Action::Item {
                step: WorkAction::Close,
                unit: HOUSING,
                leader: None,
            },
        )
        .unwrap_err();
        assert_eq!(
            r,
            Refusal::Forbidden("只有指挥部或督查人员可以「销号」".into())
        );
        let r = may(
            unit.actor(None),
            Action::RecordEntry {
                unit: WATER,
                overriding: false,
            },
        )
        .unwrap_err();
        assert!(r.message().contains(WATER), "{r}");
        let r = may(
            unit.actor(None),
            Action::RecordEntry {
                unit: HOUSING,
                overriding: true,
            },
        )
        .unwrap_err();
        assert_eq!(r.message(), "超预算拨付只能由指挥部管理员登记");
    }

    #[test]
    fn a_leader_without_a_post_reminds_nothing() {
        let step = Action::Item {
            step: WorkAction::Remind,
            unit: HOUSING,
            leader: Some(POST),
        };
        assert!(may(Role::CountyLeader.actor(None), step).is_err());
        assert!(may(Role::CountyLeader.actor(Some("县长")), step).is_err());
        assert!(may(Role::CountyLeader.actor(Some(POST)), step).is_ok());
    }

    #[test]
    fn beneficiaries_of_a_unit_live_in_the_project_township() {
        let unit = Role::UnitStaff {
            unit: HOUSING.into(),
        };
        let link = |home| Action::LinkBeneficiary {
            project_township: "示例一乡",
            household_no: "5226010101000001",
            household_township: home,
        };
        assert!(may(unit.actor(None), link(Some("示例一乡"))).is_ok());
        let other = may(unit.actor(None), link(Some("示例二镇"))).unwrap_err();
        assert!(
            matches!(&other, Refusal::Invalid(m) if m.contains("示例二镇")),
            "{other:?}"
        );
        assert!(matches!(
            may(unit.actor(None), link(None)),
            Err(Refusal::Invalid(_))
        ));
        assert!(may(Actor::Headquarters, link(Some("示例二镇"))).is_ok());
        assert!(may(Actor::Headquarters, link(None)).is_ok());
    }

    #[test]
    fn scopes_follow_the_role() {
        let [hq, leader, unit, township, village, inspector] =
            <[Role; 6]>::try_from(roles()).unwrap();
        for r in [&hq, &leader, &unit, &inspector] {
            assert_eq!(Scope::of(r), Scope::County);
        }
        assert!(Scope::of(&township).contains("示例一乡", "示例一乡乙村"));
        assert!(!Scope::of(&township).contains("示例二镇", "示例二镇甲村"));
        assert!(Scope::of(&village).contains("示例一乡", "示例一乡甲村"));
        assert!(!Scope::of(&village).contains("示例一乡", "示例一乡乙村"));
        assert_eq!(ItemScope::of(&hq), ItemScope::All);
        assert_eq!(ItemScope::of(&inspector), ItemScope::All);
        assert_eq!(ItemScope::of(&unit), ItemScope::Unit(HOUSING.into()));
        assert_eq!(
            ItemScope::of(&village),
            ItemScope::Area(Scope::of(&village))
        );
    }
}
