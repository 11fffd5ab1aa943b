//! The principal a client certificate names: its subject's distinguished
//! name in RFC 2253 form (`CN=alice,OU=eng,O=acme`: the most specific part
//! first, no spaces), which is what Kafka's default principal builder makes
//! of an SSL client, so ACLs written for Kafka match here.

use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::x509::AttributeTypeAndValue;

/// Short names Java's `X500Principal.getName()` uses.
fn keyword(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => return None,
    })
}

/// RFC 2253 escaping of one value.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && matches!(c, '#' | ' '))
            || (i + 1 == value.chars().count() && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn attribute(a: &AttributeTypeAndValue<'_>) -> String {
    let oid = a.attr_type().to_id_string();
    match (keyword(&oid), a.as_str()) {
        (Some(k), Ok(v)) => format!("{k}={}", escape(v)),
        (None, Ok(v)) => format!("{oid}={}", escape(v)),
        (_, Err(_)) => {
            let hex: String = a
                .attr_value()
                .data
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            format!("{oid}=#{hex}")
        }
    }
}

/// The subject of a DER certificate as RFC 2253 text; `None` when the
/// certificate does not parse.
pub fn subject_name(der: &[u8]) -> Option<String> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let mut rdns: Vec<String> = cert
        .subject()
        .iter()
        .map(|rdn| rdn.iter().map(attribute).collect::<Vec<_>>().join("+"))
        .collect();
    rdns.reverse();
    Some(rdns.join(","))
}
