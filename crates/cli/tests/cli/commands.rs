//! `fupin standards`, `--standards`, `--place`, `--region`, `fupin gen` and `fupin demo`.

use crate::{assess_golden, fixtures, fupin, golden, read_csv, text};
use std::path::Path;

fn county(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("county.json")).unwrap()).unwrap()
}

#[test]
fn standards_lists_every_year_with_its_source_and_marks_unverified_lines() {
    let o = fupin(&["standards"]);
    assert!(o.status.success());
    let out = text(&o.stdout);
    for y in ["2011", "2016", "2019", "2020"] {
        assert!(out.contains(y), "{out}");
    }
    let l2018 = out.lines().find(|l| l.starts_with("2018")).unwrap();
    assert!(
        l2018.contains("2,995") && l2018.contains("未经核实"),
        "{l2018}"
    );
}

/// A place's own line wins over the national one, found through the area-code chain,
/// and the run says which line it used and where it came from.
#[test]
fn a_standards_file_sets_the_line_for_a_place() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("lines.csv");
    std::fs::write(
        &file,
        "年度,地区,标准,来源\n2018,140000,3535,山西省2018年扶贫标准\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let standards = file.to_str().unwrap();
    let o = assess_golden(&["--standards", standards, "--place", "140930"], &out);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("3,535 元/人·年（2018年，140000；来源：山西省2018年扶贫标准"),
        "{}",
        text(&o.stdout)
    );
    let c = county(&out);
    assert_eq!(c["line"]["amount"], "3535.00");
    assert_eq!(c["line"]["place"], "140000");
    // The same line as --line 3535 gives the same verdicts as the golden expectation.
    let expected = crate::read_fixture_csv(&fixtures().join("golden/expected_households.csv"));
    let ready = expected[1..].iter().filter(|r| r[3] == "ready").count();
    assert_eq!(c["verdicts"]["ready"].as_u64().unwrap() as usize, ready);
    // Another province falls back to the national (unverified) line.
    let o = fupin(&[
        "assess",
        &golden("members.csv"),
        "--year",
        "2018",
        "--standards",
        file.to_str().unwrap(),
        "--place",
        "610000",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    assert!(text(&o.stdout).contains("2,995 元"), "{}", text(&o.stdout));
    assert!(text(&o.stdout).contains("未经核实"));
}

#[test]
fn a_bad_standards_file_is_rejected_with_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("lines.csv");
    std::fs::write(&file, "年度,地区,标准,来源\n2018,,三千,省定\n").unwrap();
    let o = fupin(&["standards", "--standards", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("第2行") && err.contains("标准") && err.contains("三千"),
        "{err}"
    );
}

/// The western region's threshold is 3%: 乙村's 2.00% after exit passes there.
#[test]
fn western_region_uses_three_percent() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = assess_golden(&["--line", "3535", "--region", "western"], &out);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(county(&out)["threshold_percent"], "3.00");
    let villages = read_csv(&out.join("villages.csv"));
    let yi = villages.iter().find(|r| r[1] == "示例一乡乙村").unwrap();
    assert_eq!((yi[8].as_str(), yi[11].as_str()), ("2.00", "是"));
}

/// `fupin gen` twice with one seed gives the same bytes; the register it makes is assessed
/// with no file-level problem.
#[test]
fn gen_is_reproducible_and_its_register_assesses() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    for d in [&a, &b] {
        let o = fupin(&[
            "gen",
            "--households",
            "300",
            "--seed",
            "9",
            "--out",
            d.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", text(&o.stderr));
    }
    for f in ["members.csv", "villages.csv"] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f}"
        );
    }
    let out = tmp.path().join("out");
    let o = fupin(&[
        "assess",
        a.join("members.csv").to_str().unwrap(),
        "--villages",
        a.join("villages.csv").to_str().unwrap(),
        "--year",
        "2018",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(county(&out)["households"], 300);
}

#[test]
fn gen_rejects_a_bad_error_rate() {
    let tmp = tempfile::tempdir().unwrap();
    let o = fupin(&[
        "gen",
        "--households",
        "10",
        "--error-rate",
        "2",
        "--out",
        tmp.path().to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("错误率"), "{}", text(&o.stderr));
}

/// The README's main command: a seed-county-sized register, assessed, figures printed.
#[test]
fn demo_generates_and_assesses_a_county() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let o = fupin(&["demo", "--assess-only", "--dir", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.contains("共 20000 户"), "{out}");
    assert!(out.contains("贫困发生率"), "{out}");
    let c = county(&dir.join("result"));
    let v = &c["verdicts"];
    let sum: u64 = ["ready", "not_ready", "stable", "wrong_exit", "data_error"]
        .iter()
        .map(|k| v[k].as_u64().unwrap())
        .sum();
    assert_eq!(sum, 20_000);
    for k in ["ready", "not_ready", "stable", "wrong_exit", "data_error"] {
        assert!(
            v[k].as_u64().unwrap() > 0,
            "no {k} household in the demo county"
        );
    }
}
