//! Parameter declarations and resolved parameter values.
//!
//! A component declares every parameter it accepts ([`Param`]); the host checks a spec against
//! those declarations before anything runs and hands the component a complete [`Params`] map in
//! which every declared parameter has a value.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::{PluginError, Result};

mod resolve;
mod spelling;
mod typed;

pub use resolve::{resolve, ParamIssue};
pub use spelling::{closest, edit_distance, not_a_choice};
pub use typed::*;

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
