//! Income bands of households against the poverty line (the 产业到位 panel).

/// A household's per-capita income against the line: below, 1–1.5×, 1.5–2×, 2× and above,
/// or unknown (数据有误). Agrees with the SQL `CASE` in the store's `income_bands`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncomeBand {
    Unknown,
    Below,
    To150,
    To200,
    Above200,
}

impl IncomeBand {
    /// The band of a per-capita income (fen) against a line (fen); edges go up a band.
    pub fn of(per_capita: Option<i64>, line_fen: i64) -> IncomeBand {
        match per_capita {
            None => IncomeBand::Unknown,
            Some(p) if p < line_fen => IncomeBand::Below,
            Some(p) if 2 * p < 3 * line_fen => IncomeBand::To150,
            Some(p) if p < 2 * line_fen => IncomeBand::To200,
            Some(_) => IncomeBand::Above200,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::IncomeBand::{self, *};

    #[test]
    fn bands_and_their_edges() {
        let line = 400_000;
        for (p, band) in [
            (None, Unknown),
            (Some(0), Below),
            (Some(399_999), Below),
            (Some(400_000), To150),
            (Some(599_999), To150),
            (Some(600_000), To200),
            (Some(799_999), To200),
            (Some(800_000), Above200),
            (Some(-1), Below),
        ] {
            assert_eq!(IncomeBand::of(p, line), band, "{p:?}");
        }
        // An odd line: 1.5× falls between two fen.
        assert_eq!(IncomeBand::of(Some(4), 3), To150);
        assert_eq!(IncomeBand::of(Some(5), 3), To200);
    }
}
