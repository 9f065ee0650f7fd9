//! Drill-down: county → township → village → household. Each level's figures come from
//! the summary tables; a village's households are listed 50 at a time after the last
//! 户编号 of the page before (key paging, never OFFSET). An area outside the user's scope
//! is not found.

use crate::auth::PageUser;
use crate::error::{Error, PageError};
use crate::registry::dashboard::{AreaRow, Figures};
use crate::view::{self, Layout};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use fupin_store::{HouseholdRow, Scope, Store, Summary};
use serde::Deserialize;

/// Households on one page of a village.
pub const PAGE: u32 = 50;

/// A township's summary, if it is in scope.
pub async fn township(store: &Store, scope: &Scope, name: &str) -> Result<Summary, Error> {
    store
        .register()
        .township(scope, name)
        .await?
        .ok_or(Error::NotFound)
}

/// A village's summary, if it is in scope.
pub async fn village(
    store: &Store,
    scope: &Scope,
    township: &str,
    name: &str,
) -> Result<Summary, Error> {
    if !scope.contains(township, name) {
        return Err(Error::NotFound);
    }
    store
        .register()
        .villages(scope, township)
        .await?
        .into_iter()
        .find(|v| v.village.as_deref() == Some(name))
        .ok_or(Error::NotFound)
}

#[derive(Template)]
#[template(path = "township.html")]
struct TownshipPage {
    layout: Layout,
    township: String,
    figures: Figures,
    rows: Vec<AreaRow>,
}

/// GET /townships/{township}
pub async fn township_page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(name): Path<String>,
) -> Result<Html<String>, PageError> {
    let summary = township(&state.store, &v.scope, &name).await?;
    let region = state.config.region;
    let villages = state.store.register().villages(&v.scope, &name).await?;
    let page = TownshipPage {
        layout: Layout::of(&v, name.clone(), "home"),
        figures: Figures::of(&summary, region),
        rows: villages.iter().map(|s| AreaRow::of(s, region)).collect(),
        township: name,
    };
    Ok(Html(page.render()?))
}

/// A household's line in a list.
pub struct HouseholdLine {
    pub no: String,
    pub url: String,
    pub township: String,
    pub village: String,
    pub members: u64,
    pub status: &'static str,
    pub verdict: &'static str,
    pub verdict_class: &'static str,
    pub per_capita: String,
    pub failed: String,
}

impl HouseholdLine {
    pub fn of(h: &HouseholdRow) -> HouseholdLine {
        HouseholdLine {
            no: h.household_no.clone(),
            url: view::household_url(&h.household_no),
            township: h.township.clone(),
            village: h.village.clone(),
            members: h.members,
            status: h.status.map_or("—", |s| s.label()),
            verdict: h.verdict.chinese(),
            verdict_class: view::verdict_class(h.verdict),
            per_capita: view::yuan(h.per_capita),
            failed: view::failed_names(h.failed),
        }
    }
}

#[derive(Template)]
#[template(path = "village.html")]
struct VillagePage {
    layout: Layout,
    township: String,
    township_url: String,
    /// Village staff do not see the township page.
    show_township_link: bool,
    village: String,
    figures: Figures,
    info: Vec<(&'static str, String)>,
    households: Vec<HouseholdLine>,
    first_url: String,
    next_url: Option<String>,
    paged: bool,
}

#[derive(Deserialize)]
pub struct After {
    pub after: Option<String>,
}

/// GET /townships/{township}/villages/{village}?after=户编号
pub async fn village_page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path((township, name)): Path<(String, String)>,
    Query(q): Query<After>,
) -> Result<Html<String>, PageError> {
    let summary = village(&state.store, &v.scope, &township, &name).await?;
    let after = q.after.filter(|a| !a.is_empty());
    let page = state
        .store
        .register()
        .households(&v.scope, &township, &name, after.as_deref(), PAGE)
        .await?;
    let base = view::village_url(&township, &name);
    let c = &summary.conditions;
    let info = vec![
        ("是否贫困村", view::yes_no(summary.poor_village).to_string()),
        ("通硬化路", view::yes_no(c.road).to_string()),
        ("通动力电", view::yes_no(c.power).to_string()),
        ("通宽带", view::yes_no(c.broadband).to_string()),
        ("有卫生室", view::yes_no(c.clinic).to_string()),
        (
            "村集体经济收入（元）",
            view::yuan(summary.collective_income),
        ),
    ];
    let p = VillagePage {
        layout: Layout::of(&v, format!("{township} {name}"), "home"),
        township_url: view::township_url(&township),
        show_township_link: !matches!(v.scope, Scope::Village { .. }),
        figures: Figures::of(&summary, state.config.region),
        info,
        households: page.items.iter().map(HouseholdLine::of).collect(),
        next_url: page
            .next
            .as_ref()
            .map(|n| format!("{base}?after={}", view::enc(n))),
        paged: after.is_some(),
        first_url: base,
        township,
        village: name,
    };
    Ok(Html(p.render()?))
}
