//! The problems of a funds file's rows that the store refused: each
//! [`RowRefusal`] written as the file's problem, with the column, the code, the words
//! and the value as given, the way the readers write theirs.

use crate::projects_file::budget_header;
use fupin_domain::funds::EntryField;
use fupin_domain::funds_rows::{Recording, RowRefusal, Why};
use fupin_domain::problem::{Problem, ProblemCode};
use std::sync::Arc;

/// Every refusal of `file_name`, in the order the store found them.
pub fn problems(file_name: &str, refused: &[RowRefusal]) -> Vec<Problem> {
    let file: Arc<str> = file_name.into();
    refused.iter().map(|r| problem(&file, r)).collect()
}

/// One refusal as the problem of its row.
pub fn problem(file: &Arc<str>, r: &RowRefusal) -> Problem {
    let (column, code, message, value) = match &r.why {
        Why::UnknownProject {
            year,
            project,
            recording,
        } => {
            let what = match recording {
                Recording::Beneficiary => "带贫户",
                Recording::Disbursement => "资金拨付",
            };
            (
                "项目名称",
                ProblemCode::F510,
                format!(
                    "项目库中没有{year}年度「{project}」，或您无权登记它的{what}（指挥部可登记所有项目，实施单位只能登记本单位的项目）"
                ),
                project.clone(),
            )
        }
        Why::HouseholdNotLinkable {
            household_no,
            refusal,
        } => (
            "户编号",
            ProblemCode::F510,
            refusal.to_string(),
            household_no.clone(),
        ),
        Why::EntryField { refusal, value } => (
            refusal.field.chinese(),
            match refusal.field {
                EntryField::Date => ProblemCode::F505,
                EntryField::Voucher | EntryField::Payee => ProblemCode::F502,
            },
            refusal.message.clone(),
            value.clone(),
        ),
        Why::Entry {
            year,
            project,
            amount,
            refusal,
        } => (
            "金额",
            ProblemCode::F511,
            format!("{year}年度「{project}」：{refusal}"),
            amount.plain(),
        ),
        Why::BudgetBelowDisbursed {
            year,
            project,
            source,
            budget,
            disbursed,
        } => (
            budget_header(*source),
            ProblemCode::F504,
            format!(
                "{year}年度「{project}」的{}预算改为 {} 元，低于已拨付的 {} 元：预算不能低于已拨付金额（多拨的资金请先冲销）",
                source.chinese(),
                budget.grouped(),
                disbursed.grouped()
            ),
            budget.plain(),
        ),
        Why::TaskNotInPlan {
            year,
            project,
            task_no,
        }
        | Why::NoPlanForTask {
            year,
            project,
            task_no,
        } => (
            "服务重点工作(序号)",
            ProblemCode::F552,
            if matches!(r.why, Why::TaskNotInPlan { .. }) {
                format!(
                    "{year}年度「{project}」服务的重点工作序号 {task_no} 不在{year}年责任分解方案中：按任务统计时归入该序号，请核对"
                )
            } else {
                format!("尚未导入{year}年责任分解方案，无法核对「{project}」服务的重点工作序号 {task_no}")
            },
            task_no.to_string(),
        ),
    };
    Problem::new(file, r.line, column, code, message, value)
}
