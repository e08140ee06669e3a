//! The one-node engine and the handle the application holds.

use crate::{storage::LogStorage, ClusterError, StateMachine};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use tokio::sync::watch;

#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub id: u64,
    pub dir: PathBuf,
    /// Take a snapshot and truncate the log every this many applied entries.
    pub snapshot_every: u64,
}

impl NodeConfig {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { id: 1, dir: dir.into(), snapshot_every: 10_000 }
    }
}

struct Log {
    storage: LogStorage,
    last_index: u64,
    snapshot_index: u64,
}

struct Shared<S> {
    id: u64,
    snapshot_every: u64,
    /// Serializes appends; held while an entry is written and applied so order is log order.
    log: Mutex<Log>,
    state: RwLock<S>,
    applied: watch::Sender<u64>,
}

/// Opens or creates the node's log and replays it into the state machine.
pub struct Node;

impl Node {
    pub fn open<S: StateMachine>(config: NodeConfig, mut state: S) -> Result<RaftHandle<S>, ClusterError> {
        std::fs::create_dir_all(&config.dir).map_err(|e| ClusterError::Snapshot(e.to_string()))?;
        let storage = LogStorage::open(&config.dir)?;
        let mut applied = 0;
        if let Some((index, data)) = storage.snapshot()? {
            state.restore(&data).map_err(ClusterError::Snapshot)?;
            applied = index;
        }
        let snapshot_index = applied;
        for (index, data) in storage.entries_after(applied)? {
            let command = decode::<S>(index, &data)?;
            state.apply(index, command);
            applied = index;
        }
        tracing::info!(node = config.id, applied, "replayed the metadata log");
        let (tx, _) = watch::channel(applied);
        Ok(RaftHandle {
            shared: Arc::new(Shared {
                id: config.id,
                snapshot_every: config.snapshot_every.max(1),
                log: Mutex::new(Log { storage, last_index: applied, snapshot_index }),
                state: RwLock::new(state),
                applied: tx,
            }),
        })
    }
}

fn decode<S: StateMachine>(index: u64, data: &[u8]) -> Result<S::Command, ClusterError> {
    bincode::serde::decode_from_slice(data, bincode::config::standard())
        .map(|(c, _)| c)
        .map_err(|e| ClusterError::Corrupt { index, reason: e.to_string() })
}

/// What the application holds: propose commands, read the applied state, watch it change.
pub struct RaftHandle<S> {
    shared: Arc<Shared<S>>,
}

impl<S> Clone for RaftHandle<S> {
    fn clone(&self) -> Self {
        Self { shared: self.shared.clone() }
    }
}

impl<S: StateMachine> RaftHandle<S> {
    pub fn node_id(&self) -> u64 {
        self.shared.id
    }

    /// The leader's id. A one-node group is always its own leader.
    pub fn leader(&self) -> Option<u64> {
        Some(self.shared.id)
    }

    /// Appends `command` to the log, waits until it is durable, applies it and returns what
    /// the state machine answered.
    pub async fn propose(&self, command: S::Command) -> Result<S::Response, ClusterError> {
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || shared.propose_blocking(command))
            .await
            .map_err(|_| ClusterError::Stopped)?
    }

    /// Runs `f` on the applied state.
    pub fn read<R>(&self, f: impl FnOnce(&S) -> R) -> R {
        f(&self.state())
    }

    fn state(&self) -> RwLockReadGuard<'_, S> {
        self.shared.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The applied index, updated after every applied entry.
    pub fn watch_applied(&self) -> watch::Receiver<u64> {
        self.shared.applied.subscribe()
    }
}

impl<S: StateMachine> Shared<S> {
    fn propose_blocking(&self, command: S::Command) -> Result<S::Response, ClusterError> {
        let data = bincode::serde::encode_to_vec(&command, bincode::config::standard())
            .map_err(|e| ClusterError::Snapshot(e.to_string()))?;
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        let index = log.last_index + 1;
        log.storage.append(index, &data)?;
        log.last_index = index;
        let response = {
            let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
            let response = state.apply(index, command);
            if index - log.snapshot_index >= self.snapshot_every {
                let snapshot = state.snapshot();
                log.storage.install_snapshot(index, &snapshot)?;
                log.snapshot_index = index;
            }
            response
        };
        drop(log);
        self.applied.send_replace(index);
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Default)]
    struct Counter {
        total: i64,
        applied: Vec<u64>,
    }

    #[derive(Serialize, Deserialize)]
    struct Add(i64);

    impl StateMachine for Counter {
        type Command = Add;
        type Response = i64;
        fn apply(&mut self, index: u64, Add(n): Add) -> i64 {
            self.total += n;
            self.applied.push(index);
            self.total
        }
        fn snapshot(&self) -> Vec<u8> {
            self.total.to_be_bytes().to_vec()
        }
        fn restore(&mut self, s: &[u8]) -> Result<(), String> {
            self.total = i64::from_be_bytes(s.try_into().map_err(|_| "bad snapshot")?);
            Ok(())
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("cluster-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[tokio::test]
    async fn commands_apply_in_order_and_survive_reopen_across_snapshots() {
        let dir = temp_dir("reopen");
        let config = NodeConfig { snapshot_every: 3, ..NodeConfig::new(&dir) };
        {
            let node = Node::open(config.clone(), Counter::default()).unwrap();
            let mut watch = node.watch_applied();
            for n in 1..=7 {
                assert_eq!(node.propose(Add(n)).await.unwrap(), (1..=n).sum::<i64>());
            }
            watch.changed().await.unwrap();
            assert_eq!(*watch.borrow(), 7);
            assert_eq!(node.read(|s| s.applied.clone()), (1..=7).collect::<Vec<_>>());
        }
        let node = Node::open(config, Counter::default()).unwrap();
        // Snapshot at 6 restored, entry 7 replayed: total 28 either way.
        assert_eq!(node.read(|s| s.total), 28);
        assert_eq!(node.read(|s| s.applied.clone()), vec![7]);
        assert_eq!(node.propose(Add(2)).await.unwrap(), 30);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
