//! Who may speak on the controller port: only nodes that hold the cluster's
//! secret (`--cluster-secret-file`). A connection opens with a challenge
//! both ways (HMAC-SHA256 over fresh nonces, so the secret never crosses the
//! wire and an old exchange cannot be replayed), and every frame after it
//! carries a MAC under a key drawn from both nonces and a counter, so a frame
//! cannot be forged, altered, replayed or reordered on the path. It is not
//! encryption: metadata is not secret from the network (TLS listeners are
//! where confidentiality comes in).
//!
//! Without a secret the port speaks plain frames, which kfkd allows only on
//! a loopback address.

use std::path::Path;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

type HmacSha256 = Hmac<Sha256>;

/// What a server says first, so a peer without a secret (or a stranger)
/// learns at once that this port wants one.
const MAGIC: &[u8; 5] = b"KFKC1";
const NONCE: usize = 32;
const TAG: usize = 32;
/// The shortest secret accepted (128 bits).
const MIN_SECRET: usize = 16;

/// The cluster's shared secret.
#[derive(Clone)]
pub struct Secret(Arc<[u8]>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// Reads a secret file (surrounding whitespace ignored).
    ///
    /// # Errors
    /// An unreadable file, or a secret shorter than 16 bytes.
    pub fn load(path: &Path) -> anyhow::Result<Secret> {
        let raw = std::fs::read(path).map_err(|e| {
            anyhow::anyhow!("cannot read the cluster secret {}: {e}", path.display())
        })?;
        let text = String::from_utf8_lossy(&raw);
        let secret = text.trim();
        if secret.len() < MIN_SECRET {
            anyhow::bail!(
                "the cluster secret in {} is {} bytes; it must be at least {MIN_SECRET} (e.g. `openssl rand -hex 32`)",
                path.display(),
                secret.len()
            );
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if let Ok(meta) = std::fs::metadata(path)
                && meta.permissions().mode() & 0o077 != 0
            {
                tracing::warn!(file = %path.display(), "the cluster secret can be read by other users; chmod 600 it");
            }
        }
        Ok(Secret(Arc::from(secret.as_bytes())))
    }

    /// A secret from bytes (tests, and `kfk cluster up` which writes one).
    pub fn from_bytes(bytes: &[u8]) -> Secret {
        Secret(Arc::from(bytes))
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut m =
            <HmacSha256 as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().into()
    }

    fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        let mut m =
            <HmacSha256 as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        for p in parts {
            m.update(p);
        }
        m.verify_slice(tag).is_ok()
    }
}

fn nonce() -> std::io::Result<[u8; NONCE]> {
    let mut n = [0u8; NONCE];
    getrandom::fill(&mut n).map_err(|e| std::io::Error::other(format!("no randomness: {e}")))?;
    Ok(n)
}

fn refused(why: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::PermissionDenied, why.to_string())
}

/// Frames of one authenticated connection: each direction has its own
/// counter, so a frame is only ever accepted once and in order.
#[derive(Debug)]
pub struct Session {
    key: Secret,
    sent: u64,
    received: u64,
    /// 0 for the side that accepted the connection, 1 for the dialer.
    side: u8,
}

impl Session {
    fn tag(&self, from: u8, seq: u64, body: &[u8]) -> [u8; TAG] {
        self.key.mac(&[&[from], &seq.to_be_bytes(), body])
    }

    /// The MAC to send after `body`.
    pub fn seal(&mut self, body: &[u8]) -> [u8; TAG] {
        let t = self.tag(self.side, self.sent, body);
        self.sent += 1;
        t
    }

    /// Checks the MAC that came after `body`.
    ///
    /// # Errors
    /// PermissionDenied when it does not match.
    pub fn open(&mut self, body: &[u8], tag: &[u8]) -> std::io::Result<()> {
        let from = 1 - self.side;
        let ok = self
            .key
            .verify(&[&[from], &self.received.to_be_bytes(), body], tag);
        self.received += 1;
        if ok {
            Ok(())
        } else {
            Err(refused("a controller frame failed its integrity check"))
        }
    }
}

fn session(secret: &Secret, server_nonce: &[u8], client_nonce: &[u8], side: u8) -> Session {
    Session {
        key: Secret::from_bytes(&secret.mac(&[b"session", server_nonce, client_nonce])),
        sent: 0,
        received: 0,
        side,
    }
}

/// The accepting side: challenges the dialer and proves itself back.
///
/// # Errors
/// A dialer without the secret (PermissionDenied) or a broken connection.
pub async fn accept(stream: &mut TcpStream, secret: &Secret) -> std::io::Result<Session> {
    let ns = nonce()?;
    let mut hello = Vec::with_capacity(MAGIC.len() + NONCE);
    hello.extend_from_slice(MAGIC);
    hello.extend_from_slice(&ns);
    stream.write_all(&hello).await?;
    let mut answer = [0u8; NONCE + TAG];
    stream.read_exact(&mut answer).await?;
    let (nc, proof) = answer.split_at(NONCE);
    if !secret.verify(&[b"client", &ns, nc], proof) {
        return Err(refused(
            "a peer without the cluster secret tried the controller port",
        ));
    }
    stream.write_all(&secret.mac(&[b"server", nc, &ns])).await?;
    Ok(session(secret, &ns, nc, 0))
}

/// The dialing side: answers the challenge and checks the server's proof.
///
/// # Errors
/// A server without the secret, one that wants none, or a broken connection.
pub async fn dial(stream: &mut TcpStream, secret: &Secret) -> std::io::Result<Session> {
    let mut hello = [0u8; MAGIC.len() + NONCE];
    stream.read_exact(&mut hello).await?;
    if &hello[..MAGIC.len()] != MAGIC {
        return Err(refused(
            "the controller did not ask for the cluster secret (is --cluster-secret-file set on every node?)",
        ));
    }
    let ns = &hello[MAGIC.len()..];
    let nc = nonce()?;
    let mut answer = Vec::with_capacity(NONCE + TAG);
    answer.extend_from_slice(&nc);
    answer.extend_from_slice(&secret.mac(&[b"client", ns, &nc]));
    stream.write_all(&answer).await?;
    let mut proof = [0u8; TAG];
    stream.read_exact(&mut proof).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            refused("the controller refused this node's cluster secret (is it the same file on every node?)")
        } else {
            e
        }
    })?;
    if !secret.verify(&[b"server", &nc, ns], &proof) {
        return Err(refused(
            "the controller could not prove it holds the cluster secret",
        ));
    }
    Ok(session(secret, ns, &nc, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_holders_of_the_secret_get_through_and_frames_are_sealed() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let good = Secret::from_bytes(b"0123456789abcdef0123");
        let server = {
            let good = good.clone();
            tokio::spawn(async move {
                let mut results = Vec::new();
                for _ in 0..2 {
                    let (mut s, _) = listener.accept().await.unwrap();
                    results.push(
                        accept(&mut s, &good)
                            .await
                            .map(|_| ())
                            .map_err(|e| e.kind()),
                    );
                }
                results
            })
        };
        let mut a = TcpStream::connect(addr).await.unwrap();
        let mut client = dial(&mut a, &good).await.unwrap();
        let mut b = TcpStream::connect(addr).await.unwrap();
        let wrong = Secret::from_bytes(b"fedcba9876543210fedc");
        let e = dial(&mut b, &wrong).await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{e}");
        let results = server.await.unwrap();
        assert_eq!(results[0], Ok(()));
        assert_eq!(results[1], Err(std::io::ErrorKind::PermissionDenied));

        // Sealed frames: a replayed or altered frame is refused.
        let ns = [1u8; NONCE];
        let nc = [2u8; NONCE];
        let mut srv = session(&good, &ns, &nc, 0);
        let mut cli = session(&good, &ns, &nc, 1);
        let t0 = cli.seal(b"first");
        srv.open(b"first", &t0).unwrap();
        assert!(srv.open(b"first", &t0).is_err(), "a replay is refused");
        let t1 = cli.seal(b"second");
        assert!(
            srv.open(b"secxnd", &t1).is_err(),
            "an altered frame is refused"
        );
        let _ = client.seal(b"x");
    }
}
