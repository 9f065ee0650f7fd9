//! The project library file (issue 7): all or nothing, every problem listed with line,
//! column, value and what is accepted; CSV and XLSX alike.

use fupin_domain::funds::{FundSource, ProjectType, Stage};
use fupin_domain::{Fen, ProblemCode};
use fupin_io::projects_file::{parse_projects_csv_text, read_projects};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

const HEADER: &str = "项目名称,年度,项目类型,乡镇,行政村,服务重点工作(序号),实施单位,中央资金,统筹整合涉农资金(元),项目阶段,计划开工日期,计划完工日期,实际开工日期,实际完工日期";

#[test]
fn a_good_library_reads_every_project_with_its_budget() {
    let text = format!(
        "{HEADER}\n\
         示例村光伏电站,2018,光伏,示例一乡,示例村,3,县能源局,\"1,200,000\",300000.5,实施,2018-03-01,2018/9/30,2018年3月5日,\n\
         全乡饮水巩固,2018,饮水安全,示例二镇,,,县水利局,,80000,入库,,,,\n"
    );
    let f = parse_projects_csv_text("projects.csv", &text).unwrap();
    assert!(f.warnings.is_empty());
    let (line, p) = &f.projects[0];
    assert_eq!(*line, 2);
    assert_eq!(p.kind, ProjectType::Photovoltaic);
    assert_eq!(p.task_no, Some(3));
    assert_eq!(p.budget.get(FundSource::Central), Fen::new(120_000_000));
    assert_eq!(p.budget.get(FundSource::Integrated), Fen::new(30_000_050));
    assert_eq!(p.budget.total(), Fen::new(150_000_050));
    assert_eq!(p.stage, Stage::Implementing);
    assert_eq!(p.planned_end.unwrap().to_string(), "2018-09-30");
    assert_eq!(p.actual_start.unwrap().to_string(), "2018-03-05");
    let (_, q) = &f.projects[1];
    assert_eq!(q.village, None);
    assert_eq!(q.task_no, None);
}

#[test]
fn a_bad_library_is_refused_with_every_problem() {
    let text = format!(
        "{HEADER},负责人\n\
         ,2018,光伏,示例一乡,示例村,3,县能源局,100,,实施,,,,\n\
         养殖场,18,养猪,示例一乡,,x,县农业农村局,-5,1.234,开工,2018-02-30,,,\n\
         光伏二期,2018,光伏,示例一乡,,,县能源局,,,批复,2018-05-01,2018-04-01,,2018-06-01\n\
         光伏三期,2018,光伏,示例一乡,,,县能源局,10,,实施,,,,\n\
         光伏三期,2018,光伏,示例一乡,,,县能源局,10,,实施,,,,\n"
    );
    let err = parse_projects_csv_text("bad.csv", &text).unwrap_err();
    let got: Vec<(u64, &str, ProblemCode, &str)> = err
        .problems()
        .iter()
        .map(|p| (p.line, p.column, p.code, p.value.as_str()))
        .collect();
    let expected = [
        (1, "", ProblemCode::F551, "负责人"),
        (2, "项目名称", ProblemCode::F502, ""),
        (3, "年度", ProblemCode::F507, "18"),
        (3, "项目类型", ProblemCode::F503, "养猪"),
        (3, "项目阶段", ProblemCode::F503, "开工"),
        (3, "服务重点工作(序号)", ProblemCode::F507, "x"),
        (3, "中央资金", ProblemCode::F504, "-5"),
        (3, "统筹整合涉农资金", ProblemCode::F504, "1.234"),
        (3, "计划开工日期", ProblemCode::F505, "2018-02-30"),
    ];
    for e in expected {
        assert!(got.contains(&e), "missing {e:?} in {got:#?}");
    }
    // Line 4: end before start, an actual end before 完工, no budget though 批复.
    let line4: Vec<_> = got.iter().filter(|p| p.0 == 4).map(|p| p.2).collect();
    assert_eq!(
        line4,
        [ProblemCode::F508, ProblemCode::F508, ProblemCode::F509]
    );
    assert!(got.contains(&(6, "项目名称", ProblemCode::F506, "光伏三期")));
    let stage = err.problems().iter().find(|p| p.value == "开工").unwrap();
    assert!(
        stage
            .message
            .contains("入库、批复、实施、完工、验收、绩效评价"),
        "{}",
        stage.message
    );
}

#[test]
fn missing_columns_are_listed_and_nothing_is_read() {
    let err = parse_projects_csv_text("cols.csv", "项目名称,年度\n示例,2018\n").unwrap_err();
    let missing: Vec<&str> = err
        .problems()
        .iter()
        .filter(|p| p.code == ProblemCode::F501)
        .map(|p| p.column)
        .collect();
    assert_eq!(missing, ["项目类型", "乡镇", "实施单位", "项目阶段", ""]);
}

/// XLSX: English headers, numbers in budget cells, Excel dates.
#[test]
fn an_xlsx_library_with_english_headers_numbers_and_dates() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("projects.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let header = [
        "name",
        "year",
        "type",
        "township",
        "unit",
        "stage",
        "budget_central",
        "planned_start",
    ];
    for (i, h) in header.iter().enumerate() {
        ws.write_string(0, i as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "示例村道路硬化").unwrap();
    ws.write_number(1, 1, 2018).unwrap();
    ws.write_string(1, 2, "infrastructure").unwrap();
    ws.write_string(1, 3, "示例一乡").unwrap();
    ws.write_string(1, 4, "县交通局").unwrap();
    ws.write_string(1, 5, "批复").unwrap();
    ws.write_number(1, 6, 250000.25).unwrap();
    let date = ExcelDateTime::from_ymd(2018, 4, 1).unwrap();
    ws.write_datetime_with_format(1, 7, &date, &Format::new().set_num_format("yyyy-mm-dd"))
        .unwrap();
    wb.save(&path).unwrap();
    let f = read_projects(&path, None).unwrap();
    let (_, p) = &f.projects[0];
    assert_eq!(p.kind, ProjectType::Infrastructure);
    assert_eq!(p.budget.get(FundSource::Central), Fen::new(25_000_025));
    assert_eq!(p.planned_start.unwrap().to_string(), "2018-04-01");
    assert_eq!(f.format, "XLSX");
}

/// The disbursement file: every problem listed, nothing read; a good file read whole.
#[test]
fn a_disbursement_file_lists_every_problem() {
    use fupin_io::funds_file::{read_beneficiaries, read_disbursements};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pay.csv");
    std::fs::write(
        &path,
        "年度,项目名称,拨付日期,资金来源,金额(元),凭证号,收款单位,备注\n\
         2018,示例村光伏电站,2018-05-01,中央,6000,记-0501,示例光伏建设公司,首笔\n\
         2018,示例村光伏电站,2018-05-32,央企,0,记-0502,示例光伏建设公司,\n\
         18,,2018-05-03,县级,-1,,示例光伏建设公司,\n",
    )
    .unwrap();
    let err = read_disbursements(&path, None).unwrap_err();
    let got: Vec<(u64, &str, ProblemCode)> = err
        .problems()
        .iter()
        .map(|p| (p.line, p.column, p.code))
        .collect();
    assert_eq!(
        got,
        [
            (3, "资金来源", ProblemCode::F503),
            (3, "金额", ProblemCode::F504),
            (3, "拨付日期", ProblemCode::F505),
            (4, "项目名称", ProblemCode::F502),
            (4, "凭证号", ProblemCode::F502),
            (4, "金额", ProblemCode::F504),
            (4, "年度", ProblemCode::F507),
        ]
    );
    std::fs::write(
        &path,
        "year,project,date,source,amount,voucher,payee\n2018,示例村光伏电站,2018/5/1,central,\"1,200.50\",记-0501,示例光伏建设公司\n",
    )
    .unwrap();
    let (rows, warnings) = read_disbursements(&path, None).unwrap();
    assert!(warnings.is_empty());
    assert_eq!(rows[0].entry.amount, Fen::new(120_050));
    assert_eq!(rows[0].entry.source, FundSource::Central);

    let b = dir.path().join("b.csv");
    std::fs::write(
        &b,
        "年度,项目名称,户编号,带贫方式,年收益（元）\n2018,示例村光伏电站,1409300102007,分红,3000\n2018,示例村光伏电站,1409300102008,入股,3000\n",
    )
    .unwrap();
    let err = read_beneficiaries(&b, None).unwrap_err();
    assert_eq!(err.problems().len(), 1);
    assert!(err.problems()[0]
        .message
        .contains("分红、务工、土地流转、服务"));
}
