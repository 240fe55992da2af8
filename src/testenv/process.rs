//! Child processes that cannot outlive driftless.
//!
//! Every child asks the kernel for SIGKILL when its parent goes (`PR_SET_PDEATHSIG`), so
//! even a `kill -9` of driftless or a test binary leaves no orphan. That signal fires when
//! the *thread* that spawned the child exits, not the process, and test threads come and
//! go; so all children are spawned from one thread that lives as long as the process.
//! Each child gets a process group of its own so that a Ctrl-C in the terminal reaches
//! driftless alone, which then stops the children in order.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::TestEnvError;

struct SpawnRequest {
    command: Command,
    reply: mpsc::Sender<io::Result<Child>>,
}

static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();

fn spawner() -> &'static Mutex<mpsc::Sender<SpawnRequest>> {
    SPAWNER.get_or_init(|| {
        let (sender, receiver) = mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("testenv-spawner".into())
            .spawn(move || {
                for mut request in receiver {
                    let spawned = request.command.spawn();
                    // The requester may have given up waiting; the child is then dropped
                    // and dies with us, which is all we can do for it.
                    let _ = request.reply.send(spawned);
                }
            })
            .map(|_| ())
            .unwrap_or_else(|error| eprintln!("testenv: cannot start the spawner thread: {error}"));
        Mutex::new(sender)
    })
}

fn spawn_tied_to_this_process(mut command: Command) -> io::Result<Child> {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id() as libc::pid_t;
    #[allow(unsafe_code)]
    // SAFETY: the closure runs between fork and exec and calls only async-signal-safe
    // functions (prctl, getppid, _exit); it allocates nothing and takes no locks.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl: then nobody would signal us.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    command.process_group(0);
    let (reply, response) = mpsc::channel();
    let sender = spawner()
        .lock()
        .map_err(|_| io::Error::other("the spawner lock is poisoned"))?
        .clone();
    sender
        .send(SpawnRequest { command, reply })
        .map_err(|_| io::Error::other("the spawner thread is gone"))?;
    response
        .recv()
        .map_err(|_| io::Error::other("the spawner thread is gone"))?
}

/// A running component of the control plane, its output going to a log file.
#[derive(Debug)]
pub struct ManagedProcess {
    name: String,
    child: Child,
    log: PathBuf,
}

impl ManagedProcess {
    /// Starts `program` with `args`, stdout and stderr appended to `log`.
    pub fn start(
        name: &str,
        program: &Path,
        args: &[String],
        log: &Path,
    ) -> Result<Self, TestEnvError> {
        let output = File::create(log).map_err(|source| TestEnvError::io("create", log, source))?;
        let errors = output
            .try_clone()
            .map_err(|source| TestEnvError::io("open", log, source))?;
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(output)
            .stderr(errors);
        let child = spawn_tied_to_this_process(command).map_err(|source| TestEnvError::Spawn {
            name: name.to_string(),
            program: program.to_path_buf(),
            source,
        })?;
        tracing::info!(component = name, pid = child.id(), log = %log.display(), "started");
        Ok(Self {
            name: name.to_string(),
            child,
            log: log.to_path_buf(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails with the end of the log if the process has exited.
    pub fn check_running(&mut self) -> Result<(), TestEnvError> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(TestEnvError::Exited {
                name: self.name.clone(),
                status: status.to_string(),
                log: self.log.clone(),
                tail: log_tail(&self.log, 30),
            }),
            Err(source) => Err(TestEnvError::io("wait for", &self.log, source)),
        }
    }

    /// Asks the process to stop (SIGTERM), then kills it if it has not within `grace`.
    pub fn stop(&mut self, grace: Duration) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let pid = self.child.id() as libc::pid_t;
        #[allow(unsafe_code)]
        // SAFETY: kill(2) with a pid we spawned and have not yet reaped, so it cannot have
        // been reused by another process.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                tracing::info!(component = %self.name, pid, "stopped");
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        tracing::warn!(component = %self.name, pid, ?grace, "did not stop on SIGTERM; killing it");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ManagedProcess {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}

/// The last `lines` lines of a log file, for error messages.
pub fn log_tail(path: &Path, lines: usize) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(error) => format!("(cannot read {}: {error})", path.display()),
    }
}

/// Resident set size of a process in bytes, from `/proc`, for the idle-memory benchmark.
pub fn resident_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
