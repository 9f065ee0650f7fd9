//! 责任落实: the responsibility plan and its work — the responsibility matrix, the "six in
//! place" (六个到位) panel, gaps and the headquarters' queue, work items (交办 → 整改 → 验收 →
//! 销号) with progress reports, attachments, reminders and escalation, plan imports, and
//! the ledgers (台账) as XLSX.
//!
//! Who sees what is the store's [`ItemScope`], applied in SQL: unit staff their unit's items
//! (their inbox) and the gaps routed to it, township and village staff their area's, the
//! others everything. Who may do what is `fupin_domain::work_item::can`; the pages only
//! offer the steps it allows, and the store asks it again before writing.
//!
//! A county leader's account maps to a post (常务副县长 …) set by the headquarters on the
//! matrix page; "我的任务" are the plan's tasks whose 责任领导 is that post.

pub mod api;
mod gaps;
mod items;
mod ledgers;
mod matrix;
mod plan;
mod six;

use crate::auth::Viewer;
use crate::error::Error;
use crate::{AppState, Pages};
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use fupin_store::Role;
pub use gaps::GapsQuery;
pub use items::{
    create_item, edit_item, item_filter, parse_deadline, take_step, ItemLine, ItemsQuery,
    NewItemForm, StepForm,
};
pub use ledgers::{GAP_LEDGER_HEADER, PLAN_LEDGER_HEADER};
pub(crate) use matrix::plan_in_force;

pub use plan::{import_plan, read_plan_upload, sha256_hex, PlanImport};
pub use six::six_in_place;

pub const PAGE: u32 = 100;

/// The acting user of a request: the account and, for a county leader, its post.
pub async fn acting_post(state: &AppState, v: &Viewer) -> Result<Option<String>, Error> {
    Ok(match v.user().role {
        Role::CountyLeader => state.store.plan().leader_post(v.user().id).await?,
        _ => None,
    })
}

/// The pages of this area.
pub(crate) fn routes(pages: Pages, upload_limit: usize) -> Pages {
    pages
        .route("/tasks", get(matrix::matrix_page))
        .route("/tasks/six", get(six::six_page))
        .route("/tasks/gaps", get(gaps::gaps_page))
        .route(
            "/tasks/plan",
            post(plan::plan_upload).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/tasks/leaders", post(matrix::set_leader))
        .route("/tasks/escalate", post(items::escalate))
        .route("/tasks/items", get(items::items_page).post(items::new_item))
        .route(
            "/tasks/items/{id}",
            get(items::item_page)
                .post(items::item_step)
                .layer(DefaultBodyLimit::max(4 * fupin_store::MAX_ATTACHMENT_BYTES)),
        )
        .route("/tasks/items/{id}/edit", post(items::item_edit))
        .route("/tasks/attachments/{id}", get(items::attachment))
        .route("/tasks/ledger.xlsx", get(ledgers::ledger_xlsx))
}
