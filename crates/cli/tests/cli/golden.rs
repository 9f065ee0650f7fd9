//! The hand-made golden register (tests/fixtures/golden, see its README): every criterion,
//! verdict and problem code, computed by hand; read as UTF-8 CSV, as GBK CSV with English
//! headers in another column order, and as XLSX — all three must agree.

use crate::{fixtures, fupin, golden, read_csv, read_fixture_csv, text};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Run `fupin assess` on a members and villages file; returns the output folder.
fn assess(members: &str, villages: &str, dir: &Path) -> PathBuf {
    let out = dir.join(Path::new(members).file_name().unwrap());
    let o = fupin(&[
        "assess",
        members,
        "--villages",
        villages,
        "--year",
        "2018",
        "--line",
        "3535",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        o.status.success(),
        "{}\n{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    out
}

fn households(out: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(out.join("households.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// (line, column, code) of every problem, without the file name.
fn problems(out: &Path) -> Vec<(u64, String, String)> {
    let rows = read_csv(&out.join("problems.csv"));
    assert_eq!(rows[0], ["文件", "行号", "列", "代码", "说明", "值"]);
    let mut v: Vec<_> = rows[1..]
        .iter()
        .map(|r| (r[1].parse().unwrap(), r[2].clone(), r[3].clone()))
        .collect();
    v.sort();
    v
}

#[test]
fn verdicts_match_the_hand_computed_expectation() {
    let tmp = tempfile::tempdir().unwrap();
    let out = assess(&golden("members.csv"), &golden("villages.csv"), tmp.path());
    let expected = read_fixture_csv(&fixtures().join("golden/expected_households.csv"));
    assert_eq!(
        expected[0],
        [
            "household_id",
            "members",
            "per_capita_income",
            "verdict",
            "failed"
        ]
    );
    let got = households(&out);
    assert_eq!(got.len(), expected.len() - 1, "household count");
    for (g, e) in got.iter().zip(&expected[1..]) {
        let failed: Vec<&str> = g["failed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let got_row = [
            g["household_id"].as_str().unwrap().to_string(),
            g["members"].to_string(),
            g["per_capita_income"].as_str().unwrap_or("").to_string(),
            g["verdict"].as_str().unwrap().to_string(),
            failed.join("|"),
        ];
        assert_eq!(
            got_row.as_slice(),
            e.as_slice(),
            "household {}: {}",
            e[0],
            g["explanation"]
        );
        assert!(!g["explanation"].as_str().unwrap().is_empty());
    }
}

#[test]
fn problems_match_the_hand_computed_expectation() {
    let tmp = tempfile::tempdir().unwrap();
    let out = assess(&golden("members.csv"), &golden("villages.csv"), tmp.path());
    let expected = read_fixture_csv(&fixtures().join("golden/expected_problems.csv"));
    let mut want: Vec<(u64, String, String)> = expected[1..]
        .iter()
        .map(|r| (r[0].parse().unwrap(), r[1].clone(), r[2].clone()))
        .collect();
    want.sort();
    assert_eq!(problems(&out), want);
    // Every code of the contract but the file-level ones occurs in the golden register.
    let codes: std::collections::BTreeSet<&str> = want.iter().map(|p| p.2.as_str()).collect();
    for c in [
        "E102", "E103", "E104", "E105", "E106", "E107", "E108", "E109", "W201", "W202", "W203",
        "W205",
    ] {
        assert!(codes.contains(c), "golden register lacks {c}");
    }
}

#[test]
fn village_and_county_figures_match() {
    let tmp = tempfile::tempdir().unwrap();
    let out = assess(&golden("members.csv"), &golden("villages.csv"), tmp.path());
    let expected = read_fixture_csv(&fixtures().join("golden/expected_figures.csv"));
    let got = read_csv(&out.join("villages.csv"));
    let by_village: BTreeMap<(String, String), &Vec<String>> = got[1..]
        .iter()
        .map(|r| ((r[0].clone(), r[1].clone()), r))
        .collect();
    let county: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("county.json")).unwrap()).unwrap();
    for e in &expected[1..] {
        // township,village,households,members,poor_now,remaining,population,now%,after%,exit_ready
        if e[0] == "合计" {
            assert_eq!(county["households"].to_string(), e[2]);
            assert_eq!(county["members"].to_string(), e[3]);
            assert_eq!(county["poor_now"].to_string(), e[4]);
            assert_eq!(county["remaining"].to_string(), e[5]);
            assert_eq!(county["population"].to_string(), e[6]);
            assert_eq!(county["incidence_now_percent"].as_str().unwrap(), e[7]);
            assert_eq!(county["incidence_after_percent"].as_str().unwrap(), e[8]);
            assert_eq!(county["exit_ready"].to_string(), e[9]);
            continue;
        }
        let g = by_village
            .get(&(e[0].clone(), e[1].clone()))
            .unwrap_or_else(|| panic!("village {} {} missing", e[0], e[1]));
        let ready = if g[11] == "是" { "true" } else { "false" };
        assert_eq!(
            [&g[0], &g[1], &g[2], &g[3], &g[4], &g[5], &g[6], &g[7], &g[8], ready],
            [
                &e[0],
                &e[1],
                &e[2],
                &e[3],
                &e[4],
                &e[5],
                &e[6],
                &e[7],
                &e[8],
                e[9].as_str()
            ],
            "village {}",
            e[1]
        );
    }
}

#[test]
fn gbk_with_english_headers_and_xlsx_give_identical_results() {
    let tmp = tempfile::tempdir().unwrap();
    let utf8 = assess(&golden("members.csv"), &golden("villages.csv"), tmp.path());
    let gbk = assess(
        &golden("members_gbk_en.csv"),
        &golden("villages.csv"),
        tmp.path(),
    );
    let xlsx = assess(
        &golden("members.xlsx"),
        &golden("villages.xlsx"),
        tmp.path(),
    );
    let jsonl = |d: &Path| -> Vec<String> {
        std::fs::read_to_string(d.join("households.jsonl"))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    };
    for (name, other) in [("GBK CSV with English headers", &gbk), ("XLSX", &xlsx)] {
        let (a, b) = (jsonl(&utf8), jsonl(other));
        assert_eq!(a.len(), b.len(), "{name}: household count");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x, y, "{name} differs");
        }
    }
    assert_eq!(problems(&utf8), problems(&gbk));
    assert_eq!(problems(&utf8), problems(&xlsx));
    let messages = |d: &Path| -> Vec<Vec<String>> {
        read_csv(&d.join("problems.csv"))
            .into_iter()
            .map(|mut r| {
                r.remove(0);
                r
            })
            .collect()
    };
    assert_eq!(
        messages(&utf8),
        messages(&gbk),
        "problem messages and values differ"
    );
    assert_eq!(
        messages(&utf8),
        messages(&xlsx),
        "problem messages and values differ"
    );
}

#[test]
fn check_lists_the_same_problems_and_exits_1() {
    let o = fupin(&["check", &golden("members.csv"), "--year", "2018"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.contains("E105"), "{out}");
    assert!(out.contains("错误"), "{out}");
}
