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

use crate::auth::{PageUser, Viewer};
use crate::csrf::{CsrfForm, CsrfMultipart, Part};
use crate::error::{Error, PageError};
use crate::upload::Saved;
use crate::view::{self, Layout};
use crate::xlsx::download;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use fupin_domain::access::{may, Action};
use fupin_domain::estimates::{percent, Approval, Estimates, IndicatorEstimate, Verification};
use fupin_domain::forecast::Forecast;
use fupin_domain::sampling::{Allocation, Group, SamplingPlan};
use fupin_domain::work_item::{Refusal, WorkState};
use fupin_io::inspection::{RuralEntry, RESULT_COLUMNS};
use fupin_store::{
    may_record, FindingRow, Inspection, InspectionLevel, ItemScope, NewFinding, NewInspection,
    RuralVillage, SampleRow, Severity, StoredSample, FINDING_CATEGORIES,
};
use rust_xlsxwriter::{Format, Workbook, XlsxError};
use serde::Deserialize;

// ---------------------------------------------------------------------------------------
// Shared with the API.

/// A refusal of the rules as the answer's error (403, 409 or 422).
pub fn refusal(r: Refusal) -> Error {
    r.into()
}

pub async fn inspection_of(state: &AppState, id: i64) -> Result<Inspection, Error> {
    state
        .store
        .inspections()
        .inspection(id)
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

// ---------------------------------------------------------------------------------------
// The sample list and the ledger as XLSX.

pub const LIST_COLUMNS: [&str; 10] = [
    "样本编号",
    "乡镇",
    "行政村",
    "村类型",
    "抽样类别",
    "抽取位置",
    "户编号",
    "家庭人口",
    "脱贫属性",
    "设计权数",
];

/// The sample list's cells for one sampled household (the same as `fupin sample`).
pub fn list_cells(r: &SampleRow) -> [String; 9] {
    let h = &r.household;
    let place = match h.group {
        Group::NonRegistered if h.household_id.is_some() => {
            format!("非建档立卡户名单中本村第{}户", h.position)
        }
        Group::NonRegistered => format!("村农户花名册中非建档立卡户第{}户", h.position),
        g => format!("登记表中本村{}第{}户", g.chinese(), h.position),
    };
    let status = if !h.group.is_registered() {
        ""
    } else if h.exited {
        "已脱贫"
    } else {
        "未脱贫"
    };
    [
        h.no.to_string(),
        r.township.clone(),
        r.village.clone(),
        if r.poor_village {
            "贫困村"
        } else {
            "非贫困村"
        }
        .into(),
        h.group.chinese().into(),
        place,
        h.household_id.clone().unwrap_or_default(),
        h.people.map_or(String::new(), |p| p.to_string()),
        status.into(),
    ]
}

/// 样本清单 (yellow result columns with 是/否 and 是/否/不清楚 drop-downs, 户编号 as text)
/// and 抽样说明 (plan, seed, version): what `fupin estimate` and the upload read back.
pub fn sample_workbook(
    insp: &Inspection,
    s: &StoredSample,
    rows: &[SampleRow],
) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let fill = Format::new().set_bold().set_background_color("FFF2CC");
    let ws = wb.add_worksheet();
    ws.set_name("样本清单")?;
    let n_list = LIST_COLUMNS.len() as u16;
    for (c, h) in LIST_COLUMNS.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    for (i, (h, _)) in RESULT_COLUMNS.iter().enumerate() {
        ws.write_string_with_format(0, n_list + i as u16, *h, &fill)?;
    }
    for (i, r) in rows.iter().enumerate() {
        let row = i as u32 + 1;
        let cells = list_cells(r);
        ws.write_number(row, 0, f64::from(r.household.no))?;
        for (c, cell) in cells.iter().enumerate().skip(1) {
            if c == 7 {
                if let Some(p) = r.household.people {
                    ws.write_number(row, 7, f64::from(p))?;
                }
                continue;
            }
            crate::xlsx::put(ws, row, c as u16, cell)?;
        }
        ws.write_number(row, 9, r.household.weight)?;
    }
    fupin_io::inspection::shape_sample_sheet(ws, n_list, rows.len())?;
    let about = wb.add_worksheet();
    about.set_name("抽样说明")?;
    let lines = [
        ("考核评估", format!("{}（{}）", insp.name, insp.level.chinese())),
        ("考核组", insp.team.clone()),
        ("登记表版本", format!("第 {} 版", s.version_id)),
        ("随机种子", s.plan.seed.to_string()),
        ("随机数算法", "SplitMix64（见 docs/inspections.md）".into()),
        ("抽样方案", plan_text(&s.plan)),
        (
            "抽取结果",
            format!(
                "{} 个村、{} 户（全县 {} 个乡镇）",
                s.sample.villages.len(),
                s.sample.households.len(),
                s.sample.townships_in_county
            ),
        ),
        ("抽样时间", view::time(s.drawn_at)),
        (
            "填写说明",
            "黄色列由核查组填写：建档立卡户填 收入稳定超过标准 至 住房安全有保障（是/否，饮水安全可空）；非建档立卡户填 家庭人口 与 是否漏评；每户都填 是否认可（是/否/不清楚）".into(),
        ),
    ];
    for (i, (k, v)) in lines.iter().enumerate() {
        about.write_string_with_format(i as u32, 0, *k, &bold)?;
        crate::xlsx::put(about, i as u32, 1, v)?;
    }
    about.set_column_width(0, 14)?;
    about.set_column_width(1, 80)?;
    wb.save_to_buffer()
}

pub fn plan_text(p: &SamplingPlan) -> String {
    let households = match p.households {
        Allocation::Fixed {
            registered,
            non_registered,
        } => format!("每村建档立卡户 {registered} 户（等间隔）、非建档立卡户 {non_registered} 户（随机）"),
        Allocation::Ratio {
            per_village,
            able,
            non_registered,
            unable,
        } => format!("每村 {per_village} 户，有劳动能力建档立卡户:非建档立卡户:无劳动能力建档立卡户 = {able}:{non_registered}:{unable}"),
    };
    format!(
        "乡镇 {}；每乡镇贫困村 {}、非贫困村 {}；{households}；建档立卡户至少 {}%{}",
        if p.townships == 0 {
            "全部".to_string()
        } else {
            format!("{} 个", p.townships)
        },
        p.poor_villages_per_township,
        p.other_villages_per_township,
        percent(f64::from(p.min_registered_share_bp) / 10_000.0),
        if p.take_all_when_short {
            "；不足时全取"
        } else {
            ""
        }
    )
}

/// 整改台账 columns, in the usual layout.
pub const LEDGER_HEADER: [&str; 8] = [
    "序号",
    "问题",
    "整改措施",
    "责任单位",
    "责任人",
    "完成时限",
    "整改进展",
    "销号情况",
];

/// The ledger's rows: the findings page shows exactly these.
pub fn ledger_rows(findings: &[FindingRow]) -> Vec<[String; 8]> {
    findings
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let place = [
                f.township.clone(),
                f.village.clone(),
                f.household_no.as_ref().map(|h| format!("户编号 {h}")),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
            let problem = format!(
                "〔{}·{}〕{}{}",
                f.category,
                f.severity.chinese(),
                f.description,
                if place.is_empty() {
                    String::new()
                } else {
                    format!("（{place}）")
                }
            );
            let progress = format!(
                "{}，进度 {}%{}",
                f.state.chinese(),
                f.progress,
                f.latest_note
                    .as_ref()
                    .map(|n| format!("：{n}"))
                    .unwrap_or_default()
            );
            let closed = match (f.state, f.closed_at) {
                (WorkState::Closed, Some(t)) => format!("已销号（{}）", &view::time(t)[..10]),
                (WorkState::Closed, None) => "已销号".into(),
                _ => "未销号".into(),
            };
            [
                (i + 1).to_string(),
                problem,
                f.measure.clone(),
                f.unit.clone(),
                f.owner.clone(),
                f.deadline.map_or_else(|| "—".into(), |d| d.to_string()),
                progress,
                closed,
            ]
        })
        .collect()
}

pub fn ledger_workbook(title: &str, rows: &[[String; 8]]) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let wrap = Format::new().set_text_wrap();
    let ws = wb.add_worksheet();
    ws.set_name("整改台账")?;
    ws.merge_range(0, 0, 0, 7, &crate::xlsx::cell_text(title), &bold)?;
    for (c, h) in LEDGER_HEADER.iter().enumerate() {
        ws.write_string_with_format(1, c as u16, *h, &bold)?;
    }
    for (i, r) in rows.iter().enumerate() {
        let row = i as u32 + 2;
        ws.write_number(row, 0, (i + 1) as f64)?;
        for (c, cell) in r.iter().enumerate().skip(1) {
            crate::xlsx::put_with_format(ws, row, c as u16, cell, &wrap)?;
        }
    }
    for (c, w) in [6, 50, 36, 16, 18, 12, 40, 18].iter().enumerate() {
        ws.set_column_width(c as u16, *w)?;
    }
    ws.set_freeze_panes(2, 0)?;
    wb.save_to_buffer()
}

// ---------------------------------------------------------------------------------------
// Pages.

pub struct InspectionLine {
    pub id: i64,
    pub name: String,
    pub level: &'static str,
    pub dates: String,
    pub team: String,
    pub sampled: u64,
    pub verified: u64,
    pub findings: u64,
}

fn dates(i: &Inspection) -> String {
    match i.ends_on {
        Some(e) => format!("{} 至 {e}", i.starts_on),
        None => i.starts_on.to_string(),
    }
}

impl InspectionLine {
    fn of(i: &Inspection) -> InspectionLine {
        InspectionLine {
            id: i.id,
            name: i.name.clone(),
            level: i.level.chinese(),
            dates: dates(i),
            team: i.team.clone(),
            sampled: i.sampled,
            verified: i.verified,
            findings: i.findings,
        }
    }
}

#[derive(Template)]
#[template(path = "inspections.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<InspectionLine>,
    can_record: bool,
    levels: Vec<(&'static str, &'static str)>,
    county: bool,
}

/// GET /inspections — every inspection; the form for a new one.
pub async fn list_page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
) -> Result<Html<String>, PageError> {
    let rows = state
        .store
        .inspections()
        .all()
        .await?
        .iter()
        .map(InspectionLine::of)
        .collect();
    let page = ListPage {
        layout: Layout::of(&v, "考核评估", "inspections"),
        rows,
        can_record: may_record(&v.user().role),
        levels: InspectionLevel::ALL
            .iter()
            .map(|l| (l.word(), l.chinese()))
            .collect(),
        county: v.scope.is_county(),
    };
    Ok(Html(page.render().map_err(Error::from)?))
}

#[derive(Deserialize)]
pub struct NewInspectionForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub level: String,
    #[serde(default)]
    pub starts_on: String,
    #[serde(default)]
    pub ends_on: String,
    #[serde(default)]
    pub team: String,
}

pub async fn create(
    state: &AppState,
    v: &Viewer,
    f: &NewInspectionForm,
) -> Result<Inspection, Error> {
    let level = InspectionLevel::parse(&f.level).ok_or_else(|| {
        Error::BadRequest(format!(
            "考核类别「{}」不对：应为 省际交叉考核、第三方评估 或 县级自查",
            f.level
        ))
    })?;
    let starts_on = parse_date(&f.starts_on, "开始日期")?
        .ok_or_else(|| Error::BadRequest("请填写开始日期".into()))?;
    let new = NewInspection {
        name: f.name.clone(),
        level,
        starts_on,
        ends_on: parse_date(&f.ends_on, "结束日期")?,
        team: f.team.clone(),
    };
    state
        .store
        .inspections()
        .create_inspection(v.user(), &new)
        .await?
        .map_err(refusal)
}

/// POST /inspections — record an inspection (headquarters, inspectors).
pub async fn create_page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    CsrfForm(f): CsrfForm<NewInspectionForm>,
) -> Result<Response, PageError> {
    let i = create(&state, &v, &f).await?;
    Ok(Redirect::to(&format!("/inspections/{}", i.id)).into_response())
}

pub struct SampleLine {
    pub no: u32,
    pub cells: [String; 9],
    pub weight: String,
    pub result: String,
    pub has_result: bool,
}

fn result_text(r: &Option<Verification>) -> String {
    let Some(v) = r else {
        return "未录入".into();
    };
    let mut parts = Vec::new();
    if !v.checks.is_empty() {
        parts.push(if v.all_verified() {
            "核验全部通过".to_string()
        } else {
            let names = ["收入", "吃", "穿", "教育", "医疗", "住房", "饮水"];
            format!(
                "未通过：{}",
                v.checks
                    .iter()
                    .zip(names)
                    .filter(|(c, _)| !**c)
                    .map(|(_, n)| n)
                    .collect::<Vec<_>>()
                    .join("、")
            )
        });
    }
    if let Some(m) = v.missed {
        parts.push(format!(
            "{}，{} 人",
            if m { "漏评" } else { "非漏评" },
            v.people.unwrap_or(0)
        ));
    }
    parts.push(format!("认可：{}", v.approval.chinese()));
    parts.join("；")
}

#[derive(Template)]
#[template(path = "inspection.html")]
struct DetailPage {
    layout: Layout,
    i: InspectionLine,
    can_record: bool,
    county: bool,
    drawn: Option<DrawnHead>,
    rows: Vec<SampleLine>,
    guangdong: String,
}

pub struct DrawnHead {
    pub seed: String,
    pub plan: String,
    pub version: i64,
    pub villages: usize,
    pub households: usize,
    pub drawn: String,
    pub rural: usize,
}

/// GET /inspections/{id} — the inspection, its draw (or the form to draw), the sampled
/// households in the reader's area with their results.
pub async fn detail_page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<i64>,
) -> Result<Html<String>, PageError> {
    let insp = inspection_of(&state, id).await?;
    let sample = state.store.inspections().sample(id).await?;
    let rows = state.store.inspections().sample_rows(&v.scope, id).await?;
    let page = DetailPage {
        layout: Layout::of(&v, insp.name.clone(), "inspections"),
        i: InspectionLine::of(&insp),
        can_record: may_record(&v.user().role),
        county: v.scope.is_county(),
        drawn: sample.as_ref().map(|s| DrawnHead {
            seed: s.plan.seed.to_string(),
            plan: plan_text(&s.plan),
            version: s.version_id,
            villages: s.sample.villages.len(),
            households: s.sample.households.len(),
            drawn: format!(
                "{}{}",
                s.drawn_by.clone().map(|u| u + " 于 ").unwrap_or_default(),
                view::time(s.drawn_at)
            ),
            rural: s.rural.len(),
        }),
        rows: rows
            .iter()
            .map(|r| SampleLine {
                no: r.household.no,
                cells: list_cells(r),
                weight: format!("{:.4}", r.household.weight),
                result: result_text(&r.result),
                has_result: r.result.is_some(),
            })
            .collect(),
        guangdong: plan_text(&SamplingPlan::guangdong_2018(0)),
    };
    Ok(Html(page.render().map_err(Error::from)?))
}

/// A multipart form: text fields and at most one file, saved to disk as it arrived.
#[derive(Default)]
pub struct Upload {
    pub fields: std::collections::HashMap<String, String>,
    pub file: Option<Saved>,
}

/// Policy: a form of this area has at most 64 text fields (its forms have about a dozen).
const MAX_FIELDS: usize = 64;

impl Upload {
    pub fn get(&self, k: &str) -> String {
        self.fields.get(k).cloned().unwrap_or_default()
    }
}

pub async fn read_upload(
    state: &AppState,
    mut mp: CsrfMultipart,
    file_field: &str,
) -> Result<Upload, Error> {
    let mut up = Upload::default();
    while let Some(part) = mp.next_field().await? {
        let Part::Field(field) = part else {
            continue;
        };
        let name = field.name().unwrap_or_default().to_string();
        if name == file_field {
            let max = crate::upload::file_limit(state, fupin_io::limits::FileKind::Inspection);
            up.file =
                Some(crate::upload::save(state, field, "upload.xlsx", max, "上传的文件").await?);
        } else {
            if up.fields.len() >= MAX_FIELDS {
                return Err(Error::BadRequest(format!(
                    "表单项过多（超过 {MAX_FIELDS} 项）"
                )));
            }
            let text = crate::upload::field_text(field).await?;
            up.fields.insert(name, text.trim().to_string());
        }
    }
    Ok(up)
}

/// POST /inspections/{id}/sample — draw and record (multipart: the plan's fields and the
/// rural households file).
pub async fn draw_page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<i64>,
    mp: CsrfMultipart,
) -> Result<Response, PageError> {
    let up = read_upload(&state, mp, "rural").await?;
    may(v.user().role.actor(None), Action::RecordInspection)?;
    let fields = PlanFields {
        seed: up.get("seed"),
        townships: up.get("townships"),
        poor_villages: up.get("poor_villages"),
        other_villages: up.get("other_villages"),
        allocation: up.get("allocation"),
        per_village: up.get("per_village"),
        registered: up.get("registered"),
        non_registered: up.get("non_registered"),
        min_share: up.get("min_share"),
        take_all: up.fields.get("take_all").cloned(),
    };
    let plan = fields.plan()?;
    let rural = rural_of(up.file.as_ref(), &state.config.limits.inspection)?;
    state
        .store
        .inspections()
        .draw_sample(v.user(), id, &plan, &rural)
        .await?
        .map_err(refusal)?;
    Ok(Redirect::to(&format!("/inspections/{id}")).into_response())
}

/// GET /inspections/{id}/sample.xlsx — the sample list of the reader's area.
pub async fn sample_xlsx(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let insp = inspection_of(&state, id).await?;
    let s = state
        .store
        .inspections()
        .sample(id)
        .await?
        .ok_or(Error::NotFound)?;
    let rows = state.store.inspections().sample_rows(&v.scope, id).await?;
    let bytes = sample_workbook(&insp, &s, &rows).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(download(bytes, &format!("样本清单-{id}.xlsx")))
}

/// POST /inspections/{id}/results — the filled sample list, all or nothing.
pub async fn results_upload(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<i64>,
    mp: CsrfMultipart,
) -> Result<Response, PageError> {
    let up = read_upload(&state, mp, "results").await?;
    may(v.user().role.actor(None), Action::RecordInspection)?;
    let s = state
        .store
        .inspections()
        .sample(id)
        .await?
        .ok_or(Error::NotFound)?;
    let results = results_of(up.file.as_ref(), &s, &state.config.limits.inspection)?;
    state
        .store
        .inspections()
        .record_results(v.user(), id, &results)
        .await?
        .map_err(refusal)?;
    Ok(Redirect::to(&format!("/inspections/{id}/estimates")).into_response())
}

#[derive(Template)]
#[template(path = "inspection_result.html")]
struct ResultPage {
    layout: Layout,
    id: i64,
    name: String,
    cells: [String; 9],
    registered: bool,
    /// (field, label, current: "是"/"否"/"")
    checks: Vec<(&'static str, &'static str, &'static str)>,
    missed: &'static str,
    people: String,
    approval: &'static str,
    can_record: bool,
}

const CHECK_FIELDS: [(&str, &str); 7] = [
    ("income", "收入稳定超过标准"),
    ("food", "不愁吃"),
    ("clothing", "不愁穿"),
    ("education", "义务教育有保障"),
    ("medical", "基本医疗有保障"),
    ("housing", "住房安全有保障"),
    ("water", "饮水安全有保障"),
];

fn yes_no(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "是",
        Some(false) => "否",
        None => "",
    }
}

async fn sample_row(state: &AppState, v: &Viewer, id: i64, no: u32) -> Result<SampleRow, Error> {
    state
        .store
        .inspections()
        .sample_rows(&v.scope, id)
        .await?
        .into_iter()
        .find(|r| r.household.no == no)
        .ok_or(Error::NotFound)
}

/// GET /inspections/{id}/results/{no} — one household's result form.
pub async fn result_page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path((id, no)): Path<(i64, u32)>,
) -> Result<Html<String>, PageError> {
    let insp = inspection_of(&state, id).await?;
    let r = sample_row(&state, &v, id, no).await?;
    let res = r.result.clone();
    let page = ResultPage {
        layout: Layout::of(&v, format!("样本 {no} 核验结果"), "inspections"),
        id,
        name: insp.name,
        cells: list_cells(&r),
        registered: r.household.group.is_registered(),
        checks: CHECK_FIELDS
            .iter()
            .enumerate()
            .map(|(i, (f, l))| {
                (
                    *f,
                    *l,
                    yes_no(res.as_ref().and_then(|v| v.checks.get(i).copied())),
                )
            })
            .collect(),
        missed: yes_no(res.as_ref().and_then(|v| v.missed)),
        people: res
            .as_ref()
            .and_then(|v| v.people)
            .map(|p| p.to_string())
            .unwrap_or_default(),
        approval: res.as_ref().map_or("", |v| v.approval.chinese()),
        can_record: may_record(&v.user().role),
    };
    Ok(Html(page.render().map_err(Error::from)?))
}

#[derive(Deserialize, Default)]
pub struct ResultForm {
    #[serde(flatten)]
    pub values: std::collections::HashMap<String, String>,
}

/// A result from the form's 是/否 fields.
pub fn result_from_form(
    no: u32,
    registered: bool,
    values: &std::collections::HashMap<String, String>,
) -> Result<Verification, Error> {
    let get = |k: &str| values.get(k).map(|s| s.trim()).unwrap_or_default();
    let yn = |k: &str, label: &str, required: bool| -> Result<Option<bool>, Error> {
        match get(k) {
            "是" => Ok(Some(true)),
            "否" => Ok(Some(false)),
            "" if !required => Ok(None),
            other => Err(Error::BadRequest(format!(
                "{label}「{other}」：请选择 是 或 否"
            ))),
        }
    };
    let approval = Approval::parse(get("approval"))
        .ok_or_else(|| Error::BadRequest(format!("是否认可：请选择 {}", Approval::ACCEPTED)))?;
    let mut checks = Vec::new();
    let (mut missed, mut people) = (None, None);
    if registered {
        for (i, (f, l)) in CHECK_FIELDS.iter().enumerate() {
            if let Some(b) = yn(f, l, i < 6)? {
                checks.push(b);
            }
        }
    } else {
        missed = yn("missed", "是否漏评", true)?;
        let p = get("people");
        people = Some(
            p.parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| Error::BadRequest(format!("家庭人口「{p}」应为大于0的整数")))?,
        );
    }
    Ok(Verification {
        no,
        people,
        checks,
        missed,
        approval,
    })
}

/// POST /inspections/{id}/results/{no} — record one household's result.
pub async fn result_post(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path((id, no)): Path<(i64, u32)>,
    CsrfForm(f): CsrfForm<ResultForm>,
) -> Result<Response, PageError> {
    let r = sample_row(&state, &v, id, no).await?;
    let result = result_from_form(no, r.household.group.is_registered(), &f.values)?;
    state
        .store
        .inspections()
        .record_results(v.user(), id, &[result])
        .await?
        .map_err(refusal)?;
    Ok(Redirect::to(&format!("/inspections/{id}#s{no}")).into_response())
}

pub struct IndicatorLine {
    pub name: &'static str,
    pub estimate: String,
    pub ci: String,
    pub sample: String,
    pub threshold: String,
    pub verdict: &'static str,
    pub pass: bool,
    pub probability: String,
    pub reason: String,
}

pub fn indicator_lines(e: &Estimates) -> Vec<IndicatorLine> {
    e.indicators
        .iter()
        .map(|r| match r {
            Ok(i) => line(i),
            Err(n) => IndicatorLine {
                name: n.indicator.chinese(),
                estimate: "—".into(),
                ci: "—".into(),
                sample: "—".into(),
                threshold: "—".into(),
                verdict: "无法估计",
                pass: false,
                probability: "—".into(),
                reason: n.reason.clone(),
            },
        })
        .collect()
}

fn line(i: &IndicatorEstimate) -> IndicatorLine {
    IndicatorLine {
        name: i.indicator.chinese(),
        estimate: format!("{}%", percent(i.estimate)),
        ci: format!("{}% – {}%", percent(i.ci_low), percent(i.ci_high)),
        sample: format!(
            "{} / {}{}",
            view::count(i.found),
            view::count(i.base),
            i.sample_rate()
                .map(|r| format!("（{}%）", r.percent()))
                .unwrap_or_default()
        ),
        threshold: format!(
            "{} {}%",
            if i.below { "<" } else { ">" },
            percent(i.threshold_bp as f64 / 10_000.0)
        ),
        verdict: if i.pass { "达标" } else { "未达标" },
        pass: i.pass,
        probability: format!("{}%", percent(i.p_within)),
        reason: String::new(),
    }
}

#[derive(Template)]
#[template(path = "inspection_estimates.html")]
struct EstimatesPage {
    layout: Layout,
    id: i64,
    name: String,
    sampled: usize,
    verified: usize,
    lines: Vec<IndicatorLine>,
    villages: usize,
    all_pass: bool,
    estimated: bool,
    region: &'static str,
}

/// GET /inspections/{id}/estimates — the four indicators (county scope).
pub async fn estimates_page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<i64>,
) -> Result<Html<String>, PageError> {
    require_county(&v)?;
    let insp = inspection_of(&state, id).await?;
    let st = state
        .store
        .inspections()
        .inspection_estimates(id, state.config.region)
        .await?
        .ok_or(Error::NotFound)?;
    let page = EstimatesPage {
        layout: Layout::of(&v, format!("{} · 考核指标", insp.name), "inspections"),
        id,
        name: insp.name,
        sampled: st.sampled,
        verified: st.verified,
        lines: st
            .estimates
            .as_ref()
            .map(indicator_lines)
            .unwrap_or_default(),
        villages: st.estimates.as_ref().map_or(0, |e| e.villages),
        all_pass: st.estimates.as_ref().is_some_and(Estimates::all_pass),
        estimated: st.estimates.is_some(),
        region: state.config.region.chinese(),
    };
    Ok(Html(page.render().map_err(Error::from)?))
}

#[derive(Deserialize, Default)]
pub struct ForecastQuery {
    #[serde(flatten)]
    pub plan: PlanFields,
    #[serde(default)]
    pub runs: String,
}

pub struct ForecastView {
    pub register_rate: String,
    pub mean: String,
    pub quantiles: Vec<(u32, String)>,
    pub p_fail: String,
    pub runs: u32,
    pub without: u32,
    pub exited_households: String,
    pub plan: String,
}

pub fn forecast_view(f: &Forecast, plan: &SamplingPlan) -> ForecastView {
    let rate = |(num, den): (u64, u64)| fupin_domain::figures::Rate { num, den }.percent() + "%";
    ForecastView {
        register_rate: f.register_rate.map_or_else(|| "—".into(), rate),
        mean: format!("{}%", percent(f.mean)),
        quantiles: f.quantiles.iter().map(|(l, r)| (*l, rate(*r))).collect(),
        p_fail: format!("{}%", percent(f.p_fail())),
        runs: f.runs,
        without: f.runs_without_exited,
        exited_households: format!("{:.1}", f.mean_exited_households),
        plan: plan_text(plan),
    }
}

pub fn forecast_runs(text: &str) -> Result<u32, Error> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(1000);
    }
    t.parse::<u32>()
        .ok()
        .filter(|n| (1..=10_000).contains(n))
        .ok_or_else(|| Error::BadRequest(format!("模拟次数「{t}」应为 1 到 10,000 的整数")))
}

#[derive(Template)]
#[template(path = "inspection_forecast.html")]
struct ForecastPage {
    layout: Layout,
    q: ForecastQuery,
    result: Option<ForecastView>,
    message: String,
}

/// GET /inspections/forecast — the 错退率 forecast from the current register (county
/// scope): the plan drawn `runs` times.
pub async fn forecast_page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Query(q): Query<ForecastQuery>,
) -> Result<Html<String>, PageError> {
    require_county(&v)?;
    let (result, message) = if q.plan.seed.trim().is_empty() {
        (None, String::new())
    } else {
        let plan = q.plan.plan()?;
        let runs = forecast_runs(&q.runs)?;
        match state
            .store
            .inspections()
            .register_forecast(&plan, runs)
            .await?
        {
            None => (None, "还没有导入登记表".to_string()),
            Some(Err(e)) => (None, e.to_string()),
            Some(Ok(f)) => (Some(forecast_view(&f, &plan)), String::new()),
        }
    };
    let page = ForecastPage {
        layout: Layout::of(&v, "错退率预测", "inspections"),
        q,
        result,
        message,
    };
    Ok(Html(page.render().map_err(Error::from)?))
}

#[derive(Template)]
#[template(path = "inspection_findings.html")]
struct FindingsPage {
    layout: Layout,
    id: i64,
    name: String,
    header: [&'static str; 8],
    rows: Vec<[String; 8]>,
    items: Vec<i64>,
    can_record: bool,
    categories: [&'static str; 8],
    severities: Vec<(&'static str, &'static str)>,
    tasks: Vec<(u32, String)>,
    /// What the verification results show that no finding records yet.
    proposals: Vec<Proposal>,
    /// The form's starting values (from a proposal's link).
    prefill: Prefill,
}

/// A finding the results suggest: a wrong exit, a missed household or a household that
/// does not approve, with the link that fills the form with it.
pub struct Proposal {
    pub text: String,
    pub category: &'static str,
    pub url: String,
}

#[derive(Deserialize, Default)]
pub struct Prefill {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub household_no: String,
    #[serde(default)]
    pub township: String,
    #[serde(default)]
    pub village: String,
}

/// Policy (专项评估检查实施办法 2017): each wrong exit (an exited household with a check
/// not met), missed household (是否漏评 = 是) and household not approving (否) found in the
/// field is a problem to rectify. Proposed in 样本编号 order; one already recorded with the
/// same description is not proposed again.
pub fn proposals(id: i64, rows: &[SampleRow], recorded: &[FindingRow]) -> Vec<Proposal> {
    const CHECKS: [&str; 7] = [
        "收入",
        "不愁吃",
        "不愁穿",
        "义务教育",
        "基本医疗",
        "住房安全",
        "饮水安全",
    ];
    let mut out = Vec::new();
    for r in rows {
        let Some(v) = &r.result else { continue };
        let h = &r.household;
        let who = match &h.household_id {
            Some(no) => format!("样本 {} 户编号 {no}", h.no),
            None => format!("样本 {}（{}{}）", h.no, r.village, list_cells(r)[5]),
        };
        let mut found: Vec<(&'static str, String)> = Vec::new();
        if h.group.is_registered() && h.exited && !v.all_verified() {
            let failed: Vec<&str> = v
                .checks
                .iter()
                .zip(CHECKS)
                .filter(|(c, _)| !**c)
                .map(|(_, n)| n)
                .collect();
            found.push((
                "错退",
                format!("{who}已脱贫，实地核验{}未达标（错退）", failed.join("、")),
            ));
        }
        if v.missed == Some(true) {
            found.push((
                "漏评",
                format!(
                    "{who}为非建档立卡户，实地核验应识别为贫困户（漏评，{} 人）",
                    v.people.unwrap_or(0)
                ),
            ));
        }
        if v.approval == Approval::No {
            found.push(("群众认可度", format!("{who}对脱贫攻坚工作不认可")));
        }
        for (category, text) in found {
            if recorded.iter().any(|f| f.description == text) {
                continue;
            }
            let mut url = format!(
                "/inspections/{id}/findings?description={}&category={}",
                view::enc(&text),
                view::enc(category)
            );
            match &h.household_id {
                Some(no) if h.group.is_registered() => {
                    url.push_str(&format!("&household_no={}", view::enc(no)));
                }
                _ => url.push_str(&format!(
                    "&township={}&village={}",
                    view::enc(&r.township),
                    view::enc(&r.village)
                )),
            }
            url.push_str("#new-finding");
            out.push(Proposal {
                text,
                category,
                url,
            });
        }
    }
    out
}

/// GET /inspections/{id}/findings — the findings the reader may see, as the ledger
/// prints them, and the form for a new one.
pub async fn findings_page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<i64>,
    Query(prefill): Query<Prefill>,
) -> Result<Html<String>, PageError> {
    let insp = inspection_of(&state, id).await?;
    let findings = state
        .store
        .inspections()
        .findings(&ItemScope::of(&v.user().role), Some(id))
        .await?;
    let year = state
        .store
        .register()
        .current_version()
        .await?
        .map(|v| v.year);
    let plan = match state.store.plan().current_plan(year).await? {
        Some(p) => Some(p),
        None => state.store.plan().current_plan(None).await?,
    };
    let page = FindingsPage {
        layout: Layout::of(&v, format!("{} · 问题与整改", insp.name), "inspections"),
        id,
        name: insp.name,
        header: LEDGER_HEADER,
        rows: ledger_rows(&findings),
        items: findings.iter().map(|f| f.work_item).collect(),
        proposals: if may_record(&v.user().role) {
            let rows = state.store.inspections().sample_rows(&v.scope, id).await?;
            proposals(id, &rows, &findings)
        } else {
            Vec::new()
        },
        prefill,
        can_record: may_record(&v.user().role),
        categories: FINDING_CATEGORIES,
        severities: Severity::ALL
            .iter()
            .map(|s| (s.word(), s.chinese()))
            .collect(),
        tasks: plan
            .map(|p| {
                p.plan
                    .tasks
                    .iter()
                    .map(|t| (t.no, format!("{}. {}（{}）", t.no, t.name, t.lead_unit)))
                    .collect()
            })
            .unwrap_or_default(),
    };
    Ok(Html(page.render().map_err(Error::from)?))
}

#[derive(Deserialize, Default)]
pub struct FindingForm {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub severity: String,
    #[serde(default)]
    pub household_no: String,
    #[serde(default)]
    pub township: String,
    #[serde(default)]
    pub village: String,
    #[serde(default)]
    pub task_no: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub measure: String,
    #[serde(default)]
    pub deadline: String,
}

impl FindingForm {
    pub fn finding(&self) -> Result<NewFinding, Error> {
        let opt = |s: &str| Some(s.trim().to_string()).filter(|t| !t.is_empty());
        let task_no = match opt(&self.task_no) {
            Some(t) => Some(
                t.parse()
                    .map_err(|_| Error::BadRequest(format!("重点工作序号「{t}」应为正整数")))?,
            ),
            None => None,
        };
        Ok(NewFinding {
            description: self.description.clone(),
            category: self.category.clone(),
            severity: Severity::parse(&self.severity),
            household_no: opt(&self.household_no),
            township: opt(&self.township),
            village: opt(&self.village),
            task_no,
            unit: opt(&self.unit),
            owner: opt(&self.owner),
            measure: self.measure.clone(),
            deadline: parse_date(&self.deadline, "完成时限")?,
        })
    }
}

pub async fn create_finding(
    state: &AppState,
    v: &Viewer,
    id: i64,
    f: &FindingForm,
) -> Result<FindingRow, Error> {
    inspection_of(state, id).await?;
    let new = f.finding()?;
    state
        .store
        .inspections()
        .create_finding(v.user(), id, &new)
        .await?
        .map_err(refusal)
}

/// POST /inspections/{id}/findings — record a finding; its work item is assigned at once.
pub async fn finding_post(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<FindingForm>,
) -> Result<Response, PageError> {
    create_finding(&state, &v, id, &f).await?;
    Ok(Redirect::to(&format!("/inspections/{id}/findings")).into_response())
}

/// GET /inspections/{id}/ledger.xlsx — the 整改台账 of the findings the reader may see.
pub async fn ledger_xlsx(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let insp = inspection_of(&state, id).await?;
    let findings = state
        .store
        .inspections()
        .findings(&ItemScope::of(&v.user().role), Some(id))
        .await?;
    let bytes = ledger_workbook(
        &format!("{}问题整改台账", insp.name),
        &ledger_rows(&findings),
    )
    .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(download(bytes, &format!("整改台账-{id}.xlsx")))
}
