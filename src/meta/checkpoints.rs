//! Checkpoints go through Raft in batches: every connector of a node hands its checkpoint to
//! the node's [`CheckpointSaver`], which proposes what has accumulated as one `SaveCheckpoints`
//! command while the previous one is in flight (group commit), and answers each connector.

use super::{CheckpointUpdate, Command, Meta, MetaError};
use tokio::sync::{mpsc, oneshot};

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// A newer placement of the project owns its checkpoint: stop without writing more.
    #[error("fenced out: project {0:?} runs elsewhere now")]
    Fenced(String),
    #[error("saving the checkpoint: {0}")]
    Cluster(String),
}

type Request = (CheckpointUpdate, oneshot::Sender<Result<(), SaveError>>);

const PROPOSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

#[derive(Clone)]
pub struct CheckpointSaver {
    tx: mpsc::UnboundedSender<Request>,
}

impl CheckpointSaver {
    /// Starts the batching task on the current runtime; it ends when every saver is dropped.
    pub fn start(meta: Meta) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(batch_loop(meta, rx));
        Self { tx }
    }

    /// Hands `update` to the next batch; the answer comes on the returned channel (closed if
    /// the node stops first).
    pub fn submit(&self, update: CheckpointUpdate) -> oneshot::Receiver<Result<(), SaveError>> {
        let (reply, answer) = oneshot::channel();
        let _ = self.tx.send((update, reply));
        answer
    }
}

async fn batch_loop(meta: Meta, mut rx: mpsc::UnboundedReceiver<Request>) {
    let node = meta.node_id();
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while let Ok(more) = rx.try_recv() {
            batch.push(more);
        }
        let (updates, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
        let names: Vec<String> = updates.iter().map(|u| u.project.clone()).collect();
        // Shorter than a request's timeout: a connector waits for its checkpoint only when the
        // next is due or when it stops, and a node stopping without a quorum must not linger.
        let command = Command::SaveCheckpoints { node, checkpoints: updates };
        let result = meta.propose_within(command.into(), PROPOSE_TIMEOUT).await;
        for (name, reply) in names.into_iter().zip(replies) {
            let answer = match &result {
                Ok(Ok(())) => Ok(()),
                Ok(Err(MetaError::Fenced { projects })) if !projects.contains(&name) => Ok(()),
                Ok(Err(_)) => Err(SaveError::Fenced(name)),
                Err(e) => Err(SaveError::Cluster(e.to_string())),
            };
            let _ = reply.send(answer);
        }
    }
}
