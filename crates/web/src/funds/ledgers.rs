//! The ledgers (台账) as XLSX: the project library and the fund entries.

use super::list::ListQuery;
use super::{opt_date, rate_text};
use crate::auth::{PageUser, Viewer};
use crate::error::{Error, PageError};
use crate::view;
use crate::xlsx::{download, ledger_workbook, Cell};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use fupin_domain::funds::{EntryKind, FundSource};
use fupin_store::{today, LedgerLine, ProjectId, Role, StoredProject};

pub const PROJECT_LEDGER_HEADER: [&str; 25] = [
    "序号",
    "项目编号",
    "年度",
    "项目名称",
    "项目类型",
    "乡镇",
    "行政村",
    "服务重点工作(序号)",
    "实施单位",
    "项目阶段",
    "计划开工日期",
    "计划完工日期",
    "实际开工日期",
    "实际完工日期",
    "中央资金(元)",
    "省级资金(元)",
    "市级资金(元)",
    "县级资金(元)",
    "统筹整合涉农资金(元)",
    "社会帮扶资金(元)",
    "信贷资金(元)",
    "预算合计(元)",
    "已拨付(元)",
    "未拨付(元)",
    "拨付率",
];

pub const ENTRY_LEDGER_HEADER: [&str; 18] = [
    "序号",
    "记录编号",
    "年度",
    "项目名称",
    "实施单位",
    "乡镇",
    "行政村",
    "拨付日期",
    "类型",
    "冲销记录编号",
    "资金来源",
    "金额(元)",
    "凭证号",
    "收款单位",
    "备注",
    "超预算理由",
    "登记人",
    "登记时间",
];

fn project_rows(list: &[StoredProject]) -> Vec<Vec<Cell>> {
    list.iter()
        .enumerate()
        .map(|(i, p)| {
            let x = &p.project;
            let mut row = vec![
                Cell::Int(i as i64 + 1),
                Cell::Int(p.id.get()),
                Cell::Int(i64::from(x.year)),
                Cell::Text(x.name.clone()),
                Cell::Text(x.kind.chinese().into()),
                Cell::Text(x.township.clone()),
                Cell::Text(x.village.clone().unwrap_or_default()),
                Cell::Text(x.task_no.map(|n| n.to_string()).unwrap_or_default()),
                Cell::Text(x.unit.clone()),
                Cell::Text(x.stage.chinese().into()),
                Cell::Text(opt_date(x.planned_start)),
                Cell::Text(opt_date(x.planned_end)),
                Cell::Text(opt_date(x.actual_start)),
                Cell::Text(opt_date(x.actual_end)),
            ];
            row.extend(FundSource::ALL.iter().map(|s| Cell::Yuan(x.budget.get(*s))));
            row.push(Cell::Yuan(x.budget.total()));
            row.push(Cell::Yuan(p.disbursed.total()));
            row.push(Cell::Yuan(x.budget.total() - p.disbursed.total()));
            row.push(Cell::Text(rate_text(p.rate())));
            row
        })
        .collect()
}

fn entry_rows(lines: &[LedgerLine]) -> Vec<Vec<Cell>> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let e = &l.entry;
            let (kind, of, signed) = match e.kind {
                EntryKind::Disbursement => ("拨付", String::new(), e.amount),
                EntryKind::Reversal { of } => ("冲销", of.to_string(), -e.amount),
            };
            vec![
                Cell::Int(i as i64 + 1),
                Cell::Int(e.id.get()),
                Cell::Int(i64::from(l.year)),
                Cell::Text(l.project.clone()),
                Cell::Text(l.unit.clone()),
                Cell::Text(l.township.clone()),
                Cell::Text(l.village.clone().unwrap_or_default()),
                Cell::Text(e.date.to_string()),
                Cell::Text(kind.into()),
                Cell::Text(of),
                Cell::Text(e.source.chinese().into()),
                Cell::Yuan(signed),
                Cell::Text(e.voucher.clone()),
                Cell::Text(e.payee.clone()),
                Cell::Text(e.note.clone()),
                Cell::Text(e.override_reason.clone().unwrap_or_default()),
                Cell::Text(e.recorded_by.clone().unwrap_or_default()),
                Cell::Text(view::time(e.recorded_at)),
            ]
        })
        .collect()
}

async fn xlsx_response(
    sheet: &'static str,
    title: String,
    header: &'static [&'static str],
    widths: &'static [f64],
    rows: Vec<Vec<Cell>>,
    file_name: &str,
) -> Result<Response, PageError> {
    let bytes =
        tokio::task::spawn_blocking(move || ledger_workbook(sheet, &title, header, widths, &rows))
            .await
            .map_err(|e| Error::Internal(e.to_string()))?
            .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(download(bytes, file_name))
}

const PROJECT_WIDTHS: [f64; 25] = [
    6.0, 8.0, 6.0, 30.0, 10.0, 12.0, 14.0, 10.0, 16.0, 10.0, 12.0, 12.0, 12.0, 12.0, 14.0, 14.0,
    14.0, 14.0, 14.0, 14.0, 14.0, 16.0, 16.0, 16.0, 10.0,
];

const ENTRY_WIDTHS: [f64; 18] = [
    6.0, 8.0, 6.0, 30.0, 16.0, 12.0, 14.0, 12.0, 6.0, 10.0, 14.0, 16.0, 14.0, 22.0, 30.0, 30.0,
    10.0, 20.0,
];

fn title_of(v: &Viewer, what: &str, q: &ListQuery) -> String {
    let mut parts = vec![crate::scope_label(&v.scope)];
    if let Role::UnitStaff { unit } = &v.user().role {
        parts = vec![unit.clone()];
    }
    if !q.year.trim().is_empty() {
        parts.push(format!("{}年", q.year.trim()));
    }
    format!("{}{what}（{} 导出）", parts.join(" "), today())
}

/// GET /projects/ledger.xlsx — 项目库台账: the list's projects (same filter, same scope),
/// every page.
pub async fn projects_xlsx(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let filter = q.filter()?;
    let list = state
        .store
        .funds()
        .projects_filtered(&v.item_scope(), &filter)
        .await?;
    xlsx_response(
        "项目库台账",
        title_of(&v, "项目库台账", &q),
        &PROJECT_LEDGER_HEADER,
        &PROJECT_WIDTHS,
        project_rows(&list),
        "项目库台账.xlsx",
    )
    .await
}

/// GET /projects/entries.xlsx — 资金拨付台账: every entry (reversals negative) of the
/// list's projects (same filter, same scope).
pub async fn entries_xlsx(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let filter = q.filter()?;
    let lines = state
        .store
        .funds()
        .ledger_lines(&v.item_scope(), &filter)
        .await?;
    xlsx_response(
        "资金拨付台账",
        title_of(&v, "资金拨付台账", &q),
        &ENTRY_LEDGER_HEADER,
        &ENTRY_WIDTHS,
        entry_rows(&lines),
        "资金拨付台账.xlsx",
    )
    .await
}

/// GET /projects/{id}/entries.xlsx — one project's 资金拨付台账, as its page lists it.
pub async fn project_entries_xlsx(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(id): Path<ProjectId>,
) -> Result<Response, PageError> {
    let p = super::project_in_scope(&state, &v, id).await?;
    let x = &p.project;
    let lines: Vec<LedgerLine> = state
        .store
        .funds()
        .fund_entries(&v.item_scope(), id)
        .await?
        .into_iter()
        .map(|entry| LedgerLine {
            year: x.year,
            project: x.name.clone(),
            unit: x.unit.clone(),
            township: x.township.clone(),
            village: x.village.clone(),
            entry,
        })
        .collect();
    xlsx_response(
        "资金拨付台账",
        format!("{}年 {} 资金拨付台账（{} 导出）", x.year, x.name, today()),
        &ENTRY_LEDGER_HEADER,
        &ENTRY_WIDTHS,
        entry_rows(&lines),
        &format!("资金拨付台账-{id}.xlsx"),
    )
    .await
}
