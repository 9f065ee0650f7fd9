//! The sample list (样本清单) and the findings ledger as XLSX.

use crate::view::{self};
use fupin_domain::estimates::percent;
use fupin_domain::sampling::{Allocation, Group, SamplingPlan};
use fupin_domain::work_item::WorkState;
use fupin_io::inspection::RESULT_COLUMNS;
use fupin_store::{FindingRow, Inspection, SampleRow, StoredSample};
use rust_xlsxwriter::{Format, Workbook, XlsxError};

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
