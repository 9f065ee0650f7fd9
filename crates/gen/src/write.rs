//! Writing rows: CSV (UTF-8 without BOM, or GBK) and XLSX (rust_xlsxwriter in constant
//! memory mode). Cells are formatted by hand into reused buffers — no allocation per row —
//! because a register of 10 million households is some 33 million rows.

use crate::household::Household;
use crate::layout::Village;
use fupin_domain::fields::{Field, VillageField};
use fupin_domain::values::{bool_label, Sex};
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

/// Where the cells of rows go.
pub trait Sink {
    /// A text cell.
    fn text(&mut self, s: &str);
    /// A text cell made only of ASCII digits (ID numbers, household numbers): text in
    /// XLSX too, as Excel keeps only 15 digits of a number.
    fn digits(&mut self, s: &[u8]);
    /// An amount in fen, written in yuan with two decimals.
    fn amount(&mut self, fen: i64);
    fn integer(&mut self, n: u64);
    fn end_row(&mut self) -> io::Result<()>;
    /// Flush and close the file.
    fn finish(self) -> io::Result<()>;
}

/// Append `fen` as plain yuan with two decimals: `12345.60`, `-5.00`.
pub fn push_amount(out: &mut Vec<u8>, fen: i64) {
    if fen < 0 {
        out.push(b'-');
    }
    let a = fen.unsigned_abs();
    let mut b = itoa::Buffer::new();
    out.extend_from_slice(b.format(a / 100).as_bytes());
    let cents = (a % 100) as u8;
    out.extend_from_slice(&[b'.', b'0' + cents / 10, b'0' + cents % 10]);
}

/// The synthetic name of member `index` (0 = head) of household `number`:
/// 虚拟户主000123, 虚拟成员000123-2.
pub fn push_name(out: &mut String, number: u64, index: usize) {
    out.push_str(if index == 0 {
        "虚拟户主"
    } else {
        "虚拟成员"
    });
    crate::layout::push_padded(out, number, 6);
    if index > 0 {
        out.push('-');
        let mut b = itoa::Buffer::new();
        out.push_str(b.format(index + 1));
    }
}

/// Bytes buffered before they go to the file.
const CHUNK: usize = 1 << 20;

/// A CSV file: rows are built in UTF-8 in a buffer, which is written out (or first encoded
/// in GBK) in chunks of whole rows.
pub struct CsvSink {
    file: File,
    buf: Vec<u8>,
    /// GBK output: the encoder and its output buffer.
    gbk: Option<(encoding_rs::Encoder, Vec<u8>)>,
    first_cell: bool,
    /// Rows written, header included (line number of the last row).
    line: u64,
}

impl CsvSink {
    pub fn create(path: &Path, gbk: bool) -> io::Result<CsvSink> {
        Ok(CsvSink {
            file: File::create(path)?,
            buf: Vec::with_capacity(CHUNK + 4096),
            gbk: gbk.then(|| (encoding_rs::GBK.new_encoder(), Vec::new())),
            first_cell: true,
            line: 0,
        })
    }

    fn sep(&mut self) {
        if !self.first_cell {
            self.buf.push(b',');
        }
        self.first_cell = false;
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        match &mut self.gbk {
            None => self.file.write_all(&self.buf)?,
            Some((encoder, out)) => {
                let text = std::str::from_utf8(&self.buf)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                let need = encoder
                    .max_buffer_length_from_utf8_without_replacement(text.len())
                    .unwrap_or(text.len() * 2);
                out.resize(need, 0);
                let (result, _, written) =
                    encoder.encode_from_utf8_without_replacement(text, out, false);
                if let encoding_rs::EncoderResult::Unmappable(c) = result {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("字符「{c}」无法用 GBK 编码"),
                    ));
                }
                self.file.write_all(&out[..written])?;
            }
        }
        self.buf.clear();
        Ok(())
    }
}

impl Sink for CsvSink {
    fn text(&mut self, s: &str) {
        self.sep();
        if s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
            self.buf.push(b'"');
            for b in s.bytes() {
                if b == b'"' {
                    self.buf.push(b'"');
                }
                self.buf.push(b);
            }
            self.buf.push(b'"');
        } else {
            self.buf.extend_from_slice(s.as_bytes());
        }
    }

    fn digits(&mut self, s: &[u8]) {
        self.sep();
        self.buf.extend_from_slice(s);
    }

    fn amount(&mut self, fen: i64) {
        self.sep();
        push_amount(&mut self.buf, fen);
    }

    fn integer(&mut self, n: u64) {
        self.sep();
        let mut b = itoa::Buffer::new();
        self.buf.extend_from_slice(b.format(n).as_bytes());
    }

    fn end_row(&mut self) -> io::Result<()> {
        self.buf.push(b'\n');
        self.first_cell = true;
        self.line += 1;
        if self.buf.len() >= CHUNK {
            self.flush_buf()?;
        }
        Ok(())
    }

    fn finish(mut self) -> io::Result<()> {
        self.flush_buf()?;
        self.file.flush()
    }
}

/// Excel's last row (1-based): 1,048,576.
pub const XLSX_MAX_ROWS: u64 = 1_048_576;

fn xlsx_err(e: XlsxError) -> io::Error {
    io::Error::other(format!("XLSX: {e}"))
}

/// One worksheet of a new workbook, written row by row through a temp file.
pub struct XlsxSink {
    workbook: Workbook,
    sheet: Worksheet,
    path: std::path::PathBuf,
    amount_format: Format,
    row: u32,
    col: u16,
    /// The first error, reported at the end of the row.
    error: Option<XlsxError>,
}

impl XlsxSink {
    pub fn create(path: &Path, sheet_name: &str, year: i32) -> io::Result<XlsxSink> {
        let mut workbook = Workbook::new();
        // A fixed creation time, so that the same options give the same bytes.
        let created = rust_xlsxwriter::ExcelDateTime::from_ymd(year.clamp(1900, 9999) as u16, 1, 1)
            .map_err(xlsx_err)?;
        workbook
            .set_properties(&rust_xlsxwriter::DocProperties::new().set_creation_datetime(&created));
        let mut sheet = workbook
            .new_worksheet_with_constant_memory()
            .map_err(xlsx_err)?;
        sheet.set_name(sheet_name).map_err(xlsx_err)?;
        Ok(XlsxSink {
            workbook,
            sheet,
            path: path.to_path_buf(),
            // Built-in number format 2: "0.00".
            amount_format: Format::new().set_num_format_index(2),
            row: 0,
            col: 0,
            error: None,
        })
    }

    /// Keep the first error (reported at the end of the row) and move to the next cell.
    fn note(&mut self, r: Result<(), XlsxError>) {
        if let Err(e) = r {
            self.error.get_or_insert(e);
        }
        self.col += 1;
    }

    pub fn set_widths(&mut self, widths: &[f64]) -> io::Result<()> {
        for (i, &w) in widths.iter().enumerate() {
            self.sheet.set_column_width(i as u16, w).map_err(xlsx_err)?;
        }
        Ok(())
    }
}

impl Sink for XlsxSink {
    fn text(&mut self, s: &str) {
        let r = self.sheet.write_string(self.row, self.col, s).map(|_| ());
        self.note(r);
    }

    fn digits(&mut self, s: &[u8]) {
        let s = std::str::from_utf8(s).unwrap_or("");
        self.text(s);
    }

    fn amount(&mut self, fen: i64) {
        let v = fen as f64 / 100.0;
        let r = self
            .sheet
            .write_number_with_format(self.row, self.col, v, &self.amount_format)
            .map(|_| ());
        self.note(r);
    }

    fn integer(&mut self, n: u64) {
        let r = self
            .sheet
            .write_number(self.row, self.col, n as f64)
            .map(|_| ());
        self.note(r);
    }

    fn end_row(&mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(xlsx_err(e));
        }
        self.row += 1;
        self.col = 0;
        Ok(())
    }

    fn finish(mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(xlsx_err(e));
        }
        self.workbook.push_worksheet(self.sheet);
        self.workbook.save(&self.path).map_err(xlsx_err)
    }
}

/// Write the header row of the members file: every column of §1.1, in the spec's order.
pub fn member_header<S: Sink>(sink: &mut S) -> io::Result<()> {
    for f in Field::ALL {
        sink.text(f.chinese());
    }
    sink.end_row()
}

/// Write the header row of the villages file: every column of §1.2.
pub fn village_header<S: Sink>(sink: &mut S) -> io::Result<()> {
    for f in VillageField::ALL {
        sink.text(f.chinese());
    }
    sink.end_row()
}

/// Write the rows of one household, applying its overrides. `scratch` is reused for names.
pub fn member_rows<S: Sink>(
    sink: &mut S,
    village: &Village,
    h: &Household,
    scratch: &mut String,
) -> io::Result<()> {
    let overridden = !h.overrides.is_empty();
    for (i, p) in h.members().iter().enumerate() {
        for &f in Field::ALL {
            if overridden {
                if let Some(text) = h.overrides.get(i, f) {
                    sink.text(text);
                    continue;
                }
            }
            match f {
                Field::HouseholdId => sink.digits(&h.code),
                Field::Township => sink.text(&village.township),
                Field::Village => sink.text(&village.village),
                Field::Name => {
                    scratch.clear();
                    push_name(scratch, h.number, i);
                    sink.text(scratch);
                }
                Field::IdNumber => sink.digits(&p.id),
                Field::Relation => sink.text(p.relation.label()),
                Field::Sex => sink.text(if p.male { Sex::Male } else { Sex::Female }.label()),
                Field::Schooling => sink.text(p.schooling),
                Field::Health => sink.text(p.health.label()),
                Field::Labor => sink.text(p.labor.label()),
                Field::MedicalInsurance => sink.text(bool_label(p.insured)),
                Field::ActiveMilitary => sink.text(bool_label(p.military)),
                Field::PovertyStatus => sink.text(h.status.label()),
                Field::HouseholdType => sink.text(h.kind.label()),
                Field::MainCause => sink.text(h.cause.label()),
                Field::WageIncome => sink.amount(h.wage),
                Field::OperatingIncome => sink.amount(h.operating_income),
                Field::OperatingExpense => sink.amount(h.operating_expense),
                Field::PropertyIncome => sink.amount(h.property),
                Field::TransferIncome => sink.amount(h.transfer),
                Field::PerCapitaIncome => sink.amount(h.per_capita),
                Field::FoodSecure => sink.text(bool_label(h.food)),
                Field::ClothingSecure => sink.text(bool_label(h.clothing)),
                Field::HousingGrade => sink.text(h.grade.label()),
                Field::Renovation => sink.text(h.renovation.label()),
                Field::Relocation => sink.text(h.relocation.label()),
                Field::SafeWater => sink.text(bool_label(h.water)),
            }
        }
        sink.end_row()?;
    }
    Ok(())
}

/// Write the row of a finished village. `members` are its registered members; the rural
/// population is that divided by the village's registered share.
pub fn village_row<S: Sink>(sink: &mut S, v: &Village, members: u64) -> io::Result<()> {
    let t = &v.traits;
    let share = u64::from(t.registered_share.max(1));
    let population = (members * 1000).div_ceil(share).max(1);
    for &f in VillageField::ALL {
        match f {
            VillageField::Township => sink.text(&v.township),
            VillageField::Village => sink.text(&v.village),
            VillageField::Population => sink.integer(population),
            VillageField::PoorVillage => sink.text(bool_label(t.poor_village)),
            VillageField::Road => sink.text(bool_label(t.road)),
            VillageField::Power => sink.text(bool_label(t.power)),
            VillageField::Broadband => sink.text(bool_label(t.broadband)),
            VillageField::Clinic => sink.text(bool_label(t.clinic)),
            VillageField::CollectiveIncome => sink.amount(t.collective_income),
        }
    }
    sink.end_row()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_and_names() {
        let mut v = Vec::new();
        push_amount(&mut v, 1234560);
        v.push(b' ');
        push_amount(&mut v, 5);
        v.push(b' ');
        push_amount(&mut v, -500);
        assert_eq!(std::str::from_utf8(&v).unwrap(), "12345.60 0.05 -5.00");
        let mut s = String::new();
        push_name(&mut s, 123, 0);
        s.push(' ');
        push_name(&mut s, 1234567, 2);
        assert_eq!(s, "虚拟户主000123 虚拟成员1234567-3");
    }
}
