//! Everything an import writes, computed before its transaction starts.

use super::rows::{id_key, member_texts};
use fupin_domain::figures::Tally;
use fupin_domain::Assessment;
use fupin_io::engine::Tallies;
use fupin_io::villages::VillageRecord;
use fupin_io::Register;
use rayon::slice::ParallelSliceMut;
use std::collections::HashMap;

/// A township: its villages' tallies added up, and their population (None unless every
/// village's is known).
pub(super) struct Township<'a> {
    pub(super) name: &'a str,
    pub(super) tally: Tally,
    pub(super) population: Option<u64>,
}

/// Everything an import writes, computed before the transaction starts.
pub(crate) struct Prepared<'a> {
    pub(super) register: &'a Register,
    pub(super) villages: &'a [Option<&'a VillageRecord>],
    pub(super) assessments: &'a [Assessment],
    pub(super) tallies: &'a Tallies,
    /// For each problem, the household whose row it is on.
    pub(super) problem_households: Vec<Option<u32>>,
    pub(super) townships: Vec<Township<'a>>,
    pub(super) county_population: Option<u64>,
    /// Members by ID number (its integer key) and by name, sorted by key (text as the
    /// database compares it: byte order), then line.
    pub(super) ids: Vec<MemberKey<i64>>,
    pub(super) names: Vec<MemberKey<&'a str>>,
}

/// A search key of a member (ID number or name), its line, household and position.
pub(super) type MemberKey<K> = (K, u64, u32, u32);

/// Every member's key, sorted.
fn member_keys<K: Ord + Send>(
    register: &Register,
    key: impl Fn(usize, usize) -> Option<K>,
) -> Vec<MemberKey<K>> {
    let mut keys: Vec<MemberKey<K>> = register
        .households
        .iter()
        .enumerate()
        .flat_map(|(h, hh)| {
            let key = &key;
            hh.members
                .iter()
                .enumerate()
                .filter_map(move |(i, m)| key(h, i).map(|k| (k, m.line, h as u32, i as u32)))
        })
        .collect();
    keys.par_sort_unstable();
    keys
}

impl<'a> Prepared<'a> {
    pub(super) fn new(
        register: &'a Register,
        villages: &'a [Option<&'a VillageRecord>],
        assessments: &'a [Assessment],
        tallies: &'a Tallies,
    ) -> Prepared<'a> {
        let mut townships: Vec<Township<'a>> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        for (i, area) in register.areas.iter().enumerate() {
            let population = villages[i].map(|v| v.population);
            let t = *index.entry(&area.township).or_insert_with(|| {
                townships.push(Township {
                    name: &area.township,
                    tally: Tally::default(),
                    population: Some(0),
                });
                townships.len() - 1
            });
            let t = &mut townships[t];
            t.population = t.population.zip(population).map(|(a, b)| a + b);
            t.tally.merge(&tallies.areas[i]);
        }
        let county_population = villages
            .iter()
            .map(|v| v.map(|v| v.population))
            .sum::<Option<u64>>();
        Prepared {
            register,
            villages,
            assessments,
            tallies,
            problem_households: problem_households(register),
            townships,
            county_population,
            ids: member_keys(register, |h, i| {
                register.households[h].members[i].id.map(id_key)
            }),
            names: member_keys(register, |h, i| {
                member_texts(register, h)
                    .get(i)
                    .map(|t| &*t.name)
                    .filter(|n| !n.is_empty())
            }),
        }
    }

    pub(super) fn households(&self) -> u64 {
        self.register.households.len() as u64
    }

    pub(super) fn members(&self) -> u64 {
        self.tallies.county.members
    }
}

/// The household each problem's line belongs to (None for the header).
fn problem_households(register: &Register) -> Vec<Option<u32>> {
    let lines = || {
        register
            .households
            .iter()
            .enumerate()
            .flat_map(|(i, h)| h.members.iter().map(move |m| (m.line, i as u32)))
    };
    let max = lines().map(|(l, _)| l).max().unwrap_or(0);
    let mut owner = vec![u32::MAX; max as usize + 1];
    for (line, h) in lines() {
        owner[line as usize] = h;
    }
    register
        .problems
        .iter()
        .map(|p| {
            owner
                .get(p.line as usize)
                .copied()
                .filter(|&h| h != u32::MAX)
        })
        .collect()
}
