//! Where a sweep's entries run: worker processes on this machine, or one Slurm job array. Both
//! run `assay sweep task MANIFEST --index I` per entry, so a run computes the same either way.

pub mod local;
pub mod slurm;
