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
//! `cfg_attr`) is caught by the membership check that the attribute emits, which then says what
//! the scan cannot see; a provider the crate root cannot name (a private module on its path) is
//! left out of the table and reported at the struct.
//!
//! A binary calls [`registry`] instead and declares `stagecraft_core::include_registry!(static
//! REGISTRY);`: its registry then holds its own providers and those of every provider crate it
//! depends on, found through cargo's `links` metadata. A provider crate makes itself findable by
//! setting `links` (any unique name) in its `Cargo.toml`.
//!
//! A registry listed by hand (`secrets_registry!`) in a crate whose build script calls
//! [`generate`] or [`registry`] is checked too: each provider crate it depends on, and its own
//! table, that the list leaves out is a **build-script warning** (`cargo::warning`), not an
//! error, since a binary may mean to leave a provider out. A crate without such a build script
//! gets no check: use [`registry`].

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use quote::quote;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};
use syn::ext::IdentExt as _;
use syn::parse::{ParseStream, Parser as _};
use syn::punctuated::Punctuated;
use syn::{Attribute, Expr, ExprLit, Item, ItemMod, Lit, LitStr, Meta, Token, UseTree, Visibility};

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
    /// Why the crate root cannot name it (a private module on its path), when it cannot: such a
    /// provider is left out of the table and the attribute reports the reason at the struct.
    pub unreachable: Option<String>,
}

/// Writes `$OUT_DIR/secrets_providers.rs` for the crate whose build script calls it, and tells
/// cargo to rerun the build script when one of the scanned files changes, or when a module file
/// that was missing is created.
///
/// The crate root is `src/lib.rs`, or `src/main.rs` in a crate without a library.
///
/// # Panics
/// When `CARGO_MANIFEST_DIR` or `OUT_DIR` is unset (outside a build script), or the file cannot
/// be written: a build script reports failure by panicking.
pub fn generate() {
    Build::from_env().write_table();
}

/// Does what [`generate`] does, and writes `$OUT_DIR/secrets_registry.rs`: the list of every
/// provider table this crate can see, its own (`crate::SECRETS_PROVIDERS`) and that of each
/// dependency whose build script calls [`generate`] and whose `Cargo.toml` sets `links`. A
/// binary then declares its complete registry with one line at its crate root:
///
/// ```ignore
/// stagecraft_core::include_registry!(static REGISTRY);
/// ```
///
/// A provider dependency is found through cargo's `links` metadata, which cargo passes only to
/// direct dependents: a provider crate reached through another crate is listed by that crate,
/// and a dependency renamed in `Cargo.toml` must be listed by hand.
///
/// # Panics
/// As [`generate`].
pub fn registry() {
    let build = Build::from_env();
    build.write_table();
    let path = build.out_dir.join("secrets_registry.rs");
    fs::write(&path, render_registry(&build.provider_crates))
        .unwrap_or_else(|e| panic!("stagecraft-codegen: cannot write {}: {e}", path.display()));
}

/// What a build script knows: where the crate is, what the scan found, and the provider crates
/// among its dependencies.
struct Build {
    manifest_dir: PathBuf,
    out_dir: PathBuf,
    scan: Scan,
    provider_crates: Vec<String>,
}

/// The `links` metadata key a provider crate's build script sets to its crate name.
const METADATA_KEY: &str = "stagecraft_secrets_providers";

impl Build {
    fn from_env() -> Build {
        let manifest_dir = PathBuf::from(
            env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR is set by cargo"),
        );
        let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"));
        let scan = scan(&manifest_dir, &crate_root(&manifest_dir));
        Build {
            manifest_dir,
            out_dir,
            scan,
            provider_crates: provider_crates(env::vars()),
        }
    }

    /// Writes `secrets_providers.rs`, tells cargo what to watch, passes this crate's name to
    /// dependents, and warns about registries that leave out a provider table.
    fn write_table(&self) {
        for file in self.scan.files.iter().chain(&self.scan.watched_dirs) {
            println!(
                "cargo:rerun-if-changed={}",
                self.manifest_dir.join(file).display()
            );
        }
        let out = self.out_dir.join("secrets_providers.rs");
        fs::write(&out, render(&self.scan.providers))
            .unwrap_or_else(|e| panic!("stagecraft-codegen: cannot write {}: {e}", out.display()));
        if env::var_os("CARGO_MANIFEST_LINKS").is_some() {
            let crate_name = env::var("CARGO_PKG_NAME")
                .unwrap_or_default()
                .replace('-', "_");
            println!("cargo::metadata={METADATA_KEY}={crate_name}");
        }
        let own_table = !self.scan.providers.is_empty();
        for warning in omissions(&self.scan.registries, &self.provider_crates, own_table) {
            println!("cargo::warning={warning}");
        }
    }
}

/// The crates that passed [`METADATA_KEY`] to this build script, sorted: cargo sets
/// `DEP_<LINKS>_<KEY>` for each direct dependency whose build script printed the key.
fn provider_crates(vars: impl Iterator<Item = (String, String)>) -> Vec<String> {
    let suffix = format!("_{}", METADATA_KEY.to_uppercase());
    let mut crates: Vec<String> = vars
        .filter(|(name, _)| name.starts_with("DEP_") && name.ends_with(&suffix))
        .map(|(_, crate_name)| crate_name)
        .collect();
    crates.sort();
    crates.dedup();
    crates
}

/// A warning for each table that a `secrets_registry!` leaves out: a provider crate this crate
/// depends on, or its own table when it declares providers.
fn omissions(
    registries: &[RegistryCall],
    provider_crates: &[String],
    own_table: bool,
) -> Vec<String> {
    let own = own_table.then(|| "crate".to_owned());
    let mut warnings = Vec::new();
    for registry in registries {
        for name in provider_crates.iter().chain(own.as_ref()) {
            if !registry.crates.contains(name) {
                warnings.push(format!(
                    "{}:{}: `secrets_registry!` does not list `{name}::SECRETS_PROVIDERS`, so those providers are missing from `{}` at run time; list the table, or declare the registry with `stagecraft_codegen::registry()` and `stagecraft_core::include_registry!`",
                    registry.file.display(),
                    registry.line,
                    registry.name,
                ));
            }
        }
    }
    warnings
}

/// The generated list of tables for `include_registry!`: an expression of type `&[&[Entry]]`.
pub fn render_registry(provider_crates: &[String]) -> String {
    let mut out = String::from(
        "// @generated by stagecraft-codegen from the crate's dependencies. Do not edit.\n&[\n",
    );
    for name in provider_crates {
        writeln!(out, "    ::{name}::SECRETS_PROVIDERS,").expect("writing to a String cannot fail");
    }
    out.push_str("    crate::SECRETS_PROVIDERS,\n]\n");
    out
}

/// `src/lib.rs`, or `src/main.rs` when the crate has no library.
fn crate_root(manifest_dir: &Path) -> PathBuf {
    let lib = Path::new("src/lib.rs");
    if manifest_dir.join(lib).is_file() || !manifest_dir.join("src/main.rs").is_file() {
        lib.to_owned()
    } else {
        PathBuf::from("src/main.rs")
    }
}

/// What [`scan`] found.
#[derive(Debug, Default)]
pub struct Scan {
    /// The providers, sorted by ID.
    pub providers: Vec<Provider>,
    /// Every source file read, relative to the manifest directory.
    pub files: Vec<PathBuf>,
    /// The nearest existing directories of module files that were looked for and missing: a
    /// file created there later must rerun the scan.
    pub watched_dirs: Vec<PathBuf>,
    /// The `secrets_registry!` calls, to check that they list every provider table.
    pub registries: Vec<RegistryCall>,
}

/// A `secrets_registry!` call found by the scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryCall {
    /// The static it declares.
    pub name: String,
    /// The file that calls it, relative to the crate's manifest directory.
    pub file: PathBuf,
    /// The line of the call.
    pub line: usize,
    /// The first path segment of each table listed (`provider_a`, `crate`).
    pub crates: Vec<String>,
}

/// Scans the module tree that starts at `root` (relative to `manifest_dir`). A file that is
/// missing or does not parse is skipped: rustc reports it better.
pub fn scan(manifest_dir: &Path, root: &Path) -> Scan {
    let mut scan = Scan::default();
    let mut walker = Walker {
        manifest_dir,
        scan: &mut scan,
        open: Vec::new(),
    };
    walker.file(root, true, &Module::default());
    scan.providers
        .sort_by(|a, b| a.id.cmp(&b.id).then_with(|| a.path.cmp(&b.path)));
    scan.watched_dirs.sort();
    scan.watched_dirs.dedup();
    scan
}

/// The module being walked: its path from the crate root, the `cfg`s around it, the names the
/// attribute goes by in it, and the first module on its path that the crate root cannot see.
#[derive(Clone)]
struct Module {
    path: Vec<String>,
    cfgs: Vec<String>,
    attribute_names: Vec<String>,
    private: Option<String>,
}

impl Default for Module {
    fn default() -> Self {
        Module {
            path: Vec::new(),
            cfgs: Vec::new(),
            attribute_names: vec!["secrets_provider".to_owned()],
            private: None,
        }
    }
}

impl Module {
    fn child(&self, ident: &syn::Ident, vis: &Visibility, attrs: &[Attribute]) -> Module {
        let mut inner = self.clone();
        if inner.private.is_none() && !visible_from_root(vis, self.path.len()) {
            inner.private = Some(self.item_path(ident));
        }
        inner.path.push(ident.to_string());
        inner.cfgs.extend(cfgs_of(attrs));
        inner
    }

    fn item_path(&self, ident: &syn::Ident) -> String {
        let mut path = vec!["crate".to_owned()];
        path.extend(self.path.iter().cloned());
        path.push(ident.to_string());
        path.join("::")
    }
}

/// Whether an item with this visibility, declared in a module `depth` levels below the crate
/// root, can be named from the root.
fn visible_from_root(vis: &Visibility, depth: usize) -> bool {
    match vis {
        Visibility::Public(_) => true,
        Visibility::Inherited => depth == 0,
        Visibility::Restricted(r) => {
            if r.path.is_ident("crate") {
                true
            } else if r.path.is_ident("super") {
                depth <= 1
            } else {
                depth == 0
            }
        }
    }
}

struct Walker<'a> {
    manifest_dir: &'a Path,
    scan: &'a mut Scan,
    /// The files being walked, outermost first: a `#[path]` back to one of them is a cycle.
    open: Vec<PathBuf>,
}

impl Walker<'_> {
    /// Walks a module file. Its child modules live in its own directory when it is a "mod-rs"
    /// file (`lib.rs`, `mod.rs`, a `#[path]` file), else in a directory named after it.
    fn file(&mut self, file: &Path, mod_rs: bool, module: &Module) {
        let full = self.manifest_dir.join(file);
        let Ok(text) = fs::read_to_string(&full) else {
            self.watch_missing(file);
            return;
        };
        let canonical = full.canonicalize().unwrap_or(full);
        if self.open.contains(&canonical) {
            return; // Circular modules: rustc reports them.
        }
        self.scan.files.push(file.to_owned());
        let Ok(ast) = syn::parse_file(&text) else {
            return;
        };
        let mut module = module.clone();
        // `#![cfg(…)]` at the top of the file applies to the whole module.
        module.cfgs.extend(cfgs_of(&ast.attrs));
        let dir = file.parent().unwrap_or(Path::new(""));
        let children = if mod_rs {
            dir.to_owned()
        } else {
            dir.join(file.file_stem().unwrap_or_default())
        };
        self.open.push(canonical);
        self.items(&ast.items, file, dir, &children, &module);
        self.open.pop();
    }

    /// Watches the nearest existing directory of a module file that is missing, so that creating
    /// it reruns the build script (cargo scans a watched directory for changes).
    fn watch_missing(&mut self, file: &Path) {
        let existing = file
            .ancestors()
            .skip(1)
            .find(|dir| self.manifest_dir.join(dir).is_dir());
        if let Some(dir) = existing {
            self.scan.watched_dirs.push(dir.to_owned());
        }
    }

    /// `dir` is the directory of `file` (for `#[path]`); `children` is where `mod x;` looks.
    fn items(&mut self, items: &[Item], file: &Path, dir: &Path, children: &Path, module: &Module) {
        let mut module = module.clone();
        module.attribute_names.extend(attribute_aliases(items));
        for item in items {
            match item {
                Item::Struct(s) => {
                    if let Some(id) = provider_id(&s.attrs, &module.attribute_names) {
                        let mut cfgs = module.cfgs.clone();
                        cfgs.extend(cfgs_of(&s.attrs));
                        let unreachable = module.private.clone().or_else(|| {
                            (!visible_from_root(&s.vis, module.path.len()))
                                .then(|| module.item_path(&s.ident))
                        });
                        self.scan.providers.push(Provider {
                            id: id.value(),
                            path: module.item_path(&s.ident),
                            file: file.to_owned(),
                            line: s.ident.span().start().line,
                            cfgs,
                            unreachable,
                        });
                    }
                }
                Item::Mod(m) => self.module(m, file, dir, children, &module),
                Item::Macro(m) if is_named(&m.mac.path, "secrets_registry") => {
                    if let Some(call) = registry_call(&m.mac, file) {
                        self.scan.registries.push(call);
                    }
                }
                _ => {}
            }
        }
    }

    fn module(&mut self, m: &ItemMod, file: &Path, dir: &Path, children: &Path, parent: &Module) {
        let inner = parent.child(&m.ident, &m.vis, &m.attrs);
        // rustc looks `r#type` up as `type.rs`.
        let name = m.ident.unraw().to_string();
        if let Some((_, items)) = &m.content {
            // An inline module's `#[path]` and child files are relative to a directory named
            // after it.
            let nested = match path_attr(&m.attrs) {
                Some(p) => children.join(p),
                None => children.join(&name),
            };
            self.items(items, file, &nested, &nested, &inner);
            return;
        }
        // `#[cfg_attr(pred, path = "x.rs")]`: the module is `x.rs` where `pred` holds and the
        // usual file elsewhere; walk both, each under its condition.
        if let Some((predicate, path)) = cfg_attr_path(&m.attrs) {
            let mut when = inner.clone();
            when.cfgs.push(quote!(#[cfg(#predicate)]).to_string());
            self.file(&dir.join(path), true, &when);
            let mut otherwise = inner;
            otherwise
                .cfgs
                .push(quote!(#[cfg(not(#predicate))]).to_string());
            self.module_file(m, dir, children, &name, &otherwise);
        } else {
            self.module_file(m, dir, children, &name, &inner);
        }
    }

    /// Walks the file of `mod name;`: its `#[path]`, else `name.rs`, else `name/mod.rs`.
    fn module_file(
        &mut self,
        m: &ItemMod,
        dir: &Path,
        children: &Path,
        name: &str,
        inner: &Module,
    ) {
        if let Some(p) = path_attr(&m.attrs) {
            return self.file(&dir.join(p), true, inner);
        }
        let flat = children.join(format!("{name}.rs"));
        if self.manifest_dir.join(&flat).is_file() {
            self.file(&flat, false, inner);
        } else {
            // Both candidates are missing when this one is: watch for either.
            self.watch_missing(&flat);
            self.file(&children.join(name).join("mod.rs"), true, inner);
        }
    }
}

fn is_named(path: &syn::Path, name: &str) -> bool {
    path.segments.last().is_some_and(|s| s.ident == name)
}

/// Reads `secrets_registry!(… static NAME = [tables…])`.
fn registry_call(mac: &syn::Macro, file: &Path) -> Option<RegistryCall> {
    let mut name = None;
    let mut crates = None;
    let mut previous_static = false;
    for token in mac.tokens.clone() {
        match &token {
            TokenTree::Ident(ident) if previous_static => name = Some(ident.to_string()),
            TokenTree::Group(group) if group.delimiter() == Delimiter::Bracket => {
                let tables = Punctuated::<Expr, Token![,]>::parse_terminated
                    .parse2(group.stream())
                    .ok()?;
                crates = Some(
                    tables
                        .iter()
                        .filter_map(|table| match table {
                            Expr::Path(p) => p.path.segments.first().map(|s| s.ident.to_string()),
                            _ => None,
                        })
                        .collect(),
                );
            }
            _ => {}
        }
        previous_static = matches!(&token, TokenTree::Ident(i) if i == "static");
    }
    Some(RegistryCall {
        name: name?,
        file: file.to_owned(),
        line: mac.path.segments.last()?.ident.span().start().line,
        crates: crates?,
    })
}

/// The names `use …::secrets_provider as name;` gives the attribute among these items.
fn attribute_aliases(items: &[Item]) -> Vec<String> {
    fn walk(tree: &UseTree, out: &mut Vec<String>) {
        match tree {
            UseTree::Path(p) => walk(&p.tree, out),
            UseTree::Rename(r) if r.ident == "secrets_provider" => out.push(r.rename.to_string()),
            UseTree::Group(g) => g.items.iter().for_each(|t| walk(t, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for item in items {
        if let Item::Use(u) = item {
            walk(&u.tree, &mut out);
        }
    }
    out
}

/// The ID of a `#[secrets_provider("id", …)]` attribute (any path ending in one of `names`).
/// An argument that is not a string literal is left to the attribute to report.
fn provider_id(attrs: &[Attribute], names: &[String]) -> Option<LitStr> {
    attrs
        .iter()
        .find(|a| {
            a.path()
                .segments
                .last()
                .is_some_and(|s| names.iter().any(|n| s.ident == n))
        })
        .and_then(|a| {
            a.parse_args_with(|input: ParseStream<'_>| {
                let id: LitStr = input.parse()?;
                // A trailing comma, or arguments the attribute reads and the scan does not need.
                input.parse::<TokenStream>()?;
                Ok(id)
            })
            .ok()
        })
}

/// The `cfg`s among the attributes, written as outer attributes (an inner `#![cfg]` of a module
/// applies to the module, as `#[cfg]` does on the provider listed in the table).
fn cfgs_of(attrs: &[Attribute]) -> Vec<String> {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg"))
        .map(|a| {
            let meta = &a.meta;
            quote!(#[#meta]).to_string()
        })
        .collect()
}

fn path_attr(attrs: &[Attribute]) -> Option<String> {
    attrs
        .iter()
        .find(|a| a.path().is_ident("path"))
        .and_then(|a| match &a.meta {
            Meta::NameValue(nv) => string_literal(&nv.value),
            _ => None,
        })
}

fn string_literal(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s.value()),
        _ => None,
    }
}

/// The predicate and path of `#[cfg_attr(predicate, path = "x.rs")]`.
fn cfg_attr_path(attrs: &[Attribute]) -> Option<(Meta, String)> {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg_attr"))
        .find_map(|a| {
            let metas = a
                .parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
                .ok()?;
            let mut metas = metas.into_iter();
            let predicate = metas.next()?;
            let path = metas.find_map(|m| match m {
                Meta::NameValue(nv) if nv.path.is_ident("path") => string_literal(&nv.value),
                _ => None,
            })?;
            Some((predicate, path))
        })
}

/// The generated file: a `provider_table!` call listing the providers in ID order, then those it
/// cannot list with the reason (the attribute reports it at the struct), and a `compile_error!`
/// for each ID that two unconditional providers share.
pub fn render(providers: &[Provider]) -> String {
    let mut out = String::from(
        "// @generated by stagecraft-codegen from the crate's module tree. Do not edit.\n",
    );
    let listed: Vec<&Provider> = providers
        .iter()
        .filter(|p| p.unreachable.is_none())
        .collect();
    for pair in listed.windows(2) {
        let (a, b) = (pair[0], pair[1]);
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
    // `include_providers!` imports `provider_table!` under this name through `$crate`.
    out.push_str("__stagecraft_provider_table! {\n");
    for provider in &listed {
        for cfg in &provider.cfgs {
            writeln!(out, "    {cfg}").expect("writing to a String cannot fail");
        }
        writeln!(out, "    {},", provider.path).expect("writing to a String cannot fail");
    }
    out.push_str("    ; generated = true,\n");
    for provider in providers {
        if let Some(private) = &provider.unreachable {
            let reason = if *private == provider.path {
                "is not visible to the crate root, so the provider table cannot name it (E0603): make the struct `pub(crate)` or `pub`".to_owned()
            } else {
                format!(
                    "is declared in private module `{private}`, so the provider table at the crate root cannot name it (E0603): make the module `pub(crate)` or `pub`"
                )
            };
            let (path, reason) = (&provider.path, quote!(#reason));
            writeln!(out, "    {path:?} => {reason},").expect("writing to a String cannot fail");
        }
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

    fn ids_and_paths(dir: &Path, root: &str) -> Vec<(String, String, Vec<String>)> {
        scan(dir, Path::new(root))
            .providers
            .into_iter()
            .map(|p| (p.id, p.path, p.cfgs))
            .collect()
    }

    #[test]
    fn inner_cfgs_of_files_and_inline_modules_become_outer_cfgs() {
        let dir = crate_with(&[
            (
                "src/lib.rs",
                "pub mod f;
pub mod inline {
    #![cfg(feature = \"y\")]
    #[secrets_provider(\"y\")]
    pub struct Y;
}
",
            ),
            (
                "src/f.rs",
                "#![cfg(feature = \"x\")]
#[secrets_provider(\"x\")]
pub struct X;
",
            ),
        ]);
        let rendered = render(&scan(dir.path(), Path::new("src/lib.rs")).providers);
        assert!(!rendered.contains("# !"), "{rendered}");
        assert!(
            rendered.contains("# [cfg (feature = \"x\")]\n    crate::f::X,"),
            "{rendered}"
        );
        assert!(
            rendered.contains("# [cfg (feature = \"y\")]\n    crate::inline::Y,"),
            "{rendered}"
        );
    }

    #[test]
    fn cfg_attr_path_walks_both_files_under_their_conditions() {
        let dir = crate_with(&[
            (
                "src/lib.rs",
                "#[cfg_attr(feature = \"alt\", path = \"imp_alt.rs\")]
pub mod imp;
",
            ),
            (
                "src/imp.rs",
                "#[secrets_provider(\"imp\")]
pub struct Imp;
",
            ),
            (
                "src/imp_alt.rs",
                "#[secrets_provider(\"imp\")]
pub struct Imp;
",
            ),
        ]);
        let found = ids_and_paths(dir.path(), "src/lib.rs");
        let cfgs: Vec<_> = found.iter().map(|p| p.2.join(" ")).collect();
        assert_eq!(
            cfgs,
            [
                "# [cfg (feature = \"alt\")]",
                "# [cfg (not (feature = \"alt\"))]"
            ]
        );
        // Conditional duplicates are left to rustc, which sees only one of them.
        let rendered = render(&scan(dir.path(), Path::new("src/lib.rs")).providers);
        assert!(!rendered.contains("compile_error"), "{rendered}");
    }

    #[test]
    fn raw_identifiers_trailing_commas_and_renamed_imports() {
        let dir = crate_with(&[
            (
                "src/lib.rs",
                "pub mod r#type;
use stagecraft_core::{secrets_provider as provider};
#[provider(\"renamed\")]
pub struct Renamed;
#[secrets_provider(\"comma\",)]
pub struct Comma;
#[other(\"not-a-provider\")]
pub struct Other;
",
            ),
            (
                "src/type.rs",
                "#[stagecraft_core::secrets_provider(\"raw\")]
pub struct Raw;
",
            ),
        ]);
        let found: Vec<_> = ids_and_paths(dir.path(), "src/lib.rs")
            .into_iter()
            .map(|p| (p.0, p.1))
            .collect();
        assert_eq!(
            found,
            [
                ("comma".to_owned(), "crate::Comma".to_owned()),
                ("raw".to_owned(), "crate::r#type::Raw".to_owned()),
                ("renamed".to_owned(), "crate::Renamed".to_owned()),
            ]
        );
    }

    #[test]
    fn circular_paths_end_the_walk() {
        let dir = crate_with(&[
            (
                "src/lib.rs",
                "#[path = \"a.rs\"]
mod a;
",
            ),
            (
                "src/a.rs",
                "#[path = \"lib.rs\"]
mod back;
#[secrets_provider(\"a\")]
pub struct A;
",
            ),
        ]);
        let found = ids_and_paths(dir.path(), "src/lib.rs");
        assert_eq!(found.len(), 1, "{found:?}");
    }

    #[test]
    fn missing_module_files_are_watched_through_their_directory() {
        let dir = crate_with(&[(
            "src/lib.rs",
            "mod b;
mod c {
    mod d;
}
",
        )]);
        let scan = scan(dir.path(), Path::new("src/lib.rs"));
        assert_eq!(scan.watched_dirs, [PathBuf::from("src")]);
        assert_eq!(scan.files, [PathBuf::from("src/lib.rs")]);
    }

    #[test]
    fn binary_only_crates_are_scanned_from_main() {
        let dir = crate_with(&[(
            "src/main.rs",
            "#[secrets_provider(\"bin\")]
pub struct Bin;
fn main() {}
",
        )]);
        assert_eq!(crate_root(dir.path()), Path::new("src/main.rs"));
        assert_eq!(ids_and_paths(dir.path(), "src/main.rs")[0].0, "bin");
        let lib = crate_with(&[("src/main.rs", ""), ("src/lib.rs", "")]);
        assert_eq!(crate_root(lib.path()), Path::new("src/lib.rs"));
    }

    #[test]
    fn providers_the_root_cannot_name_are_reported_not_listed() {
        let dir = crate_with(&[(
            "src/lib.rs",
            "mod outer {
    mod private {
        #[secrets_provider(\"hidden\")]
        pub struct Hidden;
    }
    pub(crate) mod open {
        #[secrets_provider(\"open\")]
        pub struct Open;
        #[secrets_provider(\"near\")]
        pub(super) struct Near;
    }
    #[secrets_provider(\"top\")]
    pub(self) struct Top;
}
",
        )]);
        let providers = scan(dir.path(), Path::new("src/lib.rs")).providers;
        let unreachable: Vec<_> = providers
            .iter()
            .map(|p| (p.id.as_str(), p.unreachable.as_deref()))
            .collect();
        assert_eq!(
            unreachable,
            [
                ("hidden", Some("crate::outer::private")),
                ("near", Some("crate::outer::open::Near")),
                ("open", None),
                ("top", Some("crate::outer::Top")),
            ]
        );
        let rendered = render(&providers);
        assert!(
            rendered.contains("    crate::outer::open::Open,\n"),
            "{rendered}"
        );
        assert!(
            !rendered.contains("    crate::outer::private::Hidden,"),
            "{rendered}"
        );
        assert!(
            rendered.contains("\"crate::outer::private::Hidden\" => \"is declared in private module `crate::outer::private`"),
            "{rendered}"
        );
    }

    #[test]
    fn provider_crates_come_from_links_metadata() {
        let vars = [
            (
                "DEP_STAGECRAFT_PROVIDERS_STAGECRAFT_SECRETS_PROVIDERS",
                "stagecraft_providers",
            ),
            ("DEP_ACME_STAGECRAFT_SECRETS_PROVIDERS", "acme_providers"),
            ("DEP_Z_INCLUDE", "/usr/include"),
            ("STAGECRAFT_SECRETS_PROVIDERS", "not_a_dependency"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        assert_eq!(
            provider_crates(vars.into_iter()),
            ["acme_providers", "stagecraft_providers"]
        );
        assert_eq!(
            render_registry(&["acme_providers".to_owned()]),
            "// @generated by stagecraft-codegen from the crate's dependencies. Do not edit.\n&[\n    ::acme_providers::SECRETS_PROVIDERS,\n    crate::SECRETS_PROVIDERS,\n]\n"
        );
    }

    #[test]
    fn a_hand_written_registry_that_omits_a_provider_table_is_warned_about() {
        let dir = crate_with(&[(
            "src/main.rs",
            "#[secrets_provider(\"local\")]\npub struct Local;\n\nstagecraft_core::secrets_registry!(pub static REGISTRY = [\n    acme::SECRETS_PROVIDERS,\n]);\nfn main() {}\n",
        )]);
        let scan = scan(dir.path(), Path::new("src/main.rs"));
        assert_eq!(
            scan.registries,
            [RegistryCall {
                name: "REGISTRY".to_owned(),
                file: PathBuf::from("src/main.rs"),
                line: 4,
                crates: vec!["acme".to_owned()],
            }]
        );
        let crates = ["acme".to_owned(), "stagecraft_providers".to_owned()];
        let warnings = omissions(&scan.registries, &crates, true);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].starts_with("src/main.rs:4: `secrets_registry!` does not list `stagecraft_providers::SECRETS_PROVIDERS`, so those providers are missing from `REGISTRY` at run time"), "{warnings:?}");
        assert!(
            warnings[1].contains("does not list `crate::SECRETS_PROVIDERS`"),
            "{warnings:?}"
        );
        assert!(omissions(&scan.registries, &crates[..1], false).is_empty());
    }
}
