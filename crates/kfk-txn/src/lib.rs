//! The transaction coordinator's state, as Kafka keeps it per
//! `transactional.id`: which producer id and epoch own it, the partitions
//! and state of its transaction, and the moves between states Kafka
//! allows. The broker drives it (requests, the `__transaction_state` log,
//! markers); this crate only decides.

mod metadata;
pub mod schema;
mod state;

pub use metadata::{TxnError, TxnMetadata};
pub use state::TxnState;
