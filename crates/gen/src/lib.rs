//! Synthetic county registers in the v1 register format (shared spec `registry.md`), for
//! demos and benchmarks: seeded, deterministic ("same options, same bytes") and streaming
//! — households are generated and written one at a time, so 10 million households (about
//! 33 million rows) need no more memory than a hundred.
//!
//! Everything is plainly synthetic: places are 示例NN乡/镇 and 示例NN乡第NNN村, people are
//! 虚拟户主NNNNNN and 虚拟成员NNNNNN-k, area codes count up from 140930 (the seed county,
//! 河曲县). ID numbers are valid GB 11643-1999 numbers, unique over the whole file.
//!
//! Modules: `rng` (the fixed generator), `date`, `layout` (counties, townships,
//! villages), `ids` (ID numbers), `people` (members), `household` (household fields and
//! incomes), `inject` (deliberate problems), `write` (CSV and XLSX).

mod date;
mod household;
mod ids;
mod inject;
mod layout;
mod people;
mod rng;
mod write;

use fupin_domain::standards::Standards;
use household::{Context, Household};
use ids::IdAllocator;
use inject::{Injected, PreviousHead};
use layout::Layout;
use rng::{Purpose, Rng};
use std::io;
use std::path::{Path, PathBuf};
use write::{CsvSink, Sink, XlsxSink, XLSX_MAX_ROWS};

/// Output file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Csv,
    Xlsx,
}

impl Format {
    /// `csv` or `xlsx`, case-insensitive.
    pub fn parse(text: &str) -> Option<Format> {
        match text.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }
}

/// Text encoding of CSV output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Encoding {
    /// UTF-8 without BOM.
    #[default]
    Utf8,
    /// GBK, as older Excel and county systems write it.
    Gbk,
}

impl Encoding {
    /// `utf-8`/`utf8` or `gbk`, case-insensitive.
    pub fn parse(text: &str) -> Option<Encoding> {
        match text.to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Some(Encoding::Utf8),
            "gbk" => Some(Encoding::Gbk),
            _ => None,
        }
    }
}

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct GenOptions {
    /// Registered households to write.
    pub households: u64,
    /// Same seed (and other options), same bytes.
    pub seed: u64,
    /// Share of households with one injected error-level problem (0–1; default 0.01).
    /// Half as many households get one warning (W201/W202/W203). 0 gives a fully valid
    /// register with no problems at all.
    pub error_rate: f64,
    pub format: Format,
    /// GBK only for CSV.
    pub encoding: Encoding,
    /// Assessment year: ages and birth dates are relative to it, incomes to its line.
    pub year: i32,
}

impl Default for GenOptions {
    fn default() -> GenOptions {
        GenOptions {
            households: 1000,
            seed: 1,
            error_rate: 0.01,
            format: Format::Csv,
            encoding: Encoding::Utf8,
            year: 2018,
        }
    }
}

/// What was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenSummary {
    pub households: u64,
    /// Member rows (header not counted).
    pub members: u64,
    pub townships: u32,
    pub villages: u32,
    pub members_path: PathBuf,
    pub villages_path: PathBuf,
    /// Households given an error-level problem. A duplicated ID number (E107) also makes
    /// the previous household `data_error`, so slightly more households are affected.
    pub injected_errors: u64,
    /// Households given a warning-level problem.
    pub injected_warnings: u64,
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.into())
}

/// Generate `members.csv`/`members.xlsx` and `villages.csv`/`villages.xlsx` in `out_dir`
/// (created if missing).
pub fn generate(opts: &GenOptions, out_dir: &Path) -> io::Result<GenSummary> {
    if !(0.0..=1.0).contains(&opts.error_rate) {
        return Err(invalid(format!(
            "错误率应在 0 到 1 之间，实为 {}",
            opts.error_rate
        )));
    }
    if opts.format == Format::Xlsx && opts.encoding == Encoding::Gbk {
        return Err(invalid("GBK 编码只适用于 CSV；XLSX 文件总是 UTF-8"));
    }
    let line = Standards::builtin()
        .lookup(opts.year, None)
        .ok_or_else(|| invalid(format!("没有 {} 年的国家贫困标准", opts.year)))?
        .amount
        .fen();
    let ctx = Context {
        seed: opts.seed,
        year: opts.year,
        line,
    };
    std::fs::create_dir_all(out_dir)?;
    let ext = opts.format.extension();
    let members_path = out_dir.join(format!("members.{ext}"));
    let villages_path = out_dir.join(format!("villages.{ext}"));

    let counts = match opts.format {
        Format::Csv => {
            let gbk = opts.encoding == Encoding::Gbk;
            let m = CsvSink::create(&members_path, gbk)?;
            let v = CsvSink::create(&villages_path, gbk)?;
            run(opts, &ctx, m, v)?
        }
        Format::Xlsx => {
            let members = count_members(opts.seed, opts.households);
            if members + 1 > XLSX_MAX_ROWS {
                return Err(invalid(format!(
                    "{} 户共 {members} 名成员，超出 XLSX 工作表的上限（{XLSX_MAX_ROWS} 行，含表头）；请减少户数或改用 CSV",
                    opts.households
                )));
            }
            let mut m = XlsxSink::create(&members_path, "成员", opts.year)?;
            m.set_widths(&member_widths())?;
            let mut v = XlsxSink::create(&villages_path, "行政村", opts.year)?;
            v.set_widths(&[10.0, 18.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 14.0])?;
            run(opts, &ctx, m, v)?
        }
    };
    Ok(GenSummary {
        households: opts.households,
        members: counts.members,
        townships: counts.townships,
        villages: counts.villages,
        members_path,
        villages_path,
        injected_errors: counts.errors,
        injected_warnings: counts.warnings,
    })
}

struct Counts {
    members: u64,
    townships: u32,
    villages: u32,
    errors: u64,
    warnings: u64,
}

/// The streaming loop: village by village, household by household.
fn run<M: Sink, V: Sink>(
    opts: &GenOptions,
    ctx: &Context,
    mut members: M,
    mut villages: V,
) -> io::Result<Counts> {
    write::member_header(&mut members)?;
    write::village_header(&mut villages)?;
    let mut counts = Counts {
        members: 0,
        townships: 0,
        villages: 0,
        errors: 0,
        warnings: 0,
    };
    let mut layout = Layout::new(opts.seed, opts.households);
    let mut ids = IdAllocator::new(opts.year);
    let mut county = None;
    let mut h = Household::default();
    let mut previous: Option<PreviousHead> = None;
    let mut scratch = String::with_capacity(64);
    let mut number = 0u64;
    for village in &mut layout {
        if county != Some(village.county_code) {
            ids.start_county(village.county_code);
            county = Some(village.county_code);
        }
        let mut village_members = 0u64;
        for seq in 1..=village.households {
            number += 1;
            household::generate(&mut h, ctx, &village, seq, number, &mut ids);
            match inject::inject(opts.seed, opts.error_rate, &mut h, previous.as_ref()) {
                Injected::Nothing => {}
                Injected::Error(_) => counts.errors += 1,
                Injected::Warning(_) => counts.warnings += 1,
            }
            write::member_rows(&mut members, &village, &h, &mut scratch)?;
            village_members += h.size as u64;
            previous = Some(PreviousHead {
                person: h.members[0],
                number,
            });
        }
        write::village_row(&mut villages, &village, village_members)?;
        counts.members += village_members;
        counts.villages += 1;
    }
    counts.townships = layout.townships_used;
    members.finish()?;
    villages.finish()?;
    Ok(counts)
}

/// Members of the first `households` households, without generating them: the household
/// size is the first draw of each household's stream. Lets XLSX refuse before writing.
fn count_members(seed: u64, households: u64) -> u64 {
    (0..households)
        .map(|i| people::draw_size(&mut Rng::stream(seed, Purpose::Household, i)) as u64)
        .sum()
}

fn member_widths() -> Vec<f64> {
    use fupin_domain::fields::Field;
    Field::ALL
        .iter()
        .map(|f| match f {
            Field::HouseholdId | Field::IdNumber => 20.0,
            Field::Village | Field::Name => 18.0,
            Field::Labor | Field::Schooling | Field::MedicalInsurance => 16.0,
            _ => 11.0,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_members_match_written_ones() {
        let dir = tempfile::tempdir().unwrap();
        let opts = GenOptions {
            households: 300,
            seed: 9,
            ..GenOptions::default()
        };
        let s = generate(&opts, dir.path()).unwrap();
        assert_eq!(s.members, count_members(9, 300));
    }

    #[test]
    fn options_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let bad = |o: GenOptions| generate(&o, dir.path()).unwrap_err().kind();
        let base = GenOptions::default();
        assert_eq!(
            bad(GenOptions {
                error_rate: 1.5,
                ..base.clone()
            }),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            bad(GenOptions {
                format: Format::Xlsx,
                encoding: Encoding::Gbk,
                ..base.clone()
            }),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            bad(GenOptions {
                year: 1999,
                ..base.clone()
            }),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            bad(GenOptions {
                households: 400_000,
                format: Format::Xlsx,
                ..base
            }),
            io::ErrorKind::InvalidInput
        );
    }
}
