//! The files `fupin assess` writes, staged in a hidden folder and moved into place only
//! when all are complete, so a failed run leaves no half-written file.

use anyhow::Result;
use fupin_domain::figures::{village_exit_ready, Rate, Region, Tally};
use fupin_domain::problem::Problem;
use fupin_domain::standards::PovertyLine;
use fupin_domain::{Assessment, Household, Verdict};
use fupin_io::engine::{assess_register, Tallies, BATCH};
use fupin_io::villages::{VillageRecord, Villages};
use fupin_io::Register;
use rayon::prelude::*;
use serde::Serialize;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Everything a run produced, for writing.
pub struct Report<'a> {
    pub register: &'a Register,
    /// The villages file and, per area of the register, its row in that file.
    pub villages: Option<(&'a Villages, &'a [Option<usize>])>,
    pub tallies: &'a Tallies,
    pub line: &'a PovertyLine,
    pub year: i32,
    pub region: Region,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

pub use fupin_io::csv_cell::text_cell;

pub const OUTPUT_FILES: [&str; 5] = [
    "households.csv",
    "households.jsonl",
    "villages.csv",
    "county.json",
    "problems.csv",
];

/// A hidden folder inside `dir` that is removed unless its files are moved out.
struct Staging {
    dir: PathBuf,
    path: PathBuf,
    done: bool,
}

impl Staging {
    fn new(dir: &Path) -> Result<Staging> {
        fs::create_dir_all(dir)?;
        let path = dir.join(format!(".fupin-staging-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir(&path)?;
        Ok(Staging {
            dir: dir.to_path_buf(),
            path,
            done: false,
        })
    }

    fn create(&self, name: &str) -> Result<BufWriter<File>> {
        Ok(BufWriter::with_capacity(
            1 << 20,
            File::create(self.path.join(name))?,
        ))
    }

    /// Move every staged file into the folder.
    fn commit(mut self) -> Result<()> {
        for entry in fs::read_dir(&self.path)? {
            let entry = entry?;
            fs::rename(entry.path(), self.dir.join(entry.file_name()))?;
        }
        fs::remove_dir(&self.path)?;
        self.done = true;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// What a run reads and decides before judging.
pub struct Input<'a> {
    pub register: &'a Register,
    pub villages: Option<(&'a Villages, &'a [Option<usize>])>,
    pub line: &'a PovertyLine,
    pub year: i32,
    pub region: Region,
}

/// Judge every household while writing households.csv and households.jsonl, then write
/// the figures and problems; all files appear together or not at all.
pub fn assess_and_write(dir: &Path, input: &Input<'_>) -> Result<Tallies> {
    let staging = Staging::new(dir)?;
    let mut households = HouseholdFiles::create(&staging, input)?;
    let tallies = assess_register(input.register, input.line.amount, input.year, |hs, as_| {
        households.write_batch(hs, as_)
    })?;
    households.finish()?;
    let r = Report {
        register: input.register,
        villages: input.villages,
        tallies: &tallies,
        line: input.line,
        year: input.year,
        region: input.region,
    };
    write_villages(&mut staging.create("villages.csv")?, &r)?;
    let mut county = staging.create("county.json")?;
    serde_json::to_writer_pretty(&mut county, &county_json(&r))?;
    county.write_all(b"\n")?;
    county.flush()?;
    write_problems(&mut staging.create("problems.csv")?, &all_problems(&r))?;
    staging.commit()?;
    Ok(tallies)
}

pub fn write_problems_only(dir: &Path, problems: &[Problem]) -> Result<()> {
    let staging = Staging::new(dir)?;
    write_problems(&mut staging.create("problems.csv")?, problems)?;
    staging.commit()
}

fn all_problems(r: &Report<'_>) -> Vec<Problem> {
    let mut v = r.register.problems.clone();
    if let Some((villages, _)) = r.villages {
        v.extend(villages.problems.iter().cloned());
    }
    v
}

fn write_problems(w: &mut BufWriter<File>, problems: &[Problem]) -> Result<()> {
    w.write_all(BOM)?;
    let mut csv = csv::Writer::from_writer(w);
    csv.write_record(["文件", "行号", "列", "代码", "说明", "值"])?;
    for p in problems {
        csv.write_record([
            &*text_cell(&p.file),
            &p.line.to_string(),
            &*text_cell(p.column),
            p.code.as_str(),
            &*text_cell(&p.message),
            &*text_cell(&p.value),
        ])?;
    }
    csv.flush()?;
    Ok(())
}

#[derive(Serialize)]
struct HouseholdLine<'a> {
    household_id: &'a str,
    township: &'a str,
    village: &'a str,
    status: Option<&'static str>,
    members: usize,
    per_capita_income: Option<String>,
    verdict: Verdict,
    failed: Vec<&'static str>,
    explanation: &'a str,
}

/// households.csv and households.jsonl, formatted on every core and written on threads of
/// their own, so the next batch is judged and formatted while the last one is written.
struct HouseholdFiles<'a> {
    input: &'a Input<'a>,
    csv: Spool,
    jsonl: Spool,
    line: String,
}

/// Households formatted by one task.
const CHUNK: usize = 2048;

/// Formatted chunks waiting for each writer: one batch's worth, so formatting runs at most
/// a batch ahead of the disk and the buffers in flight stay about 40 MB.
const SPOOL_DEPTH: usize = BATCH / CHUNK;

impl<'a> HouseholdFiles<'a> {
    fn create(staging: &Staging, input: &'a Input<'a>) -> Result<HouseholdFiles<'a>> {
        let mut csv = staging.create("households.csv")?;
        let jsonl = staging.create("households.jsonl")?;
        csv.write_all(BOM)?;
        {
            let mut header = csv::Writer::from_writer(&mut csv);
            header.write_record([
                "户编号",
                "乡镇",
                "行政村",
                "脱贫属性",
                "人数",
                "人均纯收入",
                "标准",
                "结论",
                "未达标项",
                "说明",
            ])?;
            header.flush()?;
        }
        Ok(HouseholdFiles {
            input,
            csv: Spool::new(csv.into_inner()?, SPOOL_DEPTH),
            jsonl: Spool::new(jsonl.into_inner()?, SPOOL_DEPTH),
            line: input.line.amount.plain(),
        })
    }

    fn write_batch(&mut self, hs: &[Household], as_: &[Assessment]) -> Result<()> {
        let mut buffers: Vec<(Vec<u8>, Vec<u8>)> = (0..hs.len().div_ceil(CHUNK))
            .map(|_| (self.csv.buffer(), self.jsonl.buffer()))
            .collect();
        let (register, line) = (self.input.register, self.line.as_str());
        buffers
            .par_iter_mut()
            .zip(hs.par_chunks(CHUNK).zip(as_.par_chunks(CHUNK)))
            .try_for_each(|((c, j), (hs, as_))| format_households(register, hs, as_, line, c, j))?;
        for (c, j) in buffers {
            self.csv.send(c)?;
            self.jsonl.send(j)?;
        }
        Ok(())
    }

    fn finish(self) -> Result<()> {
        let jsonl = self.jsonl.finish();
        self.csv.finish()?;
        jsonl
    }
}

/// A file written on a thread of its own: buffers sent are written in the order sent and
/// come back cleared for reuse (fresh buffers for every chunk made the kernel zero hundreds
/// of megabytes of new pages).
struct Spool {
    full: Option<crossbeam_channel::Sender<Vec<u8>>>,
    empty: crossbeam_channel::Receiver<Vec<u8>>,
    writer: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Spool {
    /// `file` takes the chunks as they are: they are large, and a `BufWriter` would copy
    /// every one that fits its spare room.
    fn new(mut file: File, depth: usize) -> Spool {
        let (full, to_write) = crossbeam_channel::bounded::<Vec<u8>>(depth);
        let (done, empty) = crossbeam_channel::unbounded::<Vec<u8>>();
        let writer = std::thread::spawn(move || {
            for mut buf in to_write {
                // On an error the thread ends: its receiver is dropped, the next send fails
                // and `finish` returns this error.
                file.write_all(&buf)?;
                buf.clear();
                let _ = done.send(buf);
            }
            Ok(())
        });
        Spool {
            full: Some(full),
            empty,
            writer: Some(writer),
        }
    }

    /// An empty buffer, reused when one has come back.
    fn buffer(&self) -> Vec<u8> {
        self.empty.try_recv().unwrap_or_default()
    }

    /// Queue `buf` for writing, waiting while the writer is a batch behind.
    fn send(&mut self, buf: Vec<u8>) -> Result<()> {
        let sent = self.full.as_ref().map(|f| f.send(buf));
        match sent {
            Some(Ok(())) => Ok(()),
            // The writer stopped on an error: report it.
            _ => {
                self.join()?;
                Err(anyhow::anyhow!("写入线程已提前结束"))
            }
        }
    }

    /// Write what is queued and flush; the writer's error, if any.
    fn finish(mut self) -> Result<()> {
        self.join()
    }

    fn join(&mut self) -> Result<()> {
        self.full = None;
        match self.writer.take().map(std::thread::JoinHandle::join) {
            None | Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(e))) => Err(e.into()),
            Some(Err(_)) => Err(anyhow::anyhow!("写入线程意外退出")),
        }
    }
}

impl Drop for Spool {
    /// A run that failed elsewhere still waits for its writer before the staging folder
    /// is removed.
    fn drop(&mut self) {
        let _ = self.join();
    }
}

fn format_households(
    register: &Register,
    hs: &[Household],
    as_: &[Assessment],
    line: &str,
    csv_out: &mut Vec<u8>,
    jsonl: &mut Vec<u8>,
) -> Result<()> {
    let mut csv = csv::Writer::from_writer(csv_out);
    let mut members = itoa::Buffer::new();
    for (h, a) in hs.iter().zip(as_) {
        let area = &register.areas[h.area as usize];
        let status = h.status().map(fupin_domain::values::PovertyStatus::label);
        let per_capita = a.per_capita.map(fupin_domain::Fen::plain);
        let failed: Vec<&'static str> =
            a.failed.iter().map(fupin_domain::Criterion::code).collect();
        csv.write_record([
            &*text_cell(&h.id),
            &*text_cell(&area.township),
            &*text_cell(&area.village),
            status.unwrap_or(""),
            members.format(h.members.len()),
            per_capita.as_deref().unwrap_or(""),
            line,
            a.verdict.chinese(),
            &failed.join("、"),
            &*text_cell(&a.explanation),
        ])?;
        serde_json::to_writer(
            &mut *jsonl,
            &HouseholdLine {
                household_id: &h.id,
                township: &area.township,
                village: &area.village,
                status,
                members: h.members.len(),
                per_capita_income: per_capita,
                verdict: a.verdict,
                failed,
                explanation: &a.explanation,
            },
        )?;
        jsonl.push(b'\n');
    }
    csv.flush()?;
    Ok(())
}

/// One row of villages.csv: an area of the register, a village of the villages file, or both.
struct VillageRow<'a> {
    township: &'a str,
    village: &'a str,
    tally: Tally,
    record: Option<&'a VillageRecord>,
}

fn village_rows<'a>(r: &'a Report<'a>) -> Vec<VillageRow<'a>> {
    let areas = &r.register.areas;
    match r.villages {
        None => areas
            .iter()
            .zip(&r.tallies.areas)
            .map(|(a, t)| VillageRow {
                township: &a.township,
                village: &a.village,
                tally: t.clone(),
                record: None,
            })
            .collect(),
        Some((villages, matched)) => {
            let mut rows: Vec<VillageRow<'a>> = villages
                .list
                .iter()
                .map(|v| VillageRow {
                    township: &v.area.township,
                    village: &v.area.village,
                    tally: Tally::default(),
                    record: Some(v),
                })
                .collect();
            for (i, m) in matched.iter().enumerate() {
                match m {
                    Some(v) => rows[*v].tally.merge(&r.tallies.areas[i]),
                    None => rows.push(VillageRow {
                        township: &areas[i].township,
                        village: &areas[i].village,
                        tally: r.tallies.areas[i].clone(),
                        record: None,
                    }),
                }
            }
            rows
        }
    }
}

fn pct(rate: Option<Rate>) -> String {
    rate.map(Rate::percent).unwrap_or_default()
}

fn write_villages(w: &mut BufWriter<File>, r: &Report<'_>) -> Result<()> {
    w.write_all(BOM)?;
    let mut csv = csv::Writer::from_writer(w);
    let mut header = vec![
        "乡镇",
        "行政村",
        "户数",
        "人数",
        "现有贫困人口",
        "剩余贫困人口",
        "户籍人口",
        "现贫困发生率(%)",
        "退出后贫困发生率(%)",
        "是否贫困村",
        "未达条件",
        "是否达到退出条件",
    ];
    header.extend(Verdict::ALL.iter().map(|v| match v {
        Verdict::Ready => "达到退出标准户数",
        Verdict::NotReady => "未达退出标准户数",
        Verdict::Stable => "稳定脱贫户数",
        Verdict::WrongExit => "疑似错退户数",
        Verdict::DataError => "数据有误户数",
    }));
    csv.write_record(&header)?;
    let threshold = r.region.threshold_bp();
    for v in village_rows(r) {
        let t = &v.tally;
        let pop = v.record.map(|rec| rec.population);
        let now = pop.and_then(|p| Rate::new(t.poor_now, p));
        let after = pop.and_then(|p| Rate::new(t.remaining, p));
        let unmet = v
            .record
            .map(|rec| rec.conditions.unmet().join("、"))
            .unwrap_or_default();
        let ready = v
            .record
            .map(|rec| village_exit_ready(after, threshold, &rec.conditions));
        let mut row = vec![
            text_cell(v.township).into_owned(),
            text_cell(v.village).into_owned(),
            t.households.to_string(),
            t.members.to_string(),
            t.poor_now.to_string(),
            t.remaining.to_string(),
            pop.map(|p| p.to_string()).unwrap_or_default(),
            pct(now),
            pct(after),
            v.record
                .and_then(|rec| rec.poor_village)
                .map_or("", |b| if b { "是" } else { "否" })
                .to_string(),
            text_cell(&unmet).into_owned(),
            ready
                .map_or("", |b| if b { "是" } else { "否" })
                .to_string(),
        ];
        row.extend(Verdict::ALL.iter().map(|x| t.verdict_count(*x).to_string()));
        csv.write_record(&row)?;
    }
    csv.flush()?;
    Ok(())
}

#[derive(Serialize)]
struct LineJson<'a> {
    year: i32,
    place: Option<&'a str>,
    amount: String,
    source: &'a str,
    verified: bool,
}

fn county_json(r: &Report<'_>) -> serde_json::Value {
    let c = &r.tallies.county;
    let rows = village_rows(r);
    let population: Option<u64> = r
        .villages
        .map(|(v, _)| v.list.iter().map(|x| x.population).sum());
    let now = population.and_then(|p| Rate::new(c.poor_now, p));
    let after = population.and_then(|p| Rate::new(c.remaining, p));
    let threshold = r.region.threshold_bp();
    let villages_ready = rows
        .iter()
        .filter(|v| {
            v.record
                .is_some_and(|rec| village_exit_ready(rec_rate(v), threshold, &rec.conditions))
        })
        .count();
    let mut verdicts = serde_json::Map::new();
    for v in Verdict::ALL {
        verdicts.insert(v.word().into(), c.verdict_count(v).into());
    }
    let mut failed = serde_json::Map::new();
    for cr in fupin_domain::Criterion::ALL {
        failed.insert(cr.code().into(), c.criterion_count(cr).into());
    }
    let mut problems = serde_json::Map::new();
    for p in all_problems(r) {
        let e = problems.entry(p.code.as_str()).or_insert(0u64.into());
        *e = (e.as_u64().unwrap_or(0) + 1).into();
    }
    serde_json::json!({
        "year": r.year,
        "line": LineJson {
            year: r.line.year,
            place: r.line.place.as_deref(),
            amount: r.line.amount.plain(),
            source: &r.line.source,
            verified: r.line.verified,
        },
        "line_description": r.line.describe(),
        "region": r.region,
        "threshold_percent": Rate { num: threshold, den: 10_000 }.percent(),
        "members_file": &*r.register.file,
        "members_format": r.register.format,
        "villages_file": r.villages.map(|(v, _)| v.file.to_string()),
        "rows": r.register.rows,
        "households": c.households,
        "members": c.members,
        "verdicts": verdicts,
        "failed": failed,
        "poor_now": c.poor_now,
        "remaining": c.remaining,
        "population": population,
        "incidence_now_percent": now.map(Rate::percent),
        "incidence_after_percent": after.map(Rate::percent),
        "exit_ready": after.map(|a| a.below_bp(threshold)),
        "villages": rows.len(),
        "villages_exit_ready": population.map(|_| villages_ready),
        "exited_members": c.exited_members,
        "wrong_exit_members": c.wrong_exit_members,
        "internal_wrong_exit_rate_percent": c.wrong_exit_rate().map(Rate::percent),
        "problems": problems,
    })
}

fn rec_rate(v: &VillageRow<'_>) -> Option<Rate> {
    v.record
        .and_then(|rec| Rate::new(v.tally.remaining, rec.population))
}

/// What the run prints.
pub fn summary(r: &Report<'_>, dir: &Path) -> String {
    let c = &r.tallies.county;
    let problems = all_problems(r);
    let errors = problems.iter().filter(|p| p.code.is_error()).count();
    let mut s = String::new();
    s += &format!(
        "fupin 评估 {} 年度：{}（{}），{} 行\n",
        r.year, r.register.file, r.register.format, r.register.rows
    );
    s += &format!("贫困标准：{}\n", r.line.describe());
    s += &format!("共 {} 户 {} 人\n", c.households, c.members);
    for v in Verdict::ALL {
        s += &format!(
            "  {}（{}）：{} 户\n",
            v.chinese(),
            v.word(),
            c.verdict_count(v)
        );
    }
    s += &format!(
        "问题：错误 {} 个，警告 {} 个（见 problems.csv）\n",
        errors,
        problems.len() - errors
    );
    let threshold = r.region.threshold_bp();
    if let Some((v, _)) = r.villages {
        let pop: u64 = v.list.iter().map(|x| x.population).sum();
        if let (Some(now), Some(after)) = (Rate::new(c.poor_now, pop), Rate::new(c.remaining, pop))
        {
            s += &format!(
                "贫困发生率：现 {}%，退出后 {}%（阈值 {}%，{}）：{}\n",
                now.percent(),
                after.percent(),
                Rate {
                    num: threshold,
                    den: 10_000
                }
                .percent(),
                r.region.chinese(),
                if after.below_bp(threshold) {
                    "达到退出标准"
                } else {
                    "未达退出标准"
                }
            );
        }
    }
    if let Some(w) = c.wrong_exit_rate() {
        s += &format!(
            "内部错退率（疑似错退人口 ÷ 已脱贫人口）：{}%\n",
            w.percent()
        );
    }
    s += &format!(
        "结果已写入 {}：{}\n",
        dir.display(),
        OUTPUT_FILES.join("、")
    );
    s
}
