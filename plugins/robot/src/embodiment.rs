//! The three embodiments of the study: point-mass "arms" that share the scene and the task
//! vocabulary but differ, as real robots in Open X-Embodiment do, in control mode, action scale,
//! coordinate frame and gripper convention. Each records its actions in its own native units
//! and frame, without alignment across embodiments.
//!
//! | embodiment | control | scale (per axis) | frame (robot ← world) | gripper action |
//! | --- | --- | --- | --- | --- |
//! | A | delta position | 0.05 m per step | identity | target closedness in [0, 1] (1 closed) |
//! | B | velocity ([`DT`] = 0.1 s per step) | 0.2 m/s (0.02 m per step) | rotated 90° about z | closing velocity in [−1, 1] (+1 closes at the full rate) |
//! | C | delta position | 0.01 m per step | y inverted | target closedness in [−1, 1] (−1 open, +1 closed) |
//!
//! Observations and actions are both expressed in the embodiment's frame (as a robot's
//! proprioception and commands are); instructions speak of the world ("left" is world −x, which
//! is +y in B's frame). Out-of-range actions are clipped to ±scale and to the gripper's range.
//! After per-dataset normalisation to [−1, 1] the three grippers agree in sign (+1 closes).

use std::fmt;
use std::str::FromStr;

use crate::world::Vec3;

/// Seconds per simulator step (the control period of velocity control).
pub const DT: f64 = 0.1;

/// How the translation part of an action moves the end effector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ControlMode {
    /// The action is the displacement for this step, in metres.
    DeltaPosition,
    /// The action is a velocity in metres per second, held for [`DT`].
    Velocity,
}

/// How the embodiment's frame relates to the world frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Frame {
    /// Robot frame = world frame.
    Identity,
    /// Robot frame rotated +90° about z: robot x is world y, robot y is world −x.
    RotatedZ90,
    /// Robot y is world −y.
    InvertedY,
}

impl Frame {
    /// World coordinates → robot coordinates.
    pub fn to_robot(self, w: Vec3) -> Vec3 {
        match self {
            Frame::Identity => w,
            Frame::RotatedZ90 => [w[1], -w[0], w[2]],
            Frame::InvertedY => [w[0], -w[1], w[2]],
        }
    }

    /// Robot coordinates → world coordinates (the inverse of [`Frame::to_robot`]).
    pub fn to_world(self, r: Vec3) -> Vec3 {
        match self {
            Frame::Identity => r,
            Frame::RotatedZ90 => [-r[1], r[0], r[2]],
            Frame::InvertedY => [r[0], -r[1], r[2]],
        }
    }
}

/// What the gripper dimension of an action means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GripperMode {
    /// Target closedness in [0, 1]: 0 open, 1 closed.
    Closedness,
    /// Closing velocity in [−1, 1]: the closedness changes by `action · GRIPPER_RATE`.
    ClosingVelocity,
    /// Target closedness in [−1, 1]: −1 open, +1 closed.
    SignedClosedness,
}

impl GripperMode {
    /// The range of the gripper action.
    pub fn range(self) -> (f64, f64) {
        match self {
            GripperMode::Closedness => (0.0, 1.0),
            GripperMode::ClosingVelocity | GripperMode::SignedClosedness => (-1.0, 1.0),
        }
    }

    /// The closedness target in [0, 1] that `action` asks for, given the current closedness.
    pub fn target(self, action: f64, current: f64) -> f64 {
        let (lo, hi) = self.range();
        let a = action.clamp(lo, hi);
        let target = match self {
            GripperMode::Closedness => a,
            GripperMode::ClosingVelocity => current + a * crate::world::GRIPPER_RATE,
            GripperMode::SignedClosedness => (a + 1.0) / 2.0,
        };
        target.clamp(0.0, 1.0)
    }

    /// The action that closes (`true`) or opens the gripper as fast as possible.
    pub fn command(self, close: bool) -> f64 {
        let (lo, hi) = self.range();
        if close {
            hi
        } else {
            lo
        }
    }
}

/// One of the study's embodiments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Embodiment {
    /// Delta position, scale 0.05, identity frame.
    A = 0,
    /// Velocity control, scale 0.2, frame rotated 90° about z.
    B = 1,
    /// Delta position, scale 0.01, inverted y axis.
    C = 2,
}

impl Embodiment {
    /// All embodiments in order.
    pub const ALL: [Embodiment; 3] = [Embodiment::A, Embodiment::B, Embodiment::C];

    /// Index (A 0, B 1, C 2), e.g. for a one-hot embodiment feature.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The name stored in datasets: `A`, `B` or `C`.
    pub fn name(self) -> &'static str {
        match self {
            Embodiment::A => "A",
            Embodiment::B => "B",
            Embodiment::C => "C",
        }
    }

    /// The control mode of the translation.
    pub fn control(self) -> ControlMode {
        match self {
            Embodiment::A | Embodiment::C => ControlMode::DeltaPosition,
            Embodiment::B => ControlMode::Velocity,
        }
    }

    /// The largest magnitude of each translation action (metres or metres per second).
    pub fn scale(self) -> f64 {
        match self {
            Embodiment::A => 0.05,
            Embodiment::B => 0.2,
            Embodiment::C => 0.01,
        }
    }

    /// The frame of observations and actions.
    pub fn frame(self) -> Frame {
        match self {
            Embodiment::A => Frame::Identity,
            Embodiment::B => Frame::RotatedZ90,
            Embodiment::C => Frame::InvertedY,
        }
    }

    /// The gripper convention.
    pub fn gripper(self) -> GripperMode {
        match self {
            Embodiment::A => GripperMode::Closedness,
            Embodiment::B => GripperMode::ClosingVelocity,
            Embodiment::C => GripperMode::SignedClosedness,
        }
    }

    /// Metres moved per step by a unit of translation action (1 or [`DT`]).
    fn metres_per_unit(self) -> f64 {
        match self.control() {
            ControlMode::DeltaPosition => 1.0,
            ControlMode::Velocity => DT,
        }
    }

    /// The largest displacement per step along each axis, in metres.
    pub fn max_step(self) -> f64 {
        self.scale() * self.metres_per_unit()
    }

    /// The world displacement of one step for translation action `xyz` (clipped to ±scale).
    pub fn displacement(self, xyz: Vec3) -> Vec3 {
        let clipped = xyz.map(|a| a.clamp(-self.scale(), self.scale()) * self.metres_per_unit());
        self.frame().to_world(clipped)
    }

    /// The translation action (clipped to ±scale) that moves the end effector by `world`
    /// metres in one step, or as far towards it as the scale allows on each axis.
    pub fn translation_for(self, world: Vec3) -> Vec3 {
        self.frame()
            .to_robot(world)
            .map(|d| (d / self.metres_per_unit()).clamp(-self.scale(), self.scale()))
    }

    /// The native bounds of each of the 7 action dimensions (see [`crate::layout`]):
    /// ±scale for translation, 0 for the unused rotation, the gripper's range.
    pub fn action_limits(self) -> ([f64; 7], [f64; 7]) {
        let s = self.scale();
        let (g_lo, g_hi) = self.gripper().range();
        (
            [-s, -s, -s, 0.0, 0.0, 0.0, g_lo],
            [s, s, s, 0.0, 0.0, 0.0, g_hi],
        )
    }

    /// One-hot of [`Embodiment::index`].
    pub fn one_hot(self) -> [f64; 3] {
        let mut v = [0.0; 3];
        v[self.index()] = 1.0;
        v
    }
}

impl fmt::Display for Embodiment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Text that names no embodiment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an embodiment: expected A, B or C")]
pub struct UnknownEmbodiment(pub String);

impl FromStr for Embodiment {
    type Err = UnknownEmbodiment;

    /// Parses `A`, `B` or `C` (any case, surrounding spaces ignored).
    fn from_str(s: &str) -> Result<Embodiment, UnknownEmbodiment> {
        let wanted = s.trim();
        Embodiment::ALL
            .into_iter()
            .find(|e| e.name().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| UnknownEmbodiment(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRIES: [Vec3; 4] = [
        [0.01, -0.02, 0.003],
        [-0.3, 0.7, 0.0],
        [0.0, 0.0, -0.04],
        [0.005, 0.005, 0.005],
    ];

    #[test]
    fn frames_invert_and_match_the_notes() {
        for frame in [Frame::Identity, Frame::RotatedZ90, Frame::InvertedY] {
            for v in TRIES {
                assert_eq!(frame.to_world(frame.to_robot(v)), v);
            }
        }
        // World +x ("right") is robot −y for B; world −x ("left") is robot +y.
        assert_eq!(
            Frame::RotatedZ90.to_robot([-1.0, 0.0, 0.0]),
            [0.0, 1.0, 0.0]
        );
        assert_eq!(Frame::RotatedZ90.to_world([1.0, 0.0, 0.0]), [0.0, 1.0, 0.0]);
        assert_eq!(Frame::InvertedY.to_robot([1.0, 2.0, 3.0]), [1.0, -2.0, 3.0]);
    }

    #[test]
    fn the_table_of_the_notes() {
        use Embodiment::*;
        assert_eq!(
            [A, B, C].map(|e| e.control()),
            [
                ControlMode::DeltaPosition,
                ControlMode::Velocity,
                ControlMode::DeltaPosition
            ]
        );
        assert_eq!([A, B, C].map(|e| e.scale()), [0.05, 0.2, 0.01]);
        assert_eq!(
            [A, B, C].map(|e| e.frame()),
            [Frame::Identity, Frame::RotatedZ90, Frame::InvertedY]
        );
        let steps = [A, B, C].map(|e| e.max_step());
        assert!((steps[1] - 0.02).abs() < 1e-15);
        assert_eq!([steps[0], steps[2]], [0.05, 0.01]);
    }

    #[test]
    fn translation_for_inverts_displacement_within_the_scale() {
        for e in Embodiment::ALL {
            for v in TRIES {
                let small = v.map(|d| d * e.max_step() / 0.7);
                let back = e.displacement(e.translation_for(small));
                for k in 0..3 {
                    assert!((back[k] - small[k]).abs() < 1e-12, "{e} {small:?} {back:?}");
                }
                // Large requests saturate at the scale on each axis.
                let big = e.translation_for(v.map(|d| d * 100.0));
                assert!(big.iter().all(|a| a.abs() <= e.scale()));
                let moved = e.displacement(v.map(|a| a * 1e3));
                assert!(moved.iter().all(|d| d.abs() <= e.max_step() + 1e-15));
            }
        }
    }

    #[test]
    fn gripper_conventions_reach_the_same_closedness() {
        for e in Embodiment::ALL {
            let g = e.gripper();
            assert_eq!(g.target(g.command(true), 0.5), 1.0, "{e} closes");
            assert_eq!(g.target(g.command(false), 0.5), 0.0, "{e} opens");
            let (lo, hi) = g.range();
            assert_eq!(e.action_limits().0[6], lo);
            assert_eq!(e.action_limits().1[6], hi);
        }
        assert_eq!(GripperMode::ClosingVelocity.target(0.5, 0.5), 0.75);
        assert_eq!(GripperMode::SignedClosedness.target(0.0, 1.0), 0.5);
        assert_eq!(GripperMode::Closedness.target(9.0, 0.0), 1.0);
    }

    #[test]
    fn names_parse_and_unknown_names_are_refused() {
        for e in Embodiment::ALL {
            assert_eq!(e.name().parse::<Embodiment>(), Ok(e));
            assert_eq!(e.one_hot()[e.index()], 1.0);
        }
        assert_eq!(" b ".parse::<Embodiment>(), Ok(Embodiment::B));
        let err = "D".parse::<Embodiment>().expect_err("D");
        assert_eq!(
            err.to_string(),
            "`D` is not an embodiment: expected A, B or C"
        );
    }
}
