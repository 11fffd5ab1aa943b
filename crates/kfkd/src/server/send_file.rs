//! Writing a response whose records stay in their segment files.
//!
//! On a plaintext connection a fetch's records go from the page cache to
//! the socket with `sendfile`, never copied through the broker (Kafka does
//! the same through `FileChannel.transferTo`). Over TLS the bytes must be
//! encrypted in the broker, so they are read and written.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::FileExt;

use kfk_log::FileRange;
use kfk_wire::spliced::Piece;
use tokio::io::{AsyncWrite, AsyncWriteExt, Interest};
use tokio::net::TcpStream;

use crate::api::Spliced;

/// Largest read while copying a range over TLS.
const COPY_CHUNK: usize = 256 * 1024;

/// A connection a fetch's records can be sent on.
pub(crate) trait SendFile: AsyncWrite + Unpin {
    /// Whether [`SendFile::send_file`] skips the broker's memory, so
    /// fetches should leave records in their files.
    fn zero_copy(&self) -> bool;

    /// Writes the bytes of `range`.
    async fn send_file(&mut self, range: &FileRange) -> io::Result<()>;

    /// The TCP socket when the bytes read are the requests' own
    /// (plaintext): a large request's reader sets its receive low-water
    /// mark ([`kfk_lowat`]).
    fn plain_socket(&self) -> Option<BorrowedFd<'_>>;
}

/// A segment that shrank under a send (truncated after a leader change):
/// the frame's length is already on the wire, so the connection ends.
fn shrank() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "a segment file shrank while its records were being sent",
    )
}

impl SendFile for TcpStream {
    fn zero_copy(&self) -> bool {
        true
    }

    fn plain_socket(&self) -> Option<BorrowedFd<'_>> {
        Some(self.as_fd())
    }

    async fn send_file(&mut self, range: &FileRange) -> io::Result<()> {
        let mut offset = range.position;
        let end = range.position + range.len as u64;
        while offset < end {
            self.writable().await?;
            let left = usize::try_from(end - offset).unwrap_or(usize::MAX);
            let sent = self.try_io(Interest::WRITABLE, || {
                rustix::fs::sendfile(&*self, &*range.file, Some(&mut offset), left)
                    .map_err(io::Error::from)
            });
            match sent {
                Ok(0) => return Err(shrank()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl SendFile for kfk_tls::server::TlsStream<TcpStream> {
    fn zero_copy(&self) -> bool {
        false
    }

    fn plain_socket(&self) -> Option<BorrowedFd<'_>> {
        None
    }

    async fn send_file(&mut self, range: &FileRange) -> io::Result<()> {
        // Never asked for (fetches on TLS connections read their records),
        // but complete: read from the page cache, then encrypted and written.
        let mut buf = vec![0u8; range.len.min(COPY_CHUNK)];
        let mut done = 0;
        while done < range.len {
            let n = (range.len - done).min(buf.len());
            range
                .file
                .read_exact_at(&mut buf[..n], range.position + done as u64)
                .map_err(|e| {
                    if e.kind() == io::ErrorKind::UnexpectedEof {
                        shrank()
                    } else {
                        e
                    }
                })?;
            self.write_all(&buf[..n]).await?;
            done += n;
        }
        Ok(())
    }
}

/// Writes a spliced response: its encoded pieces, and each hole's range.
pub(crate) async fn write_spliced<S: SendFile>(
    stream: &mut S,
    spliced: &Spliced,
) -> io::Result<()> {
    for piece in &spliced.pieces {
        match piece {
            Piece::Bytes(b) => stream.write_all(b).await?,
            Piece::Hole { key, len } => {
                let range = spliced
                    .files
                    .get(*key)
                    .filter(|r| r.len == *len)
                    .ok_or_else(|| io::Error::other("a response hole without its records"))?;
                stream.send_file(range).await?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;
    use tokio::io::AsyncReadExt;

    use super::*;

    /// What a spliced reply puts on a plaintext socket: its pieces in
    /// order, each hole filled from its file range, which is sent whole
    /// even when larger than the socket's buffer.
    #[tokio::test]
    async fn a_spliced_reply_arrives_as_its_pieces_and_file_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("segment");
        let content: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &content).unwrap();
        let file = Arc::new(std::fs::File::open(&path).unwrap());
        let range = |position: u64, len: usize| FileRange {
            file: Arc::clone(&file),
            position,
            len,
            last_offset: 0,
        };
        let spliced = Spliced {
            pieces: vec![
                Piece::Bytes(Bytes::from_static(b"head")),
                Piece::Hole {
                    key: 1,
                    len: 2_500_000,
                },
                Piece::Bytes(Bytes::from_static(b"middle")),
                Piece::Hole { key: 0, len: 10 },
                Piece::Bytes(Bytes::from_static(b"tail")),
            ],
            files: vec![range(7, 10), range(100, 2_500_000)],
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let reader = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut got = Vec::new();
            s.read_to_end(&mut got).await.unwrap();
            got
        });
        let mut out = TcpStream::connect(addr).await.unwrap();
        assert!(out.zero_copy());
        write_spliced(&mut out, &spliced).await.unwrap();
        drop(out);
        let got = reader.await.unwrap();
        let mut want = b"head".to_vec();
        want.extend_from_slice(&content[100..2_500_100]);
        want.extend_from_slice(b"middle");
        want.extend_from_slice(&content[7..17]);
        want.extend_from_slice(b"tail");
        assert_eq!(got.len(), want.len());
        assert!(got == want);
    }

    /// A range past the end of its file (the segment was truncated after it
    /// was located) ends the connection instead of sending a short frame.
    #[tokio::test]
    async fn a_range_beyond_its_file_fails() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("segment");
        std::fs::write(&path, vec![1u8; 1000]).unwrap();
        let file = Arc::new(std::fs::File::open(&path).unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _reader = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut got = Vec::new();
            let _ = s.read_to_end(&mut got).await;
        });
        let mut out = TcpStream::connect(addr).await.unwrap();
        let r = FileRange {
            file,
            position: 500,
            len: 1000,
            last_offset: 0,
        };
        let err = out.send_file(&r).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }
}
