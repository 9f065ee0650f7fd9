//! Judging every household of a register and adding up villages and the county. The same
//! code serves the command line over files and, later, the server over the database.

use crate::merge::Register;
use fupin_domain::assess::{assess_household, Assessment};
use fupin_domain::figures::Tally;
use fupin_domain::id_number::age_reference_day;
use fupin_domain::{Fen, Household};
use rayon::prelude::*;

/// The tallies of a run: one per area of the register (same index), and the county.
#[derive(Debug, Clone, Default)]
pub struct Tallies {
    pub areas: Vec<Tally>,
    pub county: Tally,
}

/// Households judged at a time: enough for every core, few enough that a batch's
/// explanations stay small in memory.
pub const BATCH: usize = 1 << 16;

/// Judge every household against `line` for year `year`, batch by batch on every core.
/// `each` receives every batch's households and assessments, in register order; nothing
/// is kept once it returns.
pub fn assess_register<E>(
    register: &Register,
    line: Fen,
    year: i32,
    mut each: impl FnMut(&[Household], &[Assessment]) -> Result<(), E>,
) -> Result<Tallies, E> {
    let day = age_reference_day(year);
    let mut t = Tallies {
        areas: vec![Tally::default(); register.areas.len()],
        county: Tally::default(),
    };
    for batch in register.households.chunks(BATCH) {
        let assessments: Vec<Assessment> = batch
            .par_iter()
            .map(|h| assess_household(h, line, day))
            .collect();
        for (h, a) in batch.iter().zip(&assessments) {
            let n = h.members.len() as u64;
            t.areas[h.area as usize].add(h.status(), a.verdict, n, a.failed);
            t.county.add(h.status(), a.verdict, n, a.failed);
        }
        each(batch, &assessments)?;
    }
    Ok(t)
}
