//! `stagecraft completions SHELL` prints a completion script that knows the subcommands and
//! their flags; bash checks the syntax of its own (the other shells when they are installed).

use std::process::Command;

fn completions(shell: &str) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_stagecraft"))
        .args(["completions", shell])
        .output()
        .unwrap();
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).unwrap();
    (
        out.status.code().unwrap(),
        text(out.stdout),
        text(out.stderr),
    )
}

/// Whether `shell` is installed, to check a script's syntax with it.
fn installed(shell: &str) -> bool {
    Command::new(shell)
        .args(["-c", "exit 0"])
        .output()
        .is_ok_and(|out| out.status.success())
}

#[test]
fn every_shell_gets_a_script_with_the_subcommands_and_flags() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let (code, script, stderr) = completions(shell);
        assert_eq!((code, stderr.as_str()), (0, ""), "{shell}");
        for word in [
            "secrets",
            "sync",
            "providers",
            "validate",
            "schema",
            "dry-run",
            "keys",
        ] {
            assert!(script.contains(word), "{shell}: no {word} in\n{script}");
        }
    }
}

#[test]
fn the_scripts_parse_in_their_shells() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = Vec::new();
    for (shell, check) in [("bash", "-n"), ("zsh", "-n"), ("fish", "--no-execute")] {
        if !installed(shell) {
            continue;
        }
        let (_, script, _) = completions(shell);
        let file = dir.path().join(shell);
        std::fs::write(&file, script).unwrap();
        let out = Command::new(shell).arg(check).arg(&file).output().unwrap();
        assert!(
            out.status.success(),
            "{shell}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        checked.push(shell);
    }
    // bash comes with every machine the project is tested on.
    assert!(checked.contains(&"bash"), "bash is not installed");
}

#[test]
fn an_unknown_shell_is_a_usage_error_listing_the_shells() {
    let (code, stdout, stderr) = completions("tcsh");
    assert_eq!(code, 1);
    assert_eq!(stdout, "");
    assert!(
        stderr.contains("[possible values: bash, elvish, fish, powershell, zsh]"),
        "{stderr}"
    );
}
