//! What part of the register a user may read. Every read of the register takes a scope
//! and turns it into SQL conditions on the `areas` row of what it reads.

use crate::accounts::Role;
use serde::{Deserialize, Serialize};

/// The area a user may read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scope", rename_all = "snake_case")]
pub enum Scope {
    /// The whole county: headquarters admin, county leader, inspector, unit staff.
    County,
    /// One township (乡镇): township staff.
    Township { township: String },
    /// One administrative village (行政村) of a township: village staff.
    Village { township: String, village: String },
}

impl Scope {
    /// The scope of a role. Unit staff read the whole register (read-only) for now.
    pub fn of(role: &Role) -> Scope {
        match role {
            Role::HqAdmin | Role::CountyLeader | Role::Inspector | Role::UnitStaff { .. } => {
                Scope::County
            }
            Role::TownshipStaff { township } => Scope::Township {
                township: township.clone(),
            },
            Role::VillageStaff { township, village } => Scope::Village {
                township: township.clone(),
                village: village.clone(),
            },
        }
    }

    pub fn is_county(&self) -> bool {
        matches!(self, Scope::County)
    }

    /// Whether a village lies in this scope.
    pub fn contains(&self, township: &str, village: &str) -> bool {
        match self {
            Scope::County => true,
            Scope::Township { township: t } => t == township,
            Scope::Village {
                township: t,
                village: v,
            } => t == township && v == village,
        }
    }

    /// SQL conditions (each starting with ` AND`) restricting rows to this scope, on the
    /// `areas` row aliased `alias`, with placeholders numbered from `first`; and the values
    /// to bind to them, in order. The county adds nothing.
    pub(crate) fn sql(&self, alias: &str, first: usize) -> (String, Vec<&str>) {
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
