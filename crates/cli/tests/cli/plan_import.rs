//! `fupin plan import`: a plan file into the database, all or nothing, as the next
//! revision of its year's plan; the current register's gaps are routed by it at once.

use crate::{fupin, golden, text};
use std::io::Write;
use std::process::{Command, Stdio};

const PASSWORD: &str = "管理员密码-2018";

fn add_user(db: &str, name: &str, role_args: &[&str]) {
    let mut args = vec!["user", "add", name, "--db", db];
    args.extend_from_slice(role_args);
    let mut child = Command::new(env!("CARGO_BIN_EXE_fupin"))
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
}

/// The golden register without its households with errors (a file `fupin import` takes).
fn clean_register(dir: &std::path::Path) -> String {
    let members = std::fs::read_to_string(golden("members.csv")).unwrap();
    let lines: Vec<&str> = members.lines().collect();
    let mut problems = csv::Reader::from_path(golden("expected_problems.csv")).unwrap();
    let household = |l: &str| l.split(',').next().unwrap().to_string();
    let bad: std::collections::HashSet<String> = problems
        .records()
        .map(|r| r.unwrap())
        .filter(|r| r[2].starts_with('E'))
        .map(|r| household(lines[r[0].parse::<usize>().unwrap() - 1]))
        .collect();
    let clean: String = lines
        .iter()
        .enumerate()
        .filter(|(i, l)| *i == 0 || !bad.contains(&household(l)))
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let path = dir.join("members-clean.csv");
    std::fs::write(&path, clean).unwrap();
    path.display().to_string()
}

#[test]
fn plan_import_stores_revisions_all_or_nothing_and_routes_the_registers_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fupin.db").display());
    assert!(fupin(&["migrate", "--db", &db]).status.success());
    add_user(&db, "admin", &["--role", "hq_admin"]);
    add_user(&db, "zjj", &["--role", "unit_staff", "--unit", "县住建局"]);
    let members = clean_register(dir.path());
    let villages = golden("villages.csv");
    let o = fupin(&[
        "import",
        &members,
        "--villages",
        &villages,
        "--year",
        "2018",
        "--line",
        "3535",
        "--db",
        &db,
        "--user",
        "admin",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));

    let plan = dir.path().join("plan.csv").display().to_string();
    assert!(fupin(&["plan", "demo", "--out", &plan]).status.success());
    // Only the headquarters imports a plan.
    let o = fupin(&[
        "plan", "import", &plan, "--year", "2018", "--db", &db, "--user", "zjj",
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("指挥部管理员"),
        "{}",
        text(&o.stderr)
    );

    let o = fupin(&[
        "plan", "import", &plan, "--year", "2018", "--db", &db, "--user", "admin",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.contains("2018 年责任分解方案第 1 版：25 项重点工作"),
        "{out}"
    );
    // The demo plan owns every kind: nothing is left to the headquarters.
    assert!(out.contains("其中待指挥部分派 0 个"), "{out}");

    // A plan with an error is refused whole (exit 1, the problem listed) …
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "序号,重点工作,责任领导,牵头单位,落实单位,落实单位责任人,完成时限,负责问题\n\
         1,大力实施危房改造,分管城建副县长,县住建局,县住建局,局长,2018-13-01,HOUSING\n",
    )
    .unwrap();
    let bad = bad.display().to_string();
    let o = fupin(&[
        "plan", "import", &bad, "--year", "2018", "--db", &db, "--user", "admin",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stdout).contains("P306"), "{}", text(&o.stdout));
    // … so the next good import is the second revision, not the third.
    let o = fupin(&[
        "plan", "import", &plan, "--year", "2018", "--db", &db, "--user", "admin",
    ]);
    assert!(text(&o.stdout).contains("第 2 版"), "{}", text(&o.stdout));
}
