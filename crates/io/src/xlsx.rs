//! Reading the rows of one worksheet of an XLSX workbook as text cells, streaming.

use crate::error::{column_letter, FileError};
use crate::limits::{self, show_bytes, FileLimits, RATIO_FLOOR};
use crate::rows::Cells;
use calamine::{open_workbook, DataRef, Reader, Xlsx, XlsxError};
use std::io::Read;
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

/// A workbook calamine could not read, said in words: what the file seems to be and what
/// is accepted; the library's own text (「Zip error: … EOCD」) never reaches users.
fn workbook_error(path: &Path, e: &XlsxError) -> FileError {
    let message = match e {
        XlsxError::Zip(_) | XlsxError::Io(_) => {
            "文件已损坏或不完整，不是完整的 XLSX 工作簿（可能下载或复制时中断）；请重新导出，或在 Excel 中另存为 .xlsx 或 CSV"
        }
        XlsxError::Xml(_) | XlsxError::XmlAttr(_) | XlsxError::XmlEof(_) => {
            "工作簿的内容不是有效的表格数据（可能已损坏，或由不兼容的软件生成）；请在 Excel 中打开并另存为 .xlsx，或另存为 CSV"
        }
        XlsxError::Password => "工作簿设有密码保护；请取消密码后另存为 .xlsx，或另存为 CSV",
        _ => "无法按 XLSX 格式读取该工作簿；请在 Excel 中另存为 .xlsx 或 CSV（UTF-8）",
    };
    FileError::Workbook {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn message_error(path: &Path, message: impl Into<String>) -> FileError {
    FileError::Workbook {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn over(path: &Path, message: String) -> FileError {
    FileError::OverLimit {
        path: path.to_path_buf(),
        message,
    }
}

/// What checking a workbook found that reading it needs.
#[derive(Clone, Copy, Debug, Default)]
pub struct Checked {
    /// The workbook asks to be calculated when opened (`fullCalcOnLoad`): the program that
    /// wrote it stored no trustworthy formula values.
    pub calculate_on_load: bool,
}

/// Check a workbook before calamine unpacks anything (policy: an XLSX file is read only
/// when its parts, unpacked, fit its kind's limits). First its central directory: every
/// part's declared size adds up to at most `max_unpacked_bytes`, and no part over
/// [`RATIO_FLOOR`] unpacks to more than `max_ratio` times its packed size (the probe's
/// sheet of 1.5 GB of spaces packed into 1.6 MB is refused here, nothing unpacked). Then
/// the XML parts calamine parses, streamed in 64 KiB pieces without keeping them: their real
/// sizes (a directory may lie) against the same limits, the shared strings (held whole by
/// calamine) at most an eighth of the unpacked limit, and no run of text between two `<`
/// longer than a cell may be ([`FileLimits::max_xml_text_bytes`]), so the XML parser never
/// buffers more than that.
pub fn check_workbook(path: &Path, limits: &FileLimits) -> Result<Checked, FileError> {
    let file = std::fs::File::open(path).map_err(|e| FileError::io(path, e))?;
    let len = file.metadata().map_or(0, |m| m.len());
    crate::limits::check_size(path, len, limits)?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|_| {
        message_error(
            path,
            "文件已损坏或不完整，不是完整的 XLSX 工作簿（可能下载或复制时中断）；请重新导出，或在 Excel 中另存为 .xlsx 或 CSV",
        )
    })?;
    let broken = |_: zip::result::ZipError| {
        message_error(
            path,
            "工作簿内有损坏的部分，无法解压；请重新导出，或在 Excel 中另存为 .xlsx 或 CSV",
        )
    };
    let ratio_over = |name: &str, size: u64, packed: u64| {
        over(
            path,
            format!(
                "工作簿的部件 {name} 压缩 {} 解压后达 {}（{} 倍），超过上限 {} 倍：文件可能被填充了大量空白或是压缩炸弹；请在 Excel 中另存为 .xlsx 或 CSV 后重试",
                show_bytes(packed),
                show_bytes(size),
                fupin_domain::grouped(size / packed.max(1)),
                fupin_domain::grouped(limits.max_ratio)
            ),
        )
    };
    let total_over = |total: u64| {
        over(
            path,
            format!(
                "工作簿解压后超过 {}，超过此类文件的上限 {}；请检查是否选错了文件，或另存为 CSV、分批导入",
                show_bytes(total),
                show_bytes(limits.max_unpacked_bytes)
            ),
        )
    };
    let strings_limit = limits.max_unpacked_bytes / 8;
    let mut declared = 0u64;
    for i in 0..zip.len() {
        let part = zip.by_index_raw(i).map_err(broken)?;
        let (size, packed) = (part.size(), part.compressed_size());
        declared = declared.saturating_add(size);
        if size > RATIO_FLOOR && size / packed.max(1) > limits.max_ratio {
            return Err(ratio_over(&part.name().unwrap_or_default(), size, packed));
        }
        if declared > limits.max_unpacked_bytes {
            return Err(total_over(declared));
        }
    }
    let mut checked = Checked::default();
    let mut total = 0u64;
    let mut buf = vec![0u8; 64 << 10];
    let max_run = limits.max_xml_text_bytes();
    for i in 0..zip.len() {
        let mut part = zip.by_index(i).map_err(broken)?;
        let name = part
            .name()
            .map(std::borrow::Cow::into_owned)
            .unwrap_or_default();
        if !(name.ends_with(".xml") || name.ends_with(".rels")) {
            continue;
        }
        let packed = part.compressed_size();
        let is_strings = name.ends_with("sharedStrings.xml");
        let is_workbook = name == "xl/workbook.xml";
        let mut workbook_head = Vec::new();
        let (mut size, mut run) = (0u64, 0u64);
        loop {
            let n = part
                .read(&mut buf)
                .map_err(|e| broken(zip::result::ZipError::Io(e)))?;
            if n == 0 {
                break;
            }
            size += n as u64;
            total += n as u64;
            if total > limits.max_unpacked_bytes {
                return Err(total_over(total));
            }
            if size > RATIO_FLOOR && size / packed.max(1) > limits.max_ratio {
                return Err(ratio_over(&name, size, packed));
            }
            if is_strings && size > strings_limit {
                return Err(over(
                    path,
                    format!(
                        "工作簿的共享文本（{name}）解压后超过 {}，超过上限；请另存为 CSV 后导入",
                        show_bytes(strings_limit)
                    ),
                ));
            }
            if !text_runs_fit(&buf[..n], &mut run, max_run) {
                return Err(over(
                    path,
                    format!(
                        "工作簿的部件 {name} 中有一段超过 {} 的连续内容，超过任何单元格的上限（{} 个字符）：文件可能被填充了大量空白；请在 Excel 中另存为 .xlsx 或 CSV 后重试",
                        show_bytes(max_run),
                        fupin_domain::grouped(limits.max_cell_chars as u64)
                    ),
                ));
            }
            if is_workbook && workbook_head.len() < (1 << 20) {
                workbook_head.extend_from_slice(&buf[..n]);
            }
        }
        if is_workbook {
            checked.calculate_on_load =
                memchr::memmem::find(&workbook_head, b"fullCalcOnLoad=\"1\"").is_some()
                    || memchr::memmem::find(&workbook_head, b"fullCalcOnLoad=\"true\"").is_some();
        }
    }
    Ok(checked)
}

/// Whether every run of bytes without a `<` in `chunk`, `run` bytes of one being carried
/// from the chunks before, stays within `max`; `run` is left as the run the chunk ends in.
/// Looks for the last `<` of each window of `max` bytes, so dense XML is crossed a window
/// at a time.
fn text_runs_fit(chunk: &[u8], run: &mut u64, max: u64) -> bool {
    let mut p = 0usize;
    while p < chunk.len() {
        if *run > max {
            return false;
        }
        let room = (max - *run) as usize;
        let end = chunk.len().min(p.saturating_add(room).saturating_add(1));
        match memchr::memrchr(b'<', &chunk[p..end]) {
            Some(i) => {
                *run = 0;
                p += i + 1;
            }
            None => {
                *run += (end - p) as u64;
                p = end;
            }
        }
    }
    *run <= max
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

/// The names of a workbook's sheets, after [`check_workbook`].
pub fn sheet_names(path: &Path, limits: &FileLimits) -> Result<Vec<String>, FileError> {
    check_workbook(path, limits)?;
    let wb: Xlsx<_> = open_workbook(path).map_err(|e| workbook_error(path, &e))?;
    Ok(wb.sheet_names())
}

/// Call `each` for every non-blank row of the sheet (the first sheet unless one is named),
/// in order, after [`check_workbook`]; rows are streamed, never held whole. Stops early
/// when `each` returns false. Refused as a whole: a cell longer than the limit (the first
/// non-blank row's by the header limit), more cells than the limit, and a formula whose
/// value was never stored (policy: a formula is read as the value Excel stored for it; a
/// workbook without stored values must be saved in Excel first).
pub fn for_each_row(
    path: &Path,
    sheet: Option<&str>,
    limits: &FileLimits,
    mut each: impl FnMut(SheetRow) -> bool,
) -> Result<(), FileError> {
    let checked = check_workbook(path, limits)?;
    let mut wb: Xlsx<_> = open_workbook(path).map_err(|e| workbook_error(path, &e))?;
    let names = wb.sheet_names();
    let name = match sheet {
        Some(s) => names
            .iter()
            .find(|n| n.as_str() == s)
            .cloned()
            .ok_or_else(|| {
                message_error(
                    path,
                    format!("没有名为「{s}」的工作表；现有：{}", names.join("、")),
                )
            })?,
        None => names
            .first()
            .cloned()
            .ok_or_else(|| message_error(path, "工作簿中没有工作表"))?,
    };
    let mut reader = wb
        .worksheet_cells_reader(&name)
        .map_err(|e| workbook_error(path, &e))?;
    let mut row = SheetRow::default();
    let mut current: Option<u32> = None;
    let mut header_seen = false;
    let mut cells = 0u64;
    while let Some(cell) = reader
        .next_cell_with_formula_metadata()
        .map_err(|e| workbook_error(path, &e))?
    {
        let (r, c) = cell.pos;
        if current != Some(r) {
            if current.is_some() && !row.is_blank() {
                header_seen = true;
                if !each(std::mem::take(&mut row)) {
                    return Ok(());
                }
            }
            row = SheetRow {
                line: u64::from(r) + 1,
                ..SheetRow::default()
            };
            current = Some(r);
        }
        let at = || {
            format!(
                "工作表「{name}」第{}行 {}列（单元格 {}{}）",
                r + 1,
                column_letter(c as usize),
                column_letter(c as usize),
                r + 1
            )
        };
        if cell.formula.is_some()
            && (checked.calculate_on_load || matches!(cell.value, DataRef::Empty))
        {
            return Err(FileError::Format {
                path: path.to_path_buf(),
                message: format!(
                    "{}是公式，但文件中没有保存公式的计算结果（生成文件的程序没有计算它）；请在 Excel 中打开该工作簿并保存（保存时会存入计算结果），或把公式改为数值后重试",
                    at()
                ),
            });
        }
        let (text, numeric) = cell_text(&cell.value);
        limits::check_cell(path, at, &text, !header_seen, limits)?;
        cells += 1;
        limits::check_cells(path, cells, limits)?;
        let c = c as usize;
        if row.cells.len() <= c {
            row.cells.resize(c + 1, String::new());
            row.numeric.resize(c + 1, false);
        }
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

/// Whether the bytes start like an old Excel `.xls` (an OLE2 compound file).
pub fn looks_like_xls(head: &[u8]) -> bool {
    head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1])
}

/// The refusal of an old `.xls` file, whatever its name says.
pub fn xls_refused(path: &Path) -> FileError {
    FileError::Format {
        path: path.to_path_buf(),
        message: "这是旧版 Excel .xls 文件，请另存为 .xlsx 或 CSV（UTF-8）后重试".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::text_runs_fit;

    #[test]
    fn runs_without_a_tag_are_measured_across_chunks() {
        // A run is what follows a `<` up to the next one: `a>12345` is 7 bytes.
        let mut run = 0;
        assert!(text_runs_fit(b"<a>12345<b>", &mut run, 7));
        assert_eq!(run, 2);
        assert!(!text_runs_fit(b"<a>123456<b>", &mut 0, 7));
        let mut run = 0;
        assert!(text_runs_fit(b"<a>123", &mut run, 7));
        assert!(text_runs_fit(b"45<", &mut run, 7));
        let mut run = 0;
        assert!(text_runs_fit(b"<a>123", &mut run, 7));
        assert!(!text_runs_fit(b"456<", &mut run, 7));
        let dense = b"<c><v>1</v></c>".repeat(10_000);
        assert!(text_runs_fit(&dense, &mut 0, 16));
    }
}
