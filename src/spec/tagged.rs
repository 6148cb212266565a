//! Reading the spec format's externally tagged enums whose variants carry a value
//! (`rule: { sql: … }`, `replica_identity: { index: … }`, a generator `{ int: { … } }`).
//!
//! The YAML reader, given such a variant's name as a bare word (`replica_identity: index`),
//! takes whatever the document holds next as the variant's value: the next key of the
//! mapping, or of a mapping further down. The spec was then refused at a key that had
//! nothing wrong with it ("unknown key `hello`" for a `comment: hello` on the next line).
//! These enums are read through [`deserialize`] instead: a bare word is a unit variant or
//! an error at that word that says how to write the variant, and a mapping is read as the
//! derived implementation reads it.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, IntoDeserializer, Visitor};

/// An enum whose serde implementation is derived with `#[serde(remote = "Self")]`, so that
/// its trait implementations can route a bare word through [`deserialize`].
pub(crate) trait Tagged: Sized {
    /// What a spec writes here, for messages: "a CHECK rule".
    const EXPECTING: &'static str;

    /// The derived implementation.
    fn derived<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error>;
}

/// Implement `Serialize` and `Deserialize` for enums derived with
/// `#[serde(remote = "Self")]`: serialising as derived, reading through [`deserialize`].
macro_rules! tagged_enum {
    ($($name:ty: $expecting:literal),+ $(,)?) => {$(
        impl $crate::spec::tagged::Tagged for $name {
            const EXPECTING: &'static str = $expecting;
            fn derived<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                <$name>::deserialize(d)
            }
        }
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::spec::tagged::deserialize(d)
            }
        }
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                <$name>::serialize(self, s)
            }
        }
    )+};
}
pub(crate) use tagged_enum;

/// Read a [`Tagged`] enum: a bare word as a unit variant (a variant that carries a value is
/// an error naming the form to write), a one-key mapping as the derived implementation
/// reads it.
pub(crate) fn deserialize<'de, D: Deserializer<'de>, T: Tagged>(d: D) -> Result<T, D::Error> {
    d.deserialize_any(TaggedVisitor(PhantomData))
}

struct TaggedVisitor<T>(PhantomData<T>);

impl<'de, T: Tagged> Visitor<'de> for TaggedVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}", T::EXPECTING)
    }

    fn visit_str<E: de::Error>(self, word: &str) -> Result<T, E> {
        T::derived(BareWord {
            word,
            error: PhantomData,
        })
    }

    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::derived(de::value::MapAccessDeserializer::new(map))
    }

    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        Err(E::custom(format!(
            "a value is required here, but it is empty: {}",
            T::EXPECTING
        )))
    }

    fn visit_none<E: de::Error>(self) -> Result<T, E> {
        self.visit_unit()
    }
}

/// A variant named by a bare word: a unit variant reads; one that carries a value is an
/// error saying how to give it.
struct BareWord<'a, E> {
    word: &'a str,
    error: PhantomData<E>,
}

impl<'de, E: de::Error> Deserializer<'de> for BareWord<'_, E> {
    type Error = E;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        visitor.visit_str(self.word)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, E> {
        visitor.visit_enum(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct identifier
        ignored_any
    }
}

impl<'de, E: de::Error> de::EnumAccess<'de> for BareWord<'_, E> {
    type Error = E;
    type Variant = Self;

    fn variant_seed<V: de::DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), E> {
        let variant = seed.deserialize(self.word.into_deserializer())?;
        Ok((variant, self))
    }
}

impl<'de, E: de::Error> de::VariantAccess<'de> for BareWord<'_, E> {
    type Error = E;

    fn unit_variant(self) -> Result<(), E> {
        Ok(())
    }

    fn newtype_variant_seed<T: de::DeserializeSeed<'de>>(self, _seed: T) -> Result<T::Value, E> {
        Err(self.needs_a_value())
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value, E> {
        Err(self.needs_a_value())
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, E> {
        Err(self.needs_a_value())
    }
}

impl<E: de::Error> BareWord<'_, E> {
    fn needs_a_value(&self) -> E {
        let word = self.word;
        E::custom(format!(
            "`{word}` takes a value: write it as a one-key mapping, `{{ {word}: … }}`"
        ))
    }
}
