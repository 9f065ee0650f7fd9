//! Work items (工作事项): the list and its filter, an item's page, its steps with
//! attachments, its edit, new items and escalation.

use super::gaps::GapLine;
use super::matrix::plan_in_force;
use super::{acting_post, PAGE};
use crate::auth::{PageUser, Viewer};
use crate::csrf::{CsrfForm, CsrfMultipart, NoFields, Part};
use crate::error::{Error, PageError};
use crate::view::{self, Layout};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use fupin_domain::work_item::{can, can_edit, state_label, WorkAction, WorkState};
use fupin_store::{
    today, ActingUser, AttachmentId, GapId, ItemEdit, ItemFilter, ItemScope, NewAttachment,
    NewWorkItem, Role, Step, WorkItem, WorkItemId,
};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "tasks_items.html")]
struct ItemsPage {
    layout: Layout,
    heading: String,
    items: Vec<ItemLine>,
    next_url: Option<String>,
    filters: Vec<(String, String, bool)>,
    can_escalate: bool,
}

pub struct ItemLine {
    pub id: WorkItemId,
    pub url: String,
    pub title: String,
    pub task: String,
    pub unit: String,
    pub place: String,
    pub deadline: String,
    pub state: String,
    pub state_word: &'static str,
    pub overdue: bool,
    pub escalated: bool,
    pub progress: u8,
    pub reminders: u64,
}

impl ItemLine {
    pub fn of(i: &WorkItem, today: NaiveDate) -> ItemLine {
        ItemLine {
            id: i.id,
            url: format!("/tasks/items/{}", i.id),
            title: i.title.clone(),
            task: match (i.task_no, &i.task) {
                (Some(n), Some(t)) => format!("{n}. {t}"),
                (Some(n), None) => format!("第 {n} 项"),
                _ => "—".into(),
            },
            unit: i.unit.clone(),
            place: match (&i.township, &i.village) {
                (Some(t), Some(v)) => format!("{t} {v}"),
                _ => "全县".into(),
            },
            deadline: i.deadline.map_or_else(|| "—".into(), |d| d.to_string()),
            state: state_label(i.state, i.deadline, today),
            state_word: i.state.word(),
            overdue: i.overdue(today),
            escalated: i.escalated_at.is_some(),
            progress: i.progress,
            reminders: i.reminders,
        }
    }
}

#[derive(Deserialize, Default)]
pub struct ItemsQuery {
    pub state: Option<String>,
    pub overdue: Option<String>,
    pub mine: Option<String>,
    pub escalated: Option<String>,
    /// 强制销号 items only.
    pub overridden: Option<String>,
    pub task: Option<u32>,
    pub before: Option<WorkItemId>,
}

impl ItemsQuery {
    fn query_string(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = &self.state {
            parts.push(format!("state={}", view::enc(s)));
        }
        if self.overdue.is_some() {
            parts.push("overdue=1".into());
        }
        if self.mine.is_some() {
            parts.push("mine=1".into());
        }
        if self.escalated.is_some() {
            parts.push("escalated=1".into());
        }
        if self.overridden.is_some() {
            parts.push("overridden=1".into());
        }
        if let Some(t) = self.task {
            parts.push(format!("task={t}"));
        }
        parts.join("&")
    }
}

/// The filter of an item list: a leader's "mine" is the items of the tasks their post
/// leads.
pub async fn item_filter(
    state: &AppState,
    v: &Viewer,
    q: &ItemsQuery,
) -> Result<ItemFilter, Error> {
    let state_filter = match q.state.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(s.parse::<WorkState>()?),
        None => None,
    };
    let leader = if q.mine.is_some() {
        Some(
            acting_post(state, v)
                .await?
                .ok_or_else(|| Error::BadRequest("您的账号尚未设置职务，请联系指挥部".into()))?,
        )
    } else {
        None
    };
    Ok(ItemFilter {
        state: state_filter,
        overdue_on: q.overdue.as_ref().map(|_| today()),
        task_no: q.task,
        leader,
        escalated: q.escalated.is_some(),
        overridden: q.overridden.is_some(),
        ..ItemFilter::default()
    })
}

/// GET /tasks/items — work items in the viewer's scope: a unit's inbox, a leader's
/// items (`?mine=1`), overdue (`?overdue=1`), by state or task.
pub async fn items_page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Query(q): Query<ItemsQuery>,
) -> Result<Html<String>, PageError> {
    let filter = item_filter(&state, &v, &q).await?;
    let page = state
        .store
        .work()
        .work_items(&v.item_scope(), &filter, q.before, PAGE)
        .await?;
    let day = today();
    let heading = match &v.user().role {
        Role::UnitStaff { unit } => format!("{unit} 待办箱"),
        _ if q.mine.is_some() => "我的任务：交办事项".into(),
        _ => "交办事项".into(),
    };
    let qs = q.query_string();
    let mut filters = vec![(
        "全部".to_string(),
        "/tasks/items".to_string(),
        qs.is_empty(),
    )];
    for s in WorkState::ALL {
        filters.push((
            s.chinese().to_string(),
            format!("/tasks/items?state={}", s.word()),
            q.state.as_deref() == Some(s.word()) && q.overdue.is_none(),
        ));
    }
    filters.push((
        "逾期".into(),
        "/tasks/items?overdue=1".into(),
        q.overdue.is_some(),
    ));
    filters.push((
        "已升级督办".into(),
        "/tasks/items?escalated=1".into(),
        q.escalated.is_some(),
    ));
    filters.push((
        "强制销号".into(),
        "/tasks/items?overridden=1".into(),
        q.overridden.is_some(),
    ));
    let p = ItemsPage {
        layout: Layout::of(
            &v,
            heading.clone(),
            if q.mine.is_some() { "mytasks" } else { "items" },
        ),
        heading,
        items: page.items.iter().map(|i| ItemLine::of(i, day)).collect(),
        next_url: page.next.map(|n| {
            if qs.is_empty() {
                format!("/tasks/items?before={n}")
            } else {
                format!("/tasks/items?{qs}&before={n}")
            }
        }),
        filters,
        can_escalate: v.is_admin(),
    };
    Ok(Html(p.render()?))
}

#[derive(Template)]
#[template(path = "tasks_item.html")]
struct ItemPage {
    layout: Layout,
    item: ItemLine,
    detail: String,
    leader: String,
    gap: Option<GapLine>,
    /// The inspection finding the item was made for: link and text.
    finding: Option<(String, String)>,
    household_no: String,
    household_url: String,
    events: Vec<EventLine>,
    actions: Vec<(&'static str, &'static str)>,
    can_report: bool,
    /// The headquarters may change the deadline and unit (改期、改派).
    can_edit: bool,
    /// The deadline as the date field takes it ('' without one).
    deadline_value: String,
    /// Units of the plan in force, offered when reassigning.
    units: Vec<String>,
    message: String,
}

pub struct EventLine {
    pub at: String,
    pub who: String,
    pub action: String,
    pub change: String,
    pub note: String,
    pub percent: String,
    pub files: Vec<(String, String)>,
}

fn action_name(word: &str) -> String {
    match WorkAction::parse(word) {
        Some(a) => a.chinese().into(),
        None => match word {
            "assign" => "交办".into(),
            "edit" => "改期/改派".into(),
            "reroute" => "方案调整改派".into(),
            "reassessed" => "复核达标".into(),
            w => w.into(),
        },
    }
}

#[derive(Deserialize, Default)]
pub struct ItemQuery {
    pub msg: Option<String>,
}

/// GET /tasks/items/{id}
pub async fn item_page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<WorkItemId>,
    Query(q): Query<ItemQuery>,
) -> Result<Html<String>, PageError> {
    let scope = v.item_scope();
    let item = state
        .store
        .work()
        .work_item(&scope, id)
        .await?
        .ok_or(Error::NotFound)?;
    let post = acting_post(&state, &v).await?;
    let acting = ActingUser {
        user: v.user(),
        post,
    };
    let day = today();
    let facts = item.facts();
    let actions: Vec<(&'static str, &'static str)> = [
        WorkAction::Start,
        WorkAction::Complete,
        WorkAction::Close,
        WorkAction::Reopen,
        WorkAction::Remind,
        WorkAction::Escalate,
    ]
    .into_iter()
    .filter(|a| can(acting.actor(), &facts, *a, day).is_ok())
    .map(|a| (a.word(), a.chinese()))
    .collect();
    let can_report = can(acting.actor(), &facts, WorkAction::Report, day).is_ok();
    // Whether the actor may edit at all; the reason is the form's to give.
    let can_edit = can_edit(acting.actor(), item.state, "—").is_ok();
    let units = if can_edit {
        let mut u: Vec<String> = plan_in_force(&state)
            .await?
            .map(|p| {
                p.plan
                    .tasks
                    .iter()
                    .flat_map(|t| {
                        std::iter::once(t.lead_unit.clone())
                            .chain(t.units.iter().map(|u| u.unit.clone()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        u.sort();
        u.dedup();
        u
    } else {
        Vec::new()
    };
    let gap = match item.gap_id {
        Some(g) => state
            .store
            .work()
            .gap(&ItemScope::All, g)
            .await?
            .map(|g| GapLine::of(&g)),
        None => None,
    };
    // An item made for an inspection's finding links back to it.
    let finding = match item.gap_id {
        Some(_) => None,
        None => state
            .store
            .inspections()
            .finding_of_item(&scope, id)
            .await?
            .map(|f| {
                (
                    format!("/inspections/{}/findings#item-{id}", f.inspection_id),
                    format!("{}：{}", f.inspection, f.description),
                )
            }),
    };
    let events = state
        .store
        .work()
        .work_events(id)
        .await?
        .into_iter()
        .map(|e| EventLine {
            at: view::time(e.at),
            who: e.username.unwrap_or_else(|| "系统".into()),
            action: action_name(&e.action),
            change: if e.from_state == e.to_state {
                String::new()
            } else {
                format!("{} → {}", e.from_state.chinese(), e.to_state.chinese())
            },
            note: e.note,
            percent: e.percent.map(|p| format!("{p}%")).unwrap_or_default(),
            files: e
                .attachments
                .iter()
                .map(|a| {
                    (
                        format!("/tasks/attachments/{}", a.id),
                        format!("{}（{} 字节）", a.file_name, view::count(a.size)),
                    )
                })
                .collect(),
        })
        .collect();
    let hh = item.household_no.clone().unwrap_or_default();
    let p = ItemPage {
        layout: Layout::of(&v, format!("事项 {id}"), "items"),
        item: ItemLine::of(&item, day),
        detail: item.detail.clone(),
        leader: item.leader.clone().unwrap_or_else(|| "—".into()),
        gap,
        finding,
        household_url: if hh.is_empty() {
            String::new()
        } else {
            view::household_url(&hh)
        },
        household_no: hh,
        events,
        actions,
        can_report,
        can_edit,
        deadline_value: item.deadline.map(|d| d.to_string()).unwrap_or_default(),
        units,
        message: q.msg.unwrap_or_default(),
    };
    Ok(Html(p.render()?))
}

/// A step read from a form or a multipart upload.
#[derive(Default)]
pub struct StepForm {
    pub action: String,
    pub note: String,
    pub percent: Option<i64>,
    pub attachments: Vec<NewAttachment>,
    /// 强制销号's reason word (empty: none).
    pub close_override: String,
}

async fn read_step(mut mp: CsrfMultipart) -> Result<StepForm, Error> {
    let mut f = StepForm::default();
    while let Some(part) = mp.next_field().await? {
        let Part::Field(field) = part else {
            continue;
        };
        let name = field.name().unwrap_or_default().to_string();
        if name == "files" {
            f.attachments.extend(crate::upload::file_part(field).await?);
            continue;
        }
        let text = crate::upload::field_text(field).await?;
        match name.as_str() {
            "action" => f.action = text,
            "note" => f.note = text,
            "override" => f.close_override = text,
            "percent" => {
                let t = text.trim();
                f.percent = if t.is_empty() {
                    None
                } else {
                    Some(t.parse().map_err(|_| {
                        Error::BadRequest(format!("进度「{t}」应为0到100之间的整数"))
                    })?)
                }
            }
            _ => {}
        }
    }
    Ok(f)
}

/// Take a step on an item as the viewer. Err(NotFound) outside the scope; a refusal is a
/// BadRequest with the state machine's words (403 for "not allowed").
pub async fn take_step(
    state: &AppState,
    v: &Viewer,
    id: WorkItemId,
    f: StepForm,
) -> Result<WorkItem, Error> {
    let action: WorkAction = f.action.parse()?;
    let post = acting_post(state, v).await?;
    let acting = ActingUser {
        user: v.user(),
        post,
    };
    let close_override = match f.close_override.trim() {
        "" => None,
        w => Some(w.parse()?),
    };
    let step = Step {
        action,
        note: f.note,
        percent: f.percent,
        attachments: f.attachments,
        close_override,
    };
    match state
        .store
        .work()
        .act_on_work_item(&acting, id, &step, today())
        .await?
    {
        Ok(Some(item)) => Ok(item),
        Ok(None) => Err(Error::NotFound),
        Err(r) => Err(r.into()),
    }
}

/// POST /tasks/items/{id} — a step (multipart: action, note, percent, files, csrf).
pub async fn item_step(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<WorkItemId>,
    mp: CsrfMultipart,
) -> Result<Response, PageError> {
    let f = read_step(mp).await?;
    match take_step(&state, &v, id, f).await {
        Ok(_) => Ok(Redirect::to(&format!("/tasks/items/{id}")).into_response()),
        Err(Error::BadRequest(m) | Error::Invalid { message: m, .. }) => {
            Ok(Redirect::to(&format!("/tasks/items/{id}?msg={}", view::enc(&m))).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// Change an item's deadline and unit as the viewer (headquarters). Err(NotFound)
/// outside the scope; 403 for anyone else; 422 for a missing reason or no change, 409 for a
/// closed item.
pub async fn edit_item(
    state: &AppState,
    v: &Viewer,
    id: WorkItemId,
    edit: ItemEdit,
) -> Result<WorkItem, Error> {
    let acting = acting_as_user(v);
    match state
        .store
        .work()
        .edit_work_item(&acting, id, &edit)
        .await?
    {
        Ok(Some(item)) => Ok(item),
        Ok(None) => Err(Error::NotFound),
        Err(r) => Err(r.into()),
    }
}

#[derive(Deserialize)]
pub struct EditForm {
    #[serde(default)]
    pub deadline: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub reason: String,
}

/// POST /tasks/items/{id}/edit — 改期、改派 (headquarters; reason required).
pub async fn item_edit(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<WorkItemId>,
    CsrfForm(f): CsrfForm<EditForm>,
) -> Result<Response, PageError> {
    let outcome = match parse_deadline(&f.deadline) {
        Ok(deadline) => {
            edit_item(
                &state,
                &v,
                id,
                ItemEdit {
                    deadline,
                    unit: f.unit,
                    reason: f.reason,
                },
            )
            .await
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(_) => Ok(Redirect::to(&format!("/tasks/items/{id}")).into_response()),
        Err(Error::BadRequest(m) | Error::Invalid { message: m, .. }) => {
            Ok(Redirect::to(&format!("/tasks/items/{id}?msg={}", view::enc(&m))).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// A work item given by hand (交办), as the page's form carries it (`N` = String: the task
/// number as typed) or the API's body (`N` = u32).
#[derive(Deserialize)]
pub struct NewItemForm<N> {
    pub gap_id: Option<GapId>,
    pub task_no: Option<N>,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub detail: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub deadline: String,
}

impl<N> NewItemForm<N> {
    /// The new item, for task `task_no` (as the caller read it).
    pub fn item(self, task_no: Option<u32>) -> Result<NewWorkItem, Error> {
        Ok(NewWorkItem {
            gap_id: self.gap_id,
            task_no,
            title: self.title,
            detail: self.detail,
            unit: self.unit,
            deadline: parse_deadline(&self.deadline)?,
        })
    }
}

/// The viewer acting as its account alone, with no leader's post (the headquarters'
/// steps).
fn acting_as_user(v: &Viewer) -> ActingUser<'_> {
    ActingUser {
        user: v.user(),
        post: None,
    }
}

pub fn parse_deadline(text: &str) -> Result<Option<NaiveDate>, Error> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    t.parse()
        .map(Some)
        .map_err(|_| Error::BadRequest(format!("完成时限「{t}」应为 2018-10-31 这样的日期")))
}

pub async fn create_item(
    state: &AppState,
    v: &Viewer,
    new: NewWorkItem,
) -> Result<WorkItem, Error> {
    let acting = acting_as_user(v);
    match state.store.work().create_work_item(&acting, &new).await? {
        Ok(i) => Ok(i),
        Err(r) => Err(r.into()),
    }
}

/// POST /tasks/items — 交办 by hand (headquarters), from a queued gap or on its own.
pub async fn new_item(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    CsrfForm(f): CsrfForm<NewItemForm<String>>,
) -> Result<Response, PageError> {
    let task_no = match f
        .task_no
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        Some(t) => Some(
            t.parse()
                .map_err(|_| Error::BadRequest(format!("任务序号「{t}」应为正整数")))?,
        ),
        None => None,
    };
    let item = create_item(&state, &v, f.item(task_no)?).await?;
    Ok(Redirect::to(&format!("/tasks/items/{}", item.id)).into_response())
}

/// POST /tasks/escalate — escalate every overdue item to its task's leader.
pub async fn escalate(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    let acting = acting_as_user(&v);
    match state
        .store
        .work()
        .escalate_overdue(&acting, today())
        .await?
    {
        Ok(_) => Ok(Redirect::to("/tasks/items?escalated=1").into_response()),
        Err(r) => Err(Error::Forbidden(r.to_string()).into()),
    }
}

/// GET /tasks/attachments/{id}
pub async fn attachment(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<AttachmentId>,
) -> Result<Response, PageError> {
    let a = state
        .store
        .work()
        .attachment(&v.item_scope(), id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(view::download(&a.info.file_name, a.data))
}
