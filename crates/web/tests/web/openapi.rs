//! The OpenAPI document says what the API answers: every GET route's 200 response and the
//! main POSTs' answers are checked against their documented schemas, on a county with a
//! register, a plan, a project library with a disbursement, and an inspection with a
//! sample, results and a finding. A field the document does not list fails too.

use crate::support::*;
use axum::http::StatusCode;
use fupin_store::Role;
use serde_json::{json, Value};
use std::collections::BTreeSet;

both!(every_api_answer_matches_its_openapi_schema);

/// Where `v` departs from `schema` (the OpenAPI 3.0 subset the document uses: `$ref`,
/// `type`, `nullable`, `required`, `properties`, `additionalProperties`, `items`; a
/// schema without `type` takes any value), each as a path and what is wrong.
fn departures(v: &Value, schema: &Value, doc: &Value, at: &str, out: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/components/schemas/");
        let target = &doc["components"]["schemas"][name];
        assert!(target.is_object(), "{at}: no schema {r}");
        return departures(v, target, doc, at, out);
    }
    let Some(ty) = schema.get("type").and_then(Value::as_str) else {
        return;
    };
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !v.is_null() && !allowed.contains(v) {
            out.push(format!("{at}: {v} is not one of {}", schema["enum"]));
        }
    }
    if v.is_null() {
        if schema.get("nullable") != Some(&Value::Bool(true)) {
            out.push(format!(
                "{at}: null, documented as a {ty} that is never null"
            ));
        }
        return;
    }
    let fits = match ty {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        _ => false,
    };
    if !fits {
        out.push(format!("{at}: documented as {ty}, answered {v}"));
        return;
    }
    match v {
        Value::Object(map) => {
            for k in schema["required"].as_array().into_iter().flatten() {
                let k = k.as_str().unwrap();
                if !map.contains_key(k) {
                    out.push(format!("{at}: required field {k} missing"));
                }
            }
            for (k, x) in map {
                let here = format!("{at}/{k}");
                match (
                    schema["properties"].get(k),
                    schema.get("additionalProperties"),
                ) {
                    (Some(s), _) => departures(x, s, doc, &here, out),
                    (None, Some(s)) if s.is_object() => departures(x, s, doc, &here, out),
                    (None, _) if schema.get("properties").is_some() => {
                        out.push(format!("{here}: not in the document"));
                    }
                    _ => {}
                }
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                departures(x, &schema["items"], doc, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// Where an answer of `method template` with `status` departs from its schema.
fn check(doc: &Value, method: &str, template: &str, status: u16, answer: &Value) -> Vec<String> {
    let schema = &doc["paths"][template][method]["responses"][status.to_string()]["content"]
        ["application/json"]["schema"];
    let mut out = Vec::new();
    if !schema.is_object() {
        out.push(format!("{method} {template}: no {status} schema"));
        return out;
    }
    departures(
        answer,
        schema,
        doc,
        &format!("{method} {template} "),
        &mut out,
    );
    out
}

/// POST `body` through the API as `c`, checking the body against `template`'s request
/// schema and the answer against its response schema.
async fn post(c: &mut Client, doc: &Value, template: &str, path: String, body: Value) -> Value {
    let request =
        &doc["paths"][template]["post"]["requestBody"]["content"]["application/json"]["schema"];
    let mut out = Vec::new();
    departures(
        &body,
        request,
        doc,
        &format!("post {template} request "),
        &mut out,
    );
    assert!(request.is_object() && out.is_empty(), "{}", out.join("\n"));
    let r = c.post_api(&path, &body).await;
    assert!(r.status.is_success(), "{path}: {}", r.text());
    let answer = r.json();
    let out = check(doc, "post", template, r.status.as_u16(), &answer);
    assert!(out.is_empty(), "{}", out.join("\n"));
    answer
}

async fn every_api_answer_matches_its_openapi_schema(app: App) {
    demo_plan_and_golden(&app.store).await;
    let (solar, _) = crate::funds::library(&app).await;
    let mut c = app.logged_in("hq", Role::HqAdmin).await;
    let doc = c.get("/api/openapi.json").await.json();
    let inspection = post(
        &mut c,
        &doc,
        "/v1/inspections",
        "/api/v1/inspections".into(),
        json!({"name": "县级自查", "level": "county_self", "starts_on": "2018-10-01",
               "team": "县督查组"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    post(
        &mut c,
        &doc,
        "/v1/inspections/{id}/sample",
        format!("/api/v1/inspections/{inspection}/sample"),
        json!({"plan": {"seed": 7, "townships": 0, "poor_villages_per_township": 2,
               "other_villages_per_township": 0,
               "households": {"kind": "fixed", "registered": 2, "non_registered": 0},
               "min_registered_share_bp": 0, "min_households": 0,
               "take_all_when_short": true}}),
    )
    .await;
    let sample = c
        .get(&format!("/api/v1/inspections/{inspection}/sample"))
        .await
        .json();
    let results: Vec<Value> = sample["households"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            json!({"no": h["household"]["no"], "people": null,
                   "checks": [true, false, true, true, true, true], "missed": null,
                   "approval": "yes"})
        })
        .collect();
    post(
        &mut c,
        &doc,
        "/v1/inspections/{id}/results",
        format!("/api/v1/inspections/{inspection}/results"),
        json!(results),
    )
    .await;
    post(
        &mut c,
        &doc,
        "/v1/inspections/{id}/findings",
        format!("/api/v1/inspections/{inspection}/findings"),
        json!({"description": "危房未改造", "category": "两不愁三保障", "severity": "grave",
               "household_no": HOUSING_HOUSEHOLD, "task_no": 4, "measure": "限期改造",
               "deadline": "2018-12-31"}),
    )
    .await;
    post(
        &mut c,
        &doc,
        "/v1/projects/{id}/entries",
        format!("/api/v1/projects/{solar}/entries"),
        json!({"date": "2018-04-01", "source": "中央", "amount": "100.00",
               "voucher": "记-0401", "payee": "示例光伏建设公司"}),
    )
    .await;

    // A register import through the API: its job is read below.
    let r = import_clean_through_api(&mut c).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    let accepted = r.json();
    let mut departed = check(&doc, "post", "/v1/imports", 202, &accepted);
    let job = accepted["job"].as_i64().unwrap();
    assert_eq!(
        wait_for_job(&mut c, job).await["result"]["outcome"],
        "imported"
    );

    // A refused import through the API: its job carries the first problems with their
    // counts, and the full list as CSV.
    let token = c.token();
    let r = c
        .post_multipart(
            "/api/v1/imports",
            &[("year", "2018"), ("line", "3535")],
            &[("members", "members.csv", golden_bytes("members.csv"))],
            Some(&token),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    let refused = r.json()["job"].as_i64().unwrap();
    let answer = wait_for_job(&mut c, refused).await;
    assert_eq!(answer["result"]["outcome"], "rejected", "{answer}");
    departed.extend(check(&doc, "get", "/v1/jobs/{id}", 200, &answer));

    let townships = c.get("/api/v1/townships").await.json();
    let township = townships["items"][0]["township"]
        .as_str()
        .unwrap()
        .to_string();
    let t = fupin_web::view::enc(&township);
    let villages = c
        .get(&format!("/api/v1/townships/{t}/villages"))
        .await
        .json();
    let v = fupin_web::view::enc(villages[0]["village"].as_str().unwrap());
    let items = c.get("/api/v1/work-items").await.json();
    let item = items["items"][0]["id"].as_i64().unwrap();
    let h = HOUSING_HOUSEHOLD;
    let gets: Vec<(&str, String)> = vec![
        ("/v1/me", "/api/v1/me".into()),
        ("/v1/summary", "/api/v1/summary".into()),
        ("/v1/townships", "/api/v1/townships".into()),
        ("/v1/townships/{township}", format!("/api/v1/townships/{t}")),
        (
            "/v1/townships/{township}/villages",
            format!("/api/v1/townships/{t}/villages"),
        ),
        (
            "/v1/townships/{township}/villages/{village}",
            format!("/api/v1/townships/{t}/villages/{v}"),
        ),
        (
            "/v1/townships/{township}/villages/{village}/households",
            format!("/api/v1/townships/{t}/villages/{v}/households"),
        ),
        (
            "/v1/households/{household_no}",
            format!("/api/v1/households/{h}"),
        ),
        ("/v1/search", format!("/api/v1/search?q={}", &h[..8])),
        ("/v1/problems", "/api/v1/problems".into()),
        ("/v1/versions", "/api/v1/versions".into()),
        ("/v1/jobs/{id}", format!("/api/v1/jobs/{job}")),
        ("/v1/audit", "/api/v1/audit".into()),
        ("/v1/users", "/api/v1/users".into()),
        ("/v1/plan", "/api/v1/plan".into()),
        ("/v1/six-in-place", "/api/v1/six-in-place".into()),
        ("/v1/gaps", "/api/v1/gaps".into()),
        ("/v1/work-items", "/api/v1/work-items".into()),
        ("/v1/work-items/{id}", format!("/api/v1/work-items/{item}")),
        ("/v1/inspections", "/api/v1/inspections".into()),
        (
            "/v1/inspections/{id}",
            format!("/api/v1/inspections/{inspection}"),
        ),
        (
            "/v1/inspections/{id}/sample",
            format!("/api/v1/inspections/{inspection}/sample"),
        ),
        (
            "/v1/inspections/{id}/estimates",
            format!("/api/v1/inspections/{inspection}/estimates"),
        ),
        (
            "/v1/inspections/{id}/findings",
            format!("/api/v1/inspections/{inspection}/findings"),
        ),
        (
            "/v1/forecast",
            "/api/v1/forecast?seed=5&runs=20&townships=0&poor_villages=2&other_villages=0\
             &per_village=5&min_share=0&take_all=1"
                .into(),
        ),
        ("/v1/projects", "/api/v1/projects".into()),
        ("/v1/projects/{id}", format!("/api/v1/projects/{solar}")),
        ("/v1/funds/figures", "/api/v1/funds/figures".into()),
        (
            "/v1/funds/behind",
            "/api/v1/funds/behind?by=2018-12-31&min_percent=50".into(),
        ),
        (
            "/v1/funds/six-in-place",
            "/api/v1/funds/six-in-place".into(),
        ),
        (
            "/v1/funds/benefit-flags",
            "/api/v1/funds/benefit-flags".into(),
        ),
        (
            "/v1/funds/benefits/{household_no}",
            format!("/api/v1/funds/benefits/{h}"),
        ),
    ];
    let mut checked = BTreeSet::new();
    // Answers that are files: their documented type.
    let files: Vec<(&str, String)> = vec![(
        "/v1/jobs/{id}/problems.csv",
        format!("/api/v1/jobs/{refused}/problems.csv"),
    )];
    for (template, path) in &files {
        let r = c.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
        let documented = doc["paths"][template]["get"]["responses"]["200"]["content"]
            .as_object()
            .map(|m| m.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default();
        let answered = r.headers["content-type"].to_str().unwrap();
        assert!(
            documented.len() == 1 && answered.starts_with(&documented[0]),
            "{path}: answered {answered}, documented {documented:?}"
        );
        checked.insert(*template);
    }
    for (template, path) in &gets {
        let r = c.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
        departed.extend(check(&doc, "get", template, 200, &r.json()));
        checked.insert(*template);
    }
    assert!(departed.is_empty(), "{}", departed.join("\n"));
    let documented: BTreeSet<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, ops)| ops.get("get").is_some())
        .map(|(p, _)| p.as_str())
        .collect();
    assert_eq!(documented, checked, "every documented GET route is checked");

    // The nulls the data allows, so that a field documented as never null would fail: a
    // household whose 脱贫属性 is empty and whose data errors leave its criteria unjudged,
    // and the work item of a finding that names no task.
    let nulls_household = "1409300101011";
    let (mut register, villages) = golden();
    let household = register
        .households
        .iter_mut()
        .find(|h| &*h.id == nulls_household)
        .unwrap();
    household.values.status = fupin_domain::household::Entry::Empty;
    store_register(&app.store, &register, &villages, "members-status-empty.csv").await;
    let finding = post(
        &mut c,
        &doc,
        "/v1/inspections/{id}/findings",
        format!("/api/v1/inspections/{inspection}/findings"),
        json!({"description": "村集中供水点水质未检测", "category": "其他",
               "severity": "general", "township": OTHER_TOWNSHIP, "village": OTHER_VILLAGE,
               "unit": "县水利局", "measure": "委托检测并公示"}),
    )
    .await;
    let untasked = finding["work_item"].as_i64().unwrap();
    let (t, v) = (
        fupin_web::view::enc(ONE_TOWNSHIP),
        fupin_web::view::enc(OWN_VILLAGE),
    );
    let with_nulls: [(&str, String, &str); 5] = [
        (
            "/v1/households/{household_no}",
            format!("/api/v1/households/{nulls_household}"),
            "/assessment/criteria/0/passed",
        ),
        (
            "/v1/townships/{township}/villages/{village}/households",
            format!("/api/v1/townships/{t}/villages/{v}/households"),
            "status",
        ),
        (
            "/v1/search",
            format!("/api/v1/search?q={nulls_household}"),
            "status",
        ),
        (
            "/v1/work-items",
            format!("/api/v1/work-items?before={}", untasked + 1),
            "task",
        ),
        (
            "/v1/work-items/{id}",
            format!("/api/v1/work-items/{untasked}"),
            "/task",
        ),
    ];
    for (template, path, field) in &with_nulls {
        let r = c.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
        let answer = r.json();
        let has_null = match field.strip_prefix('/') {
            Some(pointer) => answer.pointer(&format!("/{pointer}")) == Some(&Value::Null),
            None => answer.to_string().contains(&format!("\"{field}\":null")),
        };
        assert!(
            has_null,
            "{path}: the test data has no null {field}: {answer}"
        );
        departed.extend(check(&doc, "get", template, 200, &answer));
    }
    assert!(departed.is_empty(), "{}", departed.join("\n"));
}
