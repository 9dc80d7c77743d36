//! Running the `encore` CLI: one `encore secret set` per key, a few at a time, each value on its
//! child's stdin; and `encore secret list` for a dry run.
//!
//! Every child is spawned with `kill_on_drop`, and all of them are owned by the sync's own
//! future (no spawned task): dropping that future kills them. A timeout or an interruption
//! kills a child and waits for it, so that none is left running when the sync returns.

use super::redact::{Captured, Redactor};
use super::{Error, Plan, Selection};
use futures_util::stream::{FuturesUnordered, StreamExt};
use stagecraft_core::{Action, SyncError, SyncReport, interrupt};
use std::io::{self, Write};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

/// How long, once a child has exited, what it left holding its pipes (a daemon it started) may
/// keep them open before the call is taken as done: its exit status is the answer.
const GRACE: Duration = Duration::from_millis(250);

/// Why one call of the CLI failed.
#[derive(Debug)]
enum CallError {
    /// The executable could not be started.
    Spawn(io::Error),
    /// It ran longer than the timeout and was killed.
    TimedOut,
    /// The sync was interrupted and the child killed.
    Interrupted,
    /// It exited, silently or successfully, before it had read the whole value from stdin.
    ValueNotRead { status: ExitStatus },
    /// It exited with a failure (or the value could not be passed to it).
    Failed {
        status: Option<ExitStatus>,
        said: Captured,
    },
}

fn command(plan: &Plan, args: &[&str]) -> Command {
    let mut command = Command::new(&plan.binary);
    command
        .args(args)
        .current_dir(&plan.app_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // A process group of its own keeps a terminal's Ctrl-C from reaching the child directly:
    // the sync stops it itself, so that the report can say which keys were set.
    #[cfg(unix)]
    command.process_group(0);
    command
}

/// Reads all of `from` into `kept`, up to `limit` bytes, reading on past it so that the child
/// never blocks on a full pipe.
async fn read_capped(from: &mut (impl AsyncRead + Unpin), kept: &mut Vec<u8>, limit: usize) {
    let mut buf = [0u8; 8192];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let room = limit.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
}

/// Writes `value` to the child's stdin (then closes it), keeps what it says on stderr in `said`
/// and on stdout in `out`, and waits for it to exit. Returns its exit status and, if the value
/// was handed over in time, how that went: once the child has exited, its pipes get [`GRACE`]
/// to finish, no more (a process it left running may hold them open).
async fn converse(
    child: &mut Child,
    value: &str,
    said: &mut Captured,
    out: &mut Vec<u8>,
) -> (io::Result<ExitStatus>, Option<io::Result<()>>) {
    let stdin = child.stdin.take();
    let mut stderr = child.stderr.take();
    let mut stdout = child.stdout.take();
    let mut written = None;
    let status = {
        let pipes = async {
            let write = async {
                if let Some(mut stdin) = stdin {
                    let result = stdin.write_all(value.as_bytes()).await;
                    // Closing stdin ends the value.
                    drop(stdin);
                    written = Some(result);
                } else {
                    written = Some(Ok(()));
                }
            };
            let read_err = async {
                if let Some(stderr) = &mut stderr {
                    said.read_from(stderr).await;
                }
            };
            let read_out = async {
                if let Some(stdout) = &mut stdout {
                    read_capped(stdout, out, 16 << 20).await;
                }
            };
            tokio::join!(write, read_err, read_out);
        };
        tokio::pin!(pipes);
        tokio::select! {
            status = child.wait() => {
                let _ = tokio::time::timeout(GRACE, &mut pipes).await;
                status
            }
            () = &mut pipes => child.wait().await,
        }
    };
    (status, written)
}

/// Runs `run` on `child` under the plan's timeout and the interruption; on either, kills the
/// child and waits for it to end.
async fn supervise<T>(
    plan: &Plan,
    child: &mut Child,
    run: impl AsyncFnOnce(&mut Child) -> Result<T, CallError>,
) -> Result<T, CallError> {
    let group = ProcessGroup::of(child);
    let outcome = tokio::select! {
        biased;
        () = interrupt::requested() => Err(CallError::Interrupted),
        timed = tokio::time::timeout(plan.timeout, run(child)) => {
            timed.unwrap_or(Err(CallError::TimedOut))
        }
    };
    if matches!(outcome, Err(CallError::TimedOut | CallError::Interrupted)) {
        drop(group);
        // `kill` sends SIGKILL and reaps the child; it fails only when the child is already
        // reaped.
        let _ = child.kill().await;
    } else {
        group.disarm();
    }
    outcome
}

/// The process group a child leads (see [`command`]): killed when this is dropped armed (a
/// timeout, an interruption, the sync's future dropped), so that what the child started, such
/// as the real `encore` behind a wrapper script that does not `exec` it, stops too; `kill_on_drop`
/// reaches the child alone.
struct ProcessGroup(Option<u32>);

impl ProcessGroup {
    fn of(child: &Child) -> Self {
        ProcessGroup(child.id())
    }

    /// The call ended by itself: whatever it left running is its own business.
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(pid) = self
            .0
            .and_then(|id| rustix::process::Pid::from_raw(id as i32))
        {
            // Fails only when the group is gone already.
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
}

/// `encore secret set <flag> <selection> <key>`, the value on stdin.
async fn set_one(
    plan: &Plan,
    flag: &(&'static str, String),
    key: &str,
    value: &str,
) -> Result<(), CallError> {
    let mut child = command(plan, &["secret", "set", flag.0, &flag.1, key])
        .stdin(Stdio::piped())
        .spawn()
        .map_err(CallError::Spawn)?;
    let mut said = Captured::default();
    let (status, written) = supervise(plan, &mut child, async |child| {
        Ok(converse(child, value, &mut said, &mut Vec::new()).await)
    })
    .await?;
    match (status.ok(), written) {
        (Some(status), Some(Ok(()))) if status.success() => Ok(()),
        // It stopped reading the value and said it was done: what it stored is not the value.
        (Some(status), _) if status.success() => Err(CallError::ValueNotRead { status }),
        (Some(status), Some(Err(_))) if said.is_empty() => Err(CallError::ValueNotRead { status }),
        (status, _) => Err(CallError::Failed { status, said }),
    }
}

/// What one failed call means for the sync.
enum Failure {
    /// Only this key failed, for this reason (cleaned).
    Key(String),
    /// The call was stopped before it finished: the key may or may not be set.
    Unknown(String),
    /// No call can succeed: stop starting new ones.
    Fatal(Error),
}

fn classify(plan: &Plan, error: CallError, redactor: &Redactor<'_>) -> Failure {
    match error {
        CallError::Spawn(e) if is_out_of_descriptors(&e) => {
            Failure::Fatal(Error::TooManyOpenFiles {
                limit: descriptor_limit(),
            })
        }
        CallError::Spawn(e) => Failure::Fatal(Error::MissingBinary {
            binary: plan.binary.clone(),
            reason: match e.kind() {
                io::ErrorKind::NotFound => "not found".to_owned(),
                io::ErrorKind::PermissionDenied => "not executable".to_owned(),
                _ => e.to_string(),
            },
        }),
        CallError::TimedOut => Failure::Unknown(format!(
            "no answer within {} s; the call was stopped, so whether it set the key is unknown",
            plan.timeout.as_secs_f64()
        )),
        CallError::Interrupted => {
            Failure::Unknown("interrupted while it was being set: it may be set".to_owned())
        }
        CallError::ValueNotRead { status } if status.success() => Failure::Key(format!(
            "encore exited ({status}) before reading the whole value: what it stored, if anything, is not the value"
        )),
        CallError::ValueNotRead { status } => Failure::Key(format!(
            "encore exited ({status}) before reading the whole value"
        )),
        CallError::Failed { status, said } => {
            // Read from what encore said, not from what is shown of it.
            if redactor.says(&said, "not logged in") {
                return Failure::Fatal(Error::NotLoggedIn);
            }
            if redactor.says(&said, "not linked") {
                return Failure::Fatal(Error::NotLinked {
                    app_dir: plan.app_dir.clone(),
                });
            }
            Failure::Key(redactor.message(&said, status))
        }
    }
}

/// Whether starting a child failed for want of file descriptors.
fn is_out_of_descriptors(error: &io::Error) -> bool {
    #[cfg(unix)]
    {
        use rustix::io::Errno;
        let code = error.raw_os_error();
        code == Some(Errno::MFILE.raw_os_error()) || code == Some(Errno::NFILE.raw_os_error())
    }
    #[cfg(not(unix))]
    {
        let _ = error;
        false
    }
}

/// The limit of open files of this process (`ulimit -n`), if it has one.
fn descriptor_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        rustix::process::getrlimit(rustix::process::Resource::Nofile).current
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The descriptors one running call holds (its stdin and stderr pipes, the handle tokio may
/// wait on), rounded up.
const DESCRIPTORS_PER_CALL: u64 = 4;

/// The descriptors kept free for the rest of the process and for starting a child (the child's
/// ends of three pipes, the pipe that reports a failed `exec`, `/dev/null`), which starts one at
/// a time.
const DESCRIPTORS_SPARE: u64 = 24;

/// `wanted`, or fewer calls at once when the limit of open files would not hold that many;
/// the note says so.
fn fit_concurrency(wanted: usize) -> (usize, Option<String>) {
    let Some(limit) = descriptor_limit() else {
        return (wanted, None);
    };
    let open = ["/proc/self/fd", "/dev/fd"]
        .iter()
        .find_map(|dir| std::fs::read_dir(dir).ok())
        .map_or(DESCRIPTORS_SPARE, |entries| entries.count() as u64);
    let room = limit.saturating_sub(open + DESCRIPTORS_SPARE) / DESCRIPTORS_PER_CALL;
    let fits = usize::try_from(room).unwrap_or(usize::MAX).max(1);
    if fits >= wanted {
        return (wanted, None);
    }
    tracing::info!(
        wanted,
        fits,
        limit,
        "concurrency lowered to the limit of open files"
    );
    (
        fits,
        Some(format!(
            "{fits} calls ran at once, not {wanted}: the limit of open files (`ulimit -n`) is {limit}"
        )),
    )
}

/// A progress line on stderr, `encore: 12/100 keys`, redrawn in place.
struct Progress {
    shown: bool,
    total: usize,
}

impl Progress {
    fn update(&self, done: usize) {
        if self.shown {
            let _ = write!(io::stderr(), "\r\x1b[Kencore: {done}/{} keys", self.total);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if self.shown {
            let _ = write!(io::stderr(), "\r\x1b[K");
        }
    }
}

/// Sets every entry, `plan.concurrency` calls at a time (fewer when the limit of open files
/// would not hold them). Keys report `set`, `failed`, `unknown` (the call was started and
/// stopped before it finished: a timeout or an interruption) or `skipped` (not started because
/// the sync stopped: a fatal failure or an interruption).
pub(super) async fn push(
    plan: &Plan,
    entries: &[(String, String)],
    progress: bool,
) -> Result<SyncReport, SyncError> {
    let flag = plan.selection.flag().expect("a push has a selection");
    let mut report = SyncReport::new(
        plan.source.display().to_string(),
        target_name(&plan.selection),
    );
    let (concurrency, lowered) = fit_concurrency(plan.concurrency);
    report.notes.extend(lowered);
    // Built on the first failure only: a sync where every call succeeds never searches.
    let redactor = std::sync::OnceLock::new();
    let redactor =
        || redactor.get_or_init(|| Redactor::new(entries.iter().map(|(_, v)| v.as_str())));
    let mut actions = vec![Action::Skipped; entries.len()];
    let mut failures: Vec<(usize, String)> = Vec::new();
    let mut fatal: Option<Error> = None;
    // Calls stopped at the timeout: listed with the failures.
    let mut stopped = 0;
    let progress = Progress {
        shown: progress,
        total: entries.len(),
    };
    progress.update(0);

    let _guard = interrupt::hold();
    let mut next = entries.iter().enumerate();
    let mut running = FuturesUnordered::new();
    let mut done = 0;
    loop {
        while fatal.is_none() && !interrupt::is_requested() && running.len() < concurrency {
            let Some((i, (key, value))) = next.next() else {
                break;
            };
            let flag = &flag;
            running.push(async move { (i, set_one(plan, flag, key, value).await) });
        }
        let Some((i, outcome)) = running.next().await else {
            break;
        };
        done += 1;
        progress.update(done);
        match outcome {
            Ok(()) => actions[i] = Action::Set,
            // The report's note says what an interruption leaves unknown.
            Err(CallError::Interrupted) => actions[i] = Action::Unknown,
            Err(error) => match classify(plan, error, redactor()) {
                Failure::Key(why) => {
                    actions[i] = Action::Failed;
                    failures.push((i, why));
                }
                Failure::Unknown(why) => {
                    actions[i] = Action::Unknown;
                    stopped += 1;
                    failures.push((i, why));
                }
                Failure::Fatal(error) => {
                    fatal.get_or_insert(error);
                }
            },
        }
    }
    drop(progress);
    let count = |action| actions.iter().filter(|a| **a == action).count();
    let (set, failed, unknown) = (
        count(Action::Set),
        count(Action::Failed),
        count(Action::Unknown),
    );
    tracing::debug!(set, failed, unknown, "encore secret set calls done");
    report.reserve(
        entries.len(),
        entries.iter().map(|(key, _)| key.len()).sum(),
    );
    for ((key, _), action) in entries.iter().zip(actions) {
        report.push(key, action);
    }
    report.written = set > 0;
    if interrupt::is_requested() {
        report.notes.push(
            "interrupted: keys marked skipped were not started; keys marked unknown were being set when the sync stopped, and may be set".to_owned(),
        );
    }
    let error = match fatal {
        Some(fatal) => fatal,
        None if failures.is_empty() => return Ok(report),
        None => {
            failures.sort_by_key(|(i, _)| *i);
            Error::CallsFailed {
                failures: failures
                    .into_iter()
                    .map(|(i, why)| (entries[i].0.clone(), why))
                    .collect(),
                failed,
                unknown: stopped,
                total: entries.len(),
            }
        }
    };
    if set + failed + unknown == 0 {
        // Nothing happened to any key: the error alone says it all.
        return Err(error.into());
    }
    Err(SyncError::Partial {
        report: Box::new(report),
        error: Box::new(error),
    })
}

fn target_name(selection: &Selection) -> String {
    match selection {
        Selection::Envs(envs) => format!("Encore secrets for env {}", envs.join(",")),
        _ => match selection.flag() {
            Some((_, types)) => format!("Encore secrets for {types}"),
            None => super::cue::FILE_NAME.to_owned(),
        },
    }
}

/// Marks each key as existing (`set`: it will be overwritten), new (`added`) or conflicting
/// (`failed`: Encore would refuse the selection for it) from `encore secret list`, and notes
/// where the keys that exist have values. When the list cannot be had, the dry run fails: it
/// could not tell what a sync would do.
pub(super) async fn dry_run(
    plan: &Plan,
    entries: &[(String, String)],
) -> Result<SyncReport, SyncError> {
    let mut report = SyncReport::new(
        plan.source.display().to_string(),
        target_name(&plan.selection),
    );
    let guard = interrupt::hold();
    let listed = list(plan).await;
    drop(guard);
    let table = match listed {
        Ok(table) => table,
        Err(CallError::TimedOut) => Err(Error::ListFailed {
            why: format!("no answer within {} s", plan.timeout.as_secs_f64()),
        })?,
        Err(CallError::Interrupted) => Err(Error::ListFailed {
            why: "interrupted".to_owned(),
        })?,
        Err(error) => {
            let redactor = Redactor::new(entries.iter().map(|(_, v)| v.as_str()));
            Err(match classify(plan, error, &redactor) {
                Failure::Key(why) | Failure::Unknown(why) => Error::ListFailed { why },
                Failure::Fatal(error) => error,
            })?
        }
    };
    let listed = listed_keys(&table);
    report.reserve(
        entries.len(),
        entries.iter().map(|(key, _)| key.len()).sum(),
    );
    let mut conflicts = Vec::new();
    // Keys that exist, by where they have values.
    let mut by_place: std::collections::BTreeMap<String, Vec<&str>> = Default::default();
    for (key, _) in entries {
        let action = match listed.get(key.as_str()) {
            None => Action::Added,
            Some(places) => {
                by_place.entry(places.describe()).or_default().push(key);
                match places.overlap(&plan.selection) {
                    Overlap::None => Action::Added,
                    Overlap::Within => Action::Set,
                    Overlap::Across => {
                        conflicts.push((key.clone(), format!(
                            "it has values for {} but not for all of {}: Encore refuses a selection that cuts across a group of environments",
                            places.describe(),
                            plan.selection.flag().map_or(String::new(), |(_, names)| names),
                        )));
                        Action::Failed
                    }
                }
            }
        };
        report.push(key, action);
    }
    for (places, keys) in by_place {
        const NAMED: usize = 20;
        let mut note = format!(
            "existing for {places}: {}",
            keys[..keys.len().min(NAMED)].join(", ")
        );
        if keys.len() > NAMED {
            note.push_str(&format!(" and {} more", keys.len() - NAMED));
        }
        report.notes.push(note);
    }
    report.notes.push(
        "Encore does not show secret values, so a key that exists is set again whether or not its value differs".to_owned(),
    );
    if conflicts.is_empty() {
        return Ok(report);
    }
    Err(SyncError::Partial {
        error: Box::new(Error::WouldConflict {
            conflicts,
            total: entries.len(),
        }),
        report: Box::new(report),
    })
}

/// The output of `encore secret list`.
async fn list(plan: &Plan) -> Result<String, CallError> {
    let mut child = command(plan, &["secret", "list"])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(CallError::Spawn)?;
    let mut said = Captured::default();
    let mut out = Vec::new();
    let status = supervise(plan, &mut child, async |child| {
        Ok(converse(child, "", &mut said, &mut out).await.0)
    })
    .await?;
    match status {
        Ok(status) if status.success() => Ok(String::from_utf8_lossy(&out).into_owned()),
        status => Err(CallError::Failed {
            status: status.ok(),
            said,
        }),
    }
}

/// Where a key of `encore secret list` has values: environment types, named environments.
#[derive(Debug, Default, PartialEq, Eq)]
struct Places {
    types: Vec<super::EnvType>,
    envs: Vec<String>,
}

/// How a selection meets the places of a key.
#[derive(Debug, PartialEq, Eq)]
enum Overlap {
    /// No value for any of the selection: the key is new there.
    None,
    /// Values for every environment of the selection: it may be the group set again.
    Within,
    /// Values for some of the selection only: any group it has there differs from the
    /// selection, which Encore refuses.
    Across,
}

impl Places {
    fn overlap(&self, selection: &Selection) -> Overlap {
        fn meet<T: PartialEq>(have: &[T], wanted: &[T]) -> Overlap {
            let hits = wanted.iter().filter(|w| have.contains(w)).count();
            match hits {
                0 => Overlap::None,
                n if n == wanted.len() => Overlap::Within,
                _ => Overlap::Across,
            }
        }
        match selection {
            Selection::Types(types) => meet(&self.types, types),
            Selection::Envs(envs) => meet(&self.envs, envs),
            Selection::LocalOverrides => Overlap::None,
        }
    }

    /// `production, development, env:staging`.
    fn describe(&self) -> String {
        self.types
            .iter()
            .map(|t| t.long_name().to_owned())
            .chain(self.envs.iter().map(|e| format!("env:{e}")))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The keys of an `encore secret list` table, each with where it has values: a ✓ in a type's
/// column, and the names in the last column (`Specific Envs`).
fn listed_keys(table: &str) -> foldhash::HashMap<&str, Places> {
    let mut lines = table.lines().filter(|l| !l.trim().is_empty());
    let Some(header) = lines.next() else {
        return Default::default();
    };
    // "Secret Key  Production  Development  Local  Preview  Specific Envs": the key column is
    // two words; the type columns follow.
    let columns: Vec<Option<super::EnvType>> = header
        .split_whitespace()
        .skip(2)
        .map(|name| super::EnvType::parse(&name.to_lowercase()))
        .take_while(Option::is_some)
        .collect();
    lines
        .filter_map(|line| {
            let mut cells = line.split_whitespace();
            let key = cells.next()?;
            let mut places = Places::default();
            for column in &columns {
                if cells.next() == Some("✓") {
                    places.types.extend(*column);
                }
            }
            places.envs = cells
                .flat_map(|cell| cell.split(','))
                .filter(|e| !e.is_empty())
                .map(str::to_owned)
                .collect();
            Some((key, places))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_table_tells_where_each_key_has_values() {
        use super::super::EnvType::{Development, Local, Preview, Production};
        let table = "Secret Key   Production  Development  Local  Preview  Specific Envs\n\
                     DB_URL       ✓           ✗            ✗      ✗\n\
                     API_KEY      ✗           ✓            ✓      ✓\n\
                     ONLY_DEV     ✗           ✓            ✗      ✗        staging,qa\n";
        let listed = listed_keys(table);
        assert_eq!(listed["DB_URL"].types, [Production]);
        assert_eq!(listed["ONLY_DEV"].envs, ["staging", "qa"]);
        assert_eq!(
            listed["ONLY_DEV"].describe(),
            "development, env:staging, env:qa"
        );
        let default = Selection::Types(vec![Development, Preview, Local]);
        assert_eq!(listed["API_KEY"].overlap(&default), Overlap::Within);
        assert_eq!(listed["DB_URL"].overlap(&default), Overlap::None);
        assert_eq!(listed["ONLY_DEV"].overlap(&default), Overlap::Across);
        let qa = Selection::Envs(vec!["qa".to_owned()]);
        assert_eq!(listed["ONLY_DEV"].overlap(&qa), Overlap::Within);
        assert_eq!(listed["DB_URL"].overlap(&qa), Overlap::None);
    }
}
