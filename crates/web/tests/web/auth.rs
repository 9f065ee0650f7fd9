//! Login, logout, sessions in the database, cookie flags, CSRF and throttling.

use crate::support::*;
use axum::http::StatusCode;
use fupin_store::Role;
use fupin_web::Config;

both!(
    login_sets_an_httponly_lax_cookie_and_logout_ends_the_session,
    a_wrong_password_is_refused_and_pages_need_a_session,
    every_post_without_the_csrf_token_is_refused,
    five_failures_in_fifteen_minutes_stop_logins_for_that_username,
    the_api_logs_in_with_json_and_needs_the_csrf_header,
);

async fn login_sets_an_httponly_lax_cookie_and_logout_ends_the_session(app: App) {
    app.user("admin", Role::HqAdmin).await;
    let mut c = app.client();
    let r = c.login("admin", PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/");
    let cookie = r
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("fupin_session="))
        .unwrap();
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "not configured for HTTPS: {cookie}"
    );
    let home = c.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.text().contains("admin"));
    assert!(home.text().contains("指挥部管理员"));
    // The session lives in the database.
    let token = c.cookies["fupin_session"].clone();
    assert!(app
        .store
        .accounts()
        .session(&token)
        .await
        .unwrap()
        .is_some());

    let csrf = hidden_csrf(&home.text());
    let out = c.post_form("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/login");
    assert!(app
        .store
        .accounts()
        .session(&token)
        .await
        .unwrap()
        .is_none());
    assert!(!c.cookies.contains_key("fupin_session"));
    // The old token no longer works either.
    c.cookies.insert("fupin_session".into(), token);
    let r = c.get("/").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/login");

    // With HTTPS configured, the cookie is Secure.
    let secure = App::new(
        app.store.clone(),
        Config {
            secure_cookies: true,
            ..test_config()
        },
    );
    let mut c = secure.client();
    let r = c.login("admin", PASSWORD).await;
    let cookie = r
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("fupin_session="))
        .unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
}

async fn a_wrong_password_is_refused_and_pages_need_a_session(app: App) {
    app.user("leader", Role::CountyLeader).await;
    let mut c = app.client();
    for path in ["/", "/problems", "/households/1409300101001", "/search?q=1"] {
        let r = c.get(path).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(r.location(), "/login", "{path}");
    }
    let r = c.get("/api/v1/summary").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["error"], "login_required");
    let r = c.login("leader", "wrong-password").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text().contains("用户名或密码错误"));
    assert!(!c.cookies.contains_key("fupin_session"));
    let r = c.login("nobody", "wrong-password").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        r.text().contains("用户名或密码错误"),
        "same answer for an unknown user"
    );
}

async fn every_post_without_the_csrf_token_is_refused(app: App) {
    import_golden(&app.store).await;
    let mut c = app.logged_in("admin", Role::HqAdmin).await;
    // Login form without its token (cookie and field missing or different).
    let mut other = app.client();
    let r = other
        .post_form(
            "/login",
            &[("username", "admin"), ("password", PASSWORD), ("csrf", "x")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!other.cookies.contains_key("fupin_session"));
    // Logout without or with a wrong token: refused, session kept.
    for fields in [vec![], vec![("csrf", "0000")]] {
        let r = c.post_form("/logout", &fields).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(r.text().contains("表单已失效"));
    }
    assert_eq!(c.get("/").await.status, StatusCode::OK);
    // Upload without the token: refused, nothing imported, no job.
    let audit_before = app
        .store
        .audit_log()
        .audit_entries(None, 500)
        .await
        .unwrap()
        .items
        .len();
    let r = c
        .post_multipart(
            "/import",
            &[("year", "2018"), ("line", "3535")],
            &[("members", "members.csv", golden_without_errors())],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.store.register().versions().await.unwrap().len(), 1);
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
    // The same through the API without the header.
    let r = c
        .post_multipart(
            "/api/v1/imports",
            &[("year", "2018")],
            &[("members", "members.csv", golden_without_errors())],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["error"], "csrf");
    assert_eq!(app.store.register().versions().await.unwrap().len(), 1);
}

async fn five_failures_in_fifteen_minutes_stop_logins_for_that_username(app: App) {
    app.user(
        "township",
        Role::TownshipStaff {
            township: ONE_TOWNSHIP.into(),
        },
    )
    .await;
    app.user("inspector", Role::Inspector).await;
    let mut c = app.client();
    for i in 0..5 {
        let r = c.login("township", "wrong-password").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    // The right password no longer gets in, with a clear message.
    let r = c.login("township", PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let t = r.text();
    assert!(
        t.contains("登录失败已达 5 次") && t.contains("15 分钟后再试"),
        "{t}"
    );
    assert!(!c.cookies.contains_key("fupin_session"));
    // The API refuses too; another username is not affected.
    let r = c
        .post_json(
            "/api/v1/session",
            &serde_json::json!({ "username": "township", "password": PASSWORD }),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let r = c.login("inspector", PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

async fn the_api_logs_in_with_json_and_needs_the_csrf_header(app: App) {
    app.user("leader", Role::CountyLeader).await;
    let mut c = app.client();
    let r = c
        .post_json(
            "/api/v1/session",
            &serde_json::json!({ "username": "leader", "password": PASSWORD }),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let token = r.json()["csrf_token"].as_str().unwrap().to_string();
    assert!(c.cookies.contains_key("fupin_session"));
    let me = c.get("/api/v1/me").await.json();
    assert_eq!(me["role"], "county_leader");
    assert_eq!(me["scope"]["scope"], "county");
    let r = c
        .post_json("/api/v1/logout", &serde_json::json!({}), None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = c
        .post_json("/api/v1/logout", &serde_json::json!({}), Some(&token))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(c.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
}
