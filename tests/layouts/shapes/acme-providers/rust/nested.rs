//! A module file chosen by nested `cfg_attr`s.
#[cfg_attr(all(), cfg_attr(all(), path = "nested_real.rs"))]
pub mod inner;
