//! The append-only ledger written and read: a disbursement or reversal recorded by hand,
//! a disbursement file recorded all or nothing, and a project's ledger read. Each entry is
//! checked by the ledger's rule inside the transaction that writes it, after the project's
//! row is locked ([`Backend::FOR_UPDATE`]), and stored at the end of the ledger's hash
//! chain ([`Append`]); each is audited.

use super::projects::budget;
use super::rows::{bind_all, entry_json, entry_row, project_scope, ENTRY_SELECT};
use super::write::{unknown_project, ProjectByName, ProjectWrite};
use super::{FundEntry, FundRefusal, NewFundEntry, ProjectId};
use crate::accounts::{User, UserId};
use crate::audit::{Audit, Record};
use crate::backend::{sql, Backend, Run};
use crate::chain::{Append, Chain, FundLink};
use crate::rows::Get;
use crate::work::{ActingUser, ItemScope};
use crate::{now, Result, StoreError};
use chrono::{DateTime, Utc};
use fupin_domain::access::{may, Action};
use fupin_domain::funds::{
    check_entry, Budget, EntryField, EntryId, EntryKind, LedgerEntry, NewEntry, Override,
};
use fupin_domain::funds_rows::{Recording, RowRefusal, Why};
use serde_json::json;
use sqlx::Pool;
use std::collections::HashMap;

/// A project of a file being recorded, its budget and its ledger as it grows; None when
/// the user may not record it.
type OpenLedger = Option<(ProjectId, Budget, Vec<LedgerEntry>)>;

/// [`Store::fund_entries`](crate::Store::fund_entries).
pub(super) async fn fund_entries<DB: Backend>(
    pool: &Pool<DB>,
    scope: &ItemScope,
    project: ProjectId,
) -> Result<Vec<FundEntry>> {
    let (cond, binds) = project_scope(scope, 2);
    let select = format!(
        "{ENTRY_SELECT} JOIN projects p ON p.id = e.project_id \
         WHERE e.project_id = $1{cond} ORDER BY e.id"
    );
    bind_all(sql(select).bind(project), &binds)
        .fetch_all(&mut *pool.acquire().await?)
        .await?
        .iter()
        .map(entry_row)
        .collect()
}

/// Project `id`'s ledger as the rule reads it, oldest first.
async fn ledger(conn: &mut impl Run, id: ProjectId) -> Result<Vec<LedgerEntry>> {
    sql(format!(
        "{ENTRY_SELECT} WHERE e.project_id = $1 ORDER BY e.id"
    ))
    .bind(id)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| entry_row(r).map(|e| e.ledger()))
    .collect()
}

/// [`Store::add_fund_entry`](crate::Store::add_fund_entry).
pub(super) async fn add_fund_entry<DB: Backend>(
    pool: &Pool<DB>,
    write: ProjectWrite<'_>,
    kind: EntryKind,
    entry: &NewFundEntry,
    over: Option<&Override>,
) -> Result<std::result::Result<FundEntry, FundRefusal>> {
    let ProjectWrite { user, project } = write;
    let at = now();
    let Some((mut tx, r)) = write.begin(pool, "p.unit", true).await? else {
        return Ok(Err(FundRefusal::NoProject(project)));
    };
    let unit = r.text("unit")?;
    let actor = ActingUser { user, post: None };
    let record = Action::RecordEntry {
        unit: &unit,
        overriding: over.is_some(),
    };
    if let Err(r) = may(actor.actor(), record) {
        return Ok(Err(FundRefusal::NotAllowed(r.into_message())));
    }
    if let Err(r) = entry.check_fields(kind, crate::today()) {
        return Ok(Err(FundRefusal::Field(r)));
    }
    let budget = budget(&mut *tx, project).await?;
    let ledger = ledger(&mut *tx, project).await?;
    let accepted = match check_entry(&budget, &ledger, &entry.ledger_entry(kind), over) {
        Ok(a) => a,
        Err(r) => return Ok(Err(FundRefusal::Rule(r))),
    };
    let reason = over
        .filter(|_| accepted.over_budget)
        .map(|o| o.reason.trim().to_string());
    let link = fund_link(project, kind, entry, reason.as_deref(), at, user.id);
    let id = tx.append_fund(link).await?;
    let stored = entry_row(
        &sql(format!("{ENTRY_SELECT} WHERE e.id = $1"))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?,
    )?;
    tx.audit(Record {
        at,
        user: Some(user.id),
        action: match kind {
            EntryKind::Disbursement => "disburse",
            EntryKind::Reversal { .. } => "reverse",
        },
        entity: "fund_entry",
        entity_id: id.to_string(),
        before: None,
        after: Some(entry_json(&stored)),
    })
    .await?;
    if let Some(reason) = &reason {
        let d = fupin_domain::funds::disbursed(&ledger, entry.source);
        tx.audit(Record {
            at,
            user: Some(user.id),
            action: "override_budget",
            entity: "fund_entry",
            entity_id: id.to_string(),
            before: Some(json!({
                "project_id": project, "source": entry.source.code(),
                "budget": budget.get(entry.source).plain(), "disbursed": d.plain(),
            })),
            after: Some(json!({
                "disbursed": (d + entry.amount).plain(), "reason": reason,
            })),
        })
        .await?;
    }
    tx.commit().await?;
    Ok(Ok(fund_entries(pool, &ItemScope::All, project)
        .await?
        .into_iter()
        .find(|e| e.id == id)
        .ok_or_else(|| {
            StoreError::corrupt("刚登记的拨付记录找不到了")
        })?))
}

/// [`Store::import_disbursements`](crate::Store::import_disbursements).
pub(super) async fn import_disbursements<DB: Backend>(
    pool: &Pool<DB>,
    user: &User,
    file_name: &str,
    rows: &[fupin_io::funds_file::DisbursementRow],
) -> Result<std::result::Result<u64, Vec<RowRefusal>>> {
    let projects = ProjectByName::new::<DB>(user, "p.id, p.unit", true);
    let at = now();
    let mut tx = DB::begin_write(pool).await?;
    let mut problems = Vec::new();
    // Per project: its budget and its ledger as it grows.
    let mut ledgers: HashMap<(i32, String), OpenLedger> = HashMap::new();
    let mut written = 0u64;
    // Each chain's end, read once at the first row written, then moved by each row.
    let mut ends: Option<((i64, String), (i64, String))> = None;
    for row in rows {
        let key = (row.year, row.project.clone());
        if !ledgers.contains_key(&key) {
            let found = match projects.find(&mut *tx, row.year, &row.project).await? {
                None => None,
                Some(r) => {
                    let (id, unit) = (r.id("id")?, r.text("unit")?);
                    let record = Action::RecordEntry {
                        unit: &unit,
                        overriding: false,
                    };
                    match may(ActingUser { user, post: None }.actor(), record) {
                        Err(_) => None,
                        Ok(()) => {
                            Some((id, budget(&mut *tx, id).await?, ledger(&mut *tx, id).await?))
                        }
                    }
                }
            };
            ledgers.insert(key.clone(), found);
        }
        let Some(Some((id, budget, ledger))) = ledgers.get_mut(&key) else {
            let refusal =
                unknown_project(row.line, row.year, &row.project, Recording::Disbursement);
            problems.push(refusal);
            continue;
        };
        let entry = &row.entry;
        let new = entry.ledger_entry(EntryKind::Disbursement);
        if let Err(r) = entry.check_fields(new.kind, crate::today()) {
            let value = match r.field {
                EntryField::Date => entry.date.to_string(),
                EntryField::Voucher => entry.voucher.clone(),
                EntryField::Payee => entry.payee.clone(),
            };
            problems.push(RowRefusal {
                line: row.line,
                why: Why::EntryField { refusal: r, value },
            });
            continue;
        }
        if let Err(r) = check_entry(budget, ledger, &new, None) {
            problems.push(RowRefusal {
                line: row.line,
                why: Why::Entry {
                    year: row.year,
                    project: row.project.clone(),
                    amount: entry.amount,
                    refusal: r,
                },
            });
            continue;
        }
        if !problems.is_empty() {
            // Keep checking the rest, but write nothing more.
            ledger.push(ledger_line(EntryId::new(-(row.line as i64)), &new));
            continue;
        }
        if ends.is_none() {
            ends = Some((
                tx.next_link(Chain::Funds).await?,
                tx.next_link(Chain::Audit).await?,
            ));
        }
        let (fund_end, audit_end) = ends.as_mut().expect("set above");
        let link = fund_link(*id, new.kind, entry, None, at, user.id);
        let entry_id = tx.append_fund_at(fund_end, link).await?;
        ledger.push(ledger_line(entry_id, &new));
        tx.audit_at(
            audit_end,
            Record {
                at,
                user: Some(user.id),
                action: "disburse",
                entity: "fund_entry",
                entity_id: entry_id.to_string(),
                before: None,
                after: Some(json!({
                    "project_id": *id, "date": entry.date, "source": entry.source.code(),
                    "amount": entry.amount.plain(), "kind": {"kind": "disbursement"},
                    "voucher": entry.voucher.trim(), "payee": entry.payee.trim(),
                    "note": entry.note.trim(), "file_name": file_name, "line": row.line,
                })),
            },
        )
        .await?;
        written += 1;
    }
    if !problems.is_empty() {
        tx.rollback().await?;
        return Ok(Err(problems));
    }
    tx.commit().await?;
    Ok(Ok(written))
}

/// The ledger's row of `entry`, recorded as `kind` in project `project`'s ledger by user
/// `by` at `at`, with the reason for passing the budget when it does.
fn fund_link<'a>(
    project: ProjectId,
    kind: EntryKind,
    entry: &'a NewFundEntry,
    override_reason: Option<&'a str>,
    at: DateTime<Utc>,
    by: UserId,
) -> FundLink<'a> {
    let (kind_text, reverses) = match kind {
        EntryKind::Disbursement => ("disbursement", None),
        EntryKind::Reversal { of } => ("reversal", Some(of)),
    };
    FundLink {
        id: 0,
        project_id: project,
        source: entry.source.code(),
        entry_date: entry.date,
        amount: entry.amount.fen(),
        kind: kind_text,
        reverses,
        voucher: entry.voucher.trim(),
        payee: entry.payee.trim(),
        note: entry.note.trim(),
        override_reason,
        recorded_at: at,
        recorded_by: Some(by),
    }
}

/// Entry `new` in a ledger as the rule reads it, as entry `id`.
fn ledger_line(id: EntryId, new: &NewEntry) -> LedgerEntry {
    LedgerEntry {
        id,
        date: new.date,
        source: new.source,
        amount: new.amount,
        kind: new.kind,
    }
}
