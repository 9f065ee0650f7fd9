//! For the headquarters admin: the audit log (newest first, paged by key) and the
//! accounts.

use crate::auth::PageUser;
use crate::error::PageError;
use crate::view::{self, Layout};
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use fupin_store::AuditEntry;
use serde::Deserialize;

pub const PAGE: u32 = 100;

pub struct AuditLine {
    pub id: i64,
    pub at: String,
    pub user: String,
    pub action: String,
    pub entity: String,
    pub before: String,
    pub after: String,
}

/// An audit action in Chinese.
pub fn action_label(action: &str) -> &str {
    match action {
        "import_register" => "导入登记表",
        "create_user" => "创建账号",
        "create_session" => "登录",
        "delete_session" => "退出登录",
        other => other,
    }
}

fn json_text(v: &Option<serde_json::Value>) -> String {
    v.as_ref().map(|v| v.to_string()).unwrap_or_default()
}

impl AuditLine {
    fn of(e: &AuditEntry) -> AuditLine {
        AuditLine {
            id: e.id,
            at: view::time(e.at),
            user: e.username.clone().unwrap_or_else(|| "命令行".into()),
            action: action_label(&e.action).into(),
            entity: format!("{} {}", e.entity, e.entity_id),
            before: json_text(&e.before),
            after: json_text(&e.after),
        }
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    entries: Vec<AuditLine>,
    next_url: Option<String>,
    paged: bool,
}

#[derive(Deserialize)]
pub struct Before {
    pub before: Option<i64>,
}

/// GET /admin/audit?before=id
pub async fn audit_page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Query(q): Query<Before>,
) -> Result<Html<String>, PageError> {
    v.require_admin()?;
    let page = state.store.audit_entries(q.before, PAGE).await?;
    let p = AuditPage {
        layout: Layout::of(&v, "审计日志", "audit"),
        entries: page.items.iter().map(AuditLine::of).collect(),
        next_url: page.next.map(|n| format!("/admin/audit?before={n}")),
        paged: q.before.is_some(),
    };
    Ok(Html(p.render()?))
}

pub struct UserLine {
    pub username: String,
    pub role: &'static str,
    pub area: String,
    pub created_at: String,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserLine>,
}

/// GET /admin/users
pub async fn users_page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
) -> Result<Html<String>, PageError> {
    v.require_admin()?;
    let users = state.store.users().await?;
    let p = UsersPage {
        layout: Layout::of(&v, "账号管理", "users"),
        users: users
            .iter()
            .map(|u| {
                let (t, vi, unit) = u.role.names();
                UserLine {
                    username: u.username.clone(),
                    role: u.role.chinese(),
                    area: [t, vi, unit]
                        .iter()
                        .flatten()
                        .copied()
                        .collect::<Vec<_>>()
                        .join(" "),
                    created_at: view::time(u.created_at),
                }
            })
            .collect(),
    };
    Ok(Html(p.render()?))
}
