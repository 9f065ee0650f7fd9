//! Integration tests of the `fupin` command line: real files (UTF-8, GBK, XLSX) in,
//! real output files out.

mod bad_input;
mod commands;
mod golden;
mod inspections;
mod memory;
mod plan;
mod plan_import;
mod projects;
mod serve;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A file of the golden register.
pub fn golden(name: &str) -> String {
    fixtures().join("golden").join(name).display().to_string()
}

/// `fupin assess` on the golden members and villages files for 2018 into `out`, with more
/// arguments (the line, the region, a standards file …).
pub fn assess_golden(extra: &[&str], out: &Path) -> Output {
    let (members, villages) = (golden("members.csv"), golden("villages.csv"));
    let out = out.display().to_string();
    let mut args = vec![
        "assess",
        &members,
        "--villages",
        &villages,
        "--year",
        "2018",
        "--out",
        &out,
    ];
    args.extend_from_slice(extra);
    fupin(&args)
}

pub fn fupin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fupin"))
        .args(args)
        .output()
        .expect("run fupin")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Read a CSV written by fupin (UTF-8 with BOM) as rows of cells, header first.
pub fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes.starts_with(b"\xEF\xBB\xBF"),
        "{} has no BOM",
        path.display()
    );
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(&bytes[3..]);
    r.records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// Read a plain UTF-8 fixture CSV (no BOM) as rows, header first.
pub fn read_fixture_csv(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    r.records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect()
}
