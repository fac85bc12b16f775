//! The KFP API's answers as typed wire structs (one per API model, named after the proto
//! messages of kubeflow/pipelines `backend/api/v2beta1/*.proto` and `backend/api/v1beta1/*.proto`),
//! read with serde so a misspelt key is a compile error, then mapped onto `models` by `v2`/`v1`.
//!
//! How lenient reading works: the server omits zero values (so every field may be absent), and
//! kfpx tolerates odd servers: a field of the wrong type is treated like an absent one, never
//! failing the whole answer. Every field is a [`Lenient`], which accepts any JSON value and keeps
//! it only when it has the expected type ([`Lenient::Is`]); a value of another type (null
//! included) is [`Lenient::Other`], an absent one [`Lenient::Absent`] (some answers mean
//! different things by "absent" and "something else": see the mappings). Unknown fields are
//! ignored. Empty strings are kept: the mappings say where an empty string counts as absent
//! ([`Lenient::text`]).
//!
//! An answer is parsed once into a `serde_json::Value` by `client::decode_answer` (which owns
//! the JSON acceptance rules: nesting depth, duplicate keys, the object every answer is) and that
//! value is then moved into the wire struct (strings are moved, not copied). Parsing the text
//! straight into the structs would accept more than today (serde_json skips ignored fields
//! without its nesting limit), so the one decode stays the gate.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// A field read leniently: see the module docs.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Lenient<T> {
    /// Not in the answer.
    #[default]
    Absent,
    /// There, but not of the expected type (JSON null included).
    Other,
    /// There, of the expected type.
    Is(T),
}

impl<T> Lenient<T> {
    pub fn get(&self) -> Option<&T> {
        match self {
            Lenient::Is(t) => Some(t),
            _ => None,
        }
    }

    pub fn into_option(self) -> Option<T> {
        match self {
            Lenient::Is(t) => Some(t),
            _ => None,
        }
    }

    /// In the answer, whatever its type.
    pub fn is_present(&self) -> bool {
        !matches!(self, Lenient::Absent)
    }
}

impl Lenient<String> {
    /// The string, empty or not.
    pub fn str(&self) -> Option<&str> {
        self.get().map(String::as_str)
    }

    /// The string when it is not empty (the API's zero value is "not set").
    pub fn text(&self) -> Option<String> {
        self.str().filter(|s| !s.is_empty()).map(str::to_string)
    }
}

impl<T: Default> Lenient<T> {
    /// The value, or the type's empty value when absent or of another type.
    pub fn or_empty(self) -> T {
        self.into_option().unwrap_or_default()
    }
}

/// What a [`Lenient`] field expects: each method turns one kind of JSON value into `Self`, or
/// says it is of another type (`None`); by default every kind is another type.
pub trait Kind<'de>: Sized {
    fn from_str(_: &str) -> Option<Self> {
        None
    }
    fn from_string(s: String) -> Option<Self> {
        Self::from_str(&s)
    }
    fn from_bool(_: bool) -> Option<Self> {
        None
    }
    fn from_u64(_: u64) -> Option<Self> {
        None
    }
    fn from_i64(_: i64) -> Option<Self> {
        None
    }
    fn from_f64(_: f64) -> Option<Self> {
        None
    }
    fn from_unit() -> Option<Self> {
        None
    }
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn from_seq<A: SeqAccess<'de>>(mut seq: A) -> Result<Option<Self>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

struct LenientVisitor<T>(PhantomData<T>);

fn found<T>(t: Option<T>) -> Lenient<T> {
    t.map_or(Lenient::Other, Lenient::Is)
}

impl<'de, T: Kind<'de>> Visitor<'de> for LenientVisitor<T> {
    type Value = Lenient<T>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(found(T::from_str(v)))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(found(T::from_string(v)))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(found(T::from_bool(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(found(T::from_u64(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(found(T::from_i64(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(found(T::from_f64(v)))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(found(T::from_unit()))
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(found(T::from_unit()))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::from_map(map).map(found)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        T::from_seq(seq).map(found)
    }
}

impl<'de, T: Kind<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LenientVisitor(PhantomData))
    }
}

impl Kind<'_> for String {
    fn from_str(s: &str) -> Option<Self> {
        Some(s.to_string())
    }
    fn from_string(s: String) -> Option<Self> {
        Some(s)
    }
}

impl Kind<'_> for bool {
    fn from_bool(b: bool) -> Option<Self> {
        Some(b)
    }
}

/// A proto int64, which the API sends as a string (and some servers as a number): a
/// non-negative integer either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Int64(pub u64);

impl Kind<'_> for Int64 {
    fn from_u64(n: u64) -> Option<Self> {
        Some(Int64(n))
    }
    fn from_str(s: &str) -> Option<Self> {
        s.parse().ok().map(Int64)
    }
}

/// Any JSON value (a `google.protobuf.Value`/`Struct`: parameter values, an embedded document).
impl<'de> Kind<'de> for Value {
    fn from_str(s: &str) -> Option<Self> {
        Some(Value::String(s.to_string()))
    }
    fn from_string(s: String) -> Option<Self> {
        Some(Value::String(s))
    }
    fn from_bool(b: bool) -> Option<Self> {
        Some(Value::Bool(b))
    }
    fn from_u64(n: u64) -> Option<Self> {
        Some(Value::from(n))
    }
    fn from_i64(n: i64) -> Option<Self> {
        Some(Value::from(n))
    }
    fn from_f64(n: f64) -> Option<Self> {
        Some(serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number))
    }
    fn from_unit() -> Option<Self> {
        Some(Value::Null)
    }
    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Option<Self>, A::Error> {
        Value::deserialize(MapAccessDeserializer::new(map)).map(Some)
    }
    fn from_seq<A: SeqAccess<'de>>(seq: A) -> Result<Option<Self>, A::Error> {
        Value::deserialize(SeqAccessDeserializer::new(seq)).map(Some)
    }
}

/// A JSON list, each element read leniently.
impl<'de, T: Kind<'de>> Kind<'de> for Vec<Lenient<T>> {
    fn from_seq<A: SeqAccess<'de>>(mut seq: A) -> Result<Option<Self>, A::Error> {
        let mut out = Vec::new();
        while let Some(item) = seq.next_element::<Lenient<T>>()? {
            out.push(item);
        }
        Ok(Some(out))
    }
}

/// A JSON object of values (`map<string, Value>` in the protos).
impl<'de> Kind<'de> for BTreeMap<String, Value> {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        let mut out = BTreeMap::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            out.insert(k, v);
        }
        Ok(Some(out))
    }
}

/// A JSON object's entries in the answer's order, each value read leniently (a later duplicate
/// key replaces the earlier value in place, as `serde_json::Map` does).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entries<T>(pub Vec<(String, Lenient<T>)>);

impl<'de, T: Kind<'de>> Kind<'de> for Entries<T> {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        let mut out: Vec<(String, Lenient<T>)> = Vec::new();
        let mut at = std::collections::HashMap::new();
        while let Some((k, v)) = map.next_entry::<String, Lenient<T>>()? {
            match at.get(&k) {
                Some(&i) => out[i] = (k, v),
                None => {
                    at.insert(k.clone(), out.len());
                    out.push((k, v));
                }
            }
        }
        Ok(Some(Entries(out)))
    }
}

/// Wire structs (JSON objects) as [`Kind`]s: read from a JSON object, anything else is another
/// type.
macro_rules! objects {
    ($($t:ty),* $(,)?) => {$(
        impl<'de> $crate::kfp::wire::Kind<'de> for $t {
            fn from_map<A: serde::de::MapAccess<'de>>(
                map: A,
            ) -> Result<Option<Self>, A::Error> {
                <$t as serde::Deserialize>::deserialize(
                    serde::de::value::MapAccessDeserializer::new(map),
                )
                .map(Some)
            }
        }
    )*};
}
pub(crate) use objects;

impl<'de, T: Kind<'de>> Kind<'de> for Box<T> {
    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Option<Self>, A::Error> {
        T::from_map(map).map(|t| t.map(Box::new))
    }
}

/// `value` (a decoded answer: an object) as the wire struct `T`; anything that is not an object
/// reads as an empty `T` (every field absent).
pub fn read<T: for<'de> Kind<'de> + Default>(value: Value) -> T {
    Lenient::<T>::deserialize(value)
        .ok()
        .and_then(Lenient::into_option)
        .unwrap_or_default()
}

/// A list answer's item kind: the keys its items may be under (the first present wins).
pub trait Listed: for<'de> Kind<'de> {
    const KEYS: &'static [&'static str];
}

/// What a list answer holds under the items key.
#[derive(Debug, Clone, Default)]
enum Items<T> {
    #[default]
    Absent,
    Null,
    List(Vec<T>),
    /// A list holding this, which is not an object.
    BadItem(Value),
    /// This, which is not a list.
    NotList(Value),
}

struct ItemsVisitor<T>(PhantomData<T>);

impl<'de, T: Listed> Visitor<'de> for ItemsVisitor<T> {
    type Value = Items<T>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Items::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        let mut bad = None;
        while let Some(item) = seq.next_element::<Lenient<Item<T>>>()? {
            match item {
                Lenient::Is(Item::Object(t)) if bad.is_none() => out.push(t),
                Lenient::Is(Item::Not(v)) if bad.is_none() => bad = Some(v),
                _ => {}
            }
        }
        Ok(bad.map_or(Items::List(out), Items::BadItem))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Value::from_map(map).map(|v| Items::NotList(v.unwrap_or_default()))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Items::NotList(Value::from(v)))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Items::NotList(Value::from(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Items::NotList(Value::from(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Items::NotList(Value::from(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Items::NotList(Value::from_f64(v).unwrap_or_default()))
    }
}

impl<'de, T: Listed> Deserialize<'de> for Items<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ItemsVisitor(PhantomData))
    }
}

/// One element of a list: an object read as `T`, or what it is instead (for the message).
enum Item<T> {
    Object(T),
    Not(Value),
}

impl<'de, T: Listed> Kind<'de> for Item<T> {
    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Option<Self>, A::Error> {
        Ok(T::from_map(map)?.map(Item::Object))
    }
    fn from_seq<A: SeqAccess<'de>>(seq: A) -> Result<Option<Self>, A::Error> {
        Ok(Value::from_seq(seq)?.map(Item::Not))
    }
    fn from_str(s: &str) -> Option<Self> {
        Some(Item::Not(Value::from(s)))
    }
    fn from_bool(b: bool) -> Option<Self> {
        Some(Item::Not(Value::from(b)))
    }
    fn from_u64(n: u64) -> Option<Self> {
        Some(Item::Not(Value::from(n)))
    }
    fn from_i64(n: i64) -> Option<Self> {
        Some(Item::Not(Value::from(n)))
    }
    fn from_f64(n: f64) -> Option<Self> {
        Some(Item::Not(Value::from_f64(n).unwrap_or_default()))
    }
    fn from_unit() -> Option<Self> {
        Some(Item::Not(Value::Null))
    }
}

/// `next_page_token`: absent, null or empty is the last page.
#[derive(Debug, Clone, Default)]
enum Token {
    #[default]
    None,
    Next(String),
    Not(Value),
}

impl<'de> Deserialize<'de> for Token {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Lenient::<Value>::deserialize(d)? {
            Lenient::Is(Value::Null) | Lenient::Absent | Lenient::Other => Token::None,
            Lenient::Is(Value::String(t)) if t.is_empty() => Token::None,
            Lenient::Is(Value::String(t)) => Token::Next(t),
            Lenient::Is(other) => Token::Not(other),
        })
    }
}

/// One page of a list answer (`List…Response` in the protos: the items, `next_page_token`,
/// `total_size`), the items under the first of `T::KEYS` present.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page_token: Option<String>,
}

impl<T: Listed> Page<T> {
    /// A decoded list answer as a page; an error saying what is wrong when the items are not a
    /// list of objects or the token is not a string.
    pub fn read(answer: Value) -> Result<Page<T>, String> {
        let raw = match answer {
            Value::Object(_) => RawPage::<T>::deserialize(answer).map_err(|e| e.to_string())?,
            // Not an object (answers always are, see `client::decode_answer`): no items.
            _ => RawPage {
                items: Vec::new(),
                token: Token::None,
            },
        };
        let items_key = T::KEYS.first().copied().unwrap_or("items");
        let short = |v: &Value| crate::kfp::client::json_snippet(v, 40);
        let mut found = Items::Absent;
        for slot in raw.items {
            if !matches!(slot, Items::Absent) {
                found = slot;
                break;
            }
        }
        let items = match found {
            Items::Absent | Items::Null => Vec::new(),
            Items::List(items) => items,
            Items::BadItem(bad) => {
                return Err(format!(
                    "`{items_key}` holding {}, not objects",
                    short(&bad)
                ))
            }
            Items::NotList(other) => {
                return Err(format!("`{items_key}` = {}, not a list", short(&other)))
            }
        };
        let next_page_token = match raw.token {
            Token::None => None,
            Token::Next(t) => Some(t),
            Token::Not(other) => {
                return Err(format!(
                    "`next_page_token` = {}, not a string",
                    short(&other)
                ))
            }
        };
        Ok(Page {
            items,
            next_page_token,
        })
    }
}

/// The page as read: one slot per key of `T::KEYS` (a later duplicate key replaces the earlier).
struct RawPage<T> {
    items: Vec<Items<T>>,
    token: Token,
}

impl<'de, T: Listed> Deserialize<'de> for RawPage<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Listed> Visitor<'de> for V<T> {
            type Value = RawPage<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list answer")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut page = RawPage {
                    items: T::KEYS.iter().map(|_| Items::Absent).collect(),
                    token: Token::None,
                };
                while let Some(key) = map.next_key::<String>()? {
                    if key == "next_page_token" {
                        page.token = map.next_value()?;
                    } else if let Some(i) = T::KEYS.iter().position(|k| *k == key) {
                        page.items[i] = map.next_value()?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(page)
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// The health check (`GET /apis/v2beta1/healthz`, backend/api/v2beta1/healthz.proto
/// `GetHealthzResponse`).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct Healthz {
    pub tag_name: Lenient<String>,
    pub multi_user: Lenient<bool>,
}

/// An error body in any of its forms (client::error_message): `google.rpc.Status`
/// `{code, message, details[]}` (grpc-gateway v2, KFP 2.14+), grpc-gateway v1's extra
/// `error`, and the upload endpoints' `api.Error` `{error_message, error_details}`
/// (backend/api/v1beta1/error.proto).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ErrorBody {
    pub message: Lenient<String>,
    pub details: Lenient<Vec<Lenient<ErrorDetail>>>,
    pub error_message: Lenient<String>,
    pub error: Lenient<String>,
    pub error_details: Lenient<String>,
}

/// A `google.protobuf.Any` detail of an error body (a `google.rpc.Status` on KFP).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ErrorDetail {
    pub message: Lenient<String>,
}

objects!(Healthz, ErrorBody, ErrorDetail);
