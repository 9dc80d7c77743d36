//! What the CLI prints: the plan/result table (coloured on a terminal), JSON documents, the
//! provider list and errors. Values never reach any of them: a report holds keys and actions only.

use crate::Failure;
use serde::Serialize;
use stagecraft_core::{Action, Registry, SyncReport};
use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the command was asked for JSON: then stdout holds one JSON document, also on failure.
static JSON: AtomicBool = AtomicBool::new(false);
/// Whether something has started writing stdout: the report, or an error document.
static STDOUT_TAKEN: AtomicBool = AtomicBool::new(false);

/// Keys longer than this are printed whole but do not widen the table further.
const MAX_KEY_WIDTH: usize = 40;

/// Starts a run's output: stdout is free, and is one JSON document when `json`.
pub(crate) fn start(json: bool) {
    JSON.store(json, Ordering::SeqCst);
    STDOUT_TAKEN.store(false, Ordering::SeqCst);
}

/// What stdout's one output is written to.
type Stdout = BufWriter<io::StdoutLock<'static>>;

/// Writes stdout's one output, buffered. Returns without writing when something else (an error
/// document printed on an interruption) has taken stdout. A failed write is returned, never a
/// panic; `main` makes a closed pipe quiet and anything else exit 2.
fn write_stdout(write: impl FnOnce(&mut Stdout) -> io::Result<()>) -> io::Result<()> {
    if STDOUT_TAKEN.swap(true, Ordering::SeqCst) {
        return Ok(());
    }
    // A table of 100,000 rows is written in 64 KiB pieces.
    let mut out = BufWriter::with_capacity(64 * 1024, io::stdout().lock());
    write(&mut out)?;
    out.flush()
}

/// Reports a failure: `error: …` and its causes on stderr, each line escaped; with `--json`, also
/// the error document on stdout, unless stdout already holds something.
pub(crate) fn fail(failure: &Failure) {
    let (red, reset) = if use_colour(&io::stderr()) {
        ("\x1b[1;31m", "\x1b[0m")
    } else {
        ("", "")
    };
    let mut text = String::new();
    for error in failure.errors() {
        // A provider's message may span lines (one per failed key); each is escaped.
        let message = error.to_string();
        let lines: Vec<_> = message.split('\n').map(escape).collect();
        let _ = writeln!(text, "{red}error{reset}: {}", lines.join("\n"));
        let mut cause = error.source();
        while let Some(error) = cause {
            let _ = writeln!(text, "  caused by: {}", escape(&error.to_string()));
            cause = error.source();
        }
    }
    // One write, so that lines of two threads never interleave. clap prints its own.
    if !matches!(failure, Failure::Usage(_)) {
        let _ = io::stderr().write_all(text.as_bytes());
    }
    if JSON.load(Ordering::SeqCst) && !STDOUT_TAKEN.swap(true, Ordering::SeqCst) {
        let doc = error_json(failure);
        let mut out = io::stdout().lock();
        let _ = writeln!(out, "{doc}").and_then(|()| out.flush());
    }
}

/// `{"error": {"kind": …, "message": …, "causes": […], "exit_code": …}}`
fn error_json(failure: &Failure) -> serde_json::Value {
    let errors = failure.errors();
    let message: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let mut causes = Vec::new();
    for error in &errors {
        let mut cause = error.source();
        while let Some(error) = cause {
            causes.push(error.to_string());
            cause = error.source();
        }
    }
    serde_json::json!({
        "error": {
            "kind": failure.kind(),
            "message": message.join("\n"),
            "causes": causes,
            "exit_code": failure.exit_code(),
        }
    })
}

/// Text from outside (keys, paths) made safe for a terminal: control characters (escape
/// sequences, carriage returns, C1 controls) and bidirectional overrides are written as Rust
/// escapes such as `\u{1b}`.
pub(crate) fn escape(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if is_plain(text) || !text.contains(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            escaped.extend(c.escape_default());
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(escaped)
}

/// Whether `text` is printable ASCII, which shows as it is: most keys, so checked in one pass
/// over the bytes without a branch for each.
fn is_plain(text: &str) -> bool {
    text.bytes()
        .fold(true, |plain, b| plain & (b' '..=b'~').contains(&b))
}

/// A key as the table shows it (escaped), and the columns it takes. A printable ASCII key is
/// neither copied nor counted again.
fn shown_key(key: &str) -> (Cow<'_, str>, usize) {
    if is_plain(key) {
        return (Cow::Borrowed(key), key.len());
    }
    let key = escape(key);
    let width = shown_width(&key);
    (key, width)
}

/// The characters of `text`, counted without decoding when it is ASCII.
fn shown_width(text: &str) -> usize {
    if text.is_ascii() {
        text.len()
    } else {
        text.chars().count()
    }
}

/// `warning: …` on stderr, escaped.
pub(crate) fn print_warning(warning: &dyn std::fmt::Display) {
    let (yellow, reset) = if use_colour(&io::stderr()) {
        ("\x1b[1;33m", "\x1b[0m")
    } else {
        ("", "")
    };
    let line = format!("{yellow}warning{reset}: {}\n", escape(&warning.to_string()));
    let _ = io::stderr().write_all(line.as_bytes());
}

fn use_colour(stream: &impl IsTerminal) -> bool {
    stream.is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

#[derive(Serialize)]
struct ProviderJson<'a> {
    id: &'a str,
    description: &'a str,
    /// Whether others can read from it: `--from <id>:<location>`.
    source: bool,
}

/// The registered providers, in ID order.
pub(crate) fn providers(registry: &Registry, json: bool) -> io::Result<()> {
    let providers: Vec<ProviderJson<'_>> = registry
        .list()
        .map(|p| ProviderJson {
            id: p.id(),
            description: p.description(),
            source: p.source().is_some(),
        })
        .collect();
    write_stdout(|out| {
        if json {
            serde_json::to_writer_pretty(&mut *out, &providers)?;
            return writeln!(out);
        }
        let width = providers.iter().map(|p| p.id.len()).max().unwrap_or(0);
        for p in &providers {
            let source = if p.source {
                format!(" (a source: --from {}:…)", p.id)
            } else {
                String::new()
            };
            writeln!(out, "{:width$}  {}{source}", p.id, p.description)?;
        }
        Ok(())
    })
}

/// A document, such as a JSON Schema, on stdout as it is.
pub(crate) fn document(text: &str) -> io::Result<()> {
    write_stdout(|out| out.write_all(text.as_bytes()))
}

/// One line for `config validate`.
pub(crate) fn line(text: &str) -> io::Result<()> {
    write_stdout(|out| writeln!(out, "{}", escape(text)))
}

#[derive(Serialize)]
struct Summary {
    added: usize,
    changed: usize,
    unchanged: usize,
    removed: usize,
    skipped: usize,
    #[serde(skip_serializing_if = "is_zero")]
    set: usize,
    #[serde(skip_serializing_if = "is_zero")]
    failed: usize,
    #[serde(skip_serializing_if = "is_zero")]
    unknown: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Summary {
    fn of(report: &SyncReport) -> Self {
        let counts = report.counts();
        Summary {
            added: counts.get(Action::Added),
            changed: counts.get(Action::Changed),
            unchanged: counts.get(Action::Unchanged),
            removed: counts.get(Action::Removed),
            skipped: counts.get(Action::Skipped),
            set: counts.get(Action::Set),
            failed: counts.get(Action::Failed),
            unknown: counts.get(Action::Unknown),
        }
    }
}

#[derive(Serialize)]
struct ReportJson<'a> {
    provider: &'a str,
    dry_run: bool,
    #[serde(flatten)]
    report: &'a SyncReport,
    summary: Summary,
}

/// The plan (dry run) or result of a sync: a table of keys and actions, or one JSON document.
pub(crate) fn report(
    provider: &str,
    report: &SyncReport,
    dry_run: bool,
    json: bool,
) -> io::Result<()> {
    write_stdout(|out| {
        let summary = Summary::of(report);
        if json {
            let doc = ReportJson {
                provider,
                dry_run,
                report,
                summary,
            };
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            return writeln!(out);
        }
        table(out, provider, report, dry_run, summary)
    })
}

fn table(
    out: &mut impl Write,
    provider: &str,
    report: &SyncReport,
    dry_run: bool,
    summary: Summary,
) -> io::Result<()> {
    let colour = use_colour(&io::stdout());
    let heading = if dry_run { "Plan" } else { "Sync" };
    writeln!(
        out,
        "{heading} ({provider}): {} -> {}",
        escape(&report.source),
        escape(&report.target)
    )?;
    let width = report
        .actions()
        .map(|(key, _)| shown_key(key).1)
        .max()
        .unwrap_or(0)
        .min(MAX_KEY_WIDTH);
    let padding = " ".repeat(width);
    // Written piece by piece into the buffer: `format!` padding for each of 100,000 keys showed
    // in profiles. A key is only copied when it has characters to escape.
    for (key, action) in report.actions() {
        let (start, sign) = row_start(action, colour);
        let (key, shown) = shown_key(key);
        out.write_all(start.as_bytes())?;
        out.write_all(sign.as_bytes())?;
        out.write_all(key.as_bytes())?;
        out.write_all(&padding.as_bytes()[shown.min(width)..])?;
        out.write_all(b"  ")?;
        out.write_all(action.as_str().as_bytes())?;
        out.write_all(if colour { b"\x1b[0m\n" } else { b"\n" })?;
    }
    let Summary {
        added,
        changed,
        unchanged,
        removed,
        skipped,
        set,
        failed,
        unknown,
    } = summary;
    for note in &report.notes {
        writeln!(out, "note: {note}")?;
    }
    write!(
        out,
        "{added} added, {changed} changed, {unchanged} unchanged, {removed} removed"
    )?;
    if skipped > 0 {
        write!(out, ", {skipped} skipped")?;
    }
    if set > 0 {
        write!(out, ", {set} set")?;
    }
    if failed > 0 {
        write!(out, ", {failed} failed")?;
    }
    if unknown > 0 {
        write!(out, ", {unknown} unknown")?;
    }
    if dry_run {
        writeln!(out, "; dry run: nothing was written.")
    } else if unknown > 0 && !report.written {
        // Calls stopped before they finished may have written.
        writeln!(
            out,
            "; whether anything was written to {} is unknown.",
            escape(&report.target)
        )
    } else if report.written {
        writeln!(out, "; wrote {}.", escape(&report.target))
    } else if failed > 0 || skipped > 0 {
        // Keys that failed or were not started: the target is not up to date.
        writeln!(out, "; nothing was written to {}.", escape(&report.target))
    } else {
        writeln!(out, "; {} is up to date.", escape(&report.target))
    }
}

/// What starts the row of a key with `action`: its colour on a terminal, then the indent and
/// the sign.
fn row_start(action: Action, colour: bool) -> (&'static str, &'static str) {
    let (code, sign) = match action {
        Action::Added | Action::Set => ("\x1b[32m", "  + "),
        Action::Failed => ("\x1b[1;31m", "  ! "),
        Action::Unknown => ("\x1b[33m", "  ? "),
        Action::Changed => ("\x1b[33m", "  ~ "),
        Action::Removed => ("\x1b[31m", "  - "),
        Action::Unchanged | Action::Skipped => ("\x1b[2m", "    "),
    };
    (if colour { code } else { "" }, sign)
}
