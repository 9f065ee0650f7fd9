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
    JobLeaseLost(i64),

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
}
