//! Work items (交办事项): the loop 交办 → 整改 → 验收 → 销号 as a state machine, with who may
//! take each step. Pure: the store asks [`can`] before it writes, and the web layer asks it
//! to decide which buttons to show.
//!
//! States: 待办 → 办理中 → 已完成待核 → 已销号. 逾期 (overdue) is not stored: it is derived
//! from the deadline and today ([`is_overdue`]), so it can never disagree with the calendar.
//! A reopen always carries a reason and goes back to 办理中.

use chrono::NaiveDate;
use serde::Serialize;
use std::fmt;

use crate::access::{may, Action};
pub use crate::access::{Actor, Refusal};

/// Where a work item stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum WorkState {
    /// 待办: assigned, not yet taken up.
    Todo,
    /// 办理中: the unit is working on it.
    InProgress,
    /// 已完成待核: the unit says it is done; headquarters or an inspector checks it.
    Done,
    /// 已销号: checked and closed off.
    Closed,
}

impl WorkState {
    pub const ALL: [WorkState; 4] = [
        WorkState::Todo,
        WorkState::InProgress,
        WorkState::Done,
        WorkState::Closed,
    ];

    /// The word stored in the database.
    pub fn word(self) -> &'static str {
        match self {
            WorkState::Todo => "todo",
            WorkState::InProgress => "in_progress",
            WorkState::Done => "done",
            WorkState::Closed => "closed",
        }
    }

    pub fn parse(word: &str) -> Option<WorkState> {
        WorkState::ALL.into_iter().find(|s| s.word() == word)
    }

    /// The words a state is given by, for messages: `todo、in_progress、…`.
    pub fn allowed() -> String {
        WorkState::ALL.map(WorkState::word).join("、")
    }

    pub fn chinese(self) -> &'static str {
        match self {
            WorkState::Todo => "待办",
            WorkState::InProgress => "办理中",
            WorkState::Done => "已完成待核",
            WorkState::Closed => "已销号",
        }
    }

    /// Still the unit's to work on (counts as open; can become overdue).
    pub fn is_pending(self) -> bool {
        matches!(self, WorkState::Todo | WorkState::InProgress)
    }
}

impl fmt::Display for WorkState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.chinese())
    }
}

/// Policy: an item is overdue (逾期) when the unit still has it (待办 or 办理中) and today is
/// after its deadline. An item reported done is waiting on the checker, not on the unit,
/// so it is not overdue; an item without a deadline (a 长期 task) never is.
pub fn is_overdue(state: WorkState, deadline: Option<NaiveDate>, today: NaiveDate) -> bool {
    state.is_pending() && deadline.is_some_and(|d| today > d)
}

/// The state as people read it: 逾期 replaces 待办/办理中 when overdue.
pub fn state_label(state: WorkState, deadline: Option<NaiveDate>, today: NaiveDate) -> String {
    if is_overdue(state, deadline, today) {
        format!("{}（逾期）", state.chinese())
    } else {
        state.chinese().to_string()
    }
}

/// What an actor wants to do to an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkAction {
    /// 开始办理: 待办 → 办理中.
    Start,
    /// 报告进展 (text, percentage, attachments); a report on a 待办 item starts it.
    Report,
    /// 报告完成: 待办/办理中 → 已完成待核.
    Complete,
    /// 销号: 已完成待核 → 已销号.
    Close,
    /// 退回/重新打开 with a reason: 已完成待核/已销号 → 办理中.
    Reopen,
    /// 催办: a reminder on a pending item; the state does not change.
    Remind,
    /// 督办升级: an overdue item is put before the task's responsible leader.
    Escalate,
}

impl WorkAction {
    pub fn word(self) -> &'static str {
        match self {
            WorkAction::Start => "start",
            WorkAction::Report => "report",
            WorkAction::Complete => "complete",
            WorkAction::Close => "close",
            WorkAction::Reopen => "reopen",
            WorkAction::Remind => "remind",
            WorkAction::Escalate => "escalate",
        }
    }

    pub const ALL: [WorkAction; 7] = [
        WorkAction::Start,
        WorkAction::Report,
        WorkAction::Complete,
        WorkAction::Close,
        WorkAction::Reopen,
        WorkAction::Remind,
        WorkAction::Escalate,
    ];

    pub fn parse(word: &str) -> Option<WorkAction> {
        WorkAction::ALL.into_iter().find(|a| a.word() == word)
    }

    /// The words an action is given by, for messages: `start、report、…`.
    pub fn allowed() -> String {
        WorkAction::ALL.map(WorkAction::word).join("、")
    }

    pub fn chinese(self) -> &'static str {
        match self {
            WorkAction::Start => "开始办理",
            WorkAction::Report => "报告进展",
            WorkAction::Complete => "报告完成",
            WorkAction::Close => "销号",
            WorkAction::Reopen => "退回重办",
            WorkAction::Remind => "催办",
            WorkAction::Escalate => "升级督办",
        }
    }

    /// The state after the action, from `state` (the state itself when it does not move).
    pub fn next(self, state: WorkState) -> WorkState {
        match self {
            WorkAction::Start => WorkState::InProgress,
            WorkAction::Report if state == WorkState::Todo => WorkState::InProgress,
            WorkAction::Complete => WorkState::Done,
            WorkAction::Close => WorkState::Closed,
            WorkAction::Reopen => WorkState::InProgress,
            WorkAction::Report | WorkAction::Remind | WorkAction::Escalate => state,
        }
    }
}

/// The facts of an item that decide what may be done to it.
#[derive(Clone, Copy, Debug)]
pub struct ItemFacts<'a> {
    pub state: WorkState,
    /// The unit the item is assigned to.
    pub unit: &'a str,
    /// The post of the responsible leader of its task (None: an item outside the plan).
    pub leader: Option<&'a str>,
    pub deadline: Option<NaiveDate>,
    /// Already escalated to the leader.
    pub escalated: bool,
}

/// Policy (issue 5, 交办 → 整改 → 验收 → 销号): who may take a step is
/// [`crate::access::may`]; each step exists only from some states: start a 待办 item,
/// report on or remind a pending one, close one reported done, send back one done or
/// closed, escalate an overdue one once.
pub fn can(
    actor: Actor<'_>,
    item: &ItemFacts<'_>,
    action: WorkAction,
    today: NaiveDate,
) -> Result<(), Refusal> {
    use WorkAction as A;
    use WorkState as S;
    may(
        actor,
        Action::Item {
            step: action,
            unit: item.unit,
            leader: item.leader,
        },
    )?;
    let state_ok = match action {
        A::Start => item.state == S::Todo,
        A::Report | A::Complete | A::Remind => item.state.is_pending(),
        A::Close => item.state == S::Done,
        A::Reopen => matches!(item.state, S::Done | S::Closed),
        A::Escalate => is_overdue(item.state, item.deadline, today) && !item.escalated,
    };
    if !state_ok {
        let why = match action {
            A::Escalate if item.escalated => "该事项已升级督办".to_string(),
            A::Escalate => "只有逾期未办结的事项可以升级督办".to_string(),
            _ => format!(
                "「{}」的事项不能「{}」",
                item.state.chinese(),
                action.chinese()
            ),
        };
        return Err(Refusal::Conflict(why));
    }
    Ok(())
}

/// Policy (issue 5): only headquarters changes an item's deadline or reassigns it to
/// another unit (改期、改派), always with a reason; a closed (已销号) item is not changed.
/// Returns the reason, trimmed.
pub fn can_edit<'r>(
    actor: Actor<'_>,
    state: WorkState,
    reason: &'r str,
) -> Result<&'r str, Refusal> {
    may(actor, Action::EditItem)?;
    if state == WorkState::Closed {
        return Err(Refusal::Conflict("已销号的事项不能调整".into()));
    }
    let r = reason.trim();
    if r.is_empty() {
        return Err(Refusal::Invalid("调整时限或承办单位必须写明理由".into()));
    }
    Ok(r)
}

/// Why headquarters closes an item whose gap still fails (强制销号).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseOverride {
    /// 无法整改: the gap cannot be rectified (e.g. no safe housing can be built there).
    CannotRectify,
    /// 政策不适用: the criterion does not apply to this household.
    NotApplicable,
}

impl CloseOverride {
    pub const ALL: [CloseOverride; 2] =
        [CloseOverride::CannotRectify, CloseOverride::NotApplicable];

    pub fn word(self) -> &'static str {
        match self {
            CloseOverride::CannotRectify => "cannot_rectify",
            CloseOverride::NotApplicable => "not_applicable",
        }
    }

    pub fn chinese(self) -> &'static str {
        match self {
            CloseOverride::CannotRectify => "无法整改",
            CloseOverride::NotApplicable => "政策不适用",
        }
    }
}

impl std::str::FromStr for CloseOverride {
    type Err = crate::words::Unrecognized;
    fn from_str(word: &str) -> Result<CloseOverride, Self::Err> {
        CloseOverride::ALL
            .into_iter()
            .find(|o| o.word() == word || o.chinese() == word)
            .ok_or_else(|| {
                crate::words::Unrecognized::new(
                    "强制销号理由",
                    word,
                    CloseOverride::ALL.map(CloseOverride::chinese).join("、"),
                )
            })
    }
}

/// Policy (issue 14, 销号以证据为准): an item whose gap still fails is not closed; only
/// headquarters may close it anyway, for a reason of [`CloseOverride`] written out.
/// `gap` is the gap's failure in words when it is still open.
pub fn close_on_evidence(
    actor: Actor<'_>,
    gap: Option<&str>,
    overriding: Option<CloseOverride>,
    note: &str,
) -> Result<(), Refusal> {
    let Some(failing) = gap else {
        return Ok(());
    };
    match (overriding, actor) {
        (None, _) => Err(Refusal::Conflict(format!(
            "该户的短板仍未达标，不能销号：{failing}。请先整改并经复核达标（变更申请批准或重新导入），或由指挥部以「无法整改」「政策不适用」写明理由强制销号"
        ))),
        (Some(_), a) if a != Actor::Headquarters => Err(Refusal::Forbidden(
            "只有指挥部可以强制销号".into(),
        )),
        (Some(o), _) if note.trim().is_empty() => Err(Refusal::Invalid(format!(
            "强制销号（{}）必须写明理由",
            o.chinese()
        ))),
        (Some(_), _) => Ok(()),
    }
}

/// A reopen's reason: trimmed, not empty.
pub fn reopen_reason(text: &str) -> Result<&str, Refusal> {
    let t = text.trim();
    if t.is_empty() {
        Err(Refusal::Invalid("退回重办必须写明理由".into()))
    } else {
        Ok(t)
    }
}

/// A progress percentage: 0–100.
pub fn percent(p: i64) -> Result<u8, Refusal> {
    u8::try_from(p)
        .ok()
        .filter(|p| *p <= 100)
        .ok_or_else(|| Refusal::Invalid(format!("进度应为0到100之间的整数，收到 {p}")))
}

impl std::str::FromStr for WorkState {
    type Err = crate::words::Unrecognized;

    fn from_str(word: &str) -> Result<WorkState, Self::Err> {
        WorkState::parse(word)
            .ok_or_else(|| crate::words::Unrecognized::new("事项状态", word, WorkState::allowed()))
    }
}

impl std::str::FromStr for WorkAction {
    type Err = crate::words::Unrecognized;

    fn from_str(word: &str) -> Result<WorkAction, Self::Err> {
        WorkAction::parse(word)
            .ok_or_else(|| crate::words::Unrecognized::new("办理操作", word, WorkAction::allowed()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUSING: &str = "县住建局";

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn item(state: WorkState) -> ItemFacts<'static> {
        ItemFacts {
            state,
            unit: HOUSING,
            leader: Some("分管副县长"),
            deadline: Some(day("2018-10-31")),
            escalated: false,
        }
    }

    const TODAY: &str = "2018-09-01";

    fn ok(actor: Actor<'_>, state: WorkState, a: WorkAction) -> bool {
        can(actor, &item(state), a, day(TODAY)).is_ok()
    }

    #[test]
    fn only_headquarters_edits_an_open_item_and_always_with_a_reason() {
        let hq = Actor::Headquarters;
        assert_eq!(
            can_edit(hq, WorkState::Todo, " 现场核实需延期 "),
            Ok("现场核实需延期")
        );
        assert_eq!(can_edit(hq, WorkState::Done, "改派"), Ok("改派"));
        assert!(matches!(
            can_edit(hq, WorkState::InProgress, "  "),
            Err(Refusal::Invalid(_))
        ));
        assert!(matches!(
            can_edit(hq, WorkState::Closed, "改派"),
            Err(Refusal::Conflict(_))
        ));
        for other in [
            Actor::UnitStaff { unit: HOUSING },
            Actor::Inspector,
            Actor::AreaStaff {
                township: "示例一乡",
                village: None,
            },
            Actor::CountyLeader {
                post: Some("分管副县长"),
            },
        ] {
            assert!(matches!(
                can_edit(other, WorkState::Todo, "改派"),
                Err(Refusal::Forbidden(_))
            ));
        }
    }

    #[test]
    fn the_unit_moves_its_own_items_and_no_one_elses() {
        let own = Actor::UnitStaff { unit: HOUSING };
        let other = Actor::UnitStaff {
            unit: "县水利局"
        };
        for (a, s) in [
            (WorkAction::Start, WorkState::Todo),
            (WorkAction::Report, WorkState::Todo),
            (WorkAction::Report, WorkState::InProgress),
            (WorkAction::Complete, WorkState::InProgress),
            (WorkAction::Complete, WorkState::Todo),
        ] {
            assert!(ok(own, s, a), "{a:?} from {s:?}");
            assert!(!ok(other, s, a), "{a:?} from {s:?} by another unit");
            assert!(!ok(
                Actor::AreaStaff {
                    township: "示例一乡",
                    village: None
                },
                s,
                a
            ));
            assert!(!ok(Actor::Inspector, s, a));
            assert!(ok(Actor::Headquarters, s, a));
        }
    }

    #[test]
    fn only_headquarters_or_an_inspector_closes_and_reopens() {
        for actor in [Actor::Headquarters, Actor::Inspector] {
            assert!(ok(actor, WorkState::Done, WorkAction::Close));
            assert!(ok(actor, WorkState::Done, WorkAction::Reopen));
            assert!(ok(actor, WorkState::Closed, WorkAction::Reopen));
        }
        for actor in [
            Actor::UnitStaff { unit: HOUSING },
            Actor::CountyLeader {
                post: Some("分管副县长"),
            },
            Actor::AreaStaff {
                township: "示例一乡",
                village: None,
            },
        ] {
            assert!(matches!(
                can(actor, &item(WorkState::Done), WorkAction::Close, day(TODAY)),
                Err(Refusal::Forbidden(_))
            ));
            assert!(!ok(actor, WorkState::Closed, WorkAction::Reopen));
        }
    }

    #[test]
    fn steps_exist_only_from_their_states() {
        let hq = Actor::Headquarters;
        assert!(!ok(hq, WorkState::InProgress, WorkAction::Start));
        assert!(!ok(hq, WorkState::Todo, WorkAction::Close));
        assert!(!ok(hq, WorkState::InProgress, WorkAction::Close));
        assert!(!ok(hq, WorkState::Closed, WorkAction::Close));
        assert!(!ok(hq, WorkState::Todo, WorkAction::Reopen));
        assert!(!ok(hq, WorkState::Done, WorkAction::Complete));
        assert!(!ok(hq, WorkState::Closed, WorkAction::Report));
        assert!(!ok(hq, WorkState::Done, WorkAction::Remind));
        assert_eq!(
            WorkAction::Report.next(WorkState::Todo),
            WorkState::InProgress
        );
        assert_eq!(
            WorkAction::Reopen.next(WorkState::Closed),
            WorkState::InProgress
        );
        assert_eq!(WorkAction::Remind.next(WorkState::Todo), WorkState::Todo);
    }

    #[test]
    fn reminders_come_from_headquarters_or_the_tasks_leader() {
        assert!(ok(Actor::Headquarters, WorkState::Todo, WorkAction::Remind));
        assert!(ok(
            Actor::CountyLeader {
                post: Some("分管副县长")
            },
            WorkState::InProgress,
            WorkAction::Remind
        ));
        assert!(!ok(
            Actor::CountyLeader {
                post: Some("常务副县长")
            },
            WorkState::InProgress,
            WorkAction::Remind
        ));
        assert!(!ok(
            Actor::CountyLeader { post: None },
            WorkState::Todo,
            WorkAction::Remind
        ));
    }

    #[test]
    fn overdue_is_derived_and_only_overdue_items_escalate_once() {
        let deadline = Some(day("2018-10-31"));
        assert!(!is_overdue(
            WorkState::InProgress,
            deadline,
            day("2018-10-31")
        ));
        assert!(is_overdue(
            WorkState::InProgress,
            deadline,
            day("2018-11-01")
        ));
        assert!(is_overdue(WorkState::Todo, deadline, day("2018-11-01")));
        assert!(!is_overdue(WorkState::Done, deadline, day("2018-11-01")));
        assert!(!is_overdue(WorkState::Closed, deadline, day("2018-11-01")));
        assert!(!is_overdue(WorkState::Todo, None, day("2030-01-01")));
        assert_eq!(
            state_label(WorkState::Todo, deadline, day("2018-11-01")),
            "待办（逾期）"
        );

        let late = day("2018-11-01");
        let i = item(WorkState::InProgress);
        assert!(can(Actor::Headquarters, &i, WorkAction::Escalate, late).is_ok());
        assert!(can(Actor::Headquarters, &i, WorkAction::Escalate, day(TODAY)).is_err());
        let escalated = ItemFacts {
            escalated: true,
            ..i
        };
        assert!(can(Actor::Headquarters, &escalated, WorkAction::Escalate, late).is_err());
        assert!(can(Actor::Inspector, &i, WorkAction::Escalate, late).is_err());
    }

    #[test]
    fn reopening_needs_a_reason_and_percentages_stay_in_range() {
        assert!(reopen_reason("  ").is_err());
        assert_eq!(reopen_reason(" 照片不清 "), Ok("照片不清"));
        assert_eq!(percent(100), Ok(100));
        assert!(percent(101).is_err());
        assert!(percent(-1).is_err());
    }

    #[test]
    fn an_item_whose_gap_still_fails_is_closed_only_by_headquarters_with_a_reason() {
        let failing = Some("住房安全等级 C（危房）");
        let hq = Actor::Headquarters;
        assert_eq!(close_on_evidence(Actor::Inspector, None, None, ""), Ok(()));
        assert!(matches!(
            close_on_evidence(hq, failing, None, ""),
            Err(Refusal::Conflict(m)) if m.contains("住房安全等级 C")
        ));
        let o = Some(CloseOverride::CannotRectify);
        assert!(matches!(
            close_on_evidence(Actor::Inspector, failing, o, "地质灾害区"),
            Err(Refusal::Forbidden(_))
        ));
        assert!(matches!(
            close_on_evidence(hq, failing, o, " "),
            Err(Refusal::Invalid(_))
        ));
        assert_eq!(
            close_on_evidence(hq, failing, o, "地质灾害区，已纳入整体搬迁"),
            Ok(())
        );
        assert_eq!("政策不适用".parse(), Ok(CloseOverride::NotApplicable));
        assert!("随便".parse::<CloseOverride>().is_err());
    }
}
