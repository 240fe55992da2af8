//! Building a GitRepository artifact from a fetched commit: what is kept, the tarball and
//! its digest, and rendering through the artifact's file tree.

mod support;

use std::path::Path;
use std::time::Duration;

use driftless::render::flux::{FluxOverrides, RenderRequest, render};
use driftless::render::tree::{EntryKind, FileTree, TreeError};
use driftless::source::artifact::Artifact;
use driftless::source::git::{FetchRequest, Fetched, GitAuth, GitReference, fetch};
use support::git::{TestRepo, scratch};

fn fetch_main(repo: &TestRepo, work_dir: &Path) -> Fetched {
    fetch(&FetchRequest {
        url: &repo.file_url(),
        reference: &GitReference::Branch("main".into()),
        auth: &GitAuth::default(),
        timeout: Duration::from_secs(30),
        work_dir,
    })
    .expect("fetch main")
}

fn artifact(repo: &TestRepo, ignore: Option<&str>) -> Artifact {
    let work = scratch("work");
    let fetched = fetch_main(repo, work.path());
    Artifact::from_commit(&fetched.repository, &fetched.commit, ignore).expect("artifact")
}

fn paths(artifact: &Artifact) -> Vec<&str> {
    artifact.paths().collect()
}

#[test]
fn without_ignore_patterns_flux_defaults_apply() {
    let repo = TestRepo::new(&[
        ("deploy.yaml", "kind: ConfigMap"),
        ("logo.png", "png"),
        (".github/workflows/ci.yml", "on: push"),
        (".gitignore", "target/"),
        ("apps/.sops.yaml", "creation_rules: []"),
        ("apps/app.yaml", "kind: Service"),
    ]);
    let artifact = artifact(&repo, None);
    assert_eq!(paths(&artifact), vec!["apps/app.yaml", "deploy.yaml"]);
}

#[test]
fn sourceignore_files_and_spec_ignore_replace_all_but_the_vcs_defaults() {
    let repo = TestRepo::new(&[
        ("deploy.yaml", "kind: ConfigMap"),
        ("logo.png", "png"),
        (".gitignore", "target/"),
        ("README.md", "docs"),
        ("apps/.sourceignore", "secret.yaml\n"),
        ("apps/secret.yaml", "kind: Secret"),
        ("apps/app.yaml", "kind: Service"),
        ("other/secret.yaml", "kind: Secret"),
    ]);
    // As in source-controller: once any pattern exists, only the VCS defaults are added,
    // so logo.png stays; the .sourceignore is anchored at apps/.
    let with_file = artifact(&repo, None);
    assert_eq!(
        paths(&with_file),
        vec![
            "README.md",
            "apps/.sourceignore",
            "apps/app.yaml",
            "deploy.yaml",
            "logo.png",
            "other/secret.yaml"
        ]
    );

    let with_spec = artifact(&repo, Some("*.md\n*.png\n/apps/\n!/apps/app.yaml\n"));
    assert_eq!(
        paths(&with_spec),
        vec!["apps/app.yaml", "deploy.yaml", "other/secret.yaml"]
    );
}

#[test]
fn symlinks_are_dropped_as_flux_drops_them() {
    let repo = TestRepo::new(&[("apps/app.yaml", "kind: Service")]);
    repo.symlink("apps/escape.yaml", "../../../../etc/passwd");
    repo.symlink("apps/alias.yaml", "app.yaml");
    repo.symlink("linked-dir", "apps");
    repo.commit("links");
    let artifact = artifact(&repo, None);
    assert_eq!(paths(&artifact), vec!["apps/app.yaml"]);
    assert_eq!(artifact.entry("apps/escape.yaml").expect("entry"), None);
    assert!(matches!(
        artifact.read("apps/escape.yaml"),
        Err(TreeError::NotFound { .. })
    ));
    assert_eq!(artifact.entry("linked-dir").expect("entry"), None);
    assert_eq!(
        artifact.list("apps").expect("list"),
        vec![("app.yaml".to_string(), EntryKind::File)]
    );
}

#[test]
fn an_artifact_is_shared_across_render_threads() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Artifact>();
    let repo = TestRepo::new(&[("a.yaml", "shared")]);
    let artifact = std::sync::Arc::new(artifact(&repo, None));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let artifact = std::sync::Arc::clone(&artifact);
            std::thread::spawn(move || artifact.read("a.yaml").expect("read"))
        })
        .collect();
    for reader in readers {
        assert_eq!(reader.join().expect("reader thread"), b"shared");
    }
}

#[test]
fn the_file_tree_serves_the_commit() {
    let repo = TestRepo::new(&[
        ("a/b/c.yaml", "deep"),
        ("a/x.yaml", "x"),
        ("top.yaml", "top"),
    ]);
    let artifact = artifact(&repo, None);
    assert_eq!(artifact.entry("").expect("root"), Some(EntryKind::Dir));
    assert_eq!(artifact.entry("a/b").expect("dir"), Some(EntryKind::Dir));
    assert_eq!(artifact.read("a/b/c.yaml").expect("read"), b"deep");
    assert_eq!(
        artifact.list("a").expect("list"),
        vec![
            ("b".to_string(), EntryKind::Dir),
            ("x.yaml".to_string(), EntryKind::File)
        ]
    );
    assert!(matches!(
        artifact.read("a"),
        Err(TreeError::IsADirectory { .. })
    ));
    assert!(matches!(
        artifact.list("top.yaml"),
        Err(TreeError::NotADirectory { .. })
    ));
    assert_eq!(artifact.resolve("a/x.yaml").expect("resolve"), "a/x.yaml");
}

#[test]
fn the_digest_names_the_tarball_and_changes_with_the_ignore_rules() {
    let repo = TestRepo::new(&[
        ("deploy/app.yaml", "kind: Service"),
        ("deploy/notes.md", "notes"),
        ("run.sh", "#!/bin/sh"),
    ]);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        repo.work().join("run.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .expect("chmod");
    repo.commit("executable");

    let first = artifact(&repo, None);
    let second = artifact(&repo, None);
    assert!(first.digest().starts_with("sha256:"), "{}", first.digest());
    assert_eq!(
        first.digest(),
        second.digest(),
        "two builds of one commit agree"
    );
    assert_eq!(first.size(), second.size());

    let mut bytes = Vec::new();
    first.write_tarball(&mut bytes).expect("tarball");
    assert_eq!(bytes.len() as u64, first.size());
    let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &bytes);
    let hex: String = hash
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    assert_eq!(first.digest(), format!("sha256:{hex}"));

    let ignoring = artifact(&repo, Some("*.md\n"));
    assert_ne!(ignoring.digest(), first.digest());

    // The real tar reads it back: normalised owners, modes and times, directories first.
    let out = scratch("tar");
    let tarball = out.path().join("artifact.tar.gz");
    std::fs::write(&tarball, &bytes).expect("write tarball");
    let listing = git_free_tar(&["--numeric-owner", "-tvzf", &tarball.display().to_string()]);
    let lines: Vec<String> = listing
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            format!("{} {} {}", fields[0], fields[1], fields[fields.len() - 1])
        })
        .collect();
    assert_eq!(
        lines,
        vec![
            "drwxr-xr-x 0/0 deploy/",
            "-rw-r--r-- 0/0 deploy/app.yaml",
            "-rw-r--r-- 0/0 deploy/notes.md",
            "-rwxr-xr-x 0/0 run.sh",
        ]
    );
    assert!(listing.contains("1970-01-01"), "mtime 0: {listing}");
}

fn git_free_tar(args: &[&str]) -> String {
    let output = std::process::Command::new("tar")
        .args(args)
        .env("TZ", "UTC")
        .output()
        .expect("run tar");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_kustomization_renders_through_the_artifact() {
    let repo = TestRepo::new(&[
        (
            "clusters/prod/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamePrefix: prod-\nresources:\n- ../../base\n",
        ),
        (
            "base/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- configmap.yaml\n",
        ),
        (
            "base/configmap.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: fast\n",
        ),
        // Ignored by .sourceignore: a render would fail on it if it were served.
        ("base/broken.yaml", "this: [is not closed"),
        ("base/.sourceignore", "broken.yaml\n"),
    ]);
    let artifact = artifact(&repo, None);
    let rendered = render(&RenderRequest {
        tree: &artifact,
        path: "clusters/prod",
        overrides: &FluxOverrides::default(),
        variables: &[],
    })
    .expect("render");
    assert_eq!(rendered.objects.len(), 1);
    assert_eq!(rendered.objects[0]["metadata"]["name"], "prod-settings");
    assert_eq!(rendered.objects[0]["data"]["mode"], "fast");

    // A plain directory: Flux's generator reads every YAML the artifact kept.
    let plain = render(&RenderRequest {
        tree: &artifact,
        path: "base",
        overrides: &FluxOverrides::default(),
        variables: &[],
    })
    .expect("render base");
    assert_eq!(plain.objects.len(), 1);
}

#[test]
fn a_commit_missing_from_the_store_is_a_clear_error() {
    let repo = TestRepo::new(&[("a.yaml", "a")]);
    let work = scratch("work");
    let fetched = fetch_main(&repo, work.path());
    let error = Artifact::from_commit(
        &fetched.repository,
        "0123456789abcdef0123456789abcdef01234567",
        None,
    )
    .expect_err("no such commit");
    assert!(
        error
            .to_string()
            .contains("0123456789abcdef0123456789abcdef01234567"),
        "{error}"
    );
    assert!(!error.is_retryable());
}
