//! Reading change requests: the review queue, a household's requests, one request and
//! its files. Every read takes the reader's [`Scope`] on the request's township and
//! village: a request outside it is not found.

use super::{ChangeCell, ChangeFile, ChangeFileId, ChangeFilter, ChangeId, ChangeRequest};
use crate::backend::{sql, Backend, Run};
use crate::register::{clamp_limit, Page};
use crate::rows::{count, Get};
use crate::scope::ScopeSql;
use crate::{Result, Scope, StoreError};
use fupin_domain::fields::Field;
use fupin_domain::Verdict;
use sqlx::Pool;

const COLUMNS: &str = "c.id, c.version_id, c.household_no, c.township, c.village, c.state, \
    c.visit_date, c.reason, c.done_on, c.submitted_by, su.username AS submitted_by_name, \
    c.submitted_at, c.reviewed_by, ru.username AS reviewed_by_name, c.reviewed_at, \
    c.review_note, c.verdict_before, c.verdict_after";

const FROM: &str = "change_requests c JOIN users su ON su.id = c.submitted_by \
    LEFT JOIN users ru ON ru.id = c.reviewed_by";

fn verdict_of(word: Option<String>) -> Result<Option<Verdict>> {
    word.map(|w| {
        Verdict::of_word(&w)
            .ok_or_else(|| StoreError::corrupt(format!("变更申请的评估结论「{w}」")))
    })
    .transpose()
}

/// A stored cell's field (its alias) and member (0: the household).
pub(super) fn stored_cell(r: &impl Get) -> Result<(Option<u64>, Field)> {
    let alias = r.text("field")?;
    let field = Field::from_header(&alias)
        .ok_or_else(|| StoreError::corrupt(format!("变更字段「{alias}」")))?;
    let line = count(r, "member_line")?;
    Ok(((line > 0).then_some(line), field))
}

fn request(r: &impl Get) -> Result<ChangeRequest> {
    let state = r.text("state")?;
    Ok(ChangeRequest {
        id: r.id("id")?,
        version: r.id("version_id")?,
        household_no: r.text("household_no")?,
        township: r.text("township")?,
        village: r.text("village")?,
        state: state
            .parse()
            .map_err(|_| StoreError::corrupt(format!("变更申请状态「{state}」")))?,
        visit_date: r
            .opt_date("visit_date")?
            .ok_or_else(|| StoreError::corrupt("变更申请没有走访日期"))?,
        reason: r.text("reason")?,
        done_on: r.opt_date("done_on")?,
        submitted_by: r.id("submitted_by")?,
        submitted_by_name: r.text("submitted_by_name")?,
        submitted_at: r.time("submitted_at")?,
        reviewed_by: r.opt_id("reviewed_by")?,
        reviewed_by_name: r.opt_text("reviewed_by_name")?,
        reviewed_at: r.opt_time("reviewed_at")?,
        review_note: r.opt_text("review_note")?,
        verdict_before: verdict_of(r.opt_text("verdict_before")?)?,
        verdict_after: verdict_of(r.opt_text("verdict_after")?)?,
        cells: Vec::new(),
        files: Vec::new(),
    })
}

/// The requests' cells and files, filled in.
async fn complete(
    conn: &mut impl Run,
    mut requests: Vec<ChangeRequest>,
) -> Result<Vec<ChangeRequest>> {
    if requests.is_empty() {
        return Ok(requests);
    }
    let ids: Vec<String> = requests.iter().map(|r| r.id.to_string()).collect();
    // Ids are numbers read from the database, not user text.
    let list = ids.join(", ");
    let text = format!(
        "SELECT change_id, member_line, member_name, field, old_value, new_value \
         FROM change_cells WHERE change_id IN ({list}) ORDER BY change_id, seq"
    );
    for r in sql(&text).fetch_all(&mut *conn).await? {
        let id: ChangeId = r.id("change_id")?;
        let (member_line, field) = stored_cell(&r)?;
        if let Some(req) = requests.iter_mut().find(|q| q.id == id) {
            req.cells.push(ChangeCell {
                member_line,
                member_name: r.opt_text("member_name")?,
                field,
                old: r.text("old_value")?,
                new: r.text("new_value")?,
            });
        }
    }
    let text = format!(
        "SELECT id, change_id, file_name, content_type, size FROM change_attachments \
         WHERE change_id IN ({list}) ORDER BY id"
    );
    for r in sql(&text).fetch_all(&mut *conn).await? {
        let f = file_row(&r)?;
        if let Some(req) = requests.iter_mut().find(|q| q.id == f.change) {
            req.files.push(f);
        }
    }
    Ok(requests)
}

fn file_row(r: &impl Get) -> Result<ChangeFile> {
    Ok(ChangeFile {
        id: r.id("id")?,
        change: r.id("change_id")?,
        file_name: r.text("file_name")?,
        content_type: r.text("content_type")?,
        size: count(r, "size")?,
    })
}

/// One request on the caller's connection, in the scope.
pub(super) async fn one_on(
    conn: &mut impl Run,
    scope: &Scope,
    id: ChangeId,
) -> Result<Option<ChangeRequest>> {
    let (filter, binds) = scope.sql("c", 2);
    let text = format!("SELECT {COLUMNS} FROM {FROM} WHERE c.id = $1{filter}");
    let mut q = sql(&text).bind(id);
    for b in binds {
        q.push(b);
    }
    let Some(r) = q.fetch_optional(&mut *conn).await? else {
        return Ok(None);
    };
    Ok(complete(conn, vec![request(&r)?]).await?.pop())
}

/// [`super::Changes::one`].
pub(super) async fn one<DB: Backend>(
    pool: &Pool<DB>,
    scope: &Scope,
    id: ChangeId,
) -> Result<Option<ChangeRequest>> {
    one_on(&mut *pool.acquire().await?, scope, id).await
}

/// [`super::Changes::list`]: newest first.
pub(super) async fn list<DB: Backend>(
    pool: &Pool<DB>,
    scope: &Scope,
    filter: &ChangeFilter,
    before: Option<ChangeId>,
    limit: u32,
) -> Result<Page<ChangeRequest, ChangeId>> {
    let limit = clamp_limit(limit);
    let (cond, binds) = scope.sql("c", 4);
    let text = format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE c.id < $1 AND ($3 = '' OR c.state = $3){cond} \
         ORDER BY c.id DESC LIMIT $2"
    );
    let mut q = sql(&text)
        .bind(before.map_or(i64::MAX, fupin_domain::id::Id::get))
        .bind(limit + 1)
        .bind(filter.state.map_or("", |s| s.word()));
    for b in binds {
        q.push(b);
    }
    let mut conn = pool.acquire().await?;
    let rows = q.fetch_all(&mut *conn).await?;
    let items = rows.iter().map(request).collect::<Result<Vec<_>>>()?;
    let page = Page::of(items, limit, |c| c.id);
    Ok(Page {
        items: complete(&mut *conn, page.items).await?,
        next: page.next,
    })
}

/// [`super::Changes::of_household`].
pub(super) async fn of_household<DB: Backend>(
    pool: &Pool<DB>,
    scope: &Scope,
    household_no: &str,
) -> Result<Vec<ChangeRequest>> {
    let (cond, binds) = scope.sql("c", 2);
    let text =
        format!("SELECT {COLUMNS} FROM {FROM} WHERE c.household_no = $1{cond} ORDER BY c.id DESC");
    let mut q = sql(&text).bind(household_no);
    for b in binds {
        q.push(b);
    }
    let mut conn = pool.acquire().await?;
    let rows = q.fetch_all(&mut *conn).await?;
    let items = rows.iter().map(request).collect::<Result<Vec<_>>>()?;
    complete(&mut *conn, items).await
}

/// [`super::Changes::file`].
pub(super) async fn file<DB: Backend>(
    pool: &Pool<DB>,
    scope: &Scope,
    id: ChangeFileId,
) -> Result<Option<(ChangeFile, Vec<u8>)>> {
    let (cond, binds) = scope.sql("c", 2);
    let text = format!(
        "SELECT a.id, a.change_id, a.file_name, a.content_type, a.size, a.data \
         FROM change_attachments a JOIN change_requests c ON c.id = a.change_id \
         WHERE a.id = $1{cond}"
    );
    let mut q = sql(&text).bind(id);
    for b in binds {
        q.push(b);
    }
    let Some(r) = q.fetch_optional(&mut *pool.acquire().await?).await? else {
        return Ok(None);
    };
    Ok(Some((file_row(&r)?, r.bytes("data")?)))
}
