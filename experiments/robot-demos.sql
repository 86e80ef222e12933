-- Study 9 demonstrations (experiments/robot-demos.toml): per embodiment, the expert's success
-- rate (reward 1 on the step that succeeds) with its 95 % interval, and the mean episode length.
--   assay query --file experiments/robot-demos.sql --format md
WITH r AS (
  SELECT id, "environment.embodiment" AS embodiment FROM runs
  WHERE run_name = 'robot-demos' AND status = 'completed'
),
steps AS (
  SELECT e.run_id, e.episode, count(*) AS steps FROM episodes e JOIN r ON e.run_id = r.id
  GROUP BY e.run_id, e.episode
)
SELECT r.embodiment, a.episodes, round(a.mean_return, 3) AS success,
       round(a.ci95_lo, 3) AS ci95_lo, round(a.ci95_hi, 3) AS ci95_hi,
       round(avg(s.steps), 1) AS mean_steps
FROM agent_results a JOIN r ON a.run_id = r.id JOIN steps s ON s.run_id = r.id
GROUP BY r.embodiment, a.episodes, a.mean_return, a.ci95_lo, a.ci95_hi
ORDER BY r.embodiment
