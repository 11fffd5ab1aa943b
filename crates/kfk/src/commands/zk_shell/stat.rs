//! `stat PATH` as zookeeper-shell prints it: ZooKeeper's `Stat` fields,
//! from what the metadata log knows (its offsets as zxids, its record times
//! as ctime/mtime). Fields the cluster cannot say are `-`.

use serde_json::{Value, json};

use super::tree::Stamp;

/// Milliseconds since the epoch as Java's `Date.toString()` prints them in
/// UTC (`Wed Dec 02 17:11:34 UTC 2026`), which zookeeper-shell shows.
pub(super) fn java_date(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} UTC {y}",
        WEEKDAYS[days.rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        d,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month 1-12, day 1-31), proleptic
/// Gregorian (Howard Hinnant's civil calendar algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The stat of a node: `stamp` from the metadata log when it knows the node,
/// `data_length` and `children` from the tree. The root, which ZooKeeper
/// creates before anything else, is all zeros there too.
pub(super) fn render(
    path: &str,
    stamp: Option<&Stamp>,
    data_length: usize,
    children: usize,
    json_out: bool,
) -> String {
    let root = Stamp::default();
    let stamp = stamp.or((path == "/").then_some(&root));
    if json_out {
        let v = match stamp {
            Some(s) => json!({
                "path": path,
                "cZxid": s.czxid, "ctime": s.ctime, "mZxid": s.mzxid, "mtime": s.mtime,
                "pZxid": s.pzxid, "cversion": s.cversion, "dataVersion": s.version,
                "aclVersion": 0, "ephemeralOwner": s.ephemeral_owner,
                "dataLength": data_length, "numChildren": children,
            }),
            None => json!({"path": path, "dataLength": data_length, "numChildren": children}),
        };
        return serde_json::to_string_pretty(&v).unwrap_or_default();
    }
    let known = stamp.is_some();
    let zxid = |z: u64| {
        if known {
            format!("0x{z:x}")
        } else {
            "-".into()
        }
    };
    let time = |t: i64| if known { java_date(t) } else { "-".into() };
    let num = |n: i64| if known { n.to_string() } else { "-".into() };
    let s = stamp.cloned().unwrap_or_default();
    let owner = if known {
        format!("0x{:x}", s.ephemeral_owner)
    } else {
        "-".to_string()
    };
    [
        format!("cZxid = {}", zxid(s.czxid)),
        format!("ctime = {}", time(s.ctime)),
        format!("mZxid = {}", zxid(s.mzxid)),
        format!("mtime = {}", time(s.mtime)),
        format!("pZxid = {}", zxid(s.pzxid)),
        format!("cversion = {}", num(i64::from(s.cversion))),
        format!("dataVersion = {}", num(i64::from(s.version))),
        format!("aclVersion = {}", num(0)),
        format!("ephemeralOwner = {owner}"),
        format!("dataLength = {data_length}"),
        format!("numChildren = {children}"),
    ]
    .join("\n")
}

/// The bytes a node's data takes as zookeeper-shell prints it.
pub(super) fn data_length(data: &Value) -> usize {
    match data {
        Value::Null => 0,
        Value::String(s) => s.len(),
        other => other.to_string().len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_print_as_java_prints_them() {
        assert_eq!(java_date(0), "Thu Jan 01 00:00:00 UTC 1970");
        assert_eq!(java_date(1_796_232_660_585), "Wed Dec 02 17:31:00 UTC 2026");
        assert_eq!(java_date(951_782_400_000), "Tue Feb 29 00:00:00 UTC 2000");
    }

    #[test]
    fn unknown_fields_are_dashes_and_the_root_is_zero() {
        let text = render("/brokers", None, 0, 3, false);
        assert!(
            text.contains("cZxid = -\n") && text.ends_with("numChildren = 3"),
            "{text}"
        );
        let root = render("/", None, 0, 12, false);
        assert!(
            root.starts_with("cZxid = 0x0\nctime = Thu Jan 01 00:00:00 UTC 1970"),
            "{root}"
        );
        let s = Stamp {
            czxid: 26,
            ctime: 1_796_232_660_585,
            mzxid: 30,
            mtime: 1_796_232_660_585,
            pzxid: 26,
            cversion: 0,
            version: 2,
            ephemeral_owner: 3,
            data: None,
        };
        let text = render("/brokers/ids/1", Some(&s), 42, 0, false);
        assert!(
            text.contains("cZxid = 0x1a\n") && text.contains("mZxid = 0x1e\n"),
            "{text}"
        );
        assert!(text.contains("dataVersion = 2\n") && text.contains("ephemeralOwner = 0x3\n"));
    }
}
