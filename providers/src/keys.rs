//! `--keys`: the entries of a source that a sync is limited to, shared by the providers that
//! read a whole source first (`encore`, `vault`).
//!
//! ```
//! use stagecraft_providers::keys::{Order, select};
//!
//! let entry = |key: &str, value| (key.to_owned(), value);
//! let source = vec![entry("A", 1), entry("B", 2), entry("C", 3)];
//! let asked = ["C".to_owned(), "A".to_owned(), "C".to_owned()];
//! let chosen = select(source.clone(), &asked, Order::Asked);
//! assert_eq!(chosen, Ok(vec![entry("C", 3), entry("A", 1)]));
//! let chosen = select(source.clone(), &asked, Order::Source);
//! assert_eq!(chosen, Ok(vec![entry("A", 1), entry("C", 3)]));
//! let missing = select(source, &["Z".to_owned(), "A".to_owned()], Order::Asked);
//! assert_eq!(missing, Err(vec!["Z".to_owned()]));
//! ```

use foldhash::HashMap;

/// The order of the entries [`select`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// The order of the keys asked for (a key asked twice is kept where it was first asked).
    Asked,
    /// The source's order.
    Source,
}

/// The entries whose keys are among `keys` (all of them when `keys` is empty), each once, in
/// `order`; or, when some key asked for is in no entry, those keys in the order asked (a key
/// asked twice is named twice), never a value.
///
/// One hash lookup per key asked and per entry: linear in both, where a scan of the entries
/// for each key asked would be quadratic (minutes for 50,000 keys).
pub fn select<V>(
    entries: Vec<(String, V)>,
    keys: &[String],
    order: Order,
) -> Result<Vec<(String, V)>, Vec<String>> {
    if keys.is_empty() {
        return Ok(entries);
    }
    // Each key asked for, with the index of the first entry that has it.
    let mut found: HashMap<&str, Option<usize>> = keys.iter().map(|k| (k.as_str(), None)).collect();
    for (at, (key, _)) in entries.iter().enumerate() {
        if let Some(slot) = found.get_mut(key.as_str()) {
            slot.get_or_insert(at);
        }
    }
    let missing: Vec<String> = keys
        .iter()
        .filter(|k| found[k.as_str()].is_none())
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    Ok(match order {
        // The first entry of each key asked for, where it stands.
        Order::Source => entries
            .into_iter()
            .enumerate()
            .filter(|(at, (key, _))| found.get(key.as_str()) == Some(&Some(*at)))
            .map(|(_, entry)| entry)
            .collect(),
        Order::Asked => {
            let mut entries: Vec<Option<(String, V)>> = entries.into_iter().map(Some).collect();
            keys.iter()
                .filter_map(|k| found[k.as_str()].and_then(|at| entries[at].take()))
                .collect()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn no_keys_keep_every_entry() {
        let entries = vec![("B".to_owned(), 2), ("A".to_owned(), 1)];
        assert_eq!(select(entries.clone(), &[], Order::Asked), Ok(entries));
    }

    #[test]
    fn missing_keys_are_named_in_the_order_asked_even_twice() {
        let entries = vec![("A".to_owned(), 1)];
        let asked = strings(&["Z", "A", "Y", "Z"]);
        for order in [Order::Asked, Order::Source] {
            assert_eq!(
                select(entries.clone(), &asked, order),
                Err(strings(&["Z", "Y", "Z"]))
            );
        }
    }

    #[test]
    fn fifty_thousand_keys_in_either_order() {
        let entries: Vec<(String, usize)> = (0..50_000).map(|i| (format!("K{i}"), i)).collect();
        let asked: Vec<String> = (0..50_000).rev().map(|i| format!("K{i}")).collect();
        let chosen = select(entries.clone(), &asked, Order::Asked).unwrap();
        assert!(chosen.iter().map(|(_, v)| *v).eq((0..50_000).rev()));
        let chosen = select(entries, &asked, Order::Source).unwrap();
        assert!(chosen.iter().map(|(_, v)| *v).eq(0..50_000));
    }
}
