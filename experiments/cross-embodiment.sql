-- Study 9 (experiments/cross-embodiment.toml): success rate on embodiment C of the policy
-- trained on C's 15 demonstrations alone and of the one trained on the A+B+C mixture, on C's
-- demonstrated tasks and on "reach the blue cube" (demonstrated only on A); mean over 3 seeds
-- (50 episodes each) with the spread of the seeds.
--   assay query --file experiments/cross-embodiment.sql --format md
WITH r AS (
  SELECT r.id, r.seed, s.run_name AS trained,
         CASE WHEN r."environment.tasks" LIKE '%"reach the blue cube"]' THEN 'held-out: reach blue'
              ELSE 'C''s 5 tasks' END AS tasks
  FROM runs r JOIN runs s ON 'run:' || s.id = r."agent.0.from"
  WHERE r.run_name = 'cross-embodiment' AND r.status = 'completed'
)
SELECT r.tasks, replace(r.trained, 'cross-embodiment-train-', '') AS trained_on,
       count(*) AS seeds, round(avg(a.mean_return), 3) AS success,
       round(min(a.mean_return), 2) AS worst_seed, round(max(a.mean_return), 2) AS best_seed
FROM r JOIN agent_results a ON a.run_id = r.id
GROUP BY r.tasks, r.trained
ORDER BY r.tasks, trained_on
