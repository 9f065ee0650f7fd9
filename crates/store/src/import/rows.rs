//! What each table's row of an import holds, written once for both backends: values in
//! column order into a [`Sink`], which PostgreSQL fills as `COPY` text (super::copy) and
//! SQLite as the bound values of multi-row `INSERT`s (super::batched).

use super::prepared::{MemberKey, Prepared};
use crate::rows::{tally_values, TALLY_COLUMNS};
use chrono::NaiveDate;
use fupin_domain::figures::Tally;
use fupin_domain::{Assessment, Fen, Household, IdNumber, Problem};
use fupin_io::villages::VillageRecord;
use fupin_io::{Area, MemberText, Register};

/// Where rows go: values in column order, then `end_row`.
pub(super) trait Sink<'q> {
    fn int(&mut self, v: i64);
    fn opt_int(&mut self, v: Option<i64>);
    fn text(&mut self, v: &'q str);
    fn opt_text(&mut self, v: Option<&'q str>);
    fn string(&mut self, v: String);
    fn bool(&mut self, v: bool);
    fn opt_bool(&mut self, v: Option<bool>);
    fn opt_date(&mut self, v: Option<NaiveDate>);
    fn end_row(&mut self);
}

/// A table's name and columns, in the order the row functions write them.
pub(super) struct Table {
    pub(super) name: &'static str,
    pub(super) columns: &'static [&'static str],
}

pub(super) const AREAS: Table = Table {
    name: "areas",
    columns: &[
        "version_id",
        "seq",
        "township",
        "village",
        "population",
        "poor_village",
        "road",
        "power",
        "broadband",
        "clinic",
        "collective_income",
    ],
};

fn area_row<'q>(
    s: &mut impl Sink<'q>,
    version: crate::VersionId,
    seq: usize,
    area: &'q Area,
    record: Option<&VillageRecord>,
) {
    s.int(version.get());
    s.int(seq as i64);
    s.text(&area.township);
    s.text(&area.village);
    s.opt_int(record.map(|r| r.population as i64));
    s.opt_bool(record.and_then(|r| r.poor_village));
    let c = record.map(|r| r.conditions).unwrap_or_default();
    s.opt_bool(c.road);
    s.opt_bool(c.power);
    s.opt_bool(c.broadband);
    s.opt_bool(c.clinic);
    s.opt_int(record.and_then(|r| r.collective_income).map(Fen::fen));
    s.end_row();
}

pub(super) const HOUSEHOLDS: Table = Table {
    name: "households",
    columns: &[
        "version_id",
        "seq",
        "household_no",
        "area_seq",
        "first_line",
        "members",
        "status",
        "household_type",
        "main_cause",
        "wage_income",
        "operating_income",
        "operating_expense",
        "property_income",
        "transfer_income",
        "per_capita_declared",
        "food_secure",
        "clothing_secure",
        "housing_grade",
        "renovation",
        "relocation",
        "safe_water",
        "has_errors",
    ],
};

fn household_row<'q>(
    s: &mut impl Sink<'q>,
    version: crate::VersionId,
    seq: usize,
    h: &'q Household,
) {
    let v = &h.values;
    s.int(version.get());
    s.int(seq as i64);
    s.text(&h.id);
    s.int(i64::from(h.area));
    s.int(h.first_line as i64);
    s.int(h.members.len() as i64);
    s.opt_text(
        v.status
            .value()
            .map(fupin_domain::values::PovertyStatus::label),
    );
    s.opt_text(
        v.household_type
            .value()
            .map(fupin_domain::values::HouseholdType::label),
    );
    s.opt_text(
        v.main_cause
            .value()
            .map(fupin_domain::values::MainCause::label),
    );
    for money in [
        v.wage_income,
        v.operating_income,
        v.operating_expense,
        v.property_income,
        v.transfer_income,
        v.per_capita_declared,
    ] {
        s.opt_int(money.value().map(Fen::fen));
    }
    s.opt_bool(v.food_secure.value());
    s.opt_bool(v.clothing_secure.value());
    s.opt_text(
        v.housing_grade
            .value()
            .map(fupin_domain::values::HousingGrade::label),
    );
    s.opt_text(
        v.renovation
            .value()
            .map(fupin_domain::values::Renovation::label),
    );
    s.opt_text(
        v.relocation
            .value()
            .map(fupin_domain::values::Relocation::label),
    );
    s.opt_bool(v.safe_water.value());
    s.bool(h.has_errors());
    s.end_row();
}

pub(super) const MEMBERS: Table = Table {
    name: "members",
    columns: &[
        "version_id",
        "household_seq",
        "seq",
        "line",
        "name",
        "id_number",
        "birth",
        "is_head",
        "relation",
        "sex",
        "schooling",
        "health",
        "labor",
        "medical_insurance",
        "active_military",
    ],
};

/// The names and relations of a household's members, when the reader kept them
/// (`ReadOptions::member_texts`); empty otherwise, and then stored as NULL.
pub(super) fn member_texts(register: &Register, household: usize) -> &[MemberText] {
    register
        .member_texts
        .get(household)
        .map_or(&[], Vec::as_slice)
}

fn member_rows<'q>(
    s: &mut impl Sink<'q>,
    version: crate::VersionId,
    seq: usize,
    h: &'q Household,
    texts: &'q [MemberText],
) {
    for (i, m) in h.members.iter().enumerate() {
        let text = |f: fn(&'q MemberText) -> &'q str| texts.get(i).map(f).filter(|t| !t.is_empty());
        s.int(version.get());
        s.int(seq as i64);
        s.int(i as i64);
        s.int(m.line as i64);
        s.opt_text(text(|t| &t.name));
        match m.id {
            Some(id) => s.string(id.to_string()),
            None => s.opt_text(None),
        }
        s.opt_date(m.birth);
        s.bool(m.is_head);
        s.opt_text(text(|t| &t.relation));
        s.opt_text(m.sex.map(fupin_domain::values::Sex::label));
        match m.schooling {
            Some(x) => s.string(x.label()),
            None => s.opt_text(None),
        }
        s.opt_text(m.health.map(fupin_domain::values::Health::label));
        s.opt_text(m.labor.map(fupin_domain::values::Labor::label));
        s.opt_bool(m.medical_insurance);
        s.bool(m.active_military);
        s.end_row();
    }
}

pub(super) const MEMBER_IDS: Table = Table {
    name: "member_ids",
    columns: &["version_id", "id_key", "line", "household_seq", "seq"],
};

/// How `member_ids` keys an ID number: 17 digits × 11 + check value (X = 10), below 2^63,
/// in the order of the text.
pub(crate) fn id_key(id: IdNumber) -> i64 {
    id.key() as i64
}

pub(super) const MEMBER_NAMES: Table = Table {
    name: "member_names",
    columns: &["version_id", "name", "line", "household_seq", "seq"],
};

fn member_id_row<'q>(s: &mut impl Sink<'q>, version: crate::VersionId, key: MemberKey<i64>) {
    let (id, line, household, seq) = key;
    s.int(version.get());
    s.int(id);
    s.int(line as i64);
    s.int(i64::from(household));
    s.int(i64::from(seq));
    s.end_row();
}

fn member_name_row<'q>(s: &mut impl Sink<'q>, version: crate::VersionId, key: MemberKey<&'q str>) {
    let (text, line, household, seq) = key;
    s.int(version.get());
    s.text(text);
    s.int(line as i64);
    s.int(i64::from(household));
    s.int(i64::from(seq));
    s.end_row();
}

pub(super) const ASSESSMENTS: Table = Table {
    name: "assessments",
    columns: &[
        "version_id",
        "household_seq",
        "verdict",
        "failed",
        "per_capita",
        "explanation",
    ],
};

fn assessment_row<'q>(
    s: &mut impl Sink<'q>,
    version: crate::VersionId,
    seq: usize,
    a: &'q Assessment,
) {
    s.int(version.get());
    s.int(seq as i64);
    s.text(a.verdict.word());
    s.string(a.failed.codes(","));
    s.opt_int(a.per_capita.map(Fen::fen));
    s.text(&a.explanation);
    s.end_row();
}

pub(super) const PROBLEMS: Table = Table {
    name: "problems",
    columns: &[
        "version_id",
        "seq",
        "line",
        "column_name",
        "code",
        "message",
        "value",
        "household_seq",
        "household_no",
        "township",
        "village",
    ],
};

fn problem_row<'q>(
    s: &mut impl Sink<'q>,
    version: crate::VersionId,
    seq: usize,
    p: &'q Problem,
    household: Option<(u32, &'q Household, &'q Area)>,
) {
    s.int(version.get());
    s.int(seq as i64);
    s.int(p.line as i64);
    s.text(p.column);
    s.text(p.code.as_str());
    s.text(&p.message);
    s.text(&p.value);
    s.opt_int(household.map(|h| i64::from(h.0)));
    s.opt_text(household.map(|h| &*h.1.id));
    s.opt_text(household.map(|h| &*h.2.township));
    s.opt_text(household.map(|h| &*h.2.village));
    s.end_row();
}

pub(super) const VILLAGE_SUMMARIES: Table = Table {
    name: "village_summaries",
    columns: &concat_columns::<20>(&["version_id", "area_seq"]),
};

pub(super) const TOWNSHIP_SUMMARIES: Table = Table {
    name: "township_summaries",
    columns: &concat_columns::<22>(&["version_id", "seq", "township", "population"]),
};

pub(super) const COUNTY_SUMMARIES: Table = Table {
    name: "county_summaries",
    columns: &concat_columns::<20>(&["version_id", "population"]),
};

/// Key columns followed by the tally columns.
const fn concat_columns<const N: usize>(keys: &[&'static str]) -> [&'static str; N] {
    let mut out = [""; N];
    let mut i = 0;
    while i < keys.len() {
        out[i] = keys[i];
        i += 1;
    }
    let mut j = 0;
    while j < TALLY_COLUMNS.len() {
        out[i + j] = TALLY_COLUMNS[j];
        j += 1;
    }
    assert!(i + j == N, "N must be the number of key and tally columns");
    out
}

fn tally_cells<'q>(s: &mut impl Sink<'q>, t: &Tally) {
    for v in tally_values(t) {
        s.int(v as i64);
    }
    s.end_row();
}

/// The tables an import writes, in the order they are loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Part {
    Areas,
    Households,
    Members,
    MemberIds,
    MemberNames,
    Assessments,
    Problems,
    VillageSummaries,
    TownshipSummaries,
    CountySummary,
}

impl Part {
    pub(super) const ALL: [Part; 10] = [
        Part::Areas,
        Part::Households,
        Part::Members,
        Part::MemberIds,
        Part::MemberNames,
        Part::Assessments,
        Part::Problems,
        Part::VillageSummaries,
        Part::TownshipSummaries,
        Part::CountySummary,
    ];

    pub(super) fn table(self) -> &'static Table {
        match self {
            Part::Areas => &AREAS,
            Part::Households => &HOUSEHOLDS,
            Part::Members => &MEMBERS,
            Part::MemberIds => &MEMBER_IDS,
            Part::MemberNames => &MEMBER_NAMES,
            Part::Assessments => &ASSESSMENTS,
            Part::Problems => &PROBLEMS,
            Part::VillageSummaries => &VILLAGE_SUMMARIES,
            Part::TownshipSummaries => &TOWNSHIP_SUMMARIES,
            Part::CountySummary => &COUNTY_SUMMARIES,
        }
    }

    /// How many items the rows come from (a household's members are one item).
    pub(super) fn items(self, p: &Prepared<'_>) -> usize {
        let r = p.register;
        match self {
            Part::Areas | Part::VillageSummaries => r.areas.len(),
            Part::Households | Part::Members | Part::Assessments => r.households.len(),
            Part::MemberIds => p.ids.len(),
            Part::MemberNames => p.names.len(),
            Part::Problems => r.problems.len(),
            Part::TownshipSummaries => p.townships.len(),
            Part::CountySummary => 1,
        }
    }

    /// The rows of item `i` of version `v`.
    pub(super) fn write<'q>(
        self,
        s: &mut impl Sink<'q>,
        v: crate::VersionId,
        p: &Prepared<'q>,
        i: usize,
    ) {
        let r = p.register;
        match self {
            Part::Areas => area_row(s, v, i, &r.areas[i], p.villages[i]),
            Part::Households => household_row(s, v, i, &r.households[i]),
            Part::Members => member_rows(s, v, i, &r.households[i], member_texts(r, i)),
            Part::MemberIds => member_id_row(s, v, p.ids[i]),
            Part::MemberNames => member_name_row(s, v, p.names[i]),
            Part::Assessments => assessment_row(s, v, i, &p.assessments[i]),
            Part::Problems => {
                let household = p.problem_households[i].map(|h| {
                    let hh = &r.households[h as usize];
                    (h, hh, &r.areas[hh.area as usize])
                });
                problem_row(s, v, i, &r.problems[i], household);
            }
            Part::VillageSummaries => {
                s.int(v.get());
                s.int(i as i64);
                tally_cells(s, &p.tallies.areas[i]);
            }
            Part::TownshipSummaries => {
                let t = &p.townships[i];
                s.int(v.get());
                s.int(i as i64);
                s.text(t.name);
                s.opt_int(t.population.map(|n| n as i64));
                tally_cells(s, &t.tally);
            }
            Part::CountySummary => {
                s.int(v.get());
                s.opt_int(p.county_population.map(|n| n as i64));
                tally_cells(s, &p.tallies.county);
            }
        }
    }
}
