//! Interruption (Ctrl-C, SIGTERM, SIGHUP) coordinated with work that must not be cut short.
//!
//! A provider holds a [`Guard`] exactly while stopping would leave something behind: a temporary
//! copy of the secrets next to the target, a child process half-way through a call. Outside a
//! guard, the program that handles the signal ends the process at once (a sync stuck reading a
//! FIFO stops immediately); inside one, the interruption is recorded, [`requested`] resolves so
//! that the provider can stop early where it can (kill its children, report what was done), and
//! the program exits once the sync has returned.
//!
//! ```
//! use stagecraft_core::interrupt;
//!
//! let guard = interrupt::hold();
//! // … create the temporary file, write it, rename it over the target …
//! drop(guard);
//! assert!(!interrupt::is_requested());
//! ```

use std::sync::{Mutex, MutexGuard};
use tokio::sync::Notify;

struct State {
    /// Guards alive now.
    held: usize,
    /// An interruption arrived while a guard was held.
    requested: bool,
}

static STATE: Mutex<State> = Mutex::new(State {
    held: 0,
    requested: false,
});
static REQUESTED: Notify = Notify::const_new();

fn state() -> MutexGuard<'static, State> {
    // The lock is never held across code that can panic.
    STATE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// While alive, an interruption is recorded instead of ending the process.
#[derive(Debug)]
#[must_use = "the interruption is held only while the guard lives"]
pub struct Guard(());

/// Holds interruptions until the returned guard is dropped. Guards nest.
///
/// When the process is already ending because of an interruption, this never returns: the
/// work it would protect must not start.
pub fn hold() -> Guard {
    state().held += 1;
    Guard(())
}

impl Drop for Guard {
    fn drop(&mut self) {
        state().held -= 1;
    }
}

/// Whether an interruption arrived while a guard was held.
pub fn is_requested() -> bool {
    state().requested
}

/// Resolves once an interruption has been requested; for work inside a guard that can stop early.
pub async fn requested() {
    loop {
        let notified = REQUESTED.notified();
        let mut notified = core::pin::pin!(notified);
        notified.as_mut().enable();
        if is_requested() {
            return;
        }
        notified.await;
    }
}

/// Called by the program's signal handler: when no guard is held, runs `exit` (which ends the
/// process) with the state locked, so that no guard can be taken while the process ends;
/// otherwise records the request, wakes [`requested`], and returns.
pub fn interrupt(exit: fn() -> !) {
    let mut state = state();
    if state.held == 0 {
        exit();
    }
    state.requested = true;
    drop(state);
    REQUESTED.notify_waiters();
}
