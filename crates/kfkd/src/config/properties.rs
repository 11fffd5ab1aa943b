//! Kafka's own `server.properties`, read as kfkd settings, so an operator's
//! existing file starts a broker: Kafka's spellings (`broker.id`,
//! `listeners=PLAINTEXT://host:port`, `log.retention.hours`, ...) become
//! kfkd's, and keys kfkd has no use for (`zookeeper.connect`,
//! `num.network.threads`, ...) are reported with their line and ignored, as
//! Kafka itself warns about configs it does not know.

use std::collections::BTreeMap;

use super::ConfigError;

pub use kfk_props::{Property, looks_like_properties, parse};

/// Kafka keys kfkd reads under another name.
const ALIASES: &[(&str, &str)] = &[("broker.id", "node.id"), ("log.dir", "log.dirs")];

/// kfkd's name for a Kafka key it reads under another one.
pub fn alias_of(kafka_key: &str) -> Option<&'static str> {
    ALIASES
        .iter()
        .find(|(kafka, _)| *kafka == kafka_key)
        .map(|(_, ours)| *ours)
}

/// Kafka keys whose value kfkd reads only as part of another setting.
const FOLDED: &[&str] = &[
    "log.retention.hours",
    "log.retention.minutes",
    "controller.listener.names",
];

/// What a properties file says, as the YAML keys of kfkd's settings (values
/// still text), plus a warning for every line kfkd ignores.
#[derive(Debug, Default)]
pub struct Translated {
    pub settings: BTreeMap<String, String>,
    pub warnings: Vec<String>,
}

/// Turns Kafka's keys into kfkd's: aliases, listeners by name, retention in
/// hours or minutes; keys not in `known` are warnings naming their line.
///
/// # Errors
/// A listener kfkd cannot serve (a security protocol other than PLAINTEXT
/// for now), or several log directories.
pub fn translate(
    props: &[Property],
    known: &[&str],
    source: &str,
) -> Result<Translated, ConfigError> {
    let mut t = Translated::default();
    let mut by_key: BTreeMap<&str, &Property> = BTreeMap::new();
    for p in props {
        // Later lines win, as in java.util.Properties.
        by_key.insert(p.key.as_str(), p);
    }
    let invalid = |key: &'static str, p: &Property, reason: String| ConfigError::Invalid {
        key,
        reason: format!("{source} line {}: {reason}", p.line),
    };
    let controller_names: Vec<String> = by_key
        .get("controller.listener.names")
        .map(|p| p.value.split(',').map(|n| n.trim().to_string()).collect())
        .unwrap_or_else(|| vec!["CONTROLLER".to_string()]);
    let protocols: BTreeMap<String, String> = by_key
        .get("listener.security.protocol.map")
        .map(|p| {
            p.value
                .split(',')
                .filter_map(|pair| pair.split_once(':'))
                .map(|(n, proto)| (n.trim().to_string(), proto.trim().to_string()))
                .collect()
        })
        .unwrap_or_default();
    // In file order, each key at its last line.
    let last = props
        .iter()
        .filter(|p| by_key.get(p.key.as_str()).is_some_and(|l| l.line == p.line));
    for p in last {
        let key = alias_of(&p.key).unwrap_or(p.key.as_str());
        match key {
            "listeners" | "advertised.listeners" => {
                for l in p.value.split(',').map(str::trim).filter(|l| !l.is_empty()) {
                    let (name, addr) = split_listener(l);
                    if addr
                        .rsplit_once(':')
                        .is_none_or(|(_, port)| port.parse::<u16>().is_err())
                    {
                        return Err(invalid(
                            if key == "listeners" {
                                "listeners"
                            } else {
                                "advertised.listeners"
                            },
                            p,
                            format!("{l:?} has no host:port (e.g. PLAINTEXT://0.0.0.0:9092)"),
                        ));
                    }
                    let protocol = protocols.get(name).map_or(name, String::as_str);
                    let controller = controller_names.iter().any(|n| n == name);
                    if !controller
                        && !["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"].contains(&protocol)
                    {
                        return Err(invalid(
                            if key == "listeners" {
                                "listeners"
                            } else {
                                "advertised.listeners"
                            },
                            p,
                            format!(
                                "listener {name} has no security protocol; map it in listener.security.protocol.map (PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL)"
                            ),
                        ));
                    }
                    // `:9092` (every interface, advertised under this
                    // host's name) is resolved with the other settings.
                    let ours = match (key, controller) {
                        ("listeners", true) => "controller.listener",
                        ("listeners", false) => "listeners",
                        (_, false) => "advertised.listeners",
                        // Controllers are reached through the voters list.
                        (_, true) => continue,
                    };
                    if controller {
                        t.settings.insert(ours.to_string(), addr.to_string());
                    } else {
                        // Client listeners keep their names: several may listen.
                        let entry = format!("{name}://{addr}");
                        t.settings
                            .entry(ours.to_string())
                            .and_modify(|v| {
                                v.push(',');
                                v.push_str(&entry);
                            })
                            .or_insert(entry);
                    }
                }
            }
            "log.dirs" => {
                let dirs: Vec<&str> = p.value.split(',').map(str::trim).collect();
                if dirs.len() > 1 {
                    return Err(invalid(
                        "log.dirs",
                        p,
                        format!(
                            "kfkd keeps one log directory per broker, not {} (JBOD is not supported)",
                            dirs.len()
                        ),
                    ));
                }
                t.settings.insert("log.dirs".into(), dirs[0].to_string());
            }
            k if FOLDED.contains(&k) => {}
            k if known.contains(&k) => {
                t.settings.insert(k.to_string(), p.value.clone());
            }
            k => t.warnings.push(format!(
                "{source} line {}: `{k}` is not a kfkd setting; ignored",
                p.line
            )),
        }
    }
    // Kafka: log.retention.ms wins over .minutes, which wins over .hours.
    if !t.settings.contains_key("log.retention.ms") {
        let ms = |key: &str, factor: i64| -> Result<Option<String>, ConfigError> {
            let Some(p) = by_key.get(key) else {
                return Ok(None);
            };
            let n: i64 = p.value.parse().map_err(|_| ConfigError::Invalid {
                key: "log.retention.ms",
                reason: format!(
                    "{source} line {}: {key}={} is not a whole number",
                    p.line, p.value
                ),
            })?;
            Ok(Some(if n < 0 {
                "-1".to_string()
            } else {
                n.saturating_mul(factor).to_string()
            }))
        };
        if let Some(v) =
            ms("log.retention.minutes", 60_000)?.or(ms("log.retention.hours", 3_600_000)?)
        {
            t.settings.insert("log.retention.ms".into(), v);
        }
    }
    Ok(t)
}

/// `NAME://host:port` -> (NAME, host:port); a bare address is PLAINTEXT.
fn split_listener(l: &str) -> (&str, &str) {
    l.split_once("://").unwrap_or(("PLAINTEXT", l))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN: &[&str] = &[
        "node.id",
        "listeners",
        "advertised.listeners",
        "controller.listener",
        "log.dirs",
        "log.retention.ms",
        "num.partitions",
        "process.roles",
        "controller.quorum.voters",
    ];

    #[test]
    fn kafka_spellings_become_kfkd_settings() {
        let props = parse(
            "broker.id=2\nlisteners=PLAINTEXT://:9092,CONTROLLER://127.0.0.1:9093\nadvertised.listeners=PLAINTEXT://kafka2:9092\nlog.dirs=/var/lib/kafka\nlog.retention.hours=168\nzookeeper.connect=zoo1:2181\nnum.partitions=3\n",
        );
        let t = translate(&props, KNOWN, "server.properties").unwrap();
        let get = |k: &str| t.settings.get(k).map(String::as_str);
        assert_eq!(get("node.id"), Some("2"));
        assert_eq!(get("listeners"), Some("PLAINTEXT://:9092"));
        assert_eq!(get("controller.listener"), Some("127.0.0.1:9093"));
        assert_eq!(get("advertised.listeners"), Some("PLAINTEXT://kafka2:9092"));
        assert_eq!(get("log.dirs"), Some("/var/lib/kafka"));
        assert_eq!(get("log.retention.ms"), Some("604800000"));
        assert_eq!(get("num.partitions"), Some("3"));
        assert_eq!(
            t.warnings,
            vec!["server.properties line 6: `zookeeper.connect` is not a kfkd setting; ignored"]
        );
    }

    #[test]
    fn retention_ms_wins_over_minutes_over_hours() {
        let t = |text: &str| {
            translate(&parse(text), KNOWN, "f")
                .unwrap()
                .settings
                .get("log.retention.ms")
                .cloned()
        };
        assert_eq!(
            t("log.retention.hours=1\nlog.retention.minutes=2\n").as_deref(),
            Some("120000")
        );
        assert_eq!(
            t("log.retention.minutes=2\nlog.retention.ms=5\n").as_deref(),
            Some("5")
        );
        assert_eq!(t("log.retention.hours=-1\n").as_deref(), Some("-1"));
        let err = translate(&parse("log.retention.hours=a week\n"), KNOWN, "f").unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }

    #[test]
    fn listeners_kfkd_cannot_serve_are_refused_naming_the_line() {
        let err = translate(
            &parse("# x\nlisteners=INTERNAL://:9093\n"),
            KNOWN,
            "server.properties",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("line 2") && err.contains("INTERNAL"), "{err}");
        assert!(
            translate(
                &parse("listeners=SASL_SSL://:9093,SSL://:9094\n"),
                KNOWN,
                "f"
            )
            .is_ok()
        );
        let err = translate(&parse("listeners=PLAINTEXT://\n"), KNOWN, "f")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 1") && err.contains("no host:port"),
            "{err}"
        );
        let err = translate(&parse("log.dirs=/a,/b\n"), KNOWN, "f")
            .unwrap_err()
            .to_string();
        assert!(err.contains("one log directory"), "{err}");
        // A named listener mapped to PLAINTEXT is fine.
        let t = translate(
            &parse("listeners=INTERNAL://h:1\nlistener.security.protocol.map=INTERNAL:PLAINTEXT\n"),
            KNOWN,
            "f",
        )
        .unwrap();
        assert_eq!(
            t.settings.get("listeners").map(String::as_str),
            Some("INTERNAL://h:1")
        );
        // So are several, SASL_PLAINTEXT among them.
        let t = translate(
            &parse(
                "listeners=PLAINTEXT://:9092,SASL_PLAINTEXT://:9093
",
            ),
            KNOWN,
            "f",
        )
        .unwrap();
        assert_eq!(
            t.settings.get("listeners").map(String::as_str),
            Some("PLAINTEXT://:9092,SASL_PLAINTEXT://:9093")
        );
    }
}
