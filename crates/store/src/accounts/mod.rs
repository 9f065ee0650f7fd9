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

mod logins;
mod passwords;
mod sessions;
mod users;

use crate::rows::Get;
use crate::{now, on_pool, Result, Store, StoreError};
use chrono::{DateTime, Duration, SubsecRound, Utc};
use passwords::{blocking, decoy_hash, hash_password, password_matches, random_token, token_hash};
use serde::Serialize;
use serde_json::json;

pub type UserId = fupin_domain::id::Id<User>;

pub use fupin_domain::access::Role;

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
        id: r.id("id")?,
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

/// The store's accounts, sessions and login throttling: `store.accounts()`.
#[derive(Clone, Copy, Debug)]
pub struct Accounts<'s>(pub(crate) &'s Store);

impl Accounts<'_> {
    /// Create an account; `by` is the admin who creates it (None from the command line).
    /// Audited (`create_user`, without the password hash).
    pub async fn create_user(self, new: &NewUser, by: Option<UserId>) -> Result<User> {
        new.check()?;
        let password = new.password.clone();
        let phc = blocking(move || hash_password(&password)).await??;
        let insert = || users::Insert {
            username: &new.username,
            phc: &phc,
            role: new.role.word(),
            names: new.role.names(),
            at: now(),
            by,
        };
        on_pool!(self.0, pool => users::create(pool, insert()).await)
    }

    /// The account if the password is right and the account is not disabled; None for a
    /// wrong password, an unknown username or a disabled account (all take the time of
    /// one argon2 check). Failed attempts are the caller's to record
    /// ([`Store::record_failed_login`]).
    pub async fn verify_password(self, username: &str, password: &str) -> Result<Option<User>> {
        let found = on_pool!(self.0, pool => users::with_hash(pool, username).await)?;
        let (account, phc) = match found {
            Some((u, phc)) => (Some(u), phc),
            None => (None, decoy_hash().to_string()),
        };
        let password = password.to_string();
        let ok = blocking(move || password_matches(&password, &phc)).await?;
        Ok(account.filter(|u| ok && u.disabled_at.is_none()))
    }

    /// An account by id.
    pub async fn user(self, id: UserId) -> Result<Option<User>> {
        on_pool!(self.0, pool => users::by_id(pool, id).await)
    }

    /// Disable an account (`disabled` true) or enable it again, by the admin `by`: a
    /// disabled account's sessions end at once and it cannot log in. Audited
    /// (`disable_user`, `enable_user`, with the account before and after). The account
    /// as it is now, or None if there is no such account; nothing is written when it
    /// already was so.
    pub async fn set_user_disabled(
        self,
        id: UserId,
        disabled: bool,
        by: Option<UserId>,
    ) -> Result<Option<User>> {
        let at = now();
        on_pool!(self.0, pool => users::set_disabled(pool, id, disabled, at, by).await)
    }

    /// Give an account a new password (the admin `by` resets a forgotten one): its
    /// sessions end, so whoever knew the old one is logged out. Audited
    /// (`reset_password`; no hash is written to the log). False if there is no such
    /// account.
    pub async fn reset_password(
        self,
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
        on_pool!(self.0, pool => users::set_password(pool, &account, &phc, at, by).await)
    }

    /// Every account, by username.
    pub async fn users(self) -> Result<Vec<User>> {
        on_pool!(self.0, pool => users::all(pool).await)
    }

    /// Start a session for `user`, valid for `ttl`. Audited (`create_session`).
    pub async fn create_session(self, user: UserId, ttl: Duration) -> Result<NewSession> {
        let token = random_token()?;
        let csrf_token = random_token()?;
        let hash = token_hash(&token);
        let created_at = now();
        let expires_at = (created_at + ttl).trunc_subsecs(6);
        let insert = || sessions::Insert {
            hash: &hash,
            user,
            created_at,
            expires_at,
            csrf_token: &csrf_token,
        };
        on_pool!(self.0, pool => sessions::create(pool, insert()).await)?;
        Ok(NewSession {
            token,
            csrf_token,
            expires_at,
        })
    }

    /// The session of a token, unless it is unknown or expired.
    pub async fn session(self, token: &str) -> Result<Option<Session>> {
        let hash = token_hash(token);
        on_pool!(self.0, pool => sessions::by_hash(pool, &hash).await)
    }

    /// End a session (log out). True if it existed. Audited (`delete_session`).
    pub async fn delete_session(self, token: &str) -> Result<bool> {
        let hash = token_hash(token);
        on_pool!(self.0, pool => sessions::delete(pool, &hash).await)
    }

    /// Remove sessions that expired (housekeeping; not audited, as nobody acted). Returns
    /// how many.
    pub async fn delete_expired_sessions(self) -> Result<u64> {
        on_pool!(self.0, pool => sessions::delete_expired(pool).await)
    }

    /// Note a failed login for `username` (whether or not the account exists).
    pub async fn record_failed_login(self, username: &str) -> Result<()> {
        on_pool!(self.0, pool => logins::record_failure(pool, username).await)
    }

    /// Failed logins for `username` since a time: the caller refuses to check passwords
    /// past a limit within its window.
    pub async fn recent_failures(self, username: &str, since: DateTime<Utc>) -> Result<u64> {
        on_pool!(self.0, pool => logins::failures_since(pool, username, since).await)
    }

    /// Forget failed logins before a time (housekeeping), or all of a username's after
    /// a successful login. Returns how many rows went.
    pub async fn clear_failed_logins(
        self,
        username: Option<&str>,
        before: DateTime<Utc>,
    ) -> Result<u64> {
        on_pool!(self.0, pool => logins::clear(pool, username, before).await)
    }
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
}
