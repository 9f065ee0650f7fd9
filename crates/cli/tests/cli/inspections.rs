//! `fupin sample|estimate|forecast` (issue 6): a generated county register in, the sample
//! list (XLSX with ID numbers as text, CSV) and the recorded plan out; the same seed
//! redraws the same sample; filled-in results give the four indicators; bad results are
//! refused with every problem.

use crate::{fupin, read_csv, text};
use std::path::{Path, PathBuf};

/// A generated register of 3,000 households (2 townships) with its villages file and a
/// rural households file (农村总户数 = 户籍人口 ÷ 3 per village).
fn county(dir: &Path) -> (String, String, String) {
    let reg = dir.join("reg");
    let out = fupin(&[
        "gen",
        "--households",
        "3000",
        "--seed",
        "3",
        "--out",
        &reg.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let villages = reg.join("villages.csv");
    let mut hh = String::from("乡镇,行政村,农村总户数\n");
    let rows = crate::read_fixture_csv(&villages);
    for r in &rows[1..] {
        let t = r[0].trim_start_matches('\u{feff}');
        let pop: u64 = r[2].parse().unwrap();
        hh += &format!("{t},{},{}\n", r[1], pop / 3);
    }
    let hh_path = dir.join("households.csv");
    std::fs::write(&hh_path, hh).unwrap();
    (
        reg.join("members.csv").display().to_string(),
        villages.display().to_string(),
        hh_path.display().to_string(),
    )
}

fn sample(files: &(String, String, String), out: &Path, extra: &[&str]) -> std::process::Output {
    let out = out.display().to_string();
    let mut args = vec![
        "sample",
        &files.0,
        "--villages",
        &files.1,
        "--households",
        &files.2,
        "--year",
        "2018",
        "--out",
        &out,
    ];
    args.extend_from_slice(extra);
    fupin(&args)
}

/// The sample list: 2 townships × 3 villages × 10 households (5:3:2), in XLSX with 户编号
/// as text cells and in CSV; the same seed redraws the same list, and so does the
/// recorded sample.json given back as --plan; another seed draws another list.
#[test]
fn sample_is_written_and_redrawn_from_its_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let files = county(tmp.path());
    let a = tmp.path().join("a");
    let out = sample(&files, &a, &["--seed", "42"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("已抽取样本：乡镇 2/2 个，行政村 6 个（贫困村 4、非贫困村 2），农户 60 户"),
        "{stdout}"
    );
    assert!(stdout.contains("随机种子 42"));
    let rows = read_csv(&a.join("sample.csv"));
    assert_eq!(rows.len(), 61);
    assert_eq!(&rows[0][..3], ["样本编号", "乡镇", "行政村"]);
    assert_eq!(rows[0].last().unwrap(), "是否认可");
    let groups = |g: &str| rows.iter().filter(|r| r[4] == g).count();
    assert_eq!(groups("建档立卡户（有劳动能力）"), 30);
    assert_eq!(groups("非建档立卡户"), 18);
    assert_eq!(groups("建档立卡户（无劳动能力）"), 12);

    // XLSX: 户编号 (16 digits) is a text cell, 样本编号 a number.
    use calamine::{open_workbook, Data, Reader, Xlsx};
    let mut wb: Xlsx<_> = open_workbook(a.join("sample.xlsx")).unwrap();
    let sheet = wb.worksheet_range("样本清单").unwrap();
    assert_eq!(
        sheet.get_value((1, 6)),
        Some(&Data::String(rows[1][6].clone()))
    );
    assert!(rows[1][6].len() >= 16, "{}", rows[1][6]);
    assert_eq!(sheet.get_value((1, 0)), Some(&Data::Float(1.0)));
    assert!(wb.worksheet_range("抽样说明").is_ok());

    let b = tmp.path().join("b");
    assert_eq!(sample(&files, &b, &["--seed", "42"]).status.code(), Some(0));
    assert_eq!(
        std::fs::read(a.join("sample.json")).unwrap(),
        std::fs::read(b.join("sample.json")).unwrap()
    );
    let c = tmp.path().join("c");
    let recorded = a.join("sample.json").display().to_string();
    assert_eq!(
        sample(&files, &c, &["--plan", &recorded]).status.code(),
        Some(0)
    );
    assert_eq!(read_csv(&c.join("sample.csv")), rows);
    let d = tmp.path().join("d");
    assert_eq!(sample(&files, &d, &["--seed", "43"]).status.code(), Some(0));
    assert_ne!(read_csv(&d.join("sample.csv")), rows);
}

/// A plan the county cannot give — 5 poor villages per township, 2% of the registered
/// households — is refused with every reason; no seed at all is a usage error.
#[test]
fn impossible_plans_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let files = county(tmp.path());
    let out = sample(
        &files,
        &tmp.path().join("x"),
        &["--seed", "1", "--poor-villages", "40"],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert_eq!(stdout.matches("只有贫困村").count(), 2, "{stdout}");
    assert!(!tmp.path().join("x/sample.csv").exists());
    let out = sample(
        &files,
        &tmp.path().join("y"),
        &["--seed", "1", "--min-share", "5%"],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("不足全县建档立卡户 3000 户的 5.00%（至少 150 户）"),
        "{stdout}"
    );
    let out = sample(&files, &tmp.path().join("z"), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--seed"));
}

/// Fill the sample list: registered households pass every check except every 9th row's
/// 不愁穿; non-registered households have 3 people, every 13th row missed; approval cycles.
fn fill(rows: &[Vec<String>]) -> Vec<Vec<String>> {
    let mut out = vec![rows[0].clone()];
    for (i, r) in rows[1..].iter().enumerate() {
        let mut r = r.clone();
        if r[4] != "非建档立卡户" {
            let clothing = if i % 9 == 1 { "否" } else { "是" };
            for (c, v) in [
                (10, "是"),
                (11, "是"),
                (12, clothing),
                (13, "是"),
                (14, "是"),
                (15, "是"),
            ] {
                r[c] = v.into();
            }
        } else {
            r[7] = "3".into();
            r[17] = if i % 13 == 0 { "是" } else { "否" }.into();
        }
        r[18] = ["是", "是", "是", "否", "不清楚"][i % 5].into();
        out.push(r);
    }
    out
}

fn write_csv(path: &Path, rows: &[Vec<String>]) {
    let mut w = csv::Writer::from_path(path).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
}

fn drawn(tmp: &Path) -> (PathBuf, Vec<Vec<String>>) {
    let files = county(tmp);
    let a = tmp.join("a");
    assert_eq!(sample(&files, &a, &["--seed", "42"]).status.code(), Some(0));
    let rows = read_csv(&a.join("sample.csv"));
    (a, rows)
}

/// The four indicators from filled-in results: exact sample counts, a weighted estimate
/// with its interval and verdict; XLSX and CSV results give the same JSON.
#[test]
fn estimate_gives_the_four_indicators_from_csv_or_xlsx() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, rows) = drawn(tmp.path());
    let filled = fill(&rows);
    let results = tmp.path().join("results.csv");
    write_csv(&results, &filled);
    let plan = a.join("sample.json").display().to_string();
    let out = fupin(&["estimate", &results.display().to_string(), "--plan", &plan]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    for name in [
        "错退率：",
        "漏评率：",
        "群众认可度：",
        "综合贫困发生率：",
        "结论：",
    ] {
        assert!(stdout.contains(name), "{stdout}");
    }
    assert!(stdout.contains("95% 置信区间"));

    // Expected exact counts, from the filled rows.
    let exited: Vec<&Vec<String>> = filled[1..].iter().filter(|r| r[8] == "已脱贫").collect();
    let people = |r: &&Vec<String>| r[7].parse::<u64>().unwrap();
    let base: u64 = exited.iter().map(people).sum();
    let found: u64 = exited.iter().filter(|r| r[12] == "否").map(people).sum();
    let approving = filled[1..].iter().filter(|r| r[18] == "是").count() as u64;
    let json_of = |path: &Path| -> serde_json::Value {
        let out = fupin(&[
            "estimate",
            &path.display().to_string(),
            "--plan",
            &plan,
            "--json",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let j = json_of(&results);
    assert_eq!(j["indicators"][0]["indicator"], "wrong_exit");
    assert_eq!(j["indicators"][0]["found"], found);
    assert_eq!(j["indicators"][0]["base"], base);
    assert_eq!(j["indicators"][2]["found"], approving);
    assert_eq!(j["indicators"][2]["base"], 60);
    let w = &j["indicators"][0];
    let (lo, est, hi) = (
        w["ci95"][0].as_f64().unwrap(),
        w["estimate"].as_f64().unwrap(),
        w["ci95"][1].as_f64().unwrap(),
    );
    assert!(lo <= est && est <= hi);
    assert_eq!(w["pass"], est < 0.02);

    // The same results as XLSX (numbers as numbers, 户编号 as text).
    let xlsx = tmp.path().join("results.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (r, row) in filled.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let numeric = r > 0 && (c == 0 || c == 7) && !cell.is_empty();
            if numeric {
                ws.write_number(r as u32, c as u16, cell.parse::<f64>().unwrap())
                    .unwrap();
            } else {
                ws.write_string(r as u32, c as u16, cell).unwrap();
            }
        }
    }
    wb.save(&xlsx).unwrap();
    assert_eq!(json_of(&xlsx), j);
}

/// Results with problems are refused whole: each problem with file, line, column, value
/// and the accepted values; missing sample rows are listed; exit 1.
#[test]
fn estimate_refuses_bad_results_with_every_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, rows) = drawn(tmp.path());
    let mut filled = fill(&rows);
    let reg = filled
        .iter()
        .position(|r| r[4] == "建档立卡户（有劳动能力）")
        .unwrap();
    filled[reg][18] = "可能".into(); // not 是/否/不清楚
    filled[reg][11] = String::new(); // 不愁吃 missing
    let non = filled.iter().position(|r| r[4] == "非建档立卡户").unwrap();
    filled[non][7] = "三".into(); // 家庭人口 not a number
    filled[non][17] = "maybe".into();
    filled.push(filled[1].clone()); // a repeated sample number
    filled.remove(60); // sample 60 has no row
    let results = tmp.path().join("bad.csv");
    write_csv(&results, &filled);
    let file = results.display().to_string();
    let plan = a.join("sample.json").display().to_string();
    let out = fupin(&["estimate", &file, "--plan", &plan]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let line = reg + 1;
    assert!(stdout.contains(&format!(
        "{file} 第{line}行「是否认可（S列）」列：「是否认可」只能填：是、否、不清楚（或 yes、no、unsure）（值：可能）"
    )), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "{file} 第{line}行「不愁吃（L列）」列：建档立卡户（有劳动能力）必须填写「不愁吃」"
        )),
        "{stdout}"
    );
    let line = non + 1;
    assert!(stdout.contains(&format!("{file} 第{line}行「家庭人口（H列）」列：非建档立卡户必须填写「家庭人口」，应为大于0的整数（值：三）")), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "{file} 第{line}行「是否漏评（R列）」列：「是否漏评」只能填"
        )),
        "{stdout}"
    );
    assert!(stdout.contains("样本编号 1 重复（第2行已有）"), "{stdout}");
    assert!(stdout.contains("缺少 1 户样本的核查结果"), "{stdout}");
    assert!(stdout.contains("（值：60）"), "{stdout}");
    assert!(
        stdout.contains("核查结果有错误，未做估计；错误 6 个"),
        "{stdout}"
    );
}

/// The forecast over the register's own verdicts: the register's share, the quantiles in
/// order and the chance of failing, reproducible from the seed.
#[test]
fn forecast_reports_the_distribution_of_the_sampled_wrong_exit_rate() {
    let tmp = tempfile::tempdir().unwrap();
    let files = county(tmp.path());
    let run = |seed: &str| {
        let out = fupin(&[
            "forecast",
            &files.0,
            "--villages",
            &files.1,
            "--year",
            "2018",
            "--seed",
            seed,
            "--runs",
            "300",
            "--townships",
            "0",
            "--poor-villages",
            "3",
            "--other-villages",
            "2",
            "--registered",
            "10",
            "--non-registered",
            "0",
            "--json",
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let j = run("7");
    assert_eq!(j["runs"], 300);
    let q: Vec<f64> = j["quantiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["wrong_exit_people"].as_f64().unwrap() / q["exited_people"].as_f64().unwrap())
        .collect();
    assert_eq!(q.len(), 5);
    assert!(q.windows(2).all(|w| w[0] <= w[1]), "{q:?}");
    let p = j["p_fail"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&p));
    // p_fail is runs_failing / 300, printed from the same division.
    assert!((j["runs_failing"].as_f64().unwrap() / 300.0 - p).abs() < 1e-12);
    assert!(j["register_rate"]["exited_people"].as_u64().unwrap() > 0);
    assert_eq!(run("7"), j);
    let out = fupin(&[
        "forecast",
        &files.0,
        "--villages",
        &files.1,
        "--year",
        "2018",
        "--seed",
        "7",
        "--runs",
        "50",
        "--take-all",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("按抽样方案模拟抽取 50 次（随机种子 7）"),
        "{stdout}"
    );
    assert!(stdout.contains("样本错退率分布："), "{stdout}");
    assert!(
        stdout.contains("样本错退率达到或超过 2%（不达标）的概率："),
        "{stdout}"
    );
}

/// Non-registered households given as a list: the drawn ones carry their 户编号 and their
/// place in the list. A listed household that is registered, and a village whose 农村总户数
/// is below its registered households, are refused with file, line and value.
#[test]
fn rural_households_as_a_list_or_a_count_are_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let (members, villages, totals) = county(tmp.path());
    let rows = crate::read_fixture_csv(Path::new(&villages));
    let mut list = String::from("乡镇,行政村,户编号\n");
    for r in &rows[1..] {
        for i in 1..=40 {
            list += &format!("{},{},NR-{}-{i}\n", r[0], r[1], r[1]);
        }
    }
    let list_path = tmp.path().join("list.csv");
    std::fs::write(&list_path, &list).unwrap();
    let files = (
        members.clone(),
        villages.clone(),
        list_path.display().to_string(),
    );
    let out_dir = tmp.path().join("l");
    let out = sample(&files, &out_dir, &["--seed", "5"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let drawn = read_csv(&out_dir.join("sample.csv"));
    let non: Vec<&Vec<String>> = drawn.iter().filter(|r| r[4] == "非建档立卡户").collect();
    assert_eq!(non.len(), 18);
    for r in non {
        let k: u32 = r[5]
            .strip_prefix("非建档立卡户名单中本村第")
            .and_then(|s| s.strip_suffix('户'))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(r[6], format!("NR-{}-{k}", r[2]));
    }

    // A registered household listed as non-registered; a count below the register's.
    let registered = &drawn[1];
    let bad_list = format!(
        "{list}{},{},{}\n",
        registered[1], registered[2], registered[6]
    );
    std::fs::write(&list_path, bad_list).unwrap();
    let out = sample(&files, &tmp.path().join("m"), &["--seed", "5"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!("户编号 {} 是", registered[6])),
        "{stdout}"
    );
    // The first village: 农村总户数 1, below its registered households.
    let counts: String = std::fs::read_to_string(&totals)
        .unwrap()
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 1 {
                format!("{},{},1\n", rows[1][0], rows[1][1])
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(&totals, counts).unwrap();
    let out = sample(
        &(members, villages, totals.clone()),
        &tmp.path().join("n"),
        &["--seed", "5"],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "{totals} 第2行「农村总户数」列：{}{}的农村总户数少于登记表中该村的建档立卡户",
            rows[1][0], rows[1][1]
        )),
        "{stdout}"
    );
    assert!(stdout.contains("（值：1）"), "{stdout}");
}
