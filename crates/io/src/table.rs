//! Small tables read whole (villages, poverty lines, plans, project libraries): CSV in
//! UTF-8/GBK, CSV text already decoded, or an XLSX sheet, as rows of text cells with their
//! line numbers; and the header and cell reading the plan and project files share.

use crate::encoding::{self, TextEncoding};
use crate::error::{column_letter, FileError};
use crate::limits::{self, FileLimits};
use crate::members::{header_cells, open_head};
use crate::xlsx::{self, SheetRow};
use fupin_domain::fields::trim_cell;
use fupin_domain::problem::{echo, Problem, ProblemCode};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

/// A table: its header cells and its non-blank rows.
#[derive(Debug, Clone)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<SheetRow>,
    /// How it was read, e.g. `CSV（UTF-8）`.
    pub format: String,
}

/// Read a whole CSV or XLSX table within `limits`: an old `.xls`, a file over its size, a
/// CR-only CSV, a header or cell over its length and more cells than allowed are refused.
pub fn read_table(
    path: &Path,
    encoding: Option<TextEncoding>,
    sheet: Option<&str>,
    limits: &FileLimits,
) -> Result<Table, FileError> {
    let (mut file, mut bytes) = open_head(path)?;
    if bytes.is_empty() {
        return Err(FileError::Empty {
            path: path.to_path_buf(),
        });
    }
    if xlsx::looks_like_xls(&bytes) {
        return Err(xlsx::xls_refused(path));
    }
    if xlsx::looks_like_xlsx(&bytes) {
        let mut rows = Vec::new();
        xlsx::for_each_row(path, sheet, limits, |r| {
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
    let len = file.metadata().map_or(0, |m| m.len());
    limits::check_size(path, len, limits)?;
    encoding::refuse_cr_only(path, &bytes)?;
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
    drop(bytes);
    let header = header_cells(&text);
    if header
        .iter()
        .all(|c| fupin_domain::fields::trim_cell(c).is_empty())
    {
        return Err(FileError::Empty {
            path: path.to_path_buf(),
        });
    }
    check_header_cells(path, &header, limits)?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    let mut rec = csv::StringRecord::new();
    let mut cells = 0u64;
    while let Ok(true) = rdr.read_record(&mut rec) {
        cells += rec.len() as u64;
        limits::check_cells(path, cells, limits)?;
        check_record(path, &rec, &header, limits)?;
        rows.extend(csv_row(&rec, |c| c.trim().is_empty()));
    }
    Ok(Table {
        header,
        rows,
        format: format!("CSV（{}）", enc.name()),
    })
}

/// Refuse a header cell over its length.
pub(crate) fn check_header_cells(
    path: &Path,
    header: &[String],
    limits: &FileLimits,
) -> Result<(), FileError> {
    for (i, h) in header.iter().enumerate() {
        limits::check_cell(
            path,
            || format!("第1行 {}列（第{}列）", column_letter(i), i + 1),
            h,
            true,
            limits,
        )?;
    }
    Ok(())
}

/// Refuse a record's cell over its length, naming its line and column.
fn check_record(
    path: &Path,
    rec: &csv::StringRecord,
    header: &[String],
    limits: &FileLimits,
) -> Result<(), FileError> {
    for (i, c) in rec.iter().enumerate() {
        limits::check_cell(
            path,
            || {
                let line = rec.position().map_or(0, csv::Position::line);
                match header
                    .get(i)
                    .map(|h| trim_cell(h))
                    .filter(|h| !h.is_empty())
                {
                    Some(h) => format!("第{line}行「{}」列（{}列）", echo(h), column_letter(i)),
                    None => format!("第{line}行 {}列", column_letter(i)),
                }
            },
            c,
            false,
            limits,
        )?;
    }
    Ok(())
}

/// A CSV table from text already decoded (an upload, an embedded file), `CSV（UTF-8）`: the
/// first record is the header (none in an empty text: every column is then missing, which
/// the file's reader reports); blank rows are skipped; lines are the text's. Within
/// `limits`, as [`read_table`].
pub fn csv_text_table(
    file_name: &str,
    text: &str,
    limits: &FileLimits,
) -> Result<Table, FileError> {
    let path = Path::new(file_name);
    limits::check_size(path, text.len() as u64, limits)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    encoding::refuse_cr_only(path, text.as_bytes())?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut header: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    let mut cells = 0u64;
    for rec in rdr.records() {
        let rec = rec.map_err(|_| FileError::NotText {
            path: path.to_path_buf(),
            what: "无法按 CSV 读取".into(),
        })?;
        cells += rec.len() as u64;
        limits::check_cells(path, cells, limits)?;
        match &header {
            None => {
                let h: Vec<String> = rec.iter().map(str::to_string).collect();
                check_header_cells(path, &h, limits)?;
                header = Some(h);
                continue;
            }
            Some(h) => check_record(path, &rec, h, limits)?,
        }
        rows.extend(csv_row(&rec, |c| trim_cell(c).is_empty()));
    }
    Ok(Table {
        header: header.unwrap_or_default(),
        rows,
        format: "CSV（UTF-8）".into(),
    })
}

/// A CSV record as a row with its line, unless every cell is `blank`.
fn csv_row(rec: &csv::StringRecord, blank: impl Fn(&str) -> bool) -> Option<SheetRow> {
    if rec.iter().all(blank) {
        return None;
    }
    let cells: Vec<String> = rec.iter().map(str::to_string).collect();
    Some(SheetRow {
        line: rec.position().map_or(0, csv::Position::line),
        numeric: vec![false; cells.len()],
        cells,
    })
}

/// A file refused as a whole for its errors: `what` (the file's kind) has so many errors
/// and the `whole` is not read; every problem, warnings included, travels with it.
pub(crate) fn rejected(path: &Path, what: &str, whole: &str, problems: Vec<Problem>) -> FileError {
    let errors = problems.iter().filter(|p| p.code.is_error()).count();
    FileError::Problems {
        summary: format!(
            "{}：{what}有 {errors} 个错误，整个{whole}未读入（改正后重新提交）",
            path.display()
        ),
        problems,
    }
}

/// A column of a file read through [`locate_columns`]: known by its Chinese header or an
/// alias, and numbered among the file's columns.
pub(crate) trait Column: Copy {
    /// The column a header cell names, if any.
    fn from_header(h: &str) -> Option<Self>;
    /// Its number, below the count given to [`locate_columns`].
    fn index(self) -> usize;
    /// Its Chinese header, for messages.
    fn chinese(self) -> &'static str;
}

/// Where each known column stands in `header` (by [`Column::index`], `count` of them), and
/// the unknown headers, trimmed; blank header cells are no column. A known column twice
/// stops reading (as for registers): [`FileError::RepeatedColumn`] with both positions.
pub(crate) fn locate_columns<C: Column>(
    path: &Path,
    header: &[String],
    count: usize,
) -> Result<(Vec<Option<usize>>, Vec<String>), FileError> {
    let mut pos = vec![None; count];
    let mut unknown = Vec::new();
    for (i, h) in header.iter().enumerate() {
        match C::from_header(h) {
            Some(c) => {
                if let Some(first) = pos[c.index()] {
                    return Err(FileError::RepeatedColumn {
                        path: path.to_path_buf(),
                        column: c.chinese(),
                        first,
                        second: i,
                    });
                }
                pos[c.index()] = Some(i);
            }
            None if trim_cell(h).is_empty() => {}
            None => unknown.push(trim_cell(h).to_string()),
        }
    }
    Ok((pos, unknown))
}

/// The warning for unknown columns (line 1, `code`): they are ignored, and these are the
/// columns the file may have.
pub(crate) fn unknown_columns(
    file: &Arc<str>,
    code: ProblemCode,
    unknown: &[String],
    accepted: &[&str],
) -> Problem {
    Problem::new(
        file,
        1,
        "",
        code,
        format!(
            "未识别的列已忽略：{}；可用的列：{}",
            echo(&unknown.join("、")),
            accepted.join("、")
        ),
        unknown.join("、"),
    )
}

/// A row's cell in a located column, trimmed; empty when the file has no such column or
/// the row stops short of it.
pub(crate) fn cell(row: &SheetRow, at: Option<usize>) -> &str {
    at.and_then(|p| row.cells.get(p))
        .map_or("", |c| trim_cell(c))
}
