//! An import run for a job holds the job's lease in its transaction.

use crate::backend::{sql, Run};
use crate::jobs::{lease_end, JobLease, RENEW_LEASE};
use crate::{Result, StoreError};

/// Renew the import's job lease in its transaction on `conn`, or end the import with
/// [`StoreError::JobLeaseLost`] (the caller rolls the transaction back) when the job is no
/// longer running for its taker. See [`crate::Store::import_register_for_job`].
pub(super) async fn hold_lease(conn: &mut impl Run, job: Option<JobLease<'_>>) -> Result<()> {
    let Some(j) = job else {
        return Ok(());
    };
    let renewed = sql(RENEW_LEASE)
        .bind(lease_end(j.lease))
        .bind(j.id)
        .bind(j.taker)
        .execute(conn)
        .await?
        .rows_affected();
    if renewed != 1 {
        return Err(StoreError::JobLeaseLost(j.id));
    }
    Ok(())
}
