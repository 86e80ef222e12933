-- Study 1 on real data: final test accuracy of the digits MLP per learning rate and optimizer,
-- mean and standard deviation over seeds (ADOPT as published: `adopt` 0.2.0).
--   assay query --file experiments/adopt-digits.sql --format md
SELECT r."optimizer.lr" AS lr, r."optimizer.plugin" AS optimizer,
       round(avg(f.value), 4) AS test_acc, round(stddev(f.value), 4) AS std, count(*) AS seeds
FROM final_metrics f JOIN runs r ON f.run_id = r.id
WHERE f.name = 'test/acc' AND r.name = 'adopt-digits'
  AND (r."optimizer.plugin" <> 'adopt' OR r."optimizer.version" = '0.2.0')
GROUP BY 1, 2 ORDER BY 1, 2
