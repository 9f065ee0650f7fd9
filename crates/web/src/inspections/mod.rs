//! 考核评估 (issue 6): inspections, the sample drawn as inspectors draw it over the
//! current register and recorded with its seed, the sample list as XLSX for the field
//! teams, verification results (a form per household, or the filled list uploaded), the
//! four veto indicators with their intervals, the forecast from the register, and findings
//! (问题) — each a work item in the responsibility loop — with the rectification ledger
//! (整改台账) as XLSX.
//!
//! The draw, estimates and forecast are the domain's; the store records and scopes. Who
//! may record: headquarters and inspectors (`fupin_store::may_record`); inspectors close
//! (销号) the items on the work-item page as the state machine allows. Sampled households
//! are read through the register scope, findings through their work items' scope; the
//! county's estimates and forecast need the county scope.

pub mod api;
mod estimates;
mod findings;
mod list;
mod results;
mod sample;
mod workbook;

use crate::auth::Viewer;
use crate::error::Error;
use crate::upload::Saved;
use crate::{AppState, Pages};
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use chrono::NaiveDate;
pub use estimates::{forecast_runs, run_forecast, ForecastQuery};
pub use findings::{create_finding, FindingForm};
use fupin_domain::estimates::Verification;
use fupin_domain::sampling::{Allocation, SamplingPlan};
use fupin_domain::work_item::Refusal;
use fupin_io::inspection::RuralEntry;
use fupin_store::{Inspection, InspectionId, RuralVillage, StoredSample};
pub use list::{create, NewInspectionForm};

use serde::Deserialize;

/// A refusal of the rules as the answer's error (403, 409 or 422).
pub fn refusal(r: Refusal) -> Error {
    r.into()
}

pub async fn inspection_of(state: &AppState, id: InspectionId) -> Result<Inspection, Error> {
    state
        .store
        .inspections()
        .inspection(id)
        .await?
        .ok_or(Error::NotFound)
}

/// The sample drawn for an inspection; not found before the draw.
pub async fn drawn_sample(state: &AppState, id: InspectionId) -> Result<StoredSample, Error> {
    state
        .store
        .inspections()
        .sample(id)
        .await?
        .ok_or(Error::NotFound)
}

/// The county's figures (estimates, forecast) are read with the county scope.
pub fn require_county(v: &Viewer) -> Result<(), Error> {
    if v.scope.is_county() {
        Ok(())
    } else {
        Err(Error::NotFound)
    }
}

pub fn parse_date(text: &str, what: &str) -> Result<Option<NaiveDate>, Error> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    t.parse().map(Some).map_err(|_| {
        Error::BadRequest(format!("{what}「{t}」不是日期：应为 2018-10-15 这样的格式"))
    })
}

/// The plan of the draw form and the forecast: the Guangdong 2018 rule, overridden by
/// what is filled in.
#[derive(Deserialize, Default, Debug)]
pub struct PlanFields {
    #[serde(default)]
    pub seed: String,
    #[serde(default)]
    pub townships: String,
    #[serde(default)]
    pub poor_villages: String,
    #[serde(default)]
    pub other_villages: String,
    /// `ratio` (5:3:2 of per_village) or `fixed`.
    #[serde(default)]
    pub allocation: String,
    #[serde(default)]
    pub per_village: String,
    #[serde(default)]
    pub registered: String,
    #[serde(default)]
    pub non_registered: String,
    /// Minimum registered share in basis points of a percent: "1" = 1%.
    #[serde(default)]
    pub min_share: String,
    #[serde(default)]
    pub take_all: Option<String>,
}

impl PlanFields {
    pub fn plan(&self) -> Result<SamplingPlan, Error> {
        let num = |t: &str, what: &str| -> Result<Option<u32>, Error> {
            let t = t.trim();
            if t.is_empty() {
                return Ok(None);
            }
            t.parse()
                .map(Some)
                .map_err(|_| Error::BadRequest(format!("{what}「{t}」应为不小于0的整数")))
        };
        let seed = self.seed.trim();
        if seed.is_empty() {
            return Err(Error::BadRequest(
                "请填写随机种子（任意非负整数，例如考核开始日期 20181015）：种子与方案一起记录，任何人可据此复核样本".into(),
            ));
        }
        let seed: u64 = seed
            .parse()
            .map_err(|_| Error::BadRequest(format!("随机种子「{seed}」应为非负整数")))?;
        let mut p = SamplingPlan::guangdong_2018(seed);
        if let Some(n) = num(&self.townships, "抽取乡镇数")? {
            p.townships = n;
        }
        if let Some(n) = num(&self.poor_villages, "每乡镇贫困村数")? {
            p.poor_villages_per_township = n;
        }
        if let Some(n) = num(&self.other_villages, "每乡镇非贫困村数")? {
            p.other_villages_per_township = n;
        }
        if self.allocation == "fixed" {
            p.households = Allocation::Fixed {
                registered: num(&self.registered, "每村建档立卡户数")?.unwrap_or(8),
                non_registered: num(&self.non_registered, "每村非建档立卡户数")?.unwrap_or(4),
            };
        } else if let Some(n) = num(&self.per_village, "每村户数")? {
            p.households = Allocation::Ratio {
                per_village: n,
                able: 5,
                non_registered: 3,
                unable: 2,
            };
        }
        let share = self.min_share.trim();
        if !share.is_empty() {
            let pct: f64 = share
                .trim_end_matches('%')
                .parse()
                .ok()
                .filter(|x: &f64| (0.0..=100.0).contains(x))
                .ok_or_else(|| {
                    Error::BadRequest(format!("最低比例「{share}」应为 0 到 100 的百分数"))
                })?;
            p.min_registered_share_bp = (pct * 100.0).round() as u32;
        }
        p.take_all_when_short = self.take_all.is_some();
        Ok(p)
    }
}

/// The non-registered households of the uploaded rural households file, per village.
pub fn rural_of(
    file: Option<&Saved>,
    limits: &fupin_io::FileLimits,
) -> Result<Vec<RuralVillage>, Error> {
    let Some(file) = file.filter(|f| f.size > 0) else {
        return Ok(Vec::new());
    };
    let read = fupin_io::inspection::read_rural_households_within(&file.path, None, limits)
        .map_err(|e| named(e.to_string(), file))?;
    let mut out: Vec<RuralVillage> = read
        .villages
        .into_iter()
        .map(|(area, entry)| RuralVillage {
            township: area.township.to_string(),
            village: area.village.to_string(),
            total: match &entry {
                RuralEntry::Total { households, .. } => Some(*households),
                RuralEntry::List(_) => None,
            },
            list: match entry {
                RuralEntry::List(l) => Some(l),
                RuralEntry::Total { .. } => None,
            },
        })
        .collect();
    out.sort_by(|a, b| (&a.township, &a.village).cmp(&(&b.township, &b.village)));
    Ok(out)
}

/// A reader's refusal of an upload: the temp file's path means nothing to the user, so
/// the upload is named as they know it.
fn named(message: String, file: &Saved) -> Error {
    Error::BadRequest(message.replace(&file.path.display().to_string(), &file.name))
}

/// The filled sample list (XLSX or CSV), all or nothing, as `fupin estimate` reads it.
pub fn results_of(
    file: Option<&Saved>,
    sample: &StoredSample,
    limits: &fupin_io::FileLimits,
) -> Result<Vec<Verification>, Error> {
    let Some(file) = file.filter(|f| f.size > 0) else {
        return Err(Error::BadRequest(
            "请选择填好的样本清单（XLSX 或 CSV）".into(),
        ));
    };
    fupin_io::inspection::read_results_within(&file.path, None, &sample.sample, limits)
        .map_err(|e| named(e.to_string(), file))
}

/// The pages of this area.
pub(crate) fn routes(pages: Pages, upload_limit: usize) -> Pages {
    pages
        .route("/inspections", get(list::list_page).post(list::create_page))
        .route("/inspections/forecast", get(estimates::forecast_page))
        .route("/inspections/{id}", get(sample::detail_page))
        .route(
            "/inspections/{id}/sample",
            post(sample::draw_page).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/inspections/{id}/sample.xlsx", get(sample::sample_xlsx))
        .route(
            "/inspections/{id}/results",
            post(sample::results_upload).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route(
            "/inspections/{id}/results/{no}",
            get(results::result_page).post(results::result_post),
        )
        .route(
            "/inspections/{id}/estimates",
            get(estimates::estimates_page),
        )
        .route(
            "/inspections/{id}/findings",
            get(findings::findings_page).post(findings::finding_post),
        )
        .route("/inspections/{id}/ledger.xlsx", get(findings::ledger_xlsx))
}
