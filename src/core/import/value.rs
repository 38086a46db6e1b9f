//! The value of a PM2 ecosystem file, as JavaScript sees it: JSON's types, with the keys of
//! every object kept in the order the file wrote them (the TOML follows that order).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A number, kept as it came.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    /// A whole number.
    Int(i64),
    /// A whole number past `i64`.
    UInt(u64),
    /// Anything else.
    Float(f64),
}

impl Num {
    /// The value as a float, as JavaScript holds every number.
    pub fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::UInt(u) => u as f64,
            Num::Float(f) => f,
        }
    }

    /// The value as a whole number, when it is one.
    pub fn as_i64(self) -> Option<i64> {
        match self {
            Num::Int(i) => Some(i),
            Num::UInt(u) => i64::try_from(u).ok(),
            Num::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(f as i64),
            Num::Float(_) => None,
        }
    }
}

impl fmt::Display for Num {
    /// As JavaScript's `String(n)` writes it (for the usual range): `3000`, `1.5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Num::Int(i) => write!(f, "{i}"),
            Num::UInt(u) => write!(f, "{u}"),
            Num::Float(x) if x.fract() == 0.0 && x.abs() < 1e21 => write!(f, "{x:.0}"),
            Num::Float(x) => write!(f, "{x}"),
        }
    }
}

/// One value of the file.
#[derive(Debug, Clone, PartialEq)]
pub enum Js {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number.
    Num(Num),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<Js>),
    /// An object, keys in file order.
    Obj(Vec<(String, Js)>),
}

impl Js {
    /// The value under `key`, when this is an object that has it.
    pub fn get(&self, key: &str) -> Option<&Js> {
        match self {
            Js::Obj(o) => o.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// What kind of value this is, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Js::Null => "null",
            Js::Bool(_) => "a boolean",
            Js::Num(_) => "a number",
            Js::Str(_) => "a string",
            Js::Arr(_) => "an array",
            Js::Obj(_) => "an object",
        }
    }

    /// The text JavaScript would make of it in `${value}` (how an env value reaches a child),
    /// except objects and arrays, which PM2 turns into JSON first.
    pub fn to_env_text(&self) -> String {
        match self {
            Js::Null => "null".into(),
            Js::Bool(b) => b.to_string(),
            Js::Num(n) => n.to_string(),
            Js::Str(s) => s.clone(),
            Js::Arr(_) | Js::Obj(_) => self.to_json(),
        }
    }

    /// Compact JSON.
    pub fn to_json(&self) -> String {
        let mut s = String::new();
        self.write_json(&mut s);
        s
    }

    fn write_json(&self, out: &mut String) {
        match self {
            Js::Null => out.push_str("null"),
            Js::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Js::Num(n) => out.push_str(&n.to_string()),
            Js::Str(s) => out.push_str(&serde_json::Value::String(s.clone()).to_string()),
            Js::Arr(a) => {
                out.push('[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.write_json(out);
                }
                out.push(']');
            }
            Js::Obj(o) => {
                out.push('{');
                for (i, (k, v)) in o.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&serde_json::Value::String(k.clone()).to_string());
                    out.push_str(": ");
                    v.write_json(out);
                }
                out.push('}');
            }
        }
    }

    /// A short rendering for a comment: JSON, cut at about `max` characters.
    pub fn brief(&self, max: usize) -> String {
        let s = self.to_json();
        if s.chars().count() <= max {
            s
        } else {
            let cut: String = s.chars().take(max.saturating_sub(1)).collect();
            format!("{cut}…")
        }
    }
}

struct JsVisitor;

impl<'de> Visitor<'de> for JsVisitor {
    type Value = Js;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON or YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Js, E> {
        Ok(Js::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Js, E> {
        Ok(Js::Num(Num::Int(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Js, E> {
        Ok(match i64::try_from(v) {
            Ok(i) => Js::Num(Num::Int(i)),
            Err(_) => Js::Num(Num::UInt(v)),
        })
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Js, E> {
        Ok(Js::Num(Num::Float(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Js, E> {
        Ok(Js::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Js, E> {
        Ok(Js::Str(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Js, E> {
        Ok(Js::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Js, E> {
        Ok(Js::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Js, D::Error> {
        Js::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Js, A::Error> {
        let mut v = Vec::new();
        while let Some(x) = seq.next_element::<Js>()? {
            v.push(x);
        }
        Ok(Js::Arr(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Js, A::Error> {
        let mut o: Vec<(String, Js)> = Vec::new();
        while let Some((k, v)) = map.next_entry::<Key, Js>()? {
            // A later duplicate key wins, as in JavaScript, keeping the first one's place.
            match o.iter_mut().find(|(ok, _)| *ok == k.0) {
                Some(slot) => slot.1 = v,
                None => o.push((k.0, v)),
            }
        }
        Ok(Js::Obj(o))
    }
}

impl<'de> Deserialize<'de> for Js {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Js, D::Error> {
        d.deserialize_any(JsVisitor)
    }
}

/// An object key: JavaScript makes every key a string (YAML may write `3000:` or `true:`).
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        match Js::deserialize(d)? {
            Js::Str(s) => Ok(Key(s)),
            Js::Null => Ok(Key("null".into())),
            v @ (Js::Bool(_) | Js::Num(_)) => Ok(Key(v.to_env_text())),
            other => Err(de::Error::custom(format!(
                "an object key must be a plain value, found {}",
                other.kind()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_key_order_and_number_text() {
        let v: Js = serde_json::from_str(r#"{"b": 1, "a": 2.5, "c": 3e3, "b": 4}"#).unwrap();
        let Js::Obj(o) = &v else { panic!() };
        let keys: Vec<&str> = o.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["b", "a", "c"]);
        assert_eq!(v.get("b").unwrap().to_env_text(), "4");
        assert_eq!(v.get("a").unwrap().to_env_text(), "2.5");
        assert_eq!(v.get("c").unwrap().to_env_text(), "3000");
    }

    #[test]
    fn yaml_keys_become_strings() {
        let v: Js = serde_norway::from_str("3000: a\ntrue: b\n").unwrap();
        assert_eq!(v.get("3000"), Some(&Js::Str("a".into())));
        assert_eq!(v.get("true"), Some(&Js::Str("b".into())));
    }
}
