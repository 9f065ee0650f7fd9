//! Turning rows of cells (from CSV or XLSX) into row records: typed values, spans of the
//! texts that place the row, and the row's problems.

use fupin_domain::fields::{Field, HeaderMap};
use fupin_domain::household::HouseholdValues;
use fupin_domain::problem::{Problem, ProblemCode};
use fupin_domain::row::{read_member_row, RowContext};
use fupin_domain::Member;

/// The cells of one row.
pub trait Cells {
    /// The text of cell `i`, None past the end of the row.
    fn get(&self, i: usize) -> Option<&str>;
    fn width(&self) -> usize;
    /// Whether cell `i` was stored as a number (XLSX only).
    fn is_number(&self, _i: usize) -> bool {
        false
    }
    /// Whether empty cells at the end of a row are simply not stored (XLSX), so a short
    /// row is not a truncated one.
    fn omits_trailing_blanks(&self) -> bool {
        false
    }
}

impl Cells for csv::ByteRecord {
    fn get(&self, i: usize) -> Option<&str> {
        // Blocks are valid UTF-8 and fields split at ASCII bytes, so this never fails.
        csv::ByteRecord::get(self, i).map(|b| std::str::from_utf8(b).unwrap_or(""))
    }
    fn width(&self) -> usize {
        self.len()
    }
}

/// A range of bytes in a block's text arena.
#[derive(Clone, Copy, Debug, Default)]
pub struct Span {
    start: u32,
    len: u32,
}

impl Span {
    pub fn of(self, arena: &str) -> &str {
        let s = self.start as usize;
        arena.get(s..s + self.len as usize).unwrap_or("")
    }
}

/// One row of the members file, read.
#[derive(Clone, Debug)]
pub struct RowRecord {
    /// Line within the block (1-based); the merger makes it absolute.
    pub line: u64,
    pub household_id: Span,
    pub township: Span,
    pub village: Span,
    pub member: Member,
    pub values: HouseholdValues,
    /// This row's problems: a range of the block's problems.
    pub problems: (u32, u32),
}

/// The rows of one block, with their texts and problems.
#[derive(Debug, Default)]
pub struct ParsedRows {
    pub rows: Vec<RowRecord>,
    pub arena: String,
    pub problems: Vec<Problem>,
    /// Newlines in the block: where the next block's lines start.
    pub lines: u64,
}

impl ParsedRows {
    fn span(&mut self, text: &str) -> Span {
        let start = self.arena.len() as u32;
        self.arena.push_str(text);
        Span {
            start,
            len: text.len() as u32,
        }
    }

    /// Read one row (line `line` of its block) into this block.
    pub fn push_row(
        &mut self,
        cells: &impl Cells,
        line: u64,
        header: &HeaderMap<Field>,
        ctx: &RowContext,
    ) {
        let start = self.problems.len() as u32;
        let width = cells.width();
        if width < header.width && !cells.omits_trailing_blanks() {
            self.problems.push(Problem::new(
                &ctx.file,
                line,
                "",
                ProblemCode::E102,
                format!(
                    "本行只有{width}列，表头有{}列：行可能被截断，缺少的值按空值处理",
                    header.width
                ),
                "",
            ));
        } else if width > header.width
            && (header.width..width).any(|i| cells.get(i).is_some_and(|c| !c.trim().is_empty()))
        {
            self.problems.push(Problem::new(
                &ctx.file,
                line,
                "",
                ProblemCode::W205,
                format!(
                    "本行有{width}列，多于表头的{}列：多出的值没有列名，已忽略",
                    header.width
                ),
                "",
            ));
        }
        let id_as_number = header
            .position(Field::IdNumber)
            .is_some_and(|p| cells.is_number(p));
        let row = read_member_row(
            |f| header.position(f).and_then(|p| cells.get(p)),
            line,
            ctx,
            id_as_number,
            &mut self.problems,
        );
        let household_id = self.span(row.household_id);
        let township = self.span(row.township);
        let village = self.span(row.village);
        self.rows.push(RowRecord {
            line,
            household_id,
            township,
            village,
            member: row.member,
            values: row.values,
            problems: (start, self.problems.len() as u32),
        });
    }
}
