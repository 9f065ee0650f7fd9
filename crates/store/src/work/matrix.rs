//! The responsibility matrix (责任矩阵) of a plan: its tasks with their people and counts.

use super::MatrixRow;
use crate::backend::{sql, Backend};
use crate::plan::StoredPlan;
use crate::rows::Get;
use crate::Result;
use chrono::NaiveDate;
use sqlx::Pool;
use std::collections::HashMap;

/// The responsibility matrix of a plan ([`crate::Store::responsibility_matrix`]).
pub(super) async fn of_plan<DB: Backend>(
    pool: &Pool<DB>,
    plan: &StoredPlan,
    today: NaiveDate,
) -> Result<Vec<MatrixRow>> {
    let counts = "SELECT w.task_no, \
         COALESCE(SUM(CASE WHEN w.state IN ('todo', 'in_progress') THEN 1 ELSE 0 END), 0) AS open_n, \
         COALESCE(SUM(CASE WHEN w.state IN ('todo', 'in_progress') AND w.deadline < $2 THEN 1 ELSE 0 END), 0) AS overdue, \
         COALESCE(SUM(CASE WHEN w.state = 'done' THEN 1 ELSE 0 END), 0) AS done, \
         COALESCE(SUM(CASE WHEN w.state = 'closed' THEN 1 ELSE 0 END), 0) AS closed \
         FROM work_items w JOIN plans p ON p.id = w.plan_id \
         WHERE p.year = $1 AND w.task_no IS NOT NULL GROUP BY w.task_no";
    let gaps = "SELECT task_no, COUNT(*) AS n FROM gaps WHERE open AND task_no IS NOT NULL \
                GROUP BY task_no";
    let mut conn = pool.acquire().await?;
    let mut c = HashMap::new();
    for r in sql(counts)
        .bind(i64::from(plan.plan.year))
        .bind(today)
        .fetch_all(&mut *conn)
        .await?
    {
        c.insert(
            r.int("task_no")? as u32,
            [
                crate::rows::count(&r, "open_n")?,
                crate::rows::count(&r, "overdue")?,
                crate::rows::count(&r, "done")?,
                crate::rows::count(&r, "closed")?,
            ],
        );
    }
    let mut g = HashMap::new();
    for r in sql(gaps).fetch_all(&mut *conn).await? {
        g.insert(r.int("task_no")? as u32, crate::rows::count(&r, "n")?);
    }
    let (counts, gaps) = (c, g);
    Ok(plan
        .plan
        .tasks
        .iter()
        .map(|t| {
            let c = counts.get(&t.no).copied().unwrap_or_default();
            MatrixRow {
                task_no: t.no,
                task: t.name.clone(),
                leader: t.leader.clone(),
                lead_unit: t.lead_unit.clone(),
                units: t
                    .units
                    .iter()
                    .map(|u| (u.unit.clone(), u.owner.clone()))
                    .collect(),
                deadline: t.deadline.label(),
                owns: t.owns.iter().map(|k| k.code().to_string()).collect(),
                open: c[0],
                overdue: c[1],
                done: c[2],
                closed: c[3],
                open_gaps: gaps.get(&t.no).copied().unwrap_or(0),
            }
        })
        .collect())
}
