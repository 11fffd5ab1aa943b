//! SSL and SASL_SSL listeners (rustls, PEM files): kfk, kcat, Kafka's
//! Python and Java clients reach the broker in TLS and check its
//! certificate; client certificates are asked for with ssl.client.auth;
//! a plaintext client on the TLS port and a TLS client on the plaintext
//! port fail at once and say why, and the broker goes on serving.

use std::process::{Command, Stdio};
use std::time::Duration;

use kfk_e2e::pki::Pki;
use kfk_e2e::{KfkHome as Home, Kfkd, run_unchecked, tool};

const T: Duration = Duration::from_secs(60);

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn start(protocol: &'static str, pki: &Pki, extra: &[&str]) -> Kfkd {
    let mut args = pki.broker_args();
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Kfkd::start_with_listener(protocol, &args)
}

fn kcat(addr: &str, settings: &[String]) -> Command {
    let mut cmd = Command::new(tool("kcat", "the Debian package kcat"));
    cmd.args(["-b", addr]);
    for s in settings {
        cmd.args(["-X", s]);
    }
    cmd
}

fn kcat_produce(addr: &str, settings: &[String], topic: &str, lines: &str) {
    let mut p = kcat(addr, settings)
        .args(["-P", "-t", topic])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kcat");
    std::io::Write::write_all(&mut p.stdin.take().unwrap(), lines.as_bytes()).unwrap();
    let out = p.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn an_ssl_listener_serves_kfk_and_kcat_and_the_wrong_protocol_fails_cleanly() {
    let pki = Pki::new();
    let kfkd = start("SSL", &pki, &[]);
    let plain = kfkd.bootstrap();
    let tls = format!("127.0.0.1:{}", kfkd.secure_port());
    let ca = pki.ca();
    let home = Home::new();
    // A CA file alone means TLS.
    home.ok(&[
        "-b",
        &tls,
        "--ssl-ca-file",
        &ca,
        "topics",
        "create",
        "sealed",
        "-p",
        "1",
    ]);
    home.ok_stdin(
        &["-b", &tls, "--ssl-ca-file", &ca, "produce", "sealed"],
        "one\ntwo\n",
    );
    // kcat (librdkafka, OpenSSL) checks the certificate's address too.
    let ssl = vec![
        "security.protocol=SSL".to_string(),
        format!("ssl.ca.location={ca}"),
    ];
    kcat_produce(&tls, &ssl, "sealed", "three\n");
    let read = run_unchecked(kcat(&tls, &ssl).args(["-C", "-t", "sealed", "-e", "-q"]), T);
    assert_eq!(
        String::from_utf8_lossy(&read.stdout),
        "one\ntwo\nthree\n",
        "{}",
        text(&read)
    );
    // By name as well as by address; metadata on the TLS listener names it.
    let localhost = format!("localhost:{}", kfkd.secure_port());
    let consumed = home.ok(&[
        "-b",
        &localhost,
        "--security-protocol",
        "SSL",
        "--ssl-ca-file",
        &ca,
        "consume",
        "sealed",
        "--from-beginning",
        "--max-messages",
        "3",
    ]);
    assert_eq!(consumed, "one\ntwo\nthree\n");
    let listed = run_unchecked(kcat(&tls, &ssl).arg("-L"), T);
    assert!(
        text(&listed).contains(&format!("broker 1 at {tls}")),
        "{}",
        text(&listed)
    );

    // A CA that did not sign the broker's certificate: refused, named.
    let other = Pki::new();
    let said = home.fails(&["-b", &tls, "--ssl-ca-file", &other.ca(), "topics", "list"]);
    assert!(
        said.contains("TLS") && said.contains("invalid peer certificate"),
        "{said}"
    );

    // Plaintext to the TLS port: an error at once, with the way out.
    let started = std::time::Instant::now();
    let said = home.fails(&["-b", &tls, "topics", "list"]);
    assert!(said.contains("--security-protocol SSL"), "{said}");
    assert!(started.elapsed() < Duration::from_secs(20), "{said}");
    // TLS to the plaintext port: the same.
    let said = home.fails(&["-b", &plain, "--ssl-ca-file", &ca, "topics", "list"]);
    assert!(said.contains("TLS with"), "{said}");
    let log = kfkd.log();
    assert!(log.contains("TLS handshake failed"), "{log}");
    assert!(log.contains("speaks TLS to a listener without it"), "{log}");
    // Both listeners still serve.
    assert!(
        home.ok(&["-b", &plain, "topics", "list"])
            .contains("sealed")
    );
    assert!(
        home.ok(&["-b", &tls, "--ssl-ca-file", &ca, "topics", "list"])
            .contains("sealed")
    );
}

#[test]
fn sasl_ssl_authenticates_scram_inside_tls() {
    let pki = Pki::new();
    let kfkd = start(
        "SASL_SSL",
        &pki,
        &["--connection-failed-authentication-delay-ms", "20"],
    );
    let plain = kfkd.bootstrap();
    let secure = format!("127.0.0.1:{}", kfkd.secure_port());
    let ca = pki.ca();
    let home = Home::new();
    for mechanism in ["SCRAM-SHA-256", "SCRAM-SHA-512"] {
        home.ok_stdin(
            &[
                "-b",
                &plain,
                "users",
                "create",
                "dana",
                "--mechanism",
                mechanism,
            ],
            "dana-secret\n",
        );
    }
    let scram = |password: &str| {
        vec![
            "security.protocol=SASL_SSL".to_string(),
            format!("ssl.ca.location={ca}"),
            "sasl.mechanisms=SCRAM-SHA-512".to_string(),
            "sasl.username=dana".to_string(),
            format!("sasl.password={password}"),
        ]
    };
    home.ok(&["-b", &plain, "topics", "create", "vault", "-p", "1"]);
    kcat_produce(&secure, &scram("dana-secret"), "vault", "gold\n");
    // kfk: a CA file and a SASL user mean SASL_SSL.
    let read = Home::new()
        .with_env("KFK_SASL_PASSWORD", "dana-secret")
        .ok(&[
            "-b",
            &secure,
            "--ssl-ca-file",
            &ca,
            "--sasl-mechanism",
            "SCRAM-SHA-256",
            "--sasl-username",
            "dana",
            "consume",
            "vault",
            "--from-beginning",
            "--max-messages",
            "1",
        ]);
    assert_eq!(read, "gold\n");
    // A wrong password is refused inside TLS.
    let out = run_unchecked(kcat(&secure, &scram("guess")).args(["-L", "-m", "5"]), T);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("Authentication failed"),
        "{}",
        text(&out)
    );
    // TLS without SASL gets nothing past ApiVersions.
    let ssl_only = vec![
        "security.protocol=SSL".to_string(),
        format!("ssl.ca.location={ca}"),
    ];
    let out = run_unchecked(kcat(&secure, &ssl_only).args(["-L", "-m", "5"]), T);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(kfkd.log().contains("request before SASL authentication"));
}

#[test]
fn required_client_certificates_let_in_only_clients_the_ca_signed() {
    let pki = Pki::new();
    let kfkd = start("SSL", &pki, &["--ssl-client-auth", "required"]);
    let tls = format!("127.0.0.1:{}", kfkd.secure_port());
    let ca = pki.ca();
    let (both, cert, key) = pki.issue("erin", &[]);
    let home = Home::new();
    home.ok(&[
        "-b",
        &kfkd.bootstrap(),
        "topics",
        "create",
        "badge",
        "-p",
        "1",
    ]);
    // kfk with its certificate and key in one file.
    home.ok_stdin(
        &[
            "-b",
            &tls,
            "--ssl-ca-file",
            &ca,
            "--ssl-cert-file",
            &both.display().to_string(),
            "produce",
            "badge",
        ],
        "signed\n",
    );
    // kcat with them in two.
    let settings = vec![
        "security.protocol=SSL".to_string(),
        format!("ssl.ca.location={ca}"),
        format!("ssl.certificate.location={}", cert.display()),
        format!("ssl.key.location={}", key.display()),
    ];
    let read = run_unchecked(
        kcat(&tls, &settings).args(["-C", "-t", "badge", "-e", "-q"]),
        T,
    );
    assert_eq!(
        String::from_utf8_lossy(&read.stdout),
        "signed\n",
        "{}",
        text(&read)
    );
    // Without a certificate, or with one another CA signed: refused.
    let said = home.fails(&["-b", &tls, "--ssl-ca-file", &ca, "topics", "list"]);
    assert!(
        said.contains("TLS") && said.contains("CertificateRequired"),
        "{said}"
    );
    let other = Pki::new();
    let stranger = other.issue("mallory", &[]).0;
    let said = home.fails(&[
        "-b",
        &tls,
        "--ssl-ca-file",
        &ca,
        "--ssl-cert-file",
        &stranger.display().to_string(),
        "topics",
        "list",
    ]);
    assert!(said.contains("TLS"), "{said}");
    assert!(kfkd.log().contains("TLS handshake failed"));
}

#[test]
fn python_and_java_clients_speak_sasl_ssl() {
    let pki = Pki::new();
    let kfkd = start(
        "SASL_SSL",
        &pki,
        &["--group-initial-rebalance-delay-ms", "0"],
    );
    let secure = format!("127.0.0.1:{}", kfkd.secure_port());
    let ca = pki.ca();
    let home = Home::new();
    for mechanism in ["SCRAM-SHA-256", "SCRAM-SHA-512"] {
        home.ok_stdin(
            &[
                "-b",
                &kfkd.bootstrap(),
                "users",
                "create",
                "fay",
                "--mechanism",
                mechanism,
            ],
            "fay-secret\n",
        );
    }
    for (script, mechanism) in [
        ("confluent_client.py", "SCRAM-SHA-256"),
        ("kafka_python_client.py", "SCRAM-SHA-512"),
    ] {
        let credentials = format!("{mechanism}:fay:fay-secret");
        kfk_e2e::python_round_trip(
            script,
            &secure,
            &format!("tls-{}", &script[..5]),
            &[("KFK_TEST_SASL", &credentials), ("KFK_TEST_SSL_CA", &ca)],
        );
    }
    home.ok(&[
        "-b",
        &kfkd.bootstrap(),
        "topics",
        "create",
        "java-tls",
        "-p",
        "2",
    ]);
    let java = |args: &[&str]| {
        let mut cmd = kfk_e2e::kafka_tools::java();
        cmd.env("KFK_TEST_SASL", "SCRAM-SHA-512:fay:fay-secret")
            .env("KFK_TEST_SSL_CA", &ca)
            .arg("kfk.e2e.Clients")
            .args(args);
        run_unchecked(&mut cmd, Duration::from_secs(120))
    };
    let produced = java(&["produce", &secure, "java-tls", "200", "1000"]);
    assert!(produced.status.success(), "{}", text(&produced));
    assert_eq!(
        kfk_e2e::json_lines(&String::from_utf8_lossy(&produced.stdout)).len(),
        200
    );
    let consumed = java(&[
        "consume", &secure, "java-tls", "readers", "range", "-", "3000",
    ]);
    assert!(consumed.status.success(), "{}", text(&consumed));
    let read = kfk_e2e::json_lines(&String::from_utf8_lossy(&consumed.stdout))
        .into_iter()
        .filter(|l| l.get("v").is_some())
        .count();
    assert_eq!(read, 200);
}
