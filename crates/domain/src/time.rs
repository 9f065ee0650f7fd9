//! The county's date: the county keeps China Standard Time (UTC+8), and deadlines,
//! escalations and "today" are days there.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

/// The county's offset from UTC: eight hours east.
pub fn county_offset() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// The county's date at an instant.
pub fn county_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&county_offset()).date_naive()
}

/// An instant as people in the county read it: `2018-06-30 08:00:00`.
pub fn county_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&county_offset())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_county_day_starts_at_16_00_utc() {
        let before = Utc.with_ymd_and_hms(2018, 6, 30, 15, 59, 59).unwrap();
        let at = Utc.with_ymd_and_hms(2018, 6, 30, 16, 0, 0).unwrap();
        assert_eq!(
            county_date(before),
            NaiveDate::from_ymd_opt(2018, 6, 30).unwrap()
        );
        assert_eq!(
            county_date(at),
            NaiveDate::from_ymd_opt(2018, 7, 1).unwrap()
        );
        assert_eq!(county_time(at), "2018-07-01 00:00:00");
    }
}
