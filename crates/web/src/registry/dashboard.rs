//! 首页: the figures of the user's area from the summary tables (never a scan of the
//! register): households and people, verdicts, failures by criterion, incidence now and
//! after exit against the threshold, and a table of the areas one level down.

use crate::auth::{PageUser, Viewer};
use crate::charts::{self, Bar, Marker};
use crate::error::{Error, PageError};
use crate::view::{self, Layout};
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use fupin_domain::figures::{village_exit_ready, Rate, Region};
use fupin_domain::{Criterion, Verdict};
use fupin_store::{RegisterVersion, Scope, Store, Summary, VersionId};
use serde::Deserialize;

/// A verdict's or criterion's line in a figures table.
pub struct CountRow {
    pub label: &'static str,
    pub code: &'static str,
    pub count: String,
    pub class: &'static str,
}

/// The figures of one area, formatted, with their charts.
pub struct Figures {
    pub households: String,
    pub members: String,
    pub verdicts: Vec<CountRow>,
    pub criteria: Vec<CountRow>,
    pub population: String,
    pub poor_now: String,
    pub remaining: String,
    pub incidence_now: String,
    pub incidence_after: String,
    pub threshold: String,
    /// 是 / 否 / — (no population known).
    pub exit_ready: String,
    pub wrong_exit_rate: String,
    pub verdict_chart: String,
    pub criteria_chart: String,
    pub incidence_chart: String,
}

pub fn incidence(s: &Summary) -> (Option<Rate>, Option<Rate>) {
    let now = s.population.and_then(|p| Rate::new(s.tally.poor_now, p));
    let after = s.population.and_then(|p| Rate::new(s.tally.remaining, p));
    (now, after)
}

/// A criterion's name short enough for a chart's label column.
fn short(c: Criterion) -> &'static str {
    match c {
        Criterion::Income => "收入",
        Criterion::Food => "不愁吃",
        Criterion::Clothing => "不愁穿",
        Criterion::Education => "义务教育",
        Criterion::Medical => "基本医疗",
        Criterion::Housing => "住房安全",
        Criterion::Water => "饮水安全",
    }
}

fn as_percent(r: Rate) -> f64 {
    r.num as f64 * 100.0 / r.den as f64
}

impl Figures {
    pub fn of(s: &Summary, region: Region) -> Figures {
        let t = &s.tally;
        let (now, after) = incidence(s);
        let threshold = view::threshold_percent(region);
        let verdicts = Verdict::ALL
            .iter()
            .map(|v| CountRow {
                label: v.chinese(),
                code: v.word(),
                count: view::count(t.verdict_count(*v)),
                class: view::verdict_class(*v),
            })
            .collect();
        let criteria = Criterion::ALL
            .iter()
            .map(|c| CountRow {
                label: c.chinese(),
                code: c.code(),
                count: view::count(t.criterion_count(*c)),
                class: "",
            })
            .collect();
        let verdict_bars: Vec<Bar> = Verdict::ALL
            .iter()
            .zip(charts::VERDICT_COLORS)
            .map(|(v, color)| Bar {
                label: v.chinese().into(),
                value: t.verdict_count(*v) as f64,
                text: format!("{} 户", view::count(t.verdict_count(*v))),
                color,
            })
            .collect();
        let criteria_bars: Vec<Bar> = Criterion::ALL
            .iter()
            .map(|c| Bar {
                label: short(*c).into(),
                value: t.criterion_count(*c) as f64,
                text: format!("{} 户", view::count(t.criterion_count(*c))),
                color: charts::CRITERION_COLOR,
            })
            .collect();
        let incidence_chart = match (now, after) {
            (Some(n), Some(a)) => charts::bars(
                "贫困发生率与退出阈值",
                &[
                    Bar {
                        label: "现贫困发生率".into(),
                        value: as_percent(n),
                        text: format!("{}%", n.percent()),
                        color: charts::NOW_COLOR,
                    },
                    Bar {
                        label: "退出后贫困发生率".into(),
                        value: as_percent(a),
                        text: format!("{}%", a.percent()),
                        color: charts::AFTER_COLOR,
                    },
                ],
                Some(&Marker {
                    value: region.threshold_bp() as f64 / 100.0,
                    label: format!("阈值 {threshold}"),
                }),
            ),
            _ => String::new(),
        };
        Figures {
            households: view::count(t.households),
            members: view::count(t.members),
            verdicts,
            criteria,
            population: s.population.map_or("—".into(), view::count),
            poor_now: view::count(t.poor_now),
            remaining: view::count(t.remaining),
            incidence_now: view::percent(now),
            incidence_after: view::percent(after),
            exit_ready: match after {
                Some(a) if a.below_bp(region.threshold_bp()) => "是".into(),
                Some(_) => "否".into(),
                None => "—".into(),
            },
            threshold,
            wrong_exit_rate: view::percent(t.wrong_exit_rate()),
            verdict_chart: charts::bars("各类结论户数", &verdict_bars, None),
            criteria_chart: charts::bars("各项标准未达标户数", &criteria_bars, None),
            incidence_chart,
        }
    }
}

/// A township's or village's line in a table.
pub struct AreaRow {
    pub name: String,
    pub url: String,
    pub households: String,
    pub members: String,
    pub poor_now: String,
    pub remaining: String,
    pub population: String,
    pub incidence_now: String,
    pub incidence_after: String,
    pub verdicts: Vec<String>,
    /// 是 / 否 / —; for villages also the conditions of the villages file.
    pub exit_ready: String,
    pub exit_class: &'static str,
    pub unmet: String,
}

impl AreaRow {
    pub fn of(s: &Summary, region: Region) -> AreaRow {
        let (now, after) = incidence(s);
        let t = &s.tally;
        let (name, url) = match (&s.township, &s.village) {
            (Some(tw), Some(v)) => (v.clone(), view::village_url(tw, v)),
            (Some(tw), None) => (tw.clone(), view::township_url(tw)),
            _ => ("全县".into(), "/".into()),
        };
        let ready = match (&s.village, after) {
            (Some(_), Some(_)) => Some(village_exit_ready(
                after,
                region.threshold_bp(),
                &s.conditions,
            )),
            (None, Some(a)) => Some(a.below_bp(region.threshold_bp())),
            (_, None) => None,
        };
        AreaRow {
            name,
            url,
            households: view::count(t.households),
            members: view::count(t.members),
            poor_now: view::count(t.poor_now),
            remaining: view::count(t.remaining),
            population: s.population.map_or("—".into(), view::count),
            incidence_now: view::percent(now),
            incidence_after: view::percent(after),
            verdicts: Verdict::ALL
                .iter()
                .map(|v| view::count(t.verdict_count(*v)))
                .collect(),
            exit_ready: view::yes_no(ready).into(),
            exit_class: match ready {
                Some(true) => "ok",
                Some(false) => "bad",
                None => "",
            },
            unmet: s.conditions.unmet().join("、"),
        }
    }
}

/// Areas on one page of the dashboard's table (a province has hundreds of townships).
pub const AREA_PAGE: u32 = 50;

/// The summary of the viewer's whole area, and one page of the areas one level down.
pub struct AreaView {
    pub summary: Summary,
    pub children: Vec<Summary>,
    /// What the children are: 乡镇 or 行政村.
    pub child_kind: &'static str,
    /// The key of the next page of townships (`after`); None on the last page. A
    /// township's villages (tens) come on one page.
    pub next: Option<u64>,
}

/// Which page of the areas table: `after` the key of the previous page's last township
/// (its `next`), `limit` areas (default [`AREA_PAGE`]).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct AreaPage {
    pub after: Option<String>,
    pub limit: Option<u32>,
}

impl AreaPage {
    /// The key to read after; an empty one is the first page.
    pub fn after(&self) -> Result<Option<u64>, Error> {
        match self.after.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(a) => a.parse().map(Some).map_err(|_| {
                Error::BadRequest(format!("分页参数 after「{a}」无效：应为上一页给出的 next"))
            }),
        }
    }

    pub fn limit(&self) -> u32 {
        self.limit.unwrap_or(AREA_PAGE)
    }
}

/// What the viewer's area holds, or None before the first import: its summary (never a
/// sum over the page) and one page of the areas one level down.
pub async fn area_view(
    store: &Store,
    scope: &Scope,
    page: &AreaPage,
) -> Result<Option<AreaView>, Error> {
    let after = page.after()?;
    Ok(match scope {
        Scope::County => {
            let (summary, townships) = tokio::try_join!(
                store.register().county_summary(scope),
                store.register().townships_page(scope, after, page.limit())
            )?;
            summary.map(|summary| AreaView {
                summary,
                children: townships.items,
                child_kind: "乡镇",
                next: townships.next,
            })
        }
        Scope::Township { township } => match store.register().township(scope, township).await? {
            None => None,
            Some(summary) => Some(AreaView {
                summary,
                children: store.register().villages(scope, township).await?,
                child_kind: "行政村",
                next: None,
            }),
        },
        Scope::Village { township, village } => store
            .register()
            .villages(scope, township)
            .await?
            .into_iter()
            .find(|v| v.village.as_deref() == Some(village))
            .map(|summary| AreaView {
                summary,
                children: Vec::new(),
                child_kind: "",
                next: None,
            }),
    })
}

pub struct VersionLine {
    pub id: VersionId,
    pub file_name: String,
    pub imported_at: String,
    pub imported_by: String,
    pub year: i32,
    pub line: String,
}

impl VersionLine {
    pub fn of(v: &RegisterVersion) -> VersionLine {
        VersionLine {
            id: v.id,
            file_name: v.file_name.clone(),
            imported_at: view::time(v.imported_at),
            imported_by: v
                .imported_by_name
                .clone()
                .unwrap_or_else(|| "命令行".into()),
            year: v.year,
            line: v.line.describe(),
        }
    }
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    layout: Layout,
    heading: String,
    figures: Option<Figures>,
    rows: Vec<AreaRow>,
    child_kind: &'static str,
    /// The areas table's pages: back to the first, and the next.
    first_url: Option<String>,
    next_url: Option<String>,
    /// Village staff: their households.
    households_url: String,
    version: Option<VersionLine>,
    /// Open gaps and the headquarters' queue (gaps no plan task answers for), in scope.
    gaps: fupin_store::GapCounts,
}

pub async fn render(state: &AppState, v: &Viewer, page: &AreaPage) -> Result<String, Error> {
    let region = state.config.region;
    // Independent reads, at once: the page waits for the slowest, not for their sum.
    let gap_scope = v.item_scope();
    let (area, version, gaps) = tokio::try_join!(
        area_view(&state.store, &v.scope, page),
        async { Ok::<_, Error>(state.store.register().current_version().await?) },
        async { Ok::<_, Error>(state.store.work().gap_counts(&gap_scope).await?) },
    )?;
    let version = version.map(|v| VersionLine::of(&v));
    let households_url = match &v.scope {
        Scope::Village { township, village } => view::village_url(township, village),
        _ => String::new(),
    };
    // The page size travels with the links when it is not the default.
    let limit = match page.limit {
        Some(l) if l != AREA_PAGE => format!("&limit={l}"),
        _ => String::new(),
    };
    let page = DashboardPage {
        layout: Layout::of(v, "首页", "home"),
        heading: format!("{} 脱贫攻坚总览", crate::scope_label(&v.scope)),
        figures: area.as_ref().map(|a| Figures::of(&a.summary, region)),
        rows: area
            .as_ref()
            .map(|a| a.children.iter().map(|s| AreaRow::of(s, region)).collect())
            .unwrap_or_default(),
        child_kind: area.as_ref().map_or("", |a| a.child_kind),
        first_url: page
            .after()?
            .map(|_| format!("/{}", limit.replacen('&', "?", 1))),
        next_url: area
            .as_ref()
            .and_then(|a| a.next)
            .map(|n| format!("/?after={n}{limit}")),
        households_url,
        version,
        gaps,
    };
    Ok(page.render()?)
}

/// GET /?after=key&limit=n — the areas table by key, 50 at a time.
pub async fn page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Query(q): Query<AreaPage>,
) -> Result<Html<String>, PageError> {
    Ok(Html(render(&state, &v, &q).await?))
}
