//! The partitions this broker hosts and keeps in line with their leaders:
//! each [`partition::Partition`] (log, high watermark, ISR view, producer
//! state), the replica fetchers that copy from leaders, the upkeep tasks that
//! follow the metadata image and commit ISR changes, and the high-watermark
//! checkpoint.

pub mod checkpoint;
pub mod fetcher;
pub mod leader_link;
pub mod partition;
pub mod producer_snapshot;
pub mod producer_state;
pub mod quota;
pub mod upkeep;
