//! The kustomize corpus: every case under `tests/fixtures/kustomize/` is rendered by the
//! native renderer and compared byte for byte with what kubectl 1.32 (kustomize v5.5.0)
//! printed for it. The layout of a case is described in that directory's README.md;
//! `regenerate.sh` there rewrites the expectations.
//!
//! A case with `expected-error.txt` passes when rendering fails and the error message contains
//! every word of that file (ignoring case): the words name the file, field or object at fault,
//! and the rest of kubectl's wording is not part of the contract.
//!
//! Both tests collect every failing case and fail once at the end, so one run shows the
//! whole picture rather than the first difference.

use std::error::Error;
use std::ffi::OsString;
use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::Command;

use driftless::render::build::{self, BuildOptions, LoadRestriction};
use driftless::render::tree::DiskTree;
use driftless::render::{flux, kustomization, yaml};

/// Where kubectl 1.32 lives on development and CI machines.
const DEFAULT_REFERENCE: &str = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32";
/// Names another kubectl to use as the reference; it must embed kustomize v5.5.0.
const REFERENCE_ENV: &str = "DRIFTLESS_KUSTOMIZE_REFERENCE";
/// What `kubectl version --client` prints for the reference kustomize.
const REFERENCE_VERSION: &str = "Kustomize Version: v5.5.0";
/// The kustomization file names kustomize recognises.
const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// One directory of the corpus.
struct Case {
    name: String,
    /// `<case>/input`: the root of the tree the case may read.
    input: PathBuf,
    /// The directory to render, relative to `input` ("" for `input` itself).
    run_dir: String,
    /// Render with kustomize's default load restrictor instead of none.
    root_only: bool,
    /// No kustomization: render what Flux would generate for the directory.
    plain: bool,
    expectation: Expectation,
}

enum Expectation {
    /// kubectl's exact stdout.
    Output(String),
    /// Rendering fails and the message contains each of these words (ignoring case).
    Error(Vec<String>),
}

impl Case {
    /// The directory kubectl renders, inside `input`.
    fn render_path(&self, input: &Path) -> PathBuf {
        if self.run_dir.is_empty() {
            input.to_path_buf()
        } else {
            input.join(&self.run_dir)
        }
    }
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kustomize")
}

/// Reads every case, in name order. A directory that is not a well-formed case is reported
/// in the second list rather than skipped, so a typo cannot silently drop a case.
fn load_cases() -> (Vec<Case>, Vec<String>) {
    let root = corpus_dir();
    let mut cases = Vec::new();
    let mut problems = Vec::new();
    let entries = match fs::read_dir(&root) {
        Ok(entries) => entries,
        Err(error) => {
            problems.push(format!("cannot read {}: {error}", root.display()));
            return (cases, problems);
        }
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let name = dir
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        match load_case(&dir, &name) {
            Ok(case) => cases.push(case),
            Err(problem) => problems.push(format!("{name}: {problem}")),
        }
    }
    (cases, problems)
}

fn load_case(dir: &Path, name: &str) -> Result<Case, String> {
    let input = dir.join("input");
    if !input.is_dir() {
        return Err("no input/ directory".into());
    }
    let run_dir = match fs::read_to_string(dir.join("RUN_DIR")) {
        Ok(text) => text.trim().trim_end_matches('/').to_string(),
        Err(_) => String::new(),
    };
    if !input.join(&run_dir).is_dir() {
        return Err(format!(
            "RUN_DIR '{run_dir}' is not a directory under input/"
        ));
    }
    let mut root_only = false;
    if let Ok(text) = fs::read_to_string(dir.join("ARGS")) {
        for word in text.split_whitespace() {
            match word {
                "root-only" => root_only = true,
                other => return Err(format!("unknown word '{other}' in ARGS")),
            }
        }
    }
    let plain = dir.join("PLAIN").exists();
    let expected = dir.join("expected.yaml");
    let expected_error = dir.join("expected-error.txt");
    let expectation = match (expected.exists(), expected_error.exists()) {
        (true, false) => Expectation::Output(
            fs::read_to_string(&expected)
                .map_err(|error| format!("cannot read expected.yaml: {error}"))?,
        ),
        (false, true) => {
            let text = fs::read_to_string(&expected_error)
                .map_err(|error| format!("cannot read expected-error.txt: {error}"))?;
            let words: Vec<String> = text.split_whitespace().map(str::to_string).collect();
            if words.is_empty() {
                return Err("expected-error.txt is empty".into());
            }
            Expectation::Error(words)
        }
        (true, true) => return Err("has both expected.yaml and expected-error.txt".into()),
        (false, false) => {
            return Err(
                "has neither expected.yaml nor expected-error.txt (run regenerate.sh)".into(),
            );
        }
    };
    Ok(Case {
        name: name.to_string(),
        input,
        run_dir,
        root_only,
        plain,
        expectation,
    })
}

/// An error and its sources, as one line.
fn describe(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The name build_with is given for a generated kustomization, for messages.
fn generated_kustomization_name(dir: &str) -> String {
    if dir.is_empty() {
        "kustomization.yaml".into()
    } else {
        format!("{dir}/kustomization.yaml")
    }
}

/// Renders a case with driftless: the YAML stream, or the error's message.
fn render_with_driftless(case: &Case) -> Result<String, String> {
    let tree = DiskTree::new(&case.input).map_err(|error| describe(&error))?;
    let options = BuildOptions {
        restriction: if case.root_only {
            LoadRestriction::RootOnly
        } else {
            LoadRestriction::None
        },
        fifo: false,
    };
    let built = if case.plain {
        let (value, _action) =
            flux::generator::generate(&tree, &case.run_dir, &flux::FluxOverrides::default())
                .map_err(|error| describe(&error))?;
        let decoded = kustomization::decode(value).map_err(|error| describe(&error))?;
        let file = generated_kustomization_name(&case.run_dir);
        build::build_with(&tree, &case.run_dir, Some((file, decoded)), &options)
    } else {
        build::build(&tree, &case.run_dir, &options)
    }
    .map_err(|error| describe(&error))?;
    let objects: Vec<serde_json::Value> = built
        .resources
        .into_iter()
        .map(|resource| resource.object)
        .collect();
    Ok(yaml::to_yaml_stream(&objects))
}

/// Where two texts first differ, line by line, with both lines shown escaped so that
/// quoting and whitespace differences are visible.
fn first_difference(expected: &str, actual: &str) -> String {
    let expected_lines: Vec<&str> = expected.split_inclusive('\n').collect();
    let actual_lines: Vec<&str> = actual.split_inclusive('\n').collect();
    let count = expected_lines.len().max(actual_lines.len());
    for index in 0..count {
        let want = expected_lines.get(index);
        let got = actual_lines.get(index);
        if want != got {
            let show = |line: Option<&&str>| match line {
                Some(line) => format!("{line:?}"),
                None => "<end of output>".to_string(),
            };
            return format!(
                "first difference at line {} of {} expected / {} rendered:\n      expected: {}\n      rendered: {}",
                index + 1,
                expected_lines.len(),
                actual_lines.len(),
                show(want),
                show(got),
            );
        }
    }
    "outputs differ".to_string()
}

/// A message cut to a readable length for the failure summary.
fn short(message: &str) -> String {
    const LIMIT: usize = 600;
    let message = message.trim();
    match message.char_indices().nth(LIMIT) {
        Some((end, _)) => format!("{}…", &message[..end]),
        None => message.to_string(),
    }
}

/// The words of `words` missing from `message`, ignoring case.
fn missing_words<'a>(words: &'a [String], message: &str) -> Vec<&'a str> {
    let message = message.to_lowercase();
    words
        .iter()
        .filter(|word| !message.contains(&word.to_lowercase()))
        .map(String::as_str)
        .collect()
}

/// Checks one case against driftless; `None` when it passes.
fn check_with_driftless(case: &Case) -> Option<String> {
    let rendered = match panic::catch_unwind(AssertUnwindSafe(|| render_with_driftless(case))) {
        Ok(rendered) => rendered,
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|text| text.to_string()))
                .unwrap_or_else(|| "unknown panic".to_string());
            return Some(format!("the renderer panicked: {}", short(&message)));
        }
    };
    match (&case.expectation, rendered) {
        (Expectation::Output(expected), Ok(actual)) => {
            (expected != &actual).then(|| first_difference(expected, &actual))
        }
        (Expectation::Output(_), Err(message)) => {
            Some(format!("rendering failed: {}", short(&message)))
        }
        (Expectation::Error(words), Ok(_)) => Some(format!(
            "rendering succeeded, but kubectl fails with an error naming '{}'",
            words.join(" ")
        )),
        (Expectation::Error(words), Err(message)) => {
            let missing = missing_words(words, &message);
            (!missing.is_empty()).then(|| {
                format!(
                    "the error does not name '{}': {}",
                    missing.join(" "),
                    short(&message)
                )
            })
        }
    }
}

#[test]
fn every_case_renders_like_kubectl() {
    let (cases, mut failures) = load_cases();
    assert!(
        !cases.is_empty() || !failures.is_empty(),
        "no cases under {}",
        corpus_dir().display()
    );
    let known = known_differences();
    let mut now_passing = Vec::new();
    for case in &cases {
        let failure = check_with_driftless(case);
        match (failure, known.contains(&case.name)) {
            (Some(failure), false) => failures.push(format!("{}: {failure}", case.name)),
            (None, true) => now_passing.push(case.name.clone()),
            _ => {}
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} kustomize corpus cases do not render like kubectl:\n\n{}\n",
        failures.len(),
        cases.len(),
        failures.join("\n\n"),
    );
    assert!(
        now_passing.is_empty(),
        "these cases now render like kubectl; remove them from {}: {now_passing:?}",
        KNOWN_DIFFERENCES
    );
}

/// Cases the renderer does not yet match, each with the reason, one per line
/// (`name  # reason`). The list may only shrink: a listed case that passes fails the test.
const KNOWN_DIFFERENCES: &str = "tests/fixtures/kustomize/KNOWN_DIFFERENCES";

fn known_differences() -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(KNOWN_DIFFERENCES);
    std::fs::read_to_string(&path)
        .unwrap_or_default()
        .lines()
        .map(|line| line.split('#').next().unwrap_or("").trim().to_string())
        .filter(|name| !name.is_empty())
        .collect()
}

/// The reference kubectl, if this machine has one.
fn reference_kubectl() -> Option<PathBuf> {
    if let Some(named) = std::env::var_os(REFERENCE_ENV) {
        let named = PathBuf::from(named);
        if embeds_reference_kustomize(&named) {
            return Some(named);
        }
        eprintln!(
            "{REFERENCE_ENV}={} does not report {REFERENCE_VERSION}; trying {DEFAULT_REFERENCE}",
            named.display()
        );
    }
    let default = PathBuf::from(DEFAULT_REFERENCE);
    embeds_reference_kustomize(&default).then_some(default)
}

fn embeds_reference_kustomize(kubectl: &Path) -> bool {
    Command::new(kubectl)
        .args(["version", "--client"])
        .env("KUBECONFIG", "/dev/null")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).contains(REFERENCE_VERSION))
}

/// Copies a directory tree (regular files and directories only: the corpus has no links).
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

fn has_kustomization(dir: &Path) -> bool {
    KUSTOMIZATION_FILES
        .iter()
        .any(|name| dir.join(name).is_file())
}

/// The resources Flux lists for a plain directory: `.yaml`/`.yml` files in the order of Go's
/// `filepath.Walk` (each directory's entries sorted bytewise), a subdirectory with its own
/// kustomization as one entry.
fn plain_resources(dir: &Path, relative: &str, resources: &mut Vec<String>) -> std::io::Result<()> {
    let mut names: Vec<OsString> = fs::read_dir(dir)?
        .map(|entry| entry.map(|entry| entry.file_name()))
        .collect::<Result<_, _>>()?;
    names.sort();
    for name in names {
        let name = name.to_string_lossy().into_owned();
        let path = dir.join(&name);
        let entry = if relative.is_empty() {
            name.clone()
        } else {
            format!("{relative}/{name}")
        };
        if path.is_dir() {
            if has_kustomization(&path) {
                resources.push(format!("./{entry}"));
            } else {
                plain_resources(&path, &entry, resources)?;
            }
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            resources.push(format!("./{entry}"));
        }
    }
    Ok(())
}

fn write_plain_kustomization(dir: &Path) -> std::io::Result<()> {
    let mut resources = Vec::new();
    plain_resources(dir, "", &mut resources)?;
    let mut text =
        String::from("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n");
    if resources.is_empty() {
        text.push_str("namespace: _placeholder\n");
    } else {
        text.push_str("resources:\n");
        for resource in resources {
            text.push_str(&format!("- {resource}\n"));
        }
    }
    fs::write(dir.join("kustomization.yaml"), text)
}

/// What kubectl did with a case.
enum KubectlResult {
    Printed(Vec<u8>),
    Failed(String),
}

fn render_with_kubectl(
    kubectl: &Path,
    case: &Case,
    scratch: &Path,
) -> Result<KubectlResult, String> {
    let input = if case.plain {
        let copy = scratch.join(&case.name).join("input");
        copy_tree(&case.input, &copy).map_err(|error| format!("cannot copy input/: {error}"))?;
        write_plain_kustomization(&case.render_path(&copy))
            .map_err(|error| format!("cannot write the generated kustomization: {error}"))?;
        copy
    } else {
        case.input.clone()
    };
    let mut command = Command::new(kubectl);
    command.arg("kustomize").env("KUBECONFIG", "/dev/null");
    if !case.root_only {
        command.args(["--load-restrictor", "LoadRestrictionsNone"]);
    }
    let output = command
        .arg(case.render_path(&input))
        .output()
        .map_err(|error| format!("cannot run {}: {error}", kubectl.display()))?;
    Ok(if output.status.success() {
        KubectlResult::Printed(output.stdout)
    } else {
        KubectlResult::Failed(String::from_utf8_lossy(&output.stderr).into_owned())
    })
}

/// Checks one case's committed expectation against kubectl; `None` when it still holds.
fn check_with_kubectl(kubectl: &Path, case: &Case, scratch: &Path) -> Option<String> {
    let result = match render_with_kubectl(kubectl, case, scratch) {
        Ok(result) => result,
        Err(problem) => return Some(problem),
    };
    match (&case.expectation, result) {
        (Expectation::Output(expected), KubectlResult::Printed(stdout)) => {
            (expected.as_bytes() != stdout.as_slice()).then(|| {
                format!(
                    "expected.yaml is stale; {}",
                    first_difference(expected, &String::from_utf8_lossy(&stdout))
                )
            })
        }
        (Expectation::Output(_), KubectlResult::Failed(stderr)) => {
            Some(format!("kubectl now fails: {}", short(&stderr)))
        }
        (Expectation::Error(_), KubectlResult::Printed(_)) => {
            Some("kubectl now succeeds, but the case has expected-error.txt".into())
        }
        (Expectation::Error(words), KubectlResult::Failed(stderr)) => {
            let missing = missing_words(words, &stderr);
            (!missing.is_empty()).then(|| {
                format!(
                    "kubectl's error does not name '{}': {}",
                    missing.join(" "),
                    short(&stderr)
                )
            })
        }
    }
}

#[test]
fn expected_files_match_kubectl() {
    let Some(kubectl) = reference_kubectl() else {
        eprintln!(
            "skipped: no kubectl embedding kustomize v5.5.0 ({DEFAULT_REFERENCE} is missing and {REFERENCE_ENV} is unset or wrong)"
        );
        return;
    };
    let (cases, mut stale) = load_cases();
    let scratch =
        std::env::temp_dir().join(format!("driftless-kustomize-corpus-{}", std::process::id()));
    let _ = fs::remove_dir_all(&scratch);
    for case in &cases {
        if let Some(problem) = check_with_kubectl(&kubectl, case, &scratch) {
            stale.push(format!("{}: {problem}", case.name));
        }
    }
    let _ = fs::remove_dir_all(&scratch);
    assert!(
        stale.is_empty(),
        "{} of {} kustomize corpus cases disagree with {} (run tests/fixtures/kustomize/regenerate.sh and review the diff):\n\n{}\n",
        stale.len(),
        cases.len(),
        kubectl.display(),
        stale.join("\n\n"),
    );
}
