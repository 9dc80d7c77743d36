pub mod bao;
pub mod proxy;
