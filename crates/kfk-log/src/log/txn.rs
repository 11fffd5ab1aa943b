//! The log's side of transactions: aborted transactions recorded in the
//! `.txnindex` of the segment holding their ABORT marker, and collected
//! again for read_committed fetches.

use crate::error::{IoContext, Result};
use crate::txn_index::AbortedTxn;

use super::Log;

impl Log {
    /// Records a transaction aborted by the marker at `txn.last_offset`,
    /// which must already be in the log (in the segment it goes to).
    ///
    /// # Errors
    /// The index file could not be written, or the entry is not after the
    /// segment's last one.
    pub fn append_aborted_txn(&self, txn: AbortedTxn) -> Result<()> {
        let mut st = self.lock();
        let i = st.segment_index(txn.last_offset);
        let Some(seg) = st.segments.get_mut(i) else {
            return Ok(());
        };
        let path = seg.txn_index.path().to_path_buf();
        seg.txn_index.append(txn).at(&path)
    }

    /// The aborted transactions a read_committed fetch of
    /// `[fetch_offset, upper_bound)` must report: each whose marker is at
    /// or after the fetch offset and which began before the bound. They
    /// are found from the segment holding the fetch offset on; the search
    /// stops at the first entry whose last stable offset reaches the bound,
    /// as Kafka's does: every transaction open when that one ended began
    /// after it, so none later in the index can overlap the range.
    pub fn aborted_transactions(&self, fetch_offset: i64, upper_bound: i64) -> Vec<AbortedTxn> {
        let st = self.lock();
        let mut out = Vec::new();
        let from = st.segment_index(fetch_offset);
        for seg in st.segments.iter().skip(from) {
            let entries = seg.txn_index.entries();
            let start = entries.partition_point(|e| e.last_offset < fetch_offset);
            for e in &entries[start..] {
                if e.first_offset < upper_bound {
                    out.push(*e);
                }
                if e.last_stable_offset >= upper_bound {
                    return out;
                }
            }
        }
        out
    }
}
