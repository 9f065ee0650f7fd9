//! Text encodings of CSV files: UTF-8 (with or without BOM), GBK and GB18030.
//!
//! GBK is decoded as GB18030 (its superset) without replacement, so a byte sequence that
//! is invalid is reported with its line number instead of becoming U+FFFD.

use crate::error::FileError;
use std::borrow::Cow;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextEncoding {
    Utf8,
    Gb18030,
}

impl TextEncoding {
    pub fn name(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Gb18030 => "GBK/GB18030",
        }
    }

    /// Parse a user's choice: `auto` (None), `utf-8`, `gbk`, `gb18030`.
    pub fn from_option(text: &str) -> Result<Option<TextEncoding>, String> {
        match text.to_ascii_lowercase().as_str() {
            "auto" => Ok(None),
            "utf-8" | "utf8" => Ok(Some(TextEncoding::Utf8)),
            "gbk" | "gb18030" | "gb2312" => Ok(Some(TextEncoding::Gb18030)),
            other => Err(format!(
                "未知编码「{other}」；可选：auto、utf-8、gbk、gb18030"
            )),
        }
    }
}

/// Length of a UTF-8 byte-order mark at the start, if any.
pub fn bom_len(bytes: &[u8]) -> usize {
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        3
    } else {
        0
    }
}

/// Decide the encoding from the first bytes of a file. UTF-8 when there is a BOM, or
/// when the first non-ASCII text is valid UTF-8; GB18030 otherwise. A file that is all
/// ASCII so far reads as UTF-8; should GBK bytes come later, the error names the line
/// and suggests `--encoding gbk`.
pub fn detect(path: &Path, sample: &[u8], complete: bool) -> Result<TextEncoding, FileError> {
    if sample.starts_with(&[0xFF, 0xFE]) || sample.starts_with(&[0xFE, 0xFF]) {
        return Err(FileError::NotText {
            path: path.to_path_buf(),
            what: "UTF-16 编码；请另存为 UTF-8 或 GBK 的 CSV".into(),
        });
    }
    if let Some(pos) = memchr::memchr(0, sample) {
        return Err(FileError::NotText {
            path: path.to_path_buf(),
            what: format!(
                "第{}行含有 NUL 字节，可能是二进制文件",
                line_of(sample, pos)
            ),
        });
    }
    if bom_len(sample) > 0 {
        return Ok(TextEncoding::Utf8);
    }
    match std::str::from_utf8(sample) {
        Ok(_) => Ok(TextEncoding::Utf8),
        // An incomplete character cut by the end of the sample is still UTF-8.
        Err(e) if e.error_len().is_none() && !complete => Ok(TextEncoding::Utf8),
        Err(_) => Ok(TextEncoding::Gb18030),
    }
}

/// Refuse a CSV whose lines end in a bare CR, old Mac style (policy: CR-only files are
/// refused, not guessed at: the first line end outside quotes decides). Such a file reads
/// as one line — the register reader would see only a header — so it is named as what it
/// is, with how to save it instead.
pub fn refuse_cr_only(path: &Path, head: &[u8]) -> Result<(), FileError> {
    let mut in_quotes = false;
    for i in memchr::memchr3_iter(b'"', b'\r', b'\n', head) {
        match head[i] {
            b'"' => in_quotes = !in_quotes,
            _ if in_quotes => {}
            b'\r' if i + 1 < head.len() && head[i + 1] != b'\n' => {
                return Err(FileError::Format {
                    path: path.to_path_buf(),
                    message: "行尾只有回车符（CR，旧版 Mac 格式），无法可靠地分行；请在 Excel 或记事本中另存为 CSV（UTF-8，逗号分隔，行尾为 CRLF 或 LF）后重试".into(),
                });
            }
            _ => return Ok(()),
        }
    }
    Ok(())
}

/// Bytes decoded for a message only, bad bytes replaced (never for data).
pub fn decode_lossy(bytes: &[u8], encoding: TextEncoding) -> String {
    match encoding {
        TextEncoding::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
        TextEncoding::Gb18030 => encoding_rs::GB18030
            .decode_without_bom_handling(bytes)
            .0
            .into_owned(),
    }
}

/// 1-based line of a byte offset.
pub fn line_of(bytes: &[u8], pos: usize) -> u64 {
    memchr::memchr_iter(b'\n', &bytes[..pos.min(bytes.len())]).count() as u64 + 1
}

fn show_bytes(bytes: &[u8]) -> String {
    bytes
        .iter()
        .take(4)
        .map(|b| format!("0x{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Decode a block of whole lines to UTF-8: UTF-8 is only checked and borrowed, GBK is
/// decoded. `first_line` is the block's first line in the file, for the error.
pub fn decode<'a>(
    path: &Path,
    bytes: &'a [u8],
    encoding: TextEncoding,
    first_line: u64,
) -> Result<Cow<'a, str>, FileError> {
    match encoding {
        TextEncoding::Utf8 => match simdutf8::basic::from_utf8(bytes) {
            Ok(text) => Ok(Cow::Borrowed(text)),
            // simdutf8 is fast; std says where the error is, needed only when there is one.
            Err(_) => {
                let err = std::str::from_utf8(bytes).err();
                let pos = err.map_or(0, |e| e.valid_up_to());
                let len = err.and_then(|e| e.error_len()).unwrap_or(1);
                let bad = &bytes[pos..(pos + len).min(bytes.len())];
                Err(FileError::InvalidBytes {
                    path: path.to_path_buf(),
                    line: first_line + line_of(bytes, pos) - 1,
                    encoding: "UTF-8",
                    bytes: show_bytes(bad),
                    hint: "若文件是 GBK 编码，请加 --encoding gbk；否则请在该行修正或重新导出文件",
                })
            }
        },
        TextEncoding::Gb18030 => {
            let mut decoder = encoding_rs::GB18030.new_decoder_without_bom_handling();
            let cap = decoder
                .max_utf8_buffer_length_without_replacement(bytes.len())
                .unwrap_or(bytes.len() * 3);
            let mut out = String::with_capacity(cap);
            let (result, read) =
                decoder.decode_to_string_without_replacement(bytes, &mut out, true);
            match result {
                encoding_rs::DecoderResult::InputEmpty => Ok(Cow::Owned(out)),
                encoding_rs::DecoderResult::Malformed(len, extra) => {
                    let end = read.saturating_sub(usize::from(extra));
                    let start = end.saturating_sub(usize::from(len));
                    Err(FileError::InvalidBytes {
                        path: path.to_path_buf(),
                        line: first_line + line_of(bytes, start) - 1,
                        encoding: "GBK/GB18030",
                        bytes: show_bytes(&bytes[start..end.max(start + 1).min(bytes.len())]),
                        hint: "该行有损坏或非 GBK 字符；请在该行修正，或另存为 UTF-8 后重试",
                    })
                }
                encoding_rs::DecoderResult::OutputFull => Err(FileError::InvalidBytes {
                    path: path.to_path_buf(),
                    line: first_line,
                    encoding: "GBK/GB18030",
                    bytes: String::new(),
                    hint: "解码缓冲区不足（内部错误），请报告此问题",
                }),
            }
        }
    }
}
