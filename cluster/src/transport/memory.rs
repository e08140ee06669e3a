//! An in-process network for tests: every node's transport is a handle on one [`MemNetwork`],
//! which can cut links (partitions), drop a share of messages and delay them by a random amount
//! (which reorders them).

use super::{Mailbox, Transport};
use raft::eraftpb::Message;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct Net {
    mailboxes: HashMap<u64, Mailbox>,
    /// Directed links that carry nothing.
    cut: HashSet<(u64, u64)>,
    drop_rate: f64,
    max_delay: Duration,
    rng: Option<StdRng>,
}

#[derive(Clone, Default)]
pub struct MemNetwork {
    net: Arc<Mutex<Net>>,
}

impl MemNetwork {
    pub fn new() -> Self {
        let net = Net { rng: Some(StdRng::seed_from_u64(7)), ..Net::default() };
        Self { net: Arc::new(Mutex::new(net)) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Net> {
        self.net.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Connects node `id`'s mailbox (again, after a restart).
    pub fn attach(&self, id: u64, mailbox: Mailbox) {
        self.lock().mailboxes.insert(id, mailbox);
    }

    /// The transport node `id` sends through.
    pub fn transport(&self, id: u64) -> Arc<dyn Transport> {
        Arc::new(MemTransport { from: id, network: self.clone() })
    }

    /// Cuts every link between a node of `a` and a node of `b`, both ways.
    pub fn partition(&self, a: &[u64], b: &[u64]) {
        let mut net = self.lock();
        for &x in a {
            for &y in b {
                net.cut.insert((x, y));
                net.cut.insert((y, x));
            }
        }
    }

    /// Restores every link.
    pub fn heal(&self) {
        self.lock().cut.clear();
    }

    /// Drops each message with probability `rate` and delays each by up to `max_delay`.
    pub fn set_faults(&self, rate: f64, max_delay: Duration) {
        let mut net = self.lock();
        net.drop_rate = rate;
        net.max_delay = max_delay;
    }

    fn route(&self, from: u64, messages: Vec<Message>) {
        let mut net = self.lock();
        for m in messages {
            if net.cut.contains(&(from, m.to)) {
                continue;
            }
            let (drop_rate, max_delay) = (net.drop_rate, net.max_delay);
            let rng = net.rng.as_mut().expect("seeded");
            if drop_rate > 0.0 && rng.gen_bool(drop_rate) {
                continue;
            }
            let delay =
                if max_delay.is_zero() { Duration::ZERO } else { max_delay.mul_f64(rng.gen::<f64>()) };
            let Some(mailbox) = net.mailboxes.get(&m.to).cloned() else { continue };
            if delay.is_zero() {
                mailbox.deliver(m);
            } else {
                std::thread::spawn(move || {
                    std::thread::sleep(delay);
                    mailbox.deliver(m);
                });
            }
        }
    }
}

struct MemTransport {
    from: u64,
    network: MemNetwork,
}

impl Transport for MemTransport {
    fn send(&self, messages: Vec<Message>) {
        self.network.route(self.from, messages);
    }
}
