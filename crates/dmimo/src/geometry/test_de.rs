//! A minimal self-describing serde deserializer for the geometry tests (strings, numbers, maps),
//! so the configuration enums' serde attributes (`kind` tags, kebab-case names,
//! `deny_unknown_fields`, defaults) can be tested without a format crate as a dependency.

use serde::de::value::{Error, MapDeserializer, StringDeserializer};
use serde::de::{Deserialize, Deserializer, Error as _, IntoDeserializer, Visitor};

/// A value tree: what a TOML or JSON document would deserialize from.
#[derive(Clone, Debug)]
pub enum V {
    S(String),
    F(f64),
    U(u64),
    Map(Vec<(String, V)>),
}

impl V {
    pub fn s(s: &str) -> V {
        V::S(s.to_string())
    }

    pub fn map<const N: usize>(entries: [(&str, V); N]) -> V {
        V::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }
}

/// Deserializes a `T` from a value tree.
pub fn de<T: for<'de> Deserialize<'de>>(v: V) -> Result<T, Error> {
    T::deserialize(v)
}

impl<'de> IntoDeserializer<'de, Error> for V {
    type Deserializer = V;
    fn into_deserializer(self) -> V {
        self
    }
}

impl<'de> Deserializer<'de> for V {
    type Error = Error;

    fn deserialize_any<W: Visitor<'de>>(self, visitor: W) -> Result<W::Value, Error> {
        match self {
            V::S(s) => visitor.visit_string(s),
            V::F(f) => visitor.visit_f64(f),
            V::U(u) => visitor.visit_u64(u),
            V::Map(m) => visitor.visit_map(MapDeserializer::new(m.into_iter())),
        }
    }

    fn deserialize_option<W: Visitor<'de>>(self, visitor: W) -> Result<W::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_enum<W: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: W,
    ) -> Result<W::Value, Error> {
        let _ = (name, variants);
        match self {
            V::S(s) => visitor.visit_enum(StringDeserializer::<Error>::new(s)),
            other => Err(Error::custom(format!(
                "expected a variant name, got {other:?}"
            ))),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}
