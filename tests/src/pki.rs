//! Certificates for TLS tests: a CA, a broker certificate for the loopback
//! names, and client certificates, as PEM files in a temporary directory.

use std::path::PathBuf;

use kfk_tls::ca::Authority;

/// A test CA and the files it signed.
#[derive(Debug)]
pub struct Pki {
    dir: tempfile::TempDir,
    ca: Authority,
    /// The CA certificate clients trust.
    pub ca_file: PathBuf,
    /// The broker's certificate chain and key in one file (a PEM keystore).
    pub broker_file: PathBuf,
}

impl Pki {
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = Authority::generate("kfk test CA").expect("CA");
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, ca.cert_pem()).unwrap();
        let mut pki = Pki {
            broker_file: PathBuf::new(),
            ca_file,
            ca,
            dir,
        };
        pki.broker_file = pki.issue("broker", &["localhost", "127.0.0.1"]).0;
        pki
    }

    /// A certificate for `common_name` valid for `names`: (one file with
    /// certificate and key, the certificate alone, the key alone).
    pub fn issue(&self, common_name: &str, names: &[&str]) -> (PathBuf, PathBuf, PathBuf) {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let issued = self.ca.issue(common_name, &names).expect("certificate");
        let base = self.dir.path().join(common_name.replace(['/', ' '], "_"));
        let both = base.with_extension("pem");
        let cert = base.with_extension("crt");
        let key = base.with_extension("key");
        std::fs::write(&both, format!("{}{}", issued.cert_pem, issued.key_pem)).unwrap();
        std::fs::write(&cert, &issued.cert_pem).unwrap();
        std::fs::write(&key, &issued.key_pem).unwrap();
        (both, cert, key)
    }

    /// The broker flags serving TLS with these files.
    pub fn broker_args(&self) -> Vec<String> {
        vec![
            "--ssl-keystore-location".into(),
            self.broker_file.display().to_string(),
            "--ssl-truststore-location".into(),
            self.ca_file.display().to_string(),
        ]
    }

    pub fn ca(&self) -> String {
        self.ca_file.display().to_string()
    }
}

impl Default for Pki {
    fn default() -> Self {
        Pki::new()
    }
}
