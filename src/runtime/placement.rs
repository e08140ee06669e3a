//! Where running projects should run: a pure function of the metadata and the nodes' health,
//! used by the supervisor on the leader.
//!
//! - A running project without a node goes to the live, non-leaving node with the fewest
//!   projects.
//! - A project whose node is lost (silent past its lease and the margin) or gone from the
//!   cluster moves at once, with a new epoch; the move names the heartbeat count it saw, so a
//!   renewal committed meanwhile refuses it.
//! - A project on a leaving node is asked to be released; once the node reports it stopped,
//!   it has no node and is placed like a new one.
//! - A connector placed apart from its store (by an operator) whose node is lost, leaving or
//!   gone comes back to the store's node.
//!
//! Healthy work is never moved.

use super::liveness::NodeHealth;
use crate::meta::{MetaState, ProjectState};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Move {
    Place {
        project: String,
        node: u64,
        epoch: u64,
        lost: Option<(u64, u64)>,
    },
    Release {
        project: String,
        epoch: u64,
    },
    /// Connector `connector` goes back to its store's node.
    Rejoin {
        project: String,
        connector: String,
        epoch: u64,
        lost: Option<(u64, u64)>,
    },
}

impl Move {
    pub fn project(&self) -> &str {
        match self {
            Move::Place { project, .. } | Move::Release { project, .. } | Move::Rejoin { project, .. } => {
                project
            }
        }
    }
}

pub fn plan(state: &MetaState, health: &NodeHealth) -> Vec<Move> {
    // Load: projects placed per node, whatever their state (a paused project keeps its store).
    let mut load: BTreeMap<u64, usize> = state
        .nodes
        .values()
        .filter(|n| !n.leaving && health.alive.contains(&n.id))
        .map(|n| (n.id, 0))
        .collect();
    for p in state.projects.values() {
        if let Some(n) = p.placement.as_ref().and_then(|pl| load.get_mut(&pl.node)) {
            *n += 1;
        }
    }
    let mut moves = Vec::new();
    for p in state.projects.values().filter(|p| p.state == ProjectState::Running) {
        let name = p.spec.name.clone();
        let pick = |load: &BTreeMap<u64, usize>, except: Option<u64>| {
            load.iter()
                .filter(|(id, _)| Some(**id) != except)
                .min_by_key(|(id, n)| (**n, **id))
                .map(|(id, _)| *id)
        };
        let target = match &p.placement {
            None => pick(&load, None).map(|node| (node, None)),
            Some(pl) => match state.nodes.get(&pl.node) {
                None => pick(&load, Some(pl.node)).map(|node| (node, None)),
                Some(n) if health.lost.contains(&n.id) => {
                    pick(&load, Some(n.id)).map(|node| (node, Some((n.id, n.heartbeats))))
                }
                Some(n) if n.leaving && !pl.releasing => {
                    moves.push(Move::Release { project: name.clone(), epoch: p.epoch });
                    None
                }
                Some(_) => None,
            },
        };
        if let Some((node, lost)) = target {
            *load.entry(node).or_default() += 1;
            moves.push(Move::Place { project: name, node, epoch: p.epoch, lost });
            continue;
        }
        // The store stays: a connector apart whose node is not fit comes back to it (one move
        // per pass: each raises the epoch).
        let mut apart = p.placement.iter().filter(|pl| !pl.releasing).flat_map(|pl| &pl.connectors);
        let rejoin = apart.find_map(|(id, node)| match state.nodes.get(node) {
            None => Some((id, None)),
            Some(n) if health.lost.contains(node) => Some((id, Some((n.id, n.heartbeats)))),
            Some(n) if n.leaving => Some((id, None)),
            Some(_) => None,
        });
        if let Some((id, lost)) = rejoin {
            moves.push(Move::Rejoin { project: name, connector: id.clone(), epoch: p.epoch, lost });
        }
    }
    moves
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{NodeRecord, Placement, Project};

    fn project(name: &str, state: ProjectState, epoch: u64, node: Option<(u64, bool)>) -> Project {
        let placement = |(node, releasing)| Placement { releasing, ..Placement::on(node) };
        Project::sample(name, state, epoch, node.map(placement))
    }

    fn node(id: u64, leaving: bool, heartbeats: u64) -> (u64, NodeRecord) {
        (id, NodeRecord { id, raft: String::new(), http: String::new(), leaving, heartbeats, applied: 0 })
    }

    fn health(alive: &[u64], lost: &[u64]) -> NodeHealth {
        NodeHealth { alive: alive.iter().copied().collect(), lost: lost.iter().copied().collect() }
    }

    fn state(projects: Vec<Project>, nodes: Vec<(u64, NodeRecord)>) -> MetaState {
        MetaState {
            projects: projects.into_iter().map(|p| (p.spec.name.clone(), p)).collect(),
            nodes: nodes.into_iter().collect(),
            ..Default::default()
        }
    }

    #[test]
    fn new_projects_spread_over_live_nodes_by_load() {
        let s = state(
            vec![
                project("a", ProjectState::Running, 1, None),
                project("b", ProjectState::Running, 1, None),
                project("c", ProjectState::Running, 4, Some((1, false))),
                project("d", ProjectState::Paused, 2, Some((2, false))),
                project("e", ProjectState::Running, 1, None),
            ],
            vec![node(1, false, 5), node(2, false, 5), node(3, false, 5), node(4, true, 5)],
        );
        // Node 3 is not alive (yet), node 4 is leaving: a, b and e go to 1 and 2 by load.
        let moves = plan(&s, &health(&[1, 2, 4], &[]));
        assert_eq!(
            moves,
            vec![
                Move::Place { project: "a".into(), node: 1, epoch: 1, lost: None },
                Move::Place { project: "b".into(), node: 2, epoch: 1, lost: None },
                Move::Place { project: "e".into(), node: 1, epoch: 1, lost: None },
            ]
        );
    }

    #[test]
    fn work_of_a_lost_or_removed_node_moves_and_a_leaving_node_is_released() {
        let s = state(
            vec![
                project("on-lost", ProjectState::Running, 3, Some((1, false))),
                project("on-removed", ProjectState::Running, 2, Some((9, false))),
                project("on-leaving", ProjectState::Running, 5, Some((2, false))),
                project("releasing", ProjectState::Running, 6, Some((2, true))),
                project("healthy", ProjectState::Running, 7, Some((3, false))),
                project("silent-not-lost", ProjectState::Running, 1, Some((4, false))),
            ],
            vec![node(1, false, 17), node(2, true, 3), node(3, false, 8), node(4, false, 2)],
        );
        // Node 4 missed renewals but is not past the margin: nothing moves off it.
        let moves = plan(&s, &health(&[2, 3], &[1]));
        assert_eq!(
            moves,
            vec![
                Move::Release { project: "on-leaving".into(), epoch: 5 },
                Move::Place { project: "on-lost".into(), node: 3, epoch: 3, lost: Some((1, 17)) },
                Move::Place { project: "on-removed".into(), node: 3, epoch: 2, lost: None },
            ]
        );
    }

    #[test]
    fn a_connector_apart_rejoins_its_store_when_its_node_is_lost_leaving_or_gone() {
        let apart = |name: &str, store: u64, connector: u64| {
            let mut p = project(name, ProjectState::Running, 4, Some((store, false)));
            p.placement.as_mut().unwrap().connectors.insert("default".into(), connector);
            p
        };
        let s = state(
            vec![
                apart("healthy", 1, 2),
                apart("on-lost", 1, 3),
                apart("on-leaving", 2, 4),
                apart("gone", 2, 9),
            ],
            vec![node(1, false, 5), node(2, false, 5), node(3, false, 11), node(4, true, 5)],
        );
        let moves = plan(&s, &health(&[1, 2, 4], &[3]));
        let rejoin =
            |p: &str, lost| Move::Rejoin { project: p.into(), connector: "default".into(), epoch: 4, lost };
        assert_eq!(
            moves,
            vec![rejoin("gone", None), rejoin("on-leaving", None), rejoin("on-lost", Some((3, 11)))]
        );
    }

    #[test]
    fn nothing_moves_without_a_live_node() {
        let s =
            state(vec![project("a", ProjectState::Running, 1, Some((1, false)))], vec![node(1, false, 1)]);
        assert!(plan(&s, &health(&[], &[1])).is_empty());
    }
}
