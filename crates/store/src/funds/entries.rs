//! The append-only ledger written and read: a disbursement or reversal recorded by hand,
//! a disbursement file recorded all or nothing, and a project's ledger read. Each entry is
//! checked by the ledger's rule inside the transaction that writes it, after the project's
//! row is locked ([`Backend::FOR_UPDATE`]), and stored at the end of the ledger's hash
//! chain ([`Append`]); each is audited.

use super::projects::budget;
use super::rows::{bind_all, entry_json, entry_row, project_scope, ENTRY_SELECT};
use super::{FundEntry, FundRefusal, NewFundEntry, ProjectId};
use crate::accounts::User;
use crate::audit::{Audit, Record};
use crate::backend::{sql, Backend, Run};
use crate::chain::{Append, Chain, FundLink};
use crate::rows::Get;
use crate::work::{ActingUser, ItemScope};
use crate::{now, Result, StoreError};
use fupin_domain::access::{may, Action};
use fupin_domain::funds::{
    check_entry, check_entry_fields, Budget, EntryField, EntryId, EntryKind, LedgerEntry, NewEntry,
    Override,
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
    user: &User,
    project: ProjectId,
    kind: EntryKind,
    entry: &NewFundEntry,
    over: Option<&Override>,
) -> Result<std::result::Result<FundEntry, FundRefusal>> {
    let scope = ItemScope::of(&user.role);
    let (cond, binds) = project_scope(&scope, 2);
    let at = now();
    let unit_sql = format!(
        "SELECT p.unit FROM projects p WHERE p.id = $1{cond}{}",
        DB::FOR_UPDATE
    );
    let mut tx = DB::begin_write(pool).await?;
    let Some(r) = bind_all(sql(unit_sql).bind(project), &binds)
        .fetch_optional(&mut *tx)
        .await?
    else {
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
    if let Err(r) = check_entry_fields(
        entry.date,
        &entry.voucher,
        &entry.payee,
        kind,
        crate::today(),
    ) {
        return Ok(Err(FundRefusal::Field(r)));
    }
    let budget = budget(&mut *tx, project).await?;
    let ledger = ledger(&mut *tx, project).await?;
    let new = NewEntry {
        date: entry.date,
        source: entry.source,
        amount: entry.amount,
        kind,
    };
    let accepted = match check_entry(&budget, &ledger, &new, over) {
        Ok(a) => a,
        Err(r) => return Ok(Err(FundRefusal::Rule(r))),
    };
    let reason = over
        .filter(|_| accepted.over_budget)
        .map(|o| o.reason.trim().to_string());
    let (kind_text, reverses) = match kind {
        EntryKind::Disbursement => ("disbursement", None),
        EntryKind::Reversal { of } => ("reversal", Some(of)),
    };
    let id = tx
        .append_fund(FundLink {
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
            override_reason: reason.as_deref(),
            recorded_at: at,
            recorded_by: Some(user.id),
        })
        .await?;
    let stored = entry_row(
        &sql(format!("{ENTRY_SELECT} WHERE e.id = $1"))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?,
    )?;
    tx.audit(Record {
        at,
        user: Some(user.id),
        action: if reverses.is_some() {
            "reverse"
        } else {
            "disburse"
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
    let scope = ItemScope::of(&user.role);
    let (cond, binds) = project_scope(&scope, 3);
    let project_sql = format!(
        "SELECT p.id, p.unit FROM projects p WHERE p.year = $1 AND p.name = $2{cond}{}",
        DB::FOR_UPDATE
    );
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
            let q = sql(project_sql.as_str()).bind(row.year).bind(&row.project);
            let found = match bind_all(q, &binds).fetch_optional(&mut *tx).await? {
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
            problems.push(RowRefusal {
                line: row.line,
                why: Why::UnknownProject {
                    year: row.year,
                    project: row.project.clone(),
                    recording: Recording::Disbursement,
                },
            });
            continue;
        };
        let new = NewEntry {
            date: row.date,
            source: row.source,
            amount: row.amount,
            kind: EntryKind::Disbursement,
        };
        if let Err(r) =
            check_entry_fields(row.date, &row.voucher, &row.payee, new.kind, crate::today())
        {
            let value = match r.field {
                EntryField::Date => row.date.to_string(),
                EntryField::Voucher => row.voucher.clone(),
                EntryField::Payee => row.payee.clone(),
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
                    amount: row.amount,
                    refusal: r,
                },
            });
            continue;
        }
        if !problems.is_empty() {
            // Keep checking the rest, but write nothing more.
            ledger.push(LedgerEntry {
                id: EntryId::new(-(row.line as i64)),
                date: row.date,
                source: row.source,
                amount: row.amount,
                kind: EntryKind::Disbursement,
            });
            continue;
        }
        if ends.is_none() {
            ends = Some((
                tx.next_link(Chain::Funds).await?,
                tx.next_link(Chain::Audit).await?,
            ));
        }
        let (fund_end, audit_end) = ends.as_mut().expect("set above");
        let entry_id = tx
            .append_fund_at(
                fund_end,
                FundLink {
                    id: 0,
                    project_id: *id,
                    source: row.source.code(),
                    entry_date: row.date,
                    amount: row.amount.fen(),
                    kind: "disbursement",
                    reverses: None,
                    voucher: row.voucher.trim(),
                    payee: row.payee.trim(),
                    note: row.note.trim(),
                    override_reason: None,
                    recorded_at: at,
                    recorded_by: Some(user.id),
                },
            )
            .await?;
        ledger.push(LedgerEntry {
            id: entry_id,
            date: row.date,
            source: row.source,
            amount: row.amount,
            kind: EntryKind::Disbursement,
        });
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
                    "project_id": *id, "date": row.date, "source": row.source.code(),
                    "amount": row.amount.plain(), "kind": {"kind": "disbursement"},
                    "voucher": row.voucher.trim(), "payee": row.payee.trim(),
                    "note": row.note.trim(), "file_name": file_name, "line": row.line,
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
