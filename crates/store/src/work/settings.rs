//! The county's gap settings (`gap_settings`): the incidence threshold.

use crate::audit::{Audit, Record};
use crate::backend::{sql, Backend, Run};
use crate::{now, Result};
use serde_json::json;
use sqlx::Pool;

/// The county's incidence threshold for INCIDENCE gaps, in basis points, read on `conn`
/// (a refresh reads it in its own transaction).
pub(super) async fn incidence_threshold(conn: &mut impl Run) -> Result<u64> {
    let r = sql("SELECT incidence_threshold_bp FROM gap_settings WHERE id = 1")
        .fetch_one(conn)
        .await?;
    Ok(crate::rows::count(&r, "incidence_threshold_bp")?)
}

/// Set the incidence threshold, audited when it changes.
pub(super) async fn set_incidence_threshold<DB: Backend>(pool: &Pool<DB>, bp: u64) -> Result<()> {
    let at = now();
    let mut tx = DB::begin_write(pool).await?;
    let before = incidence_threshold(&mut *tx).await?;
    if before != bp {
        sql("UPDATE gap_settings SET incidence_threshold_bp = $1 WHERE id = 1")
            .bind(bp as i64)
            .execute(&mut *tx)
            .await?;
        tx.audit(Record {
            at,
            user: None,
            action: "set_incidence_threshold",
            entity: "gap_settings",
            entity_id: "1".into(),
            before: Some(json!({ "incidence_threshold_bp": before })),
            after: Some(json!({ "incidence_threshold_bp": bp })),
        })
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
