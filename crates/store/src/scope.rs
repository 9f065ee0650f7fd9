//! What part of the register a user may read. Every read of the register takes a scope
//! and turns it into SQL conditions on the `areas` row of what it reads.

pub use fupin_domain::access::Scope;

/// A scope as SQL.
pub(crate) trait ScopeSql {
    /// SQL conditions (each starting with ` AND`) restricting rows to this scope, on the
    /// `areas` row aliased `alias`, with placeholders numbered from `first`; and the values
    /// to bind to them, in order. The county adds nothing.
    fn sql(&self, alias: &str, first: usize) -> (String, Vec<&str>);
}

impl ScopeSql for Scope {
    fn sql(&self, alias: &str, first: usize) -> (String, Vec<&str>) {
        match self {
            Scope::County => (String::new(), Vec::new()),
            Scope::Township { township } => {
                (format!(" AND {alias}.township = ${first}"), vec![township])
            }
            Scope::Village { township, village } => (
                format!(
                    " AND {alias}.township = ${first} AND {alias}.village = ${}",
                    first + 1
                ),
                vec![township, village],
            ),
        }
    }
}
