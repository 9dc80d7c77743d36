//! The generated 1,000-provider fixture: its table, listed in descending order, and a registry of
//! 2,000 entries merged from two tables listed later-IDs-first, all compiled (the fixture would
//! not build if const evaluation tripped `long_running_const_eval`), hashed and found.

use many_providers::{REGISTRY, TWICE_AS_MANY};

#[test]
fn a_thousand_providers_are_sorted_hashed_and_found() {
    assert_eq!(REGISTRY.ids().len(), 1000);
    assert!(REGISTRY.ids().is_sorted());
    assert!(
        REGISTRY.is_hashed(),
        "IDs alike in length, head and tail must not force a fallback"
    );
    for i in 0..1000 {
        let id = format!("stagecraft.p{i:04}.provider");
        assert_eq!(REGISTRY.get(&id).unwrap().id(), id);
    }
    assert!(!REGISTRY.has("stagecraft.p1000.provider"));
    assert!(!REGISTRY.has("stagecraft.p0000.providers"));
}

#[test]
fn two_thousand_entries_merge_in_order() {
    // The mirror entries' providers report their own IDs, so read the IDs from the table.
    let ids: Vec<&str> = TWICE_AS_MANY.table().iter().map(|e| e.id()).collect();
    assert_eq!(ids.len(), 2000);
    assert!(ids.is_sorted());
    assert!(TWICE_AS_MANY.is_hashed());
    assert_eq!(ids.first(), Some(&"stagecraft.p0000.provider"));
    assert_eq!(ids.last(), Some(&"zz.mirror.0999"));
    let mirrored = TWICE_AS_MANY.get("zz.mirror.0042").unwrap();
    assert_eq!(mirrored.id(), "stagecraft.p0042.provider");
}
