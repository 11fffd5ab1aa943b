//! What `kfk consume` and its interactive REPL share: which partitions to
//! read, notices when a partition goes offline and comes back, and
//! committing exactly what was delivered.

use std::collections::BTreeMap;

use kfk_client::{Consumer, GroupMembership};

use crate::error::{CliError, CliResult};
use crate::output;

/// Says on stderr when a partition being read goes offline (no leader: its
/// in-sync replicas are all down) and when it is back; the others are read
/// meanwhile.
#[derive(Default)]
pub(crate) struct OfflineWatch {
    offline: Vec<(String, i32)>,
}

impl OfflineWatch {
    /// Notes the consumer's offline partitions after a poll; returns what
    /// changed, as sentences for the user.
    pub(crate) fn update(&mut self, consumer: &Consumer) -> Vec<String> {
        let now = consumer.offline();
        let mut notes: Vec<String> = now
            .iter()
            .filter(|x| !self.offline.contains(x))
            .map(|(t, p)| {
                format!(
                    "warning: {t}-{p} is offline (no leader: its in-sync replicas are down); \
                     reading the other partitions, and {t}-{p} once a replica returns"
                )
            })
            .collect();
        notes.extend(
            self.offline
                .iter()
                .filter(|x| !now.contains(x))
                .map(|(t, p)| format!("{t}-{p} is back online")),
        );
        self.offline = now;
        notes
    }

    /// The partitions offline at the last update.
    pub(crate) fn offline(&self) -> &[(String, i32)] {
        &self.offline
    }

    /// [`OfflineWatch::update`], said on stderr; returns the offline ones.
    pub(crate) fn check(&mut self, consumer: &Consumer) -> &[(String, i32)] {
        for note in self.update(consumer) {
            output::status(&note);
        }
        self.offline()
    }

    /// With --exit-at-end: the end was reached everywhere else.
    pub(crate) fn unread(&self) -> CliResult {
        if self.offline.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = self
            .offline
            .iter()
            .map(|(t, p)| format!("{t}-{p}"))
            .collect();
        Err(CliError::new(format!(
            "read to the end except {}: offline (no leader)",
            names.join(", ")
        ))
        .hint("`kfk topics describe` shows its replicas; it comes back with a broker of its ISR (`kfk cluster start-broker ID`)"))
    }
}

/// Offsets delivered (printed) and not yet committed: partition -> next offset.
pub(crate) type Pending = BTreeMap<i32, i64>;

/// Commits what was delivered since the last commit, waiting for it or not
/// (a background commit that fails says so on stderr); returns how many
/// partitions it covered.
///
/// # Errors
/// A commit that was waited for and failed.
pub(crate) async fn commit_new(
    member: &GroupMembership,
    topic: &str,
    delivered: &Pending,
    committed: &mut Pending,
    wait: bool,
) -> CliResult<usize> {
    let offsets: Vec<(String, i32, i64)> = delivered
        .iter()
        .filter(|(p, o)| committed.get(p) != Some(o))
        .map(|(p, o)| (topic.to_string(), *p, *o))
        .collect();
    if offsets.is_empty() {
        return Ok(0);
    }
    if wait {
        member.commit(&offsets).await?;
    } else {
        let committer = member.committer();
        let list = offsets.clone();
        tokio::spawn(async move {
            if let Err(e) = committer.commit(&list).await {
                output::status(&format!("warning: commit failed: {e}"));
            }
        });
    }
    committed.extend(offsets.iter().map(|(_, p, o)| (*p, *o)));
    Ok(offsets.len())
}

/// The partitions to read: `only` (which must exist) or all of the topic's.
///
/// # Errors
/// When `only` names a partition the topic does not have.
pub(crate) fn partitions_to_read(
    info: &kfk_client::TopicInfo,
    topic: &str,
    only: Option<i32>,
) -> CliResult<Vec<i32>> {
    match only {
        Some(p) => {
            if !info.has_partition(p) {
                return Err(CliError::new(format!(
                    "topic '{topic}' has no partition {p} (it has {})",
                    info.partitions.len()
                ))
                .hint(format!("see `kfk topics describe {topic}`")));
            }
            Ok(vec![p])
        }
        None => Ok(info.partitions.iter().map(|p| p.partition).collect()),
    }
}
