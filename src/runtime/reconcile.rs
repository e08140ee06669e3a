//! What the node agent should do, as a pure function of the metadata and what runs here.

use crate::meta::{MetaState, Project, ProjectState};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Start {
        project: String,
        epoch: u64,
    },
    Stop {
        project: String,
    },
    /// Stop it if it runs here, then report it released (the supervisor moves it).
    Release {
        project: String,
        epoch: u64,
    },
    /// Delete the project's local store (released or deleted projects).
    Purge {
        project: String,
    },
}

/// `node`: this node. `running`: project -> epoch of what runs here. `stored`: projects with a
/// local store. `may_start`: the node holds its lease (and is not shutting down).
pub fn reconcile(
    meta: &MetaState,
    node: u64,
    running: &BTreeMap<String, u64>,
    stored: &[String],
    may_start: bool,
) -> Vec<Step> {
    let mut steps = Vec::new();
    // The store or a connector of the project is placed here.
    let placed_here = |p: &&Project| p.placement.as_ref().is_some_and(|pl| pl.uses(node));
    for (name, &epoch) in running {
        let project = meta.projects.get(name).filter(placed_here);
        let releasing = project.is_some_and(|p| p.placement.as_ref().is_some_and(|pl| pl.releasing));
        let wanted = project.filter(|p| p.state == ProjectState::Running && p.epoch == epoch);
        if wanted.is_none() || releasing {
            steps.push(Step::Stop { project: name.clone() });
        }
    }
    for (name, project) in meta.projects.iter().filter(|(_, p)| placed_here(p)) {
        if let Some(pl) = project.placement.as_ref().filter(|pl| pl.releasing) {
            // The store's node reports the release; a connector apart just stops (above).
            if pl.node == node {
                steps.push(Step::Release { project: name.clone(), epoch: project.epoch });
            }
            continue;
        }
        let runs_current = running.get(name) == Some(&project.epoch);
        if project.state == ProjectState::Running && !runs_current && may_start {
            steps.push(Step::Start { project: name.clone(), epoch: project.epoch });
        }
    }
    // Only with a lease: before it, a restarted node may not have applied the metadata yet, and
    // would take every project's store for a deleted project's (and lose its schema history).
    for name in stored.iter().filter(|_| may_start) {
        let keep = meta.projects.get(name).is_some_and(|p| p.state != ProjectState::Released);
        if !keep {
            steps.push(Step::Purge { project: name.clone() });
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::Placement;

    const ME: u64 = 1;

    fn project(name: &str, state: ProjectState, epoch: u64, node: u64, releasing: bool) -> Project {
        Project::sample(name, state, epoch, Some(Placement { releasing, ..Placement::on(node) }))
    }

    fn meta(projects: Vec<Project>) -> MetaState {
        MetaState {
            projects: projects.into_iter().map(|p| (p.spec.name.clone(), p)).collect(),
            ..Default::default()
        }
    }

    fn running(list: &[(&str, u64)]) -> BTreeMap<String, u64> {
        list.iter().map(|(n, e)| (n.to_string(), *e)).collect()
    }

    #[test]
    fn runs_what_is_placed_here_at_its_epoch_and_purges_released() {
        let m = meta(vec![
            project("new", ProjectState::Running, 1, ME, false),
            project("same", ProjectState::Running, 2, ME, false),
            project("resumed", ProjectState::Running, 4, ME, false),
            project("paused", ProjectState::Paused, 1, ME, false),
            project("released", ProjectState::Released, 1, ME, false),
            project("elsewhere", ProjectState::Running, 1, 2, false),
            project("moved", ProjectState::Running, 6, 3, false),
        ]);
        let running = running(&[("same", 2), ("resumed", 3), ("paused", 1), ("gone", 1), ("moved", 5)]);
        let stored: Vec<String> = ["paused", "released", "gone", "moved"].map(String::from).into();
        let steps = reconcile(&m, ME, &running, &stored, true);
        let s = |p: &str| p.to_string();
        assert_eq!(
            steps,
            vec![
                Step::Stop { project: s("gone") },
                Step::Stop { project: s("moved") },
                Step::Stop { project: s("paused") },
                Step::Stop { project: s("resumed") },
                Step::Start { project: s("new"), epoch: 1 },
                Step::Start { project: s("resumed"), epoch: 4 },
                Step::Purge { project: s("released") },
                Step::Purge { project: s("gone") },
            ]
        );
    }

    #[test]
    fn without_a_lease_nothing_starts_nor_is_purged_and_releasing_work_stops_and_is_reported() {
        let m = meta(vec![
            project("new", ProjectState::Running, 1, ME, false),
            project("leaving", ProjectState::Running, 3, ME, true),
            project("idle-leaving", ProjectState::Paused, 2, ME, true),
        ]);
        let stored = ["new".to_string(), "unknown-yet".to_string()];
        let steps = reconcile(&m, ME, &running(&[("leaving", 3)]), &stored, false);
        let s = |p: &str| p.to_string();
        assert_eq!(
            steps,
            vec![
                Step::Stop { project: s("leaving") },
                Step::Release { project: s("idle-leaving"), epoch: 2 },
                Step::Release { project: s("leaving"), epoch: 3 },
            ]
        );
    }

    #[test]
    fn a_node_runs_a_project_whose_connector_alone_is_placed_here() {
        let mut apart = project("apart", ProjectState::Running, 3, 2, false);
        apart.placement.as_mut().unwrap().connectors.insert("default".into(), ME);
        let mut leaving = project("leaving", ProjectState::Running, 5, 2, true);
        leaving.placement.as_mut().unwrap().connectors.insert("default".into(), ME);
        let steps = reconcile(&meta(vec![apart, leaving]), ME, &running(&[("leaving", 5)]), &[], true);
        let s = |p: &str| p.to_string();
        assert_eq!(
            steps,
            vec![Step::Stop { project: s("leaving") }, Step::Start { project: s("apart"), epoch: 3 }]
        );
    }

    #[test]
    fn nothing_to_do_when_everything_matches() {
        let m = meta(vec![project("a", ProjectState::Running, 3, ME, false)]);
        assert!(reconcile(&m, ME, &running(&[("a", 3)]), &["a".to_string()], true).is_empty());
    }
}
