//! Files attached to progress reports (the database holds the bytes).

use super::ItemScopeSql;
use super::{Attachment, AttachmentId, AttachmentInfo, ItemScope, NewAttachment, WorkItemId};
use crate::backend::{sql, Backend, Run};
use crate::rows::Get;
use crate::Result;
use sqlx::Pool;

/// An attachment, if its item is in the scope.
pub(super) async fn one<DB: Backend>(
    pool: &Pool<DB>,
    scope: &ItemScope,
    id: AttachmentId,
) -> Result<Option<Attachment>> {
    let (cond, values) = scope.sql("w", "unit", 2);
    let text = format!(
        "SELECT a.id, a.item_id, a.file_name, a.content_type, a.size, a.data \
         FROM work_attachments a JOIN work_items w ON w.id = a.item_id WHERE a.id = $1{cond}"
    );
    let mut q = sql(&text).bind(id);
    for v in &values {
        q.push(v);
    }
    let Some(r) = q.fetch_optional(&mut *pool.acquire().await?).await? else {
        return Ok(None);
    };
    Ok(Some(Attachment {
        info: AttachmentInfo {
            id: r.id("id")?,
            file_name: r.text("file_name")?,
            content_type: r.text("content_type")?,
            size: crate::rows::count(&r, "size")?,
        },
        item_id: r.id("item_id")?,
        data: r.bytes("data")?,
    }))
}

/// Store a file attached to event `event_id` of item `item`, in the caller's transaction.
pub(super) async fn insert(
    conn: &mut impl Run,
    event_id: i64,
    item: WorkItemId,
    a: &NewAttachment,
) -> Result<()> {
    sql(
        "INSERT INTO work_attachments (event_id, item_id, file_name, content_type, size, data) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(event_id)
    .bind(item)
    .bind(&a.file_name)
    .bind(&a.content_type)
    .bind(a.data.len() as i64)
    .bind(a.data.as_slice())
    .execute(conn)
    .await?;
    Ok(())
}
