//! Running the `encore` CLI: one `encore secret set` per key, a few at a time, each value on its
//! child's stdin; and `encore secret list` for a dry run.
//!
//! Every child is spawned with `kill_on_drop`, and all of them are owned by the sync's own
//! future (no spawned task): dropping that future kills them. A timeout or an interruption
//! kills a child and waits for it, so that none is left running when the sync returns.

use super::{Error, Plan, Selection};
use futures_util::stream::{FuturesUnordered, StreamExt};
use stagecraft_core::{Action, SyncError, SyncReport, interrupt};
use std::borrow::Cow;
use std::io::{self, Write};
use std::process::{ExitStatus, Stdio};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

/// How much of a child's stderr an error shows.
const STDERR_SHOWN: usize = 300;

/// The shortest line of a multi-line value that is removed on its own: shorter ones (`}`, `--`)
/// would remove too much of what was said, and give little away.
const MIN_LINE_REDACTED: usize = 4;

/// Why one call of the CLI failed.
#[derive(Debug)]
enum CallError {
    /// The executable could not be started.
    Spawn(io::Error),
    /// It ran longer than the timeout and was killed.
    TimedOut,
    /// The sync was interrupted and the child killed.
    Interrupted,
    /// It exited, silently, before it had read the whole value from stdin.
    ValueNotRead { status: ExitStatus },
    /// It exited with a failure (or the value could not be passed to it).
    Failed {
        status: Option<ExitStatus>,
        stderr: Vec<u8>,
    },
}

/// What the child's stderr may show: every value of the sync removed.
struct Redactor<'v> {
    /// The values, longest first, so that a value holding another is removed whole.
    values: Vec<Cow<'v, str>>,
}

impl<'v> Redactor<'v> {
    fn new(entries: &'v [(String, String)]) -> Self {
        let values = entries.iter().map(|(_, v)| v.as_str());
        // Each line of a multi-line value too: a message may quote one line, or the whole value
        // escaped onto one line (`"a\nb"`), where the value itself is not found.
        let lines = values
            .clone()
            .filter(|v| v.contains('\n'))
            .flat_map(|v| v.lines().map(str::trim))
            .filter(|line| line.len() >= MIN_LINE_REDACTED);
        // And a value quoted as Go's `%q` and JSON quote it, `\"` and `\\` escaped.
        let escaped = values
            .clone()
            .filter(|v| v.contains(['"', '\\']))
            .map(|v| Cow::Owned(v.replace('\\', "\\\\").replace('"', "\\\"")));
        let mut values: Vec<Cow<'v, str>> = values
            .chain(lines)
            .filter(|v| !v.is_empty())
            .map(Cow::Borrowed)
            .chain(escaped)
            .collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        values.dedup();
        Redactor { values }
    }

    /// How much stderr to keep so that what is shown never reaches the cut: each of the at most
    /// `STDERR_SHOWN / 10` redactions shown stands for up to the longest value, and a value cut
    /// in two at the end of what was kept would not be recognised.
    fn capture_limit(&self) -> usize {
        let longest = self.values.first().map_or(0, |v| v.len());
        4096 + (STDERR_SHOWN / 10 + 2) * longest
    }

    /// The child's stderr as one line, values removed, cut to [`STDERR_SHOWN`] bytes.
    fn clean(&self, stderr: &[u8]) -> String {
        // Every byte of an occurrence of a value is hidden, also where two values overlap.
        let mut hidden = vec![false; stderr.len()];
        for value in &self.values {
            for at in memchr::memmem::find_iter(stderr, value.as_bytes()) {
                hidden[at..at + value.len()].fill(true);
            }
        }
        // When stderr was cut at the capture limit, its last bytes may be the start of a value
        // whose end was not kept, which no search finds: they are not shown. (Blanks collapse
        // below, so what was kept last can come first in the line.)
        let longest = self.values.first().map_or(0, |v| v.len());
        let end = if stderr.len() >= self.capture_limit() {
            stderr.len() - longest.saturating_sub(1)
        } else {
            stderr.len()
        };
        let mut text = Vec::with_capacity(end);
        let mut at = 0;
        while at < end {
            if hidden[at] {
                text.extend_from_slice(b"[redacted]");
                while at < stderr.len() && hidden[at] {
                    at += 1;
                }
            } else {
                text.push(stderr[at]);
                at += 1;
            }
        }
        let text = String::from_utf8_lossy(&text);
        let mut line = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Some(rest) = line.strip_prefix("error:") {
            line = rest.trim_start().to_owned();
        }
        if line.len() > STDERR_SHOWN {
            let mut cut = STDERR_SHOWN;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.truncate(cut);
            line.push('…');
        }
        line
    }
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

/// Reads all of `from`, keeping the first `limit` bytes, so that the child never blocks on a
/// full pipe.
async fn read_capped(from: &mut (impl AsyncRead + Unpin), limit: usize) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => return kept,
            Ok(n) => {
                let room = limit.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
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
    stderr_limit: usize,
) -> Result<(), CallError> {
    let mut child = command(plan, &["secret", "set", flag.0, &flag.1, key])
        .stdin(Stdio::piped())
        .spawn()
        .map_err(CallError::Spawn)?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let write = async move {
        let written = stdin.write_all(value.as_bytes()).await;
        // Closing stdin ends the value.
        drop(stdin);
        written
    };
    supervise(plan, &mut child, async |child| {
        let (written, stderr, status) =
            tokio::join!(write, read_capped(&mut stderr, stderr_limit), child.wait());
        match (written, status.ok()) {
            (Ok(()), Some(status)) if status.success() => Ok(()),
            (Err(_), Some(status)) if stderr.is_empty() => Err(CallError::ValueNotRead { status }),
            (_, status) => Err(CallError::Failed { status, stderr }),
        }
    })
    .await
}

/// What one failed call means for the sync.
enum Failure {
    /// Only this key failed, for this reason (cleaned).
    Key(String),
    /// No call can succeed: stop starting new ones.
    Fatal(Error),
}

fn classify(plan: &Plan, error: CallError, redactor: &Redactor<'_>) -> Failure {
    match error {
        CallError::Spawn(e) => Failure::Fatal(Error::MissingBinary {
            binary: plan.binary.clone(),
            reason: match e.kind() {
                io::ErrorKind::NotFound => "not found".to_owned(),
                io::ErrorKind::PermissionDenied => "not executable".to_owned(),
                _ => e.to_string(),
            },
        }),
        CallError::TimedOut => Failure::Key(format!(
            "no answer within {} s; the call was stopped",
            plan.timeout.as_secs_f64()
        )),
        CallError::Interrupted => Failure::Key("interrupted".to_owned()),
        CallError::ValueNotRead { status } => Failure::Key(format!(
            "encore exited ({status}) before reading the whole value"
        )),
        CallError::Failed { status, stderr } => {
            // What encore said, not a value it echoed.
            let said = redactor.clean(&stderr);
            if said.contains("not logged in") {
                return Failure::Fatal(Error::NotLoggedIn);
            }
            if said.contains("not linked") {
                return Failure::Fatal(Error::NotLinked {
                    app_dir: plan.app_dir.clone(),
                });
            }
            Failure::Key(match (said.is_empty(), status) {
                (false, _) => said,
                (true, Some(status)) => format!("encore {status} and said nothing"),
                (true, None) => "encore could not be waited for".to_owned(),
            })
        }
    }
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

/// Sets every entry, `plan.concurrency` calls at a time. Keys report `set`, `failed`, or
/// `skipped` (not started because the sync stopped: a fatal failure or an interruption).
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
    let redactor = Redactor::new(entries);
    let stderr_limit = redactor.capture_limit();
    let mut actions = vec![Action::Skipped; entries.len()];
    let mut failures: Vec<(usize, String)> = Vec::new();
    let mut fatal: Option<Error> = None;
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
        while fatal.is_none() && !interrupt::is_requested() && running.len() < plan.concurrency {
            let Some((i, (key, value))) = next.next() else {
                break;
            };
            let flag = &flag;
            running.push(async move { (i, set_one(plan, flag, key, value, stderr_limit).await) });
        }
        let Some((i, outcome)) = running.next().await else {
            break;
        };
        done += 1;
        progress.update(done);
        match outcome {
            Ok(()) => actions[i] = Action::Set,
            Err(CallError::Interrupted) => {}
            Err(error) => match classify(plan, error, &redactor) {
                Failure::Key(why) => {
                    actions[i] = Action::Failed;
                    failures.push((i, why));
                }
                Failure::Fatal(error) => {
                    fatal.get_or_insert(error);
                }
            },
        }
    }
    drop(progress);
    let set = actions.iter().filter(|a| **a == Action::Set).count();
    tracing::debug!(set, failed = failures.len(), "encore secret set calls done");
    report.reserve(
        entries.len(),
        entries.iter().map(|(key, _)| key.len()).sum(),
    );
    for ((key, _), action) in entries.iter().zip(actions) {
        report.push(key, action);
    }
    report.written = set > 0;
    if interrupt::is_requested() {
        report
            .notes
            .push("interrupted: the keys not marked set were not set".to_owned());
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
                total: entries.len(),
            }
        }
    };
    if set == 0 && report.count(Action::Failed) == 0 {
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

/// Marks each key as existing (`set`: it will be overwritten) or new (`added`) from
/// `encore secret list`; when the list cannot be had, every key is `set` and a note says why.
pub(super) async fn dry_run(plan: &Plan, entries: &[(String, String)]) -> SyncReport {
    let mut report = SyncReport::new(
        plan.source.display().to_string(),
        target_name(&plan.selection),
    );
    let redactor = Redactor::new(entries);
    let guard = interrupt::hold();
    let listed = list(plan, redactor.capture_limit()).await;
    drop(guard);
    let existing = match listed {
        Ok(table) => Some(
            existing_keys(&table, &plan.selection)
                .into_iter()
                .collect::<foldhash::HashSet<String>>(),
        ),
        Err(error) => {
            let why = match classify(plan, error, &redactor) {
                Failure::Key(why) => why,
                Failure::Fatal(error) => error.to_string(),
            };
            report.notes.push(format!(
                "`encore secret list` failed, so new and existing keys cannot be told apart: {why}"
            ));
            None
        }
    };
    report.reserve(
        entries.len(),
        entries.iter().map(|(key, _)| key.len()).sum(),
    );
    for (key, _) in entries {
        let action = match &existing {
            Some(existing) if !existing.contains(key) => Action::Added,
            _ => Action::Set,
        };
        report.push(key, action);
    }
    report.notes.push(
        "Encore does not show secret values, so a key that exists is set again whether or not its value differs".to_owned(),
    );
    report
}

/// The output of `encore secret list`.
async fn list(plan: &Plan, stderr_limit: usize) -> Result<String, CallError> {
    let mut child = command(plan, &["secret", "list"])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(CallError::Spawn)?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    supervise(plan, &mut child, async |child| {
        let (out, err, status) = tokio::join!(
            read_capped(&mut stdout, 16 << 20),
            read_capped(&mut stderr, stderr_limit),
            child.wait()
        );
        match status {
            Ok(status) if status.success() => Ok(String::from_utf8_lossy(&out).into_owned()),
            status => Err(CallError::Failed {
                status: status.ok(),
                stderr: err,
            }),
        }
    })
    .await
}

/// The keys of an `encore secret list` table that have a value for the selection: for types,
/// a ✓ in one of their columns; for named environments, any row (the table does not say which).
fn existing_keys(table: &str, selection: &Selection) -> Vec<String> {
    let mut lines = table.lines().filter(|l| !l.trim().is_empty());
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    // "Secret Key  Production  Development  Local  Preview …": the key column is two words.
    let columns: Vec<String> = header
        .split_whitespace()
        .skip(2)
        .map(str::to_lowercase)
        .collect();
    let wanted: Vec<usize> = match selection {
        Selection::Types(types) => types
            .iter()
            .filter_map(|t| {
                let name = match t {
                    super::EnvType::Development => "development",
                    super::EnvType::Production => "production",
                    super::EnvType::Preview => "preview",
                    super::EnvType::Local => "local",
                };
                columns.iter().position(|c| c == name)
            })
            .collect(),
        _ => Vec::new(),
    };
    lines
        .filter_map(|line| {
            let mut cells = line.split_whitespace();
            let key = cells.next()?;
            let marks: Vec<&str> = cells.collect();
            let has_value = wanted.is_empty() || wanted.iter().any(|&i| marks.get(i) == Some(&"✓"));
            has_value.then(|| key.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_is_cleaned_of_every_value_and_cut() {
        let entries = vec![
            ("A".to_owned(), "hunter2".to_owned()),
            ("B".to_owned(), "hunter2-longer".to_owned()),
        ];
        let redactor = Redactor::new(&entries);
        assert_eq!(
            redactor.clean(b"error: bad value hunter2-longer\nand hunter2\n"),
            "bad value [redacted] and [redacted]"
        );
        let long = format!("error: {}", "x".repeat(1000));
        let cleaned = redactor.clean(long.as_bytes());
        assert!(cleaned.len() <= STDERR_SHOWN + '…'.len_utf8());
        assert!(cleaned.ends_with('…'));
    }

    #[test]
    fn lines_of_a_multi_line_value_are_hidden_alone_and_escaped() {
        let key = "-----BEGIN KEY-----\nMIIEsecretline\r\n-----END KEY-----\n";
        let entries = vec![("PEM".to_owned(), key.to_owned())];
        let redactor = Redactor::new(&entries);
        assert_eq!(
            redactor.clean(b"error: bad \"-----BEGIN KEY-----\\nMIIEsecretline\\r\\n\" at line 2: MIIEsecretline"),
            "bad \"[redacted]\\n[redacted]\\r\\n\" at line 2: [redacted]"
        );
    }

    #[test]
    fn a_value_quoted_with_escapes_is_hidden() {
        let entries = vec![("A".to_owned(), r#"pa"ss\word"#.to_owned())];
        let redactor = Redactor::new(&entries);
        assert_eq!(
            redactor.clean(br#"error: invalid value "pa\"ss\\word""#),
            "invalid value \"[redacted]\""
        );
    }

    #[test]
    fn overlapping_values_are_hidden_whole() {
        let entries = vec![
            ("A".to_owned(), "ABCDEX".to_owned()),
            ("B".to_owned(), "XSECRET".to_owned()),
        ];
        let redactor = Redactor::new(&entries);
        assert_eq!(
            redactor.clean(b"error: got ABCDEXSECRET!"),
            "got [redacted]!"
        );
    }

    #[test]
    fn the_list_table_tells_which_keys_have_a_value() {
        let table = "Secret Key   Production  Development  Local  Preview  Specific Envs\n\
                     DB_URL       ✓           ✗            ✗      ✗\n\
                     API_KEY      ✗           ✓            ✓      ✓\n";
        let dev = Selection::Types(vec![super::super::EnvType::Development]);
        assert_eq!(existing_keys(table, &dev), ["API_KEY"]);
        let prod = Selection::Types(vec![super::super::EnvType::Production]);
        assert_eq!(existing_keys(table, &prod), ["DB_URL"]);
        assert_eq!(
            existing_keys(table, &Selection::Envs(vec!["qa".to_owned()])),
            ["DB_URL", "API_KEY"]
        );
    }
}
