//! What goes wrong in a request, as a page or as JSON.
//!
//! Anything outside the user's area is [`Error::NotFound`] — the same answer as for a
//! household that does not exist — so that a URL cannot be used to learn what exists.

use crate::view::{self, Layout};
use askama::Template;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Json;
use fupin_domain::access::Refusal;
use fupin_store::StoreError;
use serde_json::json;

#[derive(Debug)]
pub enum Error {
    /// No valid session: log in.
    Login,
    /// Not there, or not in the user's area.
    NotFound,
    /// The role may not do this (the page itself is no secret).
    Forbidden(String),
    /// The CSRF token is missing or wrong.
    Csrf,
    /// A request a person can correct.
    BadRequest(String),
    /// A request refused for one field (or its body as a whole when `field` is None),
    /// with the status the refusal carries (400, 413, 415, 422 …).
    Invalid {
        status: StatusCode,
        field: Option<String>,
        message: String,
    },
    /// The database cannot be reached (stopped, restarting, dropped): 503, retry later.
    Unavailable,
    /// A body or file over its limit (413), saying the limit.
    TooLarge(String),
    Internal(String),
}

/// Seconds a client is told to wait when the database is unreachable (`Retry-After`).
pub const RETRY_AFTER_SECONDS: u32 = 30;

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Error {
        if e.unreachable() {
            tracing::warn!("store unreachable: {e}");
            return Error::Unavailable;
        }
        tracing::error!("store: {e}");
        Error::Internal(e.to_string())
    }
}

/// A rule's refusal: who may not (403), not from the state things are in (409), not
/// acceptable as given (422).
/// How the web answers a rule's refusal: 403, 409 or 422.
pub fn refusal_status(r: &Refusal) -> StatusCode {
    match r {
        Refusal::Forbidden(_) => StatusCode::FORBIDDEN,
        Refusal::Conflict(_) => StatusCode::CONFLICT,
        Refusal::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Error {
        let status = match r {
            Refusal::Forbidden(m) => return Error::Forbidden(m),
            ref r => refusal_status(r),
        };
        Error::Invalid {
            status,
            field: None,
            message: r.into_message(),
        }
    }
}

/// A word a user typed that names no value of its kind (a state, a stage, a grouping): 400,
/// saying what is accepted.
impl From<fupin_domain::words::Unrecognized> for Error {
    fn from(e: fupin_domain::words::Unrecognized) -> Error {
        Error::BadRequest(e.to_string())
    }
}

impl From<askama::Error> for Error {
    fn from(e: askama::Error) -> Error {
        Error::Internal(format!("页面生成失败：{e}"))
    }
}

impl Error {
    fn status(&self) -> StatusCode {
        match self {
            Error::Login => StatusCode::UNAUTHORIZED,
            Error::NotFound => StatusCode::NOT_FOUND,
            Error::Forbidden(_) | Error::Csrf => StatusCode::FORBIDDEN,
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Invalid { status, .. } => *status,
            Error::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Error::Login => "login_required",
            Error::NotFound => "not_found",
            Error::Forbidden(_) => "forbidden",
            Error::Csrf => "csrf",
            Error::BadRequest(_) => "bad_request",
            Error::Invalid { status, .. } => match *status {
                StatusCode::PAYLOAD_TOO_LARGE => "too_large",
                StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
                StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
                StatusCode::UNPROCESSABLE_ENTITY => "invalid",
                StatusCode::CONFLICT => "conflict",
                _ => "bad_request",
            },
            Error::Unavailable => "unavailable",
            Error::TooLarge(_) => "too_large",
            Error::Internal(_) => "internal",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Error::Login => "请先登录".into(),
            Error::NotFound => "未找到：该页面或记录不存在，或不在您的管辖范围内".into(),
            Error::Forbidden(m) => m.clone(),
            Error::Csrf => "表单已失效（安全校验未通过），请返回上一页刷新后重试".into(),
            Error::BadRequest(m) | Error::TooLarge(m) => m.clone(),
            Error::Invalid { message, .. } => message.clone(),
            Error::Unavailable => format!(
                "数据库暂时无法连接（可能正在维护或重启），请约 {RETRY_AFTER_SECONDS} 秒后重试；\
                 如持续出现请联系管理员"
            ),
            Error::Internal(_) => "服务器内部错误，请稍后重试或联系管理员".into(),
        }
    }
}

/// An error answered with a page.
#[derive(Debug)]
pub struct PageError(pub Error);

/// An error answered with JSON.
#[derive(Debug)]
pub struct ApiError(pub Error);

macro_rules! wrap {
    ($t:ident) => {
        impl From<Error> for $t {
            fn from(e: Error) -> $t {
                $t(e)
            }
        }
        impl From<StoreError> for $t {
            fn from(e: StoreError) -> $t {
                $t(e.into())
            }
        }
        impl From<askama::Error> for $t {
            fn from(e: askama::Error) -> $t {
                $t(e.into())
            }
        }
        impl From<Refusal> for $t {
            fn from(r: Refusal) -> $t {
                $t(r.into())
            }
        }
    };
}
wrap!(PageError);
wrap!(ApiError);

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    message: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if let Error::Login = self.0 {
            return Redirect::to("/login").into_response();
        }
        if let Error::Internal(m) = &self.0 {
            tracing::error!("{m}");
        }
        let status = self.0.status();
        let page = ErrorPage {
            layout: Layout::bare("出错了"),
            status: status.as_u16(),
            message: self.0.message(),
        };
        let body = page
            .render()
            .unwrap_or_else(|_| view::escape(&self.0.message()));
        let mut r = (status, Html(body)).into_response();
        retry_after(&mut r);
        r
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Error::Internal(m) = &self.0 {
            tracing::error!("{m}");
        }
        let status = self.0.status();
        let mut body = json!({ "error": self.0.code(), "message": self.0.message() });
        if let Error::Invalid { field: Some(f), .. } = &self.0 {
            body["field"] = json!(f);
        }
        let mut r = (status, Json(body)).into_response();
        retry_after(&mut r);
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Cookie"),
            );
        }
        r
    }
}

/// A 503 tells when to try again.
fn retry_after(r: &mut Response) {
    if r.status() == StatusCode::SERVICE_UNAVAILABLE {
        r.headers_mut()
            .insert(header::RETRY_AFTER, RETRY_AFTER_SECONDS.into());
    }
}

/// Policy (issue 20, API 的拒绝一律为 JSON): a request the API's extractors refuse (a JSON,
/// query, path, form or multipart body that does not parse, a wrong content type, a body
/// over the limit, a method the route does not take) is answered like every other API
/// error — `{"error": code, "message": 中文, "field": …}` — with the field and what it
/// accepts, instead of axum's plain-text rejection. Applied to every route under `/api`.
pub async fn api_rejections(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let method = req.method().clone();
    let r = next.run(req).await;
    let status = r.status();
    let plain = r
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|ct| ct.starts_with("text/plain"));
    if !status.is_client_error() || !plain {
        return r;
    }
    let body = axum::body::to_bytes(r.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&body);
    let (field, message) = if status == StatusCode::METHOD_NOT_ALLOWED {
        (None, format!("该地址不接受 {method} 请求"))
    } else {
        explain_rejection(&text)
    };
    ApiError(Error::Invalid {
        status,
        field,
        message,
    })
    .into_response()
}

/// axum's rejection text in Chinese: the field (a JSON path such as `plan.seed`, a query
/// or path parameter) and what is accepted.
pub fn explain_rejection(text: &str) -> (Option<String>, String) {
    let text = text.trim();
    let (what, rest) = [
        (
            "Failed to deserialize the JSON body into the target type: ",
            "请求体 JSON",
        ),
        ("Failed to parse the request body as JSON: ", "请求体 JSON"),
        ("Failed to deserialize query string: ", "查询参数"),
        ("Failed to deserialize form body: ", "表单"),
        ("Failed to deserialize form: ", "表单"),
        ("Invalid URL: ", "路径"),
    ]
    .iter()
    .find_map(|(prefix, what)| text.strip_prefix(prefix).map(|r| (*what, r)))
    .unwrap_or(("请求", text));
    if text.starts_with("Expected request with `Content-Type: application/json`") {
        return (
            None,
            "请求体应为 JSON，并带 Content-Type: application/json 头".into(),
        );
    }
    if text.starts_with("Form requests must have") {
        return (
            None,
            "请求体应为表单（Content-Type: application/x-www-form-urlencoded）".into(),
        );
    }
    if text.starts_with("Failed to buffer the request body") {
        return (None, "请求体过大或未能完整接收".into());
    }
    if text.contains("multipart") || text.contains("Multipart") {
        return (None, "上传应为 multipart/form-data 表单，且内容完整".into());
    }
    if what == "路径" {
        return explain_path(rest);
    }
    // serde_path_to_error: "path.to.field: message", then " at line L column C" from
    // serde_json.
    let (rest, at) = match rest.rfind(" at line ") {
        Some(i) => (
            &rest[..i],
            Some(rest[i + 9..].replace(" column ", " 行第 ")),
        ),
        None => (rest, None),
    };
    let (path, inner) = match rest.split_once(": ") {
        Some((p, i)) if !p.is_empty() && !p.contains(' ') => (Some(p.to_string()), i),
        _ => (None, rest),
    };
    let (field, message) = explain_serde(path, inner);
    let whole = match (&field, at) {
        (None, Some(at)) if what == "请求体 JSON" => {
            format!("{what}无法解析（第 {at} 列附近）：{message}")
        }
        _ => format!("{what}有误：{message}"),
    };
    (field, whole)
}

/// One serde message, with the field it is about.
fn explain_serde(path: Option<String>, inner: &str) -> (Option<String>, String) {
    let quoted = |s: &str| -> Vec<String> {
        s.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    let named = |p: &Option<String>| {
        p.as_ref()
            .map(|p| format!("字段「{p}」"))
            .unwrap_or_default()
    };
    if let Some(r) = inner.strip_prefix("missing field ") {
        let f = quoted(r).into_iter().next().unwrap_or_default();
        let full = match &path {
            Some(p) => format!("{p}.{f}"),
            None => f,
        };
        return (Some(full.clone()), format!("缺少必填字段「{full}」"));
    }
    if let Some(r) = inner.strip_prefix("unknown variant ") {
        let q = quoted(r);
        let (given, allowed) = q
            .split_first()
            .map_or(("", &[][..]), |(g, a)| (g.as_str(), a));
        return (
            path.clone(),
            format!(
                "{}的取值「{given}」无法识别；可填：{}",
                named(&path),
                allowed.join("、")
            ),
        );
    }
    if let Some(r) = inner.strip_prefix("unknown field ") {
        let q = quoted(r);
        let (given, allowed) = q
            .split_first()
            .map_or(("", &[][..]), |(g, a)| (g.as_str(), a));
        return (
            Some(given.to_string()),
            format!("不认识的字段「{given}」；可用字段：{}", allowed.join("、")),
        );
    }
    for (prefix, what) in [
        ("invalid type: ", "类型不对"),
        ("invalid value: ", "取值不对"),
    ] {
        if let Some(r) = inner.strip_prefix(prefix) {
            let (got, expected) = r.split_once(", expected ").unwrap_or((r, ""));
            return (
                path.clone(),
                format!(
                    "{}{what}：收到 {}，应为 {}",
                    named(&path),
                    kind_zh(got),
                    kind_zh(expected)
                ),
            );
        }
    }
    if let Some(r) = inner.strip_prefix("invalid length ") {
        let (n, expected) = r.split_once(", expected ").unwrap_or((r, ""));
        return (
            path.clone(),
            format!(
                "{}的长度 {n} 不对，应为 {}",
                named(&path),
                kind_zh(expected)
            ),
        );
    }
    let syntax = [
        ("EOF while parsing", "内容不完整（在结尾处中断）"),
        ("expected value", "此处应为一个值"),
        ("trailing characters", "结尾有多余的字符"),
        ("key must be a string", "对象的键应为字符串"),
        ("trailing comma", "有多余的逗号"),
        ("expected `,` or `}`", "此处应为逗号或 }"),
        ("expected `,` or `]`", "此处应为逗号或 ]"),
        ("expected `:`", "此处应为冒号"),
        ("invalid escape", "字符串中有无效的转义"),
        ("invalid number", "数字格式不对"),
        ("control character", "字符串中有控制字符"),
        ("invalid digit found in string", "应为整数"),
        (
            "cannot parse integer from empty string",
            "应为整数，不能为空",
        ),
        ("number too large to fit in target type", "数字过大"),
        ("number too small to fit in target type", "数字过小"),
    ];
    for (en, zh) in syntax {
        if inner.starts_with(en) {
            return (path.clone(), format!("{}{zh}", named(&path)));
        }
    }
    // A message of fupin's own (already Chinese) or one not listed: as it is.
    (path.clone(), format!("{}{inner}", named(&path)))
}

/// serde's words for what a value is, in Chinese; the value itself is kept.
fn kind_zh(s: &str) -> String {
    let s = s.trim();
    let table = [
        ("a string", "字符串"),
        ("a borrowed string", "字符串"),
        ("string ", "字符串 "),
        ("a boolean", "布尔值 true 或 false"),
        ("boolean ", "布尔值 "),
        ("integer ", "整数 "),
        ("floating point ", "小数 "),
        ("a sequence", "数组"),
        ("sequence", "数组"),
        ("a map", "对象"),
        ("map", "对象"),
        ("struct ", "对象 "),
        ("null", "null"),
        ("unit value", "null"),
        ("a valid date", "日期，如 2018-04-01"),
    ];
    for (en, zh) in table {
        if let Some(rest) = s.strip_prefix(en) {
            return format!("{zh}{rest}").replace('`', "");
        }
    }
    for (t, zh) in [
        ("i64", "整数"),
        ("i32", "整数"),
        ("u64", "不小于 0 的整数"),
        ("u32", "不小于 0 的整数"),
        ("u16", "不小于 0 的整数"),
        ("u8", "不小于 0 的整数"),
        ("f64", "数字"),
        ("bool", "布尔值 true 或 false"),
        ("char", "一个字符"),
    ] {
        if s.contains(t) && s.len() <= t.len() + 4 {
            return format!("{zh}（{}）", s.replace('`', ""));
        }
    }
    s.replace('`', "")
}

/// A path parameter that does not parse: "Cannot parse `id` with value `abc` to a `i64`".
fn explain_path(rest: &str) -> (Option<String>, String) {
    let q: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    if rest.starts_with("Cannot parse ") {
        let (key, value, ty) = match q.as_slice() {
            [k, v, t, ..] => (Some(k.to_string()), *v, *t),
            [v, t] => (None, *v, *t),
            _ => (None, "", ""),
        };
        let name = key
            .as_ref()
            .map_or_else(|| "路径中的参数".into(), |k| format!("路径参数「{k}」"));
        return (
            key.clone(),
            format!("{name}的值「{value}」无效：应为{}", kind_zh(ty)),
        );
    }
    (None, format!("路径有误：{rest}"))
}

/// Any path that is not a route.
pub async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        ApiError(Error::NotFound).into_response()
    } else {
        PageError(Error::NotFound).into_response()
    }
}
