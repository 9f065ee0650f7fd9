//! For the headquarters admin: the audit log (newest first, paged by key) and the
//! accounts (add, disable / enable, reset a password; `fupin user add` does the first
//! from the command line).

pub mod api;
mod audit;
mod users;

use crate::Pages;

use axum::routing::{get, post};

pub const PAGE: u32 = 100;

/// The pages of this area.
pub(crate) fn routes(pages: Pages) -> Pages {
    pages
        .route("/admin/audit", get(audit::audit_page))
        .route("/admin/users", get(users::users_page).post(users::add_user))
        .route(
            "/admin/users/{id}/{change}",
            post(users::disable_or_enable_user),
        )
        .route("/admin/users/{id}/password", post(users::reset_password))
}
