//! A fake `encore` CLI for the provider's tests: `encore secret set` and `encore secret list`,
//! behaving as the real one does where the provider can tell.
//!
//! - The app is found by walking up from the working directory to `encore.app`.
//! - `secret set (--type|-t) <types> | (--env|-e) <envs> <KEY>` reads the value from stdin and
//!   strips every trailing `\r`/`\n`. A key's values form groups of environment types (or named
//!   environments); a selection equal to a group replaces its value, one that overlaps a group
//!   without being equal fails with Encore's conflict error.
//! - Every failure is `error: …` on stderr and exit status 1.
//!
//! What it does is controlled by `<app>/fake-encore.json` (all optional):
//! `{"logged_in": true, "linked": true, "delay_ms": 0, "delay_ms_for": {"KEY": 100},
//!   "fail": {"KEY": "message, {value} replaced by the value read"}, "hang": ["KEY"],
//!   "echo": {"KEY": "go"}, "hang_after_store": ["KEY"], "hold_stderr": ["KEY"],
//!   "flood_stderr": 5000000}`.
//!
//! - `echo` fails, saying the value in one form: `raw`, `trimmed`, `go` (`%q`), `go_ascii`
//!   (`%+q`), `json`, `json_ascii`, `shell` (POSIX single quotes), `bash` (`printf %q`), `lines`
//!   (each line of the value on a line of its own).
//! - `hang_after_store` stores the value, then hangs, as the real CLI may while it refreshes its
//!   daemon; `hold_stderr` stores it and exits 0, leaving a process (`sleep 30`, its pid in
//!   `<app>/fake-encore/held/<KEY>`) holding stderr open.
//! - `flood_stderr` writes that many bytes of `noise <value>` lines, then fails.
//!
//! What it saw is recorded under `<app>/fake-encore/`: `calls/<pid>.json` (argv, working
//! directory, environment, stdin, how many calls were running when it started, its process group
//! and its parent's), written before
//! it waits, hangs or fails; `secrets/<KEY>.json` (the groups); `running/<pid>` while it runs.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use std::{env, fs, thread};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

const TYPES: [&str; 4] = ["production", "development", "local", "preview"];

fn canonical_type(name: &str) -> Option<&'static str> {
    Some(match name {
        "production" | "prod" => "production",
        "development" | "dev" => "development",
        "local" => "local",
        "preview" | "pr" | "ephemeral" => "preview",
        _ => return None,
    })
}

fn find_app() -> Result<PathBuf, String> {
    let cwd = env::current_dir().map_err(|e| e.to_string())?;
    cwd.ancestors()
        .find(|dir| dir.join("encore.app").is_file())
        .map(Path::to_owned)
        .ok_or_else(|| {
            "no encore.app found in directory (or any of the parent directories)".to_owned()
        })
}

fn control(app: &Path) -> Value {
    fs::read_to_string(app.join("fake-encore.json"))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_else(|| json!({}))
}

fn check_login(control: &Value) -> Result<(), String> {
    if control["logged_in"] == json!(false) {
        return Err("not logged in: run 'encore auth login' first".to_owned());
    }
    if control["linked"] == json!(false) {
        return Err(
            "app is not linked with the Encore Platform (see 'encore app link')".to_owned(),
        );
    }
    Ok(())
}

fn run() -> Result<(), String> {
    let args: Vec<String> = env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["secret", "set", rest @ ..] => set(rest),
        ["secret", "list"] => list(),
        _ => Err(format!("unknown command {args:?}")),
    }
}

/// The selection of a `secret set`: environment types, or named environments.
enum Selection {
    Types(Vec<String>),
    Envs(Vec<String>),
}

fn parse_set(args: &[&str]) -> Result<(Selection, String), String> {
    let mut types = None;
    let mut envs = None;
    let mut keys = Vec::new();
    let mut args = args.iter();
    while let Some(&arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with('-') => (flag, Some(value)),
            _ => (arg, None),
        };
        let mut value = || {
            inline
                .or_else(|| args.next().copied())
                .ok_or_else(|| format!("flag needs an argument: {flag}"))
        };
        match flag {
            "--type" | "-t" => types = Some(value()?),
            "--env" | "-e" => envs = Some(value()?),
            f if f.starts_with('-') => return Err(format!("unknown flag: {f}")),
            key => keys.push(key.to_owned()),
        }
    }
    let [key] = <[String; 1]>::try_from(keys)
        .map_err(|keys| format!("accepts 1 arg(s), received {}", keys.len()))?;
    let selection = match (types, envs) {
        (Some(_), Some(_)) => return Err("--type and --env cannot be combined".to_owned()),
        (None, None) => {
            return Err("must specify at least one environment type or environment".to_owned());
        }
        (Some(types), None) => {
            let mut canonical = Vec::new();
            for name in types.split(',') {
                let t = canonical_type(name.trim())
                    .ok_or_else(|| format!("invalid environment type {name:?}"))?;
                if !canonical.contains(&t.to_owned()) {
                    canonical.push(t.to_owned());
                }
            }
            Selection::Types(canonical)
        }
        (None, Some(envs)) => Selection::Envs(envs.split(',').map(str::to_owned).collect()),
    };
    Ok((selection, key))
}

fn set(args: &[&str]) -> Result<(), String> {
    let (selection, key) = parse_set(args)?;
    let app = find_app()?;
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err("this fake reads the value from stdin only".to_owned());
    }
    let mut value = String::new();
    stdin
        .lock()
        .read_to_string(&mut value)
        .map_err(|e| e.to_string())?;
    let raw = value.clone();
    while value.ends_with(['\r', '\n']) {
        value.pop();
    }
    let state = app.join("fake-encore");
    let pid = std::process::id();
    let running = state.join("running");
    fs::create_dir_all(&running).map_err(|e| e.to_string())?;
    fs::write(running.join(pid.to_string()), "").map_err(|e| e.to_string())?;
    let running_now = fs::read_dir(&running).map_or(0, Iterator::count);
    let calls = state.join("calls");
    fs::create_dir_all(&calls).map_err(|e| e.to_string())?;
    let record = json!({
        "pid": pid,
        "argv": env::args().collect::<Vec<_>>(),
        "cwd": env::current_dir().map_err(|e| e.to_string())?,
        "env": env::vars_os()
            .map(|(k, v)| (k.to_string_lossy().into_owned(), v.to_string_lossy().into_owned()))
            .collect::<BTreeMap<_, _>>(),
        "stdin": raw,
        "running": running_now,
        "process_group": process_group("self"),
        "parent_process_group": process_group(&std::os::unix::process::parent_id().to_string()),
    });
    // Written whole, then renamed: a test that reads the calls never sees half a record.
    let partial = calls.join(format!(".{pid}.json.tmp"));
    fs::write(&partial, record.to_string()).map_err(|e| e.to_string())?;
    fs::rename(&partial, calls.join(format!("{pid}.json"))).map_err(|e| e.to_string())?;
    let outcome = set_value(&app, &state, &selection, &key, &value);
    let _ = fs::remove_file(running.join(pid.to_string()));
    outcome
}

/// The process group of a process, from `/proc` (Linux).
fn process_group(pid: &str) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(')')
        .next()?
        .split_whitespace()
        .nth(2)?
        .parse()
        .ok()
}

fn set_value(
    app: &Path,
    state: &Path,
    selection: &Selection,
    key: &str,
    value: &str,
) -> Result<(), String> {
    let control = control(app);
    let delay = control["delay_ms_for"][key]
        .as_u64()
        .or_else(|| control["delay_ms"].as_u64())
        .unwrap_or(0);
    thread::sleep(Duration::from_millis(delay));
    check_login(&control)?;
    if control["hang"]
        .as_array()
        .is_some_and(|keys| keys.contains(&json!(key)))
    {
        loop {
            thread::sleep(Duration::from_secs(3600));
        }
    }
    if let Some(bytes) = control["flood_stderr"].as_u64() {
        // Far more than a pipe holds: a caller that waits before reading would hang.
        let line = format!("noise {value}\n");
        let mut stderr = std::io::stderr().lock();
        let mut written = 0;
        while written < bytes {
            std::io::Write::write_all(&mut stderr, line.as_bytes()).map_err(|e| e.to_string())?;
            written += line.len() as u64;
        }
        return Err("flooded".to_owned());
    }
    if let Some(message) = control["fail"][key].as_str() {
        return Err(message.replace("{value}", value));
    }
    if let Some(form) = control["echo"][key].as_str() {
        return Err(echo(form, value));
    }
    let secrets = state.join("secrets");
    fs::create_dir_all(&secrets).map_err(|e| e.to_string())?;
    let file = secrets.join(format!("{key}.json"));
    let mut groups: Vec<Value> = fs::read_to_string(&file)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let (field, names) = match selection {
        Selection::Types(types) => ("types", types),
        Selection::Envs(envs) => ("envs", envs),
    };
    let names_of = |group: &Value| -> Vec<String> {
        group[field]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|n| n.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let same = |group: &Value| {
        let theirs = names_of(group);
        theirs.len() == names.len() && names.iter().all(|n| theirs.contains(n))
    };
    if let Some(group) = groups.iter_mut().find(|g| same(g)) {
        group["value"] = json!(value);
    } else if groups
        .iter()
        .any(|g| names_of(g).iter().any(|n| names.contains(n)))
    {
        return Err("the environment selection conflicts with other secret values".to_owned());
    } else {
        groups.push(json!({ field: names, "value": value }));
    }
    fs::write(&file, Value::from(groups).to_string()).map_err(|e| e.to_string())?;
    println!("Successfully updated secret value for {key}.");
    let listed = |name: &str| {
        control[name]
            .as_array()
            .is_some_and(|keys| keys.contains(&json!(key)))
    };
    if listed("hang_after_store") {
        loop {
            thread::sleep(Duration::from_secs(3600));
        }
    }
    if listed("hold_stderr") {
        let held = std::process::Command::new("sleep")
            .arg("30")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        let dir = state.join("held");
        fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        fs::write(dir.join(key), held.id().to_string()).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// An error that says `value` in `form` (see the module).
fn echo(form: &str, value: &str) -> String {
    match form {
        "raw" => format!("invalid value {value}"),
        "trimmed" => format!("invalid value '{}'", value.trim()),
        "go" => format!("invalid value {}", go_quote(value, false)),
        "go_ascii" => format!("invalid value {}", go_quote(value, true)),
        "json" => format!(
            "{{\"error\": \"invalid\", \"value\": {}}}",
            json_quote(value, false)
        ),
        "json_ascii" => format!("{{\"value\":{}}}", json_quote(value, true)),
        "shell" => format!(
            "command failed: set-secret '{}'",
            value.replace('\'', "'\\''")
        ),
        "bash" => format!("command failed: set-secret {}", bash_quote(value)),
        "lines" => {
            let lines: Vec<String> = value.lines().map(|l| format!("  | {l}")).collect();
            format!("invalid value:\n{}", lines.join("\n"))
        }
        other => format!("unknown echo form {other}"),
    }
}

/// Go's `strconv.Quote` (`%q`), or `QuoteToASCII` (`%+q`).
fn go_quote(value: &str, ascii: bool) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if (c.is_ascii() || !ascii)
                && !c.is_control()
                && (c == ' ' || !c.is_whitespace()) =>
            {
                out.push(c);
            }
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// A JSON string as Go's `encoding/json` writes it (`<`, `>`, `&` escaped), or with every
/// character outside ASCII escaped, in surrogate pairs where needed.
fn json_quote(value: &str, ascii: bool) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || matches!(c, '<' | '>' | '&') || (ascii && !c.is_ascii()) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// bash's `printf %q`: `$'…'` when the value holds a control character, backslashes otherwise.
fn bash_quote(value: &str) -> String {
    if value.chars().any(char::is_control) {
        let mut out = String::from("$'");
        for c in value.chars() {
            match c {
                '\'' => out.push_str("\\'"),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if c.is_ascii_control() => out.push_str(&format!("\\{:03o}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('\'');
        return out;
    }
    let mut out = String::new();
    for c in value.chars() {
        if !(c.is_alphanumeric() || "_-./:@%+,=".contains(c)) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn list() -> Result<(), String> {
    let app = find_app()?;
    check_login(&control(&app))?;
    let mut rows = Vec::new();
    if let Ok(entries) = fs::read_dir(app.join("fake-encore/secrets")) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(key) = name.strip_suffix(".json") else {
                continue;
            };
            let groups: Vec<Value> = fs::read_to_string(entry.path())
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default();
            let has = |t: &str| {
                groups
                    .iter()
                    .any(|g| g["types"].as_array().is_some_and(|a| a.contains(&json!(t))))
            };
            let envs: Vec<&str> = groups
                .iter()
                .filter_map(|g| g["envs"].as_array())
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let marks: Vec<&str> = TYPES
                .iter()
                .map(|t| if has(t) { "✓" } else { "✗" })
                .collect();
            rows.push((key.to_owned(), marks, envs.join(",")));
        }
    }
    rows.sort();
    println!("Secret Key\tProduction\tDevelopment\tLocal\tPreview\tSpecific Envs");
    for (key, marks, envs) in rows {
        println!("{key}\t{}\t{envs}", marks.join("\t"));
    }
    Ok(())
}
