//! Finds a crate's secrets provider tables: the scan of its module tree that
//! `stagecraft_core::include_providers!` runs, and the build-script helper that tells it which
//! provider crates the crate depends on.
//!
//! ```no_run
//! // build.rs
//! stagecraft_codegen::generate();
//! ```
//!
//! and at the crate root, `stagecraft_core::include_providers!();` (a provider crate) or
//! `stagecraft_core::include_registry!(static REGISTRY);` (a binary).
//!
//! [`scan`] walks the module tree from the crate root the way rustc does (`mod` files,
//! `mod.rs`, `#[path]`, `#[cfg_attr(…, path)]`), finds the structs marked
//! `#[secrets_provider("id")]`, and copies their `cfg`s (and those of the modules around them)
//! so that rustc evaluates them; [`render`] sorts them by ID into a `provider_table!` call. Two
//! unconditional providers with one ID become a `compile_error!` naming both places. What the
//! scan cannot see (a provider behind a macro) is caught by the membership check that the
//! attribute emits; a provider the crate root cannot name (a private module on its path) is
//! left out of the table and reported at the struct.
//!
//! [`generate`] finds the provider crates among the crate's dependencies. Each provider crate's
//! build script passes what it is (package, version, library name, directory) to the crates that
//! depend on it through cargo's `links` metadata, which cargo passes one level up only; so each
//! crate's table carries the tables of its own provider dependencies, and a binary reaches every
//! provider crate at any depth through its direct ones, a crate reached along two paths once.
//! The name a dependency goes by in the crate (a rename in `Cargo.toml`, a `[lib] name`) is read
//! from the crate's `Cargo.toml`.

use proc_macro2::TokenStream;
use quote::quote;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};
use syn::ext::IdentExt as _;
use syn::parse::ParseStream;
use syn::punctuated::Punctuated;
use syn::visit::Visit;
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
    /// Whether it is declared inside a function body (or another block), where no path names
    /// it: it is left out of the table too, and the attribute says to move it to module level.
    pub in_body: bool,
}

/// The file [`generate`] writes into `OUT_DIR` for `include_providers!`.
pub const PACKAGE_FILE: &str = "stagecraft-providers.txt";

/// The prefix of the `links` metadata keys a provider crate's build script passes to dependents.
const METADATA: &str = "stagecraft_providers";

/// Tells `stagecraft_core::include_providers!` (and `include_registry!`) of the crate whose
/// build script calls it which provider crates it depends on, and passes this crate's own
/// description to the crates that depend on it when its `Cargo.toml` sets `links`.
///
/// Writes `$OUT_DIR/stagecraft-providers.txt` and asks cargo to rerun when `Cargo.toml` changes.
///
/// # Panics
/// Outside a build script (`CARGO_MANIFEST_DIR` or `OUT_DIR` unset), or when `Cargo.toml`
/// cannot be read, or a provider dependency cannot be matched with an entry of it: a build
/// script reports failure by panicking, with the message.
pub fn generate() {
    let manifest_dir = PathBuf::from(
        env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR is set by cargo"),
    );
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"));
    let manifest =
        Manifest::read(&manifest_dir).unwrap_or_else(|e| panic!("stagecraft-codegen: {e}"));
    let dependencies = provider_dependencies(env::vars());
    let names = dependencies
        .iter()
        .map(|dependency| manifest.extern_name(dependency))
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_else(|e| panic!("stagecraft-codegen: {e}"));
    let links = env::var_os("CARGO_MANIFEST_LINKS").is_some();
    let package = PackageFile {
        links,
        dependencies: names,
    };
    let path = out_dir.join(PACKAGE_FILE);
    fs::write(&path, package.render())
        .unwrap_or_else(|e| panic!("stagecraft-codegen: cannot write {}: {e}", path.display()));
    for file in &manifest.files {
        println!("cargo::rerun-if-changed={}", file.display());
    }
    if let (true, Some((lib, _))) = (links, &manifest.lib) {
        let version = env::var("CARGO_PKG_VERSION").unwrap_or_default();
        println!("cargo::metadata={METADATA}_lib={lib}");
        println!("cargo::metadata={METADATA}_package={}", manifest.package);
        println!("cargo::metadata={METADATA}_version={version}");
        println!("cargo::metadata={METADATA}_dir={}", manifest_dir.display());
    }
}

/// The same as [`generate`], under the name earlier releases gave the binary's build script.
pub fn registry() {
    generate();
}

/// A provider crate among the dependencies, as its build script described itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// Its package name, `prov-a`.
    pub package: String,
    /// Its version, `0.2.1`.
    pub version: String,
    /// The name of its library target, `prov_a` (or its `[lib] name`).
    pub lib: String,
    /// Its manifest directory.
    pub dir: PathBuf,
}

/// The provider crates that passed their description to this build script: cargo sets
/// `DEP_<LINKS>_<KEY>` for each direct dependency whose build script printed `KEY`.
pub fn provider_dependencies(vars: impl Iterator<Item = (String, String)>) -> Vec<Dependency> {
    let suffix = |key: &str| format!("_{}_{}", METADATA.to_uppercase(), key.to_uppercase());
    let mut by_links: BTreeMap<String, BTreeMap<&'static str, String>> = BTreeMap::new();
    for (name, value) in vars {
        for key in ["lib", "package", "version", "dir"] {
            if let Some(links) = name
                .strip_prefix("DEP_")
                .and_then(|rest| rest.strip_suffix(&suffix(key)))
            {
                by_links
                    .entry(links.to_owned())
                    .or_default()
                    .insert(key, value.clone());
            }
        }
    }
    by_links
        .into_values()
        .filter_map(|mut fields| {
            Some(Dependency {
                lib: fields.remove("lib")?,
                package: fields.remove("package")?,
                version: fields.remove("version").unwrap_or_default(),
                dir: PathBuf::from(fields.remove("dir").unwrap_or_default()),
            })
        })
        .collect()
}

/// What `include_providers!` reads from `OUT_DIR`: whether the package sets `links`, and the
/// names of its provider dependencies (`prov_a`). Its targets it reads from `Cargo.toml` itself,
/// at each compile: the build script reruns only when `Cargo.toml` changes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PackageFile {
    /// Whether `Cargo.toml` sets `links`, without which dependents cannot find the library.
    pub links: bool,
    /// The name the crate gives each provider dependency: `prov_a` (as in `::prov_a`).
    pub dependencies: Vec<String>,
}

impl PackageFile {
    /// The file's text: a line each.
    pub fn render(&self) -> String {
        let mut out = format!("links {}\n", if self.links { "yes" } else { "no" });
        for dependency in &self.dependencies {
            writeln!(out, "dependency {dependency}").expect("writing to a String cannot fail");
        }
        out
    }

    /// Reads what [`PackageFile::render`] wrote.
    pub fn parse(text: &str) -> PackageFile {
        let mut file = PackageFile::default();
        for line in text.lines() {
            match line.split_once(' ') {
                Some(("links", yes)) => file.links = yes == "yes",
                Some(("dependency", path)) => file.dependencies.push(path.to_owned()),
                _ => {}
            }
        }
        file
    }
}

/// What the build script reads from the crate's `Cargo.toml` (and the workspace's, for
/// dependencies declared with `workspace = true`).
#[derive(Debug)]
pub struct Manifest {
    /// The package name.
    pub package: String,
    /// The library target's crate name and root file, when there is one.
    pub lib: Option<(String, PathBuf)>,
    /// The root file of each binary and example, by name.
    pub binaries: Vec<(String, PathBuf)>,
    /// Each normal dependency: the name it has in `Cargo.toml` and what it says.
    pub dependencies: Vec<(String, DependencySpec)>,
    /// The manifests read, for cargo to watch.
    pub files: Vec<PathBuf>,
}

/// A dependency entry of `Cargo.toml`, with what `workspace = true` brings in.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DependencySpec {
    /// `package = "…"`: the entry renames the dependency.
    pub package: Option<String>,
    /// `path = "…"`, resolved against the manifest that says it.
    pub path: Option<PathBuf>,
    /// `version = "…"`, or the entry itself when it is a string.
    pub version: Option<String>,
}

impl Manifest {
    /// Reads `dir/Cargo.toml`.
    pub fn read(dir: &Path) -> Result<Manifest, String> {
        let path = dir.join("Cargo.toml");
        let text = fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let toml: toml::Table = text
            .parse()
            .map_err(|e| format!("cannot parse {}: {e}", path.display()))?;
        let mut files = vec![path];
        let workspace = find_workspace(dir, &toml, &mut files);
        Ok(Manifest::from_toml(dir, &toml, workspace.as_ref(), files))
    }

    /// The manifest `toml` of the package in `dir`, with its workspace's manifest and directory.
    pub fn from_toml(
        dir: &Path,
        toml: &toml::Table,
        workspace: Option<&(PathBuf, toml::Table)>,
        files: Vec<PathBuf>,
    ) -> Manifest {
        let package = toml
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str())
            .unwrap_or_default()
            .to_owned();
        let lib_table = toml.get("lib");
        let lib_path = lib_table
            .and_then(|l| l.get("path"))
            .and_then(|p| p.as_str())
            .map(|p| dir.join(p))
            .unwrap_or_else(|| dir.join("src/lib.rs"));
        let has_lib = lib_table.is_some() || lib_path.is_file();
        let lib = has_lib.then(|| {
            let name = lib_table
                .and_then(|l| l.get("name"))
                .and_then(|n| n.as_str())
                .unwrap_or(&package);
            (name.replace('-', "_"), lib_path)
        });
        let mut dependencies = Vec::new();
        let mut sections: Vec<&toml::Value> = toml.get("dependencies").into_iter().collect();
        if let Some(targets) = toml.get("target").and_then(|t| t.as_table()) {
            sections.extend(targets.values().filter_map(|t| t.get("dependencies")));
        }
        for section in sections.iter().filter_map(|s| s.as_table()) {
            for (key, value) in section {
                dependencies.push((key.clone(), spec(dir, key, value, workspace)));
            }
        }
        let binaries = binaries(dir, toml, &package);
        Manifest {
            package,
            lib,
            binaries,
            dependencies,
            files,
        }
    }

    /// The root file of the binary or example `name`.
    pub fn binary(&self, name: &str) -> Option<&Path> {
        self.binaries
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, root)| root.as_path())
    }

    /// How this crate names a provider dependency (`::name`): the key of its entry with `-` as
    /// `_` when the entry renames it (`package = …`), else its library's name. Of two entries for
    /// one package (two versions), the one whose path or version requirement fits.
    pub fn extern_name(&self, dependency: &Dependency) -> Result<String, String> {
        let candidates: Vec<&(String, DependencySpec)> = self
            .dependencies
            .iter()
            .filter(|(key, spec)| spec.package.as_deref().unwrap_or(key) == dependency.package)
            .collect();
        let chosen = match candidates.as_slice() {
            [one] => Some(*one),
            _ => candidates
                .iter()
                .copied()
                .find(|(_, spec)| fits(spec, dependency)),
        };
        let Some((key, spec)) = chosen else {
            return Err(format!(
                "the provider crate `{}` {} is a dependency, but no entry of [dependencies] in {} names it{}; list it there",
                dependency.package,
                dependency.version,
                self.files[0].display(),
                if candidates.is_empty() {
                    ""
                } else {
                    " with a version or path that fits"
                },
            ));
        };
        Ok(match spec.package {
            Some(_) => key.replace('-', "_"),
            None => dependency.lib.clone(),
        })
    }
}

/// The binaries and examples of a package and their root files: those `[[bin]]` and
/// `[[example]]` declare, and those cargo finds by itself (`src/main.rs`, `src/bin/x.rs`,
/// `src/bin/x/main.rs`, `examples/x.rs`, `examples/x/main.rs`).
fn binaries(dir: &Path, toml: &toml::Table, package: &str) -> Vec<(String, PathBuf)> {
    let mut found: Vec<(String, PathBuf)> = Vec::new();
    for (section, folder) in [("bin", "src/bin"), ("example", "examples")] {
        for target in toml
            .get(section)
            .and_then(|t| t.as_array())
            .into_iter()
            .flatten()
        {
            let Some(name) = target.get("name").and_then(|n| n.as_str()) else {
                continue;
            };
            let path = match target.get("path").and_then(|p| p.as_str()) {
                Some(path) => dir.join(path),
                None if section == "bin" && name == package => dir.join("src/main.rs"),
                None => {
                    let flat = dir.join(folder).join(format!("{name}.rs"));
                    if flat.is_file() {
                        flat
                    } else {
                        dir.join(folder).join(name).join("main.rs")
                    }
                }
            };
            found.push((name.to_owned(), path));
        }
    }
    let mut discovered = vec![(package.to_owned(), dir.join("src/main.rs"))];
    for folder in ["src/bin", "examples"] {
        let Ok(entries) = fs::read_dir(dir.join(folder)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            if path.extension().is_some_and(|e| e == "rs") {
                discovered.push((name, path));
            } else if path.join("main.rs").is_file() {
                discovered.push((name, path.join("main.rs")));
            }
        }
    }
    for (name, path) in discovered {
        if path.is_file() && !found.iter().any(|(n, _)| *n == name) {
            found.push((name, path));
        }
    }
    found
}

/// The entry `key = value` of a dependency table, merged with the workspace's entry when it says
/// `workspace = true`.
fn spec(
    dir: &Path,
    key: &str,
    value: &toml::Value,
    workspace: Option<&(PathBuf, toml::Table)>,
) -> DependencySpec {
    let field =
        |v: &toml::Value, name: &str| v.get(name).and_then(|f| f.as_str()).map(str::to_owned);
    let mut spec = match value {
        toml::Value::String(version) => DependencySpec {
            version: Some(version.clone()),
            ..DependencySpec::default()
        },
        _ => DependencySpec {
            package: field(value, "package"),
            path: field(value, "path").map(|p| dir.join(p)),
            version: field(value, "version"),
        },
    };
    if value.get("workspace").and_then(|w| w.as_bool()) == Some(true)
        && let Some((root, toml)) = workspace
        && let Some(inherited) = toml
            .get("workspace")
            .and_then(|w| w.get("dependencies"))
            .and_then(|d| d.get(key))
    {
        let inherited = spec_of(root, inherited);
        spec.package = spec.package.or(inherited.package);
        spec.path = spec.path.or(inherited.path);
        spec.version = spec.version.or(inherited.version);
    }
    spec
}

fn spec_of(dir: &Path, value: &toml::Value) -> DependencySpec {
    spec(dir, "", value, None)
}

/// Whether an entry fits a dependency: its path is the dependency's directory, or its version
/// requirement matches the dependency's version.
fn fits(spec: &DependencySpec, dependency: &Dependency) -> bool {
    if let Some(path) = &spec.path {
        return same_file(path, &dependency.dir);
    }
    let (Some(req), Ok(version)) = (&spec.version, semver::Version::parse(&dependency.version))
    else {
        return false;
    };
    semver::VersionReq::parse(req).is_ok_and(|req| req.matches(&version))
}

/// Whether two paths name one file (compared as written when either cannot be resolved).
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The manifest of the workspace the package in `dir` belongs to, with its directory: the
/// package's own when it has `[workspace]`, else the nearest one above that has it.
fn find_workspace(
    dir: &Path,
    own: &toml::Table,
    files: &mut Vec<PathBuf>,
) -> Option<(PathBuf, toml::Table)> {
    if own.contains_key("workspace") {
        return Some((dir.to_owned(), own.clone()));
    }
    for parent in dir.ancestors().skip(1) {
        let path = parent.join("Cargo.toml");
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        if let Ok(toml) = text.parse::<toml::Table>()
            && toml.contains_key("workspace")
        {
            files.push(path);
            return Some((parent.to_owned(), toml));
        }
    }
    None
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
        open: Vec::new(),
        candidates: Vec::new(),
        aliases: vec!["secrets_provider".to_owned()],
    };
    walker.file(root, true, &Module::default());
    // An alias of the attribute (`use stagecraft_core::secrets_provider as provider;`) may be
    // declared anywhere in the crate and reach a module through a glob import, such as a
    // prelude's: a struct is a provider when one of its attributes goes by any such name.
    let Walker {
        candidates,
        aliases,
        ..
    } = walker;
    for (attributes, provider) in candidates {
        if let Some((_, id)) = attributes.iter().find(|(name, _)| aliases.contains(name)) {
            scan.providers.push(Provider {
                id: id.clone(),
                ..provider
            });
        }
    }
    scan.providers
        .sort_by(|a, b| a.id.cmp(&b.id).then_with(|| a.path.cmp(&b.path)));
    scan
}

/// The module being walked: its path from the crate root, the `cfg`s around it, and the first
/// module on its path that the crate root cannot see.
#[derive(Clone, Default)]
struct Module {
    path: Vec<String>,
    cfgs: Vec<String>,
    private: Option<String>,
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
    /// Each struct with an attribute whose first argument is a string literal: the attributes'
    /// names with that literal, and the provider it is if one of them is `secrets_provider`.
    candidates: Vec<(Vec<(String, String)>, Provider)>,
    /// The names the attribute goes by in the crate.
    aliases: Vec<String>,
}

/// The largest module file the scan reads; rustc reports what a larger one holds.
const MAX_FILE_LEN: u64 = 64 << 20;

impl Walker<'_> {
    /// Walks a module file. Its child modules live in its own directory when it is a "mod-rs"
    /// file (`lib.rs`, `mod.rs`, a `#[path]` file), else in a directory named after it.
    fn file(&mut self, file: &Path, mod_rs: bool, module: &Module) {
        let full = self.manifest_dir.join(file);
        // Only regular files: a `#[path]` to a device (`/dev/zero`) under a `cfg` rustc never
        // reads would otherwise be read until memory runs out.
        let regular = fs::metadata(&full).is_ok_and(|m| m.is_file() && m.len() <= MAX_FILE_LEN);
        let Some(text) = regular.then(|| fs::read_to_string(&full).ok()).flatten() else {
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

    /// `dir` is the directory of `file` (for `#[path]`); `children` is where `mod x;` looks.
    fn items(&mut self, items: &[Item], file: &Path, dir: &Path, children: &Path, module: &Module) {
        self.aliases.extend(attribute_aliases(items));
        for item in items {
            match item {
                Item::Struct(s) => {
                    let attributes = string_attributes(&s.attrs);
                    if attributes.is_empty() {
                        continue;
                    }
                    let mut cfgs = module.cfgs.clone();
                    cfgs.extend(cfgs_of(&s.attrs));
                    let unreachable = module.private.clone().or_else(|| {
                        (!visible_from_root(&s.vis, module.path.len()))
                            .then(|| module.item_path(&s.ident))
                    });
                    let provider = Provider {
                        id: String::new(),
                        path: module.item_path(&s.ident),
                        file: file.to_owned(),
                        line: s.ident.span().start().line,
                        cfgs,
                        unreachable,
                        in_body: false,
                    };
                    self.candidates.push((attributes, provider));
                }
                Item::Mod(m) => self.module(m, file, dir, children, module),
                // A provider declared in a function body (a doctest's, too, which rustdoc wraps in
                // `fn main`) cannot be listed; found, it is reported with the reason.
                item => {
                    let mut in_bodies = InBodies(Vec::new());
                    in_bodies.visit_item(item);
                    for s in in_bodies.0 {
                        let attributes = string_attributes(&s.attrs);
                        if attributes.is_empty() {
                            continue;
                        }
                        let path = module.item_path(&s.ident);
                        let provider = Provider {
                            id: String::new(),
                            path: path.clone(),
                            file: file.to_owned(),
                            line: s.ident.span().start().line,
                            cfgs: module.cfgs.clone(),
                            unreachable: Some(path),
                            in_body: true,
                        };
                        self.candidates.push((attributes, provider));
                    }
                }
            }
        }
    }

    fn module(&mut self, m: &ItemMod, file: &Path, dir: &Path, children: &Path, parent: &Module) {
        let inner = parent.child(&m.ident, &m.vis, &m.attrs);
        // rustc looks `r#type` up as `type.rs`.
        let name = m.ident.unraw().to_string();
        if let Some((_, items)) = &m.content {
            // An inline module's child files are in a directory named after it, or the one its
            // `#[path]` names, relative to the file's own directory (also in a non-mod-rs file).
            let nested = match path_attr(&m.attrs) {
                Some(p) => dir.join(p),
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
            self.file(&children.join(name).join("mod.rs"), true, inner);
        }
    }
}

/// The structs declared in the blocks of an item (function bodies, constants' initialisers).
struct InBodies<'ast>(Vec<&'ast syn::ItemStruct>);

impl<'ast> Visit<'ast> for InBodies<'ast> {
    fn visit_item_struct(&mut self, s: &'ast syn::ItemStruct) {
        self.0.push(s);
    }
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

/// The attributes whose first argument is a string literal, by the last segment of their path,
/// with that literal: `#[stagecraft_core::secrets_provider("id", …)]` gives
/// `("secrets_provider", "id")`. An argument that is not a string literal is left to the
/// attribute to report.
fn string_attributes(attrs: &[Attribute]) -> Vec<(String, String)> {
    attrs
        .iter()
        .filter_map(|a| {
            let name = a.path().segments.last()?.ident.to_string();
            let id = a
                .parse_args_with(|input: ParseStream<'_>| {
                    let id: LitStr = input.parse()?;
                    // A trailing comma, or arguments the attribute reads and the scan does not need.
                    input.parse::<TokenStream>()?;
                    Ok(id)
                })
                .ok()?;
            Some((name, id.value()))
        })
        .collect()
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

/// The predicate and path of `#[cfg_attr(predicate, path = "x.rs")]`, also nested
/// (`cfg_attr(a, cfg_attr(b, path = "x.rs"))` is `all(a, b)`).
fn cfg_attr_path(attrs: &[Attribute]) -> Option<(TokenStream, String)> {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg_attr"))
        .find_map(|a| {
            let metas = a
                .parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
                .ok()?;
            cfg_attr_metas_path(metas)
        })
}

fn cfg_attr_metas_path(metas: Punctuated<Meta, Token![,]>) -> Option<(TokenStream, String)> {
    let mut metas = metas.into_iter();
    let predicate = metas.next()?;
    metas.find_map(|m| match m {
        Meta::NameValue(nv) if nv.path.is_ident("path") => {
            string_literal(&nv.value).map(|path| (quote!(#predicate), path))
        }
        Meta::List(list) if list.path.is_ident("cfg_attr") => {
            let inner = list
                .parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
                .ok()?;
            let (nested, path) = cfg_attr_metas_path(inner)?;
            Some((quote!(all(#predicate, #nested)), path))
        }
        _ => None,
    })
}

/// The generated table: a `provider_table!` call listing the providers in ID order, then those it
/// cannot list with the reason (the attribute reports it at the struct), then the provider crates
/// whose tables it carries, and a `compile_error!` for each ID that two unconditional providers
/// share.
pub fn render(providers: &[Provider], dependencies: &[String]) -> String {
    let mut out = String::new();
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
            let reason = if provider.in_body {
                "is declared inside a function body, where the provider table cannot name it: a provider must be declared at module level".to_owned()
            } else if *private == provider.path {
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
    writeln!(out, "    ; dependencies = [{}]", dependencies.join(", "))
        .expect("writing to a String cannot fail");
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
        let rendered = render(&providers, &[]);
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
        let rendered = render(&scan(dir.path(), Path::new("src/lib.rs")).providers, &[]);
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
        let rendered = render(&scan(dir.path(), Path::new("src/lib.rs")).providers, &[]);
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
        let rendered = render(&scan(dir.path(), Path::new("src/lib.rs")).providers, &[]);
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
    fn providers_in_function_bodies_are_reported_not_listed() {
        let dir = crate_with(&[(
            "src/lib.rs",
            "pub mod m {
    pub fn f() {
        #[secrets_provider(\"in-fn\")]
        pub struct InFn;
    }
}
impl X {
    fn g() {
        mod inner {
            #[stagecraft_core::secrets_provider(\"in-method\")]
            pub struct InMethod;
        }
    }
}
#[secrets_provider(\"top\")]
pub struct Top;
",
        )]);
        let providers = scan(dir.path(), Path::new("src/lib.rs")).providers;
        let found: Vec<_> = providers
            .iter()
            .map(|p| (p.id.as_str(), p.path.as_str(), p.line, p.in_body))
            .collect();
        assert_eq!(
            found,
            [
                ("in-fn", "crate::m::InFn", 4, true),
                ("in-method", "crate::InMethod", 11, true),
                ("top", "crate::Top", 16, false),
            ]
        );
        let rendered = render(&providers, &[]);
        assert!(rendered.contains("    crate::Top,\n"), "{rendered}");
        assert!(!rendered.contains("    crate::m::InFn,"), "{rendered}");
        assert!(
            rendered.contains("\"crate::m::InFn\" => \"is declared inside a function body"),
            "{rendered}"
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
    fn binary_only_crates_are_scanned_from_main() {
        let dir = crate_with(&[(
            "src/main.rs",
            "#[secrets_provider(\"bin\")]
pub struct Bin;
fn main() {}
",
        )]);
        assert_eq!(ids_and_paths(dir.path(), "src/main.rs")[0].0, "bin");
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
        let rendered = render(&providers, &[]);
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
    fn provider_dependencies_come_from_links_metadata() {
        let vars = [
            ("DEP_PROV_A_STAGECRAFT_PROVIDERS_LIB", "prov_a"),
            ("DEP_PROV_A_STAGECRAFT_PROVIDERS_PACKAGE", "prov-a"),
            ("DEP_PROV_A_STAGECRAFT_PROVIDERS_VERSION", "0.2.1"),
            ("DEP_PROV_A_STAGECRAFT_PROVIDERS_DIR", "/src/prov-a"),
            ("DEP_Z_INCLUDE", "/usr/include"),
            ("DEP_HALF_STAGECRAFT_PROVIDERS_VERSION", "1.0.0"),
            ("STAGECRAFT_PROVIDERS_LIB", "not_a_dependency"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        assert_eq!(
            provider_dependencies(vars.into_iter()),
            [Dependency {
                package: "prov-a".into(),
                version: "0.2.1".into(),
                lib: "prov_a".into(),
                dir: PathBuf::from("/src/prov-a"),
            }]
        );
    }

    #[test]
    fn the_package_file_reads_back() {
        let file = PackageFile {
            links: true,
            dependencies: vec!["prov_a".into(), "my_b".into()],
        };
        assert_eq!(PackageFile::parse(&file.render()), file);
    }

    fn dependency(package: &str, version: &str, lib: &str, dir: &str) -> Dependency {
        Dependency {
            package: package.into(),
            version: version.into(),
            lib: lib.into(),
            dir: PathBuf::from(dir),
        }
    }

    #[test]
    fn dependencies_are_named_as_the_manifest_names_them() {
        let toml: toml::Table = r#"
            [package]
            name = "app"
            [dependencies]
            acme-providers = "1"
            my-a = { package = "prov-a", path = "../prov-a" }
            prov-v = "0.2"
            prov-v-old = { package = "prov-v", version = "0.1" }
            shared = { workspace = true }
            [target.'cfg(unix)'.dependencies]
            unix-only = { version = "1" }
        "#
        .parse()
        .unwrap();
        let workspace: toml::Table = r#"
            [workspace.dependencies]
            shared = { package = "shared-providers", path = "shared" }
        "#
        .parse()
        .unwrap();
        let workspace = (PathBuf::from("/w"), workspace);
        let manifest = Manifest::from_toml(
            Path::new("/w/app"),
            &toml,
            Some(&workspace),
            vec![PathBuf::from("/w/app/Cargo.toml")],
        );
        assert_eq!(manifest.lib, None);
        assert!(manifest.binaries.is_empty());
        let name = |d: Dependency| manifest.extern_name(&d);
        // `[lib] name = "acme"`: the library's name, not the package's.
        assert_eq!(
            name(dependency("acme-providers", "1.0.0", "acme", "/r/acme")).unwrap(),
            "acme"
        );
        // Renamed: the key.
        assert_eq!(
            name(dependency("prov-a", "0.1.0", "prov_a", "/w/prov-a")).unwrap(),
            "my_a"
        );
        // Two versions of one package: the entry whose requirement fits.
        assert_eq!(
            name(dependency("prov-v", "0.2.3", "prov_v", "/r/v2")).unwrap(),
            "prov_v"
        );
        assert_eq!(
            name(dependency("prov-v", "0.1.9", "prov_v", "/r/v1")).unwrap(),
            "prov_v_old"
        );
        // Inherited from the workspace, renamed there.
        assert_eq!(
            name(dependency(
                "shared-providers",
                "0.1.0",
                "shared_providers",
                "/w/shared"
            ))
            .unwrap(),
            "shared"
        );
        assert_eq!(
            name(dependency("unix-only", "1.2.0", "unix_only", "/r/u")).unwrap(),
            "unix_only"
        );
        let error = name(dependency("elsewhere", "1.0.0", "elsewhere", "/r/e")).unwrap_err();
        assert!(error.contains("`elsewhere` 1.0.0 is a dependency, but no entry of [dependencies] in /w/app/Cargo.toml names it"), "{error}");
    }

    #[test]
    fn the_library_is_found_by_lib_section_or_src_lib_rs() {
        let dir = crate_with(&[("src/lib.rs", "")]);
        let plain: toml::Table = "[package]\nname = \"acme-providers\"\n".parse().unwrap();
        let manifest = Manifest::from_toml(dir.path(), &plain, None, vec![]);
        assert_eq!(
            manifest.lib,
            Some(("acme_providers".into(), dir.path().join("src/lib.rs")))
        );
        let renamed: toml::Table = "[package]\nname = \"acme-providers\"\n[lib]\nname = \"acme\"\npath = \"rust/lib.rs\"\n".parse().unwrap();
        let manifest = Manifest::from_toml(dir.path(), &renamed, None, vec![]);
        assert_eq!(
            manifest.lib,
            Some(("acme".into(), dir.path().join("rust/lib.rs")))
        );
        let bin_only = crate_with(&[
            ("src/main.rs", ""),
            ("src/bin/tool.rs", ""),
            ("src/bin/multi/main.rs", ""),
            ("examples/demo.rs", ""),
        ]);
        let manifest = Manifest::from_toml(bin_only.path(), &plain, None, vec![]);
        assert_eq!(manifest.lib, None);
        let mut binaries: Vec<_> = manifest
            .binaries
            .iter()
            .map(|(name, path)| {
                (
                    name.as_str(),
                    path.strip_prefix(bin_only.path()).unwrap().to_owned(),
                )
            })
            .collect();
        binaries.sort();
        assert_eq!(
            binaries,
            [
                ("acme-providers", PathBuf::from("src/main.rs")),
                ("demo", PathBuf::from("examples/demo.rs")),
                ("multi", PathBuf::from("src/bin/multi/main.rs")),
                ("tool", PathBuf::from("src/bin/tool.rs")),
            ]
        );
        let declared: toml::Table =
            "[package]\nname = \"p\"\n[[bin]]\nname = \"cli\"\npath = \"tools/cli.rs\"\n"
                .parse()
                .unwrap();
        let manifest = Manifest::from_toml(bin_only.path(), &declared, None, vec![]);
        assert_eq!(
            manifest.binaries[0],
            ("cli".to_owned(), bin_only.path().join("tools/cli.rs"))
        );
    }
}
