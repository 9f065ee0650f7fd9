//! Words people type for a value (a state, a stage, a fund source, a grouping), read with
//! `str::parse` (`FromStr`), and the refusal of a word that names none: what it names,
//! the word given, and what is accepted, so the page, the API and the command line say
//! the same.

use std::fmt;

/// A word that names none of the values of its kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unrecognized {
    /// What the word names, in Chinese: 项目阶段.
    pub what: &'static str,
    /// The word as given.
    pub value: String,
    /// What is accepted: 产业、光伏、….
    pub allowed: String,
}

impl Unrecognized {
    pub fn new(what: &'static str, value: &str, allowed: String) -> Unrecognized {
        Unrecognized {
            what,
            value: value.to_string(),
            allowed,
        }
    }
}

impl fmt::Display for Unrecognized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}「{}」无法识别；可填：{}",
            self.what, self.value, self.allowed
        )
    }
}

impl std::error::Error for Unrecognized {}

#[cfg(test)]
mod tests {
    use crate::funds::{FundSource, Stage};
    use crate::work_item::{WorkAction, WorkState};

    /// Every kind reads its own words and refuses another's, naming what it accepts.
    #[test]
    fn words_are_read_and_unknown_ones_refused_with_what_is_accepted() {
        assert_eq!("施工".parse::<Stage>().ok(), Stage::parse("施工"));
        assert_eq!(
            "in_progress".parse::<WorkState>(),
            Ok(WorkState::InProgress)
        );
        assert_eq!("close".parse::<WorkAction>(), Ok(WorkAction::Close));
        let e = "月亮".parse::<FundSource>().unwrap_err();
        assert_eq!(e.what, "资金来源");
        assert_eq!(e.value, "月亮");
        assert_eq!(e.allowed, FundSource::allowed());
        assert!(e
            .to_string()
            .starts_with("资金来源「月亮」无法识别；可填："));
        let e = "finished".parse::<WorkState>().unwrap_err();
        assert!(
            e.allowed.contains("todo") && e.allowed.contains("closed"),
            "{e}"
        );
    }
}
