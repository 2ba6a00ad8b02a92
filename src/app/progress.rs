//! The observer of a writing verb: prints each step as it finishes and asks before
//! changing anything when the verb must confirm.

use crate::app::json::Event;
use crate::app::render::{Output, duration, recorded_duration};
use crate::engine::runtime::Observer;
use crate::engine::step::{Direction, DryStep, StepOutcome};

/// Prints each step as it finishes; asks before changing anything when `ask` names
/// the database.
pub struct Progress<'a> {
    pub out: Output,
    pub ask: Option<&'a crate::engine::url::DbUrl>,
    /// `-v`: a dry run's statements too.
    pub verbose: bool,
}

impl Observer for Progress<'_> {
    fn asks(&self) -> bool {
        self.ask.is_some()
    }

    fn confirm(
        &mut self,
        changes: &[crate::engine::runtime::Change],
        again: bool,
    ) -> crate::error::Result<bool> {
        match self.ask {
            Some(url) => crate::app::confirm::ask(url, changes, again),
            None => Ok(true),
        }
    }

    fn waiting_for_lock(&mut self) {
        if self.out.json() {
            self.out.object(Event::WaitingForLock);
        } else {
            self.out.status(
                "Waiting",
                "for the migration lock: another process is migrating this database",
            );
        }
    }

    fn dry_step_finished(&mut self, step: &DryStep) {
        if self.out.json() {
            self.out.object(Event::DryStep(step));
            return;
        }
        let what = match step.direction {
            Direction::Up => "upgrade",
            Direction::Down => "downgrade",
        };
        match &step.note {
            Some(note) => self.out.warn(format!("{what} {}: {note}", step.revision)),
            None => self.out.status(
                "Simulated",
                format!("{what} {} ({})", step.revision, duration(step.duration_ms)),
            ),
        }
        if self.verbose {
            for statement in &step.statements {
                self.out.detail(format!("{statement};"));
            }
        }
    }

    fn warning(&mut self, message: &str) {
        self.out.warn(message);
    }

    fn step_finished(&mut self, o: &StepOutcome) {
        if self.out.json() {
            self.out.object(Event::Step(o));
        } else {
            let verb = match o.direction {
                Direction::Up => "Applied",
                Direction::Down => "Reverted",
            };
            let took = match o.execution_ms {
                Some(ms) => recorded_duration(ms),
                None => duration(o.duration_ms),
            };
            self.out.status(verb, format!("{} ({took})", o.revision));
        }
    }
}
