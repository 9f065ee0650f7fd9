//! The sample list (样本清单) and the findings ledger as XLSX.

use crate::view;
use fupin_domain::estimates::percent;
use fupin_domain::sampling::SamplingPlan;
use fupin_domain::work_item::WorkState;
use fupin_io::sample_list::{allocation_text, SampleListRow, ALGORITHM, FILL_IN};
use fupin_store::{FindingRow, Inspection, SampleRow, StoredSample};
use rust_xlsxwriter::{Format, Workbook, XlsxError};

/// The sample list's row of a sampled household (as `fupin sample` writes it): a
/// non-registered household with a 户编号 was drawn from the village's list.
pub fn list_row(r: &SampleRow) -> SampleListRow {
    let h = &r.household;
    SampleListRow::new(
        h,
        &r.township,
        &r.village,
        r.poor_village,
        h.household_id.is_some(),
    )
}

/// The sample list's cells for one sampled household.
pub fn list_cells(r: &SampleRow) -> [String; 9] {
    list_row(r).cells
}

/// The sample list of an inspection, with its inspection, register version and plan in
/// 抽样说明.
pub fn sample_workbook(
    insp: &Inspection,
    s: &StoredSample,
    rows: &[SampleRow],
) -> Result<Vec<u8>, XlsxError> {
    let rows: Vec<SampleListRow> = rows.iter().map(list_row).collect();
    let about = [
        (
            "考核评估",
            format!("{}（{}）", insp.name, insp.level.chinese()),
        ),
        ("考核组", insp.team.clone()),
        ("登记表版本", format!("第 {} 版", s.version_id)),
        ("随机种子", s.plan.seed.to_string()),
        (ALGORITHM.0, ALGORITHM.1.to_string()),
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
        (FILL_IN.0, FILL_IN.1.to_string()),
    ];
    fupin_io::sample_list::sample_workbook(&rows, &about)
}

pub fn plan_text(p: &SamplingPlan) -> String {
    let households = allocation_text(&p.households);
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
