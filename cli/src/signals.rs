//! Ctrl-C (SIGINT), SIGTERM and SIGHUP, handled on a thread of their own and handed to
//! [`stagecraft_core::interrupt`]: while no provider holds an `interrupt::Guard` (nothing would
//! be left behind) the process ends at once with exit code 130, even when the main thread is
//! stuck reading a FIFO; while one does, the request is recorded and the run returns 130 once
//! the sync has returned. The thread is started by the first run that asks for it and stays for
//! the life of the process: signal-hook cannot give a signal its default action back. SIGXFSZ
//! is caught and ignored, so that exceeding the file-size limit is a write error like a full
//! disk.

#[cfg(unix)]
use stagecraft_core::interrupt;

/// Starts the signal thread, unless an earlier run did. From then on the three signals no longer
/// end the process by themselves.
#[cfg(unix)]
pub(crate) fn install() -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGXFSZ};
    use std::sync::atomic::{AtomicBool, Ordering};
    // Runs take turns, so no two of them are here at once.
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if INSTALLED.load(Ordering::SeqCst) {
        return Ok(());
    }
    // A write past the file-size limit (`ulimit -f`) would kill the process without a word and
    // leave what it was writing; caught, the signal is harmless and the write fails with
    // `EFBIG` ("File too large"), which the sync reports (exit 2) after cleaning up.
    signal_hook::flag::register(SIGXFSZ, std::sync::Arc::default())?;
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new()
        .name("signals".to_owned())
        .spawn(move || {
            for _ in signals.forever() {
                interrupt::interrupt(exit_interrupted);
            }
        })?;
    INSTALLED.store(true, Ordering::SeqCst);
    Ok(())
}

/// Elsewhere the platform's default handling stays.
#[cfg(not(unix))]
pub(crate) fn install() -> std::io::Result<()> {
    Ok(())
}

/// Ends the process at once: nothing is under way that stopping would leave half done.
#[cfg(unix)]
fn exit_interrupted() -> ! {
    crate::output::fail(&crate::Failure::Interrupted { completed: false });
    std::process::exit(crate::EXIT_INTERRUPTED)
}
