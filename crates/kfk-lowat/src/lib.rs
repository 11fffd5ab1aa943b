//! A TCP socket's receive low-water mark (`SO_RCVLOWAT`), set from the size
//! of the frame being read.
//!
//! A reader waiting for the rest of a large frame (a fetch response of
//! megabytes, a produce request of a batch) is otherwise woken for every
//! segment that arrives, reads what is there, and sleeps again: on a small
//! VM each of those wake-ups costs a cross-CPU interrupt and a context
//! switch, and consuming 1 KiB records over loopback spent a third of both
//! cores idle in between. With the mark at the bytes still to come (capped),
//! the kernel holds the wake-up until that much is queued: a quarter of the
//! context switches, and the reader and the sender each do longer stretches
//! of work (see PERFORMANCE.md).
//!
//! Only for plaintext sockets: over TLS the bytes on the wire are not the
//! frame's bytes, so nobody can say how many will come.
//!
//! Neither the standard library, tokio, socket2 nor rustix sets this option,
//! hence the one `unsafe` call of the project, below.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Below this many bytes still to come, the reader is woken by the first
/// byte as usual: small frames gain nothing from waiting.
pub const SMALL: usize = 64 * 1024;

/// The largest mark set: the reader still starts on a big frame early, so
/// its copying overlaps the sender's, and the socket's receive buffer
/// (which the kernel grows to twice the mark) stays modest.
pub const CAP: usize = 256 * 1024;

/// Sets `SO_RCVLOWAT` on a TCP socket: readiness (and a blocking read)
/// waits until `bytes` are queued, or the peer closes, or an error.
///
/// # Errors
/// The `setsockopt` error (a socket that is not TCP, a closed one).
pub fn set(fd: BorrowedFd<'_>, bytes: usize) -> io::Result<()> {
    let value = libc::c_int::try_from(bytes.max(1)).unwrap_or(libc::c_int::MAX);
    // SAFETY: `fd` is a descriptor borrowed for the call, `value` lives on
    // the stack for its duration, and the length passed is its size: the
    // kernel reads exactly that int and nothing else.
    #[allow(unsafe_code)]
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVLOWAT,
            std::ptr::from_ref(&value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The mark of one socket as a reader moves through its frames: it calls
/// [`LowWater::before_read`] before each read with what the frame still
/// owes, and the option is set only when the mark changes (a few times per
/// large frame, never for small ones).
#[derive(Debug)]
pub struct LowWater {
    current: usize,
    /// Off after a failed `setsockopt`: the socket reads as it would
    /// without the mark.
    usable: bool,
}

impl Default for LowWater {
    fn default() -> Self {
        LowWater {
            current: 1,
            usable: true,
        }
    }
}

impl LowWater {
    /// The mark for a frame that still owes `left` bytes. Never more than
    /// `left`: the bytes counted on are ones the peer is bound to send, so
    /// a reader is never left waiting for bytes that will not come.
    pub fn mark_for(left: usize) -> usize {
        if left < SMALL { 1 } else { left.min(CAP) }
    }

    /// Prepares `fd` (None: TLS, nothing to do) for a read of a frame
    /// that still owes `left` bytes.
    pub fn before_read(&mut self, fd: Option<BorrowedFd<'_>>, left: usize) {
        let Some(fd) = fd.filter(|_| self.usable) else {
            return;
        };
        let mark = Self::mark_for(left);
        if mark == self.current {
            return;
        }
        match set(fd, mark) {
            Ok(()) => self.current = mark,
            Err(_) => self.usable = false,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    #[test]
    fn small_frames_wake_on_the_first_byte_and_large_ones_wait_capped() {
        assert_eq!(LowWater::mark_for(0), 1);
        assert_eq!(LowWater::mark_for(SMALL - 1), 1);
        assert_eq!(LowWater::mark_for(SMALL), SMALL);
        assert_eq!(LowWater::mark_for(CAP + 1), CAP);
        assert_eq!(LowWater::mark_for(50 << 20), CAP);
    }

    /// A reader with the mark set is not woken by a first part of the
    /// frame, is woken once the rest arrives, and (mark back at 1) reads the
    /// next small frame at once. (The connection carries some megabytes
    /// first: while its receive window is still under a segment, the
    /// kernel wakes a reader early rather than let the window stall.)
    #[tokio::test]
    async fn a_read_waits_for_the_mark_then_small_reads_do_not() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut writer = TcpStream::connect(addr).await.unwrap();
        let (mut reader, _) = listener.accept().await.unwrap();
        let warm = tokio::spawn(async move {
            writer.write_all(&vec![1u8; 16 << 20]).await.unwrap();
            writer
        });
        let mut buf = vec![0u8; 1 << 20];
        let mut got = 0;
        while got < 16 << 20 {
            got += reader.read(&mut buf).await.unwrap();
        }
        let mut writer = warm.await.unwrap();
        set(reader.as_fd(), 200_000).unwrap();
        writer.write_all(&[7u8; 100_000]).await.unwrap();
        let early = tokio::time::timeout(Duration::from_millis(300), reader.read(&mut buf)).await;
        assert!(early.is_err(), "woken before the mark was reached");
        writer.write_all(&[7u8; 100_000]).await.unwrap();
        let mut got = 0;
        while got < 200_000 {
            let n = tokio::time::timeout(Duration::from_secs(10), reader.read(&mut buf))
                .await
                .expect("the full frame wakes the reader")
                .unwrap();
            assert!(n > 0);
            got += n;
        }
        let mut water = LowWater {
            current: 200_000,
            usable: true,
        };
        water.before_read(Some(reader.as_fd()), 4);
        assert_eq!(water.current, 1);
        writer.write_all(b"next").await.unwrap();
        let n = tokio::time::timeout(Duration::from_secs(10), reader.read(&mut buf))
            .await
            .expect("a small frame is read at once")
            .unwrap();
        assert_eq!(&buf[..n], b"next");
    }
}
