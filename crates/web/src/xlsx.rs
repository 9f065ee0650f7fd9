//! Downloads: an XLSX or any file as an attachment under its Chinese name. The workbooks
//! themselves are written by [`fupin_io::workbook`], for the pages and the command line
//! alike.

use axum::http::header;
use axum::response::{IntoResponse, Response};
pub use fupin_io::workbook::{
    cell_text, ledger_workbook, problems_workbook, put, put_with_format, write_sheets, Cell,
    ProblemCells, EXCEL_CELL_MAX,
};

/// An XLSX download.
pub fn download(bytes: Vec<u8>, file_name: &str) -> Response {
    attachment(
        bytes,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        file_name,
    )
}

/// A download of any type, under `file_name` (not kept by caches).
pub fn attachment(bytes: Vec<u8>, content_type: &str, file_name: &str) -> Response {
    let ascii: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
                    crate::view::enc(file_name)
                ),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response()
}
