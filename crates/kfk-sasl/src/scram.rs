//! SCRAM (RFC 5802) with SHA-256 or SHA-512 (RFC 7677), as Kafka speaks it
//! in SaslAuthenticate: client-first, server-first, client-final,
//! server-final. The broker keeps a [`Credential`] per user and mechanism:
//! a salt, the iteration count and two keys derived from the salted
//! password, from which the password cannot be recovered.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};

/// Kafka's bounds on the iteration count (ScramMechanism).
pub const MIN_ITERATIONS: i32 = 4096;
pub const MAX_ITERATIONS: i32 = 16384;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Mechanism {
    #[serde(rename = "SCRAM-SHA-256")]
    Sha256,
    #[serde(rename = "SCRAM-SHA-512")]
    Sha512,
}

impl Mechanism {
    /// The SASL mechanism name.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Sha256 => "SCRAM-SHA-256",
            Mechanism::Sha512 => "SCRAM-SHA-512",
        }
    }

    pub fn from_name(name: &str) -> Option<Mechanism> {
        match name {
            "SCRAM-SHA-256" => Some(Mechanism::Sha256),
            "SCRAM-SHA-512" => Some(Mechanism::Sha512),
            _ => None,
        }
    }

    /// The code Describe/AlterUserScramCredentials use (KIP-554).
    pub fn code(self) -> i8 {
        match self {
            Mechanism::Sha256 => 1,
            Mechanism::Sha512 => 2,
        }
    }

    pub fn from_code(code: i8) -> Option<Mechanism> {
        match code {
            1 => Some(Mechanism::Sha256),
            2 => Some(Mechanism::Sha512),
            _ => None,
        }
    }

    /// Bytes of the hash (and of every key).
    pub fn key_len(self) -> usize {
        match self {
            Mechanism::Sha256 => 32,
            Mechanism::Sha512 => 64,
        }
    }

    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            Mechanism::Sha256 => {
                let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
            Mechanism::Sha512 => {
                let mut m = <Hmac<Sha512> as Mac>::new_from_slice(key).expect("any key length");
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            Mechanism::Sha256 => Sha256::digest(data).to_vec(),
            Mechanism::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    /// RFC 5802's Hi(): PBKDF2 with this mechanism's HMAC.
    pub fn salted_password(self, password: &str, salt: &[u8], iterations: i32) -> Vec<u8> {
        let rounds = u32::try_from(iterations.max(1)).unwrap_or(1);
        let mut out = vec![0u8; self.key_len()];
        match self {
            Mechanism::Sha256 => {
                pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, rounds, &mut out);
            }
            Mechanism::Sha512 => {
                pbkdf2::pbkdf2_hmac::<Sha512>(password.as_bytes(), salt, rounds, &mut out);
            }
        }
        out
    }
}

/// What the broker stores for one user and mechanism.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    #[serde(with = "base64_bytes")]
    pub salt: Vec<u8>,
    #[serde(with = "base64_bytes")]
    pub stored_key: Vec<u8>,
    #[serde(with = "base64_bytes")]
    pub server_key: Vec<u8>,
    pub iterations: i32,
}

impl Credential {
    /// The credential of a salted password (what AlterUserScramCredentials
    /// carries: clients salt the password themselves).
    pub fn from_salted(mech: Mechanism, salted: &[u8], salt: &[u8], iterations: i32) -> Credential {
        let client_key = mech.hmac(salted, b"Client Key");
        Credential {
            salt: salt.to_vec(),
            stored_key: mech.hash(&client_key),
            server_key: mech.hmac(salted, b"Server Key"),
            iterations,
        }
    }

    /// The credential of a password with a fresh random salt.
    ///
    /// # Errors
    /// When the system has no randomness to give.
    pub fn new(mech: Mechanism, password: &str, iterations: i32) -> Result<Credential, String> {
        let salt = random_bytes(mech.key_len())?;
        let salted = mech.salted_password(password, &salt, iterations);
        Ok(Credential::from_salted(mech, &salted, &salt, iterations))
    }

    /// Whether `password` is this credential's (PLAIN logins).
    pub fn matches(&self, mech: Mechanism, password: &str) -> bool {
        let salted = mech.salted_password(password, &self.salt, self.iterations);
        let other = Credential::from_salted(mech, &salted, &self.salt, self.iterations);
        constant_time_eq(&other.stored_key, &self.stored_key)
    }
}

mod base64_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `n` random bytes from the operating system.
///
/// # Errors
/// When the system has no randomness to give.
pub fn random_bytes(n: usize) -> Result<Vec<u8>, String> {
    let mut v = vec![0u8; n];
    getrandom::fill(&mut v).map_err(|e| format!("no randomness: {e}"))?;
    Ok(v)
}

fn nonce() -> Result<String, String> {
    Ok(B64.encode(random_bytes(24)?))
}

/// `a=...,b=...` attributes in order.
fn attributes(msg: &str) -> Vec<(char, &str)> {
    msg.split(',')
        .filter_map(|kv| {
            let mut chars = kv.chars();
            let key = chars.next()?;
            kv.get(1..)?.strip_prefix('=').map(|v| (key, v))
        })
        .collect()
}

fn attribute<'a>(attrs: &[(char, &'a str)], key: char) -> Option<&'a str> {
    attrs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// RFC 5802's saslname: `=2C` is `,` and `=3D` is `=`.
fn decode_name(name: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = name;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        match rest.get(i..i + 3) {
            Some("=2C") => out.push(','),
            Some("=3D") => out.push('='),
            _ => return Err("bad escape in the user name".into()),
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

fn encode_name(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

/// Where a server-side exchange is.
#[derive(Debug)]
enum ServerStep {
    ClientFirst,
    ClientFinal {
        user: String,
        nonce: String,
        client_first_bare: String,
        server_first: String,
        credential: Credential,
    },
    Done,
}

/// The broker's side of one SCRAM exchange.
#[derive(Debug)]
pub struct Server {
    mech: Mechanism,
    step: ServerStep,
    server_nonce: Option<String>,
}

/// How a server-side step ended.
#[derive(Debug, PartialEq, Eq)]
pub enum ServerOutcome {
    /// Send this and wait for the client's next message.
    Continue(Vec<u8>),
    /// Authenticated as `user`; send this last message.
    Authenticated { user: String, last: Vec<u8> },
}

impl Server {
    pub fn new(mech: Mechanism) -> Server {
        Server {
            mech,
            step: ServerStep::ClientFirst,
            server_nonce: None,
        }
    }

    /// A server whose nonce is fixed (RFC test vectors).
    pub fn with_nonce(mech: Mechanism, nonce: &str) -> Server {
        Server {
            server_nonce: Some(nonce.to_string()),
            ..Server::new(mech)
        }
    }

    /// Takes the client's next message; `lookup` finds a user's credential.
    ///
    /// # Errors
    /// A malformed message, an unknown user or a wrong proof, as a message
    /// for the log (the client is told only that authentication failed).
    pub fn step(
        &mut self,
        message: &[u8],
        lookup: impl FnOnce(&str) -> Option<Credential>,
    ) -> Result<ServerOutcome, String> {
        let text = std::str::from_utf8(message).map_err(|_| "SCRAM message is not UTF-8")?;
        match std::mem::replace(&mut self.step, ServerStep::Done) {
            ServerStep::ClientFirst => {
                let bare = text
                    .strip_prefix("n,,")
                    .or_else(|| text.strip_prefix("y,,"))
                    .ok_or("SCRAM client-first must start with n,, (channel binding and authzid are not supported)")?;
                let attrs = attributes(bare);
                let user =
                    decode_name(attribute(&attrs, 'n').ok_or("SCRAM client-first has no user")?)?;
                let client_nonce =
                    attribute(&attrs, 'r').ok_or("SCRAM client-first has no nonce")?;
                let credential =
                    lookup(&user).ok_or_else(|| format!("unknown SCRAM user {user:?}"))?;
                let nonce = format!(
                    "{client_nonce}{}",
                    match &self.server_nonce {
                        Some(n) => n.clone(),
                        None => nonce()?,
                    }
                );
                let server_first = format!(
                    "r={nonce},s={},i={}",
                    B64.encode(&credential.salt),
                    credential.iterations
                );
                self.step = ServerStep::ClientFinal {
                    user,
                    nonce,
                    client_first_bare: bare.to_string(),
                    server_first: server_first.clone(),
                    credential,
                };
                Ok(ServerOutcome::Continue(server_first.into_bytes()))
            }
            ServerStep::ClientFinal {
                user,
                nonce,
                client_first_bare,
                server_first,
                credential,
            } => {
                let attrs = attributes(text);
                // Kafka accepts a nonce that ends with the server's: librdkafka
                // sends its own nonce again in front of it.
                if !attribute(&attrs, 'r').is_some_and(|r| r.ends_with(nonce.as_str())) {
                    return Err("SCRAM client-final carries another nonce".into());
                }
                let proof = attribute(&attrs, 'p').ok_or("SCRAM client-final has no proof")?;
                let proof = B64.decode(proof).map_err(|_| "SCRAM proof is not base64")?;
                let without_proof = text
                    .rsplit_once(",p=")
                    .map(|(w, _)| w)
                    .ok_or("SCRAM client-final has no proof")?;
                let auth = format!("{client_first_bare},{server_first},{without_proof}");
                let signature = self.mech.hmac(&credential.stored_key, auth.as_bytes());
                if proof.len() != signature.len() {
                    return Err(format!("wrong SCRAM proof for user {user:?}"));
                }
                let client_key: Vec<u8> =
                    proof.iter().zip(&signature).map(|(a, b)| a ^ b).collect();
                if !constant_time_eq(&self.mech.hash(&client_key), &credential.stored_key) {
                    return Err(format!("wrong SCRAM proof for user {user:?}"));
                }
                let server_signature = self.mech.hmac(&credential.server_key, auth.as_bytes());
                Ok(ServerOutcome::Authenticated {
                    user,
                    last: format!("v={}", B64.encode(server_signature)).into_bytes(),
                })
            }
            ServerStep::Done => Err("SCRAM exchange already finished".into()),
        }
    }
}

/// The client's side of one SCRAM exchange.
#[derive(Debug)]
pub struct Client {
    mech: Mechanism,
    password: String,
    client_first_bare: String,
    nonce: String,
    server_signature: Option<Vec<u8>>,
}

impl Client {
    /// Starts an exchange; returns the client and its first message.
    ///
    /// # Errors
    /// When the system has no randomness to give.
    pub fn start(mech: Mechanism, user: &str, password: &str) -> Result<(Client, Vec<u8>), String> {
        Ok(Client::with_nonce(mech, user, password, &nonce()?))
    }

    /// As [`Client::start`] with a fixed nonce (RFC test vectors).
    pub fn with_nonce(
        mech: Mechanism,
        user: &str,
        password: &str,
        nonce: &str,
    ) -> (Client, Vec<u8>) {
        let bare = format!("n={},r={nonce}", encode_name(user));
        let first = format!("n,,{bare}").into_bytes();
        (
            Client {
                mech,
                password: password.to_string(),
                client_first_bare: bare,
                nonce: nonce.to_string(),
                server_signature: None,
            },
            first,
        )
    }

    /// Answers server-first with client-final.
    ///
    /// # Errors
    /// A malformed server-first, or one whose nonce does not extend ours.
    pub fn answer(&mut self, server_first: &[u8]) -> Result<Vec<u8>, String> {
        let text = std::str::from_utf8(server_first).map_err(|_| "server-first is not UTF-8")?;
        let attrs = attributes(text);
        let nonce = attribute(&attrs, 'r').ok_or("server-first has no nonce")?;
        if !nonce.starts_with(&self.nonce) || nonce.len() <= self.nonce.len() {
            return Err("server-first nonce does not extend the client's".into());
        }
        let salt = B64
            .decode(attribute(&attrs, 's').ok_or("server-first has no salt")?)
            .map_err(|_| "server-first salt is not base64")?;
        let iterations: i32 = attribute(&attrs, 'i')
            .and_then(|i| i.parse().ok())
            .ok_or("server-first has no iteration count")?;
        if !(1..=1_000_000).contains(&iterations) {
            return Err(format!("server-first asks for {iterations} iterations"));
        }
        let salted = self.mech.salted_password(&self.password, &salt, iterations);
        let client_key = self.mech.hmac(&salted, b"Client Key");
        let stored_key = self.mech.hash(&client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth = format!("{},{text},{without_proof}", self.client_first_bare);
        let signature = self.mech.hmac(&stored_key, auth.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&signature)
            .map(|(a, b)| a ^ b)
            .collect();
        let server_key = self.mech.hmac(&salted, b"Server Key");
        self.server_signature = Some(self.mech.hmac(&server_key, auth.as_bytes()));
        Ok(format!("{without_proof},p={}", B64.encode(proof)).into_bytes())
    }

    /// Checks server-final: the server proves it holds the credential too.
    ///
    /// # Errors
    /// A server error (`e=...`) or a signature that does not match.
    pub fn finish(&self, server_final: &[u8]) -> Result<(), String> {
        let text = std::str::from_utf8(server_final).map_err(|_| "server-final is not UTF-8")?;
        let attrs = attributes(text);
        if let Some(e) = attribute(&attrs, 'e') {
            return Err(format!("the server refused: {e}"));
        }
        let v = B64
            .decode(attribute(&attrs, 'v').ok_or("server-final has no signature")?)
            .map_err(|_| "server-final signature is not base64")?;
        match &self.server_signature {
            Some(expected) if constant_time_eq(expected, &v) => Ok(()),
            _ => Err(
                "the server's SCRAM signature does not match: it does not hold this credential"
                    .into(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677, section 3.
    #[test]
    fn the_rfc_7677_exchange() {
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let salted = Mechanism::Sha256.salted_password("pencil", &salt, 4096);
        let cred = Credential::from_salted(Mechanism::Sha256, &salted, &salt, 4096);
        let (mut client, first) =
            Client::with_nonce(Mechanism::Sha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
        assert_eq!(first, b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let mut server = Server::with_nonce(Mechanism::Sha256, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
        let ServerOutcome::Continue(server_first) = server
            .step(&first, |u| (u == "user").then(|| cred.clone()))
            .unwrap()
        else {
            panic!("continue expected")
        };
        assert_eq!(
            server_first,
            b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        );
        let client_final = client.answer(&server_first).unwrap();
        assert_eq!(
            client_final,
            b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        let outcome = server.step(&client_final, |_| None).unwrap();
        assert_eq!(
            outcome,
            ServerOutcome::Authenticated {
                user: "user".into(),
                last: b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=".to_vec()
            }
        );
        client
            .finish(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
    }

    #[test]
    fn a_wrong_password_or_unknown_user_fails() {
        let cred = Credential::new(Mechanism::Sha512, "right", 4096).unwrap();
        assert!(cred.matches(Mechanism::Sha512, "right"));
        assert!(!cred.matches(Mechanism::Sha512, "wrong"));
        let (mut client, first) = Client::start(Mechanism::Sha512, "alice", "wrong").unwrap();
        let mut server = Server::new(Mechanism::Sha512);
        let ServerOutcome::Continue(sf) = server.step(&first, |_| Some(cred.clone())).unwrap()
        else {
            panic!()
        };
        let cf = client.answer(&sf).unwrap();
        assert!(
            server
                .step(&cf, |_| None)
                .unwrap_err()
                .contains("wrong SCRAM proof")
        );
        let (_, first) = Client::start(Mechanism::Sha512, "nobody", "x").unwrap();
        assert!(
            Server::new(Mechanism::Sha512)
                .step(&first, |_| None)
                .is_err()
        );
    }

    #[test]
    fn names_with_commas_and_equals_survive() {
        assert_eq!(decode_name(&encode_name("a,b=c")).unwrap(), "a,b=c");
    }
}
