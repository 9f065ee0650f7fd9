//! Turning rows of cells (from CSV or XLSX) into household fragments: runs of consecutive
//! rows with the same 户编号, read into typed values, with their problems. A worker builds
//! the fragments of its block; the merger joins fragments into households.

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

/// A range of bytes in a block's text arena.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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

/// What a member's row says in words, kept only when the register is to be stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberText {
    /// 姓名.
    pub name: Box<str>,
    /// 与户主关系, as written.
    pub relation: Box<str>,
}

/// A row whose household-level values differ from its fragment's first row (rare): the
/// merger compares it with the household's first row and reports E109.
#[derive(Clone, Debug)]
pub struct Deviation {
    /// Index of the row's member in the fragment.
    pub member: usize,
    pub township: Span,
    pub village: Span,
    pub values: HouseholdValues,
}

/// Consecutive rows of one household within a block.
#[derive(Clone, Debug)]
pub struct Fragment {
    pub household_id: Span,
    pub township: Span,
    pub village: Span,
    /// Household-level values of the fragment's first row.
    pub values: HouseholdValues,
    pub members: Vec<Member>,
    pub deviations: Vec<Deviation>,
    /// Error-level problems of its rows: (line, code).
    pub errors: Vec<(u64, ProblemCode)>,
    /// Names and relations of its members, when kept.
    pub texts: Vec<MemberText>,
}

/// The first cell of a block over the length limit (the whole file is then refused).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LongCell {
    /// Its line in the block (from 1).
    pub line: u64,
    /// Its column (from 0).
    pub column: usize,
    /// Its length in characters.
    pub chars: usize,
    /// Its value as echoed ([`fupin_domain::problem::echo`]).
    pub value: String,
}

/// The fragments of one block, with their texts and problems.
#[derive(Debug, Default)]
pub struct ParsedRows {
    pub fragments: Vec<Fragment>,
    pub arena: String,
    pub problems: Vec<Problem>,
    /// Newlines in the block: where the next block's lines start.
    pub lines: u64,
    pub rows: u64,
    /// Keep each member's name and relation.
    pub keep_texts: bool,
    /// Cells read (every row's width).
    pub cells: u64,
    /// Note the first cell longer than this many characters in `long_cell`; 0: none.
    pub max_cell_chars: usize,
    pub long_cell: Option<LongCell>,
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
        self.rows += 1;
        let first_problem = self.problems.len();
        let width = cells.width();
        self.cells += width as u64;
        if self.max_cell_chars > 0 && self.long_cell.is_none() {
            let max = self.max_cell_chars;
            // A character is at least a byte: almost every cell is judged by its bytes.
            self.long_cell = (0..width)
                .filter_map(|i| cells.get(i).map(|c| (i, c)))
                .find(|(_, c)| c.len() > max && c.chars().count() > max)
                .map(|(column, c)| LongCell {
                    line,
                    column,
                    chars: c.chars().count(),
                    value: fupin_domain::problem::echo(c),
                });
        }
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
        let text = self.keep_texts.then(|| {
            let cell = |f: Field| {
                header
                    .position(f)
                    .and_then(|p| cells.get(p))
                    .map_or("", fupin_domain::fields::trim_cell)
            };
            MemberText {
                name: cell(Field::Name).into(),
                relation: cell(Field::Relation).into(),
            }
        });
        let errors = self.problems[first_problem..]
            .iter()
            .filter(|p| p.code.is_error())
            .map(|p| (p.line, p.code));

        // The same household as the previous row: extend its fragment.
        if let Some(frag) = self.fragments.last_mut() {
            if !row.household_id.is_empty() && frag.household_id.of(&self.arena) == row.household_id
            {
                frag.errors.extend(errors);
                let same_place = frag.township.of(&self.arena) == row.township
                    && frag.village.of(&self.arena) == row.village;
                if !same_place || frag.values != row.values {
                    let member = frag.members.len();
                    let values = row.values;
                    let (t, v) = (row.township, row.village);
                    let township = self.span(t);
                    let village = self.span(v);
                    let frag = self.fragments.last_mut().expect("just seen");
                    frag.deviations.push(Deviation {
                        member,
                        township,
                        village,
                        values,
                    });
                }
                let frag = self.fragments.last_mut().expect("just seen");
                frag.members.push(row.member);
                frag.texts.extend(text);
                return;
            }
        }
        let errors: Vec<(u64, ProblemCode)> = errors.collect();
        let household_id = self.span(row.household_id);
        let township = self.span(row.township);
        let village = self.span(row.village);
        let mut members = Vec::with_capacity(4);
        members.push(row.member);
        self.fragments.push(Fragment {
            household_id,
            township,
            village,
            values: row.values,
            members,
            deviations: Vec::new(),
            errors,
            texts: text.into_iter().collect(),
        });
    }
}
