//! Poverty lines as data, per year and optionally per place (registry spec §5).

use crate::money::Fen;
use serde::Serialize;

/// A poverty line: yuan per person per year, for a year and optionally a place.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PovertyLine {
    pub year: i32,
    /// None for the national line; otherwise a place name or administrative code.
    pub place: Option<String>,
    pub amount: Fen,
    /// Where the figure comes from.
    pub source: String,
    /// False for commonly cited figures that were not verified in an official text.
    pub verified: bool,
}

impl PovertyLine {
    /// "3,535 元（2018年，140000，来源：…）", for run summaries.
    pub fn describe(&self) -> String {
        let place = self.place.as_deref().unwrap_or("全国");
        let mark = if self.verified { "" } else { "，未经核实" };
        format!(
            "{} 元/人·年（{}年，{}；来源：{}{}）",
            self.amount.grouped_short(),
            self.year,
            place,
            self.source,
            mark
        )
    }
}

const NBS: &str = "国家现行农村贫困标准（2010年不变价2300元）按年度更新的现价标准，国家统计局";

/// The national lines fupin ships: (year, yuan, verified).
const NATIONAL: [(i32, i64, bool); 10] = [
    (2011, 2536, true),
    (2012, 2625, true),
    (2013, 2736, true),
    (2014, 2800, true),
    (2015, 2855, true),
    (2016, 2952, true),
    (2017, 2952, false),
    (2018, 2995, false),
    (2019, 3218, true),
    (2020, 4000, true),
];

/// The set of known lines. Later additions override earlier ones for the same year and place.
#[derive(Clone, Debug, Default)]
pub struct Standards {
    lines: Vec<PovertyLine>,
}

impl Standards {
    /// The national defaults. 2017 and 2018 are commonly cited but unverified.
    pub fn builtin() -> Standards {
        let lines = NATIONAL
            .iter()
            .map(|&(year, yuan, verified)| PovertyLine {
                year,
                place: None,
                amount: Fen::from_yuan(yuan),
                source: if verified {
                    NBS.to_string()
                } else {
                    format!("{NBS}（常见引用值）")
                },
                verified,
            })
            .collect();
        Standards { lines }
    }

    /// Add a line, replacing one for the same year and place.
    pub fn set(&mut self, line: PovertyLine) {
        self.lines
            .retain(|l| !(l.year == line.year && l.place == line.place));
        self.lines.push(line);
    }

    /// Every line, by year then place (national first).
    pub fn all(&self) -> Vec<&PovertyLine> {
        let mut v: Vec<&PovertyLine> = self.lines.iter().collect();
        v.sort_by(|a, b| (a.year, &a.place).cmp(&(b.year, &b.place)));
        v
    }

    /// The line for a year and place: the place itself; for a 6-digit administrative code
    /// its city (`xxxx00`) and province (`xx0000`); then the national line.
    pub fn lookup(&self, year: i32, place: Option<&str>) -> Option<&PovertyLine> {
        let find = |p: Option<&str>| {
            self.lines
                .iter()
                .rev()
                .find(|l| l.year == year && l.place.as_deref() == p)
        };
        if let Some(p) = place {
            for candidate in place_chain(p) {
                if let Some(l) = find(Some(&candidate)) {
                    return Some(l);
                }
            }
        }
        find(None)
    }
}

/// A place and the places above it: 140930 → 140930, 140900, 140000.
fn place_chain(place: &str) -> Vec<String> {
    let mut out = vec![place.to_string()];
    if place.len() == 6 && place.bytes().all(|b| b.is_ascii_digit()) {
        for p in [format!("{}00", &place[..4]), format!("{}0000", &place[..2])] {
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_walks_up_the_area_codes() {
        let mut s = Standards::builtin();
        s.set(PovertyLine {
            year: 2018,
            place: Some("140000".into()),
            amount: Fen::from_yuan(3535),
            source: "山西省".into(),
            verified: true,
        });
        assert_eq!(
            s.lookup(2018, Some("140930")).unwrap().amount,
            Fen::from_yuan(3535)
        );
        assert_eq!(
            s.lookup(2018, Some("610000")).unwrap().amount,
            Fen::from_yuan(2995)
        );
        assert_eq!(s.lookup(2018, None).unwrap().amount, Fen::from_yuan(2995));
        assert!(!s.lookup(2018, None).unwrap().verified);
        assert!(s.lookup(2009, None).is_none());
    }
}
