//! Small tables read whole (villages, poverty lines, plans): CSV in UTF-8/GBK or an XLSX
//! sheet, as rows of text cells with their line numbers.

use crate::encoding::{self, TextEncoding};
use crate::error::FileError;
use crate::members::{header_cells, open_head};
use crate::xlsx::{self, SheetRow};
use std::io::Read;
use std::path::Path;

/// A table: its header cells and its non-blank rows.
#[derive(Debug, Clone)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<SheetRow>,
    /// How it was read, e.g. `CSV（UTF-8）`.
    pub format: String,
}

/// Read a whole CSV or XLSX table.
pub fn read_table(
    path: &Path,
    encoding: Option<TextEncoding>,
    sheet: Option<&str>,
) -> Result<Table, FileError> {
    let (mut file, mut bytes) = open_head(path)?;
    if bytes.is_empty() {
        return Err(FileError::Empty {
            path: path.to_path_buf(),
        });
    }
    if xlsx::looks_like_xlsx(&bytes) {
        let mut rows = Vec::new();
        xlsx::for_each_row(path, sheet, |r| {
            rows.push(r);
            true
        })?;
        if rows.is_empty() {
            return Err(FileError::Empty {
                path: path.to_path_buf(),
            });
        }
        let header = rows.remove(0).cells;
        return Ok(Table {
            header,
            rows,
            format: "XLSX".into(),
        });
    }
    file.read_to_end(&mut bytes)
        .map_err(|e| FileError::io(path, e))?;
    let enc = match encoding {
        Some(e) => {
            encoding::detect(path, &bytes, true)?;
            e
        }
        None => encoding::detect(path, &bytes, true)?,
    };
    let bom = if enc == TextEncoding::Utf8 {
        encoding::bom_len(&bytes)
    } else {
        0
    };
    bytes.drain(..bom);
    let text = encoding::decode(path, &bytes, enc, 1)?.into_owned();
    let header = header_cells(&text);
    if header
        .iter()
        .all(|c| fupin_domain::fields::trim_cell(c).is_empty())
    {
        return Err(FileError::Empty {
            path: path.to_path_buf(),
        });
    }
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    let mut rec = csv::StringRecord::new();
    while let Ok(true) = rdr.read_record(&mut rec) {
        let cells: Vec<String> = rec.iter().map(str::to_string).collect();
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        rows.push(SheetRow {
            line: rec.position().map_or(0, |p| p.line()),
            numeric: vec![false; cells.len()],
            cells,
        });
    }
    Ok(Table {
        header,
        rows,
        format: format!("CSV（{}）", enc.name()),
    })
}
