//! For scripts/bench.py: reads a RocketMQ topic from its start and prints, per message, its
//! key and when the broker stored it (`<key> <stored_ms>`), until COUNT messages or TIMEOUT_S.
//!
//! Usage: rocketmq-read NAME_SERVER TOPIC COUNT TIMEOUT_S

#[allow(dead_code)] // the tests use the rest
#[path = "../../../tests/common/rocketmq.rs"]
mod rocketmq;

use std::io::Write;
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [name_server, topic, count, timeout] = &args[..] else {
        eprintln!("usage: rocketmq-read NAME_SERVER TOPIC COUNT TIMEOUT_S");
        std::process::exit(2);
    };
    let count: usize = count.parse().expect("COUNT");
    let timeout = Duration::from_secs(timeout.parse().expect("TIMEOUT_S"));
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut read = 0;
    rocketmq::pull(name_server, topic, timeout, |batch| {
        for m in batch {
            writeln!(out, "{} {}", m.keys.as_deref().unwrap_or("-"), m.stored_ms).expect("stdout");
            read += 1;
        }
        read >= count
    });
    out.flush().expect("stdout");
}
