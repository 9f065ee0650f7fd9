//! Errors of the store, worded for the person who has to act on them.

use fupin_domain::Problem;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("数据库错误：{0}")]
    Database(#[from] sqlx::Error),

    #[error("数据库结构升级失败：{0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),

    #[error("数据库地址「{0}」不受支持：应为 sqlite://文件路径 或 postgres://用户@主机/库名")]
    UnsupportedUrl(String),

    /// The register cannot become a version: file-level problems, a household without
    /// 户编号, villages missing from the villages file, or a bad hash.
    #[error("登记表未导入：{reason}")]
    Refused {
        reason: String,
        problems: Vec<Problem>,
    },

    #[error("用户名「{0}」已被使用，请换一个")]
    UsernameTaken(String),

    #[error("账号信息无效：{0}")]
    InvalidAccount(String),

    #[error("密码处理失败：{0}")]
    Password(String),

    /// The job an import ran for is no longer its process's: its lease passed and
    /// another process failed it. The import was rolled back.
    #[error("导入中断：任务的租约已过期，已被标记为失败，本次导入未写入任何数据，请重新上传")]
    JobLeaseLost(crate::JobId),

    /// A row that the schema should have made impossible.
    #[error("数据库中的数据无效：{0}")]
    Corrupt(String),
}

impl StoreError {
    pub(crate) fn refused(reason: impl Into<String>) -> StoreError {
        StoreError::Refused {
            reason: reason.into(),
            problems: Vec::new(),
        }
    }

    pub(crate) fn corrupt(what: impl Into<String>) -> StoreError {
        StoreError::Corrupt(what.into())
    }

    /// Policy (issue 20, 数据库不可用): the database cannot be reached — no connection
    /// (refused, reset, timed out waiting for the pool, pool closed), the server shutting
    /// down or not accepting connections (SQLSTATE 08…, 57P01–57P03), too many connections
    /// (53300), the database gone (3D000), or a SQLite file that cannot be opened
    /// (SQLITE_CANTOPEN, 14). The web answers these 503 with a retry hint, not 500.
    pub fn unreachable(&self) -> bool {
        let StoreError::Database(e) = self else {
            return false;
        };
        match e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(d) => d.code().is_some_and(|c| {
                c.starts_with("08")
                    || matches!(&*c, "57P01" | "57P02" | "57P03" | "53300" | "3D000" | "14")
            }),
            _ => false,
        }
    }
}
