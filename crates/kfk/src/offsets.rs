//! The one offset grammar of every command that takes offsets:
//!
//! | spec | meaning |
//! |---|---|
//! | `start`, `end` | first offset, next offset to be written |
//! | `N` | offset N |
//! | `+N` | N after the start |
//! | `-N` | N before the end |
//! | `@1700000000000`, `@2024-05-01T12:00:00Z` | first record at or after a time (ms or RFC 3339) |
//! | `@-5m` | first record at or after 5 minutes ago |
//! | `A:B`, `@T1:T2` | from A (or T1) up to but not including B (or T2), then stop |

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kfk_client::StartOffset;

use crate::error::{CliError, CliResult};

/// Where a range stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Stop before this offset.
    Offset(i64),
    /// Stop before the first record at or after this timestamp.
    Time(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetSpec {
    pub start: StartOffset,
    pub stop: Option<Stop>,
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Parses a time after `@`: milliseconds, RFC 3339, or `-DURATION` ago.
pub fn parse_time(s: &str, now: i64) -> Option<i64> {
    if let Some(ago) = s.strip_prefix('-') {
        let d: Duration = humantime::parse_duration(ago).ok()?;
        return Some(now - d.as_millis() as i64);
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    let t = humantime::parse_rfc3339_weak(s).ok()?;
    Some(t.duration_since(UNIX_EPOCH).ok()?.as_millis() as i64)
}

fn parse_single(s: &str, now: i64) -> Option<StartOffset> {
    Some(match s {
        "start" | "beginning" | "earliest" => StartOffset::Earliest,
        "end" | "latest" => StartOffset::Latest,
        _ if s.starts_with('@') => StartOffset::Timestamp(parse_time(&s[1..], now)?),
        _ if s.starts_with('+') => {
            StartOffset::FromStart(s[1..].parse().ok().filter(|n: &i64| *n >= 0)?)
        }
        _ if s.starts_with('-') => {
            StartOffset::FromEnd(s[1..].parse().ok().filter(|n: &i64| *n >= 0)?)
        }
        _ => StartOffset::Offset(s.parse().ok().filter(|n: &i64| *n >= 0)?),
    })
}

/// Parses an offset spec.
///
/// # Errors
/// A usage error that restates the grammar.
pub fn parse(spec: &str) -> CliResult<OffsetSpec> {
    parse_at(spec, now_ms())
}

fn parse_at(spec: &str, now: i64) -> CliResult<OffsetSpec> {
    let bad = || {
        CliError::usage(format!("invalid offset {spec:?}")).hint(
            "use start, end, N, +N, -N, @TIMESTAMP (ms or RFC 3339), @-5m, or a range A:B / @T1:T2",
        )
    };
    if let Some(start) = parse_single(spec, now) {
        return Ok(OffsetSpec { start, stop: None });
    }
    // A range: try each ':' (RFC 3339 times contain colons too).
    for (i, _) in spec.match_indices(':') {
        let (left, right) = (&spec[..i], &spec[i + 1..]);
        let Some(start) = parse_single(left, now) else {
            continue;
        };
        let stop = match start {
            StartOffset::Timestamp(_) => {
                parse_time(right.strip_prefix('@').unwrap_or(right), now).map(Stop::Time)
            }
            StartOffset::Offset(_) => right
                .parse()
                .ok()
                .filter(|n: &i64| *n >= 0)
                .map(Stop::Offset),
            _ => None,
        };
        if let Some(stop) = stop {
            return Ok(OffsetSpec {
                start,
                stop: Some(stop),
            });
        }
    }
    Err(bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000;

    fn p(s: &str) -> OffsetSpec {
        parse_at(s, NOW).unwrap_or_else(|e| panic!("{s}: {}", e.message))
    }

    #[test]
    fn single_positions() {
        assert_eq!(p("start").start, StartOffset::Earliest);
        assert_eq!(p("end").start, StartOffset::Latest);
        assert_eq!(p("42").start, StartOffset::Offset(42));
        assert_eq!(p("+5").start, StartOffset::FromStart(5));
        assert_eq!(p("-5").start, StartOffset::FromEnd(5));
        assert_eq!(
            p("@1699999999000").start,
            StartOffset::Timestamp(1_699_999_999_000)
        );
        assert_eq!(p("@-5m").start, StartOffset::Timestamp(NOW - 300_000));
        assert_eq!(
            p("@2023-11-14T22:13:20Z").start,
            StartOffset::Timestamp(1_700_000_000_000)
        );
    }

    #[test]
    fn ranges() {
        assert_eq!(
            p("10:20"),
            OffsetSpec {
                start: StartOffset::Offset(10),
                stop: Some(Stop::Offset(20))
            }
        );
        assert_eq!(
            p("@2023-11-14T22:13:20Z:@2023-11-14T22:13:21Z"),
            OffsetSpec {
                start: StartOffset::Timestamp(NOW),
                stop: Some(Stop::Time(NOW + 1000))
            }
        );
        assert_eq!(p("@-10m:@-5m").stop, Some(Stop::Time(NOW - 300_000)));
    }

    #[test]
    fn nonsense_is_a_usage_error() {
        for s in ["", "x", "+", "-x", "@", "@soon", "1:x", "start:end", "1.5"] {
            assert!(parse_at(s, NOW).is_err(), "{s}");
        }
    }
}
