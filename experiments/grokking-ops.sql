-- Study 6 result table: per operation, over seeds, the medians of the step where train accuracy
-- reaches 1.0 and test accuracy 0.95 (runs that never generalise are counted apart), FFS of the
-- embedding at memorisation and at the end, and the final FCR.
--   assay query --file experiments/grokking-ops.sql --format md
WITH g AS (
  SELECT r."dataset.operations" AS operation, g.run_id,
         g.train_acc_1_step AS memorised, g.test_acc_095_step AS generalised,
         r.steps_done AS last
  FROM grokking g JOIN runs r ON g.run_id = r.id
  WHERE r.name = 'grokking-ops'
),
ffs AS (SELECT run_id, step, value FROM metrics WHERE name = 'fourier/ffs'),
fcr AS (SELECT run_id, step, value FROM metrics WHERE name = 'fourier/fcr'),
per_run AS (
  SELECT g.operation, g.memorised, g.generalised,
         m.value AS ffs_memorised, f.value AS ffs_final, c.value AS fcr_final
  FROM g
  JOIN ffs f ON f.run_id = g.run_id AND f.step = g.last
  JOIN fcr c ON c.run_id = g.run_id AND c.step = g.last
  LEFT JOIN ffs m ON m.run_id = g.run_id AND m.step = g.memorised
)
SELECT operation, count(*) AS seeds, median(memorised) AS memorised,
       count(generalised) AS generalised_seeds, median(generalised) AS generalised_median,
       median(ffs_memorised) AS ffs_at_memorisation, median(ffs_final) AS ffs_final,
       median(fcr_final) AS fcr_final
FROM per_run GROUP BY operation ORDER BY operation
