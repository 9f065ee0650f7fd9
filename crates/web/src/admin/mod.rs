//! For the headquarters admin: the audit log (newest first, paged by key) and the
//! accounts (add, disable / enable, reset a password; `fupin user add` does the first
//! from the command line).

pub mod api;
mod audit;
mod users;

use crate::Pages;
pub use audit::{action_label, audit_page, AuditLine, Before};
use axum::routing::{get, post};
pub use users::{
    add_user, disable_or_enable_user, reset_password, users_page, AddUserForm, Notice,
    PasswordForm, RoleChoice, UserLine,
};

pub const PAGE: u32 = 100;

/// The pages of this area.
pub(crate) fn routes(pages: Pages) -> Pages {
    pages
        .route("/admin/audit", get(audit_page))
        .route("/admin/users", get(users_page).post(add_user))
        .route("/admin/users/{id}/{change}", post(disable_or_enable_user))
        .route("/admin/users/{id}/password", post(reset_password))
}
