//! The sample list (样本清单) as XLSX, written once for `fupin sample` and the inspection
//! page alike: one row per sampled household with the yellow result columns the field
//! teams fill in (read back by [`crate::inspection::read_results`]), and a sheet 抽样说明
//! that says how the sample was drawn.

use crate::inspection::RESULT_COLUMNS;
use crate::workbook::put;
use fupin_domain::sampling::{Allocation, Group, SampledHousehold};
use rust_xlsxwriter::{DataValidation, Format, Workbook, Worksheet, XlsxError};

/// The sample list's own columns, before the result columns.
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

/// The line of 抽样说明 that names the random number generator.
pub const ALGORITHM: (&str, &str) = ("随机数算法", "SplitMix64（见 docs/inspections.md）");

/// The last line of 抽样说明: what the field teams fill in.
pub const FILL_IN: (&str, &str) = (
    "填写说明",
    "黄色列由核查组填写：建档立卡户填 收入稳定超过标准 至 住房安全有保障（是/否，饮水安全可空）；非建档立卡户填 家庭人口 与 是否漏评；每户都填 是否认可（是/否/不清楚）",
);

/// How many households a village gives, in words (抽样说明).
pub fn allocation_text(a: &Allocation) -> String {
    match *a {
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
    }
}

/// One sampled household on the list.
pub struct SampleListRow {
    /// 样本编号.
    pub no: u32,
    /// The first nine columns as text (样本编号 to 脱贫属性).
    pub cells: [String; 9],
    pub people: Option<u32>,
    /// 设计权数.
    pub weight: f64,
}

impl SampleListRow {
    /// The row of `h`, drawn in `village` of `township`; `listed` when a non-registered
    /// household was drawn from the village's list of them (not from its roster).
    pub fn new(
        h: &SampledHousehold,
        township: &str,
        village: &str,
        poor_village: bool,
        listed: bool,
    ) -> SampleListRow {
        let place = match h.group {
            Group::NonRegistered if listed => format!("非建档立卡户名单中本村第{}户", h.position),
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
        SampleListRow {
            no: h.no,
            cells: [
                h.no.to_string(),
                township.to_string(),
                village.to_string(),
                if poor_village {
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
            ],
            people: h.people,
            weight: h.weight,
        }
    }
}

/// 样本清单 (yellow result columns with 是/否 and 是/否/不清楚 drop-downs, 户编号 as text)
/// and 抽样说明 with `about`, line by line: what `fupin estimate` and the upload read
/// back.
pub fn sample_workbook(
    rows: &[SampleListRow],
    about: &[(&str, String)],
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
        ws.write_number(row, 0, f64::from(r.no))?;
        for (c, cell) in r.cells.iter().enumerate().skip(1) {
            // 家庭人口 is a number; the other cells are text (户编号 keeps every digit).
            if c == 7 {
                if let Some(p) = r.people {
                    ws.write_number(row, 7, f64::from(p))?;
                }
                continue;
            }
            put(ws, row, c as u16, cell)?;
        }
        ws.write_number(row, 9, r.weight)?;
    }
    shape_sample_sheet(ws, n_list, rows.len())?;
    let sheet = wb.add_worksheet();
    sheet.set_name("抽样说明")?;
    for (i, (k, v)) in about.iter().enumerate() {
        sheet.write_string_with_format(i as u32, 0, *k, &bold)?;
        put(sheet, i as u32, 1, v)?;
    }
    sheet.set_column_width(0, 14)?;
    sheet.set_column_width(1, 80)?;
    wb.save_to_buffer()
}

/// The field teams' sample list : 是/否
/// drop-downs over the eight verification columns from `n_list`, 是/否/不清楚 for approval,
/// readable widths, the header row frozen. `rows` is the number of sampled households.
fn shape_sample_sheet(ws: &mut Worksheet, n_list: u16, rows: usize) -> Result<(), XlsxError> {
    let last = rows.max(1) as u32;
    let yes_no = DataValidation::new()
        .allow_list_strings(&["是", "否"])?
        .ignore_blank(true);
    ws.add_data_validation(1, n_list, last, n_list + 7, &yes_no)?;
    let approval = DataValidation::new()
        .allow_list_strings(&["是", "否", "不清楚"])?
        .ignore_blank(true);
    ws.add_data_validation(1, n_list + 8, last, n_list + 8, &approval)?;
    for (col, width) in [(1, 12.0), (2, 16.0), (4, 24.0), (5, 34.0), (6, 20.0)] {
        ws.set_column_width(col, width)?;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}
