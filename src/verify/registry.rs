//! The verifications a node runs: at most one per project at a time, each a task the registry
//! owns, its last report kept until the next one starts.

use super::plan::Job;
use super::report::{Progress, VerifyReport, VerifyState};
use super::run::run;
use super::VerifyError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

struct Entry {
    /// The project's creation time (a project deleted and created again is another).
    incarnation: u64,
    progress: Arc<Progress>,
    task: JoinHandle<()>,
}

impl Entry {
    fn report(&self) -> VerifyReport {
        let mut report = self.progress.snapshot();
        // A task that ended without finishing its report panicked.
        if report.state == VerifyState::Running && self.task.is_finished() {
            report.state = VerifyState::Failed;
            report.error = Some("the verification stopped unexpectedly (see the node's log)".into());
        }
        report
    }
}

#[derive(Default)]
pub struct Verifications {
    runs: Mutex<HashMap<String, Entry>>,
}

impl Verifications {
    /// Starts `job` in the background (on the current tokio runtime) and answers its first
    /// report; refused while the project has one running.
    pub fn start(&self, job: Job) -> Result<VerifyReport, VerifyError> {
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = runs.get(&job.project) {
            if entry.incarnation == job.incarnation
                && !entry.task.is_finished()
                && entry.progress.is_running()
            {
                return Err(VerifyError::Running { project: job.project });
            }
        }
        let progress = Arc::new(Progress::new(&job));
        let report = progress.snapshot();
        let (project, incarnation) = (job.project.clone(), job.incarnation);
        let task = tokio::spawn(run(job, progress.clone()));
        runs.insert(project, Entry { incarnation, progress, task });
        Ok(report)
    }

    /// The last verification of `project` (created at `incarnation`) on this node.
    pub fn report(&self, project: &str, incarnation: u64) -> Option<VerifyReport> {
        let runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        runs.get(project).filter(|e| e.incarnation == incarnation).map(Entry::report)
    }
}
