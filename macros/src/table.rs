//! `include_providers!`'s table: the scan of the crate's module tree from the file that invokes
//! it, and the provider crates its build script found.

use proc_macro2::TokenStream;
use quote::quote;
use stagecraft_codegen::{Manifest, PackageFile, render, same_file, scan};
use std::path::{Path, PathBuf};
use std::{env, fs, thread};

/// The `provider_table!` call for the crate being compiled, or a `compile_error!` saying what is
/// missing. `root` is the file that invokes `include_registry!` (as rustc names it), when known;
/// else the crate root is told by what cargo sets for the target being built.
pub(crate) fn generated_table(root: Option<PathBuf>) -> TokenStream {
    match table_text(root) {
        Ok(text) => text.parse().unwrap_or_else(|e| {
            let message = format!("stagecraft: the generated provider table does not parse: {e}");
            quote!(::core::compile_error!(#message);)
        }),
        Err(message) => quote!(::core::compile_error!(#message);),
    }
}

fn table_text(root: Option<PathBuf>) -> Result<String, String> {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").ok_or(
        "`include_providers!` is for crates that cargo builds (CARGO_MANIFEST_DIR is not set)",
    )?);
    let out_dir = env::var_os("OUT_DIR").map(PathBuf::from);
    let package = out_dir
        .map(|dir| dir.join(stagecraft_codegen::PACKAGE_FILE))
        .and_then(|path| fs::read_to_string(path).ok())
        .map(|text| PackageFile::parse(&text))
        .ok_or(
            "`include_providers!` and `include_registry!` need the provider crates that `stagecraft_codegen::generate()` finds from build.rs: add `fn main() { stagecraft_codegen::generate(); }` to build.rs and `stagecraft-codegen` to [build-dependencies]",
        )?;
    // The package's targets are read afresh at each compile: the build script reruns only when
    // Cargo.toml changes, so a library, binary or example added since would be missing from
    // what it could have written.
    let manifest = Manifest::read(&manifest_dir)?;
    let root = match root {
        Some(root) => env::current_dir()
            .map(|dir| dir.join(&root))
            .unwrap_or(root),
        None => crate_root(&manifest)?,
    };
    // The library itself, or its unit tests.
    let is_lib = manifest
        .lib
        .as_ref()
        .is_some_and(|(_, lib_root)| same_file(lib_root, &root));
    let mut dependencies = package.dependencies;
    match &manifest.lib {
        // A binary, example, test or bench of a package with a library: the library's table
        // is carried, when it declares one.
        Some((lib, lib_root)) if !is_lib && declares_table(lib_root) => {
            dependencies.push(lib.clone())
        }
        _ => {}
    }
    let relative = root.strip_prefix(&manifest_dir).unwrap_or(&root).to_owned();
    let found = scan_on_large_stack(manifest_dir, relative)?;
    if is_lib && !package.links && (!found.is_empty() || !dependencies.is_empty()) {
        return Err(
            "this library declares secrets providers (or carries those of its dependencies), but its Cargo.toml sets no `links`, so the crates that depend on it cannot find them: add `links = \"<package>-secrets-providers\"` (any name unique in the dependency graph) to [package]".to_owned(),
        );
    }
    Ok(render(&found, &dependencies))
}

/// The root file of the crate being compiled: the binary or example cargo names in
/// `CARGO_BIN_NAME`, else the library.
fn crate_root(manifest: &Manifest) -> Result<PathBuf, String> {
    let not_found = || {
        "`include_providers!` cannot tell which file is the crate root here (a test, or a target cargo did not name): declare the registry with `include_registry!(static NAME)`, which can, or list the providers with `provider_table!`".to_owned()
    };
    match env::var("CARGO_BIN_NAME") {
        Ok(name) => manifest
            .binary(&name)
            .map(Path::to_owned)
            .ok_or_else(not_found),
        Err(_) if env::var_os("CARGO_TARGET_TMPDIR").is_some() => Err(not_found()),
        Err(_) => manifest
            .lib
            .as_ref()
            .map(|(_, root)| root.clone())
            .ok_or_else(not_found),
    }
}

/// Scans on a thread with a large stack: `syn` parses nested expressions recursively, and
/// rustc accepts deeper nesting than a default stack holds.
///
/// The compiler's token API works only on the thread it calls the macro on, so `proc_macro2`
/// is told to use its own implementation while the scan runs (this thread waits meanwhile).
fn scan_on_large_stack(
    manifest_dir: PathBuf,
    root: PathBuf,
) -> Result<Vec<stagecraft_codegen::Provider>, String> {
    proc_macro2::fallback::force();
    let found = thread::Builder::new()
        .name("stagecraft-scan".into())
        .stack_size(256 << 20)
        .spawn(move || scan(&manifest_dir, &root).providers)
        .and_then(|handle| handle.join().map_err(|_| std::io::Error::other("panicked")));
    proc_macro2::fallback::unforce();
    found.map_err(|e| format!("stagecraft: the scan of the module tree failed: {e}"))
}

/// Whether the crate root at `path` declares a provider table (`include_providers!`,
/// `include_registry!` or `provider_table!` at its top level).
fn declares_table(path: &Path) -> bool {
    let Ok(text) = fs::read_to_string(path) else {
        return false;
    };
    let Ok(file) = syn::parse_file(&text) else {
        return false;
    };
    file.items.iter().any(|item| match item {
        syn::Item::Macro(m) => m.mac.path.segments.last().is_some_and(|s| {
            s.ident == "include_providers"
                || s.ident == "include_registry"
                || s.ident == "provider_table"
        }),
        _ => false,
    })
}
