//! Submitting, approving and sending back change requests. Each is one write
//! transaction with its audit row; approval (and a direct change) applies the change in
//! the same transaction.

use super::apply::apply;
use super::evaluate::{evaluate, Evaluated};
use super::read::{one_on, stored_cell};
use super::{ChangeId, NewChange, Outcome};
use crate::audit::{Audit, Record};
use crate::backend::{sql, Backend, Run};
use crate::register::households::detail_on;
use crate::register::HouseholdDetail;
use crate::rows::{count, Get};
use crate::work::{today, ActingUser, NewAttachment, MAX_ATTACHMENT_BYTES};
use crate::{now, Result, Scope, Store, StoreError};
use fupin_domain::access::{may, Action, Refusal};
use fupin_domain::change::{check_request, CellChange, ChangeState};
use fupin_domain::Fen;
use serde_json::json;
use sqlx::Pool;

/// The year and poverty line of a version.
async fn version_line(conn: &mut impl Run, d: &HouseholdDetail) -> Result<(i32, Fen)> {
    let r = sql("SELECT year, line_fen FROM register_versions WHERE id = $1")
        .bind(d.version)
        .fetch_one(conn)
        .await?;
    Ok((r.int("year")? as i32, Fen::new(r.int("line_fen")?)))
}

/// The request's cells in words: 住房安全等级：C → A.
fn words(d: &HouseholdDetail, cells: &[CellChange], e: &Evaluated) -> Vec<String> {
    cells
        .iter()
        .zip(e.old.iter().zip(&e.new))
        .map(|(c, (old, new))| {
            super::ChangeCell {
                member_line: c.member,
                member_name: member_name(d, c),
                field: c.field,
                old: old.clone(),
                new: new.clone(),
            }
            .words()
        })
        .collect()
}

fn member_name(d: &HouseholdDetail, c: &CellChange) -> Option<String> {
    let line = c.member?;
    d.members
        .iter()
        .find(|m| m.member.line == line)
        .and_then(|m| m.name.clone())
}

/// The words items' events and gaps' evidence carry: 变更申请第 12 号（2026-12-01 走访：…）.
fn change_words(id: ChangeId, visit: chrono::NaiveDate, reason: &str) -> String {
    format!("变更申请第 {id} 号（{visit} 走访：{}）", reason.trim())
}

/// A waiting request on one of the cells, named: two open requests on one field of a
/// household are refused.
async fn pending_conflict(
    conn: &mut impl Run,
    household_no: &str,
    cells: &[CellChange],
) -> Result<Option<Refusal>> {
    let rows = sql("SELECT change_id, member_line, field FROM change_cells \
         WHERE household_no = $1 AND pending ORDER BY change_id")
    .bind(household_no)
    .fetch_all(conn)
    .await?;
    for r in &rows {
        let (line, field) = (count(r, "member_line")?, r.text("field")?);
        if let Some(c) = cells
            .iter()
            .find(|c| c.member.unwrap_or(0) == line && c.field.alias() == field)
        {
            let id: ChangeId = r.id("change_id")?;
            return Ok(Some(Refusal::Conflict(format!(
                "该户的「{}」已有待审核的变更申请第 {id} 号：请等它审核（批准或退回）后再提交",
                c.field.chinese()
            ))));
        }
    }
    Ok(None)
}

fn too_large(files: &[NewAttachment]) -> Option<Refusal> {
    files
        .iter()
        .find(|a| a.data.len() > MAX_ATTACHMENT_BYTES)
        .map(|a| {
            Refusal::Invalid(format!(
                "附件「{}」超过 {} MB",
                a.file_name,
                MAX_ATTACHMENT_BYTES >> 20
            ))
        })
}

/// [`super::Changes::submit`].
pub(super) async fn submit<DB: Backend>(
    pool: &Pool<DB>,
    store: &Store,
    by: &ActingUser<'_>,
    change: &NewChange,
    direct: bool,
) -> Outcome {
    if let Err(r) = check_request(&change.visit, &change.cells, today()) {
        return Ok(Err(r));
    }
    if let Some(r) = too_large(&change.files) {
        return Ok(Err(r));
    }
    let scope = Scope::of(&by.user.role);
    let mut tx = DB::begin_write(pool).await?;
    let Some(d) = detail_on(&mut *tx, &scope, &change.household_no).await? else {
        return Ok(Err(Refusal::Forbidden(format!(
            "现行登记表中您的范围内没有户编号「{}」",
            change.household_no
        ))));
    };
    let (township, village) = (d.row.township.as_str(), d.row.village.as_str());
    let mut asked = may(by.actor(), Action::SubmitChange { township, village });
    if direct {
        asked = asked.and_then(|()| may(by.actor(), Action::ApplyChange));
    }
    if let Err(r) = asked {
        return Ok(Err(r));
    }
    let (year, line) = version_line(&mut *tx, &d).await?;
    let e = match evaluate(&d, year, line, &change.cells) {
        Ok(e) => e,
        Err(r) => return Ok(Err(r)),
    };
    if let Some((c, _)) = change
        .cells
        .iter()
        .zip(e.old.iter().zip(&e.new))
        .find(|(_, (o, n))| o == n)
    {
        return Ok(Err(Refusal::Invalid(format!(
            "「{}」的新值与现值相同（{}）：没有改动的项目请不要提交",
            c.field.chinese(),
            if c.value.trim().is_empty() {
                "空"
            } else {
                c.value.trim()
            }
        ))));
    }
    if let Some(r) = pending_conflict(&mut *tx, &d.row.household_no, &change.cells).await? {
        return Ok(Err(r));
    }
    let at = now();
    let v = &change.visit;
    let r = sql(
        "INSERT INTO change_requests (version_id, household_no, township, village, state, \
         visit_date, reason, done_on, submitted_by, submitted_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(d.version)
    .bind(d.row.household_no.as_str())
    .bind(township)
    .bind(village)
    .bind(ChangeState::Submitted.word())
    .bind(v.date)
    .bind(v.reason.trim())
    .bind(v.done_on)
    .bind(by.user.id)
    .bind(at)
    .fetch_one(&mut *tx)
    .await?;
    let id: ChangeId = r.id("id")?;
    for (i, (c, (old, new))) in change
        .cells
        .iter()
        .zip(e.old.iter().zip(&e.new))
        .enumerate()
    {
        sql(
            "INSERT INTO change_cells (change_id, seq, household_no, member_line, member_name, \
             field, old_value, new_value, pending) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, TRUE)",
        )
        .bind(id)
        .bind(i as i64)
        .bind(d.row.household_no.as_str())
        .bind(c.member.unwrap_or(0) as i64)
        .bind(member_name(&d, c))
        .bind(c.field.alias())
        .bind(old.as_str())
        .bind(new.as_str())
        .execute(&mut *tx)
        .await?;
    }
    for a in &change.files {
        sql(
            "INSERT INTO change_attachments (change_id, file_name, content_type, size, data) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(&a.file_name)
        .bind(&a.content_type)
        .bind(a.data.len() as i64)
        .bind(a.data.as_slice())
        .execute(&mut *tx)
        .await?;
    }
    let what = words(&d, &change.cells, &e);
    tx.audit(Record {
        at,
        user: Some(by.user.id),
        action: if direct {
            "change_apply"
        } else {
            "change_submit"
        },
        entity: "change_request",
        entity_id: id.to_string(),
        before: None,
        after: Some(json!({
            "户编号": d.row.household_no,
            "变更": what,
            "走访日期": v.date.to_string(),
            "原因": v.reason.trim(),
            "附件": change.files.iter().map(|f| f.file_name.as_str()).collect::<Vec<_>>(),
        })),
    })
    .await?;
    if direct {
        let words = change_words(id, v.date, &v.reason);
        finish_approval::<DB>(
            &mut tx,
            store,
            &d,
            &e,
            &change.cells,
            by,
            id,
            "",
            words,
            &change.files,
        )
        .await?;
    }
    let out = one_on(&mut *tx, &Scope::County, id).await?;
    tx.commit().await?;
    out.map(Ok)
        .ok_or_else(|| StoreError::corrupt("刚提交的变更申请找不到了"))
}

/// Apply and mark approved, in the caller's transaction.
#[allow(clippy::too_many_arguments)]
async fn finish_approval<DB: Backend>(
    conn: &mut DB::Connection,
    store: &Store,
    d: &HouseholdDetail,
    e: &Evaluated,
    cells: &[CellChange],
    by: &ActingUser<'_>,
    id: ChangeId,
    note: &str,
    words: String,
    files: &[NewAttachment],
) -> Result<()> {
    apply::<DB>(&mut *conn, store, d, e, cells, by.user.id, words, files).await?;
    let failed = |s: fupin_domain::criteria::CriteriaSet| {
        s.iter()
            .map(fupin_domain::Criterion::code)
            .collect::<Vec<_>>()
            .join(",")
    };
    let at = now();
    sql(
        "UPDATE change_requests SET state = 'approved', reviewed_by = $2, reviewed_at = $3, \
         review_note = $4, verdict_before = $5, verdict_after = $6, failed_before = $7, \
         failed_after = $8 WHERE id = $1",
    )
    .bind(id)
    .bind(by.user.id)
    .bind(at)
    .bind(Some(note.trim()).filter(|n| !n.is_empty()))
    .bind(d.row.verdict.word())
    .bind(e.assessment.verdict.word())
    .bind(failed(d.row.failed))
    .bind(failed(e.assessment.failed))
    .execute(&mut *conn)
    .await?;
    sql("UPDATE change_cells SET pending = FALSE WHERE change_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    conn.audit(Record {
        at,
        user: Some(by.user.id),
        action: "change_approve",
        entity: "change_request",
        entity_id: id.to_string(),
        before: Some(json!({
            "户编号": d.row.household_no,
            "评估结论": d.row.verdict.chinese(),
        })),
        after: Some(json!({
            "评估结论": e.assessment.verdict.chinese(),
            "说明": e.assessment.explanation,
            "审核意见": note.trim(),
        })),
    })
    .await?;
    Ok(())
}

/// A stored request's facts that review needs, read under the write lock.
struct Pending {
    state: String,
    household_no: String,
    township: String,
    village: String,
    submitted_by: crate::UserId,
    version: crate::VersionId,
    visit: chrono::NaiveDate,
    reason: String,
    cells: Vec<(CellChange, String)>,
}

async fn pending<DB: Backend>(conn: &mut DB::Connection, id: ChangeId) -> Result<Option<Pending>> {
    let text = format!(
        "SELECT state, household_no, township, village, submitted_by, version_id, visit_date, \
         reason \
         FROM change_requests WHERE id = $1{}",
        DB::FOR_UPDATE
    );
    let Some(r) = sql(&text).bind(id).fetch_optional(&mut *conn).await? else {
        return Ok(None);
    };
    let mut cells = Vec::new();
    for c in sql(
        "SELECT member_line, field, old_value, new_value FROM change_cells \
         WHERE change_id = $1 ORDER BY seq",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    {
        let (member, field) = stored_cell(&c)?;
        cells.push((
            CellChange {
                member,
                field,
                value: c.text("new_value")?,
            },
            c.text("old_value")?,
        ));
    }
    Ok(Some(Pending {
        state: r.text("state")?,
        household_no: r.text("household_no")?,
        township: r.text("township")?,
        village: r.text("village")?,
        submitted_by: r.id("submitted_by")?,
        version: r.id("version_id")?,
        visit: r
            .opt_date("visit_date")?
            .ok_or_else(|| StoreError::corrupt("变更申请没有走访日期"))?,
        reason: r.text("reason")?,
        cells,
    }))
}

/// The checks every review makes: the request is in the reviewer's scope and waiting,
/// and the reviewer may review it.
async fn reviewable<DB: Backend>(
    conn: &mut DB::Connection,
    by: &ActingUser<'_>,
    id: ChangeId,
) -> Result<std::result::Result<Pending, Refusal>> {
    let scope = Scope::of(&by.user.role);
    let Some(p) = pending::<DB>(&mut *conn, id).await? else {
        return Ok(Err(Refusal::Forbidden(format!("没有第 {id} 号变更申请"))));
    };
    if !scope.contains(&p.township, &p.village) {
        return Ok(Err(Refusal::Forbidden(format!(
            "第 {id} 号变更申请不在您负责的范围内"
        ))));
    }
    if p.state != ChangeState::Submitted.word() {
        let state: ChangeState = p.state.parse().unwrap_or(ChangeState::Approved);
        return Ok(Err(Refusal::Conflict(format!(
            "第 {id} 号变更申请{}，不能再审核",
            state.chinese()
        ))));
    }
    let own = p.submitted_by == by.user.id;
    if let Err(r) = may(
        by.actor(),
        Action::ReviewChange {
            township: &p.township,
            own,
        },
    ) {
        return Ok(Err(r));
    }
    Ok(Ok(p))
}

/// [`super::Changes::approve`].
pub(super) async fn approve<DB: Backend>(
    pool: &Pool<DB>,
    store: &Store,
    by: &ActingUser<'_>,
    id: ChangeId,
    note: &str,
) -> Outcome {
    let mut tx = DB::begin_write(pool).await?;
    let p = match reviewable::<DB>(&mut tx, by, id).await? {
        Ok(p) => p,
        Err(r) => return Ok(Err(r)),
    };
    let Some(d) = detail_on(&mut *tx, &Scope::County, &p.household_no).await? else {
        return Ok(Err(Refusal::Conflict(format!(
            "户编号「{}」已不在现行登记表中：请退回本申请",
            p.household_no
        ))));
    };
    if d.version != p.version {
        return Ok(Err(Refusal::Conflict(format!(
            "登记表已导入第 {} 版，本申请是按第 {} 版提交的：请退回，按现行登记表重新提交",
            d.version, p.version
        ))));
    }
    let cells: Vec<CellChange> = p.cells.iter().map(|(c, _)| c.clone()).collect();
    let (year, line) = version_line(&mut *tx, &d).await?;
    let e = match evaluate(&d, year, line, &cells) {
        Ok(e) => e,
        Err(r) => return Ok(Err(r)),
    };
    if let Some(((c, was), now_is)) = p
        .cells
        .iter()
        .zip(&e.old)
        .find(|((_, was), now_is)| was != *now_is)
    {
        return Ok(Err(Refusal::Conflict(format!(
            "「{}」申请时为「{was}」，现为「{now_is}」（已被其他变更修改）：请退回本申请后重新提交",
            c.field.chinese()
        ))));
    }
    let files = files_of(&mut *tx, id).await?;
    let words = change_words(id, p.visit, &p.reason);
    finish_approval::<DB>(&mut tx, store, &d, &e, &cells, by, id, note, words, &files).await?;
    let out = one_on(&mut *tx, &Scope::County, id).await?;
    tx.commit().await?;
    out.map(Ok)
        .ok_or_else(|| StoreError::corrupt("刚批准的变更申请找不到了"))
}

/// A request's files with their bytes, to go with the items its approval moves.
async fn files_of(conn: &mut impl Run, id: ChangeId) -> Result<Vec<NewAttachment>> {
    let rows = sql(
        "SELECT file_name, content_type, data FROM change_attachments WHERE change_id = $1 \
         ORDER BY id",
    )
    .bind(id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(NewAttachment {
                file_name: r.text("file_name")?,
                content_type: r.text("content_type")?,
                data: r.bytes("data")?,
            })
        })
        .collect()
}

/// [`super::Changes::send_back`].
pub(super) async fn send_back<DB: Backend>(
    pool: &Pool<DB>,
    by: &ActingUser<'_>,
    id: ChangeId,
    reason: &str,
) -> Outcome {
    if reason.trim().is_empty() {
        return Ok(Err(Refusal::Invalid("退回请写明原因".into())));
    }
    let mut tx = DB::begin_write(pool).await?;
    let p = match reviewable::<DB>(&mut tx, by, id).await? {
        Ok(p) => p,
        Err(r) => return Ok(Err(r)),
    };
    let at = now();
    sql(
        "UPDATE change_requests SET state = 'returned', reviewed_by = $2, reviewed_at = $3, \
         review_note = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(by.user.id)
    .bind(at)
    .bind(reason.trim())
    .execute(&mut *tx)
    .await?;
    sql("UPDATE change_cells SET pending = FALSE WHERE change_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.audit(Record {
        at,
        user: Some(by.user.id),
        action: "change_return",
        entity: "change_request",
        entity_id: id.to_string(),
        before: Some(json!({ "户编号": p.household_no, "状态": ChangeState::Submitted.chinese() })),
        after: Some(json!({ "状态": ChangeState::Returned.chinese(), "退回原因": reason.trim() })),
    })
    .await?;
    let out = one_on(&mut *tx, &Scope::County, id).await?;
    tx.commit().await?;
    out.map(Ok)
        .ok_or_else(|| StoreError::corrupt("刚退回的变更申请找不到了"))
}
