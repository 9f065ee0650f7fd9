//! Structural CSRF for the pages: a state-changing page handler receives its body only
//! through [`CsrfForm`] (a urlencoded form) or [`CsrfMultipart`] (an upload), and both
//! compare the form's `csrf` field with the session's token before the handler sees a
//! field. A handler cannot forget the check: without one of them it has no body to act on.
//!
//! The JSON API carries the token in the `X-CSRF-Token` header instead, checked by
//! [`crate::auth::Viewer::check_csrf_header`]; the login form, made before there is a
//! session, has its own double-submit token ([`crate::auth::login`]). The test
//! `csrf::every_state_changing_page_refuses_a_request_without_the_token` posts to every
//! route of [`crate::page_paths`] without the token.

use crate::auth::{PageUser, Viewer};
use crate::error::{Error, PageError};
use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::multipart::Field;
use axum::extract::{FromRequest, FromRequestParts, Multipart, RawForm, Request};
use axum::http::{header, Method};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::de::DeserializeOwned;

/// The name of the hidden field that carries the token in every page form.
pub const FIELD: &str = "csrf";

/// A urlencoded form whose `csrf` field matched the session's token. Without a session,
/// the browser is sent to the login page (as [`PageUser`]); with a missing or wrong token,
/// 403 ([`Error::Csrf`]) before the form is read into `T`; a form that does not read into
/// `T` is refused as [`axum::Form`] refuses it.
pub struct CsrfForm<T>(pub T);

impl<T> FromRequest<AppState> for CsrfForm<T>
where
    T: DeserializeOwned + Send,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (v, req) = page_user(req, state).await?;
        let RawForm(bytes) = RawForm::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let sent = form_field(&bytes, FIELD).await;
        v.check_csrf(sent.as_deref())
            .map_err(|e| PageError::from(e).into_response())?;
        let Form(form) = Form::<T>::from_request(urlencoded(bytes), state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(CsrfForm(form))
    }
}

/// The page user of a request (as [`PageUser`] answers without a session), and the
/// request again for the reader of its body.
async fn page_user(req: Request, state: &AppState) -> Result<(Viewer, Request), Response> {
    let (mut parts, body) = req.into_parts();
    let PageUser(v) = PageUser::from_request_parts(&mut parts, state)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok((v, Request::from_parts(parts, body)))
}

/// The first value of `name` in a urlencoded body, decoded as axum's form reader does.
async fn form_field(body: &Bytes, name: &str) -> Option<String> {
    let Form(pairs) = Form::<Vec<(String, String)>>::from_request(urlencoded(body.clone()), &())
        .await
        .ok()?;
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// A POST of `bytes` as a urlencoded form, for axum's form reader.
fn urlencoded(bytes: Bytes) -> Request {
    Request::builder()
        .method(Method::POST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(bytes))
        .expect("a POST with a constant header is a valid request")
}

/// A multipart upload read through [`CsrfMultipart::next_field`], which keeps the `csrf`
/// field to itself and, at the end of the form, refuses it (403, [`Error::Csrf`]) unless
/// the token came and matched the session's: a reader gets the last of the form only
/// through the check. A file may be saved before the token is seen (it may come last);
/// the handler acts on nothing before its reader has returned.
pub struct CsrfMultipart {
    mp: Multipart,
    /// Whose session's token the form must carry; None when the API's header was checked
    /// instead.
    expected: Option<Viewer>,
    /// The token the form carried.
    sent: Option<String>,
}

/// A part of a [`CsrfMultipart`] form.
#[allow(
    clippy::large_enum_variant,
    reason = "one part at a time, moved straight into the reader's match"
)]
pub enum Part<'a> {
    /// A field other than the token.
    Field(Field<'a>),
    /// The token, kept by the form for its check at the end.
    Token,
}

impl FromRequest<AppState> for CsrfMultipart {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (v, req) = page_user(req, state).await?;
        let mp = Multipart::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(CsrfMultipart {
            mp,
            expected: Some(v),
            sent: None,
        })
    }
}

impl CsrfMultipart {
    /// An API upload: `v`'s `X-CSRF-Token` header is checked here; a `csrf` field in the
    /// body is then ignored.
    pub fn by_header(
        v: &Viewer,
        headers: &axum::http::HeaderMap,
        mp: Multipart,
    ) -> Result<CsrfMultipart, Error> {
        v.check_csrf_header(headers)?;
        Ok(CsrfMultipart {
            mp,
            expected: None,
            sent: None,
        })
    }

    /// The next part of the form: a field for the reader, or [`Part::Token`] when the
    /// token came (it is kept here, and the reader goes on). At the end of the form (None)
    /// the token is checked: a form read to its end without the session's token is refused
    /// with [`Error::Csrf`]. A multipart error is [`crate::upload::multipart_error`].
    pub async fn next_field(&mut self) -> Result<Option<Part<'_>>, Error> {
        let field = self
            .mp
            .next_field()
            .await
            .map_err(crate::upload::multipart_error)?;
        match field {
            Some(f) if f.name() == Some(FIELD) => {
                self.sent = Some(crate::upload::field_text(f).await?);
                Ok(Some(Part::Token))
            }
            Some(f) => Ok(Some(Part::Field(f))),
            None => {
                if let Some(v) = &self.expected {
                    v.check_csrf(self.sent.as_deref())?;
                }
                Ok(None)
            }
        }
    }
}

/// The body of a form that carries nothing but the token (log out, escalate, disable).
#[derive(serde::Deserialize)]
pub struct NoFields {}
