//! Inspections (考核评估) in the database: the inspection, its sampling plan drawn over the
//! stored register's current version and recorded with its seed, the field teams'
//! verification results, the four veto indicators estimated from them, the forecast from
//! the register, and findings (问题), each of which becomes a work item of the
//! responsibility loop (交办 → 整改 → 销号) next to those from gaps.
//!
//! The draw, the estimators and the forecast are `fupin_domain::{sampling, estimates,
//! forecast}`; the store builds the frame from the version's areas and households (frame
//! order: villages and households in register order) and keeps what anyone needs to
//! redraw: the version, the plan with its seed and the non-registered households given per
//! village ([`Store::redraw_sample`] does it and must give the same sample).
//!
//! Who may write: headquarters and inspectors ([`Action::RecordInspection`]). What a user reads is
//! decided in SQL: sampled households by the register [`Scope`], findings by the
//! [`ItemScope`] of their work items.

mod findings;
mod records;
mod results;
mod samples;

use crate::accounts::{Role, User};
use crate::register::VersionId;
use crate::scope::Scope;
use crate::work::{ItemScope, WorkItemId};
use crate::{now, on_pool, Result, Store, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use fupin_domain::access::{may, Action};
use fupin_domain::estimates::{estimate, Estimates, Verification};
use fupin_domain::figures::Region;
use fupin_domain::forecast::{forecast, Forecast};
use fupin_domain::sampling::{
    draw, CountyTotals, Frame, NonRegistered, Sample, SampledHousehold, SamplingError, SamplingPlan,
};
use fupin_domain::work_item::{Refusal, WorkState};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

pub type InspectionId = fupin_domain::id::Id<Inspection>;
pub type FindingId = fupin_domain::id::Id<FindingRow>;

/// Who inspects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InspectionLevel {
    /// 省际交叉考核.
    CrossProvince,
    /// 第三方评估.
    ThirdParty,
    /// 县级自查.
    CountySelf,
}

impl InspectionLevel {
    pub const ALL: [InspectionLevel; 3] = [
        InspectionLevel::CrossProvince,
        InspectionLevel::ThirdParty,
        InspectionLevel::CountySelf,
    ];

    pub fn word(self) -> &'static str {
        match self {
            InspectionLevel::CrossProvince => "cross_province",
            InspectionLevel::ThirdParty => "third_party",
            InspectionLevel::CountySelf => "county_self",
        }
    }

    pub fn chinese(self) -> &'static str {
        match self {
            InspectionLevel::CrossProvince => "省际交叉考核",
            InspectionLevel::ThirdParty => "第三方评估",
            InspectionLevel::CountySelf => "县级自查",
        }
    }

    /// From its word or its Chinese name.
    pub fn parse(text: &str) -> Option<InspectionLevel> {
        let t = text.trim();
        InspectionLevel::ALL
            .into_iter()
            .find(|l| l.word() == t || l.chinese() == t)
    }
}

/// How grave a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// 一般.
    General,
    /// 较重.
    Serious,
    /// 严重.
    Grave,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::General, Severity::Serious, Severity::Grave];

    pub fn word(self) -> &'static str {
        match self {
            Severity::General => "general",
            Severity::Serious => "serious",
            Severity::Grave => "grave",
        }
    }

    pub fn chinese(self) -> &'static str {
        match self {
            Severity::General => "一般",
            Severity::Serious => "较重",
            Severity::Grave => "严重",
        }
    }

    pub fn parse(text: &str) -> Option<Severity> {
        let t = text.trim();
        Severity::ALL
            .into_iter()
            .find(|s| s.word() == t || s.chinese() == t)
    }
}

/// The categories of findings, as the inspection reports group them.
pub const FINDING_CATEGORIES: [&str; 8] = [
    "错退",
    "漏评",
    "群众认可度",
    "两不愁三保障",
    "收入核算",
    "数据质量",
    "工作作风",
    "其他",
];

/// Whether a role records inspections, samples, results and findings
/// ([`Action::RecordInspection`]).
pub fn may_record(role: &Role) -> bool {
    refused_to(role).is_none()
}

/// The refusal of a role that may not record, None when it may.
fn refused_to(role: &Role) -> Option<Refusal> {
    may(role.actor(None), Action::RecordInspection).err()
}

/// What was asked is not acceptable as given (422).
fn wrong(msg: impl Into<String>) -> Refusal {
    Refusal::Invalid(msg.into())
}

/// Not from the state the inspection is in (409).
fn conflict(msg: impl Into<String>) -> Refusal {
    Refusal::Conflict(msg.into())
}

/// An inspection to record.
#[derive(Clone, Debug)]
pub struct NewInspection {
    pub name: String,
    pub level: InspectionLevel,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    /// The team (组成单位、组长职务), as the notice names it.
    pub team: String,
}

/// A stored inspection with its progress.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Inspection {
    pub id: InspectionId,
    pub name: String,
    pub level: InspectionLevel,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub team: String,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<String>,
    /// Sampled households (0: not drawn yet).
    pub sampled: u64,
    /// Verification results recorded.
    pub verified: u64,
    pub findings: u64,
}

/// The non-registered households of one village given for a draw: the village's rural
/// households in all (农村总户数, registered ones included) or the list of their 户编号.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuralVillage {
    pub township: String,
    pub village: String,
    /// 农村总户数 (non-registered = this − the village's registered households).
    pub total: Option<u32>,
    /// 户编号 of the non-registered households, in the village roster's order.
    pub list: Option<Vec<String>>,
}

/// A recorded draw.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StoredSample {
    pub inspection_id: InspectionId,
    pub version_id: VersionId,
    pub plan: SamplingPlan,
    pub rural: Vec<RuralVillage>,
    pub totals: CountyTotals,
    pub sample: Sample,
    pub drawn_at: DateTime<Utc>,
    pub drawn_by: Option<String>,
}

/// A sampled household as lists show it, with its result when recorded.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SampleRow {
    pub household: SampledHousehold,
    pub township: String,
    pub village: String,
    pub poor_village: bool,
    pub result: Option<Verification>,
}

/// Where the estimates of an inspection stand.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EstimateState {
    pub sampled: usize,
    pub verified: usize,
    /// Only when every sampled household has its result: the design weights assume it.
    pub estimates: Option<Estimates>,
}

/// A finding to record; it becomes a work item at once.
#[derive(Clone, Debug, Default)]
pub struct NewFinding {
    pub description: String,
    pub category: String,
    pub severity: Option<Severity>,
    /// A household of the current register (its place is taken from it).
    pub household_no: Option<String>,
    /// A village (when no household is given).
    pub township: Option<String>,
    pub village: Option<String>,
    /// A key task of the plan in force: routes the item to its lead unit.
    pub task_no: Option<u32>,
    /// The unit chosen by hand (overrides the task's lead unit).
    pub unit: Option<String>,
    /// 责任人 (a post); default: the unit's responsible post in the plan's task.
    pub owner: Option<String>,
    /// 整改措施.
    pub measure: String,
    pub deadline: Option<NaiveDate>,
}

/// A finding with its work item as the findings page and the ledger show it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FindingRow {
    pub id: FindingId,
    pub inspection_id: InspectionId,
    pub inspection: String,
    pub description: String,
    pub category: String,
    pub severity: Severity,
    pub household_no: Option<String>,
    pub township: Option<String>,
    pub village: Option<String>,
    pub task_no: Option<u32>,
    pub measure: String,
    pub owner: String,
    pub work_item: WorkItemId,
    pub unit: String,
    pub deadline: Option<NaiveDate>,
    pub state: WorkState,
    pub progress: u8,
    /// The latest progress report or step note.
    pub latest_note: Option<String>,
    /// When it was closed (销号), the time of the close step.
    pub closed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// The store's inspections: samples, results, estimates and findings: `store.inspections()`.
#[derive(Clone, Copy, Debug)]
pub struct Inspections<'s>(pub(crate) &'s Store);

impl Inspections<'_> {
    /// Record an inspection: headquarters or an inspector. Audited (`create_inspection`).
    pub async fn create_inspection(
        self,
        by: &User,
        new: &NewInspection,
    ) -> Result<Result<Inspection, Refusal>> {
        if let Some(r) = refused_to(&by.role) {
            return Ok(Err(r));
        }
        let (name, team) = (new.name.trim(), new.team.trim());
        if name.is_empty() || team.is_empty() {
            return Ok(Err(wrong("考核评估要写明名称和考核组")));
        }
        if new.ends_on.is_some_and(|e| e < new.starts_on) {
            return Ok(Err(wrong("结束日期早于开始日期")));
        }
        let at = now();
        let id =
            on_pool!(self.0, pool => records::create(pool, new, (name, team), at, by.id).await)?;
        Ok(Ok(self.inspection(id).await?.ok_or_else(|| {
            StoreError::corrupt("刚录入的考核评估找不到了")
        })?))
    }

    /// Every inspection, newest first (every role reads the list; what lies in an area
    /// is scoped where it is read).
    pub async fn all(self) -> Result<Vec<Inspection>> {
        on_pool!(self.0, pool => records::all(pool).await)
    }

    pub async fn inspection(self, id: InspectionId) -> Result<Option<Inspection>> {
        on_pool!(self.0, pool => records::by_id(pool, id).await)
    }

    /// The sampling frame of a register version and the county's totals: villages
    /// (areas) and their registered households in register order; "able" = some member
    /// able to work; `wrong_exit` = exited and not assessed `stable`. The non-registered
    /// households of each village come from `rural` (unknown where not given).
    pub async fn sampling_frame(
        self,
        version: VersionId,
        rural: &[RuralVillage],
    ) -> Result<std::result::Result<(Frame, CountyTotals), Vec<String>>> {
        let (mut frame, totals) = on_pool!(self.0, pool => samples::frame(pool, version).await)?;
        let mut problems = Vec::new();
        for rv in rural {
            let Some(fv) = frame
                .villages
                .iter_mut()
                .find(|v| v.township == rv.township && v.village == rv.village)
            else {
                problems.push(format!(
                    "{}{}不在登记表的村中：请更正乡镇/行政村名称",
                    rv.township, rv.village
                ));
                continue;
            };
            fv.non_registered = match (&rv.total, &rv.list) {
                (Some(total), None) => {
                    let registered = fv.registered.len() as u32;
                    if *total < registered {
                        problems.push(format!(
                            "{}{}的农村总户数 {total} 少于登记表中该村的建档立卡户 {registered} 户：农村总户数应包含建档立卡户",
                            rv.township, rv.village
                        ));
                    }
                    NonRegistered::Count(total.saturating_sub(registered))
                }
                (None, Some(list)) => {
                    for id in list {
                        if fv.registered.iter().any(|h| h.id == *id) {
                            problems.push(format!(
                                "户编号 {id} 是{}{}的建档立卡户，不应列为非建档立卡户",
                                rv.township, rv.village
                            ));
                        }
                    }
                    NonRegistered::List(list.clone())
                }
                _ => {
                    problems.push(format!(
                        "{}{}：应给出农村总户数或非建档立卡户名单之一",
                        rv.township, rv.village
                    ));
                    NonRegistered::Unknown
                }
            };
        }
        Ok(if problems.is_empty() {
            Ok((frame, totals))
        } else {
            Err(problems)
        })
    }

    /// Draw the inspection's sample over the current register version with the plan
    /// (its seed included) and record it: the version, plan, seed, non-registered
    /// households given, totals and every sampled household. One draw per inspection: a
    /// recorded sample is what the field teams carry and is not replaced. Headquarters or
    /// an inspector; audited (`draw_sample`, with the plan, seed and counts).
    pub async fn draw_sample(
        self,
        by: &User,
        id: InspectionId,
        plan: &SamplingPlan,
        rural: &[RuralVillage],
    ) -> Result<Result<StoredSample, Refusal>> {
        if let Some(r) = refused_to(&by.role) {
            return Ok(Err(r));
        }
        if self.inspection(id).await?.is_none() {
            return Ok(Err(wrong(format!("考核评估 {id} 不存在"))));
        }
        let Some(version) = self.0.register().current_version().await? else {
            return Ok(Err(conflict("还没有导入登记表，无法抽样")));
        };
        let (frame, totals) = match self.sampling_frame(version.id, rural).await? {
            Ok(f) => f,
            Err(problems) => return Ok(Err(wrong(problems.join("；")))),
        };
        let sample = match draw(&frame, plan, fupin_domain::sampling::Scope::All) {
            Ok(s) => s,
            Err(e) => return Ok(Err(wrong(e.to_string()))),
        };
        let d = || samples::Draw {
            id,
            version: version.id,
            plan,
            rural,
            rural_villages: rural.len(),
            totals: &totals,
            sample: &sample,
            at: now(),
            by: by.id,
        };
        if !on_pool!(self.0, pool => samples::record(pool, d()).await)? {
            return Ok(Err(conflict("该考核评估已抽样：样本已记录，不能重抽")));
        }
        Ok(Ok(self.sample(id).await?.ok_or_else(|| {
            StoreError::corrupt("刚记录的样本找不到了")
        })?))
    }

    /// The recorded draw of an inspection.
    pub async fn sample(self, id: InspectionId) -> Result<Option<StoredSample>> {
        let row = on_pool!(self.0, pool => samples::stored(pool, id).await)?;
        let Some((version_id, plan, rural, totals, sample, drawn_at, drawn_by)) = row else {
            return Ok(None);
        };
        let parse = |what: &str, e: serde_json::Error| StoreError::corrupt(format!("{what}：{e}"));
        Ok(Some(StoredSample {
            inspection_id: id,
            version_id,
            plan: serde_json::from_str(&plan).map_err(|e| parse("抽样方案", e))?,
            rural: serde_json::from_str(&rural).map_err(|e| parse("农村户数", e))?,
            totals: serde_json::from_str(&totals).map_err(|e| parse("全县总数", e))?,
            sample: serde_json::from_str(&sample).map_err(|e| parse("样本", e))?,
            drawn_at,
            drawn_by,
        }))
    }

    /// Draw the recorded plan again over the recorded version and villages: anyone may
    /// check that it gives the recorded sample.
    pub async fn redraw_sample(
        self,
        id: InspectionId,
    ) -> Result<Option<std::result::Result<Sample, SamplingError>>> {
        let Some(s) = self.sample(id).await? else {
            return Ok(None);
        };
        let frame = match self.sampling_frame(s.version_id, &s.rural).await? {
            Ok((f, _)) => f,
            Err(p) => return Err(StoreError::corrupt(p.join("；"))),
        };
        Ok(Some(draw(
            &frame,
            &s.plan,
            fupin_domain::sampling::Scope::All,
        )))
    }

    /// The sampled households the scope may read, by 样本编号, with their results.
    pub async fn sample_rows(self, scope: &Scope, id: InspectionId) -> Result<Vec<SampleRow>> {
        let Some(s) = self.sample(id).await? else {
            return Ok(Vec::new());
        };
        let visible = on_pool!(self.0, pool => samples::visible(pool, scope, id).await)?;
        let mut results = self.results(id).await?;
        let by_no: HashMap<u32, &SampledHousehold> =
            s.sample.households.iter().map(|h| (h.no, h)).collect();
        let mut out = Vec::with_capacity(visible.len());
        for no in visible {
            let Some(h) = by_no.get(&(no as u32)) else {
                return Err(StoreError::corrupt(format!("样本 {no} 不在记录的样本中")));
            };
            let v = &s.sample.villages[h.village as usize];
            out.push(SampleRow {
                household: (*h).clone(),
                township: v.township.clone(),
                village: v.village.clone(),
                poor_village: v.poor,
                result: results.remove(&h.no),
            });
        }
        Ok(out)
    }

    /// Every recorded result of an inspection, by 样本编号.
    async fn results(self, id: InspectionId) -> Result<HashMap<u32, Verification>> {
        on_pool!(self.0, pool => results::by_no(pool, id).await)
    }

    /// Record (or correct) verification results, all or nothing: each must be a sampled
    /// household's and carry what its group needs. Headquarters or an inspector. One
    /// audit row (`record_verification`) with every result written and those it replaced.
    /// Returns how many were written.
    pub async fn record_results(
        self,
        by: &User,
        id: InspectionId,
        results: &[Verification],
    ) -> Result<Result<usize, Refusal>> {
        if let Some(r) = refused_to(&by.role) {
            return Ok(Err(r));
        }
        let Some(s) = self.sample(id).await? else {
            return Ok(Err(conflict("该考核评估还没有抽样")));
        };
        let by_no: HashMap<u32, &SampledHousehold> =
            s.sample.households.iter().map(|h| (h.no, h)).collect();
        let mut problems = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for v in results {
            match by_no.get(&v.no) {
                None => problems.push(format!("样本编号 {} 不在本次样本中", v.no)),
                Some(h) => {
                    if let Err(p) = results::check_result(h, v) {
                        problems.push(p);
                    }
                }
            }
            if !seen.insert(v.no) {
                problems.push(format!("样本编号 {} 重复", v.no));
            }
        }
        if results.is_empty() {
            problems.push("没有核验结果".into());
        }
        if !problems.is_empty() {
            return Ok(Err(wrong(problems.join("；"))));
        }
        let before = self.results(id).await?;
        let replaced: Vec<&Verification> =
            results.iter().filter_map(|v| before.get(&v.no)).collect();
        let at = now();
        on_pool!(self.0, pool => results::record(pool, id, results, &replaced, at, by.id).await)?;
        Ok(Ok(results.len()))
    }

    /// The four indicators of an inspection, once every sampled household has its result.
    pub async fn inspection_estimates(
        self,
        id: InspectionId,
        region: Region,
    ) -> Result<Option<EstimateState>> {
        let Some(s) = self.sample(id).await? else {
            return Ok(None);
        };
        let results: Vec<Verification> = self.results(id).await?.into_values().collect();
        let sampled = s.sample.households.len();
        let estimates =
            (results.len() == sampled).then(|| estimate(&s.sample, &results, &s.totals, region));
        Ok(Some(EstimateState {
            sampled,
            verified: results.len(),
            estimates,
        }))
    }

    /// The forecast of the inspectors' 错退率 from the current register: `runs` draws of
    /// the plan over registered households (`fupin_domain::forecast`). None: no register.
    pub async fn register_forecast(
        self,
        plan: &SamplingPlan,
        runs: u32,
    ) -> Result<Option<std::result::Result<Forecast, SamplingError>>> {
        let Some(version) = self.0.register().current_version().await? else {
            return Ok(None);
        };
        let frame = match self.sampling_frame(version.id, &[]).await? {
            Ok((f, _)) => f,
            Err(p) => return Err(StoreError::corrupt(p.join("；"))),
        };
        Ok(Some(forecast(&frame, plan, runs, 200)))
    }

    /// Record a finding and assign its work item in one transaction: to the unit chosen
    /// by hand, or else the lead unit of the linked key task of the plan in force; with
    /// the household's place, or the village given. The item enters the loop like a gap's
    /// (待办, one `assign` event). Headquarters or an inspector. Audited twice, as every
    /// assignment is: `create_finding` and `create_work_item`.
    pub async fn create_finding(
        self,
        by: &User,
        inspection_id: InspectionId,
        new: &NewFinding,
    ) -> Result<Result<FindingRow, Refusal>> {
        if let Some(r) = refused_to(&by.role) {
            return Ok(Err(r));
        }
        let Some(insp) = self.inspection(inspection_id).await? else {
            return Ok(Err(wrong(format!("考核评估 {inspection_id} 不存在"))));
        };
        let description = new.description.trim();
        let measure = new.measure.trim();
        if description.is_empty() || measure.is_empty() {
            return Ok(Err(wrong("问题要写明问题描述和整改措施")));
        }
        let category = new.category.trim();
        if !FINDING_CATEGORIES.contains(&category) {
            return Ok(Err(wrong(format!(
                "问题类别「{category}」不对：应为 {}",
                FINDING_CATEGORIES.join("、")
            ))));
        }
        let Some(severity) = new.severity else {
            return Ok(Err(wrong("请选择严重程度：一般、较重或严重")));
        };
        let name = |o: &Option<String>| {
            o.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let household_no = name(&new.household_no);
        let (mut township, mut village) = (name(&new.township), name(&new.village));
        let version = self.0.register().current_version().await?;
        if let Some(no) = &household_no {
            let scope = Scope::County;
            let place = match &version {
                Some(_) => self
                    .0
                    .register()
                    .household(&scope, no)
                    .await?
                    .map(|h| (h.row.township.clone(), h.row.village.clone())),
                None => None,
            };
            let Some((t, v)) = place else {
                return Ok(Err(wrong(format!("现行登记表中没有户编号 {no}"))));
            };
            township = Some(t);
            village = Some(v);
        } else if let (Some(t), Some(v)) = (&township, &village) {
            let known = match &version {
                Some(ver) => {
                    on_pool!(self.0, pool => findings::area_known(pool, ver.id, t, v).await)?
                }
                None => false,
            };
            if !known {
                return Ok(Err(wrong(format!("现行登记表中没有{t}{v}"))));
            }
        } else if township.is_some() || village.is_some() {
            return Ok(Err(wrong("关联的村要同时写明乡镇和行政村")));
        }
        let plan = match version.as_ref().map(|v| v.year) {
            Some(y) => match self.0.plan().current_plan(Some(y)).await? {
                Some(p) => Some(p),
                None => self.0.plan().current_plan(None).await?,
            },
            None => self.0.plan().current_plan(None).await?,
        };
        let task = match new.task_no {
            Some(no) => match plan.as_ref().and_then(|p| p.plan.task(no)) {
                Some(t) => Some(t.clone()),
                None => return Ok(Err(wrong(format!("现行方案中没有第 {no} 项重点工作")))),
            },
            None => None,
        };
        let Some(unit) = name(&new.unit).or_else(|| task.as_ref().map(|t| t.lead_unit.clone()))
        else {
            return Ok(Err(wrong(
                "请关联一项重点工作（交其牵头单位）或选择承办单位",
            )));
        };
        let owner = name(&new.owner)
            .or_else(|| {
                task.as_ref().and_then(|t| {
                    t.units
                        .iter()
                        .find(|u| u.unit == unit)
                        .map(|u| u.owner.clone())
                })
            })
            .unwrap_or_else(|| format!("{unit}主要负责人"));
        let plan_id = task.as_ref().and(plan.as_ref()).map(|p| p.revision.id);
        let short: String = description.chars().take(40).collect();
        let title = format!("【{}】{short}", insp.level.chinese());
        let place = [
            township.clone(),
            village.clone(),
            household_no.as_ref().map(|h| format!("户编号 {h}")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        let detail = format!(
            "{}（{}，{}）发现：{description}{}\n整改措施：{measure}",
            insp.name,
            category,
            severity.chinese(),
            if place.is_empty() {
                String::new()
            } else {
                format!("（{place}）")
            }
        );
        let at = now();
        let insert = || findings::Insert {
            inspection_id,
            description,
            category,
            severity,
            household_no: household_no.as_deref(),
            township: township.as_deref(),
            village: village.as_deref(),
            plan_id,
            task_no: new.task_no,
            measure,
            owner: &owner,
            title: &title,
            detail: &detail,
            unit: &unit,
            deadline: new.deadline,
            at,
            by: by.id,
        };
        let id = on_pool!(self.0, pool => findings::create(pool, insert()).await)?;
        Ok(Ok(self.finding(&ItemScope::All, id).await?.ok_or_else(
            || StoreError::corrupt("刚录入的问题找不到了"),
        )?))
    }

    /// Findings the scope may read (through their work items: unit staff their unit's,
    /// area staff their area's), of one inspection or all, in the order recorded.
    pub async fn findings(
        self,
        scope: &ItemScope,
        inspection: Option<InspectionId>,
    ) -> Result<Vec<FindingRow>> {
        on_pool!(self.0, pool => findings::list(pool, scope, inspection).await)
    }

    /// A finding the scope may read.
    /// The finding a work item was made for, if any and if the scope may read it (the
    /// item page links back to it).
    pub async fn finding_of_item(
        self,
        scope: &ItemScope,
        item: WorkItemId,
    ) -> Result<Option<FindingRow>> {
        self.finding_where("f.work_item_id", scope, item.get())
            .await
    }

    pub async fn finding(self, scope: &ItemScope, id: FindingId) -> Result<Option<FindingRow>> {
        self.finding_where("f.id", scope, id.get()).await
    }

    /// One finding by `column = id`, in the scope.
    async fn finding_where(
        self,
        column: &str,
        scope: &ItemScope,
        id: i64,
    ) -> Result<Option<FindingRow>> {
        on_pool!(self.0, pool => findings::one_where(pool, column, scope, id).await)
    }
}
