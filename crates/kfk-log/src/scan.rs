//! Walking a segment file batch by batch with buffered positional reads.
//!
//! Lookups and tail scans only need each batch's 61-byte header to hop to the
//! next one; recovery needs whole batches to check their CRC. Both read the file
//! in chunks through `pread`, so a scanner never moves a shared file cursor and
//! can run while the log is being appended to.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use kfk_wire::{BatchError, BatchHeader, BatchSummary, HEADER_LEN};

/// Reads `buf.len()` bytes at `pos`, or fewer if the file ends first.
pub(crate) fn read_at_most(file: &File, buf: &mut [u8], pos: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], pos + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// What the scanner found at its position.
#[derive(Debug)]
pub(crate) enum Step<T> {
    /// A batch starting at `position`.
    Batch { position: u64, item: T },
    /// The bytes at `position` are not a (complete) batch.
    Bad { position: u64, error: BatchError },
    /// Reached the end of the range.
    End,
}

/// Sequential batch reader over `[pos, end)` of a file.
#[derive(Debug)]
pub(crate) struct Scanner<'f> {
    file: &'f File,
    pos: u64,
    end: u64,
    chunk: usize,
    buf: Vec<u8>,
    /// File position of `buf[0]`.
    buf_start: u64,
    /// Size of the batch last hopped over.
    hop: u64,
}

impl<'f> Scanner<'f> {
    /// `chunk` is the read size: small for header hops, large for recovery.
    pub fn new(file: &'f File, pos: u64, end: u64, chunk: usize) -> Self {
        Scanner {
            file,
            pos,
            end,
            chunk: chunk.max(HEADER_LEN),
            buf: Vec::new(),
            buf_start: pos,
            hop: 0,
        }
    }

    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Makes `[pos, pos + need)` available in `buf`; false if the range ends first.
    fn fill(&mut self, need: usize) -> io::Result<bool> {
        let available = self.end.saturating_sub(self.pos);
        if (need as u64) > available {
            return Ok(false);
        }
        let in_buf_from = self.pos.checked_sub(self.buf_start);
        if let Some(off) = in_buf_from
            && (off as usize) + need <= self.buf.len()
        {
            return Ok(true);
        }
        // After a hop over a batch bigger than a chunk, the next header is
        // likely as far away: a chunk would read record bytes nobody looks
        // at (half of every 16 KiB batch), so only what is needed is read.
        let read = if self.hop >= self.chunk as u64 {
            need
        } else {
            need.max(self.chunk)
        };
        let want = read.min(available as usize);
        self.buf.resize(want, 0);
        let got = read_at_most(self.file, &mut self.buf, self.pos)?;
        self.buf.truncate(got);
        self.buf_start = self.pos;
        Ok(got >= need)
    }

    fn here(&self) -> &[u8] {
        &self.buf[(self.pos - self.buf_start) as usize..]
    }

    /// The next batch's header summary; hops over its records.
    pub fn next_summary(&mut self) -> io::Result<Step<BatchSummary>> {
        if self.pos >= self.end {
            return Ok(Step::End);
        }
        let position = self.pos;
        if !self.fill(HEADER_LEN)? {
            return Ok(Step::Bad {
                position,
                error: BatchError::Truncated {
                    needed: HEADER_LEN,
                    available: (self.end - position) as usize,
                },
            });
        }
        match BatchSummary::peek(self.here()) {
            Ok(s) if position + s.size as u64 <= self.end => {
                self.pos += s.size as u64;
                self.hop = s.size as u64;
                Ok(Step::Batch { position, item: s })
            }
            Ok(s) => Ok(Step::Bad {
                position,
                error: BatchError::Truncated {
                    needed: s.size,
                    available: (self.end - position) as usize,
                },
            }),
            Err(error) => Ok(Step::Bad { position, error }),
        }
    }

    /// The next whole batch, checked with [`BatchHeader::validate`].
    pub fn next_valid_batch(&mut self) -> io::Result<Step<BatchHeader<'_>>> {
        let position = self.pos;
        let summary = match self.next_summary()? {
            Step::Batch { item, .. } => item,
            Step::Bad { position, error } => return Ok(Step::Bad { position, error }),
            Step::End => return Ok(Step::End),
        };
        // next_summary advanced past the batch; step back to read all of it.
        self.pos = position;
        if !self.fill(summary.size)? {
            return Ok(Step::Bad {
                position,
                error: BatchError::Truncated {
                    needed: summary.size,
                    available: (self.end - position) as usize,
                },
            });
        }
        self.pos = position + summary.size as u64;
        let start = (position - self.buf_start) as usize;
        let bytes = &self.buf[start..start + summary.size];
        match BatchHeader::parse(bytes).and_then(|h| h.validate_stored().map(|()| h)) {
            Ok(item) => Ok(Step::Batch { position, item }),
            Err(error) => Ok(Step::Bad { position, error }),
        }
    }
}
