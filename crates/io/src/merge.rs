//! Gathering row records into households, in order of first appearance, with the checks
//! that need more than one row: E107, E108, E109, W202.

use crate::rows::{MemberText, ParsedRows};
use fupin_domain::fields::Field;
use fupin_domain::household::Entry;
use fupin_domain::household::HouseholdValues;
use fupin_domain::problem::{Problem, ProblemCode};
use fupin_domain::Household;
use hashbrown::HashTable;
use rayon::prelude::*;
use rustc_hash::{FxBuildHasher, FxHashMap};
use std::hash::BuildHasher;
use std::sync::Arc;

/// A village as the members file names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Area {
    pub township: Box<str>,
    pub village: Box<str>,
}

/// A members file, read and checked: households in order of first appearance.
#[derive(Debug)]
pub struct Register {
    pub file: Arc<str>,
    /// How the file was read, e.g. `CSV（GBK/GB18030）`.
    pub format: String,
    pub areas: Vec<Area>,
    pub households: Vec<Household>,
    /// Every problem, ordered by line, column and code.
    pub problems: Vec<Problem>,
    pub rows: u64,
    /// Each household's members' names and relations (same order as `households` and
    /// their members), when the read kept them; empty otherwise.
    pub member_texts: Vec<Vec<MemberText>>,
}

pub struct Merger {
    file: Arc<str>,
    households: Vec<Household>,
    /// Households by 户编号: indexes into `households`, hashed by id.
    index: HashTable<u32>,
    hasher: FxBuildHasher,
    areas: Vec<Area>,
    area_index: FxHashMap<Box<str>, Vec<u32>>,
    last_area: Option<u32>,
    problems: Vec<Problem>,
    rows: u64,
    texts: Vec<Vec<MemberText>>,
}

/// One E109 finding: the field, this row's value, the first row's value.
type Difference = (Field, String, String);

impl Merger {
    pub fn new(file: Arc<str>, header_problems: Vec<Problem>) -> Merger {
        Merger {
            file,
            households: Vec::new(),
            index: HashTable::new(),
            hasher: FxBuildHasher,
            areas: Vec::new(),
            area_index: FxHashMap::default(),
            last_area: None,
            problems: header_problems,
            rows: 0,
            texts: Vec::new(),
        }
    }

    /// Make room for about `n` households.
    pub fn reserve(&mut self, n: usize) {
        self.households.reserve(n);
        let hasher = &self.hasher;
        let households = &self.households;
        self.index
            .reserve(n, |&i| hasher.hash_one(&*households[i as usize].id));
    }

    fn area(&mut self, township: &str, village: &str) -> u32 {
        if let Some(a) = self.last_area {
            let area = &self.areas[a as usize];
            if &*area.village == village && &*area.township == township {
                return a;
            }
        }
        let candidates = self.area_index.get(village);
        let found = candidates.and_then(|c| {
            c.iter()
                .copied()
                .find(|&a| &*self.areas[a as usize].township == township)
        });
        let a = found.unwrap_or_else(|| {
            let a = self.areas.len() as u32;
            self.areas.push(Area {
                township: township.into(),
                village: village.into(),
            });
            self.area_index.entry(village.into()).or_default().push(a);
            a
        });
        self.last_area = Some(a);
        a
    }

    fn find(&self, hid: &str) -> Option<u32> {
        if hid.is_empty() {
            return None;
        }
        let hash = self.hasher.hash_one(hid);
        let households = &self.households;
        self.index
            .find(hash, |&h| &*households[h as usize].id == hid)
            .copied()
    }

    /// How a row's place and values differ from its household's first row.
    fn differences(
        &self,
        h: u32,
        township: &str,
        village: &str,
        values: &HouseholdValues,
    ) -> Vec<Difference> {
        let hh = &self.households[h as usize];
        let area = &self.areas[hh.area as usize];
        let mut found = Vec::new();
        for (f, mine, first) in [
            (Field::Township, township, &*area.township),
            (Field::Village, village, &*area.village),
        ] {
            if !mine.is_empty() && !first.is_empty() && mine != first {
                found.push((f, mine.to_string(), first.to_string()));
            }
        }
        for f in values.differences(&hh.values) {
            found.push((f, values.label(f), hh.values.label(f)));
        }
        found
    }

    /// E109 for a row of household `h`.
    fn report_differences(&mut self, h: u32, line: u64, found: &[Difference]) {
        let first_line = self.households[h as usize].first_line;
        for (f, mine, first) in found {
            self.problems.push(Problem::new(
                &self.file,
                line,
                f.chinese(),
                ProblemCode::E109,
                format!(
                    "「{}」与本户首行（第{first_line}行）不一致：首行为「{first}」，本行为「{mine}」",
                    f.chinese()
                ),
                mine.clone(),
            ));
            self.households[h as usize]
                .errors
                .push((line, ProblemCode::E109));
        }
    }

    /// Take the fragments of the next block; `first_line` is the block's first line.
    pub fn push(&mut self, mut block: ParsedRows, first_line: u64) {
        let offset = first_line - 1;
        for p in &mut block.problems {
            p.line += offset;
        }
        self.rows += block.rows;
        let arena = std::mem::take(&mut block.arena);
        for mut frag in block.fragments {
            for m in &mut frag.members {
                m.line += offset;
            }
            for e in &mut frag.errors {
                e.0 += offset;
            }
            let hid = frag.household_id.of(&arena);
            let township = frag.township.of(&arena);
            let village = frag.village.of(&arena);
            let (h, start) = match self.find(hid) {
                Some(h) => {
                    // A household continued from an earlier block or rows elsewhere: every
                    // row that is not a deviation carries the fragment's first values.
                    let found = self.differences(h, township, village, &frag.values);
                    if !found.is_empty() {
                        let deviating: Vec<usize> =
                            frag.deviations.iter().map(|d| d.member).collect();
                        for (i, m) in frag.members.iter().enumerate() {
                            if !deviating.contains(&i) {
                                self.report_differences(h, m.line, &found);
                            }
                        }
                    }
                    let hh = &mut self.households[h as usize];
                    let start = hh.members.len();
                    hh.members.append(&mut frag.members);
                    hh.errors.append(&mut frag.errors);
                    if let Some(t) = self.texts.get_mut(h as usize) {
                        t.append(&mut frag.texts);
                    }
                    (h, start)
                }
                None => {
                    let area = self.area(township, village);
                    let h = self.households.len() as u32;
                    if !frag.texts.is_empty() {
                        // Kept texts: one list per household, aligned with `households`.
                        self.texts.resize_with(h as usize, Vec::new);
                        self.texts.push(std::mem::take(&mut frag.texts));
                    }
                    self.households.push(Household {
                        id: hid.into(),
                        area,
                        first_line: frag.members.first().map_or(0, |m| m.line),
                        values: frag.values,
                        members: std::mem::take(&mut frag.members),
                        errors: std::mem::take(&mut frag.errors),
                    });
                    if !hid.is_empty() {
                        let hasher = &self.hasher;
                        let households = &self.households;
                        self.index.insert_unique(hasher.hash_one(hid), h, |&i| {
                            hasher.hash_one(&*households[i as usize].id)
                        });
                    }
                    (h, 0)
                }
            };
            for d in &frag.deviations {
                let line = self.households[h as usize].members[start + d.member].line;
                let found =
                    self.differences(h, d.township.of(&arena), d.village.of(&arena), &d.values);
                self.report_differences(h, line, &found);
            }
        }
        self.problems.append(&mut block.problems);
    }

    /// The checks over whole households and the whole file, then the register.
    pub fn finish(mut self, format: String) -> Register {
        self.check_heads();
        self.check_declared_per_capita();
        self.check_duplicate_ids();
        let mut problems = self.problems;
        problems.par_sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        Register {
            file: self.file,
            format,
            areas: self.areas,
            households: self.households,
            problems,
            rows: self.rows,
            member_texts: self.texts,
        }
    }

    /// E108: exactly one 户主 per household (checked on every core).
    fn check_heads(&mut self) {
        let file = &self.file;
        let found: Vec<Problem> = self
            .households
            .par_iter_mut()
            .flat_map_iter(|hh| head_problems(file, hh))
            .collect();
        self.problems.extend(found);
    }

    /// W202: a declared 人均纯收入 more than 1 yuan from the computed value.
    fn check_declared_per_capita(&mut self) {
        let file = &self.file;
        let found: Vec<Problem> = self
            .households
            .par_iter()
            .filter_map(|hh| declared_per_capita_problem(file, hh))
            .collect();
        self.problems.extend(found);
    }

    /// E107: the same ID number on more than one row; every such row is flagged.
    fn check_duplicate_ids(&mut self) {
        // First the keys alone (8 bytes a member, sorted on every core) to find the
        // repeated ones; then only members with a repeated key, with where they are.
        let mut all: Vec<u64> = self
            .households
            .par_iter()
            .flat_map_iter(|hh| hh.members.iter().filter_map(|m| m.id.map(|id| id.key())))
            .collect();
        all.par_sort_unstable();
        let repeated: rustc_hash::FxHashSet<u64> = all
            .windows(2)
            .filter(|w| w[0] == w[1])
            .map(|w| w[0])
            .collect();
        drop(all);
        if repeated.is_empty() {
            return;
        }
        let mut keys: Vec<(u64, u32, u32)> = self
            .households
            .par_iter()
            .enumerate()
            .flat_map_iter(|(h, hh)| {
                let repeated = &repeated;
                hh.members.iter().enumerate().filter_map(move |(m, mem)| {
                    let key = mem.id?.key();
                    repeated.contains(&key).then_some((key, h as u32, m as u32))
                })
            })
            .collect();
        keys.par_sort_unstable();
        let mut i = 0;
        while i < keys.len() {
            let mut j = i + 1;
            while j < keys.len() && keys[j].0 == keys[i].0 {
                j += 1;
            }
            if j - i > 1 {
                let group = &keys[i..j];
                let lines: Vec<u64> = group
                    .iter()
                    .map(|&(_, h, m)| self.households[h as usize].members[m as usize].line)
                    .collect();
                let listed = lines
                    .iter()
                    .map(|l| format!("第{l}行"))
                    .collect::<Vec<_>>()
                    .join("、");
                for &(_, h, m) in group {
                    let hh = &mut self.households[h as usize];
                    let member = hh.members[m as usize];
                    let id = member.id.map(|i| i.to_string()).unwrap_or_default();
                    self.problems.push(Problem::new(
                        &self.file,
                        member.line,
                        Field::IdNumber.chinese(),
                        ProblemCode::E107,
                        format!(
                            "证件号码 {id} 出现在{}行（{listed}）：同一人只能登记一次",
                            lines.len()
                        ),
                        id,
                    ));
                    hh.errors.push((member.line, ProblemCode::E107));
                }
            }
            i = j;
        }
    }
}

/// E108 for one household: none or several rows with 与户主关系 = 户主. Each problem is also
/// noted on the household.
fn head_problems(file: &Arc<str>, hh: &mut Household) -> Vec<Problem> {
    let mut heads = hh.members.iter().filter(|m| m.is_head).map(|m| m.line);
    let (first, second) = (heads.next(), heads.next());
    let mut problems = Vec::new();
    match (first, second) {
        (Some(_), None) => {}
        (None, _) => {
            problems.push(Problem::new(
                file,
                hh.first_line,
                Field::Relation.chinese(),
                ProblemCode::E108,
                format!(
                    "户编号「{}」没有户主：应有且只有一行「与户主关系」为「户主」",
                    hh.id
                ),
                hh.id.to_string(),
            ));
            hh.errors.push((hh.first_line, ProblemCode::E108));
        }
        (Some(_), Some(_)) => {
            let heads: Vec<u64> = hh
                .members
                .iter()
                .filter(|m| m.is_head)
                .map(|m| m.line)
                .collect();
            let n = heads.len();
            let lines = heads
                .iter()
                .map(|l| format!("第{l}行"))
                .collect::<Vec<_>>()
                .join("、");
            for &l in &heads {
                problems.push(Problem::new(
                    file,
                    l,
                    Field::Relation.chinese(),
                    ProblemCode::E108,
                    format!("户编号「{}」有{n}个户主（{lines}）：应有且只有一个", hh.id),
                    "户主",
                ));
                hh.errors.push((l, ProblemCode::E108));
            }
        }
    }
    problems
}

/// W202 for one household: a declared 人均纯收入 more than 1 yuan from the computed value.
fn declared_per_capita_problem(file: &Arc<str>, hh: &Household) -> Option<Problem> {
    let (Entry::Value(declared), Some(net)) =
        (hh.values.per_capita_declared, hh.values.net_income())
    else {
        return None;
    };
    let computed = net.per_capita(hh.members.len() as u32);
    ((declared.fen() - computed.fen()).abs() > 100).then(|| {
        Problem::new(
            file,
            hh.first_line,
            Field::PerCapitaIncome.chinese(),
            ProblemCode::W202,
            format!(
                "填报的人均纯收入 {} 元与按收入构成计算的 {} 元相差超过1元（以计算值为准）",
                declared.grouped(),
                computed.grouped()
            ),
            declared.plain(),
        )
    })
}
