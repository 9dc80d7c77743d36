//! What the CLI prints: the plan/result table (coloured on a terminal), JSON documents, the
//! provider list and errors. Values never reach any of them: a report holds keys and actions only.

use serde::Serialize;
use stagecraft_core::{Action, Registry, SyncReport};
use std::io::{self, BufWriter, IsTerminal, Write};

/// `error: …` followed by the error's causes, on stderr.
pub(crate) fn print_error(error: &(dyn std::error::Error + '_)) {
    let (red, reset) = if use_colour(&std::io::stderr()) {
        ("\x1b[1;31m", "\x1b[0m")
    } else {
        ("", "")
    };
    eprintln!("{red}error{reset}: {error}");
    let mut cause = error.source();
    while let Some(error) = cause {
        eprintln!("  caused by: {error}");
        cause = error.source();
    }
}

/// `warning: …` on stderr.
pub(crate) fn print_warning(warning: &dyn std::fmt::Display) {
    let (yellow, reset) = if use_colour(&std::io::stderr()) {
        ("\x1b[1;33m", "\x1b[0m")
    } else {
        ("", "")
    };
    eprintln!("{yellow}warning{reset}: {warning}");
}

fn use_colour(stream: &impl IsTerminal) -> bool {
    stream.is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

#[derive(Serialize)]
struct ProviderJson<'a> {
    id: &'a str,
    description: &'a str,
}

/// The registered providers, in ID order.
pub(crate) fn providers(registry: &Registry, json: bool) {
    let providers: Vec<ProviderJson<'_>> = registry
        .list()
        .map(|p| ProviderJson {
            id: p.id(),
            description: p.description(),
        })
        .collect();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&providers).expect("provider list serializes")
        );
        return;
    }
    let width = providers.iter().map(|p| p.id.len()).max().unwrap_or(0);
    for p in &providers {
        println!("{:width$}  {}", p.id, p.description);
    }
}

#[derive(Serialize)]
struct Summary {
    added: usize,
    changed: usize,
    unchanged: usize,
    removed: usize,
    skipped: usize,
}

impl Summary {
    fn of(report: &SyncReport) -> Self {
        Summary {
            added: report.count(Action::Added),
            changed: report.count(Action::Changed),
            unchanged: report.count(Action::Unchanged),
            removed: report.count(Action::Removed),
            skipped: report.count(Action::Skipped),
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
    // One line a key: buffered, since stdout alone flushes every line.
    let mut out = BufWriter::new(io::stdout().lock());
    let summary = Summary::of(report);
    if json {
        let doc = ReportJson {
            provider,
            dry_run,
            report,
            summary,
        };
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
        return out.flush();
    }
    let colour = use_colour(&io::stdout());
    let heading = if dry_run { "Plan" } else { "Sync" };
    writeln!(
        out,
        "{heading} ({provider}): {} -> {}",
        report.source, report.target
    )?;
    let width = report
        .changes
        .iter()
        .map(|c| c.key.len())
        .max()
        .unwrap_or(0);
    let padding = " ".repeat(width);
    // Written piece by piece: `format!` padding for each of 100,000 keys showed in profiles.
    for change in &report.changes {
        let (sign, code) = match change.action {
            Action::Added => ("+", "32"),
            Action::Changed => ("~", "33"),
            Action::Removed => ("-", "31"),
            Action::Unchanged | Action::Skipped => (" ", "2"),
        };
        if colour {
            write!(out, "\x1b[{code}m")?;
        }
        out.write_all(b"  ")?;
        out.write_all(sign.as_bytes())?;
        out.write_all(b" ")?;
        out.write_all(change.key.as_bytes())?;
        out.write_all(&padding.as_bytes()[change.key.len()..])?;
        out.write_all(b"  ")?;
        out.write_all(change.action.as_str().as_bytes())?;
        out.write_all(if colour { b"\x1b[0m\n" } else { b"\n" })?;
    }
    let Summary {
        added,
        changed,
        unchanged,
        removed,
        skipped,
    } = summary;
    write!(
        out,
        "{added} added, {changed} changed, {unchanged} unchanged, {removed} removed"
    )?;
    if skipped > 0 {
        write!(out, ", {skipped} skipped")?;
    }
    if dry_run {
        writeln!(out, "; dry run: nothing was written.")?;
    } else if report.written {
        writeln!(out, "; wrote {}.", report.target)?;
    } else {
        writeln!(out, "; {} is up to date.", report.target)?;
    }
    out.flush()
}
