//! Reading the rows of one worksheet of an XLSX workbook as text cells, streaming.

use crate::error::FileError;
use crate::rows::Cells;
use calamine::{open_workbook, DataRef, Reader, Xlsx};
use std::path::Path;

/// A worksheet row: its sheet row number (1-based) and its cells as text.
#[derive(Debug, Default, Clone)]
pub struct SheetRow {
    pub line: u64,
    pub cells: Vec<String>,
    /// Which cells held numbers.
    pub numeric: Vec<bool>,
}

impl Cells for SheetRow {
    fn get(&self, i: usize) -> Option<&str> {
        self.cells.get(i).map(String::as_str)
    }
    fn width(&self) -> usize {
        self.cells.len()
    }
    fn is_number(&self, i: usize) -> bool {
        self.numeric.get(i).copied().unwrap_or(false)
    }
    fn omits_trailing_blanks(&self) -> bool {
        true
    }
}

impl SheetRow {
    fn is_blank(&self) -> bool {
        self.cells.iter().all(|c| c.trim().is_empty())
    }
}

fn workbook_error(path: &Path, e: impl std::fmt::Display) -> FileError {
    FileError::Workbook {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// A cell's text as a person would type it: numbers without a trailing `.0`.
fn cell_text(v: &DataRef<'_>) -> (String, bool) {
    match v {
        DataRef::String(s) => (s.clone(), false),
        DataRef::SharedString(s) => ((*s).to_string(), false),
        DataRef::Int(i) => (i.to_string(), true),
        DataRef::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 1e15 {
                (format!("{}", *f as i64), true)
            } else {
                (format!("{f}"), true)
            }
        }
        DataRef::Bool(b) => ((if *b { "是" } else { "否" }).to_string(), false),
        DataRef::DateTime(d) => (d.to_string(), false),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => (s.clone(), false),
        // An Excel error cell reads as its error text (e.g. "#DIV/0!"), which no typed
        // column accepts, so it is reported where it stands.
        DataRef::Error(e) => (e.to_string(), false),
        DataRef::Empty => (String::new(), false),
    }
}

/// Call `each` for every non-blank row of the sheet (the first sheet unless one is named),
/// in order. Stops early when `each` returns false.
pub fn for_each_row(
    path: &Path,
    sheet: Option<&str>,
    mut each: impl FnMut(SheetRow) -> bool,
) -> Result<(), FileError> {
    let mut wb: Xlsx<_> = open_workbook(path).map_err(|e| workbook_error(path, e))?;
    let names = wb.sheet_names();
    let name = match sheet {
        Some(s) => names
            .iter()
            .find(|n| n.as_str() == s)
            .cloned()
            .ok_or_else(|| {
                workbook_error(
                    path,
                    format!("没有名为「{s}」的工作表；现有：{}", names.join("、")),
                )
            })?,
        None => names
            .first()
            .cloned()
            .ok_or_else(|| workbook_error(path, "工作簿中没有工作表"))?,
    };
    let mut reader = wb
        .worksheet_cells_reader(&name)
        .map_err(|e| workbook_error(path, e))?;
    let mut row = SheetRow::default();
    let mut current: Option<u32> = None;
    while let Some(cell) = reader.next_cell().map_err(|e| workbook_error(path, e))? {
        let (r, c) = cell.get_position();
        if current != Some(r) {
            if current.is_some() && !row.is_blank() && !each(std::mem::take(&mut row)) {
                return Ok(());
            }
            row = SheetRow {
                line: u64::from(r) + 1,
                ..SheetRow::default()
            };
            current = Some(r);
        }
        let c = c as usize;
        if row.cells.len() <= c {
            row.cells.resize(c + 1, String::new());
            row.numeric.resize(c + 1, false);
        }
        let (text, numeric) = cell_text(cell.get_value());
        row.cells[c] = text;
        row.numeric[c] = numeric;
    }
    if current.is_some() && !row.is_blank() {
        each(row);
    }
    Ok(())
}

/// Whether the bytes start like a ZIP archive (XLSX).
pub fn looks_like_xlsx(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04")
}
