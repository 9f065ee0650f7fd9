//! Splitting a CSV byte stream into blocks of whole records, so blocks can be decoded
//! and parsed on several cores. A record boundary is a newline outside double quotes.

use std::io::{self, Read};

pub struct BlockReader<R> {
    inner: R,
    /// Bytes read but not yet handed out (the tail of a record cut by the last read).
    pending: Vec<u8>,
    block_size: usize,
    /// The longest record handed out; a longer one is an error ([`is_record_too_long`]).
    max_record: usize,
    eof: bool,
}

/// The error of a record longer than [`BlockReader::with_max_record`] allows, and where in
/// it the reader was when it stopped: the cell it was in (from 0), how many bytes of that
/// cell it had read, and the cell's first bytes.
#[derive(Debug)]
pub struct RecordTooLong {
    pub column: usize,
    pub cell_bytes: usize,
    pub prefix: Vec<u8>,
}

impl RecordTooLong {
    /// Where in `record` (its first bytes, starting outside quotes) reading stopped.
    fn of(record: &[u8]) -> RecordTooLong {
        let (mut in_quotes, mut column, mut start) = (false, 0, 0);
        for i in memchr::memchr2_iter(b'"', b',', record) {
            if record[i] == b'"' {
                in_quotes = !in_quotes;
            } else if !in_quotes {
                column += 1;
                start = i + 1;
            }
        }
        let cell = &record[start..];
        let cell = cell.strip_prefix(b"\"").unwrap_or(cell);
        RecordTooLong {
            column,
            cell_bytes: cell.len(),
            prefix: cell[..cell.len().min(256)].to_vec(),
        }
    }
}

impl std::fmt::Display for RecordTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("record too long")
    }
}

impl std::error::Error for RecordTooLong {}

/// Whether a read error is a record over the reader's limit.
pub fn is_record_too_long(e: &io::Error) -> bool {
    record_too_long(e).is_some()
}

/// The record over the reader's limit behind a read error.
pub fn record_too_long(e: &io::Error) -> Option<&RecordTooLong> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<RecordTooLong>())
}

impl BlockReader<std::fs::File> {
    /// The file's size in bytes (0 when unknown).
    pub fn inner_len(&self) -> u64 {
        self.inner.metadata().map_or(0, |m| m.len())
    }
}

impl<R: Read> BlockReader<R> {
    pub fn new(inner: R, block_size: usize, already_read: Vec<u8>) -> BlockReader<R> {
        BlockReader {
            inner,
            pending: already_read,
            block_size,
            max_record: usize::MAX,
            eof: false,
        }
    }

    /// Refuse a record longer than `bytes` (policy: one record may make the reader hold at
    /// most about twice that): the read fails with [`is_record_too_long`].
    pub fn with_max_record(mut self, bytes: usize) -> BlockReader<R> {
        self.max_record = bytes;
        self
    }

    /// The next block of whole records, ending just after a newline (the last block ends
    /// where the file ends). None at the end of the file. `spare` is an emptied buffer
    /// from an earlier block, reused so that memory is not zeroed again for every block.
    pub fn next_block(&mut self, mut spare: Vec<u8>) -> io::Result<Option<Vec<u8>>> {
        let mut want = self.block_size;
        loop {
            while self.pending.len() < want && !self.eof {
                // read_to_end fills spare capacity without zeroing it first.
                let need = (want - self.pending.len()) as u64;
                self.pending.reserve(need as usize);
                let n = (&mut self.inner)
                    .take(need)
                    .read_to_end(&mut self.pending)?;
                if n == 0 {
                    self.eof = true;
                }
            }
            if self.pending.is_empty() {
                return Ok(None);
            }
            if self.eof && self.pending.len() <= want {
                return Ok(Some(std::mem::take(&mut self.pending)));
            }
            match last_record_end(&self.pending) {
                Some(end) => {
                    spare.clear();
                    spare.reserve(self.block_size + self.block_size / 8);
                    spare.extend_from_slice(&self.pending[end..]);
                    let mut block = std::mem::replace(&mut self.pending, spare);
                    block.truncate(end);
                    return Ok(Some(block));
                }
                // One record longer than a block: read on, up to the longest allowed.
                None if self.pending.len() > self.max_record => {
                    let long = RecordTooLong::of(&self.pending);
                    return Err(io::Error::new(io::ErrorKind::InvalidData, long));
                }
                None => want = self.pending.len() * 2,
            }
        }
    }
}

/// The offset just after the last newline that is outside quotes; the block is assumed
/// to start outside quotes (it starts a record).
pub fn last_record_end(bytes: &[u8]) -> Option<usize> {
    if memchr::memchr(b'"', bytes).is_none() {
        return memchr::memrchr(b'\n', bytes).map(|i| i + 1);
    }
    let mut in_quotes = false;
    let mut last = None;
    for i in memchr::memchr2_iter(b'"', b'\n', bytes) {
        if bytes[i] == b'"' {
            in_quotes = !in_quotes;
        } else if !in_quotes {
            last = Some(i + 1);
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_over_the_limit_is_refused_without_reading_on() {
        let text = [b"a,b\n".as_slice(), &vec![b'x'; 10_000], b"\nc,d\n"].concat();
        let mut r = BlockReader::new(&text[..], 16, Vec::new()).with_max_record(1_000);
        assert_eq!(r.next_block(Vec::new()).unwrap().unwrap(), b"a,b\n");
        let e = r.next_block(Vec::new()).unwrap_err();
        let long = record_too_long(&e).unwrap();
        assert_eq!((long.column, &long.prefix[..3]), (0, b"xxx".as_slice()));
        assert!(long.cell_bytes > 1_000);
        assert!(r.pending.len() < 3_000, "{}", r.pending.len());
        // Within the limit, the same record is read whole.
        let mut r = BlockReader::new(&text[..], 16, Vec::new()).with_max_record(20_000);
        r.next_block(Vec::new()).unwrap();
        let long = r.next_block(Vec::new()).unwrap().unwrap();
        assert_eq!(long.len(), 10_005);
        assert!(long.starts_with(&[b'x'; 10_000]));
    }

    #[test]
    fn splits_only_outside_quotes() {
        assert_eq!(last_record_end(b"a,b\nc,d\ne"), Some(8));
        assert_eq!(last_record_end(b"a,\"x\ny\"\nc,\"p\nq"), Some(8));
        assert_eq!(last_record_end(b"abc"), None);
    }

    #[test]
    fn blocks_hold_whole_records() {
        let text = b"h1,h2\n\"a\nb\",1\nc,2\nd,\"3\n4\"\ne,5".repeat(50);
        let mut r = BlockReader::new(&text[..], 16, Vec::new());
        let mut joined = Vec::new();
        while let Some(b) = r.next_block(Vec::new()).unwrap() {
            assert!(b.ends_with(b"\n") || joined.len() + b.len() == text.len());
            let quotes = b.iter().filter(|&&c| c == b'"').count();
            assert_eq!(quotes % 2, 0);
            joined.extend_from_slice(&b);
        }
        assert_eq!(joined, text);
    }
}
