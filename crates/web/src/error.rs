//! What goes wrong in a request, as a page or as JSON.
//!
//! Anything outside the user's area is [`Error::NotFound`] — the same answer as for a
//! household that does not exist — so that a URL cannot be used to learn what exists.

use crate::view::{self, Layout};
use askama::Template;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Json;
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
    /// A body or file over its limit (413), saying the limit.
    TooLarge(String),
    Internal(String),
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Error {
        tracing::error!("store: {e}");
        Error::Internal(e.to_string())
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
        (status, Html(body)).into_response()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Error::Internal(m) = &self.0 {
            tracing::error!("{m}");
        }
        let status = self.0.status();
        let body = Json(json!({ "error": self.0.code(), "message": self.0.message() }));
        let mut r = (status, body).into_response();
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Cookie"),
            );
        }
        r
    }
}

/// Any path that is not a route.
pub async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        ApiError(Error::NotFound).into_response()
    } else {
        PageError(Error::NotFound).into_response()
    }
}
