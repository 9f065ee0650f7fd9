//! Change requests (变更申请): the register changed from the field. A cadre records what a
//! visit found for a household of the current version (a finished renovation, a child
//! back at school, income measured again); the township approves or sends it back
//! (headquarters may apply directly). On approval, in one transaction, the household's
//! rows change, it is reassessed by the importer's own code, its problems, assessment,
//! village/township/county summaries and gaps move by its difference, and the work items
//! of gaps that closed are done with the change as their evidence.
//!
//! - `evaluate`: the household's rows with the changed cells, read back and judged;
//! - `apply`: writing an evaluated change into the version (no scan of the register);
//! - `requests`: submitting, approving and sending back;
//! - `read`: the review queue, a household's changes, one request and its files.

mod apply;
mod evaluate;
mod read;
mod requests;

use crate::accounts::UserId;
use crate::register::VersionId;
use crate::work::{ActingUser, NewAttachment};
use crate::{on_pool, Page, Result, Scope, Store};
use chrono::{DateTime, NaiveDate, Utc};
use fupin_domain::access::Refusal;
use fupin_domain::change::{CellChange, ChangeState, Visit};
use fupin_domain::fields::Field;
use fupin_domain::Verdict;

pub type ChangeId = fupin_domain::id::Id<ChangeRequest>;
pub type ChangeFileId = fupin_domain::id::Id<ChangeFile>;

/// A change as a cadre submits it.
#[derive(Clone, Debug)]
pub struct NewChange {
    pub household_no: String,
    pub visit: Visit,
    pub cells: Vec<CellChange>,
    /// Evidence: photos or documents.
    pub files: Vec<NewAttachment>,
}

/// A stored change request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeRequest {
    pub id: ChangeId,
    pub version: VersionId,
    pub household_no: String,
    pub township: String,
    pub village: String,
    pub state: ChangeState,
    pub visit_date: NaiveDate,
    pub reason: String,
    pub done_on: Option<NaiveDate>,
    pub submitted_by: UserId,
    pub submitted_by_name: String,
    pub submitted_at: DateTime<Utc>,
    pub reviewed_by: Option<UserId>,
    pub reviewed_by_name: Option<String>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub review_note: Option<String>,
    /// The household's verdict before and after, once approved.
    pub verdict_before: Option<Verdict>,
    pub verdict_after: Option<Verdict>,
    pub cells: Vec<ChangeCell>,
    pub files: Vec<ChangeFile>,
}

/// One changed cell, old and new as the import format writes them ('' empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeCell {
    /// The member's row line; None for a household field.
    pub member_line: Option<u64>,
    /// The member's name, when the register has it.
    pub member_name: Option<String>,
    pub field: Field,
    pub old: String,
    pub new: String,
}

impl ChangeCell {
    /// 住房安全等级：C → A; 张三 在校生状况：非在校生 → 小学3年级.
    pub fn words(&self) -> String {
        let show = |v: &str| {
            if v.is_empty() {
                "（空）".to_string()
            } else {
                v.to_string()
            }
        };
        let who = match (&self.member_name, self.member_line) {
            (Some(n), _) => format!("{n} "),
            (None, Some(l)) => format!("第{l}行成员 "),
            (None, None) => String::new(),
        };
        format!(
            "{who}{}：{} → {}",
            self.field.chinese(),
            show(&self.old),
            show(&self.new)
        )
    }
}

/// A file attached to a request (without its bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeFile {
    pub id: ChangeFileId,
    pub change: ChangeId,
    pub file_name: String,
    pub content_type: String,
    pub size: u64,
}

/// Which requests a list shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeFilter {
    pub state: Option<ChangeState>,
}

/// What a store call gives: the request, or the refusal in words.
pub type Outcome = Result<std::result::Result<ChangeRequest, Refusal>>;

/// The store's change requests ([`Store::changes`]).
#[derive(Clone, Copy)]
pub struct Changes<'s>(pub(crate) &'s Store);

impl Changes<'_> {
    /// Submit a change for review, or (`direct`, headquarters) apply it at once. Checked
    /// with the importer's rules: a refused value is an `Invalid` refusal naming the code,
    /// column and value, and nothing is stored.
    pub async fn submit(self, by: &ActingUser<'_>, change: &NewChange, direct: bool) -> Outcome {
        on_pool!(self.0, pool => requests::submit(pool, self.0, by, change, direct).await)
    }

    /// Approve a submitted request: it is applied to the register in one transaction.
    pub async fn approve(self, by: &ActingUser<'_>, id: ChangeId, note: &str) -> Outcome {
        on_pool!(self.0, pool => requests::approve(pool, self.0, by, id, note).await)
    }

    /// Send a submitted request back with a reason; the register does not change.
    pub async fn send_back(self, by: &ActingUser<'_>, id: ChangeId, reason: &str) -> Outcome {
        on_pool!(self.0, pool => requests::send_back(pool, by, id, reason).await)
    }

    /// Requests in the scope, newest first, paged by id.
    pub async fn list(
        self,
        scope: &Scope,
        filter: &ChangeFilter,
        before: Option<ChangeId>,
        limit: u32,
    ) -> Result<Page<ChangeRequest, ChangeId>> {
        on_pool!(self.0, pool => read::list(pool, scope, filter, before, limit).await)
    }

    /// A household's requests, newest first.
    pub async fn of_household(
        self,
        scope: &Scope,
        household_no: &str,
    ) -> Result<Vec<ChangeRequest>> {
        on_pool!(self.0, pool => read::of_household(pool, scope, household_no).await)
    }

    /// One request, if it lies in the scope.
    pub async fn one(self, scope: &Scope, id: ChangeId) -> Result<Option<ChangeRequest>> {
        on_pool!(self.0, pool => read::one(pool, scope, id).await)
    }

    /// A request's file with its bytes, if the request lies in the scope.
    pub async fn file(
        self,
        scope: &Scope,
        id: ChangeFileId,
    ) -> Result<Option<(ChangeFile, Vec<u8>)>> {
        on_pool!(self.0, pool => read::file(pool, scope, id).await)
    }
}
