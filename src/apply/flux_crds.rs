//! Flux's own CustomResourceDefinitions in a repository Flux bootstrapped.
//!
//! `flux bootstrap` commits `gotk-components.yaml`, which defines the `*.toolkit.fluxcd.io`
//! CRDs. driftless installs its own versions of those CRDs (their schemas keep fields Flux
//! dropped); applying Flux's would replace them, and pruning them would delete every
//! GitRepository and Kustomization in the cluster. So, unless allowed, they are set aside
//! before the inventory is computed: never applied, never owned, hence never pruned.

use serde_json::Value;

use super::changes::{Action, ChangeSet};
use super::desired::Desired;
use crate::api::inventory::ObjectId;

/// The suffix every Flux API group shares.
const FLUX_GROUP_SUFFIX: &str = ".toolkit.fluxcd.io";
const CRD_GROUP: &str = "apiextensions.k8s.io";
const CRD_KIND: &str = "CustomResourceDefinition";

/// Whether `id` names a CRD of a Flux API group. The API server requires a CRD's name to
/// be `<plural>.<spec.group>`, so the name alone decides for objects already applied.
pub fn is_flux_crd(id: &ObjectId) -> bool {
    id.group == CRD_GROUP && id.kind == CRD_KIND && id.name.ends_with(FLUX_GROUP_SUFFIX)
}

/// Whether a rendered object defines a Flux CRD, by its name or its `spec.group` (a
/// rendered CRD may still be invalid, and either would take a Flux group).
fn defines_flux_crd(desired: &Desired) -> bool {
    let group = desired
        .object
        .pointer("/spec/group")
        .and_then(Value::as_str)
        .unwrap_or_default();
    is_flux_crd(&desired.id)
        || (desired.id.group == CRD_GROUP
            && desired.id.kind == CRD_KIND
            && group.ends_with(FLUX_GROUP_SUFFIX))
}

/// The rendered objects to apply, in render order, without the Flux CRDs; each of those is
/// recorded in `changes` as skipped and named in its `flux_crds_skipped`.
pub fn set_aside_flux_crds(desired: Vec<Desired>, changes: &mut ChangeSet) -> Vec<Desired> {
    let (kept, skipped): (Vec<Desired>, Vec<Desired>) = desired
        .into_iter()
        .partition(|object| !defines_flux_crd(object));
    for crd in skipped {
        changes.push(crd.subject(), Action::Skipped);
        changes.flux_crds_skipped.push(crd.subject());
    }
    kept
}

/// The Warning Event's note naming the CRDs set aside, or `None` when there were none.
pub fn flux_crds_note(skipped: &[String]) -> Option<String> {
    if skipped.is_empty() {
        return None;
    }
    Some(format!(
        "skipped Flux's own CustomResourceDefinitions (applying them would replace driftless's): {}; run driftless with --allow-flux-crds to apply them",
        skipped.join(", ")
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::apply::validate;
    use serde_json::json;

    fn crd(name: &str, group: &str) -> Value {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": name},
            "spec": {"group": group},
        })
    }

    #[test]
    fn flux_crds_are_set_aside_and_everything_else_kept_in_order() {
        let objects = validate(vec![
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flux-system"}}),
            crd(
                "gitrepositories.source.toolkit.fluxcd.io",
                "source.toolkit.fluxcd.io",
            ),
            crd("crontabs.stable.example.com", "stable.example.com"),
            // Named as no Flux CRD is, yet defining a Flux group: the API server would
            // refuse it, but it must not get that far under our name.
            crd("widgets.example.com", "kustomize.toolkit.fluxcd.io"),
            // A Flux custom resource is an ordinary object.
            json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
                   "metadata": {"name": "flux-system", "namespace": "flux-system"}}),
            // `toolkit.fluxcd.io` alone is not a Flux group suffix.
            crd("things.notoolkit.fluxcd.io", "notoolkit.fluxcd.io"),
        ])
        .unwrap();
        let mut changes = ChangeSet::default();
        let kept = set_aside_flux_crds(objects, &mut changes);
        assert_eq!(
            kept.iter().map(Desired::subject).collect::<Vec<_>>(),
            [
                "Namespace/flux-system",
                "CustomResourceDefinition/crontabs.stable.example.com",
                "GitRepository/flux-system/flux-system",
                "CustomResourceDefinition/things.notoolkit.fluxcd.io",
            ]
        );
        let skipped = [
            "CustomResourceDefinition/gitrepositories.source.toolkit.fluxcd.io",
            "CustomResourceDefinition/widgets.example.com",
        ];
        assert_eq!(changes.flux_crds_skipped, skipped);
        assert_eq!(
            changes.entries,
            skipped.map(|subject| crate::apply::Change {
                subject: subject.to_string(),
                action: Action::Skipped,
            })
        );
    }

    #[test]
    fn an_applied_flux_crd_is_recognised_by_its_inventory_id() {
        let id = |name: &str, group: &str, kind: &str| ObjectId {
            namespace: String::new(),
            name: name.into(),
            group: group.into(),
            kind: kind.into(),
        };
        assert!(is_flux_crd(&id(
            "kustomizations.kustomize.toolkit.fluxcd.io",
            "apiextensions.k8s.io",
            "CustomResourceDefinition"
        )));
        assert!(!is_flux_crd(&id(
            "crontabs.stable.example.com",
            "apiextensions.k8s.io",
            "CustomResourceDefinition"
        )));
        assert!(!is_flux_crd(&id(
            "x.source.toolkit.fluxcd.io",
            "",
            "ConfigMap"
        )));
    }

    #[test]
    fn the_note_names_the_crds_and_the_flag() {
        assert_eq!(flux_crds_note(&[]), None);
        assert_eq!(
            flux_crds_note(&[
                "CustomResourceDefinition/a.source.toolkit.fluxcd.io".into(),
                "CustomResourceDefinition/b.kustomize.toolkit.fluxcd.io".into(),
            ])
            .unwrap(),
            "skipped Flux's own CustomResourceDefinitions (applying them would replace driftless's): CustomResourceDefinition/a.source.toolkit.fluxcd.io, CustomResourceDefinition/b.kustomize.toolkit.fluxcd.io; run driftless with --allow-flux-crds to apply them"
        );
    }
}
