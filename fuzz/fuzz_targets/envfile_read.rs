//! The env file reader on arbitrary input: it must never panic or hang, and whatever it reads
//! must survive a write and a second read unchanged.
//!
//! Run with `RUSTC_BOOTSTRAP=1 cargo fuzz run envfile_read -- -max_total_time=600 -timeout=5`
//! (cargo-fuzz needs nightly flags; the bootstrap variable lets the stable compiler take them).
#![no_main]

use libfuzzer_sys::fuzz_target;
use stagecraft_providers::envfile::{read_str, write_string};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(values) = read_str(text) else { return };
    let Ok(written) = write_string(values.iter().map(|(k, v)| (k.as_str(), v.as_str()))) else { return };
    assert_eq!(read_str(&written).ok(), Some(values), "round trip of {written:?}");
});
