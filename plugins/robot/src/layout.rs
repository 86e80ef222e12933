//! The vectors `reach_push` exchanges with a policy: the observation it returns and the action
//! it takes, both in the embodiment's frame (see [`crate::embodiment`]).
//!
//! Observation ([`OBSERVATION_DIM`] = 13, metres except the gripper):
//!
//! | index | field | meaning |
//! | --- | --- | --- |
//! | 0..3 | `ee_position` | end-effector centre (x, y, z) |
//! | 3 | `gripper_closedness` | 0 open … 1 closed (the same in every embodiment) |
//! | 4..7 | `red_cube` | red cube centre (x, y, z) |
//! | 7..10 | `green_cube` | green cube centre |
//! | 10..13 | `blue_cube` | blue cube centre |
//!
//! Action ([`ACTION_DIM`] = 7, RT-X's end-effector layout, native units of the embodiment):
//!
//! | index | field | meaning |
//! | --- | --- | --- |
//! | 0..3 | `world_vector` | translation: metres per step (A, C) or metres per second (B) |
//! | 3..6 | `rotation_delta` | roll, pitch, yaw: unused by a point mass, always 0 |
//! | 6 | `gripper` | the embodiment's gripper convention |
//!
//! In RLDS steps the observation is stored as named fields in the order above
//! ([`Observation::fields`]); the flat vector is their concatenation.

use crate::embodiment::Embodiment;
use crate::rlds::{Field, Schema};
use crate::world::{Vec3, World};

/// Observation fields in layout order: (name, length).
pub const OBSERVATION_FIELDS: [(&str, usize); 5] = [
    ("ee_position", 3),
    ("gripper_closedness", 1),
    ("red_cube", 3),
    ("green_cube", 3),
    ("blue_cube", 3),
];

/// Length of the flat observation.
pub const OBSERVATION_DIM: usize = 13;

/// Action fields in layout order: (name, length).
pub const ACTION_FIELDS: [(&str, usize); 3] =
    [("world_vector", 3), ("rotation_delta", 3), ("gripper", 1)];

/// Length of an action.
pub const ACTION_DIM: usize = 7;

/// Index of the gripper in an action.
pub const GRIPPER_INDEX: usize = 6;

/// What an embodiment observes: the scene in its own frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// End-effector centre.
    pub ee: Vec3,
    /// Gripper closedness, 0 open … 1 closed.
    pub gripper: f64,
    /// Red, green and blue cube centres.
    pub cubes: [Vec3; 3],
}

/// A flat observation or a set of fields that does not have the layout above.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("observation does not have the reach_push layout: {0}")]
pub struct LayoutError(pub String);

impl Observation {
    /// The scene `world` as `embodiment` observes it.
    pub fn of(world: &World, embodiment: Embodiment) -> Observation {
        let frame = embodiment.frame();
        Observation {
            ee: frame.to_robot(world.ee),
            gripper: world.gripper,
            cubes: world.cubes.map(|c| frame.to_robot(c)),
        }
    }

    /// The flat vector in layout order.
    pub fn to_vec(&self) -> Vec<f64> {
        let mut v = Vec::with_capacity(OBSERVATION_DIM);
        v.extend_from_slice(&self.ee);
        v.push(self.gripper);
        for c in &self.cubes {
            v.extend_from_slice(c);
        }
        v
    }

    /// Reads a flat vector in layout order.
    pub fn from_slice(v: &[f64]) -> Result<Observation, LayoutError> {
        if v.len() != OBSERVATION_DIM {
            return Err(LayoutError(format!(
                "{} values, expected {OBSERVATION_DIM}",
                v.len()
            )));
        }
        let at = |i: usize| [v[i], v[i + 1], v[i + 2]];
        Ok(Observation {
            ee: at(0),
            gripper: v[3],
            cubes: [at(4), at(7), at(10)],
        })
    }

    /// The named fields of an RLDS step, in layout order.
    pub fn fields(&self) -> Vec<Field> {
        let flat = self.to_vec();
        let mut start = 0;
        OBSERVATION_FIELDS
            .iter()
            .map(|(name, len)| {
                let field = Field::new(*name, flat[start..start + len].to_vec());
                start += len;
                field
            })
            .collect()
    }

    /// Reads the named fields of an RLDS step (names, order and lengths as in the layout).
    pub fn from_fields(fields: &[Field]) -> Result<Observation, LayoutError> {
        let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        let expected: Vec<&str> = OBSERVATION_FIELDS.iter().map(|(n, _)| *n).collect();
        if names != expected {
            return Err(LayoutError(format!(
                "fields [{}], expected [{}]",
                names.join(", "),
                expected.join(", ")
            )));
        }
        let mut flat = Vec::with_capacity(OBSERVATION_DIM);
        for (field, (name, len)) in fields.iter().zip(OBSERVATION_FIELDS) {
            if field.values.len() != len {
                return Err(LayoutError(format!(
                    "field `{name}` has {} values, expected {len}",
                    field.values.len()
                )));
            }
            flat.extend_from_slice(&field.values);
        }
        Observation::from_slice(&flat)
    }
}

/// The fields of `reach_push` episodes: the RLDS schema of every dataset the simulator writes.
pub fn schema() -> Schema {
    Schema {
        observation: OBSERVATION_FIELDS
            .iter()
            .map(|(n, len)| (n.to_string(), *len))
            .collect(),
        action_dim: ACTION_DIM,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    #[test]
    fn layout_constants_agree() {
        let obs: usize = OBSERVATION_FIELDS.iter().map(|(_, n)| n).sum();
        assert_eq!(obs, OBSERVATION_DIM);
        let act: usize = ACTION_FIELDS.iter().map(|(_, n)| n).sum();
        assert_eq!(act, ACTION_DIM);
        assert_eq!(GRIPPER_INDEX, ACTION_DIM - 1);
    }

    #[test]
    fn flat_vectors_and_fields_round_trip_in_layout_order() {
        let world = World::sample(&mut SplitMix64::new(4));
        for e in Embodiment::ALL {
            let obs = Observation::of(&world, e);
            let flat = obs.to_vec();
            assert_eq!(flat.len(), OBSERVATION_DIM);
            assert_eq!(flat[0..3], e.frame().to_robot(world.ee));
            assert_eq!(flat[10..13], e.frame().to_robot(world.cubes[2]));
            assert_eq!(Observation::from_slice(&flat), Ok(obs.clone()));
            assert_eq!(Observation::from_fields(&obs.fields()), Ok(obs));
        }
    }

    #[test]
    fn wrong_lengths_and_names_are_refused_with_what_was_found() {
        let err = Observation::from_slice(&[0.0; 12]).expect_err("short");
        assert!(err.to_string().contains("12 values, expected 13"), "{err}");
        let mut fields =
            Observation::of(&World::sample(&mut SplitMix64::new(0)), Embodiment::A).fields();
        fields[1].values.push(0.0);
        let err = Observation::from_fields(&fields).expect_err("long field");
        assert!(
            err.to_string()
                .contains("`gripper_closedness` has 2 values"),
            "{err}"
        );
        fields.swap(0, 1);
        let err = Observation::from_fields(&fields).expect_err("order");
        assert!(
            err.to_string()
                .contains("fields [gripper_closedness, ee_position"),
            "{err}"
        );
    }
}
