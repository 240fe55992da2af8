//! Flux users keep their CLI: the real `flux` (built from its Go module, `testenv/flux/`)
//! lists, reconciles, suspends and resumes what driftless manages, against the local
//! control plane and a Git repository served by `git daemon`.

mod support;

use driftless::api::kustomization::v1::Kustomization;
use serde_json::json;
use support::flux::{flux, flux_ok};
use support::scenario::Scenario;

fn config_map(value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: greeting\ndata:\n  value: \"{value}\"\n"
    )
}

/// The row of a `flux get` table whose first column is `name`, split into its columns.
/// flux pads columns with tabs and spaces; the last column (the message) may hold spaces.
fn row(table: &str, name: &str, columns: usize) -> Vec<String> {
    let line = table
        .lines()
        .find(|line| line.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no row for {name} in:\n{table}"));
    let mut fields: Vec<String> = Vec::new();
    let mut rest = line.trim();
    while fields.len() + 1 < columns {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        fields.push(rest[..end].to_string());
        rest = rest[end..].trim_start();
    }
    fields.push(rest.trim_end().to_string());
    fields
}

/// A revision as `flux get` prints it: the commit cut to its first 8 hex digits.
fn abbreviated(revision: &str) -> String {
    match revision.split_once("@sha1:") {
        Some((branch, commit)) => format!("{branch}@sha1:{}", &commit[..8.min(commit.len())]),
        None => revision.to_string(),
    }
}

async fn greeting(scenario: &Scenario) -> String {
    let config_map = scenario
        .config_maps()
        .get("greeting")
        .await
        .expect("the ConfigMap greeting");
    config_map
        .data
        .and_then(|data| data.get("value").cloned())
        .unwrap_or_default()
}

async fn kustomization(scenario: &Scenario, name: &str) -> Kustomization {
    scenario
        .kustomizations()
        .get(name)
        .await
        .expect("the Kustomization")
}

/// A scenario whose Kustomization `app` has applied the ConfigMap `greeting` ("hello");
/// returns it with the revision applied.
async fn applied_greeting(prefix: &str) -> (Scenario, String) {
    let scenario = Scenario::start(prefix, &[("deploy/greeting.yaml", &config_map("hello"))]).await;
    scenario.kustomization(
        "v1",
        "app",
        json!({"path": "./deploy", "targetNamespace": scenario.ns()}),
    );
    let revision = scenario.revision();
    scenario.wait_applied("app", &revision).await;
    (scenario, revision)
}

#[actix_rt::test]
async fn flux_get_and_reconcile_with_source_drive_driftless() {
    let (scenario, first) = applied_greeting("flux-cli").await;
    let ns = scenario.ns().to_string();

    let shown = abbreviated(&first);
    let kustomizations = flux_ok(&["get", "kustomizations", "-n", &ns]).await;
    assert_eq!(
        row(&kustomizations, "app", 5),
        [
            "app".to_string(),
            shown.clone(),
            "False".to_string(),
            "True".to_string(),
            format!("Applied revision: {shown}"),
        ],
        "flux get kustomizations printed:\n{kustomizations}"
    );

    let sources = flux_ok(&["get", "sources", "git", "-n", &ns]).await;
    let source = row(&sources, "flux-system", 5);
    assert_eq!(
        source[..4],
        [
            "flux-system".to_string(),
            shown.clone(),
            "False".to_string(),
            "True".to_string()
        ],
        "flux get sources git printed:\n{sources}"
    );

    // A new commit that nothing has told the cluster about: `--with-source` must have the
    // GitRepository fetch it, then the Kustomization apply it, and wait for both.
    scenario
        .repo
        .write_files(&[("deploy/greeting.yaml", &config_map("hello again"))]);
    let second = format!("main@sha1:{}", scenario.repo.commit("second greeting"));
    let reconciled = flux_ok(&[
        "reconcile",
        "kustomization",
        "app",
        "-n",
        &ns,
        "--with-source",
    ])
    .await;
    assert!(
        reconciled.contains(&format!("fetched revision {second}")),
        "{reconciled}"
    );
    assert!(
        reconciled.contains(&format!("applied revision {second}")),
        "{reconciled}"
    );
    assert_eq!(greeting(&scenario).await, "hello again");
    let status = kustomization(&scenario, "app")
        .await
        .status
        .unwrap_or_default();
    assert_eq!(
        status.last_applied_revision.as_deref(),
        Some(second.as_str())
    );
}

#[actix_rt::test]
async fn flux_suspend_and_resume_drive_driftless() {
    let (scenario, revision) = applied_greeting("flux-suspend").await;
    let ns = scenario.ns().to_string();

    flux_ok(&["suspend", "kustomization", "app", "-n", &ns]).await;
    let object = kustomization(&scenario, "app").await;
    assert_eq!(object.spec.suspend, Some(true));
    let kustomizations = flux_ok(&["get", "kustomizations", "-n", &ns]).await;
    assert_eq!(
        row(&kustomizations, "app", 5)[2],
        "True",
        "flux get kustomizations printed:\n{kustomizations}"
    );

    let refused = flux(&["reconcile", "kustomization", "app", "-n", &ns]).await;
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("resource is suspended"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    let resumed = flux_ok(&["resume", "kustomization", "app", "-n", &ns]).await;
    assert!(
        resumed.contains(&format!("applied revision {revision}")),
        "{resumed}"
    );
    let object = kustomization(&scenario, "app").await;
    assert_ne!(object.spec.suspend, Some(true));
    let kustomizations = flux_ok(&["get", "kustomizations", "-n", &ns]).await;
    assert_eq!(
        row(&kustomizations, "app", 5)[2..4],
        ["False".to_string(), "True".to_string()],
        "flux get kustomizations printed:\n{kustomizations}"
    );
}
