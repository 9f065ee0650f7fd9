//! Search by name, ID number or 户编号, within the user's area, paged by key.

use crate::auth::PageUser;
use crate::error::PageError;
use crate::registry::areas::HouseholdLine;
use crate::view::{self, Layout};
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use fupin_store::{Search, SearchHit, SearchKey};
use serde::Deserialize;

pub const PAGE: u32 = 50;

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    pub q: String,
    pub after_text: Option<String>,
    pub after_line: Option<u64>,
    pub limit: Option<u32>,
}

impl SearchQuery {
    pub fn after(&self) -> Option<SearchKey> {
        if self.after_text.is_none() && self.after_line.is_none() {
            return None;
        }
        Some(SearchKey {
            text: self.after_text.clone().unwrap_or_default(),
            line: self.after_line.unwrap_or(0),
        })
    }
}

/// What kind of search a box holds, in Chinese.
pub fn kind(s: &Search) -> &'static str {
    match s {
        Search::HouseholdNo(_) => "户编号",
        Search::IdNumber(_) => "证件号码",
        Search::Name(_) => "姓名",
    }
}

pub struct HitLine {
    pub household: HouseholdLine,
    pub member: String,
}

fn hit_line(h: &SearchHit) -> HitLine {
    HitLine {
        household: HouseholdLine::of(&h.household),
        member: h
            .member
            .as_ref()
            .map(|m| {
                format!(
                    "第{}行 {} {}",
                    m.line,
                    m.name.as_deref().unwrap_or(""),
                    m.id_number.as_deref().unwrap_or("")
                )
            })
            .unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    layout: Layout,
    q: String,
    kind: &'static str,
    searched: bool,
    hits: Vec<HitLine>,
    next_url: Option<String>,
}

/// GET /search?q=…
pub async fn page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Query(q): Query<SearchQuery>,
) -> Result<Html<String>, PageError> {
    let search = Search::parse(&q.q);
    let (hits, next) = match &search {
        None => (Vec::new(), None),
        Some(s) => {
            let page = state
                .store
                .register()
                .search(&v.scope, s, q.after().as_ref(), PAGE)
                .await?;
            (page.items, page.next)
        }
    };
    let p = SearchPage {
        layout: Layout::of(&v, "查询", "search"),
        kind: search.as_ref().map_or("", kind),
        searched: search.is_some(),
        hits: hits.iter().map(hit_line).collect(),
        next_url: next.map(|k| {
            format!(
                "/search?q={}&after_text={}&after_line={}",
                view::enc(q.q.trim()),
                view::enc(&k.text),
                k.line
            )
        }),
        q: q.q,
    };
    Ok(Html(p.render()?))
}
