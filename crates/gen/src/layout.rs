//! Where households live: synthetic counties of 13 townships, about 26 villages per
//! township and about 60 registered households per village — the shape of the seed county
//! (河曲县, 140930: about 13 townships and 340 villages). Names are plainly synthetic
//! ("示例01乡", "示例01乡第007村"); area codes count up from 140930.

use crate::rng::{Purpose, Rng};

/// Townships per synthetic county.
pub const TOWNSHIPS_PER_COUNTY: u32 = 13;

/// The 6-digit area code of the n-th synthetic county (0-based): 140930, 140931, …,
/// 140999, 141001, … — codes ending in 00 (a city's own code) are skipped.
pub fn county_code(n: u32) -> u32 {
    let k = 29 + n; // 140930 is the 30th code (01-based) under prefix 1409
    (1409 + k / 99) * 100 + 1 + k % 99
}

/// One village and what the generator needs to know about it.
#[derive(Clone, Debug)]
pub struct Village {
    /// Area code of the county, also the area code of its people's ID numbers.
    pub county_code: u32,
    /// 1-based number of the township within its county (in the 户编号).
    pub township_no: u32,
    pub township: String,
    /// 1-based number of the village within its township (in the 户编号).
    pub village_no: u32,
    pub village: String,
    /// Registered households written for this village (the last village may be cut short).
    pub households: u32,
    pub traits: VillageTraits,
}

/// A village's character: how poor it is, how far its exits have gone, its amenities.
#[derive(Clone, Copy, Debug)]
pub struct VillageTraits {
    /// Registered members as a share of the village's rural population, in per-mille.
    pub registered_share: u32,
    /// Share of households already marked 已脱贫, in per-mille.
    pub exited_share: u32,
    pub poor_village: bool,
    pub road: bool,
    pub power: bool,
    pub broadband: bool,
    pub clinic: bool,
    /// Village collective income in fen.
    pub collective_income: i64,
}

impl VillageTraits {
    fn draw(rng: &mut Rng) -> VillageTraits {
        // 18–68 % of the village registered; with about a quarter of members still 未脱贫
        // this gives incidence_now of roughly 3–25 %, about 11 % on average.
        let registered_share = rng.range(180, 680) as u32;
        // Poor villages (贫困村): the most registered; about a third, as in the seed county.
        let poor_village = registered_share >= 520;
        let exited_share = rng.range(600, 920) as u32;
        let miss = |rng: &mut Rng, per_10k: u32| {
            !rng.chance(if poor_village { per_10k * 2 } else { per_10k })
        };
        let road = miss(rng, 300);
        let power = miss(rng, 80);
        let broadband = miss(rng, 700);
        let clinic = miss(rng, 500);
        let collective_yuan = if poor_village {
            rng.range(0, 80_000)
        } else {
            rng.range(20_000, 400_000)
        };
        let collective_income = collective_yuan * 100
            + if rng.chance(3000) {
                rng.range(1, 99)
            } else {
                0
            };
        VillageTraits {
            registered_share,
            exited_share,
            poor_village,
            road,
            power,
            broadband,
            clinic,
            collective_income,
        }
    }
}

/// Walks counties, townships and villages in register order until `households` are placed.
pub struct Layout {
    seed: u64,
    remaining: u64,
    county: u32,
    township_in_county: u32,
    township_global: u32,
    township_name: String,
    villages_in_township: u32,
    village_in_township: u32,
    village_global: u64,
    /// Townships that received at least one household.
    pub townships_used: u32,
}

impl Layout {
    pub fn new(seed: u64, households: u64) -> Layout {
        Layout {
            seed,
            remaining: households,
            county: 0,
            township_in_county: 0,
            township_global: 0,
            township_name: String::new(),
            villages_in_township: 0,
            village_in_township: 0,
            village_global: 0,
            townships_used: 0,
        }
    }

    fn next_township(&mut self) {
        if self.township_in_county == TOWNSHIPS_PER_COUNTY {
            self.county += 1;
            self.township_in_county = 0;
        }
        self.township_in_county += 1;
        self.township_global += 1;
        let mut rng = Rng::stream(
            self.seed,
            Purpose::Township,
            u64::from(self.township_global),
        );
        let kind = if rng.chance(3500) { "镇" } else { "乡" };
        self.township_name.clear();
        self.township_name.push_str("示例");
        push_padded(&mut self.township_name, u64::from(self.township_global), 2);
        self.township_name.push_str(kind);
        self.villages_in_township = rng.range(20, 32) as u32;
        self.village_in_township = 0;
        self.townships_used += 1;
    }
}

impl Iterator for Layout {
    type Item = Village;

    fn next(&mut self) -> Option<Village> {
        if self.remaining == 0 {
            return None;
        }
        if self.village_in_township == self.villages_in_township {
            self.next_township();
        }
        self.village_in_township += 1;
        let index = self.village_global;
        self.village_global += 1;
        let mut rng = Rng::stream(self.seed, Purpose::Village, index);
        let planned = rng.range(40, 80) as u64;
        let households = planned.min(self.remaining);
        self.remaining -= households;
        let mut village = self.township_name.clone();
        village.push('第');
        push_padded(&mut village, u64::from(self.village_in_township), 3);
        village.push('村');
        Some(Village {
            county_code: county_code(self.county),
            township_no: self.township_in_county,
            township: self.township_name.clone(),
            village_no: self.village_in_township,
            village,
            households: households as u32,
            traits: VillageTraits::draw(&mut rng),
        })
    }
}

/// Append `n` in decimal, zero-padded to at least `width` digits.
pub fn push_padded(s: &mut String, n: u64, width: usize) {
    let mut b = itoa::Buffer::new();
    let digits = b.format(n);
    for _ in digits.len()..width {
        s.push('0');
    }
    s.push_str(digits);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn county_codes_skip_city_codes() {
        assert_eq!(county_code(0), 140930);
        assert_eq!(county_code(69), 140999);
        assert_eq!(county_code(70), 141001);
        for n in 0..2000 {
            assert_ne!(county_code(n) % 100, 0);
        }
    }

    #[test]
    fn layout_places_every_household_once() {
        let villages: Vec<Village> = Layout::new(5, 50_000).collect();
        let total: u64 = villages.iter().map(|v| u64::from(v.households)).sum();
        assert_eq!(total, 50_000);
        assert_eq!(
            villages[0].township,
            villages[0].village[..villages[0].township.len()]
        );
        assert!(villages[0].village.starts_with("示例01"));
        // 50,000 households need more than one county of about 20,000.
        assert!(villages.iter().any(|v| v.county_code == 140932));
        let mut names: Vec<(&str, &str)> = villages
            .iter()
            .map(|v| (v.township.as_str(), v.village.as_str()))
            .collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), villages.len());
    }
}
