//! Builds the control plane's binaries from the Go modules pinned in `testenv/`, once per
//! machine, into a cache directory keyed by a digest of those module files.
//!
//! The module files are compiled into driftless, so `driftless testenv` builds the same
//! release from any working directory. The Kubernetes commands and etcd come from one
//! wrapper module built in a single `go build` (shared packages compile once); kwok is a
//! module of its own because it needs newer `k8s.io` client modules.

use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use super::TestEnvError;

/// The Kubernetes release the control plane runs; `k8s-openapi`'s version feature matches its minor.
pub const KUBERNETES_VERSION: &str = "v1.33.13";
/// The etcd server release that [`KUBERNETES_VERSION`] pins in its go.mod.
pub const ETCD_VERSION: &str = "v3.5.21";
/// The kwok release that simulates nodes.
pub const KWOK_VERSION: &str = "v0.8.0";

/// The control-plane module: Kubernetes commands plus an etcd main.
const CONTROL_PLANE_MODULE: &[(&str, &str)] = &[
    ("go.mod", include_str!("../../testenv/go.mod")),
    ("go.sum", include_str!("../../testenv/go.sum")),
    ("tools.go", include_str!("../../testenv/tools.go")),
    ("etcd/main.go", include_str!("../../testenv/etcd/main.go")),
];

/// The kwok module, built apart from the control plane.
const KWOK_MODULE: &[(&str, &str)] = &[
    ("go.mod", include_str!("../../testenv/kwok/go.mod")),
    ("go.sum", include_str!("../../testenv/kwok/go.sum")),
    ("tools.go", include_str!("../../testenv/kwok/tools.go")),
    (
        "kwok-stages/main.go",
        include_str!("../../testenv/kwok/kwok-stages/main.go"),
    ),
];

const KUBERNETES_COMMANDS: &[&str] = &[
    "k8s.io/kubernetes/cmd/kube-apiserver",
    "k8s.io/kubernetes/cmd/kube-controller-manager",
    "k8s.io/kubernetes/cmd/kube-scheduler",
];

/// Paths of the built binaries.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub etcd: PathBuf,
    pub kube_apiserver: PathBuf,
    pub kube_controller_manager: PathBuf,
    pub kube_scheduler: PathBuf,
    pub kwok: PathBuf,
    /// kwok's Stage objects (node and pod lifecycles), printed from its module at build time.
    pub kwok_stages: PathBuf,
}

impl Binaries {
    fn in_dir(bin: &Path) -> Self {
        Self {
            etcd: bin.join("etcd"),
            kube_apiserver: bin.join("kube-apiserver"),
            kube_controller_manager: bin.join("kube-controller-manager"),
            kube_scheduler: bin.join("kube-scheduler"),
            kwok: bin.join("kwok"),
            kwok_stages: bin.join("kwok-stages.yaml"),
        }
    }

    fn all(&self) -> [&Path; 6] {
        [
            &self.kwok_stages,
            &self.etcd,
            &self.kube_apiserver,
            &self.kube_controller_manager,
            &self.kube_scheduler,
            &self.kwok,
        ]
    }
}

/// The directory holding every cached build: `$DRIFTLESS_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/driftless`, else `~/.cache/driftless`.
pub fn cache_root() -> Result<PathBuf, TestEnvError> {
    if let Some(dir) = std::env::var_os("DRIFTLESS_CACHE_DIR") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Ok(PathBuf::from(dir).join("driftless"));
    }
    match std::env::var_os("HOME") {
        Some(home) => Ok(PathBuf::from(home).join(".cache").join("driftless")),
        None => Err(TestEnvError::NoCacheDir),
    }
}

/// The cache key: the pinned versions for a human reading the directory name, plus a digest
/// of every embedded module file and the link flags, so that any change to the pins or the
/// way they are built forces a rebuild.
pub fn cache_key() -> String {
    let short = digest_of(
        &kubernetes_ldflags(),
        CONTROL_PLANE_MODULE.iter().chain(KWOK_MODULE),
    );
    format!("k8s-{KUBERNETES_VERSION}-etcd-{ETCD_VERSION}-kwok-{KWOK_VERSION}-{short}")
}

/// A short hex digest of the link flags and every module file, for cache directory names.
pub(crate) fn digest_of<'a>(
    ldflags: &str,
    files: impl IntoIterator<Item = &'a (&'a str, &'a str)>,
) -> String {
    let mut context = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    context.update(ldflags.as_bytes());
    context.update(&[0]);
    for (name, content) in files {
        context.update(name.as_bytes());
        context.update(&[0]);
        context.update(content.as_bytes());
        context.update(&[0]);
    }
    let digest = context.finish();
    digest.as_ref()[..6]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Returns the binaries, building them first if this machine has no cached build.
///
/// Concurrent callers (several test binaries at once) serialise on a lock file, so the
/// build runs once and the others wait for it.
pub fn ensure_built() -> Result<Binaries, TestEnvError> {
    let dir = cache_root()?.join("testenv").join(cache_key());
    let binaries = Binaries::in_dir(&dir.join("bin"));
    build_once(
        &dir,
        || binaries.all().iter().all(|path| path.is_file()),
        || build_into(&dir),
    )?;
    Ok(binaries)
}

/// Runs `build` unless `is_built` already holds, holding a lock file in `dir` so that
/// concurrent callers (several test binaries at once) build once and the others wait.
pub(crate) fn build_once(
    dir: &Path,
    is_built: impl Fn() -> bool,
    build: impl FnOnce() -> Result<(), TestEnvError>,
) -> Result<(), TestEnvError> {
    if is_built() {
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(|source| TestEnvError::io("create", dir, source))?;
    let lock_path = dir.join("build.lock");
    let lock = fs::File::create(&lock_path)
        .map_err(|source| TestEnvError::io("create", &lock_path, source))?;
    lock.lock()
        .map_err(|source| TestEnvError::io("lock", &lock_path, source))?;
    if is_built() {
        return Ok(());
    }
    build()
}

fn build_into(dir: &Path) -> Result<(), TestEnvError> {
    let started = Instant::now();
    eprintln!(
        "testenv: building Kubernetes {KUBERNETES_VERSION}, etcd {ETCD_VERSION} and kwok {KWOK_VERSION} \
         into {} (once per machine; several minutes on 2 cores)",
        dir.display()
    );
    let staging = dir.join("bin.partial");
    if staging.exists() {
        fs::remove_dir_all(&staging)
            .map_err(|source| TestEnvError::io("remove", &staging, source))?;
    }
    fs::create_dir_all(&staging).map_err(|source| TestEnvError::io("create", &staging, source))?;

    let control_plane_src = write_module(&dir.join("src/control-plane"), CONTROL_PLANE_MODULE)?;
    let mut packages: Vec<&str> = KUBERNETES_COMMANDS.to_vec();
    packages.push("./etcd");
    go_build(
        &control_plane_src,
        &staging,
        &packages,
        &kubernetes_ldflags(),
        "control plane",
        &[],
    )?;

    let kwok_src = write_module(&dir.join("src/kwok"), KWOK_MODULE)?;
    go_build(
        &kwok_src,
        &staging,
        &["sigs.k8s.io/kwok/cmd/kwok", "./kwok-stages"],
        "-s -w",
        "kwok",
        &[],
    )?;
    write_kwok_stages(&staging)?;

    let bin = dir.join("bin");
    if bin.exists() {
        fs::remove_dir_all(&bin).map_err(|source| TestEnvError::io("remove", &bin, source))?;
    }
    fs::rename(&staging, &bin).map_err(|source| TestEnvError::io("rename", &staging, source))?;
    eprintln!(
        "testenv: built in {:.0?}; later starts reuse {}",
        started.elapsed(),
        bin.display()
    );
    Ok(())
}

fn write_kwok_stages(bin: &Path) -> Result<(), TestEnvError> {
    let program = bin.join("kwok-stages");
    let output = Command::new(&program)
        .output()
        .map_err(|source| TestEnvError::io("run", &program, source))?;
    if !output.status.success() {
        return Err(TestEnvError::BuildFailed {
            what: "kwok stages".to_string(),
            output: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    let path = bin.join("kwok-stages.yaml");
    fs::write(&path, &output.stdout).map_err(|source| TestEnvError::io("write", &path, source))
}

/// Linker flags that stamp the release into the binaries, as Kubernetes' own build does:
/// without them `/version` reports `v0.0.0-master` and kubectl warns about version skew.
fn kubernetes_ldflags() -> String {
    let version = KUBERNETES_VERSION;
    let mut parts = version.trim_start_matches('v').split('.');
    let major = parts.next().unwrap_or("1");
    let minor = parts.next().unwrap_or("0");
    let mut flags = String::from("-s -w");
    for package in [
        "k8s.io/component-base/version",
        "k8s.io/client-go/pkg/version",
    ] {
        flags.push_str(&format!(
            " -X {package}.gitVersion={version} -X {package}.gitMajor={major} \
             -X {package}.gitMinor={minor} -X {package}.gitTreeState=clean"
        ));
    }
    flags
}

pub(crate) fn write_module(dir: &Path, files: &[(&str, &str)]) -> Result<PathBuf, TestEnvError> {
    for (name, content) in files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .map_err(|source| TestEnvError::io("create", parent, source))?;
        }
        fs::write(&path, content).map_err(|source| TestEnvError::io("write", &path, source))?;
    }
    Ok(dir.to_path_buf())
}

/// Runs `go build -v` and turns its per-package lines into a progress count, keeping the
/// last lines to show if the build fails.
pub(crate) fn go_build(
    module: &Path,
    out: &Path,
    packages: &[&str],
    ldflags: &str,
    what: &str,
    env: &[(&str, &OsStr)],
) -> Result<(), TestEnvError> {
    let mut out_dir = out.as_os_str().to_owned();
    out_dir.push("/");
    let mut child = Command::new(go_command())
        .current_dir(module)
        .args(["build", "-v", "-trimpath"])
        .arg(format!("-ldflags={ldflags}"))
        .arg("-o")
        .arg(&out_dir)
        .args(packages)
        .env("GOFLAGS", "-mod=mod")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| TestEnvError::GoMissing { source })?;
    let started = Instant::now();
    let mut tail: Vec<String> = Vec::new();
    let mut compiled = 0usize;
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            compiled += 1;
            if compiled.is_multiple_of(200) {
                eprintln!(
                    "testenv: {what}: {compiled} packages compiled ({:.0?})",
                    started.elapsed()
                );
            }
            tail.push(line);
            if tail.len() > 40 {
                tail.remove(0);
            }
        }
    }
    let status = child
        .wait()
        .map_err(|source| TestEnvError::io("wait for go build in", module, source))?;
    if !status.success() {
        return Err(TestEnvError::BuildFailed {
            what: what.to_string(),
            output: tail.join("\n"),
        });
    }
    eprintln!("testenv: {what} built ({:.0?})", started.elapsed());
    Ok(())
}

pub(crate) fn go_command() -> PathBuf {
    std::env::var_os("GO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("go"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_key_names_the_pinned_versions() {
        let key = cache_key();
        assert!(
            key.starts_with("k8s-v1.33.13-etcd-v3.5.21-kwok-v0.8.0-"),
            "{key}"
        );
        assert_eq!(key, cache_key(), "the key must be stable");
    }

    #[test]
    fn embedded_go_mod_pins_the_declared_versions() {
        let go_mod = CONTROL_PLANE_MODULE[0].1;
        assert!(go_mod.contains(&format!("k8s.io/kubernetes {KUBERNETES_VERSION}")));
        assert!(go_mod.contains(&format!("go.etcd.io/etcd/server/v3 {ETCD_VERSION}")));
        assert!(
            KWOK_MODULE[0]
                .1
                .contains(&format!("sigs.k8s.io/kwok {KWOK_VERSION}"))
        );
    }
}
