//! The physical scene of `reach_push`, in the world frame and in metres, independent of any
//! embodiment: a point-mass end effector with a gripper above a table with three cubes.
//!
//! - World frame: x to the right ("left" in instructions is −x), y away from the robot, z up;
//!   the table top is z = 0 and spans x, y ∈ [−[`TABLE_HALF`], [`TABLE_HALF`]].
//! - The end effector is a sphere of radius [`EE_RADIUS`] kept inside the box above the table
//!   (z ∈ [[`EE_RADIUS`], [`CEILING`]]). Its gripper has a closedness in [0, 1] (0 open) that
//!   moves towards a target by at most [`GRIPPER_RATE`] per step; it counts as closed above 0.5.
//! - Cubes have side 2·[`CUBE_HALF`] and rest on the table; for contact each is a vertical
//!   cylinder of radius [`CUBE_HALF`]. A move of the end effector is cut into sub-steps of at
//!   most [`SUBSTEP`] so that it cannot tunnel through a cube. In each sub-step, an end effector
//!   that overlaps a cube horizontally with its bottom below the cube's top either lands on the
//!   top (when it came from above) or pushes the cube horizontally out of contact along the line
//!   between their centres. A pushed cube pushes the cubes it then overlaps (one level deep);
//!   cubes stop at the table's edge, and so does an end effector pushing a cube held there.

use crate::rng::SplitMix64;
use crate::task::Colour;

/// A point or displacement in metres.
pub type Vec3 = [f64; 3];

/// Half the table's side: x, y ∈ [−0.25, 0.25].
pub const TABLE_HALF: f64 = 0.25;
/// Highest the end effector's centre goes.
pub const CEILING: f64 = 0.3;
/// Half a cube's side (its contact radius); a cube is 0.04 high.
pub const CUBE_HALF: f64 = 0.02;
/// A cube's height.
pub const CUBE_HEIGHT: f64 = 2.0 * CUBE_HALF;
/// Radius of the end-effector sphere.
pub const EE_RADIUS: f64 = 0.01;
/// Horizontal centre distance at which the end effector touches a cube.
pub const CONTACT: f64 = CUBE_HALF + EE_RADIUS;
/// Largest change of the gripper's closedness per step.
pub const GRIPPER_RATE: f64 = 0.5;
/// Longest sub-step of an end-effector move.
pub const SUBSTEP: f64 = 0.004;
/// Cube centres are drawn in x, y ∈ [−0.15, 0.15] ...
pub const CUBE_SPAWN_HALF: f64 = 0.15;
/// ... at least this far apart.
pub const CUBE_MIN_SEPARATION: f64 = 0.1;
/// The end effector starts at (0, 0, 0.1) plus up to ±0.02 on each axis.
pub const EE_START: Vec3 = [0.0, 0.0, 0.1];
/// Half-width of the start jitter of the end effector.
pub const EE_START_JITTER: f64 = 0.02;

/// The scene: end effector, gripper and cubes (red, green, blue), all in the world frame.
#[derive(Debug, Clone, PartialEq)]
pub struct World {
    /// Centre of the end-effector sphere.
    pub ee: Vec3,
    /// Gripper closedness in [0, 1]: 0 open, 1 closed.
    pub gripper: f64,
    /// Centres of the red, green and blue cubes (indexed by [`Colour::index`]).
    pub cubes: [Vec3; 3],
}

impl World {
    /// A scene drawn from `rng`: jittered end-effector start, open gripper, cubes in the spawn
    /// square at least [`CUBE_MIN_SEPARATION`] apart.
    pub fn sample(rng: &mut SplitMix64) -> World {
        let ee = EE_START.map(|c| c + rng.uniform(-EE_START_JITTER, EE_START_JITTER));
        let mut cubes = [[0.0, 0.0, CUBE_HALF]; 3];
        for i in 0..cubes.len() {
            // Rejection sampling: three discs of radius 0.05 in a 0.3 m square always fit, and
            // a draw is accepted with probability above a quarter.
            loop {
                let x = rng.uniform(-CUBE_SPAWN_HALF, CUBE_SPAWN_HALF);
                let y = rng.uniform(-CUBE_SPAWN_HALF, CUBE_SPAWN_HALF);
                let candidate = [x, y, CUBE_HALF];
                if cubes[..i]
                    .iter()
                    .all(|c| horizontal_distance(*c, candidate) >= CUBE_MIN_SEPARATION)
                {
                    cubes[i] = candidate;
                    break;
                }
            }
        }
        World {
            ee,
            gripper: 0.0,
            cubes,
        }
    }

    /// The centre of the cube of `colour`.
    pub fn cube(&self, colour: Colour) -> Vec3 {
        self.cubes[colour.index()]
    }

    /// Where the end effector rests on top of the cube of `colour` (the reach goal).
    pub fn grasp_point(&self, colour: Colour) -> Vec3 {
        let c = self.cube(colour);
        [c[0], c[1], CUBE_HEIGHT + EE_RADIUS]
    }

    /// Whether the gripper counts as closed (closedness above 0.5).
    pub fn gripper_closed(&self) -> bool {
        self.gripper > 0.5
    }

    /// Moves the gripper's closedness towards `target` (clipped to [0, 1]) by at most
    /// [`GRIPPER_RATE`].
    pub fn drive_gripper(&mut self, target: f64) {
        let change = (target.clamp(0.0, 1.0) - self.gripper).clamp(-GRIPPER_RATE, GRIPPER_RATE);
        self.gripper = (self.gripper + change).clamp(0.0, 1.0);
    }

    /// Moves the end effector by `displacement` (world frame, metres) in sub-steps, with the
    /// contacts described in the module docs. Components are first clipped to ±1 m (more than
    /// the workspace spans); a NaN component counts as 0.
    pub fn move_ee(&mut self, displacement: Vec3) {
        let displacement = displacement.map(|d| if d.is_nan() { 0.0 } else { d.clamp(-1.0, 1.0) });
        let length = norm(displacement);
        let substeps = (length / SUBSTEP).ceil().max(1.0) as usize;
        let part = displacement.map(|d| d / substeps as f64);
        for _ in 0..substeps {
            let from = self.ee;
            let mut to = clamp_ee(add(from, part));
            for i in 0..self.cubes.len() {
                self.resolve_contact(i, from, &mut to);
            }
            self.ee = to;
        }
    }

    /// Contact between the end effector moving `from` → `to` and cube `i`.
    fn resolve_contact(&mut self, i: usize, from: Vec3, to: &mut Vec3) {
        let cube = self.cubes[i];
        let below_top = to[2] - EE_RADIUS < CUBE_HEIGHT;
        if !below_top || horizontal_distance(cube, *to) >= CONTACT {
            return;
        }
        if from[2] - EE_RADIUS >= CUBE_HEIGHT - 1e-9 {
            to[2] = CUBE_HEIGHT + EE_RADIUS;
            return;
        }
        let away = horizontal_direction(*to, cube, sub(*to, from));
        self.cubes[i] = clamp_cube([
            to[0] + away[0] * CONTACT,
            to[1] + away[1] * CONTACT,
            CUBE_HALF,
        ]);
        if horizontal_distance(self.cubes[i], *to) < CONTACT {
            // The cube is held at the table's edge: the end effector stops against it.
            to[0] = self.cubes[i][0] - away[0] * CONTACT;
            to[1] = self.cubes[i][1] - away[1] * CONTACT;
        }
        self.push_neighbours(i);
    }

    /// Cubes overlapping cube `i` are pushed out along the line between centres.
    fn push_neighbours(&mut self, i: usize) {
        let pusher = self.cubes[i];
        for j in 0..self.cubes.len() {
            let other = self.cubes[j];
            if j == i || horizontal_distance(pusher, other) >= 2.0 * CUBE_HALF {
                continue;
            }
            let away = horizontal_direction(pusher, other, [1.0, 0.0, 0.0]);
            self.cubes[j] = clamp_cube([
                pusher[0] + away[0] * 2.0 * CUBE_HALF,
                pusher[1] + away[1] * 2.0 * CUBE_HALF,
                CUBE_HALF,
            ]);
        }
    }
}

/// Unit horizontal vector from `from` to `to`; `fallback`'s horizontal direction (or +x) when
/// the two centres coincide horizontally.
fn horizontal_direction(from: Vec3, to: Vec3, fallback: Vec3) -> [f64; 2] {
    let unit = |dx: f64, dy: f64| {
        let n = dx.hypot(dy);
        (n > 1e-12).then(|| [dx / n, dy / n])
    };
    unit(to[0] - from[0], to[1] - from[1])
        .or_else(|| unit(fallback[0], fallback[1]))
        .unwrap_or([1.0, 0.0])
}

fn clamp_ee(p: Vec3) -> Vec3 {
    [
        p[0].clamp(-TABLE_HALF, TABLE_HALF),
        p[1].clamp(-TABLE_HALF, TABLE_HALF),
        p[2].clamp(EE_RADIUS, CEILING),
    ]
}

fn clamp_cube(p: Vec3) -> Vec3 {
    let edge = TABLE_HALF - CUBE_HALF;
    [p[0].clamp(-edge, edge), p[1].clamp(-edge, edge), CUBE_HALF]
}

/// Distance between two points in the x-y plane.
pub fn horizontal_distance(a: Vec3, b: Vec3) -> f64 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

/// Euclidean length.
pub fn norm(v: Vec3) -> f64 {
    (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt()
}

/// `a + b`.
pub fn add(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

/// `a − b`.
pub fn sub(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scene(ee: Vec3, cubes: [Vec3; 3]) -> World {
        World {
            ee,
            gripper: 0.0,
            cubes,
        }
    }

    const FAR: [Vec3; 2] = [[0.2, 0.2, CUBE_HALF], [-0.2, 0.2, CUBE_HALF]];

    #[test]
    fn sampled_scenes_respect_spawn_area_separation_and_start() {
        for seed in 0..500 {
            let w = World::sample(&mut SplitMix64::new(seed));
            for (k, c) in EE_START.iter().enumerate() {
                assert!((w.ee[k] - c).abs() <= EE_START_JITTER);
            }
            assert_eq!(w.gripper, 0.0);
            for (i, a) in w.cubes.iter().enumerate() {
                assert!(a[0].abs() <= CUBE_SPAWN_HALF && a[1].abs() <= CUBE_SPAWN_HALF);
                assert_eq!(a[2], CUBE_HALF);
                for b in &w.cubes[i + 1..] {
                    assert!(horizontal_distance(*a, *b) >= CUBE_MIN_SEPARATION);
                }
            }
        }
    }

    #[test]
    fn free_moves_are_exact_and_clamped_to_the_workspace() {
        let mut w = scene([0.0, 0.0, 0.1], [[0.0, -0.2, CUBE_HALF], FAR[0], FAR[1]]);
        w.move_ee([0.05, -0.03, 0.02]);
        for (got, want) in w.ee.iter().zip([0.05, -0.03, 0.12]) {
            assert!((got - want).abs() < 1e-12);
        }
        w.move_ee([1.0, 1.0, -1.0]);
        assert_eq!(w.ee, [TABLE_HALF, TABLE_HALF, EE_RADIUS]);
        w.move_ee([f64::NAN, -1e300, f64::INFINITY]);
        assert_eq!(w.ee, [TABLE_HALF, -TABLE_HALF, CEILING]);
    }

    #[test]
    fn a_low_end_effector_pushes_a_cube_without_tunnelling() {
        // Start just right of the red cube at mid-height and sweep 0.05 m left in one step.
        let red = [0.0, 0.0, CUBE_HALF];
        let mut w = scene([CONTACT + 0.005, 0.0, CUBE_HALF], [red, FAR[0], FAR[1]]);
        w.move_ee([-0.05, 0.0, 0.0]);
        let cube = w.cube(Colour::Red);
        assert!((cube[0] - (-0.045)).abs() < 1e-9, "{cube:?}");
        assert!(cube[1].abs() < 1e-12);
        assert!(
            (w.ee[0] - cube[0] - CONTACT).abs() < 1e-9,
            "stays behind the cube"
        );
        assert_eq!(w.cubes[1..], FAR);
    }

    #[test]
    fn an_end_effector_from_above_lands_on_the_top() {
        let red = [0.0, 0.0, CUBE_HALF];
        let mut w = scene([0.005, 0.0, 0.1], [red, FAR[0], FAR[1]]);
        w.move_ee([0.0, 0.0, -0.08]);
        assert!((w.ee[2] - (CUBE_HEIGHT + EE_RADIUS)).abs() < 1e-12);
        assert_eq!(w.cube(Colour::Red), red);
        assert_eq!(w.ee[..2], [0.005, 0.0]);
    }

    #[test]
    fn a_pushed_cube_pushes_its_neighbour_and_cubes_stop_at_the_edge() {
        let red = [0.0, 0.0, CUBE_HALF];
        let green = [-0.045, 0.0, CUBE_HALF];
        let mut w = scene([CONTACT + 0.001, 0.0, CUBE_HALF], [red, green, FAR[0]]);
        w.move_ee([-0.02, 0.0, 0.0]);
        let (r, g) = (w.cube(Colour::Red), w.cube(Colour::Green));
        assert!(horizontal_distance(r, g) >= 2.0 * CUBE_HALF - 1e-9);
        assert!(g[0] < -0.045);

        let edge = TABLE_HALF - CUBE_HALF;
        let mut w = scene(
            [-edge + CONTACT + 0.001, 0.1, CUBE_HALF],
            [[-edge, 0.1, CUBE_HALF], FAR[0], FAR[1]],
        );
        w.move_ee([-0.05, 0.0, 0.0]);
        assert_eq!(w.cube(Colour::Red)[0], -edge);
        assert!(
            (w.ee[0] - (-edge + CONTACT)).abs() < 1e-9,
            "stops against the held cube"
        );
    }

    #[test]
    fn the_gripper_closes_in_two_steps_and_counts_as_closed_above_half() {
        let mut w = World::sample(&mut SplitMix64::new(1));
        w.drive_gripper(1.0);
        assert_eq!(w.gripper, 0.5);
        assert!(!w.gripper_closed());
        w.drive_gripper(7.0);
        assert_eq!(w.gripper, 1.0);
        assert!(w.gripper_closed());
        w.drive_gripper(-3.0);
        assert_eq!(w.gripper, 0.5);
    }
}
