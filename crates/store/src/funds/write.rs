//! What the writes about projects share: a project read in the write's own transaction
//! when it is in the user's scope, and a file row's project found by 年度 and 项目名称.

use super::rows::{bind_all, project_scope};
use super::ProjectId;
use crate::accounts::User;
use crate::backend::{sql, Backend, Run};
use crate::work::ItemScope;
use crate::Result;
use fupin_domain::funds_rows::{Recording, RowRefusal, Why};
use sqlx::{Pool, Transaction};

/// A write by `user` about project `project`.
#[derive(Clone, Copy)]
pub(super) struct ProjectWrite<'a> {
    pub user: &'a User,
    pub project: ProjectId,
}

impl ProjectWrite<'_> {
    /// Begin a write transaction on `pool` and read the project's `columns` (of `projects
    /// p`) in it, its row locked until the transaction ends when `lock`
    /// ([`Backend::FOR_UPDATE`]). None (nothing begun) when the project is not in the
    /// user's scope.
    pub async fn begin<DB: Backend>(
        self,
        pool: &Pool<DB>,
        columns: &str,
        lock: bool,
    ) -> Result<Option<(Transaction<'static, DB>, <DB::Connection as Run>::Row)>> {
        let scope = ItemScope::of(&self.user.role);
        let (cond, binds) = project_scope(&scope, 2);
        let select = format!(
            "SELECT {columns} FROM projects p WHERE p.id = $1{cond}{}",
            for_update::<DB>(lock)
        );
        let mut tx = DB::begin_write(pool).await?;
        let row = bind_all(sql(select).bind(self.project), &binds)
            .fetch_optional(&mut *tx)
            .await?;
        Ok(row.map(|r| (tx, r)))
    }
}

/// A file row's project by 年度 and 项目名称, among the projects in a user's scope.
pub(super) struct ProjectByName {
    select: String,
    binds: Vec<String>,
}

impl ProjectByName {
    /// The project's `columns` (of `projects p`), its row locked until the transaction
    /// ends when `lock`.
    pub fn new<DB: Backend>(user: &User, columns: &str, lock: bool) -> ProjectByName {
        let (cond, binds) = project_scope(&ItemScope::of(&user.role), 3);
        let select = format!(
            "SELECT {columns} FROM projects p WHERE p.year = $1 AND p.name = $2{cond}{}",
            for_update::<DB>(lock)
        );
        ProjectByName { select, binds }
    }

    /// The project of `year` named `name`, if it is in scope.
    pub async fn find<C: Run>(
        &self,
        conn: &mut C,
        year: i32,
        name: &str,
    ) -> Result<Option<C::Row>> {
        let q = sql(self.select.as_str()).bind(year).bind(name);
        Ok(bind_all(q, &self.binds).fetch_optional(conn).await?)
    }
}

/// Row `line`'s refusal when the user has no project of `year` named `project` to
/// record `recording` for.
pub(super) fn unknown_project(
    line: u64,
    year: i32,
    project: &str,
    recording: Recording,
) -> RowRefusal {
    RowRefusal {
        line,
        why: Why::UnknownProject {
            year,
            project: project.to_string(),
            recording,
        },
    }
}

/// What locks the rows a `SELECT` reads when `lock`.
fn for_update<DB: Backend>(lock: bool) -> &'static str {
    if lock {
        DB::FOR_UPDATE
    } else {
        ""
    }
}
