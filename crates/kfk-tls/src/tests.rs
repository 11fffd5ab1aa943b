use std::path::PathBuf;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::ca::{Authority, Issued};
use super::*;

struct Files {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    broker: PathBuf,
    client: PathBuf,
}

fn write(dir: &Path, name: &str, issued: &Issued) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("{}{}", issued.cert_pem, issued.key_pem)).unwrap();
    p
}

fn files() -> Files {
    let dir = tempfile::tempdir().unwrap();
    let ca = Authority::generate("test CA").unwrap();
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, ca.cert_pem()).unwrap();
    let broker = ca
        .issue("broker-1", &["localhost".into(), "127.0.0.1".into()])
        .unwrap();
    let client = ca.issue("alice", &[]).unwrap();
    Files {
        ca: ca_path,
        broker: write(dir.path(), "broker.pem", &broker),
        client: write(dir.path(), "client.pem", &client),
        _dir: dir,
    }
}

/// One handshake over an in-memory pipe: the principal the server saw, or
/// the client's error.
async fn handshake(
    server: Arc<rustls::ServerConfig>,
    client: Arc<rustls::ClientConfig>,
    name: &str,
) -> Result<Option<String>, String> {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let srv = tokio::spawn(async move {
        let mut s = TlsAcceptor::from(server).accept(a).await.ok()?;
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).await.ok()?;
        s.write_all(b"pong").await.ok()?;
        s.flush().await.ok()?;
        let peer = s.get_ref().1.peer_certificates().map(|c| c[0].clone());
        Some(peer.and_then(|c| principal::subject_name(&c)))
    });
    let mut c = TlsConnector::from(client)
        .connect(server_name(name).unwrap(), b)
        .await
        .map_err(|e| e.to_string())?;
    c.write_all(b"ping").await.map_err(|e| e.to_string())?;
    let mut buf = [0u8; 4];
    c.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
    assert_eq!(&buf, b"pong");
    Ok(srv.await.unwrap().flatten())
}

#[tokio::test]
async fn a_client_trusting_the_ca_reaches_the_broker_by_name_or_address() {
    let f = files();
    let server = server_config(
        &ServerIdentity::load(&f.broker, None).unwrap(),
        ClientAuth::None,
    )
    .unwrap();
    let client = ClientTls::load(Some(&f.ca), None, None, true)
        .unwrap()
        .config()
        .unwrap();
    for name in ["localhost:9093", "127.0.0.1:9093"] {
        let seen = handshake(Arc::clone(&server), Arc::clone(&client), name).await;
        assert_eq!(seen, Ok(None), "{name}");
    }
    // A name the certificate does not list is refused unless the client
    // turns the check off.
    let err = handshake(Arc::clone(&server), Arc::clone(&client), "10.1.2.3:9093")
        .await
        .unwrap_err();
    assert!(
        err.contains("NotValidForName") || err.contains("not valid"),
        "{err}"
    );
    let lax = ClientTls::load(Some(&f.ca), None, None, false)
        .unwrap()
        .config()
        .unwrap();
    assert_eq!(handshake(server, lax, "10.1.2.3:9093").await, Ok(None));
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_ca_is_refused() {
    let f = files();
    let other = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        other.path(),
        Authority::generate("another CA").unwrap().cert_pem(),
    )
    .unwrap();
    let server = server_config(
        &ServerIdentity::load(&f.broker, None).unwrap(),
        ClientAuth::None,
    )
    .unwrap();
    let client = ClientTls::load(Some(other.path()), None, None, true)
        .unwrap()
        .config()
        .unwrap();
    let err = handshake(server, client, "localhost:1").await.unwrap_err();
    assert!(err.contains("UnknownIssuer"), "{err}");
}

#[tokio::test]
async fn required_client_auth_names_the_principal_and_refuses_clients_without_certificates() {
    let f = files();
    let id = ServerIdentity::load(&f.broker, Some(&f.ca)).unwrap();
    let required = server_config(&id, ClientAuth::Required).unwrap();
    let with_cert = ClientTls::load(Some(&f.ca), Some(&f.client), None, true)
        .unwrap()
        .config()
        .unwrap();
    assert_eq!(
        handshake(Arc::clone(&required), Arc::clone(&with_cert), "localhost:1").await,
        Ok(Some("CN=alice".into()))
    );
    let without = ClientTls::load(Some(&f.ca), None, None, true)
        .unwrap()
        .config()
        .unwrap();
    assert!(
        handshake(Arc::clone(&required), Arc::clone(&without), "localhost:1")
            .await
            .is_err()
    );
    // Requested: both connect, only one with a name.
    let requested = server_config(&id, ClientAuth::Requested).unwrap();
    assert_eq!(
        handshake(Arc::clone(&requested), with_cert, "localhost:1").await,
        Ok(Some("CN=alice".into()))
    );
    assert_eq!(handshake(requested, without, "localhost:1").await, Ok(None));
    // Client authentication needs CAs to check against.
    let no_trust = ServerIdentity::load(&f.broker, None).unwrap();
    assert!(server_config(&no_trust, ClientAuth::Required).is_err());
}

#[test]
fn unusable_files_are_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "nothing here\n").unwrap();
    let err = load_certs(&empty).unwrap_err().to_string();
    assert!(
        err.contains("empty.pem") && err.contains("no certificate"),
        "{err}"
    );
    let encrypted = dir.path().join("enc.pem");
    std::fs::write(
        &encrypted,
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n",
    )
    .unwrap();
    let err = load_key(&encrypted).unwrap_err().to_string();
    assert!(err.contains("encrypted"), "{err}");
    let missing = load_certs(&dir.path().join("missing.pem"))
        .unwrap_err()
        .to_string();
    assert!(missing.contains("missing.pem"), "{missing}");
}

#[test]
fn principals_are_rfc2253_most_specific_first() {
    let ca = Authority::generate("CA").unwrap();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CountryName, "DE");
    dn.push(rcgen::DnType::OrganizationName, "Acme, Inc");
    dn.push(rcgen::DnType::CommonName, "bob");
    let mut p = rcgen::CertificateParams::default();
    p.distinguished_name = dn;
    let key = rcgen::KeyPair::generate().unwrap();
    let issuer = rcgen::Issuer::from_ca_cert_pem(
        ca.cert_pem(),
        rcgen::KeyPair::from_pem(&ca.key_pem()).unwrap(),
    )
    .unwrap();
    let cert = p.signed_by(&key, &issuer).unwrap();
    assert_eq!(
        principal::subject_name(cert.der()).as_deref(),
        Some("CN=bob,O=Acme\\, Inc,C=DE")
    );
}

#[test]
fn a_saved_authority_signs_again() {
    let ca = Authority::generate("CA").unwrap();
    let again = Authority::load(ca.cert_pem(), &ca.key_pem()).unwrap();
    assert!(again.issue("broker-2", &["localhost".into()]).is_ok());
    assert!(Authority::load("not a cert", &ca.key_pem()).is_err());
}
