//! Reading the members file (registry spec §1.1): CSV blocks decoded and parsed on every
//! core, merged in order into households; or an XLSX sheet, streamed.

use crate::blocks::BlockReader;
use crate::encoding::{self, TextEncoding};
use crate::error::{column_letter, FileError};
use crate::limits::{self, show_bytes, FileLimits};
use crate::merge::{Merger, Register};
use crate::rows::{Cells, ParsedRows};
use crate::xlsx;
use fupin_domain::fields::{Field, HeaderMap};
use fupin_domain::problem::{Problem, ProblemCode};
use fupin_domain::row::RowContext;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// How to read a register file.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// The assessment year Y (ages, birth dates).
    pub year: i32,
    /// None: detect from the bytes.
    pub encoding: Option<TextEncoding>,
    /// XLSX: the sheet to read; the first when None.
    pub sheet: Option<String>,
    /// Worker threads for CSV; 0 = one per core.
    pub threads: usize,
    /// Keep each member's name and relation text (for storing the register; assessing
    /// does not need them).
    pub member_texts: bool,
    /// Bytes of the file read so far, for a progress bar: CSV adds to it once per block
    /// of 512 KiB (XLSX does not report). The caller knows the file's size.
    pub progress: Option<Arc<AtomicU64>>,
    /// What the file may hold ([`FileLimits::MEMBERS`] unless the server's configuration
    /// says otherwise).
    pub limits: FileLimits,
}

impl ReadOptions {
    pub fn new(year: i32) -> ReadOptions {
        ReadOptions {
            year,
            encoding: None,
            sheet: None,
            threads: 0,
            member_texts: false,
            progress: None,
            limits: FileLimits::MEMBERS,
        }
    }
}

const HEAD: usize = 1 << 20;
/// Small enough that a block read by one thread is still in cache when another parses it.
const BLOCK: usize = 512 << 10;

/// Open a file and read its first bytes.
pub(crate) fn open_head(path: &Path) -> Result<(File, Vec<u8>), FileError> {
    let mut file = File::open(path).map_err(|e| FileError::io(path, e))?;
    let mut head = Vec::with_capacity(HEAD);
    (&mut file)
        .take(HEAD as u64)
        .read_to_end(&mut head)
        .map_err(|e| FileError::io(path, e))?;
    Ok((file, head))
}

/// The header problems common to every table: W205 for unknown columns; errors for
/// repeated and missing columns.
pub(crate) fn check_header<F: Copy>(
    path: &Path,
    file: &Arc<str>,
    map: &HeaderMap<F>,
    chinese: impl Fn(F) -> &'static str,
    missing: Vec<F>,
) -> Result<Vec<Problem>, FileError> {
    if let Some(&(f, first, second)) = map.repeated.first() {
        return Err(FileError::RepeatedColumn {
            path: path.to_path_buf(),
            column: chinese(f),
            first,
            second,
        });
    }
    if !missing.is_empty() {
        let problems: Vec<Problem> = missing
            .iter()
            .map(|&f| {
                Problem::new(
                    file,
                    1,
                    chinese(f),
                    ProblemCode::E101,
                    format!(
                        "缺少必填列「{}」：请在第1行加上这一列（中文列名或英文别名均可）",
                        chinese(f)
                    ),
                    "",
                )
            })
            .collect();
        return Err(FileError::Problems {
            summary: format!("{}：缺少必填列，未做评估", path.display()),
            problems,
        });
    }
    let mut problems = Vec::new();
    if !map.unknown.is_empty() {
        problems.push(Problem::new(
            file,
            1,
            "",
            ProblemCode::W205,
            format!(
                "以下列不属于登记表格式，已忽略：{}",
                fupin_domain::problem::echo(&map.unknown.join("、"))
            ),
            map.unknown.join("、"),
        ));
    }
    Ok(problems)
}

/// A csv reader of the records of `text`: no header row, records of any length.
fn records_of(text: &str) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes())
}

/// Read the first record of a CSV text as header cells.
pub(crate) fn header_cells(text: &str) -> Vec<String> {
    let mut rdr = records_of(text);
    let mut rec = csv::StringRecord::new();
    match rdr.read_record(&mut rec) {
        Ok(true) => rec.iter().map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

/// Read and check a members file (CSV or XLSX) into households.
pub fn read_members(path: &Path, opts: &ReadOptions) -> Result<Register, FileError> {
    let (file, head) = open_head(path)?;
    if head.is_empty() {
        return Err(FileError::Empty {
            path: path.to_path_buf(),
        });
    }
    let name: Arc<str> = path.display().to_string().into();
    if xlsx::looks_like_xls(&head) {
        return Err(xlsx::xls_refused(path));
    }
    if xlsx::looks_like_xlsx(&head) {
        drop(file);
        return read_members_xlsx(path, name, opts);
    }
    let file_len = file.metadata().map_or(0, |m| m.len());
    read_csv(path, name, file, head, file_len, opts)
}

/// A members file held in memory as UTF-8 text (the rows fupin writes for one household
/// when a change is checked), read by the same code as a file.
pub fn read_members_text(
    name: &str,
    text: &str,
    opts: &ReadOptions,
) -> Result<Register, FileError> {
    let opts = ReadOptions {
        encoding: Some(TextEncoding::Utf8),
        threads: 1,
        ..opts.clone()
    };
    let bytes = text.as_bytes().to_vec();
    let len = bytes.len() as u64;
    read_csv(
        Path::new(name),
        name.into(),
        std::io::empty(),
        bytes,
        len,
        &opts,
    )
}

/// A CSV members file whose first bytes are `head` and whose rest `rest` reads.
fn read_csv(
    path: &Path,
    name: Arc<str>,
    rest: impl Read + Send,
    head: Vec<u8>,
    file_len: u64,
    opts: &ReadOptions,
) -> Result<Register, FileError> {
    limits::check_size(path, file_len, &opts.limits)?;
    let detected = encoding::detect(path, &head, head.len() < HEAD)?;
    let enc = opts.encoding.unwrap_or(detected);
    let bom = if enc == TextEncoding::Utf8 {
        encoding::bom_len(&head)
    } else {
        0
    };
    let body = &head[bom..];
    encoding::refuse_cr_only(path, body)?;
    let header_end = match last_record_end_first(body) {
        Some(e) => e,
        None if head.len() < HEAD => body.len(),
        None => {
            return Err(FileError::NotText {
                path: path.to_path_buf(),
                what: "第1行超过1 MB 仍未结束，不像表格的表头".into(),
            })
        }
    };
    let header_text = encoding::decode(path, &body[..header_end], enc, 1)?;
    let cells = header_cells(&header_text);
    if cells
        .iter()
        .all(|c| fupin_domain::fields::trim_cell(c).is_empty())
    {
        return Err(FileError::Empty {
            path: path.to_path_buf(),
        });
    }
    crate::table::check_header_cells(path, &cells, &opts.limits)?;
    let map = HeaderMap::<Field>::new(cells.iter().map(String::as_str));
    let header_problems = check_header(path, &name, &map, Field::chinese, map.missing_required())?;
    // Data starts on the line after the header record (which may span lines).
    let first_line = 1 + memchr::memchr_iter(b'\n', &body[..header_end]).count() as u64;
    let data_start = bom + header_end;
    let ctx = RowContext::new(Arc::clone(&name), opts.year);
    let mut merger = Merger::new(name, header_problems);
    // A household takes 500–1,000 bytes of a file; reserving for the larger count avoids
    // copying the household table as it grows (untouched capacity costs nothing).
    merger.reserve((file_len / 500) as usize);
    let blocks = BlockReader::new(rest, BLOCK, head[data_start..].to_vec())
        .with_max_record(opts.limits.max_record_bytes);
    let parse = Parse {
        header: &cells,
        limits: &opts.limits,
        path,
        enc,
        map: &map,
        ctx: &ctx,
        threads: opts.threads,
        texts: opts.member_texts,
        progress: opts.progress.as_deref(),
    };
    if let Some(p) = parse.progress {
        p.fetch_add(data_start as u64, Ordering::Relaxed);
    }
    let merger = parse.blocks(blocks, first_line, merger)?;
    finish(path, merger, format!("CSV（{}）", enc.name()))
}

/// The register, unless the file had no data rows.
fn finish(path: &Path, merger: Merger, format: String) -> Result<Register, FileError> {
    let register = merger.finish(format);
    if register.rows == 0 {
        return Err(FileError::NoRows {
            path: path.to_path_buf(),
        });
    }
    Ok(register)
}

/// End of the first record (just after its newline).
fn last_record_end_first(bytes: &[u8]) -> Option<usize> {
    let mut in_quotes = false;
    for i in memchr::memchr2_iter(b'"', b'\n', bytes) {
        if bytes[i] == b'"' {
            in_quotes = !in_quotes;
        } else if !in_quotes {
            return Some(i + 1);
        }
    }
    None
}

/// A record of a block that was decoded to UTF-8.
struct Record<'a>(&'a csv::ByteRecord);

impl Cells for Record<'_> {
    fn get(&self, i: usize) -> Option<&str> {
        self.0.get(i).map(|b| {
            debug_assert!(std::str::from_utf8(b).is_ok());
            // SAFETY: the block was checked to be UTF-8 as a whole when it was decoded
            // (`encoding::decode` returns a String), and the csv reader cuts fields only at
            // ASCII bytes (`,` `"` CR LF) and drops only ASCII quote bytes, so every field is
            // a UTF-8 substring. Checking each field again cost a sixth of the run time.
            unsafe { std::str::from_utf8_unchecked(b) }
        })
    }
    fn width(&self) -> usize {
        self.0.len()
    }
}

/// Parse one decoded block of whole records. Runs of lines without a quote or a stray CR
/// (almost all of a register exported by a statistics system) are cut at newlines and
/// commas directly; each record holding a quote or a CR not ending its line goes through
/// the csv reader, which alone knows quoting. Both give the same rows and line numbers.
fn parse_block(
    text: &str,
    map: &HeaderMap<Field>,
    ctx: &RowContext,
    texts: bool,
    max_cell_chars: usize,
) -> ParsedRows {
    let mut out = ParsedRows {
        keep_texts: texts,
        max_cell_chars,
        ..ParsedRows::default()
    };
    let bytes = text.as_bytes();
    let (mut pos, mut line) = (0usize, 1u64);
    while pos < bytes.len() {
        let special = next_special(bytes, pos);
        let plain_end = special.map_or(bytes.len(), |i| line_start(bytes, pos, i));
        line += read_plain(&text[pos..plain_end], line, &mut out, map, ctx);
        pos = plain_end;
        if special.is_none() {
            break;
        }
        let (read, newlines) = read_quoted(&text[pos..], line, &mut out, map, ctx);
        line += newlines;
        pos += read;
    }
    out.lines = line - 1;
    out
}

/// The first quote, or CR not followed by a newline, at or after `from`.
fn next_special(bytes: &[u8], from: usize) -> Option<usize> {
    memchr::memchr2_iter(b'"', b'\r', &bytes[from..])
        .map(|i| from + i)
        .find(|&i| bytes[i] == b'"' || bytes.get(i + 1) != Some(&b'\n'))
}

/// Where the line holding byte `i` starts (not before `from`).
fn line_start(bytes: &[u8], from: usize, i: usize) -> usize {
    memchr::memrchr(b'\n', &bytes[from..i]).map_or(from, |n| from + n + 1)
}

/// Whether the line from `from` to its newline has a quote or a stray CR.
fn special_in_line(bytes: &[u8], from: usize) -> bool {
    let end = memchr::memchr(b'\n', &bytes[from..]).map_or(bytes.len(), |i| from + i);
    next_special(&bytes[..end], from).is_some()
}

/// A quote-free line cut at its commas.
struct PlainRow<'a> {
    row: &'a str,
    commas: &'a [usize],
}

impl Cells for PlainRow<'_> {
    fn get(&self, i: usize) -> Option<&str> {
        let start = match i {
            0 => 0,
            _ => self.commas.get(i - 1)? + 1,
        };
        let end = self.commas.get(i).copied().unwrap_or(self.row.len());
        // Commas are ASCII, so both ends are character boundaries.
        self.row.get(start..end)
    }
    fn width(&self) -> usize {
        self.commas.len() + 1
    }
}

/// Lines without quotes or stray CRs, the first being line `first_line` of the block:
/// fields between commas, CRLF endings dropped, blank lines skipped, as the csv reader
/// does. Returns the newlines read.
fn read_plain(
    text: &str,
    first_line: u64,
    out: &mut ParsedRows,
    map: &HeaderMap<Field>,
    ctx: &RowContext,
) -> u64 {
    let bytes = text.as_bytes();
    let mut commas: Vec<usize> = Vec::with_capacity(64);
    let (mut start, mut line) = (0usize, first_line);
    while start < bytes.len() {
        let newline = memchr::memchr(b'\n', &bytes[start..]).map(|i| start + i);
        let end = newline.unwrap_or(bytes.len());
        let row_end = if end > start && bytes[end - 1] == b'\r' {
            end - 1
        } else {
            end
        };
        let row = &text[start..row_end];
        if !row.bytes().all(|b| matches!(b, b' ' | b'\t' | b',')) {
            commas.clear();
            commas.extend(memchr::memchr_iter(b',', row.as_bytes()));
            out.push_row(
                &PlainRow {
                    row,
                    commas: &commas,
                },
                line,
                map,
                ctx,
            );
        }
        match newline {
            Some(n) => {
                line += 1;
                start = n + 1;
            }
            None => break,
        }
    }
    line - first_line
}

/// Records read with the csv reader from the start of `text` (line `first_line` of the
/// block) until one ends where a line without quotes or stray CRs begins, or the text
/// ends: so a quoted field spanning lines is read whole, however its quotes fall. Returns
/// the bytes and the newlines read.
fn read_quoted(
    text: &str,
    first_line: u64,
    out: &mut ParsedRows,
    map: &HeaderMap<Field>,
    ctx: &RowContext,
) -> (usize, u64) {
    let mut rdr = records_of(text);
    let mut rec = csv::ByteRecord::new();
    let bytes = text.as_bytes();
    let mut end = bytes.len();
    // Lines are counted here, not taken from the csv reader, which counts CRLF files one
    // line short: a record starts at its first byte that is not a line ending.
    let (mut counted_to, mut line) = (0usize, first_line);
    // Reading from memory cannot fail, and ByteRecords are not checked for UTF-8.
    while let Ok(true) = rdr.read_byte_record(&mut rec) {
        let mut start = rec
            .position()
            .map_or(0, |p| p.byte() as usize)
            .min(bytes.len());
        while start < bytes.len() && (bytes[start] == b'\n' || bytes[start] == b'\r') {
            start += 1;
        }
        if start > counted_to {
            line += memchr::memchr_iter(b'\n', &bytes[counted_to..start]).count() as u64;
            counted_to = start;
        }
        if !rec
            .iter()
            .all(|f| f.iter().all(|b| *b == b' ' || *b == b'\t' || *b == b'\r'))
        {
            out.push_row(&Record(&rec), line, map, ctx);
        }
        let next = (rdr.position().byte() as usize).min(bytes.len());
        if next >= bytes.len() || !special_in_line(bytes, next) {
            end = next;
            break;
        }
    }
    let counted_to = counted_to.min(end);
    let newlines =
        line - first_line + memchr::memchr_iter(b'\n', &bytes[counted_to..end]).count() as u64;
    (end, newlines)
}

/// What parsing every block needs.
struct Parse<'a> {
    path: &'a Path,
    /// The header's cells, to name a column in a refusal.
    header: &'a [String],
    limits: &'a FileLimits,
    enc: TextEncoding,
    map: &'a HeaderMap<Field>,
    ctx: &'a RowContext,
    threads: usize,
    texts: bool,
    progress: Option<&'a AtomicU64>,
}

impl Parse<'_> {
    /// Decode and parse blocks on worker threads; merge their rows in file order here.
    fn blocks(
        &self,
        mut blocks: BlockReader<impl Read + Send>,
        first_line: u64,
        mut merger: Merger,
    ) -> Result<Merger, FileError> {
        let workers = if self.threads == 0 {
            std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
        } else {
            self.threads
        };
        let read_error: Mutex<Option<std::io::Error>> = Mutex::new(None);
        let mut first_error: Option<FileError> = None;
        let mut line = first_line;
        let mut cells = 0u64;
        std::thread::scope(|s| {
            let (block_tx, block_rx) = crossbeam_channel::bounded::<(usize, Vec<u8>)>(workers * 2);
            let (done_tx, done_rx) =
                crossbeam_channel::bounded::<(usize, Result<ParsedRows, FileError>)>(workers * 2);
            // Buffers go back to the reader once parsed: they stay in cache and their pages
            // are not faulted in afresh.
            let (spare_tx, spare_rx) = crossbeam_channel::unbounded::<Vec<u8>>();
            let read_error = &read_error;
            s.spawn(move || {
                let mut seq = 0;
                loop {
                    let spare = spare_rx.try_recv().unwrap_or_default();
                    let block = match blocks.next_block(spare) {
                        Ok(Some(b)) => b,
                        Ok(None) => break,
                        Err(e) => {
                            *read_error
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(e);
                            break;
                        }
                    };
                    if let Some(p) = self.progress {
                        p.fetch_add(block.len() as u64, Ordering::Relaxed);
                    }
                    if block_tx.send((seq, block)).is_err() {
                        break;
                    }
                    seq += 1;
                }
            });
            for _ in 0..workers {
                let block_rx = block_rx.clone();
                let done_tx = done_tx.clone();
                let spare_tx = spare_tx.clone();
                s.spawn(move || {
                    for (seq, block) in block_rx {
                        let parsed = encoding::decode(self.path, &block, self.enc, 1).map(|text| {
                            parse_block(
                                &text,
                                self.map,
                                self.ctx,
                                self.texts,
                                self.limits.max_cell_chars,
                            )
                        });
                        let _ = spare_tx.send(block);
                        if done_tx.send((seq, parsed)).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(done_tx);
            drop(block_rx);
            drop(spare_tx);
            let mut waiting = BTreeMap::new();
            let mut next = 0;
            let line = &mut line;
            'recv: for (seq, parsed) in &done_rx {
                waiting.insert(seq, parsed);
                while let Some(parsed) = waiting.remove(&next) {
                    match parsed {
                        Ok(block) => {
                            cells += block.cells;
                            let refused = match &block.long_cell {
                                Some(c) => Some(self.long_cell(c, *line)),
                                None => limits::check_cells(self.path, cells, self.limits).err(),
                            };
                            if let Some(e) = refused {
                                first_error = Some(e);
                                break 'recv;
                            }
                            let lines = block.lines;
                            merger.push(block, *line);
                            *line += lines;
                        }
                        Err(mut e) => {
                            if let FileError::InvalidBytes { line: l, .. } = &mut e {
                                *l += *line - 1;
                            }
                            first_error = Some(e);
                            break 'recv;
                        }
                    }
                    next += 1;
                }
            }
            drop(done_rx);
        });
        if let Some(e) = first_error {
            return Err(e);
        }
        if let Some(e) = read_error
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            if let Some(long) = crate::blocks::record_too_long(&e) {
                // Every block before the long record was merged: `line` is where it starts.
                if long.cell_bytes > self.limits.max_cell_chars.saturating_mul(4) {
                    let prefix = encoding::decode_lossy(&long.prefix, self.enc);
                    let prefix: String = prefix
                        .chars()
                        .take(fupin_domain::problem::ECHO_CHARS)
                        .collect();
                    return Err(FileError::OverLimit {
                        path: self.path.to_path_buf(),
                        message: format!(
                            "第{line}行{}：单元格超过 {} 个字符，读到 {} 仍未结束（内容：{prefix}…）；请检查该单元格是否粘贴了多余的内容，或有未配对的双引号",
                            self.column_name(long.column),
                            fupin_domain::grouped(self.limits.max_cell_chars as u64),
                            show_bytes(long.cell_bytes as u64)
                        ),
                    });
                }
                return Err(FileError::OverLimit {
                    path: self.path.to_path_buf(),
                    message: format!(
                        "第{line}行起的一条记录超过上限 {} 仍未结束：可能是一行过长，或有未配对的双引号使多行连成了一条；请检查该行",
                        show_bytes(self.limits.max_record_bytes as u64)
                    ),
                });
            }
            return Err(FileError::io(self.path, e));
        }
        Ok(merger)
    }

    /// A column as messages name it: `「姓名」列（D列）`, or ` AC列` past the header.
    fn column_name(&self, column: usize) -> String {
        match self
            .header
            .get(column)
            .map(|h| fupin_domain::fields::trim_cell(h))
        {
            Some(h) if !h.is_empty() => format!(
                "「{}」列（{}列）",
                fupin_domain::problem::echo(h),
                column_letter(column)
            ),
            _ => format!(" {}列", column_letter(column)),
        }
    }

    /// The refusal of a cell over its length, found in a block starting at `first_line`.
    fn long_cell(&self, c: &crate::rows::LongCell, first_line: u64) -> FileError {
        let line = first_line + c.line - 1;
        let column = self.column_name(c.column);
        FileError::OverLimit {
            path: self.path.to_path_buf(),
            message: format!(
                "第{line}行{column}：单元格有 {} 个字符，超过上限 {} 个字符（内容：{}）；请检查该单元格是否粘贴了多余的内容",
                fupin_domain::grouped(c.chars as u64),
                fupin_domain::grouped(self.limits.max_cell_chars as u64),
                c.value
            ),
        }
    }
}

/// Read the members sheet of an XLSX workbook.
fn read_members_xlsx(
    path: &Path,
    name: Arc<str>,
    opts: &ReadOptions,
) -> Result<Register, FileError> {
    let ctx = RowContext::new(Arc::clone(&name), opts.year);
    let mut map: Option<HeaderMap<Field>> = None;
    let mut merger: Option<Merger> = None;
    let fresh = || ParsedRows {
        keep_texts: opts.member_texts,
        ..ParsedRows::default()
    };
    let mut block = fresh();
    let mut failure: Option<FileError> = None;
    xlsx::for_each_row(path, opts.sheet.as_deref(), &opts.limits, |row| {
        match &map {
            None => {
                let m = HeaderMap::<Field>::new(row.cells.iter().map(String::as_str));
                match check_header(path, &name, &m, Field::chinese, m.missing_required()) {
                    Ok(problems) => {
                        merger = Some(Merger::new(Arc::clone(&name), problems));
                        map = Some(m);
                    }
                    Err(e) => {
                        failure = Some(e);
                        return false;
                    }
                }
            }
            Some(m) => {
                block.push_row(&row, row.line, m, &ctx);
                if block.rows >= 16_384 {
                    if let Some(mg) = merger.as_mut() {
                        mg.push(std::mem::replace(&mut block, fresh()), 1);
                    }
                }
            }
        }
        true
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    let mut merger = merger.ok_or_else(|| FileError::Empty {
        path: path.to_path_buf(),
    })?;
    merger.push(block, 1);
    finish(path, merger, "XLSX".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The golden register's header and body, as text.
    fn golden() -> (String, String) {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/tests/fixtures/golden/members.csv");
        let text = std::fs::read_to_string(path).unwrap();
        let text = text.trim_start_matches('\u{feff}');
        let (header, body) = text.split_once('\n').unwrap();
        // Its rows without quotes: thousands separators and commas in notes dropped.
        let mut rdr = records_of(body);
        let rows: Vec<String> = rdr
            .records()
            .map(|r| r.unwrap())
            .map(|r| {
                let cells: Vec<String> = r.iter().map(|f| f.replace([',', '"'], "")).collect();
                cells.join(",")
            })
            .collect();
        assert!(rows.len() > 20);
        (
            header.trim_end_matches('\r').to_string(),
            rows.join("\n") + "\n",
        )
    }

    /// The oracle: one csv reader over the whole block, as every block was read before
    /// the plain lines were cut directly.
    fn csv_only(text: &str, map: &HeaderMap<Field>, ctx: &RowContext) -> ParsedRows {
        let mut out = ParsedRows {
            keep_texts: true,
            ..ParsedRows::default()
        };
        let mut rdr = records_of(text);
        let mut rec = csv::ByteRecord::new();
        let bytes = text.as_bytes();
        let (mut counted_to, mut line) = (0usize, 1u64);
        while let Ok(true) = rdr.read_byte_record(&mut rec) {
            let mut start = rec.position().map_or(0, |p| p.byte() as usize);
            while start < bytes.len() && (bytes[start] == b'\n' || bytes[start] == b'\r') {
                start += 1;
            }
            if start > counted_to {
                line += memchr::memchr_iter(b'\n', &bytes[counted_to..start]).count() as u64;
                counted_to = start;
            }
            if !rec.iter().all(|f| f.iter().all(|b| b" \t\r".contains(b))) {
                out.push_row(&Record(&rec), line, map, ctx);
            }
        }
        out.lines = line - 1 + memchr::memchr_iter(b'\n', &bytes[counted_to..]).count() as u64;
        out
    }

    /// Blocks give what the csv reader alone gives, row for row: line numbers, cells,
    /// problems; blank and comma-only lines skipped; CRLF endings; short and long rows; a
    /// last line without its newline; quoted fields, one spanning lines; a stray CR.
    #[test]
    fn blocks_read_as_the_csv_reader_reads_them() {
        let (header, body) = golden();
        let map = HeaderMap::<Field>::new(header_cells(&header).iter().map(String::as_str));
        let ctx = RowContext::new(Arc::from("members.csv"), 2018);
        let lines: Vec<&str> = body.lines().collect();
        let short = lines[3].rsplitn(4, ',').last().unwrap().to_string();
        let long = format!("{},多余,, ", lines[4]);
        let quoted = lines[6].replacen(",", ",\"", 3).replacen(",\"", "\",\"", 2) + "";
        let spanning = lines[8].replacen(",", ",\"第一行\n第二行,\"\"x\"\"\",", 1);
        let stray = lines[10].replacen(",", ",\r", 1);
        let mut odd = lines.clone();
        odd.insert(2, "");
        odd.insert(5, " , ,\t,");
        odd.insert(7, &short);
        odd.insert(9, &long);
        odd.push("   ");
        let mut quotes = lines.clone();
        quotes[6] = &quoted;
        quotes[8] = &spanning;
        quotes[10] = &stray;
        quotes[lines.len() - 1] = &spanning;
        let raw = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/tests/fixtures/golden/members.csv"),
        )
        .unwrap();
        let raw_body = raw.split_once('\n').unwrap().1.to_string();
        let blocks = [
            raw_body.clone(),
            raw_body.replace('\n', "\r\n"),
            body.clone(),
            body.replace('\n', "\r\n"),
            odd.join("\n"),
            odd.join("\r\n") + "\r\n\r\n",
            body.trim_end().to_string(),
            String::new(),
            quotes.join("\n") + "\n",
            quotes.join("\r\n"),
            format!("\"{}\"\n{}", lines[0].replace(',', "\",\""), lines[1]),
        ];
        for (i, block) in blocks.iter().enumerate() {
            let mine = parse_block(block, &map, &ctx, true, 0);
            let csv = csv_only(block, &map, &ctx);
            let (mine_text, csv_text) = (format!("{mine:?}"), format!("{csv:?}"));
            if mine_text != csv_text {
                let at = mine_text
                    .bytes()
                    .zip(csv_text.bytes())
                    .take_while(|(a, b)| a == b)
                    .count();
                let around = |t: &str| {
                    t.get(at.saturating_sub(300)..(at + 200).min(t.len()))
                        .unwrap_or("")
                        .to_string()
                };
                panic!(
                    "block {i} differs:\n{}\n---\n{}",
                    around(&mine_text),
                    around(&csv_text)
                );
            }
            assert!(mine.rows > 1 || block.is_empty(), "block {i}");
        }
    }
}
