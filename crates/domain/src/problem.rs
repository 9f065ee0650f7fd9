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
    /// Sex column disagrees with the ID number.
    W201,
    /// per_capita_income differs from the computed value by more than 1 yuan.
    W202,
    /// Schooling implausible for age.
    W203,
    /// Unknown columns ignored.
    W205,
}

impl ProblemCode {
    pub fn is_error(self) -> bool {
        !matches!(
            self,
            ProblemCode::W201 | ProblemCode::W202 | ProblemCode::W203 | ProblemCode::W205
        )
    }

    /// File-level problems stop the whole run: nothing is assessed.
    pub fn is_file_level(self) -> bool {
        matches!(self, ProblemCode::E101 | ProblemCode::E110)
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
            ProblemCode::W201 => "W201",
            ProblemCode::W202 => "W202",
            ProblemCode::W203 => "W203",
            ProblemCode::W205 => "W205",
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
            ProblemCode::W201 => "性别与证件号码不符",
            ProblemCode::W202 => "人均纯收入与计算值不符",
            ProblemCode::W203 => "在校生状况与年龄不符",
            ProblemCode::W205 => "未识别的列已忽略",
        }
    }

    pub const ALL: [ProblemCode; 14] = [
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
        ProblemCode::W201,
        ProblemCode::W202,
        ProblemCode::W203,
        ProblemCode::W205,
    ];
}

impl fmt::Display for ProblemCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
            value: value.into(),
        }
    }

    /// Ordering for reports: file, line, column, code.
    pub fn sort_key(&self) -> (&str, u64, &str, ProblemCode) {
        (&self.file, self.line, self.column, self.code)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, " 第{}行", self.line)?;
        }
        if !self.column.is_empty() {
            write!(f, "「{}」列", self.column)?;
        }
        write!(f, " {}：{}", self.code, self.message)?;
        if !self.value.is_empty() {
            write!(f, "（值：{}）", self.value)?;
        }
        Ok(())
    }
}
