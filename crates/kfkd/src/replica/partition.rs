//! A partition hosted on this broker: its log, idempotence state, and its
//! place in replication — leader (tracking followers, the high watermark and
//! the ISR it wants), follower (fetching from the leader), or offline.
//!
//! The metadata image says who leads and who is in sync; this module keeps
//! what only the hosting broker knows: follower log end offsets, when each
//! follower last caught up, and the high watermark derived from them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use kafka_protocol::ResponseError;
use kfk_log::{Log, TopicPartition};
use kfk_wire::BatchSummary;
use tokio::sync::watch;
use tokio::time::Instant;
use uuid::Uuid;

use crate::error::{ApiError, log_error};
use crate::metadata::PartitionMeta;
use crate::replica::producer_snapshot;
use crate::replica::producer_state::{
    CompletedTxn, MarkerError, ProducerInfo, ProducerStates, SequenceCheck, SequenceError,
};
use kfk_log::txn_index::AbortedTxn;
use kfk_sync::lock;
use kfk_wire::control::{ControlMarker, ControlType, encode_marker};

/// This broker's part in a partition, as the image assigns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Leader,
    Follower {
        leader: i32,
    },
    /// No leader, or this broker is not a replica any more.
    Offline,
}

/// What a leader knows about one follower.
#[derive(Debug, Clone, Copy)]
struct Progress {
    /// The follower's log end offset (its last fetch offset), once it fetched.
    log_end_offset: Option<i64>,
    /// Last time the follower had everything the leader had (Kafka's
    /// `lastCaughtUpTime`): the clock `replica.lag.time.max.ms` runs against.
    last_caught_up: Instant,
    last_fetch: Instant,
    /// The leader's log end offset at `last_fetch`.
    leader_end_at_last_fetch: i64,
    /// The follower's log start offset, as its last fetch said.
    log_start_offset: i64,
}

impl Progress {
    fn new(now: Instant) -> Progress {
        Progress {
            log_end_offset: None,
            last_caught_up: now,
            last_fetch: now,
            leader_end_at_last_fetch: 0,
            log_start_offset: 0,
        }
    }
}

#[derive(Debug)]
struct ReplicaState {
    role: Role,
    leader_epoch: i32,
    partition_epoch: i32,
    replicas: Vec<i32>,
    isr: Vec<i32>,
    followers: HashMap<i32, Progress>,
    /// A follower must cut its log back to the leader's history (KIP-101)
    /// before it fetches: set whenever it starts following a new epoch.
    needs_truncation: bool,
    /// An AlterPartition from this leader is on its way; no second one until
    /// the image moves or it fails.
    isr_change_in_flight: bool,
}

/// An ISR change a leader wants committed (becomes an AlterPartition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsrChange {
    pub leader_epoch: i32,
    pub partition_epoch: i32,
    pub isr: Vec<i32>,
}

/// What a follower fetcher needs to know about a partition it follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowerView {
    pub leader: i32,
    pub leader_epoch: i32,
    pub needs_truncation: bool,
}

/// What a leader's append answers, and what acks=all waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaderAppend {
    pub base_offset: i64,
    /// -1 unless the topic uses LogAppendTime.
    pub log_append_time: i64,
    pub log_start_offset: i64,
    /// The high watermark that commits the batch.
    pub end_offset: i64,
    pub leader_epoch: i32,
}

#[derive(Debug)]
pub struct Partition {
    pub tp: TopicPartition,
    pub topic_id: Uuid,
    /// Written only through [`Partition::append_as_leader`] and the follower
    /// methods, which keep the high watermark and producer state with it.
    log: Arc<Log>,
    /// Held across check, append and record so retries are decided atomically.
    producers: Mutex<ProducerStates>,
    me: i32,
    state: Mutex<ReplicaState>,
    /// The high watermark; also wakes acks=all waiters on role changes.
    hw: watch::Sender<i64>,
    /// Set once a transactional batch was seen: until then the last stable
    /// offset is the high watermark, read without the producer lock (every
    /// fetch asks for it).
    transactional: AtomicBool,
}

/// A compacted log keeps records by key: one without a key could never be
/// cleaned, and Kafka refuses the batch (INVALID_RECORD), naming each
/// keyless record by its index in `record_errors` and the first three in
/// the message, as its LogValidator does.
fn refuse_keyless(records: &[u8], tp: &TopicPartition) -> Result<(), ApiError> {
    let mut keyless = Vec::new();
    let mut index = 0i32;
    // A batch that does not parse is the log's to refuse, with its reason.
    let _ = kfk_wire::retain::for_each_key(records, |r| {
        if r.key.is_none() {
            keyless.push(index);
        }
        index += 1;
    });
    if keyless.is_empty() {
        return Ok(());
    }
    let why = format!("Compacted topic cannot accept message without key in topic partition {tp}");
    let shown: Vec<String> = keyless
        .iter()
        .take(3)
        .map(|i| format!("RecordError(batchIndex={i}, message='{why}')"))
        .collect();
    Err(ApiError::new(
        ResponseError::InvalidRecord,
        format!(
            "One or more records have been rejected due to {} record errors in total, and only showing the first three errors at most: [{}]",
            keyless.len(),
            shown.join(", ")
        ),
    )
    .with_record_errors(keyless.into_iter().map(|i| (i, why.clone())).collect()))
}

impl Partition {
    /// Opens a hosted partition: rebuilds idempotence state from the active
    /// segment and starts from the checkpointed high watermark (the leader
    /// recomputes it as followers report, a follower learns it from the leader).
    ///
    /// # Errors
    /// When the log cannot be scanned.
    pub fn load(
        tp: TopicPartition,
        topic_id: Uuid,
        log: Arc<Log>,
        me: i32,
        checkpointed_hw: Option<i64>,
    ) -> kfk_log::Result<Partition> {
        let producers = restore_producers(&log)?;
        let transactional = AtomicBool::new(producers.has_transactions());
        let hw = checkpointed_hw
            .unwrap_or(0)
            .clamp(log.log_start_offset(), log.log_end_offset());
        Ok(Partition {
            tp,
            topic_id,
            log,
            producers: Mutex::new(producers),
            me,
            state: Mutex::new(ReplicaState {
                role: Role::Offline,
                leader_epoch: -1,
                partition_epoch: -1,
                replicas: Vec::new(),
                isr: Vec::new(),
                followers: HashMap::new(),
                needs_truncation: false,
                isr_change_in_flight: false,
            }),
            hw: watch::channel(hw).0,
            transactional,
        })
    }

    /// Offsets below this are committed: on every in-sync replica.
    pub fn high_watermark(&self) -> i64 {
        *self.hw.borrow()
    }

    pub fn role(&self) -> Role {
        lock(&self.state).role
    }

    pub fn leader_epoch(&self) -> i32 {
        lock(&self.state).leader_epoch
    }

    pub fn isr_len(&self) -> usize {
        lock(&self.state).isr.len()
    }

    /// Takes in the partition's entry of a new metadata image.
    ///
    /// Returns the ISR's size before and after when this broker leads the
    /// partition and the ISR changed size: the leader's view is the one
    /// operators' ISR shrink/expand alerts count, whether the change came
    /// from this leader's AlterPartition or from the controller fencing a
    /// follower.
    pub fn apply(&self, meta: &PartitionMeta) -> Option<(usize, usize)> {
        let now = Instant::now();
        let mut st = lock(&self.state);
        let role = if !meta.replicas.contains(&self.me) || meta.leader < 0 {
            Role::Offline
        } else if meta.leader == self.me {
            Role::Leader
        } else {
            Role::Follower {
                leader: meta.leader,
            }
        };
        let new_epoch = meta.leader_epoch != st.leader_epoch;
        if meta.partition_epoch != st.partition_epoch || new_epoch {
            st.isr_change_in_flight = false;
        }
        if role == Role::Leader && (st.role != Role::Leader || new_epoch) {
            // Everyone starts with a full lag allowance under a new leader.
            st.followers = meta
                .replicas
                .iter()
                .filter(|r| **r != self.me)
                .map(|r| (*r, Progress::new(now)))
                .collect();
        }
        if role == Role::Leader {
            for r in meta.replicas.iter().filter(|r| **r != self.me) {
                st.followers.entry(*r).or_insert_with(|| Progress::new(now));
            }
            st.followers.retain(|r, _| meta.replicas.contains(r));
        }
        if matches!(role, Role::Follower { .. }) && (st.role != role || new_epoch) {
            st.needs_truncation = true;
        }
        st.role = role;
        st.leader_epoch = meta.leader_epoch;
        st.partition_epoch = meta.partition_epoch;
        st.replicas = meta.replicas.clone();
        let isr_moved =
            (role == Role::Leader && !st.isr.is_empty() && st.isr.len() != meta.isr.len())
                .then_some((st.isr.len(), meta.isr.len()));
        st.isr = meta.isr.clone();
        if role == Role::Leader {
            self.advance_hw(&st);
        }
        drop(st);
        // Waiters re-check whether they still wait on a leader.
        self.hw.send_modify(|_| {});
        isr_moved
    }

    /// Refuses requests that need the leader, as Kafka does: not the leader,
    /// or a client that knows a different leader epoch.
    ///
    /// # Errors
    /// NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH or UNKNOWN_LEADER_EPOCH.
    pub fn check_leader(&self, client_epoch: i32) -> Result<i32, ResponseError> {
        let st = lock(&self.state);
        if st.role != Role::Leader {
            return Err(ResponseError::NotLeaderOrFollower);
        }
        check_epoch(client_epoch, st.leader_epoch)?;
        Ok(st.leader_epoch)
    }

    /// The leader's high watermark: the smallest log end offset in the ISR,
    /// never moving back. A follower that has not fetched yet holds it still.
    fn advance_hw(&self, st: &ReplicaState) {
        let mut candidate = self.log.log_end_offset();
        for r in st.isr.iter().filter(|r| **r != self.me) {
            match st.followers.get(r).and_then(|p| p.log_end_offset) {
                Some(end) => candidate = candidate.min(end),
                None => return,
            }
        }
        self.hw.send_if_modified(|hw| {
            let moved = candidate > *hw;
            if moved {
                *hw = candidate;
            }
            moved
        });
    }

    /// The partition's log, for reads.
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// A produce request's batch, appended by the leader: exactly one batch,
    /// this broker must lead, with `min_isr` (acks=all) the ISR must be big
    /// enough; an idempotent producer's batch must come in sequence (a
    /// retried one answers with its first offset again). The batch header is
    /// read once; the log validates the rest and assigns offsets.
    ///
    /// # Errors
    /// The Kafka error to answer the partition with.
    pub fn append_as_leader(
        &self,
        records: &[u8],
        min_isr: Option<i32>,
    ) -> Result<LeaderAppend, ApiError> {
        let corrupt = |why: String| ApiError::new(ResponseError::CorruptMessage, why);
        let header = BatchSummary::peek(records).map_err(|e| corrupt(e.to_string()))?;
        if header.size > records.len() {
            return Err(corrupt("record batch shorter than its length field".into()));
        }
        if header.size < records.len() {
            // Kafka accepts exactly one batch per partition from v3 on.
            return Err(ApiError::new(
                ResponseError::InvalidRecord,
                "produce requests must carry exactly one record batch per partition",
            ));
        }
        let config = self.log.config();
        if config.cleanup_policy.compact {
            refuse_keyless(records, &self.tp)?;
        }
        let leader_epoch = self.check_leader(-1)?;
        if let Some(min_isr) = min_isr {
            let isr = self.isr_len() as i32;
            if isr < min_isr {
                return Err(ApiError::new(
                    ResponseError::NotEnoughReplicas,
                    format!("{isr} in-sync replica(s), min.insync.replicas is {min_isr}"),
                ));
            }
        }
        // The log rewrites offsets in place, so it needs its own copy: the
        // batch in the topic's codec when it stores another (compressed
        // outside the producer lock).
        let recompressed = match config.compression {
            Some(target) => kfk_wire::recompress(records, target).map_err(|e| {
                let code = if e.is_corrupt() {
                    ResponseError::CorruptMessage
                } else {
                    ResponseError::InvalidRecord
                };
                ApiError::new(code, e.to_string())
            })?,
            None => None,
        };
        let producers = lock(&self.producers);
        if ProducerStates::is_idempotent(&header) {
            match producers.check(&header) {
                Ok(SequenceCheck::Duplicate { base_offset }) => {
                    tracing::debug!(partition = %self.tp, producer_id = header.producer_id, "duplicate batch");
                    return Ok(LeaderAppend {
                        base_offset,
                        log_append_time: -1,
                        log_start_offset: self.log.log_start_offset(),
                        end_offset: base_offset + 1,
                        leader_epoch,
                    });
                }
                Ok(SequenceCheck::Append) => {}
                Err(SequenceError::OutOfOrder { expected, got }) => {
                    return Err(ApiError::new(
                        ResponseError::OutOfOrderSequenceNumber,
                        format!("expected sequence {expected}, got {got}"),
                    ));
                }
                Err(SequenceError::FencedEpoch { current, got }) => {
                    return Err(ApiError::new(
                        ResponseError::InvalidProducerEpoch,
                        format!("producer epoch {got} is older than {current}"),
                    ));
                }
            }
        }
        let mut buf = recompressed.unwrap_or_else(|| BytesMut::from(records));
        let (appended, _) = self.append_locked(producers, &mut buf, header, None, leader_epoch)?;
        Ok(appended)
    }

    /// Appends one batch as leader under the producer state's lock (held
    /// by the caller since its checks): snapshots the state at a new
    /// segment, records the batch (`marker`: `Some(aborted)` for a
    /// transaction marker, which it closes) and advances the high
    /// watermark.
    fn append_locked(
        &self,
        mut producers: std::sync::MutexGuard<'_, ProducerStates>,
        buf: &mut BytesMut,
        header: BatchSummary,
        marker: Option<bool>,
        leader_epoch: i32,
    ) -> Result<(LeaderAppend, Option<CompletedTxn>), ApiError> {
        let info = self
            .log
            .append(buf, leader_epoch)
            .map_err(|e| log_error(&e))?;
        self.snapshot_if_rolled(&producers, info.base_offset);
        if header.is_transactional() {
            self.transactional.store(true, Ordering::Relaxed);
        }
        let done = producers.record(
            &BatchSummary {
                base_offset: info.base_offset,
                last_offset: info.last_offset,
                ..header
            },
            marker,
        );
        if let Some(done) = done.filter(|d| d.aborted) {
            let lso = producers.stable_after(&done);
            self.log
                .append_aborted_txn(aborted_entry(&done, lso))
                .map_err(|e| log_error(&e))?;
        }
        drop(producers);
        let st = lock(&self.state);
        if st.role == Role::Leader {
            // With no other ISR member the batch is committed at once.
            self.advance_hw(&st);
        }
        drop(st);
        let appended = LeaderAppend {
            base_offset: info.base_offset,
            log_append_time: info.log_append_time_ms.unwrap_or(-1),
            log_start_offset: info.log_start_offset,
            end_offset: info.last_offset + 1,
            leader_epoch,
        };
        Ok((appended, done))
    }

    /// Writes the marker ending producer `producer_id`'s transaction here
    /// (WriteTxnMarkers, from its coordinator): closes the transaction,
    /// indexes an abort, and moves the last stable offset once replicated.
    ///
    /// # Errors
    /// NOT_LEADER_OR_FOLLOWER, INVALID_PRODUCER_EPOCH for a marker older
    /// than the producer's epoch here, TRANSACTION_COORDINATOR_FENCED for
    /// one from an older coordinator, or a storage error.
    pub fn append_marker(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        coordinator_epoch: i32,
        commit: bool,
    ) -> Result<LeaderAppend, ApiError> {
        let leader_epoch = self.check_leader(-1)?;
        let mut producers = lock(&self.producers);
        match producers.check_marker(producer_id, producer_epoch, coordinator_epoch) {
            Ok(()) => {}
            Err(MarkerError::FencedEpoch { current, got }) => {
                return Err(ApiError::new(
                    ResponseError::InvalidProducerEpoch,
                    format!("marker epoch {got} is older than the producer's epoch {current}"),
                ));
            }
            Err(MarkerError::StaleCoordinator { current, got }) => {
                return Err(ApiError::new(
                    ResponseError::TransactionCoordinatorFenced,
                    format!("coordinator epoch {got} is older than {current}"),
                ));
            }
        }
        let kind = if commit {
            ControlType::Commit
        } else {
            ControlType::Abort
        };
        let mut buf = encode_marker(
            kind,
            producer_id,
            producer_epoch,
            coordinator_epoch,
            kfk_log::now_ms(),
        )
        .map_err(|e| ApiError::new(ResponseError::UnknownServerError, e.to_string()))?;
        let header = BatchSummary::peek(&buf)
            .map_err(|e| ApiError::new(ResponseError::UnknownServerError, e.to_string()))?;
        producers.note_coordinator(producer_id, coordinator_epoch);
        let (appended, _) =
            self.append_locked(producers, &mut buf, header, Some(!commit), leader_epoch)?;
        Ok(appended)
    }

    /// Below this, every transaction's outcome is known and replicated:
    /// where read_committed consumers stop.
    pub fn last_stable_offset(&self) -> i64 {
        let hw = self.high_watermark();
        if !self.transactional.load(Ordering::Relaxed) {
            return hw;
        }
        lock(&self.producers).last_stable_offset(hw)
    }

    /// Transactions open on this partition: (producer id, first offset).
    pub fn open_transactions(&self) -> Vec<(i64, i64)> {
        lock(&self.producers).open_transactions()
    }

    /// Whether `producer_id` has a transaction open here already (its
    /// later batches need no verification).
    pub fn in_transaction(&self, producer_id: i64) -> bool {
        lock(&self.producers).in_transaction(producer_id)
    }

    /// The producers this partition has state for (DescribeProducers).
    pub fn producers(&self) -> Vec<ProducerInfo> {
        lock(&self.producers).describe()
    }

    /// After an append that began a segment at `base_offset`: the state as
    /// it was there, for the next start to read the log from.
    fn snapshot_if_rolled(&self, producers: &ProducerStates, base_offset: i64) {
        if base_offset > self.log.log_start_offset()
            && base_offset == self.log.active_segment_base_offset()
        {
            producer_snapshot::write(self.log.dir(), base_offset, producers);
        }
    }

    /// Notes the log start offset a follower's fetch carried.
    pub fn follower_log_start(&self, replica: i32, log_start_offset: i64) {
        let mut st = lock(&self.state);
        if let Some(p) = st.followers.get_mut(&replica) {
            p.log_start_offset = log_start_offset;
        }
    }

    /// The lowest log start among the leader and its in-sync followers
    /// (Kafka's low watermark): records below it are gone from every
    /// replica that could lead. `None` when this replica does not lead.
    pub fn low_watermark(&self) -> Option<i64> {
        let st = lock(&self.state);
        if st.role != Role::Leader {
            return None;
        }
        let mut low = self.log.log_start_offset();
        for r in st.isr.iter().filter(|r| **r != self.me) {
            low = low.min(st.followers.get(r).map_or(0, |p| p.log_start_offset));
        }
        Some(low)
    }

    /// Records a follower's fetch (its fetch offset is its log end offset),
    /// advances the high watermark, and returns an ISR expansion when an
    /// out-of-sync follower has caught up to the high watermark.
    pub fn follower_fetched(&self, replica: i32, fetch_offset: i64) -> Option<IsrChange> {
        let now = Instant::now();
        let leader_end = self.log.log_end_offset();
        let mut st = lock(&self.state);
        if st.role != Role::Leader {
            return None;
        }
        let p = st.followers.get_mut(&replica)?;
        if fetch_offset >= leader_end {
            p.last_caught_up = p.last_caught_up.max(now);
        } else if fetch_offset >= p.leader_end_at_last_fetch {
            p.last_caught_up = p.last_caught_up.max(p.last_fetch);
        }
        p.last_fetch = now;
        p.leader_end_at_last_fetch = leader_end;
        p.log_end_offset = Some(fetch_offset);
        self.advance_hw(&st);
        let caught_up = fetch_offset >= self.high_watermark();
        if caught_up && !st.isr.contains(&replica) && !st.isr_change_in_flight {
            let mut isr = st.isr.clone();
            isr.push(replica);
            st.isr_change_in_flight = true;
            return Some(IsrChange {
                leader_epoch: st.leader_epoch,
                partition_epoch: st.partition_epoch,
                isr,
            });
        }
        None
    }

    /// On the leader: the ISR without followers that have not caught up for
    /// `max_lag`, when there are any.
    pub fn shrink_lagging(&self, max_lag: Duration) -> Option<IsrChange> {
        let now = Instant::now();
        let mut st = lock(&self.state);
        if st.role != Role::Leader || st.isr_change_in_flight {
            return None;
        }
        let leader_end = self.log.log_end_offset();
        let lagging = |r: &i32| {
            st.followers.get(r).is_some_and(|p| {
                p.log_end_offset.is_none_or(|e| e < leader_end)
                    && now.duration_since(p.last_caught_up) > max_lag
            })
        };
        let isr: Vec<i32> = st.isr.iter().copied().filter(|r| !lagging(r)).collect();
        if isr.len() == st.isr.len() {
            return None;
        }
        st.isr_change_in_flight = true;
        Some(IsrChange {
            leader_epoch: st.leader_epoch,
            partition_epoch: st.partition_epoch,
            isr,
        })
    }

    /// The AlterPartition did not go through; a later check may try again.
    pub fn isr_change_failed(&self) {
        lock(&self.state).isr_change_in_flight = false;
    }

    /// The follower's view, when this broker follows the partition.
    pub fn follower_view(&self) -> Option<FollowerView> {
        let st = lock(&self.state);
        match st.role {
            Role::Follower { leader } => Some(FollowerView {
                leader,
                leader_epoch: st.leader_epoch,
                needs_truncation: st.needs_truncation,
            }),
            _ => None,
        }
    }

    /// Cuts the log back to `offset` (a follower's divergent tail) and
    /// rebuilds what was derived from the removed batches. Clears the
    /// truncation flag when the epoch it was decided under is still current.
    ///
    /// # Errors
    /// I/O errors of the log.
    pub fn truncate_as_follower(&self, offset: i64, decided_in_epoch: i32) -> kfk_log::Result<()> {
        let mut producers = lock(&self.producers);
        if offset < self.log.log_end_offset() {
            self.log.truncate_to(offset)?;
            producer_snapshot::remove_after(self.log.dir(), Some(offset));
            *producers = restore_producers(&self.log)?;
            if producers.has_transactions() {
                self.transactional.store(true, Ordering::Relaxed);
            }
        }
        drop(producers);
        let end = self.log.log_end_offset();
        self.hw.send_if_modified(|hw| {
            let moved = *hw > end;
            *hw = (*hw).min(end);
            moved
        });
        let mut st = lock(&self.state);
        if st.leader_epoch == decided_in_epoch {
            st.needs_truncation = false;
        }
        Ok(())
    }

    /// Starts the log over at the leader's log start offset (everything this
    /// follower has was deleted on the leader).
    ///
    /// # Errors
    /// I/O errors of the log.
    pub fn restart_at(&self, offset: i64) -> kfk_log::Result<()> {
        let mut producers = lock(&self.producers);
        self.log.truncate_fully_and_start_at(offset)?;
        producer_snapshot::remove_after(self.log.dir(), None);
        *producers = ProducerStates::default();
        drop(producers);
        self.hw.send_replace(offset);
        Ok(())
    }

    /// A follower appended what it fetched: keep idempotence state (it may
    /// lead later) and take the leader's high watermark, capped by what it has.
    ///
    /// # Errors
    /// The log refused the batches.
    pub fn append_as_follower(&self, records: &[u8], leader_hw: i64) -> kfk_log::Result<()> {
        if !records.is_empty() {
            let mut producers = lock(&self.producers);
            let active_before = self.log.active_segment_base_offset();
            self.log.append_replicated(records)?;
            let active = self.log.active_segment_base_offset();
            for b in kfk_wire::Batches::new(records).flatten() {
                let summary = b.summary();
                if active != active_before && summary.base_offset == active {
                    self.snapshot_if_rolled(&producers, active);
                }
                let marker = summary.is_control().then(|| marker_of(b.bytes())).flatten();
                if summary.is_transactional() {
                    self.transactional.store(true, Ordering::Relaxed);
                }
                if let Some(done) = producers.record(&summary, marker.map(|m| m.aborted))
                    && done.aborted
                {
                    // Each replica indexes its own copy's aborts: a
                    // follower that leads later answers read_committed
                    // fetches from it.
                    let lso = producers.stable_after(&done);
                    self.log.append_aborted_txn(aborted_entry(&done, lso))?;
                }
            }
        }
        let hw = leader_hw.min(self.log.log_end_offset());
        self.hw.send_if_modified(|cur| {
            let moved = *cur != hw;
            *cur = hw;
            moved
        });
        Ok(())
    }

    /// Waits until the high watermark reaches `end` (acks=all), as long as this
    /// broker still leads in `epoch`.
    ///
    /// # Errors
    /// NOT_LEADER_OR_FOLLOWER when leadership moved, REQUEST_TIMED_OUT at the
    /// deadline.
    pub async fn wait_committed(
        &self,
        end: i64,
        epoch: i32,
        deadline: Instant,
    ) -> Result<(), ResponseError> {
        let mut rx = self.hw.subscribe();
        loop {
            if *rx.borrow_and_update() >= end {
                return Ok(());
            }
            {
                let st = lock(&self.state);
                if st.role != Role::Leader || st.leader_epoch != epoch {
                    return Err(ResponseError::NotLeaderOrFollower);
                }
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return Err(ResponseError::RequestTimedOut),
            }
        }
    }
}

/// Kafka's leader-epoch check; -1 means the client does not know the epoch.
///
/// # Errors
/// FENCED_LEADER_EPOCH for an older epoch, UNKNOWN_LEADER_EPOCH for a newer.
pub fn check_epoch(client_epoch: i32, current: i32) -> Result<(), ResponseError> {
    if client_epoch >= 0 && client_epoch < current {
        return Err(ResponseError::FencedLeaderEpoch);
    }
    if client_epoch > current {
        return Err(ResponseError::UnknownLeaderEpoch);
    }
    Ok(())
}

/// Idempotence and transaction state: the latest snapshot and the batch
/// headers after it (without one, the active segment's). A marker closes
/// its producer's transaction whichever way it went: its abort, if it was
/// one, is in the segment's index already.
fn restore_producers(log: &Log) -> kfk_log::Result<ProducerStates> {
    let (from, mut producers) =
        producer_snapshot::latest(log.dir(), log.log_start_offset(), log.log_end_offset())
            .unwrap_or_else(|| (log.active_segment_base_offset(), ProducerStates::default()));
    log.scan_batches(from, |b| {
        if b.base_offset >= from {
            producers.record(b, Some(false));
        }
    })?;
    Ok(producers)
}

/// The transaction end a control batch marks; `None` for other control
/// types, or one that does not parse (kept, but ending nothing).
fn marker_of(batch: &[u8]) -> Option<TxnEnd> {
    let mut found = None;
    let _ = kfk_wire::for_each_record(&bytes::Bytes::copy_from_slice(batch), |r| {
        if found.is_none()
            && let Some(key) = r.key.as_deref()
            && let Ok(Some(m)) = ControlMarker::parse(key, r.value.as_deref())
        {
            found = Some(TxnEnd {
                aborted: m.control_type == ControlType::Abort,
            });
        }
    });
    found
}

#[derive(Debug, Clone, Copy)]
struct TxnEnd {
    aborted: bool,
}

fn aborted_entry(done: &CompletedTxn, last_stable_offset: i64) -> AbortedTxn {
    AbortedTxn {
        producer_id: done.producer_id,
        first_offset: done.first_offset,
        last_offset: done.last_offset,
        last_stable_offset,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kfk_wire::{BatchOptions, NewRecord, encode_batch};

    fn partition(me: i32) -> (tempfile::TempDir, Partition) {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(dir.path().join("t-0"), kfk_log::LogConfig::default()).unwrap();
        let p = Partition::load(
            TopicPartition::new("t", 0),
            Uuid::nil(),
            Arc::new(log),
            me,
            None,
        )
        .unwrap();
        (dir, p)
    }

    fn append(p: &Partition, n: usize) {
        let records: Vec<NewRecord> = (0..n)
            .map(|_| NewRecord::new(None::<bytes::Bytes>, &b"v"[..], 0))
            .collect();
        let batch = encode_batch(&records, &BatchOptions::default()).unwrap();
        p.append_as_leader(&batch, None).unwrap();
    }

    fn meta(leader: i32, isr: &[i32], epoch: i32) -> PartitionMeta {
        PartitionMeta {
            replicas: vec![1, 2, 3],
            isr: isr.to_vec(),
            leader,
            leader_epoch: epoch,
            partition_epoch: epoch,
            adding_replicas: Vec::new(),
            removing_replicas: Vec::new(),
        }
    }

    #[test]
    fn an_open_transaction_survives_a_restart_segments_later() {
        let dir = tempfile::tempdir().unwrap();
        let config = kfk_log::LogConfig {
            segment_bytes: 1024,
            ..kfk_log::LogConfig::default()
        };
        let open = |dir: &std::path::Path| {
            let log = Log::open(dir.join("t-0"), config.clone()).unwrap();
            Partition::load(
                TopicPartition::new("t", 0),
                Uuid::nil(),
                Arc::new(log),
                1,
                None,
            )
            .unwrap()
        };
        let p = open(dir.path());
        p.apply(&meta(1, &[1], 0));
        append(&p, 1);
        // Producer 7 opens a transaction at offset 1...
        let txn = encode_batch(
            &[NewRecord::new(None::<bytes::Bytes>, &b"t"[..], 0)],
            &BatchOptions {
                producer_id: 7,
                producer_epoch: 0,
                base_sequence: 0,
                transactional: true,
                ..BatchOptions::default()
            },
        )
        .unwrap();
        p.append_as_leader(&txn, None).unwrap();
        // ...and other producers fill several segments after it.
        for _ in 0..40 {
            append(&p, 10);
        }
        assert!(p.log().segment_count() > 3, "segments rolled");
        assert_eq!(p.last_stable_offset(), 1);
        p.log().close().unwrap();
        drop(p);
        // A restart reads only from the latest snapshot, yet knows of it.
        let p = open(dir.path());
        p.apply(&meta(1, &[1], 1));
        assert_eq!(p.open_transactions(), vec![(7, 1)]);
        assert_eq!(p.last_stable_offset(), 1);
        let abort = p.append_marker(7, 0, 0, false).unwrap();
        assert_eq!(p.last_stable_offset(), abort.end_offset);
        let aborted = p.log().aborted_transactions(0, abort.end_offset);
        assert_eq!(
            (aborted[0].first_offset, aborted[0].last_offset),
            (1, abort.base_offset)
        );
    }

    #[test]
    fn a_sole_in_sync_leader_commits_at_once() {
        let (_d, p) = partition(1);
        p.apply(&meta(1, &[1], 0));
        append(&p, 3);
        assert_eq!(p.high_watermark(), 3);
    }

    #[test]
    fn the_high_watermark_is_the_slowest_in_sync_follower() {
        let (_d, p) = partition(1);
        p.apply(&meta(1, &[1, 2, 3], 0));
        append(&p, 5);
        assert_eq!(p.high_watermark(), 0, "followers have not fetched yet");
        assert_eq!(p.follower_fetched(2, 5), None);
        assert_eq!(p.high_watermark(), 0, "follower 3 has not fetched");
        p.follower_fetched(3, 2);
        assert_eq!(p.high_watermark(), 2);
        p.follower_fetched(3, 5);
        assert_eq!(p.high_watermark(), 5);
        // Shrinking the ISR to the leader commits whatever the leader has.
        append(&p, 1);
        p.apply(&meta(1, &[1], 0));
        assert_eq!(p.high_watermark(), 6);
    }

    #[test]
    fn a_caught_up_follower_is_proposed_for_the_isr_once() {
        let (_d, p) = partition(1);
        p.apply(&meta(1, &[1, 2], 0));
        append(&p, 4);
        p.follower_fetched(2, 4);
        assert_eq!(p.follower_fetched(3, 1), None, "3 is behind");
        let change = p.follower_fetched(3, 4).expect("3 caught up");
        assert_eq!(change.isr, vec![1, 2, 3]);
        assert_eq!(p.follower_fetched(3, 4), None, "one change in flight");
        p.isr_change_failed();
        assert!(p.follower_fetched(3, 4).is_some());
    }

    #[test]
    fn followers_that_stop_fetching_leave_the_isr() {
        let (_d, p) = partition(1);
        p.apply(&meta(1, &[1, 2, 3], 0));
        append(&p, 2);
        p.follower_fetched(2, 2);
        assert_eq!(p.shrink_lagging(Duration::from_secs(60)), None);
        std::thread::sleep(Duration::from_millis(30));
        p.follower_fetched(2, 2);
        let change = p.shrink_lagging(Duration::from_millis(10)).unwrap();
        assert_eq!(change.isr, vec![1, 2]);
    }

    #[test]
    fn leaders_refuse_stale_and_unknown_epochs() {
        let (_d, p) = partition(2);
        p.apply(&meta(1, &[1, 2], 3));
        assert_eq!(p.check_leader(-1), Err(ResponseError::NotLeaderOrFollower));
        assert!(p.follower_view().unwrap().needs_truncation);
        p.apply(&meta(2, &[2], 4));
        assert_eq!(p.check_leader(4), Ok(4));
        assert_eq!(p.check_leader(3), Err(ResponseError::FencedLeaderEpoch));
        assert_eq!(p.check_leader(5), Err(ResponseError::UnknownLeaderEpoch));
    }

    #[tokio::test]
    async fn acks_all_waiters_wake_on_commit_and_on_losing_leadership() {
        let (_d, p) = partition(1);
        let p = Arc::new(p);
        p.apply(&meta(1, &[1, 2], 0));
        append(&p, 1);
        let deadline = Instant::now() + Duration::from_secs(5);
        let waiter = {
            let p = Arc::clone(&p);
            tokio::spawn(async move { p.wait_committed(1, 0, deadline).await })
        };
        p.follower_fetched(2, 1);
        assert_eq!(waiter.await.unwrap(), Ok(()));
        append(&p, 1);
        let waiter = {
            let p = Arc::clone(&p);
            tokio::spawn(async move { p.wait_committed(2, 0, deadline).await })
        };
        p.apply(&meta(2, &[2], 1));
        assert_eq!(
            waiter.await.unwrap(),
            Err(ResponseError::NotLeaderOrFollower)
        );
        let soon = Instant::now() + Duration::from_millis(20);
        p.apply(&meta(1, &[1, 2], 2));
        append(&p, 1);
        assert_eq!(
            p.wait_committed(3, 2, soon).await,
            Err(ResponseError::RequestTimedOut)
        );
    }
}
