//! The RLDS invariants on hand-built episodes: one first and one last step per episode,
//! terminal only at the end, identical fields across a dataset, finite values except in the
//! ignored last action, one instruction per episode, unique ids; each error names the episode,
//! the step and the field.

use assay_robot::rlds::{
    check_dataset, check_episode, Episode, EpisodeMetadata, Field, RldsError, Schema, Step,
};

fn step(i: usize, n: usize) -> Step {
    Step {
        is_first: i == 0,
        is_last: i + 1 == n,
        is_terminal: i + 1 == n,
        observation: vec![
            Field::new("ee_position", vec![i as f64, 0.0, 0.1]),
            Field::new("gripper_closedness", vec![0.0]),
        ],
        action: if i + 1 == n {
            vec![0.0; 3]
        } else {
            vec![0.01, -0.01, 0.0]
        },
        reward: if i + 2 == n { 1.0 } else { 0.0 },
        discount: 1.0,
        language_instruction: "reach the red cube".into(),
    }
}

fn episode(id: u64, n: usize) -> Episode {
    Episode {
        episode_id: id,
        metadata: EpisodeMetadata {
            embodiment: "A".into(),
            agent: "expert".into(),
            seed: id,
            noise: 0.0,
            success: true,
        },
        steps: (0..n).map(|i| step(i, n)).collect(),
    }
}

fn message(r: Result<Schema, RldsError>) -> String {
    r.expect_err("invalid").to_string()
}

#[test]
fn a_valid_dataset_passes_and_transitions_exclude_the_last_step() {
    let data = vec![episode(0, 5), episode(1, 3), episode(7, 1)];
    let schema = check_dataset(&data).expect("valid");
    assert_eq!(schema.action_dim, 3);
    assert_eq!(schema.observation[1], ("gripper_closedness".to_string(), 1));
    assert_eq!(data[0].transitions().len(), 4);
    assert!(data[0].transitions().iter().all(|s| !s.is_last));
    assert!(
        data[2].transitions().is_empty(),
        "a one-step episode has no transition"
    );
    assert!(!data[0].is_truncated());
}

#[test]
fn the_last_steps_action_reward_and_discount_are_ignored_but_not_its_shape() {
    let mut e = episode(3, 4);
    let last = e.steps.last_mut().expect("steps");
    last.action = vec![f64::NAN, 1e300, -7.0];
    last.reward = f64::INFINITY;
    last.discount = f64::NAN;
    assert!(check_dataset(&[e.clone()]).is_ok());
    e.steps[3].action.push(0.0);
    let err = check_episode(&e, &Schema::of(&e.steps[0])).expect_err("shape");
    assert_eq!(
        err.to_string(),
        "episode 3, step 3, field `action`: expected 3 values, found 4 values \
         (all steps of a dataset have identical fields)"
    );
}

#[test]
fn exactly_one_first_step_at_the_start() {
    let mut e = episode(4, 4);
    e.steps[0].is_first = false;
    assert_eq!(
        message(check_dataset(&[e])),
        "episode 4, step 0, field `is_first`: step 0 must have is_first = true"
    );
    let mut e = episode(5, 4);
    e.steps[2].is_first = true;
    let m = message(check_dataset(&[e]));
    assert!(
        m.starts_with("episode 5, step 2, field `is_first`: only step 0"),
        "{m}"
    );
}

#[test]
fn exactly_one_last_step_at_the_end() {
    let mut e = episode(6, 4);
    e.steps[3].is_last = false;
    assert_eq!(
        message(check_dataset(&[e])),
        "episode 6, step 3, field `is_last`: the final step (3) must have is_last = true"
    );
    let mut e = episode(6, 4);
    e.steps[1].is_last = true;
    let m = message(check_dataset(&[e]));
    assert!(
        m.starts_with("episode 6, step 1, field `is_last`: only the final step (3)"),
        "{m}"
    );
}

#[test]
fn terminal_only_on_the_last_step_and_truncation_is_not_terminal() {
    let mut e = episode(8, 4);
    e.steps[1].is_terminal = true;
    let m = message(check_dataset(&[e]));
    assert!(
        m.starts_with("episode 8, step 1, field `is_terminal`"),
        "{m}"
    );
    let mut e = episode(8, 4);
    e.steps[3].is_terminal = false;
    assert!(check_dataset(&[e.clone()]).is_ok());
    assert!(e.is_truncated());
}

#[test]
fn fields_are_identical_across_the_dataset() {
    let mut renamed = episode(2, 3);
    renamed.steps[1].observation[0].name = "ee".into();
    let m = message(check_dataset(&[episode(1, 3), renamed]));
    assert_eq!(
        m,
        "episode 2, step 1, field `observation`: expected [ee_position, gripper_closedness], \
         found [ee, gripper_closedness] (all steps of a dataset have identical fields)"
    );
    let mut short = episode(2, 3);
    short.steps[0].observation[1].values.clear();
    let m = message(check_dataset(&[episode(1, 3), short]));
    assert!(
        m.starts_with(
            "episode 2, step 0, field `observation.gripper_closedness`: expected 1 values, found 0"
        ),
        "{m}"
    );
    let mut missing = episode(2, 3);
    missing.steps[2].observation.pop();
    let m = message(check_dataset(&[episode(1, 3), missing]));
    assert!(
        m.starts_with("episode 2, step 2, field `observation`"),
        "{m}"
    );
    let mut action = episode(2, 3);
    action.steps[1].action.pop();
    let m = message(check_dataset(&[episode(1, 3), action]));
    assert!(
        m.starts_with("episode 2, step 1, field `action`: expected 3 values, found 2"),
        "{m}"
    );
}

#[test]
fn non_finite_values_are_refused_with_their_place() {
    let mut e = episode(9, 3);
    e.steps[1].action[2] = f64::NAN;
    assert_eq!(
        message(check_dataset(&[e])),
        "episode 9, step 1, field `action`[2] is NaN: values must be finite"
    );
    let mut e = episode(9, 3);
    e.steps[0].reward = f64::NEG_INFINITY;
    assert!(message(check_dataset(&[e])).contains("step 0, field `reward`[0] is -inf"));
    let mut e = episode(9, 3);
    e.steps[1].discount = f64::NAN;
    assert!(message(check_dataset(&[e])).contains("field `discount`"));
    let mut e = episode(9, 3);
    e.steps[2].observation[0].values[1] = f64::INFINITY;
    let m = message(check_dataset(&[e]));
    assert!(
        m.contains("step 2, field `observation.ee_position`[1] is inf"),
        "{m}"
    );
}

#[test]
fn one_instruction_per_episode() {
    let mut e = episode(10, 3);
    e.steps[2].language_instruction = "reach the blue cube".into();
    assert_eq!(
        message(check_dataset(&[e])),
        "episode 10, step 2, field `language_instruction`: \"reach the blue cube\" differs \
         from the episode's \"reach the red cube\" (one instruction per episode)"
    );
}

#[test]
fn empty_datasets_empty_episodes_and_repeated_ids_are_refused() {
    assert_eq!(check_dataset(&[]), Err(RldsError::EmptyDataset));
    let mut empty = episode(11, 2);
    empty.steps.clear();
    assert_eq!(
        check_dataset(&[empty.clone()]),
        Err(RldsError::EmptyEpisode { episode: 11 })
    );
    assert_eq!(
        check_episode(&empty, &assay_robot::layout::schema()),
        Err(RldsError::EmptyEpisode { episode: 11 })
    );
    assert!(!empty.is_truncated() && empty.transitions().is_empty());
    assert_eq!(
        check_dataset(&[episode(12, 2), episode(13, 2), episode(12, 4)]),
        Err(RldsError::DuplicateEpisode { episode: 12 })
    );
}
