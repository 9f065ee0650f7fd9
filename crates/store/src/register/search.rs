//! Search of the current version: by 户编号 prefix, by ID number (through `member_ids`),
//! by name prefix (through `member_names`), paged by key.

use super::{
    clamp_limit, household_row, MemberHit, Page, Search, SearchHit, SearchKey, CURRENT,
    ROW_COLUMNS, ROW_JOINS,
};
use crate::backend::{sql, Backend};
use crate::rows::{count, Get};
use crate::scope::ScopeSql;
use crate::{Result, Scope};
use fupin_domain::IdNumber;
use sqlx::Pool;

/// The smallest text greater than every text starting with `prefix` (in code-point order,
/// which is UTF-8 byte order); None if there is none.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(c) = chars.pop() {
        let mut next = c as u32 + 1;
        if next == 0xD800 {
            next = 0xE000;
        }
        if let Some(n) = char::from_u32(next) {
            chars.push(n);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// [`crate::Store::search`].
pub(super) async fn search<DB: Backend>(
    pool: &Pool<DB>,
    scope: &Scope,
    search: &Search,
    after: Option<&SearchKey>,
    limit: u32,
) -> Result<Page<SearchHit, SearchKey>> {
    let limit = clamp_limit(limit);
    let start = SearchKey::default();
    let after = after.unwrap_or(&start);
    let member_columns = "m.line, m.name, m.id_number";
    // From a key table (`k`: member_ids or member_names) to the member, its household,
    // area and assessment.
    let member_joins = |keys: &str| {
        format!(
            "{keys} k JOIN members m ON m.version_id = k.version_id \
             AND m.household_seq = k.household_seq AND m.seq = k.seq \
             JOIN households h ON h.version_id = k.version_id AND h.seq = k.household_seq \
             JOIN areas a ON a.version_id = h.version_id AND a.seq = h.area_seq \
             JOIN assessments s ON s.version_id = h.version_id AND s.household_seq = h.seq"
        )
    };
    // The SQL of each kind of search, and what to bind before the limit: texts, then
    // integers. The scope's values come after the limit.
    let (text, texts, ints, with_member): (String, Vec<String>, Vec<i64>, bool) = match search {
        Search::HouseholdNo(prefix) => {
            let Some(end) = prefix_end(prefix).filter(|_| !prefix.is_empty()) else {
                return Ok(Page {
                    items: Vec::new(),
                    next: None,
                });
            };
            let (filter, _) = scope.sql("a", 5);
            // One lower bound, the later of the prefix and the previous page's last
            // number (then left out): given two, SQLite may range from the lower.
            let from = prefix.clone().max(after.text.clone());
            (
                format!(
                    "SELECT {ROW_COLUMNS} FROM {ROW_JOINS} WHERE h.version_id = {CURRENT} \
                     AND h.household_no >= $1 AND h.household_no < $2 \
                     AND h.household_no <> $3{filter} ORDER BY h.household_no LIMIT $4"
                ),
                vec![from, end, after.text.clone()],
                vec![],
                false,
            )
        }
        Search::IdNumber(id) => {
            // Only valid numbers are in member_ids: any other text finds none.
            let Ok(id) = IdNumber::parse(id.trim()) else {
                return Ok(Page {
                    items: Vec::new(),
                    next: None,
                });
            };
            let (filter, _) = scope.sql("a", 4);
            (
                format!(
                    "SELECT {ROW_COLUMNS}, {member_columns} FROM {} \
                     WHERE k.version_id = {CURRENT} AND k.id_key = $1 \
                     AND k.line > $2{filter} ORDER BY k.line LIMIT $3",
                    member_joins("member_ids")
                ),
                vec![],
                vec![crate::import::id_key(id), after.line as i64],
                true,
            )
        }
        Search::Name(prefix) => {
            let Some(end) = prefix_end(prefix).filter(|_| !prefix.is_empty()) else {
                return Ok(Page {
                    items: Vec::new(),
                    next: None,
                });
            };
            let (filter, _) = scope.sql("a", 5);
            // One lower bound, (name, line) after the later of the prefix and the
            // previous page's last hit: given two (the prefix, and an empty name on
            // the first page), SQLite ranges from the lower and reads half the index.
            let (from, line) = if after.text.as_str() >= prefix.as_str() {
                (after.text.clone(), after.line as i64)
            } else {
                (prefix.clone(), -1)
            };
            (
                format!(
                    "SELECT {ROW_COLUMNS}, {member_columns} FROM {} \
                     WHERE k.version_id = {CURRENT} AND k.name >= $1 AND k.name < $2 \
                     AND (k.name, k.line) > ($1, $3){filter} \
                     ORDER BY k.name, k.line LIMIT $4",
                    member_joins("member_names")
                ),
                vec![from, end],
                vec![line],
                true,
            )
        }
    };
    let (_, scope_binds) = scope.sql("a", 0);
    let mut q = sql(text);
    for t in texts {
        q.push(t);
    }
    for i in ints {
        q.push(i);
    }
    q.push(limit + 1);
    for b in scope_binds {
        q.push(b);
    }
    let rows = q.fetch_all(&mut *pool.acquire().await?).await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in &rows {
        items.push(SearchHit {
            household: household_row(r)?,
            member: if with_member {
                Some(MemberHit {
                    line: count(r, "line")?,
                    name: r.opt_text("name")?,
                    id_number: r.opt_text("id_number")?,
                })
            } else {
                None
            },
        });
    }
    let key = |h: &SearchHit| match (search, &h.member) {
        (Search::HouseholdNo(_), _) | (_, None) => SearchKey {
            text: h.household.household_no.clone(),
            line: 0,
        },
        (Search::IdNumber(_), Some(m)) => SearchKey {
            text: String::new(),
            line: m.line,
        },
        (Search::Name(_), Some(m)) => SearchKey {
            text: m.name.clone().unwrap_or_default(),
            line: m.line,
        },
    };
    Ok(Page::of(items, limit, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_ends_are_the_next_text_after_every_extension() {
        assert_eq!(prefix_end("14093001").as_deref(), Some("14093002"));
        assert_eq!(prefix_end("王").as_deref(), Some("玌"));
        assert_eq!(prefix_end("a\u{D7FF}").as_deref(), Some("a\u{E000}"));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{10FFFF}"), None);
    }
}
