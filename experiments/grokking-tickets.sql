-- Study 8 result table: per condition (the spec's name) and weight decay, how many seeds reach
-- test accuracy 0.95 within the budget, the step where each seed first does (t95, by seed; null
-- for a seed that never does), their median, and each seed's best test accuracy.
--   assay query --file experiments/grokking-tickets.sql --format md
WITH t AS (
  SELECT r.run_name AS condition, r."optimizer.weight_decay" AS weight_decay, r.seed,
         g.test_acc_095_step AS t95, g.run_id
  FROM grokking g JOIN runs r ON g.run_id = r.id
  WHERE r."dataset.p" = 67 AND r."dataset.format" = 'pair' AND r.status = 'completed'
),
best AS (SELECT run_id, max(value) AS best FROM metrics WHERE name = 'test/acc' GROUP BY run_id)
SELECT condition, weight_decay, count(*) AS seeds, count(t95) AS reached_095,
       array_agg(t95 ORDER BY seed) AS t95_by_seed, median(t95) AS t95_median,
       array_agg(round(b.best, 2) ORDER BY seed) AS best_test_acc_by_seed
FROM t JOIN best b ON t.run_id = b.run_id
GROUP BY condition, weight_decay ORDER BY t95_median, condition
