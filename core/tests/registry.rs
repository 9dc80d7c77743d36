//! The registry contract, ported case by case from the Go reference's registry tests, plus the
//! static table and the hooks.

use stagecraft_core::{
    ProviderIdentity, Registry, RegistryError, SecretsProvider, SyncError, SyncOptions, SyncReport,
    UnknownProvider, secrets, secrets_provider,
};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;

/// A provider registered at run time, with any ID (even an empty one).
struct Fake(String);

fn fake(id: &str) -> Fake {
    Fake(id.to_owned())
}

impl ProviderIdentity for Fake {
    fn id(&self) -> &str {
        &self.0
    }
}

impl SecretsProvider for Fake {
    async fn sync(&self, opts: SyncOptions) -> Result<SyncReport, SyncError> {
        Ok(SyncReport::new(
            self.0.clone(),
            opts.target.unwrap_or_default(),
        ))
    }
}

/// Declared at compile time.
#[secrets_provider("static-env")]
#[derive(Debug)]
pub struct StaticEnv;

impl SecretsProvider for StaticEnv {
    async fn sync(&self, opts: SyncOptions) -> Result<SyncReport, SyncError> {
        Ok(SyncReport::new("static", opts.target.unwrap_or_default()))
    }
}

stagecraft_core::provider_table!(StaticEnv);

fn panic_message(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

#[test]
fn register_two_then_has_both() {
    let registry = Registry::new("test::Registry");
    registry.register(fake("one"));
    registry.register(fake("two"));
    assert!(registry.has("one"));
    assert!(registry.has("two"));
}

#[test]
fn register_panics_on_empty_id() {
    let registry = Registry::new("test::Registry");
    let message = panic_message(|| registry.register(fake("")));
    assert_eq!(message, "test::Registry::register: empty provider ID");
    assert_eq!(
        registry.try_register(fake("")),
        Err(RegistryError::EmptyProviderId)
    );
    assert_eq!(registry.ids().len(), 0);
}

#[test]
fn register_panics_on_duplicate_id() {
    let registry = Registry::new("test::Registry");
    registry.register(fake("envfile"));
    let message = panic_message(|| registry.register(fake("envfile")));
    assert_eq!(
        message,
        "test::Registry::register: duplicate provider ID: \"envfile\""
    );
    assert_eq!(
        registry.try_register(fake("envfile")),
        Err(RegistryError::DuplicateProvider {
            id: "envfile".into()
        })
    );
}

#[test]
fn register_panics_on_a_run_time_duplicate_of_a_static_id() {
    stagecraft_core::secrets_registry!(static REGISTRY = [crate::SECRETS_PROVIDERS]);
    let message = panic_message(|| REGISTRY.register(fake("static-env")));
    assert!(
        message.ends_with("REGISTRY::register: duplicate provider ID: \"static-env\""),
        "{message}"
    );
    assert!(message.starts_with("registry::"), "{message}");
    // The registry still works after the panic.
    assert_eq!(REGISTRY.ids().collect::<Vec<_>>(), ["static-env"]);
}

#[tokio::test]
async fn get_returns_the_provider() {
    let registry = Registry::new("test::Registry");
    registry.register(fake("envfile"));
    let provider = registry.get("envfile").unwrap();
    assert_eq!(provider.id(), "envfile");
    let report = provider
        .sync(SyncOptions::default().target("t"))
        .await
        .unwrap();
    assert_eq!(
        (report.source.as_str(), report.target.as_str()),
        ("envfile", "t")
    );
}

#[test]
fn get_unknown_returns_an_error_carrying_the_id() {
    let registry = Registry::new("test::Registry");
    registry.register(fake("envfile"));
    registry.register(fake("encore"));
    let error = registry.get("envfle").unwrap_err();
    assert_eq!(error.id, "envfle");
    assert_eq!(
        error.to_string(),
        "unknown secrets provider \"envfle\"; did you mean \"envfile\"? (registered: encore, envfile)"
    );
    assert!(!registry.has("envfle"));
    let far = registry.get("vault").unwrap_err().to_string();
    assert_eq!(
        far,
        "unknown secrets provider \"vault\" (registered: encore, envfile)"
    );
    let empty = Registry::new("test::Registry")
        .get("x")
        .unwrap_err()
        .to_string();
    assert_eq!(empty, "unknown secrets provider \"x\" (none registered)");
}

/// What a caller can reach in the error without parsing its message, and what its message
/// says for IDs a hostile or careless user might type: long (kept on the heap past 24 bytes),
/// over the 64-byte limit, not ASCII, with quotes and control characters (escaped, as `{:?}`).
#[test]
fn unknown_provider_error_keeps_the_id_and_the_known_ids() {
    stagecraft_core::secrets_registry!(static REGISTRY = [crate::SECRETS_PROVIDERS]);
    REGISTRY.register(fake("envfile"));
    let UnknownProvider { kind, id, known } = REGISTRY.get("envfle").unwrap_err();
    assert_eq!((kind, id.as_str()), ("secrets", "envfle"));
    assert_eq!(known.iter().collect::<Vec<_>>(), ["envfile", "static-env"]);
    assert_eq!(known.len(), 2);
    assert_eq!(known.closest("envfle"), Some("envfile"));
    assert_eq!(known.closest("static.env"), Some("static-env"));
    assert_eq!(known.closest("vault"), None);

    let long = format!("{}x", "stagecraft.provider.".repeat(4));
    let over = "e".repeat(200);
    for (asked, shown) in [
        (long.as_str(), format!("{long:?}")),
        (over.as_str(), format!("{over:?}")),
        (
            "énvfile",
            "\"énvfile\"; did you mean \"envfile\"?".to_owned(),
        ),
        ("x\"y\n", "\"x\\\"y\\n\"".to_owned()),
        ("", "\"\"".to_owned()),
    ] {
        let error = REGISTRY.get(asked).unwrap_err();
        assert_eq!(error.id, asked);
        assert_eq!(
            error.to_string(),
            format!("unknown secrets provider {shown} (registered: envfile, static-env)")
        );
    }
}

/// The error is a snapshot: providers registered after the miss are not in it, and it can be
/// sent to another thread, cloned and compared, and boxed as `dyn Error` (how the CLI takes it).
#[test]
fn unknown_provider_error_is_a_snapshot_that_outlives_the_lookup() {
    let registry = Registry::new("test::Registry");
    registry.register(fake("encore"));
    let error = registry.get(&String::from("vault")).unwrap_err();
    registry.register(fake("vault"));
    let copy = error.clone();
    let message = thread::spawn(move || copy.to_string()).join().unwrap();
    assert_eq!(
        message,
        "unknown secrets provider \"vault\" (registered: encore)"
    );
    assert!(registry.get("vault").is_ok());
    let same = Registry::new("test::Same");
    same.register(fake("encore"));
    assert_eq!(same.get("vault").unwrap_err(), error);
    same.register(fake("aws"));
    assert_ne!(same.get("vault").unwrap_err(), error);
    assert_eq!(format!("{:?}", error.known), r#"["encore"]"#);
    let boxed: Box<dyn std::error::Error + Send + Sync + 'static> = error.clone().into();
    assert_eq!(boxed.to_string(), error.to_string());
    // `?` turns it into a `RegistryError` for functions that also register, message unchanged.
    let lookup = || -> Result<(), RegistryError> {
        registry.try_register(fake("aws"))?;
        registry.get("vaults")?;
        Ok(())
    };
    let converted = lookup().unwrap_err();
    assert!(matches!(&converted, RegistryError::UnknownProvider(e) if e.id == "vaults"));
    assert_eq!(
        converted.to_string(),
        "unknown secrets provider \"vaults\"; did you mean \"vault\"? (registered: aws, encore, vault)"
    );
}

#[test]
fn has_before_and_after_registering() {
    let registry = Registry::new("test::Registry");
    assert!(!registry.has("envfile"));
    registry.register(fake("envfile"));
    assert!(registry.has("envfile"));
}

#[test]
fn ids_are_empty_then_sorted_after_registering_out_of_order() {
    let registry = Registry::new("test::Registry");
    assert_eq!(registry.ids().count(), 0);
    for id in ["vault", "aws", "envfile", "encore", "a.b", "a-b"] {
        registry.register(fake(id));
    }
    assert_eq!(
        registry.ids().collect::<Vec<_>>(),
        ["a-b", "a.b", "aws", "encore", "envfile", "vault"]
    );
}

#[test]
fn list_is_sorted_by_id_and_merges_static_and_run_time_providers() {
    stagecraft_core::secrets_registry!(static REGISTRY = [crate::SECRETS_PROVIDERS]);
    REGISTRY.register(fake("zeta"));
    REGISTRY.register(fake("alpha"));
    REGISTRY.register(fake("static-a"));
    let listed: Vec<_> = REGISTRY.list().map(|p| p.id()).collect();
    assert_eq!(listed, ["alpha", "static-a", "static-env", "zeta"]);
    assert_eq!(REGISTRY.list().len(), 4);
    assert_eq!(
        REGISTRY.get("static-env").unwrap().description(),
        "Declared at compile time."
    );
}

#[test]
fn concurrent_registration_then_concurrent_reads() {
    let registry = Arc::new(Registry::new("test::Registry"));
    let start = Arc::new(Barrier::new(10));
    let writers: Vec<_> = (0..10)
        .map(|i| {
            let (registry, start) = (Arc::clone(&registry), Arc::clone(&start));
            thread::spawn(move || {
                start.wait();
                registry.register(fake(&format!("provider-{i}")));
            })
        })
        .collect();
    writers.into_iter().for_each(|t| t.join().unwrap());
    let expected: Vec<String> = {
        let mut ids: Vec<_> = (0..10).map(|i| format!("provider-{i}")).collect();
        ids.sort();
        ids
    };
    assert_eq!(registry.ids().collect::<Vec<_>>(), expected);

    let start = Arc::new(Barrier::new(100));
    let readers: Vec<_> = (0..100)
        .map(|i| {
            let (registry, start) = (Arc::clone(&registry), Arc::clone(&start));
            thread::spawn(move || {
                start.wait();
                let id = format!("provider-{}", i % 10);
                assert_eq!(registry.get(&id).unwrap().id(), id);
                assert!(registry.has(&id));
                assert_eq!(registry.ids().len(), 10);
                assert!(registry.get("missing").is_err());
            })
        })
        .collect();
    readers.into_iter().for_each(|t| t.join().unwrap());
}

/// Misses racing with registrations: each error lists a sorted snapshot of what was registered
/// at that moment (never a half-made list), and its message agrees with its `known`.
#[test]
fn misses_during_registration_see_whole_snapshots() {
    stagecraft_core::secrets_registry!(static REGISTRY = [crate::SECRETS_PROVIDERS]);
    let start = Arc::new(Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let start = Arc::clone(&start);
            thread::spawn(move || {
                start.wait();
                for i in 0..50 {
                    if t % 2 == 0 {
                        REGISTRY.register(fake(&format!("p{t}-{i:02}")));
                    }
                    let error = REGISTRY.get("missing").unwrap_err();
                    let known: Vec<_> = error.known.iter().collect();
                    assert!(known.windows(2).all(|w| w[0] < w[1]), "{known:?}");
                    assert!(known.contains(&"static-env"));
                    assert!(known.iter().all(|id| REGISTRY.has(id)));
                    assert!(
                        error
                            .to_string()
                            .ends_with(&format!("(registered: {})", known.join(", ")))
                    );
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(REGISTRY.get("missing").unwrap_err().known.len(), 101);
}

#[test]
fn default_registry_functions() {
    // The only test that touches the process-wide default registry.
    assert!(!secrets::has("global-test"));
    secrets::register(fake("global-test"));
    assert!(secrets::has("global-test"));
    assert_eq!(secrets::get("global-test").unwrap().id(), "global-test");
    assert!(secrets::ids().any(|id| id == "global-test"));
    assert!(secrets::list().any(|p| p.id() == "global-test"));
    let message = panic_message(|| secrets::register(fake("global-test")));
    assert_eq!(
        message,
        "stagecraft_core::secrets::Registry::register: duplicate provider ID: \"global-test\""
    );
    assert!(std::ptr::eq(
        secrets::default_registry(),
        secrets::default_registry()
    ));
}

#[test]
fn registered_hook_fires_once_per_successful_registration() {
    let registry = Registry::new("test::Registry");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    registry
        .on_provider_registered(move |kind, id| sink.lock().unwrap().push(format!("{kind}/{id}")));
    registry.register(fake("b"));
    registry.register(fake("a"));
    let _ = registry.try_register(fake("a"));
    let _ = registry.try_register(fake(""));
    assert_eq!(*seen.lock().unwrap(), ["secrets/b", "secrets/a"]);
}

#[test]
fn lookup_hook_fires_on_hit_and_miss() {
    stagecraft_core::secrets_registry!(static REGISTRY = [crate::SECRETS_PROVIDERS]);
    REGISTRY.register(fake("dynamic"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    REGISTRY.on_provider_lookup(move |kind, id, found| {
        sink.lock()
            .unwrap()
            .push((kind.to_owned(), id.to_owned(), found))
    });
    let _ = REGISTRY.get("static-env");
    let _ = REGISTRY.get("dynamic");
    let _ = REGISTRY.get("nope");
    let _ = REGISTRY.has("static-env"); // has() is not a lookup
    let seen = seen.lock().unwrap();
    let expected = [("static-env", true), ("dynamic", true), ("nope", false)]
        .map(|(id, found)| ("secrets".to_owned(), id.to_owned(), found));
    assert_eq!(*seen, expected);
}

#[test]
fn run_time_ids_follow_the_attributes_rules() {
    let registry = Registry::new("test::Registry");
    let long = "a".repeat(65);
    for (id, reason) in [
        ("Env File", "only lowercase letters"),
        ("envfile\0", "only lowercase letters"),
        ("ENVFILE", "only lowercase letters"),
        ("énv", "only lowercase letters"),
        (long.as_str(), "longer than 64 bytes"),
    ] {
        let error = registry.try_register(fake(id)).unwrap_err();
        assert!(
            matches!(&error, RegistryError::InvalidProviderId { id: got, .. } if got == id),
            "{error:?}"
        );
        assert!(error.to_string().contains(reason), "{error}");
    }
    assert_eq!(registry.ids().len(), 0);
    registry.register(fake(&"a".repeat(64)));
    registry.register(fake("aws.secrets-manager_v2"));
    assert_eq!(registry.ids().len(), 2);
}

#[test]
fn a_panicking_registered_hook_leaves_the_provider_registered_and_the_registry_usable() {
    let registry = Registry::new("test::Registry");
    registry.on_provider_registered(|_, id| {
        if id == "boom" {
            panic!("hook failed");
        }
    });
    assert_eq!(
        panic_message(|| registry.register(fake("boom"))),
        "hook failed"
    );
    assert!(registry.has("boom"));
    assert_eq!(
        registry.try_register(fake("boom")),
        Err(RegistryError::DuplicateProvider {
            id: "boom".to_owned()
        })
    );
    registry.register(fake("calm"));
    assert_eq!(registry.ids().collect::<Vec<_>>(), ["boom", "calm"]);
    assert!(registry.get("calm").is_ok());
}

#[test]
fn first_use_from_many_threads_at_once_passes_the_linked_check_in_every_thread() {
    stagecraft_core::secrets_registry!(static REGISTRY = [crate::SECRETS_PROVIDERS]);
    let start = Barrier::new(8);
    thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                start.wait();
                assert_eq!(REGISTRY.get("static-env").unwrap().id(), "static-env");
            });
        }
    });
}

#[test]
fn first_use_from_many_threads_at_once_panics_in_every_thread_and_keeps_panicking() {
    // `static-env` is compiled into this test program, and this registry leaves it out.
    stagecraft_core::secrets_registry!(static REGISTRY = []);
    let start = Barrier::new(8);
    let messages: Vec<String> = thread::scope(|s| {
        let threads: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    start.wait();
                    panic_message(|| {
                        let _ = REGISTRY.get("static-env");
                    })
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    for message in &messages {
        assert!(
            message.contains("::REGISTRY::get: a secrets provider is compiled into this program but missing from the registry: `registry::StaticEnv` with id \"static-env\""),
            "{message}"
        );
    }
    // No thread's failed check lets a later use through.
    assert!(panic_message(|| drop(REGISTRY.ids())).contains("::REGISTRY::ids: a secrets provider"));
}
