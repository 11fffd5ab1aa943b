//! Who a request is from. Without authentication every request shares one
//! cluster connection; with HTTP Basic authentication each user's requests
//! go through a client of its own that authenticates to the brokers with
//! SASL as that user, so the cluster's ACLs decide what a REST user may do
//! (and each user's consumer instances are its own).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use kfk_client::{ClientConfig, SaslConfig};
use sha2::{Digest, Sha256};

use crate::error::RestError;
use crate::{Proxy, Shared};

/// How the proxy authenticates its callers.
#[derive(Debug, Clone)]
pub enum Auth {
    /// Everyone is the proxy's own cluster identity.
    None,
    /// HTTP Basic users become SASL users with this mechanism.
    Basic { mechanism: String },
}

/// The proxy's settings and its per-caller state.
#[derive(Debug)]
pub struct Server {
    base: ClientConfig,
    listen: String,
    auth: Auth,
    shared: Shared,
    /// Per (user, hash of the password): a user's client, producer and
    /// consumer instances; only credentials the cluster accepted are kept.
    users: tokio::sync::Mutex<HashMap<(String, [u8; 32]), Shared>>,
}

impl Server {
    pub fn new(base: ClientConfig, listen: String, auth: Auth) -> Server {
        Server {
            shared: Arc::new(Proxy::new(base.clone(), listen.clone())),
            base,
            listen,
            auth,
            users: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The proxy state serving `parts`' caller.
    async fn proxy_for(&self, parts: &Parts) -> Result<Shared, RestError> {
        let Auth::Basic { mechanism } = &self.auth else {
            return Ok(Arc::clone(&self.shared));
        };
        let (user, password) = basic(parts)?;
        let key = (user.clone(), Sha256::digest(password.as_bytes()).into());
        if let Some(p) = self.users.lock().await.get(&key) {
            return Ok(Arc::clone(p));
        }
        let mut config = self.base.clone();
        config.sasl = Some(SaslConfig {
            mechanism: mechanism.clone(),
            username: user,
            password,
        });
        let proxy = Arc::new(Proxy::new(config, self.listen.clone()));
        // Connecting proves the credentials before anything is kept.
        proxy.client().await?;
        self.users.lock().await.insert(key, Arc::clone(&proxy));
        Ok(proxy)
    }
}

/// The user and password of an `Authorization: Basic` header.
fn basic(parts: &Parts) -> Result<(String, String), RestError> {
    let missing = || RestError::unauthorized("Authentication required (HTTP Basic)");
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(missing)?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
        .ok_or_else(missing)?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(missing)?;
    let (user, password) = decoded.split_once(':').ok_or_else(missing)?;
    if user.is_empty() {
        return Err(missing());
    }
    Ok((user.to_string(), password.to_string()))
}

/// The caller's proxy state, for handlers.
#[derive(Debug)]
pub struct Caller(pub Shared);

impl FromRequestParts<Arc<Server>> for Caller {
    type Rejection = RestError;

    async fn from_request_parts(
        parts: &mut Parts,
        server: &Arc<Server>,
    ) -> Result<Caller, RestError> {
        server.proxy_for(parts).await.map(Caller)
    }
}
