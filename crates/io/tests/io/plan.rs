//! Reading responsibility plan files (plan spec v1): every check, in CSV (UTF-8 and GBK)
//! and XLSX with the 方案信息 sheet, and the demo plan.

use fupin_domain::plan::{Deadline, GapKind, UnitAssignment};
use fupin_domain::problem::{Problem, ProblemCode};
use fupin_io::plan_file::{demo_plan_2018, parse_plan_csv_text, read_plan, PlanFacts};
use fupin_io::FileError;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use std::path::Path;

const HEADER_ZH: &str = "序号,重点工作,责任领导,牵头单位,落实单位,落实单位责任人,完成时限,负责问题";
const HEADER_EN: &str = "task_no,task,leader,lead_unit,units,unit_owners,deadline,owns";

/// One row for each error of the spec, and one warning (HOUSING owned twice); 10 tasks.
const BAD_ROWS: &[&str] = &[
    "1,大力实施危房改造,,县住建局,县住建局,局长,2018-09-30,HOUSING",
    "2,大力实施健康扶贫,分管教育卫生副县长,,县卫健局,局长,2018/10/31,MEDICAL",
    "3,加强饮水安全保障,分管农业副县长,县水利局,,,2018年8月31日,WATER",
    "4,大力实施兜底保障,常务副县长、分管民政副县长,县民政局,县民政局,局长,长期,FOOD",
    "5,大力实施教育扶贫,分管教育卫生副县长,县教育局,县教育局、县财政局,局长,2018-09-30,EDUCATION",
    "6,加强交通基础设施建设,分管交通副县长,县交通运输局,县交通运输局,局长,2018-10-31,ROAD",
    "6,加强电力建设,分管交通副县长,县交通运输局,县供电公司,经理,,POWER",
    "7,基层资料规范化建设,常务副县长,县扶贫办,县扶贫办,主任,10月底,DATA",
    "8,大力实施特色产业扶贫,分管农业副县长,县农业农村局,县农业农村局,局长,长期,INCOME_LABOR、SCHOOL",
    "9,大力实施生态扶贫,分管农业副县长,县林业局,县林业局,局长,2018-11-30,HOUSING",
    "x,大力实施文化扶贫,县委宣传部部长,县文旅局,县文旅局,局长,2018-11-30,",
    "10,大力实施金融扶贫,分管金融副县长,县金融办,县金融办,主任,2018-12-31,",
    "10,,常务副县长,县财政局,县财政局,局长,2018-11-30,",
    ",大力实施旅游扶贫,分管文旅副县长,县文旅局,县文旅局,局长,2018-12-31,",
];

/// (line, column, code) of every problem the bad rows must give, in report order.
const BAD_EXPECTED: &[(u64, &str, ProblemCode)] = &[
    (2, "责任领导", ProblemCode::P302),
    (3, "牵头单位", ProblemCode::P302),
    (4, "落实单位", ProblemCode::P302),
    (5, "责任领导", ProblemCode::P303),
    (6, "落实单位责任人", ProblemCode::P304),
    (8, "重点工作", ProblemCode::P305),
    (9, "完成时限", ProblemCode::P306),
    (10, "负责问题", ProblemCode::P308),
    (11, "负责问题", ProblemCode::P401),
    (12, "序号", ProblemCode::P309),
    (14, "责任领导", ProblemCode::P303),
    (14, "牵头单位", ProblemCode::P307),
    (14, "完成时限", ProblemCode::P307),
    (15, "序号", ProblemCode::P302),
];

fn csv_text(header: &str, rows: &[&str]) -> String {
    let mut s = String::from(header);
    for r in rows {
        s.push('\n');
        s.push_str(r);
    }
    s.push('\n');
    s
}

fn facts(declared: Option<u32>) -> PlanFacts {
    PlanFacts {
        year: Some(2018),
        declared_tasks: declared,
        ..PlanFacts::default()
    }
}

fn positions(problems: &[Problem]) -> Vec<(u64, &str, ProblemCode)> {
    problems
        .iter()
        .map(|p| (p.line, p.column, p.code))
        .collect()
}

fn rejected(r: Result<fupin_io::PlanFile, FileError>) -> Vec<Problem> {
    match r {
        Err(FileError::Problems { problems, .. }) => problems,
        Err(e) => panic!("not a list of problems: {e}"),
        Ok(p) => panic!("plan accepted: {:?}", p.plan),
    }
}

/// Write rows of CSV-like cells as an XLSX sheet (text cells), optionally with a 方案信息
/// sheet of (项目, 内容) pairs after it.
fn write_xlsx(path: &Path, header: &str, rows: &[&str], facts: Option<&[(&str, &str)]>) {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("重点工作").unwrap();
    for (r, line) in std::iter::once(header)
        .chain(rows.iter().copied())
        .enumerate()
    {
        for (c, cell) in line.split(',').enumerate() {
            if !cell.is_empty() {
                ws.write_string(r as u32, c as u16, cell).unwrap();
            }
        }
    }
    if let Some(items) = facts {
        let info = wb.add_worksheet();
        info.set_name("方案信息").unwrap();
        info.write_string(0, 0, "项目").unwrap();
        info.write_string(0, 1, "内容").unwrap();
        for (i, (k, v)) in items.iter().enumerate() {
            info.write_string(i as u32 + 1, 0, *k).unwrap();
            info.write_string(i as u32 + 1, 1, *v).unwrap();
        }
    }
    wb.save(path).unwrap();
}

/// Plan spec, checks: every error of a UTF-8 CSV is listed at its line and column, with
/// the value and a message saying what is accepted; the declared count (12) differs from
/// the 10 tasks listed (P402, line 0: it came from the command line).
#[test]
fn every_error_in_a_utf8_csv_is_listed_and_nothing_is_read() {
    let problems = rejected(parse_plan_csv_text(
        "bad.csv",
        &csv_text(HEADER_ZH, BAD_ROWS),
        &facts(Some(12)),
    ));
    let mut expected = vec![(0, "重点工作数", ProblemCode::P402)];
    expected.extend_from_slice(BAD_EXPECTED);
    assert_eq!(positions(&problems), expected);
    let find = |line: u64, code: ProblemCode| {
        problems
            .iter()
            .find(|p| p.line == line && p.code == code)
            .unwrap()
    };
    assert_eq!(find(9, ProblemCode::P306).value, "10月底");
    assert!(find(9, ProblemCode::P306)
        .message
        .contains("2018年10月31日"));
    assert_eq!(find(10, ProblemCode::P308).value, "SCHOOL");
    assert!(find(10, ProblemCode::P308).message.contains("HOUSING"));
    assert_eq!(
        find(5, ProblemCode::P303).value,
        "常务副县长、分管民政副县长"
    );
    assert_eq!(
        find(6, ProblemCode::P304).value,
        "县教育局、县财政局 | 局长"
    );
    assert!(find(8, ProblemCode::P305).message.contains("第7行"));
    assert_eq!(find(12, ProblemCode::P309).value, "x");
    let p401 = find(11, ProblemCode::P401);
    assert_eq!(p401.value, "HOUSING");
    assert!(
        p401.message.contains("交由序号1负责"),
        "the smaller 序号 wins: {}",
        p401.message
    );
    let p402 = find(0, ProblemCode::P402);
    assert_eq!(p402.value, "12");
    assert!(p402.message.contains("实际列出 10 项"), "{}", p402.message);
    assert!(problems.iter().all(|p| &*p.file == "bad.csv"));
}

/// The same rows in a GBK file with English headers give the same problems.
#[test]
fn a_gbk_csv_with_english_headers_gives_the_same_problems() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad_gbk.csv");
    let text = csv_text(HEADER_EN, BAD_ROWS);
    let (bytes, _, bad) = encoding_rs::GBK.encode(&text);
    assert!(!bad);
    std::fs::write(&path, &bytes).unwrap();
    let problems = rejected(read_plan(&path, None, &facts(None)));
    assert_eq!(positions(&problems), BAD_EXPECTED);
}

/// XLSX: the plan facts come from the 方案信息 sheet (year, name, posts, declared count);
/// the P402 warning points at the sheet's row; errors are at their sheet rows.
#[test]
fn an_xlsx_plan_reads_its_facts_sheet_and_lists_every_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.xlsx");
    let items: &[(&str, &str)] = &[
        ("年度", "2018"),
        ("方案名称", "某县2018年方案"),
        ("负总责", "县委书记"),
        ("指挥长", "县长"),
        ("重点工作数", "12"),
    ];
    write_xlsx(&path, HEADER_ZH, BAD_ROWS, Some(items));
    let problems = rejected(read_plan(&path, None, &PlanFacts::default()));
    let mut expected = BAD_EXPECTED.to_vec();
    expected.push((6, "重点工作数", ProblemCode::P402));
    assert_eq!(positions(&problems), expected);
    let p402 = problems.last().unwrap();
    assert_eq!(&*p402.file, format!("{}（方案信息）", path.display()));
}

/// A good XLSX plan: facts from 方案信息 (an option overrides one), a deadline stored as an
/// Excel date, several rows per task, an unknown item ignored with P403.
#[test]
fn a_good_xlsx_plan_with_facts_sheet_and_excel_dates() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in HEADER_ZH.split(',').enumerate() {
        ws.write_string(0, c as u16, h).unwrap();
    }
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let rows: [[&str; 6]; 3] = [
        [
            "大力实施危房改造",
            "分管城建副县长",
            "县住建局",
            "县住建局",
            "局长",
            "HOUSING",
        ],
        ["", "", "", "各乡镇人民政府", "乡镇长", ""],
        [
            "大力实施兜底保障",
            "分管民政副县长",
            "县民政局",
            "县民政局；县残联",
            "局长;理事长",
            "income_no_labor，FOOD",
        ],
    ];
    for (i, (no, cells)) in [1.0, 1.0, 2.0].iter().zip(rows).enumerate() {
        let r = i as u32 + 1;
        ws.write_number(r, 0, *no).unwrap();
        for (c, v) in cells[..5].iter().enumerate() {
            if !v.is_empty() {
                ws.write_string(r, c as u16 + 1, *v).unwrap();
            }
        }
        ws.write_string(r, 7, cells[5]).unwrap();
    }
    ws.write_datetime_with_format(1, 6, ExcelDateTime::from_ymd(2018, 9, 30).unwrap(), &date)
        .unwrap();
    ws.write_string(3, 6, "长期").unwrap();
    let info = wb.add_worksheet();
    info.set_name("方案信息").unwrap();
    for (r, (k, v)) in [
        ("项目", "内容"),
        ("年度", "2018年"),
        ("方案名称", "某县方案"),
        ("负总责", "县委书记"),
        ("指挥长", "县长"),
        ("重点工作数", "2项"),
        ("备注", "无"),
    ]
    .iter()
    .enumerate()
    {
        info.write_string(r as u32, 0, *k).unwrap();
        info.write_string(r as u32, 1, *v).unwrap();
    }
    wb.save(&path).unwrap();
    let options = PlanFacts {
        name: Some("选项给的名称".into()),
        ..PlanFacts::default()
    };
    let read = read_plan(&path, None, &options).unwrap();
    assert_eq!(positions(&read.warnings), [(7, "项目", ProblemCode::P403)]);
    let plan = read.plan;
    assert_eq!(plan.year, 2018);
    assert_eq!(plan.name, "选项给的名称");
    assert_eq!(plan.overall_post, "县委书记");
    assert_eq!(plan.commander_post, "县长");
    assert_eq!(plan.declared_tasks, Some(2));
    assert_eq!(plan.tasks.len(), 2);
    let housing = &plan.tasks[0];
    assert_eq!(
        housing.deadline,
        Deadline::Date(chrono::NaiveDate::from_ymd_opt(2018, 9, 30).unwrap())
    );
    assert_eq!(
        housing.units,
        [
            UnitAssignment {
                unit: "县住建局".into(),
                owner: "局长".into()
            },
            UnitAssignment {
                unit: "各乡镇人民政府".into(),
                owner: "乡镇长".into()
            },
        ]
    );
    let dibao = &plan.tasks[1];
    assert_eq!(dibao.deadline, Deadline::Ongoing);
    assert_eq!(dibao.owns, [GapKind::IncomeNoLabor, GapKind::Food]);
    assert_eq!(dibao.units.len(), 2);
    assert_eq!(dibao.units[1].owner, "理事长");
}

/// Warnings do not reject a plan: a kind owned twice (the smaller 序号 wins, in the
/// warning and in routing), a declared count that differs, an unknown column.
#[test]
fn warnings_travel_with_an_accepted_plan() {
    let text = csv_text(
        &format!("{HEADER_ZH},备注"),
        &[
            "2,大力实施健康扶贫,分管教育卫生副县长,县卫健局,县卫健局,局长,2018-10-31,MEDICAL、CLINIC,",
            "1,贫困村整体提升,县委副书记,县扶贫办,各乡镇人民政府,乡镇长,2018-10-31,CLINIC,见附件",
        ],
    );
    let read = parse_plan_csv_text("ok.csv", &text, &facts(Some(3))).unwrap();
    assert_eq!(
        positions(&read.warnings),
        [
            (0, "重点工作数", ProblemCode::P402),
            (1, "", ProblemCode::P403),
            (2, "负责问题", ProblemCode::P401),
        ]
    );
    assert!(read.warnings[2].message.contains("交由序号1负责"));
    assert_eq!(read.plan.owner_of(GapKind::Clinic).unwrap().no, 1);
    assert_eq!(read.plan.tasks[0].no, 1, "tasks are in 序号 order");
    assert_eq!(read.plan.name, "2018年脱贫攻坚重点工作责任分解方案");
}

/// A missing required column rejects the file before any row is read; no year for a CSV
/// plan is an error naming --year.
#[test]
fn missing_columns_and_missing_year_are_errors() {
    let problems = rejected(parse_plan_csv_text(
        "cols.csv",
        "序号,重点工作,责任领导,落实单位\n1,甲,县长,县扶贫办\n",
        &facts(None),
    ));
    assert_eq!(
        positions(&problems),
        [
            (1, "牵头单位", ProblemCode::P301),
            (1, "落实单位责任人", ProblemCode::P301),
        ]
    );
    // A header and no tasks.
    let problems = rejected(parse_plan_csv_text("h.csv", HEADER_ZH, &facts(None)));
    assert_eq!(positions(&problems), [(0, "", ProblemCode::P302)]);
    // An empty file lacks every required column.
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, b"").unwrap();
    let problems = rejected(read_plan(&empty, None, &facts(None)));
    let columns: Vec<&str> = problems.iter().map(|p| p.column).collect();
    assert_eq!(
        columns,
        [
            "序号",
            "重点工作",
            "责任领导",
            "牵头单位",
            "落实单位",
            "落实单位责任人"
        ]
    );
    assert!(problems
        .iter()
        .all(|p| p.code == ProblemCode::P301 && p.line == 1));
    let problems = rejected(parse_plan_csv_text(
        "noyear.csv",
        &csv_text(HEADER_ZH, &["1,甲,县长,县扶贫办,县扶贫办,主任,,"]),
        &PlanFacts::default(),
    ));
    assert_eq!(positions(&problems), [(0, "年度", ProblemCode::P310)]);
    assert!(problems[0].message.contains("--year"));
}

/// Plan spec: the seed's article announces 26 tasks and lists 25; the demo plan keeps
/// that, so its only problem is the P402 warning.
#[test]
fn the_demo_plan_lists_25_of_26_tasks() {
    let read = demo_plan_2018().unwrap();
    assert_eq!(
        positions(&read.warnings),
        [(0, "重点工作数", ProblemCode::P402)]
    );
    assert!(read.warnings[0]
        .message
        .contains("方案称有 26 项重点工作，实际列出 25 项（序号 1-25）"));
    let plan = &read.plan;
    assert_eq!((plan.year, plan.declared_tasks), (2018, Some(26)));
    assert_eq!(plan.overall_post, "县委书记");
    assert_eq!(plan.commander_post, "县长");
    assert_eq!(plan.tasks.len(), 25);
    let owner = |k: GapKind| plan.owner_of(k).map(|t| t.name.as_str());
    assert_eq!(owner(GapKind::Housing), Some("大力实施危房改造"));
    assert_eq!(owner(GapKind::Education), Some("大力实施教育扶贫"));
    assert_eq!(owner(GapKind::Medical), Some("大力实施健康扶贫"));
    assert_eq!(owner(GapKind::Clinic), Some("大力实施健康扶贫"));
    assert_eq!(owner(GapKind::Water), Some("加强饮水安全保障"));
    assert_eq!(owner(GapKind::IncomeLabor), Some("大力实施特色产业扶贫"));
    assert_eq!(owner(GapKind::IncomeNoLabor), Some("大力实施兜底保障"));
    assert_eq!(owner(GapKind::Food), Some("大力实施兜底保障"));
    assert_eq!(owner(GapKind::Clothing), Some("大力实施兜底保障"));
    assert_eq!(owner(GapKind::Data), Some("基层资料规范化建设"));
    assert_eq!(owner(GapKind::Road), Some("加强交通基础设施建设"));
    assert_eq!(owner(GapKind::Power), Some("大力推进电力和信息网络全覆盖"));
    assert_eq!(
        owner(GapKind::Broadband),
        Some("大力推进电力和信息网络全覆盖")
    );
    assert_eq!(owner(GapKind::Incidence), Some("贫困村整体提升"));
    assert_eq!(owner(GapKind::Income), None);
    assert!(plan.unowned_kinds().is_empty());
    // Leaders are posts, never personal names.
    for t in &plan.tasks {
        assert!(
            ["县长", "书记", "部长"]
                .iter()
                .any(|p| t.leader.ends_with(p)),
            "{}: {}",
            t.no,
            t.leader
        );
        assert!(!t.units.is_empty());
    }
    // Task 5 is written on three rows, one per implementing unit.
    assert_eq!(plan.task(5).unwrap().units.len(), 3);
    assert_eq!(plan.task(5).unwrap().units[2].unit, "县民政局");
}

/// The flow of the architecture: register → assess → gaps → route through the demo plan.
/// Over the golden register every gap reaches its task: income by labour capacity (11
/// 特色产业扶贫 for households with a member able to work, 7 兜底保障 otherwise), each
/// other criterion to its owner, data errors to 17 基层资料规范化建设.
#[test]
fn golden_register_gaps_route_through_the_demo_plan() {
    use fupin_domain::assess::{assess_household, Verdict};
    use fupin_domain::gap::{household_gaps, route, Route};
    use fupin_domain::id_number::age_reference_day;
    use fupin_domain::Fen;
    use fupin_io::{read_members, ReadOptions};

    let plan = demo_plan_2018().unwrap().plan;
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/tests/fixtures/golden/members.csv");
    let register = read_members(&path, &ReadOptions::new(2018)).unwrap();
    let line = Fen::parse_yuan("3535").unwrap();
    let (mut labour, mut no_labour, mut data) = (0, 0, 0);
    for h in &register.households {
        let a = assess_household(h, line, age_reference_day(2018));
        let codes: Vec<ProblemCode> = h.errors.iter().map(|(_, c)| *c).collect();
        for g in household_gaps(&h.id, &a, &codes) {
            let expected = match g.kind {
                GapKind::Income if h.has_labor() => {
                    labour += 1;
                    11
                }
                GapKind::Income => {
                    no_labour += 1;
                    7
                }
                GapKind::Data => {
                    assert_eq!(a.verdict, Verdict::DataError);
                    data += 1;
                    17
                }
                GapKind::Food | GapKind::Clothing => 7,
                GapKind::Education => 13,
                GapKind::Medical => 5,
                GapKind::Housing => 4,
                GapKind::Water => 6,
                other => panic!("a household gap of kind {other}"),
            };
            assert_eq!(
                route(&plan, &g, h.has_labor()),
                Route::Task(expected),
                "{}",
                g.key()
            );
            assert!(g.key().starts_with(&format!(
                "{}:{}:",
                if g.kind == GapKind::Data {
                    "data:household"
                } else {
                    "household"
                },
                h.id
            )));
        }
    }
    // The golden register has income gaps only in households able to work: the other
    // side is the same gap routed without labour.
    assert!(labour > 0 && data > 0, "{labour} {data}");
    assert_eq!(no_labour, 0);
    let income = register
        .households
        .iter()
        .flat_map(|h| {
            let a = assess_household(h, line, age_reference_day(2018));
            household_gaps(&h.id, &a, &[])
        })
        .find(|g| g.kind == GapKind::Income)
        .unwrap();
    assert_eq!(route(&plan, &income, false), Route::Task(7));
}

/// Rows of one task need not be adjacent: units append in file order, 负责问题 merge, every
/// separator of the spec splits, and a later row may repeat or omit the task's cells.
#[test]
fn rows_of_a_task_gather_across_the_file_with_every_separator() {
    let text = csv_text(
        HEADER_ZH,
        &[
            "1,大力实施危房改造,分管城建副县长,县住建局,县住建局，县财政局,局长，分管副局长,2018/9/30,HOUSING",
            "2,大力实施兜底保障,分管民政副县长,县民政局,县民政局;县残联,局长;理事长,长期,FOOD；CLOTHING",
            "1,大力实施危房改造,,县住建局,各乡镇人民政府,乡镇长,2018年9月30日,income,",
        ],
    );
    let plan = parse_plan_csv_text("rows.csv", &text, &facts(Some(2)))
        .unwrap()
        .plan;
    let t1 = plan.task(1).unwrap();
    let units: Vec<(&str, &str)> = t1
        .units
        .iter()
        .map(|u| (u.unit.as_str(), u.owner.as_str()))
        .collect();
    assert_eq!(
        units,
        [
            ("县住建局", "局长"),
            ("县财政局", "分管副局长"),
            ("各乡镇人民政府", "乡镇长")
        ]
    );
    assert_eq!(t1.owns, [GapKind::Housing, GapKind::Income]);
    assert_eq!(t1.leader, "分管城建副县长");
    assert_eq!(t1.deadline.label(), "2018年9月30日");
    let t2 = plan.task(2).unwrap();
    assert_eq!(t2.owns, [GapKind::Food, GapKind::Clothing]);
    assert_eq!(t2.units[1].owner, "理事长");
}

/// The 方案信息 sheet's own problems: a year that is not a year and a count that is not
/// a number are P310 at their sheet rows; a sheet without 项目/内容 is P310 at row 1.
#[test]
fn facts_sheet_problems_are_at_their_rows() {
    let dir = tempfile::tempdir().unwrap();
    let rows = &["1,甲,县长,县扶贫办,县扶贫办,主任,,"];
    let path = dir.path().join("facts.xlsx");
    write_xlsx(
        &path,
        HEADER_ZH,
        rows,
        Some(&[("年度", "二〇一八"), ("重点工作数", "多项")]),
    );
    let problems = rejected(read_plan(&path, None, &PlanFacts::default()));
    let sheet = format!("{}（方案信息）", path.display());
    let at: Vec<(&str, u64, &str, ProblemCode)> = problems
        .iter()
        .map(|p| (&*p.file, p.line, p.column, p.code))
        .collect();
    let main = path.display().to_string();
    assert_eq!(
        at,
        [
            (main.as_str(), 0, "年度", ProblemCode::P310),
            (sheet.as_str(), 2, "内容", ProblemCode::P310),
            (sheet.as_str(), 3, "内容", ProblemCode::P310),
        ]
    );
    // With --year the option is the plan's year, but the sheet is still wrong where it is
    // wrong: both its rows are reported, the missing year is not.
    let problems = rejected(read_plan(&path, None, &facts(None)));
    assert_eq!(
        positions(&problems),
        [
            (2, "内容", ProblemCode::P310),
            (3, "内容", ProblemCode::P310)
        ]
    );
    let path = dir.path().join("nohead.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in HEADER_ZH.split(',').enumerate() {
        ws.write_string(0, c as u16, h).unwrap();
    }
    for (c, v) in rows[0].split(',').enumerate() {
        ws.write_string(1, c as u16, v).unwrap();
    }
    let info = wb.add_worksheet();
    info.set_name("方案信息").unwrap();
    info.write_string(0, 0, "年度").unwrap();
    info.write_string(0, 1, "2018").unwrap();
    wb.save(&path).unwrap();
    let problems = rejected(read_plan(&path, None, &facts(None)));
    assert_eq!(positions(&problems), [(1, "", ProblemCode::P310)]);
}
