//! Cutting a node off from the others with nftables (Debian `nftables`, installed if missing):
//! a table of our own drops every packet between the node's loopback address and the other
//! nodes' addresses, both ways. Connections to MariaDB and Kafka (127.0.0.1) are untouched.

use std::process::Command;

pub struct NetCut {
    table: String,
}

fn nft(script: &str) {
    let out = Command::new("nft").arg("-f").arg("-").stdin(std::process::Stdio::piped()).spawn().and_then(
        |mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(script.as_bytes())?;
            c.wait_with_output()
        },
    );
    let out = out.expect("run nft");
    assert!(out.status.success(), "nft failed on:\n{script}");
}

fn ensure_nft() {
    if Command::new("nft").arg("--version").output().is_ok_and(|o| o.status.success()) {
        return;
    }
    let sudo: &[&str] = if unsafe_is_root() { &[] } else { &["sudo"] };
    let run = |args: &[&str]| {
        let mut all: Vec<&str> = sudo.to_vec();
        all.extend_from_slice(args);
        let status = Command::new(all[0]).args(&all[1..]).env("DEBIAN_FRONTEND", "noninteractive").status();
        assert!(status.is_ok_and(|s| s.success()), "{all:?} failed");
    };
    run(&["apt-get", "update", "-qq"]);
    run(&["apt-get", "install", "-y", "-qq", "nftables"]);
}

fn unsafe_is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl NetCut {
    /// Drops all traffic between `node_ip` and each of `others`.
    pub fn isolate(node_ip: &str, others: &[String]) -> NetCut {
        ensure_nft();
        let table = format!("ferry_drill_{}", std::process::id());
        let set = others.join(", ");
        nft(&format!(
            "table inet {table} {{
  chain output {{
    type filter hook output priority 0; policy accept;
    ip saddr {node_ip} ip daddr {{ {set} }} drop
    ip saddr {{ {set} }} ip daddr {node_ip} drop
  }}
}}
"
        ));
        NetCut { table }
    }

    /// Removes the rules.
    pub fn heal(self) {
        drop(self)
    }
}

impl Drop for NetCut {
    fn drop(&mut self) {
        nft(&format!("delete table inet {}\n", self.table));
    }
}
