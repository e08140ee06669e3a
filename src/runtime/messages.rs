use actix::Message;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComponentKind {
    Store,
    /// A connector, by its id in the project.
    Connector(String),
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

/// The applied metadata changed (in a way that may move work), or it is time to look again.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct MetaChanged;

/// Sends `MetaChanged` to the actor now, whenever `generation` moves, and every `every`.
pub fn follow_generation<A>(
    actor: &mut A,
    ctx: &mut actix::Context<A>,
    generation: &tokio::sync::watch::Receiver<u64>,
    every: std::time::Duration,
) where
    A: actix::Actor<Context = actix::Context<A>> + actix::Handler<MetaChanged>,
{
    use actix::{ActorFutureExt as _, AsyncContext as _, WrapFuture as _};
    let mut generation = generation.clone();
    let me = ctx.address();
    ctx.spawn(
        async move {
            me.do_send(MetaChanged);
            while generation.changed().await.is_ok() {
                me.do_send(MetaChanged);
            }
        }
        .into_actor(actor)
        .map(|_, _, _| ()),
    );
    ctx.run_interval(every, |_, ctx| ctx.notify(MetaChanged));
}

/// Stop every project on this node (connectors drain and checkpoint first); answered when done.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Shutdown;
