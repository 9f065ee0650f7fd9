//! PostgreSQL deployment roles (README, "Deployment roles"). The triggers that keep
//! `fund_entries` and `audit_log` append-only hold only against a role that can neither
//! disable them (`ALTER TABLE … DISABLE TRIGGER` needs the table's owner) nor switch them
//! off for its session (`SET session_replication_role` needs a superuser). So two roles:
//!
//! - the migration role owns the schema and runs `fupin migrate`;
//! - the runtime role, which `fupin serve` connects as, gets from
//!   [`grant_runtime_role`]: SELECT and INSERT only on the two append-only tables, SELECT
//!   only on `chain_heads` (a SECURITY DEFINER trigger moves the heads) and on sqlx's
//!   migration table, SELECT/INSERT/UPDATE/DELETE on every other table, the sequences,
//!   and CREATE on the schema with the ownership of the register's partitioned tables.
//!
//! Why the runtime role owns the register tables (households, members, member_ids,
//! member_names, assessments, problems and their partitions): an import creates a staging
//! table per version and attaches it as a partition (crates/store/src/import.rs), and
//! ATTACH PARTITION needs the owner of both tables. A SECURITY DEFINER function owned by
//! the migration role could do it instead, but it would run DDL built from names its
//! caller passes, for every statement of the staging (CREATE, indexes, ATTACH, DROP of a
//! killed import's leftovers): a wider door than owning tables that each import replaces
//! wholesale anyway, whose every version is recorded in the audit log.

use crate::{Result, StoreError};
use sqlx::PgPool;

/// The register's partitioned tables, which the runtime role owns.
const REGISTER_TABLES: [&str; 6] = [
    "households",
    "members",
    "member_ids",
    "member_names",
    "assessments",
    "problems",
];

/// Tables the runtime role may read and append to, never change.
const APPEND_ONLY: [&str; 2] = ["fund_entries", "audit_log"];

/// Tables the runtime role may only read.
const READ_ONLY: [&str; 2] = ["chain_heads", "_sqlx_migrations"];

/// Role names, policy "a plain lowercase identifier": `[a-z_][a-z0-9_]*`, at most 63 bytes
/// (PostgreSQL's limit) — so that the name goes into the GRANT statements as it is.
pub(crate) fn valid_role_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63
}

fn refused(what: String) -> StoreError {
    StoreError::InvalidAccount(what)
}

/// Grant `role` what fupin needs at run time and nothing it must not change; refused when
/// the role does not exist, or could get past the append-only triggers anyway (a
/// superuser, a member of the tables' owner, the owner itself, one allowed to set
/// `session_replication_role`). Run as the owner of the schema, after the migrations;
/// running it again (after each upgrade: new tables) is harmless.
pub(crate) async fn grant_runtime_role(pool: &PgPool, role: &str) -> Result<()> {
    if !valid_role_name(role) {
        return Err(refused(format!(
            "运行角色名「{role}」无效：只能用小写英文字母、数字和下划线，且不以数字开头"
        )));
    }
    let found: Option<(bool, bool, bool)> = sqlx::query_as(
        "SELECT r.rolsuper, \
                pg_has_role($1, (SELECT relowner FROM pg_class \
                                 WHERE oid = 'fund_entries'::regclass), 'MEMBER'), \
                pg_has_role($1, (SELECT relowner FROM pg_class \
                                 WHERE oid = 'audit_log'::regclass), 'MEMBER') \
         FROM pg_roles r WHERE r.rolname = $1",
    )
    .bind(role)
    .fetch_optional(pool)
    .await?;
    let Some((superuser, owns_funds, owns_audit)) = found else {
        return Err(refused(format!(
            "数据库角色「{role}」不存在：请先由数据库管理员创建（CREATE ROLE {role} LOGIN PASSWORD '…'），\
             并 GRANT {role} TO 迁移角色"
        )));
    };
    if superuser {
        return Err(refused(format!(
            "「{role}」是超级用户，可以绕过一切限制：运行角色必须是普通角色"
        )));
    }
    if owns_funds || owns_audit {
        return Err(refused(format!(
            "「{role}」是资金台账或审计日志的所有者（或其成员），可以停用它们的触发器：\
             请用拥有数据库结构的迁移角色运行 fupin migrate，运行角色另设"
        )));
    }
    let version: i32 = sqlx::query_scalar("SELECT current_setting('server_version_num')::int")
        .fetch_one(pool)
        .await?;
    if version >= 150_000 {
        let may_set: bool = sqlx::query_scalar(
            "SELECT has_parameter_privilege($1, 'session_replication_role', 'SET')",
        )
        .bind(role)
        .fetch_one(pool)
        .await?;
        if may_set {
            return Err(refused(format!(
                "「{role}」被授权设置 session_replication_role，可以让触发器失效：请撤销（REVOKE SET ON PARAMETER session_replication_role FROM {role}）"
            )));
        }
    }

    let mut tx = pool.begin().await?;
    let mut statements = vec![
        format!("GRANT USAGE, CREATE ON SCHEMA public TO {role}"),
        format!("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"),
        format!("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"),
        format!(
            "REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {} FROM {role}",
            APPEND_ONLY.join(", ")
        ),
        format!(
            "REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {} FROM {role}",
            READ_ONLY.join(", ")
        ),
    ];
    let partitions: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i \
         JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent \
         WHERE p.relname = ANY($1) AND p.relnamespace = 'public'::regnamespace \
         ORDER BY 1",
    )
    .bind(REGISTER_TABLES.to_vec())
    .fetch_all(&mut *tx)
    .await?;
    for table in REGISTER_TABLES
        .iter()
        .map(std::string::ToString::to_string)
        .chain(partitions)
    {
        statements.push(format!("ALTER TABLE {table} OWNER TO {role}"));
    }
    for s in &statements {
        sqlx::query(s).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn role_names_are_plain_identifiers() {
        for ok in ["fupin_app", "_x", "app2"] {
            assert!(super::valid_role_name(ok), "{ok}");
        }
        for bad in [
            "",
            "2app",
            "App",
            "a-b",
            "a b",
            "a;drop",
            "\"x\"",
            &"a".repeat(64),
        ] {
            assert!(!super::valid_role_name(bad), "{bad}");
        }
    }
}
