//! The households that benefit from a project (带贫户): a household's yearly benefit of a
//! kind recorded by hand or from a file, the benefits read by household and by project,
//! and the households whose declared income does not account for them.

use super::rows::{benefit_row, bind_all, project_scope, BENEFIT_SELECT};
use super::write::{unknown_project, ProjectByName, ProjectWrite};
use super::{FundRefusal, ProjectId};
use crate::accounts::{User, UserId};
use crate::audit::{Audit, Record};
use crate::backend::{sql, Backend, Run};
use crate::register::VersionId;
use crate::rows::Get;
use crate::scope::Scope;
use crate::scope::ScopeSql;
use crate::work::{ActingUser, ItemScope};
use crate::{now, on_pool, Result, Store};
use chrono::{DateTime, Utc};
use fupin_domain::access::{may, Action, Actor};
use fupin_domain::funds::{unaccounted_benefits, BenefitKind, Unaccounted};
use fupin_domain::funds_rows::{Recording, RowRefusal, Why};
use fupin_domain::household::{Entry, HouseholdValues};
use fupin_domain::Fen;
use serde::Serialize;
use serde_json::json;
use sqlx::Pool;
use std::collections::HashMap;

/// A household's benefit from a project.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Benefit {
    pub project_id: ProjectId,
    pub project: String,
    pub year: i32,
    pub household_no: String,
    pub kind: BenefitKind,
    pub yearly: Fen,
}

/// A household of the current register whose declared income does not account for its
/// recorded benefits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BenefitFlag {
    pub household_no: String,
    pub township: String,
    pub village: String,
    pub unaccounted: Vec<Unaccounted>,
}

/// A household's township in the current register version, by 户编号.
const HOUSEHOLD_TOWNSHIP: &str = "SELECT a.township FROM current_register c \
     JOIN households h ON h.version_id = c.version_id \
     JOIN areas a ON a.version_id = h.version_id AND a.seq = h.area_seq \
     WHERE c.id = 1 AND h.household_no = $1";

/// The township of household `household_no` in the current register, if it is there.
async fn home_township(conn: &mut impl Run, household_no: &str) -> Result<Option<String>> {
    Ok(
        match sql(HOUSEHOLD_TOWNSHIP)
            .bind(household_no)
            .fetch_optional(conn)
            .await?
        {
            Some(r) => Some(r.text("township")?),
            None => None,
        },
    )
}

/// A household's yearly benefit of a kind from a project, to write.
#[derive(Clone, Copy)]
pub(super) struct NewBenefit<'a> {
    pub household_no: &'a str,
    pub kind: BenefitKind,
    pub yearly: Fen,
}

impl NewBenefit<'_> {
    /// The benefit as the audit log keeps it, with the yearly sum `yearly` (as written, or
    /// as it was before).
    fn json(&self, yearly: Fen) -> serde_json::Value {
        json!({"household_no": self.household_no, "kind": self.kind.code(), "yearly": yearly.plain()})
    }
}

/// Write `benefit` from `project` (added or replaced) and audit it (`set_beneficiary`,
/// before and after) as user `by`'s at `at`; `from_file`, the file's name and the row's
/// line, is added to the audit's after.
async fn write_benefit<DB: Backend>(
    conn: &mut DB::Connection,
    project: ProjectId,
    benefit: NewBenefit<'_>,
    at: DateTime<Utc>,
    by: UserId,
    from_file: Option<(&str, u64)>,
) -> Result<()> {
    let before = upsert_benefit(&mut *conn, project, benefit).await?;
    let mut after = benefit.json(benefit.yearly);
    if let Some((file_name, line)) = from_file {
        after["file_name"] = json!(file_name);
        after["line"] = json!(line);
    }
    conn.audit(Record {
        at,
        user: Some(by),
        action: "set_beneficiary",
        entity: "project",
        entity_id: project.to_string(),
        before: before.map(|b| benefit.json(Fen::new(b))),
        after: Some(after),
    })
    .await?;
    Ok(())
}

/// Write `benefit` from `project` (added or replaced); the yearly sum it had before, if
/// any.
async fn upsert_benefit(
    conn: &mut impl Run,
    project: ProjectId,
    benefit: NewBenefit<'_>,
) -> Result<Option<i64>> {
    let NewBenefit {
        household_no,
        kind,
        yearly,
    } = benefit;
    let before = match sql("SELECT yearly FROM project_beneficiaries \
         WHERE project_id = $1 AND household_no = $2 AND kind = $3")
    .bind(project)
    .bind(household_no)
    .bind(kind.code())
    .fetch_optional(&mut *conn)
    .await?
    {
        Some(r) => Some(r.int("yearly")?),
        None => None,
    };
    sql(
        "INSERT INTO project_beneficiaries (project_id, household_no, kind, yearly) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (project_id, household_no, kind) \
         DO UPDATE SET yearly = excluded.yearly",
    )
    .bind(project)
    .bind(household_no)
    .bind(kind.code())
    .bind(yearly.fen())
    .execute(conn)
    .await?;
    Ok(before)
}

/// [`Store::set_beneficiary`].
pub(super) async fn set_beneficiary<DB: Backend>(
    pool: &Pool<DB>,
    write: ProjectWrite<'_>,
    benefit: NewBenefit<'_>,
) -> Result<std::result::Result<(), FundRefusal>> {
    let ProjectWrite { user, project } = write;
    let household_no = benefit.household_no.trim();
    if household_no.is_empty() || benefit.yearly.fen() < 0 {
        return Ok(Err(FundRefusal::NotAllowed(
            "户编号不能为空，年收益不能为负数".into(),
        )));
    }
    let at = now();
    let Some((mut tx, r)) = write.begin(pool, "p.unit, p.township", false).await? else {
        return Ok(Err(FundRefusal::NoProject(project)));
    };
    let (unit, township) = (r.text("unit")?, r.text("township")?);
    let actor = ActingUser { user, post: None };
    let record = Action::RecordEntry {
        unit: &unit,
        overriding: false,
    };
    if let Err(r) = may(actor.actor(), record) {
        return Ok(Err(FundRefusal::NotAllowed(
            r.into_message().replace("登记资金拨付", "登记带贫户"),
        )));
    }
    let home = home_township(&mut *tx, household_no).await?;
    if let Err(r) = may(
        actor.actor(),
        link(&township, household_no, home.as_deref()),
    ) {
        return Ok(Err(FundRefusal::Invalid(r.into_message())));
    }
    let benefit = NewBenefit {
        household_no,
        ..benefit
    };
    write_benefit::<DB>(&mut tx, project, benefit, at, user.id, None).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// [`Store::import_beneficiaries`].
pub(super) async fn import_beneficiaries<DB: Backend>(
    pool: &Pool<DB>,
    user: &User,
    file_name: &str,
    rows: &[fupin_io::funds_file::BeneficiaryRow],
) -> Result<std::result::Result<u64, Vec<RowRefusal>>> {
    let projects = ProjectByName::new::<DB>(user, "p.id, p.unit, p.township", false);
    let at = now();
    let actor = ActingUser { user, post: None };
    let mut tx = DB::begin_write(pool).await?;
    let mut problems = Vec::new();
    for row in rows {
        let (id, township) = match projects.find(&mut *tx, row.year, &row.project).await? {
            Some(r) if records(actor.actor(), &r.text("unit")?) => {
                (r.id("id")?, r.text("township")?)
            }
            _ => {
                let refusal =
                    unknown_project(row.line, row.year, &row.project, Recording::Beneficiary);
                problems.push(refusal);
                continue;
            }
        };
        let household_no = row.household_no.trim();
        let home = home_township(&mut *tx, household_no).await?;
        if let Err(m) = may(
            actor.actor(),
            link(&township, household_no, home.as_deref()),
        ) {
            problems.push(RowRefusal {
                line: row.line,
                why: Why::HouseholdNotLinkable {
                    household_no: household_no.to_string(),
                    refusal: m,
                },
            });
            continue;
        }
        if !problems.is_empty() {
            continue;
        }
        let benefit = NewBenefit {
            household_no,
            kind: row.kind,
            yearly: row.yearly,
        };
        let from_file = Some((file_name, row.line));
        write_benefit::<DB>(&mut tx, id, benefit, at, user.id, from_file).await?;
    }
    if !problems.is_empty() {
        tx.rollback().await?;
        return Ok(Err(problems));
    }
    tx.commit().await?;
    Ok(Ok(rows.len() as u64))
}

/// [`Store::household_benefits`].
pub(super) async fn household_benefits<DB: Backend>(
    pool: &Pool<DB>,
    scope: &ItemScope,
    household_no: &str,
) -> Result<Vec<Benefit>> {
    let (cond, binds) = project_scope(scope, 2);
    let select =
        format!("{BENEFIT_SELECT} WHERE b.household_no = $1{cond} ORDER BY p.year, p.name, b.kind");
    bind_all(sql(select).bind(household_no), &binds)
        .fetch_all(&mut *pool.acquire().await?)
        .await?
        .iter()
        .map(benefit_row)
        .collect()
}

/// [`Store::project_beneficiaries`].
pub(super) async fn project_beneficiaries<DB: Backend>(
    pool: &Pool<DB>,
    scope: &ItemScope,
    project: ProjectId,
) -> Result<Vec<Benefit>> {
    let (cond, binds) = project_scope(scope, 2);
    let select =
        format!("{BENEFIT_SELECT} WHERE b.project_id = $1{cond} ORDER BY b.household_no, b.kind");
    bind_all(sql(select).bind(project), &binds)
        .fetch_all(&mut *pool.acquire().await?)
        .await?
        .iter()
        .map(benefit_row)
        .collect()
}

/// [`Store::benefit_flags`]: against the current register version.
pub(super) async fn benefit_flags(store: &Store, scope: &Scope) -> Result<Vec<BenefitFlag>> {
    let Some(version) = store.register().current_version().await? else {
        return Ok(Vec::new());
    };
    on_pool!(store, pool => flags_in_version(pool, version.id, scope).await)
}

/// A household of a register version with benefits: 户编号, township, village and the
/// incomes it declared.
type Declared = (String, String, String, HouseholdValues);

/// [`Store::benefit_flags`] in register version `version`.
async fn flags_in_version<DB: Backend>(
    pool: &Pool<DB>,
    version: VersionId,
    scope: &Scope,
) -> Result<Vec<BenefitFlag>> {
    let (cond, binds) = scope.sql("a", 2);
    let households_sql = format!(
        "SELECT h.household_no, a.township, a.village, h.wage_income, h.property_income \
         FROM households h JOIN areas a ON a.version_id = h.version_id AND a.seq = h.area_seq \
         WHERE h.version_id = $1{cond} \
         AND h.household_no IN (SELECT household_no FROM project_beneficiaries) \
         ORDER BY h.household_no"
    );
    let benefits_sql = format!(
        "{BENEFIT_SELECT} \
         WHERE b.household_no IN (SELECT h.household_no FROM households h \
         JOIN areas a ON a.version_id = h.version_id AND a.seq = h.area_seq \
         WHERE h.version_id = $1{cond})"
    );
    let mut conn = pool.acquire().await?;
    let mut households: Vec<Declared> = Vec::new();
    for r in bind_all(sql(households_sql).bind(version), binds.iter().copied())
        .fetch_all(&mut *conn)
        .await?
    {
        let amount = |c: &str| -> Result<Entry<Fen>> {
            Ok(r.opt_int(c)?
                .map_or(Entry::Empty, |v| Entry::Value(Fen::new(v))))
        };
        households.push((
            r.text("household_no")?,
            r.text("township")?,
            r.text("village")?,
            HouseholdValues {
                wage_income: amount("wage_income")?,
                property_income: amount("property_income")?,
                ..HouseholdValues::default()
            },
        ));
    }
    let benefits = bind_all(sql(benefits_sql).bind(version), binds.iter().copied())
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(benefit_row)
        .collect::<Result<Vec<_>>>()?;
    let mut by_household: HashMap<&str, Vec<(BenefitKind, Fen)>> = HashMap::new();
    for b in &benefits {
        by_household
            .entry(b.household_no.as_str())
            .or_default()
            .push((b.kind, b.yearly));
    }
    Ok(households
        .into_iter()
        .filter_map(|(no, township, village, values)| {
            let recorded = by_household.get(no.as_str())?;
            let unaccounted = unaccounted_benefits(&values, recorded);
            (!unaccounted.is_empty()).then_some(BenefitFlag {
                household_no: no,
                township,
                village,
                unaccounted,
            })
        })
        .collect())
}

/// Whether `actor` records for a project `unit` implements ([`Action::RecordEntry`]).
fn records(actor: Actor<'_>, unit: &str) -> bool {
    let record = Action::RecordEntry {
        unit,
        overriding: false,
    };
    may(actor, record).is_ok()
}

/// Linking `household_no`, of `home` township (None: not in the register), to a project of
/// `project_township`.
fn link<'a>(project_township: &'a str, household_no: &'a str, home: Option<&'a str>) -> Action<'a> {
    Action::LinkBeneficiary {
        project_township,
        household_no,
        household_township: home,
    }
}
