//! Derive macros of the assay SDK, re-exported as `assay_sdk::Params` and `assay_sdk::Choice`;
//! their documentation is there. Generated code names the SDK as `::assay_sdk`.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as Tokens};
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{
    parse_macro_input, Attribute, Data, DeriveInput, Expr, ExprArray, ExprLit, ExprTuple,
    ExprUnary, Fields, Ident, Lit, LitStr, Meta, Token, UnOp,
};

/// One `key = value` of `#[param(...)]`.
struct Setting {
    key: Ident,
    value: Expr,
}

impl Parse for Setting {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key: Ident = input.parse()?;
        input.parse::<Token![=]>()?;
        let value: Expr = input.parse()?;
        Ok(Setting { key, value })
    }
}

/// The doc comment of an item, joined into one line.
fn doc(attrs: &[Attribute]) -> String {
    let mut lines = Vec::new();
    for attr in attrs {
        if let Meta::NameValue(nv) = &attr.meta {
            if nv.path.is_ident("doc") {
                if let Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) = &nv.value
                {
                    lines.push(s.value().trim().to_string());
                }
            }
        }
    }
    lines
        .into_iter()
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A literal of a spec value (number, string, bool, list of those) as an `assay_sdk::Value`
/// expression.
fn value_of(expr: &Expr) -> syn::Result<Tokens> {
    match expr {
        Expr::Lit(ExprLit { lit, .. }) => match lit {
            Lit::Int(i) => {
                let v: i64 = i.base10_parse()?;
                Ok(quote! { ::assay_sdk::Value::Int(#v) })
            }
            Lit::Float(f) => {
                let v: f64 = f.base10_parse()?;
                Ok(quote! { ::assay_sdk::Value::Float(#v) })
            }
            Lit::Str(s) => Ok(quote! { ::assay_sdk::Value::Str(::std::string::String::from(#s)) }),
            Lit::Bool(b) => Ok(quote! { ::assay_sdk::Value::Bool(#b) }),
            other => Err(syn::Error::new_spanned(
                other,
                "a default is a number, a string, a bool or a list of those",
            )),
        },
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => match &**expr {
            Expr::Lit(ExprLit {
                lit: Lit::Int(i), ..
            }) => {
                let v: i64 = -i.base10_parse::<i64>()?;
                Ok(quote! { ::assay_sdk::Value::Int(#v) })
            }
            Expr::Lit(ExprLit {
                lit: Lit::Float(f), ..
            }) => {
                let v: f64 = -f.base10_parse::<f64>()?;
                Ok(quote! { ::assay_sdk::Value::Float(#v) })
            }
            other => Err(syn::Error::new_spanned(other, "expected a number")),
        },
        Expr::Array(ExprArray { elems, .. }) => {
            let items = elems
                .iter()
                .map(value_of)
                .collect::<syn::Result<Vec<_>>>()?;
            Ok(quote! { ::assay_sdk::Value::List(::std::vec![#(#items),*]) })
        }
        other => Err(syn::Error::new_spanned(
            other,
            "a default is a literal: a number, a string, a bool or a list of those",
        )),
    }
}

/// A numeric literal (possibly negative) as an `f64` expression.
fn number_of(expr: &Expr) -> syn::Result<Tokens> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => {
            let v: f64 = i.base10_parse::<i64>()? as f64;
            Ok(quote! { #v })
        }
        Expr::Lit(ExprLit {
            lit: Lit::Float(f), ..
        }) => {
            let v: f64 = f.base10_parse()?;
            Ok(quote! { #v })
        }
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => {
            let inner = number_of(expr)?;
            Ok(quote! { -(#inner) })
        }
        other => Err(syn::Error::new_spanned(other, "expected a number")),
    }
}

fn derive_params(input: DeriveInput) -> syn::Result<Tokens> {
    let name = &input.ident;
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "#[derive(Params)] needs a struct with named fields",
        ));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "#[derive(Params)] needs a struct with named fields",
        ));
    };
    let mut declarations = Vec::new();
    let mut reads = Vec::new();
    for field in &fields.named {
        let ident = field.ident.as_ref().expect("named field");
        let ty = &field.ty;
        let mut key = LitStr::new(&ident.to_string(), ident.span());
        let mut default = None;
        let mut min = None;
        let mut max = None;
        for attr in field.attrs.iter().filter(|a| a.path().is_ident("param")) {
            let settings =
                attr.parse_args_with(Punctuated::<Setting, Token![,]>::parse_terminated)?;
            for Setting { key: k, value } in settings {
                match k.to_string().as_str() {
                    "default" => default = Some(value_of(&value)?),
                    "min" => min = Some(number_of(&value)?),
                    "max" => max = Some(number_of(&value)?),
                    "range" => {
                        let Expr::Tuple(ExprTuple { elems, .. }) = &value else {
                            return Err(syn::Error::new_spanned(value, "range = (MIN, MAX)"));
                        };
                        if elems.len() != 2 {
                            return Err(syn::Error::new_spanned(elems, "range = (MIN, MAX)"));
                        }
                        min = Some(number_of(&elems[0])?);
                        max = Some(number_of(&elems[1])?);
                    }
                    "name" => match value {
                        Expr::Lit(ExprLit {
                            lit: Lit::Str(s), ..
                        }) => key = s,
                        other => {
                            return Err(syn::Error::new_spanned(other, "name = \"spec_key\""))
                        }
                    },
                    other => {
                        return Err(syn::Error::new(
                            k.span(),
                            format!(
                                "unknown setting `{other}`; #[param(...)] takes default, min, max, range and name"
                            ),
                        ))
                    }
                }
            }
        }
        let text = doc(&field.attrs);
        if text.is_empty() {
            return Err(syn::Error::new_spanned(
                ident,
                "document every parameter with a doc comment (`/// …`): it is what `assay plugins info` shows",
            ));
        }
        let default = match default {
            Some(d) => quote! { ::std::option::Option::Some(#d) },
            None => quote! { ::std::option::Option::None },
        };
        let min = min.map(|m| quote! { .min(#m) });
        let max = max.map(|m| quote! { .max(#m) });
        declarations.push(quote! {
            ::assay_sdk::params::declare::<#ty>(#key, #default, #text) #min #max
        });
        reads.push(quote! {
            #ident: ::assay_sdk::params::read::<#ty>(params, #key)?
        });
    }
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        impl #impl_generics ::assay_sdk::params::TypedParams for #name #ty_generics #where_clause {
            fn declarations() -> ::std::vec::Vec<::assay_sdk::Param> {
                ::std::vec![#(#declarations),*]
            }
            fn from_params(params: &::assay_sdk::Params) -> ::assay_sdk::Result<Self> {
                ::std::result::Result::Ok(Self { #(#reads),* })
            }
        }
    })
}

/// `CamelCase` to `snake_case`.
fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn derive_choice(input: DeriveInput) -> syn::Result<Tokens> {
    let name = &input.ident;
    let Data::Enum(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "#[derive(Choice)] needs an enum of unit variants",
        ));
    };
    let mut idents = Vec::new();
    let mut texts = Vec::new();
    for variant in &data.variants {
        if !matches!(variant.fields, Fields::Unit) {
            return Err(syn::Error::new_spanned(
                variant,
                "#[derive(Choice)] variants carry no data",
            ));
        }
        let mut text = LitStr::new(&snake(&variant.ident.to_string()), Span::call_site());
        for attr in variant.attrs.iter().filter(|a| a.path().is_ident("choice")) {
            let settings =
                attr.parse_args_with(Punctuated::<Setting, Token![,]>::parse_terminated)?;
            for Setting { key, value } in settings {
                match (key.to_string().as_str(), value) {
                    (
                        "name",
                        Expr::Lit(ExprLit {
                            lit: Lit::Str(s), ..
                        }),
                    ) => text = s,
                    (_, other) => {
                        return Err(syn::Error::new_spanned(
                            other,
                            "#[choice(name = \"spelling\")] is the only setting",
                        ))
                    }
                }
            }
        }
        idents.push(&variant.ident);
        texts.push(text);
    }
    Ok(quote! {
        impl ::assay_sdk::params::Choice for #name {
            const CHOICES: &'static [&'static str] = &[#(#texts),*];
            fn from_choice(text: &str) -> ::std::option::Option<Self> {
                match text {
                    #(#texts => ::std::option::Option::Some(#name::#idents),)*
                    _ => ::std::option::Option::None,
                }
            }
            fn as_choice(&self) -> &'static str {
                match self {
                    #(#name::#idents => #texts,)*
                }
            }
        }
        impl ::assay_sdk::params::ParamValue for #name {
            const TYPE: ::assay_sdk::ParamType = ::assay_sdk::ParamType::Str;
            fn choices() -> ::std::vec::Vec<::std::string::String> {
                <Self as ::assay_sdk::params::Choice>::CHOICES
                    .iter()
                    .map(|c| ::std::string::ToString::to_string(c))
                    .collect()
            }
            fn from_value(key: &str, value: &::assay_sdk::Value) -> ::assay_sdk::Result<Self> {
                ::assay_sdk::params::choice_from_value(key, value)
            }
        }
    })
}

/// See `assay_sdk::Params`.
#[proc_macro_derive(Params, attributes(param))]
pub fn params(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    derive_params(input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// See `assay_sdk::Choice`.
#[proc_macro_derive(Choice, attributes(choice))]
pub fn choice(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    derive_choice(input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
