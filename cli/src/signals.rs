//! Ctrl-C or SIGTERM in the middle of a write would kill the process between creating a
//! provider's temporary file (a copy of the secrets) and renaming it over the target, leaving
//! the copy behind. So while a sync runs the two signals are held; once it returns they are
//! honoured with exit code 130.

#[cfg(unix)]
use tokio::signal::unix::{Signal, SignalKind, signal};

/// SIGINT and SIGTERM, caught from creation on.
#[cfg(unix)]
pub(crate) struct Held {
    interrupt: Signal,
    terminate: Signal,
}

#[cfg(unix)]
impl Held {
    /// Starts holding the signals. Must be called inside the Tokio runtime.
    pub(crate) fn new() -> std::io::Result<Self> {
        Ok(Held {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// Whether either signal arrived since [`Held::new`]; does not wait.
    pub(crate) async fn arrived(&mut self) -> bool {
        // Lets the runtime poll its signal driver, which a sync that never yields did not.
        tokio::task::yield_now().await;
        tokio::select! {
            biased;
            Some(()) = self.interrupt.recv() => true,
            Some(()) = self.terminate.recv() => true,
            () = std::future::ready(()) => false,
        }
    }
}

/// Elsewhere the signals are not held.
#[cfg(not(unix))]
pub(crate) struct Held;

#[cfg(not(unix))]
impl Held {
    pub(crate) fn new() -> std::io::Result<Self> {
        Ok(Held)
    }

    pub(crate) async fn arrived(&mut self) -> bool {
        false
    }
}
