//! The hash chains of the two append-only tables, `fund_entries` and `audit_log`
//! (migration 0014). Each row carries `prev_hash`, the hash of the row before it (64 zeros
//! before the first), and `hash`, SHA-256 over a canonical encoding of its own fields and
//! `prev_hash`. A row rewritten in the database — by someone who dropped or disabled the
//! triggers — no longer matches its hash, and a row deleted or inserted breaks the link of
//! the row after it; [`Store::verify_chains`] (`fupin verify`) finds the first such link.
//!
//! Appending: the store reads the chain's end (`chain_heads`: last id and hash; on
//! PostgreSQL, where the head moves once per transaction, the newer of it and the table's
//! last row) and writes the next row with id = last id + 1 and its hash; triggers refuse a
//! row that does not follow, and move the head. On PostgreSQL the append takes an advisory lock
//! held to the end of the transaction, so that several servers append one at a time (on
//! SQLite the write transaction's lock does that already). One lock serves both chains, so
//! a transaction that writes to both cannot deadlock against another.
//!
//! Rows stored before migration 0014 are chained once, by [`seal`] right after the
//! migrations (`Store::migrate`): in id order, from the head of 64 zeros.

use crate::audit::AuditLog;
use crate::backend::{sql, Backend, Run};
use crate::rows::Get;
use crate::Store;
use crate::{on_pool, Result, StoreError};
use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use fupin_domain::funds::EntryId;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::Pool;

/// The `prev_hash` of a chain's first row.
pub(crate) const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The advisory lock of chain appends on PostgreSQL (both chains), held to the end of the
/// appending transaction.
const CHAIN_LOCK: i64 = 0x6675_7069_6e14;

/// Rows read per statement while verifying or sealing.
const BATCH: i64 = 5_000;

/// The two chained tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Chain {
    Funds,
    Audit,
}

impl Chain {
    pub(crate) fn table(self) -> &'static str {
        match self {
            Chain::Funds => "fund_entries",
            Chain::Audit => "audit_log",
        }
    }

    /// The columns a row's hash covers, as `verify` and `seal` read them.
    fn columns(self) -> &'static str {
        match self {
            Chain::Funds => {
                "id, project_id, source, entry_date, amount, kind, reverses, voucher, payee, \
                 note, override_reason, recorded_at, recorded_by, prev_hash, hash"
            }
            Chain::Audit => {
                "id, at, user_id, action, entity, entity_id, before_json, after_json, \
                 prev_hash, hash"
            }
        }
    }

    /// The hash of a row as read back, given the hash of the row before it.
    fn hash_of(self, r: &impl Get, prev: &str) -> Result<String> {
        Ok(match self {
            Chain::Funds => FundLink {
                id: r.int("id")?,
                project_id: r.id("project_id")?,
                source: &r.text("source")?,
                entry_date: r
                    .opt_date("entry_date")?
                    .ok_or_else(|| StoreError::corrupt("拨付日期为空"))?,
                amount: r.int("amount")?,
                kind: &r.text("kind")?,
                reverses: r.opt_id("reverses")?,
                voucher: &r.text("voucher")?,
                payee: &r.text("payee")?,
                note: &r.text("note")?,
                override_reason: r.opt_text("override_reason")?.as_deref(),
                recorded_at: r.time("recorded_at")?,
                recorded_by: r.opt_id("recorded_by")?,
            }
            .hash(prev),
            Chain::Audit => AuditLink {
                id: r.int("id")?,
                at: r.time("at")?,
                user_id: r.opt_id("user_id")?,
                action: &r.text("action")?,
                entity: &r.text("entity")?,
                entity_id: &r.text("entity_id")?,
                before: r.opt_json("before_json")?.as_ref(),
                after: r.opt_json("after_json")?.as_ref(),
            }
            .hash(prev),
        })
    }
}

/// A fund entry's fields as its hash covers them.
pub(crate) struct FundLink<'a> {
    pub id: i64,
    pub project_id: crate::ProjectId,
    pub source: &'a str,
    pub entry_date: NaiveDate,
    pub amount: i64,
    pub kind: &'a str,
    pub reverses: Option<EntryId>,
    pub voucher: &'a str,
    pub payee: &'a str,
    pub note: &'a str,
    pub override_reason: Option<&'a str>,
    pub recorded_at: DateTime<Utc>,
    pub recorded_by: Option<crate::UserId>,
}

impl FundLink<'_> {
    pub(crate) fn hash(&self, prev: &str) -> String {
        let fields = serde_json::json!([
            "fund_entries",
            self.id,
            self.project_id,
            self.source,
            self.entry_date.to_string(),
            self.amount,
            self.kind,
            self.reverses,
            self.voucher,
            self.payee,
            self.note,
            self.override_reason,
            micros(self.recorded_at),
            self.recorded_by,
            prev,
        ]);
        digest(&fields)
    }
}

/// An audit row's fields as its hash covers them.
pub(crate) struct AuditLink<'a> {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub user_id: Option<crate::UserId>,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: &'a str,
    pub before: Option<&'a Value>,
    pub after: Option<&'a Value>,
}

impl AuditLink<'_> {
    pub(crate) fn hash(&self, prev: &str) -> String {
        let fields = serde_json::json!([
            "audit_log",
            self.id,
            micros(self.at),
            self.user_id,
            self.action,
            self.entity,
            self.entity_id,
            self.before,
            self.after,
            prev,
        ]);
        digest(&fields)
    }
}

/// A time as both backends store it: to the microsecond. Bind this value, so that the
/// time hashed is the time stored.
pub(crate) fn stored_time(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

fn micros(t: DateTime<Utc>) -> i64 {
    stored_time(t).timestamp_micros()
}

/// SHA-256, 64 lowercase hex digits, of the canonical JSON of `v`.
fn digest(v: &Value) -> String {
    let mut text = String::new();
    canonical(v, &mut text);
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Canonical JSON, policy "one text per value": object keys sorted by their UTF-8 bytes
/// at every depth, no whitespace, strings and numbers as serde_json writes them. The same
/// value read back from SQLite's TEXT or PostgreSQL's JSONB (which reorders keys) encodes
/// the same.
pub(crate) fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(&map[k], out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Appending to a chain on the connection of a write's transaction.
pub(crate) trait Append {
    /// The id the next row of `chain` takes and the hash it must carry as `prev_hash`,
    /// the chain locked (PostgreSQL) to the end of the transaction.
    async fn next_link(&mut self, chain: Chain) -> Result<(i64, String), sqlx::Error>;
    /// Store a fund entry at the end of the ledger's chain; its id.
    async fn append_fund(&mut self, f: FundLink<'_>) -> Result<EntryId, sqlx::Error>;
    /// Store a fund entry at `end` (the next id and the hash it follows, from
    /// [`Append::next_link`] in this transaction, then from the previous call), and move
    /// `end` past it: a transaction writing many rows reads the chain's end once.
    async fn append_fund_at(
        &mut self,
        end: &mut (i64, String),
        f: FundLink<'_>,
    ) -> Result<EntryId, sqlx::Error>;
}

/// The INSERT of a fund entry with its id and links (`OVERRIDING SYSTEM VALUE` on
/// PostgreSQL, whose id is an identity column).
fn fund_insert<DB: Backend>() -> String {
    format!(
        "INSERT INTO fund_entries (id, project_id, source, entry_date, amount, kind, \
         reverses, voucher, payee, note, override_reason, recorded_at, recorded_by, \
         prev_hash, hash){} \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        DB::OVERRIDING_SYSTEM_VALUE
    )
}

/// The end of a chain where its head moves with each row (SQLite: a trigger moves it).
pub(crate) fn head_per_row_end(_chain: Chain) -> String {
    "SELECT last_id, last_hash FROM chain_heads WHERE chain = $1".to_string()
}

/// The end of a chain where its head moves once per transaction (PostgreSQL, migration
/// 0014): the newer of the table's last row and the head.
pub(crate) fn head_per_transaction_end(chain: Chain) -> String {
    format!(
        "SELECT CASE WHEN l.id >= h.last_id THEN l.id ELSE h.last_id END AS last_id, \
                CASE WHEN l.id >= h.last_id THEN l.hash ELSE h.last_hash END AS last_hash \
         FROM chain_heads h LEFT JOIN LATERAL \
              (SELECT id, hash FROM {} ORDER BY id DESC LIMIT 1) l ON true \
         WHERE h.chain = $1",
        chain.table()
    )
}

impl<C> Append for C
where
    C: Run + sqlx::Connection<Database: Backend>,
{
    async fn next_link(&mut self, chain: Chain) -> Result<(i64, String), sqlx::Error> {
        C::Database::lock_in_transaction(self, CHAIN_LOCK).await?;
        let r = sql(<C::Database as Backend>::chain_end(chain))
            .bind(chain.table())
            .fetch_one(&mut *self)
            .await?;
        // A last row without a hash is one stored before 0014, not yet chained: the
        // insert's trigger refuses what follows it.
        Ok((
            r.int("last_id")? + 1,
            r.opt_text("last_hash")?.unwrap_or_default(),
        ))
    }

    async fn append_fund(&mut self, f: FundLink<'_>) -> Result<EntryId, sqlx::Error> {
        let mut end = self.next_link(Chain::Funds).await?;
        self.append_fund_at(&mut end, f).await
    }

    async fn append_fund_at(
        &mut self,
        end: &mut (i64, String),
        mut f: FundLink<'_>,
    ) -> Result<EntryId, sqlx::Error> {
        let (id, prev) = (end.0, std::mem::take(&mut end.1));
        f.id = id;
        f.recorded_at = stored_time(f.recorded_at);
        let hash = f.hash(&prev);
        sql(fund_insert::<C::Database>())
            .bind(f.id)
            .bind(f.project_id)
            .bind(f.source)
            .bind(f.entry_date)
            .bind(f.amount)
            .bind(f.kind)
            .bind(f.reverses)
            .bind(f.voucher)
            .bind(f.payee)
            .bind(f.note)
            .bind(f.override_reason)
            .bind(f.recorded_at)
            .bind(f.recorded_by)
            .bind(&prev)
            .bind(&hash)
            .execute(&mut *self)
            .await?;
        *end = (id + 1, hash);
        Ok(EntryId::new(id))
    }
}

/// The first link of a chain that does not hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BrokenLink {
    /// `fund_entries` or `audit_log`.
    pub table: &'static str,
    /// The row whose link fails (for a cut end: the head's last id).
    pub id: i64,
    /// What differs, for the person who has to act on it.
    pub what: String,
}

/// What [`Store::verify_chains`] found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    /// Rows checked in each chain (up to the first broken link).
    pub fund_entries: u64,
    pub audit_log: u64,
    /// The hash of each chain's last row: noted outside the database (in a report, a
    /// letter), it shows later that the chain was not rewritten from its start.
    pub fund_head: String,
    pub audit_head: String,
    /// The first broken link of each chain that has one (fund_entries first); empty when
    /// both hold.
    pub broken: Vec<BrokenLink>,
}

/// One chain walked: rows checked, last hash, the first broken link.
struct Walk {
    rows: u64,
    last_hash: String,
    broken: Option<BrokenLink>,
}

impl AuditLog<'_> {
    /// Walk both chains from their first row: each row's `prev_hash` must be the hash of
    /// the row before it, its `hash` the hash of its fields, and the head in
    /// `chain_heads` its last row. Stops each chain at its first broken link. Reads in
    /// batches: memory does not grow with the log.
    pub async fn verify_chains(self) -> Result<ChainReport> {
        let funds = self.walk(Chain::Funds).await?;
        let audit = self.walk(Chain::Audit).await?;
        Ok(ChainReport {
            fund_entries: funds.rows,
            audit_log: audit.rows,
            fund_head: funds.last_hash,
            audit_head: audit.last_hash,
            broken: funds.broken.into_iter().chain(audit.broken).collect(),
        })
    }

    async fn walk(self, chain: Chain) -> Result<Walk> {
        on_pool!(self.0, pool => walk(pool, chain).await)
    }
}

/// [`Store::verify_chains`] for one chain.
async fn walk<DB: Backend>(pool: &Pool<DB>, chain: Chain) -> Result<Walk> {
    let table = chain.table();
    let select = format!(
        "SELECT {} FROM {table} WHERE id > $1 ORDER BY id LIMIT $2",
        chain.columns()
    );
    let broken = |id: i64, what: String| Some(BrokenLink { table, id, what });
    let mut walk = Walk {
        rows: 0,
        last_hash: GENESIS.to_string(),
        broken: None,
    };
    let mut last_id = 0i64;
    let mut conn = pool.acquire().await?;
    'rows: loop {
        let rows = sql(select.as_str())
            .bind(last_id)
            .bind(BATCH)
            .fetch_all(&mut *conn)
            .await?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            let id = r.int("id")?;
            let stored = r.opt_text("hash")?;
            let prev = r.opt_text("prev_hash")?;
            let after = if last_id == 0 {
                "链的开头".to_string()
            } else {
                format!("上一条（id {last_id}）")
            };
            let Some(stored) = stored else {
                walk.broken = broken(id, "没有哈希：该行未入链（在链外写入）".into());
                break 'rows;
            };
            if prev.as_deref() != Some(walk.last_hash.as_str()) {
                walk.broken = broken(
                    id,
                    format!(
                        "prev_hash 与{after}的哈希不符：其前的记录被删除、插入或改写（记录的 {}，应为 {}）",
                        short(prev.as_deref().unwrap_or("空")),
                        short(&walk.last_hash)
                    ),
                );
                break 'rows;
            }
            let computed = chain.hash_of(r, &walk.last_hash)?;
            if computed != stored {
                walk.broken = broken(
                    id,
                    format!(
                        "内容与哈希不符：该行在写入后被改写（记录的 {}，按内容算得 {}）",
                        short(&stored),
                        short(&computed)
                    ),
                );
                break 'rows;
            }
            walk.rows += 1;
            walk.last_hash = stored;
            last_id = id;
        }
    }
    if walk.broken.is_none() {
        let (head_id, head_hash) = head(&mut *conn, table).await?;
        if head_id != last_id || head_hash != walk.last_hash {
            walk.broken = broken(
                head_id,
                format!(
                    "链头指向 id {head_id}（{}），而最后一条是 id {last_id}（{}）：末尾的记录被删除，或链头被改写",
                    short(&head_hash),
                    short(&walk.last_hash)
                ),
            );
        }
    }
    Ok(walk)
}

/// The head of a chain as `chain_heads` holds it: its last id and hash.
async fn head(conn: &mut impl Run, table: &str) -> Result<(i64, String)> {
    let r = sql("SELECT last_id, last_hash FROM chain_heads WHERE chain = $1")
        .bind(table)
        .fetch_one(conn)
        .await?;
    Ok((r.int("last_id")?, r.text("last_hash")?))
}

/// A hash shortened for a message.
fn short(h: &str) -> String {
    h.chars().take(12).collect::<String>() + if h.chars().count() > 12 { "…" } else { "" }
}

/// Chain the rows stored before migration 0014 (those past the head, without a hash), in
/// id order, and move the head to the last. Does nothing (one read) when there are none,
/// as on every start after the first: a runtime role without UPDATE right gets here too.
pub(crate) async fn seal(store: &Store) -> Result<()> {
    for chain in [Chain::Funds, Chain::Audit] {
        on_pool!(store, pool => seal_chain(pool, chain).await)?;
    }
    Ok(())
}

/// [`seal`] for one chain.
async fn seal_chain<DB: Backend>(pool: &Pool<DB>, chain: Chain) -> Result<()> {
    let table = chain.table();
    let pending = format!(
        "SELECT EXISTS (SELECT 1 FROM {table} WHERE id > \
         (SELECT last_id FROM chain_heads WHERE chain = $1) AND hash IS NULL) AS pending"
    );
    let select = format!(
        "SELECT {} FROM {table} WHERE id > $1 AND hash IS NULL ORDER BY id LIMIT $2",
        chain.columns()
    );
    let update = format!("UPDATE {table} SET prev_hash = $1, hash = $2 WHERE id = $3");
    let any = sql(pending)
        .bind(table)
        .fetch_one(&mut *pool.acquire().await?)
        .await?
        .bool("pending")?;
    if !any {
        return Ok(());
    }
    let mut tx = DB::begin_write(pool).await?;
    // The lock; then the head, where the chaining of the old rows starts.
    tx.next_link(chain).await?;
    let (mut last_id, mut last_hash) = head(&mut *tx, table).await?;
    loop {
        let rows = sql(select.as_str())
            .bind(last_id)
            .bind(BATCH)
            .fetch_all(&mut *tx)
            .await?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            let id = r.int("id")?;
            let hash = chain.hash_of(r, &last_hash)?;
            sql(update.as_str())
                .bind(&last_hash)
                .bind(&hash)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            (last_id, last_hash) = (id, hash);
        }
    }
    sql("UPDATE chain_heads SET last_id = $1, last_hash = $2 WHERE chain = $3")
        .bind(last_id)
        .bind(&last_hash)
        .bind(table)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let a = json!({"b": 1, "a": {"y": [1, {"d": 2, "c": 3}], "x": "é"}});
        let mut out = String::new();
        canonical(&a, &mut out);
        assert_eq!(out, r#"{"a":{"x":"é","y":[1,{"c":3,"d":2}]},"b":1}"#);
    }

    #[test]
    fn a_changed_field_or_link_changes_the_hash() {
        let at = Utc::now();
        let row = |amount: i64| FundLink {
            id: 1,
            project_id: fupin_domain::id::Id::new(2),
            source: "central",
            entry_date: NaiveDate::from_ymd_opt(2018, 4, 1).unwrap(),
            amount,
            kind: "disbursement",
            reverses: None,
            voucher: "记-1",
            payee: "某合作社",
            note: "",
            override_reason: None,
            recorded_at: at,
            recorded_by: Some(fupin_domain::id::Id::new(1)),
        };
        let h = row(52_500_000).hash(GENESIS);
        assert_eq!(h.len(), 64);
        assert_eq!(h, row(52_500_000).hash(GENESIS));
        assert_ne!(h, row(1).hash(GENESIS));
        assert_ne!(h, row(52_500_000).hash(&h));
    }
}
