use serde::{de::DeserializeOwned, Serialize};

/// Deterministic application state: `apply` sees commands in log order, uses no clock, no
/// randomness and no IO, so every replica computes the same state.
pub trait StateMachine: Send + Sync + 'static {
    type Command: Serialize + DeserializeOwned + Send + 'static;
    /// What the proposer gets back (typically a `Result` of the command's validation).
    type Response: Send + 'static;

    fn apply(&mut self, index: u64, command: Self::Command) -> Self::Response;

    /// The whole state, serialized; with `restore` it lets the log be truncated.
    fn snapshot(&self) -> Vec<u8>;

    fn restore(&mut self, snapshot: &[u8]) -> Result<(), String>;
}
