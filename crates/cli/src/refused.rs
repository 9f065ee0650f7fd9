//! How the command line shows a file it refuses: every problem a line, then a summary.
//! The exit codes follow `fupin check`: 1 when rows have errors, 2 when the file cannot
//! be read as a table at all or lacks a required column.

use fupin_domain::funds_rows::RowRefusal;
use fupin_domain::problem::Problem;
use fupin_io::{refused_rows, FileError};
use std::process::ExitCode;

/// The file as read, or, printed, its problems and its summary with the numbers of
/// errors and warnings; the exit code as `fupin check`'s.
pub fn with_counts<T>(read: Result<T, FileError>) -> Result<T, ExitCode> {
    read.map_err(|e| {
        print_file_error(e, |summary, problems| {
            let errors = problems.iter().filter(|p| p.code.is_error()).count();
            format!(
                "{summary}；错误 {errors} 个，警告 {} 个",
                problems.len() - errors
            )
        })
    })
}

/// [`with_counts`] with the summary alone.
pub fn with_summary<T>(read: Result<T, FileError>) -> Result<T, ExitCode> {
    read.map_err(|e| print_file_error(e, |summary, _| summary.to_string()))
}

/// Print why a file could not be read: its problems and the line `summary_line` makes
/// of its summary, or the error itself. The exit code as `fupin check`'s.
fn print_file_error(
    e: FileError,
    summary_line: impl FnOnce(&str, &[Problem]) -> String,
) -> ExitCode {
    match e {
        FileError::Problems { summary, problems } => {
            for p in &problems {
                println!("{p}");
            }
            println!("{}", summary_line(&summary, &problems));
            let file_level = problems.iter().any(|p| p.code.is_file_level());
            ExitCode::from(if file_level { 2 } else { 1 })
        }
        e => {
            eprintln!("错误：{e}");
            ExitCode::from(2)
        }
    }
}

/// Print the rows of file `name` that the store refused (or warned of), each as the
/// file's problem; how many there are.
pub fn print_rows(name: &str, refused: &[RowRefusal]) -> usize {
    let problems = refused_rows::problems(name, refused);
    for p in &problems {
        println!("{p}");
    }
    problems.len()
}
