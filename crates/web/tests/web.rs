//! The fupin web server, driven through its real router over a real store (SQLite in a
//! temp file; PostgreSQL too when FUPIN_TEST_PG is set). Each test names the rule it pins.

#[macro_use]
#[path = "web/support.rs"]
mod support;

#[path = "web/access.rs"]
mod access;
#[path = "web/accounts.rs"]
mod accounts;
#[path = "web/auth.rs"]
mod auth;
#[path = "web/bodies.rs"]
mod bodies;
#[path = "web/changes.rs"]
mod changes;
#[path = "web/csrf.rs"]
mod csrf;
#[path = "web/errors.rs"]
mod errors;
#[path = "web/figures.rs"]
mod figures;
#[path = "web/funds.rs"]
mod funds;
#[path = "web/import.rs"]
mod import;
#[path = "web/inspections.rs"]
mod inspections;
#[path = "web/openapi.rs"]
mod openapi;
#[path = "web/tasks.rs"]
mod tasks;
