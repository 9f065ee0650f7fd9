//! Escalation of overdue items to their task's leader (督办升级): by the headquarters, and
//! scheduled, by the system.

use super::items::{item_record, list};
use super::{
    numbered, placeholders, value_rows, ActingUser, ItemFilter, ItemScope, Step, WorkItem,
};
use crate::audit::Audit;
use crate::backend::{sql, Backend};
use crate::rows::Get;
use crate::{now, Result};
use chrono::NaiveDate;
use fupin_domain::access::{may, Action};
use fupin_domain::work_item::{Refusal, WorkAction};
use serde_json::json;
use sqlx::Pool;

/// The advisory lock key of scheduled escalations on PostgreSQL.
const ESCALATE_LOCK: i64 = 0x6675_7069_6e08;

/// What an escalation says: the deadline missed and the leader it goes to.
fn escalation_note(deadline: Option<NaiveDate>, leader: &str) -> String {
    format!(
        "逾期未办结（时限 {}），升级至责任领导{leader}督办",
        deadline.map(|d| d.to_string()).unwrap_or_default()
    )
}

/// Items escalated per transaction by the system.
const BATCH: usize = 500;

/// Escalate every overdue item not yet escalated ([`crate::Store::escalate_overdue`]).
pub(super) async fn overdue<DB: Backend>(
    pool: &Pool<DB>,
    by: &ActingUser<'_>,
    today: NaiveDate,
) -> Result<Result<u64, Refusal>> {
    if let Err(r) = may(by.actor(), Action::EscalateOverdue) {
        return Ok(Err(r));
    }
    let filter = ItemFilter {
        overdue_on: Some(today),
        ..ItemFilter::default()
    };
    let mut n = 0;
    let mut before = None;
    loop {
        let page = list(pool, &ItemScope::All, &filter, before, 500).await?;
        for i in &page.items {
            if i.escalated_at.is_some() {
                continue;
            }
            let step = Step {
                action: WorkAction::Escalate,
                note: escalation_note(i.deadline, i.leader.as_deref().unwrap_or_default()),
                percent: None,
                attachments: Vec::new(),
                close_override: None,
            };
            if let Ok(Some(_)) = super::items::act(pool, by, i.id, &step, today).await? {
                n += 1;
            }
        }
        match page.next {
            Some(k) => before = Some(k),
            None => return Ok(Ok(n)),
        }
    }
}

/// Scheduled escalation ([`crate::Store::escalate_overdue_as_system`]).
pub(super) async fn as_system<DB: Backend>(pool: &Pool<DB>, today: NaiveDate) -> Result<u64> {
    let select = format!(
        "SELECT w.id, w.state, w.deadline, t.leader FROM work_items w \
         JOIN plan_tasks t ON t.plan_id = w.plan_id AND t.task_no = w.task_no \
         WHERE w.state IN ('todo', 'in_progress') AND w.deadline < $1 \
         AND w.escalated_at IS NULL ORDER BY w.id LIMIT {BATCH}{}",
        DB::for_update_of_skip_locked("w")
    );
    let mut n = 0;
    loop {
        let at = now();
        let mut tx = DB::begin_write(pool).await?;
        if !DB::try_lock_in_transaction(&mut *tx, ESCALATE_LOCK).await? {
            // Another process is escalating; it takes what is left.
            return Ok(n);
        }
        let mut due = Vec::new();
        for r in sql(&select).bind(today).fetch_all(&mut *tx).await? {
            due.push((
                r.id::<WorkItem>("id")?,
                r.text("state")?,
                r.opt_date("deadline")?,
                r.text("leader")?,
            ));
        }
        if !due.is_empty() {
            let text = format!(
                "UPDATE work_items SET escalated_at = $1, updated_at = $1 \
                 WHERE escalated_at IS NULL AND id IN ({})",
                placeholders(numbered, 2, due.len())
            );
            let mut q = sql(&text).bind(at);
            for d in &due {
                q.push(d.0);
            }
            q.execute(&mut *tx).await?;
            let text = format!(
                "INSERT INTO work_events (item_id, at, user_id, action, from_state, \
                 to_state, note, percent) VALUES {}",
                value_rows(numbered, due.len(), 4, |p| format!(
                    "({}, {}, NULL, 'escalate', {}, {}, {}, NULL)",
                    p[0], p[1], p[2], p[2], p[3]
                ))
            );
            let mut q = sql(&text);
            for (id, state, deadline, leader) in &due {
                q.push(*id);
                q.push(at);
                q.push(state.as_str());
                q.push(escalation_note(*deadline, leader));
            }
            q.execute(&mut *tx).await?;
            for (id, state, deadline, leader) in &due {
                let before = json!({ "state": state, "deadline": deadline, "escalated_at": null });
                let after = json!({
                    "state": state, "deadline": deadline, "escalated_at": at,
                    "leader": leader, "by": "system",
                });
                tx.audit(item_record(
                    at,
                    None,
                    "work_item_escalate",
                    *id,
                    Some(before),
                    after,
                ))
                .await?;
            }
        }
        tx.commit().await?;
        n += due.len() as u64;
        if due.len() < BATCH {
            return Ok(n);
        }
    }
}
