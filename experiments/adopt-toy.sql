-- Study 1 toy problem: final theta per optimizer, variant and beta2, mean and std over seeds
-- (ADOPT as published: version 0.2.0 of the `adopt` optimizer).
--   assay query --file experiments/adopt-toy.sql --format md
SELECT r."optimizer.plugin" AS opt, COALESCE(r."optimizer.variant", '-') AS variant,
       r."optimizer.beta2" AS beta2, avg(f.value) AS theta, stddev(f.value) AS std,
       count(*) AS n
FROM final_metrics f JOIN runs r ON f.run_id = r.id
WHERE f.name = 'theta' AND r.name = 'adopt-toy'
  AND (r."optimizer.plugin" <> 'adopt' OR r."optimizer.version" = '0.2.0')
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
