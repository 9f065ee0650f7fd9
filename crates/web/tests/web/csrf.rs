//! Structural CSRF: every state-changing page route, as the router lists them
//! (`fupin_web::page_paths`), refuses a request without the session's token, whatever the
//! body, before it acts. A route added later without `CsrfForm` or `CsrfMultipart` fails here.

use crate::support::*;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use fupin_store::Role;

both!(every_state_changing_page_refuses_a_request_without_the_token);

/// A path of the router with every `{parameter}` as `1`.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        out.push('1');
        rest = &rest[i + rest[i..].find('}').unwrap() + 1..];
    }
    out.push_str(rest);
    out
}

async fn every_state_changing_page_refuses_a_request_without_the_token(app: App) {
    import_golden(&app.store).await;
    let mut c = app.logged_in("admin", Role::HqAdmin).await;
    let audit_before = app
        .store
        .audit_log()
        .audit_entries(None, 500)
        .await
        .unwrap()
        .items
        .len();
    let (multipart_type, multipart_body) = multipart(&[("year", "2018")], &[]);
    let bodies = [
        (
            "application/x-www-form-urlencoded".to_string(),
            b"year=2018".to_vec(),
        ),
        (multipart_type, multipart_body),
    ];
    let mut changing = Vec::new();
    for path in fupin_web::page_paths() {
        let uri = concrete(path);
        for method in ["POST", "PUT", "PATCH", "DELETE"] {
            let mut taken = false;
            let mut refused_for_the_token = false;
            for (content_type, body) in &bodies {
                let mut req = Request::builder()
                    .method(method)
                    .uri(&uri)
                    .header(header::CONTENT_TYPE, content_type);
                let cookies = c
                    .cookies
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("; ");
                req = req.header(header::COOKIE, cookies);
                let r = c.send(req.body(Body::from(body.clone())).unwrap()).await;
                if r.status == StatusCode::METHOD_NOT_ALLOWED {
                    continue;
                }
                taken = true;
                assert!(
                    r.status.is_client_error(),
                    "{method} {uri} ({content_type}) without the token answered {}: {}",
                    r.status,
                    r.text()
                );
                if r.status == StatusCode::FORBIDDEN && r.text().contains("表单已失效") {
                    refused_for_the_token = true;
                }
            }
            if taken {
                assert!(
                    refused_for_the_token,
                    "{method} {uri} is not refused for its missing CSRF token"
                );
                changing.push(format!("{method} {path}"));
            }
        }
    }
    // The list is the router's: the known state-changing pages are in it.
    for known in [
        "POST /login",
        "POST /logout",
        "POST /import",
        "POST /admin/users/{id}/{change}",
        "POST /tasks/items/{id}",
        "POST /inspections/{id}/results",
        "POST /projects/upload",
        "POST /funds/rule",
    ] {
        assert!(
            changing.iter().any(|r| r == known),
            "{known} in {changing:?}"
        );
    }
    assert_eq!(changing.len(), 26, "{changing:?}");
    // Nothing was done: the session is alive, no audit row was written.
    assert_eq!(c.get("/").await.status, StatusCode::OK);
    assert_eq!(
        app.store
            .audit_log()
            .audit_entries(None, 500)
            .await
            .unwrap()
            .items
            .len(),
        audit_before
    );
}
