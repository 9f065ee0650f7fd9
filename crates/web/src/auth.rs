//! Login, sessions, CSRF and throttling.
//!
//! - A session is a row in the database (the store keeps only the token's hash); the
//!   browser holds the token in the `fupin_session` cookie: HttpOnly, SameSite=Lax,
//!   Path=/, and Secure when the site is served over HTTPS ([`crate::Config`]).
//! - Every POST carries the session's CSRF token — a hidden `csrf` field in forms, the
//!   `X-CSRF-Token` header in the API — compared in constant time. The login form, made
//!   before there is a session, is protected by a double-submit token in its own
//!   short-lived cookie.
//! - Throttling: after [`crate::Config::max_failures`] failed logins for a username
//!   within [`crate::Config::throttle_window`], no password is checked for it until the
//!   window has passed. Failures are rows in the database, so every process counts them.

use crate::csrf::{CsrfForm, NoFields};
use crate::error::{ApiError, Error, PageError};
use crate::view::Layout;
use crate::AppState;
use askama::Template;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use chrono::Utc;
use fupin_store::{NewSession, Role, Scope, Session, User};
use serde::Deserialize;

pub const SESSION_COOKIE: &str = "fupin_session";
pub const LOGIN_COOKIE: &str = "fupin_login";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The user behind a request, with the area they may read.
#[derive(Clone, Debug)]
pub struct Viewer {
    pub session: Session,
    /// The session token from the cookie (to end the session).
    pub token: String,
    pub scope: Scope,
}

impl Viewer {
    pub fn user(&self) -> &User {
        &self.session.user
    }

    /// The work items, gaps, projects and findings the viewer sees (its role's units or
    /// area; [`fupin_domain::access::ItemScope::of`]).
    pub fn item_scope(&self) -> fupin_store::ItemScope {
        fupin_store::ItemScope::of(&self.session.user.role)
    }

    pub fn is_admin(&self) -> bool {
        self.session.user.role == Role::HqAdmin
    }

    /// Only the headquarters admin imports registers, reads the audit log and the users.
    pub fn require_admin(&self) -> Result<(), Error> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "此功能仅限指挥部管理员使用；您的角色是「{}」",
                self.session.user.role.chinese()
            )))
        }
    }

    /// A POST's token against the session's, in constant time.
    pub fn check_csrf(&self, sent: Option<&str>) -> Result<(), Error> {
        match sent {
            Some(s) if constant_time_eq(s.as_bytes(), self.session.csrf_token.as_bytes()) => Ok(()),
            _ => Err(Error::Csrf),
        }
    }

    /// The API's CSRF header.
    pub fn check_csrf_header(&self, headers: &HeaderMap) -> Result<(), Error> {
        self.check_csrf(headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The request's viewer, looked up once per request: kept in its extensions for the next
/// extractor that asks (a handler's [`PageUser`] and its [`crate::csrf::CsrfForm`]).
async fn viewer(parts: &mut Parts, state: &AppState) -> Result<Viewer, Error> {
    if let Some(v) = parts.extensions.get::<Viewer>() {
        return Ok(v.clone());
    }
    let v = look_up_viewer(parts, state).await?;
    parts.extensions.insert(v.clone());
    Ok(v)
}

async fn look_up_viewer(parts: &Parts, state: &AppState) -> Result<Viewer, Error> {
    let token = cookie(&parts.headers, SESSION_COOKIE)
        .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or(Error::Login)?;
    let session = state
        .store
        .accounts()
        .session(token)
        .await?
        .ok_or(Error::Login)?;
    let scope = Scope::of(&session.user.role);
    Ok(Viewer {
        session,
        token: token.to_string(),
        scope,
    })
}

/// A logged-in user of a page; without a session the browser is sent to the login page.
pub struct PageUser(pub Viewer);

/// A logged-in user of the API; without a session, 401.
pub struct ApiUser(pub Viewer);

impl FromRequestParts<AppState> for PageUser {
    type Rejection = PageError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        Ok(PageUser(viewer(parts, state).await?))
    }
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(ApiUser(viewer(parts, state).await?))
    }
}

/// `Set-Cookie` for a session token; an empty token clears the cookie.
pub fn session_cookie(state: &AppState, token: &str, max_age: i64) -> HeaderValue {
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .expect("a cookie of hex digits and ASCII flags is a valid header")
}

fn login_cookie(state: &AppState, token: &str, max_age: i64) -> HeaderValue {
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{LOGIN_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .expect("a cookie of hex digits and ASCII flags is a valid header")
}

/// 128 random bits as hex.
pub fn random_hex() -> String {
    let mut b = [0u8; 16];
    getrandom::getrandom(&mut b).expect("the system's random source works");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Why a login was refused.
#[derive(Debug)]
pub enum Refusal {
    /// Too many failures: the message says when to try again.
    Throttled(String),
    WrongPassword,
}

impl Refusal {
    pub fn message(&self) -> String {
        match self {
            Refusal::Throttled(m) => m.clone(),
            Refusal::WrongPassword => "用户名或密码错误".into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            Refusal::WrongPassword => StatusCode::UNAUTHORIZED,
        }
    }
}

/// Check a username and password (with throttling) and start a session.
pub async fn attempt_login(
    state: &AppState,
    username: &str,
    password: &str,
) -> Result<Result<(User, NewSession), Refusal>, Error> {
    let cfg = &state.config;
    let username = username.trim();
    let since = Utc::now() - cfg.throttle_window;
    let failures = state
        .store
        .accounts()
        .recent_failures(username, since)
        .await?;
    if failures >= cfg.max_failures {
        return Ok(Err(Refusal::Throttled(format!(
            "该账号在 {} 分钟内登录失败已达 {} 次，已暂停登录，请 {} 分钟后再试（如忘记密码请联系指挥部管理员）",
            cfg.throttle_window.num_minutes(),
            cfg.max_failures,
            cfg.throttle_window.num_minutes()
        ))));
    }
    let Some(user) = state
        .store
        .accounts()
        .verify_password(username, password)
        .await?
    else {
        state.store.accounts().record_failed_login(username).await?;
        return Ok(Err(Refusal::WrongPassword));
    };
    state
        .store
        .accounts()
        .clear_failed_logins(Some(username), Utc::now() + chrono::Duration::seconds(1))
        .await?;
    let session = state
        .store
        .accounts()
        .create_session(user.id, cfg.session_ttl)
        .await?;
    Ok(Ok((user, session)))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    csrf: String,
    username: String,
    message: String,
}

fn login_form(
    state: &AppState,
    status: StatusCode,
    username: &str,
    message: String,
) -> Result<Response, PageError> {
    let token = random_hex();
    let page = LoginPage {
        layout: Layout::bare("登录"),
        csrf: token.clone(),
        username: username.into(),
        message,
    };
    let mut r = (status, Html(page.render()?)).into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, login_cookie(state, &token, 3600));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// GET /login
pub async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    if let Some(t) = cookie(&headers, SESSION_COOKIE) {
        if state.store.accounts().session(t).await?.is_some() {
            return Ok(Redirect::to("/").into_response());
        }
    }
    login_form(&state, StatusCode::OK, "", String::new())
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

/// POST /login
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    if expected.is_empty() || !constant_time_eq(expected.as_bytes(), form.csrf.as_bytes()) {
        return login_form(
            &state,
            StatusCode::FORBIDDEN,
            &form.username,
            Error::Csrf.message(),
        );
    }
    match attempt_login(&state, &form.username, &form.password).await? {
        Err(refusal) => login_form(&state, refusal.status(), &form.username, refusal.message()),
        Ok((_, session)) => {
            let mut r = Redirect::to("/").into_response();
            let h = r.headers_mut();
            let ttl = state.config.session_ttl.num_seconds();
            h.append(
                header::SET_COOKIE,
                session_cookie(&state, &session.token, ttl),
            );
            h.append(header::SET_COOKIE, login_cookie(&state, "", 0));
            Ok(r)
        }
    }
}

/// POST /logout
pub async fn logout(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    state.store.accounts().delete_session(&v.token).await?;
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&state, "", 0));
    Ok(r)
}
