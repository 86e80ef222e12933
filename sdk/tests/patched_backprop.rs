//! The patched candle-core (`sdk/patches/`) stores a node's first gradient as it is instead of
//! adding it to zeros. Its gradients are checked here against central finite differences in
//! `f64` on a graph that reaches every case the change touches: a gradient shared by both
//! sides of an add, one reaching a tensor along two paths (accumulated), broadcast and strided
//! (transposed, narrowed) views, gather and index-select, reductions and matrix products.

use assay_sdk::candle::{DType, Device, Tensor, Var};

fn function(a: &Tensor, b: &Tensor, ids: &Tensor) -> assay_sdk::candle::Result<Tensor> {
    let h = a.matmul(&b.t()?)?; // [4, 3]
    let h = (&h + &h.relu()?)?; // a shared input: the add's gradient reaches h twice
    let wide = h.broadcast_add(&b.narrow(1, 0, 1)?.t()?)?; // [4, 3] + [1, 3] broadcast
    let rows = wide.index_select(ids, 0)?; // [5, 3]
    let picked = rows.gather(&Tensor::new(&[[0u32], [2], [1], [1], [0]], a.device())?, 1)?;
    let s = (picked.sum_all()? + rows.sqr()?.mean_all()?)?;
    let t = a.t()?.sum_keepdim(1)?.sqr()?.sum_all()?; // a strided view's gradient
    s + t
}

#[test]
fn gradients_equal_finite_differences() {
    let dev = Device::Cpu;
    let a0 = Tensor::randn(0f64, 1.0, (4, 2), &dev).unwrap();
    let b0 = Tensor::randn(0f64, 1.0, (3, 2), &dev).unwrap();
    let ids = Tensor::new(&[3u32, 0, 0, 2, 1], &dev).unwrap();
    let (a, b) = (
        Var::from_tensor(&a0).unwrap(),
        Var::from_tensor(&b0).unwrap(),
    );
    let grads = function(a.as_tensor(), b.as_tensor(), &ids)
        .unwrap()
        .backward()
        .unwrap();
    let eps = 1e-6;
    for (var, base, other, first) in [(&a, &a0, &b0, true), (&b, &b0, &a0, false)] {
        let g = grads
            .get(var)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f64>()
            .unwrap();
        let v = base.flatten_all().unwrap().to_vec1::<f64>().unwrap();
        for i in 0..v.len() {
            let at = |d: f64| {
                let mut w = v.clone();
                w[i] += d;
                let w = Tensor::from_vec(w, base.shape(), &dev).unwrap();
                let (x, y) = if first { (&w, other) } else { (other, &w) };
                function(x, y, &ids).unwrap().to_scalar::<f64>().unwrap()
            };
            let fd = (at(eps) - at(-eps)) / (2.0 * eps);
            assert!(
                (fd - g[i]).abs() < 1e-6 * (1.0 + fd.abs()),
                "element {i}: {} vs {fd}",
                g[i]
            );
        }
    }
    // Gradients come out contiguous, as they did when every one was added to zeros.
    assert!(grads.get(&a).unwrap().is_contiguous());
    assert_eq!(grads.get(&a).unwrap().dtype(), DType::F64);
}
