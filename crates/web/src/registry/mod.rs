//! The register as its users read it: the dashboard of their area, the drill-down county →
//! township → village, a household's page with its verdict explained, search, the
//! problems the import found, and their JSON under `/api/v1/`.
//!
//! Every read passes the viewer's scope to the store, which filters in SQL: what lies
//! outside it is 404, never 403, so that its existence does not leak.

pub mod api;
pub mod areas;
pub mod dashboard;
pub mod household;
pub mod problems;
pub mod search;

use crate::Pages;
use axum::routing::get;

/// The pages of the register.
pub(crate) fn routes(pages: Pages) -> Pages {
    pages
        .route("/", get(dashboard::page))
        .route("/townships/{township}", get(areas::township_page))
        .route(
            "/townships/{township}/villages/{village}",
            get(areas::village_page),
        )
        .route("/households/{household_no}", get(household::page))
        .route("/search", get(search::page))
        .route("/problems", get(problems::page))
        .route("/problems.xlsx", get(problems::xlsx))
}
