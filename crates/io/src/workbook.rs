//! The workbooks fupin writes (the pages and the command line alike): problem lists and
//! ledgers (台账). Problem lists write every cell as text, so an ID number keeps its 18
//! characters (Excel keeps 15 digits of a number); a sheet holds 1,048,576 rows, so long
//! lists go on to further sheets. Every text any fupin workbook puts in a cell goes
//! through [`cell_text`] (by [`put`] and [`put_with_format`]): a cell holds at most
//! 32,767 characters, and a longer text would fail the whole download.

use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use std::borrow::Cow;

/// The most a cell of Excel holds, in UTF-16 code units (what `rust_xlsxwriter` counts).
pub const EXCEL_CELL_MAX: usize = 32_767;

/// Policy: a text longer than an Excel cell holds is cut to fit, ending in a visible
/// marker with its full length (「…〔已截断，原文共 N 个字符〕」); a shorter one is kept whole.
pub fn cell_text(s: &str) -> Cow<'_, str> {
    // UTF-16 never takes more units than UTF-8 takes bytes.
    if s.len() <= EXCEL_CELL_MAX || s.encode_utf16().count() <= EXCEL_CELL_MAX {
        return Cow::Borrowed(s);
    }
    let marker = format!(
        "…〔已截断，原文共 {} 个字符〕",
        fupin_domain::grouped(s.chars().count() as u64)
    );
    let room = EXCEL_CELL_MAX - marker.encode_utf16().count();
    let (mut used, mut end) = (0, 0);
    for (i, c) in s.char_indices() {
        if used + c.len_utf16() > room {
            break;
        }
        used += c.len_utf16();
        end = i + c.len_utf8();
    }
    Cow::Owned(format!("{}{marker}", &s[..end]))
}

/// Write a text cell, cut to Excel's limit ([`cell_text`]).
pub fn put<'w>(
    ws: &'w mut Worksheet,
    row: u32,
    col: u16,
    text: &str,
) -> Result<&'w mut Worksheet, XlsxError> {
    ws.write_string(row, col, cell_text(text))
}

/// Write a text cell with a format, cut to Excel's limit ([`cell_text`]).
pub fn put_with_format<'w>(
    ws: &'w mut Worksheet,
    row: u32,
    col: u16,
    text: &str,
    format: &Format,
) -> Result<&'w mut Worksheet, XlsxError> {
    ws.write_string_with_format(row, col, cell_text(text), format)
}

/// Write `rows` on as many sheets as they take, `per_sheet` rows a sheet (one sheet for
/// no rows): the first sheet named `name`, the next `name2`, `name3` …; `fill` writes one
/// sheet's rows.
pub fn write_sheets<T>(
    wb: &mut Workbook,
    name: &str,
    rows: &[T],
    per_sheet: usize,
    mut fill: impl FnMut(&mut Worksheet, &[T]) -> Result<(), XlsxError>,
) -> Result<(), XlsxError> {
    let chunks: Vec<&[T]> = if rows.is_empty() {
        vec![&[]]
    } else {
        rows.chunks(per_sheet).collect()
    };
    for (i, chunk) in chunks.into_iter().enumerate() {
        let ws = wb.add_worksheet();
        ws.set_name(if i == 0 {
            name.to_string()
        } else {
            format!("{name}{}", i + 1)
        })?;
        fill(ws, chunk)?;
    }
    Ok(())
}

/// One line of a problem list.
#[derive(Default)]
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

/// The problem list; `note` (such as 「共 N 条，显示前 M 条」) on a sheet 说明 after it.
pub fn problems_workbook(rows: &[ProblemCells], note: Option<&str>) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    write_sheets(
        &mut wb,
        "问题清单",
        rows,
        ROWS_PER_SHEET,
        |ws, chunk| {
            for (c, h) in HEADER.iter().enumerate() {
                ws.write_string_with_format(0, c as u16, *h, &bold)?;
            }
            for (r, p) in chunk.iter().enumerate() {
                let r = r as u32 + 1;
                put(ws, r, 0, &p.file)?;
                ws.write_number(r, 1, p.line as f64)?;
                put(ws, r, 2, &p.column)?;
                put(ws, r, 3, &p.code)?;
                // Text, always: an ID number must not become a 15-digit number.
                put(ws, r, 4, &p.value)?;
                put(ws, r, 5, &p.message)?;
                put(ws, r, 6, &p.household_no)?;
            }
            ws.set_column_width(0, 18)?;
            ws.set_column_width(2, 14)?;
            ws.set_column_width(4, 22)?;
            ws.set_column_width(5, 60)?;
            ws.set_column_width(6, 16)?;
            Ok(())
        },
    )?;
    if let Some(note) = note {
        let about = wb.add_worksheet();
        about.set_name("说明")?;
        put(about, 0, 0, note)?;
        about.set_column_width(0, 100)?;
    }
    wb.save_to_buffer()
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
    write_sheets(&mut wb, sheet, rows, LEDGER_ROWS, |ws, chunk| {
        let last = header.len().saturating_sub(1) as u16;
        if last > 0 {
            ws.merge_range(0, 0, 0, last, &cell_text(title), &bold)?;
        } else {
            put_with_format(ws, 0, 0, title, &bold)?;
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
                        put(ws, r, c, t)?;
                    }
                    Cell::Int(n) => {
                        ws.write_number(r, c, *n as f64)?;
                    }
                    // Fen to yuan: exact for any sum below 2^53 fen.
                    Cell::Yuan(f) => {
                        ws.write_number_with_format(r, c, f.yuan_f64(), &money)?;
                    }
                }
            }
        }
        for (c, w) in widths.iter().enumerate() {
            ws.set_column_width(c as u16, *w)?;
        }
        ws.set_freeze_panes(2, 0)?;
        Ok(())
    })?;
    wb.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A text that fits is kept whole; a longer one is cut to exactly Excel's limit in
    /// UTF-16 units (a character outside the BMP counts two, and is never split), ending
    /// in the marker with the full length.
    #[test]
    fn a_long_text_is_cut_to_the_cell_limit_with_its_length() {
        let fits = "户".repeat(EXCEL_CELL_MAX);
        assert!(matches!(cell_text(&fits), Cow::Borrowed(_)));
        for long in ["a".repeat(40_000), "长".repeat(40_000), "😀".repeat(20_000)] {
            let n = long.chars().count();
            let cut = cell_text(&long);
            let units = cut.encode_utf16().count();
            assert!(
                (EXCEL_CELL_MAX - 1..=EXCEL_CELL_MAX).contains(&units),
                "{units}"
            );
            assert!(cut.ends_with(&format!(
                "…〔已截断，原文共 {} 个字符〕",
                fupin_domain::grouped(n as u64)
            )));
            assert!(long.starts_with(cut.split('…').next().unwrap()));
        }
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        assert!(put(ws, 0, 0, &"x".repeat(40_000)).is_ok());
        assert!(ws.write_string(0, 1, "x".repeat(40_000)).is_err());
    }
}
