//! Typed parameters: structs whose fields declare and read parameters ([`TypedParams`]), the
//! Rust types a parameter can have ([`ParamValue`]), and enums of choices ([`Choice`]).

use super::{not_a_choice, Param, ParamType, Params, Value};
use crate::error::{PluginError, Result};

/// A struct of parameters: its fields are declared once and read back typed, so the declaration
/// and the reading cannot drift apart. Derive it with [`Params`](derive@crate::Params) and use it with
/// the typed constructors ([`Component::optimizer_with`](crate::Component::optimizer_with) and
/// its siblings).
pub trait TypedParams: Sized {
    /// One declaration per field, in field order.
    fn declarations() -> Vec<Param>;
    /// Reads resolved values (every declared key present and checked) into the struct.
    fn from_params(params: &Params) -> Result<Self>;
}

/// A Rust type that a parameter can have. Implemented for `bool`, the integer and float types,
/// `String`, vectors of numbers and strings, and every [`Choice`] enum (by its derive).
pub trait ParamValue: Sized {
    /// The declared type.
    const TYPE: ParamType;
    /// The smallest value the type can hold (0 for unsigned integers), declared as the minimum.
    const MIN: Option<f64> = None;
    /// The allowed strings, for choice types.
    fn choices() -> Vec<String> {
        Vec::new()
    }
    /// Converts a checked value.
    fn from_value(key: &str, value: &Value) -> Result<Self>;
}

/// The declaration of a parameter of type `T` (used by the [`Params`](derive@crate::Params) derive).
pub fn declare<T: ParamValue>(name: &str, default: Option<Value>, doc: &str) -> Param {
    let mut p = Param::new(name, T::TYPE, default, doc);
    p.min = T::MIN;
    p.choices = T::choices();
    p
}

/// Reads `key` as a `T` (used by the [`Params`](derive@crate::Params) derive).
pub fn read<T: ParamValue>(params: &Params, key: &str) -> Result<T> {
    T::from_value(key, params.require(key)?)
}

fn mismatch(key: &str, expected: ParamType, found: &Value) -> PluginError {
    Params::mismatch(key, &expected.to_string(), found)
}

impl ParamValue for bool {
    const TYPE: ParamType = ParamType::Bool;
    fn from_value(key: &str, value: &Value) -> Result<Self> {
        match value {
            Value::Bool(b) => Ok(*b),
            other => Err(mismatch(key, Self::TYPE, other)),
        }
    }
}

impl ParamValue for String {
    const TYPE: ParamType = ParamType::Str;
    fn from_value(key: &str, value: &Value) -> Result<Self> {
        match value {
            Value::Str(s) => Ok(s.clone()),
            other => Err(mismatch(key, Self::TYPE, other)),
        }
    }
}

macro_rules! float_value {
    ($($t:ty),*) => {$(
        impl ParamValue for $t {
            const TYPE: ParamType = ParamType::Float;
            fn from_value(key: &str, value: &Value) -> Result<Self> {
                match value {
                    Value::Float(x) => Ok(*x as $t),
                    Value::Int(i) => Ok(*i as $t),
                    other => Err(mismatch(key, Self::TYPE, other)),
                }
            }
        }
    )*};
}
float_value!(f64, f32);

macro_rules! int_value {
    ($($t:ty => $min:expr),*) => {$(
        impl ParamValue for $t {
            const TYPE: ParamType = ParamType::Int;
            const MIN: Option<f64> = $min;
            fn from_value(key: &str, value: &Value) -> Result<Self> {
                match value {
                    Value::Int(i) => <$t>::try_from(*i).map_err(|_| {
                        PluginError::param(key, format!("{i} does not fit in {}", stringify!($t)))
                    }),
                    other => Err(mismatch(key, Self::TYPE, other)),
                }
            }
        }
    )*};
}
int_value!(i64 => None, i32 => None, u64 => Some(0.0), u32 => Some(0.0), usize => Some(0.0));

macro_rules! list_value {
    ($($t:ty => $ty:expr, $min:expr),*) => {$(
        impl ParamValue for Vec<$t> {
            const TYPE: ParamType = $ty;
            const MIN: Option<f64> = $min;
            fn from_value(key: &str, value: &Value) -> Result<Self> {
                match value {
                    Value::List(items) => items.iter().map(|v| <$t>::from_value(key, v)).collect(),
                    other => Err(mismatch(key, Self::TYPE, other)),
                }
            }
        }
    )*};
}
list_value!(
    f64 => ParamType::FloatList, None,
    f32 => ParamType::FloatList, None,
    i64 => ParamType::IntList, None,
    usize => ParamType::IntList, Some(0.0),
    String => ParamType::StrList, None
);

/// A parameter whose value is one of a fixed set of names: an enum of unit variants. Derive it
/// with [`Choice`](crate::Choice); variants are spelt in snake case (`GeluTanh` → `gelu_tanh`)
/// unless `#[choice(name = "…")]` says otherwise. A misspelt value in a spec is an error naming
/// the closest valid one.
pub trait Choice: Sized + 'static {
    /// The spellings, in variant order.
    const CHOICES: &'static [&'static str];
    /// The variant spelt `text`.
    fn from_choice(text: &str) -> Option<Self>;
    /// The spelling of this variant.
    fn as_choice(&self) -> &'static str;
}

/// [`ParamValue::from_value`] for a [`Choice`] (used by the [`Choice`](crate::Choice) derive).
pub fn choice_from_value<C: Choice>(key: &str, value: &Value) -> Result<C> {
    match value {
        Value::Str(s) => C::from_choice(s).ok_or_else(|| {
            let choices: Vec<String> = C::CHOICES.iter().map(|c| c.to_string()).collect();
            PluginError::param(key, not_a_choice(s, &choices))
        }),
        other => Err(mismatch(key, ParamType::Str, other)),
    }
}
