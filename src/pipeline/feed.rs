//! A connector's view of its store's change log: [`LocalFeed`] when the store runs on the same
//! node (the log is read in place), [`RemoteFeed`](super::remote_feed::RemoteFeed) when it runs
//! on another one (its node serves the log over HTTP, from a [`LocalFeed`] too).

use crate::model::{Checkpoint, Position, Record, TableSchema};
use crate::store::{ChangeLog, RocksChangeLog, StoreError};
use futures_util::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Records per read of the change log (a record is one binlog rows event, tens of rows)...
pub const READ_BATCH: usize = 1024;
/// ...and bytes: rows of large BLOBs make few records of many megabytes.
pub const READ_BYTES: usize = 8 << 20;

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store's node did not serve the log (unreachable, not running the store yet, or at
    /// another epoch): the connector restarts and asks again.
    #[error("reading the store's log from node {node}: {reason}")]
    Remote { node: u64, reason: String },
}

/// Where a connector starts: its checkpoint, or, when the store started over from an older
/// connector's checkpoint (and numbers its log anew), the store's first record, with the
/// connector's own position to skip through.
#[derive(Debug, Clone, PartialEq)]
pub struct Begin {
    pub checkpoint: Checkpoint,
    pub skip_through: Option<Position>,
}

pub trait Feed: Send + Sync {
    /// Where a connector whose replicated checkpoint is `checkpoint` starts reading.
    fn begin(&self, checkpoint: Checkpoint) -> BoxFuture<'_, Result<Begin, FeedError>>;
    /// Records from `from` on, in order; when there are none yet, waits up to `wait` for some
    /// (and returns none if none came).
    fn read(&self, from: u64, wait: Duration) -> BoxFuture<'_, Result<Vec<(u64, Record)>, FeedError>>;
    fn schema(&self, id: u64) -> BoxFuture<'_, Result<Arc<TableSchema>, FeedError>>;
}

/// The log of a store running on this node.
#[derive(Clone)]
pub struct LocalFeed {
    pub log: Arc<RocksChangeLog>,
    /// The last sequence the store appended.
    pub appended: watch::Receiver<u64>,
    /// The sequence the store started at (the oldest connector checkpoint then).
    pub base: u64,
}

impl LocalFeed {
    pub fn start_point(&self, checkpoint: Checkpoint) -> Begin {
        if checkpoint.seq == self.base || self.log.agrees_with(checkpoint.seq, &checkpoint.position) {
            return Begin { checkpoint, skip_through: None };
        }
        let position = checkpoint.position.clone();
        Begin { checkpoint: Checkpoint { seq: self.base, ..checkpoint }, skip_through: Some(position) }
    }

    /// Waits up to `wait` until the log holds `from` (true) or not (false).
    pub async fn wait_for(&self, from: u64, wait: Duration) -> bool {
        if self.log.last_seq() >= from {
            return true;
        }
        let mut appended = self.appended.clone();
        let arrived = tokio::time::timeout(wait, appended.wait_for(|&last| last >= from)).await;
        matches!(arrived, Ok(Ok(_)))
    }
}

impl Feed for LocalFeed {
    fn begin(&self, checkpoint: Checkpoint) -> BoxFuture<'_, Result<Begin, FeedError>> {
        let begin = self.start_point(checkpoint);
        Box::pin(async move { Ok(begin) })
    }

    fn read(&self, from: u64, wait: Duration) -> BoxFuture<'_, Result<Vec<(u64, Record)>, FeedError>> {
        Box::pin(async move {
            let records = self.log.read_from(from, READ_BATCH, READ_BYTES)?;
            if !records.is_empty() || !self.wait_for(from, wait).await {
                return Ok(records);
            }
            Ok(self.log.read_from(from, READ_BATCH, READ_BYTES)?)
        })
    }

    fn schema(&self, id: u64) -> BoxFuture<'_, Result<Arc<TableSchema>, FeedError>> {
        let schema = self.log.schema(id);
        Box::pin(async move { Ok(schema?) })
    }
}
