//! The patched candle-core (`sdk/patches/`) splits one large product with `k ≤ 512` into one run
//! of rows per thread, each a single-threaded gemm call. Its results are checked here bit for bit
//! against gemm computing the whole product on one thread, for row-major and transposed
//! operands, `k` up to 512, and row counts that do not divide by the threads. (On a machine
//! with one core the split does not run, and the test compares the unsplit path.)

use assay_sdk::candle::{Device, Tensor};

/// `a · b` by gemm alone on this thread, `a` `[m, k]` and `b` `[k, n]` given by their values
/// and strides.
fn reference(
    (m, n, k): (usize, usize, usize),
    (a, a_rs, a_cs): (&[f32], usize, usize),
    (b, b_rs, b_cs): (&[f32], usize, usize),
) -> Vec<f32> {
    let mut out = vec![0f32; m * n];
    // SAFETY: the operands hold m × k and k × n values at these strides, `out` m × n.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    };
    out
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn split_products_equal_one_gemm_call_bit_for_bit() {
    let dev = Device::Cpu;
    for (m, n, k) in [
        (4096, 128, 128),
        (1001, 512, 512),
        (777, 257, 128),
        (4096, 128, 511),
    ] {
        let a = Tensor::randn(0f32, 1.0, (m, k), &dev).unwrap();
        let b = Tensor::randn(0f32, 1.0, (k, n), &dev).unwrap();
        let av = a.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let bv = b.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        // Row-major operands.
        let got = a
            .matmul(&b)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let want = reference((m, n, k), (&av, k, 1), (&bv, n, 1));
        assert_eq!(bits(&got), bits(&want), "{m} x {k} x {n}");
        // A transposed right operand (as a linear map's input gradient multiplies by Wᵀ).
        let bt = Tensor::randn(0f32, 1.0, (n, k), &dev).unwrap();
        let btv = bt.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let got = a
            .matmul(&bt.t().unwrap())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let want = reference((m, n, k), (&av, k, 1), (&btv, 1, k));
        assert_eq!(bits(&got), bits(&want), "{m} x {k} x {n}, transposed rhs");
        // A transposed left operand.
        let at = Tensor::randn(0f32, 1.0, (k, m), &dev).unwrap();
        let atv = at.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let got = at
            .t()
            .unwrap()
            .matmul(&b)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let want = reference((m, n, k), (&atv, 1, m), (&bv, n, 1));
        assert_eq!(bits(&got), bits(&want), "{m} x {k} x {n}, transposed lhs");
    }
}
