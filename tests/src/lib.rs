//! Compile-error tests (`tests/ui`) and fixture crates (`fixtures/`) of Stagecraft secrets. This
//! crate has no code of its own.
