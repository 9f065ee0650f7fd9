//! Money in integer fen (1 yuan = 100 fen); never floating point.

use std::fmt;

/// An amount of money in fen. Household totals may be negative (expenses over income).
/// The number is private: an amount is made from fen ([`Fen::new`]), whole yuan
/// ([`Fen::from_yuan`]) or a cell's text ([`Fen::parse_yuan`]), and read as fen
/// ([`Fen::fen`]), so no yuan figure is taken for fen by accident.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fen(i64);

impl std::ops::Add for Fen {
    type Output = Fen;
    fn add(self, other: Fen) -> Fen {
        Fen(self.0 + other.0)
    }
}

impl std::ops::Sub for Fen {
    type Output = Fen;
    fn sub(self, other: Fen) -> Fen {
        Fen(self.0 - other.0)
    }
}

impl std::ops::Neg for Fen {
    type Output = Fen;
    fn neg(self) -> Fen {
        Fen(-self.0)
    }
}

impl std::iter::Sum for Fen {
    fn sum<I: Iterator<Item = Fen>>(iter: I) -> Fen {
        Fen(iter.map(|f| f.0).sum())
    }
}

/// Why a text is not an amount (problem E104).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AmountError {
    Negative,
    TooManyDecimals,
    BadGrouping,
    TooLarge,
    NotANumber,
}

impl fmt::Display for AmountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AmountError::Negative => "金额不能为负数",
            AmountError::TooManyDecimals => "金额最多保留2位小数",
            AmountError::BadGrouping => "千分位逗号位置不对（应每3位一组，如 12,345.60）",
            AmountError::TooLarge => "金额过大",
            AmountError::NotANumber => "不是数字金额",
        })
    }
}

/// Largest accepted amount: 10^12 yuan, far above any household's income.
const MAX_FEN: i64 = 100_000_000_000_000;

impl Fen {
    pub const ZERO: Fen = Fen(0);

    /// The amount of `fen` fen (as stored, or as computed in fen).
    pub const fn new(fen: i64) -> Fen {
        Fen(fen)
    }

    /// The amount in fen: for the database and for sums.
    pub const fn fen(self) -> i64 {
        self.0
    }

    pub fn from_yuan(yuan: i64) -> Fen {
        Fen(yuan * 100)
    }

    /// Parse an amount in yuan: digits, optional `,` thousands separators, at most two
    /// fractional digits, not negative. The caller decides what an empty cell means.
    pub fn parse_yuan(text: &str) -> Result<Fen, AmountError> {
        let t = text.as_bytes();
        if t.first() == Some(&b'-') {
            return Err(AmountError::Negative);
        }
        let t = t.strip_prefix(b"+").unwrap_or(t);
        let (int_part, frac_part) = match memchr_dot(t) {
            Some(i) => (&t[..i], Some(&t[i + 1..])),
            None => (t, None),
        };
        if int_part.is_empty() && frac_part.is_none_or(<[u8]>::is_empty) {
            return Err(AmountError::NotANumber);
        }
        let mut yuan: i64 = 0;
        let mut group_len: Option<usize> = None; // digits since the last comma
        let mut first_group = 0usize;
        for &b in int_part {
            match b {
                b'0'..=b'9' => {
                    yuan = yuan
                        .checked_mul(10)
                        .and_then(|v| v.checked_add(i64::from(b - b'0')))
                        .ok_or(AmountError::TooLarge)?;
                    match group_len.as_mut() {
                        Some(g) => *g += 1,
                        None => first_group += 1,
                    }
                }
                b',' => {
                    match group_len {
                        None if first_group == 0 || first_group > 3 => {
                            return Err(AmountError::BadGrouping)
                        }
                        Some(g) if g != 3 => return Err(AmountError::BadGrouping),
                        _ => {}
                    }
                    group_len = Some(0);
                }
                _ => return Err(AmountError::NotANumber),
            }
        }
        if group_len.is_some_and(|g| g != 3) {
            return Err(AmountError::BadGrouping);
        }
        let mut fen: i64 = 0;
        if let Some(frac) = frac_part {
            if frac.len() > 2 {
                return if frac.iter().all(u8::is_ascii_digit) {
                    Err(AmountError::TooManyDecimals)
                } else {
                    Err(AmountError::NotANumber)
                };
            }
            for (i, &b) in frac.iter().enumerate() {
                if !b.is_ascii_digit() {
                    return Err(AmountError::NotANumber);
                }
                fen += i64::from(b - b'0') * if i == 0 { 10 } else { 1 };
            }
        }
        let total = yuan
            .checked_mul(100)
            .and_then(|v| v.checked_add(fen))
            .ok_or(AmountError::TooLarge)?;
        if total > MAX_FEN {
            return Err(AmountError::TooLarge);
        }
        Ok(Fen(total))
    }

    /// Yuan as a float, for a spreadsheet cell: exact for any amount below 2^53 fen.
    #[allow(clippy::cast_precision_loss)]
    pub fn yuan_f64(self) -> f64 {
        self.0 as f64 / 100.0
    }

    /// This amount divided among `n` people, rounded half away from zero to the fen.
    pub fn per_capita(self, n: u32) -> Fen {
        if n == 0 {
            return Fen(0);
        }
        let n = i64::from(n);
        let q = self.0 / n;
        let r = self.0 % n;
        if 2 * r.abs() >= n {
            Fen(q + self.0.signum())
        } else {
            Fen(q)
        }
    }

    /// Plain yuan with two decimals and no separators, for CSV and JSON: `3012.50`.
    pub fn plain(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", a / 100, a % 100)
    }

    /// Yuan for people to read: thousands separators, two decimals, `3,012.50`.
    pub fn grouped(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", group_thousands(a / 100), a % 100)
    }

    /// Like [`Fen::grouped`] but without `.00` for whole yuan: `3,535`.
    pub fn grouped_short(self) -> String {
        if self.0 % 100 == 0 {
            let sign = if self.0 < 0 { "-" } else { "" };
            format!("{sign}{}", group_thousands(self.0.unsigned_abs() / 100))
        } else {
            self.grouped()
        }
    }
}

fn memchr_dot(t: &[u8]) -> Option<usize> {
    t.iter().position(|&b| b == b'.')
}

/// A count or amount with thousands separators, as users read numbers: 40,000.
pub fn group_thousands(mut v: u64) -> String {
    let mut parts = Vec::new();
    loop {
        if v < 1000 {
            parts.push(v.to_string());
            break;
        }
        parts.push(format!("{:03}", v % 1000));
        v /= 1000;
    }
    parts.reverse();
    parts.join(",")
}

impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.grouped())
    }
}

/// Serialized as a yuan string with two decimals (`"3012.50"`), so no reader turns it
/// into a float.
impl serde::Serialize for Fen {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.plain())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_amounts() {
        assert_eq!(Fen::parse_yuan("3012.5"), Ok(Fen(301250)));
        assert_eq!(Fen::parse_yuan("12,345.67"), Ok(Fen(1234567)));
        assert_eq!(Fen::parse_yuan("1,234,567"), Ok(Fen(123456700)));
        assert_eq!(Fen::parse_yuan("0"), Ok(Fen(0)));
        assert_eq!(Fen::parse_yuan(".5"), Ok(Fen(50)));
        assert_eq!(Fen::parse_yuan("7."), Ok(Fen(700)));
        assert_eq!(Fen::parse_yuan("-1"), Err(AmountError::Negative));
        assert_eq!(Fen::parse_yuan("1.234"), Err(AmountError::TooManyDecimals));
        assert_eq!(Fen::parse_yuan("1,23"), Err(AmountError::BadGrouping));
        assert_eq!(Fen::parse_yuan("1234,567"), Err(AmountError::BadGrouping));
        assert_eq!(Fen::parse_yuan("1e3"), Err(AmountError::NotANumber));
        assert_eq!(Fen::parse_yuan("."), Err(AmountError::NotANumber));
        assert_eq!(
            Fen::parse_yuan("99999999999999999999"),
            Err(AmountError::TooLarge)
        );
    }

    #[test]
    fn per_capita_rounds_half_away_from_zero() {
        assert_eq!(Fen(5).per_capita(2), Fen(3));
        assert_eq!(Fen(-5).per_capita(2), Fen(-3));
        assert_eq!(Fen(10).per_capita(3), Fen(3));
        assert_eq!(Fen(11).per_capita(3), Fen(4));
    }

    #[test]
    fn formats() {
        assert_eq!(Fen(301250).grouped(), "3,012.50");
        assert_eq!(Fen(353500).grouped_short(), "3,535");
        assert_eq!(Fen(-1).plain(), "-0.01");
        assert_eq!(Fen(123456789).grouped(), "1,234,567.89");
    }
}
