//! `kfk cluster up --secure`: a local cluster as one leaving loopback would
//! run. A CA signs one certificate the brokers share (CN=kfk-broker, for
//! localhost and 127.0.0.1) and one for kfk's admin (CN=kfk-admin). Clients
//! connect with SASL_SSL and SCRAM; brokers replicate over an INTERNAL SSL
//! listener that requires certificates; an authorizer checks every request,
//! with the brokers, the admin certificate and the SCRAM user `admin` as
//! super users. kfk then talks to the cluster through a profile that holds
//! the CA file and the admin's password file (never the password).

use std::io::Write;
use std::path::Path;

use kfk_tls::ca::Authority;

use crate::ctx::Ctx;
use crate::error::{CliError, CliResult};
use crate::local::{ClusterState, SecureCluster};
use crate::output;
use crate::profile::Profile;

/// The profile `--secure` writes and makes current.
pub(super) const PROFILE: &str = "local-secure";

const SUPER_USERS: &str = "User:CN=kfk-broker;User:CN=kfk-admin;User:admin";

fn tls_error(e: kfk_tls::TlsError) -> CliError {
    CliError::new(format!("cannot make the cluster's certificates: {e}"))
}

/// Writes `text` to `path`, readable by its owner only.
fn write_private(path: &Path, text: &str) -> CliResult {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

/// The CA, certificates and admin password in `data_dir/tls`, made on the
/// first `--secure` start and kept after (clients keep trusting the CA).
pub(super) fn prepare(data_dir: &Path) -> CliResult<SecureCluster> {
    let secure = SecureCluster {
        dir: data_dir.join("tls"),
    };
    std::fs::create_dir_all(&secure.dir)?;
    let ca = if secure.ca().exists() && secure.ca_key().exists() {
        let cert = std::fs::read_to_string(secure.ca())?;
        let key = std::fs::read_to_string(secure.ca_key())?;
        Authority::load(&cert, &key).map_err(tls_error)?
    } else {
        let ca = Authority::generate("kfk local cluster CA").map_err(tls_error)?;
        write_private(&secure.ca_key(), &ca.key_pem())?;
        std::fs::write(secure.ca(), ca.cert_pem())?;
        ca
    };
    if !secure.broker_keystore().exists() {
        let names = ["localhost".to_string(), "127.0.0.1".to_string()];
        let issued = ca.issue("kfk-broker", &names).map_err(tls_error)?;
        write_private(
            &secure.broker_keystore(),
            &format!("{}{}", issued.cert_pem, issued.key_pem),
        )?;
    }
    if !secure.admin_keystore().exists() {
        let issued = ca.issue("kfk-admin", &[]).map_err(tls_error)?;
        write_private(
            &secure.admin_keystore(),
            &format!("{}{}", issued.cert_pem, issued.key_pem),
        )?;
    }
    if !secure.admin_password().exists() {
        let bytes = kfk_sasl::scram::random_bytes(18).map_err(CliError::new)?;
        let password: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        write_private(&secure.admin_password(), &format!("{password}\n"))?;
    }
    Ok(secure)
}

/// kfkd's flags for a secure broker listening on `port`.
pub(super) fn broker_args(secure: &SecureCluster, port: u16) -> CliResult<Vec<String>> {
    let internal = port
        .checked_add(SecureCluster::INTERNAL_OFFSET)
        .ok_or_else(|| {
            CliError::usage(format!(
                "port {port} leaves no room for the INTERNAL listener (port + 300)"
            ))
        })?;
    let path = |p: std::path::PathBuf| p.display().to_string();
    Ok(vec![
        "--listen".into(),
        format!("SASL_SSL://127.0.0.1:{port},INTERNAL://127.0.0.1:{internal}"),
        "--listener-security-protocol-map".into(),
        "SASL_SSL:SASL_SSL,INTERNAL:SSL".into(),
        "--inter-broker-listener-name".into(),
        "INTERNAL".into(),
        "--ssl-keystore-location".into(),
        path(secure.broker_keystore()),
        "--ssl-truststore-location".into(),
        path(secure.ca()),
        "--ssl-client-auth".into(),
        "required".into(),
        "--authorizer-class-name".into(),
        "org.apache.kafka.metadata.authorizer.StandardAuthorizer".into(),
        "--super-users".into(),
        SUPER_USERS.into(),
    ])
}

/// The admin's password, from its file.
fn admin_password(secure: &SecureCluster) -> CliResult<String> {
    let text = std::fs::read_to_string(secure.admin_password())?;
    Ok(text.lines().next().unwrap_or_default().to_string())
}

/// Gives the SCRAM user `admin` its password (both mechanisms) through the
/// INTERNAL listener, as the admin certificate.
pub(super) async fn ensure_admin(state: &ClusterState, secure: &SecureCluster) -> CliResult {
    let config = secure.internal_config(state.running().iter().map(|b| b.port))?;
    let client = kfk_client::Client::connect(config).await?;
    let known = client
        .scram_users(None)
        .await?
        .get(SecureCluster::ADMIN)
        .map(|m| m.len())
        .unwrap_or(0);
    if known < 2 {
        let password = admin_password(secure)?;
        for m in [
            kfk_client::ScramMechanism::Sha256,
            kfk_client::ScramMechanism::Sha512,
        ] {
            client
                .set_scram_password(SecureCluster::ADMIN, m, &password, 8192)
                .await?;
        }
    }
    Ok(())
}

/// Writes the `local-secure` profile and makes it current.
pub(super) fn write_profile(ctx: &Ctx, state: &ClusterState, secure: &SecureCluster) -> CliResult {
    let path = ctx.home.config_file();
    let mut profiles = ctx.profiles()?;
    let file = |p: std::path::PathBuf| Some(p.display().to_string());
    profiles.profiles.insert(
        PROFILE.to_string(),
        Profile {
            bootstrap: Some(state.bootstrap()),
            security_protocol: Some("SASL_SSL".into()),
            sasl_mechanism: Some("SCRAM-SHA-512".into()),
            sasl_username: Some(SecureCluster::ADMIN.into()),
            sasl_password_file: file(secure.admin_password()),
            ssl_ca_location: file(secure.ca()),
            ..Profile::default()
        },
    );
    profiles.current = Some(PROFILE.to_string());
    profiles.save(&path)?;
    output::status(&format!(
        "Secured: clients connect with SASL_SSL as SCRAM user {} (password in {}), trusting {}. kfk now uses profile {PROFILE}.",
        SecureCluster::ADMIN,
        secure.admin_password().display(),
        secure.ca().display()
    ));
    Ok(())
}

/// Forgets the `local-secure` profile (its files are gone with the data).
pub(super) fn forget_profile(ctx: &Ctx) -> CliResult {
    let mut profiles = ctx.profiles()?;
    if profiles.profiles.remove(PROFILE).is_some() {
        if profiles.current.as_deref() == Some(PROFILE) {
            profiles.current = None;
        }
        profiles.save(&ctx.home.config_file())?;
    }
    Ok(())
}
