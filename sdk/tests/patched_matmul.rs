//! The patched candle-core (`sdk/patches/`) splits one large product with `k ≤ 512` and 512
//! rows or more per thread into one run of rows per thread, and one with few rows and a long
//! sum into one run of gemm's depth blocks per thread, each a single-threaded gemm call. Its
//! results are checked here bit for bit against gemm computing the whole product on one
//! thread, for row-major and transposed operands, row counts that do not divide by the
//! threads, and block counts that do not. (On a machine with one core neither split runs, and
//! the tests compare the unsplit path.)

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

/// A tensor's values, row after row.
fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

/// `a · b` through candle, compared bit for bit with [`reference`], for row-major operands, a
/// transposed right operand (as a linear map's input gradient multiplies by Wᵀ) and a transposed
/// left one (as its weight gradient multiplies by xᵀ).
fn check_against_one_gemm_call((m, n, k): (usize, usize, usize)) {
    let dev = Device::Cpu;
    let randn = |shape: (usize, usize)| Tensor::randn(0f32, 1.0, shape, &dev).unwrap();
    let (a, b, at, bt) = (randn((m, k)), randn((k, n)), randn((k, m)), randn((n, k)));
    let (av, bv, atv, btv) = (values(&a), values(&b), values(&at), values(&bt));
    let cases = [
        (a.matmul(&b), (&av, k, 1), (&bv, n, 1), "row-major"),
        (
            a.matmul(&bt.t().unwrap()),
            (&av, k, 1),
            (&btv, 1, k),
            "transposed rhs",
        ),
        (
            at.t().unwrap().matmul(&b),
            (&atv, 1, m),
            (&bv, n, 1),
            "transposed lhs",
        ),
    ];
    for (got, (x, x_rs, x_cs), (y, y_rs, y_cs), what) in cases {
        let want = reference((m, n, k), (x, x_rs, x_cs), (y, y_rs, y_cs));
        assert_eq!(
            bits(&values(&got.unwrap())),
            bits(&want),
            "{m} x {k} x {n}, {what}"
        );
    }
}

#[test]
fn row_split_products_equal_one_gemm_call_bit_for_bit() {
    for mnk in [
        (4096, 128, 128),
        (2053, 512, 512),
        (1537, 257, 128),
        (4096, 128, 511),
    ] {
        check_against_one_gemm_call(mnk);
    }
}

#[test]
fn depth_split_products_equal_one_gemm_call_bit_for_bit() {
    for mnk in [
        // The decoder's weight gradients: 4,096 rows of the batch, eight blocks of 512.
        (128, 384, 4096),
        (512, 128, 4096),
        // Blocks of 500 (k split evenly), an odd number of blocks of 410, blocks of 512 and a
        // remainder (both sides at most 64), one block more than 512.
        (128, 128, 1000),
        (200, 96, 2049),
        (48, 40, 2600),
        (96, 130, 513),
        // 16 x 16 (left to gemm, which may sum it in blocks of 1,024 on another path) and 16 x 20.
        (16, 16, 20000),
        (16, 20, 16000),
        // Last blocks of 2 and 1 (left to gemm, whose path for them rounds each product) and of 3.
        (64, 64, 1026),
        (48, 40, 1025),
        (64, 64, 1027),
    ] {
        check_against_one_gemm_call(mnk);
    }
}
