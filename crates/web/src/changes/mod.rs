//! Change requests (变更申请) in the browser: the change form of a household, the review
//! queue of a township (or headquarters), approving or sending back, and the evidence
//! files. What a role may do is `domain::access`'s; reads are in the viewer's scope.

pub mod form;
pub mod queue;

use crate::Pages;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

/// The change pages.
pub(crate) fn routes(pages: Pages) -> Pages {
    pages
        .route(
            "/households/{household_no}/change",
            get(form::page)
                .post(form::submit)
                .layer(DefaultBodyLimit::max(4 * fupin_store::MAX_ATTACHMENT_BYTES)),
        )
        .route("/changes", get(queue::page))
        .route("/changes/{id}/{decision}", post(queue::review))
        .route("/changes/files/{id}", get(queue::file))
}
