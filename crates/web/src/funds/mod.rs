//! 项目库与资金拨付 (issue 7, docs `projects-and-funds.md`): the project library (filtered,
//! key-paged), a project's page (budget by source, net disbursed and its rate, stage with
//! planned and actual dates, its ledger with reversals, the households that benefit), the
//! forms that create and edit a project (headquarters), move its stage, record a
//! disbursement or a reversal (headquarters or the implementing unit; an override of the
//! budget is headquarters' with a reason), the uploads of the library, disbursement and
//! beneficiaries files (all or nothing, every problem listed), the figures with the
//! county's behind-schedule rule, and the ledgers (台账) as XLSX.
//!
//! Every read passes the viewer's [`ItemScope`] to the store, which filters in SQL: a
//! project outside it is 404, like one that does not exist. Every write is the store's,
//! checked and audited there; a refusal is shown in Chinese on the form it came from.

pub mod api;
mod figures;
mod forms;
mod ledgers;
mod list;
mod project;
mod uploads;

use crate::auth::Viewer;
use crate::error::Error;
use crate::view;
use crate::{AppState, Pages};
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use chrono::NaiveDate;
pub use figures::rule_text;

use fupin_domain::access::{may, Action};
use fupin_domain::plan::Deadline;
use fupin_domain::Fen;
use fupin_store::{ProjectId, StoredProject};

/// Projects per page of the list.
pub const PAGE: i64 = 100;

/// Whether the viewer may record entries (and move the stage) of a unit's project.
fn may_record(v: &Viewer, unit: &str) -> bool {
    let record = Action::RecordEntry {
        unit,
        overriding: false,
    };
    may(v.user().role.actor(None), record).is_ok()
}

/// Whether the viewer records for some project: headquarters and unit staff.
fn records_any(v: &Viewer) -> bool {
    may(v.user().role.actor(None), Action::RecordAnyEntry).is_ok()
}

/// A project in the viewer's scope; one outside it is not found, like one that does not
/// exist.
async fn project_in_scope(
    state: &AppState,
    v: &Viewer,
    id: ProjectId,
) -> Result<StoredProject, Error> {
    state
        .store
        .funds()
        .project(&v.item_scope(), id)
        .await?
        .ok_or(Error::NotFound)
}

fn parse_date(what: &str, text: &str) -> Result<Option<NaiveDate>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    match Deadline::parse(t).ok().and_then(Deadline::date) {
        Some(d) => Ok(Some(d)),
        None => Err(format!(
            "{what}「{t}」应为 2018-04-01、2018/4/1 或 2018年4月1日 这样的日期"
        )),
    }
}

fn parse_yuan(what: &str, text: &str) -> Result<Fen, String> {
    let t = text.trim().replace(',', "");
    if t.is_empty() {
        return Ok(Fen::new(0));
    }
    match Fen::parse_yuan(&t) {
        Ok(f) if f.fen() >= 0 => Ok(f),
        Ok(_) => Err(format!("{what}「{text}」不能为负数")),
        Err(e) => Err(format!(
            "{what}「{text}」有误：{e}（应为以元为单位的金额，最多两位小数）"
        )),
    }
}

fn rate_text(r: Option<fupin_domain::figures::Rate>) -> String {
    view::percent(r)
}

fn place(township: &str, village: &Option<String>) -> String {
    match village {
        Some(v) => format!("{township} {v}"),
        None => township.to_string(),
    }
}

fn opt_date(d: Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

/// The pages of projects and funds.
pub(crate) fn routes(pages: Pages, upload_limit: usize) -> Pages {
    pages
        .route("/projects", get(list::list_page).post(forms::create))
        .route("/projects/new", get(forms::new_page))
        .route(
            "/projects/upload",
            post(uploads::upload).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/projects/ledger.xlsx", get(ledgers::projects_xlsx))
        .route("/projects/entries.xlsx", get(ledgers::entries_xlsx))
        .route("/projects/{id}", get(project::detail_page))
        .route(
            "/projects/{id}/edit",
            get(forms::edit_page).post(forms::edit),
        )
        .route("/projects/{id}/stage", post(project::set_stage))
        .route("/projects/{id}/entries", post(project::add_entry))
        .route("/projects/{id}/beneficiaries", post(project::set_benefit))
        .route(
            "/projects/{id}/entries.xlsx",
            get(ledgers::project_entries_xlsx),
        )
        .route("/funds", get(figures::figures))
        .route("/funds/rule", post(figures::set_rule))
}
