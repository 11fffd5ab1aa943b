//! A table of API version ranges: what a broker serves (and advertises in
//! ApiVersions) or what a client can fill in and read. Both ends look
//! ranges up the same way, so negotiation and dispatch cannot disagree on
//! what a row means.

use kafka_protocol::messages::ApiKey;

/// `(api, min version, max version)` rows, at most one per API.
#[derive(Debug, Clone, Copy)]
pub struct VersionTable(&'static [(ApiKey, i16, i16)]);

impl VersionTable {
    pub const fn new(rows: &'static [(ApiKey, i16, i16)]) -> VersionTable {
        VersionTable(rows)
    }

    /// The `(min, max)` versions of `api`, if the table has it.
    pub fn range(&self, api: ApiKey) -> Option<(i16, i16)> {
        self.0
            .iter()
            .find(|(k, _, _)| *k == api)
            .map(|(_, min, max)| (*min, *max))
    }

    /// Whether `version` of `api` is in the table.
    pub fn accepts(&self, api: ApiKey, version: i16) -> bool {
        self.range(api)
            .is_some_and(|(min, max)| (min..=max).contains(&version))
    }

    /// The highest version both this table and the peer's `(min, max)`
    /// speak for `api`.
    pub fn highest_common(&self, api: ApiKey, peer: (i16, i16)) -> Option<i16> {
        let (min, max) = self.range(api)?;
        let v = max.min(peer.1);
        (v >= min.max(peer.0)).then_some(v)
    }

    pub fn rows(&self) -> &'static [(ApiKey, i16, i16)] {
        self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: VersionTable = VersionTable::new(&[(ApiKey::Fetch, 4, 12), (ApiKey::Produce, 3, 11)]);

    #[test]
    fn ranges_and_negotiation() {
        assert_eq!(T.range(ApiKey::Fetch), Some((4, 12)));
        assert_eq!(T.range(ApiKey::Metadata), None);
        assert!(T.accepts(ApiKey::Produce, 3) && !T.accepts(ApiKey::Produce, 12));
        assert_eq!(T.highest_common(ApiKey::Fetch, (0, 17)), Some(12));
        assert_eq!(T.highest_common(ApiKey::Fetch, (0, 8)), Some(8));
        assert_eq!(T.highest_common(ApiKey::Fetch, (0, 3)), None);
        assert_eq!(T.highest_common(ApiKey::Metadata, (0, 12)), None);
    }
}
