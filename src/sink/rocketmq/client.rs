//! The RocketMQ client Ferry uses (`rocketmq-client-rust`): one process-wide client runtime,
//! a producer per run, topics created when missing, and errors sorted into those worth
//! retrying and those that need the user.

use super::RocketmqSinkConfig;
use crate::codec::Message;
use crate::sink::SinkError;
use rocketmq_client_rust::{
    AclClientRPCHook, ClientConfig, ClientError, ClientRuntime, ClientRuntimeConfig, DefaultMQProducer,
    MQClientException, SessionCredentials,
};
use rocketmq_error::RecoveryHint;
use rocketmq_model::common::message::message_queue::MessageQueue;
use rocketmq_model::common::message::message_single::Message as MqMessage;
use rocketmq_runtime::{RuntimeConfig, RuntimeOwner};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The topic whose route names the brokers that may create topics (RocketMQ's default).
const CREATE_TOPIC_KEY: &str = "TBW102";

/// How long a topic Ferry created may take to show in the name servers' routes.
const ROUTE_WAIT: Duration = Duration::from_secs(10);

/// The client runtime every RocketMQ producer of this process shares: its own threads for the
/// client's connections. Made at the first use; lives as long as the process.
fn runtime() -> Result<Arc<ClientRuntime>, SinkError> {
    static RUNTIME: OnceLock<Result<(RuntimeOwner, Arc<ClientRuntime>), String>> = OnceLock::new();
    let made = RUNTIME.get_or_init(|| {
        let owner = RuntimeOwner::plan(RuntimeConfig::for_parallelism("ferry-rocketmq", 1))
            .map_err(|e| format!("{e:?}"))?
            .build()
            .map_err(|e| e.to_string())?;
        let client = ClientRuntime::try_new(
            owner.root_context().component("client"),
            ClientRuntimeConfig::default(),
            rocketmq_observability::TelemetryHandle::noop(),
        )
        .map_err(|e| e.to_string())?;
        Ok((owner, client))
    });
    match made {
        Ok((_, client)) => Ok(client.clone()),
        Err(e) => Err(SinkError::Unavailable(format!("cannot start the RocketMQ client runtime: {e}"))),
    }
}

/// A started producer. Clones share it.
#[derive(Clone)]
pub struct Client {
    producer: DefaultMQProducer,
    send_timeout: Duration,
}

impl Client {
    /// Starts a producer of `config`'s group, named `instance` (one per run).
    pub async fn start(config: &RocketmqSinkConfig, instance: &str) -> Result<Client, SinkError> {
        let mut client_config = ClientConfig::new();
        client_config.set_instance_name(instance.into());
        let mut builder = DefaultMQProducer::builder(runtime()?)
            .client_config(client_config)
            .producer_group(config.producer_group.clone())
            .name_server_addr(config.name_server.clone())
            .send_msg_timeout(config.send_timeout.as_millis().clamp(1, u128::from(u32::MAX)) as u32)
            // Ferry retries itself, in order: the client may not send a batch twice on its own.
            .retry_times_when_send_failed(0)
            .retry_another_broker_when_not_store_ok(false);
        if let Some((key, secret)) = &config.credentials {
            builder = builder.rpc_hook(Arc::new(AclClientRPCHook::new(SessionCredentials::with_keys(
                key.clone(),
                secret.clone(),
            ))));
        }
        let mut producer = builder.build();
        producer.start().await.map_err(|e| classify("start the producer", &e))?;
        Ok(Client { producer, send_timeout: config.send_timeout })
    }

    /// Creates `topic` with `queues` queues unless it exists; true when it was created.
    pub async fn ensure_topic(&self, topic: &str, queues: u32) -> Result<bool, SinkError> {
        let mut producer = self.producer.clone();
        if producer.fetch_publish_message_queues(topic).await.is_ok_and(|q| !q.is_empty()) {
            return Ok(false);
        }
        producer
            .create_topic(CREATE_TOPIC_KEY, topic, queues as i32, HashMap::new())
            .await
            .map_err(|e| classify(&format!("create topic {topic}"), &e))?;
        Ok(true)
    }

    /// The writable queues of `topic`, in (broker, queue id) order; waits a while for the
    /// route of a topic just created.
    pub async fn queues(&self, topic: &str) -> Result<Vec<MessageQueue>, SinkError> {
        let mut producer = self.producer.clone();
        let started = tokio::time::Instant::now();
        loop {
            match producer.fetch_publish_message_queues(topic).await {
                Ok(mut queues) if !queues.is_empty() => {
                    queues.sort_by(|a, b| {
                        (a.broker_name().as_str(), a.queue_id())
                            .cmp(&(b.broker_name().as_str(), b.queue_id()))
                    });
                    return Ok(queues);
                }
                Ok(_) if started.elapsed() < ROUTE_WAIT => {}
                Err(_) if started.elapsed() < ROUTE_WAIT => {}
                Ok(_) => return Err(SinkError::Unavailable(format!("topic {topic} has no writable queue"))),
                Err(e) => return Err(classify(&format!("find the queues of topic {topic}"), &e)),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Sends `batch` (one topic) to `queue`, within `timeout` (at most the send timeout).
    pub async fn send(
        &self,
        batch: Vec<MqMessage>,
        queue: &MessageQueue,
        timeout: Duration,
    ) -> Result<(), SendError> {
        let timeout = timeout.min(self.send_timeout).as_millis().max(1) as u64;
        let result = match batch.len() {
            1 => {
                let message = batch.into_iter().next().expect("one message");
                self.producer
                    .send_to_queue_with_timeout(message, queue.clone(), timeout)
                    .await
                    .map(|r| r.map(|r| r.send_status))
            }
            _ => self
                .producer
                .send_batch_to_queue_with_timeout(batch, queue.clone(), timeout)
                .await
                .map(|r| Some(r.send_status)),
        };
        use rocketmq_model::result::SendStatus;
        match result {
            Ok(Some(SendStatus::SendOk)) => Ok(()),
            // Stored, but not flushed or replicated as the broker is set up to: sent again.
            Ok(Some(status)) => Err(SendError::Retry(format!("the broker answered {status:?}"))),
            Ok(None) => Err(SendError::Retry("the broker gave no send result".into())),
            Err(e) => Err(match classify("send", &e) {
                SinkError::Refused(why) => SendError::Refused(why),
                other => SendError::Retry(other.to_string()),
            }),
        }
    }

    /// Stops the producer in the background (it unregisters from the brokers).
    pub fn shut_down(self) {
        let mut producer = self.producer;
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move { producer.shutdown().await });
        }
    }
}

/// Why a send failed.
#[derive(Debug, Clone, PartialEq)]
pub enum SendError {
    /// Sending again may work (the broker is busy, down or slow).
    Retry(String),
    /// Sending again changes nothing (no permission, a message the broker refuses).
    Refused(String),
}

/// Broker answers that sending again changes nothing: the request or the message is wrong,
/// or not allowed.
const REFUSALS: &[i32] = &[
    3,   // REQUEST_CODE_NOT_SUPPORTED
    13,  // MESSAGE_ILLEGAL (too large, a bad property)
    15,  // VERSION_NOT_SUPPORTED
    16,  // NO_PERMISSION
    29,  // INVALID_PARAMETER
    604, // ILLEGAL_OPERATION
];

/// `e` as a sink error: `Refused` when it needs the user, `Unavailable` otherwise. The message
/// names the broker's code and remark where the client kept them (a send keeps the code only, a
/// topic creation both, inside an `MQClientException`).
pub fn classify(what: &str, e: &ClientError) -> SinkError {
    let exception = e.source_ref::<MQClientException>();
    let code = e.broker_response_code().or_else(|| exception.map(|x| x.response_code()).filter(|c| *c > 0));
    let mut message = format!("rocketmq: cannot {what}: {e}");
    if let Some(code) = code {
        message.push_str(&format!(" (broker code {code}{})", meaning(code)));
    }
    if let Some(remark) = exception.and_then(|x| x.error_message()) {
        message.push_str(&format!(": {remark}"));
    }
    let refused = match code {
        Some(code) => REFUSALS.contains(&code),
        None => matches!(
            e.descriptor().recovery_hint(),
            RecoveryHint::Never | RecoveryHint::OperatorAction | RecoveryHint::RefreshCredentials
        ),
    };
    match refused {
        true => SinkError::Refused(message),
        false => SinkError::Unavailable(message),
    }
}

/// What a broker code tells the user, for those a user meets.
fn meaning(code: i32) -> &'static str {
    match code {
        13 => ", MESSAGE_ILLEGAL: the broker refuses the message (its size or a property)",
        16 => {
            ", NO_PERMISSION: the broker refused access: a wrong access_key or secret_key, \
             or a user without the permission"
        }
        29 => ", INVALID_PARAMETER",
        _ => "",
    }
}

/// About what `message` weighs as a RocketMQ message: its body, keys and properties.
pub fn message_size(message: &Message) -> usize {
    let properties: usize = message.headers.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
    message.value.as_ref().map_or(0, Vec::len) + message.key_text.len() + properties + 64
}

/// Whether a name server answers at each address of `name_server` (`host:port;...`), within
/// 5 s (a TCP connection).
pub async fn reachable(name_server: &str) -> Result<(), String> {
    for address in name_server.split(';').map(str::trim) {
        match tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(address)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(format!("cannot reach the rocketmq name server at {address}: {e}")),
            Err(_) => return Err(format!("the rocketmq name server at {address} did not answer within 5 s")),
        }
    }
    Ok(())
}
