//! The responsibility ledgers (责任落实台账) as XLSX: the plan and the gaps.

use super::matrix::plan_in_force;
use crate::auth::{PageUser, Viewer};
use crate::error::{Error, PageError};
use crate::AppState;
use axum::extract::State;
use axum::response::Response;
use fupin_io::plan_file::PLAN_HEADER;
use fupin_store::{gap_kind_name, today, GapFilter};

/// The plan ledger's rows (one per task and implementing unit) and the open gaps' (one
/// per gap, by task and unit), as the pages show them.
pub struct Ledgers {
    pub plan: Vec<[String; 12]>,
    pub gaps: Vec<[String; 8]>,
}

/// The plan file's columns, then the work of each task and unit.
pub const PLAN_LEDGER_HEADER: [&str; 12] = plan_ledger_header(["未办结", "逾期", "待核", "已销号"]);

/// [`PLAN_HEADER`] followed by `work`.
const fn plan_ledger_header(work: [&'static str; 4]) -> [&'static str; 12] {
    let mut header = [""; 12];
    let mut i = 0;
    while i < header.len() {
        header[i] = if i < PLAN_HEADER.len() {
            PLAN_HEADER[i]
        } else {
            work[i - PLAN_HEADER.len()]
        };
        i += 1;
    }
    header
}

pub const GAP_LEDGER_HEADER: [&str; 8] = [
    "任务序号",
    "承办单位",
    "问题类别",
    "乡镇",
    "行政村",
    "户编号",
    "短板",
    "交办事项",
];

pub async fn ledgers(state: &AppState, v: &Viewer) -> Result<Ledgers, Error> {
    let mut plan_rows = Vec::new();
    if let Some(plan) = plan_in_force(state).await? {
        for r in state
            .store
            .work()
            .responsibility_matrix(&plan, today())
            .await?
        {
            for (unit, owner) in &r.units {
                plan_rows.push([
                    r.task_no.to_string(),
                    r.task.clone(),
                    r.leader.clone(),
                    r.lead_unit.clone(),
                    unit.clone(),
                    owner.clone(),
                    r.deadline.clone(),
                    r.owns.join("、"),
                    r.open.to_string(),
                    r.overdue.to_string(),
                    r.done.to_string(),
                    r.closed.to_string(),
                ]);
            }
        }
    }
    let mut gaps = Vec::new();
    let mut after = None;
    let filter = GapFilter {
        open: true,
        ..GapFilter::default()
    };
    loop {
        let page = state
            .store
            .work()
            .gaps(&v.item_scope(), &filter, after, 500)
            .await?;
        for g in &page.items {
            gaps.push([
                g.task_no.map(|n| n.to_string()).unwrap_or_default(),
                g.lead_unit.clone().unwrap_or_else(|| "指挥部待分派".into()),
                gap_kind_name(&g.kind).to_string(),
                g.township.clone(),
                g.village.clone(),
                g.household_no.clone().unwrap_or_default(),
                g.detail.clone(),
                g.work_item.map(|i| i.to_string()).unwrap_or_default(),
            ]);
        }
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    // By task, then unit (the headquarters' queue last), then place.
    gaps.sort_by(|a, b| {
        let key = |r: &[String; 8]| {
            (
                r[0].parse::<u32>().unwrap_or(u32::MAX),
                r[1].clone(),
                r[3].clone(),
                r[4].clone(),
                r[5].clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    Ok(Ledgers {
        plan: plan_rows,
        gaps,
    })
}

/// GET /tasks/ledger.xlsx — 责任分解台账 and 短板台账 in one workbook.
pub async fn ledger_xlsx(
    State(state): State<AppState>,
    PageUser(v): PageUser,
) -> Result<Response, PageError> {
    let l = ledgers(&state, &v).await?;
    let bytes = tokio::task::spawn_blocking(move || ledger_workbook(&l))
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
        .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(crate::xlsx::download(bytes, "责任落实台账.xlsx"))
}

/// The ledgers as a workbook: every cell text (an ID number or 户编号 keeps its digits),
/// long lists split into further sheets.
pub fn ledger_workbook(l: &Ledgers) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    const ROWS_PER_SHEET: usize = 1_048_575;
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    fn sheets<const N: usize>(
        wb: &mut Workbook,
        bold: &Format,
        name: &str,
        header: &[&str; N],
        rows: &[[String; N]],
    ) -> Result<(), rust_xlsxwriter::XlsxError> {
        crate::xlsx::write_sheets(wb, name, rows, ROWS_PER_SHEET, |ws, chunk| {
            for (c, h) in header.iter().enumerate() {
                ws.write_string_with_format(0, c as u16, *h, bold)?;
            }
            for (r, row) in chunk.iter().enumerate() {
                for (c, v) in row.iter().enumerate() {
                    crate::xlsx::put(ws, r as u32 + 1, c as u16, v)?;
                }
            }
            Ok(())
        })
    }
    sheets(&mut wb, &bold, "责任分解台账", &PLAN_LEDGER_HEADER, &l.plan)?;
    sheets(&mut wb, &bold, "短板台账", &GAP_LEDGER_HEADER, &l.gaps)?;
    wb.save_to_buffer()
}
