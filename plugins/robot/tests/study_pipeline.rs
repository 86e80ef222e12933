//! The study's data path on real demonstrations: the notes' datasets (A 300, B 300, C 15, "reach
//! the blue cube" only in A) pass the RLDS checks, survive the row layout, and their actions
//! normalise per dataset and tokenise with a round-trip error of at most (hi − lo)/255 per
//! dimension, the last step of each episode ignored.

use assay_robot::actions::ActionBounds;
use assay_robot::demos::{demonstrations, DemoPlan};
use assay_robot::embodiment::Embodiment;
use assay_robot::layout::{ACTION_DIM, GRIPPER_INDEX};
use assay_robot::rlds::{check_dataset, Episode};
use assay_robot::rows::{from_rows, to_rows};
use assay_robot::task::{goal_features, Colour, Task, TaskKind};

fn study(e: Embodiment) -> Vec<Episode> {
    demonstrations(&DemoPlan::study(e, 2024, 0.1)).expect("demos")
}

#[test]
fn the_study_datasets_are_valid_rlds_and_round_trip_through_rows() {
    let blue = Task::new(TaskKind::Reach, Colour::Blue).instruction();
    for e in Embodiment::ALL {
        let data = study(e);
        assert_eq!(check_dataset(&data), Ok(assay_robot::layout::schema()));
        let (rows, _) = to_rows(&data).expect("rows");
        assert_eq!(from_rows(rows).expect("read"), data);
        let has_blue = data
            .iter()
            .any(|ep| ep.steps[0].language_instruction == blue);
        assert_eq!(has_blue, e == Embodiment::A, "{e}");
        let successes = data.iter().filter(|ep| ep.metadata.success).count();
        assert!(
            successes as f64 >= 0.97 * data.len() as f64,
            "{e}: {successes}"
        );
        for ep in &data {
            let goal = goal_features(&ep.steps[0].language_instruction).expect("known task");
            assert_eq!(goal.iter().sum::<f64>(), 2.0);
        }
    }
}

#[test]
fn tokenised_actions_come_back_within_a_bin_of_each_dataset_s_bounds() {
    for e in Embodiment::ALL {
        let data = study(e);
        let bounds = ActionBounds::from_episodes(&data).expect("bounds");
        assert_eq!(bounds.dim(), ACTION_DIM);
        let (limit_lo, limit_hi) = e.action_limits();
        for d in 0..ACTION_DIM {
            assert!(
                bounds.lo()[d] >= limit_lo[d] && bounds.hi()[d] <= limit_hi[d],
                "{e} {d}"
            );
        }
        assert_eq!(&bounds.lo()[3..6], &[0.0; 3], "{e}: rotation is constant");
        assert_eq!(&bounds.hi()[3..6], &[0.0; 3]);
        let max_error = bounds.max_error();
        let mut worst = [0.0f64; ACTION_DIM];
        for step in data.iter().flat_map(|ep| ep.transitions()) {
            let tokens = bounds.tokenise(&step.action).expect("tokens");
            let back = bounds.detokenise(&tokens).expect("actions");
            for d in 0..ACTION_DIM {
                let err = (back[d] - step.action[d]).abs();
                worst[d] = worst[d].max(err);
                assert!(err <= max_error[d] * (1.0 + 1e-12), "{e} dim {d}: {err}");
            }
        }
        assert_eq!(
            &worst[3..6],
            &[0.0; 3],
            "constant dimensions come back exactly"
        );
    }
}

#[test]
fn the_last_steps_action_never_reaches_the_bounds() {
    let mut data = study(Embodiment::C);
    let bounds = ActionBounds::from_episodes(&data).expect("bounds");
    for ep in &mut data {
        if let Some(last) = ep.steps.last_mut() {
            last.action = vec![1e9; ACTION_DIM];
        }
    }
    assert_eq!(ActionBounds::from_episodes(&data), Ok(bounds));
    assert!(
        check_dataset(&data).is_ok(),
        "its values are ignored by the checker too"
    );
}

#[test]
fn after_normalisation_the_embodiments_agree_on_the_gripper() {
    for e in Embodiment::ALL {
        let data = study(e);
        let bounds = ActionBounds::from_episodes(&data).expect("bounds");
        let close = e.gripper().command(true);
        let open = e.gripper().command(false);
        for step in data.iter().flat_map(|ep| ep.transitions()) {
            let n = bounds.normalise(&step.action).expect("normalised");
            let g = step.action[GRIPPER_INDEX];
            assert_eq!(n[GRIPPER_INDEX], if g == close { 1.0 } else { -1.0 }, "{e}");
            assert!(g == close || g == open);
            assert!(n[..3].iter().all(|v| (-1.0..=1.0).contains(v)));
        }
    }
}
