//! Hostile files for the io, command-line and web tests, generated when a test runs
//! (nothing over a few kilobytes is committed): an XLSX whose sheet XML is padded with
//! spaces, a CSV of one huge line, a huge header, a huge name, names with control and
//! invisible characters, a formula without a cached value, a CR-only CSV, an old `.xls`
//! and a truncated workbook. Each writes into a folder the test owns and returns the path.

use std::io::Write;
use std::path::{Path, PathBuf};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// The golden members file's text (header and rows).
pub fn golden_members() -> String {
    String::from_utf8(crate::golden_bytes("members.csv")).unwrap()
}

/// The golden members file's header and its first `rows` data lines.
pub fn golden_head(rows: usize) -> String {
    let text = golden_members();
    let mut out: String = text.lines().take(rows + 1).collect::<Vec<_>>().join("\n");
    out.push('\n');
    out
}

/// One cell of a generated sheet.
#[derive(Clone, Debug)]
pub enum XCell {
    Text(String),
    Number(f64),
    /// A formula, with its cached value when Some (`<v>`), without one when None.
    Formula(String, Option<String>),
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The rows of a CSV text as cells (numbers stay text, as a register keeps them).
pub fn csv_cells(text: &str) -> Vec<Vec<XCell>> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    rdr.records()
        .map(|r| r.unwrap().iter().map(|c| XCell::Text(c.into())).collect())
        .collect()
}

/// Write a minimal workbook of one sheet `Sheet1` (inline strings, no shared strings):
/// `rows` as its rows, and `pad` spaces after the first row's end tag, deflated. The
/// spaces are written in chunks, so a padding of hundreds of megabytes costs little
/// memory; deflate packs them about a thousand to one.
pub fn xlsx_with(path: &Path, rows: &[Vec<XCell>], pad: u64) -> PathBuf {
    let file = std::fs::File::create(path).unwrap();
    let mut zip = ZipWriter::new(std::io::BufWriter::new(file));
    let opts = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(9))
        .large_file(pad > u64::from(u32::MAX) / 2);
    let part = |zip: &mut ZipWriter<_>, name: &str, text: &str| {
        zip.start_file(name, opts).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    };
    part(
        &mut zip,
        "[Content_Types].xml",
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
    );
    part(
        &mut zip,
        "_rels/.rels",
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
    );
    part(
        &mut zip,
        "xl/workbook.xml",
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
    );
    part(
        &mut zip,
        "xl/_rels/workbook.xml.rels",
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
    );
    zip.start_file("xl/worksheets/sheet1.xml", opts).unwrap();
    zip.write_all(
        br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
    )
    .unwrap();
    for (r, row) in rows.iter().enumerate() {
        let mut xml = format!("<row r=\"{}\">", r + 1);
        for (c, cell) in row.iter().enumerate() {
            let at = format!("{}{}", fupin_io::error::column_letter(c), r + 1);
            match cell {
                XCell::Text(t) => xml.push_str(&format!(
                    "<c r=\"{at}\" t=\"inlineStr\"><is><t xml:space=\"preserve\">{}</t></is></c>",
                    escape(t)
                )),
                XCell::Number(n) => xml.push_str(&format!("<c r=\"{at}\"><v>{n}</v></c>")),
                XCell::Formula(f, Some(v)) => xml.push_str(&format!(
                    "<c r=\"{at}\"><f>{}</f><v>{}</v></c>",
                    escape(f),
                    escape(v)
                )),
                XCell::Formula(f, None) => {
                    xml.push_str(&format!("<c r=\"{at}\"><f>{}</f></c>", escape(f)));
                }
            }
        }
        xml.push_str("</row>");
        zip.write_all(xml.as_bytes()).unwrap();
        if r == 0 && pad > 0 {
            let chunk = vec![b' '; 1 << 20];
            let mut left = pad;
            while left > 0 {
                let n = left.min(chunk.len() as u64) as usize;
                zip.write_all(&chunk[..n]).unwrap();
                left -= n as u64;
            }
        }
    }
    zip.write_all(b"</sheetData></worksheet>").unwrap();
    zip.finish().unwrap().flush().unwrap();
    path.to_path_buf()
}

/// The golden register's first `rows` members as an XLSX whose sheet XML carries `pad`
/// spaces after the header row (the probe's file: 1.6 MB packed, 1.5 GB of spaces).
pub fn padded_xlsx(dir: &Path, rows: usize, pad: u64) -> PathBuf {
    xlsx_with(
        &dir.join("padded.xlsx"),
        &csv_cells(&golden_head(rows)),
        pad,
    )
}

/// The golden register's first rows as an XLSX in which 人均纯收入 of the first data row
/// is a formula without a cached value (as written by a program that never calculated
/// it), and of the second a formula with one.
pub fn formula_xlsx(dir: &Path) -> PathBuf {
    let mut rows = csv_cells(&golden_head(3));
    let col = rows[0]
        .iter()
        .position(|c| matches!(c, XCell::Text(t) if t == "人均纯收入"))
        .unwrap();
    rows[1][col] = XCell::Formula("SUM(P2:T2)/1".into(), None);
    rows[2][col] = XCell::Formula("4000".into(), Some("4000".into()));
    xlsx_with(&dir.join("formula.xlsx"), &rows, 0)
}

/// A CSV of `header` and one record whose cell `huge_col` (0-based) holds `len` bytes of
/// `fill`, the other cells copied from `row`; no newline at its end. The cell is written
/// in chunks.
pub fn huge_cell_csv(
    path: &Path,
    header: &str,
    row: &str,
    huge_col: usize,
    fill: u8,
    len: u64,
) -> PathBuf {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(f, "{header}").unwrap();
    let cells: Vec<&str> = row.split(',').collect();
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            f.write_all(b",").unwrap();
        }
        if i == huge_col {
            let chunk = vec![fill; 1 << 20];
            let mut left = len;
            while left > 0 {
                let n = left.min(chunk.len() as u64) as usize;
                f.write_all(&chunk[..n]).unwrap();
                left -= n as u64;
            }
        } else {
            f.write_all(c.as_bytes()).unwrap();
        }
    }
    f.flush().unwrap();
    path.to_path_buf()
}

/// The golden header and its first row with 姓名 of `len` bytes of `x`, one line (the
/// probe's 200 MB single-line file was of this shape; a 10 MB name is the same with less).
pub fn huge_name_csv(dir: &Path, len: u64) -> PathBuf {
    let head = golden_head(1);
    let mut lines = head.lines();
    let (header, row) = (lines.next().unwrap(), lines.next().unwrap());
    let col = header.split(',').position(|h| h == "姓名").unwrap();
    huge_cell_csv(&dir.join("huge-name.csv"), header, row, col, b'x', len)
}

/// One line of `len` bytes of `a` and nothing else: no header end, no record end.
pub fn single_line_csv(dir: &Path, len: u64) -> PathBuf {
    let path = dir.join("single-line.csv");
    huge_cell_csv(&path, "", "a", 0, b'a', len);
    // huge_cell_csv wrote an empty header line first: drop it.
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[1..]).unwrap();
    path
}

/// The golden members file (`rows` data lines) with an unknown header of `len` characters
/// added as its last column.
pub fn huge_header_csv(dir: &Path, rows: usize, len: usize) -> PathBuf {
    let head = golden_head(rows);
    let mut out = String::new();
    for (i, line) in head.lines().enumerate() {
        out.push_str(line);
        out.push(',');
        if i == 0 {
            out.push_str(&"备".repeat(len));
        }
        out.push('\n');
    }
    let path = dir.join("huge-header.csv");
    std::fs::write(&path, out).unwrap();
    path
}

/// Characters a name must not carry, with how they are named in messages.
pub const BAD_NAME_CHARS: [(char, &str); 6] = [
    ('\u{1}', "U+0001"),
    ('\u{1F}', "U+001F"),
    ('\u{202E}', "U+202E"),
    ('\u{2066}', "U+2066"),
    ('\u{200B}', "U+200B"),
    ('\u{FEFF}', "U+FEFF"),
];

/// The golden members file's first `rows` data lines, the name of data line `i` (from 0,
/// for each bad character in turn) carrying `BAD_NAME_CHARS[i]` in its middle.
pub fn control_names_csv(dir: &Path, rows: usize) -> PathBuf {
    let head = golden_head(rows.max(BAD_NAME_CHARS.len()));
    let header = head.lines().next().unwrap();
    let col = header.split(',').position(|h| h == "姓名").unwrap();
    let mut out = format!("{header}\n");
    for (i, line) in head.lines().skip(1).enumerate() {
        let mut cells: Vec<String> = line.split(',').map(str::to_string).collect();
        if let Some((c, _)) = BAD_NAME_CHARS.get(i) {
            let name = &cells[col];
            let mid = name.char_indices().nth(2).map_or(name.len(), |(b, _)| b);
            cells[col] = format!("{}{c}{}", &name[..mid], &name[mid..]);
        }
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    let path = dir.join("control-names.csv");
    std::fs::write(&path, out).unwrap();
    path
}

/// `text` with every line ended by a bare CR (old Mac style), as `name` in `dir`.
pub fn cr_only(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    let body = text.replace("\r\n", "\n").replace('\n', "\r");
    std::fs::write(&path, body).unwrap();
    path
}

/// The golden members file's first `rows` data lines with CR-only line ends.
pub fn cr_only_members(dir: &Path, rows: usize) -> PathBuf {
    cr_only(dir, "cr-only.csv", &golden_head(rows))
}

/// An old Excel `.xls` (an OLE2 compound file: D0 CF 11 E0 A1 B1 1A E1), named `.xlsx` or
/// `.csv` as a user might.
pub fn xls_file(dir: &Path, name: &str) -> PathBuf {
    let mut bytes = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    bytes.extend(std::iter::repeat_n(0u8, 4096));
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A workbook cut in half (its central directory lost, as a broken download leaves it).
pub fn truncated_xlsx(dir: &Path) -> PathBuf {
    let whole = xlsx_with(&dir.join("whole.xlsx"), &csv_cells(&golden_head(20)), 0);
    let bytes = std::fs::read(&whole).unwrap();
    let path = dir.join("truncated.xlsx");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    std::fs::remove_file(whole).unwrap();
    path
}
