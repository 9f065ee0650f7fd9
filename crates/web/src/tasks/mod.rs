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
use fupin_store::{ItemScope, Role};
pub use gaps::{gaps_page, GapLine, GapsQuery};
pub use items::{
    attachment, create_item, edit_item, escalate, item_edit, item_filter, item_page, item_step,
    items_page, new_item, parse_deadline, take_step, EditForm, EventLine, ItemLine, ItemQuery,
    ItemsQuery, NewItemForm, StepForm,
};
pub use ledgers::{
    ledger_workbook, ledger_xlsx, ledgers, Ledgers, GAP_LEDGER_HEADER, PLAN_LEDGER_HEADER,
};
pub use matrix::{matrix_page, set_leader, LeaderForm, LeaderLine, MatrixQuery, PlanHead};
pub use plan::{
    import_plan, plan_upload, read_plan_upload, sha256_hex, PlanImport, PlanProblem, PlanUpload,
};
pub use six::{six_in_place, six_page, Six};

pub const PAGE: u32 = 100;

/// The acting user of a request: the account and, for a county leader, its post.
pub async fn acting_post(state: &AppState, v: &Viewer) -> Result<Option<String>, Error> {
    Ok(match v.user().role {
        Role::CountyLeader => state.store.plan().leader_post(v.user().id).await?,
        _ => None,
    })
}

pub fn item_scope(v: &Viewer) -> ItemScope {
    ItemScope::of(&v.user().role)
}

/// The pages of this area.
pub(crate) fn routes(pages: Pages, upload_limit: usize) -> Pages {
    pages
        .route("/tasks", get(matrix_page))
        .route("/tasks/six", get(six_page))
        .route("/tasks/gaps", get(gaps_page))
        .route(
            "/tasks/plan",
            post(plan_upload).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/tasks/leaders", post(set_leader))
        .route("/tasks/escalate", post(escalate))
        .route("/tasks/items", get(items_page).post(new_item))
        .route(
            "/tasks/items/{id}",
            get(item_page)
                .post(item_step)
                .layer(DefaultBodyLimit::max(4 * fupin_store::MAX_ATTACHMENT_BYTES)),
        )
        .route("/tasks/items/{id}/edit", post(item_edit))
        .route("/tasks/attachments/{id}", get(attachment))
        .route("/tasks/ledger.xlsx", get(ledger_xlsx))
}
