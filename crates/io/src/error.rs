//! File-level errors: nothing is assessed, the run exits with code 2.

use fupin_domain::Problem;
use std::fmt;
use std::path::PathBuf;

#[derive(Debug)]
pub enum FileError {
    /// The file cannot be opened or read.
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file has no bytes, or no header row.
    Empty { path: PathBuf },
    /// A header and no data rows.
    NoRows { path: PathBuf },
    /// NUL bytes or other signs of a file that is not text.
    NotText { path: PathBuf, what: String },
    /// Bytes that are invalid in the file's encoding.
    InvalidBytes {
        path: PathBuf,
        line: u64,
        encoding: &'static str,
        bytes: String,
        hint: &'static str,
    },
    /// The same column appears twice in the header.
    RepeatedColumn {
        path: PathBuf,
        column: &'static str,
        first: usize,
        second: usize,
    },
    /// An XLSX file that cannot be read, or a missing sheet.
    Workbook { path: PathBuf, message: String },
    /// A file over one of its kind's limits (its size, an XLSX workbook's unpacked size or
    /// compression ratio, its cells, one cell's, header's or record's length): refused
    /// before it is held whole. The message says what was found where, and the limit.
    OverLimit { path: PathBuf, message: String },
    /// A file of a format fupin does not read, said in words (an old `.xls`, a damaged
    /// workbook, a formula whose value was never stored, CR-only line ends), with what is
    /// accepted instead.
    Format { path: PathBuf, message: String },
    /// File-level problems (E101 missing columns, E110 unknown villages, a villages file
    /// with errors): every one is listed.
    Problems {
        summary: String,
        problems: Vec<Problem>,
    },
}

impl FileError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> FileError {
        FileError::Io {
            path: path.into(),
            source,
        }
    }

    /// The problems behind the error, when it has them.
    pub fn problems(&self) -> &[Problem] {
        match self {
            FileError::Problems { problems, .. } => problems,
            _ => &[],
        }
    }
}

/// Column number as Excel shows it: 0 → A, 26 → AA.
pub fn column_letter(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::Io { path, source } => {
                write!(f, "{}：无法读取文件（{source}）", path.display())
            }
            FileError::Empty { path } => write!(
                f,
                "{}：文件为空或没有表头行；第1行应为列名（如 户编号、乡镇、行政村、姓名、证件号码 …）",
                path.display()
            ),
            FileError::NoRows { path } => write!(
                f,
                "{}：只有表头，没有数据行；每位登记成员应占一行",
                path.display()
            ),
            FileError::NotText { path, what } => write!(
                f,
                "{}：不是文本表格（{what}）；请提供 CSV（UTF-8、GBK 或 GB18030 编码）或 XLSX 文件",
                path.display()
            ),
            FileError::InvalidBytes { path, line, encoding, bytes, hint } => write!(
                f,
                "{} 第{line}行：含有 {encoding} 编码中无效的字节 {bytes}；{hint}",
                path.display()
            ),
            FileError::RepeatedColumn { path, column, first, second } => write!(
                f,
                "{} 第1行：列「{column}」出现两次（第{}列 {} 和第{}列 {}），请删去一列",
                path.display(),
                first + 1,
                column_letter(*first),
                second + 1,
                column_letter(*second)
            ),
            FileError::Workbook { path, message } => {
                write!(f, "{}：无法读取工作簿（{message}）", path.display())
            }
            FileError::OverLimit { path, message } | FileError::Format { path, message } => {
                write!(f, "{}：{message}", path.display())
            }
            FileError::Problems { summary, problems } => {
                write!(f, "{summary}")?;
                for p in problems.iter().take(20) {
                    write!(f, "\n  {p}")?;
                }
                if problems.len() > 20 {
                    write!(f, "\n  …… 另有 {} 个问题", problems.len() - 20)?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for FileError {}

#[cfg(test)]
mod tests {
    #[test]
    fn letters() {
        assert_eq!(super::column_letter(0), "A");
        assert_eq!(super::column_letter(25), "Z");
        assert_eq!(super::column_letter(26), "AA");
        assert_eq!(super::column_letter(27), "AB");
    }
}
