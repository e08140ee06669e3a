//! What the supervisor should do, as a pure function of the metadata and what runs here.

use crate::meta::{MetaState, ProjectState};
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
    /// Delete the project's local store (released or deleted projects).
    Purge {
        project: String,
    },
}

/// `running`: project -> epoch of what runs here. `stored`: projects with a local store.
pub fn reconcile(meta: &MetaState, running: &BTreeMap<String, u64>, stored: &[String]) -> Vec<Step> {
    let mut steps = Vec::new();
    for (name, &epoch) in running {
        let wanted = meta.projects.get(name).filter(|p| p.state == ProjectState::Running && p.epoch == epoch);
        if wanted.is_none() {
            steps.push(Step::Stop { project: name.clone() });
        }
    }
    for (name, project) in &meta.projects {
        let runs_current = running.get(name) == Some(&project.epoch);
        if project.state == ProjectState::Running && !runs_current {
            steps.push(Step::Start { project: name.clone(), epoch: project.epoch });
        }
    }
    for name in stored {
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
    use crate::meta::{Project, ProjectOptions, ProjectSpec};

    fn project(name: &str, state: ProjectState, epoch: u64) -> Project {
        Project {
            spec: ProjectSpec {
                name: name.into(),
                source: "s".into(),
                destination: "d".into(),
                objects: vec![],
                format: Default::default(),
                partition: Default::default(),
                start: Default::default(),
                options: ProjectOptions::default(),
            },
            state,
            error: None,
            epoch,
            checkpoint: None,
            created_at_ms: 0,
            updated_at_ms: 0,
        }
    }

    fn meta(projects: Vec<Project>) -> MetaState {
        MetaState {
            projects: projects.into_iter().map(|p| (p.spec.name.clone(), p)).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn starts_stops_restarts_on_new_epoch_and_purges_released() {
        let m = meta(vec![
            project("new", ProjectState::Running, 1),
            project("same", ProjectState::Running, 2),
            project("resumed", ProjectState::Running, 4),
            project("paused", ProjectState::Paused, 1),
            project("released", ProjectState::Released, 1),
        ]);
        let running: BTreeMap<String, u64> = [("same", 2), ("resumed", 3), ("paused", 1), ("gone", 1)]
            .into_iter()
            .map(|(n, e)| (n.to_string(), e))
            .collect();
        let stored = vec!["paused".to_string(), "released".to_string(), "gone".to_string()];
        let steps = reconcile(&m, &running, &stored);
        let s = |p: &str| p.to_string();
        assert_eq!(
            steps,
            vec![
                Step::Stop { project: s("gone") },
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
    fn nothing_to_do_when_everything_matches() {
        let m = meta(vec![project("a", ProjectState::Running, 3)]);
        let running = [("a".to_string(), 3)].into_iter().collect();
        assert!(reconcile(&m, &running, &["a".to_string()]).is_empty());
    }
}
