//! An item's history (`work_events`): writing an event, the system's moves of an item,
//! and reading the history with its attachments.

use super::items::item_record;
use super::{AttachmentInfo, WorkEvent, WorkItemId};
use crate::accounts::UserId;
use crate::audit::Audit;
use crate::backend::{sql, Backend, Run};
use crate::rows::Get;
use crate::{Result, StoreError};
use chrono::{DateTime, Utc};
use fupin_domain::work_item::WorkState;
use serde_json::json;
use sqlx::Pool;

/// Write an item's event; returns its id.
#[allow(clippy::too_many_arguments)]
pub(super) async fn event(
    conn: &mut impl Run,
    item: WorkItemId,
    at: DateTime<Utc>,
    user: Option<UserId>,
    action: &str,
    from: &str,
    to: &str,
    note: &str,
    percent: Option<i64>,
) -> Result<i64> {
    let r = sql(
        "INSERT INTO work_events (item_id, at, user_id, action, from_state, to_state, note, \
         percent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(item)
    .bind(at)
    .bind(user)
    .bind(action)
    .bind(from)
    .bind(to)
    .bind(note)
    .bind(percent)
    .fetch_one(conn)
    .await?;
    Ok(r.int("id")?)
}

/// Set an item's state (a system move: done and closed are at 100%).
async fn set_state(
    conn: &mut impl Run,
    item: WorkItemId,
    to: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    sql("UPDATE work_items SET state = $2, updated_at = $3, \
         progress = CASE WHEN $2 IN ('done', 'closed') THEN 100 ELSE progress END WHERE id = $1")
    .bind(item)
    .bind(to)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Moving an item by the system (a reassessment): state, event and audit row.
#[allow(clippy::too_many_arguments)]
pub(super) async fn move_item<DB: Backend>(
    conn: &mut DB::Connection,
    item: WorkItemId,
    from: &str,
    to: &str,
    action: &str,
    note: &str,
    user: Option<UserId>,
    at: DateTime<Utc>,
) -> Result<i64> {
    set_state(&mut *conn, item, to, at).await?;
    let id = event(&mut *conn, item, at, user, action, from, to, note, None).await?;
    let action = format!("work_item_{action}");
    let (before, after) = (
        json!({ "state": from }),
        json!({ "state": to, "note": note }),
    );
    conn.audit(item_record(at, user, &action, item, Some(before), after))
        .await?;
    Ok(id)
}

/// An item's history, oldest first, with its attachments (without their bytes).
pub(super) async fn history<DB: Backend>(
    pool: &Pool<DB>,
    id: WorkItemId,
) -> Result<Vec<WorkEvent>> {
    let events = "SELECT e.id, e.at, u.username, e.action, e.from_state, e.to_state, e.note, \
                  e.percent FROM work_events e LEFT JOIN users u ON u.id = e.user_id \
                  WHERE e.item_id = $1 ORDER BY e.id";
    let files = "SELECT id, event_id, file_name, content_type, size FROM work_attachments \
                 WHERE item_id = $1 ORDER BY id";
    let mut conn = pool.acquire().await?;
    let mut out = Vec::new();
    for r in sql(events).bind(id).fetch_all(&mut *conn).await? {
        let state = |c: &str| -> Result<WorkState> {
            let s = r.text(c)?;
            WorkState::parse(&s).ok_or_else(|| StoreError::corrupt(format!("事项状态「{s}」")))
        };
        out.push(WorkEvent {
            id: r.int("id")?,
            at: r.time("at")?,
            username: r.opt_text("username")?,
            action: r.text("action")?,
            from_state: state("from_state")?,
            to_state: state("to_state")?,
            note: r.text("note")?,
            percent: r.opt_int("percent")?.map(|p| p.clamp(0, 100) as u8),
            attachments: Vec::new(),
        });
    }
    for r in sql(files).bind(id).fetch_all(&mut *conn).await? {
        let event_id = r.int("event_id")?;
        if let Some(e) = out.iter_mut().find(|e| e.id == event_id) {
            e.attachments.push(AttachmentInfo {
                id: r.id("id")?,
                file_name: r.text("file_name")?,
                content_type: r.text("content_type")?,
                size: crate::rows::count(&r, "size")?,
            });
        }
    }
    Ok(out)
}
