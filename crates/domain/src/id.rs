//! Record ids: `Id<T>` is the id of a `T` (a work item, a project, a job …), stored as the
//! database's 64-bit integer. One kind of id cannot be passed where another is expected,
//! and none is a bare integer: the store reads and binds them, the web takes them from
//! paths and forms, and JSON shows them as numbers.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

/// The id of a `T`.
pub struct Id<T> {
    value: i64,
    // `fn() -> T`: the id is Copy, Send and Sync whatever `T` is.
    of: PhantomData<fn() -> T>,
}

impl<T> Id<T> {
    /// The id with this number (as the database gave it, or as a user typed it).
    pub const fn new(value: i64) -> Id<T> {
        Id {
            value,
            of: PhantomData,
        }
    }

    /// The number, for the database and for URLs.
    pub const fn get(self) -> i64 {
        self.value
    }
}

impl<T> Clone for Id<T> {
    fn clone(&self) -> Id<T> {
        *self
    }
}

impl<T> Copy for Id<T> {}

impl<T> PartialEq for Id<T> {
    fn eq(&self, other: &Id<T>) -> bool {
        self.value == other.value
    }
}

impl<T> Eq for Id<T> {}

impl<T> PartialOrd for Id<T> {
    fn partial_cmp(&self, other: &Id<T>) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Id<T> {
    fn cmp(&self, other: &Id<T>) -> std::cmp::Ordering {
        self.value.cmp(&other.value)
    }
}

/// An id equals the number it is (the number a page or an answer shows): comparing
/// with a bare number is safe, passing one where an id is expected is not.
impl<T> PartialEq<i64> for Id<T> {
    fn eq(&self, other: &i64) -> bool {
        self.value == *other
    }
}

impl<T> PartialEq<Id<T>> for i64 {
    fn eq(&self, other: &Id<T>) -> bool {
        *self == other.value
    }
}

impl<T> Hash for Id<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.value.hash(state);
    }
}

impl<T> fmt::Debug for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.value)
    }
}

impl<T> fmt::Display for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.value)
    }
}

/// A text that is not an id: the text as given, and what an id is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotAnId(pub String);

impl fmt::Display for NotAnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "「{}」不是编号：编号是页面或清单上显示的正整数，如 42",
            self.0
        )
    }
}

impl std::error::Error for NotAnId {}

impl<T> std::str::FromStr for Id<T> {
    type Err = NotAnId;

    fn from_str(text: &str) -> Result<Id<T>, NotAnId> {
        match text.trim().parse::<i64>() {
            Ok(n) if n > 0 => Ok(Id::new(n)),
            _ => Err(NotAnId(text.to_string())),
        }
    }
}

impl<T> Serialize for Id<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.value)
    }
}

impl<'de, T> Deserialize<'de> for Id<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Id<T>, D::Error> {
        i64::deserialize(d).map(Id::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Item;

    /// An id is its number: shown, parsed and (de)serialized as one.
    #[test]
    fn an_id_reads_and_writes_as_its_number() {
        let id: Id<Item> = Id::new(42);
        assert_eq!(id.get(), 42);
        assert_eq!(id.to_string(), "42");
        assert_eq!(" 42 ".parse::<Id<Item>>(), Ok(id));
        let refused = "4x".parse::<Id<Item>>().unwrap_err();
        assert_eq!(refused, NotAnId("4x".into()));
        assert!(refused.to_string().contains("「4x」不是编号"), "{refused}");
        assert!("0".parse::<Id<Item>>().is_err());
        assert_eq!(serde_json::to_string(&id).unwrap(), "42");
        assert_eq!(serde_json::from_str::<Id<Item>>("42").unwrap(), id);
        assert!(Id::<Item>::new(1) < Id::new(2));
    }
}
