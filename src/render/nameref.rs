//! Name references: after every rename (prefix, suffix, namespace, hash), fields that name
//! another object of the build are updated to its new name (kustomize v5.5.0's
//! nameReference transformer, run once at the top).
//!
//! Only renamed objects qualify as referrals (a field must hold one of their *previous*
//! names), so a name that merely coincides with an untouched object is left alone.

use serde::Deserialize;
use serde_json::Value;

use super::fieldspec::{FieldSpec, visit};
use super::resource::{ResId, Resource};
use super::scope::is_cluster_scoped;

/// One back reference: objects of `target`'s kind may be named by the `referrers` fields.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackReference {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    pub kind: String,
    #[serde(default, rename = "fieldSpecs")]
    pub referrers: Vec<FieldSpec>,
}

const POD_SPEC_OWNERS: [(&str, &str, &str); 7] = [
    ("", "", "Deployment"),
    ("", "", "ReplicaSet"),
    ("", "", "DaemonSet"),
    ("", "", "StatefulSet"),
    ("", "", "Job"),
    ("", "", "CronJob"),
    ("", "v1", "Pod"),
];

/// Where a pod spec sits in each workload kind (PodTemplate included where kustomize lists it).
fn pod_spec_path(kind: &str) -> &'static str {
    match kind {
        "Pod" => "spec",
        "CronJob" => "spec/jobTemplate/spec/template/spec",
        "PodTemplate" => "template/spec",
        _ => "spec/template/spec",
    }
}

fn spec(group: &str, version: &str, kind: &str, path: &str) -> FieldSpec {
    FieldSpec {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
        path: path.into(),
        create: false,
    }
}

fn back(group: &str, version: &str, kind: &str, referrers: Vec<FieldSpec>) -> BackReference {
    BackReference {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
        referrers,
    }
}

/// kustomize v5.5.0's default nameReference configuration.
pub fn defaults() -> Vec<BackReference> {
    let workloads_with_template = || {
        let mut owners: Vec<(&str, &str, &str)> = vec![("", "v1", "Pod"), ("", "", "PodTemplate")];
        owners.extend(POD_SPEC_OWNERS.iter().filter(|(_, _, kind)| *kind != "Pod"));
        owners
    };
    let mut config_map = Vec::new();
    for (group, version, kind) in workloads_with_template() {
        let base = pod_spec_path(kind);
        let mut paths = vec![
            "volumes/configMap/name",
            "containers/env/valueFrom/configMapKeyRef/name",
            "initContainers/env/valueFrom/configMapKeyRef/name",
            "containers/envFrom/configMapRef/name",
            "initContainers/envFrom/configMapRef/name",
            "volumes/projected/sources/configMap/name",
        ];
        if kind == "CronJob" {
            paths = vec![
                "volumes/configMap/name",
                "volumes/projected/sources/configMap/name",
                "containers/env/valueFrom/configMapKeyRef/name",
                "initContainers/env/valueFrom/configMapKeyRef/name",
                "containers/envFrom/configMapRef/name",
                "initContainers/envFrom/configMapRef/name",
            ];
        }
        for path in paths {
            config_map.push(spec(group, version, kind, &format!("{base}/{path}")));
        }
    }
    config_map.extend([
        spec("", "", "Node", "spec/configSource/configMap"),
        spec("", "", "Role", "rules/resourceNames"),
        spec("", "", "ClusterRole", "rules/resourceNames"),
        spec(
            "",
            "",
            "Ingress",
            "metadata/annotations/nginx.ingress.kubernetes.io\\/fastcgi-params-configmap",
        ),
    ]);

    let mut secret = Vec::new();
    for (group, version, kind) in workloads_with_template() {
        let base = pod_spec_path(kind);
        let paths: &[&str] = if kind == "CronJob" {
            &[
                "volumes/secret/secretName",
                "volumes/projected/sources/secret/name",
                "containers/env/valueFrom/secretKeyRef/name",
                "initContainers/env/valueFrom/secretKeyRef/name",
                "containers/envFrom/secretRef/name",
                "initContainers/envFrom/secretRef/name",
                "imagePullSecrets/name",
            ]
        } else {
            &[
                "volumes/secret/secretName",
                "containers/env/valueFrom/secretKeyRef/name",
                "initContainers/env/valueFrom/secretKeyRef/name",
                "containers/envFrom/secretRef/name",
                "initContainers/envFrom/secretRef/name",
                "imagePullSecrets/name",
                "volumes/projected/sources/secret/name",
            ]
        };
        for path in paths {
            secret.push(spec(group, version, kind, &format!("{base}/{path}")));
        }
    }
    secret.extend([
        spec("", "", "Ingress", "spec/tls/secretName"),
        spec(
            "",
            "",
            "Ingress",
            "metadata/annotations/ingress.kubernetes.io\\/auth-secret",
        ),
        spec(
            "",
            "",
            "Ingress",
            "metadata/annotations/nginx.ingress.kubernetes.io\\/auth-secret",
        ),
        spec(
            "",
            "",
            "Ingress",
            "metadata/annotations/nginx.ingress.kubernetes.io\\/auth-tls-secret",
        ),
        spec("", "", "ServiceAccount", "imagePullSecrets/name"),
        spec("", "", "StorageClass", "parameters/secretName"),
        spec("", "", "StorageClass", "parameters/adminSecretName"),
        spec("", "", "StorageClass", "parameters/userSecretName"),
        spec("", "", "StorageClass", "parameters/secretRef"),
        spec("", "", "Role", "rules/resourceNames"),
        spec("", "", "ClusterRole", "rules/resourceNames"),
        spec(
            "serving.knative.dev",
            "v1",
            "Service",
            "spec/template/spec/containers/env/valueFrom/secretKeyRef/name",
        ),
        spec("", "", "PersistentVolume", "spec/azureFile/secretName"),
    ]);

    let hpa = || {
        vec![spec(
            "",
            "",
            "HorizontalPodAutoscaler",
            "spec/scaleTargetRef/name",
        )]
    };
    let workload_field = |field: &str, kinds: &[&str]| -> Vec<FieldSpec> {
        kinds
            .iter()
            .map(|kind| spec("", "", kind, &format!("{}/{field}", pod_spec_path(kind))))
            .collect()
    };
    let mut references = vec![
        back("", "", "Deployment", hpa()),
        back("", "", "ReplicationController", hpa()),
        back("", "", "ReplicaSet", hpa()),
        back("", "", "StatefulSet", hpa()),
        back("", "v1", "ConfigMap", config_map),
        back("", "v1", "Secret", secret),
        back(
            "",
            "v1",
            "Service",
            vec![
                spec("apps", "", "StatefulSet", "spec/serviceName"),
                spec(
                    "",
                    "",
                    "Ingress",
                    "spec/rules/http/paths/backend/serviceName",
                ),
                spec("", "", "Ingress", "spec/backend/serviceName"),
                spec(
                    "",
                    "",
                    "Ingress",
                    "spec/rules/http/paths/backend/service/name",
                ),
                spec("", "", "Ingress", "spec/defaultBackend/service/name"),
                spec(
                    "apiregistration.k8s.io",
                    "",
                    "APIService",
                    "spec/service/name",
                ),
                spec(
                    "admissionregistration.k8s.io",
                    "",
                    "ValidatingWebhookConfiguration",
                    "webhooks/clientConfig/service",
                ),
                spec(
                    "admissionregistration.k8s.io",
                    "",
                    "MutatingWebhookConfiguration",
                    "webhooks/clientConfig/service",
                ),
            ],
        ),
        back(
            "rbac.authorization.k8s.io",
            "",
            "Role",
            vec![spec(
                "rbac.authorization.k8s.io",
                "",
                "RoleBinding",
                "roleRef/name",
            )],
        ),
        back(
            "rbac.authorization.k8s.io",
            "",
            "ClusterRole",
            vec![
                spec(
                    "rbac.authorization.k8s.io",
                    "",
                    "RoleBinding",
                    "roleRef/name",
                ),
                spec(
                    "rbac.authorization.k8s.io",
                    "",
                    "ClusterRoleBinding",
                    "roleRef/name",
                ),
            ],
        ),
    ];
    let service_account_owners = [
        "Pod",
        "StatefulSet",
        "Deployment",
        "ReplicationController",
        "CronJob",
        "Job",
        "DaemonSet",
    ];
    let mut service_account = vec![
        spec("rbac.authorization.k8s.io", "", "RoleBinding", "subjects"),
        spec(
            "rbac.authorization.k8s.io",
            "",
            "ClusterRoleBinding",
            "subjects",
        ),
    ];
    service_account.extend(workload_field(
        "serviceAccountName",
        &service_account_owners,
    ));
    references.push(back("", "v1", "ServiceAccount", service_account));
    references.push(back(
        "",
        "v1",
        "PersistentVolumeClaim",
        workload_field(
            "volumes/persistentVolumeClaim/claimName",
            &service_account_owners,
        ),
    ));
    references.push(back(
        "",
        "v1",
        "PersistentVolume",
        vec![
            spec("", "", "PersistentVolumeClaim", "spec/volumeName"),
            spec("", "", "ClusterRole", "rules/resourceNames"),
        ],
    ));
    references.push(back(
        "storage.k8s.io",
        "v1",
        "StorageClass",
        vec![
            spec("", "", "PersistentVolume", "spec/storageClassName"),
            spec("", "", "PersistentVolumeClaim", "spec/storageClassName"),
            spec(
                "",
                "",
                "StatefulSet",
                "spec/volumeClaimTemplates/spec/storageClassName",
            ),
        ],
    ));
    references.push(back(
        "scheduling.k8s.io",
        "v1",
        "PriorityClass",
        workload_field("priorityClassName", &service_account_owners),
    ));
    // kustomize declares the group as `networking.k8s.io/v1`, so this never matches; kept
    // for fidelity.
    references.push(back(
        "networking.k8s.io/v1",
        "v1",
        "IngressClass",
        vec![spec("", "", "Ingress", "spec/ingressClassName")],
    ));
    references.push(back(
        "admissionregistration.k8s.io",
        "",
        "ValidatingAdmissionPolicy",
        vec![spec(
            "admissionregistration.k8s.io",
            "",
            "ValidatingAdmissionPolicyBinding",
            "spec/policyName",
        )],
    ));
    references
}

/// Parses `nameReference` entries of a `configurations:` file.
pub fn parse_config(entries: &[Value]) -> Result<Vec<BackReference>, String> {
    entries
        .iter()
        .map(|entry| {
            serde_json::from_value(entry.clone()).map_err(|error| format!("nameReference: {error}"))
        })
        .collect()
}

/// Merges extra back references into `into`, one entry per target kind.
pub fn merge(into: &mut Vec<BackReference>, extra: Vec<BackReference>) {
    for reference in extra {
        match into.iter_mut().find(|existing| {
            existing.group == reference.group
                && existing.version == reference.version
                && existing.kind == reference.kind
        }) {
            Some(existing) => {
                for referrer in reference.referrers {
                    if !existing.referrers.contains(&referrer) {
                        existing.referrers.push(referrer);
                    }
                }
            }
            None => into.push(reference),
        }
    }
}

fn gvk_selects(group: &str, version: &str, kind: &str, id: &ResId) -> bool {
    (group.is_empty() || group == id.group)
        && (version.is_empty() || version == id.version)
        && (kind.is_empty() || kind == id.kind)
}

fn cluster_scoped(id: &ResId) -> bool {
    is_cluster_scoped(&id.api_version(), &id.kind)
}

/// Rewrites every name reference in `resources` after renames.
pub fn fix_references(resources: &mut [Resource], extra: &[Value]) -> Result<(), String> {
    let mut references = defaults();
    merge(&mut references, parse_config(extra)?);
    // Ids and scopes are read once: every referrer looks at every candidate. Candidates are
    // read in place, as kustomize reads its live resource map: a rewrite only touches
    // reference fields, never the names, kinds and namespaces candidates are chosen by.
    // (A copy of every object for the pass doubled the peak memory of large builds.)
    let known: Vec<(ResId, bool)> = resources
        .iter()
        .map(|resource| {
            let id = resource.id();
            let scoped = cluster_scoped(&id);
            (id, scoped)
        })
        .collect();
    for index in 0..resources.len() {
        let original = resources[index].original_id();
        let mut selected = references.iter().flat_map(|reference| {
            reference
                .referrers
                .iter()
                .filter(|field| field.selects(&original))
                .map(move |field| (reference, field))
        });
        let Some(first) = selected.next() else {
            continue;
        };
        // The referrer as it was before this pass, standing in for itself among the
        // candidates while its own object is being rewritten.
        let referrer = resources[index].clone();
        let mut object = std::mem::take(&mut resources[index].object);
        let candidates: Vec<&Resource> = candidates_for(&referrer, index, resources, &known)?
            .into_iter()
            .map(|candidate| {
                if candidate == index {
                    &referrer
                } else {
                    &resources[candidate]
                }
            })
            .collect();
        for (reference, field) in std::iter::once(first).chain(selected) {
            let mut failure = None;
            visit(&mut object, &field.segments(), false, &mut |slot| {
                if let Err(error) = set_reference(slot, &referrer, reference, field, &candidates) {
                    failure = Some(error);
                }
            });
            if let Some(error) = failure {
                return Err(format!(
                    "updating name reference in '{}' field of '{}': {error}",
                    field.path,
                    referrer.id()
                ));
            }
        }
        drop(candidates);
        resources[index].object = object;
    }
    Ok(())
}

/// The objects a referrer may name: anything for a cluster-scoped referrer; otherwise
/// cluster-scoped objects, objects in its namespace, and (for RoleBindings) objects in the
/// namespaces of its ServiceAccount subjects.
fn candidates_for(
    referrer: &Resource,
    index: usize,
    all: &[Resource],
    known: &[(ResId, bool)],
) -> Result<Vec<usize>, String> {
    let (referrer_id, referrer_scoped) = &known[index];
    if *referrer_scoped {
        return Ok((0..all.len()).collect());
    }
    let mut subject_namespaces: Vec<String> = Vec::new();
    if referrer_id.kind == "RoleBinding"
        && let Some(subjects) = referrer.object.get("subjects").and_then(Value::as_array)
    {
        for subject in subjects {
            if subject.get("kind").and_then(Value::as_str) != Some("ServiceAccount") {
                continue;
            }
            match subject.get("namespace") {
                None => {}
                Some(Value::String(namespace)) => subject_namespaces.push(namespace.clone()),
                Some(_) => {
                    return Err(format!(
                        "Invalid Input: namespace is blank for resource \"{referrer_id}\""
                    ));
                }
            }
        }
    }
    let namespace = referrer_id.effective_namespace();
    Ok(known
        .iter()
        .enumerate()
        .filter(|(_, (id, scoped))| {
            *scoped
                || id.effective_namespace() == namespace
                || subject_namespaces.contains(&id.namespace)
        })
        .map(|(candidate, _)| candidate)
        .collect())
}

fn set_reference(
    slot: &mut Value,
    referrer: &Resource,
    reference: &BackReference,
    field: &FieldSpec,
    candidates: &[&Resource],
) -> Result<(), String> {
    match slot {
        Value::Null => Ok(()),
        Value::String(_) => set_scalar(slot, referrer, reference, field, candidates),
        Value::Object(_) => set_mapping(slot, referrer, reference, field, candidates),
        Value::Array(items) => {
            for item in items.iter_mut() {
                match item {
                    Value::String(_) => set_scalar(item, referrer, reference, field, candidates)?,
                    Value::Object(_) => set_mapping(item, referrer, reference, field, candidates)?,
                    _ => {}
                }
            }
            Ok(())
        }
        _ => Err("node must be a scalar, sequence or map".into()),
    }
}

fn set_scalar(
    slot: &mut Value,
    referrer: &Resource,
    reference: &BackReference,
    field: &FieldSpec,
    candidates: &[&Resource],
) -> Result<(), String> {
    let Some(old) = slot.as_str().map(str::to_string) else {
        return Ok(());
    };
    let chosen = select_referral(
        &old,
        candidates.to_vec(),
        referrer,
        reference,
        field,
        |chosen| {
            chosen
                .iter()
                .all(|candidate| candidate.name() == chosen[0].name())
        },
    )?;
    if let Some(referral) = chosen {
        *slot = Value::String(referral.name().to_string());
    }
    Ok(())
}

fn set_mapping(
    slot: &mut Value,
    referrer: &Resource,
    reference: &BackReference,
    field: &FieldSpec,
    candidates: &[&Resource],
) -> Result<(), String> {
    let Some(map) = slot.as_object_mut() else {
        return Ok(());
    };
    let Some(old) = map.get("name").and_then(Value::as_str).map(str::to_string) else {
        return Err("path config error; no 'name' field in node".into());
    };
    let filtered: Vec<&Resource> = match map.get("namespace").and_then(Value::as_str) {
        None => candidates.to_vec(),
        Some(namespace) => {
            // kustomize groups candidates by effective namespace: `default` also names
            // objects written without one.
            let wanted = if namespace.is_empty() {
                "default"
            } else {
                namespace
            };
            let by_original: Vec<&Resource> = candidates
                .iter()
                .copied()
                .filter(|candidate| candidate.original_id().effective_namespace() == wanted)
                .collect();
            if by_original.is_empty() {
                candidates
                    .iter()
                    .copied()
                    .filter(|candidate| candidate.id().effective_namespace() == wanted)
                    .collect()
            } else {
                by_original
            }
        }
    };
    let chosen = select_referral(&old, filtered, referrer, reference, field, |chosen| {
        chosen.iter().all(|candidate| {
            candidate.name() == chosen[0].name() && candidate.namespace() == chosen[0].namespace()
        })
    })?;
    let Some(referral) = chosen else {
        return Ok(());
    };
    if referral.name() == old && referral.namespace().is_empty() {
        return Ok(());
    }
    map.insert("name".into(), Value::String(referral.name().to_string()));
    if !referral.namespace().is_empty() {
        map.insert(
            "namespace".into(),
            Value::String(referral.namespace().to_string()),
        );
    }
    Ok(())
}

/// The same ending of two prefix or suffix stacks (one may be shorter).
fn same_ending(a: &[String], b: &[String]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.is_empty() {
        return long.is_empty();
    }
    short
        .iter()
        .rev()
        .zip(long.iter().rev())
        .all(|(x, y)| x == y)
}

fn affixes_equal(candidate: &Resource, referrer: &Resource, allow_empty: bool) -> bool {
    if allow_empty {
        let prefixes = candidate.prefixes.is_empty()
            || referrer.prefixes.is_empty()
            || same_ending(&candidate.prefixes, &referrer.prefixes);
        let suffixes = candidate.suffixes.is_empty()
            || referrer.suffixes.is_empty()
            || same_ending(&candidate.suffixes, &referrer.suffixes);
        prefixes && suffixes
    } else {
        same_ending(&candidate.prefixes, &referrer.prefixes)
            && same_ending(&candidate.suffixes, &referrer.suffixes)
    }
}

fn select_referral<'a>(
    old: &str,
    mut candidates: Vec<&'a Resource>,
    referrer: &Resource,
    reference: &BackReference,
    field: &FieldSpec,
    identical: impl Fn(&[&'a Resource]) -> bool,
) -> Result<Option<&'a Resource>, String> {
    candidates.retain(|candidate| candidate.previous.iter().any(|id| id.name == old));
    candidates.retain(|candidate| {
        candidate
            .previous
            .iter()
            .any(|id| gvk_selects(&reference.group, &reference.version, &reference.kind, id))
    });
    if field.path.ends_with("roleRef/name")
        && let (Some(group), Some(kind)) = (
            referrer
                .object
                .pointer("/roleRef/apiGroup")
                .and_then(Value::as_str),
            referrer
                .object
                .pointer("/roleRef/kind")
                .and_then(Value::as_str),
        )
    {
        candidates.retain(|candidate| {
            candidate
                .previous
                .iter()
                .any(|id| gvk_selects(group, "", kind, id))
        });
    }
    let referrer_id = referrer.id();
    if !cluster_scoped(&referrer_id) {
        candidates.retain(|candidate| {
            let id = candidate.id();
            cluster_scoped(&id)
                || candidate.kind() == "ServiceAccount"
                || id.effective_namespace() == referrer_id.effective_namespace()
        });
    }
    if candidates.len() == 1 {
        return Ok(candidates.pop());
    }
    candidates.retain(|candidate| affixes_equal(candidate, referrer, true));
    if candidates.len() > 1 {
        candidates.retain(|candidate| affixes_equal(candidate, referrer, false));
    }
    match candidates.len() {
        0 => Ok(None),
        1 => Ok(candidates.pop()),
        _ if identical(&candidates) => Ok(Some(candidates[0])),
        _ => {
            let ids: Vec<String> = candidates
                .iter()
                .map(|candidate| candidate.id().to_string())
                .collect();
            Err(format!(
                "found multiple possible referrals: {}",
                ids.join(", ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::transform;
    use serde_json::json;

    fn build(objects: Vec<Value>) -> Vec<Resource> {
        objects
            .into_iter()
            .map(|object| Resource::new(object, None))
            .collect()
    }

    #[test]
    fn prefixed_service_accounts_roles_and_config_maps_are_followed() {
        let mut resources = build(vec![
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa"}}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "role"}}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "rb"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "role"},
                "subjects": [{"kind": "ServiceAccount", "name": "sa"}]}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                "spec": {"template": {"spec": {"serviceAccountName": "sa",
                    "containers": [{"name": "c", "env": [{"name": "X", "value": "sa"}]}]}}}}),
        ]);
        transform::set_namespace(&mut resources, "target").expect("namespace");
        add_prefix(&mut resources, "x-");
        fix_references(&mut resources, &[]).expect("references");
        assert_eq!(resources[2].object["roleRef"]["name"], "x-role");
        assert_eq!(
            resources[2].object["subjects"][0],
            json!({"kind": "ServiceAccount", "name": "x-sa", "namespace": "target"})
        );
        assert_eq!(
            resources[3].object["spec"]["template"]["spec"]["serviceAccountName"],
            "x-sa"
        );
        assert_eq!(
            resources[3].object["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"],
            "sa",
            "free text is left alone"
        );
    }

    /// `namePrefix:` with the default field specs.
    fn add_prefix(resources: &mut [Resource], prefix: &str) {
        let specs = crate::render::fieldspec::effective_name_specs(&[]);
        transform::add_prefix_suffix(resources, prefix, "", &specs, &specs);
    }

    #[test]
    fn ingress_class_names_are_not_followed_because_of_kustomizes_group_typo() {
        let mut resources = build(vec![
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "ic"}}),
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "in"}, "spec": {"ingressClassName": "ic"}}),
        ]);
        add_prefix(&mut resources, "x-");
        fix_references(&mut resources, &[]).expect("references");
        assert_eq!(resources[0].name(), "x-ic");
        assert_eq!(resources[1].object["spec"]["ingressClassName"], "ic");
    }
}
