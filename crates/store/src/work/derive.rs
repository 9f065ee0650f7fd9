//! Gap derivation: the gaps a stored register version has, found with
//! `fupin_domain::gap` from its households' assessments, its problems and its villages.

use crate::backend::{sql, Run};
use crate::register::{failed, verdict, with_labor_labels, VersionId};
use crate::rows::Get;
use crate::{Result, StoreError};
use fupin_domain::figures::{Rate, VillageConditions};
use fupin_domain::gap::{household_gaps, problem_gap, village_gaps, Gap};
use fupin_domain::{Assessment, ProblemCode, Verdict};
use std::collections::HashMap;

/// A gap of the version with what routing and display need.
pub(super) struct Found {
    pub gap: Gap,
    pub township: String,
    pub village: String,
    pub has_labor: bool,
    pub detail: String,
}

/// One household and its village: what a change to the household can alter (its own gaps,
/// and its village's incidence).
#[derive(Clone, Debug)]
pub(crate) struct Only {
    pub household_seq: i64,
    pub household_no: String,
    pub area_seq: i64,
    pub township: String,
    pub village: String,
}

/// The gaps of the version, or of `only` one household and its village.
pub(super) async fn found_gaps(
    conn: &mut impl Run,
    version: VersionId,
    threshold_bp: u64,
    only: Option<&Only>,
) -> Result<Vec<Found>> {
    let (one_household, one_problem, one_village) = match only {
        Some(_) => (
            " AND h.seq = $5",
            " AND household_seq = $2",
            " AND ar.seq = $2",
        ),
        None => ("", "", ""),
    };
    let households = format!(
        "SELECT h.household_no, ar.township, ar.village, a.verdict, a.failed, a.explanation, \
     EXISTS (SELECT 1 FROM members m WHERE m.version_id = h.version_id \
             AND m.household_seq = h.seq AND m.labor IN ($2, $3, $4)) AS has_labor \
     FROM households h \
     JOIN areas ar ON ar.version_id = h.version_id AND ar.seq = h.area_seq \
     JOIN assessments a ON a.version_id = h.version_id AND a.household_seq = h.seq \
     WHERE h.version_id = $1 AND a.failed <> '' AND a.verdict <> 'data_error'{one_household} \
     ORDER BY h.seq"
    );
    let problems = format!(
        "SELECT household_no, line, code, message, township, village \
         FROM problems WHERE version_id = $1{one_problem} ORDER BY seq"
    );
    let villages = format!(
        "SELECT ar.township, ar.village, ar.road, ar.power, ar.broadband, ar.clinic, \
         ar.population, s.remaining \
         FROM areas ar JOIN village_summaries s \
         ON s.version_id = ar.version_id AND s.area_seq = ar.seq \
         WHERE ar.version_id = $1{one_village} ORDER BY ar.seq"
    );
    let mut out = Vec::new();
    let mut q = with_labor_labels(&households, version);
    if let Some(o) = only {
        q = q.bind(o.household_seq);
    }
    for r in q.fetch_all(&mut *conn).await? {
        let a = Assessment {
            verdict: verdict(&r)?,
            per_capita: None,
            failed: failed(&r)?,
            explanation: r.text("explanation")?,
        };
        debug_assert_ne!(a.verdict, Verdict::DataError);
        let no = r.text("household_no")?;
        let (township, village) = (r.text("township")?, r.text("village")?);
        let has_labor = r.bool("has_labor")?;
        for gap in household_gaps(&no, &a, &[]) {
            out.push(Found {
                gap,
                township: township.clone(),
                village: village.clone(),
                has_labor,
                detail: a.explanation.clone(),
            });
        }
    }
    let mut q = sql(problems).bind(version);
    if let Some(o) = only {
        q = q.bind(o.household_seq);
    }
    let rows = q.fetch_all(&mut *conn).await?;
    let mut listed = Vec::with_capacity(rows.len());
    for r in &rows {
        let code = r.text("code")?;
        let code = ProblemCode::of_code(&code)
            .ok_or_else(|| StoreError::corrupt(format!("问题代码「{code}」")))?;
        listed.push((
            r.opt_text("household_no")?,
            r.int("line")? as u64,
            code,
            r.text("message")?,
            r.opt_text("township")?.unwrap_or_default(),
            r.opt_text("village")?.unwrap_or_default(),
        ));
    }
    // Problems grouped by the gap they make (several rows of a household with
    // one code are one gap), in first-seen order.
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut grouped: Vec<(Gap, String, String, Vec<String>)> = Vec::new();
    for p in &listed {
        let Some(gap) = problem_gap(p.0.as_deref(), p.1, p.2) else {
            continue;
        };
        let line = format!("第{}行：{}", p.1, p.3);
        match index.get(&gap.key()) {
            Some(&i) => grouped[i].3.push(line),
            None => {
                index.insert(gap.key(), grouped.len());
                grouped.push((gap, p.4.clone(), p.5.clone(), vec![line]));
            }
        }
    }
    for (gap, township, village, lines) in grouped {
        out.push(Found {
            gap,
            township,
            village,
            has_labor: false,
            detail: lines.join("；"),
        });
    }
    let mut q = sql(villages).bind(version);
    if let Some(o) = only {
        q = q.bind(o.area_seq);
    }
    for r in q.fetch_all(&mut *conn).await? {
        let (township, village) = (r.text("township")?, r.text("village")?);
        let c = VillageConditions {
            road: r.opt_bool("road")?,
            power: r.opt_bool("power")?,
            broadband: r.opt_bool("broadband")?,
            clinic: r.opt_bool("clinic")?,
        };
        let after = r.opt_int("population")?.and_then(|p| {
            Rate::new(
                crate::rows::count(&r, "remaining").unwrap_or(0),
                p.max(0) as u64,
            )
        });
        for gap in village_gaps(&township, &village, &c, after, threshold_bp) {
            let detail = gap.title();
            out.push(Found {
                gap,
                township: township.clone(),
                village: village.clone(),
                has_labor: false,
                detail,
            });
        }
    }
    Ok(out)
}
