//! Every optimizer against trajectories computed independently with NumPy from the published
//! update rules (`tests/reference/optimizers.py`, output committed as `optimizers.json`).

use assay_sdk::prelude::*;

fn value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::String(s) => Value::Str(s.clone()),
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap()),
        other => panic!("unexpected parameter value {other}"),
    }
}

#[test]
fn trajectories_match_the_numpy_reference_to_1e6_relative() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/reference/optimizers.json"
    );
    let fixture: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let theta0: Vec<f32> = fixture["theta0"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect();
    let grads: Vec<Vec<f32>> = fixture["grads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            g.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect()
        })
        .collect();
    let mut components = Vec::new();
    assay_optim_register(&mut components);
    let cases = fixture["cases"].as_array().unwrap();
    let mut host_checked = 0;
    assert!(cases.len() >= 14);
    for (n, case) in cases.iter().enumerate() {
        let name = case["optimizer"].as_str().unwrap();
        let component = components
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no optimizer {name}"));
        let given: Vec<(String, Value)> = case["params"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), value(v)))
            .collect();
        let given: Vec<(&str, Value)> =
            given.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        // The host-memory implementation, where the optimizer has one, follows the same rule,
        // in both precisions.
        if let Some(host) = &component.host_optimizer {
            let params = component.resolve(&given).unwrap();
            let mut f32_rule = (host.0)(&params, theta0.len(), Precision::F32).unwrap();
            let mut f64_rule = (host.0)(&params, theta0.len(), Precision::F64).unwrap();
            let mut theta = theta0.clone();
            let mut theta64: Vec<f64> = theta0.iter().map(|x| f64::from(*x)).collect();
            for (t, (g, expected)) in grads
                .iter()
                .zip(case["trajectory"].as_array().unwrap())
                .enumerate()
            {
                f32_rule
                    .step(
                        Iterate::F32 {
                            theta: &mut theta,
                            grad: g,
                        },
                        1.0,
                    )
                    .unwrap();
                let g64: Vec<f64> = g.iter().map(|x| f64::from(*x)).collect();
                f64_rule
                    .step(
                        Iterate::F64 {
                            theta: &mut theta64,
                            grad: &g64,
                        },
                        1.0,
                    )
                    .unwrap();
                let got = theta
                    .iter()
                    .map(|x| f64::from(*x))
                    .zip(theta64.iter().copied());
                for (i, ((a, a64), b)) in got.zip(expected.as_array().unwrap()).enumerate() {
                    let b = b.as_f64().unwrap();
                    // The reference computes in f32: the f32 rule matches it to rounding, the f64
                    // rule to f32's precision.
                    for (precision, a, rel, abs) in
                        [("f32", a, 1e-6, 1e-9), ("f64", a64, 1e-5, 1e-6)]
                    {
                        assert!(
                            (a - b).abs() <= rel * a.abs().max(b.abs()) + abs,
                            "host path in {precision}, case {n} ({name} {}), step {}, element {i}: rust {a} vs reference {b}",
                            case["params"],
                            t + 1
                        );
                    }
                }
            }
            host_checked += 1;
        }
        let Factory::Optimizer(make) = &component.factory else {
            unreachable!()
        };
        let w = Var::new(theta0.as_slice(), &Device::Cpu).unwrap();
        let mut opt = make(
            &component.resolve(&given).unwrap(),
            vec![assay_sdk::Parameter::new("w", w.clone())],
        )
        .unwrap();
        for (t, (g, expected)) in grads
            .iter()
            .zip(case["trajectory"].as_array().unwrap())
            .enumerate()
        {
            let gt = Tensor::new(g.as_slice(), &Device::Cpu).unwrap();
            let grads = (w.as_tensor() * gt)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            opt.step(&grads, 1.0).unwrap();
            let got = w.as_tensor().to_vec1::<f32>().unwrap();
            for (i, (a, b)) in got.iter().zip(expected.as_array().unwrap()).enumerate() {
                let (a, b) = (f64::from(*a), b.as_f64().unwrap());
                assert!(
                    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()) + 1e-9,
                    "case {n} ({name} {}), step {}, element {i}: rust {a} vs reference {b}",
                    case["params"],
                    t + 1
                );
            }
        }
    }
    assert!(host_checked >= 10, "host paths checked: {host_checked}");
}

/// The library's registration, through the same entry any host uses.
fn assay_optim_register(found: &mut Vec<Component>) {
    assay_optim::link();
    let decl = assay_sdk::abi::builtins()
        .into_iter()
        .find(|d| d.library == "assay_optim")
        .unwrap();
    (decl.register)(found);
}
