//! One fetch of a Git repository followed by the artifact build, timed the way a source
//! actor's reconcile spends them: `git::fetch` into a work directory (kept between runs,
//! so a second call with the same directory is an incremental fetch), then
//! `Artifact::from_commit`, then the tarball written to disk as the artifact store does.
//! Prints one JSON line; `benches/sources.py` drives it against a served repository.
//!
//!     cargo bench --bench sources -- --url git://127.0.0.1:PORT/repo.git --work-dir DIR [--branch main]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use driftless::source::artifact::Artifact;
use driftless::source::git::{self, FetchRequest, GitAuth, GitReference};

struct Args {
    url: String,
    work_dir: PathBuf,
    branch: String,
}

fn parse_args() -> Result<Args, String> {
    let mut url = None;
    let mut work_dir = None;
    let mut branch = "main".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        // `cargo bench` appends `--bench` to every bench binary's arguments.
        if arg == "--bench" {
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--url" => url = Some(value),
            "--work-dir" => work_dir = Some(PathBuf::from(value)),
            "--branch" => branch = value,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(Args {
        url: url.ok_or("--url is required")?,
        work_dir: work_dir.ok_or("--work-dir is required")?,
        branch,
    })
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn run(args: &Args) -> Result<String, String> {
    let reference = GitReference::Branch(args.branch.clone());
    let auth = GitAuth::default();
    let started = Instant::now();
    let fetched = git::fetch(&FetchRequest {
        url: &args.url,
        reference: &reference,
        auth: &auth,
        timeout: Duration::from_secs(300),
        work_dir: &args.work_dir,
    })
    .map_err(|error| format!("fetch failed: {error}"))?;
    let fetch = started.elapsed();

    let started = Instant::now();
    let artifact = Artifact::from_commit(&fetched.repository, &fetched.commit, None)
        .map_err(|error| format!("artifact failed: {error}"))?;
    let build = started.elapsed();

    // The store writes the tarball once more after `from_commit` has digested it.
    let started = Instant::now();
    let path = args.work_dir.join("artifact.tar.gz");
    let file = std::fs::File::create(&path)
        .map_err(|error| format!("cannot create {}: {error}", path.display()))?;
    let mut writer = std::io::BufWriter::new(file);
    artifact
        .write_tarball(&mut writer)
        .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    std::io::Write::flush(&mut writer)
        .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    let tarball = started.elapsed();

    Ok(format!(
        "{{\"commit\":\"{}\",\"files\":{},\"size\":{},\"fetch_ms\":{:.3},\"artifact_ms\":{:.3},\"tarball_ms\":{:.3}}}",
        fetched.commit,
        artifact.paths().count(),
        artifact.size(),
        millis(fetch),
        millis(build),
        millis(tarball),
    ))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("sources: {message}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("sources: {message}");
            ExitCode::FAILURE
        }
    }
}
