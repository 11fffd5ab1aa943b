//! The log cleaner's parts: the key -> offset map a clean is built on, the
//! I/O budget it spends, the history of cleans per log, and the crash-safe
//! replacement of segments by their cleaned copies. The clean itself is
//! [`crate::Log::clean`]; [`crate::LogManager::start_cleaner`] runs it.

mod checkpoint;
mod offset_map;
mod pool;
pub(crate) mod swap;
mod throttle;

pub use checkpoint::CleanHistory;
pub use offset_map::{BYTES_PER_ENTRY, OffsetMap};
pub use pool::{CleanLimit, CleanOutcome, Cleaner, CleanerConfig};
pub use throttle::Throttle;
