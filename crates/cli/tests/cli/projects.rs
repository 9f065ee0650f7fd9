//! `fupin projects check|import` and `fupin funds add|reverse|figures` (issue 7): the
//! library all or nothing, headquarters imports, the unit records its own projects' money,
//! the budget holds unless headquarters overrides with a reason, a reversal corrects.

use crate::{fupin, text};
use std::io::Write;
use std::process::{Command, Stdio};

const HEADER: &str = "项目名称,年度,项目类型,乡镇,行政村,服务重点工作(序号),实施单位,中央资金,县级资金,项目阶段,计划开工日期,计划完工日期";

fn library(dir: &std::path::Path, rows: &[&str]) -> String {
    let path = dir.join("projects.csv");
    let mut text = format!("{HEADER}\n");
    for r in rows {
        text += r;
        text += "\n";
    }
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

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
        .write_all("测试账号密码-2018\n".as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
}

#[test]
fn projects_check_lists_every_problem_or_summarises() {
    let dir = tempfile::tempdir().unwrap();
    let good = library(
        dir.path(),
        &["示例村光伏电站,2018,光伏,示例一乡,示例村,3,县能源局,10000,2500.50,实施,2018-03-01,2018-09-30"],
    );
    let o = fupin(&["projects", "check", &good]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}{}", text(&o.stderr));
    assert!(out.contains("项目 1 个，预算合计 12,500.50 元"), "{out}");
    assert!(out.contains("中央：10,000.00 元"), "{out}");

    let bad = library(
        dir.path(),
        &[
            "示例村光伏电站,2018,光伏,示例一乡,示例村,3,县能源局,10000,,开工,2018-03-01,",
            "养殖场,2018,养殖,示例一乡,,,县农业农村局,1.234,,实施,,",
        ],
    );
    let o = fupin(&["projects", "check", &bad]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    for want in [
        "第2行「项目阶段」列 F503",
        "（值：开工）",
        "第3行「项目类型」列 F503",
        "第3行「中央资金」列 F504",
        "项目库有 3 个错误，整个文件未读入",
    ] {
        assert!(out.contains(want), "{want} not in {out}");
    }
    std::fs::write(dir.path().join("cols.csv"), "项目名称,年度\n示例,2018\n").unwrap();
    let o = fupin(&[
        "projects",
        "check",
        &dir.path().join("cols.csv").display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stdout));
    assert!(text(&o.stdout).contains("F501"));
}

#[test]
fn projects_import_and_the_ledger_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fupin.db").display());
    assert!(fupin(&["migrate", "--db", &db]).status.success());
    add_user(&db, "admin", &["--role", "hq_admin"]);
    add_user(&db, "nyj", &["--role", "unit_staff", "--unit", "县能源局"]);
    let file = library(
        dir.path(),
        &["示例村光伏电站,2018,光伏,示例一乡,示例村,3,县能源局,10000,,实施,2018-03-01,2018-09-30"],
    );
    let o = fupin(&["projects", "import", &file, "--db", &db, "--user", "nyj"]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("只有指挥部管理员"),
        "{}",
        text(&o.stderr)
    );
    let o = fupin(&["projects", "import", &file, "--db", &db, "--user", "admin"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("新增项目 1 个，修改 0 个，未变 0 个"));
    // No 2018 plan is imported: the 序号 cannot be checked (a warning).
    assert!(text(&o.stdout).contains("F552"), "{}", text(&o.stdout));

    let add = |user: &str, amount: &str, extra: &[&str]| {
        let mut args = vec![
            "funds",
            "add",
            "--project",
            "1",
            "--date",
            "2018-04-01",
            "--source",
            "中央",
            "--amount",
            amount,
            "--voucher",
            "记-0401",
            "--payee",
            "示例光伏建设公司",
            "--db",
            &db,
            "--user",
            user,
        ];
        args.extend_from_slice(extra);
        fupin(&args)
    };
    let o = add("nyj", "6000", &[]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    assert!(
        text(&o.stdout).contains("已登记拨付记录 1"),
        "{}",
        text(&o.stdout)
    );
    let o = add("nyj", "4000.01", &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stdout).contains("将超出预算 0.01 元"),
        "{}",
        text(&o.stdout)
    );
    let o = add("admin", "4000.01", &["--override", "省级追加资金已下达"]);
    assert!(o.status.success(), "{}", text(&o.stdout));
    assert!(text(&o.stdout).contains("超预算拨付，理由：省级追加资金已下达"));

    let o = fupin(&[
        "funds",
        "reverse",
        "1",
        "--project",
        "1",
        "--date",
        "2018-04-02",
        "--voucher",
        "记-0402",
        "--note",
        "金额录错",
        "--db",
        &db,
        "--user",
        "nyj",
    ]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    assert!(
        text(&o.stdout).contains("冲销（冲销记录 1）"),
        "{}",
        text(&o.stdout)
    );
    assert!(
        text(&o.stdout).contains("6,000.00 元"),
        "{}",
        text(&o.stdout)
    );

    // A disbursement file: one row over budget refuses the whole file.
    let pay = dir.path().join("pay.csv");
    std::fs::write(
        &pay,
        "年度,项目名称,拨付日期,资金来源,金额,凭证号,收款单位\n\
         2018,示例村光伏电站,2018-05-01,中央,1000,记-0501,示例光伏建设公司\n\
         2018,示例村光伏电站,2018-05-02,中央,6000,记-0502,示例光伏建设公司\n",
    )
    .unwrap();
    let pay = pay.display().to_string();
    let o = fupin(&["funds", "import", &pay, "--db", &db, "--user", "nyj"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    assert!(
        text(&o.stdout).contains("第3行「金额」列 F511"),
        "{}",
        text(&o.stdout)
    );
    assert!(
        text(&o.stdout).contains("整个文件未登记"),
        "{}",
        text(&o.stdout)
    );

    let o = fupin(&[
        "funds", "figures", "--by", "source", "--db", &db, "--user", "admin",
    ]);
    let out = text(&o.stdout);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        out.contains("central\t中央\t1\t10000.00\t4000.01\t4000.01\t40.00%"),
        "{out}"
    );
}
