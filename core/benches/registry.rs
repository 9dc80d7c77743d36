//! Registry lookups on a 16-provider static table, against a hand-written `match` over the same
//! IDs returning the same `&'static dyn` and the obvious port of the Go reference
//! (`RwLock<HashMap<String, Arc<dyn …>>>`), single-threaded and from 2 threads.
//! Run with `cargo bench -p stagecraft-core`; the allocation columns come from divan's
//! `AllocProfiler` (a `get` miss must show none until its error is displayed).

use divan::{AllocProfiler, Bencher, black_box};
use stagecraft_core::{
    DynSecretsProvider, SecretsProvider, SyncError, SyncOptions, SyncReport, secrets_provider,
};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

macro_rules! providers {
    ($($name:ident = $id:literal),* $(,)?) => {
        $(
            #[secrets_provider($id)]
            #[derive(Debug)]
            pub struct $name;

            impl SecretsProvider for $name {
                async fn sync(&self, _: SyncOptions) -> Result<SyncReport, SyncError> {
                    Ok(SyncReport::default())
                }
            }
        )*

        stagecraft_core::provider_table!($($name),*);

        /// The hand-written lookup that a registry competes with: a `match` over the IDs.
        #[inline(never)]
        fn by_match(id: &str) -> Option<&'static dyn DynSecretsProvider> {
            match id {
                $($id => Some(&$name),)*
                _ => None,
            }
        }

        fn baseline() -> RwLockMap {
            let map = RwLockMap::default();
            $(map.register(Arc::new($name));)*
            map
        }
    };
}

providers!(
    P01 = "aws.secrets-manager",
    P02 = "azure.key-vault",
    P03 = "bitwarden",
    P04 = "cyberark",
    P05 = "doppler",
    P06 = "encore",
    P07 = "envfile",
    P08 = "gcp.secret-manager",
    P09 = "github",
    P10 = "gitlab",
    P11 = "infisical",
    P12 = "keeper",
    P13 = "onepassword",
    P14 = "sops",
    P15 = "vault",
    P16 = "vercel",
);

stagecraft_core::secrets_registry!(static REGISTRY = [crate::SECRETS_PROVIDERS]);

const HIT: &str = "onepassword";
const MISS: &str = "lastpass";
/// Past the 24 bytes an `UnknownId` keeps inline: the miss allocates the ID.
const LONG_MISS: &str = "aws.secrets-manager.eu-west-1";

/// The Go reference ported as it stands: a read-write lock around a hash map.
#[derive(Default)]
struct RwLockMap {
    providers: RwLock<HashMap<String, Arc<dyn DynSecretsProvider>>>,
}

impl RwLockMap {
    fn register(&self, provider: Arc<dyn DynSecretsProvider>) {
        let mut map = self.providers.write().unwrap();
        let id = provider.id().to_owned();
        assert!(!id.is_empty() && !map.contains_key(&id));
        map.insert(id, provider);
    }

    fn get(&self, id: &str) -> Result<Arc<dyn DynSecretsProvider>, String> {
        self.providers
            .read()
            .unwrap()
            .get(id)
            .cloned()
            .ok_or_else(|| format!("unknown secrets provider {id:?}"))
    }

    fn has(&self, id: &str) -> bool {
        self.providers.read().unwrap().contains_key(id)
    }

    fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.providers.read().unwrap().keys().cloned().collect();
        ids.sort();
        ids
    }

    fn list(&self) -> Vec<Arc<dyn DynSecretsProvider>> {
        let mut list: Vec<_> = self.providers.read().unwrap().values().cloned().collect();
        list.sort_by(|a, b| a.id().cmp(b.id()));
        list
    }
}

const THREADS: &[usize] = &[1, 2];

#[divan::bench_group(threads = THREADS)]
mod static_table {
    use super::*;

    #[divan::bench]
    fn get_hit(b: Bencher) {
        b.bench(|| REGISTRY.get(black_box(HIT)).is_ok());
    }

    #[divan::bench]
    fn get_miss(b: Bencher) {
        b.bench(|| REGISTRY.get(black_box(MISS)).is_err());
    }

    #[divan::bench]
    fn get_miss_long_id(b: Bencher) {
        b.bench(|| REGISTRY.get(black_box(LONG_MISS)).is_err());
    }

    #[divan::bench]
    fn has(b: Bencher) {
        b.bench(|| REGISTRY.has(black_box(HIT)));
    }

    #[divan::bench]
    fn ids(b: Bencher) {
        b.bench(|| REGISTRY.ids().map(|id| black_box(id).len()).sum::<usize>());
    }

    #[divan::bench]
    fn list(b: Bencher) {
        b.bench(|| {
            REGISTRY
                .list()
                .map(|p| black_box(p).id().len())
                .sum::<usize>()
        });
    }
}

#[divan::bench_group(threads = THREADS)]
mod hand_written_match {
    use super::*;

    #[divan::bench]
    fn get_hit(b: Bencher) {
        b.bench(|| by_match(black_box(HIT)).is_some());
    }

    #[divan::bench]
    fn get_miss(b: Bencher) {
        b.bench(|| by_match(black_box(MISS)).is_none());
    }
}

#[divan::bench_group(threads = THREADS)]
mod rwlock_hashmap {
    use super::*;
    use std::sync::LazyLock;

    static MAP: LazyLock<RwLockMap> = LazyLock::new(baseline);

    #[divan::bench]
    fn get_hit(b: Bencher) {
        LazyLock::force(&MAP);
        b.bench(|| MAP.get(black_box(HIT)).is_ok());
    }

    #[divan::bench]
    fn get_miss(b: Bencher) {
        LazyLock::force(&MAP);
        b.bench(|| MAP.get(black_box(MISS)).is_err());
    }

    #[divan::bench]
    fn has(b: Bencher) {
        LazyLock::force(&MAP);
        b.bench(|| MAP.has(black_box(HIT)));
    }

    #[divan::bench]
    fn ids(b: Bencher) {
        LazyLock::force(&MAP);
        b.bench(|| {
            MAP.ids()
                .iter()
                .map(|id| black_box(id).len())
                .sum::<usize>()
        });
    }

    #[divan::bench]
    fn list(b: Bencher) {
        LazyLock::force(&MAP);
        b.bench(|| {
            MAP.list()
                .iter()
                .map(|p| black_box(p).id().len())
                .sum::<usize>()
        });
    }
}

fn main() {
    // Every provider is reachable and the two registries agree.
    assert_eq!(REGISTRY.ids().collect::<Vec<_>>(), baseline().ids());
    for id in REGISTRY.ids() {
        let by_registry: *const dyn DynSecretsProvider = REGISTRY.get(id).unwrap();
        assert!(std::ptr::addr_eq(by_registry, by_match(id).unwrap()));
    }
    divan::main();
}
