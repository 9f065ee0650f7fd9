//! Splitting a CSV byte stream into blocks of whole records, so blocks can be decoded
//! and parsed on several cores. A record boundary is a newline outside double quotes.

use std::io::{self, Read};

pub struct BlockReader<R> {
    inner: R,
    /// Bytes read but not yet handed out (the tail of a record cut by the last read).
    pending: Vec<u8>,
    block_size: usize,
    eof: bool,
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
            eof: false,
        }
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
                // One record longer than a block: read on.
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
