//! Pure domain rules of fupin: no I/O, no async, no SQL.
//!
//! The register contract (shared spec `registry.md`, v1) lives here as plain types and
//! functions: ID numbers, money in fen, field values and their allowed sets, the seven exit
//! criteria, verdicts, village and county figures, problems and poverty lines.

pub mod access;
pub mod assess;
pub mod change;
pub mod criteria;
pub mod estimates;
pub mod fields;
pub mod figures;
pub mod forecast;
pub mod funds;
pub mod funds_rows;
pub mod gap;
pub mod household;
pub mod id;
pub mod id_number;
pub mod income;
pub mod money;
pub mod plan;
pub mod problem;
pub mod row;
pub mod sampling;
pub mod standards;
pub mod time;
pub mod values;
pub mod words;
pub mod work_item;

pub use assess::{assess_household, Assessment, Verdict};
pub use criteria::Criterion;
pub use gap::{route, Gap, Route, Subject};
pub use household::{Household, HouseholdValues, Member};
pub use id_number::IdNumber;
pub use money::{group_thousands as grouped, Fen};
pub use plan::{Deadline, GapKind, KeyTask, Plan, UnitAssignment};
pub use problem::{Problem, ProblemCode};
