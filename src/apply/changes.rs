//! What an apply and a prune did, object by object, and how it reads in an Event.

use std::fmt;

/// What happened to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Created,
    Configured,
    Unchanged,
    /// Left alone on request (`reconcile: disabled`, `ssa: Ignore|IfNotPresent`).
    Skipped,
    Deleted,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Created => "created",
            Action::Configured => "configured",
            Action::Unchanged => "unchanged",
            Action::Skipped => "skipped",
            Action::Deleted => "deleted",
        })
    }
}

/// One object's entry: `Kind/namespace/name` and its action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub subject: String,
    pub action: Action,
}

/// The changes of one reconcile, in the order they were made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeSet {
    pub entries: Vec<Change>,
    /// The Flux CRDs left out of the apply (also in `entries` as skipped), for the one
    /// Warning Event that names them.
    pub flux_crds_skipped: Vec<String>,
}

impl ChangeSet {
    pub fn push(&mut self, subject: String, action: Action) {
        self.entries.push(Change { subject, action });
    }

    /// One line per created, configured or deleted object, as Flux's events read; empty
    /// when nothing changed.
    pub fn summary(&self) -> String {
        self.entries
            .iter()
            .filter(|change| {
                matches!(
                    change.action,
                    Action::Created | Action::Configured | Action::Deleted
                )
            })
            .map(|change| format!("{} {}", change.subject, change.action))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_lists_only_changes() {
        let mut changes = ChangeSet::default();
        changes.push("Namespace/shop".into(), Action::Unchanged);
        changes.push("Deployment/shop/web".into(), Action::Configured);
        changes.push("ConfigMap/shop/new".into(), Action::Created);
        changes.push("Secret/shop/kept".into(), Action::Skipped);
        changes.push("Service/shop/old".into(), Action::Deleted);
        assert_eq!(
            changes.summary(),
            "Deployment/shop/web configured\nConfigMap/shop/new created\nService/shop/old deleted"
        );
        assert_eq!(ChangeSet::default().summary(), "");
    }
}
