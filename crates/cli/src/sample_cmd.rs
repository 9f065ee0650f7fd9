//! `fupin sample`, `fupin estimate` and `fupin forecast`: the inspectors' draw over files,
//! the four veto indicators from the field teams' results, and the county's own forecast
//! of the sampled 错退率 (issue 6; algorithm and estimators in `docs/inspections.md`).
//!
//! Exit codes follow `fupin check`: 0 done, 1 problems in the results or an impossible
//! plan (every problem listed), 2 a file that cannot be read or a usage error.

use crate::assess_cmd::{self, AssessArgs};
use crate::RegisterArgs;
use anyhow::{Context, Result};
use fupin_domain::estimates::{estimate, percent, Estimates, Indicator, IndicatorEstimate};
use fupin_domain::figures::{Rate, Region};
use fupin_domain::forecast::{forecast, Forecast};
use fupin_domain::sampling::{
    draw, Allocation, CountyTotals, Frame, Group, NonRegistered, Sample, SamplingPlan, Scope,
};
use fupin_io::engine::assess_register;
use fupin_io::inspection::{
    build_frame, read_results, read_rural_households, InspectionError, RESULT_COLUMNS,
};
use fupin_io::sample_list::{
    allocation_text, sample_workbook, SampleListRow, ALGORITHM, FILL_IN, LIST_COLUMNS,
};
use fupin_io::TextEncoding;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The knobs of a sampling plan on the command line; each overrides `--plan`.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct PlanFlags {
    /// A plan as JSON (a bare plan, or the sample.json of an earlier draw, whose plan and
    /// seed are redrawn). Without it: the Guangdong 2018 rule (2 townships, 2 poor and 1
    /// non-poor village each, 10 households per village 5:3:2, at least 1%).
    #[arg(long)]
    pub plan: Option<PathBuf>,
    /// Random seed (required unless the plan gives one).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Townships drawn (0 = all).
    #[arg(long)]
    pub townships: Option<u32>,
    /// Poor villages drawn per township.
    #[arg(long)]
    pub poor_villages: Option<u32>,
    /// Non-poor villages drawn per township.
    #[arg(long)]
    pub other_villages: Option<u32>,
    /// Households per village, split by --quota.
    #[arg(long)]
    pub per_village: Option<u32>,
    /// Ratio registered able to work : non-registered : registered unable to work, e.g. 5:3:2.
    #[arg(long)]
    pub quota: Option<String>,
    /// Fixed registered households per village (instead of --per-village/--quota).
    #[arg(long)]
    pub registered: Option<u32>,
    /// Fixed non-registered households per village (with --registered).
    #[arg(long)]
    pub non_registered: Option<u32>,
    /// Minimum share of the county's registered households in the sample, e.g. 1%.
    #[arg(long)]
    pub min_share: Option<String>,
    /// Minimum households in the whole sample.
    #[arg(long)]
    pub min_households: Option<u32>,
    /// Take every unit where fewer exist than asked (default: refuse the plan).
    #[arg(long)]
    pub take_all: bool,
}

/// What a draw is made from, for `fupin sample` and `fupin forecast`: the register (with
/// its villages file) and the sampling plan.
#[derive(clap::Args, Debug)]
pub struct DrawArgs {
    #[command(flatten)]
    pub register: RegisterArgs,
    #[command(flatten)]
    pub plan: PlanFlags,
}

/// `fupin sample`.
#[derive(clap::Args, Debug)]
pub struct SampleArgs {
    #[command(flatten)]
    pub draw: DrawArgs,
    /// Rural households per village (乡镇, 行政村, 农村总户数) or a list of non-registered
    /// households (乡镇, 行政村, 户编号): needed to draw non-registered households.
    #[arg(long)]
    pub households: Option<PathBuf>,
    /// Folder for sample.xlsx, sample.csv and sample.json.
    #[arg(long)]
    pub out: PathBuf,
}

/// `fupin estimate`.
#[derive(clap::Args, Debug)]
pub struct EstimateArgs {
    /// The sample list with the field teams' results (XLSX or CSV).
    pub results: PathBuf,
    /// The sample.json written by `fupin sample`.
    #[arg(long)]
    pub plan: PathBuf,
    /// Region for the 综合贫困发生率 threshold: central (2%) or western (3%).
    #[arg(long, default_value = "central")]
    pub region: String,
    /// Text encoding of a CSV file: auto, utf-8, gbk, gb18030.
    #[arg(long, default_value = "auto")]
    pub encoding: String,
    /// Print the estimates as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `fupin forecast`.
#[derive(clap::Args, Debug)]
pub struct ForecastArgs {
    #[command(flatten)]
    pub draw: DrawArgs,
    /// Rural households file (as for `fupin sample`); not needed for 错退率.
    #[arg(long)]
    pub households: Option<PathBuf>,
    /// Simulated draws.
    #[arg(long, default_value_t = 1000)]
    pub runs: u32,
    /// Poverty line in yuan per person per year (overrides the standards table).
    #[arg(long)]
    pub line: Option<String>,
    /// Place (name or 6-digit administrative code) whose line applies.
    #[arg(long)]
    pub place: Option<String>,
    /// A standards file that overrides or adds lines.
    #[arg(long)]
    pub standards: Option<PathBuf>,
    /// Print the forecast as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What `fupin sample` records: the inputs, the county's totals and the sample with its
/// plan and seed.
#[derive(Serialize, Deserialize)]
pub struct Recorded {
    pub format: String,
    pub inputs: RecordedInputs,
    pub totals: CountyTotals,
    pub sample: Sample,
}

#[derive(Serialize, Deserialize)]
pub struct RecordedInputs {
    pub members: String,
    pub villages: String,
    pub households: Option<String>,
    pub year: i32,
}

const FORMAT: &str = "fupin-sample-1";

fn usage(msg: &str) -> ExitCode {
    eprintln!("错误：{msg}");
    ExitCode::from(2)
}

fn inspection_error(e: &InspectionError) -> ExitCode {
    match e {
        InspectionError::File(f) => {
            eprintln!("错误：{f}");
            ExitCode::from(2)
        }
        InspectionError::Problems { summary, problems } => {
            for p in problems {
                println!("{p}");
            }
            println!("{summary}；错误 {} 个", problems.len());
            ExitCode::from(1)
        }
    }
}

/// The plan: `--plan` (or the Guangdong rule), then every flag given.
pub fn resolve_plan(f: &PlanFlags) -> Result<SamplingPlan, String> {
    let mut plan = match &f.plan {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("{}：无法读取（{e}）", path.display()))?;
            match serde_json::from_str::<Recorded>(&text) {
                Ok(r) => r.sample.plan,
                Err(_) => serde_json::from_str::<SamplingPlan>(&text).map_err(|e| {
                    format!(
                        "{}：不是抽样方案 JSON（{e}）；格式见 docs/inspections.md",
                        path.display()
                    )
                })?,
            }
        }
        None => {
            let seed = f
                .seed
                .ok_or("请用 --seed 指定随机种子（记录在抽样记录中，任何人可据此重抽同一样本）")?;
            SamplingPlan::guangdong_2018(seed)
        }
    };
    if let Some(s) = f.seed {
        plan.seed = s;
    }
    if let Some(t) = f.townships {
        plan.townships = t;
    }
    if let Some(v) = f.poor_villages {
        plan.poor_villages_per_township = v;
    }
    if let Some(v) = f.other_villages {
        plan.other_villages_per_township = v;
    }
    let ratio_given = f.per_village.is_some() || f.quota.is_some();
    let fixed_given = f.registered.is_some() || f.non_registered.is_some();
    if ratio_given && fixed_given {
        return Err("--per-village/--quota 与 --registered/--non-registered 只能选一种".into());
    }
    if ratio_given {
        let (mut per_village, mut q) = match plan.households {
            Allocation::Ratio {
                per_village,
                able,
                non_registered,
                unable,
            } => (per_village, [able, non_registered, unable]),
            Allocation::Fixed { .. } => (10, [5, 3, 2]),
        };
        if let Some(n) = f.per_village {
            per_village = n;
        }
        if let Some(text) = &f.quota {
            let parts: Vec<Option<u32>> = text
                .split([':', '：'])
                .map(|p| p.trim().parse().ok())
                .collect();
            match parts.as_slice() {
                [Some(a), Some(b), Some(c)] if a + b + c > 0 => q = [*a, *b, *c],
                _ => {
                    return Err(format!(
                        "--quota「{text}」应为三个整数之比：有劳动能力建档立卡户:非建档立卡户:无劳动能力建档立卡户，如 5:3:2"
                    ))
                }
            }
        }
        plan.households = Allocation::Ratio {
            per_village,
            able: q[0],
            non_registered: q[1],
            unable: q[2],
        };
    }
    if fixed_given {
        let (r, n) = match plan.households {
            Allocation::Fixed {
                registered,
                non_registered,
            } => (registered, non_registered),
            Allocation::Ratio { .. } => (0, 0),
        };
        plan.households = Allocation::Fixed {
            registered: f.registered.unwrap_or(r),
            non_registered: f.non_registered.unwrap_or(n),
        };
    }
    if let Some(text) = &f.min_share {
        let t = text.trim().trim_end_matches(['%', '％']);
        let bp = parse_percent_bp(t).ok_or_else(|| {
            format!("--min-share「{text}」应为百分数，如 1% 或 0.5%（至多两位小数）")
        })?;
        plan.min_registered_share_bp = bp;
    }
    if let Some(n) = f.min_households {
        plan.min_households = n;
    }
    if f.take_all {
        plan.take_all_when_short = true;
    }
    Ok(plan)
}

/// Percent text with at most two decimals → basis points: "1" → 100, "0.5" → 50.
fn parse_percent_bp(t: &str) -> Option<u32> {
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if frac.len() > 2 || whole.is_empty() && frac.is_empty() {
        return None;
    }
    let w: u32 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let f: u32 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<2}").parse().ok()?
    };
    let bp = w.checked_mul(100)?.checked_add(f)?;
    (bp <= 10_000).then_some(bp)
}

/// Read the register, the villages file and the rural households into a frame.
fn frame_of(
    args: &RegisterArgs,
    households: Option<&Path>,
    line: Option<fupin_domain::Fen>,
) -> Result<(Frame, CountyTotals, usize), ExitCode> {
    if args.villages.is_none() {
        return Err(usage("抽样需要村级名册 --villages（是否贫困村、户籍人口）"));
    }
    let (register, villages) = match assess_cmd::read_inputs(args) {
        Ok(v) => v,
        Err(e) => return Err(inspection_error(&InspectionError::File(e))),
    };
    let Some((villages, matched)) = villages else {
        return Err(usage("抽样需要村级名册 --villages"));
    };
    let encoding = TextEncoding::from_option(&args.encoding).map_err(|m| usage(&m))?;
    let rural = match households {
        Some(p) => Some(read_rural_households(p, encoding).map_err(|e| inspection_error(&e))?),
        None => None,
    };
    let verdicts = match line {
        Some(line) => {
            let mut v = Vec::with_capacity(register.households.len());
            assess_register::<std::convert::Infallible>(&register, line, args.year, |_, a| {
                v.extend(a.iter().map(|a| a.verdict));
                Ok(())
            })
            .unwrap_or_else(|never| match never {});
            Some(v)
        }
        None => None,
    };
    let errors = register
        .households
        .iter()
        .filter(|h| h.has_errors())
        .count();
    let rural_file = households.map_or(String::new(), |p| p.display().to_string());
    let (frame, totals) = build_frame(
        &register,
        &villages,
        &matched,
        verdicts.as_deref(),
        rural.as_ref(),
        &rural_file,
    )
    .map_err(|e| inspection_error(&e))?;
    Ok((frame, totals, errors))
}

pub fn sample(args: &SampleArgs) -> Result<ExitCode> {
    let plan = match resolve_plan(&args.draw.plan) {
        Ok(p) => p,
        Err(m) => return Ok(usage(&m)),
    };
    let (frame, totals, errors) =
        match frame_of(&args.draw.register, args.households.as_deref(), None) {
            Ok(v) => v,
            Err(code) => return Ok(code),
        };
    let sample = match draw(&frame, &plan, Scope::All) {
        Ok(s) => s,
        Err(e) => {
            println!("{e}");
            return Ok(ExitCode::from(1));
        }
    };
    let recorded = Recorded {
        format: FORMAT.into(),
        inputs: RecordedInputs {
            members: args.draw.register.members.display().to_string(),
            villages: args
                .draw
                .register
                .villages
                .as_ref()
                .map_or(String::new(), |p| p.display().to_string()),
            households: args.households.as_ref().map(|p| p.display().to_string()),
            year: args.draw.register.year,
        },
        totals,
        sample,
    };
    let dir = &args.out;
    std::fs::create_dir_all(dir).with_context(|| format!("无法创建 {}", dir.display()))?;
    let rows = list_rows(&recorded.sample, &frame);
    write_xlsx(&dir.join("sample.xlsx"), &rows, &recorded)
        .with_context(|| format!("写入 {} 失败", dir.join("sample.xlsx").display()))?;
    write_csv(&dir.join("sample.csv"), &rows)
        .with_context(|| format!("写入 {} 失败", dir.join("sample.csv").display()))?;
    let json = serde_json::to_string_pretty(&recorded)? + "\n";
    std::fs::write(dir.join("sample.json"), json)
        .with_context(|| format!("写入 {} 失败", dir.join("sample.json").display()))?;
    if errors > 0 {
        println!("注意：登记表有 {errors} 户数据有误，仍按登记顺序参与抽样");
    }
    print!("{}", sample_summary(&recorded.sample, dir));
    Ok(ExitCode::SUCCESS)
}

/// The summary `fupin sample` prints.
pub fn sample_summary(s: &Sample, dir: &Path) -> String {
    let poor = s.villages.iter().filter(|v| v.poor).count();
    let mut groups: Vec<(Group, usize)> = Vec::new();
    for h in &s.households {
        match groups.iter_mut().find(|g| g.0 == h.group) {
            Some(g) => g.1 += 1,
            None => groups.push((h.group, 1)),
        }
    }
    let groups: Vec<String> = groups
        .iter()
        .map(|(g, n)| format!("{} {n} 户", g.chinese()))
        .collect();
    let townships = s.villages.first().map_or(0, |v| v.p_township.k);
    format!(
        "已抽取样本：乡镇 {townships}/{} 个，行政村 {} 个（贫困村 {poor}、非贫困村 {}），农户 {} 户（{}）；随机种子 {}\n  样本清单：{}、{}\n  抽样记录：{}（fupin sample --plan 该文件 可重抽同一样本；fupin estimate 用它估计）\n",
        s.townships_in_county,
        s.villages.len(),
        s.villages.len() - poor,
        s.households.len(),
        groups.join("、"),
        s.plan.seed,
        dir.join("sample.xlsx").display(),
        dir.join("sample.csv").display(),
        dir.join("sample.json").display(),
    )
}

fn list_rows(s: &Sample, frame: &Frame) -> Vec<SampleListRow> {
    s.households
        .iter()
        .map(|h| {
            let v = &s.villages[h.village as usize];
            let listed = frame
                .villages
                .iter()
                .find(|f| f.township == v.township && f.village == v.village)
                .is_some_and(|f| matches!(f.non_registered, NonRegistered::List(_)));
            SampleListRow::new(h, &v.township, &v.village, v.poor, listed)
        })
        .collect()
}

fn write_csv(path: &Path, rows: &[SampleListRow]) -> Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    file.write_all(b"\xEF\xBB\xBF")?;
    let mut w = csv::Writer::from_writer(file);
    let header: Vec<&str> = LIST_COLUMNS
        .iter()
        .copied()
        .chain(RESULT_COLUMNS.iter().map(|c| c.0))
        .collect();
    w.write_record(&header)?;
    for r in rows {
        // 样本编号 (0) and 家庭人口 (7) are numbers; the other cells are text.
        let mut rec: Vec<String> = r
            .cells
            .iter()
            .enumerate()
            .map(|(i, c)| match i {
                0 | 7 => c.clone(),
                _ => crate::output::text_cell(c).into_owned(),
            })
            .collect();
        rec.push(format!("{:.4}", r.weight));
        rec.extend(std::iter::repeat_n(String::new(), RESULT_COLUMNS.len()));
        w.write_record(&rec)?;
    }
    w.flush()?;
    Ok(())
}

fn write_xlsx(path: &Path, rows: &[SampleListRow], rec: &Recorded) -> Result<()> {
    let p = &rec.sample.plan;
    let households = allocation_text(&p.households);
    let about = [
        ("随机种子", p.seed.to_string()),
        (ALGORITHM.0, ALGORITHM.1.to_string()),
        (
            "抽取乡镇",
            format!(
                "{}（全县 {} 个）",
                if p.townships == 0 {
                    "全部".to_string()
                } else {
                    p.townships.to_string()
                },
                rec.sample.townships_in_county
            ),
        ),
        (
            "每乡镇抽取村",
            format!(
                "贫困村 {}、非贫困村 {}",
                p.poor_villages_per_township, p.other_villages_per_township
            ),
        ),
        ("每村抽取农户", households),
        (
            "最低比例",
            format!(
                "建档立卡户的 {}%",
                Rate {
                    num: u64::from(p.min_registered_share_bp),
                    den: 10_000
                }
                .percent()
            ),
        ),
        ("登记表", rec.inputs.members.clone()),
        ("村级名册", rec.inputs.villages.clone()),
        (
            "农村户数",
            rec.inputs
                .households
                .clone()
                .unwrap_or_else(|| "未提供".into()),
        ),
        (FILL_IN.0, FILL_IN.1.to_string()),
    ];
    std::fs::write(path, sample_workbook(rows, &about)?)?;
    Ok(())
}

fn region_of(text: &str) -> Option<Region> {
    match text {
        "central" | "中部" | "东部" => Some(Region::Central),
        "western" | "西部" => Some(Region::Western),
        _ => None,
    }
}

pub fn estimate_cmd(args: &EstimateArgs) -> Result<ExitCode> {
    let Some(region) = region_of(&args.region) else {
        return Ok(usage(&format!(
            "--region「{}」应为 central（2%）或 western（3%）",
            args.region
        )));
    };
    let encoding = match TextEncoding::from_option(&args.encoding) {
        Ok(e) => e,
        Err(m) => return Ok(usage(&m)),
    };
    let text = match std::fs::read_to_string(&args.plan) {
        Ok(t) => t,
        Err(e) => return Ok(usage(&format!("{}：无法读取（{e}）", args.plan.display()))),
    };
    let recorded: Recorded = match serde_json::from_str(&text) {
        Ok(r) => r,
        Err(e) => {
            return Ok(usage(&format!(
                "{}：不是 fupin sample 写出的抽样记录 sample.json（{e}）",
                args.plan.display()
            )))
        }
    };
    let results = match read_results(&args.results, encoding, &recorded.sample) {
        Ok(r) => r,
        Err(e) => return Ok(inspection_error(&e)),
    };
    let e = estimate(&recorded.sample, &results, &recorded.totals, region);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&estimates_json(&e, &recorded))?
        );
    } else {
        print!("{}", estimates_text(&e, &args.results, &recorded));
    }
    Ok(ExitCode::SUCCESS)
}

fn unit(i: Indicator) -> &'static str {
    match i {
        Indicator::WrongExit => "已脱贫人口",
        Indicator::Missed => "非建档立卡人口",
        Indicator::Approval => "受访户",
        Indicator::Comprehensive => "农村户籍人口",
    }
}

fn found_word(i: Indicator) -> &'static str {
    match i {
        Indicator::WrongExit => "错退",
        Indicator::Missed => "漏评",
        Indicator::Approval => "认可",
        Indicator::Comprehensive => "未脱贫",
    }
}

fn threshold_text(e: &IndicatorEstimate) -> String {
    let t = Rate {
        num: e.threshold_bp,
        den: 10_000,
    }
    .percent();
    let t = t.trim_end_matches('0').trim_end_matches('.');
    format!("{}{t}%", if e.below { "<" } else { ">" })
}

/// The text `fupin estimate` prints.
pub fn estimates_text(e: &Estimates, results: &Path, rec: &Recorded) -> String {
    let mut out = format!(
        "核查结果：{}；样本 {} 个村 {} 户，随机种子 {}；{}\n",
        results.display(),
        e.villages,
        e.households,
        rec.sample.plan.seed,
        e.region.chinese()
    );
    for r in &e.indicators {
        match r {
            Ok(x) => {
                let sample = if x.indicator == Indicator::Comprehensive {
                    format!(
                        "剩余贫困人口 {} 人，加上估计的漏评与错退人口，除以农村户籍人口 {} 人",
                        x.found, x.base
                    )
                } else {
                    let u = if x.indicator == Indicator::Approval {
                        "户"
                    } else {
                        "人"
                    };
                    format!(
                        "样本{} {} {u}，其中{} {} {u}（{}%）",
                        unit(x.indicator),
                        x.base,
                        found_word(x.indicator),
                        x.found,
                        x.sample_rate()
                            .map_or("—".into(), fupin_domain::figures::Rate::percent)
                    )
                };
                out += &format!(
                    "{}：{sample}；加权估计 {}%，95% 置信区间 [{}%, {}%]；标准 {}：{}；真实值{}标准的概率 {}%\n",
                    x.indicator.chinese(),
                    percent(x.estimate),
                    percent(x.ci_low),
                    percent(x.ci_high),
                    threshold_text(x),
                    if x.pass { "达标" } else { "不达标" },
                    if x.below { "低于" } else { "高于" },
                    percent(x.p_within),
                );
            }
            Err(n) => {
                out += &format!("{}：无法估计（{}）\n", n.indicator.chinese(), n.reason);
            }
        }
    }
    let failing: Vec<&str> = e
        .indicators
        .iter()
        .filter_map(|r| r.as_ref().ok().filter(|x| !x.pass))
        .map(|x| x.indicator.chinese())
        .collect();
    let missing = e.indicators.iter().filter(|r| r.is_err()).count();
    out += &if !failing.is_empty() {
        format!("结论：{} 不达标（一票否决）\n", failing.join("、"))
    } else if missing > 0 {
        format!("结论：可估计的指标均达标，另有 {missing} 项无法估计\n")
    } else {
        "结论：四项指标均达标\n".to_string()
    };
    out
}

fn estimates_json(e: &Estimates, rec: &Recorded) -> serde_json::Value {
    let indicators: Vec<serde_json::Value> = e
        .indicators
        .iter()
        .map(|r| match r {
            Ok(x) => serde_json::json!({
                "indicator": x.indicator,
                "name": x.indicator.chinese(),
                "estimable": true,
                "found": x.found,
                "base": x.base,
                "sample_percent": x.sample_rate().map(fupin_domain::figures::Rate::percent),
                "estimate": x.estimate,
                "estimate_percent": percent(x.estimate),
                "standard_error": x.standard_error,
                "effective_n": if x.effective_n.is_finite() { Some(x.effective_n) } else { None },
                "ci95": [x.ci_low, x.ci_high],
                "ci95_percent": [percent(x.ci_low), percent(x.ci_high)],
                "threshold_bp": x.threshold_bp,
                "must_be": if x.below { "below" } else { "above" },
                "pass": x.pass,
                "p_within": x.p_within,
            }),
            Err(n) => serde_json::json!({
                "indicator": n.indicator,
                "name": n.indicator.chinese(),
                "estimable": false,
                "reason": n.reason,
            }),
        })
        .collect();
    serde_json::json!({
        "seed": rec.sample.plan.seed,
        "region": e.region,
        "villages": e.villages,
        "households": e.households,
        "all_pass": e.all_pass(),
        "indicators": indicators,
    })
}

pub fn forecast_cmd(args: &ForecastArgs) -> Result<ExitCode> {
    let plan = match resolve_plan(&args.draw.plan) {
        Ok(p) => p,
        Err(m) => return Ok(usage(&m)),
    };
    if args.runs == 0 {
        return Ok(usage("--runs 应为大于0的整数"));
    }
    let line = match assess_cmd::resolve_line(
        &AssessArgs {
            line: args.line.clone(),
            place: args.place.clone(),
            standards: args.standards.clone(),
            region: "central".into(),
            out: PathBuf::new(),
        },
        args.draw.register.year,
    ) {
        Ok(l) => l,
        Err(m) => return Ok(usage(&m)),
    };
    let (frame, _, _) = match frame_of(
        &args.draw.register,
        args.households.as_deref(),
        Some(line.amount),
    ) {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    let f = match forecast(&frame, &plan, args.runs, 200) {
        Ok(f) => f,
        Err(e) => {
            println!("{e}");
            return Ok(ExitCode::from(1));
        }
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&forecast_json(&f, &plan))?
        );
    } else {
        print!("{}", forecast_text(&f, &plan, line.amount.grouped_short()));
    }
    Ok(ExitCode::SUCCESS)
}

fn rate_pct((num, den): (u64, u64)) -> String {
    Rate { num, den }.percent()
}

/// The text `fupin forecast` prints.
pub fn forecast_text(f: &Forecast, plan: &SamplingPlan, line: String) -> String {
    let mut out = format!(
        "错退率预测：按抽样方案模拟抽取 {} 次（随机种子 {}），贫困标准 {line} 元\n",
        f.runs, plan.seed
    );
    out += &match f.register_rate {
        Some(r) => format!(
            "登记表自评：已脱贫人口 {} 人中未达稳定脱贫 {} 人（{}%）\n",
            r.1,
            r.0,
            rate_pct(r)
        ),
        None => "登记表中没有已脱贫户\n".into(),
    };
    out += &format!(
        "每次样本平均含已脱贫户 {:.1} 户；{} 次样本中没有已脱贫户\n",
        f.mean_exited_households, f.runs_without_exited
    );
    if !f.quantiles.is_empty() {
        let q: Vec<String> = f
            .quantiles
            .iter()
            .map(|(level, r)| format!("{level}% 分位 {}%", rate_pct(*r)))
            .collect();
        out += &format!(
            "样本错退率分布：平均 {}%；{}\n",
            percent(f.mean),
            q.join("，")
        );
    }
    out += &format!(
        "样本错退率达到或超过 2%（不达标）的概率：{}%（{} / {} 次）\n",
        percent(f.p_fail()),
        f.runs_failing,
        f.runs - f.runs_without_exited
    );
    out
}

fn forecast_json(f: &Forecast, plan: &SamplingPlan) -> serde_json::Value {
    serde_json::json!({
        "plan": plan,
        "runs": f.runs,
        "runs_without_exited": f.runs_without_exited,
        "register_rate": f.register_rate.map(|r| serde_json::json!({"wrong_exit_people": r.0, "exited_people": r.1, "percent": rate_pct(r)})),
        "mean": f.mean,
        "quantiles": f.quantiles.iter().map(|(l, r)| serde_json::json!({"level": l, "wrong_exit_people": r.0, "exited_people": r.1, "percent": rate_pct(*r)})).collect::<Vec<_>>(),
        "runs_failing": f.runs_failing,
        "p_fail": f.p_fail(),
        "threshold_bp": f.threshold_bp,
    })
}
