use stagecraft_core::secrets_provider;

#[secrets_provider("envfile")]
pub enum EnvFile {
    Local,
}

#[secrets_provider("encore")]
pub fn encore() {}

stagecraft_core::provider_table!();

fn main() {
    let _ = EnvFile::Local;
    encore();
}
