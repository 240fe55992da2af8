//! Fetching GitRepository references over every transport, against real Git servers.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use driftless::source::git::{FetchRequest, Fetched, GitAuth, GitError, GitReference, fetch};
use support::git::{
    BlackHole, GitDaemon, HttpAuth, HttpGitServer, SshServer, TestPki, TestRepo, closed_port, git,
    known_hosts_line, scratch, ssh_key_pair,
};

const TIMEOUT: Duration = Duration::from_secs(30);

fn try_fetch(
    url: &str,
    reference: &GitReference,
    auth: &GitAuth,
    work_dir: &Path,
) -> Result<Fetched, GitError> {
    fetch(&FetchRequest {
        url,
        reference,
        auth,
        timeout: TIMEOUT,
        work_dir,
    })
}

fn fetch_ok(url: &str, reference: &GitReference, work_dir: &Path) -> Fetched {
    try_fetch(url, reference, &GitAuth::default(), work_dir)
        .unwrap_or_else(|error| panic!("fetch {reference:?} from {url}: {error}"))
}

fn branch(name: &str) -> GitReference {
    GitReference::Branch(name.to_string())
}

/// The fetched store really holds the commit and its tree.
fn assert_holds(fetched: &Fetched, path: &str, content: &str) {
    let repository = fetched.repository.display().to_string();
    let blob = git(
        Path::new("/"),
        &[
            "--git-dir",
            &repository,
            "show",
            &format!("{}:{path}", fetched.commit),
        ],
    );
    assert_eq!(blob, content);
}

#[test]
fn a_branch_is_fetched_shallowly_and_refetched_when_it_moves() {
    let repo = TestRepo::new(&[("app/deploy.yaml", "kind: Deployment")]);
    let second = {
        repo.write_files(&[("app/deploy.yaml", "kind: StatefulSet")]);
        repo.commit("second")
    };
    let work = scratch("work");

    let fetched = fetch_ok(&repo.file_url(), &branch("main"), work.path());
    assert_eq!(fetched.commit, second);
    assert_eq!(fetched.revision, format!("main@sha1:{second}"));
    assert_holds(&fetched, "app/deploy.yaml", "kind: StatefulSet");
    let repository = fetched.repository.display().to_string();
    assert_eq!(
        git(
            Path::new("/"),
            &[
                "--git-dir",
                &repository,
                "rev-parse",
                "--is-shallow-repository"
            ]
        ),
        "true"
    );
    assert_eq!(
        git(
            Path::new("/"),
            &["--git-dir", &repository, "rev-list", "--count", &second]
        ),
        "1",
        "depth 1: the parent was not fetched"
    );

    let unchanged = fetch_ok(&repo.file_url(), &branch("main"), work.path());
    assert_eq!(unchanged, fetched);

    repo.write_files(&[("app/deploy.yaml", "kind: DaemonSet")]);
    let third = repo.commit("third");
    let moved = fetch_ok(&repo.file_url(), &branch("main"), work.path());
    assert_eq!(moved.commit, third);
    assert_eq!(moved.repository, fetched.repository, "the store is reused");
    assert_holds(&moved, "app/deploy.yaml", "kind: DaemonSet");
}

#[test]
fn one_store_follows_force_pushes_and_changes_of_reference() {
    let repo = TestRepo::new(&[("a.yaml", "first")]);
    repo.tag("v1.0.0");
    let work = scratch("work");
    let first = fetch_ok(&repo.file_url(), &branch("main"), work.path());

    // Rewrite history: a new root commit replaces main.
    git(repo.work(), &["checkout", "-q", "--orphan", "rewritten"]);
    repo.write_files(&[("a.yaml", "rewritten")]);
    git(repo.work(), &["add", "-A"]);
    git(repo.work(), &["commit", "-q", "-m", "rewritten"]);
    git(repo.work(), &["branch", "-q", "-f", "main", "HEAD"]);
    git(repo.work(), &["push", "-q", "--force", "origin", "main"]);
    let rewritten = fetch_ok(&repo.file_url(), &branch("main"), work.path());
    assert_ne!(rewritten.commit, first.commit);
    assert_holds(&rewritten, "a.yaml", "rewritten");

    let tag = fetch_ok(
        &repo.file_url(),
        &GitReference::Tag("v1.0.0".into()),
        work.path(),
    );
    assert_eq!(tag.commit, first.commit);
    let pin = fetch_ok(
        &repo.file_url(),
        &GitReference::Commit {
            commit: first.commit.clone(),
            branch: None,
        },
        work.path(),
    );
    assert_eq!(pin.revision, format!("sha1:{}", first.commit));
    let back = fetch_ok(&repo.file_url(), &branch("main"), work.path());
    assert_eq!(back.commit, rewritten.commit);
    assert_holds(&back, "a.yaml", "rewritten");
}

#[test]
fn an_unset_reference_means_branch_master_as_in_flux() {
    let repo = TestRepo::new(&[("a.yaml", "a")]);
    let work = scratch("work");
    let error = try_fetch(
        &repo.file_url(),
        &GitReference::Default,
        &GitAuth::default(),
        work.path(),
    )
    .expect_err("there is no master branch");
    assert!(
        matches!(error, GitError::ReferenceNotFound { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("branch 'master'"), "{error}");
    assert!(!error.is_retryable());

    repo.checkout("master");
    let head = repo.commit("on master");
    let fetched = fetch_ok(&repo.file_url(), &GitReference::Default, work.path());
    assert_eq!(fetched.revision, format!("master@sha1:{head}"));
}

#[test]
fn tags_are_peeled_to_their_commit() {
    let repo = TestRepo::new(&[("a.yaml", "one")]);
    let first = repo.head();
    repo.tag("v1.0.0");
    repo.write_files(&[("a.yaml", "two")]);
    let second = repo.commit("second");
    repo.annotated_tag("v2.0.0");
    let work = scratch("work");

    let light = fetch_ok(
        &repo.file_url(),
        &GitReference::Tag("v1.0.0".into()),
        work.path(),
    );
    assert_eq!(light.revision, format!("v1.0.0@sha1:{first}"));
    assert_holds(&light, "a.yaml", "one");

    let annotated = fetch_ok(
        &repo.file_url(),
        &GitReference::Tag("v2.0.0".into()),
        work.path(),
    );
    assert_eq!(annotated.commit, second, "the tag object is peeled");
    assert_eq!(annotated.revision, format!("v2.0.0@sha1:{second}"));

    let error = try_fetch(
        &repo.file_url(),
        &GitReference::Tag("v9.9.9".into()),
        &GitAuth::default(),
        work.path(),
    )
    .expect_err("no such tag");
    assert_eq!(
        error.to_string(),
        format!("tag 'v9.9.9' not found in '{}'", repo.file_url())
    );
}

#[test]
fn semver_picks_the_highest_matching_tag() {
    let repo = TestRepo::new(&[("a.yaml", "1.0")]);
    repo.tag("v1.0.0");
    let mut commits = Vec::new();
    for (tag, annotated) in [
        ("v1.1.0", true),
        ("v1.2.0-rc.1", false),
        ("v2.0.0", false),
        ("1.3", false),
    ] {
        repo.write_files(&[("a.yaml", tag)]);
        commits.push(repo.commit(tag));
        if annotated {
            repo.annotated_tag(tag);
        } else {
            repo.tag(tag);
        }
    }
    let work = scratch("work");

    let fetched = fetch_ok(
        &repo.file_url(),
        &GitReference::Semver(">=1.0.0 <2.0.0".into()),
        work.path(),
    );
    assert_eq!(
        fetched.revision,
        format!("v1.1.0@sha1:{}", commits[0]),
        "1.3 is not a full version and the rc is a prerelease"
    );
    assert_holds(&fetched, "a.yaml", "v1.1.0");

    let with_pre = fetch_ok(
        &repo.file_url(),
        &GitReference::Semver("~1.2.0-0".into()),
        work.path(),
    );
    assert_eq!(
        with_pre.revision,
        format!("v1.2.0-rc.1@sha1:{}", commits[1])
    );

    let error = try_fetch(
        &repo.file_url(),
        &GitReference::Semver(">=3".into()),
        &GitAuth::default(),
        work.path(),
    )
    .expect_err("nothing matches");
    assert!(
        matches!(&error, GitError::NoSemverMatch { range, .. } if range == ">=3"),
        "{error:?}"
    );
    assert!(!error.is_retryable());

    let invalid = try_fetch(
        &repo.file_url(),
        &GitReference::Semver(">= nope".into()),
        &GitAuth::default(),
        work.path(),
    )
    .expect_err("a bad range");
    assert!(matches!(invalid, GitError::InvalidSemver(_)), "{invalid:?}");
}

#[test]
fn named_refs_keep_their_full_name_in_the_revision() {
    let repo = TestRepo::new(&[("a.yaml", "main")]);
    let main = repo.head();
    repo.checkout("feature");
    repo.write_files(&[("a.yaml", "pull request")]);
    let pull = repo.commit("pr");
    repo.push_ref("refs/pull/1/head");
    let work = scratch("work");

    let fetched = fetch_ok(
        &repo.file_url(),
        &GitReference::Name("refs/pull/1/head".into()),
        work.path(),
    );
    assert_eq!(fetched.revision, format!("refs/pull/1/head@sha1:{pull}"));
    assert_holds(&fetched, "a.yaml", "pull request");

    let heads = fetch_ok(
        &repo.file_url(),
        &GitReference::Name("refs/heads/main".into()),
        work.path(),
    );
    assert_eq!(heads.revision, format!("main@sha1:{main}"));

    let error = try_fetch(
        &repo.file_url(),
        &GitReference::Name("refs/pull/2/head".into()),
        &GitAuth::default(),
        work.path(),
    )
    .expect_err("no such ref");
    assert!(
        error
            .to_string()
            .contains("reference 'refs/pull/2/head' not found"),
        "{error}"
    );
}

#[test]
fn a_commit_pin_fetches_enough_history_to_find_it() {
    let repo = TestRepo::new(&[("a.yaml", "old")]);
    let old = repo.head();
    for round in 0..3 {
        repo.write_files(&[("a.yaml", &format!("round {round}"))]);
        repo.commit(&format!("round {round}"));
    }
    let work = scratch("work");
    // A shallow fetch first, so the pin has to look past the shallow boundary.
    fetch_ok(&repo.file_url(), &branch("main"), work.path());

    let on_branch = GitReference::Commit {
        commit: old.clone(),
        branch: Some("main".into()),
    };
    let fetched = fetch_ok(&repo.file_url(), &on_branch, work.path());
    assert_eq!(fetched.revision, format!("main@sha1:{old}"));
    assert_holds(&fetched, "a.yaml", "old");

    let bare_pin = GitReference::Commit {
        commit: old.clone(),
        branch: None,
    };
    let other_work = scratch("work");
    let fetched = fetch_ok(&repo.file_url(), &bare_pin, other_work.path());
    assert_eq!(fetched.revision, format!("sha1:{old}"));

    let missing = GitReference::Commit {
        commit: "0123456789abcdef0123456789abcdef01234567".into(),
        branch: Some("main".into()),
    };
    let error = try_fetch(
        &repo.file_url(),
        &missing,
        &GitAuth::default(),
        scratch("work").path(),
    )
    .expect_err("no such commit");
    assert!(
        matches!(error, GitError::CommitNotFound { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("0123456789abcdef"), "{error}");

    let short = GitReference::Commit {
        commit: "0123abc".into(),
        branch: None,
    };
    let error = try_fetch(
        &repo.file_url(),
        &short,
        &GitAuth::default(),
        scratch("work").path(),
    )
    .expect_err("short ids are refused");
    assert!(
        matches!(error, GitError::InvalidReference { .. }),
        "{error:?}"
    );
}

#[test]
fn git_daemon_serves_branches_and_reports_missing_ones() {
    let repo = TestRepo::new(&[("a.yaml", "over git://")]);
    let daemon = GitDaemon::start(&repo.root());
    let work = scratch("work");
    let url = daemon.url("repo.git");

    let fetched = fetch_ok(&url, &branch("main"), work.path());
    assert_eq!(fetched.commit, repo.head());
    assert_holds(&fetched, "a.yaml", "over git://");

    let error = try_fetch(&url, &branch("nope"), &GitAuth::default(), work.path())
        .expect_err("missing branch");
    assert!(
        matches!(error, GitError::ReferenceNotFound { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("branch 'nope'"), "{error}");

    // A missing branch writes nothing: the store is kept and still serves.
    let again = fetch_ok(&url, &branch("main"), work.path());
    assert_eq!(again, fetched);
}

#[test]
fn http_serves_anonymous_fetches() {
    let repo = TestRepo::new(&[("a.yaml", "over http")]);
    let server = HttpGitServer::start(&repo.root(), HttpAuth::Anonymous);
    let work = scratch("work");
    let fetched = fetch_ok(&server.url("repo.git"), &branch("main"), work.path());
    assert_eq!(fetched.commit, repo.head());
    assert_holds(&fetched, "a.yaml", "over http");
}

#[test]
fn http_basic_auth_accepts_the_right_password_and_refuses_a_wrong_one() {
    let repo = TestRepo::new(&[("a.yaml", "private")]);
    let server = HttpGitServer::start(
        &repo.root(),
        HttpAuth::Basic {
            username: "flux".into(),
            password: "right".into(),
        },
    );
    let url = server.url("repo.git");
    let basic = |password: &str| GitAuth {
        basic: Some(("flux".into(), password.into())),
        ..GitAuth::default()
    };

    let work = scratch("work");
    let fetched =
        try_fetch(&url, &branch("main"), &basic("right"), work.path()).expect("right password");
    assert_holds(&fetched, "a.yaml", "private");

    // A semver range lists the tags on one connection and fetches on a second: both log in.
    repo.tag("v1.0.0");
    let work = scratch("work");
    let tagged = try_fetch(
        &url,
        &GitReference::Semver("1.x".into()),
        &basic("right"),
        work.path(),
    )
    .expect("semver over basic auth");
    assert_eq!(tagged.revision, format!("v1.0.0@sha1:{}", repo.head()));

    let error = try_fetch(
        &url,
        &branch("main"),
        &basic("wrong"),
        scratch("work").path(),
    )
    .expect_err("wrong password");
    assert!(
        matches!(error, GitError::AuthenticationFailed { .. }),
        "{error:?}"
    );
    assert!(!error.is_retryable());
    assert!(
        !error.to_string().contains("wrong"),
        "the password stays out of messages: {error}"
    );

    let error = try_fetch(
        &url,
        &branch("main"),
        &GitAuth::default(),
        scratch("work").path(),
    )
    .expect_err("no credentials");
    assert!(
        matches!(error, GitError::AuthenticationFailed { .. }),
        "{error:?}"
    );
}

#[test]
fn http_bearer_tokens_are_sent_as_authorization_headers() {
    let repo = TestRepo::new(&[("a.yaml", "token")]);
    let server = HttpGitServer::start(&repo.root(), HttpAuth::Bearer("t0ken".into()));
    let url = server.url("repo.git");
    let bearer = |token: &str| GitAuth {
        bearer: Some(token.into()),
        ..GitAuth::default()
    };

    let work = scratch("work");
    let fetched =
        try_fetch(&url, &branch("main"), &bearer("t0ken"), work.path()).expect("right token");
    assert_holds(&fetched, "a.yaml", "token");
    let seen = server.seen_authorization.lock().expect("lock").clone();
    assert!(!seen.is_empty());
    assert!(
        seen.iter()
            .all(|header| header.as_deref() == Some("Bearer t0ken")),
        "{seen:?}"
    );

    let error = try_fetch(
        &url,
        &branch("main"),
        &bearer("stale"),
        scratch("work").path(),
    )
    .expect_err("wrong token");
    assert!(
        matches!(error, GitError::AuthenticationFailed { .. }),
        "{error:?}"
    );
    assert!(!error.is_retryable());
}

#[test]
fn https_trusts_the_ca_from_the_secret() {
    let pki = TestPki::new();
    let repo = TestRepo::new(&[("a.yaml", "over https")]);
    let server = HttpGitServer::start_with(
        &repo.root(),
        HttpAuth::Anonymous,
        Some(pki.server_tls(false)),
    );
    let url = server.url("repo.git");
    assert!(url.starts_with("https://"));

    let error = try_fetch(
        &url,
        &branch("main"),
        &GitAuth::default(),
        scratch("work").path(),
    )
    .expect_err("the test CA is not trusted by default");
    assert!(
        matches!(error, GitError::UntrustedCertificate { .. }),
        "{error:?}"
    );
    assert!(!error.is_retryable());

    let with_ca = GitAuth {
        ca_pem: Some(pki.ca_pem.clone()),
        ..GitAuth::default()
    };
    let work = scratch("work");
    let fetched = try_fetch(&url, &branch("main"), &with_ca, work.path()).expect("trusted CA");
    assert_holds(&fetched, "a.yaml", "over https");

    let garbage = GitAuth {
        ca_pem: Some(b"not a certificate".to_vec()),
        ..GitAuth::default()
    };
    let error =
        try_fetch(&url, &branch("main"), &garbage, scratch("work").path()).expect_err("bad ca.crt");
    assert!(matches!(error, GitError::InvalidSecret { .. }), "{error:?}");
}

#[test]
fn https_presents_the_client_certificate_from_the_secret() {
    let pki = TestPki::new();
    let repo = TestRepo::new(&[("a.yaml", "mutual tls")]);
    let server = HttpGitServer::start_with(
        &repo.root(),
        HttpAuth::Anonymous,
        Some(pki.server_tls(true)),
    );
    let url = server.url("repo.git");
    let ca_only = GitAuth {
        ca_pem: Some(pki.ca_pem.clone()),
        ..GitAuth::default()
    };
    let error = try_fetch(&url, &branch("main"), &ca_only, scratch("work").path())
        .expect_err("the server wants a client certificate");
    assert!(matches!(error, GitError::Transport { .. }), "{error:?}");

    let mutual = GitAuth {
        client_cert_pem: Some(pki.client_cert_pem.clone()),
        client_key_pem: Some(pki.client_key_pem.clone()),
        ..ca_only
    };
    let work = scratch("work");
    let fetched =
        try_fetch(&url, &branch("main"), &mutual, work.path()).expect("client certificate");
    assert_holds(&fetched, "a.yaml", "mutual tls");
}

#[test]
fn a_missing_repository_is_reported_on_every_transport() {
    let repo = TestRepo::new(&[("a.yaml", "a")]);
    let daemon = GitDaemon::start(&repo.root());
    let server = HttpGitServer::start(&repo.root(), HttpAuth::Anonymous);
    for url in [
        daemon.url("missing.git"),
        server.url("missing.git"),
        format!("file://{}/missing.git", repo.root().display()),
    ] {
        let error = try_fetch(
            &url,
            &branch("main"),
            &GitAuth::default(),
            scratch("work").path(),
        )
        .expect_err("no such repository");
        assert!(
            matches!(error, GitError::RepositoryNotFound { .. }),
            "{url}: {error:?}"
        );
        assert!(!error.is_retryable());
    }
}

#[test]
fn an_unreachable_server_is_a_retryable_error() {
    let port = closed_port();
    for url in [
        format!("http://127.0.0.1:{port}/repo.git"),
        format!("git://127.0.0.1:{port}/repo.git"),
    ] {
        let error = try_fetch(
            &url,
            &branch("main"),
            &GitAuth::default(),
            scratch("work").path(),
        )
        .expect_err("nothing listens");
        assert!(
            matches!(error, GitError::Transport { .. }),
            "{url}: {error:?}"
        );
        assert!(error.is_retryable(), "{url}: {error}");
    }
}

#[test]
fn the_timeout_bounds_the_fetch_and_leaves_nothing_behind() {
    let hole = BlackHole::start();
    let work = scratch("work");
    let started = Instant::now();
    let error = fetch(&FetchRequest {
        url: &format!("git://127.0.0.1:{}/repo.git", hole.port()),
        reference: &branch("main"),
        auth: &GitAuth::default(),
        timeout: Duration::from_secs(1),
        work_dir: work.path(),
    })
    .expect_err("the server never answers");
    assert!(matches!(error, GitError::Timeout { .. }), "{error:?}");
    assert!(error.is_retryable());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );

    let repo = TestRepo::new(&[("a.yaml", "after the timeout")]);
    let fetched = fetch_ok(&repo.file_url(), &branch("main"), work.path());
    assert_holds(&fetched, "a.yaml", "after the timeout");
}

#[test]
fn a_damaged_store_is_replaced_rather_than_tripped_over() {
    let repo = TestRepo::new(&[("a.yaml", "fine")]);
    let work = scratch("work");
    let fetched = fetch_ok(&repo.file_url(), &branch("main"), work.path());
    // What an interrupted fetch could leave: a held lock and a truncated HEAD.
    std::fs::write(fetched.repository.join("shallow.lock"), "").expect("lock");
    std::fs::write(fetched.repository.join("HEAD"), "").expect("truncate HEAD");
    repo.write_files(&[("a.yaml", "still fine")]);
    repo.commit("next");
    let again = fetch_ok(&repo.file_url(), &branch("main"), work.path());
    assert_holds(&again, "a.yaml", "still fine");
}

#[test]
fn ssh_requires_known_hosts() {
    let auth = GitAuth {
        ssh_identity: Some(b"-----BEGIN OPENSSH PRIVATE KEY-----\n".to_vec()),
        ..GitAuth::default()
    };
    let error = try_fetch(
        "ssh://git@127.0.0.1:22/repo.git",
        &branch("main"),
        &auth,
        scratch("work").path(),
    )
    .expect_err("no known_hosts");
    assert!(
        matches!(error, GitError::SshNotConfigured { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("'known_hosts'"), "{error}");
    assert!(!error.is_retryable());
}

#[test]
fn ssh_runs_the_system_client_with_strict_host_keys() {
    // Nothing listens: a connection failure comes back as a retryable transport error
    // naming the URL. The `ssh_server_*` tests below talk to a real sshd.
    let identity = scratch("key");
    let key = identity.path().join("id");
    let output = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .output()
        .expect("run ssh-keygen");
    assert!(output.status.success());
    let auth = GitAuth {
        ssh_identity: Some(std::fs::read(&key).expect("read key")),
        ssh_known_hosts: Some(b"[127.0.0.1]:1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB3Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eA==".to_vec()),
        ..GitAuth::default()
    };
    let url = format!("ssh://git@127.0.0.1:{}/repo.git", closed_port());
    let error = try_fetch(&url, &branch("main"), &auth, scratch("work").path())
        .expect_err("nothing listens");
    assert!(matches!(error, GitError::Transport { .. }), "{error:?}");
    assert!(error.is_retryable());
    assert!(error.to_string().contains(&url), "{error}");
    assert!(
        error.to_string().contains("Connection refused"),
        "ssh's own words: {error}"
    );
}

fn ssh_auth(identity: &str, known_hosts: &str) -> GitAuth {
    GitAuth {
        ssh_identity: Some(identity.as_bytes().to_vec()),
        ssh_known_hosts: Some(known_hosts.as_bytes().to_vec()),
        ..GitAuth::default()
    }
}

#[test]
fn ssh_server_serves_a_branch_with_the_secrets_key_and_known_hosts() {
    let Some(server) =
        SshServer::start_or_skip("ssh_server_serves_a_branch_with_the_secrets_key_and_known_hosts")
    else {
        return;
    };
    let repo = TestRepo::new(&[("app/deploy.yaml", "kind: Deployment")]);
    let auth = ssh_auth(server.client_key(), &server.known_hosts());
    let url = server.url(&repo.bare());
    let work = scratch("work");

    let first = repo.head();
    let fetched = try_fetch(&url, &branch("main"), &auth, work.path())
        .unwrap_or_else(|error| panic!("fetch over ssh: {error}\nsshd: {}", server.log()));
    assert_eq!(fetched.commit, first);
    assert_eq!(fetched.revision, format!("main@sha1:{first}"));
    assert_holds(&fetched, "app/deploy.yaml", "kind: Deployment");

    // The same store follows the branch over ssh.
    repo.write_files(&[("app/deploy.yaml", "kind: StatefulSet")]);
    let second = repo.commit("second");
    let again = try_fetch(&url, &branch("main"), &auth, work.path())
        .unwrap_or_else(|error| panic!("refetch over ssh: {error}\nsshd: {}", server.log()));
    assert_eq!(again.revision, format!("main@sha1:{second}"));
    assert_holds(&again, "app/deploy.yaml", "kind: StatefulSet");

    let log = server.log();
    assert!(
        log.contains("Accepted publickey for root"),
        "sshd saw the Secret's key: {log}"
    );

    let missing = try_fetch(
        &server.url(&repo.root().join("missing.git")),
        &branch("main"),
        &auth,
        scratch("work").path(),
    )
    .expect_err("no such repository");
    assert!(
        matches!(missing, GitError::RepositoryNotFound { .. }),
        "{missing:?}"
    );
    assert!(!missing.is_retryable());
    assert!(
        missing
            .to_string()
            .contains("does not appear to be a git repository"),
        "the remote git's words: {missing}"
    );
}

#[test]
fn ssh_server_with_another_host_key_is_refused_before_logging_in() {
    let Some(server) =
        SshServer::start_or_skip("ssh_server_with_another_host_key_is_refused_before_logging_in")
    else {
        return;
    };
    let repo = TestRepo::new(&[("a.yaml", "a")]);
    let (_, impostor_public_key) = ssh_key_pair("impostor");
    let auth = ssh_auth(
        server.client_key(),
        &known_hosts_line(server.port(), &impostor_public_key),
    );
    let work = scratch("work");
    let error = try_fetch(
        &server.url(&repo.bare()),
        &branch("main"),
        &auth,
        work.path(),
    )
    .expect_err("the host key does not match known_hosts");
    assert!(
        matches!(error, GitError::UntrustedHostKey { .. }),
        "{error:?}"
    );
    assert!(!error.is_retryable(), "{error}");
    assert!(
        error
            .to_string()
            .to_ascii_lowercase()
            .contains("host key verification failed"),
        "{error}"
    );
    let log = server.log();
    assert!(
        !log.contains("Accepted publickey"),
        "the client must not log in to an unknown host: {log}"
    );
}

#[test]
fn ssh_server_refuses_a_client_key_it_does_not_know() {
    let Some(server) = SshServer::start_or_skip("ssh_server_refuses_a_client_key_it_does_not_know")
    else {
        return;
    };
    let repo = TestRepo::new(&[("a.yaml", "a")]);
    let (stranger_key, _) = ssh_key_pair("stranger");
    let auth = ssh_auth(&stranger_key, &server.known_hosts());
    let error = try_fetch(
        &server.url(&repo.bare()),
        &branch("main"),
        &auth,
        scratch("work").path(),
    )
    .expect_err("sshd does not know this key");
    assert!(
        matches!(error, GitError::AuthenticationFailed { .. }),
        "{error:?}\nsshd: {}",
        server.log()
    );
    assert!(!error.is_retryable(), "{error}");
    assert!(
        error.to_string().contains("Permission denied (publickey)"),
        "{error}"
    );
    assert!(!error.to_string().contains("PRIVATE KEY"), "{error}");
}

#[test]
fn branch_names_cannot_smuggle_refspecs() {
    let repo = TestRepo::new(&[("a.yaml", "a")]);
    for name in ["main:refs/heads/other", "*", "ma in", "a..b"] {
        let error = try_fetch(
            &repo.file_url(),
            &branch(name),
            &GitAuth::default(),
            scratch("work").path(),
        )
        .expect_err("an invalid branch name");
        assert!(
            matches!(error, GitError::InvalidReference { .. }),
            "{name:?}: {error:?}"
        );
        assert!(error.to_string().contains(name), "{error}");
    }
}

#[test]
fn scp_style_urls_are_refused() {
    let error = try_fetch(
        "git@github.com:org/repo.git",
        &branch("main"),
        &GitAuth::default(),
        scratch("work").path(),
    )
    .expect_err("scp-style");
    assert!(matches!(error, GitError::InvalidUrl { .. }), "{error:?}");
}
