//! Resident ID numbers (GB 11643-1999): 6-digit area code, 8-digit birth date, 3-digit
//! sequence (odd = male), and a check character by ISO 7064 MOD 11-2.

use chrono::NaiveDate;
use std::fmt;
use std::num::NonZeroU64;

/// Weights of ISO 7064 MOD 11-2 for the first 17 digits.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character for each remainder 0–10.
const CHECK: [u8; 11] = *b"10X98765432";

/// A validated 18-character resident ID number, held as its key: the 17 digits × 11 plus
/// the check value (X = 10). Eight bytes instead of eighteen, and `Option<IdNumber>` is
/// eight bytes too — the register holds one per member, tens of millions of them. The key
/// is never zero: seventeen zeros have the check character 1.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdNumber(NonZeroU64);

/// The 18 characters of an ID number, for display and storage (check character upper-case).
#[derive(Clone, Copy)]
pub struct IdText([u8; 18]);

impl IdText {
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and X are ever written.
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

/// Why a text is not a valid ID number (problem E105).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdNumberError {
    /// Not 18 characters.
    WrongLength(usize),
    /// A character that is not a digit (or X in the last place); 1-based position.
    BadCharacter { position: usize, found: char },
    /// The check character does not match the first 17 digits.
    CheckMismatch { expected: char, found: char },
}

impl fmt::Display for IdNumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdNumberError::WrongLength(n) => {
                write!(f, "证件号码应为18位，实为{n}位")
            }
            IdNumberError::BadCharacter { position, found } => write!(
                f,
                "证件号码第{position}位「{found}」不是数字（仅第18位可为X）"
            ),
            IdNumberError::CheckMismatch { expected, found } => {
                write!(f, "证件号码校验位错误：按前17位应为{expected}，实为{found}")
            }
        }
    }
}

/// The check character for 17 ASCII digits (ISO 7064 MOD 11-2).
pub fn check_character(first17: &[u8]) -> u8 {
    debug_assert_eq!(first17.len(), 17);
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    CHECK[(sum % 11) as usize]
}

impl IdNumber {
    /// Parse an ID number: 18 characters, 17 digits then a digit or X (x accepted).
    pub fn parse(text: &str) -> Result<IdNumber, IdNumberError> {
        let bytes = text.as_bytes();
        if bytes.len() != 18 || !text.is_ascii() {
            let chars = text.chars().count();
            if chars != 18 {
                return Err(IdNumberError::WrongLength(chars));
            }
            let (i, c) = text
                .char_indices()
                .enumerate()
                .map(|(n, (_, c))| (n, c))
                .find(|(_, c)| !c.is_ascii())
                .expect("non-ASCII text has a non-ASCII char");
            return Err(IdNumberError::BadCharacter {
                position: i + 1,
                found: c,
            });
        }
        let mut out = [0u8; 18];
        out.copy_from_slice(bytes);
        for (i, b) in out.iter_mut().enumerate() {
            let ok = b.is_ascii_digit() || (i == 17 && (*b == b'X' || *b == b'x'));
            if !ok {
                return Err(IdNumberError::BadCharacter {
                    position: i + 1,
                    found: *b as char,
                });
            }
        }
        out[17] = out[17].to_ascii_uppercase();
        let expected = check_character(&out[..17]);
        if expected != out[17] {
            return Err(IdNumberError::CheckMismatch {
                expected: expected as char,
                found: bytes[17] as char,
            });
        }
        let digits = out[..17]
            .iter()
            .fold(0u64, |acc, b| acc * 10 + u64::from(b - b'0'));
        let check = check_value(out[17]);
        // Never zero (see the type's comment); the fallback cannot be reached.
        Ok(IdNumber(
            NonZeroU64::new(digits * 11 + check).unwrap_or(NonZeroU64::MIN),
        ))
    }

    /// The 17 digits as a number.
    fn digits(&self) -> u64 {
        self.0.get() / 11
    }

    /// The number's characters.
    pub fn text(&self) -> IdText {
        let mut out = [0u8; 18];
        let mut d = self.digits();
        for b in out[..17].iter_mut().rev() {
            *b = b'0' + (d % 10) as u8;
            d /= 10;
        }
        out[17] = CHECK_BY_VALUE[(self.0.get() % 11) as usize];
        IdText(out)
    }

    /// The eight birth-date digits (characters 7–14) as a number, e.g. 19491231.
    fn birth_number(&self) -> u32 {
        // Drop the 3-digit sequence, keep 14 digits, then the last 8 of them.
        ((self.digits() / 1_000) % 100_000_000) as u32
    }

    /// The birth date in characters 7–14, if it is a real calendar date.
    pub fn birth_date(&self) -> Option<NaiveDate> {
        let n = self.birth_number();
        NaiveDate::from_ymd_opt((n / 10_000) as i32, n / 100 % 100, n % 100)
    }

    /// The birth-date digits as written (characters 7–14), for messages.
    pub fn birth_digits(&self) -> String {
        format!("{:08}", self.birth_number())
    }

    /// Male when the 17th digit is odd.
    pub fn is_male(&self) -> bool {
        self.digits() % 2 == 1
    }

    /// A compact key that identifies the number (17 digits × 11 + the check value).
    pub fn key(&self) -> u64 {
        self.0.get()
    }
}

/// The check value 0–10 of a check character (X = 10).
fn check_value(c: u8) -> u64 {
    if c == b'X' {
        10
    } else {
        u64::from(c - b'0')
    }
}

/// Check character by check value (the inverse of `check_value`).
const CHECK_BY_VALUE: [u8; 11] = *b"0123456789X";

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.text().as_str())
    }
}

impl fmt::Display for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text().as_str())
    }
}

/// Age in whole years on a given day (birthday on that day counts).
pub fn age_on(birth: NaiveDate, day: NaiveDate) -> i32 {
    use chrono::Datelike;
    let mut age = day.year() - birth.year();
    if (day.month(), day.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

/// The day ages are counted on for assessment year `year`: 1 September (school-year start).
pub fn age_reference_day(year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, 9, 1).unwrap_or(NaiveDate::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_number_passes_and_x_is_accepted_lowercase() {
        // 11010519491231002X is the standard's own example.
        let id = IdNumber::parse("11010519491231002x").unwrap();
        assert_eq!(id.text().as_str(), "11010519491231002X");
        assert_eq!(id.to_string(), "11010519491231002X");
        assert_eq!(id.birth_digits(), "19491231");
        assert_eq!(id.birth_date(), NaiveDate::from_ymd_opt(1949, 12, 31));
        assert!(!id.is_male());
    }

    #[test]
    fn text_round_trips_through_the_key() {
        for text in [
            "11010519491231002X",
            "000000000000000001",
            "140930194308010018",
            "999999999999999999",
        ] {
            let Ok(id) = IdNumber::parse(text) else {
                continue; // only valid numbers have a key
            };
            assert_eq!(id.text().as_str(), text);
            assert_eq!(IdNumber::parse(id.text().as_str()), Ok(id));
        }
        assert_eq!(
            IdNumber::parse("140930194308010018").unwrap().birth_date(),
            NaiveDate::from_ymd_opt(1943, 8, 1)
        );
    }

    #[test]
    fn leap_day_birthday_age() {
        let b = NaiveDate::from_ymd_opt(2008, 2, 29).unwrap();
        assert_eq!(age_on(b, NaiveDate::from_ymd_opt(2014, 2, 28).unwrap()), 5);
        assert_eq!(age_on(b, NaiveDate::from_ymd_opt(2014, 3, 1).unwrap()), 6);
    }
}
