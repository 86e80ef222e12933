//! Worked example: a dataset component, registered and exercised.

use assay_sdk::prelude::*;
use assay_sdk::rand::Rng as _;

struct HalfPlanes {
    x: Vec<[f32; 2]>,
    y: Vec<u32>,
    train: usize,
}

impl Dataset for HalfPlanes {
    fn info(&self) -> DataInfo {
        DataInfo::features(vec![2], Objective::Classification { classes: 2 })
    }
    fn len(&self, split: Split) -> usize {
        match split {
            Split::Train => self.train,
            Split::Test => self.x.len() - self.train,
        }
    }
    fn batch(&self, split: Split, indices: &[usize], device: &Device) -> Result<Batch> {
        let offset = if split == Split::Train { 0 } else { self.train };
        let xs: Vec<f32> = indices.iter().flat_map(|&i| self.x[offset + i]).collect();
        let ys: Vec<u32> = indices.iter().map(|&i| self.y[offset + i]).collect();
        Ok(Batch {
            input: Tensor::from_vec(xs, (indices.len(), 2), device)?,
            target: Tensor::from_vec(ys, indices.len(), device)?,
        })
    }
}

fn register(r: &mut dyn Registrar) {
    r.add(
        Component::dataset("half_planes", "0.1.0", |p, cx| {
            let n = p.usize("n")?;
            let mut rng = cx.rng("half_planes");
            let x: Vec<[f32; 2]> = (0..n)
                .map(|_| [rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)])
                .collect();
            let y = x.iter().map(|p| u32::from(p[0] + p[1] > 0.0)).collect();
            Ok(Box::new(HalfPlanes {
                x,
                y,
                train: n * 8 / 10,
            }))
        })
        .param(Param::int("n", 100, "number of points").min(10.0)),
    );
}

#[test]
fn registers_and_works() -> Result<()> {
    let mut found = Vec::new();
    register(&mut found);
    let data = found[0].build_dataset(
        &[],
        &BuildContext {
            seed: 1,
            device: Device::Cpu,
        },
    )?;
    assert_eq!(data.len(Split::Test), 20);
    assert_eq!(
        data.batch(Split::Train, &[0, 1, 2], &Device::Cpu)?
            .input
            .dims(),
        &[3, 2]
    );
    Ok(())
}

fn main() {
    let mut found = Vec::new();
    register(&mut found);
    println!("registered {} component(s)", found.len());
}
