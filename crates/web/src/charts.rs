//! SVG charts drawn here, with no script and nothing fetched: horizontal bars that scale
//! with the page (a `viewBox`, no fixed size), colours from a fixed palette, every bar
//! labelled with its figure so the chart reads without colour too.

use crate::view::escape;
use std::fmt::Write;

/// One bar: its label, the value it draws, and the figure written beside it.
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub text: String,
    pub color: &'static str,
}

/// A vertical marker across all bars (e.g. the exit threshold).
pub struct Marker {
    pub value: f64,
    pub label: String,
}

const WIDTH: f64 = 360.0;
const LABEL_W: f64 = 112.0;
const TEXT_W: f64 = 72.0;
const ROW_H: f64 = 26.0;
const BAR_H: f64 = 18.0;

/// A horizontal bar chart; `max` is the value at the right end (at least the largest
/// bar and the marker).
pub fn bars(title: &str, bars: &[Bar], marker: Option<&Marker>) -> String {
    let top = if marker.is_some() { 22.0 } else { 6.0 };
    let height = top + ROW_H * bars.len() as f64 + 6.0;
    let mut max = bars.iter().map(|b| b.value).fold(0.0, f64::max);
    if let Some(m) = marker {
        max = max.max(m.value * 1.25);
    }
    if max <= 0.0 {
        max = 1.0;
    }
    let span = WIDTH - LABEL_W - TEXT_W;
    let x = |v: f64| LABEL_W + span * (v / max).clamp(0.0, 1.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>"#,
        t = escape(title)
    );
    for (i, b) in bars.iter().enumerate() {
        let y = top + ROW_H * i as f64;
        let w = (x(b.value) - LABEL_W).max(if b.value > 0.0 { 1.5 } else { 0.0 });
        let _ = write!(
            s,
            r#"<text x="{lx}" y="{ty}" text-anchor="end" class="cl">{label}</text><rect x="{LABEL_W}" y="{y}" width="{w:.1}" height="{BAR_H}" rx="3" fill="{color}"/><text x="{vx:.1}" y="{ty}" class="cv">{text}</text>"#,
            lx = LABEL_W - 8.0,
            ty = y + BAR_H / 2.0 + 5.0,
            label = escape(&b.label),
            color = b.color,
            vx = LABEL_W + w + 6.0,
            text = escape(&b.text),
        );
    }
    if let Some(m) = marker {
        let mx = x(m.value);
        let _ = write!(
            s,
            r##"<line x1="{mx:.1}" y1="14" x2="{mx:.1}" y2="{y2}" stroke="#c0392b" stroke-width="2" stroke-dasharray="5 3"/><text x="{mx:.1}" y="11" text-anchor="middle" class="cm">{label}</text>"##,
            y2 = height - 2.0,
            label = escape(&m.label)
        );
    }
    s.push_str("</svg>");
    s
}

/// The palette: one colour per verdict, in `Verdict::ALL` order.
pub const VERDICT_COLORS: [&str; 5] = ["#2e8b57", "#e67e22", "#2980b9", "#c0392b", "#7f8c8d"];
pub const CRITERION_COLOR: &str = "#d35400";
pub const NOW_COLOR: &str = "#8e44ad";
pub const AFTER_COLOR: &str = "#16a085";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_escaped_and_scaled() {
        let svg = bars(
            "图<1>",
            &[
                Bar {
                    label: "甲".into(),
                    value: 10.0,
                    text: "10 户".into(),
                    color: "#000",
                },
                Bar {
                    label: "乙".into(),
                    value: 0.0,
                    text: "0 户".into(),
                    color: "#000",
                },
            ],
            Some(&Marker {
                value: 2.0,
                label: "阈值 2%".into(),
            }),
        );
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("图&lt;1&gt;"));
        assert!(svg.contains("阈值 2%"));
        assert!(!svg.contains("<script"));
    }
}
