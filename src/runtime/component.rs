//! One actor type for both components: it owns a task (the store's or the connector's loop),
//! stops it on request and reports how it ended.

use super::messages::{ComponentExited, ComponentKind, Exit, StopComponent};
use actix::prelude::*;
use std::future::Future;
use std::pin::Pin;
use tokio::sync::watch;

pub type TaskFuture = Pin<Box<dyn Future<Output = Exit> + 'static>>;

pub struct ComponentActor {
    pub project: String,
    pub epoch: u64,
    pub kind: ComponentKind,
    /// Builds the task given the stop signal; taken at start.
    pub task: Option<Box<dyn FnOnce(watch::Receiver<bool>) -> TaskFuture + Send>>,
    pub report: Recipient<ComponentExited>,
    stop: watch::Sender<bool>,
    done: watch::Sender<bool>,
}

impl ComponentActor {
    pub fn new(
        project: String,
        epoch: u64,
        kind: ComponentKind,
        task: Box<dyn FnOnce(watch::Receiver<bool>) -> TaskFuture + Send>,
        report: Recipient<ComponentExited>,
    ) -> Self {
        Self {
            project,
            epoch,
            kind,
            task: Some(task),
            report,
            stop: watch::channel(false).0,
            done: watch::channel(false).0,
        }
    }
}

impl Actor for ComponentActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let Some(task) = self.task.take() else { return };
        let fut = task(self.stop.subscribe());
        ctx.spawn(fut.into_actor(self).map(|exit, act, ctx| {
            tracing::info!(project = %act.project, kind = ?act.kind, ?exit, "component ended");
            act.done.send_replace(true);
            act.report.do_send(ComponentExited {
                project: act.project.clone(),
                epoch: act.epoch,
                kind: act.kind.clone(),
                exit,
            });
            ctx.stop();
        }));
    }
}

impl Handler<StopComponent> for ComponentActor {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: StopComponent, _: &mut Context<Self>) -> Self::Result {
        self.stop.send_replace(true);
        let mut done = self.done.subscribe();
        Box::pin(async move {
            let _ = done.wait_for(|d| *d).await;
        })
    }
}
