//! Accounts, sessions and login throttling, all in the database so that any server
//! process serves any session.
//!
//! Passwords are stored as argon2id PHC strings and checked with argon2's verification
//! (constant-time comparison), off the async threads. A session token is 256 random bits
//! handed to the browser once; the database keeps only its SHA-256, so a copy of the
//! database does not let anyone in.
//!
//! Accounts are never deleted (the audit log names them): an admin disables one, which
//! ends its sessions and refuses its logins, and may enable it again.

use crate::audit::{Audit, Record};
use crate::rows::{BeginWrite, Get};
use crate::{now, on_pool, Result, Store, StoreError};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

pub type UserId = i64;

/// What a user does, and where: the role decides what they may change, and its area
/// decides what they may read ([`crate::Scope::of`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Role {
    /// 县扶贫办（指挥部）管理员: everything, accounts and imports included.
    HqAdmin,
    /// 县领导: reads the whole county.
    CountyLeader,
    /// 行业部门（单位）工作人员: reads the whole register (read-only for now).
    UnitStaff { unit: String },
    /// 乡镇工作人员: one township.
    TownshipStaff { township: String },
    /// 村级工作人员: one village.
    VillageStaff { township: String, village: String },
    /// 督查/考核人员: reads the whole county, changes nothing.
    Inspector,
}

impl Role {
    pub const WORDS: [&'static str; 6] = [
        "hq_admin",
        "county_leader",
        "unit_staff",
        "township_staff",
        "village_staff",
        "inspector",
    ];

    /// The machine word stored in the database: `township_staff`.
    pub fn word(&self) -> &'static str {
        match self {
            Role::HqAdmin => "hq_admin",
            Role::CountyLeader => "county_leader",
            Role::UnitStaff { .. } => "unit_staff",
            Role::TownshipStaff { .. } => "township_staff",
            Role::VillageStaff { .. } => "village_staff",
            Role::Inspector => "inspector",
        }
    }

    pub fn chinese(&self) -> &'static str {
        match self {
            Role::HqAdmin => "指挥部管理员",
            Role::CountyLeader => "县领导",
            Role::UnitStaff { .. } => "行业部门工作人员",
            Role::TownshipStaff { .. } => "乡镇工作人员",
            Role::VillageStaff { .. } => "村级工作人员",
            Role::Inspector => "督查人员",
        }
    }

    /// A role from its word and the names that go with it (a form, the command line, a
    /// database row). Names are trimmed; a name the role does not use must be absent.
    pub fn parse(
        word: &str,
        township: Option<&str>,
        village: Option<&str>,
        unit: Option<&str>,
    ) -> Result<Role, String> {
        fn name(v: Option<&str>) -> Option<&str> {
            v.map(str::trim).filter(|s| !s.is_empty())
        }
        let (township, village, unit) = (name(township), name(village), name(unit));
        let need = |v: Option<&str>, what: &str| {
            v.map(str::to_string)
                .ok_or_else(|| format!("角色 {word} 需要填写{what}"))
        };
        let role = match word {
            "hq_admin" => Role::HqAdmin,
            "county_leader" => Role::CountyLeader,
            "inspector" => Role::Inspector,
            "unit_staff" => Role::UnitStaff {
                unit: need(unit, "单位")?,
            },
            "township_staff" => Role::TownshipStaff {
                township: need(township, "乡镇")?,
            },
            "village_staff" => Role::VillageStaff {
                township: need(township, "乡镇")?,
                village: need(village, "行政村")?,
            },
            _ => {
                return Err(format!(
                    "未知角色「{word}」：应为 {}",
                    Role::WORDS.join("、")
                ))
            }
        };
        let (t, v, u) = role.names();
        if (township.is_some() && t.is_none())
            || (village.is_some() && v.is_none())
            || (unit.is_some() && u.is_none())
        {
            return Err(format!(
                "角色 {word} 不应填写{}",
                [
                    (township, t, "乡镇"),
                    (village, v, "行政村"),
                    (unit, u, "单位")
                ]
                .iter()
                .filter(|(given, used, _)| given.is_some() && used.is_none())
                .map(|x| x.2)
                .collect::<Vec<_>>()
                .join("、")
            ));
        }
        Ok(role)
    }

    /// (township, village, unit) as stored.
    pub fn names(&self) -> (Option<&str>, Option<&str>, Option<&str>) {
        match self {
            Role::UnitStaff { unit } => (None, None, Some(unit)),
            Role::TownshipStaff { township } => (Some(township), None, None),
            Role::VillageStaff { township, village } => (Some(township), Some(village), None),
            _ => (None, None, None),
        }
    }

    /// Read-only roles change nothing.
    pub fn read_only(&self) -> bool {
        matches!(self, Role::Inspector | Role::UnitStaff { .. })
    }
}

/// An account, without its password hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    /// When an admin disabled it; a disabled account cannot log in.
    pub disabled_at: Option<DateTime<Utc>>,
}

/// An account to create.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub role: Role,
}

/// A session as the server sees it on each request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub user: User,
    /// To be sent with every form and compared (in constant time) by the server.
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A session just created: the token goes into the cookie and is never seen again.
#[derive(Clone, Debug)]
pub struct NewSession {
    pub token: String,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// The password rules, as a form shows them.
pub const PASSWORD_RULES: &str =
    "至少8个字符，含字母、数字、其他字符（汉字、符号）中的至少两类，且不能与用户名相同";

/// Whether a password may be given to an account: see [`PASSWORD_RULES`].
pub fn check_password(username: &str, password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!("密码至少{MIN_PASSWORD_CHARS}个字符"));
    }
    if password == username {
        return Err("密码不能与用户名相同".into());
    }
    let letters = password.chars().any(|c| c.is_ascii_alphabetic());
    let digits = password.chars().any(|c| c.is_ascii_digit());
    let others = password.chars().any(|c| !c.is_ascii_alphanumeric());
    if [letters, digits, others].iter().filter(|&&k| k).count() < 2 {
        return Err("密码应含字母、数字、其他字符（汉字、符号）中的至少两类".into());
    }
    Ok(())
}

const USER_COLUMNS: &str = "id, username, role, township, village, unit, created_at, disabled_at";

fn user(r: &impl Get) -> Result<User> {
    let word = r.text("role")?;
    let (township, village, unit) = (
        r.opt_text("township")?,
        r.opt_text("village")?,
        r.opt_text("unit")?,
    );
    let role = Role::parse(
        &word,
        township.as_deref(),
        village.as_deref(),
        unit.as_deref(),
    )
    .map_err(StoreError::corrupt)?;
    Ok(User {
        id: r.int("id")?,
        username: r.text("username")?,
        role,
        created_at: r.time("created_at")?,
        disabled_at: r.opt_time("disabled_at")?,
    })
}

fn user_json(u: &User) -> serde_json::Value {
    let (township, village, unit) = u.role.names();
    json!({
        "id": u.id,
        "username": u.username,
        "role": u.role.word(),
        "township": township,
        "village": village,
        "unit": unit,
        "disabled": u.disabled_at.is_some(),
    })
}

/// 256 random bits as 64 hex digits.
fn random_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| StoreError::Password(e.to_string()))?;
    Ok(hex(&bytes))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// What the database keeps of a session token.
fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// An argon2id PHC string for a password (argon2's defaults: 19 MiB, 2 passes).
fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|e| StoreError::Password(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| StoreError::Password(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Password(e.to_string()))
}

/// Whether a password matches a PHC string; the parameters come from the string.
fn password_matches(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash no password is known for: checked when the username does not exist, so that
/// a wrong username takes as long as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        random_token()
            .and_then(|t| hash_password(&t))
            .unwrap_or_default()
    })
}

/// Run CPU-heavy password work off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Password(e.to_string()))
}

impl NewUser {
    fn check(&self) -> Result<()> {
        let name = &self.username;
        if name.trim() != name || name.is_empty() || name.chars().count() > 64 {
            return Err(StoreError::InvalidAccount(
                "用户名应为1到64个字符，首尾不能有空格".into(),
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(StoreError::InvalidAccount("用户名不能含控制字符".into()));
        }
        check_password(name, &self.password).map_err(StoreError::InvalidAccount)
    }
}

impl Store {
    /// Create an account; `by` is the admin who creates it (None from the command line).
    /// Audited (`create_user`, without the password hash).
    pub async fn create_user(&self, new: &NewUser, by: Option<UserId>) -> Result<User> {
        new.check()?;
        let password = new.password.clone();
        let phc = blocking(move || hash_password(&password)).await??;
        let (township, village, unit) = new.role.names();
        let at = now();
        let sql = format!(
            "INSERT INTO users (username, password_hash, role, township, village, unit, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {USER_COLUMNS}"
        );
        let created = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let row = sqlx::query(&sql)
                .bind(&new.username)
                .bind(&phc)
                .bind(new.role.word())
                .bind(township)
                .bind(village)
                .bind(unit)
                .bind(at)
                .fetch_one(&mut *tx)
                .await;
            let row = match row {
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    return Err(StoreError::UsernameTaken(new.username.clone()))
                }
                r => r?,
            };
            let created = user(&row)?;
            tx.audit(Record {
                at,
                user: by,
                action: "create_user",
                entity: "user",
                entity_id: created.id.to_string(),
                before: None,
                after: Some(user_json(&created)),
            })
            .await?;
            tx.commit().await?;
            created
        });
        Ok(created)
    }

    /// The account if the password is right and the account is not disabled; None for a
    /// wrong password, an unknown username or a disabled account (all take the time of
    /// one argon2 check). Failed attempts are the caller's to record
    /// ([`Store::record_failed_login`]).
    pub async fn verify_password(&self, username: &str, password: &str) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE username = $1");
        let found = on_pool!(self, pool => {
            match sqlx::query(&sql).bind(username).fetch_optional(pool).await? {
                Some(r) => Some((user(&r)?, r.text("password_hash")?)),
                None => None,
            }
        });
        let (account, phc) = match found {
            Some((u, phc)) => (Some(u), phc),
            None => (None, decoy_hash().to_string()),
        };
        let password = password.to_string();
        let ok = blocking(move || password_matches(&password, &phc)).await?;
        Ok(account.filter(|u| ok && u.disabled_at.is_none()))
    }

    /// An account by id.
    pub async fn user(&self, id: UserId) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        Ok(on_pool!(self, pool => {
            match sqlx::query(&sql).bind(id).fetch_optional(pool).await? {
                Some(r) => Some(user(&r)?),
                None => None,
            }
        }))
    }

    /// Disable an account (`disabled` true) or enable it again, by the admin `by`: a
    /// disabled account's sessions end at once and it cannot log in. Audited
    /// (`disable_user`, `enable_user`, with the account before and after). The account
    /// as it is now, or None if there is no such account; nothing is written when it
    /// already was so.
    pub async fn set_user_disabled(
        &self,
        id: UserId,
        disabled: bool,
        by: Option<UserId>,
    ) -> Result<Option<User>> {
        let at = now();
        let select = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let update =
            format!("UPDATE users SET disabled_at = $1 WHERE id = $2 RETURNING {USER_COLUMNS}");
        Ok(on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let Some(r) = sqlx::query(&select).bind(id).fetch_optional(&mut *tx).await? else {
                return Ok(None);
            };
            let before = user(&r)?;
            if before.disabled_at.is_some() == disabled {
                return Ok(Some(before));
            }
            let r = sqlx::query(&update)
                .bind(disabled.then_some(at))
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            let after = user(&r)?;
            if disabled {
                sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.audit(Record {
                at,
                user: by,
                action: if disabled { "disable_user" } else { "enable_user" },
                entity: "user",
                entity_id: id.to_string(),
                before: Some(user_json(&before)),
                after: Some(user_json(&after)),
            })
            .await?;
            tx.commit().await?;
            Some(after)
        }))
    }

    /// Give an account a new password (the admin `by` resets a forgotten one): its
    /// sessions end, so whoever knew the old one is logged out. Audited
    /// (`reset_password`; no hash is written to the log). False if there is no such
    /// account.
    pub async fn reset_password(
        &self,
        id: UserId,
        password: &str,
        by: Option<UserId>,
    ) -> Result<bool> {
        let Some(account) = self.user(id).await? else {
            return Ok(false);
        };
        check_password(&account.username, password).map_err(StoreError::InvalidAccount)?;
        let password = password.to_string();
        let phc = blocking(move || hash_password(&password)).await??;
        let at = now();
        let sql = "UPDATE users SET password_hash = $1 WHERE id = $2";
        Ok(on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let changed = sqlx::query(sql)
                .bind(&phc)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if changed != 1 {
                return Ok(false);
            }
            let ended = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.audit(Record {
                at,
                user: by,
                action: "reset_password",
                entity: "user",
                entity_id: id.to_string(),
                before: None,
                after: Some(json!({ "username": account.username, "sessions_ended": ended })),
            })
            .await?;
            tx.commit().await?;
            true
        }))
    }

    /// Every account, by username.
    pub async fn users(&self) -> Result<Vec<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY username");
        Ok(on_pool!(self, pool => {
            let rows = sqlx::query(&sql).fetch_all(pool).await?;
            rows.iter().map(user).collect::<Result<Vec<_>>>()?
        }))
    }

    /// Start a session for `user`, valid for `ttl`. Audited (`create_session`).
    pub async fn create_session(&self, user: UserId, ttl: Duration) -> Result<NewSession> {
        let token = random_token()?;
        let csrf_token = random_token()?;
        let hash = token_hash(&token);
        let created_at = now();
        let expires_at = (created_at + ttl).trunc_subsecs(6);
        let sql = "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, csrf_token) \
                   VALUES ($1, $2, $3, $4, $5)";
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query(sql)
                .bind(&hash)
                .bind(user)
                .bind(created_at)
                .bind(expires_at)
                .bind(&csrf_token)
                .execute(&mut *tx)
                .await?;
            tx.audit(Record {
                at: created_at,
                user: Some(user),
                action: "create_session",
                entity: "session",
                entity_id: session_id(&hash),
                before: None,
                after: Some(json!({ "user_id": user, "expires_at": expires_at })),
            })
            .await?;
            tx.commit().await?;
        });
        Ok(NewSession {
            token,
            csrf_token,
            expires_at,
        })
    }

    /// The session of a token, unless it is unknown or expired.
    pub async fn session(&self, token: &str) -> Result<Option<Session>> {
        let sql = "SELECT u.id, u.username, u.role, u.township, u.village, u.unit, u.created_at, \
                   u.disabled_at, s.csrf_token, s.created_at AS session_created, s.expires_at \
                   FROM sessions s JOIN users u ON u.id = s.user_id \
                   WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL";
        let hash = token_hash(token);
        Ok(on_pool!(self, pool => {
            match sqlx::query(sql).bind(&hash).bind(now()).fetch_optional(pool).await? {
                Some(r) => Some(Session {
                    user: user(&r)?,
                    csrf_token: r.text("csrf_token")?,
                    created_at: r.time("session_created")?,
                    expires_at: r.time("expires_at")?,
                }),
                None => None,
            }
        }))
    }

    /// End a session (log out). True if it existed. Audited (`delete_session`).
    pub async fn delete_session(&self, token: &str) -> Result<bool> {
        let hash = token_hash(token);
        let sql = "DELETE FROM sessions WHERE token_hash = $1 RETURNING user_id, expires_at";
        Ok(on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let Some(r) = sqlx::query(sql).bind(&hash).fetch_optional(&mut *tx).await? else {
                return Ok(false);
            };
            let user = r.int("user_id")?;
            tx.audit(Record {
                at: now(),
                user: Some(user),
                action: "delete_session",
                entity: "session",
                entity_id: session_id(&hash),
                before: Some(json!({ "user_id": user, "expires_at": r.time("expires_at")? })),
                after: None,
            })
            .await?;
            tx.commit().await?;
            true
        }))
    }

    /// Remove sessions that expired (housekeeping; not audited, as nobody acted). Returns
    /// how many.
    pub async fn delete_expired_sessions(&self) -> Result<u64> {
        let sql = "DELETE FROM sessions WHERE expires_at <= $1";
        Ok(on_pool!(self, pool => {
            sqlx::query(sql).bind(now()).execute(pool).await?.rows_affected()
        }))
    }

    /// Note a failed login for `username` (whether or not the account exists).
    pub async fn record_failed_login(&self, username: &str) -> Result<()> {
        let sql = "INSERT INTO login_failures (username, at) VALUES ($1, $2)";
        on_pool!(self, pool => {
            sqlx::query(sql).bind(username).bind(now()).execute(pool).await?;
        });
        Ok(())
    }

    /// Failed logins for `username` since a time: the caller refuses to check passwords
    /// past a limit within its window.
    pub async fn recent_failures(&self, username: &str, since: DateTime<Utc>) -> Result<u64> {
        let sql = "SELECT COUNT(*) AS n FROM login_failures WHERE username = $1 AND at >= $2";
        Ok(on_pool!(self, pool => {
            let r = sqlx::query(sql).bind(username).bind(since).fetch_one(pool).await?;
            crate::rows::count(&r, "n")?
        }))
    }

    /// Forget failed logins before a time (housekeeping), or all of a username's after
    /// a successful login. Returns how many rows went.
    pub async fn clear_failed_logins(
        &self,
        username: Option<&str>,
        before: DateTime<Utc>,
    ) -> Result<u64> {
        let sql = "DELETE FROM login_failures WHERE ($1 IS NULL OR username = $1) AND at < $2";
        Ok(on_pool!(self, pool => {
            sqlx::query(sql)
                .bind(username)
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }
}

/// How a session is named in the audit log: a prefix of its token's hash (the hash itself
/// finds the session, so it is not written out whole).
fn session_id(hash: &str) -> String {
    hash[..16].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_with_their_names_only() {
        assert_eq!(
            Role::parse("township_staff", Some(" 示例一乡 "), None, None),
            Ok(Role::TownshipStaff {
                township: "示例一乡".into()
            })
        );
        assert!(Role::parse("township_staff", None, None, None).is_err());
        assert!(Role::parse("village_staff", Some("示例一乡"), None, None).is_err());
        assert!(Role::parse("hq_admin", Some("示例一乡"), None, None).is_err());
        assert!(Role::parse("admin", None, None, None).is_err());
        for w in Role::WORDS {
            let r = Role::parse(w, Some("t"), Some("v"), None)
                .or_else(|_| Role::parse(w, Some("t"), None, None))
                .or_else(|_| Role::parse(w, None, None, Some("u")))
                .or_else(|_| Role::parse(w, None, None, None))
                .unwrap();
            assert_eq!(r.word(), w);
        }
    }

    #[test]
    fn passwords_hash_as_argon2id_and_verify() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$"), "{phc}");
        assert!(password_matches("correct horse", &phc));
        assert!(!password_matches("correct horsf", &phc));
        assert!(!password_matches("correct horse", "not a hash"));
    }

    #[test]
    fn tokens_are_256_bits_and_stored_hashed() {
        let t = random_token().unwrap();
        assert_eq!(t.len(), 64);
        assert_ne!(t, random_token().unwrap());
        assert_eq!(token_hash(&t).len(), 64);
        assert_ne!(token_hash(&t), t);
    }
}
