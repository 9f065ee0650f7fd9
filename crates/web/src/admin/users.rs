//! Accounts: list, add, disable / enable, reset password. Every change is audited.

use crate::auth::{PageUser, Viewer};
use crate::csrf::{CsrfForm, NoFields};
use crate::error::{Error, PageError};
use crate::view::{self, Layout};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use fupin_store::{NewUser, Role, StoreError, User, UserId, PASSWORD_RULES};
use serde::Deserialize;

pub struct UserLine {
    pub id: UserId,
    pub username: String,
    pub role: &'static str,
    pub area: String,
    pub created_at: String,
    pub disabled: bool,
    /// The admin's own account: it cannot be disabled from here (nobody would be left
    /// to enable it).
    pub own: bool,
}

/// What the add form was given, shown again when it is refused.
#[derive(Default, Deserialize)]
pub struct AddUserForm {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub township: String,
    #[serde(default)]
    pub village: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub password2: String,
}

pub struct RoleChoice {
    pub word: &'static str,
    pub label: &'static str,
    pub needs: &'static str,
}

/// The roles the form offers, with what each needs.
fn role_choices() -> Vec<RoleChoice> {
    let needs = |w: &str| match w {
        "township_staff" => "填写乡镇",
        "village_staff" => "填写乡镇和行政村",
        "unit_staff" => "填写单位",
        _ => "全县",
    };
    Role::WORDS
        .iter()
        .map(|&w| {
            let role = Role::parse(w, Some("t"), Some("v"), None)
                .or_else(|_| Role::parse(w, Some("t"), None, None))
                .or_else(|_| Role::parse(w, None, None, Some("u")))
                .or_else(|_| Role::parse(w, None, None, None))
                .expect("every role word parses with its names");
            RoleChoice {
                word: w,
                label: role.chinese(),
                needs: needs(w),
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserLine>,
    roles: Vec<RoleChoice>,
    townships: Vec<String>,
    villages: Vec<String>,
    rules: &'static str,
    form: AddUserForm,
    error: Option<String>,
    notice: Option<String>,
}

#[derive(Deserialize)]
pub struct Notice {
    pub done: Option<String>,
    pub user: Option<String>,
}

/// What a redirect after a change says, from a fixed list, about an account that exists
/// (no other text from the URL is shown).
fn notice_text(n: &Notice, users: &[User]) -> Option<String> {
    let who = n.user.as_deref()?;
    if !users.iter().any(|u| u.username == who) {
        return None;
    }
    let (what, then) = match n.done.as_deref()? {
        "added" => ("已创建账号", ""),
        "disabled" => ("已停用账号", "，其登录已全部退出"),
        "enabled" => ("已启用账号", ""),
        "reset" => ("已重置密码", "：该账号的登录已全部退出，请把新密码告知本人"),
        _ => return None,
    };
    Some(format!("{what}「{who}」{then}"))
}

/// The townships and villages of the current register, for the form's suggestions and
/// for checking an account's area.
async fn areas(state: &AppState) -> Result<Vec<(String, Vec<String>)>, Error> {
    Ok(state.store.register().area_names().await?)
}

async fn render_users(
    state: &AppState,
    v: &Viewer,
    form: AddUserForm,
    error: Option<String>,
    notice: Option<&Notice>,
) -> Result<Html<String>, Error> {
    let users = state.store.accounts().users().await?;
    let notice = notice.and_then(|n| notice_text(n, &users));
    let areas = areas(state).await?;
    let p = UsersPage {
        layout: Layout::of(v, "账号管理", "users"),
        users: users
            .iter()
            .map(|u| {
                let (t, vi, unit) = u.role.names();
                UserLine {
                    id: u.id,
                    username: u.username.clone(),
                    role: u.role.chinese(),
                    area: [t, vi, unit]
                        .iter()
                        .flatten()
                        .copied()
                        .collect::<Vec<_>>()
                        .join(" "),
                    created_at: view::time(u.created_at),
                    disabled: u.disabled_at.is_some(),
                    own: u.id == v.user().id,
                }
            })
            .collect(),
        roles: role_choices(),
        townships: areas.iter().map(|a| a.0.clone()).collect(),
        villages: areas.iter().flat_map(|a| a.1.iter().cloned()).collect(),
        rules: PASSWORD_RULES,
        form: AddUserForm {
            password: String::new(),
            password2: String::new(),
            ..form
        },
        error,
        notice,
    };
    Ok(Html(p.render()?))
}

/// GET /admin/users
pub async fn users_page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Query(n): Query<Notice>,
) -> Result<Html<String>, PageError> {
    v.require_admin()?;
    let form = AddUserForm {
        role: "township_staff".into(),
        ..AddUserForm::default()
    };
    Ok(render_users(&state, &v, form, None, Some(&n)).await?)
}

fn done(what: &str, user: &str) -> Response {
    Redirect::to(&format!(
        "/admin/users?done={what}&user={}",
        view::enc(user)
    ))
    .into_response()
}

/// The role of an add form, checked against the current register's areas (when there is
/// one): an account for a township or village that does not exist would see nothing.
async fn role_of(state: &AppState, f: &AddUserForm) -> Result<Role, String> {
    let role = Role::parse(
        f.role.trim(),
        Some(&f.township),
        Some(&f.village),
        Some(&f.unit),
    )?;
    let areas = areas(state).await.map_err(|e| e.message())?;
    if areas.is_empty() {
        return Ok(role);
    }
    let (township, village, _) = role.names();
    if let Some(t) = township {
        let Some((_, villages)) = areas.iter().find(|a| a.0 == t) else {
            return Err(format!("当前登记表中没有乡镇「{t}」"));
        };
        if let Some(vi) = village {
            if !villages.iter().any(|x| x == vi) {
                return Err(format!("乡镇「{t}」下没有行政村「{vi}」"));
            }
        }
    }
    Ok(role)
}

/// POST /admin/users — add an account.
pub async fn add_user(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    CsrfForm(form): CsrfForm<AddUserForm>,
) -> Result<Response, PageError> {
    v.require_admin()?;
    let refuse = |form: AddUserForm, message: String| {
        let (state, v) = (state.clone(), v.clone());
        async move {
            let page = render_users(&state, &v, form, Some(message), None).await?;
            Ok::<_, PageError>((StatusCode::BAD_REQUEST, page).into_response())
        }
    };
    if form.password != form.password2 {
        return refuse(form, "两次输入的密码不一致".into()).await;
    }
    let role = match role_of(&state, &form).await {
        Ok(r) => r,
        Err(m) => return refuse(form, m).await,
    };
    let new = NewUser {
        username: form.username.trim().to_string(),
        password: form.password.clone(),
        role,
    };
    match state
        .store
        .accounts()
        .create_user(&new, Some(v.user().id))
        .await
    {
        Ok(u) => Ok(done("added", &u.username)),
        Err(StoreError::UsernameTaken(n)) => refuse(form, format!("用户名「{n}」已被使用")).await,
        Err(StoreError::InvalidAccount(m)) => refuse(form, m).await,
        Err(e) => Err(Error::from(e).into()),
    }
}

/// An account other than nobody's, for a change by this admin.
async fn target(state: &AppState, v: &Viewer, id: UserId) -> Result<User, Error> {
    v.require_admin()?;
    state
        .store
        .accounts()
        .user(id)
        .await?
        .ok_or(Error::NotFound)
}

/// POST /admin/users/{id}/disable and /admin/users/{id}/enable
pub async fn disable_or_enable_user(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path((id, change)): Path<(UserId, String)>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    let disable = match change.as_str() {
        "disable" => true,
        "enable" => false,
        _ => return Err(Error::NotFound.into()),
    };
    let u = target(&state, &v, id).await?;
    if disable && u.id == v.user().id {
        return Err(Error::BadRequest("不能停用自己的账号".into()).into());
    }
    state
        .store
        .accounts()
        .set_user_disabled(id, disable, Some(v.user().id))
        .await?;
    Ok(done(
        if disable { "disabled" } else { "enabled" },
        &u.username,
    ))
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub password2: String,
}

/// POST /admin/users/{id}/password — reset a password.
pub async fn reset_password(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<UserId>,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<Response, PageError> {
    let u = target(&state, &v, id).await?;
    let refuse = |m: String| {
        let message = format!("重置「{}」的密码未成功：{m}", u.username);
        let (state, v) = (&state, &v);
        async move {
            let page = render_users(state, v, AddUserForm::default(), Some(message), None).await?;
            Ok::<_, PageError>((StatusCode::BAD_REQUEST, page).into_response())
        }
    };
    if form.password != form.password2 {
        return refuse("两次输入的密码不一致".into()).await;
    }
    match state
        .store
        .accounts()
        .reset_password(id, &form.password, Some(v.user().id))
        .await
    {
        Ok(true) => Ok(done("reset", &u.username)),
        Ok(false) => Err(Error::NotFound.into()),
        Err(StoreError::InvalidAccount(m)) => refuse(m).await,
        Err(e) => Err(Error::from(e).into()),
    }
}
