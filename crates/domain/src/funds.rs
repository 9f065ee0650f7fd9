//! Projects and funds (issue 7, docs `projects-and-funds.md`): the project library, its
//! budget by fund source, the append-only disbursement ledger (资金拨付台账) and its rules,
//! disbursement rates, the behind-schedule rule, and the check of project benefits against
//! the income a household declares.
//!
//! Pure: reading project files is in `fupin_io::projects_file`; storing them and the
//! ledger (with database triggers that refuse edits) is the store's business.

use crate::figures::Rate;
use crate::household::{Entry, HouseholdValues};
use crate::money::Fen;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Defines a closed set of values with a machine code and a Chinese name, parsed from
/// either (and from extra Chinese aliases).
macro_rules! coded {
    ($(#[$m:meta])* $name:ident ($what:literal) { $($(#[$vm:meta])* $v:ident = ($code:literal, $zh:literal $(, $alias:literal)*)),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $v),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),*];

            /// The machine code stored in the database and used in JSON: `industry`.
            pub fn code(self) -> &'static str {
                match self { $($name::$v => $code),* }
            }

            /// The Chinese name users read.
            pub fn chinese(self) -> &'static str {
                match self { $($name::$v => $zh),* }
            }

            /// From the Chinese name, an alias, or the code (any case); trimmed.
            pub fn parse(text: &str) -> Option<$name> {
                let t = text.trim();
                $(
                    if t == $zh $(|| t == $alias)* || t.eq_ignore_ascii_case($code) {
                        return Some($name::$v);
                    }
                )*
                None
            }

            /// What a cell may hold, for messages: `产业、光伏、…`.
            pub fn allowed() -> String {
                $name::ALL.iter().map(|v| v.chinese()).collect::<Vec<_>>().join("、")
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::words::Unrecognized;

            fn from_str(text: &str) -> Result<$name, Self::Err> {
                $name::parse(text)
                    .ok_or_else(|| crate::words::Unrecognized::new($what, text.trim(), $name::allowed()))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.chinese())
            }
        }
    };
}

coded!(
    /// 项目类型.
    ProjectType ("项目类型") {
        Industry = ("industry", "产业", "产业发展"),
        Photovoltaic = ("photovoltaic", "光伏", "光伏扶贫"),
        Infrastructure = ("infrastructure", "基础设施", "基础设施建设"),
        Housing = ("housing", "危房改造", "住房", "住房安全"),
        Water = ("water", "饮水安全", "饮水"),
        Relocation = ("relocation", "易地扶贫搬迁", "易地搬迁"),
        Education = ("education", "教育", "教育扶贫"),
        Health = ("health", "健康", "健康扶贫"),
        Training = ("training", "培训", "技能培训"),
        Finance = ("finance", "金融", "金融扶贫"),
        Ecommerce = ("ecommerce", "电商", "电商扶贫"),
        Other = ("other", "其他"),
    }
);

coded!(
    /// 项目阶段: 入库 → 批复 → 实施 → 完工 → 验收 → 绩效评价.
    Stage ("项目阶段") {
        Registered = ("registered", "入库"),
        Approved = ("approved", "批复"),
        Implementing = ("implementing", "实施"),
        Completed = ("completed", "完工"),
        Accepted = ("accepted", "验收"),
        Evaluated = ("evaluated", "绩效评价"),
    }
);

coded!(
    /// 资金来源.
    FundSource ("资金来源") {
        Central = ("central", "中央", "中央资金", "中央财政"),
        Provincial = ("provincial", "省级", "省级资金", "省级财政"),
        City = ("city", "市级", "市级资金", "市级财政"),
        County = ("county", "县级", "县级资金", "县级财政"),
        Integrated = ("integrated", "统筹整合涉农资金", "整合资金"),
        Social = ("social", "社会帮扶", "社会帮扶资金"),
        Credit = ("credit", "信贷", "信贷资金"),
    }
);

coded!(
    /// 带贫方式: how a household benefits from a project.
    BenefitKind ("带贫方式") {
        /// 分红 (asset-income dividends, e.g. PV shares): property income.
        Dividend = ("dividend", "分红", "资产收益分红"),
        /// 务工工资 (work on the project, 公益岗位): wage income.
        Wage = ("wage", "务工", "务工工资", "工资"),
        /// 土地流转租金: property income.
        LandRent = ("land_rent", "土地流转", "土地租金", "土地流转租金"),
        /// 服务 (training, technical or health services): not a cash income.
        Service = ("service", "服务", "技术服务"),
    }
);

impl Stage {
    /// The next stage, if any.
    pub fn next(self) -> Option<Stage> {
        let i = Stage::ALL.iter().position(|s| *s == self)?;
        Stage::ALL.get(i + 1).copied()
    }

    /// Policy (issue 7, 项目阶段): a project moves forward one stage at a time, never skips
    /// one, and never goes back (a stage recorded by mistake is corrected by headquarters
    /// re-importing the project library, which is audited).
    pub fn can_move_to(self, to: Stage) -> bool {
        self.next() == Some(to)
    }
}

/// A project's budget: an amount for each fund source (zero when it has none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Budget([Fen; 7]);

impl Budget {
    pub fn get(&self, s: FundSource) -> Fen {
        self.0[s as usize]
    }

    pub fn set(&mut self, s: FundSource, amount: Fen) {
        self.0[s as usize] = amount;
    }

    pub fn with(mut self, s: FundSource, amount: Fen) -> Budget {
        self.set(s, amount);
        self
    }

    pub fn total(&self) -> Fen {
        self.0.iter().copied().sum()
    }

    /// The sources with a non-zero amount, in [`FundSource::ALL`] order.
    pub fn sources(&self) -> Vec<(FundSource, Fen)> {
        FundSource::ALL
            .iter()
            .map(|s| (*s, self.get(*s)))
            .filter(|(_, f)| f.fen() != 0)
            .collect()
    }
}

/// A project of the library (项目库).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Project {
    /// 项目名称: with the year, the project's key in the library.
    pub name: String,
    /// 年度.
    pub year: i32,
    pub kind: ProjectType,
    /// 乡镇.
    pub township: String,
    /// 行政村; None for a project of a whole township.
    pub village: Option<String>,
    /// 服务重点工作(序号): the plan's key task the project serves.
    pub task_no: Option<u32>,
    /// 实施单位.
    pub unit: String,
    pub budget: Budget,
    pub stage: Stage,
    pub planned_start: Option<NaiveDate>,
    pub planned_end: Option<NaiveDate>,
    pub actual_start: Option<NaiveDate>,
    pub actual_end: Option<NaiveDate>,
}

/// Policy (issue 7, dates): an end is not before its start; an actual start needs a stage
/// of 实施 or later; an actual end needs 完工 or later. Returns the problems in Chinese.
pub fn date_problems(p: &Project) -> Vec<String> {
    let mut out = Vec::new();
    if let (Some(s), Some(e)) = (p.planned_start, p.planned_end) {
        if e < s {
            out.push(format!("计划完工日期 {e} 早于计划开工日期 {s}"));
        }
    }
    if let (Some(s), Some(e)) = (p.actual_start, p.actual_end) {
        if e < s {
            out.push(format!("实际完工日期 {e} 早于实际开工日期 {s}"));
        }
    }
    if p.actual_start.is_some() && p.stage < Stage::Implementing {
        out.push(format!(
            "项目阶段为「{}」却填了实际开工日期：实际开工的项目阶段应为 实施 或以后",
            p.stage.chinese()
        ));
    }
    if p.actual_end.is_some() && p.stage < Stage::Completed {
        out.push(format!(
            "项目阶段为「{}」却填了实际完工日期：实际完工的项目阶段应为 完工 或以后",
            p.stage.chinese()
        ));
    }
    out
}

// ---------------------------------------------------------------------------------------
// The ledger.

/// The id of an entry of the ledger.
pub type EntryId = crate::id::Id<LedgerEntry>;

/// What an entry of the ledger is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EntryKind {
    /// 拨付: money paid out.
    Disbursement,
    /// 冲销: a correction taking back (part of) an earlier disbursement.
    Reversal { of: EntryId },
}

/// An entry of a project's ledger as recorded. `amount` is always positive; a reversal
/// counts against the disbursed sum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LedgerEntry {
    pub id: EntryId,
    pub date: NaiveDate,
    pub source: FundSource,
    pub amount: Fen,
    pub kind: EntryKind,
}

impl LedgerEntry {
    /// What the entry adds to the disbursed sum: + for a disbursement, − for a reversal.
    pub fn signed(&self) -> Fen {
        match self.kind {
            EntryKind::Disbursement => self.amount,
            EntryKind::Reversal { .. } => -self.amount,
        }
    }
}

/// An entry to record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewEntry {
    pub date: NaiveDate,
    pub source: FundSource,
    pub amount: Fen,
    pub kind: EntryKind,
}

/// An entry to record in a project's ledger, with its papers: what the form, the API and
/// a disbursement file's row give.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewFundEntry {
    pub date: NaiveDate,
    pub source: FundSource,
    pub amount: Fen,
    /// 凭证号.
    pub voucher: String,
    /// 收款单位/人.
    pub payee: String,
    /// 备注.
    pub note: String,
}

impl NewFundEntry {
    /// The entry, recorded as `kind`, as the ledger's rule reads it.
    pub fn ledger_entry(&self, kind: EntryKind) -> NewEntry {
        NewEntry {
            date: self.date,
            source: self.source,
            amount: self.amount,
            kind,
        }
    }

    /// [`check_entry_fields`] of the entry recorded as `kind` on `today`.
    pub fn check_fields(&self, kind: EntryKind, today: NaiveDate) -> Result<(), FieldRefusal> {
        check_entry_fields(self.date, &self.voucher, &self.payee, kind, today)
    }
}

/// Why an entry may not be recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The amount is zero or negative (a correction is a reversal of a positive amount).
    NotPositive,
    /// A reversal of an entry not in this project's ledger.
    UnknownEntry(EntryId),
    /// A reversal of a reversal: reverse the disbursement again instead.
    ReversalOfReversal(EntryId),
    /// A reversal whose source differs from the entry it reverses.
    OtherSource { of: EntryId, source: FundSource },
    /// A reversal larger than what is left of the entry it reverses.
    ReversalTooLarge { of: EntryId, left: Fen },
    /// A disbursement that takes the source over its budget, without an override.
    OverBudget {
        source: FundSource,
        budget: Fen,
        disbursed: Fen,
        amount: Fen,
    },
    /// An override without a reason.
    OverrideWithoutReason,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotPositive => f.write_str("金额应大于0；更正错误请对原拨付记录做冲销"),
            Refusal::UnknownEntry(id) => write!(f, "本项目没有编号为 {id} 的拨付记录"),
            Refusal::ReversalOfReversal(id) => {
                write!(f, "记录 {id} 本身是冲销，不能再冲销；如需恢复，请重新登记一笔拨付")
            }
            Refusal::OtherSource { of, source } => write!(
                f,
                "冲销的资金来源应与被冲销的记录 {of} 相同（{}）",
                source.chinese()
            ),
            Refusal::ReversalTooLarge { of, left } => write!(
                f,
                "冲销金额超过记录 {of} 尚未冲销的金额 {} 元",
                left.grouped()
            ),
            Refusal::OverBudget {
                source,
                budget,
                disbursed,
                amount,
            } => write!(
                f,
                "{}资金预算 {} 元，已拨付 {} 元，本次 {} 元将超出预算 {} 元：如确需超预算拨付，须由指挥部管理员注明理由后登记",
                source.chinese(),
                budget.grouped(),
                disbursed.grouped(),
                amount.grouped(),
                (*disbursed + *amount - *budget).grouped()
            ),
            Refusal::OverrideWithoutReason => f.write_str("超预算拨付须注明理由"),
        }
    }
}

impl std::error::Error for Refusal {}

/// An override of the budget limit: who may give one is the caller's check (headquarters);
/// the reason is recorded with the entry and in the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Override {
    pub reason: String,
}

/// What an accepted entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// Whether it takes its source over budget (allowed only by an override).
    pub over_budget: bool,
}

/// The net disbursed sum of one source: disbursements less reversals.
pub fn disbursed(entries: &[LedgerEntry], source: FundSource) -> Fen {
    entries
        .iter()
        .filter(|e| e.source == source)
        .map(LedgerEntry::signed)
        .sum()
}

/// The net disbursed sum of all sources.
pub fn disbursed_total(entries: &[LedgerEntry]) -> Fen {
    entries.iter().map(LedgerEntry::signed).sum()
}

/// What is left of a disbursement after the reversals of it; None when `id` is not a
/// disbursement of this ledger.
pub fn unreversed(entries: &[LedgerEntry], id: EntryId) -> Option<Fen> {
    let e = entries.iter().find(|e| e.id == id)?;
    if e.kind != EntryKind::Disbursement {
        return None;
    }
    let reversed: Fen = entries
        .iter()
        .filter(|r| r.kind == EntryKind::Reversal { of: id })
        .map(|r| r.amount)
        .sum();
    Some(e.amount - reversed)
}

/// Policy (issue 7, 资金拨付): amounts are positive; a mistake is corrected by a reversal
/// of an earlier disbursement of the same project and source, never larger than what is
/// left of it, and never of a reversal; a disbursement may not take its source past the
/// project's budget for it unless headquarters overrides with a reason (an override without
/// a reason is refused). Reversals only lower the disbursed sum and are always within
/// budget.
pub fn check_entry(
    budget: &Budget,
    entries: &[LedgerEntry],
    new: &NewEntry,
    over: Option<&Override>,
) -> Result<Accepted, Refusal> {
    if new.amount.fen() <= 0 {
        return Err(Refusal::NotPositive);
    }
    if let Some(o) = over {
        if o.reason.trim().is_empty() {
            return Err(Refusal::OverrideWithoutReason);
        }
    }
    match new.kind {
        EntryKind::Reversal { of } => {
            let target = entries
                .iter()
                .find(|e| e.id == of)
                .ok_or(Refusal::UnknownEntry(of))?;
            if target.kind != EntryKind::Disbursement {
                return Err(Refusal::ReversalOfReversal(of));
            }
            if target.source != new.source {
                return Err(Refusal::OtherSource {
                    of,
                    source: target.source,
                });
            }
            let left = unreversed(entries, of).unwrap_or(Fen::ZERO);
            if new.amount > left {
                return Err(Refusal::ReversalTooLarge { of, left });
            }
            Ok(Accepted { over_budget: false })
        }
        EntryKind::Disbursement => {
            let b = budget.get(new.source);
            let d = disbursed(entries, new.source);
            let over_budget = d.fen().saturating_add(new.amount.fen()) > b.fen();
            if over_budget && over.is_none() {
                return Err(Refusal::OverBudget {
                    source: new.source,
                    budget: b,
                    disbursed: d,
                    amount: new.amount,
                });
            }
            Ok(Accepted { over_budget })
        }
    }
}

/// The earliest date an entry of the ledger may carry: 2014-01-01, when 建档立卡 and the
/// funds of 精准扶贫 began; an earlier date is a typing mistake.
pub const EARLIEST_ENTRY_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2014, 1, 1) {
    Some(d) => d,
    None => panic!("2014-01-01 is a date"),
};

/// A field of a ledger entry that a person fills in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryField {
    Date,
    Voucher,
    Payee,
}

impl EntryField {
    /// The column of the disbursement file and the label of the form.
    pub fn chinese(self) -> &'static str {
        match self {
            EntryField::Date => "拨付日期",
            EntryField::Voucher => "凭证号",
            EntryField::Payee => "收款单位",
        }
    }

    /// The field of the API's JSON body.
    pub fn json(self) -> &'static str {
        match self {
            EntryField::Date => "date",
            EntryField::Voucher => "voucher",
            EntryField::Payee => "payee",
        }
    }
}

/// Why an entry's own fields are refused: the field and what is accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldRefusal {
    pub field: EntryField,
    pub message: String,
}

impl fmt::Display for FieldRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FieldRefusal {}

/// Policy (issue 20, 拨付记录的必填项与日期): every entry has a 凭证号; a disbursement has a
/// 收款单位 (a reversal's is the reversed entry's when left empty); the date is not after
/// `today` (the county's date, UTC+8) and not before [`EARLIEST_ENTRY_DATE`]. The form, the
/// API and the disbursement file all apply it.
pub fn check_entry_fields(
    date: NaiveDate,
    voucher: &str,
    payee: &str,
    kind: EntryKind,
    today: NaiveDate,
) -> Result<(), FieldRefusal> {
    let refuse = |field, message: String| Err(FieldRefusal { field, message });
    if voucher.trim().is_empty() {
        return refuse(
            EntryField::Voucher,
            "请填写凭证号（记账凭证的编号，如 记-0401）".into(),
        );
    }
    if kind == EntryKind::Disbursement && payee.trim().is_empty() {
        return refuse(
            EntryField::Payee,
            "请填写收款单位（人）：资金拨付给谁".into(),
        );
    }
    if date > today {
        return refuse(
            EntryField::Date,
            format!("拨付日期 {date} 晚于今天（{today}）：只能登记已经发生的拨付"),
        );
    }
    if date < EARLIEST_ENTRY_DATE {
        return refuse(
            EntryField::Date,
            format!(
                "拨付日期 {date} 早于 {EARLIEST_ENTRY_DATE}（精准扶贫建档立卡开始）：请检查年份"
            ),
        );
    }
    Ok(())
}

/// The disbursement rate: disbursed ÷ budget, exactly; None without a budget. A negative
/// sum (impossible in a checked ledger) counts as zero.
pub fn rate(budget: Fen, disbursed: Fen) -> Option<Rate> {
    Rate::new(disbursed.fen().max(0) as u64, budget.fen().max(0) as u64)
}

/// 进度滞后: by a date, at least a share of the budget should be disbursed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScheduleRule {
    pub by: NaiveDate,
    /// The least share disbursed by then, in basis points (5000 = 50%).
    pub min_bp: u64,
}

/// Policy (issue 7, 进度滞后): once `today` reaches the rule's date, a project with a budget
/// whose sum disbursed up to that date is below the rule's share is behind schedule;
/// before the date no project is.
pub fn is_behind(
    rule: ScheduleRule,
    today: NaiveDate,
    budget: Fen,
    disbursed_by_date: Fen,
) -> bool {
    today >= rule.by && rate(budget, disbursed_by_date).is_some_and(|r| r.below_bp(rule.min_bp))
}

// ---------------------------------------------------------------------------------------
// Benefits and declared income.

/// The income component a kind of benefit belongs to; None for services (not cash).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IncomeComponent {
    /// 工资性收入.
    Wage,
    /// 财产性收入.
    Property,
}

impl IncomeComponent {
    pub fn chinese(self) -> &'static str {
        match self {
            IncomeComponent::Wage => "工资性收入",
            IncomeComponent::Property => "财产性收入",
        }
    }
}

impl BenefitKind {
    pub fn component(self) -> Option<IncomeComponent> {
        match self {
            BenefitKind::Dividend | BenefitKind::LandRent => Some(IncomeComponent::Property),
            BenefitKind::Wage => Some(IncomeComponent::Wage),
            BenefitKind::Service => None,
        }
    }
}

/// A household's income component that does not account for its recorded project
/// benefits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unaccounted {
    pub component: IncomeComponent,
    /// The yearly benefits recorded for the component.
    pub recorded: Fen,
    /// What the household declared (None: left empty).
    pub declared: Option<Fen>,
}

/// Policy (issue 7, 带贫收益与收入核对): a household's yearly dividends and land rent from
/// projects are part of its 财产性收入, its project wages part of its 工资性收入; a
/// component declared below the benefits recorded for it (or left empty while some are
/// recorded) is flagged. Services are not cash and are not checked. An invalid cell is
/// already a register problem and is not flagged again.
pub fn unaccounted_benefits(
    values: &HouseholdValues,
    benefits: &[(BenefitKind, Fen)],
) -> Vec<Unaccounted> {
    let mut out = Vec::new();
    for (component, declared) in [
        (IncomeComponent::Wage, values.wage_income),
        (IncomeComponent::Property, values.property_income),
    ] {
        let recorded: i64 = benefits
            .iter()
            .filter(|(k, _)| k.component() == Some(component))
            .map(|(_, f)| f.fen())
            .sum();
        if recorded <= 0 {
            continue;
        }
        let flagged = match declared {
            Entry::Invalid => None,
            Entry::Empty => Some(None),
            Entry::Value(d) if d.fen() < recorded => Some(Some(d)),
            Entry::Value(_) => None,
        };
        if let Some(declared) = flagged {
            out.push(Unaccounted {
                component,
                recorded: Fen::new(recorded),
                declared,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_parse_back() {
        for t in ProjectType::ALL {
            assert_eq!(ProjectType::parse(t.code()), Some(*t));
            assert_eq!(ProjectType::parse(t.chinese()), Some(*t));
        }
        for s in FundSource::ALL {
            assert_eq!(FundSource::parse(s.chinese()), Some(*s));
        }
        assert_eq!(FundSource::parse("整合资金"), Some(FundSource::Integrated));
        assert_eq!(Stage::parse(" 绩效评价 "), Some(Stage::Evaluated));
        assert_eq!(Stage::parse("完成"), None);
    }
}
