//! Accounts in the browser: the admin adds an account (role and area, password rules),
//! disables, enables and resets one; each a form with the session's CSRF token, each
//! audited in the admin's name; only the admin may.

use crate::support::*;
use axum::http::StatusCode;
use fupin_store::Role;

both!(
    the_admin_adds_an_account_that_logs_in_to_its_area,
    a_refused_account_form_says_why_and_changes_nothing,
    a_disabled_account_is_logged_out_until_enabled_again,
    a_reset_password_logs_out_and_the_new_one_works,
    only_the_admin_with_the_token_changes_accounts,
);

const NEW_PASSWORD: &str = "乡镇账号-2019";

/// The id of an account, from the store.
async fn id_of(app: &App, name: &str) -> fupin_store::UserId {
    let users = app.store.accounts().users().await.unwrap();
    users.iter().find(|u| u.username == name).unwrap().id
}

async fn add(c: &mut Client, fields: &[(&str, &str)]) -> Resp {
    let token = c.token();
    let mut all = vec![("csrf", token.as_str())];
    all.extend_from_slice(fields);
    c.post_form("/admin/users", &all).await
}

fn township_account<'a>(name: &'a str, township: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("username", name),
        ("role", "township_staff"),
        ("township", township),
        ("village", ""),
        ("unit", ""),
        ("password", NEW_PASSWORD),
        ("password2", NEW_PASSWORD),
    ]
}

async fn the_admin_adds_an_account_that_logs_in_to_its_area(app: App) {
    import_golden(&app.store).await;
    let mut admin = app.logged_in("admin", Role::HqAdmin).await;
    let page = admin.get("/admin/users").await.text();
    assert!(page.contains(r#"<form method="post" action="/admin/users" id="add-user">"#));
    assert!(
        page.contains(&format!(r#"<option value="{ONE_TOWNSHIP}">"#)),
        "{page}"
    );
    assert!(page.contains("不能与用户名相同"), "the rules are shown");

    let r = add(&mut admin, &township_account("乡干部", ONE_TOWNSHIP)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let page = admin.get(&r.location()).await.text();
    assert!(page.contains("已创建账号「乡干部」"), "{page}");
    // A notice speaks only of an account that exists (a link cannot claim one).
    let page = admin
        .get("/admin/users?done=added&user=nobody")
        .await
        .text();
    assert!(!page.contains("已创建账号"), "{page}");
    assert!(page.contains(&format!(
        "<td>乡干部</td><td>乡镇工作人员</td><td>{ONE_TOWNSHIP}</td>"
    )));

    let mut staff = app.client();
    let r = staff.login("乡干部", NEW_PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let township = fupin_web::view::township_url(ONE_TOWNSHIP);
    assert_eq!(staff.get(&township).await.status, StatusCode::OK);
    let other = fupin_web::view::township_url(OTHER_TOWNSHIP);
    assert_eq!(staff.get(&other).await.status, StatusCode::NOT_FOUND);

    // A village account and a unit account.
    let r = add(
        &mut admin,
        &[
            ("username", "村干部"),
            ("role", "village_staff"),
            ("township", ONE_TOWNSHIP),
            ("village", OWN_VILLAGE),
            ("password", NEW_PASSWORD),
            ("password2", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let r = add(
        &mut admin,
        &[
            ("username", "教育局"),
            ("role", "unit_staff"),
            ("unit", "县教育局"),
            ("password", NEW_PASSWORD),
            ("password2", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let users = app.store.accounts().users().await.unwrap();
    let roles: Vec<_> = users
        .iter()
        .map(|u| (u.username.as_str(), u.role.clone()))
        .collect();
    assert!(roles.contains(&(
        "村干部",
        Role::VillageStaff {
            township: ONE_TOWNSHIP.into(),
            village: OWN_VILLAGE.into()
        }
    )));
    assert!(roles.contains(&(
        "教育局",
        Role::UnitStaff {
            unit: "县教育局".into()
        }
    )));

    // Audited in the admin's name, without the password.
    let audit = app
        .store
        .audit_log()
        .audit_entries(None, 100)
        .await
        .unwrap()
        .items;
    let created: Vec<_> = audit.iter().filter(|e| e.action == "create_user").collect();
    assert_eq!(created.len(), 4, "admin, then three from the form");
    assert!(created[..3]
        .iter()
        .all(|e| e.username.as_deref() == Some("admin")));
    assert!(!created[0]
        .after
        .as_ref()
        .unwrap()
        .to_string()
        .contains(NEW_PASSWORD));
}

async fn a_refused_account_form_says_why_and_changes_nothing(app: App) {
    import_golden(&app.store).await;
    let mut admin = app.logged_in("admin", Role::HqAdmin).await;
    let mut mismatch = township_account("乙", ONE_TOWNSHIP);
    mismatch[6] = ("password2", "另一个密码-2019");
    let mut weak = township_account("丙", ONE_TOWNSHIP);
    weak[5] = ("password", "abcdefgh");
    weak[6] = ("password2", "abcdefgh");
    let mut no_township = township_account("丁", "");
    no_township[2] = ("township", "");
    let mut wrong_village = township_account("戊", ONE_TOWNSHIP);
    wrong_village[1] = ("role", "village_staff");
    wrong_village[3] = ("village", OTHER_VILLAGE);
    for (fields, message) in [
        (mismatch, "两次输入的密码不一致"),
        (weak, "至少两类"),
        (
            township_account("己", "不存在乡"),
            "当前登记表中没有乡镇「不存在乡」",
        ),
        (no_township, "需要填写乡镇"),
        (wrong_village, &*format!("下没有行政村「{OTHER_VILLAGE}」")),
        (
            township_account("admin", ONE_TOWNSHIP),
            "用户名「admin」已被使用",
        ),
    ] {
        let r = add(&mut admin, &fields).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{message}");
        let page = r.text();
        assert!(page.contains(message), "{message}: {page}");
        // The form keeps what was typed, except the passwords.
        assert!(page.contains(&format!(r#"name="username" value="{}""#, fields[0].1)));
        assert!(!page.contains(NEW_PASSWORD));
    }
    assert_eq!(app.store.accounts().users().await.unwrap().len(), 1);
}

async fn a_disabled_account_is_logged_out_until_enabled_again(app: App) {
    let mut admin = app.logged_in("admin", Role::HqAdmin).await;
    let mut staff = app.logged_in("督查员", Role::Inspector).await;
    let id = id_of(&app, "督查员").await;
    let token = admin.token();
    let page = admin.get("/admin/users").await.text();
    assert!(page.contains(&format!(r#"action="/admin/users/{id}/disable""#)));
    let me = id_of(&app, "admin").await;
    assert!(!page.contains(&format!(r#"action="/admin/users/{me}/disable""#)));

    let r = admin
        .post_form(&format!("/admin/users/{id}/disable"), &[("csrf", &token)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let page = admin.get(&r.location()).await.text();
    assert!(page.contains("已停用账号「督查员」"), "{page}");
    assert!(page.contains(&format!(r#"action="/admin/users/{id}/enable""#)));
    let r = staff.get("/").await;
    assert_eq!(
        (r.status, r.location()),
        (StatusCode::SEE_OTHER, "/login".into())
    );
    let mut again = app.client();
    let r = again.login("督查员", PASSWORD).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    let r = admin
        .post_form(&format!("/admin/users/{id}/enable"), &[("csrf", &token)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(
        again.login("督查员", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );

    // Not oneself.
    let r = admin
        .post_form(&format!("/admin/users/{me}/disable"), &[("csrf", &token)])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("不能停用自己的账号"));
    let audit = app
        .store
        .audit_log()
        .audit_entries(None, 100)
        .await
        .unwrap()
        .items;
    let changes = audit
        .iter()
        .filter(|e| e.entity == "user" && e.action.ends_with("able_user"));
    assert_eq!(
        audit_lines(changes),
        [
            ("enable_user", Some("admin"), id.to_string()),
            ("disable_user", Some("admin"), id.to_string()),
        ]
    );
    let page = admin.get("/admin/audit").await.text();
    assert!(page.contains("停用账号") && page.contains("启用账号"));
}

async fn a_reset_password_logs_out_and_the_new_one_works(app: App) {
    let mut admin = app.logged_in("admin", Role::HqAdmin).await;
    let mut staff = app.logged_in("县领导", Role::CountyLeader).await;
    let id = id_of(&app, "县领导").await;
    let token = admin.token();
    let path = format!("/admin/users/{id}/password");
    let r = admin
        .post_form(
            &path,
            &[("csrf", &token), ("password", "短"), ("password2", "短")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r
        .text()
        .contains("重置「县领导」的密码未成功：密码至少8个字符"));
    assert_eq!(
        staff.get("/").await.status,
        StatusCode::OK,
        "nothing changed"
    );

    let r = admin
        .post_form(
            &path,
            &[
                ("csrf", &token),
                ("password", NEW_PASSWORD),
                ("password2", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert!(admin
        .get(&r.location())
        .await
        .text()
        .contains("已重置密码「县领导」"));
    assert_eq!(staff.get("/").await.location(), "/login");
    let mut c = app.client();
    assert_eq!(
        c.login("县领导", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        c.login("县领导", NEW_PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let audit = app
        .store
        .audit_log()
        .audit_entries(None, 100)
        .await
        .unwrap()
        .items;
    let reset = audit.iter().find(|e| e.action == "reset_password").unwrap();
    assert_eq!(reset.username.as_deref(), Some("admin"));
    assert_eq!(reset.entity_id, id.to_string());
}

async fn only_the_admin_with_the_token_changes_accounts(app: App) {
    let mut admin = app.logged_in("admin", Role::HqAdmin).await;
    let mut leader = app.logged_in("县领导", Role::CountyLeader).await;
    let id = id_of(&app, "县领导").await;
    let before = app
        .store
        .audit_log()
        .audit_entries(None, 100)
        .await
        .unwrap()
        .items
        .len();
    let leader_token = leader.token();
    for path in [
        "/admin/users".to_string(),
        format!("/admin/users/{id}/disable"),
        format!("/admin/users/{id}/password"),
    ] {
        // The admin without the token, or with another session's token.
        for fields in [vec![], vec![("csrf", leader_token.as_str())]] {
            let r = admin.post_form(&path, &fields).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
            assert!(r.text().contains("表单已失效"), "{path}");
        }
        // Another role, with its own token.
        let r = leader.post_form(&path, &[("csrf", &leader_token)]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(
        leader.get("/admin/users").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.store
            .audit_log()
            .audit_entries(None, 100)
            .await
            .unwrap()
            .items
            .len(),
        before
    );
    let token = admin.token();
    let r = admin
        .post_form(
            &format!("/admin/users/{}/disable", id.get() + 100),
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
