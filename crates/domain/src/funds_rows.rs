//! Why the store refused a row of a funds file (the project library, disbursements,
//! beneficiaries). The store checks each row against what is stored and says which row
//! and why in these terms; io writes each as the file's problem (column, code, words,
//! value). The store builds no file-line text.

use crate::access;
use crate::funds::{FieldRefusal, FundSource, Refusal};
use crate::Fen;

/// A row of a funds file the store refused, or warns of: its line and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowRefusal {
    /// The row's line in the file (1 = the header).
    pub line: u64,
    pub why: Why,
}

/// What a row records, for the words of an unknown-project refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recording {
    /// 带贫户 (a beneficiaries file).
    Beneficiary,
    /// 资金拨付 (a disbursements file).
    Disbursement,
}

/// Why the row was refused (or, for the plan's tasks, warned of).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Why {
    /// The library has no project of that year and name, or the user may not record for
    /// it (F510).
    UnknownProject {
        year: i32,
        project: String,
        recording: Recording,
    },
    /// The user may not link this household to the project (F510).
    HouseholdNotLinkable {
        household_no: String,
        refusal: access::Refusal,
    },
    /// One of the entry's own fields is refused (F505 the date, F502 voucher or payee);
    /// `value` is the cell as given.
    EntryField {
        refusal: FieldRefusal,
        value: String,
    },
    /// The ledger refuses the entry, counting the rows before it (F511).
    Entry {
        year: i32,
        project: String,
        amount: Fen,
        refusal: Refusal,
    },
    /// A changed budget below what is already disbursed from its source (F504).
    BudgetBelowDisbursed {
        year: i32,
        project: String,
        source: FundSource,
        budget: Fen,
        disbursed: Fen,
    },
    /// Warning (F552): the project serves a 序号 that is not a task of its year's plan.
    TaskNotInPlan {
        year: i32,
        project: String,
        task_no: u32,
    },
    /// Warning (F552): no plan of the project's year is imported, so its 序号 is unchecked.
    NoPlanForTask {
        year: i32,
        project: String,
        task_no: u32,
    },
}
