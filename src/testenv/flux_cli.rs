//! The `flux` CLI, built from the Go module pinned in `testenv/flux/`, once per machine,
//! into the cache directory, so that tests can drive driftless the way Flux users do.
//!
//! flux2's `cmd/flux` embeds install manifests that its release process generates and its
//! module does not carry, so `go install` of the module fails. The build copies the module
//! out of the Go module cache, puts a placeholder where those manifests go (only
//! `flux install` and `flux bootstrap` read them), and builds that copy through a `replace`
//! in the pinned wrapper module: every other source file is the published release.
//!
//! Must not: be needed by the controller or by `driftless testenv`; only tests ask for it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use super::TestEnvError;
use super::binaries::{build_once, cache_root, digest_of, go_build, go_command, write_module};

/// The flux2 release whose CLI is built; `testenv/flux/go.mod` requires it.
pub const FLUX_VERSION: &str = "v2.9.5";

const FLUX_MODULE_PATH: &str = "github.com/fluxcd/flux2/v2";

/// The wrapper module that pins flux2 and every dependency of its CLI.
const FLUX_MODULE: &[(&str, &str)] = &[
    ("go.mod", include_str!("../../testenv/flux/go.mod")),
    ("go.sum", include_str!("../../testenv/flux/go.sum")),
    ("tools.go", include_str!("../../testenv/flux/tools.go")),
];

/// Written where flux2's release process puts the generated install manifests.
const MANIFESTS_PLACEHOLDER: &str = "# driftless builds the flux CLI to drive driftless with it; \
`flux install` and `flux bootstrap` need the manifests that flux2's own release generates.\n";

/// Returns the path of the `flux` binary, building it first if this machine has none.
///
/// The first build downloads flux2's dependencies through the Go module proxy and compiles
/// them (minutes on 2 cores); later calls return at once.
pub fn ensure_flux_cli() -> Result<PathBuf, TestEnvError> {
    let dir = cache_root()?.join("flux-cli").join(cache_key());
    let program = dir.join("bin").join("flux");
    build_once(&dir, || program.is_file(), || build_into(&dir))?;
    Ok(program)
}

fn ldflags() -> String {
    format!(
        "-s -w -X main.VERSION={}",
        FLUX_VERSION.trim_start_matches('v')
    )
}

fn cache_key() -> String {
    format!("flux-{FLUX_VERSION}-{}", digest_of(&ldflags(), FLUX_MODULE))
}

fn build_into(dir: &Path) -> Result<(), TestEnvError> {
    let started = Instant::now();
    eprintln!(
        "testenv: building the flux CLI {FLUX_VERSION} into {} (once per machine; minutes on 2 cores)",
        dir.display()
    );
    let staging = dir.join("build");
    remove_if_present(&staging)?;
    let built = build_in(dir, &staging);
    // The build's own Go cache is a gigabyte that nothing else reuses: it goes with the
    // sources whether the build worked or not.
    remove_if_present(&staging)?;
    let program = built?;
    let bin = dir.join("bin");
    remove_if_present(&bin)?;
    fs::rename(&program, &bin).map_err(|source| TestEnvError::io("rename", &program, source))?;
    eprintln!(
        "testenv: flux CLI built in {:.0?}; later runs reuse {}",
        started.elapsed(),
        bin.display()
    );
    Ok(())
}

/// Builds from sources in `staging`; returns the directory in `dir` holding the binary.
fn build_in(dir: &Path, staging: &Path) -> Result<PathBuf, TestEnvError> {
    let wrapper = write_module(&staging.join("module"), FLUX_MODULE)?;
    let published = download_module(&wrapper)?;
    let flux2 = staging.join("flux2");
    copy_tree(&published, &flux2)?;
    let manifests = flux2.join("cmd/flux/manifests");
    fs::create_dir_all(&manifests)
        .map_err(|source| TestEnvError::io("create", &manifests, source))?;
    let placeholder = manifests.join("placeholder.yaml");
    fs::write(&placeholder, MANIFESTS_PLACEHOLDER)
        .map_err(|source| TestEnvError::io("write", &placeholder, source))?;
    let go_mod = wrapper.join("go.mod");
    let mut pinned =
        fs::read_to_string(&go_mod).map_err(|source| TestEnvError::io("read", &go_mod, source))?;
    pinned.push_str(&format!("\nreplace {FLUX_MODULE_PATH} => ../flux2\n"));
    fs::write(&go_mod, pinned).map_err(|source| TestEnvError::io("write", &go_mod, source))?;

    let out = dir.join("bin.partial");
    remove_if_present(&out)?;
    fs::create_dir_all(&out).map_err(|source| TestEnvError::io("create", &out, source))?;
    let gocache = staging.join("gocache");
    go_build(
        &wrapper,
        &out,
        &[&format!("{FLUX_MODULE_PATH}/cmd/flux")],
        &ldflags(),
        "flux CLI",
        &[("GOCACHE", gocache.as_os_str())],
    )?;
    Ok(out)
}

/// Downloads the pinned flux2 module into the Go module cache; returns its directory there.
fn download_module(wrapper: &Path) -> Result<PathBuf, TestEnvError> {
    let output = Command::new(go_command())
        .current_dir(wrapper)
        .args(["mod", "download", "-json", FLUX_MODULE_PATH])
        .stdin(Stdio::null())
        .output()
        .map_err(|source| TestEnvError::GoMissing { source })?;
    let failed = |detail: String| TestEnvError::BuildFailed {
        what: format!("flux CLI: download of {FLUX_MODULE_PATH} {FLUX_VERSION}"),
        output: detail,
    };
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).map_err(|_| {
        failed(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    })?;
    match (
        answer.get("Dir").and_then(|dir| dir.as_str()),
        output.status.success(),
    ) {
        (Some(dir), true) => Ok(PathBuf::from(dir)),
        _ => Err(failed(
            answer
                .get("Error")
                .and_then(|error| error.as_str())
                .map_or_else(|| answer.to_string(), str::to_string),
        )),
    }
}

/// Copies a directory tree; the Go module cache's files are read-only, and so are the copies.
fn copy_tree(from: &Path, to: &Path) -> Result<(), TestEnvError> {
    fs::create_dir_all(to).map_err(|source| TestEnvError::io("create", to, source))?;
    let entries = fs::read_dir(from).map_err(|source| TestEnvError::io("read", from, source))?;
    for entry in entries {
        let entry = entry.map_err(|source| TestEnvError::io("read", from, source))?;
        let source_path = entry.path();
        let target = to.join(entry.file_name());
        let kind = entry
            .file_type()
            .map_err(|source| TestEnvError::io("inspect", &source_path, source))?;
        if kind.is_dir() {
            copy_tree(&source_path, &target)?;
        } else {
            fs::copy(&source_path, &target)
                .map_err(|source| TestEnvError::io("copy", &source_path, source))?;
        }
    }
    Ok(())
}

fn remove_if_present(path: &Path) -> Result<(), TestEnvError> {
    match fs::remove_dir_all(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            Err(TestEnvError::io("remove", path, error))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wrapper_module_pins_the_declared_release() {
        assert!(
            FLUX_MODULE[0]
                .1
                .contains(&format!("{FLUX_MODULE_PATH} {FLUX_VERSION}")),
            "testenv/flux/go.mod must require {FLUX_MODULE_PATH} {FLUX_VERSION}"
        );
        assert!(cache_key().starts_with(&format!("flux-{FLUX_VERSION}-")));
    }
}
