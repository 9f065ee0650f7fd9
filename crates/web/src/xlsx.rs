//! Problem lists as XLSX: every cell written as text, so an ID number keeps its 18
//! characters (Excel keeps 15 digits of a number); a sheet holds 1,048,576 rows, so long
//! lists go on to further sheets.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use rust_xlsxwriter::{Format, Workbook, XlsxError};

/// One line of a problem list.
pub struct ProblemCells {
    pub file: String,
    pub line: u64,
    pub column: String,
    pub code: String,
    pub value: String,
    pub message: String,
    pub household_no: String,
}

const HEADER: [&str; 7] = ["文件", "行号", "列", "代码", "值", "说明", "户编号"];
/// Data rows per sheet (one row is the header).
const ROWS_PER_SHEET: usize = 1_048_575;

pub fn problems_workbook(rows: &[ProblemCells]) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let chunks: Vec<&[ProblemCells]> = if rows.is_empty() {
        vec![&[]]
    } else {
        rows.chunks(ROWS_PER_SHEET).collect()
    };
    for (i, chunk) in chunks.iter().enumerate() {
        let ws = wb.add_worksheet();
        ws.set_name(if i == 0 {
            "问题清单".to_string()
        } else {
            format!("问题清单{}", i + 1)
        })?;
        for (c, h) in HEADER.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &bold)?;
        }
        for (r, p) in chunk.iter().enumerate() {
            let r = r as u32 + 1;
            ws.write_string(r, 0, &p.file)?;
            ws.write_number(r, 1, p.line as f64)?;
            ws.write_string(r, 2, &p.column)?;
            ws.write_string(r, 3, &p.code)?;
            // Text, always: an ID number must not become a 15-digit number.
            ws.write_string(r, 4, &p.value)?;
            ws.write_string(r, 5, &p.message)?;
            ws.write_string(r, 6, &p.household_no)?;
        }
        ws.set_column_width(0, 18)?;
        ws.set_column_width(2, 14)?;
        ws.set_column_width(4, 22)?;
        ws.set_column_width(5, 60)?;
        ws.set_column_width(6, 16)?;
    }
    wb.save_to_buffer()
}

/// An XLSX download.
pub fn download(bytes: Vec<u8>, file_name: &str) -> Response {
    let ascii: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    (
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
                    crate::view::enc(file_name)
                ),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response()
}

/// A cell of a ledger (台账): text (an ID number or 户编号 keeps its digits), a count, or
/// yuan from fen (a number formatted `#,##0.00`, so the sheet can be summed).
pub enum Cell {
    Text(String),
    Int(i64),
    Yuan(fupin_domain::Fen),
}

/// A ledger in the usual layout: the title merged across the first row, the header in bold
/// on the second, one row per line from the third, the top two rows frozen, column widths
/// given; a sheet holds 1,048,576 rows, so long ledgers go on to further sheets.
pub fn ledger_workbook(
    sheet: &str,
    title: &str,
    header: &[&str],
    widths: &[f64],
    rows: &[Vec<Cell>],
) -> Result<Vec<u8>, XlsxError> {
    const LEDGER_ROWS: usize = 1_048_574;
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0.00");
    let chunks: Vec<&[Vec<Cell>]> = if rows.is_empty() {
        vec![&[]]
    } else {
        rows.chunks(LEDGER_ROWS).collect()
    };
    for (i, chunk) in chunks.iter().enumerate() {
        let ws = wb.add_worksheet();
        ws.set_name(if i == 0 {
            sheet.to_string()
        } else {
            format!("{sheet}{}", i + 1)
        })?;
        let last = header.len().saturating_sub(1) as u16;
        if last > 0 {
            ws.merge_range(0, 0, 0, last, title, &bold)?;
        } else {
            ws.write_string_with_format(0, 0, title, &bold)?;
        }
        for (c, h) in header.iter().enumerate() {
            ws.write_string_with_format(1, c as u16, *h, &bold)?;
        }
        for (r, line) in chunk.iter().enumerate() {
            let r = r as u32 + 2;
            for (c, cell) in line.iter().enumerate() {
                let c = c as u16;
                match cell {
                    Cell::Text(t) => {
                        ws.write_string(r, c, t)?;
                    }
                    Cell::Int(n) => {
                        ws.write_number(r, c, *n as f64)?;
                    }
                    // Fen to yuan: exact for any sum below 2^53 fen.
                    Cell::Yuan(f) => {
                        ws.write_number_with_format(r, c, f.0 as f64 / 100.0, &money)?;
                    }
                }
            }
        }
        for (c, w) in widths.iter().enumerate() {
            ws.set_column_width(c as u16, *w)?;
        }
        ws.set_freeze_panes(2, 0)?;
    }
    wb.save_to_buffer()
}
