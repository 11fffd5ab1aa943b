//! Authentication on a SASL listener: SaslHandshake picks a mechanism,
//! SaslAuthenticate carries its messages (KIP-152), and until it succeeds
//! the connection may ask for nothing but ApiVersions. Credentials are the
//! SCRAM ones of the metadata log; PLAIN is checked against them too. A
//! failure is answered with SASL_AUTHENTICATION_FAILED after
//! `connection.failed.authentication.delay.ms`, and the connection closes.

use std::net::SocketAddr;

use bytes::BytesMut;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::{
    ApiKey, RequestKind, SaslAuthenticateResponse, SaslHandshakeResponse,
};
use kafka_protocol::protocol::StrBytes;
use kfk_sasl::scram::{Server, ServerOutcome};
use kfk_sasl::{Credential, Mechanism};
use kfk_wire::frame::{FrameError, encode_response};
use tracing::info;

use crate::broker::Broker;
use crate::config::SecurityProtocol;

#[derive(Debug)]
enum Step {
    /// A PLAINTEXT listener: nothing to prove.
    Open,
    /// Waiting for SaslHandshake.
    Required,
    /// The mechanism is chosen; its first message comes next.
    Chosen(String),
    /// A SCRAM exchange in progress.
    Scram(Box<Server>, Mechanism),
    Authenticated(String),
}

/// One connection's authentication.
#[derive(Debug)]
pub(crate) struct Sasl {
    step: Step,
    /// The handshake was v0: tokens come bare, not in SaslAuthenticate.
    raw: bool,
    /// When the authenticated session ends (`connections.max.reauth.ms`,
    /// KIP-368): the client must authenticate again before, or be closed.
    expires: Option<std::time::Instant>,
    /// Who the connection was before a re-authentication in progress: it
    /// stays that principal meanwhile and must come out as the same one.
    previous: Option<String>,
}

/// What to do with a request.
pub(crate) enum Outcome {
    /// Not SASL's business: serve it.
    Serve,
    /// Answer this.
    Reply(BytesMut),
    /// Answer this, then close (a failed authentication).
    ReplyAndClose(BytesMut),
    /// Close without answering (a request before authentication).
    Refuse(ApiKey),
    /// Close: the session's lifetime is over and it was not renewed.
    Expired,
}

/// Logs a failed login and holds its answer for
/// `connection.failed.authentication.delay.ms`, longer for a source that
/// keeps failing, slowing password guessing.
async fn failed_slowly(broker: &Broker, peer: SocketAddr, why: &str) {
    let base =
        std::time::Duration::from_millis(broker.settings.connection_failed_authentication_delay_ms);
    let delay = broker.failed_logins.delay(peer.ip(), base);
    info!(%peer, reason = %why, delay_ms = delay.as_millis() as u64, "failed authentication");
    tokio::time::sleep(delay).await;
}

fn text(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

impl Sasl {
    pub(crate) fn new(protocol: SecurityProtocol) -> Sasl {
        Sasl {
            step: if protocol.sasl() {
                Step::Required
            } else {
                Step::Open
            },
            raw: false,
            expires: None,
            previous: None,
        }
    }

    /// The next frame is a bare SASL token (after a v0 handshake).
    pub(crate) fn expects_raw_token(&self) -> bool {
        self.raw && !self.done()
    }

    /// One bare token: the bytes to send back bare (none after a failure,
    /// as Kafka closes without a word), and whether it failed.
    pub(crate) async fn raw_token(
        &mut self,
        broker: &Broker,
        peer: SocketAddr,
        token: &[u8],
    ) -> (Option<Vec<u8>>, bool) {
        let (reply, fail) = self.authenticate(broker, token);
        match fail {
            None => {
                if let Err(why) = self.authenticated(broker) {
                    failed_slowly(broker, peer, &why).await;
                    return (None, true);
                }
                if let Step::Authenticated(user) = &self.step {
                    info!(%peer, user, "authenticated");
                }
                (Some(reply), false)
            }
            Some((_, why, _)) => {
                failed_slowly(broker, peer, &why).await;
                (None, true)
            }
        }
    }

    /// The SASL user this connection authenticated as, if it did (during
    /// a re-authentication, the one it was).
    pub(crate) fn user(&self) -> Option<&str> {
        match &self.step {
            Step::Authenticated(u) => Some(u),
            _ => self.previous.as_deref(),
        }
    }

    /// After a successful exchange: the session's end, and whether a
    /// re-authentication kept the principal it had.
    fn authenticated(&mut self, broker: &Broker) -> Result<i64, String> {
        let Step::Authenticated(user) = &self.step else {
            return Ok(0);
        };
        if let Some(before) = self.previous.take()
            && &before != user
        {
            return Err(format!(
                "re-authenticated as {user}, but the connection is {before}'s"
            ));
        }
        let lifetime = broker.settings.connections_max_reauth_ms;
        self.expires = (lifetime > 0)
            .then(|| std::time::Instant::now() + std::time::Duration::from_millis(lifetime));
        Ok(i64::try_from(lifetime).unwrap_or(i64::MAX))
    }

    fn expired(&self) -> bool {
        self.expires
            .is_some_and(|at| std::time::Instant::now() >= at)
    }

    fn done(&self) -> bool {
        matches!(self.step, Step::Open | Step::Authenticated(_))
    }

    /// Routes one decoded request through authentication.
    ///
    /// # Errors
    /// A response that cannot be encoded (a bug).
    pub(crate) async fn route(
        &mut self,
        broker: &Broker,
        peer: SocketAddr,
        api_key: ApiKey,
        version: i16,
        correlation_id: i32,
        body: &RequestKind,
    ) -> Result<Outcome, FrameError> {
        match body {
            RequestKind::SaslHandshake(r) => {
                let enabled = broker.settings.sasl_mechanisms();
                let resp = SaslHandshakeResponse::default()
                    .with_mechanisms(enabled.iter().map(|m| text(m.clone())).collect());
                let mechanism = r.mechanism.to_string();
                // KIP-368: an authenticated connection may authenticate
                // again (v1 handshakes) when sessions expire.
                let reauth = broker.settings.connections_max_reauth_ms > 0 && version >= 1;
                if reauth
                    && enabled.contains(&mechanism)
                    && let Step::Authenticated(user) = &self.step
                {
                    self.previous = Some(user.clone());
                    self.step = Step::Required;
                }
                let resp = if !matches!(self.step, Step::Required) {
                    // PLAINTEXT listeners and authenticated connections.
                    resp.with_error_code(ResponseError::IllegalSaslState.code())
                } else if !enabled.contains(&mechanism) {
                    resp.with_error_code(ResponseError::UnsupportedSaslMechanism.code())
                } else {
                    self.step = Step::Chosen(mechanism);
                    self.raw = version == 0;
                    resp
                };
                Ok(Outcome::Reply(encode_response(
                    api_key,
                    version,
                    correlation_id,
                    &resp,
                )?))
            }
            // PLAINTEXT listeners and authenticated connections: refused,
            // and the connection goes on, as in Kafka.
            RequestKind::SaslAuthenticate(_) if self.done() => {
                let resp = SaslAuthenticateResponse::default()
                    .with_error_code(ResponseError::IllegalSaslState.code())
                    .with_error_message(Some(text(
                        "SaslAuthenticate on a connection that needs no authentication or has it",
                    )));
                Ok(Outcome::Reply(encode_response(
                    api_key,
                    version,
                    correlation_id,
                    &resp,
                )?))
            }
            RequestKind::SaslAuthenticate(r) => {
                let (reply, fail) = self.authenticate(broker, &r.auth_bytes);
                let resp = match fail {
                    None => SaslAuthenticateResponse::default().with_auth_bytes(reply.into()),
                    Some((code, why, mechanism)) => {
                        failed_slowly(broker, peer, &why).await;
                        let resp = SaslAuthenticateResponse::default()
                            .with_error_code(code.code())
                            .with_error_message(Some(text(format!(
                                "Authentication failed during authentication due to invalid credentials with SASL mechanism {mechanism}"
                            ))));
                        return Ok(Outcome::ReplyAndClose(encode_response(
                            api_key,
                            version,
                            correlation_id,
                            &resp,
                        )?));
                    }
                };
                let renewed = self.previous.is_some();
                let resp = match self.authenticated(broker) {
                    Ok(lifetime) => resp.with_session_lifetime_ms(lifetime),
                    Err(why) => {
                        failed_slowly(broker, peer, &why).await;
                        let resp = SaslAuthenticateResponse::default()
                            .with_error_code(ResponseError::SaslAuthenticationFailed.code())
                            .with_error_message(Some(text(why)));
                        return Ok(Outcome::ReplyAndClose(encode_response(
                            api_key,
                            version,
                            correlation_id,
                            &resp,
                        )?));
                    }
                };
                if let Step::Authenticated(user) = &self.step {
                    if renewed {
                        info!(%peer, user, "re-authenticated");
                    } else {
                        info!(%peer, user, "authenticated");
                    }
                }
                Ok(Outcome::Reply(encode_response(
                    api_key,
                    version,
                    correlation_id,
                    &resp,
                )?))
            }
            _ if self.expired() => Ok(Outcome::Expired),
            _ if self.done() || api_key == ApiKey::ApiVersions => Ok(Outcome::Serve),
            // A re-authentication in progress: the connection is still its
            // principal's until the session ends.
            _ if self.previous.is_some() => Ok(Outcome::Serve),
            _ => Ok(Outcome::Refuse(api_key)),
        }
    }

    /// One SaslAuthenticate: the bytes to send back, or why it failed.
    fn authenticate(
        &mut self,
        broker: &Broker,
        message: &[u8],
    ) -> (Vec<u8>, Option<(ResponseError, String, String)>) {
        let lookup = |user: &str, m: Mechanism| -> Option<Credential> {
            broker.with_image(|i| i.scram.get(user).and_then(|c| c.get(&m)).cloned())
        };
        let failed = |why: String, mech: &str| {
            (
                Vec::new(),
                Some((
                    ResponseError::SaslAuthenticationFailed,
                    why,
                    mech.to_string(),
                )),
            )
        };
        match std::mem::replace(&mut self.step, Step::Required) {
            Step::Chosen(mech) if mech == "PLAIN" => match kfk_sasl::plain::parse(message) {
                Err(e) => failed(e, &mech),
                Ok(p) => {
                    let ok = [Mechanism::Sha256, Mechanism::Sha512]
                        .into_iter()
                        .any(|m| lookup(&p.user, m).is_some_and(|c| c.matches(m, &p.password)));
                    if ok {
                        self.step = Step::Authenticated(p.user);
                        (Vec::new(), None)
                    } else {
                        failed(format!("wrong PLAIN password for {:?}", p.user), &mech)
                    }
                }
            },
            Step::Chosen(mech) => {
                let Some(m) = Mechanism::from_name(&mech) else {
                    return failed(format!("{mech} is not served"), &mech);
                };
                let mut server = Server::new(m);
                match server.step(message, |u| lookup(u, m)) {
                    Ok(ServerOutcome::Continue(reply)) => {
                        self.step = Step::Scram(Box::new(server), m);
                        (reply, None)
                    }
                    Ok(ServerOutcome::Authenticated { .. }) => {
                        failed("SCRAM ended early".into(), &mech)
                    }
                    Err(e) => failed(e, &mech),
                }
            }
            Step::Scram(mut server, m) => match server.step(message, |_| None) {
                Ok(ServerOutcome::Authenticated { user, last }) => {
                    self.step = Step::Authenticated(user);
                    (last, None)
                }
                Ok(ServerOutcome::Continue(_)) => failed("SCRAM went on too long".into(), m.name()),
                Err(e) => failed(e, m.name()),
            },
            other => {
                let mech = match &other {
                    Step::Authenticated(_) | Step::Open => "(none)",
                    _ => "(none chosen)",
                };
                self.step = other;
                (
                    Vec::new(),
                    Some((
                        ResponseError::IllegalSaslState,
                        "SaslAuthenticate without a SaslHandshake first".into(),
                        mech.to_string(),
                    )),
                )
            }
        }
    }
}
