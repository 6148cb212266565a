//! `Chunked`: a list that grows one fixed-size block at a time.
//!
//! A run at thousands of tables makes close to a million findings. Held in a `Vec`, the
//! last doubling of its buffer keeps the old buffer and one twice its size alive at once:
//! half again the findings' own size, at the moment memory peaks. A `Chunked` list never
//! copies what it holds and wastes at most one block.

use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeSeq, Serializer};

/// Items per block: about a quarter of a megabyte of findings.
const BLOCK: usize = 1024;

/// A list of `T` kept in blocks of [`BLOCK`] items, in the order they were pushed.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunked<T> {
    blocks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Chunked {
            blocks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Chunked<T> {
    /// An empty list; it allocates nothing until the first push.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add `item` at the end.
    pub fn push(&mut self, item: T) {
        match self.blocks.last_mut() {
            Some(block) if block.len() < BLOCK => block.push(item),
            _ => {
                let mut block = Vec::with_capacity(BLOCK);
                block.push(item);
                self.blocks.push(block);
            }
        }
        self.len += 1;
    }

    /// Move every item of `items` to the end, leaving `items` empty with its capacity, so
    /// that one buffer can gather the next batch.
    pub fn append(&mut self, items: &mut Vec<T>) {
        self.extend(items.drain(..));
    }

    /// How many items the list holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the list holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The items in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + Clone + '_ {
        self.blocks.iter().flatten()
    }
}

impl<T> Extend<T> for Chunked<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, items: I) {
        for item in items {
            self.push(item);
        }
    }
}

impl<T> FromIterator<T> for Chunked<T> {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        let mut list = Chunked::new();
        list.extend(items);
        list
    }
}

impl<T> From<Vec<T>> for Chunked<T> {
    fn from(items: Vec<T>) -> Self {
        items.into_iter().collect()
    }
}

impl<T> IntoIterator for Chunked<T> {
    type Item = T;
    type IntoIter = std::iter::Flatten<std::vec::IntoIter<Vec<T>>>;

    fn into_iter(self) -> Self::IntoIter {
        self.blocks.into_iter().flatten()
    }
}

impl<'a, T> IntoIterator for &'a Chunked<T> {
    type Item = &'a T;
    type IntoIter = std::iter::Flatten<std::slice::Iter<'a, Vec<T>>>;

    fn into_iter(self) -> Self::IntoIter {
        self.blocks.iter().flatten()
    }
}

/// Written as a sequence, exactly as a `Vec` of the same items would be.
impl<T: Serialize> Serialize for Chunked<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len))?;
        for item in self {
            seq.serialize_element(item)?;
        }
        seq.end()
    }
}

/// Read from any sequence, block by block as it arrives.
impl<'de, T: Deserialize<'de>> Deserialize<'de> for Chunked<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Items<T>(std::marker::PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for Items<T> {
            type Value = Chunked<T>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a sequence")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut list = Chunked::new();
                while let Some(item) = seq.next_element()? {
                    list.push(item);
                }
                Ok(list)
            }
        }

        deserializer.deserialize_seq(Items(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_count_across_blocks() {
        let mut list = Chunked::new();
        let mut batch: Vec<usize> = (0..BLOCK / 2).collect();
        list.append(&mut batch);
        assert!(batch.is_empty());
        list.extend(BLOCK / 2..3 * BLOCK + 7);
        assert_eq!(list.len(), 3 * BLOCK + 7);
        assert_eq!(list.blocks.len(), 4, "blocks fill before a new one starts");
        assert!(list.iter().copied().eq(0..3 * BLOCK + 7));
        assert!(list.iter().rev().copied().eq((0..3 * BLOCK + 7).rev()));
        assert!(list.into_iter().eq(0..3 * BLOCK + 7));
    }

    #[test]
    fn reads_and_writes_json_as_a_vec_does() {
        let items: Vec<u32> = (0..2 * BLOCK as u32 + 3).collect();
        let list: Chunked<u32> = items.clone().into();
        let written = serde_json::to_string(&list).unwrap();
        assert_eq!(written, serde_json::to_string(&items).unwrap());
        assert_eq!(serde_json::to_string(&Chunked::<u32>::new()).unwrap(), "[]");
        let read: Chunked<u32> = serde_json::from_str(&written).unwrap();
        assert_eq!(read, list);
        assert!(serde_json::from_str::<Chunked<u32>>("{}").is_err());
    }
}
