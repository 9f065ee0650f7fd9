//! The change form (变更申请) of one household, made for a phone: the visit, the reason,
//! the 收入测算 (five income items added up as the cadre types, per person against the
//! line), 两不愁, housing, water and each member's fields, with evidence files. Only the
//! cells that differ from the register are sent to the store, which checks them with the
//! importer's rules; a refusal shows the form again with what was typed.

use crate::auth::{PageUser, Viewer};
use crate::csrf::{CsrfMultipart, Part};
use crate::error::{Error, PageError};
use crate::view::{self, Layout};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use fupin_domain::access::{may, Action};
use fupin_domain::change::{CellChange, Visit, HOUSEHOLD_FIELDS, INCOME_FIELDS, MEMBER_FIELDS};
use fupin_domain::fields::Field;
use fupin_domain::values::{Health, HousingGrade, Labor, Relocation, Renovation};
use fupin_domain::Fen;
use fupin_store::{today, ActingUser, HouseholdDetail, NewAttachment, NewChange};
use std::collections::HashMap;

/// The values a field may take on the form (empty: typed).
fn choices(f: Field) -> Vec<&'static str> {
    fn labels<T: Copy>(all: &[T], label: fn(T) -> &'static str) -> Vec<&'static str> {
        all.iter().map(|&v| label(v)).collect()
    }
    match f {
        Field::FoodSecure
        | Field::ClothingSecure
        | Field::SafeWater
        | Field::MedicalInsurance
        | Field::ActiveMilitary => vec!["是", "否"],
        Field::HousingGrade => labels(HousingGrade::ALL, HousingGrade::label),
        Field::Renovation => labels(Renovation::ALL, Renovation::label),
        Field::Relocation => labels(Relocation::ALL, Relocation::label),
        Field::Health => labels(Health::ALL, Health::label),
        Field::Labor => labels(Labor::ALL, Labor::label),
        _ => Vec::new(),
    }
}

/// One input of the form.
pub struct Input {
    pub name: String,
    pub label: &'static str,
    pub value: String,
    pub choices: Vec<&'static str>,
    pub money: bool,
}

pub struct MemberInputs {
    pub line: u64,
    pub who: String,
    pub inputs: Vec<Input>,
}

#[derive(Template)]
#[template(path = "change_form.html")]
struct FormPage {
    layout: Layout,
    no: String,
    household_url: String,
    head: String,
    place: String,
    message: String,
    visit_date: String,
    reason: String,
    done_on: String,
    income: Vec<Input>,
    others: Vec<Input>,
    members: Vec<MemberInputs>,
    /// Members and the line in fen, for the 收入测算 as one types.
    people: usize,
    line_fen: i64,
    line_text: String,
    may_direct: bool,
    direct: bool,
}

fn household_name(f: Field) -> String {
    format!("h_{}", f.alias())
}

fn member_name(line: u64, f: Field) -> String {
    format!("m{line}_{}", f.alias())
}

/// What the form sent: its text fields by name, and its files.
#[derive(Default)]
struct Sent {
    fields: HashMap<String, String>,
    files: Vec<NewAttachment>,
}

impl Sent {
    fn get(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

/// The form with the register's values, or (after a refusal) what was typed.
fn form(
    v: &Viewer,
    d: &HouseholdDetail,
    line: Option<Fen>,
    sent: Option<&Sent>,
    message: String,
) -> FormPage {
    let rows = d.rows();
    let current = |row: usize, f: Field| {
        rows.get(row)
            .map(|r| r[f.index()].clone())
            .unwrap_or_default()
    };
    let typed =
        |name: &str, was: String| sent.and_then(|s| s.get(name)).map_or(was, str::to_string);
    let input = |name: String, f: Field, was: String| Input {
        value: typed(&name, was),
        name,
        label: f.chinese(),
        choices: choices(f),
        money: INCOME_FIELDS.contains(&f),
    };
    let (income, others): (Vec<Field>, Vec<Field>) = HOUSEHOLD_FIELDS
        .iter()
        .partition(|f| INCOME_FIELDS.contains(f));
    let may_direct = may(v.user().role.actor(None), Action::ApplyChange).is_ok();
    let head = d
        .members
        .iter()
        .find(|m| m.member.is_head)
        .and_then(|m| m.name.clone())
        .unwrap_or_else(|| "—".into());
    FormPage {
        layout: Layout::of(v, format!("变更申请 · 户 {}", d.row.household_no), "home"),
        no: d.row.household_no.clone(),
        household_url: view::household_url(&d.row.household_no),
        head,
        place: format!("{} {}", d.row.township, d.row.village),
        message,
        visit_date: typed("visit_date", today().to_string()),
        reason: typed("reason", String::new()),
        done_on: typed("done_on", String::new()),
        income: income
            .into_iter()
            .map(|f| input(household_name(f), f, current(0, f)))
            .collect(),
        others: others
            .into_iter()
            .map(|f| input(household_name(f), f, current(0, f)))
            .collect(),
        members: d
            .members
            .iter()
            .enumerate()
            .map(|(i, m)| MemberInputs {
                line: m.member.line,
                who: format!(
                    "{}（{}）",
                    m.name
                        .clone()
                        .unwrap_or_else(|| format!("第{}行成员", m.member.line)),
                    if m.member.is_head {
                        "户主"
                    } else {
                        m.relation.as_deref().unwrap_or("成员")
                    }
                ),
                inputs: MEMBER_FIELDS
                    .iter()
                    .map(|&f| input(member_name(m.member.line, f), f, current(i, f)))
                    .collect(),
            })
            .collect(),
        people: d.members.len(),
        line_fen: line.map_or(0, Fen::fen),
        line_text: line.map_or("—".into(), Fen::grouped_short),
        may_direct,
        direct: sent.is_some_and(|s| s.get("direct") == Some("1")),
    }
}

async fn household(
    state: &AppState,
    v: &Viewer,
    no: &str,
) -> Result<(HouseholdDetail, Option<Fen>), Error> {
    let d = state
        .store
        .register()
        .household(&v.scope, no)
        .await?
        .ok_or(Error::NotFound)?;
    let line = d.line();
    Ok((d, line))
}

/// GET /households/{household_no}/change
pub async fn page(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(no): Path<String>,
) -> Result<Html<String>, PageError> {
    let (d, line) = household(&state, &v, &no).await?;
    may(
        v.user().role.actor(None),
        Action::SubmitChange {
            township: &d.row.township,
            village: &d.row.village,
        },
    )
    .map_err(Error::from)?;
    Ok(Html(form(&v, &d, line, None, String::new()).render()?))
}

async fn read(mut mp: CsrfMultipart) -> Result<Sent, Error> {
    let mut sent = Sent::default();
    while let Some(part) = mp.next_field().await? {
        let Part::Field(field) = part else {
            continue;
        };
        let name = field.name().unwrap_or_default().to_string();
        if name == "files" {
            sent.files.extend(crate::upload::file_part(field).await?);
            continue;
        }
        let text = crate::upload::field_text(field).await?;
        sent.fields.insert(name, text);
    }
    Ok(sent)
}

/// Whether a typed value says the same as the register's (amounts compared as amounts).
fn same(f: Field, typed: &str, was: &str) -> bool {
    let typed = typed.trim();
    if INCOME_FIELDS.contains(&f) {
        let amount = |t: &str| {
            if t.is_empty() {
                Ok(Fen::ZERO)
            } else {
                Fen::parse_yuan(t)
            }
        };
        if let (Ok(a), Ok(b)) = (amount(typed), amount(was)) {
            return a == b;
        }
    }
    typed == was
}

/// The cells that differ from the register.
fn changed_cells(d: &HouseholdDetail, sent: &Sent) -> Vec<CellChange> {
    let rows = d.rows();
    let mut cells = Vec::new();
    for &f in &HOUSEHOLD_FIELDS {
        if let Some(t) = sent.get(&household_name(f)) {
            if !same(f, t, &rows[0][f.index()]) {
                cells.push(CellChange {
                    member: None,
                    field: f,
                    value: t.trim().into(),
                });
            }
        }
    }
    for (i, m) in d.members.iter().enumerate() {
        for &f in &MEMBER_FIELDS {
            if let Some(t) = sent.get(&member_name(m.member.line, f)) {
                if !same(f, t, &rows[i][f.index()]) {
                    cells.push(CellChange {
                        member: Some(m.member.line),
                        field: f,
                        value: t.trim().into(),
                    });
                }
            }
        }
    }
    cells
}

fn date(sent: &Sent, name: &str, what: &str) -> Result<Option<chrono::NaiveDate>, String> {
    match sent.get(name).map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => t
            .parse()
            .map(Some)
            .map_err(|_| format!("{what}「{t}」应为 2026-12-01 这样的日期")),
    }
}

/// POST /households/{household_no}/change (multipart: the fields, files, csrf)
pub async fn submit(
    State(state): State<AppState>,
    PageUser(v): PageUser,
    Path(no): Path<String>,
    mp: CsrfMultipart,
) -> Result<Response, PageError> {
    let sent = read(mp).await?;
    let (d, line) = household(&state, &v, &no).await?;
    let again = |status: StatusCode, message: String| -> Result<Response, PageError> {
        Ok((
            status,
            Html(form(&v, &d, line, Some(&sent), message).render()?),
        )
            .into_response())
    };
    let visit = match (
        date(&sent, "visit_date", "走访日期"),
        date(&sent, "done_on", "竣工日期"),
    ) {
        (Ok(Some(date)), Ok(done_on)) => Visit {
            date,
            reason: sent.get("reason").unwrap_or_default().to_string(),
            done_on,
        },
        (Ok(None), _) => return again(StatusCode::UNPROCESSABLE_ENTITY, "请填写走访日期".into()),
        (Err(m), _) | (_, Err(m)) => return again(StatusCode::UNPROCESSABLE_ENTITY, m),
    };
    let change = NewChange {
        household_no: d.row.household_no.clone(),
        visit,
        cells: changed_cells(&d, &sent),
        files: sent.files.clone(),
    };
    let direct = sent.get("direct") == Some("1");
    let acting = ActingUser {
        user: v.user(),
        post: None,
    };
    match state
        .store
        .changes()
        .submit(&acting, &change, direct)
        .await?
    {
        Ok(r) => {
            let msg = if direct {
                format!(
                    "变更申请第 {} 号已直接生效：评估结论为「{}」",
                    r.id,
                    r.verdict_after.map_or("—", fupin_domain::Verdict::chinese)
                )
            } else {
                format!("变更申请第 {} 号已提交，等待乡镇审核", r.id)
            };
            Ok(Redirect::to(&format!(
                "{}?msg={}",
                view::household_url(&no),
                view::enc(&msg)
            ))
            .into_response())
        }
        Err(r) => again(crate::error::refusal_status(&r), r.into_message()),
    }
}

#[cfg(test)]
mod tests {
    use super::same;
    use fupin_domain::fields::Field;

    #[test]
    fn amounts_compare_as_amounts() {
        assert!(same(Field::WageIncome, "3000", "3000.00"));
        assert!(same(Field::WageIncome, "3,000.0", "3000.00"));
        assert!(same(Field::WageIncome, "", "0.00"));
        assert!(!same(Field::WageIncome, "3000.01", "3000.00"));
        assert!(same(Field::HousingGrade, " C ", "C"));
        assert!(!same(Field::HousingGrade, "c", "C"));
    }
}
