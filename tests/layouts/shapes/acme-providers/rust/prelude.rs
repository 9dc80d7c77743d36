//! The attribute under another name, reached elsewhere through a glob import.
pub use stagecraft_core::secrets_provider as provider;
