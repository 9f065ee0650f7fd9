//! How much one file may make fupin hold: its size, an XLSX workbook's unpacked size and
//! compression ratio, its cells, one cell's and one header's length, one CSV record's
//! bytes — one set per kind of file, in one struct. The defaults fit a county: a members
//! file of 10^6 households (3.4 million member rows, about 860 MB of CSV, 20 columns) is
//! read; anything far beyond what a county's office exports is refused before it is read
//! whole. The server takes them from `fupin.toml` (`[limits]`) or `FUPIN_LIMIT_*`; the
//! command line uses the defaults.

use crate::error::FileError;
use fupin_domain::grouped;
use fupin_domain::problem::echo;
use std::fmt;
use std::path::Path;

/// The kinds of files fupin reads, each with its own limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// The register's members file (登记成员).
    Members,
    /// The villages file (村级名册).
    Villages,
    /// A plan (帮扶方案): CSV or XLSX with its 方案信息 sheet.
    Plan,
    /// A projects library (项目库).
    Projects,
    /// A funds file of disbursements (资金拨付).
    Disbursements,
    /// A funds file of beneficiaries (受益户).
    Beneficiaries,
    /// An inspection's files: rural households and verification results.
    Inspection,
    /// A poverty-line standards file.
    Standards,
}

impl FileKind {
    pub const ALL: [FileKind; 8] = [
        FileKind::Members,
        FileKind::Villages,
        FileKind::Plan,
        FileKind::Projects,
        FileKind::Disbursements,
        FileKind::Beneficiaries,
        FileKind::Inspection,
        FileKind::Standards,
    ];

    /// Its key in `fupin.toml`'s `[limits]` table and in `FUPIN_LIMIT_<KEY>_…`.
    pub fn key(self) -> &'static str {
        match self {
            FileKind::Members => "members",
            FileKind::Villages => "villages",
            FileKind::Plan => "plan",
            FileKind::Projects => "projects",
            FileKind::Disbursements => "disbursements",
            FileKind::Beneficiaries => "beneficiaries",
            FileKind::Inspection => "inspection",
            FileKind::Standards => "standards",
        }
    }

    /// Its name in messages.
    pub fn chinese(self) -> &'static str {
        match self {
            FileKind::Members => "登记成员文件",
            FileKind::Villages => "村级名册",
            FileKind::Plan => "帮扶方案",
            FileKind::Projects => "项目库文件",
            FileKind::Disbursements => "资金拨付文件",
            FileKind::Beneficiaries => "受益户文件",
            FileKind::Inspection => "核查文件",
            FileKind::Standards => "扶贫标准文件",
        }
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.chinese())
    }
}

/// What one file of a kind may hold. Sizes are bytes; lengths are characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileLimits {
    /// The file as uploaded or read from disk (CSV or XLSX).
    pub max_file_bytes: u64,
    /// XLSX: every part of the workbook unpacked, added up.
    pub max_unpacked_bytes: u64,
    /// XLSX: how many times larger than packed a part may be once unpacked (only parts
    /// over [`RATIO_FLOOR`] unpacked are judged: tiny parts compress wildly).
    pub max_ratio: u64,
    /// Cells of the file's rows (every row's width added up; blank rows aside).
    pub max_cells: u64,
    /// One cell's text.
    pub max_cell_chars: usize,
    /// One header cell's text (known column names are at most a dozen characters).
    pub max_header_chars: usize,
    /// One CSV record (one row, even when a quoted cell spans lines).
    pub max_record_bytes: usize,
}

/// Parts smaller than this unpacked are not judged by their compression ratio.
pub const RATIO_FLOOR: u64 = 1 << 20;

const MIB: u64 = 1 << 20;

impl FileLimits {
    /// A small table read whole (villages, plans, project libraries, funds files): tens of
    /// thousands of rows at most in a county; 64 MB of file, a million cells.
    pub const SMALL: FileLimits = FileLimits {
        max_file_bytes: 64 * MIB,
        max_unpacked_bytes: 256 * MIB,
        max_ratio: 200,
        max_cells: 2_000_000,
        max_cell_chars: 2_000,
        max_header_chars: 100,
        max_record_bytes: 1 << 20,
    };

    /// The members file, streamed (never held whole): 10^6 households of a county are
    /// 3.4 million rows of about 20 cells (68 million cells, 860 MB of CSV); an XLSX sheet
    /// holds at most 1,048,576 rows.
    pub const MEMBERS: FileLimits = FileLimits {
        max_file_bytes: 2048 * MIB,
        max_unpacked_bytes: 4096 * MIB,
        max_ratio: 200,
        max_cells: 200_000_000,
        max_cell_chars: 500,
        max_header_chars: 100,
        max_record_bytes: 1 << 20,
    };

    /// The longest run of bytes without a `<` an XLSX part may hold: one cell's text at
    /// the longest escaping (`&#1114111;`, 10 bytes a character) and room for markup.
    pub fn max_xml_text_bytes(&self) -> u64 {
        self.max_cell_chars as u64 * 10 + 4096
    }
}

impl Default for FileLimits {
    fn default() -> FileLimits {
        FileLimits::SMALL
    }
}

/// The limits of every kind of file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    pub members: FileLimits,
    pub villages: FileLimits,
    pub plan: FileLimits,
    pub projects: FileLimits,
    pub disbursements: FileLimits,
    pub beneficiaries: FileLimits,
    pub inspection: FileLimits,
    pub standards: FileLimits,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            members: FileLimits::MEMBERS,
            villages: FileLimits::SMALL,
            // A plan's 重点工作 and 负责问题 are sentences, sometimes a paragraph.
            plan: FileLimits {
                max_cell_chars: 4_000,
                ..FileLimits::SMALL
            },
            projects: FileLimits {
                max_cell_chars: 4_000,
                ..FileLimits::SMALL
            },
            disbursements: FileLimits::SMALL,
            // One row per beneficiary household: up to every household of a county.
            beneficiaries: FileLimits {
                max_file_bytes: 256 * MIB,
                max_cells: 20_000_000,
                ..FileLimits::SMALL
            },
            // The rural households outside the register may be listed one per row.
            inspection: FileLimits {
                max_file_bytes: 256 * MIB,
                max_cells: 20_000_000,
                ..FileLimits::SMALL
            },
            standards: FileLimits {
                max_file_bytes: MIB,
                max_unpacked_bytes: 16 * MIB,
                max_cells: 10_000,
                ..FileLimits::SMALL
            },
        }
    }
}

impl Limits {
    pub fn of(&self, kind: FileKind) -> &FileLimits {
        match kind {
            FileKind::Members => &self.members,
            FileKind::Villages => &self.villages,
            FileKind::Plan => &self.plan,
            FileKind::Projects => &self.projects,
            FileKind::Disbursements => &self.disbursements,
            FileKind::Beneficiaries => &self.beneficiaries,
            FileKind::Inspection => &self.inspection,
            FileKind::Standards => &self.standards,
        }
    }

    pub fn of_mut(&mut self, kind: FileKind) -> &mut FileLimits {
        match kind {
            FileKind::Members => &mut self.members,
            FileKind::Villages => &mut self.villages,
            FileKind::Plan => &mut self.plan,
            FileKind::Projects => &mut self.projects,
            FileKind::Disbursements => &mut self.disbursements,
            FileKind::Beneficiaries => &mut self.beneficiaries,
            FileKind::Inspection => &mut self.inspection,
            FileKind::Standards => &mut self.standards,
        }
    }

    /// The largest file of any kind: what an upload may be at most before its kind is
    /// known.
    pub fn max_file_bytes(&self) -> u64 {
        FileKind::ALL
            .iter()
            .map(|&k| self.of(k).max_file_bytes)
            .max()
            .unwrap_or(0)
    }
}

/// A size for messages: `857.0 MB`, `12 KB`, `300 字节`.
pub fn show_bytes(n: u64) -> String {
    if n >= MIB {
        let tenths = (n as f64 / MIB as f64 * 10.0).round() as u64;
        format!("{}.{} MB", grouped(tenths / 10), tenths % 10)
    } else if n >= 1024 {
        format!("{} KB", grouped(n / 1024))
    } else {
        format!("{n} 字节")
    }
}

/// Refuse a file over its kind's size (policy: a file is never read past its limit).
pub fn check_size(path: &Path, len: u64, limits: &FileLimits) -> Result<(), FileError> {
    if len > limits.max_file_bytes {
        return Err(FileError::OverLimit {
            path: path.to_path_buf(),
            message: format!(
                "文件大小 {}，超过此类文件的上限 {}；请检查是否选错了文件，或分批导入",
                show_bytes(len),
                show_bytes(limits.max_file_bytes)
            ),
        });
    }
    Ok(())
}

/// Refuse a cell over its length (policy: no cell longer than `max_cell_chars`, no header
/// longer than `max_header_chars`): `at` says where (e.g. `第3行「姓名」列（D列）`).
pub fn check_cell(
    path: &Path,
    at: impl FnOnce() -> String,
    text: &str,
    header: bool,
    limits: &FileLimits,
) -> Result<(), FileError> {
    let max = if header {
        limits.max_header_chars
    } else {
        limits.max_cell_chars
    };
    // A character is at least one byte: most cells are judged by their byte length alone.
    if text.len() <= max {
        return Ok(());
    }
    let chars = text.chars().count();
    if chars <= max {
        return Ok(());
    }
    let what = if header { "列名" } else { "单元格" };
    Err(FileError::OverLimit {
        path: path.to_path_buf(),
        message: format!(
            "{}：{what}有 {chars} 个字符，超过上限 {max} 个字符（内容：{}）；请检查该{what}是否粘贴了多余的内容",
            at(),
            echo(text),
            chars = grouped(chars as u64),
            max = grouped(max as u64),
        ),
    })
}

/// Refuse a file with more cells than its kind allows.
pub fn check_cells(path: &Path, cells: u64, limits: &FileLimits) -> Result<(), FileError> {
    if cells > limits.max_cells {
        return Err(FileError::OverLimit {
            path: path.to_path_buf(),
            message: format!(
                "文件有超过 {} 个单元格，超过此类文件的上限；请检查是否选错了文件，或分批导入",
                grouped(limits.max_cells)
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_county_of_a_million_households_fits_the_members_limits() {
        let m = Limits::default().members;
        // 3.4 million rows of 20 cells, 860 MB of CSV.
        assert!(m.max_file_bytes >= 860 * MIB);
        assert!(m.max_cells >= 3_400_000 * 20);
        // Longest legitimate cell: a name, an ID number, an amount.
        assert!(m.max_cell_chars >= 100);
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(show_bytes(300), "300 字节");
        assert_eq!(show_bytes(12 * 1024), "12 KB");
        assert_eq!(show_bytes(1536 * 1024), "1.5 MB");
    }
}
