//! python-dotenv, the reference reader, run from the tests: pinned to the version the dialect
//! follows. Each call runs one python process over many files, to stay fast.

use std::io::Write;
use std::process::{Command, Stdio};

/// The python-dotenv version the dialect follows (`scripts/test` installs exactly this one).
const PYTHON_DOTENV: &str = "1.2.4";

/// Runs `script` (which has `json`, `sys` and python-dotenv imported and reads its input with
/// `json.load(sys.stdin)`) with `input` as JSON, and parses what it prints as JSON. `None` when
/// python-dotenv 1.2.4 is not installed; CI sets STAGECRAFT_REQUIRE_PYTHON_DOTENV=1 to make that
/// a failure instead of a skip.
pub(crate) fn run_python<I: serde::Serialize, O: serde::de::DeserializeOwned>(
    script: &str,
    input: &I,
) -> Option<O> {
    let version = Command::new("python3")
        .args([
            "-c",
            "from dotenv.version import __version__; print(__version__)",
        ])
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if version.as_deref() != Some(PYTHON_DOTENV) {
        assert!(
            std::env::var_os("STAGECRAFT_REQUIRE_PYTHON_DOTENV").is_none(),
            "python-dotenv {PYTHON_DOTENV} is required (pip install 'python-dotenv=={PYTHON_DOTENV}'); found {version:?}"
        );
        // Once per test program, on the terminal: the test harness captures `eprintln!` of a
        // passing test, so cargo would hide it.
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            let _ = writeln!(
                std::io::stderr(),
                "\nwarning: the python-dotenv cross-checks are SKIPPED: python-dotenv {PYTHON_DOTENV} is not installed (found {version:?}; scripts/test installs it)\n"
            );
        });
        return None;
    }
    let prelude = "import json, sys, os, logging\nlogging.disable(logging.CRITICAL)\nfrom dotenv import dotenv_values\nfrom dotenv.parser import parse_stream\n";
    let mut child = Command::new("python3")
        .args(["-c", &format!("{prelude}{script}")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut stdin = child.stdin.take().unwrap();
    let input = serde_json::to_vec(input).unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(output.status.success(), "the python-dotenv script failed");
    Some(serde_json::from_slice(&output.stdout).expect("the python-dotenv script prints JSON"))
}
