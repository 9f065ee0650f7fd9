//! Problems found in register files (registry spec §4, 基层资料规范化).

use serde::Serialize;
use std::fmt;
use std::sync::Arc;

/// A problem code. E-codes are errors (the household becomes `data_error`, or for
/// file-level codes nothing is assessed); W-codes are warnings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum ProblemCode {
    /// A required column is missing (file-level).
    E101,
    /// A required value is empty.
    E102,
    /// A value outside the allowed set.
    E103,
    /// An amount that is not a decimal ≥ 0 with at most 2 fractional digits.
    E104,
    /// An ID number of the wrong length or characters, or a failed check character.
    E105,
    /// The birth date in an ID number is not a real date, or is after 31 December of Y.
    E106,
    /// The same ID number on more than one row.
    E107,
    /// A household with no 户主 or with more than one.
    E108,
    /// Household-level fields that differ between rows of one household.
    E109,
    /// A member's village missing from the villages file (file-level).
    E110,
    /// A name holding a control, text-direction or zero-width character.
    E111,
    /// Sex column disagrees with the ID number.
    W201,
    /// per_capita_income differs from the computed value by more than 1 yuan.
    W202,
    /// Schooling implausible for age.
    W203,
    /// Unknown columns ignored.
    W205,
    /// Plan file (plan spec): a required column is missing (nothing is read).
    P301,
    /// Plan file: a required value is empty (序号, 重点工作, or a task without a leader, a
    /// lead unit or an implementing unit).
    P302,
    /// Plan file: more than one responsible leader for a task.
    P303,
    /// Plan file: implementing units and responsible persons do not pair one to one.
    P304,
    /// Plan file: one 序号 used for two different tasks.
    P305,
    /// Plan file: a deadline that is not a date in an accepted form, nor 长期.
    P306,
    /// Plan file: rows of one task that name different lead units or deadlines.
    P307,
    /// Plan file: an unknown gap code in 负责问题.
    P308,
    /// Plan file: a 序号 that is not a positive integer.
    P309,
    /// Plan facts (方案信息 sheet or command-line options): missing or invalid.
    P310,
    /// Plan file (warning): a gap code owned by more than one task; the smaller 序号 wins.
    P401,
    /// Plan file (warning): the declared number of key tasks differs from the number listed.
    P402,
    /// Plan file (warning): unknown columns or 方案信息 items ignored.
    P403,
    /// Project library or ledger file (projects spec): a required column is missing (nothing is read).
    F501,
    /// Project file: a required value is empty.
    F502,
    /// Project file: a value outside its allowed set (项目类型, 项目阶段, 资金来源, 带贫方式).
    F503,
    /// Project file: an amount that is not yuan ≥ 0 with at most 2 decimals.
    F504,
    /// Project file: a date that is not a date in an accepted form.
    F505,
    /// Project file: the same project (年度 and 项目名称) on two rows.
    F506,
    /// Project file: a year or task number that is not a valid number.
    F507,
    /// Project file: dates or stage that contradict each other.
    F508,
    /// Project file: a project without any budget.
    F509,
    /// Ledger or beneficiaries file: a project (年度 and 项目名称) not in the library or not in the user's scope, or one the user may not record for.
    F510,
    /// Ledger file: an entry the ledger's rule refuses (over budget, not positive).
    F511,
    /// Project file (warning): unknown columns ignored.
    F551,
    /// Project library (warning, at import): a 服务重点工作 序号 that is not a task of that
    /// year's plan in force (or no plan of that year is imported).
    F552,
}

impl ProblemCode {
    pub fn is_error(self) -> bool {
        !matches!(
            self,
            ProblemCode::W201
                | ProblemCode::W202
                | ProblemCode::W203
                | ProblemCode::W205
                | ProblemCode::P401
                | ProblemCode::P402
                | ProblemCode::P403
                | ProblemCode::F551
                | ProblemCode::F552
        )
    }

    /// Codes of plan files (P3xx errors, P4xx warnings), not of the register.
    pub fn is_plan(self) -> bool {
        self.as_str().starts_with('P')
    }

    /// Codes of project library and ledger files (F5xx), not of the register.
    pub fn is_project(self) -> bool {
        self.as_str().starts_with('F')
    }

    /// File-level problems stop the whole run: nothing is assessed.
    pub fn is_file_level(self) -> bool {
        matches!(
            self,
            ProblemCode::E101 | ProblemCode::E110 | ProblemCode::P301 | ProblemCode::F501
        )
    }

    /// The code its text names (`E105`), as stored.
    pub fn of_code(code: &str) -> Option<ProblemCode> {
        ProblemCode::ALL.into_iter().find(|c| c.as_str() == code)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ProblemCode::E101 => "E101",
            ProblemCode::E102 => "E102",
            ProblemCode::E103 => "E103",
            ProblemCode::E104 => "E104",
            ProblemCode::E105 => "E105",
            ProblemCode::E106 => "E106",
            ProblemCode::E107 => "E107",
            ProblemCode::E108 => "E108",
            ProblemCode::E109 => "E109",
            ProblemCode::E110 => "E110",
            ProblemCode::E111 => "E111",
            ProblemCode::W201 => "W201",
            ProblemCode::W202 => "W202",
            ProblemCode::W203 => "W203",
            ProblemCode::W205 => "W205",
            ProblemCode::P301 => "P301",
            ProblemCode::P302 => "P302",
            ProblemCode::P303 => "P303",
            ProblemCode::P304 => "P304",
            ProblemCode::P305 => "P305",
            ProblemCode::P306 => "P306",
            ProblemCode::P307 => "P307",
            ProblemCode::P308 => "P308",
            ProblemCode::P309 => "P309",
            ProblemCode::P310 => "P310",
            ProblemCode::P401 => "P401",
            ProblemCode::P402 => "P402",
            ProblemCode::P403 => "P403",
            ProblemCode::F501 => "F501",
            ProblemCode::F502 => "F502",
            ProblemCode::F503 => "F503",
            ProblemCode::F504 => "F504",
            ProblemCode::F505 => "F505",
            ProblemCode::F506 => "F506",
            ProblemCode::F507 => "F507",
            ProblemCode::F508 => "F508",
            ProblemCode::F509 => "F509",
            ProblemCode::F510 => "F510",
            ProblemCode::F511 => "F511",
            ProblemCode::F551 => "F551",
            ProblemCode::F552 => "F552",
        }
    }

    /// A short Chinese title, for summaries.
    pub fn title(self) -> &'static str {
        match self {
            ProblemCode::E101 => "缺少必填列",
            ProblemCode::E102 => "必填项为空",
            ProblemCode::E103 => "取值不在允许范围",
            ProblemCode::E104 => "金额格式错误",
            ProblemCode::E105 => "证件号码错误",
            ProblemCode::E106 => "出生日期错误",
            ProblemCode::E107 => "证件号码重复",
            ProblemCode::E108 => "户主缺失或多于一人",
            ProblemCode::E109 => "同户信息不一致",
            ProblemCode::E110 => "行政村不在村级名册中",
            ProblemCode::E111 => "姓名含有不可见字符",
            ProblemCode::W201 => "性别与证件号码不符",
            ProblemCode::W202 => "人均纯收入与计算值不符",
            ProblemCode::W203 => "在校生状况与年龄不符",
            ProblemCode::W205 => "未识别的列已忽略",
            ProblemCode::P301 => "方案缺少必填列",
            ProblemCode::P302 => "方案必填项为空",
            ProblemCode::P303 => "责任领导多于一位",
            ProblemCode::P304 => "落实单位与责任人不能一一对应",
            ProblemCode::P305 => "同一序号用于不同的重点工作",
            ProblemCode::P306 => "完成时限不是日期",
            ProblemCode::P307 => "同一重点工作各行不一致",
            ProblemCode::P308 => "负责问题代码无法识别",
            ProblemCode::P309 => "序号不是正整数",
            ProblemCode::P310 => "方案信息缺失或有误",
            ProblemCode::P401 => "负责问题由多项重点工作负责",
            ProblemCode::P402 => "重点工作数与方案所列不符",
            ProblemCode::P403 => "未识别的列或项目已忽略",
            ProblemCode::F501 => "项目文件缺少必填列",
            ProblemCode::F502 => "项目必填项为空",
            ProblemCode::F503 => "项目取值不在允许范围",
            ProblemCode::F504 => "项目金额格式错误",
            ProblemCode::F505 => "项目日期格式错误",
            ProblemCode::F506 => "项目重复",
            ProblemCode::F507 => "年度或序号无效",
            ProblemCode::F508 => "日期与阶段矛盾",
            ProblemCode::F509 => "项目没有预算",
            ProblemCode::F510 => "项目不存在或无权登记",
            ProblemCode::F511 => "拨付不符合资金规则",
            ProblemCode::F551 => "项目文件未识别的列已忽略",
            ProblemCode::F552 => "服务重点工作不在方案中",
        }
    }

    pub const ALL: [ProblemCode; 41] = [
        ProblemCode::E101,
        ProblemCode::E102,
        ProblemCode::E103,
        ProblemCode::E104,
        ProblemCode::E105,
        ProblemCode::E106,
        ProblemCode::E107,
        ProblemCode::E108,
        ProblemCode::E109,
        ProblemCode::E110,
        ProblemCode::E111,
        ProblemCode::W201,
        ProblemCode::W202,
        ProblemCode::W203,
        ProblemCode::W205,
        ProblemCode::P301,
        ProblemCode::P302,
        ProblemCode::P303,
        ProblemCode::P304,
        ProblemCode::P305,
        ProblemCode::P306,
        ProblemCode::P307,
        ProblemCode::P308,
        ProblemCode::P309,
        ProblemCode::P310,
        ProblemCode::P401,
        ProblemCode::P402,
        ProblemCode::P403,
        ProblemCode::F501,
        ProblemCode::F502,
        ProblemCode::F503,
        ProblemCode::F504,
        ProblemCode::F505,
        ProblemCode::F506,
        ProblemCode::F507,
        ProblemCode::F508,
        ProblemCode::F509,
        ProblemCode::F510,
        ProblemCode::F511,
        ProblemCode::F551,
        ProblemCode::F552,
    ];
}

impl fmt::Display for ProblemCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Characters of a value echoed back in full; a longer value is cut to this many.
pub const ECHO_CHARS: usize = 64;

/// A value as problems and messages echo it (policy: a cell's value is shown, but never
/// more than [`ECHO_CHARS`] characters of it): short values whole; longer ones as their
/// first 64 characters and their length, `前 64 字…（共 N 字符）`, so a huge cell cannot
/// make a report, a job's stored problems or a page huge.
pub fn echo(value: &str) -> String {
    match value.char_indices().nth(ECHO_CHARS) {
        None => value.to_string(),
        Some((cut, _)) => format!(
            "{}…（共 {} 字符）",
            &value[..cut],
            crate::grouped(value.chars().count() as u64)
        ),
    }
}

/// One problem: where it is, what it is, and the value that caused it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub file: Arc<str>,
    /// 1-based line; the header is line 1; for XLSX the sheet row. 0 for the whole file.
    pub line: u64,
    /// The column's Chinese header; empty for problems of a whole row or file.
    pub column: &'static str,
    pub code: ProblemCode,
    pub message: String,
    pub value: String,
}

impl Problem {
    pub fn new(
        file: &Arc<str>,
        line: u64,
        column: &'static str,
        code: ProblemCode,
        message: impl Into<String>,
        value: impl Into<String>,
    ) -> Problem {
        Problem {
            file: Arc::clone(file),
            line,
            column,
            code,
            message: message.into(),
            value: echo(&value.into()),
        }
    }

    /// Ordering for reports: file, line, column, code.
    pub fn sort_key(&self) -> (&str, u64, &str, ProblemCode) {
        (&self.file, self.line, self.column, self.code)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_problem(
            f,
            &self.file,
            self.line,
            self.column,
            format_args!(" {}：{}", self.code, self.message),
            &self.value,
        )
    }
}

/// A problem as one line of text, as the reports print it: `file 第N行「column」列`, then
/// `said`, then `（值：value）`; the line (0), the column and the value left out when empty.
pub fn write_problem(
    f: &mut fmt::Formatter<'_>,
    file: &str,
    line: u64,
    column: &str,
    said: fmt::Arguments<'_>,
    value: &str,
) -> fmt::Result {
    write!(f, "{file}")?;
    if line > 0 {
        write!(f, " 第{line}行")?;
    }
    if !column.is_empty() {
        write!(f, "「{column}」列")?;
    }
    f.write_fmt(said)?;
    if !value.is_empty() {
        write!(f, "（值：{value}）")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_echoed_as_a_prefix_and_their_length() {
        assert_eq!(echo("张三"), "张三");
        let just = "甲".repeat(ECHO_CHARS);
        assert_eq!(echo(&just), just);
        let long = "乙".repeat(10_000_000);
        assert_eq!(
            echo(&long),
            format!("{}…（共 10,000,000 字符）", "乙".repeat(ECHO_CHARS))
        );
        let file: Arc<str> = "a.csv".into();
        let p = Problem::new(&file, 2, "姓名", ProblemCode::E103, "m", long);
        assert!(p.value.chars().count() < 100, "{}", p.value.len());
    }
}
