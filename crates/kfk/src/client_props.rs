//! Kafka client properties for kfk: the `client.properties` an operator
//! already passes to Kafka's tools (`--command-config`, `--producer.config`,
//! `--consumer.config`) and kcat's `-X key=value` pairs, in Java's names or
//! librdkafka's. They say how to reach and authenticate to a cluster, so the
//! file that lets `kafka-topics.sh` into a SASL_SSL cluster lets kfk in too.
//!
//! Flags and `KFK_*` variables win over these, and these over the current
//! profile. A key kfk has no use for is named on stderr and ignored, as
//! Kafka's clients warn of configs they do not know; a key kfk cannot honour
//! (a JKS trust store, an encrypted key, Kerberos) is an error, not a silent
//! plaintext connection.

use std::path::Path;
use std::time::Duration;

use clap::ArgMatches;
use clap::ValueEnum;
use clap::parser::ValueSource;
use kfk_props::Property;

use crate::cli::{Command, CompressionArg, GroupProtocolArg, Isolation};

use crate::error::{CliError, CliResult};
use crate::profile::Profile;

/// What the properties say, in kfk's terms.
#[derive(Debug, Default, Clone)]
pub struct ClientProps {
    /// The connection settings, laid over the current profile.
    pub profile: Profile,
    /// `sasl.password`, or the password of `sasl.jaas.config`: kept in
    /// memory only, as a profile never stores one.
    pub sasl_password: Option<String>,
    /// `request.timeout.ms`.
    pub request_timeout: Option<Duration>,
    /// Producer and consumer keys (`acks`, `group.id`, ...) for the
    /// commands that read them, with where each was set.
    pub client: Vec<Property>,
    /// One line per key nobody reads.
    pub warnings: Vec<String>,
}

/// Producer and consumer keys some kfk command applies.
const CLIENT_KEYS: &[&str] = &[
    "acks",
    "compression.type",
    "compression.codec",
    "delivery.timeout.ms",
    "transactional.id",
    "transaction.timeout.ms",
    "group.id",
    "group.protocol",
    "isolation.level",
    "auto.offset.reset",
];

/// Keys that say nothing kfk needs: formats of Java stores whose PEM forms
/// need no password, and the serializers every Java properties file names.
const HARMLESS: &[&str] = &[
    "ssl.truststore.password",
    "key.serializer",
    "value.serializer",
    "key.deserializer",
    "value.deserializer",
];

impl ClientProps {
    /// Reads `file` (when given), then the `-X` pairs over it.
    ///
    /// # Errors
    /// An unreadable file, a pair without `=`, or a setting kfk cannot
    /// honour.
    pub fn load(file: Option<&Path>, pairs: &[String]) -> CliResult<ClientProps> {
        let mut props = Vec::new();
        let mut sources = Vec::new();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                CliError::usage(format!("cannot read {}: {e}", path.display()))
                    .hint("--command-config (or --producer.config, --consumer.config) names a Java properties file, as Kafka's tools take")
            })?;
            for p in kfk_props::parse(&text) {
                sources.push(format!("{} line {}", path.display(), p.line));
                props.push(p);
            }
        }
        for pair in pairs {
            let (key, value) = pair.split_once('=').ok_or_else(|| {
                CliError::usage(format!("-X {pair:?} is not KEY=VALUE"))
                    .hint("e.g. -X security.protocol=SASL_SSL -X sasl.mechanism=SCRAM-SHA-512")
            })?;
            sources.push(format!("-X {}", key.trim()));
            props.push(Property {
                key: key.trim().to_string(),
                value: value.trim().to_string(),
                line: 0,
            });
        }
        let mut out = ClientProps::default();
        // Later settings win, as in java.util.Properties and kcat's -X.
        let mut truststore_type: Option<String> = None;
        let mut keystore_type: Option<String> = None;
        let mut truststore: Option<(String, usize)> = None;
        let mut keystore: Option<(String, usize)> = None;
        for (i, p) in props.iter().enumerate() {
            let at = &sources[i];
            let value = p.value.clone();
            // A relative path is relative to where kfk runs, as for Kafka's tools.
            let path = |v: &str| v.to_string();
            match p.key.as_str() {
                "bootstrap.servers" | "metadata.broker.list" => out.profile.bootstrap = Some(value),
                "security.protocol" => out.profile.security_protocol = Some(value),
                "sasl.mechanism" | "sasl.mechanisms" => out.profile.sasl_mechanism = Some(value),
                "sasl.username" => out.profile.sasl_username = Some(value),
                "sasl.password" => out.sasl_password = Some(value),
                "sasl.jaas.config" => {
                    let (user, password) = jaas_credentials(&value)
                        .map_err(|why| CliError::usage(format!("{at}: sasl.jaas.config {why}")))?;
                    out.profile.sasl_username = Some(user);
                    out.sasl_password = Some(password);
                }
                "ssl.ca.location" => out.profile.ssl_ca_location = Some(path(&value)),
                "ssl.certificate.location" => {
                    out.profile.ssl_certificate_location = Some(path(&value));
                }
                "ssl.key.location" => out.profile.ssl_key_location = Some(path(&value)),
                "ssl.truststore.location" => truststore = Some((path(&value), i)),
                "ssl.keystore.location" => keystore = Some((path(&value), i)),
                "ssl.truststore.type" => truststore_type = Some(value),
                "ssl.keystore.type" => keystore_type = Some(value),
                "ssl.endpoint.identification.algorithm" => {
                    out.profile.ssl_endpoint_identification_algorithm = Some(value);
                }
                "request.timeout.ms" => {
                    let ms: u64 = value.parse().map_err(|_| {
                        CliError::usage(format!(
                            "{at}: request.timeout.ms={value} is not a whole number of milliseconds"
                        ))
                    })?;
                    out.request_timeout = Some(Duration::from_millis(ms));
                }
                "ssl.key.password" | "ssl.keystore.password" if !value.is_empty() => {
                    return Err(CliError::usage(format!(
                        "{at}: {} is set, but kfk reads only unencrypted PEM keys",
                        p.key
                    ))
                    .hint("decrypt the key once (`openssl pkey -in key.pem -out plain.pem`) and name it in ssl.key.location"));
                }
                k if CLIENT_KEYS.contains(&k) => out.client.push(p.clone()),
                k if HARMLESS.contains(&k) => {}
                k => out
                    .warnings
                    .push(format!("{at}: kfk does not use `{k}`; ignored")),
            }
        }
        if let Some((file, i)) = truststore {
            out.profile.ssl_ca_location = Some(pem_store(
                &file,
                truststore_type.as_deref(),
                &sources[i],
                "truststore",
            )?);
        }
        if let Some((file, i)) = keystore {
            // A PEM key store holds the certificate and its key in one file.
            out.profile.ssl_certificate_location = Some(pem_store(
                &file,
                keystore_type.as_deref(),
                &sources[i],
                "keystore",
            )?);
        }
        Ok(out)
    }

    /// The profile the command runs with: these settings over `current`.
    pub fn over(&self, current: Option<&Profile>) -> Profile {
        let mut merged = current.cloned().unwrap_or_default();
        let ours = &self.profile;
        let pick = |mine: &Option<String>, theirs: &mut Option<String>| {
            if mine.is_some() {
                theirs.clone_from(mine);
            }
        };
        pick(&ours.bootstrap, &mut merged.bootstrap);
        pick(&ours.sasl_mechanism, &mut merged.sasl_mechanism);
        if ours.sasl_username.is_some() {
            // A user from the file comes with its password, not the profile's file.
            merged.sasl_password_file = None;
        }
        pick(&ours.sasl_username, &mut merged.sasl_username);
        pick(&ours.security_protocol, &mut merged.security_protocol);
        pick(&ours.ssl_ca_location, &mut merged.ssl_ca_location);
        pick(
            &ours.ssl_certificate_location,
            &mut merged.ssl_certificate_location,
        );
        pick(&ours.ssl_key_location, &mut merged.ssl_key_location);
        pick(
            &ours.ssl_endpoint_identification_algorithm,
            &mut merged.ssl_endpoint_identification_algorithm,
        );
        merged
    }

    /// The last value of a producer or consumer key.
    fn client_value(&self, key: &str) -> Option<&str> {
        self.client
            .iter()
            .rev()
            .find(|p| p.key == key)
            .map(|p| p.value.as_str())
    }

    /// Producer and consumer keys as `kfk produce` and `kfk consume` read
    /// them: each stands in for its flag where the command line (or the
    /// flag's variable) did not give one, as `--from-beginning` and
    /// `auto.offset.reset=earliest` are one thing to Kafka's console consumer.
    ///
    /// # Errors
    /// A value the flag would refuse, named with the key.
    pub fn apply(&self, command: &mut Command, matches: &ArgMatches) -> CliResult {
        let bad = |key: &str, value: &str, want: &str| {
            CliError::usage(format!(
                "{key}={value} in the client properties is not {want}"
            ))
        };
        match command {
            Command::Produce(args) => {
                let Some(m) = matches.subcommand_matches("produce") else {
                    return Ok(());
                };
                let open = |id: &str| !given(m, id);
                if open("acks")
                    && let Some(v) = self.client_value("acks")
                {
                    if !["all", "-1", "0", "1"].contains(&v) {
                        return Err(bad("acks", v, "0, 1, all or -1"));
                    }
                    args.acks = v.to_string();
                }
                let codec = self
                    .client_value("compression.type")
                    .or(self.client_value("compression.codec"));
                if open("compression")
                    && let Some(v) = codec
                {
                    args.compression =
                        <CompressionArg as ValueEnum>::from_str(v, true).map_err(|_| {
                            bad("compression.type", v, "none, gzip, snappy, lz4 or zstd")
                        })?;
                }
                if open("delivery_timeout")
                    && let Some(v) = self.client_value("delivery.timeout.ms")
                {
                    args.delivery_timeout = millis(v)
                        .ok_or_else(|| bad("delivery.timeout.ms", v, "a number of milliseconds"))?;
                }
                if open("transactional_id")
                    && let Some(v) = self.client_value("transactional.id")
                {
                    args.transactional_id = Some(v.to_string());
                }
                if open("transaction_timeout")
                    && let Some(v) = self.client_value("transaction.timeout.ms")
                {
                    args.transaction_timeout = millis(v).ok_or_else(|| {
                        bad("transaction.timeout.ms", v, "a number of milliseconds")
                    })?;
                }
            }
            Command::Consume(args) => {
                let Some(m) = matches.subcommand_matches("consume") else {
                    return Ok(());
                };
                let open = |id: &str| !given(m, id);
                if open("group")
                    && let Some(v) = self.client_value("group.id")
                {
                    if args.partition.is_some() {
                        crate::output::status(&format!(
                            "warning: group.id={v} is not used with --partition (a group reads the partitions it is given)"
                        ));
                    } else {
                        args.group = Some(v.to_string());
                    }
                }
                if open("group_protocol")
                    && let Some(v) = self.client_value("group.protocol")
                {
                    args.group_protocol = <GroupProtocolArg as ValueEnum>::from_str(v, true)
                        .map_err(|_| bad("group.protocol", v, "classic or consumer"))?;
                }
                if open("isolation")
                    && let Some(v) = self.client_value("isolation.level")
                {
                    args.isolation = <Isolation as ValueEnum>::from_str(v, true).map_err(|_| {
                        bad("isolation.level", v, "read_uncommitted or read_committed")
                    })?;
                }
                if let Some(v) = self.client_value("auto.offset.reset") {
                    match v {
                        "earliest" => {
                            if open("offset") && open("from_beginning") {
                                args.from_beginning = true;
                            }
                        }
                        "latest" => {}
                        _ => return Err(bad("auto.offset.reset", v, "earliest or latest")),
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Whether the command line or a variable gave the argument `id`.
fn given(m: &ArgMatches, id: &str) -> bool {
    m.value_source(id)
        .is_some_and(|s| s != ValueSource::DefaultValue)
}

fn millis(v: &str) -> Option<humantime::Duration> {
    v.parse::<u64>()
        .ok()
        .map(|ms| Duration::from_millis(ms).into())
}

/// A trust or key store kfk can read: PEM, told by its type or, with no
/// type, by its first line.
fn pem_store(file: &str, kind: Option<&str>, at: &str, what: &str) -> CliResult<String> {
    let pem = match kind {
        Some(k) => k.eq_ignore_ascii_case("PEM"),
        None => std::fs::read_to_string(file)
            .map(|t| t.trim_start().starts_with("-----BEGIN"))
            .unwrap_or(false),
    };
    if pem {
        return Ok(file.to_string());
    }
    Err(CliError::usage(format!(
        "{at}: ssl.{what}.location {file} is a {} store; kfk reads PEM files",
        kind.unwrap_or("JKS")
    ))
    .hint(if what == "truststore" {
        "export the CA as PEM (`keytool -exportcert -rfc -alias CARoot -keystore truststore.jks -file ca.pem`) and set ssl.truststore.type=PEM or ssl.ca.location=ca.pem"
    } else {
        "export the certificate and key as PEM and set ssl.certificate.location and ssl.key.location"
    }))
}

/// The user and password of a `sasl.jaas.config` for SCRAM or PLAIN:
/// `org.apache.kafka.common.security.scram.ScramLoginModule required
/// username="alice" password="secret";`.
fn jaas_credentials(text: &str) -> Result<(String, String), String> {
    let text = text.trim().trim_end_matches(';').trim();
    let (module, rest) = text
        .split_once(char::is_whitespace)
        .ok_or("names no login module options")?;
    let short = module.rsplit('.').next().unwrap_or(module);
    if short != "ScramLoginModule" && short != "PlainLoginModule" {
        return Err(format!(
            "uses {short}; kfk authenticates with SCRAM or PLAIN (ScramLoginModule, PlainLoginModule)"
        ));
    }
    let mut rest = rest.trim_start();
    let flag = rest.split_whitespace().next().unwrap_or_default();
    if ["required", "requisite", "sufficient", "optional"].contains(&flag) {
        rest = rest[flag.len()..].trim_start();
    }
    let (mut user, mut password) = (None, None);
    while !rest.is_empty() {
        let (name, after) = rest
            .split_once('=')
            .ok_or_else(|| format!("cannot read the option at {rest:?}"))?;
        let after = after.trim_start();
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted
                .find('"')
                .ok_or_else(|| format!("has an unclosed quote in {}", name.trim()))?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            after.split_at(after.find(char::is_whitespace).unwrap_or(after.len()))
        };
        match name.trim() {
            "username" => user = Some(value.to_string()),
            "password" => password = Some(value.to_string()),
            _ => {}
        }
        rest = next.trim_start();
    }
    match (user, password) {
        (Some(u), Some(p)) => Ok((u, p)),
        _ => Err("needs username=\"...\" and password=\"...\"".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jaas_lines_give_their_user_and_password() {
        assert_eq!(
            jaas_credentials(
                r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="s3cr=t x";"#
            ),
            Ok(("alice".into(), "s3cr=t x".into()))
        );
        assert_eq!(
            jaas_credentials(
                "org.apache.kafka.common.security.plain.PlainLoginModule required\n  username=bob\n  password=pw;"
            ),
            Ok(("bob".into(), "pw".into()))
        );
        let kerberos = jaas_credentials(
            r#"com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true;"#,
        )
        .unwrap_err();
        assert!(kerberos.contains("Krb5LoginModule"), "{kerberos}");
        let no_password = jaas_credentials(
            r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="a";"#,
        )
        .unwrap_err();
        assert!(no_password.contains("password"), "{no_password}");
    }

    #[test]
    fn java_and_librdkafka_names_become_kfk_settings() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "-----BEGIN CERTIFICATE-----\n").unwrap();
        let file = dir.path().join("client.properties");
        std::fs::write(
            &file,
            format!(
                "bootstrap.servers=h1:9093,h2:9093\nsecurity.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\nsasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\\n    username=\"alice\" password=\"pw\";\nssl.truststore.location={}\nlinger.ms=5\ngroup.id=g1\n",
                ca.display()
            ),
        )
        .unwrap();
        let props = ClientProps::load(Some(&file), &["acks=1".into()]).unwrap();
        assert_eq!(props.profile.bootstrap.as_deref(), Some("h1:9093,h2:9093"));
        assert_eq!(props.profile.security_protocol.as_deref(), Some("SASL_SSL"));
        assert_eq!(props.profile.sasl_username.as_deref(), Some("alice"));
        assert_eq!(props.sasl_password.as_deref(), Some("pw"));
        assert_eq!(
            props.profile.ssl_ca_location.as_deref(),
            Some(ca.to_str().unwrap())
        );
        assert_eq!(props.client_value("group.id"), Some("g1"));
        assert_eq!(props.client_value("acks"), Some("1"));
        assert_eq!(props.warnings.len(), 1, "{:?}", props.warnings);
        assert!(props.warnings[0].contains("line 7") && props.warnings[0].contains("linger.ms"));

        // kcat's spellings; a later -X wins.
        let props = ClientProps::load(
            None,
            &[
                "sasl.mechanisms=PLAIN".into(),
                "sasl.username=bob".into(),
                "sasl.password=one".into(),
                "sasl.password=two".into(),
            ],
        )
        .unwrap();
        assert_eq!(props.profile.sasl_mechanism.as_deref(), Some("PLAIN"));
        assert_eq!(props.sasl_password.as_deref(), Some("two"));
    }

    #[test]
    fn settings_kfk_cannot_honour_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let jks = dir.path().join("truststore.jks");
        std::fs::write(&jks, [0xfe, 0xed, 0xfe, 0xed]).unwrap();
        let err = ClientProps::load(
            None,
            &[format!("ssl.truststore.location={}", jks.display())],
        )
        .unwrap_err();
        assert!(err.message.contains("PEM"), "{}", err.message);
        let err = ClientProps::load(None, &["ssl.key.password=x".into()]).unwrap_err();
        assert!(err.message.contains("unencrypted"), "{}", err.message);
        let err = ClientProps::load(None, &["acks".into()]).unwrap_err();
        assert!(err.message.contains("KEY=VALUE"), "{}", err.message);
    }

    #[test]
    fn the_file_lies_over_the_profile() {
        let profile = Profile {
            bootstrap: Some("old:9092".into()),
            topic: Some("t".into()),
            sasl_mechanism: Some("SCRAM-SHA-256".into()),
            sasl_username: Some("carol".into()),
            sasl_password_file: Some("/carol".into()),
            ..Profile::default()
        };
        let props = ClientProps::load(
            None,
            &["sasl.username=dave".into(), "sasl.password=pw".into()],
        )
        .unwrap();
        let merged = props.over(Some(&profile));
        assert_eq!(merged.bootstrap.as_deref(), Some("old:9092"));
        assert_eq!(merged.topic.as_deref(), Some("t"));
        assert_eq!(merged.sasl_mechanism.as_deref(), Some("SCRAM-SHA-256"));
        assert_eq!(merged.sasl_username.as_deref(), Some("dave"));
        assert_eq!(merged.sasl_password_file, None);
    }
}
