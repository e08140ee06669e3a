use actix::Message;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComponentKind {
    Store,
    Connector,
}

/// How a component's run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Exit {
    /// Asked to stop, or its input ended.
    Stopped,
    /// Failed in a way a restart may cure (destination unavailable).
    Transient(String),
    /// Failed in a way only the user can cure: the project goes `failed`.
    Definite(String),
    /// A newer run of the project owns it now.
    Fenced,
}

/// A store or connector task ended.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct ComponentExited {
    pub project: String,
    pub epoch: u64,
    pub kind: ComponentKind,
    pub exit: Exit,
}

/// Stop the component; answered once its task has ended (the connector after a last checkpoint).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct StopComponent;

/// The applied metadata changed.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct MetaChanged;

/// Stop every project on this node (connectors drain and checkpoint first); answered when done.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Shutdown;
