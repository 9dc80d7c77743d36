//! Ctrl-C during a push: the children are stopped, and the report says which keys were set,
//! which may be, and which were not started.
//! In a file of its own, since an interruption is recorded for the whole process.

mod common;

use common::{App, actions, is_running, sync, wait_until};
use stagecraft_core::{SyncOptions, interrupt};

fn exit() -> ! {
    // The sync holds a guard while its children run, so the process must not end here.
    std::process::exit(99)
}

#[test]
fn an_interruption_stops_the_children_and_reports_what_was_set() {
    let app = App::new("A=1\nB=2\nC=3\nD=4\n");
    // B is stored, then its call hangs (the real CLI refreshes its daemon after storing).
    app.control(r#"{"hang": ["C"], "hang_after_store": ["B"]}"#);
    let calls = {
        let path = app.path().to_owned();
        std::thread::spawn(move || {
            let count =
                || std::fs::read_dir(path.join("fake-encore/calls")).map_or(0, Iterator::count);
            let stored = || path.join("fake-encore/secrets/B.json").exists();
            wait_until("A, B and C have started, B stored", || {
                count() >= 3 && stored()
            });
            interrupt::interrupt(exit);
        })
    };
    let report = sync(SyncOptions::new(app.config("concurrency: 2"))).unwrap();
    calls.join().unwrap();
    assert_eq!(
        actions(&report),
        [
            ("A", "set"),
            ("B", "unknown"),
            ("C", "unknown"),
            ("D", "skipped")
        ]
        .map(|(k, a)| (k.to_owned(), a.to_owned()))
    );
    assert_eq!(
        report.notes,
        [
            "interrupted: keys marked skipped were not started; keys marked unknown were being set when the sync stopped, and may be set"
        ]
    );
    for key in ["B", "C"] {
        let pid = app.call_for(key)["pid"].as_u64().unwrap();
        assert!(
            !is_running(pid),
            "{key}'s call was stopped before the sync returned"
        );
    }
    assert_eq!(app.calls().len(), 3, "D was never started");
    // A terminal's Ctrl-C goes to the foreground process group: the children are not in it,
    // so that the sync, not the signal, decides how they stop.
    let call = app.call_for("A");
    assert!(call["process_group"].is_u64());
    assert_ne!(call["process_group"], call["parent_process_group"]);
    // B's call had stored it: `unknown`, not `not set`, was the truth.
    assert_eq!(app.groups("B")[0]["value"], "2");
    assert!(app.groups("C").is_null() && app.groups("D").is_null());
}
