//! The consumer: a fetch loop over assigned partitions, one Fetch per leader per
//! round (all leaders at once, the next round sent ahead), decoding (and
//! decompressing) the batches it gets back.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::ResponseError;
use kfk_wire::Batches;

use crate::admin::OffsetQuery;
use crate::client::Client;
use crate::error::{ClientError, Result};
use crate::fetch_round;

/// Where to start reading a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartOffset {
    Earliest,
    Latest,
    /// An absolute offset.
    Offset(i64),
    /// `n` records before the end.
    FromEnd(i64),
    /// `n` records after the start.
    FromStart(i64),
    /// The first record at or after this timestamp (ms).
    Timestamp(i64),
}

/// A record as consumed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerRecord {
    /// Shared by the records of a fetch: no allocation per record.
    pub topic: Arc<str>,
    pub partition: i32,
    pub offset: i64,
    pub timestamp: i64,
    pub log_append_time: bool,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
}

#[derive(Debug, Clone, Copy)]
struct Position {
    next: i64,
    /// High watermark from the last fetch, -1 before the first.
    high_watermark: i64,
    /// A start not resolved yet because the partition had no leader to ask
    /// (offline): resolved by a later poll, once it is back.
    unresolved: Option<StartOffset>,
}

#[derive(Debug)]
pub struct Consumer {
    client: Arc<Client>,
    positions: BTreeMap<(String, i32), Position>,
    pub max_wait: Duration,
    pub max_bytes: i32,
    pub partition_max_bytes: i32,
    /// When metadata was last refreshed for a partition without a (known)
    /// leader: while one stays so, polls that return records from other
    /// partitions refresh at most every [`LEADER_REFRESH`].
    refreshed_at: Option<std::time::Instant>,
    /// Step over corrupt batches instead of failing (each one skipped is
    /// reported by [`Consumer::take_skipped`]).
    pub skip_corrupt: bool,
    skipped: Vec<ClientError>,
    /// Read only committed records of transactions (Kafka's
    /// `isolation.level=read_committed`): fetches stop at the last stable
    /// offset and aborted transactions' records are dropped. Off by
    /// default, as in Kafka.
    pub read_committed: bool,
    /// The round sent at the end of the last poll, read by the next.
    ahead: Option<tokio::task::JoinHandle<fetch_round::Round>>,
}

/// How often a busy consumer looks again for a partition's leader (Kafka's
/// `retry.backoff.ms` is 100 ms).
const LEADER_REFRESH: Duration = Duration::from_millis(200);

impl Consumer {
    pub fn new(client: Arc<Client>) -> Consumer {
        Consumer {
            client,
            positions: BTreeMap::new(),
            max_wait: Duration::from_millis(500),
            max_bytes: 50 * 1024 * 1024,
            partition_max_bytes: 1024 * 1024,
            refreshed_at: None,
            skip_corrupt: false,
            skipped: Vec::new(),
            read_committed: false,
            ahead: None,
        }
    }

    /// The corrupt batches stepped over since the last call (with
    /// `skip_corrupt`), as the errors they would have been.
    pub fn take_skipped(&mut self) -> Vec<ClientError> {
        std::mem::take(&mut self.skipped)
    }

    /// Resolves the starts of partitions of `topic` to absolute offsets,
    /// asking each leader once per kind of lookup however many partitions
    /// there are. `None` for a partition whose leader is away or moving.
    async fn resolve(
        &self,
        topic: &str,
        starts: &[(i32, StartOffset)],
    ) -> Result<HashMap<i32, Option<i64>>> {
        let mut wanted: BTreeMap<OffsetQuery, Vec<i32>> = BTreeMap::new();
        for &(p, start) in starts {
            for q in lookups(start) {
                wanted.entry(q).or_default().push(p);
            }
        }
        let mut answers: HashMap<(OffsetQuery, i32), Option<i64>> = HashMap::new();
        for (q, parts) in &wanted {
            for (p, o) in self
                .client
                .list_offsets_where_known(topic, parts, *q, true)
                .await?
            {
                answers.insert((*q, p), o);
            }
        }
        // A timestamp after the last record means "the end".
        let after_last: Vec<i32> = starts
            .iter()
            .filter(|&&(p, start)| {
                matches!(start, StartOffset::Timestamp(ts)
                    if answers.get(&(OffsetQuery::Timestamp(ts), p)) == Some(&Some(-1)))
            })
            .map(|&(p, _)| p)
            .collect();
        if !after_last.is_empty() {
            for (p, o) in self
                .client
                .list_offsets_where_known(topic, &after_last, OffsetQuery::Latest, true)
                .await?
            {
                answers.insert((OffsetQuery::Latest, p), o);
            }
        }
        Ok(starts
            .iter()
            .map(|&(p, start)| {
                let get = |q| answers.get(&(q, p)).copied().flatten();
                (p, position_of(start, get))
            })
            .collect())
    }

    /// Adds partitions to read, each from its start position. A partition
    /// without a leader (offline) is read once it has one again, while the
    /// others are read meanwhile, as Kafka's consumers do.
    ///
    /// # Errors
    /// Unknown topic or partition, or an offset lookup failure that retrying
    /// would not cure.
    pub async fn assign(&mut self, topic: &str, partitions: &[(i32, StartOffset)]) -> Result<()> {
        let resolved = self.resolve(topic, partitions).await?;
        self.cancel_ahead();
        for &(p, start) in partitions {
            let next = resolved.get(&p).copied().flatten();
            self.positions.insert(
                (topic.to_string(), p),
                Position {
                    next: next.unwrap_or(-1),
                    high_watermark: -1,
                    unresolved: next.is_none().then_some(start),
                },
            );
        }
        Ok(())
    }

    /// Resolves the starts that could not be resolved before; returns whether
    /// any is still waiting.
    async fn resolve_pending(&mut self) -> Result<bool> {
        let meta = self.client.metadata();
        let mut waiting = false;
        let mut pending: BTreeMap<&str, Vec<(i32, StartOffset)>> = BTreeMap::new();
        for ((topic, p), pos) in &self.positions {
            let Some(start) = pos.unresolved else {
                continue;
            };
            if meta.leader_of(topic, *p) < 0 {
                // Nobody to ask yet.
                waiting = true;
            } else {
                pending.entry(topic).or_default().push((*p, start));
            }
        }
        if pending.is_empty() {
            return Ok(waiting);
        }
        let mut resolved = Vec::new();
        for (topic, starts) in pending {
            for (p, next) in self.resolve(topic, &starts).await? {
                resolved.push((topic.to_string(), p, next));
            }
        }
        for (topic, p, next) in resolved {
            match (next, self.positions.get_mut(&(topic, p))) {
                (Some(next), Some(pos)) => {
                    pos.next = next;
                    pos.unresolved = None;
                }
                (None, Some(_)) => waiting = true,
                (_, None) => {}
            }
        }
        Ok(waiting)
    }

    /// Assigned partitions that have no leader in the latest metadata
    /// (offline: every in-sync replica is down), so nothing can be read from
    /// them until one returns.
    pub fn offline(&self) -> Vec<(String, i32)> {
        let meta = self.client.metadata();
        self.positions
            .keys()
            .filter(|(topic, p)| meta.leader_of(topic, *p) < 0)
            .cloned()
            .collect()
    }

    /// Stops reading a partition.
    pub fn unassign(&mut self, topic: &str, partition: i32) {
        self.cancel_ahead();
        self.positions.remove(&(topic.to_string(), partition));
    }

    /// Drops the round sent ahead: it was planned for the old assignment and
    /// could hold the next poll for a whole long poll on partitions no longer
    /// read, while the new ones wait.
    fn cancel_ahead(&mut self) {
        if let Some(ahead) = self.ahead.take() {
            ahead.abort();
        }
    }

    /// Every assigned partition, resolved or not.
    pub fn assigned(&self) -> Vec<(String, i32)> {
        self.positions.keys().cloned().collect()
    }

    /// Whether any partition is still assigned.
    pub fn has_assignment(&self) -> bool {
        !self.positions.is_empty()
    }

    /// The next offset to read of each assigned partition.
    /// (Partitions whose start is still unresolved have none yet.)
    pub fn positions(&self) -> Vec<(String, i32, i64)> {
        self.positions
            .iter()
            .filter(|(_, pos)| pos.unresolved.is_none())
            .map(|((t, p), pos)| (t.clone(), *p, pos.next))
            .collect()
    }

    /// Whether every assigned partition has been read up to the high watermark
    /// seen in the last fetch.
    pub fn at_end(&self) -> bool {
        self.at_end_except(&[])
    }

    /// [`Consumer::at_end`], not counting the partitions in `skip` (e.g. the
    /// offline ones).
    pub fn at_end_except(&self, skip: &[(String, i32)]) -> bool {
        self.positions
            .iter()
            .filter(|(k, _)| !skip.contains(k))
            .all(|(_, p)| p.high_watermark >= 0 && p.next >= p.high_watermark)
    }

    /// One fetch round: returns the records that arrived (possibly none after
    /// `max_wait`), in offset order per partition. The next round is sent
    /// before returning, so it is under way while the caller works through
    /// these records; its records count only for partitions still at the
    /// offsets it asked for (an assignment or seek in between discards them).
    ///
    /// Cancel-safe: a poll dropped while it waits leaves the round in flight
    /// for the next one.
    ///
    /// # Errors
    /// A partition error other than leadership changes, which are retried on the
    /// next poll after a metadata refresh.
    pub async fn poll(&mut self) -> Result<Vec<ConsumerRecord>> {
        let mut refresh = self.resolve_pending().await?;
        let round = match self.ahead.as_mut() {
            Some(ahead) => {
                let joined = ahead.await;
                self.ahead = None;
                joined.map_err(|e| ClientError::Invalid(format!("fetch task failed: {e}")))?
            }
            None => fetch_round::run(Arc::clone(&self.client), self.plan(), self.settings()).await,
        };
        refresh |= round.refresh;
        // The next round goes out before these answers are decoded, from
        // where their last whole batches end: the broker sends while this
        // side decodes, instead of each waiting for the other.
        if !refresh && round.error.is_none() && self.has_assignment() {
            let ends = self.ends_of(&round.answers);
            if !ends.is_empty() {
                let plan = self.plan_from(&ends);
                let next = fetch_round::run(Arc::clone(&self.client), plan, self.settings());
                self.ahead = Some(tokio::spawn(next));
            }
        }
        let mut out = Vec::new();
        let applied = self.apply(round.answers, &mut out, &mut refresh);
        // Records that arrived before an error are delivered first; the
        // error comes back with the next round.
        let error = match (applied, round.error) {
            (Err(e), _) => Some(e),
            (Ok(()), e) => e,
        };
        if let Some(e) = error {
            if out.is_empty() {
                return Err(e);
            }
            tracing::debug!(error = %e, "fetch failed after records arrived; retried next poll");
        }
        let due = self
            .refreshed_at
            .is_none_or(|at| at.elapsed() >= LEADER_REFRESH);
        if refresh && (out.is_empty() || due) {
            self.client.refresh(None).await.ok();
            self.refreshed_at = Some(std::time::Instant::now());
            if out.is_empty() {
                self.client.backoff(1).await;
            }
        }
        if !out.is_empty() && self.has_assignment() && self.ahead.is_none() {
            let round = fetch_round::run(Arc::clone(&self.client), self.plan(), self.settings());
            self.ahead = Some(tokio::spawn(round));
        }
        Ok(out)
    }

    fn settings(&self) -> fetch_round::Settings {
        fetch_round::Settings {
            max_wait: self.max_wait,
            max_bytes: self.max_bytes,
            partition_max_bytes: self.partition_max_bytes,
            read_committed: self.read_committed,
        }
    }

    /// The resolved partitions grouped by their leader (-1: none known).
    fn plan(&self) -> fetch_round::Plan {
        self.plan_from(&HashMap::new())
    }

    /// [`Consumer::plan`], with the partitions in `ends` read from there
    /// instead of their position.
    fn plan_from(&self, ends: &HashMap<(String, i32), i64>) -> fetch_round::Plan {
        let meta = self.client.metadata();
        let mut plan = fetch_round::Plan::new();
        for (key, pos) in &self.positions {
            if pos.unresolved.is_some() {
                continue;
            }
            let next = ends.get(key).copied().unwrap_or(pos.next);
            plan.entry(meta.leader_of(&key.0, key.1))
                .or_default()
                .push((key.0.clone(), key.1, next));
        }
        plan
    }

    /// Where each partition answered with whole batches will be once they
    /// are decoded, read from the batch headers alone. A guess that decoding
    /// then contradicts (a corrupt batch) only costs the round sent from it:
    /// its records count for no partition that is not at the offset asked.
    fn ends_of(&self, answers: &[fetch_round::Answer]) -> HashMap<(String, i32), i64> {
        let mut ends = HashMap::new();
        for (asked, resp) in answers {
            for t in &resp.responses {
                for p in &t.partitions {
                    let (Some(records), None) =
                        (&p.records, ResponseError::try_from_code(p.error_code))
                    else {
                        continue;
                    };
                    let key = (t.topic.0.to_string(), p.partition_index);
                    let Some(pos) = self.positions.get(&key) else {
                        continue;
                    };
                    if pos.unresolved.is_some() || asked.get(&key) != Some(&pos.next) {
                        continue;
                    }
                    if let Some(end) = end_of_whole_batches(records, pos.next) {
                        ends.insert(key, end);
                    }
                }
            }
        }
        ends
    }

    /// Decodes the records of a round's answers into `out`, moving the
    /// positions, for partitions still where the round asked from.
    fn apply(
        &mut self,
        answers: Vec<fetch_round::Answer>,
        out: &mut Vec<ConsumerRecord>,
        refresh: &mut bool,
    ) -> Result<()> {
        for (asked, resp) in answers {
            for t in resp.responses {
                let topic: Arc<str> = Arc::from(t.topic.0.as_str());
                for p in t.partitions {
                    let key = (topic.to_string(), p.partition_index);
                    let Some(pos) = self.positions.get_mut(&key) else {
                        continue;
                    };
                    if pos.unresolved.is_some() || asked.get(&key) != Some(&pos.next) {
                        // Assigned anew or moved since the round was sent.
                        continue;
                    }
                    match ResponseError::try_from_code(p.error_code) {
                        None => {}
                        Some(e) if e.is_retriable() => {
                            *refresh = true;
                            continue;
                        }
                        Some(e) => {
                            return Err(ClientError::Kafka {
                                error: e,
                                message: None,
                                context: format!("cannot fetch {topic}-{}", p.partition_index),
                            });
                        }
                    }
                    // A read_committed reader's end is the last stable
                    // offset: past it, nothing is readable yet.
                    pos.high_watermark = if self.read_committed && p.last_stable_offset >= 0 {
                        p.last_stable_offset
                    } else {
                        p.high_watermark
                    };
                    let Some(records) = p.records else {
                        continue;
                    };
                    let before = out.len();
                    let mut aborted = Aborted::new(
                        p.aborted_transactions
                            .iter()
                            .flatten()
                            .map(|a| (a.producer_id.0, a.first_offset)),
                    );
                    match decode_into(&topic, p.partition_index, records, pos, &mut aborted, out) {
                        Ok(()) => {}
                        Err(corrupt @ ClientError::CorruptBatch { .. }) if self.skip_corrupt => {
                            if let ClientError::CorruptBatch {
                                offset,
                                last_offset,
                                ..
                            } = &corrupt
                            {
                                pos.next = last_offset.unwrap_or(*offset) + 1;
                            }
                            self.skipped.push(corrupt);
                        }
                        // Deliver what came before the damage first; the
                        // next poll starts at it and reports it.
                        Err(ClientError::CorruptBatch { .. }) if out.len() > before => {}
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Ok(())
    }
}

impl Drop for Consumer {
    /// A round sent ahead is of no use to anyone once the consumer is gone.
    fn drop(&mut self) {
        self.cancel_ahead();
    }
}

/// The offset after the last whole batch of `records` (a trailing partial
/// batch, or anything after a damaged header, does not count), if that is
/// past `next`: where decoding them will leave a partition at `next`.
fn end_of_whole_batches(records: &[u8], next: i64) -> Option<i64> {
    Batches::new(records)
        .map_while(|b| b.ok())
        .last()
        .map(|b| b.last_offset() + 1)
        .filter(|end| *end > next)
}

/// The offset lookups a start needs.
fn lookups(start: StartOffset) -> Vec<OffsetQuery> {
    match start {
        StartOffset::Offset(_) => vec![],
        StartOffset::Earliest => vec![OffsetQuery::Earliest],
        StartOffset::Latest => vec![OffsetQuery::Latest],
        StartOffset::FromEnd(_) | StartOffset::FromStart(_) => {
            vec![OffsetQuery::Earliest, OffsetQuery::Latest]
        }
        StartOffset::Timestamp(ts) => vec![OffsetQuery::Timestamp(ts)],
    }
}

/// Where a start puts a partition, given the answers to its [`lookups`]
/// (`None` while one is missing).
fn position_of(start: StartOffset, get: impl Fn(OffsetQuery) -> Option<i64>) -> Option<i64> {
    Some(match start {
        StartOffset::Offset(o) => o,
        StartOffset::Earliest => get(OffsetQuery::Earliest)?,
        StartOffset::Latest => get(OffsetQuery::Latest)?,
        StartOffset::FromEnd(n) => (get(OffsetQuery::Latest)? - n).max(get(OffsetQuery::Earliest)?),
        StartOffset::FromStart(n) => {
            (get(OffsetQuery::Earliest)? + n).min(get(OffsetQuery::Latest)?)
        }
        StartOffset::Timestamp(ts) => match get(OffsetQuery::Timestamp(ts))? {
            -1 => get(OffsetQuery::Latest)?,
            o => o,
        },
    })
}

/// The aborted transactions a read_committed fetch reported for one
/// partition, applied as its batches are read in order (as Kafka's
/// consumer does): a producer's transactional batches are dropped from
/// its aborted transaction's first offset to its ABORT marker.
struct Aborted {
    /// (first offset, producer id), latest first, not reached yet.
    pending: Vec<(i64, i64)>,
    /// Producers whose aborted transaction is being read.
    current: std::collections::HashSet<i64>,
}

impl Aborted {
    fn new(list: impl Iterator<Item = (i64, i64)>) -> Aborted {
        let mut pending: Vec<(i64, i64)> = list.map(|(pid, first)| (first, pid)).collect();
        pending.sort_unstable_by(|a, b| b.cmp(a));
        Aborted {
            pending,
            current: Default::default(),
        }
    }

    /// Whether a batch is an aborted transaction's (to drop). `marker` is
    /// `Some(aborted)` for a control batch ending a transaction.
    fn drops(
        &mut self,
        producer_id: i64,
        last_offset: i64,
        transactional: bool,
        marker: Option<bool>,
    ) -> bool {
        while let Some(&(first, pid)) = self.pending.last() {
            if first > last_offset {
                break;
            }
            self.pending.pop();
            self.current.insert(pid);
        }
        if marker == Some(true) {
            self.current.remove(&producer_id);
            return false;
        }
        transactional && self.current.contains(&producer_id)
    }
}

/// The transaction end a control batch marks: `Some(true)` for an abort.
fn abort_marker(batch: &Bytes) -> Option<bool> {
    let mut found = None;
    let _ = kfk_wire::for_each_record(batch, |r| {
        if found.is_none()
            && let Some(key) = r.key.as_deref()
            && let Ok(Some(m)) = kfk_wire::control::ControlMarker::parse(key, r.value.as_deref())
        {
            found = Some(m.control_type == kfk_wire::control::ControlType::Abort);
        }
    });
    found
}

/// Decodes whole batches (a trailing partial batch, which Kafka may send, is
/// left for the next fetch), skipping control batches, aborted
/// transactions' batches and records before the position.
fn decode_into(
    topic: &Arc<str>,
    partition: i32,
    records: Bytes,
    pos: &mut Position,
    aborted: &mut Aborted,
    out: &mut Vec<ConsumerRecord>,
) -> Result<()> {
    let mut batches = Batches::new(&records);
    let mut ranges = Vec::new();
    let mut start = 0;
    let corrupt =
        |offset: i64, last_offset: Option<i64>, reason: String| ClientError::CorruptBatch {
            topic: topic.to_string(),
            partition,
            offset,
            last_offset,
            reason,
        };
    let mut damaged_header = None;
    for b in batches.by_ref() {
        let b = match b {
            Ok(b) => b,
            // A trailing partial batch is normal (the fetch cut it); a header
            // that is not a batch's is damage.
            Err(kfk_wire::BatchError::Truncated { .. }) => break,
            Err(e) => {
                damaged_header = Some(e);
                break;
            }
        };
        ranges.push((
            start,
            start + b.size(),
            b.is_control(),
            b.last_offset(),
            b.timestamp_type() == kfk_wire::TimestampType::LogAppendTime,
            (b.producer_id(), b.is_transactional()),
        ));
        start += b.size();
    }
    for (from, to, control, last_offset, log_append, (producer_id, transactional)) in ranges {
        let batch = records.slice(from..to);
        let marker = if control { abort_marker(&batch) } else { None };
        if aborted.drops(producer_id, last_offset, transactional, marker) || control {
            pos.next = pos.next.max(last_offset + 1);
            continue;
        }
        if let Err(e) = kfk_wire::BatchHeader::parse(&batch).and_then(|h| h.validate_stored()) {
            let base = kfk_wire::BatchHeader::parse(&batch).map_or(pos.next, |h| h.base_offset());
            return Err(corrupt(
                base.max(pos.next),
                Some(last_offset),
                e.to_string(),
            ));
        }
        let mut failed = None;
        let result = kfk_wire::for_each_record(&batch, |r| {
            if r.offset < pos.next {
                return;
            }
            pos.next = r.offset + 1;
            let headers = r
                .headers
                .into_iter()
                .map(|(k, v)| match String::from_utf8(k.to_vec()) {
                    Ok(k) => (k, v),
                    Err(_) => {
                        failed.get_or_insert("a header key is not UTF-8");
                        (String::new(), v)
                    }
                })
                .collect();
            out.push(ConsumerRecord {
                topic: Arc::clone(topic),
                partition,
                offset: r.offset,
                timestamp: r.timestamp,
                log_append_time: log_append,
                key: r.key,
                value: r.value,
                headers,
            });
        });
        if let Err(e) = result {
            return Err(corrupt(pos.next, Some(last_offset), e.to_string()));
        }
        if let Some(reason) = failed {
            return Err(ClientError::Protocol {
                addr: format!("{topic}-{partition}"),
                reason: reason.into(),
            });
        }
        pos.next = pos.next.max(last_offset + 1);
    }
    if let Some(e) = damaged_header {
        return Err(corrupt(pos.next, None, e.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use kfk_wire::{BatchHeaderMut, BatchOptions, NewRecord, encode_batch};

    use super::*;

    /// A batch of `n` records at `base`.
    fn batch(base: i64, n: usize) -> Vec<u8> {
        let records: Vec<NewRecord> = (0..n)
            .map(|i| NewRecord::new(None::<Bytes>, format!("v{i}"), 1_000))
            .collect();
        let mut b = encode_batch(&records, &BatchOptions::default())
            .unwrap()
            .to_vec();
        BatchHeaderMut::parse(&mut b).unwrap().set_base_offset(base);
        b
    }

    #[test]
    fn the_next_fetch_starts_after_the_last_whole_batch() {
        let mut records = batch(10, 5);
        records.extend(batch(15, 3));
        assert_eq!(end_of_whole_batches(&records, 10), Some(18));
        // A fetch that started inside the first batch ends at the same place.
        assert_eq!(end_of_whole_batches(&records, 12), Some(18));
        // A trailing partial batch is fetched again from its start.
        let whole = records.len();
        records.extend(&batch(18, 4)[..30]);
        assert_eq!(end_of_whole_batches(&records, 10), Some(18));
        // Damage stops the walk: the batches before it count.
        records.truncate(whole);
        records.extend([0xffu8; 80]);
        assert_eq!(end_of_whole_batches(&records, 10), Some(18));
        // Nothing whole, or nothing past the position: no guess.
        assert_eq!(end_of_whole_batches(&batch(20, 2)[..40], 20), None);
        assert_eq!(end_of_whole_batches(&batch(20, 2), 22), None);
        assert_eq!(end_of_whole_batches(&[], 0), None);
    }
}
