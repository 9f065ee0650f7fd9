//! Reading register files into checked households, and writing results.
//!
//! CSV files are read in blocks of whole records, decoded (UTF-8 or GBK/GB18030, never
//! with replacement characters) and parsed on every core, then merged in file order into
//! households; XLSX sheets are streamed. Every problem carries file, line, column, code
//! and value.

pub mod blocks;
pub mod csv_cell;
pub mod encoding;
pub mod engine;
pub mod error;
pub mod funds_file;
pub mod inspection;
pub mod limits;
pub mod members;
pub mod merge;
pub mod plan_file;
pub mod projects_file;
pub mod refused_rows;
pub mod register_file;
pub mod rows;
pub mod sample_list;
pub mod standards_file;
pub mod table;
pub mod villages;
pub mod workbook;
pub mod xlsx;

pub use encoding::TextEncoding;
pub use error::FileError;
pub use limits::{FileKind, FileLimits, Limits};
pub use members::{read_members, ReadOptions};
pub use merge::{Area, Register};
pub use plan_file::{read_plan, PlanFacts, PlanFile};
pub use rows::MemberText;
