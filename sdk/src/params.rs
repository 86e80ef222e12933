//! Parameter declarations and resolved parameter values.
//!
//! A component declares every parameter it accepts ([`Param`]); the host checks a spec against
//! those declarations before anything runs and hands the component a complete [`Params`] map in
//! which every declared parameter has a value.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::{PluginError, Result};

/// The type of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// `true` or `false`.
    Bool,
    /// A 64-bit signed integer.
    Int,
    /// A 64-bit float; integers in a spec are accepted and converted.
    Float,
    /// A string.
    Str,
    /// A list of floats.
    FloatList,
    /// A list of integers.
    IntList,
    /// A list of strings.
    StrList,
}

impl fmt::Display for ParamType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParamType::Bool => "bool",
            ParamType::Int => "int",
            ParamType::Float => "float",
            ParamType::Str => "string",
            ParamType::FloatList => "list of floats",
            ParamType::IntList => "list of ints",
            ParamType::StrList => "list of strings",
        })
    }
}

/// A parameter value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A list.
    List(Vec<Value>),
}

impl Value {
    /// A short name of the value's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::List(_) => "list",
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
        }
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Str(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Str(v)
    }
}

/// The declaration of one parameter: name, type, default, documentation and constraints.
///
/// ```
/// use assay_sdk::Param;
/// let lr = Param::float("lr", 1e-3, "learning rate").min(0.0);
/// let layers = Param::int("layers", 2, "hidden layers").range(1.0, 64.0);
/// let act = Param::str("activation", "relu", "hidden activation").choices(&["relu", "tanh"]);
/// let path = Param::required("path", assay_sdk::ParamType::Str, "CSV file to read");
/// assert!(lr.check(&assay_sdk::Value::Int(1)).is_ok());
/// assert!(layers.check(&assay_sdk::Value::Int(0)).is_err());
/// assert!(act.check(&"gelu".into()).is_err());
/// assert!(path.default.is_none());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// The key in the spec.
    pub name: String,
    /// The type a value must have.
    pub ty: ParamType,
    /// The value used when a spec leaves the key out; `None` makes the parameter required.
    pub default: Option<Value>,
    /// One line for `assay plugins info`.
    pub doc: String,
    /// Smallest allowed value (numbers, and every element of numeric lists).
    pub min: Option<f64>,
    /// Largest allowed value.
    pub max: Option<f64>,
    /// Allowed strings; empty means any.
    pub choices: Vec<String>,
}

impl Param {
    fn new(name: &str, ty: ParamType, default: Option<Value>, doc: &str) -> Self {
        Param {
            name: name.to_string(),
            ty,
            default,
            doc: doc.to_string(),
            min: None,
            max: None,
            choices: Vec::new(),
        }
    }

    /// A float parameter with a default.
    pub fn float(name: &str, default: f64, doc: &str) -> Self {
        Self::new(name, ParamType::Float, Some(Value::Float(default)), doc)
    }

    /// An integer parameter with a default.
    pub fn int(name: &str, default: i64, doc: &str) -> Self {
        Self::new(name, ParamType::Int, Some(Value::Int(default)), doc)
    }

    /// A boolean parameter with a default.
    pub fn bool(name: &str, default: bool, doc: &str) -> Self {
        Self::new(name, ParamType::Bool, Some(Value::Bool(default)), doc)
    }

    /// A string parameter with a default.
    pub fn str(name: &str, default: &str, doc: &str) -> Self {
        Self::new(
            name,
            ParamType::Str,
            Some(Value::Str(default.to_string())),
            doc,
        )
    }

    /// A list parameter with a default; `ty` must be one of the list types.
    pub fn list(name: &str, ty: ParamType, default: Vec<Value>, doc: &str) -> Self {
        Self::new(name, ty, Some(Value::List(default)), doc)
    }

    /// A parameter without a default, which every spec must set.
    pub fn required(name: &str, ty: ParamType, doc: &str) -> Self {
        Self::new(name, ty, None, doc)
    }

    /// Sets the smallest allowed value.
    pub fn min(mut self, min: f64) -> Self {
        self.min = Some(min);
        self
    }

    /// Sets the largest allowed value.
    pub fn max(mut self, max: f64) -> Self {
        self.max = Some(max);
        self
    }

    /// Sets both bounds.
    pub fn range(self, min: f64, max: f64) -> Self {
        self.min(min).max(max)
    }

    /// Restricts a string parameter to the given values.
    pub fn choices(mut self, choices: &[&str]) -> Self {
        self.choices = choices.iter().map(|c| c.to_string()).collect();
        self
    }

    /// Checks a value against this declaration and returns it in canonical form (integers given
    /// for a float parameter become floats). The error text says what was expected.
    pub fn check(&self, value: &Value) -> std::result::Result<Value, String> {
        let element = match self.ty {
            ParamType::FloatList => Some(ParamType::Float),
            ParamType::IntList => Some(ParamType::Int),
            ParamType::StrList => Some(ParamType::Str),
            _ => None,
        };
        match (element, value) {
            (Some(ty), Value::List(items)) => items
                .iter()
                .map(|v| self.check_scalar(ty, v))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map(Value::List),
            (Some(_), other) => Err(format!(
                "expected {}, found {} `{other}`",
                self.ty,
                other.type_name()
            )),
            (None, v) => self.check_scalar(self.ty, v),
        }
    }

    fn check_scalar(&self, ty: ParamType, value: &Value) -> std::result::Result<Value, String> {
        let v = match (ty, value) {
            (ParamType::Bool, Value::Bool(_))
            | (ParamType::Int, Value::Int(_))
            | (ParamType::Float, Value::Float(_))
            | (ParamType::Str, Value::Str(_)) => value.clone(),
            (ParamType::Float, Value::Int(i)) => Value::Float(*i as f64),
            (ty, other) => {
                return Err(format!(
                    "expected {ty}, found {} `{other}`",
                    other.type_name()
                ))
            }
        };
        let number = match &v {
            Value::Int(i) => Some(*i as f64),
            Value::Float(x) => Some(*x),
            _ => None,
        };
        if let Some(x) = number {
            if x.is_nan() {
                return Err("NaN is not allowed".to_string());
            }
            if let Some(min) = self.min {
                if x < min {
                    return Err(format!("{v} is below the minimum {min}"));
                }
            }
            if let Some(max) = self.max {
                if x > max {
                    return Err(format!("{v} is above the maximum {max}"));
                }
            }
        }
        if let Value::Str(s) = &v {
            if !self.choices.is_empty() && !self.choices.iter().any(|c| c == s) {
                return Err(not_a_choice(s, &self.choices));
            }
        }
        Ok(v)
    }
}

/// Resolved parameter values handed to a component's factory: every declared parameter is
/// present, already checked against its declaration.
///
/// ```
/// use assay_sdk::{Params, Value};
/// let mut p = Params::default();
/// p.insert("lr", Value::Float(0.1));
/// p.insert("depth", Value::Int(3));
/// assert_eq!(p.f64("lr").unwrap(), 0.1);
/// assert_eq!(p.usize("depth").unwrap(), 3);
/// assert!(p.str("lr").is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    values: BTreeMap<String, Value>,
}

impl Params {
    /// Sets a value.
    pub fn insert(&mut self, key: impl Into<String>, value: Value) {
        self.values.insert(key.into(), value);
    }

    /// The raw value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.values.get(key)
    }

    /// All values in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v))
    }

    fn require(&self, key: &str) -> Result<&Value> {
        self.values
            .get(key)
            .ok_or_else(|| PluginError::param(key, "not set"))
    }

    fn mismatch(key: &str, expected: &str, found: &Value) -> PluginError {
        PluginError::param(
            key,
            format!("expected {expected}, found {} `{found}`", found.type_name()),
        )
    }

    /// A float (integers are converted).
    pub fn f64(&self, key: &str) -> Result<f64> {
        match self.require(key)? {
            Value::Float(x) => Ok(*x),
            Value::Int(i) => Ok(*i as f64),
            other => Err(Self::mismatch(key, "float", other)),
        }
    }

    /// An integer.
    pub fn i64(&self, key: &str) -> Result<i64> {
        match self.require(key)? {
            Value::Int(i) => Ok(*i),
            other => Err(Self::mismatch(key, "int", other)),
        }
    }

    /// A non-negative integer.
    pub fn usize(&self, key: &str) -> Result<usize> {
        let i = self.i64(key)?;
        usize::try_from(i).map_err(|_| PluginError::param(key, format!("{i} is negative")))
    }

    /// A boolean.
    pub fn bool(&self, key: &str) -> Result<bool> {
        match self.require(key)? {
            Value::Bool(b) => Ok(*b),
            other => Err(Self::mismatch(key, "bool", other)),
        }
    }

    /// A string.
    pub fn str(&self, key: &str) -> Result<&str> {
        match self.require(key)? {
            Value::Str(s) => Ok(s),
            other => Err(Self::mismatch(key, "string", other)),
        }
    }

    /// A list of floats.
    pub fn f64_list(&self, key: &str) -> Result<Vec<f64>> {
        match self.require(key)? {
            Value::List(items) => items
                .iter()
                .map(|v| match v {
                    Value::Float(x) => Ok(*x),
                    Value::Int(i) => Ok(*i as f64),
                    other => Err(Self::mismatch(key, "list of floats", other)),
                })
                .collect(),
            other => Err(Self::mismatch(key, "list of floats", other)),
        }
    }

    /// A list of strings.
    pub fn str_list(&self, key: &str) -> Result<Vec<String>> {
        match self.require(key)? {
            Value::List(items) => items
                .iter()
                .map(|v| match v {
                    Value::Str(s) => Ok(s.clone()),
                    other => Err(Self::mismatch(key, "list of strings", other)),
                })
                .collect(),
            other => Err(Self::mismatch(key, "list of strings", other)),
        }
    }

    /// A list of integers.
    pub fn i64_list(&self, key: &str) -> Result<Vec<i64>> {
        match self.require(key)? {
            Value::List(items) => items
                .iter()
                .map(|v| match v {
                    Value::Int(i) => Ok(*i),
                    other => Err(Self::mismatch(key, "list of ints", other)),
                })
                .collect(),
            other => Err(Self::mismatch(key, "list of ints", other)),
        }
    }
}

/// Edit distance between two strings (Levenshtein, on characters).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitute.min(previous + 1).min(row[j] + 1);
        }
    }
    row[b.len()]
}

/// The candidate closest to `given`, if it is close enough to be a plausible misspelling.
pub fn closest<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(given, c), c))
        .filter(|(d, c)| *d <= (c.chars().count().max(given.chars().count()) / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// The message for a string that is not one of `choices`, with the closest valid one.
pub fn not_a_choice(given: &str, choices: &[String]) -> String {
    let mut message = format!("`{given}` is not one of {}", choices.join(", "));
    if let Some(best) = closest(given, choices.iter().map(String::as_str)) {
        message.push_str(&format!("; did you mean `{best}`?"));
    }
    message
}

/// A struct of parameters: its fields are declared once and read back typed, so the declaration
/// and the reading cannot drift apart. Derive it with [`Params`](crate::Params) and use it with
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

/// The declaration of a parameter of type `T` (used by the [`Params`](crate::Params) derive).
pub fn declare<T: ParamValue>(name: &str, default: Option<Value>, doc: &str) -> Param {
    let mut p = Param::new(name, T::TYPE, default, doc);
    p.min = T::MIN;
    p.choices = T::choices();
    p
}

/// Reads `key` as a `T` (used by the [`Params`](crate::Params) derive).
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

#[cfg(test)]
mod typed_tests {
    use crate::prelude::*;

    #[derive(Debug, Clone, Copy, PartialEq, Choice)]
    enum Activation {
        Relu,
        GeluTanh,
        #[choice(name = "t^0.25")]
        Clipped,
    }

    #[derive(Debug, Params)]
    struct Example {
        /// Step size.
        #[param(default = 0.1, min = 0.0)]
        lr: f64,
        /// Layer widths.
        #[param(default = [64, 32])]
        hidden: Vec<usize>,
        /// Nonlinearity.
        #[param(default = "relu")]
        activation: Activation,
        /// A count in a range.
        #[param(default = 3, range = (1, 10))]
        layers: u32,
        /// Read from the spec key `beta1`.
        #[param(default = 0.9, name = "beta1")]
        first_moment: f32,
        /// Required: no default.
        path: String,
        /// A flag.
        #[param(default = false)]
        verbose: bool,
    }

    fn component() -> Component {
        Component::probe_with("typed", "0.1.0", |p: Example, _cx| {
            assert!(p.lr >= 0.0);
            Err(PluginError::invalid(format!("built with {p:?}")))
        })
    }

    #[test]
    fn declarations_come_from_the_fields() {
        let declared = Example::declarations();
        let names: Vec<&str> = declared.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "lr",
                "hidden",
                "activation",
                "layers",
                "beta1",
                "path",
                "verbose"
            ]
        );
        assert_eq!(declared[0].ty, ParamType::Float);
        assert_eq!(declared[0].doc, "Step size.");
        assert_eq!(declared[0].min, Some(0.0));
        assert_eq!(declared[1].ty, ParamType::IntList);
        assert_eq!(
            declared[1].min,
            Some(0.0),
            "unsigned elements declare min 0"
        );
        assert_eq!(declared[2].choices, ["relu", "gelu_tanh", "t^0.25"]);
        assert_eq!((declared[3].min, declared[3].max), (Some(1.0), Some(10.0)));
        assert!(declared[5].default.is_none());
        crate::conformance::check_declarations(&[component()]).unwrap();
    }

    #[test]
    fn values_are_read_back_typed() {
        let c = component();
        let p = c
            .resolve(&[
                ("path", "data.csv".into()),
                ("activation", "gelu_tanh".into()),
                ("beta1", Value::Int(1)),
            ])
            .unwrap();
        let e = Example::from_params(&p).unwrap();
        assert_eq!(e.lr, 0.1);
        assert_eq!(e.hidden, [64, 32]);
        assert_eq!(e.activation, Activation::GeluTanh);
        assert_eq!(e.layers, 3);
        assert_eq!(e.first_moment, 1.0);
        assert_eq!(e.path, "data.csv");
        assert!(!e.verbose);
        assert_eq!(Activation::Clipped.as_choice(), "t^0.25");
    }

    #[test]
    fn a_misspelt_choice_names_the_closest_valid_one() {
        let err = component()
            .resolve(&[("path", "x".into()), ("activation", "gelu_tahn".into())])
            .unwrap_err()
            .to_string();
        assert!(err.contains("activation"), "{err}");
        assert!(err.contains("did you mean `gelu_tanh`?"), "{err}");
        // Far from every choice: no guess, but the list.
        let err = component()
            .resolve(&[("path", "x".into()), ("activation", "sigmoid".into())])
            .unwrap_err()
            .to_string();
        assert!(!err.contains("did you mean"), "{err}");
        assert!(err.contains("relu, gelu_tanh, t^0.25"), "{err}");
    }

    #[test]
    fn missing_and_unknown_keys_are_refused() {
        let err = component().resolve(&[]).unwrap_err().to_string();
        assert!(err.contains("path") && err.contains("required"), "{err}");
        let err = component()
            .resolve(&[("path", "x".into()), ("lrr", Value::Float(0.1))])
            .unwrap_err()
            .to_string();
        assert!(err.contains("lrr") && err.contains("unknown"), "{err}");
    }

    #[test]
    fn the_typed_factory_gets_the_struct() {
        let cx = crate::BuildContext {
            seed: 0,
            device: crate::candle::Device::Cpu,
        };
        let err = component()
            .build_probe(&[("path", "p".into()), ("verbose", true.into())], &cx)
            .err()
            .expect("the test factory refuses")
            .to_string();
        assert!(
            err.contains("verbose: true") && err.contains("path: \"p\""),
            "{err}"
        );
        let err = component()
            .build_model(
                &[],
                &crate::ModelContext {
                    build: cx,
                    data: crate::DataInfo::features(
                        vec![1],
                        crate::Objective::Regression { outputs: 1 },
                    ),
                },
            )
            .err()
            .expect("wrong kind")
            .to_string();
        assert!(err.contains("is a probe, not a model"), "{err}");
    }

    #[test]
    fn edit_distance_and_closest() {
        assert_eq!(super::edit_distance("kitten", "sitting"), 3);
        assert_eq!(super::edit_distance("", "abc"), 3);
        assert_eq!(
            super::closest("cosin", ["constant", "cosine"]),
            Some("cosine")
        );
        assert_eq!(super::closest("zzz", ["constant", "cosine"]), None);
    }
}
