//! One household: its members, income components and per-capita income, each of the seven
//! criteria passed or failed with the values that decided it (the engine's stored
//! explanation), the problems on its rows, its gaps (短板) with their work items in the
//! reader's scope, and its verdict in every register version.

use crate::auth::PageUser;
use crate::error::{Error, PageError};
use crate::registry::areas::HouseholdLine;
use crate::tasks::ItemLine;
use crate::view::{self, Layout};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use fupin_domain::household::Entry;
use fupin_domain::values::{Relocation, Renovation};
use fupin_domain::{Criterion, Fen, Verdict};
use fupin_store::{gap_kind_name, today, HouseholdDetail, ItemScope, Scope, VersionId};

/// A criterion's line: passed or not, and why.
pub struct CriterionLine {
    pub code: &'static str,
    pub name: &'static str,
    pub passed: Option<bool>,
    pub detail: String,
}

/// The part of the engine's explanation about one failed criterion.
pub fn failure_reason(explanation: &str, c: Criterion) -> Option<String> {
    let head = format!("{}（{}）：", c.chinese(), c.code());
    explanation
        .split('；')
        .find_map(|part| part.strip_prefix(head.as_str()))
        .map(str::to_string)
}

fn flag(e: Entry<bool>) -> &'static str {
    match e {
        Entry::Value(true) => "是",
        Entry::Value(false) => "否",
        Entry::Empty => "（空）",
        Entry::Invalid => "（无效）",
    }
}

fn money(e: Entry<Fen>) -> String {
    match e {
        Entry::Value(f) => f.grouped(),
        Entry::Empty => "（空）".into(),
        Entry::Invalid => "（无效）".into(),
    }
}

fn label<T: Copy>(e: Entry<T>, f: impl Fn(T) -> &'static str) -> String {
    match e {
        Entry::Value(v) => f(v).into(),
        Entry::Empty => "（空）".into(),
        Entry::Invalid => "（无效）".into(),
    }
}

/// Each criterion with its outcome, from the stored assessment; passed criteria show the
/// stored values they rest on.
pub fn criteria(d: &HouseholdDetail, line: Option<Fen>) -> Vec<CriterionLine> {
    let a = &d.assessment;
    let v = &d.values;
    Criterion::ALL
        .iter()
        .map(|&c| {
            if a.verdict == Verdict::DataError {
                return CriterionLine {
                    code: c.code(),
                    name: c.chinese(),
                    passed: None,
                    detail: "数据有误，未评估".into(),
                };
            }
            let failed = a.failed.contains(c);
            let detail = if failed {
                failure_reason(&a.explanation, c).unwrap_or_else(|| a.explanation.clone())
            } else {
                match c {
                    Criterion::Income => format!(
                        "人均纯收入 {} 元 > 标准 {} 元",
                        view::yuan(a.per_capita),
                        line.map_or("—".into(), Fen::grouped_short)
                    ),
                    Criterion::Food => format!("不愁吃：{}", flag(v.food_secure)),
                    Criterion::Clothing => format!("不愁穿：{}", flag(v.clothing_secure)),
                    Criterion::Education => {
                        "义务教育阶段（6–15岁）成员均在校，或因身体原因不具备学习条件".into()
                    }
                    Criterion::Medical => "全部成员参加基本医疗保险或为现役军人".into(),
                    Criterion::Housing => format!(
                        "住房安全等级 {}，危房改造「{}」，易地扶贫搬迁「{}」",
                        label(v.housing_grade, fupin_domain::values::HousingGrade::label),
                        v.renovation.value().unwrap_or(Renovation::None).label(),
                        v.relocation.value().unwrap_or(Relocation::No).label()
                    ),
                    Criterion::Water => format!("饮水安全：{}", flag(v.safe_water)),
                }
            };
            CriterionLine {
                code: c.code(),
                name: c.chinese(),
                passed: Some(!failed),
                detail,
            }
        })
        .collect()
}

pub struct MemberLine {
    pub line: u64,
    pub name: String,
    pub id_number: String,
    pub relation: &'static str,
    pub sex: &'static str,
    pub birth: String,
    pub schooling: String,
    pub health: &'static str,
    pub labor: &'static str,
    pub medical_insurance: &'static str,
    pub military: &'static str,
}

pub struct HistoryLine {
    pub version: VersionId,
    pub current: bool,
    pub imported_at: String,
    pub file_name: String,
    pub year: i32,
    pub line: String,
    pub area: String,
    pub status: &'static str,
    pub verdict: &'static str,
    pub verdict_class: &'static str,
    pub per_capita: String,
    pub failed: String,
}

pub struct ProblemLine {
    pub line: u64,
    pub column: String,
    pub code: &'static str,
    pub value: String,
    pub message: String,
}

/// A gap of the household with its work item, as the household page lists them.
pub struct GapLine {
    pub kind: &'static str,
    pub detail: String,
    pub open: bool,
    /// Closed: the evidence.
    pub evidence: String,
    /// "—" in the headquarters' queue.
    pub task: String,
    pub item: Option<ItemLine>,
    /// It has an item the reader may not see (reassigned to another unit).
    pub item_elsewhere: bool,
}

#[derive(Template)]
#[template(path = "household.html")]
struct HouseholdPage {
    layout: Layout,
    row: HouseholdLine,
    village_url: String,
    township_url: String,
    show_township_link: bool,
    explanation: String,
    criteria: Vec<CriterionLine>,
    facts: Vec<(&'static str, String)>,
    income: Vec<(&'static str, String)>,
    members: Vec<MemberLine>,
    problems: Vec<ProblemLine>,
    gaps: Vec<GapLine>,
    history: Vec<HistoryLine>,
    /// The household's project benefits in the reader's scope: (project url, project,
    /// kind, yearly yuan).
    benefits: Vec<(String, String, &'static str, String)>,
    /// Income components that do not account for the recorded benefits, in words.
    benefit_flags: Vec<String>,
    /// Its change requests (变更记录), newest first, and whether the viewer may submit one.
    changes: Vec<crate::changes::queue::ChangeLine>,
    can_change: bool,
    /// What the last action did (after a change was submitted).
    message: String,
}

#[derive(serde::Deserialize, Default)]
pub struct HouseholdQuery {
    pub msg: Option<String>,
}

/// GET /households/{household_no}
pub async fn page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(no): Path<String>,
    Query(q): Query<HouseholdQuery>,
) -> Result<Html<String>, PageError> {
    // Independent reads, at once. The gaps are read in the reader's scope; every benefit
    // recorded for the household is read for the income check below (as the API's
    // benefit-flags does for the reader's area), and shown only once the household itself
    // is found in scope.
    let gap_scope = v.item_scope();
    let (d, gaps, all_benefits, changes) = tokio::try_join!(
        state.store.register().household(&v.scope, &no),
        state.store.work().household_gaps(&gap_scope, &no),
        state.store.funds().household_benefits(&ItemScope::All, &no),
        state.store.changes().of_household(&v.scope, &no),
    )?;
    let d = d.ok_or(Error::NotFound)?;
    let can_change = fupin_domain::access::may(
        v.user().role.actor(None),
        fupin_domain::access::Action::SubmitChange {
            township: &d.row.township,
            village: &d.row.village,
        },
    )
    .is_ok();
    let line = d.line();
    let day = today();
    let gaps = gaps
        .iter()
        .map(|(g, i)| GapLine {
            kind: gap_kind_name(&g.kind),
            detail: g.detail.clone(),
            open: g.open,
            evidence: g.evidence.clone().unwrap_or_default(),
            task: match (g.task_no, &g.lead_unit) {
                (Some(n), Some(u)) => format!("第 {n} 项（{u}牵头）"),
                _ => "待指挥部分派".into(),
            },
            item: i.as_ref().map(|i| ItemLine::of(i, day)),
            item_elsewhere: i.is_none() && g.work_item.is_some(),
        })
        .collect();
    let recorded: Vec<_> = all_benefits.iter().map(|b| (b.kind, b.yearly)).collect();
    // A county-wide reader sees every project: the list read for the check is theirs (one
    // statement less on the busiest page); anyone else's is read in their scope.
    let benefits = match v.item_scope() {
        ItemScope::All | ItemScope::Area(Scope::County) => all_benefits,
        scope => state.store.funds().household_benefits(&scope, &no).await?,
    };
    let benefit_flags = fupin_domain::funds::unaccounted_benefits(&d.values, &recorded)
        .iter()
        .map(|u| {
            format!(
                "{}填报 {}，低于登记的项目收益 {} 元：收入核算未计入项目带贫收益",
                u.component.chinese(),
                u.declared
                    .map_or("为空".to_string(), |f| format!("{} 元", f.grouped())),
                u.recorded.grouped()
            )
        })
        .collect();
    let vals = &d.values;
    let facts = vec![
        (
            "脱贫属性",
            label(vals.status, fupin_domain::values::PovertyStatus::label),
        ),
        (
            "贫困户属性",
            label(
                vals.household_type,
                fupin_domain::values::HouseholdType::label,
            ),
        ),
        (
            "主要致贫原因",
            label(vals.main_cause, fupin_domain::values::MainCause::label),
        ),
        ("不愁吃", flag(vals.food_secure).into()),
        ("不愁穿", flag(vals.clothing_secure).into()),
        (
            "住房安全等级",
            label(
                vals.housing_grade,
                fupin_domain::values::HousingGrade::label,
            ),
        ),
        (
            "危房改造状态",
            label(vals.renovation, fupin_domain::values::Renovation::label),
        ),
        (
            "易地扶贫搬迁",
            label(vals.relocation, fupin_domain::values::Relocation::label),
        ),
        ("饮水安全", flag(vals.safe_water).into()),
        ("首行行号", d.first_line.to_string()),
    ];
    let income = vec![
        ("工资性收入", money(vals.wage_income)),
        ("生产经营性收入", money(vals.operating_income)),
        ("生产经营性支出", money(vals.operating_expense)),
        ("财产性收入", money(vals.property_income)),
        ("转移性收入", money(vals.transfer_income)),
        ("人均纯收入（填报）", money(vals.per_capita_declared)),
        ("人均纯收入（核算）", view::yuan(d.assessment.per_capita)),
        (
            "贫困标准（元/人·年）",
            line.map_or("—".into(), Fen::grouped_short),
        ),
    ];
    let members = d
        .members
        .iter()
        .map(|m| {
            let x = &m.member;
            MemberLine {
                line: x.line,
                name: m.name.clone().unwrap_or_else(|| "—".into()),
                id_number: x.id.map_or("（无效）".into(), |i| i.to_string()),
                relation: if x.is_head { "户主" } else { "成员" },
                sex: x.sex.map_or("—", |s| s.label()),
                birth: x.birth.map_or("—".into(), |b| b.to_string()),
                schooling: x
                    .schooling
                    .map_or("—".into(), fupin_domain::values::Schooling::label),
                health: x.health.map_or("—", |s| s.label()),
                labor: x.labor.map_or("—", |s| s.label()),
                medical_insurance: view::yes_no(x.medical_insurance),
                military: if x.active_military { "是" } else { "否" },
            }
        })
        .collect();
    let problems = d
        .problems
        .iter()
        .map(|p| ProblemLine {
            line: p.line,
            column: p.column.clone(),
            code: p.code.as_str(),
            value: p.value.clone(),
            message: p.message.clone(),
        })
        .collect();
    let history = d
        .history
        .iter()
        .rev()
        .map(|h| HistoryLine {
            version: h.version,
            current: h.version == d.version,
            imported_at: view::time(h.imported_at),
            file_name: h.file_name.clone(),
            year: h.year,
            line: h.line.grouped_short(),
            area: format!("{} {}", h.township, h.village),
            status: h.status.map_or("—", |s| s.label()),
            verdict: h.verdict.chinese(),
            verdict_class: view::verdict_class(h.verdict),
            per_capita: view::yuan(h.per_capita),
            failed: view::failed_names(h.failed),
        })
        .collect();
    let p = HouseholdPage {
        layout: Layout::of(&v, format!("户 {no}"), "home"),
        village_url: view::village_url(&d.row.township, &d.row.village),
        township_url: view::township_url(&d.row.township),
        show_township_link: !matches!(v.scope, Scope::Village { .. }),
        row: HouseholdLine::of(&d.row),
        explanation: d.assessment.explanation.clone(),
        criteria: criteria(&d, line),
        facts,
        income,
        members,
        problems,
        gaps,
        history,
        benefits: benefits
            .iter()
            .map(|b| {
                (
                    format!("/projects/{}", b.project_id),
                    format!("{}年 {}", b.year, b.project),
                    b.kind.chinese(),
                    b.yearly.grouped(),
                )
            })
            .collect(),
        benefit_flags,
        changes: changes
            .iter()
            .map(|r| crate::changes::queue::ChangeLine::of(r, &v))
            .collect(),
        can_change,
        message: q.msg.unwrap_or_default(),
    };
    Ok(Html(p.render()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_reasons_are_cut_from_the_explanation() {
        let e = "收入稳定超过现行标准（INCOME）：人均纯收入 3,012.50 元 ≤ 标准 3,535 元；\
                 住房安全有保障（HOUSING）：住房安全等级 D（危房）";
        assert_eq!(
            failure_reason(e, Criterion::Income).as_deref(),
            Some("人均纯收入 3,012.50 元 ≤ 标准 3,535 元")
        );
        assert_eq!(
            failure_reason(e, Criterion::Housing).as_deref(),
            Some("住房安全等级 D（危房）")
        );
        assert_eq!(failure_reason(e, Criterion::Water), None);
    }
}
