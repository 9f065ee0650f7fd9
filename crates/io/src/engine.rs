//! Judging every household of a register and adding up villages and the county. The same
//! code serves the command line over files and, later, the server over the database.

use crate::merge::Register;
use fupin_domain::assess::{assess_household, Assessment};
use fupin_domain::figures::Tally;
use fupin_domain::id_number::age_reference_day;
use fupin_domain::Fen;
use rayon::prelude::*;

/// Every household's assessment (in register order) and the tallies per area.
#[derive(Debug)]
pub struct Outcome {
    pub assessments: Vec<Assessment>,
    /// One tally per area of the register (same index).
    pub areas: Vec<Tally>,
    pub county: Tally,
}

/// Judge every household against `line` for year `year`, on every core.
pub fn assess_register(register: &Register, line: Fen, year: i32) -> Outcome {
    let day = age_reference_day(year);
    let assessments: Vec<Assessment> = register
        .households
        .par_iter()
        .map(|h| assess_household(h, line, day))
        .collect();
    let mut areas = vec![Tally::default(); register.areas.len()];
    let mut county = Tally::default();
    for (h, a) in register.households.iter().zip(&assessments) {
        let n = h.members.len() as u64;
        areas[h.area as usize].add(h.status(), a.verdict, n, a.failed);
        county.add(h.status(), a.verdict, n, a.failed);
    }
    Outcome {
        assessments,
        areas,
        county,
    }
}
