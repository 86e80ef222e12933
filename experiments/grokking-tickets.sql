-- Study 8 result table: per condition, the step where test accuracy first reaches 0.95 (t95)
-- for each seed, their median, and how many seeds got there within 30,000 steps.
--   assay query --file experiments/grokking-tickets.sql --format md
WITH t AS (
  SELECT r.name AS condition, r.seed, g.test_acc_095_step AS t95, g.train_acc_1_step AS memorised
  FROM grokking g JOIN runs r ON g.run_id = r.id
  WHERE r."dataset.p" = 67 AND r."dataset.format" = 'pair' AND r.status = 'completed'
),
d AS (SELECT run_id, value AS density FROM metrics WHERE name = 'prune/density')
SELECT condition, count(*) AS seeds, count(t95) AS reached_095,
       median(t95) AS t95_median, min(t95) AS t95_min, max(t95) AS t95_max,
       median(memorised) AS memorised_median
FROM t GROUP BY condition ORDER BY t95_median
