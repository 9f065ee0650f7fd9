//! What a request may make the server hold, and uploads streamed to disk.
//!
//! Every route that takes a body has an explicit limit ([`crate::router`]): forms
//! [`FORM_LIMIT`], the API's JSON [`JSON_LIMIT`], uploads the configured upload limit.
//! An uploaded file never sits whole in memory: [`write_field`] writes it chunk by chunk
//! to a temp file and stops at its kind's file size ([`file_limit`]); a text field of a
//! multipart form is read up to [`MAX_FIELD_BYTES`] ([`field_text`]).

use crate::error::Error;
use crate::AppState;
use axum::extract::multipart::{Field, MultipartError};
use axum::http::StatusCode;
use fupin_io::limits::{show_bytes, FileKind};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// Policy: a form without a file (login, a step, a finding, a project) is at most 256 KB.
pub const FORM_LIMIT: usize = 256 << 10;

/// Policy: a JSON body of the API is at most 1 MB (a disbursement, a finding, a sampling
/// plan); the results of an inspection's sample, [`RESULTS_LIMIT`].
pub const JSON_LIMIT: usize = 1 << 20;

/// Policy: an inspection's results, or its draw with the villages' rural households, as
/// JSON are at most 16 MB (tens of thousands of households, about 150 bytes each).
pub const RESULTS_LIMIT: usize = 16 << 20;

/// Policy: a text field of a multipart form (the CSRF token, a year, a plan's facts) is at
/// most 64 KB.
pub const MAX_FIELD_BYTES: usize = 64 << 10;

/// The largest file of a kind an upload may carry: the kind's configured `max_file_bytes`
/// ([`crate::Config::limits`]), and never more than the configured upload limit.
pub fn file_limit(state: &AppState, kind: FileKind) -> u64 {
    state
        .config
        .limits
        .of(kind)
        .max_file_bytes
        .min(state.config.max_upload_bytes as u64)
}

/// The largest file of any of `kinds` (a form whose kind is named after its file).
pub fn file_limit_of(state: &AppState, kinds: &[FileKind]) -> u64 {
    kinds
        .iter()
        .map(|&k| file_limit(state, k))
        .max()
        .unwrap_or(0)
}

/// A multipart error in words: a body over its route's limit is 413 and says the limit.
pub fn multipart_error(e: MultipartError) -> Error {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Error::TooLarge("上传的内容超过了服务器允许的大小：请检查是否选错了文件，或分批导入".into())
    } else {
        Error::BadRequest(format!("上传未完成或格式不对：{}", e.body_text()))
    }
}

/// A text field of a form, at most [`MAX_FIELD_BYTES`].
pub async fn field_text(mut field: Field<'_>) -> Result<String, Error> {
    let name = field.name().unwrap_or_default().to_string();
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if bytes.len() + chunk.len() > MAX_FIELD_BYTES {
            return Err(Error::TooLarge(format!(
                "表单项「{}」超过 {}",
                name.chars().take(40).collect::<String>(),
                show_bytes(MAX_FIELD_BYTES as u64)
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes)
        .map_err(|_| Error::BadRequest(format!("表单项「{name}」不是 UTF-8 文本")))
}

/// Write a file field to `path` as it arrives, at most `max` bytes: over it, the file is
/// removed and the upload refused (413) with the limit. The bytes written.
pub async fn write_field(
    field: &mut Field<'_>,
    path: &Path,
    max: u64,
    what: &str,
) -> Result<u64, Error> {
    let saving = |e: std::io::Error| Error::Internal(format!("无法保存上传文件：{e}"));
    // Private (0600), and never over a file already there.
    let mut file = crate::import::private_file(path).await.map_err(saving)?;
    let mut size = 0u64;
    loop {
        let chunk = match field.chunk().await {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) => {
                drop(file);
                let _ = tokio::fs::remove_file(path).await;
                return Err(multipart_error(e));
            }
        };
        size += chunk.len() as u64;
        if size > max {
            drop(file);
            let _ = tokio::fs::remove_file(path).await;
            return Err(Error::TooLarge(format!(
                "{what}超过此类文件的上限 {}：请检查是否选错了文件，或分批导入",
                show_bytes(max)
            )));
        }
        file.write_all(&chunk).await.map_err(saving)?;
    }
    file.flush().await.map_err(saving)?;
    Ok(size)
}

/// An uploaded file saved in a temp folder of its own (removed when this is dropped), under
/// the name the user gave it (without folders: its extension says CSV or XLSX).
pub struct Saved {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
    /// The name the user knows it by.
    pub name: String,
    pub size: u64,
}

/// A file name without folders or odd characters, or `default`.
pub fn clean_name(name: &str, default: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("").trim();
    let base: String = base.chars().filter(|c| !c.is_control()).take(120).collect();
    if base.is_empty() || base == "." || base == ".." {
        default.into()
    } else {
        base
    }
}

/// Save a file field to a temp folder of its own, at most `max` bytes.
pub async fn save(
    state: &AppState,
    mut field: Field<'_>,
    default_name: &str,
    max: u64,
    what: &str,
) -> Result<Saved, Error> {
    let name = clean_name(field.file_name().unwrap_or(""), default_name);
    // A folder of its own (0700) in the private upload folder, swept after a crash.
    let folder = state
        .uploads
        .path()
        .map_err(|e| Error::Internal(format!("无法创建上传目录：{e}")))?;
    let dir = crate::import::private_dir_builder()
        .prefix(crate::import::UPLOAD_PREFIX)
        .tempdir_in(&folder)
        .map_err(|e| Error::Internal(format!("无法创建上传临时目录：{e}")))?;
    let path = dir.path().join(&name);
    let size = write_field(&mut field, &path, max, what).await?;
    Ok(Saved {
        _dir: dir,
        path,
        name,
        size,
    })
}

/// A file part of a form (an attachment, evidence), or None when the user chose none.
pub async fn file_part(field: Field<'_>) -> Result<Option<fupin_store::NewAttachment>, Error> {
    let file_name = field.file_name().unwrap_or_default().to_string();
    let content_type = field
        .content_type()
        .unwrap_or("application/octet-stream")
        .to_string();
    let data = field.bytes().await.map_err(multipart_error)?.to_vec();
    Ok(
        (!file_name.is_empty() && !data.is_empty()).then_some(fupin_store::NewAttachment {
            file_name,
            content_type,
            data,
        }),
    )
}
