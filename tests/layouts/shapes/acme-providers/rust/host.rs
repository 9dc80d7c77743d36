//! A non-mod-rs file with an inline module whose `#[path]` rustc reads relative to this file's
//! directory: `m::deep` is `rust/inl/deep.rs`.
#[path = "inl"]
pub mod m {
    pub mod deep;
}
