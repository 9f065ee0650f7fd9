//! The fupin web server: server-rendered pages in simplified Chinese and a JSON API over
//! the [`Store`], with accounts, sessions and area-scoped access.
//!
//! What a page shows comes from the store: the assessment of every household was made by
//! `fupin_io::engine` when the register was imported, and this crate never judges a
//! household. Every read of the register passes the user's [`Scope`] to the store, which
//! filters in SQL: what lies outside it is "not found" (404), never "forbidden", so that
//! its existence does not leak.
//!
//! No state that decides what a user may see lives in the process: sessions, login
//! failures and import jobs are rows in the database, so several `fupin serve` processes
//! can share one PostgreSQL behind any load balancer.
//!
//! One module per area: [`auth`] (login, sessions, CSRF, throttling), [`dashboard`],
//! [`registry`] (drill-down county → township → village), [`household`], [`search`],
//! [`problems`], [`import`], [`admin`] (audit log, users), [`tasks`] (the responsibility
//! plan, gaps and work items), [`inspections`] (samples, results, estimates, findings),
//! [`funds`] (the project library, its ledger, uploads, figures and ledgers as XLSX),
//! [`api`], [`work_api`], [`funds_api`] and [`inspections_api`] (JSON and OpenAPI).

pub mod admin;
pub mod api;
pub mod auth;
pub mod changes;
pub mod charts;
pub mod csrf;
pub mod error;
pub mod funds;
pub mod import;
pub mod inspections;
pub mod registry;
pub mod tasks;
pub mod upload;
pub mod view;
pub mod xlsx;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use fupin_domain::figures::Region;
use fupin_store::{Scope, Store};
use std::path::PathBuf;
use std::sync::Arc;
use tower_http::set_header::SetResponseHeaderLayer;

/// How the server runs: the parts that are not the database.
#[derive(Clone, Debug)]
pub struct Config {
    /// Mark the session cookie `Secure` (the site is served over HTTPS, directly or
    /// behind a proxy).
    pub secure_cookies: bool,
    /// The incidence threshold shown against the figures: 2% central, 3% western.
    pub region: Region,
    /// How long a session lasts after login.
    pub session_ttl: chrono::Duration,
    /// The largest upload accepted (members file plus villages file).
    pub max_upload_bytes: usize,
    /// Failed logins allowed per username within [`Config::throttle_window`].
    pub max_failures: u64,
    pub throttle_window: chrono::Duration,
    /// The private folder (0700, see [`import::prepare_upload_folder`]) where uploads
    /// wait while they are checked; when None, one made for this process in the system's
    /// temp folder.
    pub upload_dir: Option<PathBuf>,
    /// This process's name in the jobs table (unique: its process id and a random part).
    pub instance: String,
    /// How long a job this process runs stays its own without a renewal
    /// ([`fupin_store::JOB_LEASE`]); renewed every sixth of it.
    pub job_lease: std::time::Duration,
    /// What each kind of uploaded file may hold, passed to its reader.
    pub limits: fupin_io::Limits,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            secure_cookies: false,
            region: Region::Central,
            session_ttl: chrono::Duration::hours(12),
            max_upload_bytes: 1 << 30,
            max_failures: 5,
            throttle_window: chrono::Duration::minutes(15),
            upload_dir: None,
            instance: instance_name(),
            job_lease: fupin_store::JOB_LEASE,
            limits: fupin_io::Limits::default(),
        }
    }
}

/// `fupin-PID-RANDOM`: processes on different machines may share a process id.
fn instance_name() -> String {
    let mut b = [0u8; 4];
    let _ = getrandom::getrandom(&mut b);
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("fupin-{}-{hex}", std::process::id())
}

/// What every handler gets.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    /// The imports this process runs, for their live progress (the job rows are what
    /// every process sees).
    pub imports: import::RunningImports,
    /// Where uploads wait.
    pub uploads: Arc<import::UploadFolder>,
}

impl AppState {
    pub fn new(store: Store, config: Config) -> AppState {
        AppState {
            store,
            uploads: Arc::new(import::UploadFolder::new(config.upload_dir.clone())),
            config: Arc::new(config),
            imports: import::RunningImports::default(),
        }
    }
}

/// The style sheet, served by the app (no CDN).
const APP_CSS: &str = include_str!("../static/app.css");
const INCOME_JS: &str = include_str!("../static/income.js");

/// The change form's 收入测算 (the only script: pages work without it).
async fn income_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        INCOME_JS,
    )
}

async fn app_css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        APP_CSS,
    )
}

/// Content Security Policy: nothing from elsewhere, no scripts at all.
const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The page routes, with the path of each: built once by [`pages`], for the router and for
/// [`page_paths`], so that the list the CSRF test reads is the router's own.
pub(crate) struct Pages {
    router: Router<AppState>,
    paths: Vec<&'static str>,
}

impl Pages {
    pub(crate) fn route(mut self, path: &'static str, methods: MethodRouter<AppState>) -> Pages {
        self.paths.push(path);
        self.router = self.router.route(path, methods);
        self
    }
}

/// Every page (a state-changing one takes its body through [`csrf::CsrfForm`] or
/// [`csrf::CsrfMultipart`]).
fn pages(upload_limit: usize) -> Pages {
    let pages = Pages {
        router: Router::new(),
        paths: Vec::new(),
    }
    .route("/login", get(auth::login_page).post(auth::login))
    .route("/logout", post(auth::logout))
    .route("/static/app.css", get(app_css))
    .route("/static/income.js", get(income_js));
    let pages = registry::routes(pages);
    let pages = changes::routes(pages);
    let pages = import::routes(pages, upload_limit);
    let pages = admin::routes(pages);
    let pages = tasks::routes(pages, upload_limit);
    let pages = inspections::routes(pages, upload_limit);
    funds::routes(pages, upload_limit)
}

/// The path of every page route, as [`router`] builds them (`{id}` and the like as
/// written), for the test that every state-changing page refuses a request without the
/// CSRF token.
#[doc(hidden)]
pub fn page_paths() -> Vec<&'static str> {
    pages(0).paths
}

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    let upload_limit = state.config.max_upload_bytes;
    let pages = pages(upload_limit)
        .router
        // Every other body is a form: small (the routes above that take files say theirs).
        .layer(DefaultBodyLimit::max(upload::FORM_LIMIT));
    let api = api::routes()
        .merge(registry::api::routes())
        .merge(import::api::routes(upload_limit))
        .merge(admin::api::routes())
        .merge(tasks::api::routes(upload_limit))
        .merge(funds::api::routes())
        .merge(inspections::api::routes())
        // Every other body is JSON of a few fields (the routes that take more say theirs).
        .layer(DefaultBodyLimit::max(upload::JSON_LIMIT))
        // Outermost, so that a refusal by the layers above (413 …) is JSON in Chinese too.
        .layer(axum::middleware::from_fn(error::api_rejections));
    Router::new()
        .merge(pages)
        .nest("/api", api)
        .fallback(error::not_found)
        // Pages and API answers carry personal data: no browser or proxy keeps a copy
        // (the style sheet sets its own cache).
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .with_state(state)
}

/// What a server does as it starts, before it answers: what a stopped server left is
/// cleared — jobs whose lease has passed are failed ([`import::fail_stopped_jobs`]),
/// staging tables of killed imports dropped on PostgreSQL (unless an import runs now, in
/// another process: then by the next import or the hourly housekeeping), and uploads
/// no process has touched for two leases removed. Only logged when it fails: the server
/// starts anyway.
pub async fn start(state: &AppState) {
    if let Err(e) = import::fail_stopped_jobs(state).await {
        tracing::warn!("start: stopped jobs not failed: {e}");
    }
    drop_orphan_staging(state).await;
    sweep_uploads(state).await;
}

async fn drop_orphan_staging(state: &AppState) {
    match state.store.import().drop_orphan_staging(false).await {
        Ok(Some(n)) if n > 0 => {
            tracing::warn!("dropped {n} staging tables left by imports that were killed");
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("staging tables of killed imports not dropped: {e}"),
    }
}

/// Remove the uploads no live process touched for two leases.
async fn sweep_uploads(state: &AppState) {
    let Ok(folder) = state.uploads.path() else {
        return;
    };
    let stale = state.config.job_lease * 2;
    let removed = tokio::task::spawn_blocking(move || import::sweep_uploads(&folder, stale))
        .await
        .unwrap_or(0);
    if removed > 0 {
        tracing::warn!("removed {removed} uploads left by a server that stopped");
    }
}

/// Serve on a bound listener until Ctrl-C (or SIGTERM). Call [`start`] first.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    let store = state.store.clone();
    let housekeeping = tokio::spawn(housekeeping(state.clone()));
    let jobs = tokio::spawn(watch_jobs(state.clone()));
    let app = router(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    housekeeping.abort();
    jobs.abort();
    store.close().await;
    Ok(())
}

/// Every heartbeat ([`import::heartbeat_every`]): fail the jobs of servers that stopped,
/// and remove their uploads once stale. Every server does it; the database decides.
async fn watch_jobs(state: AppState) {
    let mut tick = tokio::time::interval(import::heartbeat_every(state.config.job_lease));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = import::fail_stopped_jobs(&state).await {
            tracing::warn!("stopped jobs not failed: {e}");
        }
        sweep_uploads(&state).await;
    }
}

/// Every hour: forget expired sessions and login failures older than the throttling
/// window, and drop staging tables killed imports left. Any process may do it; doing it
/// twice is harmless.
async fn housekeeping(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tick.tick().await;
        drop_orphan_staging(&state).await;
        if let Err(e) = state.store.accounts().delete_expired_sessions().await {
            tracing::warn!("housekeeping: sessions: {e}");
        }
        let before = chrono::Utc::now() - state.config.throttle_window;
        if let Err(e) = state
            .store
            .accounts()
            .clear_failed_logins(None, before)
            .await
        {
            tracing::warn!("housekeeping: login failures: {e}");
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// A scope in Chinese, for page headers: 全县, 示例一乡, 示例一乡 示例一乡甲村.
pub fn scope_label(scope: &Scope) -> String {
    match scope {
        Scope::County => "全县".into(),
        Scope::Township { township } => township.clone(),
        Scope::Village { township, village } => format!("{township} {village}"),
    }
}
