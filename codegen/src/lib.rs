//! Generates a crate's secrets provider table from its build script.
//!
//! ```no_run
//! // build.rs
//! stagecraft_codegen::generate();
//! ```
//!
//! and at the crate root, `stagecraft_core::include_providers!();`.
//!
//! [`generate`] walks the module tree from `src/lib.rs` the way rustc does (`mod` files,
//! `mod.rs`, `#[path]`), finds the structs marked `#[secrets_provider("id")]`, copies their `cfg`s
//! (and those of the modules around them) so that rustc evaluates them, sorts by ID and writes
//! `$OUT_DIR/secrets_providers.rs`. Two unconditional providers with one ID become a
//! `compile_error!` naming both places. What the scan cannot see (a provider behind a macro or a
//! `cfg_attr`) is caught by the membership check that the attribute emits.

use proc_macro2::TokenStream;
use quote::quote;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};
use syn::{Attribute, Expr, ExprLit, Item, Lit, LitStr};

/// A provider found by the scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    /// Its ID.
    pub id: String,
    /// Its path from the crate root, such as `crate::envfile::EnvFile`.
    pub path: String,
    /// The file that declares it, relative to the crate's manifest directory.
    pub file: PathBuf,
    /// The line of the declaration.
    pub line: usize,
    /// The `#[cfg(…)]` attributes of the struct and its modules, as source text.
    pub cfgs: Vec<String>,
}

/// Writes `$OUT_DIR/secrets_providers.rs` for the crate whose build script calls it, and tells
/// cargo to rerun the build script when one of the scanned files changes.
///
/// # Panics
/// When `CARGO_MANIFEST_DIR` or `OUT_DIR` is unset (outside a build script), or the file cannot
/// be written: a build script reports failure by panicking.
pub fn generate() {
    let manifest_dir = PathBuf::from(
        env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR is set by cargo"),
    );
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"));
    let scan = scan(&manifest_dir, Path::new("src/lib.rs"));
    for file in &scan.files {
        println!(
            "cargo:rerun-if-changed={}",
            manifest_dir.join(file).display()
        );
    }
    let out = out_dir.join("secrets_providers.rs");
    fs::write(&out, render(&scan.providers))
        .unwrap_or_else(|e| panic!("stagecraft-codegen: cannot write {}: {e}", out.display()));
}

/// What [`scan`] found.
#[derive(Debug, Default)]
pub struct Scan {
    /// The providers, sorted by ID.
    pub providers: Vec<Provider>,
    /// Every source file read, relative to the manifest directory.
    pub files: Vec<PathBuf>,
}

/// Scans the module tree that starts at `root` (relative to `manifest_dir`). A file that is
/// missing or does not parse is skipped: rustc reports it better.
pub fn scan(manifest_dir: &Path, root: &Path) -> Scan {
    let mut scan = Scan::default();
    let mut walker = Walker {
        manifest_dir,
        scan: &mut scan,
    };
    walker.file(root, true, &Module::default());
    scan.providers
        .sort_by(|a, b| a.id.cmp(&b.id).then_with(|| a.path.cmp(&b.path)));
    scan
}

/// The module being walked: its path from the crate root and the `cfg`s around it.
#[derive(Default, Clone)]
struct Module {
    path: Vec<String>,
    cfgs: Vec<String>,
}

struct Walker<'a> {
    manifest_dir: &'a Path,
    scan: &'a mut Scan,
}

impl Walker<'_> {
    /// Walks a module file. Its child modules live in its own directory when it is a "mod-rs"
    /// file (`lib.rs`, `mod.rs`, a `#[path]` file), else in a directory named after it.
    fn file(&mut self, file: &Path, mod_rs: bool, module: &Module) {
        let Ok(text) = fs::read_to_string(self.manifest_dir.join(file)) else {
            return;
        };
        self.scan.files.push(file.to_owned());
        let Ok(ast) = syn::parse_file(&text) else {
            return;
        };
        let dir = file.parent().unwrap_or(Path::new(""));
        let children = if mod_rs {
            dir.to_owned()
        } else {
            dir.join(file.file_stem().unwrap_or_default())
        };
        self.items(&ast.items, file, dir, &children, module);
    }

    /// `dir` is the directory of `file` (for `#[path]`); `children` is where `mod x;` looks.
    fn items(&mut self, items: &[Item], file: &Path, dir: &Path, children: &Path, module: &Module) {
        for item in items {
            match item {
                Item::Struct(s) => {
                    if let Some(id) = provider_id(&s.attrs) {
                        let mut path = vec!["crate".to_owned()];
                        path.extend(module.path.iter().cloned());
                        path.push(s.ident.to_string());
                        let mut cfgs = module.cfgs.clone();
                        cfgs.extend(cfgs_of(&s.attrs));
                        self.scan.providers.push(Provider {
                            id: id.value(),
                            path: path.join("::"),
                            file: file.to_owned(),
                            line: s.ident.span().start().line,
                            cfgs,
                        });
                    }
                }
                Item::Mod(m) => {
                    let mut inner = module.clone();
                    inner.path.push(m.ident.to_string());
                    inner.cfgs.extend(cfgs_of(&m.attrs));
                    let path_attr = path_attr(&m.attrs);
                    match &m.content {
                        Some((_, items)) => {
                            // An inline module's `#[path]` and child files are relative to a
                            // directory named after it.
                            let nested = children.join(m.ident.to_string());
                            let nested = path_attr.map_or(nested.clone(), |p| children.join(p));
                            self.items(items, file, &nested, &nested, &inner);
                        }
                        None => match path_attr {
                            Some(p) => self.file(&dir.join(p), true, &inner),
                            None => {
                                let name = m.ident.to_string();
                                let flat = children.join(format!("{name}.rs"));
                                if self.manifest_dir.join(&flat).is_file() {
                                    self.file(&flat, false, &inner);
                                } else {
                                    self.file(&children.join(name).join("mod.rs"), true, &inner);
                                }
                            }
                        },
                    }
                }
                _ => {}
            }
        }
    }
}

/// The ID of a `#[secrets_provider("id", …)]` attribute (any path ending in `secrets_provider`).
/// The arguments after the ID, and an ID that is not a string literal, are left to the
/// attribute to check.
fn provider_id(attrs: &[Attribute]) -> Option<LitStr> {
    attrs
        .iter()
        .find(|a| {
            a.path()
                .segments
                .last()
                .is_some_and(|s| s.ident == "secrets_provider")
        })
        .and_then(|a| {
            a.parse_args_with(|input: syn::parse::ParseStream<'_>| {
                let id: LitStr = input.parse()?;
                input.parse::<TokenStream>()?;
                Ok(id)
            })
            .ok()
        })
}

fn cfgs_of(attrs: &[Attribute]) -> Vec<String> {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg"))
        .map(|a| quote!(#a).to_string())
        .collect()
}

fn path_attr(attrs: &[Attribute]) -> Option<String> {
    attrs
        .iter()
        .find(|a| a.path().is_ident("path"))
        .and_then(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
}

/// The generated file: a `provider_table!` call listing the providers in ID order, and a
/// `compile_error!` for each ID that two unconditional providers share.
pub fn render(providers: &[Provider]) -> String {
    let mut out = String::from(
        "// @generated by stagecraft-codegen from the crate's module tree. Do not edit.\n",
    );
    for pair in providers.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a.id == b.id && a.cfgs.is_empty() && b.cfgs.is_empty() {
            let message = format!(
                "duplicate secrets provider id {:?}: `{}` ({}:{}) and `{}` ({}:{})",
                a.id,
                a.path,
                a.file.display(),
                a.line,
                b.path,
                b.file.display(),
                b.line
            );
            let error: TokenStream = quote!(::core::compile_error!(#message););
            writeln!(out, "{error}").expect("writing to a String cannot fail");
        }
    }
    out.push_str("::stagecraft_core::provider_table! {\n");
    for provider in providers {
        for cfg in &provider.cfgs {
            writeln!(out, "    {cfg}").expect("writing to a String cannot fail");
        }
        writeln!(out, "    {},", provider.path).expect("writing to a String cannot fail");
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crate_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        dir
    }

    fn found(dir: &Path) -> Vec<(String, String, String, usize, Vec<String>)> {
        scan(dir, Path::new("src/lib.rs"))
            .providers
            .into_iter()
            .map(|p| (p.id, p.path, p.file.display().to_string(), p.line, p.cfgs))
            .collect()
    }

    #[test]
    fn follows_mod_files_mod_rs_path_and_inline_modules() {
        let dir = crate_with(&[
            (
                "src/lib.rs",
                "mod a;\nmod b;\n#[path = \"other/c_impl.rs\"]\nmod c;\nmod inline {\n    mod d;\n}\n",
            ),
            (
                "src/a.rs",
                "#[secrets_provider(\"zeta\")]\npub struct Zeta;\nmod nested;\n",
            ),
            (
                "src/a/nested.rs",
                "\n#[stagecraft_core::secrets_provider(\"alpha\")]\npub struct Alpha;\n",
            ),
            (
                "src/b/mod.rs",
                "#[secrets_provider(\"beta\")]\npub struct Beta;\n",
            ),
            (
                "src/other/c_impl.rs",
                "mod e;\n#[secrets_provider(\"gamma\")]\npub struct Gamma;\n",
            ),
            (
                "src/other/e.rs",
                "#[secrets_provider(\"epsilon\")]\npub struct Epsilon;\n",
            ),
            (
                "src/inline/d.rs",
                "#[secrets_provider(\"delta\")]\npub struct Delta;\n",
            ),
        ]);
        let ids: Vec<_> = found(dir.path())
            .into_iter()
            .map(|p| (p.0, p.1, p.2, p.3))
            .collect();
        assert_eq!(
            ids,
            [
                (
                    "alpha".into(),
                    "crate::a::nested::Alpha".into(),
                    "src/a/nested.rs".into(),
                    3
                ),
                (
                    "beta".into(),
                    "crate::b::Beta".into(),
                    "src/b/mod.rs".into(),
                    2
                ),
                (
                    "delta".into(),
                    "crate::inline::d::Delta".into(),
                    "src/inline/d.rs".into(),
                    2
                ),
                (
                    "epsilon".into(),
                    "crate::c::e::Epsilon".into(),
                    "src/other/e.rs".into(),
                    2
                ),
                (
                    "gamma".into(),
                    "crate::c::Gamma".into(),
                    "src/other/c_impl.rs".into(),
                    3
                ),
                ("zeta".into(), "crate::a::Zeta".into(), "src/a.rs".into(), 2),
            ]
        );
    }

    #[test]
    fn copies_cfgs_of_modules_and_structs() {
        let dir = crate_with(&[(
            "src/lib.rs",
            "#[cfg(unix)]\nmod m {\n    #[cfg(feature = \"x\")]\n    #[secrets_provider(\"x\")]\n    pub struct X;\n}\n#[cfg(windows)]\nmod missing;\n",
        )]);
        let providers = scan(dir.path(), Path::new("src/lib.rs")).providers;
        assert_eq!(
            providers[0].cfgs,
            ["# [cfg (unix)]", "# [cfg (feature = \"x\")]"]
        );
        let rendered = render(&providers);
        assert!(
            rendered.contains("# [cfg (unix)]\n    # [cfg (feature = \"x\")]\n    crate::m::X,"),
            "{rendered}"
        );
    }

    #[test]
    fn finds_providers_whose_attribute_names_settings() {
        let dir = crate_with(&[(
            "src/lib.rs",
            "#[secrets_provider(\"a\", settings = Options)]\npub struct A;\n#[stagecraft_core::secrets_provider(\"b\",)]\npub struct B;\n",
        )]);
        let providers = scan(dir.path(), Path::new("src/lib.rs")).providers;
        let ids: Vec<&str> = providers.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
    }

    #[test]
    fn unconditional_duplicates_become_a_compile_error_naming_both() {
        let dir = crate_with(&[
            ("src/lib.rs", "mod a;\nmod b;\n"),
            (
                "src/a.rs",
                "#[secrets_provider(\"envfile\")]\npub struct A;\n",
            ),
            (
                "src/b.rs",
                "\n#[secrets_provider(\"envfile\")]\npub struct B;\n#[cfg(unix)]\n#[secrets_provider(\"other\")]\npub struct C;\n#[cfg(windows)]\n#[secrets_provider(\"other\")]\npub struct D;\n",
            ),
        ]);
        let rendered = render(&scan(dir.path(), Path::new("src/lib.rs")).providers);
        assert_eq!(rendered.matches("compile_error").count(), 1, "{rendered}");
        assert!(
            rendered.contains(r#"duplicate secrets provider id \"envfile\": `crate::a::A` (src/a.rs:2) and `crate::b::B` (src/b.rs:3)"#),
            "{rendered}"
        );
    }

    #[test]
    fn reads_each_file_once_and_reports_them() {
        let dir = crate_with(&[("src/lib.rs", "mod a;\n"), ("src/a.rs", "")]);
        let files = scan(dir.path(), Path::new("src/lib.rs")).files;
        assert_eq!(
            files,
            [PathBuf::from("src/lib.rs"), PathBuf::from("src/a.rs")]
        );
    }
}
