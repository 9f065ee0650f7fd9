//! The generated registers, read back with the domain's own row rules and verdicts.

use fupin_domain::criteria::Criterion;
use fupin_domain::fields::{Field, HeaderMap, VillageField};
use fupin_domain::household::Household;
use fupin_domain::row::{read_member_row, RowContext};
use fupin_domain::standards::Standards;
use fupin_domain::{assess_household, IdNumber, ProblemCode, Verdict};
use fupin_gen::{generate, Encoding, Format, GenOptions, GenSummary};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

fn opts(households: u64, seed: u64, error_rate: f64) -> GenOptions {
    GenOptions {
        households,
        seed,
        error_rate,
        ..GenOptions::default()
    }
}

fn run(o: &GenOptions, dir: &Path) -> GenSummary {
    generate(o, dir).expect("generate")
}

/// Split one CSV line (quotes as written by the generator: only around cells with `,`).
fn split(line: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => cells.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    cells.push(cur);
    cells
}

/// What a full check of a members file finds.
#[derive(Default, Debug)]
struct Report {
    problems: BTreeMap<ProblemCode, usize>,
    verdicts: BTreeMap<Verdict, usize>,
    households: usize,
    members: usize,
    /// Households (without errors) failing INCOME: at or below the line.
    income_failed: usize,
    ids: Vec<String>,
    /// (乡镇, 行政村) → (members, members of 未脱贫 households).
    villages: HashMap<(String, String), (u64, u64)>,
}

impl Report {
    fn count(&self, c: ProblemCode) -> usize {
        self.problems.get(&c).copied().unwrap_or(0)
    }
    fn verdict(&self, v: Verdict) -> usize {
        self.verdicts.get(&v).copied().unwrap_or(0)
    }
    fn errors(&self) -> usize {
        self.problems
            .iter()
            .filter(|(c, _)| c.is_error())
            .map(|(_, n)| n)
            .sum()
    }
}

/// Check a members CSV as the spec says: row rules, E107/E108/E109, then verdicts.
fn check(text: &str, year: i32) -> Report {
    let ctx = RowContext::new("members.csv", year);
    let line_fen = Standards::builtin().lookup(year, None).unwrap().amount;
    let mut lines = text.lines();
    let headers = split(lines.next().unwrap());
    let map = HeaderMap::<Field>::new(headers.iter().map(String::as_str));
    assert!(map.missing_required().is_empty());
    assert!(map.unknown.is_empty());
    assert_eq!(map.width, Field::COUNT, "every column of §1.1 is written");

    let mut report = Report::default();
    let mut problems = Vec::new();
    let mut households: Vec<Household> = Vec::new();
    let mut seen_ids: HashSet<String> = HashSet::new();
    let mut id_lines: HashMap<u64, Vec<usize>> = HashMap::new(); // ID key → households
    let mut current: Option<(String, Household, (String, String))> = None;
    let mut finished_ids: HashSet<String> = HashSet::new();

    let mut finish = |cur: (String, Household, (String, String)),
                      households: &mut Vec<Household>,
                      report: &mut Report| {
        let (id, mut h, place) = cur;
        assert!(
            finished_ids.insert(id),
            "rows of a household are contiguous"
        );
        let heads = h.members.iter().filter(|m| m.is_head).count();
        if heads != 1 {
            h.errors.push((h.first_line, ProblemCode::E108));
            *report.problems.entry(ProblemCode::E108).or_default() += 1;
        }
        // W202: the declared per-capita income more than 1 yuan off the computed one.
        if let (Some(net), Some(declared)) =
            (h.values.net_income(), h.values.per_capita_declared.value())
        {
            if (net.per_capita(h.members.len() as u32).fen() - declared.fen()).abs() > 100 {
                *report.problems.entry(ProblemCode::W202).or_default() += 1;
            }
        }
        let e = report.villages.entry(place).or_default();
        e.0 += h.members.len() as u64;
        if h.status() == Some(fupin_domain::values::PovertyStatus::NotExited) {
            e.1 += h.members.len() as u64;
        }
        households.push(h);
    };

    for (i, l) in lines.enumerate() {
        let line = i as u64 + 2;
        let cells = split(l);
        assert_eq!(cells.len(), Field::COUNT, "line {line}");
        let get = |f: Field| map.position(f).map(|p| cells[p].as_str());
        problems.clear();
        let row = read_member_row(get, line, &ctx, false, &mut problems);
        for p in &problems {
            *report.problems.entry(p.code).or_default() += 1;
        }
        report.members += 1;
        if let Some(id) = row.member.id {
            report.ids.push(id.to_string());
            seen_ids.insert(id.to_string());
        }
        let hid = row.household_id.to_string();
        if current.as_ref().is_some_and(|c| c.0 != hid) {
            finish(current.take().unwrap(), &mut households, &mut report);
        }
        let cur = current.get_or_insert_with(|| {
            (
                hid.clone(),
                Household {
                    id: hid.clone().into(),
                    area: 0,
                    first_line: line,
                    values: row.values,
                    members: Vec::new(),
                    errors: Vec::new(),
                },
                (row.township.to_string(), row.village.to_string()),
            )
        });
        let h = &mut cur.1;
        if row.error {
            h.errors.push((line, problems[0].code));
        }
        if !h.values.differences(&row.values).is_empty() {
            h.errors.push((line, ProblemCode::E109));
            *report.problems.entry(ProblemCode::E109).or_default() += 1;
        }
        if let Some(id) = row.member.id {
            id_lines.entry(id.key()).or_default().push(households.len());
        }
        h.members.push(row.member);
    }
    if let Some(cur) = current.take() {
        finish(cur, &mut households, &mut report);
    }
    for hs in id_lines.values().filter(|v| v.len() > 1) {
        for &i in hs {
            households[i].errors.push((0, ProblemCode::E107));
            *report.problems.entry(ProblemCode::E107).or_default() += 1;
        }
    }
    report.households = households.len();
    for h in &households {
        let a = assess_household(h, line_fen, ctx.age_day);
        *report.verdicts.entry(a.verdict).or_default() += 1;
        if a.failed.contains(Criterion::Income) {
            report.income_failed += 1;
        }
    }
    report
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let o = opts(2000, 7, 0.01);
    let sa = run(&o, a.path());
    let sb = run(&o, b.path());
    run(&opts(2000, 8, 0.01), c.path());
    assert_eq!(
        sa,
        GenSummary {
            members_path: sa.members_path.clone(),
            villages_path: sa.villages_path.clone(),
            ..sb.clone()
        }
    );
    for f in ["members.csv", "villages.csv"] {
        let x = std::fs::read(a.path().join(f)).unwrap();
        let y = std::fs::read(b.path().join(f)).unwrap();
        let z = std::fs::read(c.path().join(f)).unwrap();
        assert!(x == y, "{f}: same seed, same bytes");
        assert!(x != z, "{f}: another seed, other bytes");
    }
}

#[test]
fn clean_register_is_fully_valid_and_realistic() {
    let dir = tempfile::tempdir().unwrap();
    let s = run(&opts(20_000, 11, 0.0), dir.path());
    assert_eq!(s.injected_errors, 0);
    let text = std::fs::read_to_string(&s.members_path).unwrap();
    assert!(!text.starts_with('\u{feff}'), "no BOM");
    assert!(!text.contains('\r'));
    let r = check(&text, 2018);
    assert!(
        r.problems.is_empty(),
        "no problems at all: {:?}",
        r.problems
    );
    assert_eq!(r.households as u64, s.households);
    assert_eq!(r.members as u64, s.members);

    // Every ID number valid and unique.
    assert_eq!(r.ids.len(), r.members);
    for id in &r.ids {
        IdNumber::parse(id).unwrap();
    }
    let unique: HashSet<&String> = r.ids.iter().collect();
    assert_eq!(unique.len(), r.ids.len(), "ID numbers are unique");

    let mean = r.members as f64 / r.households as f64;
    assert!((2.8..3.8).contains(&mean), "mean household size {mean}");

    // A realistic mix of verdicts.
    let share = |v: Verdict| r.verdict(v) as f64 / r.households as f64;
    eprintln!("verdicts: {:?}", r.verdicts);
    assert_eq!(r.verdict(Verdict::DataError), 0);
    assert!(share(Verdict::Stable) > 0.6, "{:?}", r.verdicts);
    assert!(
        (0.05..0.25).contains(&share(Verdict::Ready)),
        "{:?}",
        r.verdicts
    );
    assert!(
        (0.05..0.25).contains(&share(Verdict::NotReady)),
        "{:?}",
        r.verdicts
    );
    assert!(
        (0.005..0.04).contains(&share(Verdict::WrongExit)),
        "{:?}",
        r.verdicts
    );
    let below = r.income_failed as f64 / r.households as f64;
    assert!(
        (0.04..0.12).contains(&below),
        "at or below the line: {below}"
    );

    // The villages file: every village of the members file, with a plausible population.
    let vtext = std::fs::read_to_string(&s.villages_path).unwrap();
    let mut vlines = vtext.lines();
    let vmap =
        HeaderMap::<VillageField>::new(split(vlines.next().unwrap()).iter().map(String::as_str));
    assert_eq!(vmap.width, VillageField::COUNT);
    let mut rows = 0;
    let mut incidences = Vec::new();
    for l in vlines {
        let c = split(l);
        let key = (
            c[vmap.position(VillageField::Township).unwrap()].clone(),
            c[vmap.position(VillageField::Village).unwrap()].clone(),
        );
        let pop: u64 = c[vmap.position(VillageField::Population).unwrap()]
            .parse()
            .unwrap();
        let (members, poor) = r.villages[&key];
        assert!(pop > members, "{key:?}");
        incidences.push(poor as f64 / pop as f64);
        rows += 1;
    }
    assert_eq!(rows, r.villages.len());
    assert_eq!(rows as u32, s.villages);
    let mean_incidence = incidences.iter().sum::<f64>() / incidences.len() as f64;
    assert!((0.04..0.15).contains(&mean_incidence), "{mean_incidence}");
}

#[test]
fn injected_problems_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let s = run(&opts(20_000, 5, 0.05), dir.path());
    let text = std::fs::read_to_string(&s.members_path).unwrap();
    let r = check(&text, 2018);
    eprintln!(
        "problems: {:?}\nverdicts: {:?}\nsummary: {s:?}",
        r.problems, r.verdicts
    );
    let expected = s.injected_errors as f64 / s.households as f64;
    assert!((0.04..0.06).contains(&expected), "{expected}");
    for c in [
        ProblemCode::E102,
        ProblemCode::E103,
        ProblemCode::E104,
        ProblemCode::E105,
        ProblemCode::E106,
        ProblemCode::E107,
        ProblemCode::E108,
        ProblemCode::E109,
        ProblemCode::W201,
        ProblemCode::W202,
        ProblemCode::W203,
    ] {
        assert!(r.count(c) > 0, "{c:?} injected and found");
    }
    // Every injected error makes its household data_error; E107 also the previous one.
    let bad = r.verdict(Verdict::DataError) as u64;
    assert!(
        bad >= s.injected_errors && bad <= s.injected_errors * 115 / 100,
        "{bad} vs {}",
        s.injected_errors
    );
    assert!(r.errors() > 0);
}

#[test]
fn gbk_output_is_the_same_text() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let utf8 = run(&opts(3000, 3, 0.05), a.path());
    let gbk = run(
        &GenOptions {
            encoding: Encoding::Gbk,
            ..opts(3000, 3, 0.05)
        },
        b.path(),
    );
    for (u, g) in [
        (&utf8.members_path, &gbk.members_path),
        (&utf8.villages_path, &gbk.villages_path),
    ] {
        let u = std::fs::read_to_string(u).unwrap();
        let g = std::fs::read(g).unwrap();
        assert_ne!(u.as_bytes(), &g[..]);
        let decoded = encoding_rs::GBK
            .decode_without_bom_handling_and_without_replacement(&g)
            .expect("valid GBK");
        assert_eq!(decoded, u);
    }
}

#[test]
fn xlsx_holds_the_same_rows_as_csv() {
    use calamine::{open_workbook, Data, Reader, Xlsx};
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let o = opts(1500, 21, 0.05);
    let csv = run(&o, a.path());
    let xo = GenOptions {
        format: Format::Xlsx,
        ..o
    };
    let x = run(&xo, b.path());
    run(&xo, c.path());
    assert_eq!(x.members, csv.members);
    assert!(x.members_path.ends_with("members.xlsx"));
    assert_eq!(
        std::fs::read(&x.members_path).unwrap(),
        std::fs::read(c.path().join("members.xlsx")).unwrap(),
        "XLSX is deterministic too"
    );

    for (cp, xp) in [
        (&csv.members_path, &x.members_path),
        (&csv.villages_path, &x.villages_path),
    ] {
        let text = std::fs::read_to_string(cp).unwrap();
        let mut wb: Xlsx<_> = open_workbook(xp).unwrap();
        let range = wb.worksheet_range_at(0).unwrap().unwrap();
        let rows: Vec<&[Data]> = range.rows().collect();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(rows.len(), lines.len());
        for (line, row) in lines.iter().zip(&rows) {
            let cells = split(line);
            for (i, cell) in cells.iter().enumerate() {
                let got = row.get(i).cloned().unwrap_or(Data::Empty);
                match got {
                    Data::String(s) => assert_eq!(&s, cell, "{line}"),
                    Data::Empty => assert_eq!(cell, "", "{line}"),
                    Data::Float(f) => {
                        let want: f64 = cell.parse().unwrap();
                        assert!((f - want).abs() < 0.001, "{f} vs {cell}");
                    }
                    Data::Int(n) => assert_eq!(n.to_string(), *cell),
                    other => panic!("unexpected cell {other:?} for {cell}"),
                }
            }
        }
    }
}

#[test]
fn xlsx_refuses_more_rows_than_a_sheet_holds() {
    let dir = tempfile::tempdir().unwrap();
    let err = generate(
        &GenOptions {
            households: 320_000,
            format: Format::Xlsx,
            ..GenOptions::default()
        },
        dir.path(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("1048576"), "{err}");
    assert!(!dir.path().join("members.xlsx").exists());
}

#[test]
fn other_years_follow_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let s = run(
        &GenOptions {
            year: 2020,
            ..opts(3000, 4, 0.0)
        },
        dir.path(),
    );
    let r = check(&std::fs::read_to_string(&s.members_path).unwrap(), 2020);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let below = r.income_failed as f64 / r.households as f64;
    assert!((0.03..0.13).contains(&below), "{below}");
}
