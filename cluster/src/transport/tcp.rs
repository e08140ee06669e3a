//! Raft messages over TCP, one outgoing connection per peer.
//!
//! - The listener binds exactly the node's Raft address, and outgoing connections are bound to
//!   the same IP, so a node can be firewalled by its address (several nodes share one host).
//! - Every connection is mutually authenticated with the cluster secret (derived from the key
//!   file every node shares): each side proves it knows the secret with an HMAC over both
//!   sides' nonces. A connection without the secret is dropped and logged; whether each peer
//!   passed our check is kept ([`TcpTransport::refused_by_every_peer`]).
//! - Frames: a big-endian u32 length, then a protobuf `eraftpb::Message`.
//! - Sending never blocks the Raft loop: each peer has a bounded queue drained by a writer task;
//!   while the peer is unreachable its messages are dropped and the loop is told.

use super::{Mailbox, Transport};
use crate::ClusterError;
use hmac::{Hmac, Mac};
use protobuf::Message as _;
use raft::eraftpb::Message;
use rand::RngCore;
use sha2::Sha256;
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc;

const MAGIC: &[u8; 8] = b"FERRYRF1";
const MAX_FRAME: usize = 256 << 20;
const QUEUE: usize = 4096;
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3);
/// Handshake answers.
const OK: u8 = 0;
const WRONG_NODE: u8 = 1;
const BAD_SECRET: u8 = 2;

type HmacSha256 = Hmac<Sha256>;

struct Link {
    addr: String,
    tx: mpsc::Sender<Message>,
}

struct Inner {
    id: u64,
    raft_addr: String,
    local_ip: IpAddr,
    secret: [u8; 32],
    mailbox: Mailbox,
    links: Mutex<HashMap<u64, Link>>,
    /// Per peer, how its last handshake went.
    auth: Mutex<BTreeMap<u64, Result<(), String>>>,
    rt: tokio::runtime::Handle,
}

/// The TCP transport; dropping it stops its listener and connections.
pub struct TcpTransport {
    inner: Arc<Inner>,
    _runtime: Arc<tokio::runtime::Runtime>,
}

impl TcpTransport {
    /// Listens on `listen` (exactly that address) and delivers what authenticated peers send
    /// to `mailbox`.
    pub fn start(
        id: u64,
        listen: SocketAddr,
        secret: [u8; 32],
        mailbox: Mailbox,
    ) -> Result<Self, ClusterError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("raft-net")
            .enable_all()
            .build()
            .map_err(|e| ClusterError::Transport(format!("starting the network runtime: {e}")))?;
        let std_listener = std::net::TcpListener::bind(listen).map_err(|e| {
            ClusterError::Transport(format!("cannot listen on the Raft address {listen}: {e}"))
        })?;
        std_listener.set_nonblocking(true).map_err(|e| ClusterError::Transport(e.to_string()))?;
        let inner = Arc::new(Inner {
            id,
            raft_addr: listen.to_string(),
            local_ip: listen.ip(),
            secret,
            mailbox,
            links: Mutex::new(HashMap::new()),
            auth: Mutex::new(BTreeMap::new()),
            rt: runtime.handle().clone(),
        });
        let listener = {
            let _guard = runtime.enter();
            TcpListener::from_std(std_listener).map_err(|e| ClusterError::Transport(e.to_string()))?
        };
        runtime.spawn(accept_loop(inner.clone(), listener));
        Ok(Self { inner, _runtime: Arc::new(runtime) })
    }

    /// When every peer this node connects to has refused the handshake (and none accepted
    /// it), the reason, as a sentence for the operator: this node's key is the odd one out.
    /// A peer refusing while another accepts says nothing about this node.
    pub fn refused_by_every_peer(&self) -> Option<String> {
        let peers: Vec<u64> = self.inner.links().keys().copied().collect();
        let auth = self.inner.auth.lock().unwrap_or_else(|p| p.into_inner());
        let mut reason = None;
        for peer in &peers {
            match auth.get(peer) {
                Some(Err(r)) => reason = Some(r.clone()),
                _ => return None,
            }
        }
        reason
    }

    /// Connects to `addr` as this node and completes the handshake with node `to`: proves the
    /// address answers as node `to` and holds the cluster secret (before adding it, say).
    pub async fn probe(&self, to: u64, addr: &str) -> Result<(), String> {
        let (inner, addr) = (self.inner.clone(), addr.to_string());
        let attempt = self.inner.rt.spawn(async move {
            match connect(&inner, to, &addr).await {
                Ok(_) => Ok(()),
                Err(ConnectError::Io(reason)) => Err(format!("cannot reach node {to} at {addr}: {reason}")),
                Err(ConnectError::Auth(reason)) => Err(reason),
            }
        });
        attempt.await.map_err(|e| e.to_string())?
    }
}

impl Inner {
    fn links(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Link>> {
        self.links.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a link to `id` at `addr` unless one to that address exists.
    fn ensure_link(self: &Arc<Self>, id: u64, addr: &str) {
        if id == self.id {
            return;
        }
        let mut links = self.links();
        if links.get(&id).is_some_and(|l| l.addr == addr) {
            return;
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        links.insert(id, Link { addr: addr.to_string(), tx });
        self.rt.spawn(writer(self.clone(), id, addr.to_string(), rx));
    }

    fn handshake_done(&self, peer: u64, result: Result<(), String>) {
        if let Err(message) = &result {
            tracing::error!(node = self.id, "{message}");
        }
        self.auth.lock().unwrap_or_else(|p| p.into_inner()).insert(peer, result);
    }
}

impl Transport for TcpTransport {
    fn send(&self, messages: Vec<Message>) {
        let links = self.inner.links();
        for m in messages {
            let to = m.to;
            match links.get(&to) {
                Some(link) => {
                    // A full queue means the peer is slow or gone: drop, Raft resends.
                    let _ = link.tx.try_send(m);
                }
                None => self.inner.mailbox.unreachable(to),
            }
        }
    }

    fn set_peers(&self, peers: &BTreeMap<u64, String>) {
        for (id, addr) in peers {
            self.inner.ensure_link(*id, addr);
        }
        // Links of removed members close when their sender is dropped.
        self.inner.links().retain(|id, _| peers.contains_key(id));
    }
}

fn mac(secret: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    let mut m = HmacSha256::new_from_slice(secret).expect("any key length");
    for p in parts {
        m.update(&(p.len() as u32).to_be_bytes());
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

fn nonce() -> [u8; 16] {
    let mut n = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut n);
    n
}

/// Why a connection attempt failed.
enum ConnectError {
    Io(String),
    /// The peer is not who we think, or does not share the secret: report, do not hammer.
    Auth(String),
}

impl From<std::io::Error> for ConnectError {
    fn from(e: std::io::Error) -> Self {
        ConnectError::Io(e.to_string())
    }
}

async fn connect(inner: &Inner, to: u64, addr: &str) -> Result<TcpStream, ConnectError> {
    let target: SocketAddr = tokio::net::lookup_host(addr)
        .await?
        .next()
        .ok_or_else(|| ConnectError::Io(format!("{addr} resolves to no address")))?;
    let socket = if target.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    // Leave from our own address, so a firewall rule on it applies to this node only.
    if inner.local_ip.is_ipv4() == target.is_ipv4() && !inner.local_ip.is_unspecified() {
        socket.bind(SocketAddr::new(inner.local_ip, 0))?;
    }
    let mut stream = tokio::time::timeout(HANDSHAKE_TIMEOUT, socket.connect(target))
        .await
        .map_err(|_| ConnectError::Io(format!("connecting to {addr} timed out")))??;
    stream.set_nodelay(true)?;
    tokio::time::timeout(HANDSHAKE_TIMEOUT, client_handshake(inner, to, addr, &mut stream))
        .await
        .map_err(|_| ConnectError::Io(format!("handshake with {addr} timed out")))??;
    Ok(stream)
}

async fn client_handshake(inner: &Inner, to: u64, addr: &str, s: &mut TcpStream) -> Result<(), ConnectError> {
    let cn = nonce();
    let from_addr = inner.raft_addr.as_bytes();
    let mut hello = Vec::with_capacity(64 + from_addr.len());
    hello.extend_from_slice(MAGIC);
    hello.extend_from_slice(&inner.id.to_be_bytes());
    hello.extend_from_slice(&to.to_be_bytes());
    hello.extend_from_slice(&cn);
    hello.extend_from_slice(&(from_addr.len() as u16).to_be_bytes());
    hello.extend_from_slice(from_addr);
    s.write_all(&hello).await?;
    let status = s.read_u8().await?;
    if status == WRONG_NODE {
        let actual = s.read_u64().await?;
        return Err(ConnectError::Auth(format!(
            "the Raft address {addr} of node {to} is served by node {actual}: check --peers"
        )));
    }
    let mut sn = [0u8; 16];
    s.read_exact(&mut sn).await?;
    let mut proof = [0u8; 32];
    s.read_exact(&mut proof).await?;
    let (f, t) = (inner.id.to_be_bytes(), to.to_be_bytes());
    if proof != mac(&inner.secret, &[b"server", &f, &t, &cn, &sn]) {
        return Err(ConnectError::Auth(format!(
            "node {to} at {addr} does not share this node's cluster secret: every node must be given the same --key-file"
        )));
    }
    s.write_all(&mac(&inner.secret, &[b"client", &f, &t, &cn, &sn, from_addr])).await?;
    match s.read_u8().await? {
        OK => Ok(()),
        _ => Err(ConnectError::Auth(format!(
            "node {to} at {addr} rejected this node's cluster secret: every node must be given the same --key-file"
        ))),
    }
}

/// Server side; returns the authenticated peer id and its Raft address.
async fn server_handshake(inner: &Inner, s: &mut TcpStream) -> Result<(u64, String), String> {
    let io = |e: std::io::Error| e.to_string();
    let mut magic = [0u8; 8];
    s.read_exact(&mut magic).await.map_err(io)?;
    if &magic != MAGIC {
        return Err("not a Ferry Raft connection".into());
    }
    let from = s.read_u64().await.map_err(io)?;
    let to = s.read_u64().await.map_err(io)?;
    let mut cn = [0u8; 16];
    s.read_exact(&mut cn).await.map_err(io)?;
    let len = s.read_u16().await.map_err(io)? as usize;
    let mut from_addr = vec![0u8; len];
    s.read_exact(&mut from_addr).await.map_err(io)?;
    if to != inner.id {
        s.write_u8(WRONG_NODE).await.map_err(io)?;
        s.write_u64(inner.id).await.map_err(io)?;
        return Err(format!("node {from} addressed node {to}, but this is node {}", inner.id));
    }
    let sn = nonce();
    let (f, t) = (from.to_be_bytes(), to.to_be_bytes());
    let mut reply = vec![OK];
    reply.extend_from_slice(&sn);
    reply.extend_from_slice(&mac(&inner.secret, &[b"server", &f, &t, &cn, &sn]));
    s.write_all(&reply).await.map_err(io)?;
    let mut proof = [0u8; 32];
    s.read_exact(&mut proof).await.map_err(io)?;
    if proof != mac(&inner.secret, &[b"client", &f, &t, &cn, &sn, &from_addr]) {
        let _ = s.write_u8(BAD_SECRET).await;
        return Err(format!(
            "it claims to be node {from} but does not know the cluster secret (a different --key-file?)"
        ));
    }
    s.write_u8(OK).await.map_err(io)?;
    let from_addr = String::from_utf8(from_addr).map_err(|_| "its address is not UTF-8".to_string())?;
    Ok((from, from_addr))
}

async fn accept_loop(inner: Arc<Inner>, listener: TcpListener) {
    loop {
        let (mut stream, remote) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(node = inner.id, error = %e, "raft listener accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let inner = inner.clone();
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            let who = match tokio::time::timeout(HANDSHAKE_TIMEOUT, server_handshake(&inner, &mut stream))
                .await
            {
                Ok(Ok(who)) => who,
                Ok(Err(reason)) => {
                    tracing::warn!(node = inner.id, %remote, "dropped a Raft connection: {reason}");
                    return;
                }
                Err(_) => {
                    tracing::warn!(node = inner.id, %remote, "dropped a Raft connection: handshake timed out");
                    return;
                }
            };
            let (from, from_addr) = who;
            // A node being added learns where to answer from the peers that contact it.
            inner.ensure_link(from, &from_addr);
            if let Err(e) = read_frames(&inner, from, stream).await {
                tracing::debug!(node = inner.id, peer = from, error = %e, "raft connection closed");
            }
        });
    }
}

async fn read_frames(inner: &Inner, from: u64, stream: TcpStream) -> std::io::Result<()> {
    let mut r = tokio::io::BufReader::with_capacity(64 << 10, stream);
    let mut buf = Vec::new();
    loop {
        let len = r.read_u32().await? as usize;
        if len > MAX_FRAME {
            return Err(std::io::Error::other(format!("frame of {len} bytes")));
        }
        buf.resize(len, 0);
        r.read_exact(&mut buf).await?;
        let m = Message::parse_from_bytes(&buf).map_err(std::io::Error::other)?;
        if m.from != from {
            return Err(std::io::Error::other(format!(
                "message from {} on node {from}'s connection",
                m.from
            )));
        }
        inner.mailbox.deliver(m);
    }
}

async fn writer(inner: Arc<Inner>, to: u64, addr: String, mut rx: mpsc::Receiver<Message>) {
    let mut backoff = Duration::from_millis(100);
    let mut last_warning: Option<Instant> = None;
    loop {
        let stream = match connect(&inner, to, &addr).await {
            Ok(s) => s,
            Err(e) => {
                match e {
                    ConnectError::Auth(message) => inner.handshake_done(to, Err(message)),
                    ConnectError::Io(reason) => {
                        if last_warning.is_none_or(|t| t.elapsed() > Duration::from_secs(30)) {
                            tracing::warn!(node = inner.id, peer = to, %addr, %reason, "cannot reach peer");
                            last_warning = Some(Instant::now());
                        }
                    }
                }
                inner.mailbox.unreachable(to);
                // Drop what queued meanwhile: it is stale by the time the peer is back.
                let deadline = tokio::time::Instant::now() + backoff;
                loop {
                    match tokio::time::timeout_at(deadline, rx.recv()).await {
                        Ok(Some(_)) => {}
                        Ok(None) => return, // the peer was removed
                        Err(_) => break,
                    }
                }
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        inner.handshake_done(to, Ok(()));
        if last_warning.take().is_some() {
            tracing::info!(node = inner.id, peer = to, %addr, "reached peer");
        }
        let mut w = BufWriter::with_capacity(64 << 10, stream);
        let result: std::io::Result<()> = async {
            while let Some(m) = rx.recv().await {
                write_frame(&mut w, &m).await?;
                while let Ok(m) = rx.try_recv() {
                    write_frame(&mut w, &m).await?;
                }
                w.flush().await?;
            }
            Ok(())
        }
        .await;
        match result {
            Ok(()) => return, // the peer was removed
            Err(e) => {
                tracing::debug!(node = inner.id, peer = to, error = %e, "raft connection lost");
                inner.mailbox.unreachable(to);
            }
        }
    }
}

async fn write_frame(w: &mut BufWriter<TcpStream>, m: &Message) -> std::io::Result<()> {
    let bytes = m.write_to_bytes().map_err(std::io::Error::other)?;
    w.write_u32(bytes.len() as u32).await?;
    w.write_all(&bytes).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use raft::eraftpb::MessageType;

    fn addr() -> SocketAddr {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    }

    fn heartbeat(from: u64, to: u64) -> Message {
        let mut m = Message::default();
        m.set_msg_type(MessageType::MsgHeartbeat);
        m.from = from;
        m.to = to;
        m.term = 3;
        m
    }

    #[test]
    fn peers_with_the_secret_talk_and_a_wrong_secret_is_refused_both_ways() {
        let (a_addr, b_addr, c_addr) = (addr(), addr(), addr());
        let (a_box, _a_in) = Mailbox::new();
        let (b_box, b_in) = Mailbox::new();
        let (c_box, c_in) = Mailbox::new();
        let a = TcpTransport::start(1, a_addr, [7; 32], a_box).unwrap();
        let _b = TcpTransport::start(2, b_addr, [7; 32], b_box).unwrap();
        let c = TcpTransport::start(3, c_addr, [9; 32], c_box).unwrap();
        let peers: BTreeMap<u64, String> =
            [(1, a_addr.to_string()), (2, b_addr.to_string()), (3, c_addr.to_string())].into();
        a.set_peers(&peers);
        c.set_peers(&peers);
        a.send(vec![heartbeat(1, 2), heartbeat(1, 3)]);
        match b_in.rx.recv_timeout(Duration::from_secs(5)).unwrap() {
            super::super::Inbound::Raft(m) => assert_eq!((m.from, m.term), (1, 3)),
            _ => panic!("expected a raft message"),
        }
        // Node 3 has another secret: node 1 refuses it, node 3 refuses node 1. Node 1 was
        // accepted by node 2, so only node 3, refused by every peer, is the odd one out.
        let wait = |t: &TcpTransport, what: &str| {
            let start = std::time::Instant::now();
            loop {
                if let Some(reason) = t.refused_by_every_peer() {
                    return reason;
                }
                assert!(start.elapsed() < Duration::from_secs(5), "{what}");
                std::thread::sleep(Duration::from_millis(20));
            }
        };
        c.send(vec![heartbeat(3, 1), heartbeat(3, 2)]);
        let msg = wait(&c, "node 3 refused by every peer");
        assert!(msg.contains("--key-file"), "{msg}");
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(a.refused_by_every_peer(), None, "node 2 accepted node 1");
        let reached_c = c_in.rx.try_iter().any(|m| matches!(m, super::super::Inbound::Raft(_)));
        assert!(!reached_c, "a peer without the secret must not get messages through");
    }
}
