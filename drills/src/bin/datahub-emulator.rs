//! For scripts/bench.py: serves the DataHub emulator of the tests (tests/common/datahub.rs)
//! with project PROJECT, prints its endpoint, then on each line `count TOPIC` read from stdin
//! prints that topic's records as `<key> <system time ms>` lines (the key: a TUPLE record's
//! first column, the third field; a BLOB record's `ferry.key` attribute) and `end`.
//!
//! Usage: datahub-emulator PROJECT

#[allow(dead_code)] // the tests use the rest
#[path = "../../../tests/common/datahub.rs"]
mod datahub;

use std::io::{BufRead, Write};

fn main() {
    let project = std::env::args().nth(1).unwrap_or_else(|| {
        eprintln!("usage: datahub-emulator PROJECT");
        std::process::exit(2);
    });
    let emulator = datahub::Emulator::start();
    emulator.create_project(&project);
    println!("{}", emulator.endpoint());
    for line in std::io::stdin().lock().lines() {
        let line = line.expect("stdin");
        let Some(topic) = line.strip_prefix("count ") else { continue };
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for r in emulator.records(&project, topic.trim()) {
            let key = match &r.data {
                datahub::Data::Tuple(values) => values.get(2).cloned().flatten(),
                datahub::Data::Blob(_) => r.attributes.get("ferry.key").cloned(),
            };
            writeln!(out, "{} {}", key.as_deref().unwrap_or("-"), r.system_time).expect("stdout");
        }
        writeln!(out, "end").expect("stdout");
        out.flush().expect("stdout");
    }
}
