//! [`Strings`]: the contract's maps of strings to strings (a site's texts
//! per language, its invitation settings, the visit's `context.extra`).

use std::collections::BTreeMap;

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A map of strings, kept as a `BTreeMap` keeps it (sorted by key, one
/// value per key, the last one given) and a JSON object on the wire; but a
/// sorted `Vec` underneath, searched by halves. The widget reads these maps
/// in the wasm, where a B-tree's code costs more than 1 KB brotli and a
/// binary search almost nothing (README, "Widget size").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Strings(Vec<(String, String)>);

impl Strings {
    /// An empty map.
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    /// How many keys it has.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it has no key.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Where `key` is, or would go.
    fn find(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&String> {
        self.find(key).ok().map(|at| &self.0[at].1)
    }

    /// Sets `key` to `value`; returns the value it replaced.
    pub fn insert(&mut self, key: String, value: String) -> Option<String> {
        match self.find(&key) {
            Ok(at) => Some(std::mem::replace(&mut self.0[at].1, value)),
            Err(at) => {
                self.0.insert(at, (key, value));
                None
            }
        }
    }

    /// Removes every key.
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// The keys and values, by key.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&String, &String)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl std::ops::Index<&str> for Strings {
    type Output = String;

    /// The value of `key`; panics when there is none, as a `BTreeMap` does.
    fn index(&self, key: &str) -> &String {
        self.get(key).unwrap_or_else(|| panic!("no key {key:?}"))
    }
}

impl From<BTreeMap<String, String>> for Strings {
    fn from(map: BTreeMap<String, String>) -> Self {
        // Already sorted, one value per key.
        Self(map.into_iter().collect())
    }
}

impl<const N: usize> From<[(String, String); N]> for Strings {
    fn from(pairs: [(String, String); N]) -> Self {
        pairs.into_iter().collect()
    }
}

impl FromIterator<(String, String)> for Strings {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        let mut map = Self::new();
        for (key, value) in pairs {
            map.insert(key, value);
        }
        map
    }
}

impl<'a> IntoIterator for &'a Strings {
    type Item = (&'a String, &'a String);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, String)>,
        fn(&'a (String, String)) -> (&'a String, &'a String),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl Serialize for Strings {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Strings {
    /// Natively (the proxy, which reads what strangers send) through a
    /// `BTreeMap`, so that many keys in any order cost `n log n`. In the
    /// widget, inserted one by one (each a binary search and a shift): it
    /// reads only its proxy's few keys, and the wasm keeps no B-tree.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[cfg(not(target_arch = "wasm32"))]
        {
            BTreeMap::<String, String>::deserialize(deserializer).map(Self::from)
        }
        #[cfg(target_arch = "wasm32")]
        {
            struct Pairs;
            impl<'de> serde::de::Visitor<'de> for Pairs {
                type Value = Strings;

                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a map of strings")
                }

                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut entries: A,
                ) -> Result<Strings, A::Error> {
                    let mut map = Strings::new();
                    while let Some((key, value)) = entries.next_entry()? {
                        map.insert(key, value);
                    }
                    Ok(map)
                }
            }
            deserializer.deserialize_map(Pairs)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Strings;

    fn pair(key: &str, value: &str) -> (String, String) {
        (key.to_owned(), value.to_owned())
    }

    #[test]
    fn keys_stay_sorted_and_the_last_value_wins() {
        let map: Strings = [pair("b", "1"), pair("a", "2"), pair("b", "3")].into();
        let pairs: Vec<_> = map.iter().collect();
        assert_eq!(
            pairs,
            [
                (&"a".to_owned(), &"2".to_owned()),
                (&"b".to_owned(), &"3".to_owned())
            ]
        );
        assert_eq!(map.get("b").map(String::as_str), Some("3"));
        assert_eq!(map.get("c"), None);
        assert_eq!(map["a"], "2");
    }

    #[test]
    fn it_is_a_json_object_as_a_btree_map_would_be() -> serde_json::Result<()> {
        let json = r#"{"z":"1","a":"2","m":"3","a":"4"}"#;
        let map: Strings = serde_json::from_str(json)?;
        let btree: std::collections::BTreeMap<String, String> = serde_json::from_str(json)?;
        assert_eq!(map, Strings::from(btree.clone()));
        assert_eq!(serde_json::to_string(&map)?, serde_json::to_string(&btree)?);
        assert_eq!(serde_json::to_string(&map)?, r#"{"a":"4","m":"3","z":"1"}"#);
        assert!(serde_json::from_str::<Strings>(r#"{"a":1}"#).is_err());
        Ok(())
    }
}
