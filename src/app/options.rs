//! The cluster flags of `ferry node`, checked before anything starts: `--node-id`, `--raft`,
//! `--peers`, `--join`.

use std::collections::BTreeMap;
use std::net::SocketAddr;

/// How this node takes part in a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterOptions {
    pub node_id: u64,
    /// Where the node listens for (and connects from, to) its peers. None: a one-node cluster
    /// with no network.
    pub raft: Option<SocketAddr>,
    /// The voters to bootstrap with when the data dir is new; empty when joining.
    pub bootstrap: BTreeMap<u64, String>,
}

/// Parses `1=127.0.0.11:7001,2=127.0.0.12:7001`.
pub fn parse_peers(text: &str) -> Result<BTreeMap<u64, SocketAddr>, String> {
    let mut peers = BTreeMap::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let bad = || format!("--peers: {item:?} is not <node id>=<ip>:<port>");
        let (id, addr) = item.split_once('=').ok_or_else(bad)?;
        let id: u64 = id.trim().parse().map_err(|_| bad())?;
        if id == 0 {
            return Err(format!("--peers: {item:?}: node ids start at 1"));
        }
        let addr: SocketAddr = addr.trim().parse().map_err(|_| bad())?;
        if let Some((other, _)) = peers.iter().find(|(_, a)| **a == addr) {
            return Err(format!("--peers: the address {addr} is given to node {other} and node {id}"));
        }
        if peers.insert(id, addr).is_some() {
            return Err(format!("--peers: node id {id} appears twice"));
        }
    }
    if peers.is_empty() {
        return Err("--peers is empty".into());
    }
    Ok(peers)
}

pub fn resolve(
    node_id: Option<u64>,
    raft: Option<SocketAddr>,
    peers: Option<&str>,
    join: bool,
) -> Result<ClusterOptions, String> {
    if let Some(raft) = raft {
        if raft.ip().is_unspecified() {
            return Err(format!(
                "--raft {raft}: give the address other nodes reach this node at, not a wildcard"
            ));
        }
    }
    let Some(raft) = raft else {
        if node_id.is_some() || peers.is_some() || join {
            return Err("--node-id, --peers and --join need --raft (this node's Raft address)".into());
        }
        return Ok(ClusterOptions { node_id: 1, raft: None, bootstrap: [(1, String::new())].into() });
    };
    let node_id = node_id.ok_or("--raft needs --node-id (this node's id in the cluster)")?;
    if node_id == 0 {
        return Err("--node-id: node ids start at 1".into());
    }
    if join {
        if let Some(peers) = peers {
            let peers = parse_peers(peers)?;
            if let Some(addr) = peers.get(&node_id).filter(|a| **a != raft) {
                return Err(format!("--peers gives node {node_id} the address {addr} but --raft is {raft}"));
            }
        }
        return Ok(ClusterOptions { node_id, raft: Some(raft), bootstrap: BTreeMap::new() });
    }
    let bootstrap = match peers {
        None => [(node_id, raft)].into(),
        Some(peers) => parse_peers(peers)?,
    };
    match bootstrap.get(&node_id) {
        None => {
            return Err(format!(
                "--peers does not list this node (--node-id {node_id}); to add a node to a running cluster, start it with --join and POST /api/v1/cluster/nodes"
            ))
        }
        Some(addr) if *addr != raft => {
            return Err(format!("--peers gives node {node_id} the address {addr} but --raft is {raft}"))
        }
        Some(_) => {}
    }
    Ok(ClusterOptions {
        node_id,
        raft: Some(raft),
        bootstrap: bootstrap.into_iter().map(|(id, a)| (id, a.to_string())).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEERS: &str = "1=127.0.0.11:7001,2=127.0.0.12:7001,3=127.0.0.13:7001";

    fn addr(s: &str) -> Option<SocketAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn a_cluster_node_bootstraps_with_its_peers() {
        let o = resolve(Some(2), addr("127.0.0.12:7001"), Some(PEERS), false).unwrap();
        assert_eq!(o.node_id, 2);
        assert_eq!(o.bootstrap.len(), 3);
        assert_eq!(o.bootstrap[&3], "127.0.0.13:7001");
        let alone = resolve(None, None, None, false).unwrap();
        assert_eq!((alone.node_id, alone.raft, alone.bootstrap.len()), (1, None, 1));
        let joining = resolve(Some(4), addr("127.0.0.14:7001"), None, true).unwrap();
        assert!(joining.bootstrap.is_empty());
    }

    #[test]
    fn bad_flags_are_named() {
        let err = |r: Result<ClusterOptions, String>| r.unwrap_err();
        let raft = addr("127.0.0.11:7001");
        assert!(err(resolve(Some(1), raft, Some("1=127.0.0.11:7001,x"), false))
            .contains("\"x\" is not <node id>=<ip>:<port>"));
        assert!(err(resolve(Some(1), raft, Some("1=127.0.0.11:7001,1=127.0.0.12:7001"), false))
            .contains("node id 1 appears twice"));
        assert!(err(resolve(Some(1), raft, Some("1=127.0.0.11:7001,2=127.0.0.11:7001"), false))
            .contains("given to node 1 and node 2"));
        assert!(err(resolve(Some(4), addr("127.0.0.14:7001"), Some(PEERS), false))
            .contains("does not list this node"));
        assert!(err(resolve(Some(1), addr("127.0.0.11:7002"), Some(PEERS), false)).contains("but --raft is"));
        assert!(err(resolve(None, raft, Some(PEERS), false)).contains("needs --node-id"));
        assert!(err(resolve(Some(1), None, Some(PEERS), false)).contains("need --raft"));
        assert!(err(resolve(Some(1), addr("0.0.0.0:7001"), None, false)).contains("not a wildcard"));
        assert!(err(resolve(Some(0), raft, None, false)).contains("start at 1"));
    }
}
