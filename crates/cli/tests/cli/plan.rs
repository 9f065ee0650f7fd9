//! `fupin plan check|show|demo`: plan files in, problems and summaries out, with the exit
//! codes of `fupin check` (0 accepted, 1 errors, 2 unreadable or missing columns).

use crate::{fupin, text};
use std::path::{Path, PathBuf};

fn demo_csv() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../io/assets/demo-plan-2018.csv")
        .display()
        .to_string()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// The demo plan: accepted with exit 0, its one warning (26 announced, 25 listed) printed
/// with file and column, and a summary of tasks, units and gap owners.
#[test]
fn plan_check_on_the_demo_plan_warns_25_of_26_and_exits_0() {
    let demo = demo_csv();
    let out = fupin(&["plan", "check", &demo, "--year", "2018", "--declared", "26"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains(&format!(
        "{demo}「重点工作数」列 P402：方案称有 26 项重点工作，实际列出 25 项（序号 1-25）"
    )));
    assert!(
        stdout.contains("方案可以导入；错误 0 个，警告 1 个"),
        "{stdout}"
    );
    assert!(stdout.contains("县委书记负总责，县长任指挥长"), "{stdout}");
    assert!(
        stdout.contains("重点工作 25 项（方案称 26 项）"),
        "{stdout}"
    );
    assert!(stdout.contains("HOUSING→4「大力实施危房改造」"), "{stdout}");
    assert!(
        stdout.contains("INCOME_LABOR→11「大力实施特色产业扶贫」"),
        "{stdout}"
    );
    assert!(
        stdout.contains("无任务负责、交指挥部的问题：无"),
        "{stdout}"
    );
}

/// A GBK plan with errors: every problem with file, line, column, code and value; exit 1.
#[test]
fn plan_check_lists_errors_of_a_gbk_file_and_exits_1() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = "序号,重点工作,责任领导,牵头单位,落实单位,落实单位责任人,完成时限,负责问题\n\
               1,大力实施危房改造,分管城建副县长,县住建局,县住建局、各乡镇人民政府,局长,2018-13-01,HOUSE\n\
               1,大力实施教育扶贫,分管教育卫生副县长,县教育局,县教育局,局长,,EDUCATION\n";
    let (bytes, _, _) = encoding_rs::GBK.encode(csv);
    let path = write(tmp.path(), "plan_gbk.csv", &bytes);
    let file = path.display().to_string();
    let out = fupin(&["plan", "check", &file, "--year", "2018"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 7, "{stdout}");
    assert!(lines[0].starts_with(&format!(
        "{file} 第2行「落实单位责任人」列 P304：落实单位 2 个"
    )));
    assert!(lines[1].starts_with(&format!("{file} 第2行「完成时限」列 P306：")));
    assert!(lines[1].ends_with("（值：2018-13-01）"));
    assert!(lines[2].starts_with(&format!("{file} 第2行「负责问题」列 P308：")));
    assert!(lines[3].starts_with(&format!("{file} 第3行「责任领导」列 P303：")));
    assert!(lines[4].starts_with(&format!("{file} 第3行「重点工作」列 P305：")));
    assert!(lines[5].starts_with(&format!("{file} 第3行「牵头单位」列 P307：")));
    assert!(lines[6].contains("整个方案未读入"));
}

/// A missing required column is file-level: exit 2, like E101 for a register.
#[test]
fn plan_check_with_a_missing_column_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let path = write(tmp.path(), "cols.csv", "序号,重点工作\n1,甲\n".as_bytes());
    let out = fupin(&[
        "plan",
        "check",
        &path.display().to_string(),
        "--year",
        "2018",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stdout).matches("P301").count(), 4);
}

/// Kinds no task owns are named as going to the headquarters' queue; an income gap is
/// named by the labour capacity left without an owner.
#[test]
fn plan_check_names_the_kinds_left_to_headquarters() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = "task_no,task,leader,lead_unit,units,unit_owners,deadline,owns\n\
               1,大力实施特色产业扶贫,分管农业副县长,县农业农村局,县农业农村局,局长,长期,INCOME_LABOR;HOUSING\n";
    let path = write(tmp.path(), "small.csv", csv.as_bytes());
    let out = fupin(&[
        "plan",
        "check",
        &path.display().to_string(),
        "--year",
        "2018",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains(
        "无任务负责、交指挥部的问题：INCOME（无劳动能力户）、FOOD、CLOTHING、EDUCATION、MEDICAL、WATER、DATA、ROAD、POWER、BROADBAND、CLINIC、INCIDENCE"
    ), "{stdout}");
}

/// `plan show --json` gives the parsed plan; `plan demo --out` writes the template that
/// reads back as the same plan.
#[test]
fn plan_show_json_and_plan_demo() {
    let tmp = tempfile::tempdir().unwrap();
    let out_path = tmp.path().join("demo.csv").display().to_string();
    let out = fupin(&["plan", "demo", "--out", &out_path]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(&out_path).unwrap(),
        std::fs::read_to_string(demo_csv()).unwrap()
    );
    let out = fupin(&[
        "plan",
        "show",
        &out_path,
        "--year",
        "2018",
        "--declared",
        "26",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tasks = doc["plan"]["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 25);
    assert_eq!(tasks[3]["name"], "大力实施危房改造");
    assert_eq!(tasks[3]["deadline"], "2018-09-30");
    assert_eq!(tasks[3]["owns"][0], "HOUSING");
    assert_eq!(tasks[10]["deadline"], "长期");
    assert_eq!(tasks[4]["units"].as_array().unwrap().len(), 3);
    assert_eq!(doc["plan"]["declared_tasks"], 26);
    assert_eq!(doc["warnings"][0]["code"], "P402");
}
