//! What every page shares: the layout (who is logged in, the menu, the CSRF token) and
//! formatting of figures for people (yuan, percentages, dates in China's time zone).

use crate::auth::Viewer;
use chrono::{DateTime, Utc};
use fupin_domain::figures::{Rate, Region};
use fupin_domain::{Fen, Problem, Verdict};
use fupin_io::workbook::ProblemCells;

/// The frame around every page.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    pub title: String,
    /// None on the login and error pages without a session.
    pub user: Option<String>,
    pub role: String,
    pub scope: String,
    pub csrf: String,
    pub is_admin: bool,
    /// Which menu entry is lit.
    pub active: &'static str,
}

impl Layout {
    pub fn bare(title: &str) -> Layout {
        Layout {
            title: title.into(),
            ..Layout::default()
        }
    }

    pub fn of(v: &Viewer, title: impl Into<String>, active: &'static str) -> Layout {
        Layout {
            title: title.into(),
            user: Some(v.session.user.username.clone()),
            role: v.session.user.role.chinese().into(),
            scope: crate::scope_label(&v.scope),
            csrf: v.session.csrf_token.clone(),
            is_admin: v.is_admin(),
            active,
        }
    }

    /// The class of a menu entry: `on` when it is this page's.
    pub fn nav(&self, name: &str) -> &'static str {
        if self.active == name {
            "on"
        } else {
            ""
        }
    }
}

/// HTML-escape text (for the rare page built without a template).
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Percent-encode text for a path segment or a query value.
pub fn enc(s: &str) -> String {
    let mut o = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

/// `/townships/示例一乡`, encoded.
pub fn township_url(t: &str) -> String {
    format!("/townships/{}", enc(t))
}

pub fn village_url(t: &str, v: &str) -> String {
    format!("/townships/{}/villages/{}", enc(t), enc(v))
}

pub fn household_url(no: &str) -> String {
    format!("/households/{}", enc(no))
}

/// Yuan with separators: `3,012.50`; a dash when unknown.
pub fn yuan(f: Option<Fen>) -> String {
    f.map_or_else(|| "—".into(), Fen::grouped)
}

/// A rate in percent with two decimals, or a dash.
pub fn percent(r: Option<Rate>) -> String {
    r.map_or_else(|| "—".into(), |r| format!("{}%", r.percent()))
}

pub fn threshold_percent(region: Region) -> String {
    format!(
        "{}%",
        Rate {
            num: region.threshold_bp(),
            den: 10_000
        }
        .percent()
    )
}

/// A time as people in the county read it (UTC+8).
pub fn time(t: DateTime<Utc>) -> String {
    fupin_domain::time::county_time(t)
}

/// The CSS class of a verdict's badge.
/// Failed criteria by their Chinese names, in the spec's order: `住房安全有保障、饮水安全有保障`.
pub fn failed_names(failed: fupin_domain::criteria::CriteriaSet) -> String {
    failed
        .iter()
        .map(fupin_domain::Criterion::chinese)
        .collect::<Vec<_>>()
        .join("、")
}

pub fn verdict_class(v: Verdict) -> &'static str {
    v.word()
}

pub fn yes_no(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "是",
        Some(false) => "否",
        None => "—",
    }
}

/// A count with thousands separators: 20,000.
pub fn count(n: u64) -> String {
    fupin_domain::grouped(n)
}

/// A stored file as a download: its name in UTF-8 (RFC 5987) with an ASCII fallback,
/// never shown inline (an uploaded file is not trusted as a page), never cached.
pub fn download(file_name: &str, data: Vec<u8>) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    let ascii: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
                    enc(file_name)
                ),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        data,
    )
        .into_response()
}

/// A problem of a file as the result pages list it: the cells of the problem list (as the
/// Excel list has them), and whether it is an error (else a warning).
pub struct FileProblem {
    pub cells: ProblemCells,
    pub is_error: bool,
}

impl FileProblem {
    /// A problem the reading found, under the file's own name (without its folders).
    pub fn of(p: &Problem) -> FileProblem {
        FileProblem {
            cells: ProblemCells {
                file: std::path::Path::new(&*p.file)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                line: p.line,
                column: p.column.to_string(),
                code: p.code.to_string(),
                value: p.value.clone(),
                message: p.message.clone(),
                household_no: String::new(),
            },
            is_error: p.code.is_error(),
        }
    }

    /// An error of the file as a whole: no line, column, code or value.
    pub fn whole_file(message: String) -> FileProblem {
        FileProblem {
            cells: ProblemCells {
                message,
                ..ProblemCells::default()
            },
            is_error: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_urls() {
        assert_eq!(count(20000), "20,000");
        assert_eq!(count(999), "999");
        assert_eq!(enc("示例 一"), "%E7%A4%BA%E4%BE%8B%20%E4%B8%80");
        assert_eq!(escape("<a&\"b\">"), "&lt;a&amp;&quot;b&quot;&gt;");
    }
}
