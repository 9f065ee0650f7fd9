//! Resident ID numbers (GB 11643-1999) that are valid and unique across the whole file.
//!
//! Uniqueness comes from counting: each synthetic county has its own area code, and within
//! a county a counter per (birth date, sex) hands out the 3-digit sequence numbers (odd for
//! men, even for women). Only the current county's counters are kept — about 37,000 days ×
//! 2 sexes of `u16`, some 150 KB — so memory does not grow with the register.

use crate::date::{civil_from_days, days_from_civil};
use fupin_domain::id_number::check_character;

/// Sequence numbers per (date, sex): men 001, 003, … 997; women 002, 004, … 998.
const PER_DATE_AND_SEX: u16 = 499;

pub struct IdAllocator {
    area: [u8; 6],
    /// Day number of the earliest birth date that can be allocated.
    base_day: i64,
    /// Sequence numbers used so far, at `(day - base_day) * 2 + male`.
    counters: Vec<u16>,
}

impl IdAllocator {
    /// Birth dates from 1 January of `year − 105` to 31 December of `year`.
    pub fn new(year: i32) -> IdAllocator {
        let base_day = days_from_civil(year - 105, 1, 1);
        let days = days_from_civil(year + 1, 1, 1) - base_day;
        IdAllocator {
            area: *b"000000",
            base_day,
            counters: vec![0; days as usize * 2],
        }
    }

    /// Start a new county: its area code, and fresh counters.
    pub fn start_county(&mut self, area_code: u32) {
        let mut b = itoa::Buffer::new();
        self.area.copy_from_slice(b.format(area_code).as_bytes());
        self.counters.fill(0);
    }

    /// The next free ID number for someone of this sex born on `*birth`. When all 499
    /// numbers of that date are taken (which needs ~500 people of one sex born on one day
    /// in one county: practically never) the birth date moves one day earlier.
    pub fn allocate(&mut self, birth: &mut i64, male: bool) -> [u8; 18] {
        let slot = loop {
            let day = (*birth - self.base_day).clamp(0, self.counters.len() as i64 / 2 - 1);
            *birth = self.base_day + day;
            let slot = day as usize * 2 + usize::from(male);
            if self.counters[slot] < PER_DATE_AND_SEX {
                break slot;
            }
            *birth -= 1;
        };
        let k = self.counters[slot];
        self.counters[slot] += 1;
        let seq = if male { 2 * k + 1 } else { 2 * k + 2 };
        compose(&self.area, *birth, seq)
    }
}

/// Area code, birth date, sequence and the check character.
pub fn compose(area: &[u8; 6], birth: i64, seq: u16) -> [u8; 18] {
    let (y, m, d) = civil_from_days(birth);
    let mut id = [b'0'; 18];
    id[..6].copy_from_slice(area);
    put_digits(&mut id[6..10], y as u32);
    put_digits(&mut id[10..12], m);
    put_digits(&mut id[12..14], d);
    put_digits(&mut id[14..17], u32::from(seq));
    id[17] = check_character(&id[..17]);
    id
}

/// Write `n` as zero-padded decimal filling `out` exactly.
pub fn put_digits(out: &mut [u8], mut n: u32) {
    for b in out.iter_mut().rev() {
        *b = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fupin_domain::IdNumber;

    #[test]
    fn allocated_numbers_are_valid_unique_and_carry_sex() {
        let mut a = IdAllocator::new(2018);
        a.start_county(140930);
        let mut seen = std::collections::HashSet::new();
        let day = days_from_civil(1980, 5, 17);
        for i in 0..1200 {
            let mut b = day;
            let male = i % 2 == 0;
            let id = a.allocate(&mut b, male);
            let text = std::str::from_utf8(&id).unwrap();
            let parsed = IdNumber::parse(text).unwrap();
            assert_eq!(parsed.is_male(), male);
            assert!(text.starts_with("140930"));
            assert!(seen.insert(id));
            // The first 499 of each sex keep the date; later ones move a day earlier.
            assert_eq!(b == day, i / 2 < 499);
        }
    }
}
